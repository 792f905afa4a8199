"""Shared test helpers: compile treadle text in memory, find the schema helpers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DOCS = ROOT / "docs"


def compile_text(text: str, path: str = "main.treadle"):
    from treadle.compiler.frontend import compile_sources
    from treadle.compiler.source import SourceFile

    return compile_sources([SourceFile(path, text)])


def codes_at(result) -> list[str]:
    """Diagnostics as `path:line:col: severity[CODE]`, in file order."""
    return [f"{d.span.path}:{d.span.line}:{d.span.column}: {d.severity.value}[{d.code}]"
            for d in result.diagnostics.sorted()]


def shared_schemas():
    """The upstream schema helpers, beside the checkout; None (or a failure under CI) without them."""
    folder = ROOT.parent / "shared" / "schemas"
    if not (folder / "k8s_schemas.py").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the schema folder {folder} is missing; CI needs it")
        pytest.skip(f"the schema folder {folder} is not there")
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    import k8s_schemas

    return k8s_schemas
