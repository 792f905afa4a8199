"""Name resolution and type checking of components and pipelines.

The checker reads the AST of a loaded program and produces checked components
(`ir.ComponentSpec`) and checked pipelines: every step with its component, its arguments as
IR bindings and its enclosing blocks. Every problem becomes a diagnostic; checking goes on
past it, so one run reports them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import get_close_matches

from . import ast, ir
from .diagnostics import Diagnostics
from .resolve import LoadedModule, Program, Symbol
from .settings import COMPONENT_KEYS, OVERRIDE_KEYS, SettingsReader
from .source import Span
from .types import ARTIFACT_TYPES, PARAMETER_TYPES, STR, Type, assignable, list_of, named, type_of_literal


def _did_you_mean(name: str, candidates) -> str | None:
    close = get_close_matches(name, sorted(candidates), n=1)
    return f"did you mean '{close[0]}'?" if close else None


# ---------------------------------------------------------------- results
@dataclass(eq=False)
class Block:
    """An enclosing if/else/for/finally of a step, compared by identity."""

    kind: str  # "if", "else", "for", "finally"
    id: str
    node: object
    condition: ir.Condition | None = None
    loop: ir.Loop | None = None
    variable: str | None = None
    item_type: Type | None = None
    enclosing: tuple["Block", ...] = ()


@dataclass(eq=False)
class CheckedStep:
    id: str
    step: ast.Step
    blocks: tuple[Block, ...]
    component: ir.ComponentSpec | None = None
    arguments: list[tuple[str, ir.Binding]] = field(default_factory=list)
    settings: ir.Settings | None = None
    after: list[str] = field(default_factory=list)

    @property
    def loops(self) -> tuple[str, ...]:
        return tuple(block.loop.id for block in self.blocks if block.kind == "for" and block.loop is not None)

    @property
    def is_finally(self) -> bool:
        return bool(self.blocks) and self.blocks[0].kind == "finally"

    @property
    def guard(self) -> ir.Condition | None:
        conditions = [block.condition for block in self.blocks if block.condition is not None]
        if not conditions:
            return None
        return conditions[0] if len(conditions) == 1 else ir.And(tuple(conditions))


@dataclass(eq=False)
class CheckedPipeline:
    name: str
    module: LoadedModule
    node: ast.Pipeline
    params: tuple[ir.PipelineParam, ...]
    steps: list[CheckedStep]
    loops: list[ir.Loop]
    settings: dict


@dataclass
class CheckedProgram:
    program: Program
    pipelines: list[CheckedPipeline]  # of the entry files, in source order
    components: list[ir.ComponentSpec]  # of the entry files, checked


# ---------------------------------------------------------------- the checker
class Checker:
    def __init__(self, program: Program, diagnostics: Diagnostics) -> None:
        self.program = program
        self.diagnostics = diagnostics
        self.components: dict[tuple[str, str], ir.ComponentSpec | None] = {}
        self.let_values: dict[tuple[str, str], object] = {}
        self.lets_in_progress: set[tuple[str, str]] = set()
        self.used: set[tuple[str, str]] = set()  # (module key, name) of declarations used anywhere
        self.used_imports: set[int] = set()  # id() of import statements something came through
        self._port_tables: dict[int, tuple[dict, dict, dict]] = {}
        self._settings: dict[tuple, ir.Settings] = {}
        self.entry_keys = {module.key for module in program.entries}

    # ------------------------------------------------------------ entry point
    def run(self) -> CheckedProgram:
        pipelines: list[CheckedPipeline] = []
        components: list[ir.ComponentSpec] = []
        for module in self.program.entries:
            for component in module.module.components:
                spec = self.component(module, component)
                if spec is not None:
                    components.append(spec)
            for let in module.module.lets:
                self.let_value(module, let)
            for pipeline in module.module.pipelines:
                pipelines.append(PipelineChecker(self, module, pipeline).run())
        self._unused()
        return CheckedProgram(self.program, pipelines, components)

    def _unused(self) -> None:
        for module in self.program.entries:
            for let in module.module.lets:
                if (module.key, let.name) not in self.used:
                    self.diagnostics.warning("W502", let.name_span, f"'{let.name}' is never used",
                                             hint="remove it, or use it")
            for statement, _ in module.imports:
                if id(statement) not in self.used_imports:
                    self.diagnostics.warning("W503", statement.path_span, f"nothing from '{statement.path}' is used",
                                             hint="remove the import")

    def interned(self, settings: ir.Settings) -> ir.Settings:
        """One object for equal settings: most components and steps set the same few things
        (or nothing), and the passes and backends key their work by the object (its id,
        its hash computed once) before they compare contents. The fields left out of
        `==` are part of the key, so no hint is lost."""
        key = (settings, settings.cache_asked, settings.side_effects)
        return self._settings.setdefault(key, settings)

    def ports(self, spec: ir.ComponentSpec) -> tuple[dict, dict, dict]:
        """(inputs by name, outputs by name, input order) of a component, built once."""
        table = self._port_tables.get(id(spec))
        if table is None:
            table = ({port.name: port for port in spec.inputs}, {port.name: port for port in spec.outputs},
                     {port.name: index for index, port in enumerate(spec.inputs)})
            self._port_tables[id(spec)] = table  # every spec lives in self.components, so ids stay unique
        return table

    # ------------------------------------------------------------ names
    def lookup(self, module: LoadedModule, name: str) -> Symbol | None:
        symbol = self.program.scopes[module.key].get(name)
        if symbol is not None:
            self.used.add((symbol.module.key, name))
            if symbol.via is not None:
                self.used_imports.add(id(symbol.via))
        return symbol

    def let_value(self, module: LoadedModule, let: ast.Let):
        key = (module.key, let.name)
        if key in self.let_values:
            return self.let_values[key]
        if key in self.lets_in_progress:
            self.diagnostics.error("E210", let.name_span, f"'{let.name}' is defined in terms of itself")
            return None
        self.lets_in_progress.add(key)
        value = self.constant(module, let.value)
        self.lets_in_progress.discard(key)
        self.let_values[key] = value
        return value

    def constant(self, module: LoadedModule, expr: ast.Expr):
        """The value of a literal expression (lets included); None after reporting why it is not one."""
        if isinstance(expr, ast.Literal):
            return expr.value
        if isinstance(expr, ast.ListExpr):
            items = [self.constant(module, item) for item in expr.items]
            return None if any(item is None for item in items) else items
        if isinstance(expr, ast.DictExpr):
            result = {}
            for key, value in expr.entries:
                item = self.constant(module, value)
                if item is None:
                    return None
                result[key.value] = item
            return result
        if isinstance(expr, ast.NameRef):
            symbol = self.lookup(module, expr.name)
            if symbol is not None and isinstance(symbol.declaration, ast.Let):
                return self.let_value(symbol.module, symbol.declaration)
            if symbol is None and module.key in self.program.incomplete:
                return None  # an echo of the import that failed
            if symbol is None:
                self.diagnostics.error("E107", expr.span, f"unknown name '{expr.name}'",
                                       hint=_did_you_mean(expr.name, self.program.scopes[module.key]) or
                                       "only literals and let names are allowed here")
                return None
        if isinstance(expr, ast.Call):
            self.diagnostics.error("E214", expr.span, f"'{expr.callee}(...)' cannot be used as a value here",
                                   hint="steps are statements of a pipeline; values here are literals")
            return None
        self.diagnostics.error("E210", expr.span, "this must be a literal value (a string, number, bool, list or dict)",
                               hint="values that come from parameters or steps cannot be used here")
        return None

    def default_value(self, module: LoadedModule, param: ast.Param, declared: Type):
        """The default of an input or pipeline parameter, checked against its type (ints
        widened to float where a float is declared); None after reporting."""
        value = self.constant(module, param.default)
        if value is None:
            return None
        value_type = type_of_literal(value)
        if not assignable(value_type, declared):
            self.diagnostics.error("E202", param.default.span,
                                   f"default of '{param.name}' is {value_type}, but '{param.name}' is {declared}")
            return None
        if declared.name == "float" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        return value

    def parse_type(self, type_ref: ast.TypeRef, allow_artifacts: bool = True) -> Type | None:
        name = type_ref.name
        if name not in PARAMETER_TYPES and name not in ARTIFACT_TYPES:
            self.diagnostics.error("E201", type_ref.span, f"unknown type '{name}'",
                                   hint=_did_you_mean(name, PARAMETER_TYPES + ARTIFACT_TYPES) or
                                   "types: " + ", ".join(PARAMETER_TYPES + ARTIFACT_TYPES))
            return None
        if type_ref.argument is not None:
            if name != "list":
                self.diagnostics.error("E201", type_ref.span, f"'{name}' takes no element type; only list does")
                return None
            element = self.parse_type(type_ref.argument)
            if element is None:
                return None
            if element.is_artifact:
                self.diagnostics.error("E201", type_ref.argument.span, "a list holds values, not artifacts")
                return None
            return list_of(element)
        return named(name)

    # ------------------------------------------------------------ components
    def component(self, module: LoadedModule, node: ast.Component) -> ir.ComponentSpec | None:
        if node.imported:
            return node.generic
        key = (module.key, node.name)
        if key not in self.components:
            self.components[key] = None  # a component never refers to itself, but stay safe
            self.components[key] = ComponentChecker(self, module, node).run()
        return self.components[key]


class ComponentChecker:
    def __init__(self, checker: Checker, module: LoadedModule, node: ast.Component) -> None:
        self.checker = checker
        self.module = module
        self.node = node
        self.diagnostics = checker.diagnostics
        self.inputs: dict[str, ir.Port] = {}
        self.outputs: dict[str, ir.Port] = {}
        self.referenced: set[str] = set()

    def run(self) -> ir.ComponentSpec | None:
        node = self.node
        for param in node.inputs:
            self.port(param, self.inputs, is_output=False)
        for param in node.outputs:
            self.port(param, self.outputs, is_output=True)
        reader = SettingsReader(self.diagnostics, lambda expr: self.checker.constant(self.module, expr))
        given = reader.unique(node.settings, COMPONENT_KEYS, "a component")
        image = reader.value(given["image"], str, "the container image, a string") if "image" in given else None
        if "image" not in given:
            self.diagnostics.error("E307", node.name_span, f"component '{node.name}' has no image",
                                   hint='add: image = "registry/name:tag"')
        description = reader.value(given["description"], str, "a string") if "description" in given else ""
        command = self.arguments(given.get("command"))
        args = self.arguments(given.get("args"))
        if "command" not in given and "args" not in given:
            self.diagnostics.error("E307", node.name_span, f"component '{node.name}' has neither command nor args",
                                   hint='add: command = ["program", "--flag", input_name]')
        settings = self.checker.interned(reader.task_settings(given, ir.Settings(), self.env_value))
        if self.module.key in self.checker.entry_keys:
            for name, port in self.inputs.items():
                if name not in self.referenced:
                    span = next(p.name_span for p in node.inputs if p.name == name)
                    self.diagnostics.warning("W504", span, f"input '{name}' is not used in command, args or env",
                                             hint="the container never receives it; use it or remove it")
            for name in self.outputs:
                if name not in self.referenced:
                    span = next(p.name_span for p in node.outputs if p.name == name)
                    self.diagnostics.warning("W505", span, f"output '{name}' is not in command or args",
                                             hint="the container cannot know where to write it")
        # Even a component with errors gives a spec, so that the steps calling it are checked too;
        # nothing is lowered while any error stands.
        return ir.ComponentSpec(
            name=node.name, image=image or "", command=command or (), args=args or (),
            inputs=tuple(self.inputs.values()), outputs=tuple(self.outputs.values()),
            settings=settings, source=self.module.path, description=description or "",
        )

    def port(self, param: ast.Param, ports: dict[str, ir.Port], is_output: bool) -> None:
        if param.name in self.inputs or param.name in self.outputs:
            self.diagnostics.error("E104", param.name_span, f"'{param.name}' is already an input or output of this component")
            return
        port_type = self.checker.parse_type(param.type)
        if port_type is None:
            return
        if param.default is None:
            ports[param.name] = ir.Port(param.name, port_type)
            return
        if is_output:
            self.diagnostics.error("E212", param.default.span, "outputs have no default values")
            return
        if port_type.is_artifact:
            self.diagnostics.error("E212", param.default.span, "artifact inputs have no default values",
                                   hint="artifacts come from other steps")
            return
        value = self.checker.default_value(self.module, param, port_type)
        if value is not None:
            ports[param.name] = ir.Port(param.name, port_type, True, value)

    def arguments(self, setting: ast.Setting | None) -> tuple[ir.Argument, ...] | None:
        if setting is None:
            return ()
        if not isinstance(setting.value, ast.ListExpr):
            if setting.value is not None:
                value = self.checker.constant(self.module, setting.value)
                if isinstance(value, list):
                    return tuple((ir.render_value(item),) for item in value)
            self.diagnostics.error("E302", setting.span, f"'{setting.key}' is a list: {setting.key} = [\"prog\", input]")
            return None
        result: list[ir.Argument] = []
        ok = True
        for item in setting.value.items:
            piece = self.piece(item)
            if piece is None:
                ok = False
            else:
                result.append((piece,))
        return tuple(result) if ok else None

    def piece(self, item: ast.Expr) -> ir.Piece | None:
        if isinstance(item, ast.NameRef):
            if item.name in self.inputs:
                self.referenced.add(item.name)
                port = self.inputs[item.name]
                return ir.InputPath(item.name) if port.type.is_artifact else ir.InputValue(item.name)
            if item.name in self.outputs:
                self.referenced.add(item.name)
                return ir.OutputPath(item.name)
            symbol = self.checker.program.scopes[self.module.key].get(item.name)
            if symbol is None or not isinstance(symbol.declaration, ast.Let):
                names = list(self.inputs) + list(self.outputs)
                self.diagnostics.error("E211", item.span, f"'{item.name}' is not an input or output of '{self.node.name}'",
                                       hint=_did_you_mean(item.name, names) or
                                       ("inputs and outputs: " + ", ".join(names) if names else None))
                return None
        if isinstance(item, ast.OutputRef):
            self.diagnostics.error("E211", item.span, "step outputs belong in pipelines; a component names its own inputs")
            return None
        value = self.checker.constant(self.module, item)
        return None if value is None else ir.render_value(value)

    def env_value(self, expr: ast.Expr):
        if isinstance(expr, ast.NameRef) and expr.name in self.inputs:
            port = self.inputs[expr.name]
            if port.type.is_artifact:
                self.diagnostics.error("E211", expr.span, f"'{expr.name}' is an artifact; pass its path in args")
                return None
            self.referenced.add(expr.name)
            return ir.InputValue(expr.name)
        return secret_or_constant(self.checker, self.module, expr)


def secret_or_constant(checker: Checker, module: LoadedModule, expr: ast.Expr):
    """An environment value: secret("name", "key") or a literal (rendered as text)."""
    if isinstance(expr, ast.Call) and expr.callee == "secret":
        values = [checker.constant(module, argument.value) for argument in expr.arguments]
        names = [argument.name for argument in expr.arguments]
        if len(values) == 2 and all(isinstance(v, str) and v for v in values) and names in ([None, None], ["name", "key"]):
            return ir.SecretRef(values[0], values[1])
        checker.diagnostics.error("E302", expr.span, 'secret takes the secret\'s name and key: secret("db-credentials", "password")')
        return None
    value = checker.constant(module, expr)
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        checker.diagnostics.error("E302", expr.span, "an environment variable holds text, a number or a bool")
        return None
    return ir.render_value(value)


# ---------------------------------------------------------------- pipelines
class PipelineChecker:
    def __init__(self, checker: Checker, module: LoadedModule, node: ast.Pipeline) -> None:
        self.checker = checker
        self.module = module
        self.node = node
        self.diagnostics = checker.diagnostics
        self.params: dict[str, ir.PipelineParam] = {}
        self.param_spans: dict[str, Span] = {}
        self.used_params: set[str] = set()
        self.steps: list[CheckedStep] = []
        self.by_name: dict[str, CheckedStep] = {}
        self.blocks: list[Block] = []
        self.settings_nodes: list[ast.Setting] = []
        self.reads: dict[str, list[tuple[str, Span]]] = {}  # consumer id -> (producer id, span)
        self.has_finally = False
        self.block_counter = 0
        self.loop_ids: set[str] = set()
        self.param_refs: dict[str, ir.ParamRef] = {}

    def run(self) -> CheckedPipeline:
        for param in self.node.params:
            self.param(param)
        self.collect(self.node.body, ())
        self.name_unnamed_steps()
        for block in self.blocks:
            self.check_block(block)
        for step in self.steps:
            self.check_step(step)
        self.find_cycles()
        settings = SettingsReader(self.diagnostics, self.setting_constant).pipeline_settings(self.settings_nodes)
        for name, span in self.param_spans.items():
            if name not in self.used_params and self.module.key in self.checker.entry_keys:
                self.diagnostics.warning("W501", span, f"parameter '{name}' is never used", hint="remove it, or use it")
        loops = [block.loop for block in self.blocks if block.kind == "for" and block.loop is not None]
        return CheckedPipeline(self.node.name, self.module, self.node, tuple(self.params.values()), self.steps,
                               loops, settings)

    # ------------------------------------------------------------ declarations
    def param(self, param: ast.Param) -> None:
        if param.name in self.params or param.name in self.param_spans:
            self.diagnostics.error("E104", param.name_span, f"parameter '{param.name}' is declared twice")
            return
        self.param_spans[param.name] = param.name_span
        self.shadow_check(param.name, param.name_span, "parameter")
        param_type = self.checker.parse_type(param.type)
        if param_type is None:
            return
        if param_type.is_artifact:
            self.diagnostics.error("E207", param.type.span, f"pipeline parameters are values; '{param.type.name}' is an artifact",
                                   hint="produce artifacts with a step (for example load_dataset)")
            return
        if param.default is None:
            self.params[param.name] = ir.PipelineParam(param.name, param_type, False, None)
            return
        value = self.checker.default_value(self.module, param, param_type)
        if value is not None:
            self.params[param.name] = ir.PipelineParam(param.name, param_type, True, value)

    def shadow_check(self, name: str, span: Span, what: str) -> None:
        symbol = self.checker.program.scopes[self.module.key].get(name)
        if symbol is not None:
            kind = type(symbol.declaration).__name__.lower()
            self.diagnostics.error("E111", span, f"{what} '{name}' shadows the {kind} '{name}' ({symbol.module.path})",
                                   hint="rename it")

    def new_block(self, kind: str, node, prefix: str, enclosing: tuple[Block, ...]) -> Block:
        self.block_counter += 1
        block = Block(kind, f"{prefix}-{self.block_counter}", node, enclosing=enclosing)
        self.blocks.append(block)
        return block

    def collect(self, statements: list, blocks: tuple[Block, ...]) -> None:
        for statement in statements:
            if isinstance(statement, ast.Step):
                step = CheckedStep(statement.name or "", statement, blocks)
                self.steps.append(step)
                if statement.name:
                    self.register_step(step)
            elif isinstance(statement, ast.PipelineSetting):
                if blocks:
                    self.diagnostics.error("E212", statement.setting.span,
                                           "pipeline settings go at the top of the pipeline body, not inside a block")
                else:
                    self.settings_nodes.append(statement.setting)
            elif isinstance(statement, ast.If):
                then_block = self.new_block("if", statement, "if", blocks)
                self.collect(statement.then, blocks + (then_block,))
                if statement.otherwise:
                    else_block = Block("else", then_block.id + "-else", statement, enclosing=blocks)
                    self.blocks.append(else_block)
                    self.collect(statement.otherwise, blocks + (else_block,))
            elif isinstance(statement, ast.For):
                loop_block = self.new_block("for", statement, "for-" + statement.variable.replace("_", "-"), blocks)
                loop_block.variable = statement.variable
                self.loop_variable_check(statement, blocks)
                self.collect(statement.body, blocks + (loop_block,))
            elif isinstance(statement, ast.Finally):
                if blocks:
                    self.diagnostics.error("E212", statement.span, "finally goes at the top level of a pipeline body")
                elif self.has_finally:
                    self.diagnostics.error("E212", statement.span, "a pipeline has one finally block",
                                           hint="put all the steps that run at the end in it")
                else:
                    self.has_finally = True
                    self.collect(statement.body, (self.new_block("finally", statement, "finally", ()),))

    def loop_variable_check(self, node: ast.For, blocks: tuple[Block, ...]) -> None:
        name = node.variable
        if name in self.param_spans:
            self.diagnostics.error("E111", node.variable_span, f"loop variable '{name}' shadows the parameter '{name}'",
                                   hint="rename it")
        elif any(block.variable == name for block in blocks):
            self.diagnostics.error("E111", node.variable_span, f"loop variable '{name}' shadows the enclosing loop's",
                                   hint="rename it")
        else:
            self.shadow_check(name, node.variable_span, "loop variable")

    def register_step(self, step: CheckedStep) -> None:
        node = step.step
        if node.name in self.by_name:
            first = self.by_name[node.name].step.name_span
            self.diagnostics.error("E104", node.name_span, f"step '{node.name}' is already defined at line {first.line}",
                                   hint="give each step its own name")
            return
        if node.name in self.param_spans:
            self.diagnostics.error("E111", node.name_span, f"step '{node.name}' shadows the parameter '{node.name}'",
                                   hint="rename the step")
        elif node.name in self.checker.program.scopes[self.module.key]:  # the span only when it is reported
            self.shadow_check(node.name, node.name_span, "step")
        self.by_name[node.name] = step

    def name_unnamed_steps(self) -> None:
        taken = set(self.by_name)
        for step in self.steps:
            if not step.id:
                base = step.step.call.callee
                name, counter = base, 1
                while name in taken:
                    counter += 1
                    name = f"{base}_{counter}"
                taken.add(name)
                step.id = name
            elif self.by_name.get(step.id) is not step:
                step.id = ""  # a duplicate, already reported; it takes no part in the graph

    # ------------------------------------------------------------ blocks
    def check_block(self, block: Block) -> None:
        enclosing = block.enclosing
        if block.kind == "if":
            block.condition = self.condition(block.node.condition, enclosing, block.id)
        elif block.kind == "else":
            partner = next(b for b in self.blocks if b.kind == "if" and b.node is block.node)
            if partner.condition is not None:
                block.condition = ir.Not(partner.condition)
        elif block.kind == "for":
            self.check_loop(block, enclosing)

    def check_loop(self, block: Block, enclosing: tuple[Block, ...]) -> None:
        node: ast.For = block.node
        binding, items_type = self.expr(node.iterable, enclosing, block.id)
        if binding is None or items_type is None:
            return
        if not items_type.is_list:
            self.diagnostics.error("E209", node.iterable.span, f"for loops run over lists; this is {items_type}",
                                   hint="loop over a list literal, a list parameter or a list output")
            return
        if isinstance(binding, ir.Const):
            if not binding.value:
                self.diagnostics.error("E209", node.iterable.span, "this loop runs over an empty list")
                return
            if items_type.element is None:
                self.diagnostics.error("E209", node.iterable.span, "the items of a loop's list must all have one type")
                return
        item_type = items_type.element or STR
        parent = next((b.loop.id for b in reversed(enclosing) if b.kind == "for" and b.loop is not None), None)
        block.item_type = item_type
        block.loop = ir.Loop(block.id, node.variable, binding, item_type, parent, node.span)

    # ------------------------------------------------------------ steps
    def check_step(self, step: CheckedStep) -> None:
        node = step.step
        call = node.call
        symbol = self.checker.lookup(self.module, call.callee)
        spec = None
        if symbol is None and self.module.key in self.checker.program.incomplete:
            pass  # an import of this file failed (reported there); this is most likely its echo
        elif symbol is None:
            scope = self.checker.program.scopes[self.module.key]
            components = [name for name, s in scope.items() if isinstance(s.declaration, ast.Component)]
            self.diagnostics.error("E106", call.callee_span, f"unknown component '{call.callee}'",
                                   hint=_did_you_mean(call.callee, components) or "declare it, or import the file that does")
        elif isinstance(symbol.declaration, ast.Pipeline):
            self.diagnostics.error("E106", call.callee_span, f"'{call.callee}' is a pipeline; steps call components",
                                   hint="pipelines cannot be called as steps; call its components here")
        elif isinstance(symbol.declaration, ast.Let):
            self.diagnostics.error("E106", call.callee_span, f"'{call.callee}' is a value, not a component")
        else:
            spec = self.checker.component(symbol.module, symbol.declaration)
        step.component = spec
        self.check_arguments(step, spec)
        if spec is not None and symbol.declaration.imported:
            from .kfp import specialize

            step.component = specialize(symbol.declaration, dict(step.arguments), call.span, self.diagnostics) or spec
        for reference in node.after:
            other = self.by_name.get(reference.name)
            if other is None:
                self.diagnostics.error("E108", reference.span, f"no step named '{reference.name}'",
                                       hint=_did_you_mean(reference.name, self.by_name) or
                                       "after names steps of this pipeline")
                continue
            if other.is_finally != step.is_finally:
                self.diagnostics.error("E213", reference.span,
                                       "finally steps and the other steps cannot wait for each other",
                                       hint="finally steps run after all the others anyway")
                continue
            step.after.append(other.id)
        if spec is not None and not node.overrides:
            step.settings = spec.settings
        elif spec is not None:
            reader = SettingsReader(self.diagnostics, self.setting_constant)
            given = reader.unique(node.overrides, OVERRIDE_KEYS, "a step's with block")
            step.settings = self.checker.interned(reader.task_settings(
                given, spec.settings, lambda expr: secret_or_constant(self.checker, self.module, expr)))

    def setting_constant(self, expr: ast.Expr):
        """Settings take literals; a parameter, step or loop variable is named as such."""
        if isinstance(expr, ast.NameRef) and (expr.name in self.param_spans or expr.name in self.by_name or
                                              any(b.variable == expr.name for b in self.blocks)):
            self.diagnostics.error("E210", expr.span, f"settings take literal values, and '{expr.name}' changes from run to run",
                                   hint="write the value, or bind it with let")
            return None
        return self.checker.constant(self.module, expr)

    def check_arguments(self, step: CheckedStep, spec: ir.ComponentSpec | None) -> None:
        call = step.step.call
        given: dict[str, ast.Argument] = {}
        inputs_by_name = self.checker.ports(spec)[0] if spec is not None else {}
        for argument in call.arguments:
            if argument.name is None:
                inputs = ", ".join(port.name for port in spec.inputs) if spec else ""
                self.diagnostics.error("E206", argument.span, "arguments are passed by name: input=value",
                                       hint=f"inputs of {call.callee}: {inputs}" if inputs else None)
                self.expr(argument.value, step.blocks, step.id)
                continue
            if argument.name in given:
                self.diagnostics.error("E205", argument.name_span, f"'{argument.name}' is given twice")
                continue
            given[argument.name] = argument
            binding, value_type = self.expr(argument.value, step.blocks, step.id)
            if spec is None:
                continue
            port = inputs_by_name.get(argument.name)
            if port is None:
                outputs = [p.name for p in spec.outputs]
                hint = _did_you_mean(argument.name, [p.name for p in spec.inputs])
                if argument.name in outputs:
                    hint = f"'{argument.name}' is an output of {spec.name}; outputs are read as step.{argument.name}"
                self.diagnostics.error("E204", argument.name_span, f"'{spec.name}' has no input '{argument.name}'",
                                       hint=hint or "inputs: " + ", ".join(p.name for p in spec.inputs))
                continue
            if binding is None or value_type is None:
                continue
            if value_type is port.type:  # types of plain names are shared objects: the usual case
                step.arguments.append((port.name, binding))
                continue
            if port.type.is_artifact != value_type.is_artifact:
                if port.type.is_artifact:
                    message = f"input '{port.name}' of {spec.name} is an artifact ({port.type}), but this is a {value_type} value"
                    hint = "artifacts come from step outputs, like data.dataset"
                else:
                    message = f"input '{port.name}' of {spec.name} is a {port.type} value, but this is an artifact ({value_type})"
                    hint = "artifacts are files; pass them to artifact inputs"
                self.diagnostics.error("E207", argument.value.span, message, hint=hint)
                continue
            if not assignable(value_type, port.type):
                self.diagnostics.error("E202", argument.value.span,
                                       f"input '{port.name}' of {spec.name} is {port.type}, but this is {value_type}")
                continue
            if port.type.name == "float" and isinstance(binding, ir.Const) and type(binding.value) is int:
                binding = ir.Const(float(binding.value))
            step.arguments.append((port.name, binding))
        if spec is not None:
            missing = [port.name for port in spec.inputs
                       if port.name not in given and not port.has_default and not port.optional]
            if missing:
                names = ", ".join(f"'{name}'" for name in missing)
                self.diagnostics.error("E203", call.span, f"{spec.name} needs {names}",
                                       hint="add " + ", ".join(f"{name}=..." for name in missing))
            order = self.checker.ports(spec)[2]
            step.arguments.sort(key=lambda item: order[item[0]])

    # ------------------------------------------------------------ values
    def expr(self, expr: ast.Expr, blocks: tuple[Block, ...], consumer: str) -> tuple[ir.Binding | None, Type | None]:
        """An argument, operand or loop list -> (binding, type); (None, None) after reporting."""
        if isinstance(expr, ast.NameRef):
            for block in reversed(blocks):
                if block.kind == "for" and block.variable == expr.name:
                    if block.loop is None:
                        return None, None
                    return ir.LoopItem(block.loop.id), block.item_type
            if expr.name in self.param_spans:
                self.used_params.add(expr.name)
                param = self.params.get(expr.name)
                if param is None:
                    return None, None
                reference = self.param_refs.get(expr.name)
                if reference is None:  # immutable, so one object serves every read of the parameter
                    reference = self.param_refs[expr.name] = ir.ParamRef(expr.name)
                return reference, param.type
            if expr.name in self.by_name:
                step = self.by_name[expr.name]
                outputs = [p.name for p in step.component.outputs] if step.component else []
                self.diagnostics.error("E107", expr.span, f"'{expr.name}' is a step; name one of its outputs",
                                       hint=f"for example {expr.name}.{outputs[0]}" if outputs else None)
                return None, None
            symbol = self.checker.program.scopes[self.module.key].get(expr.name)
            if symbol is None and self.module.key in self.checker.program.incomplete:
                return None, None  # an echo of the import that failed
            if symbol is None or not isinstance(symbol.declaration, ast.Let):
                candidates = set(self.param_spans) | {b.variable for b in blocks if b.variable} | {
                    name for name, s in self.checker.program.scopes[self.module.key].items() if isinstance(s.declaration, ast.Let)}
                self.diagnostics.error("E107", expr.span, f"unknown name '{expr.name}'",
                                       hint=_did_you_mean(expr.name, candidates))
                return None, None
        if isinstance(expr, ast.OutputRef):
            return self.output_ref(expr, blocks, consumer)
        if isinstance(expr, ast.Call):
            self.diagnostics.error("E214", expr.span, "a step cannot be called inside an argument",
                                   hint="make it a step of its own and pass its output: s = component(...); x=s.output")
            return None, None
        if isinstance(expr, (ast.ListExpr, ast.DictExpr)):
            for item in (expr.items if isinstance(expr, ast.ListExpr) else [v for _, v in expr.entries]):
                if isinstance(item, (ast.OutputRef,)) or (isinstance(item, ast.NameRef) and self._is_variable(item, blocks)):
                    self.diagnostics.error("E210", item.span, "lists and dicts hold literal values only",
                                           hint="pass the value as an argument of its own")
                    return None, None
        value = self.checker.constant(self.module, expr)
        if value is None:
            return None, None
        return ir.Const(value), type_of_literal(value)

    def _is_variable(self, ref: ast.NameRef, blocks) -> bool:
        return ref.name in self.param_spans or ref.name in self.by_name or any(b.variable == ref.name for b in blocks)

    def output_ref(self, expr: ast.OutputRef, blocks: tuple[Block, ...], consumer: str):
        producer = self.by_name.get(expr.step)
        if producer is None:
            self.diagnostics.error("E108", expr.step_span, f"no step named '{expr.step}'",
                                   hint=_did_you_mean(expr.step, self.by_name))
            return None, None
        if producer.component is None:
            symbol = self.checker.program.scopes[self.module.key].get(producer.step.call.callee)
            if symbol is not None and isinstance(symbol.declaration, ast.Component):
                producer.component = self.checker.component(symbol.module, symbol.declaration)
        spec = producer.component
        if spec is None:
            return None, None
        port = self.checker.ports(spec)[1].get(expr.output)
        if port is None:
            outputs = [p.name for p in spec.outputs]
            self.diagnostics.error("E109", expr.output_span, f"step '{expr.step}' ({spec.name}) has no output '{expr.output}'",
                                   hint=_did_you_mean(expr.output, outputs) or
                                   ("outputs: " + ", ".join(outputs) if outputs else f"{spec.name} has no outputs"))
            return None, None
        if not blocks and not producer.blocks:  # both at the top level: the common case
            self.reads.setdefault(consumer, []).append((producer.id, expr.span))
            return ir.TaskOutput(producer.id, expr.output), port.type
        common = 0
        while common < min(len(blocks), len(producer.blocks)) and blocks[common] is producer.blocks[common]:
            common += 1
        if producer.is_finally != (bool(blocks) and blocks[0].kind == "finally"):
            self.diagnostics.error("E213", expr.span,
                                   "finally steps and the other steps cannot read each other's outputs",
                                   hint="finally steps run whatever happened; give them pipeline parameters or literals")
            return None, None
        value_type = port.type
        gathered: list[str] = []
        for block in producer.blocks[common:]:
            if block.kind in ("if", "else"):
                self.diagnostics.error("E213", expr.span,
                                       f"step '{expr.step}' runs only under a condition, so its output does not exist here",
                                       hint="use it inside the same if, or move the step out of the if")
                return None, None
            if block.kind == "for":
                if value_type.is_artifact:
                    self.diagnostics.error("E213", expr.span,
                                           f"'{expr.step}.{expr.output}' is an artifact made in each iteration of a loop; "
                                           "after the loop only output values are gathered into lists",
                                           hint="use the artifact inside the loop")
                    return None, None
                gathered.append(block.id)
                value_type = list_of(value_type)
        self.reads.setdefault(consumer, []).append((producer.id, expr.span))
        return ir.TaskOutput(producer.id, expr.output, tuple(gathered)), value_type

    # ------------------------------------------------------------ conditions
    def condition(self, node, blocks: tuple[Block, ...], consumer: str) -> ir.Condition | None:
        if isinstance(node, ast.BoolOp):
            operands = [self.condition(operand, blocks, consumer) for operand in node.operands]
            if any(operand is None for operand in operands):
                return None
            return ir.And(tuple(operands)) if node.op == "and" else ir.Or(tuple(operands))
        if isinstance(node, ast.Not):
            operand = self.condition(node.operand, blocks, consumer)
            return None if operand is None else ir.Not(operand)
        if isinstance(node, ast.Compare):
            left = self.operand(node.left, blocks, consumer)
            right = self.operand(node.right, blocks, consumer)
            if left is None or right is None:
                return None
            (left_binding, left_type), (right_binding, right_type) = left, right
            if node.op in ("<", "<=", ">", ">="):
                if not (left_type.is_numeric and right_type.is_numeric):
                    self.diagnostics.error("E208", node.span, f"'{node.op}' compares numbers; this compares {left_type} with {right_type}")
                    return None
            elif not (left_type == right_type or (left_type.is_numeric and right_type.is_numeric)):
                self.diagnostics.error("E208", node.span, f"'{node.op}' compares values of one type; this compares {left_type} with {right_type}",
                                       hint="compare numbers with numbers, strings with strings, bools with bools")
                return None
            return ir.Compare(node.op, left_binding, right_binding)
        operand = self.operand(node, blocks, consumer)
        if operand is None:
            return None
        binding, value_type = operand
        if value_type.name != "bool":
            self.diagnostics.error("E208", node.span, f"a condition is a comparison or a bool; this is {value_type}",
                                   hint="compare it, for example: x == \"value\" or n > 0")
            return None
        return ir.Truthy(binding)

    def operand(self, node, blocks, consumer) -> tuple[ir.Binding, Type] | None:
        if isinstance(node, (ast.BoolOp, ast.Not, ast.Compare)):
            self.diagnostics.error("E208", node.span, "a comparison cannot be compared again",
                                   hint="combine conditions with and / or")
            return None
        binding, value_type = self.expr(node, blocks, consumer)
        if binding is None or value_type is None:
            return None
        if value_type.is_artifact:
            self.diagnostics.error("E208", node.span, f"conditions test values, and this is an artifact ({value_type})",
                                   hint="make the step output a value (like accuracy: float) and test that")
            return None
        if value_type.name in ("list", "dict"):
            self.diagnostics.error("E208", node.span, f"conditions compare single values, and this is a {value_type}")
            return None
        return binding, value_type

    # ------------------------------------------------------------ cycles
    def find_cycles(self) -> None:
        """Kahn's algorithm on plain dicts (the common, acyclic case stays cheap); the steps
        left over sit on or behind a cycle, which networkx then names."""
        successors: dict[str, set[str]] = {step.id: set() for step in self.steps if step.id}
        for step in self.steps:
            if not step.id:
                continue
            producers = [producer for producer, _ in self.reads.get(step.id, ())]
            producers += step.after
            for block in step.blocks:
                producers += [producer for producer, _ in self.reads.get(block.id, ())]
            for producer in producers:
                if producer in successors:
                    successors[producer].add(step.id)
        waiting = dict.fromkeys(successors, 0)
        for targets in successors.values():
            for target in targets:
                waiting[target] += 1
        ready = [node for node, count in waiting.items() if count == 0]
        while ready:
            node = ready.pop()
            for target in successors[node]:
                waiting[target] -= 1
                if waiting[target] == 0:
                    ready.append(target)
        stuck = {node for node, count in waiting.items() if count > 0}
        if not stuck:
            return
        import networkx as nx  # only when there is a cycle to name

        graph = nx.DiGraph((source, target) for source in stuck for target in successors[source] if target in stuck)
        position = {step.id: index for index, step in enumerate(self.steps) if step.id}
        for component in nx.strongly_connected_components(graph):
            if len(component) == 1:
                (node,) = component
                if not graph.has_edge(node, node):
                    continue
            first = min(component, key=position.__getitem__)
            cycle = nx.find_cycle(graph.subgraph(component), source=first)
            path = [edge[0] for edge in cycle] + [first]
            step = self.by_name.get(first) or next(s for s in self.steps if s.id == first)
            span = step.step.name_span or step.step.span
            self.diagnostics.error("E401", span, "steps depend on each other in a cycle: " + " -> ".join(path),
                                   hint="a step can only use outputs of steps that do not use its own")


def check_program(program: Program, diagnostics: Diagnostics) -> CheckedProgram:
    return Checker(program, diagnostics).run()
