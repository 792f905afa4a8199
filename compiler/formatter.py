"""`treadle fmt`: one canonical layout for a file, comments kept, the program unchanged.

The parser's AST gives the structure and the source gives what the AST does not keep:
literals are copied as written (a string reaches the container byte for byte, so the
formatter never rewrites one), comments are placed by position. The layout:

- two spaces per block level, four for a line that continues a statement (`-> (...)`,
  `with { ... }`, `after ...`, `and`/`or` of a long condition);
- argument, parameter and list items flow like text, continuation lines aligned after
  the opening bracket, within 100 columns;
- settings blocks on one line `{ a = 1, b = 2 }` when they fit, one setting per line
  when they do not or when the source wrote them across lines;
- the `=` of consecutive steps and pipeline settings aligned;
- a blank line around each component and pipeline, other blank lines kept (at most one);
- a comment stays on its line: at the end of the item it followed, or on its own line
  before the item it preceded.

Formatting is checked: the output is parsed again and must give the same AST (spans
aside) and the same comments, or `FormatterBug` is raised instead of a wrong file.
"""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass

from . import ast
from .diagnostics import Diagnostics
from .layout import (HARDLINE, LINE, Align, Choice, Fill, Group, IfBreak, Indent, Suffix, has_hard_break,
                     render)
from .parser import parse
from .source import SourceFile, Span

WIDTH = 100
INDENT = 2
CONTINUATION = 4


@dataclass
class FormatResult:
    text: str | None  # None when the source has syntax errors
    diagnostics: Diagnostics  # the parser's

    @property
    def ok(self) -> bool:
        return self.text is not None


class FormatterBug(RuntimeError):
    """The formatted text would not be the same program: a bug in the formatter."""


def format_source(text: str, path: str = "<input>") -> FormatResult:
    """The canonical layout of `text`, or None (with the syntax errors) when it does not parse."""
    diagnostics = Diagnostics()
    source = SourceFile(path, text)
    module = parse(source, diagnostics)
    if module is None:
        return FormatResult(None, diagnostics)
    formatted = _Formatter(source, module).module()
    _verify(module, formatted, path)
    return FormatResult(formatted, diagnostics)


# ---------------------------------------------------------------- checking the result
_FIELDS: dict[type, tuple[str, ...]] = {}


def _compared_fields(kind: type) -> tuple[str, ...]:
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(
            f.name for f in dataclasses.fields(kind)
            if f.name not in ("span", "comments", "path") and not f.name.endswith("_span"))
    return names


def _shape(node):
    """A node as plain values without spans, for comparing programs."""
    kind = type(node)
    if kind is list or kind is tuple:
        return tuple([_shape(item) for item in node])
    if kind is str or kind is int or kind is bool or node is None:
        return node
    if kind is float:
        return ("float", repr(node))
    return (kind.__name__, *[_shape(getattr(node, name)) for name in _compared_fields(kind)])


def _verify(original: ast.Module, formatted: str, path: str) -> None:
    diagnostics = Diagnostics()
    again = parse(SourceFile(path, formatted), diagnostics)
    if again is None:
        raise FormatterBug(f"the formatted text of {path} does not parse: "
                           + "; ".join(d.message for d in diagnostics))
    if _shape(again) != _shape(original):
        raise FormatterBug(f"the formatted text of {path} is not the same program")
    if sorted(_comment_text(c.text) for c in again.comments) != sorted(_comment_text(c.text) for c in original.comments):
        raise FormatterBug(f"the formatted text of {path} lost or changed a comment")


def _comment_text(text: str) -> str:
    return text.rstrip()


# ---------------------------------------------------------------- comments by position
Position = tuple  # (line, column)


def _start(span: Span) -> Position:
    return (span.line, span.column)


def _end(span: Span) -> Position:
    return (span.end_line, span.end_column)


@dataclass(slots=True)
class _Comment:
    position: Position
    text: str
    own_line: bool  # nothing but blanks before it on its line
    blank_before: bool  # a blank line right above it


@dataclass(slots=True)
class _Entry:
    """One item of a sequence with the comments that go with it."""

    leading: list
    doc: object
    trailing: _Comment | None
    blank_before: bool
    start: Position


