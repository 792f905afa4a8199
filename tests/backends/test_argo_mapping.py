"""The Argo mapping construct by construct, on small pipelines."""

from __future__ import annotations

import dataclasses
import re

import pytest
import yaml
from backend_helpers import compile_text, container_view, load_all

from treadle.backends import argo
from treadle.backends.base import Options
from treadle.backends.targets import compile_pipelines
from treadle.compiler import ir
from treadle.compiler.frontend import compile_sources
from treadle.compiler.source import SourceFile

COMPONENTS = '''
component make(n: int = 1, label: str = "x", flag: bool = false, rate: float = 0.5) -> (value: float, name: str, ok: bool, items: list[str], data: Dataset) {
  image = "python:3.12"
  command = ["make", "--n", n, "--label", label, "--flag", flag, "--rate", rate,
             "--value", value, "--name", name, "--ok", ok, "--items", items, "--data", data]
}
component use(data: Dataset, text: str = "") -> (out: float) {
  image = "python:3.12"
  command = ["use", data, text, "--out", out]
}
component say(text: str) {
  image = "alpine:3.20"
  command = ["echo", text]
}
component gather(values: list) {
  image = "alpine:3.20"
  command = ["echo", values]
}
'''


def workflow(body: str, params: str = "", options: Options | None = None) -> dict:
    output, _ = compile_text(COMPONENTS + f"pipeline p({params}) {{\n{body}\n}}\n", options)
    assert output.ok, [d.message for d in output.diagnostics]
    (document,) = load_all(output.text)
    return document


def template(document: dict, name: str) -> dict:
    spec = document["spec"].get("workflowSpec", document["spec"])
    return next(t for t in spec["templates"] if t["name"] == name)


def dag_tasks(document: dict, name: str = "p") -> dict:
    return {task["name"]: task for task in template(document, name)["dag"]["tasks"]}


def graph_of(text: str):
    result = compile_sources([SourceFile("t.treadle", COMPONENTS + text)])
    assert not result.diagnostics.has_errors, [d.message for d in result.diagnostics]
    (graph,) = result.pipelines.values()
    return graph


def with_settings(graph, task_id: str, **changes):
    task = graph.nodes[task_id]["task"]
    graph.nodes[task_id]["task"] = dataclasses.replace(task, settings=dataclasses.replace(task.settings, **changes))
    return graph


def emit_one(graph, options: Options | None = None) -> tuple[dict, list]:
    output = compile_pipelines([graph], "argo", options or Options())
    return (load_all(output.text)[0] if output.ok else None), output.diagnostics


# ---------------------------------------------------------------- templates
def test_one_template_per_component_and_settings():
    calls = "\n".join(f"  s{i} = say(text=\"{i}\")" for i in range(50))
    document = workflow(calls + '\n  t = say(text="x") with { retries = 1 }')
    names = [t["name"] for t in document["spec"]["templates"]]
    assert names == ["p", "say", "say-" + names[2].split("-")[-1]]
    assert template(document, names[2])["retryStrategy"] == {"limit": "1", "retryPolicy": "Always"}
    assert len(dag_tasks(document)) == 51


def test_parameters_outputs_and_artifacts():
    document = workflow('  a = make(n=3)\n  b = use(data=a.data, text=a.name)', "seed: int = 7")
    make = template(document, "make")
    assert make["outputs"]["parameters"][0] == {"name": "value", "valueFrom": {"path": "/tmp/treadle/outputs/value"}}
    assert make["outputs"]["artifacts"] == [{"name": "data", "path": "/tmp/treadle/outputs/data"}]
    assert template(document, "use")["inputs"]["artifacts"] == [{"name": "data", "path": "/tmp/treadle/inputs/data"}]
    tasks = dag_tasks(document)
    assert tasks["b"]["arguments"]["artifacts"] == [{"name": "data", "from": "{{tasks.a.outputs.artifacts.data}}"}]
    assert tasks["b"]["arguments"]["parameters"] == [{"name": "text", "value": "{{tasks.a.outputs.parameters.name}}"}]
    assert tasks["b"]["depends"] == "a"
    assert document["spec"]["arguments"] == {"parameters": [{"name": "seed", "value": "7"}]}


