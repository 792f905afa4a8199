"""Parser reductions -> AST. Pure shape-shifting plus string decoding; no name or type rules.

The parser applies these methods while it parses (no intermediate tree), so each method
gets the rule's children: AST nodes and, for rules marked `!` in the grammar, the tokens
of their punctuation, from which the spans are taken. String literals with invalid escapes
are the only problems found here (the lexer makes every reserved word a keyword, so a
name is never one).
"""

from __future__ import annotations

import re
import textwrap

from . import ast
from .diagnostics import Diagnostics
from .source import Span
from .tokens import token_end


_new = tuple.__new__  # builds a Span without the Python-level constructor: tens of thousands per file

_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
_ESCAPE = re.compile(r"\\(.)", re.S)


def trim_block(body: str) -> str:
    """A triple-quoted string as written inside indented code: a new line right after the
    opening quotes and the blank line before the closing ones are dropped, and so is the
    indentation that all lines share."""
    if body.startswith("\n"):
        body = body[1:]
    elif body.startswith("\r\n"):
        body = body[2:]
    last_newline = body.rfind("\n")
    if last_newline != -1 and not body[last_newline + 1:].strip(" \t"):
        body = body[:last_newline]
    return textwrap.dedent(body)


class _Block:
    """The items between a pair of braces, and the closing brace (for spans)."""

    __slots__ = ("items", "closing")

    def __init__(self, items: list, closing: tuple) -> None:
        self.items = items
        self.closing = closing


def _values(children: list) -> list:
    """The AST nodes among a rule's children (its punctuation tokens dropped); tokens are
    plain tuples, so nothing else here may be one."""
    return [c for c in children if type(c) is not tuple]


