"""The typed syntax tree. Every node carries the span of the text it came from.

Nodes are plain dataclasses with no behaviour: resolution, checking and lowering are
separate modules that read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Union

from .source import Span


# ---------------------------------------------------------------- values and conditions
@dataclass(slots=True)
class Literal:
    """A string, number or boolean written in the source."""

    value: str | int | float | bool
    span: Span


@dataclass(slots=True)
class ListExpr:
    items: list["Expr"]
    span: Span


@dataclass(slots=True)
class DictExpr:
    entries: list[tuple[Literal, "Expr"]]
    span: Span


@dataclass(slots=True)
class NameRef:
    """A bare name: a parameter, a let, a loop variable, or (in components) an input or output."""

    name: str
    span: Span


def _head(span: Span, length: int) -> Span:
    """The first `length` characters of a span (a name that starts it)."""
    return Span(span.path, span.line, span.column, span.line, span.column + length)


@dataclass(slots=True)
class OutputRef:
    """`step.output`. The spans of its two names are derived, not stored: references are many."""

    step: str
    output: str
    span: Span

    @property
    def step_span(self) -> Span:
        return _head(self.span, len(self.step))

    @property
    def output_span(self) -> Span:
        span = self.span
        return Span(span.path, span.end_line, span.end_column - len(self.output), span.end_line, span.end_column)


@dataclass(slots=True)
class Argument:
    name: str | None  # None for a positional argument, which the checker rejects
    value: "Expr"
    span: Span

    @property
    def name_span(self) -> Span:
        return _head(self.span, len(self.name)) if self.name else self.span


@dataclass(slots=True)
class Call:
    callee: str
    arguments: list[Argument]
    span: Span

    @property
    def callee_span(self) -> Span:
        return _head(self.span, len(self.callee))


@dataclass(slots=True)
class Compare:
    op: str
    left: "Condition"
    right: "Condition"
    span: Span


@dataclass(slots=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: list["Condition"]
    span: Span


@dataclass(slots=True)
class Not:
    operand: "Condition"
    span: Span


Expr = Union[Literal, ListExpr, DictExpr, NameRef, OutputRef, Call]
Condition = Union[Expr, Compare, BoolOp, Not]


# ---------------------------------------------------------------- declarations
@dataclass(slots=True)
class TypeRef:
    name: str
    argument: "TypeRef | None"
    span: Span


@dataclass(slots=True)
class Param:
    """An input or output of a component, or a parameter of a pipeline."""

    name: str
    type: TypeRef
    default: Expr | None
    span: Span

    @property
    def name_span(self) -> Span:
        return _head(self.span, len(self.name))


@dataclass(slots=True)
class Setting:
    """`key = value` or `key { settings }`; exactly one of value and block is set."""

    key: str
    value: Expr | None
    block: list["Setting"] | None
    span: Span
    key_span: Span


@dataclass(slots=True)
class Import:
    path: str
    alias: str | None
    span: Span
    path_span: Span


@dataclass(slots=True)
class Let:
    name: str
    value: Expr
    span: Span
    name_span: Span


@dataclass(slots=True)
class Component:
    name: str
    inputs: list[Param]
    outputs: list[Param]
    settings: list[Setting]
    span: Span
    name_span: Span
    # Read from a Kubeflow component.yaml (`kfp.ImportedComponent`): the checker asks this,
    # so that a program without such an import never loads the Kubeflow reader.
    imported: ClassVar[bool] = False


# ---------------------------------------------------------------- pipeline statements
@dataclass(slots=True)
class Step:
    """A call of a component, named (`rf = forest(...)`) or not (`publish(...)`)."""

    name: str | None
    call: Call
    after: list[NameRef]
    overrides: list[Setting]
    span: Span

    @property
    def name_span(self) -> Span | None:
        return _head(self.span, len(self.name)) if self.name else None


@dataclass(slots=True)
class PipelineSetting:
    """`name = value` at the top of a pipeline body (schedule, parallelism, ...)."""

    setting: Setting


@dataclass(slots=True)
class If:
    condition: Condition
    then: list["Statement"]
    otherwise: list["Statement"]
    span: Span


@dataclass(slots=True)
class For:
    variable: str
    iterable: Expr
    body: list["Statement"]
    span: Span
    variable_span: Span


@dataclass(slots=True)
class Finally:
    body: list["Statement"]
    span: Span


Statement = Union[Step, PipelineSetting, If, For, Finally]


@dataclass(slots=True)
class Pipeline:
    name: str
    params: list[Param]
    body: list[Statement]
    span: Span
    name_span: Span


@dataclass(slots=True)
class Comment:
    text: str
    span: Span


@dataclass(slots=True)
class Module:
    path: str
    imports: list[Import] = field(default_factory=list)
    lets: list[Let] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)
    pipelines: list[Pipeline] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
