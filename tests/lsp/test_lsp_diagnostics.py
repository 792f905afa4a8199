"""Diagnostics from the server are exactly `treadle check --format json`'s: codes, messages
and ranges (0-based lines, UTF-16 columns), on open, on change, and with imports read from
unsaved buffers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..helpers import EXAMPLES
from .client import LspClient, position_of, uri

HELLO = 'component hello(name: str) {\n  image = "alpine:3.20"\n  command = ["echo", name]\n}\n\n'

FILES = {
    "types.treadle": (
        "# Grüße 😀: a file with non-ASCII text before its problems\n" + HELLO +
        "pipeline p(unused: int = 1, rate: float = 0.5) {\n"
        '  greeting = hello(name="héllo 😀 wörld", extra=1)\n'
        '  other = hello(name="😀😀", nme=2) after greeting, ghost\n'
        "  x = hello(name=greeting.missing)\n"
        "  if rate {\n    hello(name=rate)\n  }\n"
        "}\n"),
    "syntax.treadle": (
        'let A = "ok"\n\ncomponent c(x: int {\n  image = "i"\n}\n\n'
        "pipeline p() {\n  a = c(x=1\n  b = c(x=2))\n}\n\npipeline q() {\n  x = 'single'\n}\n"),
    "strings.treadle": 'let A = "bad \\q escape 😀"\nlet B = "never closed\n',
    "settings.treadle": (
        HELLO + 'pipeline p() {\n  schedule = "not cron"\n  s = hello(name="x") with { retries = -1, timeout = "soon" }\n}\n'),
}


def treadle_check(path: Path, cwd: Path) -> list[dict]:
    run = subprocess.run([sys.executable, "-m", "treadle.compiler.cli", "check", "--format", "json", str(path)],
                         capture_output=True, text=True, cwd=cwd, timeout=120)
    assert run.returncode in (0, 1), run.stderr
    return json.loads(run.stdout)["diagnostics"]


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def expected_lsp(diagnostics: list[dict], shown_path: str, text: str) -> list[dict]:
    """`treadle check`'s diagnostics of one file as the LSP states them."""
    lines = text.split("\n")

    def position(line: int, column: int) -> dict:
        line_text = lines[line - 1] if line - 1 < len(lines) else ""
        prefix = line_text[: column - 1]
        return {"line": line - 1, "character": utf16(prefix) + max(0, column - 1 - len(line_text))}

    result = []
    for d in diagnostics:
        if d["file"] != shown_path:
            continue
        message = d["message"] + (f"\nhint: {d['hint']}" if d["hint"] else "")
        result.append({"range": {"start": position(d["line"], d["column"]), "end": position(d["end_line"], d["end_column"])},
                       "message": message, "severity": 1 if d["severity"] == "error" else 2,
                       "code": d["code"], "source": "treadle"})
    return result


def comparable(diagnostics: list[dict]) -> list[dict]:
    return [{key: d.get(key) for key in ("range", "message", "severity", "code", "source")} for d in diagnostics]


@pytest.mark.parametrize("name", sorted(FILES))
def test_diagnostics_equal_treadle_check(lsp, workspace, name):
    path = workspace / name
    path.write_text(FILES[name], encoding="utf-8")
    expected = expected_lsp(treadle_check(path.relative_to(workspace), workspace), name, FILES[name])
    assert expected, "each of these files has problems"
    document = lsp.open(path)
    assert comparable(lsp.diagnostics(document, version=1)) == expected


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.treadle")), ids=lambda p: p.name)
def test_examples_get_the_same_diagnostics_as_check(lsp, example):
    expected = expected_lsp(treadle_check(example, EXAMPLES.parent), str(example), example.read_text(encoding="utf-8"))
    document = lsp.open(example)
    assert comparable(lsp.diagnostics(document, version=1)) == expected


def test_columns_after_non_ascii_text_are_utf16_units(lsp, workspace):
    text = FILES["types.treadle"]
    path = workspace / "columns.treadle"
    path.write_text(text, encoding="utf-8")
    document = lsp.open(path)
    by_code = {}
    for d in lsp.diagnostics(document, version=1):
        by_code.setdefault(d["code"], []).append(d)
    (extra,) = [d for d in by_code["E204"] if "extra" in d["message"]]
    line, character = position_of(text, "extra=1")
    assert extra["range"]["start"] == {"line": line, "character": character}
    assert extra["range"]["end"] == {"line": line, "character": character + len("extra")}
    code_points = text.split("\n")[line].index("extra=1")
    assert character == code_points + 1  # the emoji before it is two UTF-16 units, one character


def test_changes_are_checked_and_versions_kept(lsp, workspace):
    text = FILES["types.treadle"]
    path = workspace / "changing.treadle"
    path.write_text(text, encoding="utf-8")
    document = lsp.open(path)
    first = lsp.diagnostics(document, version=1)
    assert any("'nme'" in d["message"] for d in first)
    # an incremental change placed after emoji: 'nme' becomes 'name'; the text is now unsaved
    line, character = position_of(text, "nme=2")
    lsp.change(document, 2, [{"range": {"start": {"line": line, "character": character},
                                        "end": {"line": line, "character": character + 3}}, "text": "name"}])
    second = lsp.diagnostics(document, version=2)
    assert not any("'nme'" in d["message"] for d in second)
    assert any(d["code"] == "E205" for d in second)  # name given twice now
    # a whole-text change: a clean file
    clean = HELLO + 'pipeline p() {\n  hello(name="x")\n}\n'
    lsp.change(document, 3, [{"text": clean}])
    assert lsp.diagnostics(document, version=3) == []


