"""What an editor asks about a .treadle file, answered from the front end's results.

An `Analysis` checks one buffer (imports read through a callback, so unsaved buffers of
open files count) and keeps the checker's diagnostics. Questions about positions (hover,
definition, references, rename, completion) go through an index of every name in the
program: each occurrence of a name, with the entity it names. Positions here are those
of spans (1-based lines, columns in characters); the server converts them for the client.

A buffer with syntax errors has no syntax tree. For its questions the index is built from
a repaired copy: the lines with syntax errors (or, failing that, the broken declarations)
blanked out, every other position unchanged, so what still parses can still be asked about.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Callable, Iterator, NamedTuple

from .. import ast
from ..diagnostics import Diagnostic, Diagnostics
from ..frontend import FrontendResult, check_sources
from ..parser import keywords, parse
from ..resolve import LoadedModule, Program, std_folder
from ..settings import (BLOCK_KEYS, COMPONENT_KEYS, MPI_KEYS, OVERRIDE_KEYS, PIPELINE_KEYS, RESOURCE_KEYS,
                        SECURITY_KEYS)
from ..source import SourceFile, Span
from ..types import ARTIFACT_TYPES, PARAMETER_TYPES

Reader = Callable[[str], SourceFile]

SYNTAX_CODES = frozenset({"E001", "E002", "E003", "E004"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOP_LEVEL = re.compile(r"^(import|let|component|pipeline)\b[ \t]*([A-Za-z_]\w*)?", re.M)
_REPAIR_ROUNDS = 3


class RenameRefused(Exception):
    """A rename that cannot be done, with the reason for the user."""


# ---------------------------------------------------------------- entities and the index
@dataclass(frozen=True, eq=False)
class Entity:
    """Something a name stands for: one object per declaration, compared by identity.

    kind: component, pipeline, let, step, parameter (of a pipeline), input, output
    (of a component), loop variable, or file (an imported module)."""

    kind: str
    name: str
    span: Span
    node: object = field(compare=False, hash=False, repr=False)
    owner: object = field(default=None, compare=False, hash=False, repr=False)  # component, pipeline or for
    module: LoadedModule | None = field(default=None, compare=False, hash=False, repr=False)


class Occurrence(NamedTuple):
    span: Span
    entity: Entity
    definition: bool


class Index:
    """Every occurrence of a name in a program, by file and line, and by entity."""

    def __init__(self) -> None:
        self.by_line: dict[tuple[str, int], list[Occurrence]] = {}
        self.by_entity: dict[Entity, list[Occurrence]] = {}

    def add(self, span: Span, entity: Entity | None, definition: bool = False) -> None:
        if entity is None:
            return
        occurrence = Occurrence(span, entity, definition)
        self.by_line.setdefault((span.path, span.line), []).append(occurrence)
        self.by_entity.setdefault(entity, []).append(occurrence)

    def at(self, path: str, line: int, column: int) -> Occurrence | None:
        """The occurrence under a cursor; a cursor just after a name still names it."""
        found = None
        for occurrence in self.by_line.get((path, line), ()):
            span = occurrence.span
            if span.column <= column <= span.end_column:
                if found is None or span.column > found.span.column:  # `a.b` with the cursor between: b
                    found = occurrence
        return found

    def occurrences(self, entity: Entity) -> list[Occurrence]:
        return sorted(self.by_entity.get(entity, ()), key=lambda o: o.span.sort_key)


class _IndexBuilder:
    """Walks every module of a program once, resolving names the way the checker does."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.index = Index()
        self.entities: dict[int, Entity] = {}
        self.port_tables: dict[int, tuple[dict, dict]] = {}

    def build(self) -> Index:
        for module in self.program.modules:
            self.module(module)
        return self.index

    # ------------------------------------------------------------ entities
    def entity(self, kind: str, name: str, span: Span, node, owner=None, module=None) -> Entity:
        known = self.entities.get(id(node))
        if known is None:
            known = self.entities[id(node)] = Entity(kind, name, span, node, owner, module)
        return known

    def declaration(self, declaration, module: LoadedModule) -> Entity:
        kind = ("component" if isinstance(declaration, ast.Component) else
                "pipeline" if isinstance(declaration, ast.Pipeline) else "let")
        return self.entity(kind, declaration.name, declaration.name_span, declaration, None, module)

    def port(self, param: ast.Param, kind: str, component: ast.Component, module: LoadedModule) -> Entity:
        return self.entity(kind, param.name, param.name_span, param, component, module)

    def symbol(self, module: LoadedModule, name: str) -> Entity | None:
        symbol = self.program.scopes.get(module.key, {}).get(name)
        return None if symbol is None else self.declaration(symbol.declaration, symbol.module)

    def ports(self, component: ast.Component, module: LoadedModule) -> tuple[dict[str, Entity], dict[str, Entity]]:
        """(inputs, outputs) of a component by name, made once."""
        table = self.port_tables.get(id(component))
        if table is None:
            inputs: dict[str, Entity] = {}
            outputs: dict[str, Entity] = {}
            for param in component.inputs:
                inputs.setdefault(param.name, self.port(param, "input", component, module))
            for param in component.outputs:
                outputs.setdefault(param.name, self.port(param, "output", component, module))
            table = self.port_tables[id(component)] = (inputs, outputs)
        return table

    def component_of(self, module: LoadedModule, callee: str) -> tuple[ast.Component, LoadedModule] | None:
        symbol = self.program.scopes.get(module.key, {}).get(callee)
        if symbol is not None and isinstance(symbol.declaration, ast.Component):
            return symbol.declaration, symbol.module
        return None

    # ------------------------------------------------------------ declarations
    def module(self, loaded: LoadedModule) -> None:
        add = self.index.add
        for statement, target in loaded.imports:
            add(statement.path_span, self.entity("file", target.path, Span(target.path, 1, 1, 1, 1), target, None, target))
        for let in loaded.module.lets:
            add(let.name_span, self.declaration(let, loaded), True)
            self.value(let.value, loaded, {})
        for component in loaded.module.components:
            self.component(component, loaded)
        for pipeline in loaded.module.pipelines:
            self.pipeline(pipeline, loaded)

    def component(self, node: ast.Component, loaded: LoadedModule) -> None:
        add = self.index.add
        add(node.name_span, self.declaration(node, loaded), True)
        ports: dict[str, Entity] = {}
        for kind, params in (("input", node.inputs), ("output", node.outputs)):
            for param in params:
                entity = self.port(param, kind, node, loaded)
                ports.setdefault(param.name, entity)
                add(param.name_span, entity, True)
                if param.default is not None:
                    self.value(param.default, loaded, {})
        self.settings(node.settings, loaded, ports)

    def settings(self, settings: list[ast.Setting], loaded: LoadedModule, names: dict[str, Entity]) -> None:
        for setting in settings:
            if setting.block is not None:
                self.settings(setting.block, loaded, names)
            elif setting.value is not None:
                self.value(setting.value, loaded, names)

    def pipeline(self, node: ast.Pipeline, loaded: LoadedModule) -> None:
        add = self.index.add
        add(node.name_span, self.declaration(node, loaded), True)
        params: dict[str, Entity] = {}
        for param in node.params:
            entity = self.entity("parameter", param.name, param.name_span, param, node, loaded)
            params.setdefault(param.name, entity)
            add(param.name_span, entity, True)
            if param.default is not None:
                self.value(param.default, loaded, {})
        steps: dict[str, Entity] = {}
        for step in iter_steps(node.body):
            if step.name:
                entity = self.entity("step", step.name, step.name_span, step, node, loaded)
                steps.setdefault(step.name, entity)
        self.statements(node.body, loaded, _PipelineNames(params, steps, {}))

    # ------------------------------------------------------------ pipeline bodies
    def statements(self, statements: list, loaded: LoadedModule, names: "_PipelineNames") -> None:
        add = self.index.add
        for statement in statements:
            if isinstance(statement, ast.Step):
                if statement.name:
                    add(statement.name_span, self.entities.get(id(statement)), True)
                self.call(statement.call, loaded, names)
                for reference in statement.after:
                    add(reference.span, names.steps.get(reference.name))
                self.settings(statement.overrides, loaded, {})
            elif isinstance(statement, ast.PipelineSetting):
                if statement.setting.value is not None:
                    self.value(statement.setting.value, loaded, names.values())
            elif isinstance(statement, ast.If):
                self.condition(statement.condition, loaded, names)
                self.statements(statement.then, loaded, names)
                self.statements(statement.otherwise, loaded, names)
            elif isinstance(statement, ast.For):
                self.pipeline_value(statement.iterable, loaded, names)
                variable = self.entity("loop variable", statement.variable, statement.variable_span, statement,
                                       statement, loaded)
                add(statement.variable_span, variable, True)
                self.statements(statement.body, loaded, names.with_variable(variable))
            elif isinstance(statement, ast.Finally):
                self.statements(statement.body, loaded, names)

    def call(self, call: ast.Call, loaded: LoadedModule, names: "_PipelineNames") -> None:
        add = self.index.add
        add(call.callee_span, self.symbol(loaded, call.callee))
        found = self.component_of(loaded, call.callee)
        for argument in call.arguments:
            if argument.name is not None and found is not None:
                add(argument.name_span, self.ports(*found)[0].get(argument.name))
            self.pipeline_value(argument.value, loaded, names)

    def condition(self, node, loaded: LoadedModule, names: "_PipelineNames") -> None:
        if isinstance(node, ast.BoolOp):
            for operand in node.operands:
                self.condition(operand, loaded, names)
        elif isinstance(node, ast.Not):
            self.condition(node.operand, loaded, names)
        elif isinstance(node, ast.Compare):
            self.condition(node.left, loaded, names)
            self.condition(node.right, loaded, names)
        else:
            self.pipeline_value(node, loaded, names)

    def pipeline_value(self, expr, loaded: LoadedModule, names: "_PipelineNames") -> None:
        if isinstance(expr, ast.OutputRef):
            add = self.index.add
            step = names.steps.get(expr.step)
            add(expr.step_span, step)
            if step is not None:
                found = self.component_of(step.module, step.node.call.callee)
                if found is not None:
                    add(expr.output_span, self.ports(*found)[1].get(expr.output))
            return
        self.value(expr, loaded, names.values())

    def value(self, expr, loaded: LoadedModule, local: dict[str, Entity]) -> None:
        """A value: names are the local ones (ports, parameters, loop variables, steps) or lets."""
        if isinstance(expr, ast.NameRef):
            entity = local.get(expr.name)
            if entity is None:
                symbol = self.symbol(loaded, expr.name)
                entity = symbol if symbol is not None and symbol.kind == "let" else None
            self.index.add(expr.span, entity)
        elif isinstance(expr, ast.ListExpr):
            for item in expr.items:
                self.value(item, loaded, local)
        elif isinstance(expr, ast.DictExpr):
            for _, item in expr.entries:
                self.value(item, loaded, local)
        elif isinstance(expr, ast.Call):
            for argument in expr.arguments:
                self.value(argument.value, loaded, local)


