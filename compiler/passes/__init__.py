"""The optimizer: passes over the IR, each a function graph -> new graph, in one ordered list.

`optimize(graph, level)` runs the passes of an `-O` level in list order, checks the IR's
invariants after each, and reports what each pass changed and how long it took.
Levels: 0 runs nothing, 1 (the default) the passes that keep every engine feature, 2 adds
fusion. Loop unrolling runs at every level, and only when the target engine asks for it.
Each pass states what must run before it; the list is checked against that.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import Callable

import networkx as nx

from .. import ir
from .common import Change, Options
from .common_tasks import eliminate_common_tasks
from .dead_tasks import eliminate_dead_tasks
from .fold_constants import fold_constants
from .fuse_tasks import fuse_tasks
from .reduce_edges import reduce_edges
from .unroll_loops import unroll_loops

PassFunction = Callable[..., nx.DiGraph]


@dataclass(frozen=True)
class Pass:
    name: str
    run: PassFunction
    level: int | None  # the lowest -O level that runs it; None: every level, when the engine asks for it
    needs: tuple[str, ...]  # passes that must come before it in the list (when they run at all)
    why: str  # why it needs them

    def runs(self, level: int, options: Options) -> bool:
        if self.level is None:
            return options.unroll is not None
        return self.level <= level


PASSES: tuple[Pass, ...] = (
    # Not an optimization: the engine's own request, so it runs at -O0 too.
    Pass("unroll-loops", unroll_loops, None, (), "first: the copies' conditions on their item become literal, "
                                                 "for folding to decide"),
    Pass("fold-constants", fold_constants, 1, ("unroll-loops",),
         "a copy's condition on its item is literal only once the loop is unrolled"),
    Pass("dead-tasks", eliminate_dead_tasks, 1, ("fold-constants",),
         "removes the tasks whose conditions folding made false"),
    Pass("common-tasks", eliminate_common_tasks, 1, ("dead-tasks",),
         "a dead task must not stand for a live duplicate"),
    Pass("reduce-edges", reduce_edges, 1, ("dead-tasks", "common-tasks"),
         "removing and merging tasks adds `after`s (waits passed on) that may be redundant"),
    Pass("fuse-tasks", fuse_tasks, 2, ("dead-tasks", "common-tasks", "reduce-edges"),
         "a chain stops at a redundant `after` or a step still to be removed; no pass looks inside a fused step"),
)
LEVELS = (0, 1, 2)
DEFAULT_LEVEL = 1


def check_pass_order(passes: tuple[Pass, ...] = PASSES) -> list[str]:
    """[] when every pass comes after the passes it needs."""
    problems = []
    names = [p.name for p in passes]
    for position, step in enumerate(passes):
        for need in step.needs:
            if need not in names[:position]:
                problems.append(f"{step.name} needs {need} before it")
    return problems


@dataclass
class PassReport:
    name: str
    seconds: float
    tasks_before: int
    tasks_after: int
    changes: list[Change] = field(default_factory=list)


@dataclass
class Optimized:
    graph: nx.DiGraph
    reports: list[PassReport]


def optimize(graph: nx.DiGraph, level: int = DEFAULT_LEVEL, options: Options = Options()) -> Optimized:
    """Run the passes of `level`. A pass returns its input itself when it changes nothing,
    and a new graph otherwise (the IR's invariants are checked then)."""
    if level not in LEVELS:
        raise ValueError(f"optimization level {level} is not one of {LEVELS}")
    enabled = gc.isenabled()
    gc.disable()  # passes make many small objects and keep them: the collector would rescan them
    try:
        return _optimize(graph, level, options)
    finally:
        if enabled:
            gc.enable()


def _optimize(graph: nx.DiGraph, level: int, options: Options) -> Optimized:
    reports = []
    for step in PASSES:
        if not step.runs(level, options):
            continue
        changes: list[Change] = []
        before = graph.number_of_nodes()
        start = time.perf_counter()
        result = step.run(graph, options, changes)
        seconds = time.perf_counter() - start
        problems = ir.validate(result) if result is not graph else []
        if problems:
            raise AssertionError(f"pass {step.name} broke the IR: {problems[:3]}")
        reports.append(PassReport(step.name, seconds, before, result.number_of_nodes(), changes))
        graph = result
    return Optimized(graph, reports)


__all__ = ["PASSES", "LEVELS", "DEFAULT_LEVEL", "Options", "Change", "Pass", "PassReport", "Optimized", "optimize",
           "check_pass_order", "unroll_loops", "fold_constants", "eliminate_dead_tasks", "eliminate_common_tasks",
           "reduce_edges", "fuse_tasks"]
