"""Task fusion (`-O2`): a chain of steps that hand files to each other runs in one pod.

A chain is a run of steps a -> b -> c where each step but the last is waited for by the
next one only, and each step after the first waits for nothing the first does not. Its
steps become one task whose command is a fixed `sh` launcher that runs each step's command
line in turn and stops at the first that fails. The steps' arguments reach the launcher as
argv entries (`=TEXT`, one per argument, `!` after each step's last): the engine fills in
values as it does for any step, and no value is ever part of a shell program. A step
reading a file an earlier step wrote gets that step's output path; every step's outputs
stay outputs of the fused task (named `s2-model`: the second step's `model`), so what later
steps, conditions and run records read is still there.

Steps fuse only where no engine feature is lost, and `--explain` says why a chain stops:
the same image and the same settings (pull policy, security, node selector, tolerations,
volumes, resources, caching, environment), no retries and no timeout (they apply to each
step on its own), no MPI step, a command to run (an image's entrypoint cannot be run from
the launcher), the same condition, loop and `finally` block, and no value read from an
earlier step of the chain (an engine reads an output value from its file in its own way,
which a launcher cannot repeat for every engine). The fused task runs under the chain's
condition, so a false condition skips it whole, as it skipped each step.

The launcher needs `sh` on the image (any image with a shell: not a distroless one); that
is the price of one pod, and the reason fusion is `-O2` only.

>>> from treadle.compiler.passes.describe import pipeline_of, describe
>>> graph = pipeline_of('''
...   a = pack(x=1)
...   b = unpack(d=a.d)
...   c = inc(x=b.y)
...   show(x=c.y)''')
>>> print(describe(fuse_tasks(graph)))
a+b = fused(a = pack(x=1); b = unpack(d=a.d))
c = inc(x=a+b.s2-y)
show = show(x=c.y)
"""

from __future__ import annotations

from dataclasses import fields, replace

import networkx as nx

from .. import ir
from .common import Change, Options, map_condition, rebuild, retarget

# argv: the steps' arguments, each "=TEXT", each step's followed by "!". For each step a
# subshell keeps its own arguments (the text after "=") in order, drops the rest, and
# `exec`s them; the loop then skips past that step's "!". No token is ever evaluated as
# code. It avoids `$(` (which Tekton and the kubelet would read as a variable) and `{{`
# (Argo's tags), so every engine passes it on unchanged.
LAUNCHER_SCRIPT = """set -u
while [ "$#" -gt 0 ]; do
  (
    set -- "$@" "#"
    own=yes
    while :; do
      token=$1
      shift
      case "$token" in
        "#") break ;;
        "!") own=no ;;
        =*) if [ "$own" = yes ]; then set -- "$@" "${token#=}"; fi ;;
      esac
    done
    exec "$@"
  ) || exit
  while :; do
    token=$1
    shift
    if [ "$token" = "!" ]; then break; fi
  done
done
"""
LAUNCHER = (("sh",), ("-c",), (LAUNCHER_SCRIPT,), ("treadle-fused",))
ARGUMENT = "="  # prefix of each argument of a step
STEP_END = "!"  # after the last argument of a step


