"""Common task elimination: a deterministic computation written twice runs once.

Two tasks are one when their component is `deterministic` (and reads no pod name or task
id, see `ir.EngineVariable`) and they have the same component, settings, arguments (an
input left to its default counts as its default), guard, loops and `after`, and are both
finally steps or both not. The first in task order stays; readers of
the other read it instead. Task order puts producers first, so a chain of duplicates folds
up in one walk.

>>> from treadle.compiler.passes.describe import pipeline_of, describe
>>> graph = pipeline_of('''
...   a = inc(x=1)
...   b = inc(x=1)
...   c = inc(x=b.y)
...   d = inc(x=a.y)
...   show(x=d.y)
...   show(x=c.y)
...   e = draw(x=1)
...   f = draw(x=1)''')
>>> print(describe(eliminate_common_tasks(graph)))
a = inc(x=1)
c = inc(x=a.y)
show = show(x=c.y)
show_2 = show(x=c.y)
e = draw(x=1)
f = draw(x=1)
"""

from __future__ import annotations

from dataclasses import replace

import networkx as nx

from .. import ir
from .common import Change, Options, rebuild, rename_in_condition, rename_outputs, retarget


def eliminate_common_tasks(graph: nx.DiGraph, options: Options = Options(),
                           changes: list[Change] | None = None) -> nx.DiGraph:
    pipeline = ir.info(graph)
    renamed: dict[str, str] = {}  # removed task -> the task that stays
    seen: dict[tuple, ir.Task] = {}
    # Components and settings are compared by value, once per object (tasks share them).
    equal_parts: dict[int, int] = {}  # id(spec or settings) -> index of the first equal one
    indexes: dict[object, int] = {}
    per_task: dict[tuple[int, int], bool] = {}  # (id(spec), id(settings)) -> reads a per-task variable
    task_list: list[ir.Task] = []
    for task in ir.tasks(graph):
        if renamed and (task.after or any(producer in renamed for producer in ir.read_producers(graph, task.id))):
            task = retarget(task, lambda binding: rename_outputs(binding, renamed), renamed)
        component, settings = task.component, task.settings
        if not settings.deterministic:
            task_list.append(task)
            continue
        # A step that reads its pod's name or task id (imported Kubeflow specs) differs from its twin.
        pair = (id(component), id(settings))
        if pair not in per_task:
            per_task[pair] = bool(ir.engine_variables(component, settings) & ir.PER_TASK_VARIABLES)
            for part in (component, settings):
                if id(part) not in equal_parts:
                    equal_parts[id(part)] = indexes.setdefault(part, len(indexes))
        if per_task[pair]:
            task_list.append(task)
            continue
        given = dict(task.arguments)
        arguments = tuple(_same_value(given.get(port.name) or ir.Const(port.default)) for port in component.inputs)
        key = (equal_parts[id(component)], equal_parts[id(settings)], arguments, repr(task.guard), task.loops,
               task.is_finally, frozenset(task.after))
        first = seen.get(key)
        if first is None:
            seen[key] = task
            task_list.append(task)
            continue
        renamed[task.id] = first.id
        if changes is not None:
            changes.append(Change(task.span, f"step '{task.id}' removed: it computes what '{first.id}' "
                                             f"({first.span}) computes"))
    if not renamed:
        return graph
    loops = tuple(replace(loop, items=rename_outputs(loop.items, renamed),
                          guard=rename_in_condition(loop.guard, renamed)) for loop in pipeline.loops)
    return rebuild(graph, task_list, loops)


def _same_value(binding: ir.Binding):
    """A key equal for equal bindings only: constants by type and text (`1`, `1.0` and `true`
    are equal in Python but not to a step), other bindings as they are."""
    kind = type(binding)
    if kind is ir.Const:
        return kind, repr(binding.value)
    if kind is ir.TaskOutput:  # the most common: a plain tuple hashes without a Python call
        return kind, binding.task, binding.output, binding.gathered
    return binding
