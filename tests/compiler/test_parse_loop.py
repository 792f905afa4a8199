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


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from('\r\x0c\t\n "#-.0123456789=<>!_aZ'),
               max_size=60))
def test_any_text_lexes_alike(driver, text):
    """Other scripts, control characters and every ASCII character: the compiled scanner
    decides most tokens from its tables and must agree with the pattern everywhere."""
    _both(driver, text)


def test_scan_tables_keep_the_patterns_order():
    tables = tokens.scan_tables([("CMP", "(?:==|<=|<)"), ("NAME", "[a-z_][a-z0-9_]*"), ("NUM", r"-?\d+"),
                                 ("NL", "\r?\n"), ("EQ", "="), ("MINUS", "-"), ("BAD", r"[\s\S]")], [r"[ \t]+"])
    assert tables.literals[ord("=")] == (("==", "CMP"), ("=", "EQ"))
    assert tables.literals[ord("<")] == (("<=", "CMP"), ("<", "CMP"))
    assert tables.literals[ord("\r")] == (("\r\n", "NL"),) and tables.literals[ord("\n")] == (("\n", "NL"),)
    assert tables.tails[ord("a")][0] == "NAME" and tables.tails[ord("a")][1][ord("9")] == 1
    # a number may start with "-": the pattern decides there, before "-" alone is tried
    assert tables.literals[ord("-")] == () and tables.tails[ord("-")] is None
    assert tables.tails[ord("5")] is None
    assert list(tables.blank[:33]).count(1) == 2


def test_scan_tables_refuse_what_they_do_not_read():
    assert tokens.scan_tables([("MAYBE", "a*"), ("BAD", r"[\s\S]")], []) is None  # may match nothing
    assert tokens.scan_tables([("A", "a"), ("BAD", r"[\s\S]")], [r"\s+"]) is None  # blanks beyond ASCII
    assert tokens.scan_tables([("A", "(?i)a"), ("BAD", r"[\s\S]")], []) is None  # `A` too
    scoped = tokens.scan_tables([("A", "(?i:a)"), ("NAME", "[A-Za-z]+"), ("BAD", r"[\s\S]")], [])
    assert scoped.tails[ord("A")] is None and scoped.tails[ord("a")] is None  # the pattern decides there


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
