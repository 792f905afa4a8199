"""The pod side of the Argo backend: container and MPI templates for one (component, settings).

A template is shared by every task that calls the component with the same settings, so
nothing here depends on a call: values come in as input parameters, artifacts at fixed
paths. Paths are literal so that commands stay readable:
- input artifact `x`        -> /tmp/treadle/inputs/x
- output (artifact or value) -> /tmp/treadle/outputs/NAME, on a volume mounted there
An MPI step's pods are not Argo pods, so Argo cannot read the values they write: a step
with output values becomes a small DAG (`mpi_step_dag`) that runs the MPIJob and then a
container that mounts the step's folder of the shared volume and exposes the files as
output parameters (`mpi_values_template`).
"""

from __future__ import annotations

from functools import lru_cache

from ..compiler import ir
from . import argo_values as values
from . import mpijob
from .base import described
from .yaml_out import DoubleQuoted, Flow, Shared, SharedFlow, dump_documents

INPUTS_DIR = "/tmp/treadle/inputs"
OUTPUTS_DIR = "/tmp/treadle/outputs"
OUTPUTS_VOLUME = "treadle-outputs"
ARTIFACTS_VOLUME = "treadle-artifacts"
DIR_PARAM = "treadle-dir"  # volume mode: the task's folder on the shared volume
MPI_JOB_TASK = "mpijob"  # inside an MPI step's DAG: the task that runs the MPIJob
MPI_VALUES_TASK = "values"  # ... and the one that reads the output values back
DESCRIPTION_ANNOTATION = "treadle.dev/description"  # a component's description, on its pods
MEMO_CONFIG_MAP = "treadle-memo"
MEMO_MAX_AGE = "8760h"  # a year: Argo requires an age; results of deterministic steps stay valid
PLAIN_TYPES = ("int", "float", "bool")  # values that never hold `$`, braces or control characters
# Engine variables as Argo's tags (docs/backends/argo.md). Argo has no id of a task's own: the
# pod's name is unique in the namespace, for each attempt.
ARGO_ENGINE_TAGS = {"run_id": "{{workflow.uid}}", "run_name": "{{workflow.name}}", "pod_name": "{{pod.name}}",
                    "task_id": "{{pod.name}}"}
_OUTPUTS_MOUNT = SharedFlow(name=OUTPUTS_VOLUME, mountPath=OUTPUTS_DIR)  # shared by every template; never changed