class _PipelineNames:
    def __init__(self, params: dict[str, Entity], steps: dict[str, Entity], variables: dict[str, Entity]) -> None:
        self.params = params
        self.steps = steps
        self.variables = variables
        # Names a value may use, innermost first: loop variables, parameters, then steps
        # (a bare step name is an error the checker reports; it still names the step).
        self.local = {**steps, **params, **variables}

    def with_variable(self, variable: Entity) -> "_PipelineNames":
        return _PipelineNames(self.params, self.steps, {**self.variables, variable.name: variable})

    def values(self) -> dict[str, Entity]:
        return self.local


def iter_steps(statements: list) -> Iterator[ast.Step]:
    """Every step of a pipeline body, blocks included, in source order."""
    for statement in statements:
        if isinstance(statement, ast.Step):
            yield statement
        elif isinstance(statement, ast.If):
            yield from iter_steps(statement.then)
            yield from iter_steps(statement.otherwise)
        elif isinstance(statement, (ast.For, ast.Finally)):
            yield from iter_steps(statement.body)


# ---------------------------------------------------------------- completions
@dataclass(frozen=True)
class Completion:
    label: str
    kind: str  # component, input, output, step, parameter, variable, let, keyword, setting, type, pipeline
    detail: str = ""
    documentation: str = ""
    insert_text: str | None = None