class ToAst:
    """One method per grammar rule (or alias), each taking the rule's children; `path`
    stamps every span."""

    def __init__(self, diagnostics: Diagnostics | None = None) -> None:
        self.path = "<text>"
        self.diagnostics = diagnostics or Diagnostics()

    def reset(self, path: str, diagnostics: Diagnostics) -> None:
        self.path = path
        self.diagnostics = diagnostics

    # -------------------------------------------------------------- helpers
    def _tok(self, token: tuple) -> Span:
        _, text, line, column, _ = token
        if "\n" in text:
            return Span(self.path, line, column, *token_end(token))
        return _new(Span, (self.path, line, column, line, column + len(text)))

    def _between(self, first, last) -> Span:
        if type(first) is tuple:
            line, column = first[2], first[3]
        else:
            line, column = first.span.line, first.span.column
        if type(last) is tuple:
            end_line, end_column = token_end(last)
        else:
            end_line, end_column = last.span.end_line, last.span.end_column
        return _new(Span, (self.path, line, column, end_line, end_column))

    def _decode(self, token: tuple) -> str:
        text = token[1]
        triple = text.startswith('"""')
        body = trim_block(text[3:-3]) if triple else text[1:-1]
        if "\\" not in body:
            return body

        def replace(match: re.Match) -> str:
            char = match.group(1)
            if char in _ESCAPES:
                return _ESCAPES[char]
            if triple:  # positions inside a trimmed block are approximate: point at the string
                span = self._tok(token)
            else:
                column = token[3] + 1 + match.start()
                span = Span(self.path, token[2], column, token[2], column + 2)
            self.diagnostics.error(
                "E003", span, f"'\\{char}' is not an escape sequence treadle knows",
                hint='the escapes are \\n, \\t, \\" and \\\\; write \\\\ for a backslash',
            )
            return char

        return _ESCAPE.sub(replace, body)

    # -------------------------------------------------------------- module
    def start(self, children):
        return children

    def import_decl(self, children):
        path_token = children[1]
        alias = children[3][1] if len(children) > 3 else None
        return ast.Import(self._decode(path_token), alias, self._between(children[0], children[-1]),
                          self._tok(path_token))

    def let_decl(self, children):
        name, value = children[1], children[3]
        return ast.Let(name[1], value, self._between(children[0], value), self._tok(name))

    def component_decl(self, children):
        name = children[1]
        inputs: list = []
        outputs: list = []
        settings: list = []
        for child in _values(children):
            if isinstance(child, _Outputs):
                outputs = child.params
            elif isinstance(child, _Block):
                settings = child.items
            elif isinstance(child, list):
                inputs = child
        span = self._between(children[0], children[-1].closing)
        return ast.Component(name[1], inputs, outputs, settings, span, self._tok(name))

    def outputs(self, children):
        return _Outputs(children[0] if children else [])

    def pipeline_decl(self, children):
        name = children[1]
        values = _values(children)
        body = values[-1]
        params = values[0] if len(values) == 2 else []
        return ast.Pipeline(name[1], params, body.items, self._between(children[0], body.closing),
                            self._tok(name))

    def params(self, children):
        return list(children)

    def param(self, children):
        name, type_ref = children[0], children[1]
        default = children[2] if len(children) > 2 else None
        return ast.Param(name[1], type_ref, default, self._between(name, children[-1]))

    def type_ref(self, children):
        argument = children[1] if len(children) > 1 else None
        return ast.TypeRef(children[0][1], argument, self._between(children[0], children[-1]))

    # -------------------------------------------------------------- settings
    def settings_block(self, children):
        return _Block([c for c in children if isinstance(c, ast.Setting)], children[-1])

    def setting_key(self, children):
        token = children[0]
        key = self._decode(token) if token[0] == "STRING" else token[1]
        return _Key(key, self._tok(token))

    def setting_value(self, children):
        key, value = children
        return ast.Setting(key.text, value, None, key.span.to(value.span), key.span)

    def setting_block(self, children):
        key, block = children
        return ast.Setting(key.text, None, block.items, key.span.to(self._tok(block.closing)), key.span)

    # -------------------------------------------------------------- statements
    def body(self, children):
        return _Block(_values(children), children[-1])

    @staticmethod
    def _clauses(clauses):
        after: list = []
        overrides: list = []
        for clause in clauses:
            if isinstance(clause, _Block):
                overrides.extend(clause.items)
            else:
                after.extend(clause)
        return after, overrides

    def _clauses_end(self, last, clauses):
        if not clauses:
            return last
        clause = clauses[-1]
        return clause.closing if isinstance(clause, _Block) else clause[-1]

    def assign(self, children):
        if len(children) == 2 and type(children[1]) is ast.Call:  # the common step: name = call(...)
            name, value = children
            span = value.span
            return ast.Step(name[1], value, [], [],
                            _new(Span, (self.path, name[2], name[3], span.end_line, span.end_column)))
        name, value, *clauses = children
        after, overrides = self._clauses(clauses)
        span = self._between(name, self._clauses_end(value, clauses))
        if isinstance(value, ast.Call):
            return ast.Step(name[1], value, after, overrides, span)
        if clauses:
            self.diagnostics.error(
                "E001", span, f"'after' and 'with' belong to steps, but '{name[1]}' is given a value, not a call",
                hint="a step calls a component: name = component(arg=value)",
            )
        return ast.PipelineSetting(ast.Setting(name[1], value, None, span, self._tok(name)))

    def call_stmt(self, children):
        call, *clauses = children
        after, overrides = self._clauses(clauses)
        return ast.Step(None, call, after, overrides, self._between(call, self._clauses_end(call, clauses)))

    def after_clause(self, children):
        return [ast.NameRef(token[1], self._tok(token)) for token in children]

    def with_clause(self, children):
        return children[0]

    def if_stmt(self, children):
        values = _values(children)
        condition, then = values[0], values[1]
        otherwise: list = []
        end = then.closing
        if len(values) > 2:
            branch = values[2]
            if isinstance(branch, ast.If):
                otherwise, end = [branch], branch
            else:
                otherwise, end = branch.items, branch.closing
        return ast.If(condition, then.items, otherwise, self._between(children[0], end))

    def for_stmt(self, children):
        variable = children[1]
        iterable, body = _values(children)
        return ast.For(variable[1], iterable, body.items, self._between(children[0], body.closing),
                       self._tok(variable))

    def finally_stmt(self, children):
        body = children[1]
        return ast.Finally(body.items, self._between(children[0], body.closing))

    # -------------------------------------------------------------- conditions
    def or_cond(self, children):
        return ast.BoolOp("or", list(children), self._between(children[0], children[-1]))

    def and_cond(self, children):
        return ast.BoolOp("and", list(children), self._between(children[0], children[-1]))

    def not_cond(self, children):
        return ast.Not(children[1], self._between(children[0], children[1]))

    def comparison(self, children):
        left, op, right = children
        return ast.Compare(op[1], left, right, self._between(left, right))

    # -------------------------------------------------------------- values
    def string(self, children):
        token = children[0]
        return ast.Literal(self._decode(token), self._tok(token))

    def number(self, children):
        _, text, line, column, _ = children[0]  # a number never spans lines; a list may hold thousands
        if text.isdigit() or (text[0] == "-" and text[1:].isdigit()):
            value: int | float = int(text)
        else:
            value = float(text)
        return ast.Literal(value, _new(Span, (self.path, line, column, line, column + len(text))))

    def boolean(self, children):
        token = children[0]
        return ast.Literal(token[1] == "true", self._tok(token))

    def list(self, children):
        return ast.ListExpr(_values(children), self._between(children[0], children[-1]))

    def dict(self, children):
        entries = [(pair[0], pair[1]) for pair in _values(children)]
        return ast.DictExpr(entries, self._between(children[0], children[-1]))

    def pair(self, children):
        key, value = children
        return [ast.Literal(self._decode(key), self._tok(key)), value]  # a list: tuples are tokens here

    # The rules below run once per name, reference, call and argument of a pipeline: they
    # build their spans directly from what they know a child is (a token or a node).
    def name(self, children):
        _, text, line, column, _ = children[0]  # a name never spans lines
        return ast.NameRef(text, _new(Span, (self.path, line, column, line, column + len(text))))

    def output_ref(self, children):
        step, output = children
        line = output[2]
        return ast.OutputRef(step[1], output[1],
                             _new(Span, (self.path, step[2], step[3], line, output[3] + len(output[1]))))

    def call(self, children):
        callee = children[0]
        closing = children[-1]  # ")"
        return ast.Call(callee[1], [c for c in children[2:-1] if type(c) is not tuple],
                        _new(Span, (self.path, callee[2], callee[3], closing[2], closing[3] + 1)))

    def keyword_arg(self, children):
        name, value = children
        span = value.span
        return ast.Argument(name[1], value, _new(Span, (self.path, name[2], name[3], span.end_line, span.end_column)))

    def positional_arg(self, children):
        value = children[0]
        return ast.Argument(None, value, value.span)


class _Outputs:
    __slots__ = ("params",)

    def __init__(self, params: list) -> None:
        self.params = params


class _Key:
    __slots__ = ("text", "span")

    def __init__(self, text: str, span: Span) -> None:
        self.text = text
        self.span = span


def build_module(path: str, items: list, comments: list[ast.Comment]) -> ast.Module:
    """Sort top-level items into a Module."""
    module = ast.Module(path, comments=comments)
    for item in items:
        if isinstance(item, ast.Import):
            module.imports.append(item)
        elif isinstance(item, ast.Let):
            module.lets.append(item)
        elif isinstance(item, ast.Component):
            module.components.append(item)
        elif isinstance(item, ast.Pipeline):
            module.pipelines.append(item)
    return module
