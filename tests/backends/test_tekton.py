"""The Tekton backend: goldens, schema validity, the mapping construct by construct, and
the constructs it refuses with a B-coded error."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from backend_helpers import (EveryName, compile_text, kubelet_expand, load_all, tekton_entries, tekton_mpi_manifests,
                             treadle_string)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kube_models import model_errors
from test_argo_properties import pipelines

from treadle.backends.base import DEFAULT_KUBECTL_IMAGE, Options
from treadle.backends.tekton import duration
from treadle.compiler.cli import main

REPO = Path(__file__).resolve().parents[2]
# The Argo test pipelines join as the constructs they use are mapped.
SOURCES = sorted((Path(__file__).parent / "tekton_pipelines").glob("*.treadle")) + [
    Path(__file__).parent / "pipelines" / "digits.treadle"] + sorted((REPO / "examples").glob("*.treadle"))
VARIANTS = {"": Options(), ".embedded": Options(embedded=True)}
CASES = [(source, suffix) for source in SOURCES for suffix in VARIANTS]

COMPONENTS = '''
component make(n: int = 1, label: str = "x", flag: bool = false) -> (value: float, name: str, ok: bool, data: Dataset) {
  image = "python:3.12"
  command = ["make", "--n", n, "--label", label, "--flag", flag, "--value", value, "--name", name, "--ok", ok, "--data", data]
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
component count(n: float) {
  image = "alpine:3.20"
  command = ["echo", n]
}
'''


def tekton(body: str, params: str = "", options: Options | None = None):
    output, _ = compile_text(COMPONENTS + f"pipeline p({params}) {{\n{body}\n}}\n", options, target="tekton")
    return output


def documents(body: str, params: str = "", options: Options | None = None) -> dict[str, dict]:
    output = tekton(body, params, options)
    assert output.ok, [d.message for d in output.diagnostics]
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in load_all(output.text)}


def pipeline_tasks(docs: dict[str, dict]) -> dict[str, dict]:
    return {task["name"]: task for task in docs["Pipeline/p"]["spec"]["tasks"]}


def valid(document: dict, schema_errors) -> list[str]:
    """Tekton documents against the Tekton CRDs, a scheduled run's too; the Kubernetes kinds
    of a schedule against the kubernetes client's models."""
    if document["apiVersion"].startswith("tekton.dev/"):
        return schema_errors(document, strict=True)
    problems = model_errors(document)
    if document["kind"] == "ConfigMap":
        for text in document["data"].values():
            problems += [problem for run in load_all(text) for problem in schema_errors(run, strict=True)]
    return problems


def errors(output) -> list[tuple[str, str]]:
    return [(d.code, d.message) for d in output.diagnostics if d.is_error]


# ---------------------------------------------------------------- goldens
def _golden(source: Path, suffix: str) -> Path:
    return source.with_name(source.name[: -len(".treadle")] + suffix + ".tekton.yaml")


@pytest.mark.parametrize("source,suffix", CASES, ids=[f"{s.parent.name}/{s.name}{x}" for s, x in CASES])
def test_golden(source, suffix):
    output, _ = compile_text(source.read_text(encoding="utf-8"), VARIANTS[suffix], path=str(source), target="tekton",
                             origin_root=REPO)
    assert output.ok, [d.message for d in output.diagnostics]
    golden = _golden(source, suffix)
    if os.environ.get("TREADLE_REGENERATE") == "1":
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("golden files are never regenerated under CI")
        golden.write_text(output.text, encoding="utf-8", newline="\n")
    assert golden.exists(), f"{golden.name} is missing; run with TREADLE_REGENERATE=1 to write it"
    assert output.text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("source,suffix", CASES, ids=[f"{s.parent.name}/{s.name}{x}" for s, x in CASES])
def test_golden_is_schema_valid(source, suffix, schema_errors):
    for document in load_all(_golden(source, suffix).read_text(encoding="utf-8")):
        assert valid(document, schema_errors) == []


def test_every_example_has_a_golden_file():
    for source in sorted((REPO / "examples").glob("*.treadle")):
        assert _golden(source, "").exists(), f"{source.name} has no .tekton.yaml beside it"


