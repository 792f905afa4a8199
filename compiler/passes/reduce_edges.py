"""Edge reduction: `after` entries that add no order are dropped (fewer `depends`).

An `after x` is redundant when the task reads an output of `x` anyway, or waits for `x`
through other tasks (the transitive reduction of the graph does not keep the edge). Only
order-only edges go; every edge that carries data stays. The order of every pair of tasks
is the same: each task still starts after everything it waited for. A failed step stops
the whole run on both engines (Argo's DAG fails fast by default; Tekton schedules nothing
new after a failure), so a shorter chain of waits lets nothing run that would not have.

>>> from treadle.compiler.passes.describe import pipeline_of, describe
>>> graph = pipeline_of('''
...   a = inc(x=1)
...   b = inc(x=a.y) after a
...   c = inc(x=b.y) after a
...   show(x=1) after a, c''')
>>> print(describe(reduce_edges(graph)))
a = inc(x=1)
b = inc(x=a.y)
c = inc(x=b.y)
show = show(x=1) after c
"""

from __future__ import annotations

from dataclasses import replace

import networkx as nx

from .. import ir
from .common import Change, Options, rebuild


def reduce_edges(graph: nx.DiGraph, options: Options = Options(), changes: list[Change] | None = None) -> nx.DiGraph:
    if not any(data["order"] for _, _, data in graph.edges(data=True)):
        return graph
    kept_edges = _transitive_reduction(graph)
    task_list = []
    changed = False
    for task in ir.tasks(graph):
        if task.after:
            after = []
            for other in task.after:
                if graph.edges[other, task.id]["reads"]:
                    why = f"it reads the outputs of '{other}'"
                elif (other, task.id) not in kept_edges:
                    why = f"it waits for '{other}' through other steps"
                else:
                    after.append(other)
                    continue
                if changes is not None:
                    changes.append(Change(task.span, f"step '{task.id}': after '{other}' dropped: {why}"))
            if len(after) != len(task.after):
                changed = True
                task = replace(task, after=tuple(after))
        task_list.append(task)
    return rebuild(graph, task_list) if changed else graph


def _transitive_reduction(graph: nx.DiGraph) -> set[tuple[str, str]]:
    """The edges (p, c) with no other path from p to c. Descendant sets are built in reverse
    task order as Python ints used as bit sets, so a 2,000-task graph takes milliseconds."""
    ordered = [task.id for task in ir.tasks(graph)]
    index = {node: position for position, node in enumerate(ordered)}
    reach: dict[str, int] = {}  # node -> bits of the nodes reachable from it, itself included
    kept: set[tuple[str, str]] = set()
    for node in reversed(ordered):
        # Successors nearest in task order first: a farther one reachable through a nearer one is redundant.
        successors = sorted(graph.successors(node), key=index.__getitem__)
        covered = 0
        for successor in successors:
            bit = 1 << index[successor]
            if not covered & bit:
                kept.add((node, successor))
            covered |= reach[successor]
        reach[node] = covered | (1 << index[node])
    return kept
