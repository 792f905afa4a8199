"""Kubeflow Pipelines v1 component specs (`component.yaml`): reading and checking them
(`reader`), their names and types in treadle (`names`), each call's command line
(`argv`), and writing treadle components back out (`export`).

`import "train/component.yaml" as train` makes `train` a component like any declared in
treadle: the module read from the file holds one declaration, an `ImportedComponent`."""

from __future__ import annotations

from .. import ir
from ..diagnostics import Diagnostics
from ..source import SourceFile, Span
from . import tags
from .argv import specialize
from .model import ImportedComponent, Spec

__all__ = ["ImportedComponent", "Spec", "export_component", "load_component", "read_spec", "specialize"]


def __getattr__(name: str):
    """`read_spec` and `export_component` load PyYAML: only when a program uses a
    component.yaml, not on every compile."""
    if name == "read_spec":
        from .reader import read_spec

        return read_spec
    if name == "export_component":
        from .export import export_component

        return export_component
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def component_of_spec(spec: Spec, name: str, source: str) -> ir.ComponentSpec:
    """What the checker checks calls against: the ports and settings; the command line
    comes per call from `specialize`."""
    settings = ir.Settings(env=tuple(ir.EnvVar(variable, tags.env_value(value)) for variable, value in spec.env))
    return ir.ComponentSpec(name=name, image=spec.image, command=(), args=(), inputs=spec.inputs,
                            outputs=spec.outputs, settings=settings, source=source, description=spec.description)


def load_component(source: SourceFile, name: str, name_span: Span, diagnostics: Diagnostics) -> ImportedComponent | None:
    """The component a component.yaml declares, under `name`; None after reporting problems."""
    from .reader import read_spec

    spec = read_spec(source, diagnostics)
    if spec is None:
        return None
    return ImportedComponent(name=name, inputs=[], outputs=[], settings=[], span=name_span, name_span=name_span,
                             spec=spec, generic=component_of_spec(spec, name, source.path))
