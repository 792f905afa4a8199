"""Load a program: the entry files and everything they import, each once; then one scope
of names per module (its own declarations and what its imports bring)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable, Union

from . import ast
from .diagnostics import Diagnostics
from .parser import parse
from .source import SourceFile, Span

STD_PREFIX = "std/"
TREADLE_SUFFIX = ".treadle"
COMPONENT_SPEC_SUFFIXES = (".yaml", ".yml")

Declaration = Union[ast.Component, ast.Pipeline, ast.Let]


@dataclass(eq=False)
class LoadedModule:
    path: str  # as shown to users
    key: str  # the resolved real path: one module per file
    source: SourceFile
    module: ast.Module
    imports: list[tuple[ast.Import, "LoadedModule"]] = field(default_factory=list)


@dataclass(frozen=True)
class Symbol:
    name: str
    declaration: Declaration
    module: LoadedModule
    via: ast.Import | None  # the import that brought it, None for the module's own


@dataclass
class Program:
    modules: list[LoadedModule]  # every module, each once, in load order
    entries: list[LoadedModule]
    scopes: dict[str, dict[str, Symbol]]  # module key -> name -> symbol
    sources: dict[str, SourceFile] = field(default_factory=dict)  # path -> every file read, parsed or not
    # modules with an import that could not be loaded: their unknown names are likely echoes of it
    incomplete: set[str] = field(default_factory=set)


def std_folder() -> Path:
    return Path(str(resources.files("treadle.runtime").joinpath("std")))


def _declarations(module: ast.Module):
    for component in module.components:
        yield component.name, component, component.name_span
    for pipeline in module.pipelines:
        yield pipeline.name, pipeline, pipeline.name_span
    for let in module.lets:
        yield let.name, let, let.name_span


def _resolve_path(importer: LoadedModule, text: str) -> str:
    if text.startswith(STD_PREFIX):
        path = std_folder() / text[len(STD_PREFIX):]
    else:
        path = Path(os.path.dirname(importer.path)) / text
    if not path.suffix:
        path = path.with_suffix(TREADLE_SUFFIX)
    return os.path.normpath(str(path))


class _Loader:
    def __init__(self, diagnostics: Diagnostics, read: Callable[[str], SourceFile]) -> None:
        self.diagnostics = diagnostics
        self.read = read
        self.by_key: dict[str, LoadedModule] = {}
        self.order: list[LoadedModule] = []
        self.in_progress: list[str] = []  # keys on the current import path, for cycles
        self.sources: dict[str, SourceFile] = {}
        self.incomplete: set[str] = set()

    def add(self, source: SourceFile) -> LoadedModule | None:
        key = os.path.realpath(source.path)
        if key in self.by_key:
            return self.by_key[key]
        self.sources[source.path] = source
        module = parse(source, self.diagnostics)
        if module is None:
            return None
        loaded = LoadedModule(source.path, key, source, module)
        self.by_key[key] = loaded
        self.in_progress.append(key)
        for statement in module.imports:
            target = self.follow(loaded, statement)
            if target is not None:
                loaded.imports.append((statement, target))
            else:
                self.incomplete.add(key)
        self.in_progress.pop()
        self.order.append(loaded)
        return loaded

    def follow(self, importer: LoadedModule, statement: ast.Import) -> LoadedModule | None:
        text = statement.path
        if text.endswith(COMPONENT_SPEC_SUFFIXES):
            return self.follow_component_spec(importer, statement)
        if statement.alias is not None:
            self.diagnostics.error(
                "E110", statement.span, "'as' names an imported component.yaml; a .treadle module's names are used as they are",
                hint=f'write: import "{text}"',
            )
        path = _resolve_path(importer, text)
        key = os.path.realpath(path)
        if key in self.in_progress:
            chain = " -> ".join(self.by_key[k].path for k in self.in_progress[self.in_progress.index(key):])
            self.diagnostics.error("E103", statement.path_span, f"import cycle: {chain} -> {path}",
                                   hint="move what both files need into a third file that both import")
            return None
        if key in self.by_key:
            return self.by_key[key]
        source = self.read_import(statement, path)
        return None if source is None else self.add(source)

    def follow_component_spec(self, importer: LoadedModule, statement: ast.Import) -> LoadedModule | None:
        """A Kubeflow component.yaml: a module of one component, named by the import's `as`."""
        alias = statement.alias
        if alias is None:
            self.diagnostics.error("E110", statement.path_span,
                                   f"'{statement.path}' is a component.yaml, which is imported under a name",
                                   hint=f'write: import "{statement.path}" as name')
            return None
        path = _resolve_path(importer, statement.path)
        key = f"{os.path.realpath(path)} as {alias}"  # one file may be imported under several names
        if key in self.by_key:
            return self.by_key[key]
        source = self.read_import(statement, path)
        if source is None:
            return None
        self.sources[source.path] = source
        span = statement.span
        alias_span = Span(span.path, span.end_line, span.end_column - len(alias), span.end_line, span.end_column)
        from .kfp import load_component  # only programs that import a component.yaml need the reader

        component = load_component(source, alias, alias_span, self.diagnostics)
        if component is None:
            return None
        loaded = LoadedModule(source.path, key, source, ast.Module(source.path, components=[component]))
        self.by_key[key] = loaded
        self.order.append(loaded)
        return loaded

    def read_import(self, statement: ast.Import, path: str) -> SourceFile | None:
        text = statement.path
        if not os.path.exists(path):
            where = "treadle's standard library" if text.startswith(STD_PREFIX) else f"'{os.path.dirname(path) or '.'}'"
            self.diagnostics.error("E101", statement.path_span, f"cannot find '{text}' (looked for {path} in {where})",
                                   hint="imports are relative to the importing file")
            return None
        try:
            return self.read(path)
        except UnicodeDecodeError as error:
            self.diagnostics.error("E102", statement.path_span, f"cannot read '{path}': it is not UTF-8 text ({error.reason})")
            return None
        except OSError as error:
            self.diagnostics.error("E102", statement.path_span, f"cannot read '{path}': {error.strerror or error}")
            return None


def _scope(loaded: LoadedModule, diagnostics: Diagnostics) -> dict[str, Symbol]:
    scope: dict[str, Symbol] = {}
    for name, declaration, span in _declarations(loaded.module):
        if name in scope:
            first = _declaration_span(scope[name].declaration)
            diagnostics.error("E104", span, f"'{name}' is already defined at line {first.line}",
                              hint="rename one of them")
            continue
        scope[name] = Symbol(name, declaration, loaded, None)
    for statement, target in loaded.imports:
        for name, declaration, _ in _declarations(target.module):
            existing = scope.get(name)
            if existing is None:
                scope[name] = Symbol(name, declaration, target, statement)
            elif existing.module is not target:
                where = "defined in this file" if existing.via is None else f"imported from {existing.module.path}"
                diagnostics.error("E105", statement.path_span,
                                  f"'{name}' from {target.path} clashes with '{name}' {where}",
                                  hint="rename one of them")
    return scope


def _declaration_span(declaration: Declaration):
    return declaration.name_span


def load_program(entries: list[SourceFile], diagnostics: Diagnostics,
                 read: Callable[[str], SourceFile] = SourceFile.read) -> Program:
    loader = _Loader(diagnostics, read)
    loaded_entries = [module for module in (loader.add(source) for source in entries) if module is not None]
    scopes = {module.key: _scope(module, diagnostics) for module in loader.order}
    return Program(loader.order, loaded_entries, scopes, loader.sources, loader.incomplete)
