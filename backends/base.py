"""What every engine backend shares: reading the IR into scopes, one policy for problems,
and one method per language construct for an engine to implement.

An engine (Argo, Tekton) subclasses `Emitter`, sets its feature flags, and implements the
construct methods. Constructs an engine cannot express are reported through
`unsupported()` as error diagnostics pointing at the task's source, never dropped.
"""

from __future__ import annotations

import abc
import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Iterable, Union

from ..compiler import ir
from ..compiler.diagnostics import CODES, Diagnostic, Severity
from ..compiler.source import Span

if TYPE_CHECKING:
    import networkx as nx

# Diagnostic codes of the backends (the front end's codes are E/W + number); their summaries
# live with all the others in `compiler.diagnostics.CODES`.
BACKEND_CODES: dict[str, str] = {code: summary for code, summary in CODES.items() if code.startswith("B")}


# The image of the steps that run kubectl (Tekton's MPI steps and scheduled runs) unless
# --kubectl-image names another. It needs `sh` and `kubectl`: the Kubernetes project's own
# kubectl image has no shell, and the versioned bitnami/kubectl tags left Docker Hub's
# bitnami catalog in September 2025 (bitnami/containers#83267). alpine/kubectl publishes
# versioned tags with a busybox shell; kubectl 1.34 speaks to API servers 1.33 to 1.35.
DEFAULT_KUBECTL_IMAGE = "alpine/kubectl:1.34.1"


@dataclass(frozen=True)
class Options:
    """Choices the user makes on the command line, the same for every engine."""

    kind: str = "workflow"  # "workflow" or "workflowtemplate"
    artifacts: str = "repository"  # "repository" (the engine's artifact store) or "volume"
    volume_claim: str | None = None  # an existing claim for the volume mode
    embedded: bool = False  # Tekton: only the run, with the pipeline and its tasks inside it
    kubectl_image: str | None = None  # Tekton: the image of helper steps that run kubectl (None: the default)


@dataclass
class EmitResult:
    documents: list[dict]
    diagnostics: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


# ---------------------------------------------------------------- scopes
@dataclass(eq=False)
class Scope:
    """The tasks directly inside one loop body (or the pipeline's top level, or its
    `finally`), with the loops nested in it, in source order."""

    loop: ir.Loop | None
    depth: int
    items: list[Union[ir.Task, "Scope"]] = field(default_factory=list)

    @property
    def tasks(self) -> list[ir.Task]:
        return [item for item in self.items if isinstance(item, ir.Task)]

    @property
    def children(self) -> list["Scope"]:
        return [item for item in self.items if isinstance(item, Scope)]

    def all_tasks(self) -> Iterable[ir.Task]:
        for item in self.items:
            if isinstance(item, Scope):
                yield from item.all_tasks()
            else:
                yield item

    @property
    def single_task(self) -> ir.Task | None:
        """The body's only task when the body is one task and no nested loop."""
        if len(self.items) == 1 and isinstance(self.items[0], ir.Task):
            return self.items[0]
        return None


def build_scopes(graph: nx.DiGraph, ordered: list[ir.Task] | None = None) -> tuple[Scope, Scope]:
    """(main, finally) scopes of a pipeline, each a tree of loop bodies in task order
    (`ordered`: `ir.tasks(graph)` when the caller has it already)."""
    pipeline = ir.info(graph)
    main, final = Scope(None, 0), Scope(None, 0)
    by_loop: dict[tuple[bool, str], Scope] = {}

    def scope_of(root: Scope, is_finally: bool, loops: tuple[str, ...]) -> Scope:
        scope = root
        for depth, loop_id in enumerate(loops, start=1):
            key = (is_finally, loop_id)
            child = by_loop.get(key)
            if child is None:
                child = Scope(pipeline.loop(loop_id), depth)
                by_loop[key] = child
                scope.items.append(child)
            scope = child
        return scope

    for task in ordered if ordered is not None else ir.tasks(graph):
        root = final if task.is_finally else main
        scope_of(root, task.is_finally, task.loops).items.append(task)
    return main, final


def described(spec: dict, port: ir.Port) -> dict:
    """A param, result or template parameter with its port's description (from an imported
    component spec), for the engines whose specs have a field for one."""
    if port.description:
        spec["description"] = port.description
    return spec


# ---------------------------------------------------------------- dependencies
Member = Union[str, tuple[str, str]]  # a task id, or ("loop", loop id) for a loop in the scope


def member_in(loops: tuple[str, ...], task_id: str, depth: int) -> Member:
    """What stands for a task inside the scope at `depth` of its loop chain."""
    return task_id if len(loops) == depth else ("loop", loops[depth])


STRENGTH = {"order": 0, "data": 1, "guard": 2}


