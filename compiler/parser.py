"""Source text -> AST, with syntax errors translated to diagnostics in this one place."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from functools import cached_property, lru_cache
from importlib import resources
from typing import TYPE_CHECKING, NamedTuple

from . import ast
from .diagnostics import Diagnostics
from .source import SourceFile, Span
from .tokens import LexFailure, TreadleLexer, compiled_loop, compiled_loop_status
from .transformer import ToAst, build_module

if TYPE_CHECKING:
    from lark import Lark

_TRANSFORMER = ToAst()
_TABLES_FORMAT = 1  # changes whenever the shape of `_tables()` does


def _grammar() -> str:
    return resources.files("treadle.grammar").joinpath("treadle.lark").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _parser() -> Lark:
    from lark import Lark

    return Lark(
        _grammar(),
        parser="lalr",
        lexer="basic",  # only for strict's collision checks; tokens come from TreadleLexer
        strict=True,
        maybe_placeholders=False,
        cache=True,  # the LALR tables, computed once per grammar version (the strict checks are slow)
    )


class _Pattern(NamedTuple):
    type: str  # "str" (a literal text) or "re"
    value: str
    regexp: str

    def to_regexp(self) -> str:
        return self.regexp


class _Terminal(NamedTuple):
    name: str
    pattern: _Pattern


@lru_cache(maxsize=1)
def _tables() -> dict:
    """The grammar's LALR automaton, rules and terminals as plain data.

    Lark computes them from `grammar/treadle.lark` (with its strict checks); importing Lark
    and loading its cache cost every start of `treadle` more than parsing a small file, so
    the result is kept as JSON in the temporary folder, keyed by the grammar's text, and a
    start reads that one file. Any problem with the file means Lark computes them again."""
    grammar = _grammar()
    digest = hashlib.sha256(f"{_TABLES_FORMAT}\0{grammar}".encode("utf-8")).hexdigest()[:24]
    path = os.path.join(tempfile.gettempdir(), f".treadle-lalr-{digest}.json")
    try:
        with open(path, encoding="utf-8") as stream:
            tables = json.load(stream)
        if tables.get("format") == _TABLES_FORMAT and tables.get("grammar") == grammar:
            return tables
    except (OSError, ValueError, AttributeError):
        pass
    tables = _tables_from_lark(_parser())
    tables.update(format=_TABLES_FORMAT, grammar=grammar)
    try:
        handle, temporary = tempfile.mkstemp(prefix=".treadle-lalr-", suffix=".tmp", dir=os.path.dirname(path))
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(tables, stream)
        os.replace(temporary, path)  # readers see the whole file or none
    except OSError:
        pass  # a read-only temporary folder: Lark computes the tables at each start
    return tables


def _tables_from_lark(lark: Lark) -> dict:
    """Lark's parse table, rules and terminals as JSON data: states map each symbol to the
    next state (shift, goto) or to -1 - the index of a rule (reduce)."""
    table = lark.parser.parser._parse_table
    rules: list[dict] = []
    index: dict = {}
    states: dict[str, dict[str, int]] = {}
    for state, actions in table.states.items():
        row = {}
        for symbol, (action, argument) in actions.items():
            if action.name == "Shift":
                row[symbol] = argument
                continue
            if argument not in index:
                index[argument] = len(rules)
                keep_all = argument.options.keep_all_tokens
                rules.append({
                    "origin": argument.origin.name,
                    "alias": argument.alias,
                    "size": len(argument.expansion),
                    "expand1": bool(argument.options.expand1),
                    # (position, whether it is an inlined `_rule`) of the children the value keeps
                    "kept": [[position, not symbol.is_term and symbol.name.startswith("_")]
                             for position, symbol in enumerate(argument.expansion)
                             if keep_all or not (symbol.is_term and symbol.filter_out)],
                })
            row[symbol] = -1 - index[argument]
        states[str(state)] = row
    terminals = [{"name": t.name, "type": t.pattern.type, "value": t.pattern.value, "regexp": t.pattern.to_regexp()}
                 for t in lark.lexer_conf.terminals]
    return {"start": table.start_states["start"], "end": table.end_states["start"], "states": states,
            "rules": rules, "terminals": terminals, "ignore": list(lark.lexer_conf.ignore)}


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
    for terminal in _tables()["terminals"]:
        if terminal["name"] not in words and terminal["type"] == "str":
            words[terminal["name"]] = f"'{terminal['value']}'"
    return words


def parse_loops() -> str:
    """Which parse loops run here, for benchmarks to print beside their figures."""
    return compiled_loop_status


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
    thousand steps that bookkeeping costs more than the lexing. The tables, the shape of
    each reduction (its ReductionPlan, which calls ToAst) and therefore the language are
    Lark's. The loop runs compiled (`_parse_loop.pyx`) where it is built; `run_python` is
    the same loop in Python.

    For the Python loop, a state is its row of actions itself (a dict), so a shift or a goto
    is one lookup: an action is the next state's row (shift, goto) or an int, the index of a
    reduction (size, function of the children or None when the value stays, rule name)."""

    def __init__(self, tables: dict, builder: ToAst) -> None:
        terminals = [_Terminal(t["name"], _Pattern(t["type"], t["value"], t["regexp"])) for t in tables["terminals"]]
        self.lexer = TreadleLexer(terminals, tables["ignore"])
        self.start_state = tables["start"]
        self.end_state = tables["end"]
        self.plans = [_plan(rule, builder) for rule in tables["rules"]]
        self.automaton = _automaton(tables, self.plans) if compiled_loop is not None else None
        self._tables = tables

    # What the Python loop and the error path read: made on first use, so that a start with
    # the compiled loop does not write out a function per rule (about 10 ms) it never calls.
    @cached_property
    def reductions(self) -> list:
        return [(rule["size"], _reduction(plan), rule["origin"]) for rule, plan in zip(self._tables["rules"], self.plans)]

    @cached_property
    def rows(self) -> dict:
        """state -> symbol -> next state (int) or the reduction (size, function, rule name)."""
        return {int(state): {symbol: action if action >= 0 else self.reductions[-1 - action]
                             for symbol, action in row.items()}
                for state, row in self._tables["states"].items()}

    @cached_property
    def fast_rows(self) -> dict:
        """The Python loop's tables: the same automaton with rows for states and ints for reductions."""
        states = self._tables["states"]
        fast = {int(state): {} for state in states}
        for state, row in states.items():
            fast_row = fast[int(state)]
            for symbol, action in row.items():
                fast_row[symbol] = fast[action] if action >= 0 else -1 - action
        return fast

    @cached_property
    def state_of(self) -> dict:
        return {id(row): state for state, row in self.fast_rows.items()}

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
        """The value of the start rule for `text`: the compiled loop where it is built."""
        tokens = self.lexer.lex(text, comments)
        if self.automaton is not None:
            return self.automaton.run(tokens, self._fail)
        return self.run_python(tokens)

    def _fail(self, token: tuple, states: list[int]):
        raise ParseFailure(token, self.expected(states))

    def run_python(self, tokens: list):
        """`run` in Python over the lexed tokens: the reference the compiled loop is tested against."""
        reductions = self.reductions
        end_row = self.fast_rows[self.end_state]
        row = self.fast_rows[self.start_state]
        states = [row]
        values: list = []
        append_state = states.append
        append_value = values.append
        for token in tokens:
            kind = token[0]
            action = row.get(kind)
            while action.__class__ is int:  # reduce
                size, function, origin = reductions[action]
                if function is None:  # a rule that passes its one child on: only the state changes
                    del states[-1]
                elif size:
                    children = values[-size:]
                    del states[-size:]
                    del values[-size:]
                    append_value(function(children))
                else:
                    append_value(function([]))
                row = states[-1][origin]
                if row is end_row:  # only ever reached on the end of the input
                    return values[-1]
                append_state(row)
                action = row.get(kind)
            if action is None:
                state_of = self.state_of
                raise ParseFailure(token, self.expected([state_of[id(state)] for state in states]))
            append_state(action)  # shift
            append_value(token)
            row = action
        raise AssertionError("the end of the input always ends the parse")


