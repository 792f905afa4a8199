"""A pipeline as a picture: Graphviz dot, Mermaid, or SVG through Graphviz's `dot` program.

Steps are boxes (conditional ones dashed, with their condition), loops and `finally` are
clusters around their steps, data edges are solid and labelled with what flows, `after`
edges dotted. Given the states of a run, each step is filled with its state's colour (a
step inside a loop shows how many of its iterations ended in each state).
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable

import networkx as nx

from ...compiler import ir

FILL = {"succeeded": "#b7e4c7", "cached": "#a9d6e5", "failed": "#f4a6a6", "upstream-failed": "#ffd6a5",
        "skipped": "#e5e5e5", "interrupted": "#d0bdf4", "running": "#fff3b0", "pending": "#ffffff",
        "ready": "#ffffff"}
STATE_ORDER = ("failed", "interrupted", "running", "upstream-failed", "pending", "ready", "succeeded", "cached",
               "skipped")


class GraphvizMissing(Exception):
    """SVG needs Graphviz's `dot` program, and it is not installed."""


def describe_binding(binding: ir.Binding, graph: nx.DiGraph) -> str:
    if isinstance(binding, ir.Const):
        value = binding.value
        return f'"{value}"' if isinstance(value, str) else ir.render_value(value)
    if isinstance(binding, ir.ParamRef):
        return binding.name
    if isinstance(binding, ir.LoopItem):
        return ir.info(graph).loop(binding.loop).variable
    if isinstance(binding, ir.ListOf):
        return "[" + ", ".join(describe_binding(item, graph) for item in binding.items) + "]"
    return f"{binding.task}.{binding.output}"


def describe_condition(condition: ir.Condition, graph: nx.DiGraph) -> str:
    return ir.condition_text(condition, lambda binding: describe_binding(binding, graph))


def step_state(statuses: list[str]) -> tuple[str, str]:
    """(the state that colours a step, a note of its iterations' states) from its instances'."""
    if not statuses:
        return "pending", ""
    counts = Counter(statuses)
    colour = next(state for state in STATE_ORDER if state in counts) if any(s in counts for s in STATE_ORDER) \
        else statuses[0]
    if len(statuses) == 1:
        return colour, statuses[0]
    note = ", ".join(f"{counts[state]} {state}" for state in STATE_ORDER if state in counts)
    return colour, note