def scope_dependencies(graph: nx.DiGraph) -> dict[tuple[bool, tuple[str, ...]], dict[Member, dict[Member, str]]]:
    """For each scope (finally?, loop chain): member -> {member it waits for: why}, where why
    is "guard" (a condition of the waiting side reads its outputs), "data" (arguments or
    loop items read them) or "order" (`after` only).

    An edge between tasks in different loops becomes an edge between the members of their
    innermost common scope (the loop task that holds one of them)."""
    result: dict = {}
    pipeline = ir.info(graph)
    task_of = ir.task_of(graph)
    for producer, consumer, data in ir.edges(graph):
        p_task = task_of[producer]
        c_task = task_of[consumer]
        common = 0
        while (common < min(len(p_task.loops), len(c_task.loops))
               and p_task.loops[common] == c_task.loops[common]):
            common += 1
        p_member = member_in(p_task.loops, producer, common)
        c_member = member_in(c_task.loops, consumer, common)
        if p_member == c_member:
            continue
        key = (c_task.is_finally, c_task.loops[:common])
        waits = result.setdefault(key, {}).setdefault(c_member, {})
        strength = "order"
        if data.get("reads"):
            # Conditions and loop lists are read before Argo skips a task: they need the outputs.
            tested = list(ir.condition_bindings(c_task.guard))
            tested += [pipeline.loop(loop_id).items for loop_id in c_task.loops[common:]]
            guard_reads = any(isinstance(b, ir.TaskOutput) and b.task == producer for b in tested)
            strength = "guard" if guard_reads else "data"
        if STRENGTH[strength] > STRENGTH[waits.get(p_member, "order")] or p_member not in waits:
            waits[p_member] = strength
    return result


# ---------------------------------------------------------------- template sharing
class TemplateKeys:
    """Groups tasks that can share one engine template: equal component and settings.

    The front end gives every call of a component the same ComponentSpec object, so the
    grouping key holds the object's identity (cheap); `identity()` spells a key out in full
    where text that is the same on every run is needed (names, cache keys)."""

    def __init__(self) -> None:
        self._component_keys: dict[int, str] = {}
        self._objects: dict[int, ir.ComponentSpec] = {}

    def key(self, task: ir.Task) -> tuple[int, ir.Settings]:
        self._objects[id(task.component)] = task.component  # keeps the id valid
        return (id(task.component), task.settings)

    def identity(self, key: tuple[int, ir.Settings]) -> str:
        return self.component_key(self._objects[key[0]]) + repr(key[1])

    def component_key(self, component: ir.ComponentSpec) -> str:
        key = self._component_keys.get(id(component))
        if key is None:
            # Every field but the declaring file's path, which differs between checkouts.
            key = repr(replace(component, source=""))
            self._component_keys[id(component)] = key
        return key


