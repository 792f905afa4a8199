"""A Kubeflow Pipelines v1 component spec as treadle holds it: ports with treadle names
and types, and the command line as a tree of placeholders, resolved per call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Union

from .. import ast, ir

VALUE_KINDS = ("inputValue",)
FILE_KINDS = ("inputPath", "inputUri")
OUTPUT_KINDS = ("outputPath", "outputUri")
INPUT_KINDS = VALUE_KINDS + FILE_KINDS + ("isPresent",)


@dataclass(frozen=True, slots=True)
class Ref:
    """A placeholder naming one input or output: `{inputValue: Table name}` is
    Ref("inputValue", "table_name")."""

    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class Concat:
    items: tuple["Node", ...]


@dataclass(frozen=True, slots=True)
class If:
    """`{if: {cond: ..., then: [...], else: [...]}}`; a branch given as one item is a
    one-item tuple, a missing `else` an empty one (Kubeflow expands them alike)."""

    condition: "Node"
    then: tuple["Node", ...]
    otherwise: tuple["Node", ...] = ()


Node = Union[str, Ref, Concat, If]


@dataclass(frozen=True)
class Spec:
    name: str  # the spec's own `name`, free text
    description: str
    inputs: tuple[ir.Port, ...]  # treadle names
    outputs: tuple[ir.Port, ...]
    image: str
    command: tuple[Node, ...]
    args: tuple[Node, ...]
    env: tuple[tuple[str, str], ...] = ()
    # treadle name -> the name the spec gives, for messages and export
    input_names: tuple[tuple[str, str], ...] = ()
    output_names: tuple[tuple[str, str], ...] = ()

    def input(self, name: str) -> ir.Port | None:
        return next((port for port in self.inputs if port.name == name), None)

    def output(self, name: str) -> ir.Port | None:
        return next((port for port in self.outputs if port.name == name), None)


@dataclass(slots=True, eq=False)
class ImportedComponent(ast.Component):
    """The one declaration of a module read from a component.yaml: the component under
    the name the import gives it (`as`). `generic` is what the checker checks calls against;
    each call gets its own command line from `spec` (see `argv.specialize`)."""

    imported: ClassVar[bool] = True
    spec: Spec | None = None
    generic: ir.ComponentSpec | None = None
    specialized: dict = field(default_factory=dict)  # one ComponentSpec per distinct command line