def _automaton(tables: dict, plans: list[ReductionPlan]):
    """The tables as the compiled loop reads them: one flat int array over every symbol."""
    symbols: dict[str, int] = {}
    for row in tables["states"].values():
        for symbol in row:
            symbols.setdefault(symbol, len(symbols))
    for rule in tables["rules"]:
        symbols.setdefault(rule["origin"], len(symbols))
    width = len(symbols)
    flat = [0] * ((1 + max(int(state) for state in tables["states"])) * width)
    for state, row in tables["states"].items():
        base = int(state) * width
        for symbol, action in row.items():
            flat[base + symbols[symbol]] = action + 1 if action >= 0 else action
    rules = [(rule["size"], symbols[rule["origin"]], *plan) for rule, plan in zip(tables["rules"], plans)]
    return compiled_loop.Automaton(symbols, flat, rules, tables["start"], tables["end"], _Spliced)


_SYNTAX_ERRORS = (ParseFailure, LexFailure)


class _Spliced(list):
    """The children of an inlined rule (`_name` in the grammar), spliced into its parent."""


# How a reduction finishes, once its kept children are in a list `f`.
CALL, WRAP, SAME, EXPAND = range(4)  # method(f); _Spliced(f); f as it is; f[0] if one child else method(f)
PASS = -2  # a rule whose value is its one child as it is: only the state changes