class _Opener(NamedTuple):
    char: str
    head: tuple[str, ...]  # the names on its line before it, the last one right before it when `adjacent`
    adjacent: bool


_SCAN = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*(?:"""|\Z)|"(?:[^"\\\n]|\\.)*"?|#[^\n]*|[(){}\[\]]|[A-Za-z_]\w*|\n|[^\s]')


def _scan(text: str) -> tuple[list[_Opener], bool]:
    """The brackets still open at the end of `text` and whether it ends inside a string or comment."""
    stack: list[_Opener] = []
    head: list[str] = []
    previous_is_name = False
    inside_literal = False
    for match in _SCAN.finditer(text):
        token = match.group()
        first = token[0]
        inside_literal = False
        if first == '"':
            closed = len(token) >= 6 and token.endswith('"""') if token.startswith('"""') else (
                len(token) >= 2 and token.endswith('"') and not token.endswith('\\"'))
            inside_literal = not closed and match.end() == len(text)
            previous_is_name = False
        elif first == "#":
            inside_literal = match.end() == len(text)
        elif token == "\n":
            if not stack or stack[-1].char == "{":
                head = []
            previous_is_name = False
        elif token in "([{":
            stack.append(_Opener(token, tuple(head), previous_is_name))
            head = []
            previous_is_name = False
        elif token in ")]}":
            if stack:
                opener = stack.pop()
                head = list(opener.head)
            previous_is_name = False
        elif first.isalpha() or first == "_":
            head.append(token)
            previous_is_name = True
        else:
            previous_is_name = False
    return stack, inside_literal


# ---------------------------------------------------------------- the analysis
class Analysis:
    """One buffer checked, with its diagnostics and (on demand) its index."""

    def __init__(self, path: str, text: str, read: Reader = SourceFile.read) -> None:
        self.path = path
        self.source = SourceFile(path, text)
        # real path -> the text read of every imported file (None: it could not be read)
        self.imported: dict[str, str | None] = {}
        self._read = read
        self.result: FrontendResult = check_sources([self.source], self.read)
        self._index: Index | None = None
        self._repaired: Program | None = None
        self._repair_done = False

    def read(self, path: str) -> SourceFile:
        real = os.path.realpath(path)
        try:
            source = self._read(path)
        except (OSError, UnicodeDecodeError):
            self.imported[real] = None  # unreadable: checked again once it reads
            raise
        self.imported[real] = source.text
        return source

    # ------------------------------------------------------------ diagnostics
    @property
    def parsed(self) -> bool:
        return _entry(self.result.program, self.path) is not None

    def diagnostics(self) -> list[Diagnostic]:
        """The checker's diagnostics of this file, in file order, as `treadle check` reports them."""
        return [d for d in self.result.diagnostics.sorted() if d.span.path == self.path]

    # ------------------------------------------------------------ the program asked about
    @property
    def program(self) -> Program | None:
        if self.parsed:
            return self.result.program
        if not self._repair_done:
            self._repaired = self._repair()
            self._repair_done = True
        return self._repaired

    def _repair(self) -> Program | None:
        """The program of the text with its broken declarations mended by blanking lines."""
        text = self.source.text
        starts = sorted({0, *(match.start() for match in _TOP_LEVEL.finditer(text))}) + [len(text)]
        pieces = [_mend(text[start:end]) for start, end in zip(starts, starts[1:])]
        result = check_sources([SourceFile(self.path, "".join(pieces))], self.read)
        return result.program if _entry(result.program, self.path) is not None else None

    @property
    def module(self) -> LoadedModule | None:
        return _entry(self.program, self.path)

    @property
    def index(self) -> Index:
        if self._index is None:
            program = self.program
            self._index = _IndexBuilder(program).build() if program is not None else Index()
        return self._index

    def at(self, line: int, column: int) -> Occurrence | None:
        return self.index.at(self.path, line, column)

    def source_of(self, path: str) -> SourceFile | None:
        if path == self.path:
            return self.source
        program = self.program
        source = program.sources.get(path) if program else None
        return source or (self.result.program.sources.get(path) if self.result.program else None)

    # ------------------------------------------------------------ questions
    def definition(self, line: int, column: int) -> Span | None:
        occurrence = self.at(line, column)
        return None if occurrence is None else occurrence.entity.span

    def references(self, line: int, column: int, include_declaration: bool = True) -> list[Span]:
        occurrence = self.at(line, column)
        if occurrence is None or occurrence.entity.kind == "file":
            return []
        return [o.span for o in self.index.occurrences(occurrence.entity) if include_declaration or not o.definition]

    def hover(self, line: int, column: int) -> tuple[str, Span] | None:
        """Markdown about the name under the cursor, and the span it covers."""
        occurrence = self.at(line, column)
        if occurrence is None:
            return None
        text = describe(occurrence.entity, self)
        return (text, occurrence.span) if text else None

    def prepare_rename(self, line: int, column: int) -> Span:
        occurrence = self.at(line, column)
        if occurrence is None:
            raise RenameRefused("no step or let name here")
        entity = occurrence.entity
        if entity.kind not in ("step", "let"):
            raise RenameRefused(f"only steps and lets can be renamed here; this is a {entity.kind}")
        if entity.module is not None and _in_std(entity.module.path):
            raise RenameRefused(f"'{entity.name}' belongs to treadle's standard library")
        if not self.parsed:
            raise RenameRefused("the file has syntax errors; fix them before renaming")
        return occurrence.span

    def rename(self, line: int, column: int, new_name: str) -> dict[str, list[Span]]:
        """The spans to replace with `new_name`, by file; RenameRefused says why not."""
        self.prepare_rename(line, column)
        entity = self.at(line, column).entity
        if not _NAME.fullmatch(new_name) or new_name in keywords():
            raise RenameRefused(f"'{new_name}' is not a name (letters, digits and '_', not a keyword)")
        if new_name == entity.name:
            return {}
        if entity.kind == "step":
            pipeline: ast.Pipeline = entity.owner
            taken = {step.name for step in iter_steps(pipeline.body) if step.name} | {p.name for p in pipeline.params}
            if new_name in taken or new_name in self.program.scopes.get(entity.module.key, {}):
                raise RenameRefused(f"'{new_name}' is already a name in pipeline '{pipeline.name}'")
        occurrences = self.index.occurrences(entity)
        if entity.kind == "let":
            for path in {o.span.path for o in occurrences} | {entity.module.path}:
                module = next((m for m in self.program.modules if m.path == path), None)
                if module is not None and new_name in self.program.scopes.get(module.key, {}):
                    raise RenameRefused(f"'{new_name}' is already defined or imported in {path}")
                if module is not None and new_name in _local_names(module.module):
                    raise RenameRefused(f"'{new_name}' is already a parameter, step, loop variable, input or "
                                        f"output in {path}; the let would be hidden behind it")
        edits: dict[str, list[Span]] = {}
        for occurrence in occurrences:
            edits.setdefault(occurrence.span.path, []).append(occurrence.span)
        return edits

    def completions(self, line: int, column: int) -> list[Completion]:
        return _Completer(self, line, column).items()


def _local_names(module: ast.Module) -> set[str]:
    """Names declared inside the components and pipelines of a module."""
    names: set[str] = set()
    for component in module.components:
        names.update(param.name for param in component.inputs + component.outputs)
    for pipeline in module.pipelines:
        names.update(param.name for param in pipeline.params)
        names.update(step.name for step in iter_steps(pipeline.body) if step.name)
        pending = list(pipeline.body)
        while pending:
            statement = pending.pop()
            if isinstance(statement, ast.For):
                names.add(statement.variable)
                pending.extend(statement.body)
            elif isinstance(statement, ast.If):
                pending.extend(statement.then + statement.otherwise)
            elif isinstance(statement, ast.Finally):
                pending.extend(statement.body)
    return names


def _entry(program: Program | None, path: str) -> LoadedModule | None:
    if program is None:
        return None
    return next((module for module in program.entries if module.path == path), None)


def _in_std(path: str) -> bool:
    return os.path.realpath(path).startswith(os.path.realpath(str(std_folder())) + os.sep)


def _syntax_lines(text: str) -> set[int] | None:
    """The lines of a piece of text with syntax errors; None when it parses."""
    diagnostics = Diagnostics()
    if parse(SourceFile("<piece>", text), diagnostics) is not None:
        return None
    return {d.span.line for d in diagnostics if d.code in SYNTAX_CODES}


def _unbalanced_lines(text: str) -> set[int]:
    """Lines that open more ( and [ than they close or the other way round (a call being typed)."""
    balance: dict[int, int] = {}
    line = 1
    for match in _SCAN.finditer(text):
        token = match.group()
        if token in "([":
            balance[line] = balance.get(line, 0) + 1
        elif token in ")]":
            balance[line] = balance.get(line, 0) - 1
        line += token.count("\n")
    return {number for number, count in balance.items() if count}


def _mend(piece: str) -> str:
    """One top-level declaration as it is when it parses, else with the lines that break it
    blanked (its error lines, its unbalanced lines, both, then again the new error lines),
    else blanked whole."""
    errors = _syntax_lines(piece)
    if errors is None:
        return piece
    unbalanced = _unbalanced_lines(piece)
    for lines in (errors, unbalanced, errors | unbalanced):
        candidate = _blank_lines(piece, lines)
        if lines and _syntax_lines(candidate) is None:
            return candidate
    candidate = _blank_lines(piece, errors | unbalanced)
    for _ in range(_REPAIR_ROUNDS):
        errors = _syntax_lines(candidate)
        if errors is None:
            return candidate
        candidate = _blank_lines(candidate, errors)
    return candidate if _syntax_lines(candidate) is None else _blank(piece)


def _blank(text: str) -> str:
    return re.sub(r"[^\n]", " ", text)


def _blank_lines(text: str, lines: set[int]) -> str:
    """The text with these lines turned to spaces. A brace a blanked line opens loses its
    closing brace too, so the statements of the block stay, one level out."""
    if not lines:
        return text
    chars = list(text)
    open_braces: list[tuple[int, int]] = []
    line = 1
    for match in _SCAN.finditer(text):
        token = match.group()
        if token == "{":
            open_braces.append((match.start(), line))
        elif token == "}" and open_braces:
            _, opened_on = open_braces.pop()
            if opened_on in lines and line not in lines:
                chars[match.start()] = " "
        line += token.count("\n")
    parts = "".join(chars).split("\n")
    for number in lines:
        if 1 <= number <= len(parts):
            parts[number - 1] = " " * len(parts[number - 1])
    return "\n".join(parts)


# ---------------------------------------------------------------- hover text
def _doc_comment(loaded: LoadedModule, node) -> str:
    """The comment lines right above a declaration, the way a reader of the file sees them."""
    by_line = {c.span.line: c for c in loaded.module.comments}
    lines = []
    line = node.span.line - 1
    while line in by_line and loaded.source.line_text(line).strip().startswith("#"):
        lines.append(by_line[line].text.lstrip("#").strip())
        line -= 1
    return "\n".join(reversed(lines)).strip()


def _param_text(source: SourceFile, param: ast.Param) -> str:
    text = f"{param.name}: {source.text_of(param.type.span)}"
    if param.default is not None:
        text += f" = {source.text_of(param.default.span)}"
    return text


class PortText(NamedTuple):
    name: str
    text: str  # name: type = default
    type: str


def ports(loaded: LoadedModule, component: ast.Component) -> tuple[list[PortText], list[PortText]]:
    """The inputs and outputs of a component as written; a component.yaml's from its spec."""
    generic = getattr(component, "generic", None)
    if generic is not None:
        def shown(port) -> PortText:
            text = f"{port.name}: {port.type}"
            if port.has_default:
                text += f" = {json.dumps(port.default, ensure_ascii=False)}"
            return PortText(port.name, text, str(port.type))

        return [shown(port) for port in generic.inputs], [shown(port) for port in generic.outputs]
    source = loaded.source

    def written(param: ast.Param) -> PortText:
        return PortText(param.name, _param_text(source, param), source.text_of(param.type.span))

    return [written(param) for param in component.inputs], [written(param) for param in component.outputs]


def signature(loaded: LoadedModule, node) -> str:
    source = loaded.source
    if isinstance(node, ast.Component):
        inputs, outputs = ports(loaded, node)
        text = f"component {node.name}({', '.join(port.text for port in inputs)})"
        if outputs:
            text += f"\n    -> ({', '.join(port.text for port in outputs)})"
        return text
    if isinstance(node, ast.Pipeline):
        return f"pipeline {node.name}({', '.join(_param_text(source, p) for p in node.params)})"
    if isinstance(node, ast.Let):
        return f"let {node.name} = {source.text_of(node.value.span)}"
    return ""


def _code(text: str) -> str:
    return f"```treadle\n{text}\n```"


def _origin(entity: Entity, analysis: Analysis) -> str:
    if entity.module is None or entity.module.path == analysis.path:
        return ""
    return f"\n\nfrom `{_shown_path(entity.module.path, analysis.path)}`"


def _shown_path(path: str, relative_to: str) -> str:
    if _in_std(path):
        return "std/" + os.path.relpath(path, str(std_folder()))
    try:
        return os.path.relpath(path, os.path.dirname(relative_to) or ".")
    except ValueError:
        return path


def describe(entity: Entity, analysis: Analysis) -> str:
    module = entity.module
    if entity.kind in ("component", "pipeline", "let"):
        parts = [_code(signature(module, entity.node))]
        description = ""
        if entity.kind == "component":
            setting = next((s for s in entity.node.settings if s.key == "description" and s.value is not None), None)
            if setting is not None and isinstance(setting.value, ast.Literal):
                description = str(setting.value.value)
            generic = getattr(entity.node, "generic", None)  # a component.yaml's
            if generic is not None:
                description = generic.description
        for text in (_doc_comment(module, entity.node), description):
            if text:
                parts.append(text)
        return "\n\n".join(parts) + _origin(entity, analysis)
    if entity.kind in ("input", "output", "parameter"):
        owner = entity.owner
        what = {"input": "input of component", "output": "output of component",
                "parameter": "parameter of pipeline"}[entity.kind]
        param_type = entity.node.type
        kind = "artifact" if param_type.name in ARTIFACT_TYPES else "value"
        text = _code(_param_text(module.source, entity.node))
        return f"{text}\n\n{what} `{owner.name}` ({kind})" + _origin(entity, analysis)
    if entity.kind == "step":
        step: ast.Step = entity.node
        callee = step.call.callee
        symbol = analysis.program.scopes.get(module.key, {}).get(callee) if analysis.program else None
        head = f"step `{step.name}` of pipeline `{entity.owner.name}`, calls `{callee}`"
        if symbol is None or not isinstance(symbol.declaration, ast.Component):
            return head
        component = symbol.declaration
        outputs = ", ".join(f"`{step.name}.{port.name}`: {port.type}"
                            for port in ports(symbol.module, component)[1]) or "none"
        return f"{head}\n\n{_code(signature(symbol.module, component))}\n\noutputs: {outputs}"
    if entity.kind == "loop variable":
        loop: ast.For = entity.node
        return _code(f"for {loop.variable} in {module.source.text_of(loop.iterable.span)}") + "\n\nloop variable"
    if entity.kind == "file":
        return f"imported file `{_shown_path(entity.name, analysis.path)}`"
    return ""


# ---------------------------------------------------------------- completion
_SETTING_KEYS = {"mpi": MPI_KEYS, "resources": RESOURCE_KEYS, "security": SECURITY_KEYS}
_STATEMENT_KEYWORDS = ("if", "for", "finally")
_TOP_KEYWORDS = ("import", "let", "component", "pipeline")


class _Completer:
    """Completions from the text before the cursor (which may not parse yet) and the names
    the last parsable program knows."""

    def __init__(self, analysis: Analysis, line: int, column: int) -> None:
        self.analysis = analysis
        self.source = analysis.source
        self.before = self.source.line_text(line)[: column - 1]
        self.offset = self.source.offset(line, column)
        program = analysis.program
        module = analysis.module
        self.scope = program.scopes.get(module.key, {}) if program and module else {}

    def components(self) -> list[Completion]:
        return [Completion(name, "component", signature(s.module, s.declaration).replace("\n", " "),
                           _doc_comment(s.module, s.declaration))
                for name, s in sorted(self.scope.items()) if isinstance(s.declaration, ast.Component)]

    def lets(self) -> list[Completion]:
        return [Completion(name, "let", signature(s.module, s.declaration))
                for name, s in sorted(self.scope.items()) if isinstance(s.declaration, ast.Let)]

    @staticmethod
    def keywords(words) -> list[Completion]:
        return [Completion(word, "keyword") for word in words]

    def component_named(self, name: str) -> tuple[ast.Component, LoadedModule] | None:
        symbol = self.scope.get(name)
        if symbol is not None and isinstance(symbol.declaration, ast.Component):
            return symbol.declaration, symbol.module
        return None

    def declaration(self):
        """(keyword, name, start offset) of the top-level declaration the cursor is in."""
        found = None
        for match in _TOP_LEVEL.finditer(self.source.text, 0, self.offset):
            found = match
        if found is None:
            return None, None, 0
        return found.group(1), found.group(2), found.start()

    def pipeline_named(self, name: str | None) -> ast.Pipeline | None:
        module = self.analysis.module
        if module is None or name is None:
            return None
        return next((p for p in module.module.pipelines if p.name == name), None)

    def step_callee(self, pipeline: ast.Pipeline | None, step_name: str) -> str | None:
        if pipeline is not None:
            for step in iter_steps(pipeline.body):
                if step.name == step_name:
                    return step.call.callee
        # a step written since the file last parsed
        match = re.search(rf"^[ \t]*{re.escape(step_name)}[ \t]*=[ \t]*([A-Za-z_]\w*)[ \t]*\(", self.source.text, re.M)
        return match.group(1) if match else None

    def steps(self, pipeline: ast.Pipeline | None) -> list[Completion]:
        items = []
        if pipeline is not None:
            for step in iter_steps(pipeline.body):
                if step.name:
                    items.append(Completion(step.name, "step", f"step: {step.call.callee}(...)"))
        return items

    def items(self) -> list[Completion]:
        keyword, name, start = self.declaration()
        stack, inside_literal = _scan(self.source.text[start:self.offset])
        if inside_literal:
            return []
        dotted = re.search(r"([A-Za-z_]\w*)\.(\w*)$", self.before)
        if dotted:
            pipeline = self.pipeline_named(name) if keyword == "pipeline" else None
            callee = self.step_callee(pipeline, dotted.group(1)) if keyword == "pipeline" else None
            found = self.component_named(callee) if callee else None
            if found is None:
                return []
            component, module = found
            return [Completion(port.name, "output", port.text, f"output of {component.name}")
                    for port in ports(module, component)[1]]
        if not stack:  # between declarations, or in an import or let
            if re.fullmatch(r"\w*", self.before):
                return self.keywords(_TOP_KEYWORDS)
            if keyword == "let" and re.search(r"=\s*\w*$", self.before):
                return self.lets()
            return []
        if keyword == "component":
            return self.in_component(stack, name)
        if keyword == "pipeline":
            return self.in_pipeline(stack, name)
        return []

    def in_component(self, stack: list[_Opener], name: str | None) -> list[Completion]:
        if re.search(r":\s*\w*$", self.before) and stack and stack[-1].char in "([":
            return [Completion(t, "type") for t in PARAMETER_TYPES + ARTIFACT_TYPES]
        braces = [opener for opener in stack if opener.char == "{"]
        if not braces:
            return []
        if re.fullmatch(r"\s*\w*", self.before) or (stack[-1].char == "{" and re.search(r"[{,]\s*\w*$", self.before)):
            inner = stack[-1]
            if inner.char == "{" and len(braces) > 1:
                block = inner.head[-1] if inner.adjacent and inner.head else None
                return [Completion(k, "setting") for k in _SETTING_KEYS.get(block, ())]
            if inner.char == "{":
                return [Completion(k, "setting") for k in COMPONENT_KEYS]
        items = self.lets()
        module = self.analysis.module
        component = next((c for c in module.module.components if c.name == name), None) if module else None
        if component is not None:
            source = module.source
            items = [Completion(p.name, "input", _param_text(source, p)) for p in component.inputs] + [
                Completion(p.name, "output", _param_text(source, p)) for p in component.outputs] + items
        return items

    def in_pipeline(self, stack: list[_Opener], name: str | None) -> list[Completion]:
        pipeline = self.pipeline_named(name)
        if not stack:
            return []
        inner = stack[-1]
        if inner.char == "(" and len(stack) == 1:  # the pipeline's own parameters
            if re.search(r":\s*\w*$", self.before):
                return [Completion(t, "type") for t in PARAMETER_TYPES]
            return []
        if inner.char == "(" and inner.adjacent and inner.head:
            found = self.component_named(inner.head[-1])
            call_text = self.source.text[:self.offset]
            call_text = call_text[call_text.rfind(inner.head[-1] + "("):]
            if found is not None and re.search(r"[(,]\s*\w*$", call_text):
                component, module = found
                given = set(re.findall(r"[(,]\s*([A-Za-z_]\w*)\s*=", call_text))
                return [Completion(port.name, "input", port.text, f"input of {component.name}", f"{port.name}=")
                        for port in ports(module, component)[0] if port.name not in given]
            return self.values(pipeline, stack)
        if inner.char == "{":
            block = inner.head[-1] if inner.adjacent and inner.head else None
            if block == "with" or (block in BLOCK_KEYS and "with" in (stack[-2].head if len(stack) > 1 else ())):
                keys = OVERRIDE_KEYS if block == "with" else _SETTING_KEYS.get(block, ())
                if re.search(r"(^|[{,])\s*\w*$", self.before):
                    return [Completion(k, "setting") for k in keys]
                return self.lets()
            if re.fullmatch(r"\s*\w*", self.before):
                items = self.keywords(_STATEMENT_KEYWORDS) + self.components()
                if len(stack) == 1:
                    items += [Completion(k, "setting", "pipeline setting") for k in PIPELINE_KEYS]
                return items
            if re.fullmatch(r"\s*\w+\s*=\s*\w*", self.before):
                return self.components() + (self.lets() if len(stack) == 1 else [])
            if re.search(r"\)\s*\w*$", self.before):
                return self.keywords(("after", "with"))
            if re.search(r"\bafter\s+(\w+\s*,\s*)*\w*$", self.before):
                return self.steps(pipeline)
        return self.values(pipeline, stack)

    def values(self, pipeline: ast.Pipeline | None, stack: list[_Opener]) -> list[Completion]:
        items: list[Completion] = []
        for opener in stack:
            head = opener.head
            if opener.char == "{" and len(head) >= 3 and head[0] == "for" and head[2] == "in":
                items.append(Completion(head[1], "variable", "loop variable"))
        if pipeline is not None:
            source = self.analysis.module.source
            items += [Completion(p.name, "parameter", _param_text(source, p), f"parameter of {pipeline.name}")
                      for p in pipeline.params]
        items += [Completion(s.label, "step", s.detail, insert_text=s.label + ".") for s in self.steps(pipeline)]
        return items + self.lets() + self.keywords(("true", "false", "not", "and", "or"))
