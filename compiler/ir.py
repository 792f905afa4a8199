"""The intermediate representation that passes transform and backends read.

One `networkx.DiGraph` per pipeline. Each node is a task id (the step's name) whose
attribute "task" holds a `Task`; each edge says why one task waits for another (the
bindings that flow along it, or order only). `graph.graph` holds the `PipelineInfo`.
Everything here is immutable and hashable, so backends can share one template among all
tasks with equal (component, settings), and output is deterministic.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Union

from .source import Span
from .types import Type, list_of

if TYPE_CHECKING:  # networkx loads with the first graph built (`graph_class`), not with this module
    import networkx as nx

Value = Union[str, int, float, bool, list, dict]


# ---------------------------------------------------------------- components
@dataclass(frozen=True, slots=True)
class Port:
    """An input or output of a component. `default` is a literal value (inputs only).
    `optional`: a call may leave the input out with no value at all (a Kubeflow
    `optional: true` input without default); the call's command line then omits it. It is
    left out of the repr, which backends use for cache keys: it changes no container's run."""

    name: str
    type: Type
    has_default: bool = False
    default: Value | None = None
    description: str = ""
    optional: bool = field(default=False, repr=False)

    def __hash__(self) -> int:  # a default may be a list or a dict
        return hash((self.name, self.type, self.has_default, repr(self.default), self.description, self.optional))


@dataclass(frozen=True, slots=True)
class InputValue:
    """Placeholder: the value of an input parameter."""

    name: str


@dataclass(frozen=True, slots=True)
class InputPath:
    """Placeholder: the path where an input artifact is placed."""

    name: str


@dataclass(frozen=True, slots=True)
class OutputPath:
    """Placeholder: the path where the container must write an output (artifact or parameter)."""

    name: str


@dataclass(frozen=True, slots=True)
class EngineVariable:
    """Placeholder: a value the engine knows only when the task runs, such as the run's
    unique id or the pod's name. Kubeflow v1 specs write them as Argo tags
    (`{{workflow.uid}}`, `{{pod.name}}`) that Kubeflow leaves for Argo to fill in; the
    importer turns the tags it knows into these, and each backend writes its own variable.
    Text the user writes never becomes one: literal text reaches the container as it is."""

    name: str  # one of ENGINE_VARIABLES

    def __post_init__(self) -> None:
        assert self.name in ENGINE_VARIABLES, self.name


# name -> what it stands for (each backend's spelling is in its mapping table in docs/)
ENGINE_VARIABLES = {
    "run_id": "the run's unique id",
    "run_name": "the run's name",
    "pod_name": "the name of the pod the task runs in",
    "task_id": "an id unique to this task in this run",
}
# The variables whose value differs between two tasks of one run: a step reading one is not
# interchangeable with an equal step, nor can it share a pod with others.
PER_TASK_VARIABLES = frozenset({"pod_name", "task_id"})

Piece = Union[str, InputValue, InputPath, OutputPath, EngineVariable]
# One command-line argument: pieces concatenated (treadle's own components use one piece).
Argument = tuple[Piece, ...]
# An environment variable's text with engine variables in it (only imported components have these).
EngineText = tuple[Union[str, EngineVariable], ...]


def engine_variables(component: "ComponentSpec", settings: "Settings") -> set[str]:
    """The engine variables a component's command, args and env (of a step's settings) read."""
    found = {piece.name for argument in component.command + component.args for piece in argument
             if isinstance(piece, EngineVariable)}
    for variable in settings.env:
        if isinstance(variable.value, tuple):
            found.update(piece.name for piece in variable.value if isinstance(piece, EngineVariable))
    return found


@dataclass(frozen=True, slots=True)
class SecretRef:
    """A value taken from a Kubernetes Secret at run time; treadle never sees the value."""

    secret: str
    key: str


@dataclass(frozen=True, slots=True)
class EnvVar:
    name: str
    value: Union[str, SecretRef, InputValue, EngineText]


@dataclass(frozen=True, slots=True)
class Mpi:
    ranks: int
    slots_per_worker: int = 1
    implementation: str = "MPICH"  # as mpi-operator spells it: MPICH, OpenMPI, Intel


@dataclass(frozen=True, slots=True)
class Resources:
    cpu: str | None = None
    memory: str | None = None
    cpu_limit: str | None = None
    memory_limit: str | None = None
    gpu: int = 0