class TemplateProblem(Exception):
    """A value in a component that Argo cannot carry unchanged (reported by the emitter)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class TemplateProblems(Exception):
    """All the problems found while building one template."""

    def __init__(self, problems: list[TemplateProblem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


def input_path(name: str) -> str:
    return f"{INPUTS_DIR}/{name}"


def output_path(name: str) -> str:
    return f"{OUTPUTS_DIR}/{name}"


def literal(text: str, where: str) -> str:
    if values.has_template_braces(text):
        raise TemplateProblem(
            f"{where} contains '{{{{' ({text!r}); Argo reads '{{{{' as the start of a template tag and "
            "may replace the text, so it cannot reach the container unchanged",
            hint="remove the '{{' (for example, pass the text through a file the step reads)")
    return text


class ContainerParts:
    """Renders a component's argv, env and mounts in Argo's syntax for one mode."""

    def __init__(self, component: ir.ComponentSpec, volume_mode: bool) -> None:
        self.component = component
        self.volume_mode = volume_mode
        self.problems: list[TemplateProblem] = []  # every value Argo cannot carry, reported together
        self.plain = frozenset(port.name for port in component.inputs if port.type.name in PLAIN_TYPES)

    def argument(self, argument: ir.Argument, where: str, for_manifest: bool = False):
        """One argv entry. In a manifest (YAML that Argo substitutes into before it is parsed)
        a run-time value is written JSON-escaped inside double quotes. Engine variables
        are Argo's own tags, between the texts around them (see `engine_text`)."""
        parts: list[str | values.Ref] = []
        segments: list[list[str | values.Ref] | ir.EngineVariable] = [parts]
        for piece in argument:
            if isinstance(piece, ir.EngineVariable):
                parts = []
                segments += [piece, parts]
                continue
            if isinstance(piece, str):
                part = self.checked(piece, where)
            elif isinstance(piece, ir.InputValue):
                part = values.input_param(piece.name)
            elif isinstance(piece, ir.InputPath):
                part = input_path(piece.name)
            else:
                part = output_path(piece.name)
            if parts and isinstance(part, str) and isinstance(parts[-1], str):
                parts[-1] += part
            else:
                parts.append(part)
        if len(segments) > 1:
            return self.engine_text(segments, where)
        if not any(isinstance(part, values.Ref) for part in parts):
            return values.kube_escape("".join(parts))
        text = values.runtime_text(parts, self.plain)
        if for_manifest and text.startswith("{{="):
            return DoubleQuoted(_json_escaped(text))
        return text

    def engine_text(self, segments: list, where: str) -> str:
        """Text around engine variables, each written as its Argo tag. Argo fills in
        `{{workflow.*}}` with the template and `{{pod.name}}` when it creates the pod; the
        kubelet leaves their values alone (a uid or a name never holds `$`). The text
        before a tag must not end with `{`: Argo would read the `{{{` that makes as a tag
        of its own."""
        rendered = []
        for segment in segments:
            if isinstance(segment, ir.EngineVariable):
                if rendered and rendered[-1].endswith("{"):
                    self.problems.append(TemplateProblem(
                        f"{where}: the text before {ARGO_ENGINE_TAGS[segment.name]} ends with '{{', and Argo would "
                        "read the '{{{' as a tag of its own", hint="change the component.yaml's text"))
                rendered.append(ARGO_ENGINE_TAGS[segment.name])
            elif not any(isinstance(part, values.Ref) for part in segment):
                rendered.append(values.kube_escape("".join(segment)))
            else:
                rendered.append(values.runtime_text(segment, self.plain))
        return "".join(rendered)

    def argv(self, for_manifest: bool = False) -> tuple[list, list]:
        spec = self.component
        command = [self.argument(a, f"command of '{spec.name}'", for_manifest) for a in spec.command]
        args = [self.argument(a, f"args of '{spec.name}'", for_manifest) for a in spec.args]
        return command, args

    def env(self, settings: ir.Settings, for_manifest: bool = False) -> list[dict]:
        result = []
        for variable in settings.env:
            value = variable.value
            if isinstance(value, ir.SecretRef):
                result.append({"name": variable.name,
                               "valueFrom": {"secretKeyRef": {"name": value.secret, "key": value.key}}})
            elif isinstance(value, ir.InputValue):
                text = values.runtime_text([values.input_param(value.name)], self.plain)
                if for_manifest and text.startswith("{{="):
                    text = DoubleQuoted(_json_escaped(text))
                result.append({"name": variable.name, "value": text})
            elif isinstance(value, tuple):
                result.append({"name": variable.name, "value": self.argument(
                    value, f"environment variable {variable.name}", for_manifest)})
            else:
                text = self.checked(value, f"environment variable {variable.name}")
                result.append({"name": variable.name, "value": values.kube_escape(text)})
        return result

    def checked(self, text: str, where: str) -> str:
        try:
            return literal(text, where)
        except TemplateProblem as problem:
            self.problems.append(problem)
            return text

    def has_outputs(self) -> bool:
        return bool(self.component.outputs)

    def artifact_inputs(self) -> list[ir.Port]:
        return [port for port in self.component.inputs if port.type.is_artifact]

    def mounts(self, settings: ir.Settings) -> list[dict]:
        mounts = []
        if self.volume_mode:
            for port in self.artifact_inputs():
                mounts.append(Flow(name=ARTIFACTS_VOLUME, mountPath=input_path(port.name),
                                   subPath=values.input_param(port.name).tag(), readOnly=True))
            if self.has_outputs():
                mounts.append(Flow(name=ARTIFACTS_VOLUME, mountPath=OUTPUTS_DIR,
                                   subPath=values.input_param(DIR_PARAM).tag()))
        elif self.has_outputs():
            mounts.append(_OUTPUTS_MOUNT)
        for volume in settings.volumes:
            mount = Flow(name=volume_name(volume), mountPath=volume.mount_path)
            if volume.read_only:
                mount["readOnly"] = True
            mounts.append(mount)
        return mounts

    def volumes(self, settings: ir.Settings) -> list[dict]:
        """The template's own volumes (the outputs folder is declared once for the workflow)."""
        result = []
        for volume in settings.volumes:
            result.append(volume_source(volume))
        return result