def fuse_tasks(graph: nx.DiGraph, options: Options = Options(), changes: list[Change] | None = None) -> nx.DiGraph:
    ordered = ir.tasks(graph)
    by_id = {task.id: task for task in ordered}
    placed: set[str] = set()
    waiting: dict[str, list[str]] = {}
    chains: list[list[ir.Task]] = []
    for task in ordered:  # producers first: a chain is found from its first step
        if task.id in placed:
            continue
        chain = [task]
        placed.add(task.id)
        while True:
            last = chain[-1]
            successors = list(graph.successors(last.id))
            if len(successors) != 1:
                break
            following = by_id[successors[0]]
            if following.id in placed:
                break
            why = _refusal(graph, chain, following, waiting)
            if why is not None:
                if changes is not None:
                    changes.append(Change(following.span, f"step '{following.id}' not fused with '{last.id}': {why}",
                                          refused=True))
                break
            chain.append(following)
            placed.add(following.id)
        if len(chain) > 1:
            chains.append(chain)
    if not chains:
        return graph

    specs: dict[ir.ComponentSpec, ir.ComponentSpec] = {}  # equal fused components: one object, one template
    outputs: dict[tuple[str, str], tuple[str, str]] = {}  # (step, output) -> (fused task, its output)
    fused: dict[str, ir.Task] = {}  # first step -> fused task
    member_of: dict[str, str] = {}  # step -> fused task
    for chain in chains:
        task = _fused_task(chain, specs)
        fused[chain[0].id] = task
        for position, step in enumerate(chain):
            member_of[step.id] = task.id
            for port in step.component.outputs:
                outputs[(step.id, port.name)] = (task.id, ir.fused_port(position, port.name))
        if changes is not None:
            steps = ", ".join(f"'{step.id}' ({step.span.line}:{step.span.column})" for step in chain)
            changes.append(Change(chain[0].span, f"steps {steps} fused into '{task.id}': one pod runs them in turn"))

    def renamed_output(output: ir.TaskOutput) -> ir.Binding:
        if (output.task, output.output) not in outputs:
            return output
        task_id, port = outputs[(output.task, output.output)]
        return ir.TaskOutput(task_id, port, output.gathered)

    def renamed(binding: ir.Binding) -> ir.Binding:
        return ir.map_outputs(binding, renamed_output)

    task_list = []
    for task in ordered:
        if task.id in fused:
            task = fused[task.id]
        elif task.id in member_of:
            continue  # inside a fused task
        task_list.append(retarget(task, renamed, member_of))  # fused tasks too: a chain may read another
    pipeline = ir.info(graph)
    loops = tuple(replace(loop, items=renamed(loop.items), guard=map_condition(loop.guard, renamed))
                  for loop in pipeline.loops)
    return rebuild(graph, task_list, loops)


def _refusal(graph: nx.DiGraph, chain: list[ir.Task], following: ir.Task, waiting: dict[str, list[str]]
             ) -> str | None:
    """Why `following` cannot join `chain` (whose last step only it waits for), or None.
    `waiting`: the steps each step waits for, in name order, as far as known."""
    first, last = chain[0], chain[-1]
    for task in (first, following) if len(chain) == 1 else (following,):
        why = _cannot_fuse(task)
        if why is not None:
            return why
    if following.is_finally != first.is_finally:
        return "one is in the finally block and the other is not"
    if following.loops != first.loops:
        return "they are in different loops"
    if following.guard != first.guard:
        return "they run under different conditions"
    if following.component.image != first.component.image:
        return f"they run on different images ('{first.component.image}', '{following.component.image}')"
    if following.settings != first.settings:
        differ = [field.name for field in fields(ir.Settings)
                  if field.compare and getattr(following.settings, field.name) != getattr(first.settings, field.name)]
        return f"their settings differ ({', '.join(differ)})"
    if following.id not in waiting:  # sorted once per step: a fan-in of n steps is refused n times
        waiting[following.id] = sorted(graph.pred[following.id])
    waits = graph.pred[first.id]
    other = next((task_id for task_id in waiting[following.id] if task_id != last.id and task_id not in waits), None)
    if other is not None:
        return f"it also waits for '{other}', which '{first.id}' does not wait for"
    for name, binding in following.arguments:
        if isinstance(binding, ir.ListOf) and any(isinstance(leaf, ir.TaskOutput) and leaf.task == last.id
                                                  for leaf in ir.binding_leaves(binding)):
            return f"it reads values of '{last.id}' in a list (the outputs of an unrolled loop)"
        if isinstance(binding, ir.TaskOutput) and binding.task == last.id:
            produced = last.component.output(binding.output)
            if not produced.type.is_artifact or _reads_value(following.component, name):
                return (f"it reads the value '{last.id}.{binding.output}' (one pod could pass it only as the file "
                        "it was written to, and each engine reads a value from its file in its own way)")
    return None


