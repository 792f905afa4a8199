"""The command line each call of a real Kubeflow component runs, with and without its
optional inputs, against what Kubeflow's own resolution gives (worked out by hand from the
spec: present inputs and inputs with a default keep their `if` branches, Integer and Float
defaults go through int() and float(), other defaults reach the container as written)."""

from __future__ import annotations

import yaml

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


def test_vertex_image_dataset_optional_flags_and_uri(tmp_path):
    graph = _graph(tmp_path, f'import "{spec_path("vertex-create-image-dataset")}" as image_dataset\n',
                   '  bare = image_dataset(project="proj", display_name="d")\n'
                   '  more = image_dataset(project="proj", display_name="d", gcs_source="gs://b/f.csv")')
    head = ["python3", "-m", "google_cloud_pipeline_components.container.aiplatform.remote_runner",
            "--cls_name", "ImageDataset", "--method_name", "create",
            "--method.project", "proj", "--method.location", "us-central1", "--method.display_name", "d",
            "--method.data_item_labels", "{}"]
    tail = ["--method.labels", "{}", "--executor_input", "{{$}}",
            "--resource_name_output_artifact_uri", "<out:dataset>"]
    assert argv(graph, "bare") == head + tail
    assert argv(graph, "more") == head + ["--method.gcs_source", "gs://b/f.csv"] + tail


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