# ---------------------------------------------------------------- the mapping
def test_one_task_per_component_and_settings():
    docs = documents('a = say(text="a")\nb = say(text="b")\nc = say(text="c") with { retries = 1 }')
    tasks = [name for name in docs if name.startswith("Task/")]
    assert tasks == ["Task/p-say"]  # retries live on the pipeline task, not the Task
    assert pipeline_tasks(docs)["c"]["retries"] == 1
    docs = documents('a = say(text="a")\nb = say(text="b") with { resources { cpu = "2" } }')
    assert len([name for name in docs if name.startswith("Task/")]) == 2


def test_small_outputs_are_results_and_the_rest_files_in_the_workspace():
    docs = documents("a = make()\nb = use(data=a.data)\nc = count(n=a.value)")
    task = docs["Task/p-make"]["spec"]
    assert [r["name"] for r in task["results"]] == ["value", "ok"]
    argv = task["steps"][0]["command"]
    assert argv[argv.index("--value") + 1] == "$(results.value.path)"
    assert argv[argv.index("--name") + 1] == "/tmp/treadle/outputs/name"
    assert task["workspaces"] == [{"name": "treadle-outputs", "mountPath": "/tmp/treadle/outputs"}]
    tasks = pipeline_tasks(docs)
    assert tasks["a"]["workspaces"] == [{"name": "treadle-outputs", "workspace": "treadle-artifacts", "subPath": "a"}]
    assert tasks["b"]["workspaces"] == [{"name": "input-data", "workspace": "treadle-artifacts", "subPath": "a/data"}]
    assert tasks["b"]["runAfter"] == ["a"]
    assert {"name": "n", "value": "$(tasks.a.results.value)"} in tasks["c"]["params"]
    run = docs["PipelineRun/p"]["spec"]
    assert run["workspaces"][0]["volumeClaimTemplate"]["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_an_output_whose_name_is_no_result_name_is_a_file():
    output, _ = compile_text('component odd() -> (n_: int) {\n  image = "a:1"\n  command = ["x", n_]\n}\n'
                             'pipeline p() {\n  odd()\n}\n', target="tekton")
    docs = {d["kind"]: d for d in load_all(output.text)}
    assert "results" not in docs["Task"]["spec"]
    assert docs["Task"]["spec"]["steps"][0]["command"] == ["x", "/tmp/treadle/outputs/n_"]


def test_an_existing_claim_replaces_the_claim_template():
    docs = documents("a = make()\nb = use(data=a.data)", options=Options(volume_claim="shared"))
    assert docs["PipelineRun/p"]["spec"]["workspaces"] == [
        {"name": "treadle-artifacts", "persistentVolumeClaim": {"claimName": "shared"}}]


def test_parameters_have_types_and_the_run_passes_defaults():
    docs = documents("say(text=t)\ncount(n=k)", params='t: str = "hello", k: float = 3.0, u: bool')
    assert docs["Pipeline/p"]["spec"]["params"] == [
        {"name": "t", "type": "string", "default": "hello"}, {"name": "k", "type": "string", "default": "3.0"},
        {"name": "u", "type": "string"}]
    assert docs["PipelineRun/p"]["spec"]["params"] == [{"name": "t", "value": "hello"}, {"name": "k", "value": "3.0"}]


def test_values_never_go_into_a_script_and_steps_are_named():
    docs = documents('say(text=t)', params='t: str = "x"')
    step = docs["Task/p-say"]["spec"]["steps"][0]
    assert "script" not in step and step["name"] == "say"
    assert step["command"] == ["echo", "$(params.text)"]


def test_literal_dollars_reach_the_container_unchanged():
    text = "cost $$5, $HOME and $"
    docs = documents(f"say(text={treadle_string(text)})")
    (param,) = pipeline_tasks(docs)["say"]["params"]
    assert kubelet_expand(param["value"], EveryName()) == text


@pytest.mark.parametrize("text", ["$(params.t)", "echo $(date)", "$(context.pipelineRun.name)"])
def test_tekton_variables_in_literals_are_refused(text):
    output = tekton(f"say(text={treadle_string(text)})")
    assert errors(output) and errors(output)[0][0] == "B002" and repr(text) in errors(output)[0][1]


def _shell(script: str):
    component = f'component sh(x: str) {{\n  image = "alpine:3.20"\n  command = ["sh", "-c", {treadle_string(script)}, x]\n' \
                f'  env {{\n    SCRIPT = {treadle_string(script)}\n  }}\n}}\n'
    output, _ = compile_text(component + 'pipeline p() {\n  sh(x="a")\n}\n', target="tekton")
    return output


@pytest.mark.parametrize("script", ['mkdir -p "$(dirname "$1")"', "n=$((1 + 2)); echo $( ls ) $$ $", "$(a b)",
                                    "$(echo $(dirname x))", "$(", "$(x", "$(\"q\")"])
def test_shell_command_substitution_in_a_component_reaches_the_step(script):
    """In a Task's own step Tekton replaces only `$(NAME)` references; the kubelet gets
    `$$(` and gives back `$(`."""
    output = _shell(script)
    assert output.ok, [d.message for d in output.diagnostics]
    step = next(d for d in load_all(output.text) if d["kind"] == "Task")["spec"]["steps"][0]
    assert kubelet_expand(step["command"][2], EveryName()) == script
    assert kubelet_expand(step["env"][0]["value"], EveryName()) == script


@pytest.mark.parametrize("script", ["echo $(date)", "$(params.x)", "$(context.taskRun.name)", "a$(results.r.path)",
                                    "$(params['x'])", "$(workspaces.w.path)", "$(HOME)"])
def test_what_tekton_reads_as_a_variable_in_a_component_is_refused(script):
    output = _shell(script)
    assert [d.code for d in output.diagnostics if d.is_error] == ["B002", "B002"]  # in command and in env
    assert all(repr(script) in d.message for d in output.diagnostics)


@pytest.mark.parametrize("default", ["a$$b", "ends in $"])
def test_a_default_the_kubelet_would_change_is_refused(default):
    output = tekton("say(text=t)", params=f't: str = {treadle_string(default)}')
    assert [code for code, _ in errors(output)] == ["B002"]


@pytest.mark.parametrize("default", ["US$5", "$HOME", "a $ b"])
def test_a_default_the_kubelet_leaves_alone_is_delivered(default):
    """The kubelet expands only `$$` and `$(`; a `when` compares the text as it is."""
    output = tekton('if t == "x" {\n  say(text=t)\n}', params=f't: str = {treadle_string(default)}')
    assert output.ok, errors(output)
    run = next(d for d in load_all(output.text) if d["kind"] == "PipelineRun")
    (param,) = run["spec"]["params"]
    assert param["value"] == default and kubelet_expand(param["value"], EveryName()) == default


def test_conditions_on_text_and_booleans_become_when_expressions():
    docs = documents('a = make()\nif a.ok and t != "x" and not b {\n  say(text="y")\n}\nif t == "z" {\n  s2 = say(text="z")\n}',
                     params='t: str = "q", b: bool = false')
    tasks = pipeline_tasks(docs)
    assert tasks["say"]["when"] == [
        {"input": "$(tasks.a.results.ok)", "operator": "in", "values": ["true"]},
        {"input": "$(params.t)", "operator": "notin", "values": ["x"]},
        {"input": "$(params.b)", "operator": "notin", "values": ["true"]}]
    assert tasks["s2"]["when"] == [{"input": "$(params.t)", "operator": "in", "values": ["z"]}]


CHECK_PARAMS = 'k: int = 1, x: float = 0.5, t: str = "a", b: bool = true'


def run_check(docs: dict, check: dict, run_values: dict[str, str]) -> str:
    """Run the condition-check task's program as the step would, on the run's values."""
    import re
    import subprocess
    import sys

    (task,) = [d for name, d in docs.items() if name.endswith("-condition-check")]
    step = task["spec"]["steps"][0]
    params = {p["name"]: p["value"] for p in check["params"]}
    values = [re.sub(r"\$\(params\.(\w+)\)", lambda m: run_values[m.group(1)], v) for v in params["values"]]
    values = [kubelet_expand(v, EveryName()) for v in values]
    with __import__("tempfile").NamedTemporaryFile("r") as result:
        subprocess.run([sys.executable, "-c", step["command"][2], result.name, params["condition"], *values],
                       check=True)
        return result.read()


@pytest.mark.parametrize("condition,run_values,expected", [
    ("k > 3", {"k": "4"}, "true"), ("k > 3", {"k": "3"}, "false"), ("k >= 10", {"k": "9"}, "false"),
    ("k == 1", {"k": "1"}, "true"), ("x == 1", {"x": "1.0"}, "true"), ("x < 0.25", {"x": "1e-3"}, "true"),
    ("x != x", {"x": "nan"}, "true"), ("x == x", {"x": "nan"}, "false"),
    ('t == "a" or k > 5', {"t": "b", "k": "6"}, "true"), ('t == "a" or k > 5', {"t": "b", "k": "5"}, "false"),
    ("not (b and k < 0)", {"b": "true", "k": "-1"}, "false"), ("not (b and k < 0)", {"b": "false", "k": "-1"}, "true"),
    # the literal reaches the check unchanged (not the run value's "cost $5" after the kubelet)
    ('(t != "cost $$5" and not b) or k > 9', {"t": "cost $5", "b": "false"}, "true"),
])
def test_condition_checks_evaluate_like_the_language(condition, run_values, expected):
    docs = documents(f"if {condition} {{\n  say(text=\"y\")\n}}", params=CHECK_PARAMS)
    tasks = pipeline_tasks(docs)
    (check_name,) = [name for name in tasks if name.startswith("check-")]
    assert tasks["say"]["when"][-1] == {"input": f"$(tasks.{check_name}.results.holds)", "operator": "in",
                                        "values": ["true"]}
    values = {"k": "1", "x": "0.5", "t": "a", "b": "true", **run_values}
    assert run_check(docs, tasks[check_name], values) == expected


def test_one_check_serves_every_step_of_an_if_block():
    docs = documents('if k > 3 {\n  say(text="y")\n  s2 = say(text="z")\n}', params=CHECK_PARAMS)
    tasks = pipeline_tasks(docs)
    assert list(tasks) == ["check-say", "say", "s2"]
    assert tasks["say"]["when"] == tasks["s2"]["when"]


def test_after_finally_retries_timeouts():
    docs = documents('a = say(text="a")\nb = say(text="b") after a with { timeout = "1h2m3s" }\n'
                     'finally {\n  f = say(text="f")\n}', )
    tasks = pipeline_tasks(docs)
    assert tasks["b"]["runAfter"] == ["a"] and tasks["b"]["timeout"] == "1h2m3s"
    assert [t["name"] for t in docs["Pipeline/p"]["spec"]["finally"]] == ["f"]
    assert "runAfter" not in docs["Pipeline/p"]["spec"]["finally"][0]


def test_pipeline_timeout_and_service_account():
    docs = documents('timeout = "2h"\nservice_account = "runner"\nsay(text="a")')
    run = docs["PipelineRun/p"]["spec"]
    assert run["timeouts"] == {"pipeline": "2h"}
    assert run["taskRunTemplate"] == {"serviceAccountName": "runner"}


def test_a_finally_step_that_waits_for_another_is_refused():
    output = tekton('finally {\n  f = make()\n  g = use(data=f.data)\n}')
    assert [code for code, _ in errors(output)] == ["B001"]


@pytest.mark.parametrize("body", ['for x in l {\n  a = make(n=2)\n  count(n=x)\n}'])
def test_constructs_tekton_cannot_express_are_b001(body):
    output = tekton(body, params="l: list[float] = [1.0]")
    assert output.text == "" and [code for code, _ in errors(output)] == ["B001"]


def test_a_one_step_loop_over_a_literal_list_is_a_matrix():
    docs = documents('a = say(text="a")\nfor x in [1.5, 2.5] {\n  c = count(n=x)\n}\nlast = say(text="z") after c')
    tasks = pipeline_tasks(docs)
    assert tasks["c"]["matrix"] == {"params": [{"name": "n", "value": ["1.5", "2.5"]}]}
    assert "params" not in tasks["c"]
    assert tasks["last"]["runAfter"] == ["c"]


def test_a_literal_list_longer_than_a_matrix_may_be_is_unrolled():
    """Tekton runs at most 256 combinations of a matrix by default."""
    items = ", ".join(f"{i}.5" for i in range(257))
    tasks = pipeline_tasks(documents(f"for x in [{items}] {{\n  count(n=x)\n}}"))
    assert list(tasks) == [f"count-{i}" for i in range(257)]
    assert not any("matrix" in task for task in tasks.values())
    assert tasks["count-256"]["params"] == [{"name": "n", "value": "256.5"}]


def test_longer_bodies_and_steps_that_write_files_are_unrolled():
    docs = documents('for t in ["p", "q"] {\n  m = make(label=t)\n  u = use(data=m.data, text=t)\n'
                     '  if t == "q" {\n    say(text=t)\n  }\n}\nlast = say(text="z") after u')
    tasks = pipeline_tasks(docs)
    assert list(tasks) == ["m-0", "u-0", "say-0", "m-1", "u-1", "say-1", "last"]
    assert tasks["u-1"]["workspaces"] == [{"name": "input-data", "workspace": "treadle-artifacts", "subPath": "m-1/data"}]
    assert {"name": "text", "value": "q"} in tasks["u-1"]["params"]
    assert tasks["say-0"]["when"] == [{"input": "p", "operator": "in", "values": ["q"]}]
    assert tasks["last"]["runAfter"] == ["u-0", "u-1"]


def test_fan_in_is_a_json_list_of_every_iteration_result():
    docs = documents('for x in [1.5, 2.5, 3.5] {\n  c = use(data=d.data, text="t")\n}\ng = gather(values=c.out)\n'
                     'd = make()')
    tasks = pipeline_tasks(docs)
    assert [name for name in tasks if name.startswith("c")] == ["c-0", "c-1", "c-2"]  # unrolled, not a matrix
    assert tasks["g"]["params"] == [{"name": "values", "value": "[$(tasks.c-0.results.out), "
                                     "$(tasks.c-1.results.out), $(tasks.c-2.results.out)]"}]
    assert tasks["g"]["runAfter"] == ["c-0", "c-1", "c-2"]


def test_steps_that_ask_for_caching_are_told_that_tekton_has_none():
    output = tekton('say(text="a") with { deterministic = true, cache = true }')
    assert output.ok and [d.code for d in output.diagnostics] == ["B005"]
    output = tekton('say(text="a") with { deterministic = true }')  # caching is best effort unless asked for
    assert output.ok and output.diagnostics == []


@pytest.mark.parametrize("seconds,text", [(1, "1s"), (60, "1m"), (3600, "1h"), (3723, "1h2m3s"), (7200, "2h")])
def test_durations(seconds, text):
    assert duration(seconds) == text


def test_cli_embedded_emits_only_the_run(tmp_path, capsys):
    source = tmp_path / "p.treadle"
    source.write_text(COMPONENTS + 'pipeline p() {\n  say(text="a")\n}\n', encoding="utf-8")
    assert main(["compile", str(source), "--target", "tekton", "--embedded"]) == 0
    (run,) = load_all(capsys.readouterr().out)
    assert run["kind"] == "PipelineRun" and run["spec"]["pipelineSpec"]["tasks"][0]["taskSpec"]["steps"]
    assert main(["compile", str(source), "--target", "argo", "--embedded"]) == 2
    assert main(["compile", str(source), "--target", "tekton", "--kind", "workflowtemplate"]) == 2


# ---------------------------------------------------------------- generated pipelines
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines(), st.sampled_from([Options(), Options(embedded=True)]))
def test_generated_pipelines_compile_to_valid_yaml_or_a_backend_error(schema_errors, source, options):
    output, _ = compile_text(source, options, target="tekton")
    if not output.ok:
        assert output.text == ""
        assert all(d.code in ("B001", "B002") for d in output.diagnostics if d.is_error)
        return
    documents = load_all(output.text)
    kinds = [document["kind"] for document in documents]
    scheduled = "schedule =" in source
    assert ("CronJob" in kinds) == scheduled and ("PipelineRun" in kinds) != scheduled
    for document in documents:
        assert valid(document, schema_errors) == []
    for _, spec, _ in tekton_entries(documents):  # only values of a few bytes travel as results
        assert len(spec.get("results", [])) * 100 < 4096
    with tempfile.TemporaryDirectory() as folder:
        for job in tekton_mpi_manifests(documents, Path(folder)):
            assert schema_errors(job, strict=True) == []
    again, _ = compile_text(source, options, target="tekton")
    assert again.text == output.text


