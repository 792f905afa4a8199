"""Checked pipelines -> IR graphs (one `networkx.DiGraph` per pipeline)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from . import ir
from .typecheck import CheckedPipeline

if TYPE_CHECKING:
    import networkx as nx


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
    pipeline = ir.PipelineInfo(
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
    task_list = []
    for step in checked.steps:
        if step.blocks:
            guard, loop_ids, is_finally = step.guard, step.loops, step.is_finally
        else:  # a step at the top level: no guard, no loops, not in finally
            guard, loop_ids, is_finally = None, (), False
        task_list.append(ir.Task(step.id, step.component, tuple(step.arguments), step.settings, guard, loop_ids,
                                 is_finally, tuple(dict.fromkeys(step.after)) if step.after else (), step.step.span))
    return ir.build_graph(pipeline, task_list)
