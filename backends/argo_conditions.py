"""`if` guards as Argo `when` strings.

Argo substitutes a `when` and then evaluates it with its own small language. Pasting a
string value into that language would let quotes in the value change the condition, so a
guard becomes one expression tag, `{{=...}}`, which Argo evaluates to `true` or `false`
with the values as data: numbers through `asFloat`, bools by their text, strings compared
as strings. Argo evaluates a tag only once every value it names exists, and values of a
loop body's inputs exist at a different moment than task outputs; so a comparison mixing
the two is split into one tag per operand, joined in the `when` language (strings then
compare as base64 text, which is equal exactly when the strings are).
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Callable

from ..compiler import ir
from . import argo_values as values

Operand = Callable[[ir.Binding], object]  # a binding -> its Ref, or the literal value of a Const
TypeOf = Callable[[ir.Binding], str]


def render_when(conditions: tuple[ir.Condition, ...], operand: Operand, type_of: TypeOf) -> str:
    condition = conditions[0] if len(conditions) == 1 else ir.And(tuple(conditions))
    return _Renderer(operand, type_of).when(condition)


class _Renderer:
    def __init__(self, operand: Operand, type_of: TypeOf) -> None:
        self.operand = operand
        self.type_of = type_of

    def contexts(self, condition: ir.Condition) -> set[str]:
        found = set()
        for binding in ir.condition_bindings(condition):
            value = self.operand(binding)
            if isinstance(value, values.Ref):
                found.add(value.context)
        return found

    def when(self, condition: ir.Condition) -> str:
        if len(self.contexts(condition)) <= 1:
            return "{{=" + self.expr(condition) + "}}"
        if isinstance(condition, (ir.And, ir.Or)):
            joiner = " && " if isinstance(condition, ir.And) else " || "
            return "(" + joiner.join(self.when(operand) for operand in condition.operands) + ")"
        if isinstance(condition, ir.Not):
            return "!(" + self.when(condition.operand) + ")"
        return self.split_compare(condition)

    # ------------------------------------------------------------ one expression tag
    def expr(self, condition: ir.Condition) -> str:
        if isinstance(condition, ir.And):
            return "(" + " && ".join(self.expr(operand) for operand in condition.operands) + ")"
        if isinstance(condition, ir.Or):
            return "(" + " || ".join(self.expr(operand) for operand in condition.operands) + ")"
        if isinstance(condition, ir.Not):
            return "!(" + self.expr(condition.operand) + ")"
        if isinstance(condition, ir.Truthy):
            return self.as_bool(condition.operand)
        kind = self.compare_kind(condition)
        convert = {"number": self.as_number, "bool": self.as_bool, "str": self.as_str}[kind]
        return f"{convert(condition.left)} {condition.op} {convert(condition.right)}"

    def compare_kind(self, condition: ir.Compare) -> str:
        kinds = {self.type_of(condition.left), self.type_of(condition.right)}
        if kinds & {"int", "float"}:
            return "number"
        return "bool" if "bool" in kinds else "str"

    def as_number(self, binding: ir.Binding) -> str:
        value = self.operand(binding)
        if isinstance(value, values.Ref):
            return f"asFloat({value.expr()})"
        text = repr(float(value)) if isinstance(value, float) else str(int(value))
        return f"asFloat('{text}')" if any(c in text for c in "eEin") else text

    def as_bool(self, binding: ir.Binding) -> str:
        value = self.operand(binding)
        if isinstance(value, values.Ref):
            return f"(sprig.lower({value.expr()}) == 'true')"
        return "true" if value else "false"

    def as_str(self, binding: ir.Binding) -> str:
        value = self.operand(binding)
        if isinstance(value, values.Ref):
            return value.expr()
        return values.expr_string(ir.render_value(value))

    # ------------------------------------------------------------ one tag per operand
    def split_compare(self, condition: ir.Condition) -> str:
        if isinstance(condition, ir.Truthy):
            return "{{=" + self.as_bool(condition.operand) + "}}"
        kind = self.compare_kind(condition)
        left, right = (self.atom(side, kind) for side in (condition.left, condition.right))
        return f"({left} {condition.op} {right})"

    def atom(self, binding: ir.Binding, kind: str) -> str:
        value = self.operand(binding)
        if kind == "bool":
            return "{{=" + self.as_bool(binding) + "}}"
        if kind == "number":
            # The value's own text: Argo's `when` language reads plain decimals, and prints
            # floats with exponents, so the text is left as the step wrote it.
            return value.tag() if isinstance(value, values.Ref) else _plain_decimal(value)
        if isinstance(value, values.Ref):
            return "'{{=sprig.b64enc(" + value.expr() + ")}}'"
        return "'" + base64.b64encode(ir.render_value(value).encode("utf-8")).decode("ascii") + "'"


def _plain_decimal(number: int | float) -> str:
    """A number without an exponent, exactly as Python holds it."""
    if isinstance(number, int):
        return str(number)
    return format(Decimal(repr(number)), "f")
