"""The Argo Workflows backend: one pipeline's IR -> a Workflow, WorkflowTemplate or CronWorkflow.

Shape of the output:
- an entry `dag` template with one task per step; a loop whose body is one step puts
  `withItems`/`withParam` on that step, a longer body becomes a DAG template of its own;
- one container (or MPI resource) template per distinct (component, settings);
- `finally` steps in an exit-handler DAG (`onExit`).
Values cross DAG boundaries as input parameters (or artifacts) of the nested templates; a
loop's outputs used after it are Argo's aggregated JSON lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from ..compiler import ir
from ..compiler.source import Span
from . import argo_templates as templates
from . import argo_values as values
from .base import (PIPELINE_LABEL, EmitResult, Emitter, Member, Options, Scope, TemplateKeys, build_scopes,
                   documents_over, member_in, scope_dependencies)
from .naming import CRON_WORKFLOW_MAX, LABEL_MAX, NameScope, dns_label
from .yaml_out import Flow

API_VERSION = "argoproj.io/v1alpha1"
ENGINE_NAME = "Argo Workflows"  # as messages name the engine
SIZE_LIMIT = 1 << 20  # Argo refuses a workflow whose JSON exceeds 1 MiB
SIZE_WARNING = int(SIZE_LIMIT * 0.8)
REFUSES = "Argo refuses workflows"  # what the size warning says happens above SIZE_LIMIT
VOLUME_SIZE = "10Gi"
ITEM_PARAM = "item"


@dataclass(eq=False)
class Dag:
    """A DAG template being built: the entry DAG, the exit handler or a loop body."""

    scope: Scope
    template: dict
    chain: tuple[str, ...]  # loop ids from the top, this body's last
    is_finally: bool
    dir_prefix: str  # volume mode: the folder (relative to the volume) of this body's tasks
    parent: "Dag | None" = None
    names: NameScope = field(default_factory=NameScope)
    tasks: list[dict] = field(default_factory=list)
    imports: dict[tuple, str] = field(default_factory=dict)  # value key -> input parameter/artifact
    import_is_artifact: dict[tuple, bool] = field(default_factory=dict)
    exports: dict[tuple, str] = field(default_factory=dict)  # value key -> output parameter
    hoisted: int = 0  # leading guard conditions tested by the enclosing loop tasks

    def member_name(self, member: Member) -> str:
        if isinstance(member, tuple):
            return self.names.name(member, member[1])
        return self.names.name(member, member)


class ArgoEmitter(Emitter):
    TARGET = "argo"
    MAX_DOCUMENT_BYTES = SIZE_LIMIT
    OPTIONS = ("kind", "artifacts", "volume_claim")

    @classmethod
    def option_problem(cls, options: Options) -> tuple[str, str] | None:
        if options.volume_claim and options.artifacts != "volume":
            return "volume_claim", "--volume-claim goes with --artifacts volume"
        return None

    def __init__(self, options: Options | None = None, document_names: dict[int, NameScope] | None = None) -> None:
        super().__init__(options)
        self.keys = TemplateKeys()
        # Names of documents, shared by all pipelines compiled together (one namespace).
        self.document_names = document_names if document_names is not None else {}

    def document_name(self, kind: str, pipeline: str) -> str:
        limit = CRON_WORKFLOW_MAX if kind == "CronWorkflow" else LABEL_MAX
        scope = self.document_names.setdefault(limit, NameScope(limit))
        return scope.name((kind, pipeline), pipeline)

    # ------------------------------------------------------------ pipeline
    def pipeline(self, graph: nx.DiGraph) -> list[dict]:
        self.graph = graph
        self.info = ir.info(graph)
        self.volume_mode = self._artifact_mode(graph)
        self.template_names = NameScope()
        self.component_templates: list[dict] = []
        self.template_for_key: dict[tuple, str] = {}
        self.shared_parts: dict[tuple, tuple] = {}  # equal parts of container templates, made once
        self.template_for_objects: dict[tuple[int, int], str] = {}  # ids of (component, settings): the graph keeps them alive
        self.loop_templates: list[dict] = []
        self._children: dict[tuple[bool, str], Dag] = {}
        self.dependencies = scope_dependencies(graph)
        main, final = build_scopes(graph, self.ordered)
        entry_name = self.template_names.name(("pipeline",), self.info.name)
        exit_name = self.template_names.name(("finally",), "finally") if final.items else None
        entry = self.dag(main, entry_name, (), False, None, "{{workflow.uid}}")
        templates_list = [entry.template]
        if exit_name:
            templates_list.append(self.finally_block(final, exit_name))
        templates_list += self.loop_templates + self.component_templates
        if self.failed:
            return []
        return self.documents(entry_name, exit_name, templates_list)

    def _artifact_mode(self, graph: nx.DiGraph) -> bool:
        if self.options.artifacts == "volume":
            return True
        for task in self.ordered:
            if task.settings.mpi is None:
                continue
            component = task.component
            if any(port.type.is_artifact for port in component.inputs + component.outputs):
                why = "has artifacts and MPI pods cannot reach Argo's artifact repository"
            elif component.outputs:
                why = "has output values, which its ranks write to the shared volume"
            else:
                continue
            self.warning("B003", task.span,
                         f"pipeline '{self.info.name}' passes artifacts through a shared volume, because "
                         f"MPI step '{task.id}' {why}",
                         hint="say --artifacts volume to choose this mode yourself; the cluster needs a "
                              "ReadWriteMany storage class (or --volume-claim NAME)")
            return True
        return False

    def documents(self, entry: str, exit_name: str | None, template_list: list[dict]) -> list[dict]:
        info = self.info
        spec: dict = {"entrypoint": entry}
        parameters = []
        for param in info.params:
            entry_param: dict = {"name": param.name}
            if param.has_default:
                entry_param["value"] = self.literal_value(param.default, info.span, f"the default of parameter '{param.name}'")
            parameters.append(entry_param)
        if parameters:
            spec["arguments"] = {"parameters": parameters}
        if exit_name:
            spec["onExit"] = exit_name
        if info.parallelism:
            spec["parallelism"] = info.parallelism
        if info.timeout_seconds:
            spec["activeDeadlineSeconds"] = info.timeout_seconds
        if info.service_account:
            spec["serviceAccountName"] = info.service_account
        volumes = []
        if any(templates.OUTPUTS_VOLUME == m.get("name") for t in template_list
               for m in t.get("container", {}).get("volumeMounts", [])):
            volumes.append({"name": templates.OUTPUTS_VOLUME, "emptyDir": {}})
        if self.volume_mode and self.options.volume_claim:
            volumes.append({"name": templates.ARTIFACTS_VOLUME,
                            "persistentVolumeClaim": {"claimName": self.options.volume_claim}})
        if volumes:
            spec["volumes"] = volumes
        if self.volume_mode:
            if not self.options.volume_claim:
                spec["volumeClaimTemplates"] = [{
                    "metadata": {"name": templates.ARTIFACTS_VOLUME},
                    "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": VOLUME_SIZE}}},
                }]
        spec["templates"] = template_list
        labels = {"app.kubernetes.io/managed-by": "treadle", PIPELINE_LABEL: dns_label(info.name)}
        if info.schedule and self.options.kind == "workflow":
            cron: dict = {"schedules": [info.schedule]}
            if info.timezone:
                cron["timezone"] = info.timezone
            cron["concurrencyPolicy"] = "Forbid"
            cron["workflowSpec"] = spec
            return [self._document("CronWorkflow", self.document_name("CronWorkflow", info.name), labels, cron)]
        kind = "WorkflowTemplate" if self.options.kind == "workflowtemplate" else "Workflow"
        name = self.document_name(kind, info.name)
        result = [self._document(kind, name, labels, spec)]
        if info.schedule:  # a WorkflowTemplate and the CronWorkflow that runs it
            cron = {"schedules": [info.schedule]}
            if info.timezone:
                cron["timezone"] = info.timezone
            cron["concurrencyPolicy"] = "Forbid"
            cron["workflowSpec"] = {"workflowTemplateRef": {"name": name}}
            result.append(self._document("CronWorkflow", self.document_name("CronWorkflow", info.name), labels, cron))
        return result

    @staticmethod
    def _document(kind: str, name: str, labels: dict, spec: dict) -> dict:
        return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name, "labels": labels}, "spec": spec}

    # ------------------------------------------------------------ DAGs
    def dag(self, scope: Scope, name: str, chain: tuple[str, ...], is_finally: bool, parent: Dag | None,
            dir_prefix: str, hoisted: int = 0) -> Dag:
        template: dict = {"name": name}
        dag = Dag(scope, template, chain, is_finally, dir_prefix, parent, hoisted=hoisted)
        for item in scope.items:
            if isinstance(item, Scope):
                dag.tasks.append(self.loop(item, dag))
            else:
                dag.tasks.append(self.task(item, dag))
        inputs: dict = {}
        params = [{"name": n} for key, n in dag.imports.items() if not dag.import_is_artifact[key]]
        artifacts = [{"name": n} for key, n in dag.imports.items() if dag.import_is_artifact[key]]
        if scope.loop is not None:
            params.insert(0, {"name": ITEM_PARAM})
            if self.volume_mode:
                params.insert(1, {"name": templates.DIR_PARAM})
        if params:
            inputs["parameters"] = params
        if artifacts:
            inputs["artifacts"] = artifacts
        if inputs:
            template["inputs"] = inputs
        # One line per call: a DAG of thousands of calls stays small, and a changed call is a
        # one-line change in a GitOps diff.
        template["dag"] = {"tasks": [Flow(task) for task in dag.tasks]}
        return dag

    def finally_block(self, scope: Scope, name: str) -> dict:
        return self.dag(scope, name, (), True, None, "{{workflow.uid}}/finally").template

    def depends(self, dag: Dag, member: Member) -> str | None:
        waits = self.dependencies.get((dag.is_finally, dag.chain), {}).get(member)
        if not waits:
            return None
        terms = []
        for other, strength in waits.items():
            name = dag.member_name(other)
            # Argo's plain `a` means a succeeded or was skipped. A condition that reads a's outputs
            # must not be tested when a was skipped (the outputs do not exist): `a.Succeeded` leaves
            # the reader out then. `after` only orders: a skipped or left-out step lets it run.
            if strength == "guard":
                terms.append(f"{name}.Succeeded")
            elif strength == "data":
                terms.append(name)
            else:
                terms.append(f"({name}.Succeeded || {name}.Skipped || {name}.Omitted)")
        return " && ".join(sorted(terms))

    # ------------------------------------------------------------ tasks
    def task(self, task: ir.Task, dag: Dag, loop: Scope | None = None) -> dict:
        """A call; with `loop`, the task is a one-step loop body and carries its items."""
        member: Member = ("loop", loop.loop.id) if loop else task.id
        entry: dict = {"name": dag.member_name(member), "template": self.component(task)}
        depends = self.depends(dag, member)
        if depends:
            entry["depends"] = depends
        item_loop = loop.loop.id if loop else None
        parameters: list[dict] = []
        artifacts: list[dict] = []
        for port in task.component.inputs:
            binding = task.argument(port.name)
            if binding is None:
                binding = ir.Const(port.default)
            where = f"argument '{port.name}' of step '{task.id}'"
            if port.type.is_artifact and not self.volume_mode:
                ref = self.lookup(("artifact", binding.task, binding.output), dag, task.span)
                artifacts.append(Flow(name=port.name, **{"from": ref}))
            elif port.type.is_artifact:
                parameters.append(Flow(name=port.name, value=self.lookup(("path", binding.task, binding.output), dag, task.span)))
            else:
                parameters.append(Flow(name=port.name, value=self.value_text(binding, dag, task.span, where, item_loop)))
        if self.volume_mode and task.component.outputs:
            folder = f"{dag.dir_prefix}/{entry['name']}"
            if loop is not None:
                folder += "/" + self._item_folder(loop, task.span)
            parameters.append(Flow(name=templates.DIR_PARAM, value=folder))
        arguments: dict = {}
        if parameters:
            arguments["parameters"] = parameters
        if artifacts:
            arguments["artifacts"] = artifacts
        if arguments:
            entry["arguments"] = arguments
        guard = ir.flat_conditions(task.guard)[dag.hoisted:]
        if guard:
            entry["when"] = self.condition(guard, dag, item_loop, task.span)
        if loop is not None:
            self._items(entry, loop, dag)
        return entry

    def _item_folder(self, loop: Scope, span: Span) -> str:
        """Volume mode: iterations write to folders named by a hash of their item."""
        items = loop.loop.items
        if isinstance(items, ir.Const):
            rendered = [ir.render_value(item) for item in items.value]
            if len(set(rendered)) != len(rendered):
                self.unsupported(span, "in the shared-volume artifact mode, loop iterations keep their artifacts in "
                                       "folders named after their item, and this loop's list repeats an item",
                                 hint="make the items distinct")
        return "{{=sprig.substr(0, 16, sprig.sha256sum(toJson(item)))}}"

    def _items(self, entry: dict, loop: Scope, dag: Dag) -> None:
        items = loop.loop.items
        span = loop.loop.span
        if isinstance(items, ir.Const):
            entry["withItems"] = [self.literal_value(item, span, f"an item of the loop over {loop.loop.variable}")
                                  for item in items.value]
        else:
            entry["withParam"] = self.value_text(items, dag, span, f"the list of the loop over {loop.loop.variable}", None)

    # ------------------------------------------------------------ loops
    def loop(self, scope: Scope, parent: Dag) -> dict:
        task = scope.single_task
        if task is not None and not self._reads_own_item(task, scope):
            return self.task(task, parent, loop=scope)
        member: Member = ("loop", scope.loop.id)
        name = parent.member_name(member)
        template_name = self.template_names.name(("loop", parent.is_finally, scope.loop.id), scope.loop.id)
        # The conditions around the loop are tested once, on the loop task; the body's steps
        # test only their own.
        loop_conditions = ir.flat_conditions(scope.loop.guard)
        hoisted = len(loop_conditions)
        body_prefix = values.input_param(templates.DIR_PARAM).tag()
        body = self.dag(scope, template_name, parent.chain + (scope.loop.id,), parent.is_finally, parent,
                        body_prefix, hoisted)
        self.loop_templates.append(body.template)
        self._children[(parent.is_finally, scope.loop.id)] = body
        entry: dict = {"name": name, "template": template_name}
        depends = self.depends(parent, member)
        if depends:
            entry["depends"] = depends
        parameters = [Flow(name=ITEM_PARAM, value=values.ITEM.tag())]
        if self.volume_mode:
            parameters.append(Flow(name=templates.DIR_PARAM,
                                   value=f"{parent.dir_prefix}/{name}/{self._item_folder(scope, scope.loop.span)}"))
        artifacts = []
        for key, import_name in body.imports.items():
            value = self.lookup(key, parent, scope.loop.span)
            if body.import_is_artifact[key]:
                artifacts.append(Flow(name=import_name, **{"from": value}))
            else:
                parameters.append(Flow(name=import_name, value=value))
        arguments: dict = {"parameters": parameters}
        if artifacts:
            arguments["artifacts"] = artifacts
        entry["arguments"] = arguments
        guard = loop_conditions[parent.hoisted:]
        if guard:
            entry["when"] = self.condition(guard, parent, None, scope.loop.span)
        self._items(entry, scope, parent)
        return entry

    @staticmethod
    def _reads_own_item(task: ir.Task, scope: Scope) -> bool:
        """A one-step body whose condition reads the item gets a DAG of its own: Argo fills
        `{{item}}` in after conditions are read."""
        for condition in ir.flat_conditions(task.guard):
            for binding in ir.condition_bindings(condition):
                if isinstance(binding, ir.LoopItem) and binding.loop == scope.loop.id:
                    return True
        return False

    # ------------------------------------------------------------ values
    def literal_value(self, value: ir.Value, span: Span, where: str) -> str:
        text = ir.render_value(value)
        try:
            return templates.literal(text, where)
        except templates.TemplateProblem as problem:
            self.error("B002", span, str(problem), problem.hint)
            return text

    def value_text(self, binding: ir.Binding, dag: Dag, span: Span, where: str, item_loop: str | None) -> str:
        """A parameter value in a DAG task: literal text or a tag Argo fills in."""
        if isinstance(binding, ir.Const):
            return self.literal_value(binding.value, span, where)
        if isinstance(binding, ir.TaskOutput):  # the tag as looked up (value_ref would split and rejoin it)
            return self.lookup(("param", binding.task, binding.output), dag, span)
        return self.value_ref(binding, dag, span, item_loop).tag()

    def value_ref(self, binding: ir.Binding, dag: Dag, span: Span, item_loop: str | None) -> values.Ref:
        if isinstance(binding, ir.ParamRef):
            return values.workflow_param(binding.name)
        if isinstance(binding, ir.LoopItem):
            if binding.loop == item_loop:
                return values.ITEM
            return values.Ref(self._parse_tag(self.lookup(("item", binding.loop), dag, span)))
        return values.Ref(self._parse_tag(self.lookup(("param", binding.task, binding.output), dag, span)))

    @staticmethod
    def _parse_tag(tag: str) -> tuple[str, ...]:
        return tuple(tag[2:-2].split("."))

    def lookup(self, key: tuple, dag: Dag, span: Span) -> str:
        """The tag (or, for volume paths, the text) that stands for a value inside `dag`.

        key: ("item", loop) | ("param", task, output) | ("artifact", task, output) | ("path", task, output)."""
        if key[0] == "item":
            if dag.scope.loop is not None and dag.scope.loop.id == key[1]:
                return values.input_param(ITEM_PARAM).tag()
            return self._import(key, dag, span)
        producer: ir.Task = self.task_of[key[1]]
        depth = len(dag.chain)
        if producer.loops[:depth] != dag.chain or producer.is_finally != dag.is_finally:
            return self._import(key, dag, span)
        member = member_in(producer.loops, producer.id, depth)
        name = dag.member_name(member)
        if key[0] == "path":
            if isinstance(member, tuple):  # artifacts are never gathered out of a loop (the checker says so)
                raise AssertionError(f"artifact {key} read outside its loop")
            return f"{dag.dir_prefix}/{name}/{key[2]}"
        if not isinstance(member, tuple):
            return values.task_output(name, key[2], artifact=key[0] == "artifact").tag()
        child_scope = self._child_scope(dag.scope, member[1])
        if child_scope.single_task is not None and not self._reads_own_item(child_scope.single_task, child_scope):
            return values.task_output(name, key[2]).tag()  # Argo aggregates the iterations' values
        child = self._built_child(dag, member[1])
        export = child.exports.get(key)
        if export is None:
            export = child.names.name(("export",) + key, f"{key[1]}-{key[2]}")
            child.exports[key] = export
            outputs = child.template.setdefault("outputs", {}).setdefault("parameters", [])
            outputs.append({"name": export, "valueFrom": {"parameter": self.lookup(key, child, span)}})
        return values.task_output(name, export).tag()

    def _import(self, key: tuple, dag: Dag, span: Span) -> str:
        is_artifact = key[0] == "artifact"
        name = dag.imports.get(key)
        if name is None:
            wanted = f"item-{key[1]}" if key[0] == "item" else f"{key[1]}-{key[2]}"
            name = dag.names.name(("import",) + key, wanted)
            dag.imports[key] = name
            dag.import_is_artifact[key] = is_artifact
        return (values.input_artifact(name) if is_artifact else values.input_param(name)).tag()

    def _child_scope(self, scope: Scope, loop_id: str) -> Scope:
        for child in scope.children:
            if child.loop.id == loop_id:
                return child
        raise KeyError(loop_id)

    def _built_child(self, dag: Dag, loop_id: str) -> Dag:
        return self._children[(dag.is_finally, loop_id)]

    # ------------------------------------------------------------ conditions
    def condition(self, conditions: tuple[ir.Condition, ...], dag: Dag, item_loop: str | None, span: Span) -> str:
        from .argo_conditions import render_when

        return render_when(conditions, lambda b: self._operand(b, dag, span, item_loop), self._type_of)

    def _operand(self, binding: ir.Binding, dag: Dag, span: Span, item_loop: str | None):
        if isinstance(binding, ir.Const):
            return binding.value
        return self.value_ref(binding, dag, span, item_loop)

    def _type_of(self, binding: ir.Binding) -> str:
        if isinstance(binding, ir.Const):
            value = binding.value
            return "bool" if isinstance(value, bool) else "float" if isinstance(value, (int, float)) else "str"
        return ir.declared_type(self.graph, binding).name

    # ------------------------------------------------------------ templates
    def component(self, task: ir.Task) -> str:
        known = (id(task.component), id(task.settings))  # tasks of one step pattern share both objects
        name = self.template_for_objects.get(known)
        if name is not None:
            return name
        key = self.keys.key(task)
        name = self.template_for_key.get(key)
        if name is not None:
            self.template_for_objects[known] = name
            return name
        name = self.template_names.name(("component",) + key, task.component.name,
                                        stable=lambda: self.keys.identity(key))
        self.template_for_key[key] = name
        self.template_for_objects[known] = name
        position = len(self.component_templates)  # an MPI step adds its helper templates after this one
        try:
            if task.settings.mpi is not None:
                template = self.mpi(task, name)
            else:
                template = templates.container_template(name, task, self.volume_mode, self.shared_parts)
        except templates.TemplateProblems as found:
            for problem in found.problems:
                self.error("B002", task.span, str(problem), problem.hint)
            return name
        memo = self.cache(task, name, key)
        if memo:
            template = _insert_after(template, "outputs" if "outputs" in template else "inputs" if "inputs" in template
                                     else "name", "memoize", memo)
        self.component_templates.insert(position, template)
        return name

    def mpi(self, task: ir.Task, name: str) -> dict:
        component = task.component
        if not component.command:
            self.unsupported(task.span, f"MPI step '{task.id}': its component gives no command for mpirun to start",
                             hint="give the component a command")
        claim = self.options.volume_claim or f"{{{{workflow.name}}}}-{templates.ARTIFACTS_VOLUME}"
        if not templates.value_outputs(component):
            return templates.mpi_template(name, task, claim)
        # Argo reads a resource template's results from the job object only: the values the
        # ranks write to the shared volume are read back by a container step after the job.
        key = self.keys.key(task)
        job_name = self.template_names.name(("mpijob",) + key, f"{name}-mpijob",
                                            stable=lambda: "mpijob" + self.keys.identity(key))
        values_name = self.template_names.name(("mpi-values",) + key, f"{name}-values",
                                               stable=lambda: "values" + self.keys.identity(key))
        self.component_templates.append(templates.mpi_template(job_name, task, claim))
        self.component_templates.append(templates.mpi_values_template(values_name, task))
        return templates.mpi_step_dag(name, task, job_name, values_name)

    def cache(self, task: ir.Task, name: str, key: tuple) -> dict:
        """`memoize` for a deterministic step that Argo can memoize; where it cannot, a step
        whose author wrote `cache = true` is told why (B005), the others run every time."""
        settings = task.settings
        if not (settings.cache and settings.deterministic):
            return {}
        component = task.component
        if task.settings.mpi is not None:
            why = "Argo memoizes container steps only"
        elif any(port.type.is_artifact for port in component.inputs):
            why = "Argo keys its cache on parameter values only, and this step reads artifacts"
        elif ir.engine_variables(component, settings):
            why = "its command line reads the run's id or its pod's name, which differ in every run"
        elif self.volume_mode and any(port.type.is_artifact for port in component.outputs):
            why = "its artifacts live on this run's volume"
        else:
            return templates.memoize(name, self.keys.identity(key), component)
        if settings.cache_asked:
            self.warning("B005", task.span, f"step '{task.id}' is not memoized: {why}")
        return {}

    # The base class's per-construct hooks that Argo expresses inside templates.
    def retries(self, settings: ir.Settings) -> dict:
        return templates.retry_strategy(settings) or {}

    def timeout(self, settings: ir.Settings) -> dict:
        return {"activeDeadlineSeconds": settings.timeout_seconds} if settings.timeout_seconds else {}

    def resources(self, settings: ir.Settings) -> dict:
        return templates.resources(settings)

    def env(self, task: ir.Task) -> list[dict]:
        return templates.ContainerParts(task.component, self.volume_mode).env(task.settings)

    def security(self, settings: ir.Settings) -> dict:
        return templates.security_context(settings)


def _insert_after(mapping: dict, after: str, key: str, value) -> dict:
    result = {}
    for existing, item in mapping.items():
        result[existing] = item
        if existing == after:
            result[key] = value
    return result


EMITTER = ArgoEmitter  # the engine's emitter class, for what it asks of the optimizer


def emit(graph: nx.DiGraph, options: Options | None = None,
         document_names: dict[int, NameScope] | None = None) -> EmitResult:
    """Compile one pipeline; problems come back as diagnostics, never as exceptions."""
    return ArgoEmitter(options, document_names).emit(graph)


def documents_near_limit(documents: list[dict], sizes: list[int] | None = None) -> list[tuple[str, int, str]]:
    """(what, JSON bytes, pipeline name) of each document near Argo's size limit. `sizes`:
    the documents' JSON sizes when the caller measured them already (while writing YAML)."""
    return documents_over(documents, sizes, SIZE_WARNING)
