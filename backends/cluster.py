"""Submitting compiled documents to a cluster and following the run (`treadle submit`).

Definitions (Tekton `Task`s and `Pipeline`s, Argo `WorkflowTemplate`s and
`CronWorkflow`s) are applied server-side, so submitting again updates them in place;
runs (`Workflow`, `PipelineRun`) are created with a name the server makes unique. Every
failure becomes a `ClusterError` with a message for a person: no configuration, an
unreachable server, the engine not installed, forbidden, an object the server refused
(its message as it is).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .targets import engine

FIELD_MANAGER = "treadle"
REQUEST_TIMEOUT = (10, 60)  # seconds: connect, read (watches have their own)

PLURALS = {"Workflow": "workflows", "WorkflowTemplate": "workflowtemplates", "CronWorkflow": "cronworkflows",
           "Task": "tasks", "Pipeline": "pipelines", "PipelineRun": "pipelineruns", "TaskRun": "taskruns"}
RUN_KINDS = ("Workflow", "PipelineRun")


class ClusterError(Exception):
    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


# ---------------------------------------------------------------- connecting
def connect(kubeconfig: str | None = None, context: str | None = None):
    """(ApiClient, the namespace of the current context): the user's kubeconfig (`kubeconfig`,
    else KUBECONFIG, else ~/.kube/config), or the pod's service account inside a cluster."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    try:
        config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=configuration)
        namespace = _context_namespace(kubeconfig, context)
    except (ConfigException, FileNotFoundError) as kube_error:
        if kubeconfig is not None:
            raise ClusterError(f"cannot use the kubeconfig {kubeconfig}: {kube_error}") from None
        try:
            config.load_incluster_config(client_configuration=configuration)
        except ConfigException:
            raise ClusterError(
                "no Kubernetes configuration: no kubeconfig (KUBECONFIG or ~/.kube/config) and not running "
                "inside a cluster",
                hint="point KUBECONFIG (or --kubeconfig) at the cluster's kubeconfig, as kubectl uses it") from None
        namespace = _pod_namespace()
    return client.ApiClient(configuration), namespace


def _context_namespace(kubeconfig: str | None, context: str | None) -> str:
    from kubernetes import config

    contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
    chosen = next((c for c in contexts if c["name"] == context), active) if context else active
    return ((chosen or {}).get("context") or {}).get("namespace") or "default"


def _pod_namespace() -> str:
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace", encoding="utf-8") as stream:
            return stream.read().strip() or "default"
    except OSError:
        return "default"


# ---------------------------------------------------------------- errors
def _server_message(error) -> str:
    try:
        return json.loads(error.body).get("message") or error.body
    except (TypeError, ValueError, AttributeError):
        return str(error.body or error.reason)


def _translated(error, what: str, verb: str, plural: str, group: str, namespace: str) -> ClusterError:
    from kubernetes.client.exceptions import ApiException

    if not isinstance(error, ApiException):  # urllib3: refused, timed out, no route, bad certificate
        reason = getattr(error, "reason", None) or error
        return ClusterError(f"cannot reach the Kubernetes API server: {reason}",
                            hint="check the server address in the kubeconfig and that the cluster is running")
    message = _server_message(error)
    if error.status == 401:
        return ClusterError(f"the API server did not accept the credentials: {message}",
                            hint="log in again or refresh the kubeconfig's token")
    if error.status == 403:
        return ClusterError(f"forbidden: {message}",
                            hint=f"your account needs RBAC permission to {verb} {plural}.{group} in namespace "
                                 f"{namespace} (try: kubectl auth can-i {verb} {plural}.{group} -n {namespace})")
    return ClusterError(f"the server refused {what} ({error.status} {error.reason}): {message}")


def _http_errors():
    import urllib3
    from kubernetes.client.exceptions import ApiException

    return (ApiException, urllib3.exceptions.HTTPError, OSError)


# ---------------------------------------------------------------- submitting
@dataclass
class Submitted:
    applied: list[tuple[str, str]] = field(default_factory=list)  # (kind, name)
    run: tuple[str, str] | None = None  # (kind, name given by the server)


