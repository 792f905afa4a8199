"""Every code in docs/diagnostics.md has an example, and each example reports its code at
the place the document says.

An example is compiled by the front end alone, unless its expected-output block names a
target (```` ```text target=argo ````, with any compile option as `name=value`, such as
`artifacts=volume`): then its pipelines are also compiled for that engine, as
`treadle compile` would, and the backend's diagnostics count too. In a treadle block,
`repeat=N` writes each line holding `{i}` N times, with `{i}` counting from 1 (for an
example that must be large)."""

from __future__ import annotations

import re

import pytest

from treadle.compiler.diagnostics import CODES

from ..helpers import DOCS

FENCE = re.compile(r"```(\w+)([^\n]*)\n(.*?)```", re.S)
SECTION = re.compile(r"^### ([EWB]\d{3}):", re.M)
OPTION = re.compile(r"([a-z_]+)=(\S+)")


def _examples():
    text = (DOCS / "diagnostics.md").read_text(encoding="utf-8")
    starts = [(m.group(1), m.start()) for m in SECTION.finditer(text)]
    for (code, start), (_, end) in zip(starts, starts[1:] + [("", len(text))]):
        section = text[start:end]
        case: dict = {"files": [], "folders": [], "expected": [], "compile": None}
        for kind, info, body in FENCE.findall(section):
            options = dict(OPTION.findall(info))
            if kind in ("treadle", "yaml"):  # yaml: a Kubeflow component.yaml beside the treadle file
                case["files"].append((options["file"], _expand(body, int(options.get("repeat", 1)))))
            elif kind == "folder":
                case["folders"].append(options["file"])
            elif kind == "text":
                case["expected"] = [line.strip() for line in body.splitlines() if line.strip()]
                if "target" in options:
                    case["compile"] = options
                yield code, case
                case = {"files": [], "folders": [], "expected": [], "compile": None}


def _expand(body: str, times: int) -> str:
    lines = []
    for line in body.splitlines(keepends=True):
        if "{i}" in line:
            lines.extend(line.replace("{i}", str(i)) for i in range(1, times + 1))
        else:
            lines.append(line)
    return "".join(lines)


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
    result = compile_files([next(name for name, _ in case["files"] if name.endswith(".treadle"))])
    diagnostics = result.diagnostics.sorted()
    if case["compile"] is not None:
        assert not result.diagnostics.has_errors, "an example for a target must pass the front end"
        diagnostics += _backend_diagnostics(result, dict(case["compile"]))
    reported = [f"{d.span.path}:{d.span.line}:{d.span.column}: {d.severity.value}[{d.code}]" for d in diagnostics]
    for expected in case["expected"]:
        assert expected in reported, f"{expected} not among {reported}"
    assert any(f"[{code}]" in line for line in case["expected"])


def _backend_diagnostics(result, options: dict) -> list:
    from treadle.backends.base import Options
    from treadle.backends.targets import compile_pipelines

    target = options.pop("target")
    output = compile_pipelines(list(result.pipelines.values()), target, Options(**options))
    return output.diagnostics


def test_target_examples_exist_for_every_backend_code():
    with_target = {code for code, case in EXAMPLES if case["compile"] is not None}
    assert with_target == {code for code in CODES if code.startswith("B")}