@dataclass(frozen=True, slots=True)
class Toleration:
    key: str | None = None
    operator: str = "Equal"
    value: str | None = None
    effect: str | None = None
    toleration_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class Volume:
    """A volume mounted into the task's container."""

    name: str
    mount_path: str
    source: str  # "claim", "config_map", "secret" or "empty_dir"
    source_name: str | None = None  # claim / config map / secret name
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class Security:
    run_as_non_root: bool = True
    run_as_user: int | None = None
    allow_privilege_escalation: bool = False
    read_only_root_filesystem: bool = False


@dataclass(frozen=True, slots=True)
class Settings:
    """How a task runs. Component settings, with a step's `with { ... }` applied on top."""

    retries: int = 0
    timeout_seconds: int | None = None
    mpi: Mpi | None = None
    resources: Resources = field(default_factory=Resources)
    env: tuple[EnvVar, ...] = ()
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[Toleration, ...] = ()
    volumes: tuple[Volume, ...] = ()
    cache: bool = True
    deterministic: bool = False
    # The author wrote `cache = true`: a step the engine cannot memoize is then reported
    # (B005). Caching itself is on by default; this changes no container's run.
    cache_asked: bool = field(default=False, compare=False, repr=False)
    # An optimizer hint, not part of how the task runs: two tasks that differ only here
    # share a template, and engine cache keys do not change with it.
    side_effects: bool = field(default=True, compare=False, repr=False)
    security: Security = field(default_factory=Security)
    image_pull_policy: str | None = None
    # The hash, computed on first use: backends and passes key templates and duplicates by
    # settings, and hashing every nested field again for each task was a tenth of a backend.
    _hash: int | None = field(default=None, init=False, compare=False, repr=False)

    def __hash__(self) -> int:
        known = self._hash
        if known is None:
            known = hash(tuple(getattr(self, name) for name in _SETTINGS_COMPARED))
            object.__setattr__(self, "_hash", known)
        return known


_SETTINGS_COMPARED = tuple(item.name for item in dataclasses.fields(Settings) if item.compare)


@dataclass(frozen=True, slots=True)
class ComponentSpec:
    """A component as the backends need it: fully resolved, no names left to look up."""

    name: str
    image: str
    command: tuple[Argument, ...]
    args: tuple[Argument, ...]
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    settings: Settings
    source: str  # the file that declares it
    description: str = ""

    def input(self, name: str) -> Port | None:
        for port in self.inputs:
            if port.name == name:
                return port
        return None

    def output(self, name: str) -> Port | None:
        for port in self.outputs:
            if port.name == name:
                return port
        return None


def render_value(value: Value) -> str:
    """How a parameter value reaches a container as text: strings as they are, booleans as
    true/false, numbers as Python writes them, lists and dicts as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------- bindings
@dataclass(frozen=True, slots=True)
class Const:
    value: Value

    def __hash__(self) -> int:  # lists and dicts are values too
        return hash(repr(self.value))


@dataclass(frozen=True, slots=True)
class ParamRef:
    """The value of a pipeline parameter."""

    name: str


@dataclass(frozen=True, slots=True)
class TaskOutput:
    """An output of another task. `gathered` names the loops of the producer that the consumer
    is outside of, innermost last: the value is then a list (one level per loop), in item order."""

    task: str
    output: str
    gathered: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LoopItem:
    """The current item of an enclosing loop."""

    loop: str


@dataclass(frozen=True, slots=True)
class ListOf:
    """A list made of other values, in order: what a step outside an unrolled loop reads of
    the loop's outputs (fan-in), one element per iteration in item order. Elements are
    outputs of the loop steps' copies, or lists of them for nested loops."""

    items: tuple["Binding", ...]


Binding = Union[Const, ParamRef, TaskOutput, LoopItem, ListOf]


def map_outputs(binding: Binding, output: Callable[[TaskOutput], Binding]) -> Binding:
    """`binding` with `output` applied to each step output it reads (inside a ListOf too)."""
    if isinstance(binding, TaskOutput):
        return output(binding)
    if isinstance(binding, ListOf):
        return ListOf(tuple(map_outputs(item, output) for item in binding.items))
    return binding


