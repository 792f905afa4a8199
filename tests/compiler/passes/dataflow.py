"""What a pipeline means, observed without running it: which steps run, with which inputs,
under which conditions, for given parameter values.

Every value is a term: a literal, or "output o of component C (with its settings) applied
to these input terms" for a deterministic step (equal inputs give equal outputs), or
"output o of step S, iteration i" for any other (each run draws anew). Conditions on
literals and parameters are decided; those on step outputs stay as formulas in a normal
form (`true and x` is `x`). Loops over literal lists and parameters are expanded; a loop
over a step's output is one symbolic iteration. A copy of an unrolled loop body stands for
its step in the iteration it was copied for. A pass keeps the meaning when the steps
with side effects run with the same inputs under the same conditions, and no work
appears that was not there before."""

from __future__ import annotations

import json
import operator
from collections import Counter

import networkx as nx

from treadle.compiler import ir

_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
            ">": operator.gt, ">=": operator.ge}


def _literal(value) -> tuple:
    return ("literal", json.dumps(value, sort_keys=True))


def _junction(kind: str, parts) -> object:
    """`and` or `or` of parts, flattened; the value that decides it (False for `and`, True
    for `or`) wins, the other one drops out."""
    deciding = kind == "or"
    flat = set()
    for part in parts:
        if part is deciding:
            return deciding
        if part is (not deciding):
            continue
        flat.update(part[1] if part[0] == kind else (part,))
    if not flat:
        return not deciding
    return next(iter(flat)) if len(flat) == 1 else (kind, frozenset(flat))


def _and(parts) -> object:
    return _junction("and", parts)


def _or(parts) -> object:
    return _junction("or", parts)


class Meaning:
    def __init__(self, graph: nx.DiGraph, params: dict) -> None:
        self.graph = graph
        self.pipeline = ir.info(graph)
        self.params = params
        self.outputs: dict[tuple[str, tuple], dict[str, tuple] | None] = {}  # (task, iteration) -> outputs
        self.effects: set = set()
        self.work: Counter = Counter()
        self.tasks = {task.id: task for task in ir.tasks(graph)}
        for task in ir.tasks(graph):
            for env in self.iterations(task.loops, {}):
                self.run(task, env)

    # ------------------------------------------------------------ loops
    def items(self, loop: ir.Loop, env: dict) -> list[tuple]:
        items = loop.items
        if isinstance(items, ir.Const):
            return [_literal(item) for item in items.value]
        if isinstance(items, ir.ParamRef):
            return [_literal(item) for item in self.params[items.name]]
        return [("item of", self.term(items, env))]

    def iterations(self, loops: tuple[str, ...], env: dict):
        """Each assignment {loop id: (index, item term)} of the loops, outermost first."""
        if not loops:
            yield env
            return
        loop = self.pipeline.loop(loops[0])
        for index, item in enumerate(self.items(loop, env)):
            yield from self.iterations(loops[1:], {**env, loop.id: (index, item)})

    # ------------------------------------------------------------ values
    def term(self, binding: ir.Binding, env: dict) -> tuple:
        if isinstance(binding, ir.Const):
            return _literal(binding.value)
        if isinstance(binding, ir.ParamRef):
            return _literal(self.params[binding.name])
        if isinstance(binding, ir.LoopItem):
            return env[binding.loop][1]
        if isinstance(binding, ir.ListOf):  # the outputs of an unrolled loop's copies
            return ("list", tuple(self.term(item, env) for item in binding.items))
        producer = self.tasks[binding.task]
        shared = tuple(loop for loop in producer.loops if loop not in binding.gathered)
        return self.gathered(producer, binding.output, shared, binding.gathered, env)

    def gathered(self, producer: ir.Task, output: str, shared: tuple, gathered: tuple, env: dict) -> tuple:
        if not gathered:
            outputs = self.outputs.get((producer.id, tuple(env[loop][0] for loop in shared + ())))
            return outputs[output] if outputs else ("absent",)
        loop = self.pipeline.loop(gathered[0])
        values = []
        for index, item in enumerate(self.items(loop, env)):
            inner = {**env, loop.id: (index, item)}
            values.append(self.gathered(producer, output, shared + (loop.id,), gathered[1:], inner))
        return ("list", tuple(values))

    def condition(self, condition: ir.Condition | None, env: dict):
        if condition is None:
            return True
        if isinstance(condition, ir.And):
            return _and(self.condition(operand, env) for operand in condition.operands)
        if isinstance(condition, ir.Or):
            return _or(self.condition(operand, env) for operand in condition.operands)
        if isinstance(condition, ir.Not):
            inner = self.condition(condition.operand, env)
            return (not inner) if isinstance(inner, bool) else ("not", inner)
        if isinstance(condition, ir.Truthy):
            operand = self.term(condition.operand, env)
            return json.loads(operand[1]) if operand[0] == "literal" else ("true", operand)
        left, right = self.term(condition.left, env), self.term(condition.right, env)
        if left[0] == "literal" and right[0] == "literal":
            return _COMPARE[condition.op](json.loads(left[1]), json.loads(right[1]))
        return ("compare", condition.op, left, right)

    # ------------------------------------------------------------ steps
    def run(self, task: ir.Task, env: dict) -> None:
        iteration = tuple(env[loop][0] for loop in task.loops)
        guard = self.condition(task.guard, env)
        if guard is False:
            self.outputs[(task.id, iteration)] = None
            return
        if not task.fused:
            inputs = tuple((port.name, self.term(task.argument(port.name) or ir.Const(port.default), env))
                           for port in task.component.inputs)
            self.outputs[(task.id, iteration)] = self.step(task.id, task.component, task.settings, task.is_finally,
                                                           inputs, guard, iteration)
            return
        # A fused task: its steps in turn, each as the step it was, reading the task's inputs
        # and the outputs of the steps before it; the task's outputs are theirs, renamed.
        made: list[dict[str, tuple]] = []
        outputs = {}
        for position, step in enumerate(task.fused):
            given = dict(step.inputs)
            read = {name: made[earlier][output] for name, earlier, output in step.reads}
            inputs = tuple((port.name, read[port.name] if port.name in read else
                            self.term(task.argument(given[port.name]) or ir.Const(port.default), env))
                           for port in step.component.inputs)
            made.append(self.step(step.id, step.component, step.settings, task.is_finally, inputs, guard, iteration))
            outputs.update((ir.fused_port(position, name), term) for name, term in made[-1].items())
        self.outputs[(task.id, iteration)] = outputs

    def step(self, step_id: str, component: ir.ComponentSpec, settings: ir.Settings, is_finally: bool,
             inputs: tuple, guard, iteration: tuple) -> dict[str, tuple]:
        """One step's run: its work and effects recorded, its outputs' terms returned."""
        what = (component.name, component.image, component.command, component.args, repr(settings), is_finally)
        origin = ("computed", what, inputs) if settings.deterministic else ("drawn", *_step(step_id, iteration), inputs)
        event = (what, inputs, guard)
        self.work[event] += 1
        if settings.side_effects:
            self.effects.add((event, origin))
        return {port.name: ("output", port.name, origin) for port in component.outputs}