def test_imports_read_open_buffers_and_dependents_are_rechecked(lsp, workspace):
    library = workspace / "lib" / "tools.treadle"
    library.parent.mkdir()
    on_disk = 'component tool(x: int) {\n  image = "i"\n  command = ["t", x]\n}\n'
    library.write_text(on_disk, encoding="utf-8")
    main = workspace / "main.treadle"
    main.write_text('import "lib/tools"\n\npipeline p() {\n  tool(x=1)\n}\n', encoding="utf-8")
    unsaved = 'component tool(x: int, y: str) {\n  image = "i"\n  command = ["t", x, y]\n}\n'
    library_uri = lsp.open(library, unsaved)
    assert lsp.diagnostics(library_uri, version=1) == []
    main_uri = lsp.open(main)
    (missing,) = lsp.diagnostics(main_uri, version=1)
    assert missing["code"] == "E203" and "'y'" in missing["message"]
    lsp.change(library_uri, 2, [{"text": on_disk}])
    assert lsp.diagnostics(main_uri, version=1) == []  # main, unchanged, checked again against the new buffer
    lsp.notify("textDocument/didClose", {"textDocument": {"uri": library_uri}})
    assert lsp.diagnostics(library_uri) == []


def test_a_closed_import_changed_or_created_on_disk_is_checked_again(lsp, workspace):
    library = workspace / "disk" / "tools.treadle"
    library.parent.mkdir()
    library.write_text('component tool(x: int) {\n  image = "i"\n  command = ["t", x]\n}\n', encoding="utf-8")
    main = workspace / "disk_main.treadle"
    main.write_text('import "disk/tools"\n\npipeline p() {\n  tool(x=1)\n}\n', encoding="utf-8")
    main_uri = lsp.open(main)
    assert lsp.diagnostics(main_uri, version=1) == []
    # saved by another program: the client's watcher reports it; main is checked against the new text
    library.write_text('component tool(x: int, y: str) {\n  image = "i"\n  command = ["t", x, y]\n}\n',
                       encoding="utf-8")
    lsp.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": uri(library), "type": 2}]})
    (missing,) = lsp.diagnostics(main_uri, version=1)
    assert missing["code"] == "E203" and "'y'" in missing["message"]
    # an import of a file that does not exist yet, until it is created
    later = workspace / "disk" / "later.treadle"
    other = workspace / "disk_other.treadle"
    other.write_text('import "disk/later"\n\npipeline q() {\n  later(x=1)\n}\n', encoding="utf-8")
    other_uri = lsp.open(other)
    assert "E101" in [d["code"] for d in lsp.diagnostics(other_uri, version=1)]
    later.write_text('component later(x: int) {\n  image = "i"\n  command = ["t", x]\n}\n', encoding="utf-8")
    lsp.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": uri(later), "type": 1}]})
    assert lsp.diagnostics(other_uri, version=1) == []


def test_the_server_asks_to_watch_treadle_files_where_the_client_can(workspace):
    client = LspClient(cwd=workspace)
    try:
        client.initialize(capabilities={"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": True}}})
        deadline = time.monotonic() + 30
        while not client.server_requests and time.monotonic() < deadline:
            time.sleep(0.05)
        (request,) = client.server_requests
        assert request["method"] == "client/registerCapability"
        (registration,) = request["params"]["registrations"]
        assert registration["method"] == "workspace/didChangeWatchedFiles"
        assert registration["registerOptions"]["watchers"] == [{"globPattern": "**/*.treadle"}]
    finally:
        assert client.close() == 0


def test_a_file_that_is_not_a_file_uri_is_checked_too(lsp):
    document = "untitled:Untitled-1"
    lsp.notify("textDocument/didOpen", {"textDocument": {"uri": document, "languageId": "treadle", "version": 1,
                                                         "text": "pipeline p() {\n  x = nothing()\n}\n"}})
    (unknown,) = lsp.diagnostics(document, version=1)
    assert unknown["code"] == "E106"



def test_a_client_that_counts_utf8_bytes_gets_utf8_columns(workspace):
    from .client import LspClient

    client = LspClient(cwd=workspace)
    try:
        result = client.result("initialize", {"processId": None, "rootUri": None,
                                               "capabilities": {"general": {"positionEncodings": ["utf-8", "utf-16"]}}})
        client.notify("initialized", {})
        assert result["capabilities"]["positionEncoding"] == "utf-8"
        text = FILES["types.treadle"]
        document = client.open(workspace / "bytes.treadle", text)
        (extra,) = [d for d in client.diagnostics(document, version=1) if "'extra'" in d["message"]]
        line = text.split("\n")[extra["range"]["start"]["line"]]
        assert extra["range"]["start"]["character"] == len(line[: line.index("extra=1")].encode("utf-8"))
        after = text.split("\n").index(next(row for row in text.split("\n") if "after greeting" in row))
        row = text.split("\n")[after]
        hover = client.at("textDocument/hover", document, after, len(row[: row.index("greeting")].encode("utf-8")) + 1)
        assert "step `greeting`" in hover["contents"]["value"]
    finally:
        assert client.close() == 0
