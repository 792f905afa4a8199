"""The compiled parse loops (`compiler/_parse_loop.pyx`) against their Python reference:
equal tokens, equal trees and equal syntax errors on generated and mutated programs."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treadle.compiler import parser, tokens
from treadle.compiler.diagnostics import Diagnostics

from ..generators import programs
from .test_properties import _mutate


@pytest.fixture(scope="module")
def driver():
    if tokens.compiled_loop is None:
        if os.environ.get("CI") == "true" and not os.environ.get("TREADLE_PURE_PYTHON"):
            pytest.fail(f"the install must build compiler/_parse_loop.pyx; parse loops: {tokens.compiled_loop_status}")
        pytest.skip(f"parse loops: {tokens.compiled_loop_status}")
    return parser._driver()


def _outcome(function, *arguments):
    """A result or the syntax error it raised, in a form that compares by value."""
    try:
        return ("value", function(*arguments))
    except tokens.LexFailure as error:
        return ("lex", error.offset, error.line, error.column)
    except parser.ParseFailure as error:
        return ("parse", error.token, sorted(error.expected))


def _both(driver, text: str):
    parser._TRANSFORMER.reset("t.treadle", Diagnostics())
    python_comments: list = []
    compiled_comments: list = []
    python_tokens = _outcome(driver.lexer.lex_python, text, python_comments)
    compiled_tokens = _outcome(tokens.compiled_loop.lex, driver.lexer, text, compiled_comments, tokens.LexFailure)
    assert compiled_tokens == python_tokens
    assert compiled_comments == python_comments
    if python_tokens[0] != "value":
        return
    stream = python_tokens[1]
    python_tree = _outcome(driver.run_python, stream)
    compiled_tree = _outcome(driver.automaton.run, stream, driver._fail)
    assert compiled_tree == python_tree


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_generated_programs_parse_alike(driver, program):
    _both(driver, program[0])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.data())
def test_mutated_programs_fail_alike(driver, program, data):
    text, _ = program
    for _ in range(data.draw(st.integers(1, 3))):
        text = _mutate(text, data)
    _both(driver, text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='abc xyz_09."\'{}()[]=,:#\n\t-<>!\\', max_size=80))
def test_arbitrary_text_lexes_alike(driver, text):
    _both(driver, text)


def test_deep_nesting_grows_the_state_stack(driver):
    depth = 400  # more states than the loop's first allocation (256) holds
    text = "let x = " + "[" * depth + "1" + "]" * depth + "\n"
    trees = []
    for run in (driver.run_python, lambda stream: driver.automaton.run(stream, driver._fail)):
        parser._TRANSFORMER.reset("t.treadle", Diagnostics())
        (let,) = run(driver.lexer.lex(text, []))
        value, spans = let.value, []
        for _ in range(depth):  # walked, not compared: equality would recurse 400 levels
            spans.append(value.span)
            (value,) = value.items
        trees.append((spans, value))
    assert trees[0] == trees[1]
    assert trees[1][1].value == 1


def test_an_unclosed_list_reports_the_end_of_the_file(driver):
    parser._TRANSFORMER.reset("t.treadle", Diagnostics())
    with pytest.raises(parser.ParseFailure) as raised:
        driver.run("let x = [1, 2\n", [])
    assert raised.value.token[0] == "$END"
    assert {"RSQB", "COMMA"} <= raised.value.expected