class ReductionPlan(NamedTuple):
    """How a rule turns its matched children into its value, shaped the way Lark shapes
    trees: anonymous punctuation dropped (except in `!` rules), `_rules` spliced into their
    parent, `?rules` with one child replaced by that child, and the builder's method named
    after the rule (or its alias) applied. Both parse loops follow it: the Python one as
    a function written out per rule (`_reduction`), the compiled one reading it."""

    pick: int  # PASS, or the index of the one child that is the value, or -1: build `f`
    kept: tuple  # (index, spliced) of the children that go into `f`, in order
    whole: bool  # every child kept, none spliced: the matched list is `f` as it is
    finish: int  # CALL, WRAP, SAME or EXPAND
    method: object


def _plan(rule: dict, builder: ToAst) -> ReductionPlan:
    kept = tuple((int(index), bool(splice)) for index, splice in rule["kept"])  # numbers only go into code
    size = rule["size"]
    expand1 = rule["expand1"] and not rule["alias"]
    splices = any(splice for _, splice in kept)
    name = rule["alias"] or rule["origin"]
    whole = len(kept) == size and not splices
    if name.startswith("_"):
        # the value of a `_rule` is a _Spliced list; one that starts with one grows in place
        return ReductionPlan(-1, kept, whole, SAME if kept and kept[0][1] else WRAP, None)
    if (not hasattr(builder, name) and expand1) or (expand1 and len(kept) == 1 and not splices):
        # a `?rule` given one child (or whose alternatives all reduce to one): the child itself
        return ReductionPlan(PASS if size == 1 else kept[0][0], kept, whole, CALL, None)
    # an expanding rule with spliced children: how many there are is known only when parsing
    finish = EXPAND if expand1 and splices else CALL
    return ReductionPlan(-1, kept, whole, finish, getattr(builder, name))


def _reduction(plan: ReductionPlan):
    """The plan as a Python function of the matched children (None for PASS). Which
    children a rule keeps is fixed by the rule, so each function is written out for its
    rule (no loop over the children at parse time)."""
    if plan.pick == PASS:
        return None
    if plan.pick >= 0:
        return eval(f"lambda c: c[{plan.pick}]")
    # the children list, built as written: punctuation dropped, `_rules` spliced in (left
    # recursion grows the inner list in place, never copies it)
    lines = []
    for position, (index, splice) in enumerate(plan.kept):
        if position == 0:
            lines.append(f"f = c[{index}]" if splice else f"f = [c[{index}]]")
        else:
            lines.append(f"f += c[{index}]" if splice else f"f.append(c[{index}])")
    if plan.whole:
        lines = ["f = c"]  # every child kept: the driver's fresh list serves as it is
    elif not plan.kept:
        lines = ["f = []"]
    result = {CALL: "method(f)", WRAP: "_Spliced(f)", SAME: "f",
              EXPAND: "f[0] if len(f) == 1 else method(f)"}[plan.finish]
    source = "def reduce(c):\n" + "".join(f"    {line}\n" for line in lines) + f"    return {result}\n"
    namespace = {"method": plan.method, "_Spliced": _Spliced}
    exec(source, namespace)
    return namespace["reduce"]


@lru_cache(maxsize=1)
def _driver() -> _Driver:
    return _Driver(_tables(), _TRANSFORMER)


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