class Cluster:
    def __init__(self, api_client, target: str) -> None:
        from kubernetes import client

        self.api = client.CustomObjectsApi(api_client)
        self.target = target
        backend = engine(target)
        self.group, self.version = backend.API_VERSION.split("/")
        self.engine = backend.ENGINE_NAME

    def require_engine(self, namespace: str) -> None:
        """The engine's API group must be served (its CRDs installed)."""
        from kubernetes.client.exceptions import ApiException

        try:
            # Only whether the group is served matters: the body is not read into models.
            response = self.api.get_api_resources(self.group, self.version, _preload_content=False,
                                                  _request_timeout=REQUEST_TIMEOUT)
            response.release_conn()
        except _http_errors() as error:
            if isinstance(error, ApiException) and error.status == 404:
                raise ClusterError(
                    f"{self.engine} is not installed on this cluster: the server has no "
                    f"{self.group}/{self.version} API",
                    hint=f"install {self.engine} (its CRDs and controller), or submit with the other --target") from None
            raise _translated(error, f"the {self.group}/{self.version} API", "list", "resources", self.group,
                              namespace) from None

    def apply(self, document: dict, namespace: str) -> str:
        kind, name = document["kind"], document["metadata"]["name"]
        try:
            self.api.patch_namespaced_custom_object(
                self.group, self.version, namespace, PLURALS[kind], name, document, field_manager=FIELD_MANAGER,
                force=True, _content_type="application/apply-patch+yaml", _request_timeout=REQUEST_TIMEOUT)
        except _http_errors() as error:
            raise _translated(error, f"{kind} {name}", "patch", PLURALS[kind], self.group, namespace) from None
        return name

    def create(self, document: dict, namespace: str) -> str:
        kind = document["kind"]
        what = f"{kind} {document['metadata'].get('generateName', '')}..."
        try:
            created = self.api.create_namespaced_custom_object(
                self.group, self.version, namespace, PLURALS[kind], document, field_manager=FIELD_MANAGER,
                _request_timeout=REQUEST_TIMEOUT)
        except _http_errors() as error:
            raise _translated(error, what, "create", PLURALS[kind], self.group, namespace) from None
        return created["metadata"]["name"]

    def list(self, kind: str, namespace: str, label_selector: str) -> list[dict]:
        try:
            listed = self.api.list_namespaced_custom_object(
                self.group, self.version, namespace, PLURALS[kind], label_selector=label_selector,
                _request_timeout=REQUEST_TIMEOUT)
        except _http_errors() as error:
            raise _translated(error, f"the list of {PLURALS[kind]}", "list", PLURALS[kind], self.group,
                              namespace) from None
        return listed.get("items", [])

    def watch(self, kind: str, name: str, namespace: str, timeout_seconds: int = 300) -> Iterable[dict]:
        """The run's object after each change, until the stream ends."""
        from kubernetes import watch

        stream = watch.Watch()
        try:
            for event in stream.stream(self.api.list_namespaced_custom_object, self.group, self.version, namespace,
                                       PLURALS[kind], field_selector=f"metadata.name={name}",
                                       timeout_seconds=timeout_seconds):
                if event["type"] == "ERROR":
                    raise ClusterError(f"watching {kind} {name} failed: {event['raw_object'].get('message')}")
                if event["type"] in ("ADDED", "MODIFIED"):
                    yield event["object"]
        except _http_errors() as error:
            raise _translated(error, f"the watch of {kind} {name}", "watch", PLURALS[kind], self.group,
                              namespace) from None
        finally:
            stream.stop()


def as_run(document: dict) -> dict:
    """A run document to create: `generateName` instead of `name`, so each submit is a new run."""
    metadata = {key: value for key, value in document["metadata"].items() if key != "name"}
    return {**document, "metadata": {"generateName": document["metadata"]["name"] + "-", **metadata}}


def submit(cluster: Cluster, documents: list[dict], namespace: str) -> Submitted:
    """Apply the definitions, then create the run (at most one: one pipeline is submitted)."""
    foreign = sorted({document["kind"] for document in documents if document["kind"] not in PLURALS})
    if foreign:
        raise ClusterError(
            f"the pipeline compiles to {', '.join(foreign)} objects besides the engine's (its schedule), "
            "which treadle submit does not apply",
            "apply the compiled YAML with `kubectl apply -f` or from a GitOps repository "
            "(treadle compile), or submit a copy of the pipeline without its schedule")
    cluster.require_engine(namespace)
    result = Submitted()
    runs = [document for document in documents if document["kind"] in RUN_KINDS]
    for document in documents:
        if document["kind"] not in RUN_KINDS:
            result.applied.append((document["kind"], cluster.apply(document, namespace)))
    for document in runs:
        result.run = (document["kind"], cluster.create(as_run(document), namespace))
    return result


# ---------------------------------------------------------------- following a run
FINISHED = {"Succeeded": True, "Failed": False, "Error": False}


def _argo_states(workflow: dict) -> tuple[dict[str, str], str | None, str]:
    status = workflow.get("status") or {}
    nodes = status.get("nodes") or {}
    states = {}
    for node in sorted(nodes.values(), key=lambda n: (n.get("startedAt") or "", n.get("displayName") or "")):
        if node.get("type") in ("Pod", "Skipped", "Suspend"):
            states[node.get("displayName") or node.get("name")] = node.get("phase") or "Pending"
    phase = status.get("phase")
    return states, phase if phase in FINISHED else None, status.get("message") or ""


def _tekton_condition(obj: dict) -> tuple[str, str]:
    """(state, message) from the `Succeeded` condition of a Tekton run."""
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Succeeded":
            value = condition.get("status")
            if value == "True":
                return "Succeeded", condition.get("message") or ""
            if value == "False":
                return "Failed", f"{condition.get('reason', '')}: {condition.get('message', '')}".strip(": ")
            return condition.get("reason") or "Running", ""
    return "Pending", ""


def follow(cluster: Cluster, run: tuple[str, str], namespace: str, report: Callable[[str, str], None],
           rounds: int = 1000) -> tuple[bool, str]:
    """Report each task's state as it changes (`report(task, state)`) until the run ends;
    (succeeded, the run's final message). Watches are resumed when the server ends them."""
    kind, name = run
    shown: dict[str, str] = {}

    def show(states: dict[str, str]) -> None:
        for task, state in states.items():
            if shown.get(task) != state:
                shown[task] = state
                report(task, state)

    for _ in range(rounds):
        for obj in cluster.watch(kind, name, namespace):
            if kind == "Workflow":
                states, finished, message = _argo_states(obj)
                show(states)
                if finished is not None:
                    return FINISHED[finished], message
            else:
                state, message = _tekton_condition(obj)
                task_runs = cluster.list("TaskRun", namespace, f"tekton.dev/pipelineRun={name}")
                show({(task_run["metadata"].get("labels") or {}).get("tekton.dev/pipelineTask")
                      or task_run["metadata"]["name"]: _tekton_condition(task_run)[0]
                      for task_run in sorted(task_runs, key=lambda t: t["metadata"]["name"])})
                if state in FINISHED:
                    return FINISHED[state], message
    raise ClusterError(f"{kind} {name} did not finish while it was watched")
