"""The command line each call of a real Kubeflow component runs, with and without its
optional inputs, against what Kubeflow's own resolution gives (worked out by hand from the
spec: present inputs and inputs with a default keep their `if` branches, Integer and Float
defaults go through int() and float(), other defaults reach the container as written)."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from treadle.compiler import ir
from treadle.compiler.kfp import tags

from .kfp_helpers import argv, compile_in, errors, spec_path

PRODUCER = """
component make() -> (file: Artifact) {
  image = "alpine:3.20"
  command = ["touch", file]
}
"""


def _graph(tmp_path, imports: str, body: str, params: str = ""):
    result = compile_in(tmp_path, imports + PRODUCER + f"pipeline p({params}) {{\n  made = make()\n{body}\n}}\n")
    assert not errors(result), errors(result)
    return result.pipelines["p"]


def test_xgboost_train_without_optional_inputs(tmp_path):
    graph = _graph(tmp_path, f'import "{spec_path("xgboost-train-csv")}" as xgb_train\n',
                   "  t = xgb_train(training_data=made.file)")
    args = argv(graph, "t")
    assert args[args.index("--training-data"):] == [
        "--training-data", "<in:training_data>",
        "--label-column", "0", "--num-iterations", "10", "--objective", "reg:squarederror",
        "--booster", "gbtree", "--learning-rate", "0.3", "--min-split-loss", "0.0", "--max-depth", "6",
        "--model", "<out:model>", "--model-config", "<out:model_config>",
    ]


def test_xgboost_train_with_optional_inputs(tmp_path):
    graph = _graph(tmp_path, f'import "{spec_path("xgboost-train-csv")}" as xgb_train\n',
                   '  t = xgb_train(training_data=made.file, starting_model=made.file, num_iterations=3,\n'
                   '                booster_params={"eta": 1}, learning_rate=rate)', "rate: float = 0.1")
    args = argv(graph, "t")
    start = args.index("--training-data")
    assert args[start:] == [
        "--training-data", "<in:training_data>", "--starting-model", "<in:starting_model>",
        "--label-column", "0", "--num-iterations", "3", "--booster-params", '{"eta": 1}',
        "--objective", "reg:squarederror", "--booster", "gbtree", "--learning-rate", "<param:rate>",
        "--min-split-loss", "0.0", "--max-depth", "6", "--model", "<out:model>", "--model-config", "<out:model_config>",
    ]


def test_json_build_dict_keeps_only_the_keys_given(tmp_path):
    graph = _graph(tmp_path, f'import "{spec_path("json-build-dict")}" as build_dict\n',
                   '  none = build_dict()\n  some = build_dict(key_1="a", value_1={"x": 1}, key_3="c")')
    command_length = len(argv(graph, "none")) - 2
    assert argv(graph, "none")[command_length:] == ["----output-paths", "<out:output>"]
    assert argv(graph, "some")[command_length:] == ["--key-1", "a", "--value-1", '{"x": 1}', "--key-3", "c",
                                       "----output-paths", "<out:output>"]


def test_papermill_if_else_branches(tmp_path):
    path = spec_path("papermill-run-notebook")
    script = yaml.safe_load(path.read_text())["implementation"]["container"]["command"][2]
    graph = _graph(tmp_path, f'import "{path}" as papermill\n',
                   '  bare = papermill(notebook=made.file)\n'
                   '  full = papermill(notebook=made.file, input_data=made.file, packages_to_install=["pandas"],\n'
                   '                   parameters={"n": 2})')
    # `Packages to install` has the default '' (present: then-branch, its text); `Input data`
    # is optional without default (absent: else-branch, "").
    assert argv(graph, "bare") == ["sh", "-exc", script, "<in:notebook>", "<out:notebook>", "{}", "", "",
                                   "<out:output_data>"]
    assert argv(graph, "full") == ["sh", "-exc", script, "<in:notebook>", "<out:notebook>", '{"n": 2}',
                                   '["pandas"]', "<in:input_data>", "<out:output_data>"]


def test_vertex_custom_job_concat_with_defaults(tmp_path):
    graph = _graph(tmp_path, f'import "{spec_path("vertex-custom-job")}" as custom_job\n',
                   '  job = custom_job(project="proj", display_name="train", worker_pool_specs=[{"a": 1}])')
    payload = ('{"display_name": "train", "job_spec": {"worker_pool_specs": [{"a": 1}], "scheduling": '
               '{"timeout": "604800s", "restart_job_on_worker_restart": "false"}, "service_account": "", '
               '"tensorboard": "", "enable_web_access": "false", "network": "", "reserved_ip_ranges": [], '
               '"base_output_directory": {"output_uri_prefix": ""}}, "labels": {}, '
               '"encryption_spec": {"kms_key_name":""}}')
    assert argv(graph, "job") == [
        "python3", "-u", "-m", "google_cloud_pipeline_components.container.v1.custom_job.launcher",
        "--type", "CustomJob", "--payload", payload, "--project", "proj", "--location", "us-central1",
        "--gcp_resources", "<out:gcp_resources>"]


def test_the_v2_executor_input_is_refused_at_each_call_that_passes_it(tmp_path):
    """`{{$}}` is the executor input of Kubeflow v2's launcher, which treadle does not have:
    a call whose command line holds it is an error at the call; one whose `if` leaves it
    out is not."""
    result = compile_in(tmp_path, f'import "{spec_path("vertex-create-image-dataset")}" as image_dataset\n'
                                  'pipeline p() {\n  image_dataset(project="proj", display_name="d")\n}\n')
    (problem,) = [d for d in result.diagnostics if d.is_error]
    assert (problem.code, problem.span.line, problem.span.column) == ("E215", 3, 3)
    assert "'{{$}}' is Kubeflow v2's executor input" in problem.message and "no v2 launcher" in problem.message
    (tmp_path / "c.yaml").write_text(
        "name: c\ninputs:\n- {name: v2, type: Boolean, default: 'false'}\nimplementation:\n  container:\n"
        "    image: a\n    command: [run, {if: {cond: {inputValue: v2}, then: ['{{$}}']}}]\n", encoding="utf-8")
    result = compile_in(tmp_path, 'import "c.yaml" as c\npipeline p() {\n  plain = c()\n  launched = c(v2=true)\n}\n')
    assert [(d.code, d.span.line) for d in result.diagnostics if d.is_error] == [("E215", 4)]


@pytest.mark.parametrize("where", ["command: [run, '--id={{$.pipeline_job_name}}']",
                                   "command: [run]\n    env: {X: \"{{$.inputs.parameters['n']}}\"}"])
def test_other_v2_launcher_tags_are_refused_at_the_call(where, tmp_path):
    (tmp_path / "c.yaml").write_text(f"name: c\nimplementation:\n  container:\n    image: a\n    {where}\n",
                                     encoding="utf-8")
    result = compile_in(tmp_path, 'import "c.yaml" as c\npipeline p() {\n  c()\n}\n')
    (problem,) = [d for d in result.diagnostics if d.is_error]
    assert problem.code == "E215" and "is filled in only by Kubeflow v2's launcher" in problem.message


def test_engine_tags_become_engine_variables_in_each_call(tmp_path):
    """Known Argo tags and Kubeflow v2's run and task ids are engine variables wherever they
    stand in the text; everything around them stays text, byte for byte."""
    graph = _graph(tmp_path, f'import "{spec_path("gcs-upload-to-unique-uri")}" as upload\n',
                   '  up = upload(data=made.file, gcs_path_prefix="gs://b/")')
    assert argv(graph, "up")[-2] == "gs://b/<engine:run_id>_<engine:pod_name>"
    task = graph.nodes["up"]["task"]
    assert task.component.command[-2] == (ir.InputValue("gcs_path_prefix"), ir.EngineVariable("run_id"), "_", ir.EngineVariable("pod_name"))
    graph = _graph(tmp_path, f'import "{spec_path("automl-tabular-transform")}" as transform\n',
                   '  t = transform(project="p", location="l", root_dir="gs://r", metadata=made.file, '
                   'dataset_schema=made.file, train_split=made.file, eval_split=made.file, test_split=made.file)')
    payload = argv(graph, "t")[argv(graph, "t").index("--payload") + 1]
    assert payload.startswith('{"display_name": "automl-tabular-transform-<engine:run_id>-<engine:task_id>", ')
    assert "gs://r/<engine:run_id>/<engine:task_id>/transform" in payload and "{{" not in payload


@pytest.mark.parametrize("tag,variable", [("{{workflow.uid}}", "run_id"), ("{{ workflow.name }}", "run_name"),
                                          ("{{pod.name}}", "pod_name"), ("{{$.pipeline_job_uuid}}", "run_id"),
                                          ("{{$.pipeline_task_uuid}}", "task_id")])
def test_each_known_tag(tag, variable):
    assert tags.pieces(f"a{tag}b{tag}") == ("a", ir.EngineVariable(variable), "b", ir.EngineVariable(variable))


KNOWN_TAGS = [None, "{{workflow.uid}}", "{{ pod.name }}", "{{workflow.name}}", "{{$.pipeline_job_uuid}}",
              "{{$.pipeline_task_uuid}}"]


@given(st.lists(st.tuples(st.text(st.characters(blacklist_characters="{}"), max_size=4), st.sampled_from(KNOWN_TAGS)),
                max_size=6))
def test_pieces_are_the_text_with_each_known_tag_a_variable(parts):
    text = "".join(chunk + (tag or "") for chunk, tag in parts)
    expected: list = []
    for chunk, tag in parts:
        if chunk and expected and isinstance(expected[-1], str):
            expected[-1] += chunk
        elif chunk:
            expected.append(chunk)
        if tag:
            expected.append(ir.EngineVariable(tags.ENGINE_TAGS[tag[2:-2].strip()]))
    assert tags.pieces(text) == (tuple(expected) or ("",))


def test_split_csv_into_folds_integer_defaults(tmp_path):
    graph = _graph(tmp_path, f'import "{spec_path("split-csv-into-folds")}" as folds\n',
                   "  f = folds(table=made.file, random_seed=7)")
    args = argv(graph, "f")
    start = args.index("--table")
    assert args[start:start + 6] == ["--table", "<in:table>", "--number-of-folds", "5", "--random-seed", "7"]


def test_calls_with_the_same_command_line_share_one_component(tmp_path):
    graph = _graph(tmp_path, f'import "{spec_path("json-build-dict")}" as build_dict\n',
                   '  a = build_dict(key_1="a")\n  b = build_dict(key_1="b")\n  c = build_dict(key_2="c")')
    component = {node: graph.nodes[node]["task"].component for node in ("a", "b", "c")}
    assert component["a"] is component["b"]
    assert component["a"] is not component["c"]


def test_an_if_on_an_engine_variable_is_refused(tmp_path):
    (tmp_path / "c.yaml").write_text("name: c\nimplementation:\n  container:\n    image: a\n"
                                     "    command: [run, {if: {cond: '{{pod.name}}', then: [x]}}]\n", encoding="utf-8")
    result = compile_in(tmp_path, 'import "c.yaml" as c\npipeline p() {\n  c()\n}\n')
    (problem,) = [d for d in result.diagnostics if d.is_error]
    assert problem.code == "E215" and "reads the name of the pod the task runs in" in problem.message