def test_unbound_inputs_get_their_defaults_at_the_call():
    tasks = dag_tasks(workflow("  a = make()"))
    assert tasks["a"]["arguments"]["parameters"][:4] == [
        {"name": "n", "value": "1"}, {"name": "label", "value": "x"},
        {"name": "flag", "value": "false"}, {"name": "rate", "value": "0.5"}]


def test_numbers_go_in_as_tags_strings_through_an_expression():
    command = template(workflow("  a = make()"), "make")["container"]["command"]
    assert command[2] == "{{inputs.parameters.n}}"
    assert command[4] == "{{=sprig.replace('$', '$$', inputs.parameters['label'])}}"


# ---------------------------------------------------------------- conditions
@pytest.mark.parametrize("condition,expected", [
    ("a.value >= 0.9", "{{=asFloat(tasks['a'].outputs.parameters['value']) >= 0.9}}"),
    ('a.name == "it\'s"', "{{=tasks['a'].outputs.parameters['name'] == sprig.b64dec('aXQncw==')}}"),
    ('a.name != "plain"', "{{=tasks['a'].outputs.parameters['name'] != 'plain'}}"),
    ("a.ok", "{{=(sprig.lower(tasks['a'].outputs.parameters['ok']) == 'true')}}"),
    ("a.ok == false", "{{=(sprig.lower(tasks['a'].outputs.parameters['ok']) == 'true') == false}}"),
    ("not a.ok or limit < 3", "{{=(!((sprig.lower(tasks['a'].outputs.parameters['ok']) == 'true')) || "
                              "asFloat(workflow.parameters['limit']) < 3)}}"),
    ('mode == "fast" and a.value > limit', "{{=(workflow.parameters['mode'] == 'fast' && "
                                           "asFloat(tasks['a'].outputs.parameters['value']) > "
                                           "asFloat(workflow.parameters['limit']))}}"),
    ("a.value < 1e-07", "{{=asFloat(tasks['a'].outputs.parameters['value']) < asFloat('1e-07')}}"),
])
def test_when_quotes_each_type(condition, expected):
    document = workflow(f"  a = make()\n  if {condition} {{\n    say(text=\"yes\")\n  }}",
                        'mode: str = "fast", limit: float = 2')
    assert dag_tasks(document)["say"]["when"] == expected


def test_comparison_of_loop_input_with_task_output_is_split_per_operand():
    body = '''  for t in [0.5, 0.7] {
    a = make()
    b = use(data=a.data)
    if a.value > t and a.name == "best" {
      say(text="above")
    }
  }'''
    document = workflow(body)
    loop = template(document, "for-t-1")
    when = {task["name"]: task for task in loop["dag"]["tasks"]}["say"]["when"]
    assert when == ("(({{tasks.a.outputs.parameters.value}} > {{inputs.parameters.item}}) && "
                    "{{=tasks['a'].outputs.parameters['name'] == 'best'}})")


# ---------------------------------------------------------------- loops
def test_one_step_loop_over_literals_and_outputs():
    document = workflow('  a = make()\n  for x in ["a", "b"] {\n    say(text=x)\n  }\n'
                        '  for y in a.items {\n    s = say(text=y)\n  }')
    tasks = dag_tasks(document)
    assert tasks["for-x-1"]["withItems"] == ["a", "b"]
    assert tasks["for-x-1"]["arguments"]["parameters"] == [{"name": "text", "value": "{{item}}"}]
    assert tasks["for-y-2"]["withParam"] == "{{tasks.a.outputs.parameters.items}}"
    assert tasks["for-y-2"]["depends"] == "a.Succeeded"  # the list is read before skipping