def _step(step_id: str, iteration: tuple) -> tuple[str, tuple]:
    """(step, iteration) as written: a copy of an unrolled loop body, STEP-I-J (step names
    hold no `-`), is its step in the iteration it was copied for."""
    step, *indices = step_id.split("-")
    return step, tuple(map(int, indices)) + iteration


def meaning(graph: nx.DiGraph, params: dict) -> Meaning:
    return Meaning(graph, params)


def steps(graph: nx.DiGraph, node: str | None = None) -> list[str]:
    """The steps as written that the graph (or one of its nodes) runs: a fused task's own."""
    if node is None:
        return [step for each in graph for step in steps(graph, each)]
    task = graph.nodes[node]["task"]
    return [step.id for step in task.fused] if task.fused else [node]


def order(graph: nx.DiGraph) -> set[tuple[str, str]]:
    """Pairs (a, b) of steps as written: b starts only after a finished (in a fused task,
    each step after the ones before it)."""
    pairs = set()
    for node in graph:
        inside = steps(graph, node)
        pairs.update((a, b) for position, a in enumerate(inside) for b in inside[position + 1:])
        for later in nx.descendants(graph, node):
            pairs.update((a, b) for a in inside for b in steps(graph, later))
    return pairs


def launched(task: ir.Task) -> list[tuple[ir.Argument, ...]]:
    """What a fused task's launcher runs, each step's command line in the step's own names
    (its inputs, its outputs, and the files it reads from earlier steps as its input
    paths): equal to each step's command and args when fusion wired them right."""
    from treadle.compiler.passes.fuse_tasks import ARGUMENT, LAUNCHER, STEP_END

    assert task.component.command == LAUNCHER
    lines: list[list[ir.Argument]] = [[]]
    for argument in task.component.args:
        if argument == (STEP_END,):
            lines.append([])
            continue
        assert isinstance(argument[0], str) and argument[0].startswith(ARGUMENT), argument
        lines[-1].append(argument)
    assert lines.pop() == [] and len(lines) == len(task.fused)
    result = []
    for position, (step, line) in enumerate(zip(task.fused, lines)):
        own = {fused: ir.InputValue(name) for name, fused in step.inputs}
        paths = {fused: ir.InputPath(name) for name, fused in step.inputs}
        written = {ir.fused_port(position, port.name): ir.OutputPath(port.name) for port in step.component.outputs}
        read = {ir.fused_port(earlier, output): ir.InputPath(name) for name, earlier, output in step.reads}

        def back(piece):
            if isinstance(piece, str):
                return piece
            if isinstance(piece, ir.InputValue):
                return own[piece.name]
            if isinstance(piece, ir.InputPath):
                return paths[piece.name]
            return written.get(piece.name) or read[piece.name]

        unfused = []
        for argument in line:
            pieces = [back(piece) for piece in argument]
            pieces[0] = pieces[0][len(ARGUMENT):]
            unfused.append(tuple(piece for piece in pieces if piece != ""))
        result.append(tuple(unfused))
    return result