def test_same_bytes_under_other_hash_seeds():
    import subprocess
    import sys

    script = ("import sys\nfrom treadle.compiler.cli import main\n"
              "for path in sys.argv[1:]:\n"
              "    assert main(['compile', path, '--target', 'tekton']) == 0, path\n")
    outputs = set()
    for seed in ("0", "1", "4242"):
        run = subprocess.run([sys.executable, "-c", script, *map(str, SOURCES)], capture_output=True,
                             env={**os.environ, "PYTHONHASHSEED": seed})
        assert run.returncode == 0, run.stderr.decode()
        outputs.add(run.stdout)
    assert len(outputs) == 1


# ---------------------------------------------------------------- MPI steps
MPI_COMPONENTS = '''
component train(data: Dataset, label: str, rounds: int = 3) -> (score: float, model: Model) {
  image = "ghcr.io/example/mpi:1"
  command = ["train", "--data", data, "--label", label, "--rounds", rounds, "--score", score, "--model", model]
  env { LABEL = label, MODE = "a $$ b", TOKEN = secret("registry", "token") }
}
'''


def mpi_documents(label: str) -> tuple[dict[str, dict], str]:
    body = f'a = make()\nb = train(data=a.data, label={treadle_string(label)}) with {{ mpi {{ ranks = 3 }} }}\n' \
           'c = count(n=b.score)'
    output, _ = compile_text(COMPONENTS + MPI_COMPONENTS + f"pipeline p() {{\n{body}\n}}\n", target="tekton")
    assert output.ok, [d.message for d in output.diagnostics]
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in load_all(output.text)}, output