def test_loop_body_of_several_steps_is_a_dag_with_fan_in():
    body = '''  a = make()
  for n in [1, 2, 3] {
    m = make(n=n)
    u = use(data=m.data, text=a.name)
  }
  gather(values=u.out)'''
    document = workflow(body)
    loop = template(document, "for-n-1")
    assert loop["inputs"]["parameters"] == [{"name": "item"}, {"name": "a-name"}]
    assert loop["outputs"]["parameters"] == [
        {"name": "u-out", "valueFrom": {"parameter": "{{tasks.u.outputs.parameters.out}}"}}]
    tasks = dag_tasks(document)
    assert tasks["for-n-1"]["withItems"] == ["1", "2", "3"]
    assert tasks["for-n-1"]["arguments"]["parameters"] == [
        {"name": "item", "value": "{{item}}"}, {"name": "a-name", "value": "{{tasks.a.outputs.parameters.name}}"}]
    assert tasks["gather"]["arguments"]["parameters"] == [
        {"name": "values", "value": "{{tasks.for-n-1.outputs.parameters.u-out}}"}]
    assert tasks["gather"]["depends"] == "for-n-1"


def test_conditions_around_a_loop_are_tested_on_the_loop():
    body = '''  a = make()
  if a.ok {
    for n in a.items {
      m = make(label=n)
      if m.ok {
        say(text=n)
      }
    }
  }'''
    document = workflow(body)
    loop_task = dag_tasks(document)["for-n-2"]
    assert loop_task["when"] == "{{=(sprig.lower(tasks['a'].outputs.parameters['ok']) == 'true')}}"
    inner = {t["name"]: t for t in template(document, "for-n-2")["dag"]["tasks"]}
    assert "when" not in inner["m"]
    assert inner["say"]["when"] == "{{=(sprig.lower(tasks['m'].outputs.parameters['ok']) == 'true')}}"


# ---------------------------------------------------------------- order, finally
def test_after_waits_without_needing_success_of_skipped_steps():
    document = workflow('  a = say(text="1")\n  b = say(text="2") after a')
    assert dag_tasks(document)["b"]["depends"] == "(a.Succeeded || a.Skipped || a.Omitted)"


def test_a_condition_reading_outputs_waits_for_success():
    document = workflow('  a = make()\n  if a.ok {\n    say(text="ok")\n  }')
    assert dag_tasks(document)["say"]["depends"] == "a.Succeeded"


def test_finally_is_the_exit_handler():
    document = workflow('  a = say(text="1")\n  finally {\n    say(text="done")\n  }')
    assert document["spec"]["onExit"] == "finally"
    assert [t["name"] for t in template(document, "finally")["dag"]["tasks"]] == ["say"]


# ---------------------------------------------------------------- settings
def test_retries_timeout_resources_and_gpu():
    document = workflow('  a = say(text="1") with { retries = 3, timeout = "1h30m", '
                        'resources { cpu = "500m", memory = "1Gi", memory_limit = "2Gi", gpu = 2 } }')
    say = template(document, "say")
    assert say["retryStrategy"] == {"limit": "3", "retryPolicy": "Always"}
    assert say["activeDeadlineSeconds"] == 5400
    assert say["container"]["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"},
                                             "limits": {"memory": "2Gi", "nvidia.com/gpu": 2}}


def test_security_defaults_and_overrides():
    default = template(workflow('  say(text="1")'), "say")["container"]["securityContext"]
    assert default == {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                       "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    changed = template(workflow('  say(text="1") with { security { run_as_non_root = false, run_as_user = 0, '
                                'read_only_root_filesystem = true } }'), "say")["container"]["securityContext"]
    assert changed["runAsNonRoot"] is False and changed["runAsUser"] == 0 and changed["readOnlyRootFilesystem"]


def test_env_secrets_and_input_values():
    graph = graph_of('pipeline p() {\n  say(text="1")\n}\n')
    env = (ir.EnvVar("LEVEL", "$(HOME) costs $$"), ir.EnvVar("PASSWORD", ir.SecretRef("db", "password")),
           ir.EnvVar("TEXT", ir.InputValue("text")))
    document, _ = emit_one(with_settings(graph, "say", env=env))
    assert template(document, "say")["container"]["env"] == [
        {"name": "LEVEL", "value": "$$(HOME) costs $$$"},
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        {"name": "TEXT", "value": "{{=sprig.replace('$', '$$', inputs.parameters['text'])}}"}]


