"""Loop unrolling: a loop over a list known when compiling becomes one copy of its body per
item, for an engine that asks for it (Tekton fans a loop out only as a one-step `matrix`).

A backend names the loops it wants unrolled (`Options.unroll`); a wanted loop is unrolled
when its list is literal (or a parameter's default under `--fold-defaults`, or the item of
an unrolled loop around it) and the loop around it, if any, is unrolled too. Each copy of a
step is named STEP-I (STEP-I-J in nested loops; step names have no `-`, so copies never
collide with them), reads the item as a literal, keeps the span of the step in the body,
and sorts where its loop is, iteration after iteration. A step after the loop that reads
the loop's outputs reads the list of its copies' outputs in item order (`ir.ListOf`); an
`after` a loop step waits for every copy. A loop left inside an unrolled one is copied
with it (its id gets `.I`).

>>> from treadle.compiler.passes.describe import pipeline_of, describe
>>> graph = pipeline_of('''
...   for n in [1, 2] {
...     a = inc(x=n)
...     show(x=a.y)
...   }
...   b = inc(x=3) after a''')
>>> every_loop = Options(unroll=lambda graph: {loop.id for loop in ir.info(graph).loops})
>>> print(describe(unroll_loops(graph, every_loop)))
a-0 = inc(x=1)
show-0 = show(x=a-0.y)
a-1 = inc(x=2)
show-1 = show(x=a-1.y)
b = inc(x=3) after a-0, a-1
"""

from __future__ import annotations

from dataclasses import replace

import networkx as nx

from .. import ir
from .common import Change, Options, map_condition, rebuild

Env = dict[str, tuple[int, ir.Value]]  # unrolled loop id -> (item index, item) of the copy being made


def unroll_loops(graph: nx.DiGraph, options: Options = Options(), changes: list[Change] | None = None) -> nx.DiGraph:
    if options.unroll is None:
        return graph
    pipeline = ir.info(graph)
    if not pipeline.loops:
        return graph
    wanted = set(options.unroll(graph))
    known = {p.name: p.default for p in pipeline.params if p.has_default} if options.fold_defaults else {}
    unrolled = _unrolled(pipeline, wanted, known)
    if not unrolled:
        return graph
    return _Unroller(graph, unrolled, known).run(changes)


def _unrolled(pipeline: ir.PipelineInfo, wanted: set[str], known: dict) -> set[str]:
    """The loops to unroll: wanted, with a list known when compiling, and outermost or
    inside an unrolled loop (a fan-in across a loop left in place could not be written)."""
    unrolled: set[str] = set()
    by_id = {loop.id: loop for loop in pipeline.loops}

    def depth(loop: ir.Loop) -> int:
        return 0 if loop.parent is None else 1 + depth(by_id[loop.parent])

    for loop in sorted(pipeline.loops, key=depth):  # parents first
        if loop.id not in wanted or (loop.parent is not None and loop.parent not in unrolled):
            continue
        items = loop.items
        if (isinstance(items, ir.Const) or isinstance(items, ir.ParamRef) and items.name in known
                or isinstance(items, ir.LoopItem) and items.loop in unrolled):
            unrolled.add(loop.id)
    return unrolled


