"""Fused steps (`-O2`) on Argo and Tekton: schema-valid documents, one pod for the chain, and
a launcher that runs each step's command line byte for byte as the step's own pod would.
The containers' argv is rebuilt here as Argo (or Tekton) and the kubelet would, then the
fused one runs under a real `sh`."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from backend_helpers import EveryName, argo_substitute, container_view, kubelet_expand, load_all, treadle_string

from treadle.backends.base import Options
from treadle.backends.targets import compile_pipelines
from treadle.compiler.frontend import compile_sources
from treadle.compiler.passes import optimize
from treadle.compiler.source import SourceFile

PRINT_ARGV = "import json, sys; print(json.dumps(sys.argv[1:]))"
COMPONENTS = f'''
component first(text: str, n: int = 2) -> (data: Dataset) {{
  image = "python:3.12"
  command = ["python3", "-c", {treadle_string(PRINT_ARGV)}, "--text", text, "-n", n, "--out", data]
}}
component second(data: Dataset, word: str) -> (model: Model, score: float) {{
  image = "python:3.12"
  command = ["python3", "-c", {treadle_string(PRINT_ARGV)}, data, "word=", word, model, score]
}}
component third(model: Model) -> (report: str) {{
  image = "python:3.12"
  command = ["python3", "-c", {treadle_string(PRINT_ARGV)}, "<", model, report, "!"]
}}
component use(report: str) {{
  image = "alpine:3.20"
  command = ["echo", report]
}}
'''
# Argo refuses `{{` in literal text and Tekton `$(`; everything else must arrive unchanged,
# including the launcher's own markers (`=`, `!`, `#`) at the start of an argument.
HOSTILE = {"argo": "$(echo no) $$ ${HOME} `id` 'q' \"d\"\nnext line\n", "tekton": "{{x}} $HOME $$ `id` 'q' \"d\"\n"}
WORDS = ["=", "!", "#", "=!#", "", " -n "]


def pipeline(target: str, word: str) -> str:
    return COMPONENTS + f'''pipeline p() {{
  a = first(text={treadle_string(HOSTILE[target])})
  b = second(data=a.data, word={treadle_string(word)})
  c = third(model=b.model)
  use(report=c.report)
}}
'''


def compiled(target: str, level: int, word: str = "w", options: Options | None = None) -> list[dict]:
    result = compile_sources([SourceFile("test.treadle", pipeline(target, word))])
    assert not [d for d in result.diagnostics if d.is_error]
    graphs = [optimize(graph, level).graph for graph in result.pipelines.values()]
    output = compile_pipelines(graphs, target, options or Options())
    assert output.ok, [d.message for d in output.diagnostics]
    return load_all(output.text)


def run_fused(argv: list[str]) -> list[list[str]]:
    """Run a fused container's argv with a real `sh` (python3 as this Python): each step prints its argv."""
    assert argv[:2] == ["sh", "-c"]
    argv = [("=" + sys.executable) if item == "=python3" else item for item in argv]
    run = subprocess.run(argv, capture_output=True, text=True, check=True)
    return [json.loads(line) for line in run.stdout.splitlines()]


@pytest.mark.parametrize("target,options", [
    ("argo", Options()), ("argo", Options(artifacts="volume")), ("argo", Options(kind="workflowtemplate")),
    ("tekton", Options()), ("tekton", Options(embedded=True))], ids=["argo", "argo-volume", "argo-template",
                                                                    "tekton", "tekton-embedded"])
def test_fused_pipelines_are_schema_valid(target, options, schema_errors):
    documents = compiled(target, 2, options=options)
    for document in documents:
        assert schema_errors(document, strict=True) == [], document["kind"]


def _argo_dag(documents: list[dict]) -> tuple[dict, dict]:
    workflow = next(d for d in documents if d["kind"] == "Workflow")
    dag = next(t for t in workflow["spec"]["templates"] if "dag" in t)
    return workflow, {task["name"]: task for task in dag["dag"]["tasks"]}


def test_argo_one_pod_runs_the_chain():
    workflow, tasks = _argo_dag(compiled("argo", 2))
    assert list(tasks) == ["a-b-c", "use"]
    assert tasks["use"]["depends"] == "a-b-c"
    assert tasks["use"]["arguments"]["parameters"] == [
        {"name": "report", "value": "{{tasks.a-b-c.outputs.parameters.s3-report}}"}]
    template = next(t for t in workflow["spec"]["templates"] if t["name"] == tasks["a-b-c"]["template"])
    assert [p["name"] for p in template["outputs"]["parameters"]] == ["s2-score", "s3-report"]
    assert [a["name"] for a in template["outputs"]["artifacts"]] == ["s1-data", "s2-model"]


@pytest.mark.parametrize("word", WORDS)
def test_argo_fused_steps_get_what_their_own_pods_get(word):
    _, unfused = _argo_dag(compiled("argo", 1, word))
    workflow, fused = _argo_dag(compiled("argo", 2, word))
    alone = {name: container_view(_workflow(compiled("argo", 1, word)), unfused[name])[0] for name in "abc"}
    argv, _ = container_view(workflow, fused["a-b-c"])
    ran = run_fused(argv)
    # Each step's own pod, with its files where the fused pod keeps them.
    paths = {**FUSED_FILES, "/tmp/treadle/outputs/score": "/tmp/treadle/outputs/s2-score"}
    expected = [[paths.get(item, item) for item in alone[name][3:]] for name in "abc"]
    assert ran == expected
    assert ran[0][1] == HOSTILE["argo"] and ran[1][2] == word