def _cannot_fuse(task: ir.Task) -> str | None:
    """Why `task` cannot be part of any chain, or None."""
    settings = task.settings
    if settings.mpi is not None:
        return f"'{task.id}' is an MPI step"
    if settings.retries:
        return f"'{task.id}' has retries, which apply to each step on its own"
    if settings.timeout_seconds is not None:
        return f"'{task.id}' has a timeout, which applies to each step on its own"
    if any(isinstance(variable.value, ir.InputValue) for variable in settings.env):
        return f"'{task.id}' sets environment variables from its inputs"
    if not task.component.command:
        return f"the component '{task.component.name}' gives no command (its image's entrypoint cannot be launched)"
    own = sorted(ir.engine_variables(task.component, settings) & ir.PER_TASK_VARIABLES)
    if own:
        return (f"'{task.id}' reads {' and '.join(ir.ENGINE_VARIABLES[name] for name in own)}, which the steps of "
                "one pod would share")
    return None


def _reads_value(component: ir.ComponentSpec, name: str) -> bool:
    """Does the component's command line use input `name` as a value (not as a path)?"""
    return any(piece == ir.InputValue(name) for argument in component.command + component.args for piece in argument)


def _fused_task(chain: list[ir.Task], specs: dict[ir.ComponentSpec, ir.ComponentSpec]) -> ir.Task:
    position_of = {task.id: position for position, task in enumerate(chain)}
    inputs: list[ir.Port] = []
    outputs: list[ir.Port] = []
    arguments: list[tuple[str, ir.Binding]] = []
    args: list[ir.Argument] = []
    steps: list[ir.FusedStep] = []
    for position, task in enumerate(chain):
        own: list[tuple[str, str]] = []
        reads: list[tuple[str, int, str]] = []
        paths: dict[str, str] = {}  # input read from an earlier step -> that step's output, as named here
        for port in task.component.inputs:
            binding = task.argument(port.name)
            if isinstance(binding, ir.TaskOutput) and binding.task in position_of:
                earlier = position_of[binding.task]
                reads.append((port.name, earlier, binding.output))
                paths[port.name] = ir.fused_port(earlier, binding.output)
                continue
            name = ir.fused_port(position, port.name)
            inputs.append(replace(port, name=name))
            own.append((port.name, name))
            if binding is not None:
                arguments.append((name, binding))
        outputs += [replace(port, name=ir.fused_port(position, port.name)) for port in task.component.outputs]
        for argument in task.component.command + task.component.args:
            args.append(_launcher_argument(argument, position, paths))
        args.append((STEP_END,))
        steps.append(ir.FusedStep(task.id, task.component, task.settings, task.span, tuple(own), tuple(reads)))
    first = chain[0]
    settings = replace(first.settings, side_effects=any(task.settings.side_effects for task in chain))
    spec = ir.ComponentSpec(name=_joined([task.component.name for task in chain]), image=first.component.image,
                            command=LAUNCHER, args=tuple(args), inputs=tuple(inputs), outputs=tuple(outputs),
                            settings=settings, source=first.component.source)
    spec = specs.setdefault(spec, spec)
    after = tuple(dict.fromkeys(other for task in chain for other in task.after if other not in position_of))
    return ir.Task(_joined([task.id for task in chain]), spec, tuple(arguments), settings, first.guard, first.loops,
                   first.is_finally, after, first.span, tuple(steps))


NAME_LIMIT = 63  # a longer name is shortened (run folders, engine names: all have limits)


def _joined(names: list[str]) -> str:
    """`a+b+c`, or `a+...+z` when that is too long (still unique: a step is in one chain)."""
    joined = "+".join(names)
    return joined if len(joined) <= NAME_LIMIT else f"{names[0]}+...+{names[-1]}"


def _launcher_argument(argument: ir.Argument, position: int, paths: dict[str, str]) -> ir.Argument:
    """A step's argument as the launcher takes it: `=` before it, inputs and outputs renamed
    to the fused task's, an input read from an earlier step as that step's output path."""
    pieces: list[ir.Piece] = [ARGUMENT]
    for piece in argument:
        if isinstance(piece, (str, ir.EngineVariable)):  # the run's id and name are the same for every step
            renamed: ir.Piece = piece
        elif isinstance(piece, ir.InputPath) and piece.name in paths:
            renamed = ir.OutputPath(paths[piece.name])
        else:
            renamed = type(piece)(ir.fused_port(position, piece.name))
        if isinstance(renamed, str) and isinstance(pieces[-1], str):
            pieces[-1] += renamed
        else:
            pieces.append(renamed)
    return tuple(pieces)
