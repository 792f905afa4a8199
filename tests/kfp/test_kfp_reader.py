"""Reading component.yaml files: names, types, defaults, per-call resolution of synthetic
specs, and a diagnostic with file, line and field for each kind of bad spec."""

from __future__ import annotations

import textwrap

import pytest

from treadle.compiler import ir, kfp, types
from treadle.compiler.diagnostics import Diagnostics
from treadle.compiler.kfp.names import port_type, treadle_name
from treadle.compiler.source import SourceFile

from .kfp_helpers import argv, compile_in, errors


@pytest.mark.parametrize("kfp_name,expected", [
    ("Table name", "table_name"), ("Output CSV", "output_csv"), ("2nd try", "n2nd_try"),
    ("__private__", "private"), ("a--b__c", "a_b_c"), ("MLPipeline UI metadata", "mlpipeline_ui_metadata"),
    ("GCS path prefix", "gcs_path_prefix"), ("x", "x"),
])
def test_names_as_kubeflow_names_python_parameters(kfp_name, expected):
    assert treadle_name(kfp_name) == expected
    assert treadle_name(expected) == expected


@pytest.mark.parametrize("kfp_type,used_as,expected", [
    ("String", "value", types.STR), ("Integer", "value", types.INT), ("Float", None, types.FLOAT),
    ("Bool", None, types.BOOL), ("Boolean", "value", types.BOOL), ("JsonArray", None, types.LIST),
    ("JsonObject", "value", types.DICT), ("string", None, types.STR), ("GCPProjectID", "value", types.STR),
    (None, "value", types.STR), ("CSV", "file", types.named("Dataset")), ("ApacheParquet", None, types.named("Dataset")),
    ("XGBoostModel", "file", types.named("Model")), ("Model", None, types.named("Model")),
    ("UI metadata", None, types.named("Artifact")), (None, None, types.named("Artifact")),
    ({"GcsPath": {"data_type": "TSV"}}, None, types.named("Artifact")), ("String", "file", types.named("Artifact")),
])
def test_type_table(kfp_type, used_as, expected):
    assert port_type(kfp_type, used_as) == expected


def _read(text: str):
    diagnostics = Diagnostics()
    component = kfp.load_component(SourceFile("c.yaml", textwrap.dedent(text)), "c", None, diagnostics)
    return component, [f"{d.span.line}:{d.code}:{d.message}" for d in diagnostics]


@pytest.mark.parametrize("text,line,code,words", [
    ("name: x\nimplementation: {container: {image: a, command: [a, {inputValue: nope}]}}\n", 2, "E113",
     "no input named 'nope'"),
    ("name: x\nimplementation:\n  graph:\n    tasks: {}\n", 3, "E113", "graph components are not supported"),
    ("name: x\nimplementation:\n  container:\n    image: a\n    args: [{executorInput: null}]\n", 5, "E113",
     "executor input is not supported"),
    ("name: x\ninputs:\n- {name: Table name}\n- {name: table_name}\n"
     "implementation: {container: {image: a}}\n", 4, "E114", "'Table name' and 'table_name' both become 'table_name'"),
    ("name: x\ninputs:\n- {name: For}\nimplementation: {container: {image: a}}\n", 3, "E114", "keyword"),
    ("name: x\nimplementation:\n  container:\n    image: a\n    entrypoint: [a]\n", 5, "E113",
     "implementation.container.entrypoint: not a field"),
    ("name: x\nimplementation:\n  container: {image: a, command: [{bogus: 1}]}\n", 3, "E113",
     "not a Kubeflow v1 placeholder"),
    ("name: x\ninputs:\n- {name: n, type: Integer, default: many}\nimplementation: {container: {image: a}}\n",
     3, "E113", "'many' is not a number"),
    ("name: x\nimplementation: {container: {image: a, command: [a, b}}\n", 2, "E113", "not valid YAML"),
    ("name: x\ninputs:\n- {name: d, type: CSV}\nimplementation:\n  container:\n    image: a\n"
     "    command: [{inputValue: d}, {inputPath: d}]\n", 3, "E113", "used both as a value"),
    ("name: x\noutputs:\n- {name: n, type: Integer}\nimplementation:\n  container:\n    image: a\n"
     "    command: [{outputUri: n}]\n", 7, "E113", "a value has no URI"),
    ("name: x\nimplementation: {container: {image: a}}\nowner: me\n", 3, "E113", "owner: not a field"),
    ("name: x\n", 1, "E113", "implementation: missing"),
])
def test_bad_specs_are_reported_at_their_line(text, line, code, words):
    component, found = _read(text)
    assert component is None
    assert any(item.startswith(f"{line}:{code}:") and words in item for item in found), found


