"""Compile treadle text to Argo documents in-process, and read values back out of them the
way Argo and the kubelet would."""

from __future__ import annotations

import base64
import re

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
