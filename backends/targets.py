"""The engines `treadle compile --target` knows, and compiling checked pipelines with one.

An engine is one module of this package that defines `EMITTER` (its `base.Emitter`
subclass), named as `--target` names it: nothing else lists it. Engines are imported
only when used, so the CLI stays quick to start."""

from __future__ import annotations

import gc
import re
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Mapping

import networkx as nx

from ..compiler.diagnostics import Diagnostic, Severity
from .base import Options
from .naming import dns_label
from .provenance import Origin, stamp
from .yaml_out import dump_each, join_documents

_ENGINE_NAME = re.compile(r"[a-z][a-z0-9_]*")


def engine(target: str) -> ModuleType | None:
    """The engine named `target`, or None when there is none by that name."""
    if not _ENGINE_NAME.fullmatch(target):
        return None
    name = f"{__package__}.{target}"
    try:
        module = import_module(name)
    except ModuleNotFoundError as missing:
        if missing.name != name:
            raise  # the engine is there, and something it needs is not: the caller says so
        return None
    return module if getattr(module, "EMITTER", None) is not None else None


def target_names() -> list[str]:
    """Every engine's name, sorted. It imports every module of the package, so it is for
    messages and help, not for the way of a compile."""
    import pkgutil

    modules = pkgutil.iter_modules([str(Path(__file__).parent)])
    return sorted(info.name for info in modules if not info.ispkg and engine(info.name) is not None)


def options_for(target: str, options: Options) -> Options:
    """`options` as the engine sees them: the fields it does not read (`Emitter.OPTIONS`)
    at their defaults, so that no engine's output depends on another engine's flag."""
    reads = engine(target).EMITTER.OPTIONS
    return Options(**{item.name: getattr(options, item.name) for item in fields(Options) if item.name in reads})


def option_problem(targets: list[str], options: Options) -> str | None:
    """A flag that none of `targets` reads, or choices an engine refuses together: what the
    command line reports before compiling anything; None when there is none."""
    for item in fields(Options):
        if getattr(options, item.name) == item.default:
            continue
        if not any(item.name in engine(target).EMITTER.OPTIONS for target in targets):
            readers = [name for name in target_names() if item.name in engine(name).EMITTER.OPTIONS]
            return f"--{item.name.replace('_', '-')} goes with --target {' or '.join(readers)}"
    for target in targets:
        problem = engine(target).EMITTER.option_problem(options)
        others = [other for other in targets if other != target]
        if problem and not any(problem[0] in engine(other).EMITTER.OPTIONS for other in others):
            return problem[1]  # a flag another chosen engine reads is fine for that engine's sake
    return None


@dataclass
class CompileOutput:
    text: str = ""
    documents: list[dict] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # (pipeline graph, how many of the documents are its) in compile order
    pipelines: list[tuple[nx.DiGraph, int]] = field(default_factory=list)
    document_texts: list[str] = field(default_factory=list)  # each document's YAML, as in `text`

    def pipeline_streams(self) -> list[tuple[nx.DiGraph, str]]:
        """Each pipeline's documents as a YAML stream of its own: for callers that write one
        file per pipeline (the texts are the ones `text` is made of, not written again)."""
        streams, first = [], 0
        for graph, count in self.pipelines:
            streams.append((graph, join_documents(self.document_texts[first:first + count])))
            first += count
        return streams

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


@contextmanager
def _collector_paused():
    """Backends build many small dicts and free none until they return, while the front
    end's objects are still alive: the cyclic collector would scan all of them again and
    again (it doubled compile time on large pipelines)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def unroll_request(target: str, options: Options):
    """What the optimizer's `Options.unroll` is for this engine: which loops of a graph it
    wants unrolled, or None when it unrolls none."""
    emitter = engine(target).EMITTER(options)
    return emitter.unrolled_loops if emitter.UNROLL_LOOPS else None


def compile_pipelines(graphs: list[nx.DiGraph], target: str, options: Options,
                      origins: Mapping[str, Origin] | None = None) -> CompileOutput:
    """Every pipeline's documents in one YAML stream, or the diagnostics that stop it.
    `origins` (source path as in the spans -> Origin): stamp each pipeline's documents with
    where they come from."""
    with _collector_paused():
        return _compile(graphs, target, options, origins)


def _compile(graphs: list[nx.DiGraph], target: str, options: Options,
             origins: Mapping[str, Origin] | None = None) -> CompileOutput:
    module = engine(target)
    output = CompileOutput()
    document_names: dict = {}
    for graph in graphs:
        result = module.emit(graph, options, document_names)
        if origins is not None and result.documents:
            stamp(result.documents, origins[graph.graph["info"].span.path])
        output.diagnostics.extend(result.diagnostics)
        output.documents.extend(result.documents)
        output.pipelines.append((graph, len(result.documents)))
    if not output.ok:
        output.documents = []
        output.pipelines = []
        return output
    output.document_texts, sizes = dump_each(output.documents)  # JSON sizes measured while writing
    output.text = join_documents(output.document_texts)
    near = module.documents_near_limit(output.documents, sizes)
    if near:
        spans = {dns_label(graph.graph["info"].name): graph.graph["info"].span for graph in graphs}
        for label, size, pipeline in near:
            output.diagnostics.append(Diagnostic(
                "B004", Severity.WARNING, spans[pipeline],
                f"{label} is {size / (1 << 20):.2f} MiB as JSON ({size} bytes); {module.REFUSES} above "
                f"{module.SIZE_LIMIT / (1 << 20):.0f} MiB",
                hint="steps that call one component with equal settings share a template; fewer distinct "
                     "components or settings make the workflow smaller"))
    return output
