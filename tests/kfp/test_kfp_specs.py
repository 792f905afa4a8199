"""Every real Kubeflow component spec in ../shared/kfp-components imports, is called in a
pipeline (with only its required inputs, and with every input), and compiles for Argo
(both artifact modes) and Tekton into documents the upstream schemas accept.

Six specs hold text that an engine would rewrite on its way to the container (Argo's
`{{...}}` tags, which Kubeflow v1 relies on Argo to fill in, and the shell's `$(...)`,
which Tekton reads as its variables). The backends refuse such text with B002, naming
it, rather than deliver something else; those pairs are listed here and checked to fail
for exactly that reason."""

from __future__ import annotations

import pytest

from treadle.backends.base import Options
from treadle.backends.targets import compile_pipelines
from treadle.compiler import kfp
from treadle.compiler.diagnostics import Diagnostics
from treadle.compiler.source import SourceFile

from ..helpers import shared_schemas
from .kfp_helpers import SPEC_FILES, SPECS, compile_in, errors

# (spec, target) -> text the engine cannot carry unchanged
REFUSED = {
    ("automl-tabular-transform", "argo"): "{{$.pipeline_job_uuid}}",
    ("dataproc-submit-pyspark-job", "argo"): "{{pod.name}}",
    ("gcs-upload-to-unique-uri", "argo"): "{{workflow.uid}}",
    ("gcs-upload-to-unique-uri", "tekton"): "$(dirname",
    ("vertex-create-image-dataset", "argo"): "{{$}}",
    ("json-get-element-by-key", "tekton"): "$(dirname",
    ("papermill-run-notebook", "tekton"): "$(dirname",
}
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
    assert not errors(result), errors(result)
    short = path.name.split(".")[0]
    for target, options in TARGETS:
        output = compile_pipelines(list(result.pipelines.values()), target, options)
        refused = REFUSED.get((short, target))
        if refused is not None:
            problems = [d for d in output.diagnostics if d.is_error]
            assert problems and all(d.code == "B002" for d in problems), problems
            assert any(refused in d.message for d in problems), [d.message for d in problems]
            continue
        assert output.ok, [f"{d.code} {d.message}" for d in output.diagnostics]
        for document in output.documents:
            assert schema_errors(document) == [], (target, document["kind"])


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
