"""What the container gets where a Kubeflow spec holds engine tags (`{{workflow.uid}}`,
`{{pod.name}}`) and the shell's `$(dirname ...)`: the documents each backend writes, filled
in the way the engine and then the kubelet fill them in, compared with the spec's text."""

from __future__ import annotations

import re

import pytest
import yaml

from treadle.backends.base import Options
from treadle.backends.targets import compile_pipelines
from treadle.compiler import ir, kfp
from treadle.compiler.diagnostics import Diagnostics
from treadle.compiler.source import SourceFile

from ..backends.backend_helpers import argo_substitute, kubelet_expand
from ..helpers import shared_schemas
from .kfp_helpers import STAMP_SCRIPT, STAMP_SPEC, compile_in, errors, spec_path

ENGINE = {"run_id": "0d6c3f5e-8f1a-4c52-9d3e-2b7a1c0e9f44", "run_name": "p-x7k2q", "pod_name": "p-x7k2q-2093551",
          "task_id": "5b0f0a52-1d2e-4e8b-a1c7-3f9d8e6b2c10"}
PREFIX = 'gs://b/$HOME $$ $ {x} }} "q" \u00e9/'  # every `$` and brace reaches the container as it is


def _documents(tmp_path, target: str, body: str, files: dict[str, str]) -> list[dict]:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = compile_in(tmp_path, body)
    assert not errors(result), errors(result)
    output = compile_pipelines(list(result.pipelines.values()), target, Options())
    assert output.ok, [f"{d.code} {d.message}" for d in output.diagnostics]
    for document in output.documents:
        assert shared_schemas().schema_errors(document, strict=True) == []
    return output.documents


# ---------------------------------------------------------------- Argo
_EXPRESSION = re.compile(r"\{\{=sprig\.replace\(.*?\)\}\}")
ARGO_TAGS = {"{{workflow.uid}}": ENGINE["run_id"], "{{workflow.name}}": ENGINE["run_name"]}


def argo_container(documents: list[dict], task_name: str) -> tuple[list[str], dict[str, str]]:
    """(argv, env) of a task's container: Argo fills in expressions, input parameters and
    `{{workflow.*}}` with the template, `{{pod.name}}` when it creates the pod; then the
    kubelet expands `$(NAME)` from the env defined before, and `$$`."""
    workflow = next(document for document in documents if document["kind"] == "Workflow")
    spec = workflow["spec"]
    dag = next(template for template in spec["templates"] if template["name"] == spec["entrypoint"])["dag"]
    call = next(task for task in dag["tasks"] if task["name"] == task_name)
    inputs = {p["name"]: p["value"] for p in call.get("arguments", {}).get("parameters", [])}
    container = next(t for t in spec["templates"] if t["name"] == call["template"])["container"]

    def fill(text: str, env: dict[str, str]) -> str:
        text = _EXPRESSION.sub(lambda match: argo_substitute(match.group(0), inputs), text)
        for tag, value in ARGO_TAGS.items():
            text = text.replace(tag, value)
        text = text.replace("{{pod.name}}", ENGINE["pod_name"])
        return kubelet_expand(argo_substitute(text, inputs), env)

    env: dict[str, str] = {}
    for variable in container.get("env", []):
        env[variable["name"]] = fill(variable["value"], dict(env))
    argv = [fill(item, env) for item in container.get("command", []) + container.get("args", [])]
    return argv, env


# ---------------------------------------------------------------- Tekton
# What Tekton's webhook checks in a Task's steps (pkg/apis/pipeline/v1/task_validation.go):
# references under these prefixes must name what exists; the shape is pkg/substitution's.
_TEKTON_CHECKED = {"params": None, "context\\.taskRun": {"name", "namespace", "uid"},
                   "context\\.task": {"name", "retry-count"}}


def tekton_references(text: str, prefix: str) -> list[str]:
    name = r"[_a-zA-Z][_a-zA-Z0-9.-]*(\[\*\])?"
    pattern = rf"\$\({prefix}(\.(?P<a>{name})|\[\"(?P<b>{name})\"\]|\['(?P<c>{name})'\])\)"
    return [(match.group("a") or match.group("b") or match.group("c")).split(".")[0]
            for match in re.finditer(pattern, text)]


def tekton_substitute(text: str, replacements: dict[str, str]) -> str:
    """Tekton's ApplyReplacements: each exact `$(KEY)` replaced, in one pass."""
    if not replacements:
        return text
    keys = sorted(replacements, key=len, reverse=True)
    return re.sub("|".join(re.escape(f"$({key})") for key in keys), lambda match: replacements[match.group(0)[2:-1]],
                  text)


