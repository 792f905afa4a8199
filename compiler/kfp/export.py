"""A treadle component written out as a Kubeflow Pipelines v1 component.yaml
(`treadle export-component`), so that Kubeflow users can run it as it is."""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from .. import ir
from ..types import Type
from .model import Concat, If, ImportedComponent, Node, Ref, Spec
from .names import EXPORTED_TYPES, treadle_name


@dataclass
class Export:
    text: str
    losses: list[str] = field(default_factory=list)  # what a component.yaml cannot say, in words
    problems: list[str] = field(default_factory=list)  # what stops the export


_PIECE_KINDS = {ir.InputValue: "inputValue", ir.InputPath: "inputPath", ir.OutputPath: "outputPath"}


def spec_of_component(component: ir.ComponentSpec) -> tuple[Spec, list[str], list[str]]:
    """(spec, losses, problems) of a treadle component."""
    losses: list[str] = []
    problems: list[str] = []

    def node(argument: ir.Argument) -> Node:
        parts = [piece if isinstance(piece, str) else Ref(_PIECE_KINDS[type(piece)], piece.name) for piece in argument]
        return parts[0] if len(parts) == 1 else Concat(tuple(parts))

    env = []
    for variable in component.settings.env:
        if isinstance(variable.value, str):
            env.append((variable.name, variable.value))
        else:
            what = "a secret" if isinstance(variable.value, ir.SecretRef) else "an input's value"
            problems.append(f"environment variable {variable.name} holds {what}; a component.yaml's env holds text only")
    settings = component.settings
    dropped = [name for name, value in (
        ("retries", settings.retries), ("timeout", settings.timeout_seconds), ("mpi", settings.mpi),
        ("resources", settings.resources != ir.Resources()), ("node_selector", settings.node_selector),
        ("tolerations", settings.tolerations), ("volumes", settings.volumes),
        ("security", settings.security != ir.Security()), ("image_pull_policy", settings.image_pull_policy),
        ("deterministic", settings.deterministic), ("cache", not settings.cache)) if value]
    if dropped:
        losses.append("settings a component.yaml has no field for: " + ", ".join(dropped) +
                      " (set them on the Kubeflow task instead)")
    for port in component.inputs + component.outputs:
        if treadle_name(port.name) != port.name:
            losses.append(f"'{port.name}' imports back as '{treadle_name(port.name)}', as Kubeflow names it in Python")
        if port.type.is_list and port.type.element is not None:
            losses.append(f"'{port.name}' is {port.type}; Kubeflow's JsonArray does not say the element type")
    spec = Spec(component.name, component.description, component.inputs, component.outputs, component.image,
                tuple(node(a) for a in component.command), tuple(node(a) for a in component.args), tuple(env))
    return spec, losses, problems


def _kfp_type(port_type: Type) -> str:
    return EXPORTED_TYPES[port_type.name]


def spec_dict(spec: Spec) -> dict:
    """The spec as a component.yaml's data: inputs and outputs under the names the spec was
    read with (a treadle component's names import as themselves); defaults as the text the
    container receives."""
    input_names = dict(spec.input_names)
    output_names = dict(spec.output_names)

    def node_of(node: Node):
        if isinstance(node, Ref):
            names = output_names if node.kind in ("outputPath", "outputUri") else input_names
            return {node.kind: names.get(node.name, node.name)}
        if isinstance(node, Concat):
            return {"concat": [node_of(item) for item in node.items]}
        if isinstance(node, If):
            body: dict = {"cond": node_of(node.condition), "then": [node_of(item) for item in node.then]}
            if node.otherwise:
                body["else"] = [node_of(item) for item in node.otherwise]
            return {"if": body}
        return node

    document: dict = {"name": spec.name}
    if spec.description:
        document["description"] = spec.description
    inputs = []
    for port in spec.inputs:
        entry: dict = {"name": input_names.get(port.name, port.name), "type": _kfp_type(port.type)}
        if port.description:
            entry["description"] = port.description
        if port.has_default:
            entry["default"] = ir.render_value(port.default)
        if port.optional:
            entry["optional"] = True
        inputs.append(entry)
    if inputs:
        document["inputs"] = inputs
    outputs = []
    for port in spec.outputs:
        entry = {"name": output_names.get(port.name, port.name), "type": _kfp_type(port.type)}
        if port.description:
            entry["description"] = port.description
        outputs.append(entry)
    if outputs:
        document["outputs"] = outputs
    container: dict = {"image": spec.image}
    if spec.command:
        container["command"] = [node_of(item) for item in spec.command]
    if spec.args:
        container["args"] = [node_of(item) for item in spec.args]
    if spec.env:
        container["env"] = dict(spec.env)
    document["implementation"] = {"container": container}
    return document


class _Dumper(yaml.SafeDumper):
    """Readable output: multi-line text as a literal block, keys in the spec's order."""


_OTHER_BREAKS = ("\x85", "\u2028", "\u2029", "\r")  # line breaks to YAML, which PyYAML may write raw


def _text(dumper: yaml.SafeDumper, value: str):
    if any(char in value for char in _OTHER_BREAKS):
        style = '"'  # escaped, so they read back as themselves
    else:
        style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump(spec: Spec) -> str:
    return yaml.dump(spec_dict(spec), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)


def export_from_program(program, checked, name: str) -> Export | str:
    """The export of component `name` as the first entry file sees it, or why there is none.
    `program` and `checked` are the front end's (`resolve.Program`, `typecheck.CheckedProgram`)."""
    from .. import ast

    entry = program.entries[0]
    symbol = program.scopes[entry.key].get(name)
    components = sorted(n for n, s in program.scopes[entry.key].items() if isinstance(s.declaration, ast.Component))
    known = ", ".join(components) or "none"
    if symbol is None or not isinstance(symbol.declaration, ast.Component):
        return f"{entry.path} has no component '{name}' (components: {known})"
    if isinstance(symbol.declaration, ImportedComponent):
        return export_component(symbol.declaration, None)
    spec = next((component for component in checked.components if component.name == name), None)
    if spec is None or symbol.module is not entry:  # imported from another .treadle module
        from ..diagnostics import Diagnostics
        from ..typecheck import Checker

        spec = Checker(program, Diagnostics()).component(symbol.module, symbol.declaration)
    return export_component(None, spec)


def export_component(declaration, checked: ir.ComponentSpec | None) -> Export:
    """A component.yaml for a component declared in treadle (`checked`) or imported from
    another component.yaml (`declaration`, an ImportedComponent)."""
    if isinstance(declaration, ImportedComponent):
        return Export(dump(declaration.spec))  # as it was read: its own name, its inputs' own names
    spec, losses, problems = spec_of_component(checked)
    return Export("" if problems else dump(spec), losses, problems)
