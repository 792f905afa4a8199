"""Golden files: each example and each test pipeline has its compiled Argo YAML beside it,
compared byte for byte. TREADLE_REGENERATE=1 rewrites them (refused under CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from treadle.backends.base import Options

from backend_helpers import compile_text, load_all

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted((REPO / "examples").glob("*.treadle")) + sorted((Path(__file__).parent / "pipelines").glob("*.treadle"))
VARIANTS = {"": Options(), ".volume": Options(artifacts="volume")}
CASES = [(source, suffix) for source in SOURCES for suffix in VARIANTS
         if suffix == "" or source.parent.name == "pipelines"]


def _golden(source: Path, suffix: str) -> Path:
    return source.with_name(source.name[: -len(".treadle")] + suffix + ".argo.yaml")


def _regenerate() -> bool:
    wanted = os.environ.get("TREADLE_REGENERATE") == "1"
    if wanted and os.environ.get("CI", "").lower() == "true":
        pytest.fail("golden files are never regenerated under CI")
    return wanted


@pytest.mark.parametrize("source,suffix", CASES, ids=[f"{s.parent.name}/{s.name}{x}" for s, x in CASES])
def test_golden(source, suffix):
    output, _ = compile_text(source.read_text(encoding="utf-8"), VARIANTS[suffix], path=str(source), origin_root=REPO)
    assert output.ok, [d.message for d in output.diagnostics]
    golden = _golden(source, suffix)
    if _regenerate():
        golden.write_text(output.text, encoding="utf-8", newline="\n")
    assert golden.exists(), f"{golden.name} is missing; run with TREADLE_REGENERATE=1 to write it"
    assert output.text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("source,suffix", CASES, ids=[f"{s.parent.name}/{s.name}{x}" for s, x in CASES])
def test_golden_is_schema_valid(source, suffix, schema_errors):
    golden = _golden(source, suffix)
    if not golden.exists():
        pytest.skip(f"{golden.name} not written yet")
    for document in load_all(golden.read_text(encoding="utf-8")):
        assert schema_errors(document, strict=True) == []


def test_every_example_has_a_golden_file():
    for source in sorted((REPO / "examples").glob("*.treadle")):
        assert _golden(source, "").exists(), f"{source.name} has no .argo.yaml beside it"
