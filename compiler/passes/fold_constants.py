"""Constant folding: conditions whose operands are known when compiling are decided then.

Known operands are literals, and with `Options(fold_defaults=True)` (`--fold-defaults`) the
defaults of pipeline parameters: the user promises that runs keep them. A condition that
always holds is dropped from the guards of the tasks (and loops) under it; one that never
holds becomes `false`, which dead-task elimination then removes. Each condition of a guard
folds on its own, so a loop's guard stays a prefix of the guards of its tasks.

>>> from treadle.compiler.passes.describe import pipeline_of, describe
>>> graph = pipeline_of('''
...   a = inc(x=1)
...   if true and limit > 2 {
...     show(x=a.y)
...   }
...   if 2 > 3 {
...     b = inc(x=5)
...   }''', params="limit: int = 3")
>>> print(describe(fold_constants(graph)))
a = inc(x=1)
show = show(x=a.y) if limit > 2
b = inc(x=5) if false
>>> print(describe(fold_constants(graph, Options(fold_defaults=True))))
a = inc(x=1)
show = show(x=a.y)
b = inc(x=5) if false
"""

from __future__ import annotations

import operator
from dataclasses import replace

import networkx as nx

from .. import ir
from .common import FALSE, Change, Options, conjunction, flat_conditions, rebuild
from .describe import condition_text

_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
            ">": operator.gt, ">=": operator.ge}


def fold_constants(graph: nx.DiGraph, options: Options = Options(), changes: list[Change] | None = None) -> nx.DiGraph:
    pipeline = ir.info(graph)
    known = {param.name: param.default for param in pipeline.params if param.has_default} if options.fold_defaults else {}
    cache: dict[ir.Condition, ir.Condition | bool] = {}

    def fold_guard(guard: ir.Condition | None) -> ir.Condition | None:
        folded = []
        for condition in flat_conditions(guard):
            if condition not in cache:
                cache[condition] = fold_condition(condition, known)
            result = cache[condition]
            if result is False:
                folded.append(FALSE)
            elif result is not True:
                folded.append(result)
        return conjunction(folded)

    loops = tuple(replace(loop, guard=fold_guard(loop.guard)) if loop.guard is not None else loop
                  for loop in pipeline.loops)
    task_list = []
    changed = loops != pipeline.loops
    for task in ir.tasks(graph):
        if task.guard is not None:
            guard = fold_guard(task.guard)
            if guard != task.guard:
                changed = True
                if changes is not None:
                    before = condition_text(task.guard, pipeline)
                    after = condition_text(guard, pipeline) if guard is not None else "always"
                    changes.append(Change(task.span, f"step '{task.id}' runs if {before}: folded to {after}"))
                task = replace(task, guard=guard, after=task.after + _orders_lost(task, guard))
        task_list.append(task)
    return rebuild(graph, task_list, loops) if changed else graph


def _orders_lost(task: ir.Task, guard: ir.Condition | None) -> tuple[str, ...]:
    """Steps that only the folded-away part of the guard read: the task still waits for
    them (as `after`), so a failure of theirs stops it as before."""
    def producers(condition):
        return {leaf.task for b in ir.condition_bindings(condition) for leaf in ir.binding_leaves(b)
                if isinstance(leaf, ir.TaskOutput)}

    kept = producers(guard) | set(task.after)
    kept.update(leaf.task for _, b in task.arguments for leaf in ir.binding_leaves(b)
                if isinstance(leaf, ir.TaskOutput))
    return tuple(sorted(producers(task.guard) - kept))


def fold_condition(condition: ir.Condition, known: dict) -> ir.Condition | bool:
    """True, False, or the condition with its known parts decided."""
    if isinstance(condition, ir.Compare):
        left, right = _value(condition.left, known), _value(condition.right, known)
        if left is not _UNKNOWN and right is not _UNKNOWN:
            return _COMPARE[condition.op](left, right)
        return condition
    if isinstance(condition, ir.Truthy):
        value = _value(condition.operand, known)
        return condition if value is _UNKNOWN else bool(value)
    if isinstance(condition, ir.Not):
        operand = fold_condition(condition.operand, known)
        return (not operand) if isinstance(operand, bool) else ir.Not(operand)
    is_and = isinstance(condition, ir.And)
    deciding = not is_and  # False decides an `and`, True an `or`
    rest = []
    for operand in condition.operands:
        folded = fold_condition(operand, known)
        if folded is deciding:
            return deciding
        if folded is not (not deciding):
            rest.append(folded)
    if not rest:
        return not deciding
    if len(rest) == 1:
        return rest[0]
    return type(condition)(tuple(rest))


_UNKNOWN = object()


def _value(binding: ir.Binding, known: dict):
    if isinstance(binding, ir.Const):
        return binding.value
    if isinstance(binding, ir.ParamRef) and binding.name in known:
        return known[binding.name]
    return _UNKNOWN