# ---------------------------------------------------------------- the emitter
class Emitter(abc.ABC):
    """Turns one pipeline's IR into engine documents (plain dicts).

    Feature flags say what the engine can express; `check_features` reports the rest before
    any document is built. Subclasses override the construct methods below."""

    TARGET = ""
    SCHEDULES = True  # a pipeline `schedule`
    MPI = True  # `mpi { ranks = N }` steps
    LOOPS_OVER_OUTPUTS = True  # `for x in step.list_output`
    NESTED_LOOPS = True  # a `for` inside a `for`
    FAN_IN = True  # a loop's output values used after the loop
    CACHE = True  # `cache` + `deterministic` steps memoized by the engine
    FINALLY = True  # a `finally` block
    MAX_DOCUMENT_BYTES: int | None = None  # the engine's limit on one object's JSON size
    # Loops over lists known when compiling that the engine wants as copies of their body
    # (the optimizer's unroll-loops pass makes them; `unrolled_loops` says which).
    UNROLL_LOOPS = False
    # The `Options` fields (command-line flags) this engine reads; it sees the others at
    # their defaults, and the command line refuses a flag that no chosen engine reads.
    OPTIONS: tuple[str, ...] = ()

    def __init__(self, options: Options | None = None) -> None:
        self.options = options or Options()
        self.diagnostics: list[Diagnostic] = []

    @classmethod
    def option_problem(cls, options: Options) -> tuple[str, str] | None:
        """(the field, what is wrong) when this engine's choices do not go together; the
        command line says it unless another chosen engine reads that field."""
        return None

    # ------------------------------------------------------------ the one problem policy
    def unsupported(self, span: Span, message: str, hint: str | None = None) -> None:
        """A construct this engine cannot express: an error at the construct's source."""
        self.error("B001", span, f"{self.TARGET}: {message}", hint)

    def error(self, code: str, span: Span, message: str, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, Severity.ERROR, span, message, hint))

    def warning(self, code: str, span: Span, message: str, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, Severity.WARNING, span, message, hint))

    @property
    def failed(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    def unrolled_loops(self, graph: nx.DiGraph) -> set[str]:
        """The loops of `graph` this engine wants unrolled (when their list is known)."""
        return {loop.id for loop in ir.info(graph).loops} if self.UNROLL_LOOPS else set()

    # ------------------------------------------------------------ entry point
    def emit(self, graph: nx.DiGraph) -> EmitResult:
        if self.UNROLL_LOOPS:  # the optimizer did it already, unless the graph comes from elsewhere
            from ..compiler.passes.common import Options as PassOptions
            from ..compiler.passes.unroll_loops import unroll_loops

            graph = unroll_loops(graph, PassOptions(unroll=self.unrolled_loops))
        self.ordered = ir.tasks(graph)  # deterministic order, computed once
        self.task_of = ir.task_of(graph)
        self.check_features(graph)
        documents = [] if self.failed else self.pipeline(graph)
        if self.failed:
            documents = []
        return EmitResult(documents, self.diagnostics)

    def check_features(self, graph: nx.DiGraph) -> None:
        pipeline = ir.info(graph)
        if pipeline.schedule and not self.SCHEDULES:
            self.unsupported(pipeline.span, "scheduled pipelines")
        if not self.NESTED_LOOPS:
            for loop in pipeline.loops:
                if loop.parent is not None:
                    self.unsupported(loop.span, "a for loop inside another")
        if not self.LOOPS_OVER_OUTPUTS:
            for loop in pipeline.loops:
                if isinstance(loop.items, ir.TaskOutput):
                    self.unsupported(loop.span, "a for loop over a step's output")
        for task in self.ordered:
            if task.settings.mpi is not None and not self.MPI:
                self.unsupported(task.span, f"MPI step '{task.id}'")
            if task.settings.mpi is not None and (variables := ir.engine_variables(task.component, task.settings)):
                # Its command runs in the MPIJob's pods, which the engine creates through a manifest,
                # not as its own pod: there is no engine variable for their names.
                read = ", ".join(ir.ENGINE_VARIABLES[name] for name in sorted(variables))
                self.unsupported(task.span, f"MPI step '{task.id}' reads {read} in its command or env; its "
                                            "ranks run in an MPIJob's pods, where the engine fills in no variables",
                                 hint="run the component without mpi")
            if task.is_finally and not self.FINALLY:
                self.unsupported(task.span, f"finally step '{task.id}'")
            if not self.FAN_IN:
                for _, binding in task.arguments:
                    if isinstance(binding, ir.TaskOutput) and binding.gathered:
                        self.unsupported(task.span, f"'{task.id}' reads the outputs of a loop as a list")

    # ------------------------------------------------------------ constructs
    @abc.abstractmethod
    def pipeline(self, graph: nx.DiGraph) -> list[dict]:
        """The documents of one pipeline."""

    @abc.abstractmethod
    def component(self, task: ir.Task) -> str:
        """The name of the engine template shared by every task with this task's component
        and settings (built on first use)."""

    @abc.abstractmethod
    def task(self, task: ir.Task, context) -> dict:
        """One call of a component inside the DAG being built (`context`, engine-defined)."""

    @abc.abstractmethod
    def condition(self, conditions: tuple[ir.Condition, ...], context, *args) -> str:
        """An `if` guard (all of `conditions`) in the engine's condition language."""

    @abc.abstractmethod
    def loop(self, scope: Scope, parent) -> dict:
        """A `for` loop as seen from the DAG that holds it."""

    @abc.abstractmethod
    def finally_block(self, scope: Scope, name: str) -> dict:
        """The steps that run whatever happened before."""

    @abc.abstractmethod
    def retries(self, settings: ir.Settings) -> dict:
        """retries -> the engine's retry policy."""

    @abc.abstractmethod
    def timeout(self, settings: ir.Settings) -> dict:
        """timeout -> the engine's deadline."""

    @abc.abstractmethod
    def resources(self, settings: ir.Settings) -> dict:
        """requests and limits, GPUs included."""

    @abc.abstractmethod
    def env(self, task: ir.Task) -> list[dict]:
        """Environment variables: literals, secrets by reference, input values."""

    @abc.abstractmethod
    def security(self, settings: ir.Settings) -> dict:
        """The container security context."""

    @abc.abstractmethod
    def mpi(self, task: ir.Task, name: str) -> dict:
        """An MPI step: a job on N ranks and the wait for its launcher."""

    @abc.abstractmethod
    def cache(self, task: ir.Task, name: str, key: tuple) -> dict:
        """Result caching for deterministic steps."""


PIPELINE_LABEL = "treadle.dev/pipeline"  # on every emitted object: which pipeline it came from


def documents_over(documents: list[dict], sizes: list[int] | None, threshold: int) -> list[tuple[str, int, str]]:
    """(what, JSON bytes, pipeline name) of each document of at least `threshold` bytes as
    JSON. `sizes`: the documents' JSON sizes when the caller measured them already."""
    result = []
    for index, document in enumerate(documents):
        if sizes is not None:
            size = sizes[index]
        else:
            size = len(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        if size >= threshold:
            labels = document["metadata"]["labels"]
            result.append((f"{document['kind']} {document['metadata']['name']}", size,
                           labels.get(PIPELINE_LABEL, "")))
    return result
