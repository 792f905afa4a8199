"""Formatting asked of a real server process: `treadle fmt`'s layout as one whole-document edit."""

from __future__ import annotations

from treadle.compiler.formatter import format_source

from .client import uri

UNTIDY = '''component  say(text: str)   {
    image = "alpine:3.20"   # the smallest image
  command=["echo",text]
}
pipeline hello( greeting: str="grüße 😀" ) {
   first = say(text = greeting)
  second_step = say(text="again") after first
}
'''


def _apply(text: str, edits: list[dict]) -> str:
    """Apply whole-document edits as a client does (positions in UTF-16 code units)."""
    (edit,) = edits
    start, end = edit["range"]["start"], edit["range"]["end"]
    lines = text.split("\n")
    assert (start["line"], start["character"]) == (0, 0)
    assert end["line"] == len(lines) - 1
    assert end["character"] == len(lines[-1].encode("utf-16-le")) // 2
    return edit["newText"]


def test_formatting_gives_the_formatters_text(lsp, workspace):
    path = workspace / "untidy.treadle"
    path.write_text(UNTIDY, encoding="utf-8")
    document = lsp.open(path)
    lsp.diagnostics(document, version=1)
    edits = lsp.result("textDocument/formatting", {"textDocument": {"uri": document},
                                                   "options": {"tabSize": 2, "insertSpaces": True}})
    formatted = _apply(UNTIDY, edits)
    assert formatted == format_source(UNTIDY).text
    assert formatted != UNTIDY and "# the smallest image" in formatted


def test_formatting_a_tidy_or_broken_file_changes_nothing(lsp, workspace):
    tidy = format_source(UNTIDY).text
    for name, text in (("tidy.treadle", tidy), ("broken.treadle", "pipeline p( {\n")):
        path = workspace / name
        path.write_text(text, encoding="utf-8")
        document = lsp.open(path)
        lsp.diagnostics(document, version=1)
        assert lsp.result("textDocument/formatting", {"textDocument": {"uri": document},
                                                      "options": {"tabSize": 2, "insertSpaces": True}}) == []
    assert uri(workspace / "tidy.treadle").startswith("file://")