class _Picture:
    """What both text formats draw: steps in order, grouped by loop and finally."""

    def __init__(self, graph: nx.DiGraph, states: dict[str, list[str]] | None) -> None:
        self.graph = graph
        self.info = ir.info(graph)
        self.tasks = ir.tasks(graph)
        self.states = states
        self.ids = {task.id: f"s{index}" for index, task in enumerate(self.tasks)}

    def label(self, task: ir.Task) -> list[str]:
        lines = [task.id if task.id == task.component.name else f"{task.id}: {task.component.name}"]
        if task.settings.mpi is not None:
            lines.append(f"MPI x{task.settings.mpi.ranks}")
        own = task.guard
        if own is not None:
            lines.append("if " + describe_condition(own, self.graph))
        if self.states is not None:
            lines.append(step_state(self.states.get(task.id, []))[1] or "not run")
        return lines

    def fill(self, task: ir.Task) -> str | None:
        if self.states is None:
            return None
        return FILL.get(step_state(self.states.get(task.id, []))[0], "#ffffff")

    def groups(self):
        """(group path, task): group path is ("finally",)? + loop ids, outermost first."""
        for task in self.tasks:
            yield (("finally",) if task.is_finally else ()) + task.loops, task

    def group_tree(self) -> dict:
        """Nested groups: ("group", id) -> the group's own tree; ("tasks",) -> its steps."""
        tree: dict = {}
        for path, task in self.groups():
            node = tree
            for group in path:
                node = node.setdefault(("group", group), {})
            node.setdefault(("tasks",), []).append(task)
        return tree

    def nested(self, step: Callable[[ir.Task], str], group: Callable[[int, str], list[str]],
               close: str) -> list[str]:
        """Lines of the steps inside their groups' opening and closing lines, indented by depth;
        both text formats nest the same way and differ only in these three pieces."""
        lines: list[str] = []
        numbers = itertools.count()

        def emit(node: dict, indent: str) -> None:
            lines.extend(indent + step(task) for task in node.get(("tasks",), []))
            for key, child in node.items():
                if key[0] == "group":
                    lines.extend(indent + line for line in group(next(numbers), self.group_label(key[1])))
                    emit(child, indent + "  ")
                    lines.append(indent + close)

        emit(self.group_tree(), "  ")
        return lines

    def group_label(self, group: str) -> str:
        if group == "finally":
            return "finally"
        loop = self.info.loop(group)
        items = loop.items
        shown = (describe_binding(items, self.graph) if not isinstance(items, ir.Const)
                 else ir.render_value(items.value))
        if len(shown) > 40:
            shown = shown[:37] + "..."
        return f"for {loop.variable} in {shown}"

    def edges(self):
        for producer, consumer, data in sorted(self.graph.edges(data=True),
                                               key=lambda e: (self.ids[e[0]], self.ids[e[1]])):
            yield self.ids[producer], self.ids[consumer], ", ".join(data.get("reads") or ()), bool(data.get("reads"))


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(graph: nx.DiGraph, states: dict[str, list[str]] | None = None) -> str:
    picture = _Picture(graph, states)
    lines = [f'digraph "{_dot_text(picture.info.name)}" {{', "  rankdir=TB;",
             '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];',
             '  edge [fontname="Helvetica", fontsize=10];']

    def step(task: ir.Task) -> str:
        style = '"rounded,filled,dashed"' if task.guard is not None else '"rounded,filled"'
        fill = picture.fill(task)
        extra = f', fillcolor="{fill}"' if fill else ""
        label = _dot_text("\n".join(picture.label(task)))
        return f'{picture.ids[task.id]} [label="{label}", style={style}{extra}];'

    def group(number: int, label: str) -> list[str]:
        return [f"subgraph cluster_{number} {{", f'  label="{_dot_text(label)}"; style=dashed;']

    lines += picture.nested(step, group, "}")
    for source, target, reads, is_data in picture.edges():
        if is_data:
            lines.append(f'  {source} -> {target} [label="{_dot_text(reads)}"];')
        else:
            lines.append(f"  {source} -> {target} [style=dotted];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(graph: nx.DiGraph, states: dict[str, list[str]] | None = None) -> str:
    picture = _Picture(graph, states)
    lines = ["flowchart TD"]

    def step(task: ir.Task) -> str:
        label = "<br/>".join(_mermaid_text(line) for line in picture.label(task))
        shape = ('{{"' + label + '"}}') if task.guard is not None else f'["{label}"]'
        return f"{picture.ids[task.id]}{shape}"

    def group(number: int, label: str) -> list[str]:
        return [f'subgraph g{number}["{_mermaid_text(label)}"]']

    lines += picture.nested(step, group, "end")
    for source, target, reads, is_data in picture.edges():
        if is_data:
            lines.append(f'  {source} -->|"{_mermaid_text(reads)}"| {target}')
        else:
            lines.append(f"  {source} -.-> {target}")
    if states is not None:
        used = {}
        for task in picture.tasks:
            state = step_state(states.get(task.id, []))[0]
            used.setdefault(state, []).append(picture.ids[task.id])
        for state, ids in sorted(used.items()):
            name = state.replace("-", "_")
            lines.append(f"  classDef {name} fill:{FILL.get(state, '#ffffff')}")
            lines.append(f"  class {','.join(ids)} {name}")
    return "\n".join(lines) + "\n"


def to_svg(graph: nx.DiGraph, states: dict[str, list[str]] | None = None) -> str:
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizMissing()
    done = subprocess.run([dot, "-Tsvg"], input=to_dot(graph, states), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"Graphviz's dot failed: {done.stderr.strip()}")
    return done.stdout


RENDERERS = {"dot": to_dot, "mermaid": to_mermaid, "svg": to_svg}
