"""Every code in docs/diagnostics.md has an example, and each example reports its code at
the place the document says."""

from __future__ import annotations

import re

import pytest

from treadle.compiler.diagnostics import CODES

from ..helpers import DOCS

FENCE = re.compile(r"```(\w+)([^\n]*)\n(.*?)```", re.S)
SECTION = re.compile(r"^### ([EW]\d{3}):", re.M)


def _examples():
    text = (DOCS / "diagnostics.md").read_text(encoding="utf-8")
    starts = [(m.group(1), m.start()) for m in SECTION.finditer(text)]
    for (code, start), (_, end) in zip(starts, starts[1:] + [("", len(text))]):
        section = text[start:end]
        case: dict = {"files": [], "folders": [], "expected": []}
        for kind, info, body in FENCE.findall(section):
            name = re.search(r"file=(\S+)", info)
            if kind == "treadle":
                case["files"].append((name.group(1), body))
            elif kind == "folder":
                case["folders"].append(name.group(1))
            elif kind == "text":
                case["expected"] = [line.strip() for line in body.splitlines() if line.strip()]
                yield code, case
                case = {"files": [], "folders": [], "expected": []}


EXAMPLES = list(_examples())


def test_every_code_is_documented():
    assert sorted({code for code, _ in EXAMPLES}) == sorted(CODES)


@pytest.mark.parametrize("code,case", EXAMPLES, ids=[f"{code}-{i}" for i, (code, _) in enumerate(EXAMPLES)])
def test_example_reports_its_code_at_the_documented_place(code, case, in_tmp):
    from treadle.compiler.frontend import compile_files

    for folder in case["folders"]:
        (in_tmp / folder).mkdir()
    for name, body in case["files"]:
        (in_tmp / name).write_text(body, encoding="utf-8")
    result = compile_files([case["files"][0][0]])
    reported = [f"{d.span.path}:{d.span.line}:{d.span.column}: {d.severity.value}[{d.code}]"
                for d in result.diagnostics.sorted()]
    for expected in case["expected"]:
        assert expected in reported, f"{expected} not among {reported}"
    assert any(f"[{code}]" in line for line in case["expected"])
