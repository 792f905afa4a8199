"""Every real Kubeflow component spec in ../shared/kfp-components imports, is called in a
pipeline (with only its required inputs, and with every input), and compiles for Argo
(both artifact modes) and Tekton into documents the upstream schemas accept (strict: no
unknown fields).

Text that Kubeflow leaves for the engine to fill in becomes the engine's own variables
(`{{workflow.uid}}`, `{{pod.name}}`, Kubeflow v2's `{{$.pipeline_job_uuid}}`), and the
shell's `$(dirname ...)` reaches a Tekton step unchanged (test_kfp_engine_values checks
what each container gets). One spec cannot be called: its command line passes `{{$}}`,
Kubeflow v2's executor input, which only v2's launcher can write and read back; that call
is an error (E215) naming it, checked here."""

from __future__ import annotations

import pytest

from treadle.backends.base import Options
from treadle.backends.targets import compile_pipelines
from treadle.compiler import kfp
from treadle.compiler.diagnostics import Diagnostics
from treadle.compiler.source import SourceFile

from ..helpers import shared_schemas
from .kfp_helpers import SPEC_FILES, SPECS, compile_in, errors

# spec -> what its calls are refused with, at the call, for every engine
REFUSED_CALLS = {"vertex-create-image-dataset": ("E215", "'{{$}}' is Kubeflow v2's executor input")}
TARGETS = [("argo", Options()), ("argo", Options(artifacts="volume")), ("tekton", Options())]
LITERALS = {"str": '"text"', "int": "3", "float": "0.5", "bool": "true", "list": '["a", "b"]', "dict": '{"k": "v"}'}


def test_the_specs_are_there():
    assert len(SPEC_FILES) == 12, f"expected the 12 Kubeflow specs in {SPECS}"


def _pipeline(path, every_input: bool) -> str:
    component = kfp.load_component(SourceFile.read(path), "comp", None, Diagnostics())
    arguments = [f"{port.name}=" + ("made.file" if port.type.is_artifact else LITERALS[port.type.name])
                 for port in component.generic.inputs
                 if every_input or not (port.has_default or port.optional)]
    reads = "\n".join(f"  use_{port.name} = consume(file=c.{port.name})" for port in component.generic.outputs
                      if port.type.is_artifact)
    return f"""import "{path}" as comp

component make() -> (file: Artifact) {{
  image = "alpine:3.20"
  command = ["touch", file]
}}

component consume(file: Artifact) {{
  image = "alpine:3.20"
  command = ["cat", file]
}}

pipeline p() {{
  made = make()
  c = comp({", ".join(arguments)})
{reads}
}}
"""


@pytest.mark.parametrize("every_input", [False, True], ids=["required", "all"])
@pytest.mark.parametrize("path", SPEC_FILES, ids=[path.name.split(".")[0] for path in SPEC_FILES])
def test_spec_compiles_for_every_engine(path, every_input, tmp_path):
    schema_errors = shared_schemas().schema_errors
    result = compile_in(tmp_path, _pipeline(path, every_input))
    short = path.name.split(".")[0]
    if short in REFUSED_CALLS:
        code, message = REFUSED_CALLS[short]
        problems = [d for d in result.diagnostics if d.is_error]
        assert [(d.code, d.span.line) for d in problems] == [(code, 15)], errors(result)
        assert message in problems[0].message
        return
    assert not errors(result), errors(result)
    for target, options in TARGETS:
        output = compile_pipelines(list(result.pipelines.values()), target, options)
        assert output.ok, [f"{d.code} {d.message}" for d in output.diagnostics]
        assert not output.diagnostics, [f"{d.code} {d.message}" for d in output.diagnostics]
        for document in output.documents:
            assert schema_errors(document, strict=True) == [], (target, document["kind"])


def test_refused_calls_name_specs_that_exist():
    assert set(REFUSED_CALLS) <= {path.name.split(".")[0] for path in SPEC_FILES}


@pytest.mark.parametrize("path", SPEC_FILES, ids=[path.name.split(".")[0] for path in SPEC_FILES])
def test_spec_imports_with_every_port(path):
    diagnostics = Diagnostics()
    component = kfp.load_component(SourceFile.read(path), "comp", None, diagnostics)
    assert component is not None, [d.message for d in diagnostics]
    assert not diagnostics.has_errors
    import yaml

    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert len(component.generic.inputs) == len(raw.get("inputs") or [])
    assert len(component.generic.outputs) == len(raw.get("outputs") or [])
