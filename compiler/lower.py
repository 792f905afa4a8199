"""Checked pipelines -> IR graphs (one `networkx.DiGraph` per pipeline)."""

from __future__ import annotations

from dataclasses import replace

import networkx as nx

from . import ir
from .typecheck import CheckedPipeline


def _loop_guards(checked: CheckedPipeline) -> dict[str, ir.Condition | None]:
    """Each loop's guard: the conditions of the blocks around its `for`, combined as a
    step's guard combines the conditions of its blocks."""
    guards: dict[str, ir.Condition | None] = {}
    for step in checked.steps:
        for block in step.blocks:
            if block.kind != "for" or block.loop is None or block.loop.id in guards:
                continue
            conditions = [outer.condition for outer in block.enclosing if outer.condition is not None]
            guards[block.loop.id] = (None if not conditions else conditions[0] if len(conditions) == 1
                                     else ir.And(tuple(conditions)))
    return guards


def lower_pipeline(checked: CheckedPipeline) -> nx.DiGraph:
    """Build the graph of one pipeline that checked without errors."""
    settings = checked.settings
    guards = _loop_guards(checked)
    graph = nx.DiGraph()
    graph.graph["info"] = ir.PipelineInfo(
        name=checked.name,
        params=checked.params,
        loops=tuple(replace(loop, guard=guards[loop.id]) if guards.get(loop.id) is not None else loop
                    for loop in checked.loops),
        schedule=settings.get("schedule"),
        timezone=settings.get("timezone"),
        parallelism=settings.get("parallelism"),
        timeout_seconds=settings.get("timeout"),
        service_account=settings.get("service_account"),
        source=checked.module.path,
        span=checked.node.span,
    )
    loops = {loop.id: loop for loop in checked.loops}
    edges: dict[tuple[str, str], tuple[set[str], bool]] = {}

    def read(producer: str, consumer: str, output: str | None) -> None:
        outputs, order = edges.setdefault((producer, consumer), (set(), False))
        if output is None:
            edges[(producer, consumer)] = (outputs, True)
        else:
            outputs.add(output)

    nodes = []
    for step in checked.steps:
        task = ir.Task(
            id=step.id,
            component=step.component,
            arguments=tuple(step.arguments),
            settings=step.settings,
            guard=step.guard,
            loops=step.loops,
            is_finally=step.is_finally,
            after=tuple(dict.fromkeys(step.after)),
            span=step.step.span,
        )
        nodes.append((step.id, {"task": task}))
        for binding in ir.task_bindings(task):
            if isinstance(binding, ir.TaskOutput):
                read(binding.task, step.id, binding.output)
        for loop_id in task.loops:
            items = loops[loop_id].items
            if isinstance(items, ir.TaskOutput):
                read(items.task, step.id, items.output)
        for other in task.after:
            read(other, step.id, None)
    graph.add_nodes_from(nodes)
    graph.add_edges_from((producer, consumer, {"reads": tuple(sorted(outputs)), "order": order})
                         for (producer, consumer), (outputs, order) in edges.items())
    return graph
