"""`treadle compile --explain`: what each pass changed, where, and how big the result is."""

from __future__ import annotations

import networkx as nx

from .. import ir
from . import Optimized


def template_count(graph: nx.DiGraph) -> int:
    """Distinct (component, settings) pairs: the engine templates (Argo) or Tasks (Tekton)
    the backends emit for the steps, since every call of one pair shares one."""
    return len({(id(task.component), task.settings) for task in ir.tasks(graph)})


def explain(results: list[tuple[nx.DiGraph, Optimized]], level: int, yaml_bytes: int | None) -> str:
    """The report for each pipeline (`results`: its graph before and the optimizer's result)."""
    lines = []
    for before, optimized in results:
        pipeline = ir.info(before)
        lines.append(f"pipeline {pipeline.name} ({pipeline.span}), -O{level}:")
        if not optimized.reports:
            lines.append("  no passes run")
        for report in optimized.reports:
            lines.append(f"  {report.name}: {len(report.changes)} change{'s' if len(report.changes) != 1 else ''}, "
                         f"{report.tasks_before} -> {report.tasks_after} steps, {report.seconds * 1000:.1f} ms")
            for change in sorted(report.changes, key=lambda change: change.span.sort_key):
                lines.append(f"    {change.span}: {change.message}")
        after = optimized.graph
        lines.append(f"  result: {before.number_of_nodes()} -> {after.number_of_nodes()} steps, "
                     f"{template_count(before)} -> {template_count(after)} templates, "
                     f"{before.number_of_edges()} -> {after.number_of_edges()} dependencies")
    if yaml_bytes is not None:
        lines.append(f"YAML: {yaml_bytes} bytes")
    return "\n".join(lines) + "\n"
