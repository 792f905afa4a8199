"""Source text -> AST, with syntax errors translated to diagnostics in this one place."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from lark import Lark

from . import ast
from .diagnostics import Diagnostics
from .source import SourceFile, Span
from .tokens import LexFailure, TreadleLexer
from .transformer import ToAst, build_module

_TRANSFORMER = ToAst()


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = resources.files("treadle.grammar").joinpath("treadle.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="basic",  # only for strict's collision checks; tokens come from TreadleLexer
        strict=True,
        maybe_placeholders=False,
        cache=True,  # the LALR tables, computed once per grammar version (the strict checks are slow)
    )


@lru_cache(maxsize=1)
def _terminal_words() -> dict[str, str]:
    words = {
        "NAME": "a name",
        "NUMBER": "a number",
        "STRING": "a string",
        "COMPARE": "a comparison (==, !=, <, <=, >, >=)",
        "_NL": "a new line",
        "$END": "the end of the file",
    }
    for terminal in _parser().terminals:
        if terminal.name not in words and terminal.pattern.type == "str":
            words[terminal.name] = f"'{terminal.pattern.value}'"
    return words


def keywords() -> tuple[str, ...]:
    """The reserved words of the language, as the lexer knows them from the grammar."""
    return tuple(sorted(_driver().lexer.keywords))


def describe_token(kind: str) -> str:
    return _terminal_words().get(kind, kind.lower())


def _expected_words(expected) -> str:
    words = sorted({describe_token(kind) for kind in expected})
    if not words:
        return "something else"
    if len(words) == 1:
        return words[0]
    if len(words) > 6:
        return ", ".join(words[:6]) + " or another token"
    return ", ".join(words[:-1]) + " or " + words[-1]


def _found(token: tuple) -> str:
    kind, text = token[0], token[1]
    if kind == "$END":
        return "the end of the file"
    if kind == "_NL":
        return "the end of the line"
    if kind == "STRING":
        return f"the string {text}"
    if kind in ("NAME", "NUMBER"):
        return f"{describe_token(kind)} {text!r}"
    return describe_token(kind)


def _hint_for(token: tuple, expected: set[str]) -> str | None:
    """Dedicated advice for the mistakes people make most."""
    kind, text = token[0], token[1]
    if kind == "EQUAL" and "COMPARE" in expected:
        return "compare with '==', '=' assigns"
    if kind == "NAME" and text in ("elif", "elsif"):
        return "write 'else if'"
    if kind == "NAME" and "COMMA" in expected:
        return "separate items with ','"
    if kind == "$END" and expected & {"RBRACE", "RPAR", "RSQB"}:
        return "a bracket or brace opened above is never closed"
    if kind == "LBRACE" and "RPAR" in expected:
        return "close the parameter list with ')' before '{'"
    if kind == "NAME" and "EQUAL" in expected:
        return "settings and arguments are written name = value"
    return None


def _syntax_diagnostic(source: SourceFile, error: Exception, diagnostics: Diagnostics) -> None:
    if isinstance(error, LexFailure):
        line, column = error.line, error.column
        char = source.text[error.offset] if error.offset < len(source.text) else ""
        span = Span(source.path, line, column, line, column + 1)
        if char == '"':
            span = Span(source.path, line, column, line, len(source.line_text(line)) + 1)
            diagnostics.error("E002", span, "this string is not closed before the end of the line",
                              hint='close it with "; write \\n for a line break inside a string')
        elif char == "'":
            diagnostics.error("E004", span, "strings are written in double quotes", hint='write "text", not \'text\'')
        elif char == ";":
            diagnostics.error("E004", span, "treadle has no semicolons", hint="put one statement per line")
        else:
            diagnostics.error("E004", span, f"unexpected character {char!r}",
                              hint="names are letters, digits and '_'; remove the character or quote the text")
        return
    assert isinstance(error, ParseFailure)
    token = error.token
    if token[0] == "$END":
        span = source.end_span
    else:
        span = Span(source.path, token[2], token[3], token[2], token[3] + max(1, len(token[1])))
    diagnostics.error("E001", span, f"expected {_expected_words(error.expected)}, found {_found(token)}",
                      hint=_hint_for(token, error.expected))


_TOP_LEVEL = re.compile(r"^(import|let|component|pipeline)\b", re.M)
_MAX_RECOVERY_CHUNKS = 200


def _blank_except(text: str, start: int, end: int) -> str:
    """The text with everything outside [start, end) turned to spaces, new lines kept, so positions hold."""

    def blank(part: str) -> str:
        return re.sub(r"[^\n]", " ", part)

    return blank(text[:start]) + text[start:end] + blank(text[end:])


class ParseFailure(Exception):
    """A token the grammar does not allow where it stands."""

    def __init__(self, token: tuple, expected: set[str]) -> None:
        super().__init__(f"unexpected {token[0]} at {token[2]}:{token[3]}")
        self.token = token
        self.expected = expected
        self.line = token[2]
        self.column = token[3]


class _Driver:
    """The LALR(1) automaton of the grammar (Lark computes the tables) run in a tight loop.

    Lark's own driver keeps its state on objects and looks it up on every token; at ten
    thousand steps that bookkeeping costs more than the lexing. The tables, the reductions
    (Lark's callbacks, which call ToAst) and therefore the language are Lark's."""

    def __init__(self, lark: Lark, builder: ToAst) -> None:
        lalr = lark.parser.parser
        table = lalr._parse_table
        callbacks: dict = {}
        self.lexer = TreadleLexer(lark.lexer_conf.terminals, lark.lexer_conf.ignore)
        self.start_state = table.start_states["start"]
        self.end_state = table.end_states["start"]
        self.rows: dict = {}
        for state, actions in table.states.items():
            row = {}
            for symbol, (action, argument) in actions.items():
                if action.name == "Shift":
                    row[symbol] = argument  # shift: the next state, an int
                else:
                    if argument not in callbacks:
                        callbacks[argument] = _reduction(argument, builder)
                    row[symbol] = (len(argument.expansion), callbacks[argument], argument.origin.name)  # reduce
            self.rows[state] = row

    def expected(self, states: list) -> set[str]:
        """The terminals that would really be shifted here: LALR merges lookaheads, so a
        token may select a reduction in this state and still fail after it."""
        rows = self.rows
        result = set()
        for symbol in rows[states[-1]]:
            if not (symbol.isupper() or symbol == "$END"):
                continue
            stack = list(states)
            while True:
                action = rows[stack[-1]].get(symbol)
                if action is None:
                    break
                if type(action) is int or symbol == "$END" and stack[-1] == self.end_state:
                    result.add(symbol)
                    break
                size, _, origin = action
                if size:
                    del stack[-size:]
                goto = rows[stack[-1]].get(origin)
                if goto is None:
                    result.add(symbol)  # reduces to the start symbol: the end of the input is welcome
                    break
                stack.append(goto)
        return result

    def run(self, text: str, comments: list):
        rows = self.rows
        end_state = self.end_state
        states = [self.start_state]
        values: list = []
        row = rows[self.start_state]
        for token in self.lexer.lex(text, comments):
            kind = token[0]
            while True:
                action = row.get(kind)
                if type(action) is int:  # shift
                    states.append(action)
                    values.append(token)
                    row = rows[action]
                    break
                if action is None:
                    raise ParseFailure(token, self.expected(states))
                size, callback, origin = action
                if size:
                    children = values[-size:]
                    del states[-size:]
                    del values[-size:]
                else:
                    children = []
                values.append(callback(children))
                state = rows[states[-1]][origin]
                if state == end_state:  # only ever reached on the end of the input
                    return values[-1]
                states.append(state)
                row = rows[state]
        raise AssertionError("the end of the input always ends the parse")


_SYNTAX_ERRORS = (ParseFailure, LexFailure)


def _only_child(children):
    (child,) = children
    return child


class _Spliced(list):
    """The children of an inlined rule (`_name` in the grammar), spliced into its parent."""


def _spliced(children: list) -> _Spliced:
    return children if type(children) is _Spliced else _Spliced(children)


def _reduction(rule, builder: ToAst):
    """The function that turns a rule's matched children into its value, shaped the way
    Lark shapes trees: anonymous punctuation dropped (except in `!` rules), `_rules`
    spliced into their parent, `?rules` with one child replaced by that child, and the
    builder's method named after the rule (or its alias) applied."""
    keep_all = rule.options.keep_all_tokens
    kept = [(index, not symbol.is_term and symbol.name.startswith("_"))
            for index, symbol in enumerate(rule.expansion)
            if keep_all or not (symbol.is_term and symbol.filter_out)]
    identity = len(kept) == len(rule.expansion) and not any(splice for _, splice in kept)
    name = rule.alias or rule.origin.name
    if name.startswith("_"):
        method = _spliced
    elif not hasattr(builder, name) and rule.options.expand1 and not rule.alias:
        method = _only_child  # a `?rule` whose alternatives all reduce to one child
    else:
        method = getattr(builder, name)
        if rule.options.expand1 and not rule.alias:
            inner = method

            def method(children, inner=inner):
                return children[0] if len(children) == 1 else inner(children)

    if identity:
        return method

    def reduce(children):
        filtered = None
        for index, splice in kept:
            if splice:
                if filtered is None:  # left recursion: grow the inner list in place, never copy it
                    filtered = children[index]
                else:
                    filtered += children[index]
            elif filtered is None:
                filtered = [children[index]]
            else:
                filtered.append(children[index])
        return method(filtered if filtered is not None else [])

    return reduce


@lru_cache(maxsize=1)
def _driver() -> _Driver:
    return _Driver(_parser(), _TRANSFORMER)


def _parse_text(text: str, path: str, diagnostics: Diagnostics):
    comments: list = []
    _TRANSFORMER.reset(path, diagnostics)
    items = _driver().run(text, comments)
    return items, comments


def parse(source: SourceFile, diagnostics: Diagnostics) -> ast.Module | None:
    """Parse one file. On syntax errors, every top-level declaration is tried on its own so that
    the errors of all of them are reported at once; None is returned then."""
    local = Diagnostics()
    try:
        items, comment_tokens = _parse_text(source.text, source.path, local)
    except _SYNTAX_ERRORS as first_error:
        _recover(source, first_error, diagnostics)
        return None
    diagnostics.extend(local)
    comments = [ast.Comment(t[1], Span(source.path, t[2], t[3], t[2], t[3] + len(t[1]))) for t in comment_tokens]
    return build_module(source.path, items, comments)


def _error_position(error: Exception) -> tuple[int, int]:
    if isinstance(error, ParseFailure) and error.token[0] == "$END":
        return (-1, -1)
    return (getattr(error, "line", -1), getattr(error, "column", -1))


def _recover(source: SourceFile, first_error: Exception, diagnostics: Diagnostics) -> None:
    starts = [m.start() for m in _TOP_LEVEL.finditer(source.text)]
    reported: set[tuple[int, int]] = set()

    def report(error: Exception) -> None:
        position = _error_position(error)
        if position not in reported:
            reported.add(position)
            _syntax_diagnostic(source, error, diagnostics)

    if len(starts) < 2 or len(starts) > _MAX_RECOVERY_CHUNKS:
        report(first_error)
        return
    bounds = list(zip(starts, starts[1:] + [len(source.text)]))
    if starts[0] > 0:
        bounds.insert(0, (0, starts[0]))
    for start, end in bounds:
        try:
            _parse_text(_blank_except(source.text, start, end), source.path, Diagnostics())
        except _SYNTAX_ERRORS as error:
            report(error)
    if not reported:
        report(first_error)
