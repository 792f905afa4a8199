"""The IR as this machine runs it: typed values, command lines, conditions, cache keys.

Nothing here starts a process or touches the run records; the executor asks this module
what a task instance's command line is, whether its guard holds, and how the files it
wrote become typed values. The meaning of values and conditions is the engines': a
value reaches the command line as `ir.render_value` writes it (as in Argo and Tekton),
an output parameter is the file's text with one trailing newline dropped, and conditions
compare numbers as numbers, booleans by their text `true`, everything else as text.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import networkx as nx

from ...compiler import ir
from ...compiler.types import Type

Iteration = tuple[int, ...]  # the item index of each loop around a task, outermost first


class PlanError(Exception):
    """Something that keeps one task instance from running (reported as its failure)."""


# ---------------------------------------------------------------- values
def parse_value(text: str, type_: Type, what: str) -> ir.Value:
    """Text as a value of a declared type: a `-p` argument or an output parameter's file."""
    name = type_.name
    try:
        if name == "str":
            return text
        if name == "int":
            return int(text.strip())
        if name == "float":
            number = float(text.strip())
            if not math.isfinite(number):
                raise ValueError(text)
            return number
        if name == "bool":
            lowered = text.strip().lower()
            if lowered not in ("true", "false"):
                raise ValueError(text)
            return lowered == "true"
        value = json.loads(text)
    except ValueError:
        raise PlanError(f"{what} is declared {type_} but holds {_shown(text)}") from None
    if name == "list" and not isinstance(value, list) or name == "dict" and not isinstance(value, dict):
        raise PlanError(f"{what} is declared {type_} but holds {_shown(text)}")
    return value


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def read_output_value(path: Path, type_: Type, what: str) -> ir.Value:
    """An output parameter: the file's text, one trailing newline dropped, typed."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise PlanError(f"{what} is not UTF-8 text") from None
    if text.endswith("\n"):
        text = text[:-1]
    return parse_value(text, type_, what)


def pipeline_values(pipeline: ir.PipelineInfo, given: dict[str, str]) -> tuple[dict[str, ir.Value], list[str]]:
    """The pipeline's parameter values from `-p name=value` texts and defaults; problems as text."""
    problems = []
    known = {param.name: param for param in pipeline.params}
    for name in given:
        if name not in known:
            listed = ", ".join(known) or "none"
            problems.append(f"pipeline '{pipeline.name}' has no parameter '{name}' (parameters: {listed})")
    values: dict[str, ir.Value] = {}
    for param in pipeline.params:
        if param.name in given:
            try:
                values[param.name] = parse_value(given[param.name], param.type, f"-p {param.name}")
            except PlanError as problem:
                problems.append(str(problem))
        elif param.has_default:
            values[param.name] = param.default
        else:
            problems.append(f"pipeline '{pipeline.name}' needs a value for '{param.name}' ({param.type}): "
                            f"give -p {param.name}=VALUE")
    return values, problems


# ---------------------------------------------------------------- conditions
def condition_holds(condition: ir.Condition, value_of: Callable[[ir.Binding], ir.Value],
                    type_of: Callable[[ir.Binding], str]) -> bool:
    """Evaluate a guard as the engines do (see argo_conditions): `and`/`or` short-circuit."""
    if isinstance(condition, ir.And):
        return all(condition_holds(operand, value_of, type_of) for operand in condition.operands)
    if isinstance(condition, ir.Or):
        return any(condition_holds(operand, value_of, type_of) for operand in condition.operands)
    if isinstance(condition, ir.Not):
        return not condition_holds(condition.operand, value_of, type_of)
    if isinstance(condition, ir.Truthy):
        return _as_bool(value_of(condition.operand))
    kinds = {type_of(condition.left), type_of(condition.right)}
    if kinds & {"int", "float"}:
        convert: Callable[[ir.Value], object] = _as_number
    elif "bool" in kinds:
        convert = _as_bool
    else:
        convert = ir.render_value
    left, right = convert(value_of(condition.left)), convert(value_of(condition.right))
    return {"==": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
            ">": left > right, ">=": left >= right}[condition.op]


def _as_number(value: ir.Value) -> float:
    try:
        return float(ir.render_value(value))
    except ValueError:
        raise PlanError(f"the condition compares {_shown(ir.render_value(value))} as a number") from None


def _as_bool(value: ir.Value) -> bool:
    return ir.render_value(value).lower() == "true"


def binding_type(graph: nx.DiGraph, binding: ir.Binding) -> str:
    if isinstance(binding, ir.Const):
        value = binding.value
        return "bool" if isinstance(value, bool) else "float" if isinstance(value, (int, float)) else "str"
    return ir.declared_type(graph, binding).name


# ---------------------------------------------------------------- command lines
@dataclass(frozen=True)
class Invocation:
    """What to start for one attempt of a task instance."""

    argv: list[str]
    env: dict[str, str]
    program: str  # as the component names it


def tool_folder() -> str:
    """The folder of the Python that runs treadle: where `treadle-runtime` and `mpiexec` of
    the installed package live (a virtual environment's bin folder)."""
    return os.path.dirname(sys.executable)


_FOUND: dict[tuple[str, str], str] = {}


def find_program(name: str, path_variable: str) -> str | None:
    """A program by name: treadle's own environment first, then PATH; a path is used as is.
    Programs found are remembered (a run starts the same few programs many times)."""
    found = _FOUND.get((name, path_variable))
    if found is None:
        found = _find_program(name, path_variable)
        if found is not None:
            _FOUND[(name, path_variable)] = found
    return found