def with_descriptions(graph, task_id: str, text: str):
    """The task's component described, and each of its ports (as imported specs are)."""
    task = graph.nodes[task_id]["task"]
    component = task.component
    component = dataclasses.replace(
        component, description=text,
        inputs=tuple(dataclasses.replace(port, description=f"{text} ({port.name})") for port in component.inputs),
        outputs=tuple(dataclasses.replace(port, description=f"{text} ({port.name})") for port in component.outputs))
    graph.nodes[task_id]["task"] = dataclasses.replace(task, component=component)
    return graph


@pytest.mark.parametrize("target", ["argo", "tekton"])
def test_descriptions_reach_the_documents(target, schema_errors):
    graph = with_descriptions(graph_of('pipeline p() {\n  a = make()\n}\n'), "a", "Makes: 'things' $(x)")
    output = compile_pipelines([graph], target, Options())
    assert output.ok, [d.message for d in output.diagnostics]
    for document in load_all(output.text):
        assert schema_errors(document, strict=True) == []
    if target == "argo":
        made = template(load_all(output.text)[0], "make")
        assert made["metadata"] == {"annotations": {"treadle.dev/description": "Makes: 'things' $(x)"}}
        described = made["inputs"]["parameters"] + made["outputs"]["parameters"]
    else:
        (task,) = [d for d in load_all(output.text) if d["kind"] == "Task"]
        assert task["spec"]["description"] == "Makes: 'things' $(x)"
        described = task["spec"]["params"] + task["spec"].get("results", [])
    assert {entry["name"]: entry["description"] for entry in described if "description" in entry} == {
        entry["name"]: f"Makes: 'things' $(x) ({entry['name']})" for entry in described
        if entry["name"] in {"n", "label", "flag", "rate", "value", "name", "ok", "items"}}
    assert len([entry for entry in described if "description" in entry]) >= 4


def test_a_description_argo_would_substitute_into_is_refused():
    graph = with_descriptions(graph_of('pipeline p() {\n  a = make()\n}\n'), "a", "a {{tag}}")
    document, diagnostics = emit_one(graph)
    assert document is None
    assert {d.code for d in diagnostics if d.is_error} == {"B002"}
    assert any("the description of 'make'" in d.message for d in diagnostics)