def binding_leaves(binding: Binding):
    """The binding itself, or the elements of a ListOf taken apart (to the outputs it reads)."""
    if isinstance(binding, ListOf):
        for item in binding.items:
            yield from binding_leaves(item)
    else:
        yield binding


# ---------------------------------------------------------------- conditions
@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # == != < <= > >=
    left: Binding
    right: Binding


@dataclass(frozen=True, slots=True)
class Truthy:
    """A bool value used as a condition by itself."""

    operand: Binding


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple["Condition", ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple["Condition", ...]


@dataclass(frozen=True, slots=True)
class Not:
    operand: "Condition"


Condition = Union[Compare, Truthy, And, Or, Not]


def condition_bindings(condition: Condition | None):
    """Every binding a condition reads, in order."""
    if condition is None:
        return
    if isinstance(condition, Compare):
        yield condition.left
        yield condition.right
    elif isinstance(condition, Truthy):
        yield condition.operand
    elif isinstance(condition, Not):
        yield from condition_bindings(condition.operand)
    else:
        for operand in condition.operands:
            yield from condition_bindings(operand)


# ---------------------------------------------------------------- tasks and pipelines
@dataclass(frozen=True, slots=True)
class Loop:
    """A `for`: its variable, what it iterates (a literal list, a list parameter or a list
    output), its enclosing loop, and its guard: the conditions of the `if` blocks around it
    (outermost first, as in the guard of every task inside it), None when unconditional.
    A backend can test the guard once for the whole loop."""

    id: str
    variable: str
    items: Binding
    item_type: Type
    parent: str | None
    span: Span
    guard: Condition | None = None


@dataclass(frozen=True, slots=True)
class FusedStep:
    """One step inside a fused task (`-O2`), in run order: the step as lowering made it, and
    where each of its inputs comes from. `inputs`: its input -> the fused task's input that
    stands for it; `reads`: its input -> (an earlier step's position, that step's output),
    a file the earlier step wrote in the same pod. Its outputs are the fused task's outputs
    named by `fused_port`. Backends run the fused component's command and never look here;
    `--explain`, the optimizer's descriptions and its dataflow check do."""

    id: str
    component: ComponentSpec
    settings: Settings
    span: Span
    inputs: tuple[tuple[str, str], ...]
    reads: tuple[tuple[str, int, str], ...] = ()


def fused_port(position: int, name: str) -> str:
    """The fused task's name for input or output `name` of its step at `position` (0-based):
    `s1-x`. Names by position, so two chains of the same components share one template; `-`
    never occurs in an identifier, so the names never collide."""
    return f"s{position + 1}-{name}"


@dataclass(slots=True)
class Task:
    """One node of the graph. Not frozen (tens of thousands are built per large pipeline,
    and frozen construction is slow), but nothing changes a Task once lowering made it.
    `fused`: the steps a fused task runs in order (empty for every other task)."""

    id: str
    component: ComponentSpec
    arguments: tuple[tuple[str, Binding], ...]  # input name -> binding, in the component's input order
    settings: Settings
    guard: Condition | None  # all conditions of the enclosing ifs, None when unconditional
    loops: tuple[str, ...]  # enclosing loop ids, outermost first
    is_finally: bool
    after: tuple[str, ...]  # order-only dependencies, as written
    span: Span
    fused: tuple[FusedStep, ...] = ()
    # Set on the copies of a loop body that unrolling makes: (span of the loop, item index)
    # of each unrolled loop around it, outermost first. Task order puts copies where their
    # loop is, iteration after iteration (they share the body's spans).
    copy_of: tuple[tuple[Span, int], ...] = ()

    def argument(self, name: str) -> Binding | None:
        for input_name, binding in self.arguments:
            if input_name == name:
                return binding
        return None


@dataclass(frozen=True, slots=True)
class PipelineParam:
    name: str
    type: Type
    has_default: bool
    default: Value | None


@dataclass(frozen=True, slots=True)
class PipelineInfo:
    name: str
    params: tuple[PipelineParam, ...]
    loops: tuple[Loop, ...]
    schedule: str | None
    timezone: str | None
    parallelism: int | None
    timeout_seconds: int | None
    service_account: str | None
    source: str
    span: Span

    def loop(self, loop_id: str) -> Loop:
        for loop in self.loops:
            if loop.id == loop_id:
                return loop
        raise KeyError(loop_id)


def info(graph: nx.DiGraph) -> PipelineInfo:
    return graph.graph["info"]


def tasks(graph: nx.DiGraph) -> list[Task]:
    """Tasks in a deterministic order: source order, except that a task that waits for a
    later one (it reads a step defined below it) comes right after what it waits for.
    When source order already puts every producer first (the usual case) that is source
    order itself, checked in one pass over the edges; otherwise a depth-first walk in
    source order, linear in the graph's size (a lexicographic topological sort with a
    priority queue gives the same order in the usual case, at several times the cost)."""
    nodes = graph._node
    position = {}
    for node, data in nodes.items():
        task = data["task"]
        position[node] = (task.span.line, task.span.column, (), node) if not task.copy_of else _position(task)
    by_position = position.__getitem__
    in_source_order = sorted(position, key=by_position)
    predecessors = graph._pred
    rank = {node: index for index, node in enumerate(in_source_order)}
    if all(rank[other] < index for index, node in enumerate(in_source_order) for other in predecessors[node]):
        return [nodes[node]["task"] for node in in_source_order]
    placed: set[str] = set()
    walking: set[str] = set()
    order: list[Task] = []
    for start in in_source_order:
        if start in placed:
            continue
        walking.add(start)
        stack = [(start, iter(sorted(predecessors[start], key=by_position)))]
        while stack:
            node, waits_for = stack[-1]
            for other in waits_for:
                if other not in placed:
                    if other in walking:
                        raise ValueError(f"the graph has a cycle through {other}")
                    walking.add(other)
                    stack.append((other, iter(sorted(predecessors[other], key=by_position))))
                    break
            else:
                stack.pop()
                walking.discard(node)
                placed.add(node)
                order.append(nodes[node]["task"])
    return order


def _position(task: Task) -> tuple:
    """Where a task sorts: its source place; a copy of an unrolled loop body sorts at its
    loop, by item index, then by its place in the body. Every key has the shape
    (line, column, tuple, id), so keys always compare."""
    span = task.span
    key = (span.line, span.column, (), task.id)
    for loop_span, index in reversed(task.copy_of):
        key = (loop_span.line, loop_span.column, (index,) + key, task.id)
    return key


@functools.cache
def graph_class() -> type[nx.DiGraph]:
    """The IR's graph class, made with the first graph: importing networkx takes 0.15 to
    0.3 s here, which `treadle check`, formatting and the editor server never need to pay
    (they read the checked program, not the IR)."""
    import networkx as nx

    class Graph(nx.DiGraph):
        """The IR's graph: a networkx DiGraph whose views (`nodes`, `pred`, `in_degree`, ...)
        are made on each use instead of kept on the graph. A kept view refers back to its
        graph, which would make every graph a reference cycle that only the cyclic collector
        frees; the front end moves what is alive out of the collector's sight when it ends
        (`frontend._collector_paused`), so a graph dropped before then would stay for good."""

    for name in dir(nx.DiGraph):
        view = inspect.getattr_static(nx.DiGraph, name)
        if isinstance(view, functools.cached_property):
            setattr(Graph, name, property(view.func, doc=view.__doc__))
    return Graph


def build_graph(pipeline: PipelineInfo, task_list: list[Task]) -> nx.DiGraph:
    """The graph of `task_list`: an edge wherever a task reads another's outputs (arguments,
    guard, the items of its loops) or runs after it. Lowering and every pass build graphs
    here, so edges always follow from the tasks."""
    loop_items = {loop.id: loop.items for loop in pipeline.loops}
    edges: dict[tuple[str, str], tuple[set[str], bool]] = {}
    for task in task_list:
        # task_bindings(task), written out: this runs once per task of every graph built
        reads = []
        for _, binding in task.arguments:
            if isinstance(binding, TaskOutput):
                reads.append(binding)
            elif isinstance(binding, ListOf):  # an unrolled loop's outputs, read after it
                reads += [leaf for leaf in binding_leaves(binding) if isinstance(leaf, TaskOutput)]
        if task.guard is not None:
            reads += [leaf for binding in condition_bindings(task.guard) for leaf in binding_leaves(binding)
                      if isinstance(leaf, TaskOutput)]
        if task.loops:
            reads += [leaf for loop_id in task.loops for leaf in binding_leaves(loop_items[loop_id])
                      if isinstance(leaf, TaskOutput)]
        for binding in reads:
            edges.setdefault((binding.task, task.id), (set(), False))[0].add(binding.output)
        for other in task.after:
            outputs, _ = edges.get((other, task.id), (set(), False))
            edges[(other, task.id)] = (outputs, True)
    graph = graph_class()()
    graph.graph["info"] = pipeline
    # networkx's own dicts, filled as add_nodes_from and add_edges_from would (a task id
    # read but not defined becomes a node without a task, which `validate` reports), at a
    # third of their cost: every pass that changes something builds a graph here.
    node_data, successors, predecessors = graph._node, graph._succ, graph._pred
    for task in task_list:
        node_data[task.id] = {"task": task}
        successors[task.id] = {}
        predecessors[task.id] = {}
    for (producer, consumer), (outputs, order) in edges.items():
        for node in (producer, consumer):
            if node not in node_data:
                node_data[node], successors[node], predecessors[node] = {}, {}, {}
        successors[producer][consumer] = predecessors[consumer][producer] = {
            "reads": tuple(sorted(outputs)), "order": order}
    return graph


def task_of(graph: nx.DiGraph) -> dict[str, Task]:
    """Each task by its id (a dict made once, where networkx's node views would be made on
    every lookup)."""
    return {node: data["task"] for node, data in graph._node.items()}


def edges(graph: nx.DiGraph):
    """(producer, consumer, edge data) for every edge, in networkx's order."""
    for producer, consumers in graph._succ.items():
        for consumer, data in consumers.items():
            yield producer, consumer, data


def read_producers(graph: nx.DiGraph, task_id: str) -> list[str]:
    """The tasks whose outputs `task_id` reads (arguments, guard, the items of its loops),
    in edge order: what `build_graph` recorded, so no pass walks the bindings again."""
    return [producer for producer, edge in graph._pred[task_id].items() if edge["reads"]]


def condition_text(condition: Condition, binding_text) -> str:
    """A condition as treadle writes it, each binding written by `binding_text` (pictures,
    `--explain` and the optimizer's fixtures each name bindings their own way)."""
    if isinstance(condition, Compare):
        return f"{binding_text(condition.left)} {condition.op} {binding_text(condition.right)}"
    if isinstance(condition, Truthy):
        return binding_text(condition.operand)
    if isinstance(condition, Not):
        return f"not ({condition_text(condition.operand, binding_text)})"
    joiner = " and " if isinstance(condition, And) else " or "
    return "(" + joiner.join(condition_text(operand, binding_text) for operand in condition.operands) + ")"


def task_bindings(task: Task):
    """Every binding a task reads: its arguments and its guard (lists of unrolled outputs
    taken apart into their elements)."""
    for _, binding in task.arguments:
        yield from binding_leaves(binding)
    for binding in condition_bindings(task.guard):
        yield from binding_leaves(binding)


def declared_type(graph: nx.DiGraph, binding: Union[ParamRef, LoopItem, TaskOutput, ListOf]) -> Type:
    """The type declared for what a binding reads: the pipeline parameter's, the loop's item
    type, or the producer's output type (of one item, for a gathered output); a list of
    unrolled outputs is a list of its elements' type."""
    if isinstance(binding, ListOf):
        return list_of(declared_type(graph, binding.items[0]) if binding.items else None)
    if isinstance(binding, ParamRef):
        return next(param.type for param in info(graph).params if param.name == binding.name)
    if isinstance(binding, LoopItem):
        return info(graph).loop(binding.loop).item_type
    producer: Task = graph.nodes[binding.task]["task"]
    return producer.component.output(binding.output).type


def validate(graph: nx.DiGraph) -> list[str]:
    """The IR's invariants; [] when they hold. Used by tests and after every pass."""
    problems: list[str] = []
    pipeline = graph.graph.get("info")
    if not isinstance(pipeline, PipelineInfo):
        return ["graph.graph['info'] is not a PipelineInfo"]
    node_data, predecessors = graph._node, graph._pred
    loop_ids = {loop.id for loop in pipeline.loops}
    param_names = {param.name for param in pipeline.params}
    for loop in pipeline.loops:
        if loop.parent is not None and loop.parent not in loop_ids:
            problems.append(f"loop {loop.id}: unknown parent {loop.parent}")
    for node, data in node_data.items():
        task = data.get("task")
        if not isinstance(task, Task) or task.id != node:
            problems.append(f"node {node}: no Task with that id")
            continue
        component = task.component
        arguments = dict(task.arguments)
        for port in component.inputs:
            if port.name not in arguments and not port.has_default:
                problems.append(f"{node}: required input {port.name} is not bound")
        for name in arguments:
            if component.input(name) is None:
                problems.append(f"{node}: argument {name} is not an input of {component.name}")
        for loop in task.loops:
            if loop not in loop_ids:
                problems.append(f"{node}: unknown loop {loop}")
        waits_for = predecessors[node]
        for binding in task_bindings(task):
            if isinstance(binding, ParamRef) and binding.name not in param_names:
                problems.append(f"{node}: unknown pipeline parameter {binding.name}")
            elif isinstance(binding, LoopItem) and binding.loop not in task.loops:
                problems.append(f"{node}: reads the item of loop {binding.loop} outside it")
            elif isinstance(binding, TaskOutput):
                producer_data = node_data.get(binding.task)
                if producer_data is None:
                    problems.append(f"{node}: reads unknown task {binding.task}")
                    continue
                producer = producer_data.get("task")
                if producer is None:
                    continue  # reported as a node without a task
                if producer.component.output(binding.output) is None:
                    problems.append(f"{node}: {binding.task} has no output {binding.output}")
                if binding.task not in waits_for:
                    problems.append(f"{node}: no edge from {binding.task}, whose output it reads")
                if producer.is_finally != task.is_finally:
                    problems.append(f"{node}: reads {binding.task} across the finally boundary")
        if task.guard is not None:
            for binding in condition_bindings(task.guard):
                if isinstance(binding, TaskOutput) and binding.gathered:
                    problems.append(f"{node}: its condition reads the outputs of {binding.task} gathered into a list")
        for other in task.after:
            if other not in waits_for:
                problems.append(f"{node}: no edge from {other}, which it runs after")
        problems += _fused_problems(task)
        task_conditions = flat_conditions(task.guard)
        for loop_id in task.loops:
            if loop_id not in loop_ids:
                continue
            loop_conditions = flat_conditions(pipeline.loop(loop_id).guard)
            if task_conditions[:len(loop_conditions)] != loop_conditions:
                problems.append(f"{node}: its guard does not start with the guard of its loop {loop_id}")
    if not problems:
        try:
            tasks(graph)  # one pass over the edges when source order is an order of the graph
        except ValueError:
            problems.append("the graph has a cycle")
    elif not _is_acyclic(graph):
        problems.append("the graph has a cycle")
    return problems


def _is_acyclic(graph: nx.DiGraph) -> bool:
    """networkx's test, for graphs that broke other invariants (no task order to lean on)."""
    import networkx as nx

    return nx.is_directed_acyclic_graph(graph)


def _fused_problems(task: Task) -> list[str]:
    """A fused task's steps take each input from the task's inputs or an earlier step's
    outputs, and their outputs are the task's."""
    problems = []
    component = task.component
    for position, step in enumerate(task.fused):
        given = {name for name, _ in step.inputs} | {name for name, _, _ in step.reads}
        if given != {port.name for port in step.component.inputs}:
            problems.append(f"{task.id}: step {step.id} does not get each of its inputs once")
        for _, port in step.inputs:
            if component.input(port) is None:
                problems.append(f"{task.id}: step {step.id} reads the task's input {port}, which it has not")
        for _, earlier, output in step.reads:
            if not 0 <= earlier < position or task.fused[earlier].component.output(output) is None:
                problems.append(f"{task.id}: step {step.id} reads output {output} of no earlier step")
        for port in step.component.outputs:
            if component.output(fused_port(position, port.name)) is None:
                problems.append(f"{task.id}: output {port.name} of step {step.id} is not the task's")
    return problems


def flat_conditions(guard: Condition | None) -> tuple[Condition, ...]:
    """A guard as the conditions that must all hold, outermost first (nested `and`s flattened,
    so a loop's guard is a prefix of the guard of each task inside it)."""
    if guard is None:
        return ()
    if isinstance(guard, And):
        return tuple(condition for operand in guard.operands for condition in flat_conditions(operand))
    return (guard,)