# Where each step's own pod keeps a file -> where the fused pod keeps it.
FUSED_FILES = {"/tmp/treadle/outputs/data": "/tmp/treadle/outputs/s1-data",
               "/tmp/treadle/inputs/data": "/tmp/treadle/outputs/s1-data",
               "/tmp/treadle/outputs/model": "/tmp/treadle/outputs/s2-model",
               "/tmp/treadle/inputs/model": "/tmp/treadle/outputs/s2-model",
               "/tmp/treadle/outputs/report": "/tmp/treadle/outputs/s3-report"}


def _workflow(documents: list[dict]) -> dict:
    return next(d for d in documents if d["kind"] == "Workflow")


def _tekton_argv(documents: list[dict], task_name: str) -> list[str]:
    run = next(d for d in documents if d["kind"] == "Pipeline")
    entry = next(task for task in run["spec"]["tasks"] if task["name"] == task_name)
    spec = next(d for d in documents if d["kind"] == "Task" and d["metadata"]["name"] == entry["taskRef"]["name"])
    (step,) = spec["spec"]["steps"]
    params = {param["name"]: param["value"] for param in entry.get("params", [])}

    def substitute(text: str) -> str:
        for name, value in params.items():
            text = text.replace(f"$(params.{name})", value)
        text = re.sub(r"\$\(results\.([-\w.]+)\.path\)", r"/tekton/results/\1", text)
        return kubelet_expand(text, EveryName())

    return [substitute(item) for item in step.get("command", []) + step.get("args", [])]


@pytest.mark.parametrize("word", WORDS)
def test_tekton_fused_steps_get_what_their_own_steps_get(word):
    unfused, fused = compiled("tekton", 1, word), compiled("tekton", 2, word)
    alone = {name: _tekton_argv(unfused, name) for name in "abc"}
    ran = run_fused(_tekton_argv(fused, "a-b-c"))
    paths = {**FUSED_FILES, "/tekton/results/score": "/tekton/results/s2-score"}
    expected = [[paths.get(item, item) for item in alone[name][3:]] for name in "abc"]
    assert ran == expected
    assert ran[0][1] == HOSTILE["tekton"] and ran[1][2] == word


def test_a_failing_step_stops_the_chain_with_its_exit_code():
    from treadle.compiler.passes.fuse_tasks import LAUNCHER_SCRIPT

    argv = ["sh", "-c", LAUNCHER_SCRIPT, "treadle-fused", "=sh", "=-c", "=echo one", "!",
            "=sh", "=-c", "=exit 7", "!", "=sh", "=-c", "=echo three", "!"]
    run = subprocess.run(argv, capture_output=True, text=True)
    assert run.returncode == 7 and run.stdout == "one\n"


CONSTRUCTS = {
    "in a loop": 'for k in ["x", "y"] {\n  a = first(text=k)\n  b = second(data=a.data, word=k)\n}',
    "under a condition on an output": 'v = first(text="v")\nw = second(data=v.data, word="w")\nif w.score > 0.5 {\n'
                                      '  a = first(text="a")\n  b = second(data=a.data, word="b")\n}',
    "reading a text output of another step": 't = third(model=m.model)\nm0 = first(text="m")\n'
                                             'm = second(data=m0.data, word="m")\n'
                                             'a = first(text=t.report)\nb = second(data=a.data, word=t.report)',
    "in finally": 'z = first(text="z")\nfinally {\n  a = first(text="a")\n  b = second(data=a.data, word="b")\n}',
}


@pytest.mark.parametrize("body", CONSTRUCTS.values(), ids=CONSTRUCTS.keys())
@pytest.mark.parametrize("target", ["argo", "tekton"])
def test_fused_steps_inside_every_construct_are_schema_valid(target, body, schema_errors):
    result = compile_sources([SourceFile("test.treadle", COMPONENTS + f"pipeline p() {{\n{body}\n}}\n")])
    assert not [d.message for d in result.diagnostics if d.is_error]
    graphs = [optimize(graph, 2).graph for graph in result.pipelines.values()]
    assert any(graph.nodes[node]["task"].fused for graph in graphs for node in graph)
    output = compile_pipelines(graphs, target, Options())
    assert output.ok, [d.message for d in output.diagnostics]
    for document in load_all(output.text):
        assert schema_errors(document, strict=True) == [], document["kind"]


@pytest.mark.parametrize("value", ["plain", "two\nlines\n\n", "$HOME $$ `id` 'q' \"d\" = ! #", ""])
def test_tekton_launcher_around_a_fused_step_passes_text_files_byte_for_byte(value, tmp_path):
    """A fused step that reads another step's text output runs through Tekton's own launcher,
    which puts the file's content into the fused launcher's argument."""
    body = CONSTRUCTS["reading a text output of another step"]
    result = compile_sources([SourceFile("test.treadle", COMPONENTS + f"pipeline p() {{\n{body}\n}}\n")])
    graphs = [optimize(graph, 2).graph for graph in result.pipelines.values()]
    documents = load_all(compile_pipelines(graphs, "tekton", Options()).text)
    (tmp_path / "m0-m-t").mkdir()
    (tmp_path / "m0-m-t" / "s3-report").write_bytes(value.encode("utf-8"))
    argv = [item.replace("/treadle/shared/", f"{tmp_path}/") for item in _tekton_argv(documents, "a-b")]
    argv = [("==" + sys.executable) if item == "==python3" else item for item in argv]
    run = subprocess.run(argv, capture_output=True, text=True, check=True)
    first, second = [json.loads(line) for line in run.stdout.splitlines()]
    assert first[:2] == ["--text", value] and second[1:3] == ["word=", value]
