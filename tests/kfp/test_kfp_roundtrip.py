"""Round trips through export and import: a generated Kubeflow spec imports, exports and
imports again to the same spec; a generated treadle component exports and imports back
to the same ports and, for any call, the same command line."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treadle.compiler import ir, kfp, types
from treadle.compiler.diagnostics import Diagnostics
from treadle.compiler.kfp.argv import specialize
from treadle.compiler.kfp.export import dump, spec_of_component
from treadle.compiler.kfp.names import treadle_name
from treadle.compiler.source import SourceFile

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
NAME_TEXT = st.text(st.sampled_from("aBc xY_-9 "), min_size=1, max_size=8)
KFP_TYPES = st.sampled_from([None, "String", "Integer", "Float", "Boolean", "Bool", "JsonArray", "JsonObject",
                             "CSV", "Model", "GCPProjectID", "UI metadata", {"GcsPath": {"data_type": "TSV"}}])
DEFAULTS = {"Integer": st.integers(-99, 99).map(str), "Float": st.floats(-1e6, 1e6).map(repr),
            "Boolean": st.sampled_from(["true", "False"]), "Bool": st.sampled_from(["true", "False"]),
            "JsonArray": st.sampled_from(["[]", "[1, 2]", ""]), "JsonObject": st.sampled_from(["{}", '{"a":1}'])}
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _load(text: str) -> kfp.ImportedComponent:
    diagnostics = Diagnostics()
    component = kfp.load_component(SourceFile("c.yaml", text), "c", None, diagnostics)
    assert component is not None, [f"{d.span}: {d.message}" for d in diagnostics]
    return component


@st.composite
def kfp_specs(draw) -> dict:
    """A valid v1 spec: unique names (after mapping), each input used as a value or as a file."""
    def unique_names(count):
        names, seen = [], set()
        for text in draw(st.lists(NAME_TEXT, min_size=count, max_size=count)):
            mapped = treadle_name(text)
            if mapped and mapped not in seen and mapped not in ("as", "if", "in", "or", "for", "and", "not", "let"):
                seen.add(mapped)
                names.append(text)
        return names

    inputs = []
    for name in unique_names(draw(st.integers(0, 5))):
        kfp_type = draw(KFP_TYPES)
        entry = {"name": name}
        if kfp_type is not None:
            entry["type"] = kfp_type
        as_file = draw(st.booleans())
        if not as_file and isinstance(kfp_type, str) and kfp_type in DEFAULTS and draw(st.booleans()):
            entry["default"] = draw(DEFAULTS[kfp_type])
        elif draw(st.booleans()):
            entry["optional"] = True
        inputs.append((entry, "inputPath" if as_file else "inputValue"))
    outputs = [{"name": name, "type": draw(st.sampled_from(["String", "CSV", "Model"]))}
               for name in unique_names(draw(st.integers(0, 3)))]

    def leaf():
        choices = [TEXT]
        if inputs:
            choices.append(st.sampled_from(inputs).map(lambda item: {item[1]: item[0]["name"]}))
        if outputs:
            choices.append(st.sampled_from(outputs).map(lambda port: {"outputPath": port["name"]}))
        return st.one_of(choices)

    def tree(children):
        conditions = [st.sampled_from(["true", "false"])]
        if inputs:
            conditions.append(st.sampled_from(inputs).map(lambda item: {"isPresent": item[0]["name"]}))
        return st.one_of(
            st.lists(children, min_size=1, max_size=3).map(lambda items: {"concat": items}),
            st.tuples(st.one_of(conditions), st.lists(children, max_size=3), st.lists(children, max_size=2)).map(
                lambda parts: {"if": {"cond": parts[0], "then": parts[1], **({"else": parts[2]} if parts[2] else {})}}))

    nodes = st.recursive(leaf(), tree, max_leaves=6)
    spec = {"name": draw(NAME_TEXT), "inputs": [entry for entry, _ in inputs], "outputs": outputs,
            "implementation": {"container": {"image": "img:1", "command": draw(st.lists(nodes, max_size=4)),
                                             "args": draw(st.lists(nodes, max_size=4))}}}
    return spec


@SETTINGS
@given(kfp_specs())
def test_kubeflow_spec_import_export_import(document):
    first = _load(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    again = _load(dump(first.spec))
    assert again.spec == first.spec


PARAMETER_TYPES = [types.STR, types.INT, types.FLOAT, types.BOOL, types.LIST, types.DICT]
ARTIFACT_TYPES = [types.named(name) for name in types.ARTIFACT_TYPES]
VALUES = {"str": TEXT, "int": st.integers(-10**6, 10**6), "float": st.floats(allow_nan=False, allow_infinity=False),
          "bool": st.booleans(), "list": st.lists(st.integers(-5, 5) | st.text(max_size=3), max_size=3),
          "dict": st.dictionaries(st.text(max_size=3), st.integers(-5, 5), max_size=2)}
NAMES = st.from_regex(r"[a-z][a-z0-9]{0,5}(_[a-z0-9]{1,4})?", fullmatch=True).filter(
    lambda name: name not in ("as", "if", "in", "or", "for", "and", "not", "let"))


@st.composite
def treadle_components(draw) -> ir.ComponentSpec:
    names = draw(st.lists(NAMES, min_size=0, max_size=6, unique=True))
    split = draw(st.integers(0, len(names)))
    inputs = []
    for name in names[:split]:
        port_type = draw(st.sampled_from(PARAMETER_TYPES + ARTIFACT_TYPES))
        if not port_type.is_artifact and draw(st.booleans()):
            value = draw(VALUES[port_type.name])
            inputs.append(ir.Port(name, port_type, True, value))
        else:
            inputs.append(ir.Port(name, port_type))
    outputs = [ir.Port(name, draw(st.sampled_from(PARAMETER_TYPES + ARTIFACT_TYPES))) for name in names[split:]]
    pieces = [TEXT]
    for port in inputs:
        pieces.append(st.just(ir.InputPath(port.name) if port.type.is_artifact else ir.InputValue(port.name)))
    pieces += [st.just(ir.OutputPath(port.name)) for port in outputs]
    piece = st.one_of(pieces)

    def joined(parts):  # as treadle and Kubeflow join them: adjacent text merged, empty text dropped
        merged = []
        for part in parts:
            if isinstance(part, str) and merged and isinstance(merged[-1], str):
                merged[-1] += part
            elif part != "" or len(parts) == 1:
                merged.append(part)
        return tuple(merged) or ("",)

    argument = st.lists(piece, min_size=1, max_size=3).map(joined)
    return ir.ComponentSpec(
        name=draw(NAMES), image=draw(TEXT.filter(bool)), command=tuple(draw(st.lists(argument, max_size=3))),
        args=tuple(draw(st.lists(argument, max_size=3))), inputs=tuple(inputs), outputs=tuple(outputs),
        settings=ir.Settings(env=tuple(ir.EnvVar(f"V{i}", value) for i, value in enumerate(draw(st.lists(TEXT, max_size=2))))),
        source="c.treadle", description=draw(TEXT))


@SETTINGS
@given(treadle_components())
def test_treadle_component_export_import(component):
    spec, losses, problems = spec_of_component(component)
    assert not problems and not losses
    imported = _load(dump(spec))
    assert imported.generic.inputs == component.inputs
    assert imported.generic.outputs == component.outputs
    assert imported.generic.image == component.image and imported.generic.settings == component.settings
    arguments = {port.name: ir.ParamRef(port.name) for port in component.inputs}
    called = specialize(imported, arguments, None, Diagnostics())
    assert (called.command, called.args) == (component.command, component.args)
