"""The real Kubeflow component specs beside the checkout, and reading back the command line
a task runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from treadle.compiler import ir
from treadle.compiler.frontend import compile_sources
from treadle.compiler.source import SourceFile

from ..helpers import ROOT

SPECS = ROOT.parent / "shared" / "kfp-components"
SPEC_FILES = sorted(SPECS.glob("*.component.yaml"))


def spec_path(name: str) -> Path:
    path = SPECS / f"{name}.component.yaml"
    if not path.is_file():
        pytest.fail(f"{path} is missing: the tests need the Kubeflow component specs in ../shared/kfp-components")
    return path


def compile_in(folder: Path, text: str, name: str = "main.treadle"):
    """Front-end result of `text` written as folder/name (imports are relative to it)."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return compile_sources([SourceFile.read(path)])


def errors(result) -> list[str]:
    return [f"{d.span}: {d.code} {d.message}" for d in result.diagnostics if d.is_error]


def argv(graph, task_id: str) -> list[str]:
    """The command line of a task as the container gets it: values as their text (a pipeline
    parameter as <param:NAME>), input files as <in:NAME>, outputs as <out:NAME>, engine
    variables as <engine:NAME>."""
    task: ir.Task = graph.nodes[task_id]["task"]
    component = task.component

    def text(piece) -> str:
        if isinstance(piece, str):
            return piece
        if isinstance(piece, ir.InputPath):
            return f"<in:{piece.name}>"
        if isinstance(piece, ir.OutputPath):
            return f"<out:{piece.name}>"
        if isinstance(piece, ir.EngineVariable):
            return f"<engine:{piece.name}>"
        binding = task.argument(piece.name)
        if binding is None:
            return ir.render_value(component.input(piece.name).default)
        if isinstance(binding, ir.Const):
            return ir.render_value(binding.value)
        if isinstance(binding, ir.ParamRef):
            return f"<param:{binding.name}>"
        raise AssertionError(f"unexpected binding {binding}")

    return ["".join(text(piece) for piece in argument) for argument in component.command + component.args]


# A small spec with what real specs hold (gcs-upload-to-unique-uri, dataproc-submit-pyspark-job):
# Argo tags beside an input value, the pod's name in env, and the shell's `$(dirname ...)`.
# `sh` runs it, so the local runner can run it too.
STAMP_SPEC = """\
name: Stamp
inputs:
- {name: Prefix, type: String}
outputs:
- {name: Stamp, type: String}
- {name: Pod, type: String}
implementation:
  container:
    image: alpine:3.20
    command:
    - sh
    - -ec
    - |
      mkdir -p "$(dirname "$1")" "$(dirname "$2")"
      printf '%s' "$0" > "$1"
      printf '%s' "$KFP_POD_NAME" > "$2"
    - concat: [{inputValue: Prefix}, '{{workflow.uid}}/{{pod.name}}:{{workflow.name}}']
    - {outputPath: Stamp}
    - {outputPath: Pod}
    env:
      KFP_POD_NAME: '{{pod.name}}'
      WHERE: 'pod {{pod.name}} of $HOME $$'
"""
STAMP_SCRIPT = STAMP_SPEC.split("    - |\n")[1].split("    - concat")[0].replace("\n      ", "\n")[6:]
