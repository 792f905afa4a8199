"""What every pass shares: the user's choices, the record of a change, and rebuilding a
graph from new tasks (passes never change the graph they are given)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Collection

import networkx as nx

from .. import ir
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


def flat_conditions(guard: ir.Condition | None) -> tuple[ir.Condition, ...]:
    """A guard as the conditions that must all hold, outermost first (nested `and`s flattened,
    so a loop's guard is a prefix of the guard of each task inside it)."""
    if guard is None:
        return ()
    if isinstance(guard, ir.And):
        return tuple(condition for operand in guard.operands for condition in flat_conditions(operand))
    return (guard,)


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
    if isinstance(binding, ir.TaskOutput) and binding.task in renamed:
        return ir.TaskOutput(renamed[binding.task], binding.output, binding.gathered)
    if isinstance(binding, ir.ListOf):
        return ir.ListOf(tuple(rename_outputs(item, renamed) for item in binding.items))
    return binding


def rename_in_condition(condition: ir.Condition | None, renamed: dict[str, str]) -> ir.Condition | None:
    if condition is None or not renamed:
        return condition
    if isinstance(condition, ir.Compare):
        return ir.Compare(condition.op, rename_outputs(condition.left, renamed), rename_outputs(condition.right, renamed))
    if isinstance(condition, ir.Truthy):
        return ir.Truthy(rename_outputs(condition.operand, renamed))
    if isinstance(condition, ir.Not):
        return ir.Not(rename_in_condition(condition.operand, renamed))
    return type(condition)(tuple(rename_in_condition(operand, renamed) for operand in condition.operands))
