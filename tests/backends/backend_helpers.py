"""Compile treadle text to Argo documents in-process, and read values back out of them the
way Argo and the kubelet would."""

from __future__ import annotations

import base64
import itertools
import json
import re
import sys

import yaml

from treadle.backends.base import Options
from treadle.backends.provenance import Origin
from treadle.backends.targets import compile_pipelines
from treadle.compiler.cli import main
from treadle.compiler.frontend import compile_sources
from treadle.compiler.source import SourceFile


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of the `treadle` command line run in-process."""
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def compile_text(text: str, options: Options | None = None, path: str = "test.treadle", target: str = "argo",
                 origin_root=None):
    """(CompileOutput, front-end result). Front-end errors fail loudly: tests write valid code.
    `origin_root`: stamp the documents with their source path relative to it, as the CLI does
    relative to the folder it runs in (the golden files are stamped relative to the checkout)."""
    result = compile_sources([SourceFile(path, text)])
    errors = [d for d in result.diagnostics if d.is_error]
    assert not errors, "front end: " + "; ".join(f"{d.span}: {d.message}" for d in errors)
    origins = None if origin_root is None else {path: Origin.of(path, text, root=origin_root)}
    return compile_pipelines(list(result.pipelines.values()), target, options or Options(), origins), result


def load_all(text: str) -> list[dict]:
    return list(yaml.safe_load_all(text))


def treadle_string(value: str) -> str:
    """A treadle string literal for `value` (escapes: \\n \\t \\" \\\\)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


# ---------------------------------------------------------------- what the cluster does
class EveryName(dict):
    """An environment in which every variable is defined: any `$(NAME)` that reaches the
    kubelet unescaped is then visibly replaced."""

    def __contains__(self, name) -> bool:
        return True

    def __missing__(self, name) -> str:
        return f"<expanded {name}>"


def kubelet_expand(text: str, env: dict[str, str]) -> str:
    """The kubelet's `$(VAR)` expansion of command, args and env values: `$$` -> `$`,
    `$(NAME)` -> NAME's value when defined, anything else kept."""
    out = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "$" and i + 1 < len(text):
            following = text[i + 1]
            if following == "$":
                out.append("$")
                i += 2
                continue
            if following == "(":
                end = text.find(")", i + 2)
                if end != -1:
                    name = text[i + 2:end]
                    out.append(env[name] if name in env else f"$({name})")
                    i = end + 1
                    continue
                out.append("$(")
                i += 2
                continue
            out.append(char + following)
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


_SIMPLE_TAG = re.compile(r"\{\{(inputs\.parameters\.[A-Za-z0-9_-]+)\}\}")
_REPLACE_EXPR = re.compile(r"^\{\{=sprig\.replace\('\$', '\$\$', (.*)\)\}\}$")
_TERM = re.compile(r"'([^']*)'|sprig\.b64dec\('([A-Za-z0-9+/=]*)'\)|inputs\.parameters\['([A-Za-z0-9_-]+)'\]")


def argo_substitute(text: str, inputs: dict[str, str]) -> str:
    """Argo's substitution of one container field, for the forms the backend writes: text
    with `{{inputs.parameters.x}}` tags, or one `sprig.replace` expression over a sum of
    string literals, base64 literals and input parameters."""
    match = _REPLACE_EXPR.match(text)
    if match:
        total = []
        position = 0
        body = match.group(1)
        while position < len(body):
            term = _TERM.match(body, position)
            assert term, f"unexpected expression text at {body[position:]!r}"
            if term.group(1) is not None:
                total.append(term.group(1))
            elif term.group(2) is not None:
                total.append(base64.b64decode(term.group(2)).decode("utf-8"))
            else:
                total.append(inputs[term.group(3)])
            position = term.end()
            if body.startswith(" + ", position):
                position += 3
        return "".join(total).replace("$", "$$")
    assert "{{=" not in text, f"unexpected expression {text!r}"
    substituted = _SIMPLE_TAG.sub(lambda m: inputs[m.group(1).split(".")[-1]], text)
    assert "{{" not in substituted, f"unresolved tag in {text!r}"
    return substituted


def container_view(workflow: dict, dag_task: dict) -> tuple[list[str], dict[str, str]]:
    """(argv, env) that the container of a DAG task (in the entry DAG, no loops) receives."""
    spec = workflow["spec"]
    template = next(t for t in spec["templates"] if t["name"] == dag_task["template"])
    inputs = {p["name"]: p["value"] for p in dag_task.get("arguments", {}).get("parameters", [])}
    for value in inputs.values():
        assert "{{" not in value, f"a literal argument holds a template tag: {value!r}"
    container = template["container"]
    env_values = {}
    for variable in container.get("env", []):
        if "value" in variable:
            env_values[variable["name"]] = kubelet_expand(argo_substitute(variable["value"], inputs), EveryName())
    argv = [kubelet_expand(argo_substitute(item, inputs), EveryName())
            for item in container.get("command", []) + container.get("args", [])]
    return argv, env_values


# ---------------------------------------------------------------- whole runs, read back from the YAML
def differences(expected, actual, path: tuple = ()) -> list[tuple[tuple, str, str]]:
    """Two documents that must have one shape: the (path, expected text, actual text) of each
    string that differs. Any other difference (keys, lengths, types, other scalars) fails."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and list(expected) == list(actual), f"{path}: {list(expected)} != {actual!r}"
        return [found for key in expected for found in differences(expected[key], actual[key], path + (key,))]
    if isinstance(expected, list):
        assert isinstance(actual, list) and len(expected) == len(actual), f"{path}: {expected!r} != {actual!r}"
        return [found for index, (a, b) in enumerate(zip(expected, actual))
                for found in differences(a, b, path + (index,))]
    if isinstance(expected, str) and isinstance(actual, str):
        return [] if expected == actual else [(path, expected, actual)]
    assert type(expected) is type(actual) and expected == actual, f"{path}: {expected!r} != {actual!r}"
    return []


def at(document, path: tuple):
    for key in path:
        document = document[key]
    return document


_ARGO_ARGUMENT_TAG = re.compile(r"\{\{(item|(?:workflow|inputs)\.parameters\.[A-Za-z0-9_-]+)\}\}")


def argo_runs(workflow: dict) -> list[tuple[tuple[str, ...], list[str], dict[str, str]]]:
    """(DAG task path, argv, env) of every container the workflow's entry DAG and then its
    exit handler run, in order, each `withItems` item in turn, as Argo and the kubelet
    deliver them. Tasks are taken whatever their `when`."""
    spec = workflow["spec"]
    spec = spec.get("workflowSpec", spec)
    templates = {template["name"]: template for template in spec["templates"]}
    global_values = {f"workflow.parameters.{param['name']}": param["value"]
                     for param in spec.get("arguments", {}).get("parameters", []) if "value" in param}
    runs = []

    def substitute(text: str, scope: dict[str, str]) -> str:
        result = _ARGO_ARGUMENT_TAG.sub(lambda match: scope[match.group(1)], text)
        # Argo substitutes again in the template and the pod: a tag that appears now would be read
        assert "{{" not in result, f"{text!r} becomes {result!r}, which holds a template tag"
        return result

    def visit(name: str, scope: dict[str, str], path: tuple[str, ...]) -> None:
        template = templates[name]
        if "container" in template:
            inputs = {key[len("inputs.parameters."):]: value for key, value in scope.items()
                      if key.startswith("inputs.parameters.")}
            container = template["container"]
            argv = [kubelet_expand(argo_substitute(part, inputs), EveryName())
                    for part in container.get("command", []) + container.get("args", [])]
            env = {variable["name"]: kubelet_expand(argo_substitute(variable["value"], inputs), EveryName())
                   for variable in container.get("env", []) if "value" in variable}
            runs.append((path, argv, env))
            return
        for task in template["dag"]["tasks"]:
            for item in task.get("withItems", [None]):
                local = dict(scope)
                if item is not None:
                    assert isinstance(item, str), f"item {item!r} is not text"
                    local["item"] = item
                given = {param["name"]: substitute(param["value"], local)
                         for param in task.get("arguments", {}).get("parameters", [])}
                inner = {**global_values, **{f"inputs.parameters.{key}": value for key, value in given.items()}}
                visit(task["template"], inner, path + (task["name"],))

    visit(spec["entrypoint"], dict(global_values), ())
    if "onExit" in spec:
        visit(spec["onExit"], dict(global_values), ())
    return runs


_TEKTON_PARAM = re.compile(r"\$\(params\.([A-Za-z0-9_-]+)\)")


def tekton_substitute(text: str, params: dict[str, str]) -> str:
    """Tekton's substitution of `$(params.NAME)`: one pass, the text it puts in is not read again."""
    return _TEKTON_PARAM.sub(lambda match: params.get(match.group(1), match.group(0)), text)


def tekton_entries(documents: list[dict]) -> list[tuple[dict, dict, dict[str, str]]]:
    """(pipeline task, its Task's spec, the pipeline's parameter values) of every pipeline
    task, main and finally, referenced or embedded (also in a scheduled run's ConfigMap)."""
    tasks = {document["metadata"]["name"]: document["spec"] for document in documents if document["kind"] == "Task"}
    runs = [document for document in documents if document["kind"] == "PipelineRun"]
    for document in documents:
        if document["kind"] == "ConfigMap":
            runs += [run for text in document["data"].values() for run in load_all(text)]
    found = []

    def values_of(pipeline_spec: dict, run: dict | None) -> dict[str, str]:
        values = {param["name"]: param["default"] for param in pipeline_spec.get("params", []) if "default" in param}
        if run is not None:
            values.update({param["name"]: param["value"] for param in run["spec"].get("params", [])})
        return values

    pipelines = [document for document in documents if document["kind"] == "Pipeline"]
    for pipeline in pipelines:
        run = next((run for run in runs if run["spec"].get("pipelineRef", {}).get("name") ==
                    pipeline["metadata"]["name"]), None)
        values = values_of(pipeline["spec"], run)
        for entry in pipeline["spec"]["tasks"] + pipeline["spec"].get("finally", []):
            found.append((entry, tasks[entry["taskRef"]["name"]], values))
    for run in runs:
        if "pipelineSpec" in run["spec"]:
            values = values_of(run["spec"]["pipelineSpec"], run)
            for entry in run["spec"]["pipelineSpec"]["tasks"] + run["spec"]["pipelineSpec"].get("finally", []):
                found.append((entry, entry["taskSpec"], values))
    return found


def tekton_runs(documents: list[dict]) -> list[tuple[str, str, list[str], dict[str, str]]]:
    """(pipeline task, step, argv, env) of every step of every TaskRun the pipeline makes
    (each combination of a matrix), as Tekton and the kubelet deliver them. Tasks are taken
    whatever their `when`; only params known when compiling are filled in."""
    runs = []
    for entry, spec, values in tekton_entries(documents):
        given = {param["name"]: tekton_substitute(param["value"], values) for param in entry.get("params", [])
                 if isinstance(param["value"], str)}
        axes = []
        for param in entry.get("matrix", {}).get("params", []):
            assert isinstance(param["value"], list), param
            axes.append([(param["name"], tekton_substitute(value, values)) for value in param["value"]])
        for combination in itertools.product(*axes):
            params = {param["name"]: param["default"] for param in spec.get("params", []) if "default" in param}
            params.update(given)
            params.update(dict(combination))
            for step in spec["steps"]:
                assert "script" not in step, "a step with a script"
                argv = [kubelet_expand(tekton_substitute(part, params), EveryName())
                        for part in step.get("command", []) + step.get("args", [])]
                env = {variable["name"]: kubelet_expand(tekton_substitute(variable["value"], params), EveryName())
                       for variable in step.get("env", []) if "value" in variable}
                runs.append((entry["name"], step["name"], argv, env))
    return runs


def run_program(program: str, argv: list[str]) -> None:
    """Run one of the backend's fixed Python programs in this interpreter, as
    `python3 -c PROGRAM ARGV...` would (it sees `sys.argv[1:] == argv`)."""
    saved = sys.argv
    sys.argv = ["-c", *argv]
    try:
        exec(compile(program, "<step program>", "exec"), {"__name__": "__main__"})
    finally:
        sys.argv = saved


_TEKTON_RESULT = re.compile(r"\$\(tasks\.[A-Za-z0-9_-]+\.results\.[A-Za-z0-9_.-]+\)")
_TEKTON_VARIABLE = re.compile(r"\$\((?:params|context|workspaces|tasks|results)[.\[]")


def tekton_mpi_manifests(documents: list[dict], folder) -> list[dict]:
    """The MPIJob of every MPI step whose `manifest` step runs by itself (not behind a
    condition the Task checks), filled in as at run time: Tekton's variables take plausible
    values (the pipeline's values where the run gives them, a result `0.5`, the claim `pvc-1`,
    the TaskRun `run-1`, a matrix its first item), a file the step reads holds `text` (a
    gathered list `["text"]`), and the kubelet gives the pod's name and uid."""
    from treadle.backends.tekton import MPI_SHARED_PATH, VALUES_PATH

    jobs = []
    for index, (entry, spec, values) in enumerate(tekton_entries(documents)):
        for step in spec["steps"]:
            if step["name"] != "manifest" or step["command"][:2] != ["python3", "-c"]:
                continue
            params = {param["name"]: param["default"] for param in spec.get("params", []) if "default" in param}
            for param in entry.get("params", []) + entry.get("matrix", {}).get("params", []):
                value = param["value"][0] if isinstance(param["value"], list) else param["value"]
                params[param["name"]] = _TEKTON_RESULT.sub("0.5", tekton_substitute(value, values))
            variables = {"workspaces.treadle-shared.claim": "pvc-1", "context.taskRun.name": "run-1"}
            args = []
            for arg in step["args"][1:]:
                arg = tekton_substitute(arg, params)
                for name, value in variables.items():
                    arg = arg.replace(f"$({name})", value)
                assert not _TEKTON_VARIABLE.search(arg), f"a Tekton variable left in {arg[:200]!r}"
                arg = kubelet_expand(arg, {"POD_NAME": "pod-1", "POD_UID": "uid-1"})
                for root, text in ((MPI_SHARED_PATH, "text"), (VALUES_PATH, '["text"]')):
                    if arg.startswith(root + "/"):
                        local = folder / f"files-{index}" / arg.lstrip("/")
                        local.parent.mkdir(parents=True, exist_ok=True)
                        local.write_text(text, encoding="utf-8")
                        arg = str(local)
                args.append(arg)
            out = folder / f"manifest-{index}.json"
            run_program(kubelet_expand(step["command"][2], {}), [str(out), *args])
            jobs.append(json.loads(out.read_text(encoding="utf-8")))
    return jobs
