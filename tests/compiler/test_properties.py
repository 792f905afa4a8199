"""Properties over generated programs: valid ones check clean and lower to a sound IR;
mutated ones give diagnostics, never an exception."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treadle.compiler import ir

from ..generators import programs
from ..helpers import compile_text

TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|\w+|->|[=!<>]=|\S')


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_generated_programs_check_clean_and_lower_to_valid_ir(program):
    text, steps = program
    result = compile_text(text)
    errors = [d for d in result.diagnostics if d.is_error]
    assert errors == [], (text, errors)
    graph = result.pipelines["generated"]
    assert ir.validate(graph) == []
    assert graph.number_of_nodes() == steps


def _mutate(text: str, data) -> str:
    tokens = [m for m in TOKEN.finditer(text)]
    kind = data.draw(st.sampled_from(["delete", "duplicate", "swap", "truncate", "insert"]))
    if kind == "truncate" or not tokens:
        return text[: data.draw(st.integers(0, len(text)))]
    index = data.draw(st.integers(0, len(tokens) - 1))
    token = tokens[index]
    if kind == "delete":
        return text[: token.start()] + text[token.end():]
    if kind == "duplicate":
        return text[: token.end()] + " " + token.group() + text[token.end():]
    if kind == "insert":
        char = data.draw(st.sampled_from(list("{}()[],=.:;'\"#\\-<>!@$%\n") + ["if", "for", "with", "after"]))
        return text[: token.start()] + char + text[token.start():]
    other = tokens[min(index + 1, len(tokens) - 1)]
    return text[: token.start()] + other.group() + text[token.end(): other.start()] + token.group() + text[other.end():]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.data())
def test_mutated_programs_never_raise(program, data):
    text, _ = program
    for _ in range(data.draw(st.integers(1, 3))):
        text = _mutate(text, data)
    result = compile_text(text)  # must not raise
    for diagnostic in result.diagnostics:
        assert diagnostic.span.line >= 1 and diagnostic.span.column >= 1
        assert diagnostic.message
    if result.ok:
        for graph in result.pipelines.values():
            assert ir.validate(graph) == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.data())
def test_checking_without_lowering_reports_what_compiling_reports(program, data):
    """`treadle check` stops before lowering (lowering reports nothing): the diagnostics of
    valid and mutated programs are those of a whole compile, in the same order."""
    from treadle.compiler.frontend import check_sources
    from treadle.compiler.source import SourceFile

    text, _ = program
    if data.draw(st.booleans()):
        text = _mutate(text, data)
    checked = check_sources([SourceFile("main.treadle", text)]).diagnostics.sorted()
    compiled = compile_text(text).diagnostics.sorted()
    assert [d.to_json() for d in checked] == [d.to_json() for d in compiled]


def _treadle_literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'
    if isinstance(value, list):
        return "[" + ",\n ".join(_treadle_literal(item) for item in value) + "]"
    return "{" + ", ".join(f"{_treadle_literal(k)}: {_treadle_literal(v)}" for k, v in value.items()) + "}"


_VALUES = st.recursive(
    st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8", exclude_categories=("Cs",))),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(_VALUES)
def test_literals_reach_the_ir_unchanged(value):
    result = compile_text(f"let VALUE = {_treadle_literal(value)}\n")
    assert result.ok, [d.message for d in result.diagnostics]
    module = result.program.entries[0]
    from treadle.compiler.typecheck import Checker

    checker = Checker(result.program, result.diagnostics)
    assert checker.let_value(module, module.module.lets[0]) == value