@pytest.mark.parametrize("text", [
    "name: !!python/object/apply:os.system [echo hi]\nimplementation: {container: {image: a}}\n",
    "name: x\nimplementation: {container: {image: !!python/name:os.system ''}}\n",
    "name: x\ninputs:\n- {name: !!python/name:os.system '', type: String}\nimplementation: {container: {image: a}}\n",
])
def test_unsafe_yaml_tags_are_refused(text):
    component, found = _read(text)
    assert component is None and any(":E113:" in item for item in found), found


def test_defaults_reach_the_container_as_kubeflow_passes_them():
    component, found = _read("""
        name: x
        inputs:
        - {name: n, type: Integer, default: '05'}
        - {name: f, type: Float, default: '1'}
        - {name: b, type: Boolean, default: 'False'}
        - {name: b2, type: Bool, default: true}
        - {name: j, type: JsonObject, default: '{"a":1}'}
        - {name: l, type: JsonArray, default: '[]'}
        - {name: s, type: String, default: 7}
        implementation: {container: {image: a, args: [{inputValue: n}]}}
    """)
    assert found == []
    defaults = {port.name: port.default for port in component.generic.inputs}
    # int('05') and float('1') as Kubeflow converts them; the rest keeps its text.
    assert defaults == {"n": 5, "f": 1.0, "b": "False", "b2": "True", "j": '{"a":1}', "l": [], "s": "7"}


SYNTHETIC = """
name: Synthetic
inputs:
- {name: Verbose, type: Boolean, default: 'false'}
- {name: Level, type: Integer, optional: true}
- {name: Tag, type: String, optional: true}
outputs:
- {name: Out, type: String}
implementation:
  container:
    image: alpine:3.20
    command:
    - run
    - if:
        cond: {inputValue: Verbose}
        then: [--verbose]
    - concat: [--tag=, {if: {cond: {isPresent: Tag}, then: {inputValue: Tag}, else: none}}, /, {inputValue: Level}]
    - if:
        cond: {isPresent: Level}
        then:
        - if:
            cond: {isPresent: Tag}
            then: [--both]
            else: [--level-only]
    - {outputPath: Out}
"""


@pytest.mark.parametrize("call,expected", [
    ("s = syn()", ["run", "--tag=none/", "<out:out>"]),
    ("s = syn(verbose=true, level=2)", ["run", "--verbose", "--tag=none/2", "--level-only", "<out:out>"]),
    ('s = syn(verbose=false, level=2, tag="t")', ["run", "--tag=t/2", "--both", "<out:out>"]),
    ('s = syn(tag="t")', ["run", "--tag=t/", "<out:out>"]),
])
def test_nested_if_concat_and_boolean_conditions(tmp_path, call, expected):
    (tmp_path / "syn.yaml").write_text(SYNTHETIC, encoding="utf-8")
    result = compile_in(tmp_path, f'import "syn.yaml" as syn\npipeline p() {{\n  {call}\n}}\n')
    assert not errors(result), errors(result)
    assert argv(result.pipelines["p"], "s") == expected


def test_a_condition_known_only_at_run_time_is_an_error(tmp_path):
    (tmp_path / "syn.yaml").write_text(SYNTHETIC, encoding="utf-8")
    result = compile_in(tmp_path, 'import "syn.yaml" as syn\npipeline p(v: bool = true) {\n  s = syn(verbose=v)\n}\n')
    found = [(d.code, d.span.line) for d in result.diagnostics if d.is_error]
    assert found == [("E215", 3)]
    assert "verbose" in next(d.message for d in result.diagnostics if d.code == "E215")


