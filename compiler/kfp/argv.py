"""Each call of an imported component gets its own command line.

Kubeflow resolves `if`/`isPresent` placeholders when it compiles a pipeline, per task, from
the arguments that task passes (`kfp.components._components`,
`_resolve_command_line_and_paths`): an input is present when the task passes it or the spec
gives it a default; an absent optional input's placeholders disappear (and take nothing
into a `concat`); an `if` keeps `then` when its condition reads as true by Python's
`strtobool`, else `else`. treadle does the same while checking each call, so lowering and
the backends only ever see plain command lines (`ir.Argument`s)."""

from __future__ import annotations

from dataclasses import replace

from .. import ir
from ..diagnostics import Diagnostics
from ..source import Span
from .model import Concat, If, ImportedComponent, Node, Ref
from .names import FALSE_TEXTS, TRUE_TEXTS
from .tags import EXECUTOR_INPUT, launcher_tag, pieces

V1_HINT = "use a version of the component written for Kubeflow v1 (inputValue, inputPath and outputPath placeholders)"


class Unresolvable(Exception):
    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def launcher_only(tag: str, where: str = "") -> Unresolvable:
    return Unresolvable(f"{where}'{tag}' is filled in only by Kubeflow v2's launcher, which treadle does not have; "
                        "the container would get the tag's text", hint=V1_HINT)


class _Call:
    def __init__(self, component: ImportedComponent, arguments: dict[str, ir.Binding]) -> None:
        self.spec = component.spec
        self.arguments = arguments
        self.present = {port.name for port in self.spec.inputs if port.name in arguments or port.has_default}

    def expand_all(self, nodes: tuple[Node, ...]) -> list[ir.Argument]:
        result: list[ir.Argument] = []
        for node in nodes:
            result.extend(self.expand(node) or ())
        return result

    def expand(self, node: Node) -> list[ir.Argument] | None:
        """The arguments a placeholder gives; None when it names an absent input."""
        if isinstance(node, str):
            tag = launcher_tag(node)
            if tag == EXECUTOR_INPUT:
                raise Unresolvable(
                    f"'{EXECUTOR_INPUT}' is Kubeflow v2's executor input, a JSON document its launcher writes and whose "
                    "outputFile it reads back to learn the outputs; treadle has no v2 launcher: it passes inputs "
                    "and outputs one by one and collects outputs as files, so the container would get neither",
                    hint=V1_HINT)
            if tag is not None:
                raise launcher_only(tag)
            return [pieces(node)]
        if isinstance(node, Ref):
            if node.kind == "isPresent":
                return [("True" if node.name in self.present else "False",)]
            if node.kind in ("outputPath", "outputUri"):
                return [(ir.OutputPath(node.name),)]
            if node.name not in self.present:
                return None
            piece = ir.InputValue(node.name) if node.kind == "inputValue" else ir.InputPath(node.name)
            return [(piece,)]
        if isinstance(node, Concat):
            joined: list[ir.Piece] = []
            for argument in self.expand_all(node.items):
                for piece in argument:
                    if isinstance(piece, str) and joined and isinstance(joined[-1], str):
                        joined[-1] += piece
                    else:
                        joined.append(piece)
            return [tuple(joined) if joined else ("",)]
        assert isinstance(node, If), node
        return self.expand_all(node.then if self.holds(node.condition) else node.otherwise)

    def holds(self, condition: Node) -> bool:
        expanded = self.expand(condition)
        if not expanded:
            return False  # an absent input, or an empty list: Kubeflow reads both as false
        if len(expanded) > 1:
            raise Unresolvable("the condition of an if placeholder gives several arguments, not one true or false")
        text = "".join(self.constant(piece) for piece in expanded[0])
        lowered = text.lower()
        if lowered in TRUE_TEXTS:
            return True
        if lowered in FALSE_TEXTS:
            return False
        raise Unresolvable(f"the condition of an if placeholder reads '{text}', which is neither true nor false",
                           hint="pass true or false")

    def constant(self, piece: ir.Piece) -> str:
        if isinstance(piece, str):
            return piece
        if isinstance(piece, ir.InputValue):
            binding = self.arguments.get(piece.name)
            if binding is None:
                return ir.render_value(self.spec.input(piece.name).default)
            if isinstance(binding, ir.Const):
                return ir.render_value(binding.value)
            raise Unresolvable(
                f"the condition of an if placeholder reads input '{piece.name}', whose value is known only when the "
                "pipeline runs; Kubeflow decides these conditions when it compiles, and so does treadle",
                hint=f"pass a literal to '{piece.name}' (true or false)")
        if isinstance(piece, ir.EngineVariable):
            raise Unresolvable(f"the condition of an if placeholder reads {ir.ENGINE_VARIABLES[piece.name]}, which is "
                               "known only when the pipeline runs; Kubeflow decides these conditions when it compiles")
        raise Unresolvable("the condition of an if placeholder reads a file path, not true or false")


def specialize(component: ImportedComponent, arguments: dict[str, ir.Binding], span: Span,
               diagnostics: Diagnostics) -> ir.ComponentSpec | None:
    """The component as one call runs it, or None after reporting why it cannot be resolved.
    Calls that resolve to the same command line share one ComponentSpec object (and so one
    engine template)."""
    call = _Call(component, arguments)
    try:
        command = tuple(call.expand_all(component.spec.command))
        args = tuple(call.expand_all(component.spec.args))
        for variable, text in component.spec.env:
            tag = launcher_tag(text)
            if tag is not None:
                raise launcher_only(tag, f"environment variable {variable}: ")
    except Unresolvable as problem:
        diagnostics.error("E215", span, f"{component.name} ({component.generic.source}): {problem}", problem.hint)
        return None
    inputs = tuple(port for port in component.generic.inputs if not port.optional or port.name in call.present)
    key = (command, args, tuple(port.name for port in inputs))
    spec = component.specialized.get(key)
    if spec is None:
        spec = replace(component.generic, command=command, args=args, inputs=inputs)
        component.specialized[key] = spec
    return spec
