"""Reading a component.yaml: YAML (safe loading only) -> a checked `Spec`, every problem a
diagnostic at the file, line and field where it is."""

from __future__ import annotations

import json

import yaml

from .. import ir
from ..diagnostics import Diagnostics
from ..source import SourceFile, Span
from ..types import Type
from . import names, tags
from .model import FILE_KINDS, INPUT_KINDS, OUTPUT_KINDS, VALUE_KINDS, Concat, If, Node, Ref, Spec

TOP_KEYS = ("name", "description", "metadata", "inputs", "outputs", "implementation", "version")
PORT_KEYS = {"inputs": ("name", "type", "default", "optional", "description", "annotations"),
             "outputs": ("name", "type", "description", "annotations")}
CONTAINER_KEYS = ("image", "command", "args", "env", "fileOutputs")
# libyaml's safe loader when PyYAML has it (several times faster); both keep node marks.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Invalid(Exception):
    """A problem already reported; the spec is not usable."""


class Reader:
    def __init__(self, source: SourceFile, diagnostics: Diagnostics) -> None:
        self.source = source
        self.diagnostics = diagnostics
        self.failed = False
        self.loader = None
        self.input_ids: dict[str, str] = {}  # spec name -> treadle name
        self.output_ids: dict[str, str] = {}
        self.uses: dict[str, dict[str, Span]] = {}  # treadle input name -> {"value"/"file": first place}
        self.uri_warned = False
        self.tags_warned: set[str] = set()
        self.output_types: dict[str, Type] = {}

    # ------------------------------------------------------------ places and problems
    def span(self, node: yaml.Node) -> Span:
        start, end = node.start_mark, node.end_mark
        if end.line > start.line and end.column == 0:  # block scalars end at the next line's start
            return Span(self.source.path, start.line + 1, start.column + 1, start.line + 1, start.column + 2)
        return Span(self.source.path, start.line + 1, start.column + 1, end.line + 1, end.column + 1)

    def error(self, node: yaml.Node | None, field: str, message: str, hint: str | None = None,
              code: str = "E113") -> None:
        span = self.span(node) if node is not None else self.source.span(0, 0)
        self.diagnostics.error(code, span, f"{field}: {message}" if field else message, hint)
        self.failed = True

    def value(self, node: yaml.Node):
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as problem:  # a tag that safe loading refuses, like !!python/...
            self.error(node, "", f"{problem.problem or problem}", hint="a component.yaml holds plain YAML data only")
            raise _Invalid from None

    def mapping(self, node: yaml.Node, field: str, allowed: tuple[str, ...] | None) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """key -> (key node, value node) of a mapping; unknown keys reported."""
        if not isinstance(node, yaml.MappingNode):
            self.error(node, field, "expected a mapping (key: value)")
            raise _Invalid
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.error(key_node, field, "keys are text")
                continue
            if key in entries:
                self.error(key_node, f"{field}.{key}" if field else key, "given twice")
                continue
            if allowed is not None and key not in allowed:
                self.error(key_node, f"{field}.{key}" if field else key, "not a field of a Kubeflow v1 component spec",
                           hint="fields here: " + ", ".join(allowed))
                continue
            entries[key] = (key_node, value_node)
        return entries

    def text(self, node: yaml.Node, field: str, allow_numbers: bool = False, allow_empty: bool = False) -> str:
        value = self.value(node) if isinstance(node, yaml.ScalarNode) else None
        if value is None and allow_empty and isinstance(node, yaml.ScalarNode):
            return ""  # `description:` with nothing after it
        if isinstance(value, str):
            return value
        if allow_numbers and isinstance(value, (bool, int, float)):
            return str(value)  # as Kubeflow's Python turns it into text
        self.error(node, field, "expected text")
        raise _Invalid

    # ------------------------------------------------------------ the whole file
    def read(self) -> Spec | None:
        self.loader = SafeLoader(self.source.text)
        try:
            root = self.loader.get_single_node()
        except yaml.MarkedYAMLError as problem:
            mark = problem.problem_mark or problem.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            self.diagnostics.error("E113", Span(self.source.path, line, column, line, column + 1),
                                   f"not valid YAML: {problem.problem or problem}")
            return None
        except yaml.YAMLError as problem:
            self.diagnostics.error("E113", self.source.span(0, 0), f"not valid YAML: {problem}")
            return None
        try:
            if root is None:
                self.error(None, "", "the file is empty; a component.yaml is a mapping with name, inputs, outputs "
                                     "and implementation")
                return None
            return self.spec(root)
        except _Invalid:
            return None
        finally:
            self.loader.dispose()

    def spec(self, root: yaml.Node) -> Spec | None:
        top = self.mapping(root, "", TOP_KEYS)
        name = self.text(top["name"][1], "name") if "name" in top else ""
        description = self.text(top["description"][1], "description", allow_empty=True) if "description" in top else ""
        if "metadata" in top:
            self.mapping(top["metadata"][1], "metadata", ("annotations", "labels"))
        raw_inputs = self.ports(top.get("inputs"), "inputs", self.input_ids)
        raw_outputs = self.ports(top.get("outputs"), "outputs", self.output_ids)
        outputs = tuple(port for port in (self.output_port(*raw) for raw in raw_outputs) if port is not None)
        self.output_types = {port.name: port.type for port in outputs}
        if "implementation" not in top:
            self.error(root, "implementation", "missing; a component needs implementation.container",
                       hint="implementation: {container: {image: ..., command: [...]}}")
            raise _Invalid
        implementation = self.mapping(top["implementation"][1], "implementation", None)
        if "graph" in implementation:
            self.error(implementation["graph"][0], "implementation.graph",
                       "graph components are not supported: their tasks name other components by URL",
                       hint="import each task's component.yaml and write the graph as a treadle pipeline")
            raise _Invalid
        if set(implementation) != {"container"}:
            other = sorted(set(implementation) - {"container"})
            node = implementation[other[0]][0] if other else top["implementation"][1]
            self.error(node, "implementation", "expected exactly one field, container")
            raise _Invalid
        container = self.mapping(implementation["container"][1], "implementation.container", CONTAINER_KEYS)
        where = "implementation.container"
        if "image" not in container:
            self.error(implementation["container"][0], f"{where}.image", "missing")
            raise _Invalid
        image = self.text(container["image"][1], f"{where}.image")
        command = self.arguments(container.get("command"), f"{where}.command")
        args = self.arguments(container.get("args"), f"{where}.args")
        env = self.env(container.get("env"), f"{where}.env")
        if "fileOutputs" in container:
            self.file_outputs(container["fileOutputs"][1], f"{where}.fileOutputs")
        inputs = tuple(port for port in (self.input_port(*raw) for raw in raw_inputs) if port is not None)
        if self.failed:
            return None
        return Spec(name, description, inputs, outputs, image, command, args, env,
                    tuple((v, k) for k, v in self.input_ids.items()), tuple((v, k) for k, v in self.output_ids.items()))

    # ------------------------------------------------------------ inputs and outputs
    def ports(self, entry, field: str, ids: dict[str, str]) -> list[tuple]:
        if entry is None:
            return []
        node = entry[1]
        if isinstance(node, yaml.ScalarNode) and self.value(node) is None:
            return []  # `outputs:` with nothing after it
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, field, "expected a list of {name: ..., type: ...}")
            return []
        result = []
        by_treadle: dict[str, str] = {}
        for index, item in enumerate(node.value):
            where = f"{field}[{index}]"
            try:
                fields = self.mapping(item, where, PORT_KEYS[field])
                if "name" not in fields:
                    self.error(item, f"{where}.name", "missing")
                    continue
                name_node = fields["name"][1]
                kfp_name = self.text(name_node, f"{where}.name")
            except _Invalid:
                continue
            mapped = names.treadle_name(kfp_name)
            problem = names.name_problem(mapped)
            if problem is not None:
                self.error(name_node, f"{where}.name", f"'{kfp_name}' cannot be a treadle name: {problem}",
                           hint="rename it in the component.yaml", code="E114")
                continue
            if kfp_name in ids:
                self.error(name_node, f"{where}.name", f"'{kfp_name}' is given twice")
                continue
            if mapped in by_treadle:
                self.error(name_node, f"{where}.name",
                           f"'{by_treadle[mapped]}' and '{kfp_name}' both become '{mapped}' in treadle",
                           hint="rename one of them in the component.yaml", code="E114")
                continue
            by_treadle[mapped] = kfp_name
            ids[kfp_name] = mapped
            result.append((mapped, kfp_name, fields, where))
        return result

    def input_port(self, name: str, kfp_name: str, fields: dict, where: str) -> ir.Port | None:
        try:
            kfp_type = self.value(fields["type"][1]) if "type" in fields else None
            description = self.text(fields["description"][1], f"{where}.description", allow_empty=True) if "description" in fields else ""
            optional = False
            if "optional" in fields:
                optional = self.value(fields["optional"][1])
                if not isinstance(optional, bool):
                    self.error(fields["optional"][1], f"{where}.optional", "expected true or false")
                    return None
        except _Invalid:
            return None
        uses = self.uses.get(name, {})
        if len(uses) > 1:
            self.error(fields["name"][1], f"{where}.name",
                       f"'{kfp_name}' is used both as a value (inputValue, line {uses['value'].line}) and as a file "
                       f"(line {uses['file'].line}); a treadle input is one or the other")
            return None
        port_type = names.port_type(kfp_type, next(iter(uses), None))
        if "default" not in fields or self.value(fields["default"][1]) is None:
            return ir.Port(name, port_type, description=description, optional=optional)
        default_node = fields["default"][1]
        if port_type.is_artifact:
            self.error(default_node, f"{where}.default", f"'{kfp_name}' is a file input, and treadle gives file inputs "
                                                         "no default", hint="remove the default; a step passes the file")
            return None
        has_value, value = self.default(default_node, f"{where}.default", kfp_type, port_type)
        if not has_value:
            return None
        return ir.Port(name, port_type, True, value, description)

    def default(self, node: yaml.Node, field: str, kfp_type, port_type: Type) -> tuple[bool, object]:
        """The default as the container receives it when a call leaves the input out.

        Kubeflow v1 adds defaults to a task's arguments (`kfp.dsl._component_bridge`) and
        passes their text unchanged, except for the types `Integer` and `Float`, whose
        defaults it converts to numbers first (`int('05')` reaches the container as `5`). The treadle value is the typed value when it renders back to
        that very text, otherwise the text itself, so the container gets the same bytes."""
        raw = self.value(node)
        if isinstance(raw, (list, dict)):
            self.error(node, field, "expected a single value (Kubeflow writes defaults as text)")
            return False, None
        text = raw if isinstance(raw, str) else str(raw)
        try:
            if kfp_type == "Integer":
                text = str(int(text))
            elif kfp_type == "Float":
                text = str(float(text))
        except ValueError:
            self.error(node, field, f"'{text}' is not a number, and Kubeflow converts defaults of {kfp_type} inputs "
                                    "to numbers")
            return False, None
        typed = typed_value(text, port_type)
        if typed is not None and ir.render_value(typed) == text:
            return True, typed
        return True, text

    def output_port(self, name: str, kfp_name: str, fields: dict, where: str) -> ir.Port | None:
        kfp_type = self.value(fields["type"][1]) if "type" in fields else None
        try:
            description = self.text(fields["description"][1], f"{where}.description", allow_empty=True) if "description" in fields else ""
        except _Invalid:
            return None
        return ir.Port(name, names.port_type(kfp_type, None), description=description)

    # ------------------------------------------------------------ the command line
    def arguments(self, entry, field: str) -> tuple[Node, ...]:
        if entry is None:
            return ()
        node = entry[1]
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, field, "expected a list of strings and placeholders")
            return ()
        return tuple(item for item in (self.placeholder(item, f"{field}[{index}]") for index, item in enumerate(node.value))
                     if item is not None)

    def branch(self, node: yaml.Node, field: str) -> tuple[Node, ...]:
        if isinstance(node, yaml.SequenceNode):
            return tuple(item for item in (self.placeholder(item, f"{field}[{index}]")
                                           for index, item in enumerate(node.value)) if item is not None)
        item = self.placeholder(node, field)
        return () if item is None else (item,)

    def placeholder(self, node: yaml.Node, field: str) -> Node | None:
        if isinstance(node, yaml.ScalarNode):
            value = self.value(node)
            if value is None:
                self.error(node, field, "an empty item; write '' for an empty argument")
                return None
            return self.literal(node, value if isinstance(value, str) else str(value), field)
        if isinstance(node, yaml.SequenceNode):
            self.error(node, field, "a list inside the command line; lists go in concat or in the branches of if")
            return None
        try:
            entries = self.mapping(node, field, None)
        except _Invalid:
            return None
        if len(entries) != 1:
            self.error(node, field, "a placeholder is a mapping with one key, like {inputValue: name}")
            return None
        (kind, (key_node, value_node)), = entries.items()
        where = f"{field}.{kind}"
        if kind in INPUT_KINDS or kind in OUTPUT_KINDS:
            return self.reference(kind, value_node, where)
        if kind == "concat":
            if not isinstance(value_node, yaml.SequenceNode):
                self.error(value_node, where, "expected a list of the parts to join")
                return None
            return Concat(self.branch(value_node, where))
        if kind == "if":
            try:
                parts = self.mapping(value_node, where, ("cond", "then", "else"))
            except _Invalid:
                return None
            if "cond" not in parts:
                self.error(value_node, f"{where}.cond", "missing")
                return None
            condition = self.placeholder(parts["cond"][1], f"{where}.cond")
            then = self.branch(parts["then"][1], f"{where}.then") if "then" in parts else ()
            otherwise = self.branch(parts["else"][1], f"{where}.else") if "else" in parts else ()
            return None if condition is None else If(condition, then, otherwise)
        if kind == "executorInput":
            self.error(key_node, where, "the Kubeflow v2 executor input is not supported: treadle passes inputs "
                                        "and outputs one by one, never as the v2 executor's JSON",
                       hint="use a v1 component (inputValue, inputPath, outputPath placeholders)")
            return None
        self.error(key_node, where, "not a Kubeflow v1 placeholder",
                   hint="placeholders: inputValue, inputPath, outputPath, inputUri, outputUri, concat, if, isPresent")
        return None

    def reference(self, kind: str, node: yaml.Node, field: str) -> Ref | None:
        try:
            kfp_name = self.text(node, field)
        except _Invalid:
            return None
        ids = self.output_ids if kind in OUTPUT_KINDS else self.input_ids
        if kfp_name not in ids:
            what = "output" if kind in OUTPUT_KINDS else "input"
            known = ", ".join(ids) or "none"
            self.error(node, field, f"no {what} named '{kfp_name}'", hint=f"{what}s: {known}")
            return None
        name = ids[kfp_name]
        if kind in VALUE_KINDS or kind in FILE_KINDS:
            self.uses.setdefault(name, {}).setdefault("value" if kind in VALUE_KINDS else "file", self.span(node))
        if kind == "outputUri" and name in self.output_types and not self.output_types[name].is_artifact:
            self.error(node, field, f"'{kfp_name}' is a {self.output_types[name]} value, and a value has no URI",
                       hint="use outputPath for output values")
            return None
        if kind in ("inputUri", "outputUri") and not self.uri_warned:
            self.uri_warned = True
            self.diagnostics.warning(
                "W506", self.span(node), f"{field}: treadle artifacts are files, so a URI placeholder gives the "
                                         "container the artifact's path in the pod, as Kubeflow's local runner does",
                hint="a component that writes to or reads from an object store by this URI needs a path-aware version")
        return Ref(kind, name)

    def literal(self, node: yaml.Node, text: str, field: str) -> str:
        """Literal text; a warning (once per kind and spec) for template tags that Kubeflow
        leaves for the engine or its v2 launcher to fill in and that treadle cannot give
        (the tags it can become engine variables when a call is resolved, see `tags`)."""
        for match in tags.TAG.finditer(text):
            tag = match.group(0)
            if tags.engine_variable(match.group(1)) is not None:
                continue
            kind = "executor" if tag == tags.EXECUTOR_INPUT else "v2" if tag.startswith("{{$") else "argo"
            if kind in self.tags_warned:
                continue
            self.tags_warned.add(kind)
            if kind == "executor":
                message = (f"{field}: '{tag}' is Kubeflow v2's executor input, which treadle cannot give: a call "
                           "whose command line holds it is an error (E215)")
                hint = "use a version of the component written for Kubeflow v1"
            elif kind == "v2":
                message = (f"{field}: '{tag}' is filled in by Kubeflow v2's launcher only, which treadle does not "
                           "have: a call whose command line holds it is an error (E215)")
                hint = "use a version of the component written for Kubeflow v1"
            else:
                message = (f"{field}: '{tag}' is an Argo tag that treadle does not know; it passes text as it is "
                           "or not at all, so the Argo backend refuses it (B002) and Tekton passes it unchanged")
                hint = "pass the value as an input instead, where the component allows it"
            self.diagnostics.warning("W506", self.span(node), message, hint=hint)
        return text

    def env(self, entry, field: str) -> tuple[tuple[str, str], ...]:
        if entry is None:
            return ()
        try:
            variables = self.mapping(entry[1], field, None)
        except _Invalid:
            return ()
        result = []
        for name, (_, value_node) in variables.items():
            try:
                text = self.text(value_node, f"{field}.{name}", allow_numbers=True)
                result.append((name, self.literal(value_node, text, f"{field}.{name}")))
            except _Invalid:
                continue
        return tuple(result)

    def file_outputs(self, node: yaml.Node, field: str) -> None:
        try:
            entries = self.mapping(node, field, None)
        except _Invalid:
            return
        for name, (key_node, value_node) in entries.items():
            if name not in self.output_ids:
                self.error(key_node, f"{field}.{name}", f"no output named '{name}'")
                continue
            path = self.value(value_node)
            self.diagnostics.warning(
                "W506", self.span(key_node),
                f"{field}.{name}: treadle cannot collect a file the container writes at a fixed path ({path}); "
                f"output '{self.output_ids[name]}' stays empty",
                hint="write the output where {outputPath: ...} says, or read it from the place it is written")


def typed_value(text: str, port_type: Type):
    """A default's text as a value of the port's type, or None when it is not one."""
    name = port_type.name
    try:
        if name == "str":
            return text
        if name == "int":
            return int(text)
        if name == "float":
            return float(text)
        if name == "bool":
            lowered = text.lower()
            return True if lowered == "true" else False if lowered == "false" else None
        if name in ("list", "dict"):
            value = json.loads(text)
            return value if isinstance(value, list if name == "list" else dict) else None
    except ValueError:
        return None
    return None


def read_spec(source: SourceFile, diagnostics: Diagnostics) -> Spec | None:
    """The spec of a component.yaml, or None after reporting why it is not one."""
    return Reader(source, diagnostics).read()