def _json_escaped(expression: str) -> str:
    """`{{=E}}` -> `{{=...}}` whose result is E's value JSON-escaped without its quotes, so the
    text stays valid inside a YAML double-quoted string. `"` is spelled in base64 because
    the expression itself sits inside that string."""
    inner = expression[3:-2]
    quote = "sprig.b64dec('Ig==')"
    return "{{=sprig.trimSuffix(" + quote + ", sprig.trimPrefix(" + quote + ", toJson(" + inner + ")))}}"


def volume_name(volume: ir.Volume) -> str:
    from .naming import user_volume_name

    return user_volume_name(volume.name)


def volume_source(volume: ir.Volume) -> dict:
    entry: dict = {"name": volume_name(volume)}
    if volume.source == "claim":
        claim: dict = {"claimName": volume.source_name}
        if volume.read_only:
            claim["readOnly"] = True
        entry["persistentVolumeClaim"] = claim
    elif volume.source == "config_map":
        entry["configMap"] = {"name": volume.source_name}
    elif volume.source == "secret":
        entry["secret"] = {"secretName": volume.source_name}
    else:
        entry["emptyDir"] = {}
    return entry


def resources(settings: ir.Settings) -> dict:
    spec = settings.resources
    requests: dict = {}
    limits: dict = {}
    if spec.cpu:
        requests["cpu"] = spec.cpu
    if spec.memory:
        requests["memory"] = spec.memory
    if spec.cpu_limit:
        limits["cpu"] = spec.cpu_limit
    if spec.memory_limit:
        limits["memory"] = spec.memory_limit
    if spec.gpu:
        limits["nvidia.com/gpu"] = spec.gpu
    result: dict = {}
    if requests:
        result["requests"] = requests
    if limits:
        result["limits"] = limits
    return result


def security_context(settings: ir.Settings) -> dict:
    """The container's security context; one shared object per distinct setting, which the
    YAML writer renders once (nothing changes it after it is made)."""
    return _security_context(settings.security)


@lru_cache(maxsize=None)
def _security_context(security: ir.Security) -> dict:
    context: dict = {"runAsNonRoot": security.run_as_non_root}
    if security.run_as_user is not None:
        context["runAsUser"] = security.run_as_user
    context["allowPrivilegeEscalation"] = security.allow_privilege_escalation
    if security.read_only_root_filesystem:
        context["readOnlyRootFilesystem"] = True
    context["capabilities"] = {"drop": ["ALL"]}
    context["seccompProfile"] = {"type": "RuntimeDefault"}
    return SharedFlow(context)


def tolerations(settings: ir.Settings) -> list[dict]:
    result = []
    for toleration in settings.tolerations:
        entry: dict = {}
        if toleration.key is not None:
            entry["key"] = toleration.key
        entry["operator"] = toleration.operator
        if toleration.value is not None:
            entry["value"] = toleration.value
        if toleration.effect is not None:
            entry["effect"] = toleration.effect
        if toleration.toleration_seconds is not None:
            entry["tolerationSeconds"] = toleration.toleration_seconds
        result.append(entry)
    return result


def retry_strategy(settings: ir.Settings) -> dict | None:
    if settings.retries <= 0:
        return None
    # Always: a pod lost with its node is retried as well as a step that failed.
    return {"limit": str(settings.retries), "retryPolicy": "Always"}


def template_io(component: ir.ComponentSpec, volume_mode: bool, mpi: bool) -> tuple[dict, dict]:
    """(inputs, outputs) of a component's template."""
    params: list[dict] = []
    artifacts: list[dict] = []
    for port in component.inputs:
        if port.type.is_artifact and not volume_mode:
            artifacts.append(Flow(name=port.name, path=input_path(port.name)))
        else:
            params.append(described({"name": port.name}, port))
    if volume_mode and component.outputs:
        params.append({"name": DIR_PARAM})
    inputs: dict = {}
    if params:
        inputs["parameters"] = params
    if artifacts:
        inputs["artifacts"] = artifacts
    out_params: list[dict] = []
    out_artifacts: list[dict] = []
    for port in component.outputs:
        if port.type.is_artifact:
            if not volume_mode:
                out_artifacts.append(Flow(name=port.name, path=output_path(port.name)))
        elif not mpi:
            out_params.append(described(Flow(name=port.name, valueFrom={"path": output_path(port.name)}), port))
    outputs: dict = {}
    if out_params:
        outputs["parameters"] = out_params
    if out_artifacts:
        outputs["artifacts"] = out_artifacts
    return inputs, outputs


