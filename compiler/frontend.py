"""The front end in one call: source files -> diagnostics and IR graphs.

Stages run in one direction (parse, resolve, check, lower); each can also be called on
its own. Lowering happens only when checking found no errors."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from .diagnostics import Diagnostics
from .lower import lower_pipeline
from .resolve import Program, load_program
from .source import SourceFile
from .typecheck import CheckedProgram, check_program

if TYPE_CHECKING:
    import networkx as nx


@dataclass
class FrontendResult:
    diagnostics: Diagnostics
    program: Program | None = None
    checked: CheckedProgram | None = None
    pipelines: dict[str, nx.DiGraph] = field(default_factory=dict)  # name -> IR, entry files only

    @property
    def ok(self) -> bool:
        return not self.diagnostics.has_errors


@contextmanager
def _collector_paused():
    """The front end builds hundreds of thousands of small objects and frees none of them
    until it returns; CPython's cyclic collector would scan them again and again, and once
    more at its first run afterwards. They hold no reference cycles (reference counting
    frees them), so they are moved out of the collector's sight when the work is done.
    Freezing also keeps any cyclic garbage of the moment for good, which is why the IR's
    graphs (`ir.Graph`) are made free of cycles too."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def compile_sources(sources: list[SourceFile]) -> FrontendResult:
    diagnostics = Diagnostics()
    with _collector_paused():
        program = load_program(sources, diagnostics)
        checked = check_program(program, diagnostics)
        result = FrontendResult(diagnostics, program, checked)
        if diagnostics.has_errors:
            return result
        for pipeline in checked.pipelines:
            if pipeline.name in result.pipelines:
                continue  # two entry files with one pipeline name: reported by the CLI that picks one
            result.pipelines[pipeline.name] = lower_pipeline(pipeline)
    return result


def check_sources(sources: list[SourceFile], read: Callable[[str], SourceFile] = SourceFile.read) -> FrontendResult:
    """Parse, resolve and check without lowering: what an editor needs after every change.

    `read` loads imported files, so that an editor can serve the unsaved text of open ones.
    The diagnostics are those of `compile_sources` (lowering reports none)."""
    diagnostics = Diagnostics()
    with _collector_paused():
        program = load_program(sources, diagnostics, read)
        checked = check_program(program, diagnostics)
    return FrontendResult(diagnostics, program, checked)


def compile_files(paths: list[str]) -> FrontendResult:
    """Read and compile files; a file that cannot be read raises OSError for the caller to report."""
    return compile_sources([SourceFile.read(path) for path in paths])
