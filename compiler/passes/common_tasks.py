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
    components: dict[int, int] = {}  # id(spec) -> index of the first equal spec
    specs: dict[ir.ComponentSpec, int] = {}
    task_list: list[ir.Task] = []
    for task in ir.tasks(graph):
        task = _renamed(task, renamed)
        # A step that reads its pod's name or task id (imported Kubeflow specs) differs from its twin.
        if not task.settings.deterministic or ir.engine_variables(task.component, task.settings) & ir.PER_TASK_VARIABLES:
            task_list.append(task)
            continue
        if id(task.component) not in components:
            components[id(task.component)] = specs.setdefault(task.component, len(specs))
        arguments = tuple(
            (port.name, repr(task.argument(port.name) or ir.Const(port.default))) for port in task.component.inputs)
        key = (components[id(task.component)], task.settings, arguments, repr(task.guard), task.loops,
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


def _renamed(task: ir.Task, renamed: dict[str, str]) -> ir.Task:
    if not renamed:
        return task
    return retarget(task, lambda binding: rename_outputs(binding, renamed), renamed)
