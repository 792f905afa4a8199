"""`treadle compile --explain`: what each pass changed, where, and how big the result is."""

from __future__ import annotations

import networkx as nx

from .. import ir
from . import Optimized

# Refusals shown per pass: each changes nothing, and on a large pipeline they are one line
# per step (fusion refuses every link of a 2,000-step chain of values); the changes made are
# always all shown.
REFUSALS_SHOWN = 20


def template_count(graph: nx.DiGraph) -> int:
    """Distinct (component, settings) pairs: the engine templates (Argo) or Tasks (Tekton)
    the backends emit for the steps, since every call of one pair shares one."""
    return len({(id(task.component), task.settings) for task in ir.tasks(graph)})


def pod_count(graph: nx.DiGraph) -> int:
    """The steps' own pods in one run where each loop over a literal list runs once per item
    (a loop over a parameter or an output counts once: its length is known at run time)."""
    loops = {loop.id: loop for loop in ir.info(graph).loops}
    total = 0
    for _, task in graph.nodes(data="task"):
        count = 1
        for loop_id in task.loops:
            items = loops[loop_id].items
            count *= len(items.value) if isinstance(items, ir.Const) and isinstance(items.value, list) else 1
        total += count
    return total


def explain(results: list[tuple[nx.DiGraph, Optimized]], level: int, yaml_bytes: int | None) -> str:
    """The report for each pipeline (`results`: its graph before and the optimizer's result)."""
    lines = []
    for before, optimized in results:
        pipeline = ir.info(before)
        lines.append(f"pipeline {pipeline.name} ({pipeline.span}), -O{level}:")
        if not optimized.reports:
            lines.append("  no passes run")
        for report in optimized.reports:
            made = sum(not change.refused for change in report.changes)
            refused = len(report.changes) - made
            lines.append(f"  {report.name}: {made} change{'s' if made != 1 else ''}"
                         + (f", {refused} refused" if refused else "")
                         + f", {report.tasks_before} -> {report.tasks_after} steps, {report.seconds * 1000:.1f} ms")
            shown_refusals = 0
            for change in sorted(report.changes, key=lambda change: change.span.sort_key):
                if change.refused:
                    shown_refusals += 1
                    if shown_refusals > REFUSALS_SHOWN:
                        continue
                lines.append(f"    {change.span}: {change.message}")
            if refused > REFUSALS_SHOWN:
                lines.append(f"    ... and {refused - REFUSALS_SHOWN} more refused, not shown")
        after = optimized.graph
        lines.append(f"  result: {before.number_of_nodes()} -> {after.number_of_nodes()} steps, "
                     f"{template_count(before)} -> {template_count(after)} templates, "
                     f"{before.number_of_edges()} -> {after.number_of_edges()} dependencies"
                     + (f", {pod_count(before)} -> {pod_count(after)} pods per run" if level >= 2 else ""))
    if yaml_bytes is not None:
        lines.append(f"YAML: {yaml_bytes} bytes")
    return "\n".join(lines) + "\n"
