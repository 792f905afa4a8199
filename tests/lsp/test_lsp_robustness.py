"""Files with syntax errors, half-typed text and odd requests: the server answers every
request and never dies; shutdown and exit end it with status 0."""

from __future__ import annotations

from .client import LspClient, position_of
from .test_lsp_navigation import LIBRARY, MAIN

BROKEN = MAIN.replace("  raw = source()\n", "  raw = source(\n").replace("if model.score > threshold {", "if model.score >> {")


def test_a_file_with_syntax_errors_gets_them_and_questions_about_the_rest(lsp, workspace):
    (workspace / "library.treadle").write_text(LIBRARY, encoding="utf-8")
    path = workspace / "broken.treadle"
    document = lsp.open(path, BROKEN)
    diagnostics = lsp.diagnostics(document, version=1)
    assert diagnostics and {d["code"] for d in diagnostics} == {"E001"}
    # the component declared below the broken pipeline still answers
    hover = lsp.at("textDocument/hover", document, *position_of(BROKEN, "notify(text: str)", offset=1))
    assert "component notify(text: str)" in hover["contents"]["value"]
    definition = lsp.at("textDocument/definition", document, *position_of(BROKEN, "LABEL)", offset=1))
    assert definition["range"]["start"] == {"line": 2, "character": 4}
    # renaming is refused while the file does not parse, and says so
    line, character = position_of(BROKEN, "LABEL =")
    refused = lsp.request("textDocument/rename", {"textDocument": {"uri": document},
                                                  "position": {"line": line, "character": character}, "newName": "X"})
    assert "syntax errors" in refused["error"]["message"]


def test_every_prefix_of_a_file_is_answered(lsp, workspace):
    """Typing the file from the first character: each prefix is checked and asked about."""
    (workspace / "library.treadle").write_text(LIBRARY, encoding="utf-8")
    document = lsp.open(workspace / "typed.treadle", "", version=0)
    lsp.diagnostics(document, version=0)
    version = 0
    for end in range(0, len(MAIN) + 1, 23):
        version += 1
        text = MAIN[:end]
        lsp.change(document, version, [{"text": text}])
        lines = text.split("\n")
        line, character = len(lines) - 1, len(lines[-1].encode("utf-16-le")) // 2
        for method in ("textDocument/hover", "textDocument/definition", "textDocument/completion"):
            response = lsp.request(method, {"textDocument": {"uri": document},
                                            "position": {"line": line, "character": character}})
            assert "error" not in response, (text, response)
        lsp.request("textDocument/references", {"textDocument": {"uri": document}, "context": {"includeDeclaration": True},
                                                "position": {"line": max(0, line - 1), "character": 2}})
    lsp.change(document, version + 1, [{"text": MAIN}])
    assert lsp.diagnostics(document, version=version + 1) == []


def test_odd_requests_get_answers(lsp, workspace):
    unknown = "file:///nowhere/never-opened.treadle"
    assert lsp.at("textDocument/hover", unknown, 0, 0) is None
    document = lsp.open(workspace / "tiny.treadle", "let A = 1\n")
    assert lsp.at("textDocument/hover", document, 40, 99) is None  # past the end of the text
    assert lsp.at("textDocument/completion", document, 40, 99) is not None
    assert lsp.request("treadle/noSuchMethod", {})["error"]["code"] == -32601
    assert lsp.process.poll() is None


def test_characters_that_are_not_text_and_binary_garbage(lsp, workspace):
    document = lsp.open(workspace / "garbage.treadle", "\x00\x01 pipeline ((( {{{ \"\"\" ' ; 😀\n" * 3)
    diagnostics = lsp.diagnostics(document, version=1)
    assert diagnostics and all(d["code"] in {"E001", "E002", "E004"} for d in diagnostics)
    assert lsp.at("textDocument/completion", document, 0, 5) is not None


def test_shutdown_then_exit_ends_the_process_with_0(workspace):
    client = LspClient(cwd=workspace)
    capabilities = client.initialize(workspace)["capabilities"]
    assert capabilities["hoverProvider"] and capabilities["definitionProvider"] and capabilities["referencesProvider"]
    assert capabilities["renameProvider"] == {"prepareProvider": True}
    assert "." in capabilities["completionProvider"]["triggerCharacters"]
    assert capabilities["positionEncoding"] == "utf-16"
    assert client.close() == 0
