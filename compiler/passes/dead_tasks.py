"""Dead task elimination: tasks that never run, and side-effect free tasks nobody needs.

A task is dead when its guard can never hold (`false` after constant folding), or when it
reads an output of a dead task. A task whose component declares `side_effects = false` is
unused when no kept task reads its outputs (arguments, conditions, loop lists) and none
runs `after` it (an `after` is the user's word that the order matters). A task that waited
for a dead one (`after`) waits instead for what the dead one waited for, so the order of
the tasks that stay is the same.

>>> from treadle.compiler.passes.describe import pipeline_of, describe
>>> graph = pipeline_of('''
...   a = inc(x=1)
...   b = inc(x=a.y)
...   if false {
...     c = inc(x=b.y)
...   }
...   show(x=a.y) after c''')
>>> print(describe(eliminate_dead_tasks(graph)))
a = inc(x=1)
show = show(x=a.y) after a
"""

from __future__ import annotations

from dataclasses import replace

import networkx as nx

from .. import ir
from .common import Change, Options, never_holds, rebuild


def eliminate_dead_tasks(graph: nx.DiGraph, options: Options = Options(),
                         changes: list[Change] | None = None) -> nx.DiGraph:
    ordered = ir.tasks(graph)
    removed: dict[str, str] = {}  # task id -> why
    for task in ordered:  # producers come first, so a reader of a dead task sees it dead
        if never_holds(task.guard):
            removed[task.id] = "its condition never holds"
            continue
        dead_input = next((producer for producer in ir.read_producers(graph, task.id) if producer in removed), None)
        if dead_input is not None:
            removed[task.id] = f"it reads '{dead_input}', which never runs"
    waited_on = {other for task in ordered if task.id not in removed for other in task.after}
    needed: set[str] = set()
    for task in reversed(ordered):  # consumers come first: a task's readers are decided before it
        if task.id in removed:
            continue
        if not task.settings.side_effects and task.id not in needed and task.id not in waited_on:
            removed[task.id] = "its component has no side effects and no step uses its outputs"
            continue
        needed.update(ir.read_producers(graph, task.id))
    if not removed:
        return graph

    # What a task that waited for a removed one waits for instead: the kept tasks the removed
    # one waited for (task order puts them first, so each is known when needed).
    waits_for: dict[str, tuple[str, ...]] = {}

    def replacement(task_id: str) -> tuple[str, ...]:
        return waits_for[task_id] if task_id in removed else (task_id,)

    for task in ordered:
        if task.id in removed:
            waits_for[task.id] = tuple(dict.fromkeys(
                kept for other in graph.predecessors(task.id) for kept in replacement(other)))

    task_list = []
    for task in ordered:
        if task.id in removed:
            if changes is not None:
                changes.append(Change(task.span, f"step '{task.id}' removed: {removed[task.id]}"))
            continue
        if any(other in removed for other in task.after):
            after = tuple(dict.fromkeys(kept for other in task.after for kept in replacement(other)))
            if changes is not None:
                for other in task.after:
                    if other in removed:
                        instead = ", ".join(replacement(other)) or "nothing"
                        changes.append(Change(task.span, f"step '{task.id}': after '{other}' (removed) "
                                                         f"becomes after {instead}"))
            task = replace(task, after=after)
        task_list.append(task)
    return rebuild(graph, task_list)