def describe(template: dict, component: ir.ComponentSpec, parts: ContainerParts) -> None:
    """A component's description as an annotation of its pods: Argo templates have no field
    for one, and an annotation shows wherever the pod does. Argo substitutes tags in every
    field of a template, descriptions too, so none may hold `{{`."""
    for port in component.inputs + component.outputs:
        if port.description:
            parts.checked(port.description, f"the description of '{component.name}.{port.name}'")
    if component.description:
        text = parts.checked(component.description, f"the description of '{component.name}'")
        template["metadata"] = {"annotations": {DESCRIPTION_ANNOTATION: text}}


def memoize(template_name: str, identity: str, component: ir.ComponentSpec) -> dict:
    """A cache key from the template's identity and every input value."""
    from .naming import short_hash

    names = [port.name for port in component.inputs]
    key = f"{template_name}.{short_hash(identity, 12)}"
    if names:
        listed = ", ".join(values.input_param(name).expr() for name in names)
        key += ".{{=sprig.sha256sum(toJson([" + listed + "]))}}"
    return {"key": key, "maxAge": MEMO_MAX_AGE, "cache": {"configMap": {"name": MEMO_CONFIG_MAP}}}


def _shared_parts(component: ir.ComponentSpec, settings: ir.Settings, volume_mode: bool, shared: dict) -> tuple:
    """(inputs, outputs, container) of a container template: one object for equal content
    within one compile (`shared`, keyed by everything they are made from), so that the YAML
    writer makes their lines once (`Shared`). The container is None when a value in it is
    refused: it is then made for each component, so that the problems name it."""
    key = (component.image, component.command, component.args, component.inputs, component.outputs, settings,
           volume_mode)
    known = shared.get(key)
    if known is None:
        inputs, outputs = template_io(component, volume_mode, mpi=False)
        parts = ContainerParts(component, volume_mode)
        container = _container(parts, component, settings)
        known = (Shared(inputs), Shared(outputs), None if parts.problems else Shared(container))
        shared[key] = known
    return known


def _container(parts: ContainerParts, component: ir.ComponentSpec, settings: ir.Settings) -> dict:
    command, args = parts.argv()
    container: dict = {"image": parts.checked(component.image, f"image of '{component.name}'")}
    if command:
        container["command"] = command
    if args:
        container["args"] = args
    env = parts.env(settings)
    if env:
        container["env"] = env
    if settings.image_pull_policy:
        container["imagePullPolicy"] = settings.image_pull_policy
    requested = resources(settings)
    if requested:
        container["resources"] = requested
    mounts = parts.mounts(settings)
    if mounts:
        container["volumeMounts"] = mounts
    container["securityContext"] = security_context(settings)
    return container


def container_template(name: str, task: ir.Task, volume_mode: bool, shared: dict | None = None) -> dict:
    """`shared`: the parts already made in this compile (see `_shared_parts`), or None."""
    component, settings = task.component, task.settings
    parts = ContainerParts(component, volume_mode)
    inputs, outputs, container = _shared_parts(component, settings, volume_mode, {} if shared is None else shared)
    template: dict = {"name": name}
    describe(template, component, parts)
    if inputs:
        template["inputs"] = inputs
    if outputs:
        template["outputs"] = outputs
    _common(template, settings)
    volumes = parts.volumes(settings)
    if volumes:
        template["volumes"] = volumes
    if container is None:  # a refused value: made for this component, so that the problems name it
        container = _container(parts, component, settings)
    template["container"] = container
    if parts.problems:
        raise TemplateProblems(parts.problems)
    return template


def _common(template: dict, settings: ir.Settings) -> None:
    retry = retry_strategy(settings)
    if retry:
        template["retryStrategy"] = retry
    if settings.timeout_seconds:
        template["activeDeadlineSeconds"] = settings.timeout_seconds
    if settings.node_selector:
        template["nodeSelector"] = dict(settings.node_selector)
    tolerated = tolerations(settings)
    if tolerated:
        template["tolerations"] = tolerated