def _find_program(name: str, path_variable: str) -> str | None:
    if os.sep in name:
        return name if os.access(name, os.X_OK) else None
    own = os.path.join(tool_folder(), name)
    if os.path.isfile(own) and os.access(own, os.X_OK):
        return own
    return shutil.which(name, path=path_variable)


def render_argument(argument: ir.Argument, values: dict[str, ir.Value], input_paths: dict[str, str],
                    output_paths: dict[str, str], engine: dict[str, str] | None = None) -> str:
    """`engine`: the engine variables' values for this attempt (see `engine_values`)."""
    parts = []
    for piece in argument:
        if isinstance(piece, str):
            parts.append(piece)
        elif isinstance(piece, ir.EngineVariable):
            parts.append(engine[piece.name])
        elif isinstance(piece, ir.InputValue):
            parts.append(ir.render_value(values[piece.name]))
        elif isinstance(piece, ir.InputPath):
            parts.append(input_paths[piece.name])
        else:
            parts.append(output_paths[piece.name])
    return "".join(parts)


def engine_values(run_id: str, task_key: str, attempt: int) -> dict[str, str]:
    """What the engine variables are in a local run: the run's id is its id and its name; a
    task's id is the run's id and the task's key (as on Tekton, one for all its attempts);
    the pod's name names the attempt (as on Argo and Tekton, a new pod for each)."""
    task_id = f"{run_id}-{task_key.replace('/', '-')}"
    return {"run_id": run_id, "run_name": run_id, "task_id": task_id, "pod_name": f"{task_id}-{attempt}"}


def invocation(task: ir.Task, values: dict[str, ir.Value], input_paths: dict[str, str],
               output_paths: dict[str, str], ranks: int | None, base_env: dict[str, str],
               engine: dict[str, str] | None = None) -> Invocation:
    """The command line and environment of one attempt; PlanError when the program or a
    secret is missing. `ranks`: run under `mpiexec -n ranks`; `engine`: `engine_values`."""
    component = task.component
    argv = [render_argument(argument, values, input_paths, output_paths, engine)
            for argument in component.command + component.args]
    if not argv:
        raise PlanError(f"component '{component.name}' gives no command line")
    env = dict(base_env)
    env["PATH"] = tool_folder() + os.pathsep + env.get("PATH", os.defpath)
    for variable in task.settings.env:
        value = variable.value
        if isinstance(value, ir.SecretRef):
            # A Kubernetes secret is never read; locally the runner's own variable stands for it.
            if variable.name not in base_env:
                raise PlanError(f"environment variable {variable.name} comes from the secret "
                                f"'{value.secret}' (key '{value.key}') on a cluster; set {variable.name} "
                                "in the environment of `treadle run` to run this step here")
            env[variable.name] = base_env[variable.name]
        elif isinstance(value, ir.InputValue):
            env[variable.name] = ir.render_value(values[value.name])
        elif isinstance(value, tuple):
            env[variable.name] = render_argument(value, values, input_paths, output_paths, engine)
        else:
            env[variable.name] = value
    program = argv[0]
    found = find_program(program, env["PATH"])
    if found is None:
        raise PlanError(f"program '{program}' of component '{component.name}' was not found "
                        f"(looked in {tool_folder()} and PATH)")
    argv[0] = found
    if ranks is not None:
        mpiexec = find_program("mpiexec", env["PATH"])
        if mpiexec is None:
            raise PlanError(f"step '{task.id}' runs on {ranks} MPI ranks, and no 'mpiexec' was found "
                            f"(looked in {tool_folder()} and PATH); install treadle with its mpich dependency")
        argv = [mpiexec, "-n", str(ranks)] + argv
    return Invocation(argv, env, program)


# ---------------------------------------------------------------- cache keys
_IDENTITIES: dict[tuple[int, int], tuple[ir.ComponentSpec, ir.Settings, str]] = {}
_IDENTITIES_KEPT = 4096  # a run has a few distinct ones; a process that plans many runs starts over


def component_identity(task: ir.Task) -> str:
    """Every field of the component but the declaring file's path, and the step's settings
    (spelled out once per component and settings: many steps share them)."""
    from dataclasses import replace

    key = (id(task.component), id(task.settings))
    known = _IDENTITIES.get(key)
    if known is None or known[0] is not task.component or known[1] is not task.settings:
        known = (task.component, task.settings, repr(replace(task.component, source="")) + repr(task.settings))
        if len(_IDENTITIES) >= _IDENTITIES_KEPT:
            _IDENTITIES.clear()
        _IDENTITIES[key] = known
    return known[2]


class ContentHashes:
    """SHA-256 of artifact files and folders, remembered per path (artifacts of a run never
    change once their step has finished)."""

    def __init__(self) -> None:
        self._known: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        known = self._known.get(path)
        if known is None:
            known = self._known[path] = _content_hash(Path(path))
        return known


def _content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*")):
            relative = child.relative_to(path).as_posix()
            if child.is_dir():
                digest.update(b"d\0" + relative.encode() + b"\0")
            else:
                digest.update(b"f\0" + relative.encode() + b"\0")
                _file_into(child, digest)
    else:
        _file_into(path, digest)
    return digest.hexdigest()


def _file_into(path: Path, digest) -> None:
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    digest.update(b"\0")


def cache_key(task: ir.Task, values: dict[str, ir.Value], input_paths: dict[str, str], version: str,
              hashes: ContentHashes) -> str:
    """Same component, settings, parameter values and input artifact contents: same key."""
    payload = {
        "treadle": version,
        "component": component_identity(task),
        "values": {name: ir.render_value(value) for name, value in sorted(values.items())},
        "artifacts": {name: hashes(path) for name, path in sorted(input_paths.items())},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