def test_node_selector_tolerations_volumes(schema_errors):
    graph = graph_of('pipeline p() {\n  say(text="1")\n}\n')
    graph = with_settings(
        graph, "say", node_selector=(("pool", "gpu"),),
        tolerations=(ir.Toleration("nvidia.com/gpu", "Exists", None, "NoSchedule"),
                     ir.Toleration("spot", "Equal", "true", "NoExecute", 60)),
        volumes=(ir.Volume("data_cache", "/cache", "claim", "shared-cache", True),
                 ir.Volume("ca", "/etc/ca", "config_map", "corporate-ca"),
                 ir.Volume("keys", "/keys", "secret", "api-keys", True),
                 ir.Volume("scratch", "/scratch", "empty_dir")),
        image_pull_policy="Always")
    document, _ = emit_one(graph)
    say = template(document, "say")
    assert say["nodeSelector"] == {"pool": "gpu"}
    assert say["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "spot", "operator": "Equal", "value": "true", "effect": "NoExecute", "tolerationSeconds": 60}]
    volume_name = say["volumes"][0]["name"]
    assert volume_name.startswith("data-cache-")
    assert say["volumes"][0]["persistentVolumeClaim"] == {"claimName": "shared-cache", "readOnly": True}
    assert say["volumes"][1:] == [{"name": "ca", "configMap": {"name": "corporate-ca"}},
                                  {"name": "keys", "secret": {"secretName": "api-keys"}},
                                  {"name": "scratch", "emptyDir": {}}]
    assert say["container"]["volumeMounts"][0] == {"name": volume_name, "mountPath": "/cache", "readOnly": True}
    assert say["container"]["imagePullPolicy"] == "Always"
    assert schema_errors(document, strict=True) == []


def test_memoize_only_deterministic_parameter_only_steps():
    document = workflow('  say(text="1") with { deterministic = true }\n  a = make()\n'
                        '  u = use(data=a.data) with { deterministic = true }')
    memo = template(document, "say")["memoize"]
    assert memo["key"].startswith("say.") and memo["key"].endswith(
        ".{{=sprig.sha256sum(toJson([inputs.parameters['text']]))}}")
    assert memo["cache"] == {"configMap": {"name": "treadle-memo"}} and memo["maxAge"]
    assert "memoize" not in template(document, "use") and "memoize" not in template(document, "make")
    output, _ = compile_text(COMPONENTS + 'pipeline p() {\n  a = make()\n  u = use(data=a.data) with { deterministic = true }\n}\n')
    assert output.ok and output.diagnostics == []  # caching is best effort unless asked for
    output, _ = compile_text(COMPONENTS + 'pipeline p() {\n  a = make()\n'
                             '  u = use(data=a.data) with { deterministic = true, cache = true }\n}\n')
    assert [d.code for d in output.diagnostics] == ["B005"]
    assert "reads artifacts" in output.diagnostics[0].message


# ---------------------------------------------------------------- documents
def test_schedule_becomes_a_cron_workflow():
    document = workflow('  schedule = "0 3 * * *"\n  timezone = "Europe/Paris"\n  say(text="1")')
    assert document["kind"] == "CronWorkflow"
    assert document["spec"]["schedules"] == ["0 3 * * *"] and document["spec"]["timezone"] == "Europe/Paris"
    assert document["spec"]["workflowSpec"]["entrypoint"] == "p"


def test_workflow_template_with_schedule_adds_a_cron_workflow_that_refers_to_it(schema_errors):
    output, _ = compile_text(COMPONENTS + 'pipeline nightly_run() {\n  schedule = "@daily"\n  say(text="1")\n}\n',
                             Options(kind="workflowtemplate"))
    template_doc, cron = load_all(output.text)
    assert template_doc["kind"] == "WorkflowTemplate" and template_doc["metadata"]["name"] == "nightly-run"
    assert cron["spec"]["workflowSpec"] == {"workflowTemplateRef": {"name": "nightly-run"}}
    for document in (template_doc, cron):
        assert schema_errors(document, strict=True) == []


def test_pipeline_settings():
    spec = workflow('  parallelism = 3\n  timeout = "2h"\n  service_account = "runner"\n  say(text="1")')["spec"]
    assert (spec["parallelism"], spec["activeDeadlineSeconds"], spec["serviceAccountName"]) == (3, 7200, "runner")


@pytest.mark.parametrize("target", ["argo", "tekton"])
@pytest.mark.parametrize("taken", ["treadle-artifacts", "treadle-outputs"])
def test_a_user_volume_never_takes_the_name_of_treadles_own(target, taken):
    volume = f'{{"name": "{taken}", "mount": "/scratch", "claim": "other"}}'
    source = COMPONENTS.replace('component use(data: Dataset, text: str = "") -> (out: float) {',
                                'component use(data: Dataset, text: str = "") -> (out: float) {\n'
                                f'  volumes = [{volume}]')
    output, _ = compile_text(source + "pipeline p() {\n  a = make()\n  b = use(data=a.data)\n}\n",
                             Options(artifacts="volume", volume_claim="shared"), target=target)
    assert output.ok
    claims = {}
    for document in load_all(output.text):
        for found in re.finditer(r"'?name'?: '?([a-z0-9-]+)'?, '?persistentVolumeClaim'?: \{'?claimName'?: '?([a-z-]+)",
                                 str(document)):
            claims.setdefault(found.group(1), set()).add(found.group(2))
    assert all(len(names) == 1 for names in claims.values()), claims
    assert any(name.startswith(taken + "-") for name, names in claims.items() if names == {"other"}), claims


def test_volume_mode_passes_paths_on_a_claim(schema_errors):
    document = workflow('  a = make()\n  b = use(data=a.data)', options=Options(artifacts="volume", volume_claim="shared"))
    assert document["spec"]["volumes"] == [{"name": "treadle-artifacts", "persistentVolumeClaim": {"claimName": "shared"}}]
    tasks = dag_tasks(document)
    assert {"name": "data", "value": "{{workflow.uid}}/a/data"} in tasks["b"]["arguments"]["parameters"]
    mounts = template(document, "use")["container"]["volumeMounts"]
    assert mounts[0] == {"name": "treadle-artifacts", "mountPath": "/tmp/treadle/inputs/data",
                         "subPath": "{{inputs.parameters.data}}", "readOnly": True}
    assert schema_errors(document, strict=True) == []


# ---------------------------------------------------------------- MPI
MPI = '''
component fit(train: Dataset, n: int = 10, name: str = "a b") -> (model: Model) {
  image = "ghcr.io/treadle-ml/runtime:0.1.0"
  command = ["treadle-runtime", "fit", "--train", train, "--n", n, "--name", name, "--model", model]
  mpi { ranks = 5, slots_per_worker = 2 }
  resources { cpu = "2" }
}
'''


def test_mpi_step_is_a_resource_template_creating_an_mpijob(schema_errors):
    output, _ = compile_text(COMPONENTS + MPI + 'pipeline p() {\n  a = make()\n  f = fit(train=a.data)\n}\n')
    assert [d.code for d in output.diagnostics] == ["B003"]
    (document,) = load_all(output.text)
    resource = template(document, "fit")["resource"]
    assert resource["action"] == "create" and resource["setOwnerReference"] is True
    assert resource["successCondition"] == "status.replicaStatuses.Launcher.succeeded > 0"
    assert resource["failureCondition"] == "status.replicaStatuses.Launcher.failed > 0"
    manifest = yaml.safe_load(resource["manifest"])
    assert manifest["apiVersion"] == "kubeflow.org/v2beta1" and manifest["kind"] == "MPIJob"
    spec = manifest["spec"]
    assert spec["slotsPerWorker"] == 2 and spec["mpiReplicaSpecs"]["Worker"]["replicas"] == 3
    launcher = spec["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0]
    assert launcher["command"] == ["mpirun"] and launcher["args"][:4] == ["-n", "5", "treadle-runtime", "fit"]
    assert launcher["image"] == spec["mpiReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["image"]
    assert launcher["args"][9].startswith("{{=sprig.trimSuffix(")
    assert '"' + launcher["args"][9] + '"' in resource["manifest"]
    assert schema_errors(document, strict=True) == []
    assert schema_errors(manifest, strict=True) == []


@pytest.mark.parametrize("target", ["argo", "tekton"])
def test_mpijob_pod_names_stay_valid_labels_for_long_component_names(target):
    """mpi-operator names pods `<job>-worker-<i>` and refuses a job whose pod names are not
    labels; the job's name is its generateName plus five random characters."""
    long_name = "fit_" + "distributed_model_" * 3
    source = (COMPONENTS + MPI.replace("component fit(", f"component {long_name}(").replace(
        "ranks = 5, slots_per_worker = 2", "ranks = 20, slots_per_worker = 1")
        + f"pipeline p() {{\n  a = make()\n  f = {long_name}(train=a.data)\n}}\n")
    output, _ = compile_text(source, target=target)
    prefixes = re.findall(r'generateName"?:\s*"?([a-z0-9-]+)', output.text)
    assert prefixes
    for prefix in prefixes:
        assert prefix.endswith("-") and prefix.startswith("fit-distributed")
        assert len(prefix) + 5 + len("-worker-19") <= 63


MPI_SCORE = MPI.replace("-> (model: Model)", "-> (model: Model, score: float, label: str)").replace(
    '"--model", model]', '"--model", model, "--score", score, "--label", label]')


def _mpi_step(document: dict, name: str) -> tuple[dict, dict, dict]:
    """(the DAG a step calls, its MPIJob template, its values template)."""
    step = template(document, name)
    job, read = ({task["name"]: task for task in step["dag"]["tasks"]}[part]["template"] for part in ("mpijob", "values"))
    return step, template(document, job), template(document, read)


def test_mpi_output_values_are_read_back_from_the_shared_volume(schema_errors):
    output, _ = compile_text(COMPONENTS + MPI_SCORE + 'pipeline p() {\n  a = make()\n  f = fit(train=a.data)\n'
                             '  g = say(text=f.label)\n}\n')
    assert output.ok and [d.code for d in output.diagnostics] == ["B003"]
    (document,) = load_all(output.text)
    assert schema_errors(document, strict=True) == []
    step, job, read = _mpi_step(document, "fit")
    names = [t["name"] for t in document["spec"]["templates"]]
    assert names[names.index("fit"):][:3] == ["fit", "fit-mpijob", "fit-values"]
    # The step's DAG runs the job, then reads the values, and exports them under their own names.
    assert step["outputs"]["parameters"] == [
        {"name": "score", "valueFrom": {"parameter": "{{tasks.values.outputs.parameters.score}}"}},
        {"name": "label", "valueFrom": {"parameter": "{{tasks.values.outputs.parameters.label}}"}}]
    calls = {task["name"]: task for task in step["dag"]["tasks"]}
    assert calls["values"]["depends"] == "mpijob"
    passed = {p["name"]: p["value"] for p in calls["mpijob"]["arguments"]["parameters"]}
    assert passed == {name: "{{inputs.parameters.%s}}" % name for name in ("train", "n", "name", "treadle-dir")}
    assert [p["name"] for p in step["inputs"]["parameters"]] == [p["name"] for p in job["inputs"]["parameters"]]
    assert calls["values"]["arguments"]["parameters"] == [
        {"name": "treadle-dir", "value": "{{inputs.parameters.treadle-dir}}"}]
    # The ranks write each value to the file the values container exposes, in the same folder.
    manifest = yaml.safe_load(job["resource"]["manifest"])
    launcher = manifest["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0]
    written = launcher["args"][launcher["args"].index("--score") + 1]
    assert read["outputs"]["parameters"][0] == {"name": "score", "valueFrom": {"path": written}}
    (job_mount,) = [m for m in launcher["volumeMounts"] if m["mountPath"] == "/tmp/treadle/outputs"]
    (read_mount,) = read["container"]["volumeMounts"]
    assert read_mount == {**job_mount, "readOnly": True}
    # Nothing but a version query runs there: no value ever reaches a command line or a script.
    assert read["container"]["command"] == ["mpirun", "--version"] and "args" not in read["container"]
    assert read["container"]["image"] == launcher["image"]
    assert read["container"]["securityContext"]["runAsNonRoot"] is True
    # Callers read the values as any step's.
    assert dag_tasks(document)["g"]["arguments"]["parameters"] == [
        {"name": "text", "value": "{{tasks.f.outputs.parameters.label}}"}]


def test_mpi_step_with_output_values_only_switches_to_the_shared_volume(schema_errors):
    source = COMPONENTS + MPI_SCORE.replace("train: Dataset, ", "").replace('"--train", train, ', "").replace(
        "model: Model, ", "").replace(', "--model", model', "") + 'pipeline p() {\n  f = fit()\n  say(text=f.label)\n}\n'
    output, _ = compile_text(source)
    (warning,) = output.diagnostics
    assert warning.code == "B003" and "output values" in warning.message
    (document,) = load_all(output.text)
    assert schema_errors(document, strict=True) == []
    assert document["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "treadle-artifacts"
    tasks = dag_tasks(document)
    assert {"name": "treadle-dir", "value": "{{workflow.uid}}/f"} in tasks["f"]["arguments"]["parameters"]
    assert tasks["say"]["depends"] == "f"


def test_condition_on_an_mpi_output(schema_errors):
    output, _ = compile_text(COMPONENTS + MPI_SCORE + 'pipeline p(least: float = 0.9) {\n  a = make()\n'
                             '  f = fit(train=a.data)\n  if f.score >= least and f.label == "ok" {\n'
                             '    say(text="good")\n  }\n}\n')
    assert output.ok
    (document,) = load_all(output.text)
    assert schema_errors(document, strict=True) == []
    say = dag_tasks(document)["say"]
    assert say["depends"] == "f.Succeeded"
    assert say["when"] == ("{{=(asFloat(tasks['f'].outputs.parameters['score']) >= asFloat(workflow.parameters['least'])"
                           " && tasks['f'].outputs.parameters['label'] == 'ok')}}")


def test_mpi_step_in_loops_with_fan_in_of_its_values(schema_errors):
    body = ('  a = make()\n'
            '  for n in [1, 2, 3] {\n    f = fit(train=a.data, n=n)\n  }\n'
            '  for name in ["x", "y"] {\n    b = make(label=name)\n    h = fit(train=b.data, name=name)\n  }\n'
            '  one = gather(values=f.score)\n  two = gather(values=h.label)\n'
            '  if a.value > 0.5 {\n    for m in [4, 5] {\n      k = fit(train=a.data, n=m)\n'
            '      if k.score > 0.1 {\n        say(text=k.label)\n      }\n    }\n  }\n')
    output, _ = compile_text(COMPONENTS + MPI_SCORE + "pipeline p() {\n" + body + "}\n")
    assert output.ok, [d.message for d in output.diagnostics]
    (document,) = load_all(output.text)
    assert schema_errors(document, strict=True) == []
    tasks = dag_tasks(document)
    names = {t["name"] for t in document["spec"]["templates"]}
    assert {"fit", "fit-mpijob", "fit-values"} <= names
    # A one-step body: the MPI step itself carries the items; Argo gathers its exported values.
    (one_loop,) = [t for t in tasks.values() if t.get("withItems") == ["1", "2", "3"]]
    assert one_loop["template"] == "fit"
    assert tasks["one"]["arguments"]["parameters"][0]["value"] == (
        "{{tasks.%s.outputs.parameters.score}}" % one_loop["name"])
    assert tasks["one"]["depends"] == one_loop["name"]
    # A body of several steps: the body DAG exports the MPI step's value, Argo gathers that.
    (two_loop,) = [t for t in tasks.values() if t.get("withItems") == ["x", "y"]]
    body_dag = template(document, two_loop["template"])
    (export,) = body_dag["outputs"]["parameters"]
    assert export["valueFrom"] == {"parameter": "{{tasks.h.outputs.parameters.label}}"}
    assert tasks["two"]["arguments"]["parameters"][0]["value"] == (
        "{{tasks.%s.outputs.parameters.%s}}" % (two_loop["name"], export["name"]))
    assert {t["name"]: t for t in body_dag["dag"]["tasks"]}["h"]["template"] == "fit"
    # Inside a loop body, a condition on the MPI step's value of the same iteration.
    (inner,) = [t for t in tasks.values() if t.get("withItems") == ["4", "5"]]
    assert inner["when"] == "{{=asFloat(tasks['a'].outputs.parameters['value']) > 0.5}}"
    guarded = {t["name"]: t for t in template(document, inner["template"])["dag"]["tasks"]}["say"]
    assert guarded["when"] == "{{=asFloat(tasks['k'].outputs.parameters['score']) > 0.1}}"
    assert guarded["depends"] == "k.Succeeded"


# ---------------------------------------------------------------- values Argo cannot carry
def test_template_braces_in_a_value_are_an_error_naming_it():
    output, _ = compile_text(COMPONENTS + 'pipeline p() {\n  say(text="hello {{workflow.name}}")\n}\n')
    assert not output.ok
    (problem,) = [d for d in output.diagnostics if d.is_error]
    assert problem.code == "B002" and "hello {{workflow.name}}" in problem.message
    assert problem.span.line == COMPONENTS.count("\n") + 2


def test_values_reach_the_container_unchanged():
    text = "it's \"$(HOME)\" $$ {x} }} \u00e9\u2603 \\ # : -\nsecond line"
    output, _ = compile_text(COMPONENTS + 'pipeline p() {\n  say(text="' + text.replace("\\", "\\\\").replace(
        '"', '\\"').replace("\n", "\\n") + '")\n}\n')
    (document,) = load_all(output.text)
    argv, _ = container_view(document, dag_tasks(document)["say"])
    assert argv == ["echo", text]


def test_size_warning_names_the_figure():
    big = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
           "metadata": {"name": "w", "labels": {argo.PIPELINE_LABEL: "w"}}, "spec": {"x": "y" * argo.SIZE_WARNING}}
    ((label, size, pipeline),) = argo.documents_near_limit([big])
    assert label == "Workflow w" and size > argo.SIZE_WARNING and pipeline == "w"
    assert argo.documents_near_limit([{**big, "spec": {}}]) == []