def filled_manifest(docs: dict[str, dict], variables: dict[str, str]) -> dict:
    """Run the manifest step as the cluster would: Tekton substitutes its variables, the
    kubelet expands the args, and the step's program writes the manifest."""
    import json
    import subprocess
    import sys
    import tempfile

    step = docs["Task/p-train"]["spec"]["steps"][0]
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "manifest.json")
        args = []
        for arg in step["args"][1:]:
            for name, value in variables.items():
                arg = arg.replace(f"$({name})", value)
            args.append(kubelet_expand(arg, {"POD_NAME": "pod-1", "POD_UID": "uid-1"}))
        program = kubelet_expand(step["command"][2], {})  # the kubelet expands the command too
        subprocess.run([sys.executable, "-c", program, out, *args], check=True)
        with open(out, encoding="utf-8") as handle:
            return json.load(handle)


def test_an_mpi_step_creates_the_mpijob_waits_for_it_and_reads_its_values(schema_errors):
    label = "a $HOME $$ $$$ 'quoted' \"double\" ; rm -rf / {\"x\": [1]} $"
    docs, output = mpi_documents(label)
    for document in docs.values():
        assert schema_errors(document, strict=True) == []
    task = docs["Task/p-train"]["spec"]
    assert [step["name"] for step in task["steps"]] == ["manifest", "mpijob", "values"]
    assert [result["name"] for result in task["results"]] == ["score"]
    wait = task["steps"][1]
    assert wait["image"] == DEFAULT_KUBECTL_IMAGE and wait["command"][:2] == ["sh", "-c"]
    assert "Failed" in wait["command"][2] and "kubectl delete mpijob" in wait["command"][2]
    assert wait["command"][3:] == ["sh", "/treadle/mpijob/manifest.json"]  # no value in the script
    entry = pipeline_tasks(docs)["b"]
    params = {param["name"]: param["value"] for param in entry["params"]}
    assert params["treadle-input-data"] == "a/data" and params["treadle-outputs"] == "b"
    assert kubelet_expand(params["label"], {}) == label  # the helper step's kubelet gives the text back
    assert entry["workspaces"] == [{"name": "treadle-shared", "workspace": "treadle-artifacts"}]
    claim = docs["PipelineRun/p"]["spec"]["workspaces"][0]["volumeClaimTemplate"]["spec"]
    assert claim["accessModes"] == ["ReadWriteMany"]
    assert [d.code for d in output.diagnostics] == ["B003"]
    assert pipeline_tasks(docs)["c"]["params"] == [{"name": "n", "value": "$(tasks.b.results.score)"}]
    # Tekton substitutes the params; the program fills them into the manifest as data.
    job = filled_manifest(docs, {"params.label": params["label"], "params.rounds": "3",
                                 "params.treadle-input-data": "a/data", "params.treadle-outputs": "b",
                                 "workspaces.treadle-shared.claim": "pvc-1", "context.taskRun.name": "run-b"})
    assert job["kind"] == "MPIJob" and job["metadata"]["generateName"] == "train-"
    assert job["metadata"]["ownerReferences"] == [{"apiVersion": "v1", "kind": "Pod", "name": "pod-1", "uid": "uid-1"}]
    assert job["metadata"]["labels"]["treadle.dev/task-run"] == "run-b"
    launcher = job["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]
    assert job["spec"]["mpiReplicaSpecs"]["Worker"]["replicas"] == 3
    args = [kubelet_expand(arg, {"HOME": "/root"}) for arg in launcher["containers"][0]["args"]]
    assert args[:2] == ["-n", "3"] and args[args.index("--label") + 1] == label  # byte for byte in the MPI pod
    env = {item["name"]: item.get("value", item.get("valueFrom")) for item in launcher["containers"][0]["env"]}
    assert kubelet_expand(env["LABEL"], {}) == label and kubelet_expand(env["MODE"], {}) == "a $$ b"
    assert env["TOKEN"] == {"secretKeyRef": {"name": "registry", "key": "token"}}
    assert launcher["volumes"] == [{"name": "treadle-artifacts", "persistentVolumeClaim": {"claimName": "pvc-1"}}]
    mounts = {mount["mountPath"]: mount["subPath"] for mount in launcher["containers"][0]["volumeMounts"]}
    assert mounts == {"/tmp/treadle/inputs/data": "a/data", "/tmp/treadle/outputs": "b"}
    values = task["steps"][2]
    assert values["args"] == ["/treadle/shared/$(params.treadle-outputs)/score", "$(results.score.path)"]


FULL_MPI_COMPONENT = '''
component solve(data: Dataset, label: str, note: str = "n") -> (score: float, model: Model) {
  image = "ghcr.io/example/mpi:1"
  command = ["solve", "--data", data, "--label", label, "--note", note, "--score", score, "--model", model]
  env { LABEL = label, MODE = "a $$ b", TOKEN = secret("registry", "token") }
  resources { cpu = "2", memory = "4Gi", cpu_limit = "4", memory_limit = "8Gi", gpu = 1 }
  node_selector { "kubernetes.io/arch" = "amd64" }
  tolerations = [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"},
                 {"key": "batch", "operator": "Equal", "value": "yes", "effect": "NoExecute", "toleration_seconds": 60}]
  volumes = [{"name": "scratch", "mount": "/scratch", "empty_dir": true},
             {"mount": "/config", "config_map": "settings", "read_only": true},
             {"mount": "/secrets", "secret": "credentials"}, {"mount": "/datasets", "claim": "datasets"}]
  image_pull_policy = "Always"
  security { run_as_user = 1000, read_only_root_filesystem = true }
  timeout = "1h"
  mpi { ranks = 5, slots_per_worker = 2, implementation = "MPICH" }
}
component ping(text: str) {
  image = "ghcr.io/example/mpi:1"
  command = ["ping", text]
  mpi { ranks = 1 }
}
'''
MPI_BODIES = {
    # artifacts in and out, a value from a result and one read from a file, every pod setting
    "full": 'a = make()\nb = solve(data=a.data, label=a.name, note="cost $$5 \'q\'")\nc = count(n=b.score)',
    # no workspace at all: no claim, no mounts
    "bare": 'ping(text=t)',
    # a loop of MPI steps, and one under a condition
    "loop": 'a = make()\nfor n in ["x", "y"] {\n  b = solve(data=a.data, label=n)\n}\nif a.ok {\n  ping(text="z")\n}',
}


@pytest.mark.parametrize("embedded", [False, True], ids=["refs", "embedded"])
@pytest.mark.parametrize("body", sorted(MPI_BODIES))
def test_the_mpijob_an_mpi_task_creates_is_schema_valid(tmp_path, schema_errors, body, embedded):
    """The manifest lives in the manifest step's args, with marks where run-time values go:
    filled in as at run time, it is a valid MPIJob (unknown fields rejected)."""
    source = COMPONENTS + FULL_MPI_COMPONENT + f'pipeline p(t: str = "hello") {{\n{MPI_BODIES[body]}\n}}\n'
    output, _ = compile_text(source, Options(embedded=embedded), target="tekton")
    assert output.ok, [d.message for d in output.diagnostics]
    documents = load_all(output.text)
    jobs = tekton_mpi_manifests(documents, tmp_path)
    assert len(jobs) == {"full": 1, "bare": 1, "loop": 3}[body]
    for job in jobs:
        assert job["apiVersion"] == "kubeflow.org/v2beta1" and job["kind"] == "MPIJob"
        assert "treadle-join" not in json.dumps(job)  # every mark filled
        assert schema_errors(job, strict=True) == []
    if body == "full":
        (job,) = jobs
        spec = job["spec"]
        assert spec["slotsPerWorker"] == 2 and spec["mpiImplementation"] == "MPICH"
        assert spec["runPolicy"]["activeDeadlineSeconds"] == 3600
        worker = spec["mpiReplicaSpecs"]["Worker"]
        assert worker["replicas"] == 3
        pod = worker["template"]["spec"]
        assert pod["nodeSelector"] == {"kubernetes.io/arch": "amd64"} and len(pod["tolerations"]) == 2
        assert pod["volumes"][0] == {"name": "treadle-artifacts", "persistentVolumeClaim": {"claimName": "pvc-1"}}
        assert [sorted(volume) for volume in pod["volumes"][1:]] == [
            ["emptyDir", "name"], ["configMap", "name"], ["name", "secret"], ["name", "persistentVolumeClaim"]]
        (container,) = pod["containers"]
        assert container["resources"]["limits"]["nvidia.com/gpu"] in (1, "1")
        launcher = spec["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0]
        args = [kubelet_expand(arg, EveryName()) for arg in launcher["args"]]
        assert args[args.index("--label") + 1] == "text" and args[args.index("--note") + 1] == "cost $$5 'q'"


def test_an_mpi_value_longer_than_a_result_fails_the_step(tmp_path):
    import subprocess
    import sys

    docs, _ = mpi_documents("x")
    program = kubelet_expand(docs["Task/p-train"]["spec"]["steps"][2]["command"][2], {})
    (tmp_path / "score").write_text("0.5")
    run = subprocess.run([sys.executable, "-c", program, str(tmp_path / "score"), str(tmp_path / "result")])
    assert run.returncode == 0 and (tmp_path / "result").read_text() == "0.5"
    (tmp_path / "score").write_text("9" * 100)
    run = subprocess.run([sys.executable, "-c", program, str(tmp_path / "score"), str(tmp_path / "result")],
                         capture_output=True)
    assert run.returncode != 0


def test_an_mpi_step_without_a_command_is_refused():
    source = COMPONENTS + 'component bare() {\n  image = "a:1"\n  args = ["x"]\n}\npipeline p() {\n  bare() with { mpi { ranks = 2 } }\n}\n'
    output, _ = compile_text(source, target="tekton")
    assert output.text == "" and [code for code, _ in errors(output)] == ["B001"]


def test_an_mpi_step_with_values_in_a_loop_is_unrolled_not_a_matrix():
    source = COMPONENTS + MPI_COMPONENTS + ('pipeline p() {\n  a = make()\n  for r in [1, 2] {\n'
                                            '    b = train(data=a.data, label="x", rounds=r) with { mpi { ranks = 2 } }\n'
                                            '  }\n}\n')
    output, _ = compile_text(source, target="tekton")
    assert output.ok, [d.message for d in output.diagnostics]
    docs = {f"{d['kind']}/{d['metadata']['name']}": d for d in load_all(output.text)}
    tasks = pipeline_tasks(docs)
    assert "b-0" in tasks and "b-1" in tasks and all("matrix" not in task for task in tasks.values())
    assert {p["name"]: p["value"] for p in tasks["b-1"]["params"]}["treadle-outputs"] == "b-1"


@pytest.mark.parametrize("state,status", [("Created Running Succeeded ", 0), ("Created Failed ", 1)])
def test_the_mpijob_step_ends_with_the_job(tmp_path, state, status):
    """With a stand-in kubectl: the step exits with the job's outcome and deletes the job."""
    import shutil
    import subprocess

    if shutil.which("sh") is None:
        pytest.skip("no POSIX shell")
    docs, _ = mpi_documents("x")
    command = [kubelet_expand(part, {}) for part in docs["Task/p-train"]["spec"]["steps"][1]["command"]]
    kubectl = tmp_path / "kubectl"
    kubectl.write_text('#!/bin/sh\necho "$*" >> "$LOG"\ncase "$1" in\n  create) printf job-1 ;;\n'
                       '  get) printf "%s" "$STATE" ;;\nesac\n')
    kubectl.chmod(0o755)
    log = tmp_path / "log"
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "STATE": state, "LOG": str(log)}
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
    assert run.returncode == status
    calls = log.read_text().splitlines()
    assert calls[0].startswith("create -f /treadle/mpijob/manifest.json")
    assert calls[-1] == "delete mpijob job-1 --wait=false"