def test_an_import_needs_a_name_and_names_clash_like_others(tmp_path):
    (tmp_path / "syn.yaml").write_text(SYNTHETIC, encoding="utf-8")
    result = compile_in(tmp_path, 'import "syn.yaml"\n')
    assert [d.code for d in result.diagnostics] == ["E110"]
    result = compile_in(tmp_path, 'import "syn.yaml" as syn\ncomponent syn() {\n  image = "a"\n  command = ["a"]\n}\n')
    assert "E105" in [d.code for d in result.diagnostics]


def test_one_file_under_two_names_and_unknown_arguments(tmp_path):
    (tmp_path / "syn.yaml").write_text(SYNTHETIC, encoding="utf-8")
    result = compile_in(tmp_path, 'import "syn.yaml" as a\nimport "syn.yaml" as b\n'
                                  'pipeline p() {\n  x = a(level=1)\n  y = b(levels=1)\n  z = a(level="one")\n}\n')
    assert sorted((d.code, d.span.line) for d in result.diagnostics if d.is_error) == [("E202", 6), ("E204", 5)]


def test_errors_in_a_spec_point_into_the_spec_from_the_cli(tmp_path, capsys):
    from treadle.compiler.cli import main

    (tmp_path / "bad.yaml").write_text("name: x\nimplementation:\n  container:\n    image: [a]\n", encoding="utf-8")
    (tmp_path / "main.treadle").write_text('import "bad.yaml" as bad\n', encoding="utf-8")
    assert main(["check", str(tmp_path / "main.treadle")]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'bad.yaml'}:4:12: error[E113]: implementation.container.image: expected text" in out
    assert "    image: [a]" in out


def test_optional_fields_may_be_empty():
    component, found = _read("""
        name: x
        version: google.com/cloud/pipelines/component/v1
        description:
        inputs:
        - {name: a, description: }
        outputs:
        implementation: {container: {image: a, command: [echo, {inputValue: a}]}}
    """)
    assert found == [] and component.generic.description == "" and component.generic.outputs == ()


def test_tags_treadle_cannot_give_are_named_once_per_kind():
    """Known engine tags are no loss and warn nothing; the executor input, other v2 launcher
    tags and unknown Argo tags warn once per kind. The spec keeps its text as written (it
    exports as it was read); calls resolve the tags (see test_kfp_argv)."""
    component, found = _read("""
        name: x
        implementation:
          container:
            image: a
            command: [run, '{{workflow.uid}}', '{{pod.name}}', '{{$}}', '{{workflow.namespace}}', '{{$}}',
                      {concat: [a, '{{$.pipeline_job_uuid}}', "{{$.inputs.parameters['x']}}"]}]
            env: {POD: '{{pod.name}}', NS: '{{workflow.namespace}}'}
    """)
    assert component is not None
    assert [item.split(":")[0:2] for item in found] == [["6", "W506"], ["6", "W506"], ["7", "W506"]]
    assert "'{{$}}' is Kubeflow v2's executor input" in found[0] and "(E215)" in found[0]
    assert "'{{workflow.namespace}}' is an Argo tag that treadle does not know" in found[1]
    assert "'{{$.inputs.parameters['x']}}' is filled in by Kubeflow v2's launcher only" in found[2]
    assert "(E215)" in found[2]
    assert component.spec.command[1:4] == ("{{workflow.uid}}", "{{pod.name}}", "{{$}}")  # as written
    env = dict((variable.name, variable.value) for variable in component.generic.settings.env)
    assert env == {"POD": (ir.EngineVariable("pod_name"),), "NS": "{{workflow.namespace}}"}


def test_keywords_are_the_grammars():
    from treadle.compiler.kfp.names import KEYWORDS
    from treadle.compiler.parser import _driver

    assert KEYWORDS == frozenset(_driver().lexer.keywords)
