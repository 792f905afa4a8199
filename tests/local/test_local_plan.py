"""The runner's reading of values and conditions, against the text the engines carry."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from treadle.backends.local import plan
from treadle.compiler import ir
from treadle.compiler.types import BOOL, DICT, FLOAT, INT, STR, list_of

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=4), max_leaves=10)

VALUES = [
    (st.text() | st.just("ends with a carriage return\r"), STR),
    (st.integers(), INT),
    (st.floats(allow_nan=False, allow_infinity=False), FLOAT),
    (st.booleans(), BOOL),
    (st.lists(json_values, max_size=5), list_of(None)),
    (st.dictionaries(st.text(max_size=5), json_values, max_size=5), DICT),
]


@pytest.mark.parametrize("strategy,type_", VALUES, ids=[str(t) for _, t in VALUES])
def test_a_value_written_as_the_engines_render_it_reads_back_equal(strategy, type_, tmp_path):
    @given(strategy)
    def check(value):
        path = tmp_path / "value"
        path.write_bytes((ir.render_value(value) + "\n").encode("utf-8"))  # as a step writes it, newline and all
        assert plan.read_output_value(path, type_, "output") == value

    check()


@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-10**6, 10**6),
       st.floats(allow_nan=False, allow_infinity=False) | st.integers(-10**6, 10**6),
       st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
def test_numbers_compare_as_numbers(left, right, op):
    condition = ir.Compare(op, ir.Const(left), ir.Const(right))
    expected = {"==": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
                ">": left > right, ">=": left >= right}[op]
    assert plan.condition_holds(condition, lambda b: b.value, lambda b: "float") is expected


def test_strings_compare_as_text_and_bools_by_their_text():
    text = lambda b: "str"  # noqa: E731
    assert plan.condition_holds(ir.Compare("==", ir.Const("10"), ir.Const("10.0")), lambda b: b.value, text) is False
    assert plan.condition_holds(ir.Truthy(ir.Const("TRUE")), lambda b: b.value, lambda b: "bool") is True
    assert plan.condition_holds(ir.Truthy(ir.Const("yes")), lambda b: b.value, lambda b: "bool") is False
    both = ir.And((ir.Truthy(ir.Const(True)), ir.Not(ir.Compare(">", ir.Const(1), ir.Const(2)))))
    assert plan.condition_holds(both, lambda b: b.value, lambda b: "int") is True


@pytest.mark.parametrize("text,type_,message", [
    ("5.0", INT, "is declared int but holds '5.0'"),
    ("nan", FLOAT, "is declared float but holds 'nan'"),
    ("yes", BOOL, "is declared bool but holds 'yes'"),
    ("{}", list_of(INT), "is declared list[int] but holds '{}'"),
    ("[1", DICT, "is declared dict but holds '[1'"),
])
def test_ill_typed_outputs_are_refused_with_what_they_hold(text, type_, message, tmp_path):
    path = tmp_path / "value"
    path.write_text(text)
    with pytest.raises(plan.PlanError, match=message.replace("[", r"\[")):
        plan.read_output_value(path, type_, "output 'x'")