def mpi_template(name: str, task: ir.Task, claim_name: str) -> dict:
    """A resource template that creates the step's MPIJob and waits on its launcher. MPI pods
    reach artifacts through the shared volume (`claim_name`, Argo-substituted text)."""
    component, settings = task.component, task.settings
    mpi = settings.mpi
    parts = ContainerParts(component, volume_mode=True)
    inputs, _ = template_io(component, volume_mode=True, mpi=True)
    template: dict = {"name": name}
    describe(template, component, parts)
    if inputs:
        template["inputs"] = inputs
    _common(template, settings)
    command, args = parts.argv(for_manifest=True)
    mounts = parts.mounts(settings)
    volumes = [{"name": ARTIFACTS_VOLUME, "persistentVolumeClaim": {"claimName": claim_name}}] \
        if any(m["name"] == ARTIFACTS_VOLUME for m in mounts) else []
    volumes += parts.volumes(settings)
    pod = mpijob.MpiPod(
        image=parts.checked(component.image, f"image of '{component.name}'"),
        resources=resources(settings),
        env=parts.env(settings, for_manifest=True),
        volume_mounts=mounts,
        volumes=volumes,
        security_context=security_context(settings),
        node_selector=dict(settings.node_selector),
        tolerations=tolerations(settings),
        image_pull_policy=settings.image_pull_policy,
    )
    manifest = mpijob.mpijob(name, mpi.ranks, mpi.slots_per_worker, mpi.implementation,
                             [*command, *args], pod, deadline_seconds=settings.timeout_seconds,
                             labels={"workflows.argoproj.io/workflow": "{{workflow.name}}"})
    template["resource"] = {
        "action": "create",
        "setOwnerReference": True,
        "successCondition": mpijob.LAUNCHER_SUCCEEDED,
        "failureCondition": mpijob.LAUNCHER_FAILED,
        "manifest": dump_documents([manifest]),
    }
    if parts.problems:
        raise TemplateProblems(parts.problems)
    return template


def value_outputs(component: ir.ComponentSpec) -> list[ir.Port]:
    return [port for port in component.outputs if not port.type.is_artifact]


def mpi_values_template(name: str, task: ir.Task) -> dict:
    """The container that reads an MPI step's output values back: it mounts the step's folder
    of the shared volume read-only, and Argo reads each value from its file once the
    container has finished. It runs on the step's image (already pulled for the job, and
    certain to hold `mpirun`, which it only asks for its version) with the step's security
    context, so it needs nothing the step did not need already."""
    component, settings = task.component, task.settings
    container: dict = {"image": component.image, "command": list(mpijob.PROBE_COMMAND)}
    if settings.image_pull_policy:
        container["imagePullPolicy"] = settings.image_pull_policy
    container["volumeMounts"] = [Flow(name=ARTIFACTS_VOLUME, mountPath=OUTPUTS_DIR,
                                      subPath=values.input_param(DIR_PARAM).tag(), readOnly=True)]
    container["securityContext"] = security_context(settings)
    return {
        "name": name,
        "inputs": {"parameters": [{"name": DIR_PARAM}]},
        "outputs": {"parameters": [Flow(name=port.name, valueFrom={"path": output_path(port.name)})
                                   for port in value_outputs(component)]},
        "container": container,
    }


def mpi_step_dag(name: str, task: ir.Task, job_template: str, values_template: str) -> dict:
    """The template an MPI step with output values is called through: a DAG that runs the
    MPIJob, then reads the values it wrote, and exports them as its own output parameters,
    so callers, conditions and loops read them as they read any step's."""
    component = task.component
    inputs, _ = template_io(component, volume_mode=True, mpi=True)
    passed = [Flow(name=param["name"], value=values.input_param(param["name"]).tag())
              for param in inputs["parameters"]]
    return {
        "name": name,
        "inputs": inputs,
        "outputs": {"parameters": [
            Flow(name=port.name, valueFrom={"parameter": values.task_output(MPI_VALUES_TASK, port.name).tag()})
            for port in value_outputs(component)]},
        "dag": {"tasks": [
            Flow(name=MPI_JOB_TASK, template=job_template, arguments={"parameters": passed}),
            Flow(name=MPI_VALUES_TASK, template=values_template, depends=MPI_JOB_TASK,
                 arguments={"parameters": [Flow(name=DIR_PARAM, value=values.input_param(DIR_PARAM).tag())]}),
        ]},
    }