def tekton_container(documents: list[dict], task_name: str) -> tuple[list[str], dict[str, str]]:
    """(argv, env) of a pipeline task's step, after the webhook's checks, Tekton's
    substitution (the Pipeline's context into the task's params, then the params and the
    TaskRun's context into the step), the downward API and the kubelet's expansion."""
    pipeline = next(document for document in documents if document["kind"] == "Pipeline")
    call = next(task for task in pipeline["spec"]["tasks"] if task["name"] == task_name)
    task = next(document for document in documents
                if document["kind"] == "Task" and document["metadata"]["name"] == call["taskRef"]["name"])
    (step,) = task["spec"]["steps"]
    declared = {param["name"] for param in task["spec"].get("params", [])}
    texts = step.get("command", []) + step.get("args", []) + [v.get("value", "") for v in step.get("env", [])]
    for text in texts:
        for prefix, known in _TEKTON_CHECKED.items():
            for name in tekton_references(text, prefix):
                assert name in (declared if known is None else known), (prefix, name, text)
    run_context = {"context.pipelineRun.uid": ENGINE["run_id"], "context.pipelineRun.name": ENGINE["run_name"]}
    params = {f"params.{p['name']}": tekton_substitute(p["value"], run_context) for p in call.get("params", [])}
    replacements = {**params, "context.taskRun.uid": ENGINE["task_id"]}
    env: dict[str, str] = {}
    for variable in step.get("env", []):
        if "valueFrom" in variable:
            assert variable["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
            env[variable["name"]] = ENGINE["pod_name"]
        else:
            env[variable["name"]] = kubelet_expand(tekton_substitute(variable["value"], replacements), dict(env))
    argv = [kubelet_expand(tekton_substitute(item, replacements), env)
            for item in step.get("command", []) + step.get("args", [])]
    return argv, env


CONTAINERS = {"argo": argo_container, "tekton": tekton_container}


@pytest.mark.parametrize("target", ["argo", "tekton"])
def test_engine_variables_and_shell_text_reach_the_container(target, tmp_path):
    literal = PREFIX.replace("\\", "\\\\").replace('"', '\\"')
    documents = _documents(tmp_path, target, f'import "stamp.yaml" as stamp\npipeline p() {{\n'
                                             f'  s = stamp(prefix="{literal}")\n}}\n', {"stamp.yaml": STAMP_SPEC})
    argv, env = CONTAINERS[target](documents, "s")
    pod, run, name = ENGINE["pod_name"], ENGINE["run_id"], ENGINE["run_name"]
    assert argv[:4] == ["sh", "-ec", STAMP_SCRIPT, f"{PREFIX}{run}/{pod}:{name}"]
    assert {key: env[key] for key in ("KFP_POD_NAME", "WHERE")} == {"KFP_POD_NAME": pod, "WHERE": f"pod {pod} of $HOME $$"}


@pytest.mark.parametrize("target", ["argo", "tekton"])
def test_kubeflow_v2_run_and_task_ids_and_dollars_next_to_variables(target, tmp_path):
    spec = ("name: v2\ninputs:\n- {name: root, type: String}\nimplementation:\n  container:\n    image: a\n"
            "    command: [run, {concat: [{inputValue: root}, '/{{$.pipeline_job_uuid}}/{{$.pipeline_task_uuid}}$']},"
            " '${{$.pipeline_job_uuid}}', '$${{pod.name}}$']\n")
    documents = _documents(tmp_path, target, 'import "v2.yaml" as v2\npipeline p() {\n  t = v2(root="gs://r")\n}\n',
                           {"v2.yaml": spec})
    argv, _ = CONTAINERS[target](documents, "t")
    task_id = ENGINE["pod_name"] if target == "argo" else ENGINE["task_id"]  # Argo has no id of a task's own
    assert argv == ["run", f"gs://r/{ENGINE['run_id']}/{task_id}$", f"${ENGINE['run_id']}", f"$${ENGINE['pod_name']}$"]


@pytest.mark.parametrize("name", ["gcs-upload-to-unique-uri", "json-get-element-by-key", "papermill-run-notebook"])
def test_shell_command_substitution_reaches_a_tekton_step_unchanged(name, tmp_path):
    """The three specs whose scripts hold `$(dirname ...)`: every text item of their command
    line reaches the container byte for byte."""
    path = spec_path(name)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["implementation"]["container"]
    texts = [item for item in raw.get("command", []) + raw.get("args", []) if isinstance(item, str)]
    assert any("$(dirname" in text for text in texts)
    body = f'import "{path}" as c\n' + """
component make() -> (file: Artifact) {
  image = "alpine:3.20"
  command = ["touch", file]
}
"""
    imported = kfp.load_component(SourceFile.read(path), "c", None, Diagnostics())
    arguments = ", ".join(f"{port.name}=made.file" if port.type.is_artifact else f'{port.name}="v"'
                          for port in imported.generic.inputs if not (port.has_default or port.optional))
    body += f"pipeline p() {{\n  made = make()\n  t = c({arguments})\n}}\n"
    argv, _ = tekton_container(_documents(tmp_path, "tekton", body, {}), "t")
    for text in texts:
        assert text in argv


def _stamp_output(tmp_path, target: str, settings: str):
    (tmp_path / "stamp.yaml").write_text(STAMP_SPEC, encoding="utf-8")
    result = compile_in(tmp_path, 'import "stamp.yaml" as stamp\npipeline p() {\n'
                                  f'  s = stamp(prefix="x") with {{ {settings} }}\n}}\n')
    assert not errors(result), errors(result)
    return compile_pipelines(list(result.pipelines.values()), target, Options())


def test_argo_does_not_memoize_a_step_that_reads_engine_variables(tmp_path):
    output = _stamp_output(tmp_path, "argo", "deterministic = true, cache = true")
    assert output.ok and [(d.code, d.span.line) for d in output.diagnostics] == [("B005", 3)]
    assert "differ in every run" in output.diagnostics[0].message
    assert "memoize" not in str(output.documents)
    output = _stamp_output(tmp_path, "argo", "deterministic = true")  # nobody asked for caching: silent
    assert output.ok and output.diagnostics == [] and "memoize" not in str(output.documents)


@pytest.mark.parametrize("target", ["argo", "tekton"])
def test_an_mpi_step_that_reads_engine_variables_is_refused(target, tmp_path):
    output = _stamp_output(tmp_path, target, "mpi { ranks = 2 }")
    problems = [d for d in output.diagnostics if d.is_error]
    assert [(d.code, d.span.line) for d in problems] == [("B001", 3)]
    assert "reads the name of the pod the task runs in, the run's unique id, the run's name in" in problems[0].message


def test_a_tekton_step_that_reads_files_through_the_launcher_keeps_its_engine_variables(tmp_path):
    """A str input that comes from another step's output is a file the launcher reads; the
    engine variables stay in the arguments it rebuilds."""
    (tmp_path / "stamp.yaml").write_text(STAMP_SPEC, encoding="utf-8")
    result = compile_in(tmp_path, 'import "stamp.yaml" as stamp\npipeline p() {\n  a = stamp(prefix="x")\n'
                                  '  b = stamp(prefix=a.stamp)\n}\n')
    assert not errors(result), errors(result)
    output = compile_pipelines(list(result.pipelines.values()), "tekton", Options())
    assert output.ok, [d.message for d in output.diagnostics]
    tasks = [d for d in output.documents if d["kind"] == "Task"]
    launched = next(task for task in tasks if task["spec"]["steps"][-1]["command"][0:2] == ["sh", "-c"]
                    and "treadle-launch" in task["spec"]["steps"][-1]["command"])
    step = launched["spec"]["steps"][-1]
    tokens = step["command"][step["command"].index("treadle-launch") + 1:]
    assert "=$(params.treadle-run-id)" in tokens and "=$(TREADLE_POD_NAME)" in tokens
    assert step["env"][0] == {"name": "TREADLE_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
    assert {"name": "treadle-run-name", "type": "string"} in launched["spec"]["params"]


MARK_SPEC = """\
name: Mark
outputs:
- {name: Out, type: Dataset}
implementation:
  container:
    image: alpine:3.20
    command: [sh, -c, 'echo "$0" > "$1"', '%s', {outputPath: Out}]
"""
KEEP = """
component keep(data: Dataset) -> (copy: Dataset) {
  image = "alpine:3.20"
  command = ["cp", data, copy]
}
"""


@pytest.mark.parametrize("tag,fuses", [("{{workflow.uid}}", True), ("{{pod.name}}", False),
                                       ("{{$.pipeline_task_uuid}}", False)])
def test_fusion_keeps_the_runs_variables_and_never_shares_a_pod_name(tag, fuses, tmp_path):
    """Steps fused into one pod would share its name and task id, which specs use to make
    unique paths: a step that reads them is not fused; the run's id is the same anyway."""
    from treadle.compiler.passes.fuse_tasks import fuse_tasks

    (tmp_path / "mark.yaml").write_text(MARK_SPEC % tag, encoding="utf-8")
    result = compile_in(tmp_path, 'import "mark.yaml" as mark\n' + KEEP +
                        "pipeline p() {\n  a = mark()\n  b = keep(data=a.out)\n}\n")
    assert not errors(result), errors(result)
    changes = []
    fused = fuse_tasks(result.pipelines["p"], changes=changes)
    tasks = sorted(fused.nodes)
    if fuses:
        assert tasks == ["a+b"]
        (task,) = [fused.nodes[node]["task"] for node in fused.nodes]
        assert any(ir.EngineVariable("run_id") in argument for argument in task.component.args)
        for target in ("argo", "tekton"):
            assert compile_pipelines([fused], target, Options()).ok
    else:
        assert tasks == ["a", "b"]
        assert any("which the steps of one pod would share" in change.message for change in changes if change.refused)


def test_two_deterministic_calls_that_read_their_pod_name_stay_two(tmp_path):
    from treadle.compiler.passes.common_tasks import eliminate_common_tasks

    for tag, kept in (("{{pod.name}}", ["a", "b"]), ("{{workflow.uid}}", ["a"])):
        (tmp_path / "mark.yaml").write_text(MARK_SPEC % tag, encoding="utf-8")
        result = compile_in(tmp_path, 'import "mark.yaml" as mark\npipeline p() {\n'
                                      '  a = mark() with { deterministic = true }\n'
                                      '  b = mark() with { deterministic = true }\n}\n')
        assert not errors(result), errors(result)
        assert sorted(eliminate_common_tasks(result.pipelines["p"]).nodes) == kept, tag
