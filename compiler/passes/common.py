"""What every pass shares: the user's choices, the record of a change, and rebuilding a
graph from new tasks (passes never change the graph they are given)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Collection

import networkx as nx

from .. import ir
from ..ir import flat_conditions
from ..source import Span


@dataclass(frozen=True)
class Options:
    """Choices that change what a pass may assume."""

    fold_defaults: bool = False  # pipeline parameters keep their defaults: conditions on them fold
    # The loops of a graph that the target engine wants as copies of their body (None: the
    # engine unrolls nothing); see unroll_loops.
    unroll: Callable[[nx.DiGraph], Collection[str]] | None = None


@dataclass(frozen=True)
class Change:
    """One thing a pass did (or would have done and did not, saying why), at the source of
    the task it concerns (for `--explain`)."""

    span: Span
    message: str
    refused: bool = False  # a change the pass considered and did not make, and why


FALSE = ir.Truthy(ir.Const(False))


def conjunction(conditions) -> ir.Condition | None:
    conditions = tuple(conditions)
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else ir.And(conditions)


def never_holds(guard: ir.Condition | None) -> bool:
    return FALSE in flat_conditions(guard)


def rebuild(graph: nx.DiGraph, task_list: list[ir.Task], loops: tuple[ir.Loop, ...] | None = None) -> nx.DiGraph:
    """A new graph of `task_list` with the pipeline of `graph` (its loops replaced by `loops`;
    loops no task is inside any more are dropped)."""
    pipeline = ir.info(graph)
    used = {loop for task in task_list for loop in task.loops}
    kept = tuple(loop for loop in (pipeline.loops if loops is None else loops) if loop.id in used)
    if kept != pipeline.loops:
        pipeline = replace(pipeline, loops=kept)
    return ir.build_graph(pipeline, task_list)


def rename_outputs(binding: ir.Binding, renamed: dict[str, str]) -> ir.Binding:
    """`binding` with the producers in `renamed` replaced."""
    return ir.map_outputs(binding, lambda output: ir.TaskOutput(renamed[output.task], output.output, output.gathered)
                          if output.task in renamed else output)


def map_condition(condition: ir.Condition | None, binding: Callable[[ir.Binding], ir.Binding]) -> ir.Condition | None:
    """`condition` with `binding` applied to each binding it reads (its shape kept)."""
    if condition is None:
        return None
    if isinstance(condition, ir.Compare):
        return ir.Compare(condition.op, binding(condition.left), binding(condition.right))
    if isinstance(condition, ir.Truthy):
        return ir.Truthy(binding(condition.operand))
    if isinstance(condition, ir.Not):
        return ir.Not(map_condition(condition.operand, binding))
    return type(condition)(tuple(map_condition(operand, binding) for operand in condition.operands))


def rename_in_condition(condition: ir.Condition | None, renamed: dict[str, str]) -> ir.Condition | None:
    if not renamed:
        return condition
    return map_condition(condition, lambda binding: rename_outputs(binding, renamed))


def retarget(task: ir.Task, binding: Callable[[ir.Binding], ir.Binding], waits: dict[str, str]) -> ir.Task:
    """`task` reading `binding(b)` for each binding b it reads and waiting for `waits[t]`
    where it waited for a step t (duplicates dropped); `task` itself when nothing changes."""
    arguments = tuple((name, binding(argument)) for name, argument in task.arguments)
    guard = map_condition(task.guard, binding)
    after = tuple(dict.fromkeys(waits.get(other, other) for other in task.after))
    if arguments == task.arguments and guard == task.guard and after == task.after:
        return task
    return replace(task, arguments=arguments, guard=guard, after=after)
