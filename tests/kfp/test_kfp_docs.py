"""docs/kfp-components.md: its example compiles for both engines, and its name and type
tables say what the importer does."""

from __future__ import annotations

import re

import pytest

from treadle.backends.base import Options
from treadle.backends.targets import compile_pipelines
from treadle.compiler import types
from treadle.compiler.kfp.names import port_type, treadle_name

from ..helpers import DOCS
from .kfp_helpers import compile_in, errors

PAGE = (DOCS / "kfp-components.md").read_text(encoding="utf-8")
FILES = re.findall(r"```(?:yaml|treadle) file=(\S+)\n(.*?)```", PAGE, re.S)


def _table(header: str) -> list[tuple[str, str]]:
    start = PAGE.index(header)
    rows = []
    for line in PAGE[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        left, right = [cell.strip() for cell in line.strip("|").split("|")]
        rows.append((left, right))
    return rows


def test_the_example_compiles_for_both_engines(tmp_path):
    assert [name for name, _ in FILES] == ["greet/component.yaml", "main.treadle"]
    (tmp_path / "greet").mkdir()
    for name, body in FILES[:-1]:
        (tmp_path / name).write_text(body, encoding="utf-8")
    result = compile_in(tmp_path, FILES[-1][1])
    assert not errors(result) and not list(result.diagnostics)
    for target in ("argo", "tekton"):
        assert compile_pipelines(list(result.pipelines.values()), target, Options()).ok


@pytest.mark.parametrize("kfp_name,name", _table("| in the spec | in treadle |"))
def test_names_table(kfp_name, name):
    assert treadle_name(kfp_name.strip("`")) == name.strip("`")


@pytest.mark.parametrize("kfp_names,treadle_type", _table("| KFP type (any case) | treadle type |"))
def test_type_table(kfp_names, treadle_type):
    expected = types.named(treadle_type.strip("`"))
    for kfp_name in re.findall(r"`([^`]+)`", kfp_names):
        for spelling in (kfp_name, kfp_name.lower(), kfp_name.upper()):
            assert port_type(spelling, None) == expected, spelling