class _Formatter:
    def __init__(self, source: SourceFile, module: ast.Module) -> None:
        self.source = source
        self.module_node = module
        text = source.text
        self.text = text
        first_newline = text.find("\n")
        self.newline = "\r\n" if first_newline > 0 and text[first_newline - 1] == "\r" else "\n"
        comments = []
        for comment in sorted(module.comments, key=lambda c: _start(c.span)):
            line, column = comment.span.line, comment.span.column
            before = source.line_text(line)[: column - 1]
            comments.append(_Comment((line, column), comment.text.rstrip(), not before.strip(),
                                     self.blank_line(line - 1)))
        self.comments = comments
        self.positions = [c.position for c in comments]
        self.taken = [False] * len(comments)
        self.first_untaken = 0  # comments are taken mostly in order: no need to look before this

    # ------------------------------------------------------------ source helpers
    def blank_line(self, line: int) -> bool:
        return 1 <= line <= self.source.line_count and not self.source.line_text(line).strip()

    def offset(self, position: Position) -> int:
        return self.source.offset(*position)

    def position(self, offset: int) -> Position:
        return self.source.position(offset)

    def slice(self, span: Span) -> str:
        return self.source.text_of(span)

    def scan(self, position: Position, skip: str = "") -> int:
        """The offset of the first character at or after `position` that is not a blank,
        part of a comment or one of `skip`."""
        text = self.text
        index = self.offset(position)
        while index < len(text):
            char = text[index]
            if char in " \t\r\n\f" or char in skip:
                index += 1
            elif char == "#":
                newline = text.find("\n", index)
                index = len(text) if newline == -1 else newline
            else:
                break
        return index

    def closing(self, after: Position) -> Position:
        """The position of the bracket that closes a list whose last item ends at `after`."""
        return self.position(self.scan(after, ","))

    # ------------------------------------------------------------ taking comments
    def take(self, before: Position, after: Position | None = None) -> list[_Comment]:
        """Untaken comments before `before` (and at or after `after`), marked taken."""
        result = []
        taken = self.taken
        first = self.first_untaken
        while first < len(taken) and taken[first]:
            first += 1
        self.first_untaken = first
        low = first if after is None else max(first, bisect.bisect_left(self.positions, after))
        high = bisect.bisect_left(self.positions, before)
        for index in range(low, high):
            if not taken[index]:
                taken[index] = True
                result.append(self.comments[index])
        return result

    def take_trailing(self, end: Position, limit: Position) -> _Comment | None:
        """The comment after an item on the line where the item ends, before `limit`."""
        index = bisect.bisect_left(self.positions, end)
        while index < len(self.comments) and self.positions[index] < limit:
            comment = self.comments[index]
            if comment.position[0] != end[0]:
                return None
            if not self.taken[index]:
                self.taken[index] = True
                return comment
            index += 1
        return None

    def entries(self, items: list, end: Position, build, start_of=None, end_of=None) -> tuple[list, list]:
        """The items with their comments, and the comments left before `end` (dangling)."""
        start_of = start_of or (lambda item: _start(item.span))
        end_of = end_of or (lambda item: _end(item.span))
        result = []
        for index, item in enumerate(items):
            start = start_of(item)
            leading = self.take(start)
            doc = build(item)
            stop = end_of(item)
            stray = self.take(stop)  # inside the item, in a place no rule above claims
            for comment in stray:  # placed on a line of their own before the item
                comment.blank_before = False
                comment.own_line = True
            limit = start_of(items[index + 1]) if index + 1 < len(items) else end
            trailing = self.take_trailing(stop, limit)
            result.append(_Entry(leading + stray, doc, trailing, self.blank_line(start[0] - 1), start))
        dangling = self.take(end)
        return result, dangling

    # ------------------------------------------------------------ sequences
    def lines(self, entries: list, dangling: list, separate=None) -> list:
        """Items one per line with their comments; blank lines kept (at most one)."""
        parts: list = []
        for index, entry in enumerate(entries):
            forced = separate(index) if separate else False
            units = [(c.blank_before, c.text) for c in entry.leading]
            units.append((entry.blank_before, [entry.doc, _trailing(entry.trailing)]))
            for number, (blank, doc) in enumerate(units):
                if parts:
                    parts.append(HARDLINE)
                    if blank or (forced and number == 0):
                        parts.append(HARDLINE)
                parts.append(doc)
        for number, comment in enumerate(dangling):
            if parts:
                parts.append(HARDLINE)
                if comment.blank_before or (number == 0 and separate and separate(len(entries))):
                    parts.append(HARDLINE)
            parts.append(comment.text)
        return parts

    def block(self, entries: list, dangling: list, separate=None) -> list:
        """`{`, the items indented one per line, `}`."""
        if not entries and not dangling:
            return ["{}"]
        head: list = ["{"]
        if entries and entries[0].leading and not entries[0].leading[0].own_line:
            head.append(Suffix("  " + entries[0].leading.pop(0).text))  # it followed the brace
        elif not entries and not dangling[0].own_line:
            head.append(Suffix("  " + dangling.pop(0).text))
        if entries and entries[0].leading:
            entries[0].leading[0].blank_before = False
        if not entries and dangling:
            dangling[0].blank_before = False
        body = self.lines(entries, dangling, separate)
        if not body:
            return head + [HARDLINE, "}"]
        return head + [Indent(INDENT, [HARDLINE, body]), HARDLINE, "}"]

    def bracketed(self, opening: str, entries: list, dangling: list, closing: str, glued=()) -> list:
        """Items that flow like text after `opening`, continuation lines aligned after it;
        an item whose index is in `glued` stays on the line of the item after it."""
        if not entries and not dangling:
            return [opening, closing]
        parts: list = []
        head: list = []
        for index, entry in enumerate(entries):
            comments = list(entry.leading)
            if index == 0 and comments:
                head = [Suffix("  " + comments.pop(0).text), HARDLINE]
            item: list = []
            for comment in comments:
                item += [comment.text, HARDLINE]
            item.append(entry.doc)
            if index + 1 < len(entries):
                item.append(",")
            item.append(_trailing(entry.trailing))
            if index:
                previous = entries[index - 1]
                if previous.trailing or comments:
                    parts += [HARDLINE, item]
                elif index - 1 in glued:
                    parts[-1] = [parts[-1], " ", item]
                else:
                    parts += [LINE, item]
            else:
                parts.append(item)
        tail: list = []
        if dangling:
            if not entries:
                head = [Suffix("  " + dangling[0].text)]
                dangling = dangling[1:]
            for comment in dangling:
                tail += [HARDLINE, comment.text]
        close_on_own_line = bool(dangling) or bool(entries and entries[-1].trailing) or not entries
        inner = head + [Fill(parts)] + tail
        return [opening, Align(inner), HARDLINE if close_on_own_line else "", closing]

    # ------------------------------------------------------------ the module
    def module(self) -> str:
        module = self.module_node
        items = sorted(module.imports + module.lets + module.components + module.pipelines,
                       key=lambda item: _start(item.span))
        entries, dangling = self.entries(items, (self.source.line_count + 1, 1), self.item)
        big = [isinstance(item, (ast.Component, ast.Pipeline)) for item in items]

        def separate(index: int) -> bool:
            if index == 0:
                return False
            return big[index - 1] or (index < len(items) and big[index])

        if entries and entries[0].leading:
            entries[0].leading[0].blank_before = False
        elif entries:
            entries[0].blank_before = False
        elif dangling:
            dangling[0].blank_before = False
        doc = self.lines(entries, dangling, separate)
        text = render(doc, WIDTH, self.newline)
        return text + self.newline if text else text

    def item(self, item) -> object:
        if isinstance(item, ast.Import):
            doc = ["import ", self.slice(item.path_span)]
            return doc + [" as ", item.alias] if item.alias else doc
        if isinstance(item, ast.Let):
            return ["let ", item.name, " = ", self.expr(item.value)]
        if isinstance(item, ast.Component):
            return self.component(item)
        return self.pipeline(item)

    def params(self, params: list[ast.Param]) -> list:
        if not params:
            return ["(", ")"]
        end = self.closing(_end(params[-1].span))
        entries, dangling = self.entries(params, end, self.param)
        return self.bracketed("(", entries, dangling, ")")

    def param(self, param: ast.Param) -> list:
        doc = [param.name, ": ", self.type_ref(param.type)]
        if param.default is not None:
            doc += [" = ", self.expr(param.default)]
        return doc

    def type_ref(self, ref: ast.TypeRef) -> str:
        return ref.name if ref.argument is None else f"{ref.name}[{self.type_ref(ref.argument)}]"

    def component(self, node: ast.Component) -> list:
        doc: list = ["component ", node.name, self.params(node.inputs)]
        if node.outputs:
            doc.append(Group(Indent(CONTINUATION, [LINE, "-> ", self.params(node.outputs)])))
        entries, dangling = self.entries(node.settings, _end(node.span), self.setting)
        return doc + [" ", self.block(entries, dangling)]

    def pipeline(self, node: ast.Pipeline) -> list:
        doc: list = ["pipeline ", node.name, self.params(node.params), " "]
        return doc + [self.body(node.body, _end(node.span))]

    # ------------------------------------------------------------ settings
    def setting(self, setting: ast.Setting, key_width: int = 0) -> list:
        key = self.slice(setting.key_span) if self.text[self.offset(_start(setting.key_span))] == '"' else setting.key
        if setting.block is None:
            return [key.ljust(key_width), " = ", self.expr(setting.value)]
        return [key, " ", self.settings_block(setting.block, _end(setting.span))]

    def settings_block(self, settings: list[ast.Setting], end: Position) -> object:
        """A `{ ... }` of settings: on one line when it fits and was written on one line."""
        if not settings:
            entries, dangling = [], self.take(end)
        else:
            entries, dangling = self.entries(settings, end, self.setting)
        if not entries and not dangling:
            return "{}"
        across = bool(dangling) or any(e.leading or e.trailing for e in entries) or self.written_across(settings)
        if across:
            return self.block(entries, dangling)
        items: list = []
        for index, entry in enumerate(entries):
            if index:
                items += [IfBreak("", ","), LINE]
            items.append(entry.doc)
        return Group(["{", Indent(INDENT, [LINE, items]), LINE, "}"])

    def written_across(self, settings: list[ast.Setting]) -> bool:
        """Whether the source put a new line between `{` and the first setting or between settings."""
        first = settings[0]
        index = self.offset(_start(first.span)) - 1
        text = self.text
        while index >= 0 and text[index] in " \t\r\n\f":
            if text[index] == "\n":
                return True
            index -= 1
        return any(a.span.end_line != b.span.line for a, b in zip(settings, settings[1:]))

    # ------------------------------------------------------------ pipeline bodies
    def body(self, statements: list, end: Position) -> list:
        widths = _aligned_widths(statements, self.blank_between)
        positions = {id(statement): index for index, statement in enumerate(statements)}

        def build(statement):
            return self.statement(statement, widths[positions[id(statement)]])

        entries, dangling = self.entries(statements, end, build, start_of=_statement_start, end_of=_statement_end)
        return self.block(entries, dangling)

    def blank_between(self, first, second) -> bool:
        return any(self.blank_line(line) for line in range(_statement_end(first)[0] + 1, _statement_start(second)[0]))

    def statement(self, node, name_width: int) -> object:
        if isinstance(node, ast.Step):
            return self.step(node, name_width)
        if isinstance(node, ast.PipelineSetting):
            return self.setting(node.setting, name_width)
        if isinstance(node, ast.If):
            return self.if_statement(node)
        if isinstance(node, ast.For):
            return ["for ", node.variable, " in ", self.expr(node.iterable), " ",
                    self.body(node.body, _end(node.span))]
        return ["finally ", self.body(node.body, _end(node.span))]

    def step(self, node: ast.Step, name_width: int) -> list:
        doc: list = [node.name.ljust(name_width), " = "] if node.name else []
        doc.append(self.call(node.call))
        clause = " after " + ", ".join(ref.name for ref in node.after) if node.after else ""
        if not node.overrides:
            if clause:
                doc.append(Choice([clause, Indent(CONTINUATION, [HARDLINE, clause.lstrip()])]))
            return doc
        block = self.settings_block(node.overrides, _end(node.span))
        with_clause = [clause, " with ", block]
        if has_hard_break(block):
            return doc + with_clause
        continued = Indent(CONTINUATION, [HARDLINE, clause.lstrip() + (" " if clause else ""), "with ", block])
        return doc + [Choice([with_clause, continued, with_clause])]

    def if_statement(self, node: ast.If) -> list:
        if node.otherwise:
            last = _end(node.then[-1].span) if node.then else _end(node.condition.span)
            then_end = self.position(self.scan(last, "" if node.then else "){"))
        else:
            then_end = _end(node.span)
        doc: list = ["if ", self.condition(node.condition), " ", self.body(node.then, then_end)]
        if not node.otherwise:
            return doc
        only = node.otherwise[0] if len(node.otherwise) == 1 else None
        if isinstance(only, ast.If) and not self.has_comments(then_end, _start(only.span)):
            return doc + [" else ", self.if_statement(only)]
        return doc + [" else ", self.body(node.otherwise, _end(node.span))]

    def has_comments(self, start: Position, end: Position) -> bool:
        low = bisect.bisect_left(self.positions, start)
        high = bisect.bisect_left(self.positions, end)
        return any(not self.taken[index] for index in range(low, high))

    # ------------------------------------------------------------ conditions
    def condition(self, node, parent: str | None = None) -> object:
        if isinstance(node, ast.BoolOp):
            parts: list = [self.operand(node.operands[0], node.op)]
            rest: list = []
            for operand in node.operands[1:]:
                rest += [LINE, node.op, " ", self.operand(operand, node.op)]
            return Group([parts, Indent(CONTINUATION, rest)])
        if isinstance(node, ast.Not):
            operand = node.operand
            inner = self.condition(operand)
            return ["not ", ["(", inner, ")"] if isinstance(operand, ast.BoolOp) else inner]
        if isinstance(node, ast.Compare):
            return [self.compared(node.left), " ", node.op, " ", self.compared(node.right)]
        return self.expr(node)

    def operand(self, node, op: str) -> object:
        """An operand of `and`/`or`: nested operations keep the parentheses that made them."""
        inner = self.condition(node)
        if isinstance(node, ast.BoolOp) and (node.op == op or node.op == "or"):
            return ["(", inner, ")"]
        return inner

    def compared(self, node) -> object:
        inner = self.condition(node)
        return ["(", inner, ")"] if isinstance(node, (ast.BoolOp, ast.Not, ast.Compare)) else inner

    # ------------------------------------------------------------ values
    def expr(self, node) -> object:
        if isinstance(node, ast.Literal):
            return self.slice(node.span)
        if isinstance(node, ast.NameRef):
            return node.name
        if isinstance(node, ast.OutputRef):
            return f"{node.step}.{node.output}"
        if isinstance(node, ast.ListExpr):
            entries, dangling = self.entries(node.items, _end(node.span), self.expr)
            return self.bracketed("[", entries, dangling, "]", self.flags(node.items))
        if isinstance(node, ast.DictExpr):
            entries, dangling = self.entries(node.entries, _end(node.span), self.pair,
                                             start_of=lambda pair: _start(pair[0].span),
                                             end_of=lambda pair: _end(pair[1].span))
            return self.bracketed("{", entries, dangling, "}")
        if isinstance(node, ast.Call):
            return self.call(node)
        raise TypeError(f"not an expression: {node!r}")

    def flags(self, items: list) -> set[int]:
        """Command-line flags (strings that start with '-') followed by their value: a flag
        and its value stay on one line."""
        def is_flag(item) -> bool:
            return isinstance(item, ast.Literal) and isinstance(item.value, str) and item.value.startswith("-")

        return {index for index, (item, following) in enumerate(zip(items, items[1:]))
                if is_flag(item) and not is_flag(following)}

    def pair(self, pair) -> list:
        key, value = pair
        return [self.slice(key.span), ": ", self.expr(value)]

    def call(self, node: ast.Call) -> list:
        entries, dangling = self.entries(node.arguments, _end(node.span), self.argument)
        return [node.callee, self.bracketed("(", entries, dangling, ")")]

    def argument(self, node: ast.Argument) -> object:
        value = self.expr(node.value)
        return [node.name, "=", value] if node.name else value


def _trailing(comment: _Comment | None) -> object:
    return Suffix("  " + comment.text) if comment else ""


def _statement_start(statement) -> Position:
    if isinstance(statement, ast.PipelineSetting):
        return _start(statement.setting.span)
    return _start(statement.span)


def _statement_end(statement) -> Position:
    if isinstance(statement, ast.PipelineSetting):
        return _end(statement.setting.span)
    return _end(statement.span)


def _aligned_widths(statements: list, blank_between) -> list[int]:
    """The width each statement's name is padded to: runs of consecutive assignments (no
    blank line, no other statement between them) align their `=`."""
    widths = [0] * len(statements)
    run: list[int] = []

    def close() -> None:
        if len(run) > 1:
            width = max(len(_assigned_name(statements[index])) for index in run)
            for index in run:
                widths[index] = width
        run.clear()

    for index, statement in enumerate(statements):
        if _assigned_name(statement) is None:
            close()
            continue
        if run and blank_between(statements[run[-1]], statement):
            close()
        run.append(index)
    close()
    return widths


def _assigned_name(statement) -> str | None:
    if isinstance(statement, ast.Step):
        return statement.name
    if isinstance(statement, ast.PipelineSetting):
        return statement.setting.key
    return None