class _Unroller:
    def __init__(self, graph: nx.DiGraph, unrolled: set[str], known: dict) -> None:
        self.pipeline = ir.info(graph)
        self.loops = {loop.id: loop for loop in self.pipeline.loops}
        self.tasks = {task.id: task for task in ir.tasks(graph)}
        self.graph = graph
        self.unrolled = unrolled
        self.known = known
        self.chains: dict[str | None, tuple[str, ...]] = {None: ()}  # loop id -> chain(loop id)

    # ------------------------------------------------------------ structure
    def chain(self, loop_id: str | None) -> tuple[str, ...]:
        """The loop and the loops around it, outermost first (worked out once per loop)."""
        known = self.chains.get(loop_id)
        if known is None:
            known = self.chains[loop_id] = self.chain(self.loops[loop_id].parent) + (loop_id,)
        return known

    def prefix(self, loops: tuple[str, ...]) -> tuple[str, ...]:
        """The unrolled loops of a chain (always its outermost ones)."""
        count = 0
        while count < len(loops) and loops[count] in self.unrolled:
            count += 1
        return loops[:count]

    def items(self, loop_id: str, env: Env) -> list:
        items = self.loops[loop_id].items
        if isinstance(items, ir.Const):
            return items.value
        if isinstance(items, ir.ParamRef):
            return self.known[items.name]
        return env[items.loop][1]

    def iterations(self, loops: tuple[str, ...], env: Env):
        """Each env that extends `env` with an item of every loop in `loops` (unrolled ones,
        outer first), in item order."""
        if not loops:
            yield env
            return
        for index, item in enumerate(self.items(loops[0], env)):
            yield from self.iterations(loops[1:], {**env, loops[0]: (index, item)})

    @staticmethod
    def suffix(loops: tuple[str, ...], env: Env, separator: str) -> str:
        return "".join(f"{separator}{env[loop_id][0]}" for loop_id in loops)

    def task_name(self, task_id: str, env: Env) -> str:
        return task_id + self.suffix(self.prefix(self.tasks[task_id].loops), env, "-")

    def loop_name(self, loop_id: str, env: Env) -> str:
        return loop_id + self.suffix(self.prefix(self.chain(self.loops[loop_id].parent)), env, ".")

    # ------------------------------------------------------------ bindings
    def binding(self, binding: ir.Binding, env: Env) -> ir.Binding:
        if isinstance(binding, ir.LoopItem):
            if binding.loop in self.unrolled:
                return ir.Const(env[binding.loop][1])
            return ir.LoopItem(self.loop_name(binding.loop, env))
        if isinstance(binding, ir.ListOf):
            return ir.ListOf(tuple(self.binding(item, env) for item in binding.items))
        if not isinstance(binding, ir.TaskOutput):
            return binding
        producer = self.tasks[binding.task]
        unrolled_gathered = tuple(loop_id for loop_id in binding.gathered if loop_id in self.unrolled)
        still_gathered = binding.gathered[len(unrolled_gathered):]

        def gather(env: Env, levels: tuple[str, ...]) -> ir.Binding:
            if not levels:
                return ir.TaskOutput(self.task_name(producer.id, env), binding.output,
                                     tuple(self.loop_name(loop_id, env) for loop_id in still_gathered))
            return ir.ListOf(tuple(gather(inner, levels[1:]) for inner in self.iterations(levels[:1], env)))

        return gather(env, unrolled_gathered)

    def condition(self, condition: ir.Condition | None, env: Env) -> ir.Condition | None:
        return map_condition(condition, lambda binding: self.binding(binding, env))

    def waits(self, other_id: str, reader_loops: tuple[str, ...], env: Env) -> list[str]:
        """The copies of step `other_id` that a reader in `reader_loops` waits for: the one in
        the reader's iteration of the loops they share, all of those it is outside of."""
        other = self.tasks[other_id]
        shared = 0
        while shared < min(len(other.loops), len(reader_loops)) and other.loops[shared] == reader_loops[shared]:
            shared += 1
        outside = self.prefix(other.loops)[shared:]
        return [self.task_name(other_id, inner) for inner in self.iterations(outside, env)]

    # ------------------------------------------------------------ the pass
    def run(self, changes: list[Change] | None) -> nx.DiGraph:
        task_list: list[ir.Task] = []
        for task in self.tasks.values():
            unrolled = self.prefix(task.loops)
            for env in self.iterations(unrolled, {}):
                task_list.append(self.copy(task, unrolled, env))
        loops = []
        for loop in self.pipeline.loops:
            if loop.id in self.unrolled:
                continue
            for env in self.iterations(self.prefix(self.chain(loop.parent)), {}):
                parent = loop.parent if loop.parent not in self.unrolled else None
                loops.append(replace(loop, id=self.loop_name(loop.id, env),
                                     items=self.binding(loop.items, env),
                                     parent=self.loop_name(parent, env) if parent is not None else None,
                                     guard=self.condition(loop.guard, env)))
        if changes is not None:
            for loop in self.pipeline.loops:
                if loop.id in self.unrolled:
                    body = [task.id for task in self.tasks.values() if loop.id in task.loops]
                    count = sum(1 for _ in self.iterations(self.prefix(self.chain(loop.id)), {}))
                    changes.append(Change(loop.span, f"loop over {loop.variable} unrolled: "
                                                     f"{count} cop{'y' if count == 1 else 'ies'} of "
                                                     f"{', '.join(body)}"))
        return rebuild(self.graph, task_list, tuple(loops))

    def copy(self, task: ir.Task, unrolled: tuple[str, ...], env: Env) -> ir.Task:
        arguments = tuple((name, self.binding(binding, env)) for name, binding in task.arguments)
        guard = self.condition(task.guard, env)
        after = tuple(dict.fromkeys(name for other in task.after for name in self.waits(other, task.loops, env)))
        loops = tuple(self.loop_name(loop_id, env) for loop_id in task.loops[len(unrolled):])
        if not unrolled and (arguments, guard, after, loops) == (task.arguments, task.guard, task.after, task.loops):
            return task
        copy_of = task.copy_of + tuple((self.loops[loop_id].span, env[loop_id][0]) for loop_id in unrolled)
        return ir.Task(self.task_name(task.id, env), task.component, arguments, task.settings, guard, loops,
                       task.is_finally, after, task.span, task.fused, copy_of)
