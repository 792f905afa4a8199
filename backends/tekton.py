"""The Tekton Pipelines backend: one pipeline's IR -> `tekton.dev/v1` Tasks, a Pipeline and a
PipelineRun (or the PipelineRun alone, with the Pipeline and Tasks embedded).

Shape of the output:
- one Task per distinct (component, settings), with one named step that runs the
  component's command and args (never a `script`: values arrive as `$(params.x)` in args
  and env, which Tekton substitutes as data);
- input values -> Task `params` (all strings: treadle renders every value as text, the same
  text Argo passes); int, float and bool outputs -> Task `results` (a few bytes each, far
  inside the termination message's 4,096 bytes); every other output -> a file in the
  task's folder of the run's workspace;
- artifacts -> one workspace (`volumeClaimTemplate` in the PipelineRun unless the user names
  a claim); each task writes into its own folder (a `subPath` named after the pipeline
  task) and a consumer mounts the producer's file or folder read-only at its input path;
- `after`, data and artifact dependencies -> `runAfter`; `finally` -> `finally` tasks;
  retries, timeouts, resources, env, secrets, security context on the task or its step;
  node selectors and tolerations -> the PipelineRun's `taskRunSpecs`.
- an MPI step -> a Task of fixed helper steps: one fills the step's values into the MPIJob
  manifest (the one the Argo backend builds, see `mpijob`), one creates it with kubectl,
  polls its conditions until it succeeds or fails and deletes it, and one copies the
  int/float/bool outputs the ranks wrote to the shared volume into the Task's results.
- values that are files (str, list and dict outputs, and int/float/bool outputs beyond the
  termination message's budget) -> read from the workspace by the reader: the step's
  command runs through a fixed launcher that puts each file's content into its argument;
- loops -> a matrix (literal lists, or an items task's array result for a list known at
  run time); other loops over literal lists reach this backend unrolled into copies of
  their body (the optimizer's unroll-loops pass, which this backend asks for); a finally
  step's checked condition -> a step of its own Task;
- a `schedule` -> a CronJob that creates the PipelineRun (see `tekton_schedule`);
  `parallelism` -> a warning: Tekton cannot bound it.
Constructs Tekton cannot express are B001 errors that say why, never dropped.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from functools import lru_cache

import networkx as nx

from ..compiler import ir
from ..compiler.source import Span
from . import argo_templates as pod
from . import mpijob
from .argo_values import kube_escape
from .base import (DEFAULT_KUBECTL_IMAGE, PIPELINE_LABEL, EmitResult, Emitter, Options, Scope, TemplateKeys,
                   build_scopes, described, documents_over)
from .naming import LABEL_MAX, NameScope, dns_label
from .tekton_schedule import schedule_documents
from .yaml_out import Flow, SharedFlow, SharedList

API_VERSION = "tekton.dev/v1"
ENGINE_NAME = "Tekton Pipelines"  # as messages name the engine
SIZE_LIMIT = 3 << 19  # 1.5 MiB: the API server's (etcd's) limit on one object
SIZE_WARNING = int(SIZE_LIMIT * 0.8)
REFUSES = "the API server refuses objects"  # what the size warning says happens above SIZE_LIMIT
ARTIFACTS_WORKSPACE = "treadle-artifacts"
OUTPUTS_WORKSPACE = "treadle-outputs"  # a Task's own folder of the artifacts workspace
VOLUME_SIZE = "10Gi"
# Outputs small enough to travel as Tekton results: their text never exceeds a few dozen bytes.
RESULT_TYPES = ("int", "float", "bool")
_RESULT_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")  # what Tekton accepts
# What one result may take of the termination message (its name, value and JSON framing);
# an int, float or bool value is at most 24 characters.
RESULT_BUDGET = 4096
RESULT_OVERHEAD = 64
# Tekton replaces `$(` followed by a variable name in args, command, env and param values;
# there is no escape for it, so literal text holding `$(` cannot be delivered unchanged.
_TEKTON_VARIABLE = re.compile(r"\$\(")
# ... but in a Task's own step, Tekton replaces only exact `$(KEY)` strings of the variables it
# knows (pkg/substitution: ApplyReplacements), and its webhook checks only references under
# `params`, `context.task`, `context.taskRun` (and `results` in a script), each a name of
# letters, digits, `_`, `.`, `-`, then `)` or a `[` index (braceMatchingRegex). A `$(` followed
# by anything else, as in the shell's `$(dirname "$2")`, reaches the step unchanged.
_TEKTON_REFERENCE = re.compile(r"\$\([A-Za-z_][A-Za-z0-9_.\-]*[)\[]")
# Engine variables (docs/backends/tekton.md). The run's are Pipeline context variables, which a
# Task cannot read: the pipeline task passes them as params. The TaskRun's uid is a Task context
# variable. The pod's name has no Tekton variable: the step's env takes it from the downward API
# and the kubelet puts it into command, args and later env values where `$(NAME)` stands.
RUN_CONTEXT_PARAMS = {"run_id": ("treadle-run-id", "$(context.pipelineRun.uid)"),
                      "run_name": ("treadle-run-name", "$(context.pipelineRun.name)")}

POD_NAME_ENV = "TREADLE_POD_NAME"
_POD_NAME = ir.EngineVariable("pod_name")
POD_NAME_SOURCE = {"fieldRef": {"fieldPath": "metadata.name"}}
MATRIX_LIMIT = 256  # Tekton's default-max-matrix-combinations-count
# The condition-check task: its image, its unprivileged user, its result, and its program.
CHECK_IMAGE = "python:3.12-alpine"
CHECK_USER = 65534  # nobody: the image runs as root otherwise, which runAsNonRoot refuses
CHECK_RESULT = "holds"
CHECK_KEY = ("condition-check",)
CHECK_FILES_KEY = ("condition-check", "files")
ITEMS_KEY = ("loop-items",)
ITEMS_RESULT = "items"
ITEMS_BUDGET = 3800  # bytes of the items' JSON: the array result's share of the termination message
# argv: the result file, the source, the list, and the most items the matrix may take. The
# source says what the list is: "text", its JSON text; "file", its path in the workspace;
# "texts" or "values", the layout (JSON, nested lists of paths) of a loop's outputs, whose
# files hold str values or JSON values. Items become text as treadle renders values, escaped
# for the kubelet as literal items are: the matrix hands each one to a step's args or env.
ITEMS_PROGRAM = """import json, re, sys
result_path, source, text, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def read(path):
    with open("/treadle/shared/" + path, encoding="utf-8") as handle:
        return handle.read()
def gather(node):
    if isinstance(node, list):
        return [gather(part) for part in node]
    return read(node) if source == "texts" else json.loads(read(node))
if source == "file":
    text = read(text)
items = gather(json.loads(text)) if source in ("texts", "values") else json.loads(text)
if not isinstance(items, list):
    sys.exit("the loop's list is not a JSON list: " + text[:200])
if len(items) > limit:
    sys.exit("the loop's list has %%d items; its matrix may take at most %%d (Tekton runs at most 256 combinations)"
             %% (len(items), limit))
def render(value):
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)
data = json.dumps([re.sub(r"[$](?=[$(])", "$$", render(item)) for item in items], ensure_ascii=False)
if len(data.encode("utf-8")) > %d:
    sys.exit("the loop's items take %%d bytes as JSON; a Tekton result holds at most %d" %% len(data.encode("utf-8")))
with open(result_path, "w", encoding="utf-8") as out:
    out.write(data)
""" % (ITEMS_BUDGET, ITEMS_BUDGET)
# argv: the result file, the condition's shape (JSON), then the operand values as text.
# Numbers compare as decimals (exact for every int and float the language writes); a NaN
# makes every comparison but != false, as in the language.
CHECK_PROGRAM = """import json, sys
from decimal import Decimal
result_path, shape, values = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
if shape[0] == "files":  # these operands are paths in the workspace: the values are the files' texts
    for position in shape[1]:
        with open("/treadle/shared/" + values[position], encoding="utf-8") as handle:
            values[position] = handle.read()
    shape = shape[2]
def number(text):
    value = Decimal(text.strip())
    return None if value.is_nan() else value
def compare(op, left, right):
    if left is None or right is None:
        return op == "!="
    return {"==": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
            ">": left > right, ">=": left >= right}[op]
def holds(node):
    kind = node[0]
    if kind == "and":
        return all(holds(part) for part in node[1])
    if kind == "or":
        return any(holds(part) for part in node[1])
    if kind == "not":
        return not holds(node[1])
    if kind == "true":
        return values[node[1]] == "true"
    op, how, left, right = node[1], node[2], values[node[3]], values[node[4]]
    if how == "number":
        return compare(op, number(left), number(right))
    return compare(op, left, right)
with open(result_path, "w") as out:
    out.write("true" if holds(shape) else "false")
"""

# Values read from the workspace (str, list and dict outputs, and int/float/bool outputs that
# do not fit in results): a helper step reads them into an emptyDir, and the step's command
# runs through a fixed shell program that puts each file's content into its argument.
VALUES_PARAM = "treadle-values"  # array: the helper's argv (name, mode, count, paths...)
VALUES_VOLUME = "treadle-values"
VALUES_PATH = "/tmp/treadle/values"
# argv: the workspace's root, the folder to write, then groups of (input name, mode, layout):
# the layout is a JSON list of paths in the workspace (nested, one level per loop), and the
# value the same list with each file's text in place of its path: as a JSON string ("text"),
# or as it is, a JSON value ("json"). A missing file fails the step with its path.
VALUES_PROGRAM = """import json, os, sys
root, target, args = sys.argv[1], sys.argv[2], sys.argv[3:]
def read(path):
    try:
        with open(os.path.join(root, path), "rb") as handle:
            return handle.read()
    except OSError as problem:
        sys.exit("output %s was not written: %s" % (path, problem))
def build(node, mode):
    if isinstance(node, list):
        return b"[" + b", ".join(build(item, mode) for item in node) + b"]"
    content = read(node)
    if mode == "text":
        return json.dumps(content.decode("utf-8"), ensure_ascii=False).encode("utf-8")
    return content.strip()
for index in range(0, len(args), 3):
    name, mode, layout = args[index], args[index + 1], json.loads(args[index + 2])
    with open(os.path.join(target, name), "wb") as out:
        out.write(build(layout, mode))
"""
# argv: tokens. "?PATH" ends the step at once, successfully, unless the file holds `true` (a
# finally step's condition, checked by a step before it); "=TEXT" adds text to the argument
# being built, "<PATH" adds the file's content
# (all of it: the "." keeps trailing newlines from the command substitution), "." ends the
# argument, "@NAME" exports the text built as environment variable NAME; then the command
# runs with the arguments built. No token is ever evaluated as code.
LAUNCHER_SCRIPT = """set -u
count=$#
index=0
value=
while [ "$index" -lt "$count" ]; do
  token=$1
  shift
  index=$((index + 1))
  case "$token" in
    "?"*) if [ "$(cat -- "${token#?}")" != true ]; then echo "the step's condition does not hold"; exit 0; fi ;;
    =*) value="$value${token#=}" ;;
    "<"*) part=$(cat -- "${token#<}" && printf .) || exit 1
          value="$value${part%.}" ;;
    .) set -- "$@" "$value"; value= ;;
    @*) export "${token#@}=$value"; value= ;;
  esac
done
exec "$@"
"""
LAUNCHER_COMMAND = ("sh", "-c", kube_escape(LAUNCHER_SCRIPT), "treadle-launch")
VALUES_COMMAND = ["python3", "-c", kube_escape(VALUES_PROGRAM)]  # one list, shared by every Task that has it
ITEMS_COMMAND = ["python3", "-c", kube_escape(ITEMS_PROGRAM)]
CHECK_COMMAND = ["python3", "-c", kube_escape(CHECK_PROGRAM)]
# A finally step whose condition needs a check evaluates it in a step of its own Task.
GUARD_PARAM = "treadle-condition"
GUARD_VALUES_PARAM = "treadle-condition-values"
GUARD_VOLUME = "treadle-check"
GUARD_PATH = "/tmp/treadle/check"
GUARD_FILE = f"{GUARD_PATH}/holds"

# MPI steps. The Task's folder of the workspace and its input folders arrive as params (the
# Task is shared by calls); ports are identifiers, so these names never meet a port's.
MPI_SHARED_WORKSPACE = "treadle-shared"  # the whole artifacts workspace: its claim, and the values
MPI_SHARED_PATH = "/treadle/shared"
# A pipeline task's binding of the whole workspace: one object, whose text the YAML writer makes once; never changed.
SHARED_WORKSPACE_BINDING = SharedFlow(name=MPI_SHARED_WORKSPACE, workspace=ARTIFACTS_WORKSPACE)
# ... and a Task's declaration of it (read only).
SHARED_WORKSPACE_MOUNT = SharedFlow(name=MPI_SHARED_WORKSPACE, mountPath=MPI_SHARED_PATH, readOnly=True)
MPI_OUTPUTS_PARAM = "treadle-outputs"
MPI_JOB_VOLUME = "treadle-mpijob"  # an emptyDir the helper steps hand the manifest through
MPI_JOB_PATH = "/treadle/mpijob"
MPI_MANIFEST_FILE = f"{MPI_JOB_PATH}/manifest.json"
MPI_VALUE_LIMIT = 32  # bytes an int/float/bool output of an MPI step may take as a result
# In the manifest, {MARK: [text or value position, ...]} is text to fill in; {KUBE_MARK: ...}
# the same in a container's args or env, where the MPI pod's kubelet expands `$$` and `$(`
# again, so each value's `$` is escaped as for any container (text parts are escaped already).
MPI_MARK = "treadle-join"
MPI_KUBE_MARK = "treadle-join-kubelet"
# argv: the manifest file to write, the manifest (JSON), the owning pod's name and uid, then
# the values the marks refer to ([i]: value i is a file, whose text is the value). Values
# become whole JSON strings: never parsed as code.
MPI_MANIFEST_PROGRAM = """import json, re, sys
out, manifest, pod_name, pod_uid, values = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()
def join(parts, escape):
    return "".join(part if isinstance(part, str) else escape(read(values[part[0]])) if isinstance(part, list)
                   else escape(values[part]) for part in parts)
def fill(node):
    if isinstance(node, dict):
        if list(node) == ["treadle-join"]:
            return join(node["treadle-join"], lambda text: text)
        if list(node) == ["treadle-join-kubelet"]:
            return join(node["treadle-join-kubelet"], lambda text: re.sub(r"[$](?=[$(])", "$$", text))
        return {key: fill(value) for key, value in node.items()}
    if isinstance(node, list):
        return [fill(item) for item in node]
    return node
job = fill(manifest)
job["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Pod", "name": pod_name, "uid": pod_uid}]
with open(out, "w") as handle:
    json.dump(job, handle)
"""
# $1: the manifest file. Creates the job, polls its conditions until Succeeded or Failed is
# True, deletes it and exits 0 only if it succeeded; a job that cannot be read for a minute
# (deleted by someone else) fails the step. No value is ever part of this text.
MPI_WAIT_SCRIPT = """set -u
name=$(kubectl create -f "$1" -o 'jsonpath={.metadata.name}') || exit 1
echo "MPIJob $name created"
misses=0
while :; do
  if state=$(kubectl get mpijob "$name" -o 'jsonpath={range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}'); then
    misses=0
  else
    misses=$((misses + 1)); state=""
    if [ "$misses" -ge 12 ]; then echo "MPIJob $name cannot be read"; exit 1; fi
  fi
  case " $state" in
    *" Succeeded "*) status=0; break ;;
    *" Failed "*) status=1; break ;;
  esac
  sleep 5
done
echo "MPIJob $name: $state"
kubectl delete mpijob "$name" --wait=false
exit $status
"""
# argv: pairs of (file the ranks wrote, result path). A missing or oversized value fails the step.
MPI_VALUES_PROGRAM = """import sys
pairs = sys.argv[1:]
for source, target in zip(pairs[0::2], pairs[1::2]):
    with open(source, "rb") as handle:
        data = handle.read(%d)
    if len(data) > %d:
        sys.exit(source + ": an int, float or bool output longer than %d bytes")
    with open(target, "wb") as handle:
        handle.write(data)
""" % (MPI_VALUE_LIMIT + 1, MPI_VALUE_LIMIT, MPI_VALUE_LIMIT)


class TektonEmitter(Emitter):
    TARGET = "tekton"
    MAX_DOCUMENT_BYTES = SIZE_LIMIT
    UNROLL_LOOPS = True  # every loop that cannot be one matrix task (see unrolled_loops)
    OPTIONS = ("volume_claim", "embedded", "kubectl_image")

    def __init__(self, options: Options | None = None, document_names: dict | None = None) -> None:
        super().__init__(options)
        self.keys = TemplateKeys()
        self.document_names = document_names if document_names is not None else {}
        self.results_of: dict[int, frozenset[str]] = {}  # id(component) -> its outputs that are results
        self.engine_reads: dict[tuple[int, int], tuple] = {}  # ids of (component, settings) -> them, variables read
        self.task_keys: dict[str, tuple] = {}  # task id -> its Task's key
        self.pod_settings: dict[int, ir.Settings] = {}  # id(settings) -> the part of them that shapes a Task
        self.keys_alive: list[ir.Settings] = []
        self.shared_lists: dict[tuple, SharedList] = {}  # content -> the one list of Task specs that holds it

    def shared_list(self, items: list) -> SharedList:
        """One object for equal lists in Task specs (params, workspaces, a step's command),
        which the YAML writer makes into lines once; nothing changes them afterwards."""
        key = _frozen(items)
        known = self.shared_lists.get(key)
        if known is None:
            known = self.shared_lists[key] = SharedList(items)
        return known

    def run_context_variables(self, component: ir.ComponentSpec, settings: ir.Settings) -> list[str]:
        """The engine variables a step reads that reach its Task as params, in param order:
        the pipeline task passes them and the Task declares them. Found once per component
        and settings (only imported Kubeflow components read any)."""
        return sorted(self.engine_variables(component, settings) & RUN_CONTEXT_PARAMS.keys())

    def engine_variables(self, component: ir.ComponentSpec, settings: ir.Settings) -> set[str]:
        key = (id(component), id(settings))
        known = self.engine_reads.get(key)
        if known is None:  # kept with the objects, so that their ids stay theirs
            known = self.engine_reads[key] = (component, settings, ir.engine_variables(component, settings))
        return known[2]

    def is_result(self, component: ir.ComponentSpec, port: ir.Port) -> bool:
        known = self.results_of.get(id(component))
        if known is None:
            known = self.results_of[id(component)] = result_names(component)
        return port.name in known

    def task_key(self, task: ir.Task) -> tuple:
        """What makes two calls share a Task: the component and the settings that shape its
        pod. Retries and timeouts live on the pipeline task, node selectors and tolerations
        on the run, so calls that differ only there share one Task."""
        known = self.task_keys.get(task.id)
        if known is None:
            component_id, settings = self.keys.key(task)
            pod_settings = self.pod_settings.get(id(settings))  # calls of one pattern share a Settings object
            if pod_settings is None:
                pod_settings = replace(settings, retries=0, timeout_seconds=None, node_selector=(), tolerations=())
                self.pod_settings[id(settings)] = pod_settings
                self.keys_alive.append(settings)  # keeps the id valid
            known = (component_id, pod_settings)
            self.task_keys[task.id] = known
        return known

    def document_name(self, kind: str, key: object, wanted: str, stable=None, limit: int = LABEL_MAX) -> str:
        """A name unique among all documents of one kind compiled together (one namespace)."""
        scope = self.document_names.get(("tekton", kind))
        if scope is None:
            scope = self.document_names[("tekton", kind)] = NameScope(limit)
        return scope.name(key, wanted, stable)

    @property
    def kubectl_image(self) -> str:
        return self.options.kubectl_image or DEFAULT_KUBECTL_IMAGE

    def unrolled_loops(self, graph: nx.DiGraph) -> set[str]:
        """The loops Tekton fans out only as copies of their body: those that are not one
        matrix task (see `matrix_chain`; a loop whose outputs a step or another loop reads
        after it is not), those whose literal lists make more combinations than a matrix
        may run (an inner loop of at most that many items stays a matrix in each copy),
        and every loop in `finally`, whose copies are finally tasks (a matrix there could
        not be read by its loop's other steps)."""
        ordered = ir.tasks(graph)
        gathered = gathered_steps(ordered, ir.info(graph))
        wanted: set[str] = set()

        def as_copies(scope: Scope) -> bool:
            chain = self.matrix_chain(scope, gathered)
            return chain is None or known_combinations(chain[0]) > MATRIX_LIMIT

        def visit(scope: Scope, every: bool) -> None:
            for child in scope.children:
                if every or as_copies(child):
                    wanted.add(child.loop.id)
                    visit(child, every)

        main, final = build_scopes(graph, ordered)
        visit(main, False)
        visit(final, True)
        return wanted

    # ------------------------------------------------------------ what is not mapped yet
    def check_features(self, graph: nx.DiGraph) -> None:
        super().check_features(graph)
        pipeline = ir.info(graph)
        if pipeline.parallelism:
            self.warning("B006", pipeline.span,
                         f"{self.TARGET}: pipeline '{pipeline.name}' sets parallelism = {pipeline.parallelism}, which "
                         "Tekton cannot enforce: it starts every task whose dependencies are done, and ordering "
                         "tasks one after another would skip unrelated tasks whenever one of them is skipped",
                         hint="run the pipeline in a namespace whose ResourceQuota bounds its pods (Tekton waits "
                              "for quota before it starts a task's pod)")
        mpi_steps = [task for task in self.ordered if task.settings.mpi is not None]
        for task in mpi_steps:
            if not task.component.command:
                self.unsupported(task.span, f"MPI step '{task.id}': its component gives no command for mpirun "
                                            "to start", hint="give the component a command")
        for task in mpi_steps:
            if self.mpi_shares_workspace(task):
                what = ("needs a ReadWriteMany claim for its workspace" if self.options.volume_claim
                        else "gives its workspace claim ReadWriteMany access")
                self.warning("B003", task.span,
                             f"pipeline '{pipeline.name}' {what}, because "
                             f"MPI step '{task.id}' reads or writes it from pods on any node",
                             hint="the cluster needs a ReadWriteMany storage class (or --volume-claim NAME of a "
                                  "ReadWriteMany claim)")
                break

    @staticmethod
    def mpi_shares_workspace(task: ir.Task) -> bool:
        component = task.component
        return bool(component.outputs) or any(port.type.is_artifact for port in component.inputs)

    # ------------------------------------------------------------ pipeline
    def pipeline(self, graph: nx.DiGraph) -> list[dict]:
        self.graph = graph
        self.info = ir.info(graph)
        self.task_specs: dict[tuple, tuple[str, dict]] = {}  # template key -> (Task name, spec)
        self.task_order: list[tuple] = []
        self.names = NameScope()  # pipeline task names (main and finally share one namespace)
        self.uses_workspace = False
        self.pod_specs: list[dict] = []
        self.checks: dict[tuple, str] = {}  # conditions -> the pipeline task that checks them
        self.pending_tasks: list[dict] = []  # condition checks made for the task being built
        self.inline_check: tuple[str, list[str], bool, tuple[str, ...]] | None = None  # a finally step's own check
        self.items_tasks: dict[str, str] = {}  # loop id -> its items task: one per loop (copies have their own ids)
        self.items_limit: int | None = None  # the items task's limit while several matrices share it
        self.matrix_items: dict[str, str] = {}  # loop id -> the input its item goes to, in the matrix being built
        self.gathered = gathered_steps(self.ordered, self.info)
        main, final = build_scopes(graph, self.ordered)
        for task in self.ordered:  # names in task order, so a reader's name is known already
            self.names.name(task.id, task.id)
        tasks = []
        for item in main.items:
            if isinstance(item, Scope):
                tasks += self.loop(item, None)
            else:
                entry = self.task(item, main)
                tasks += self.pending_tasks  # a task's condition checks come right before it
                self.pending_tasks = []
                tasks.append(entry)
        finally_tasks = self.finally_block(final, "finally")
        if self.failed:
            return []
        return self.documents(tasks, finally_tasks)

    def documents(self, tasks: list[dict], finally_tasks: list[dict]) -> list[dict]:
        info = self.info
        labels = {"app.kubernetes.io/managed-by": "treadle", PIPELINE_LABEL: dns_label(info.name)}
        pipeline_name = self.document_name("Pipeline", info.name, info.name)
        params = []
        run_params = []
        for param in info.params:
            declared: dict = {"name": param.name, "type": "string"}
            if param.has_default:
                text = self.runtime_literal(param.default, info.span, f"the default of parameter '{param.name}'")
                declared["default"] = text
                run_params.append(Flow(name=param.name, value=text))
            else:
                self.warning("B007", info.span,
                             f"{self.TARGET}: parameter '{param.name}' has no default, so the PipelineRun leaves it "
                             "out, and Tekton refuses the run as it is written until it is given a value",
                             hint=f"give '{param.name}' a default, or start the Pipeline with a value "
                                  f"(tkn pipeline start {pipeline_name} -p {param.name}=...)")
            params.append(declared)
        embedded = self.options.embedded
        spec: dict = {}
        if params:
            spec["params"] = params
        if self.uses_workspace:
            spec["workspaces"] = [{"name": ARTIFACTS_WORKSPACE}]
        spec["tasks"] = [self._reference(task, embedded) for task in tasks]
        if finally_tasks:
            spec["finally"] = [self._reference(task, embedded) for task in finally_tasks]
        run_spec: dict = {"pipelineSpec": spec} if embedded else {"pipelineRef": {"name": pipeline_name}}
        if run_params:
            run_spec["params"] = run_params
        if self.uses_workspace:
            run_spec["workspaces"] = [self._workspace_binding()]
        if info.timeout_seconds:
            run_spec["timeouts"] = {"pipeline": duration(info.timeout_seconds)}
        if info.service_account:
            run_spec["taskRunTemplate"] = {"serviceAccountName": info.service_account}
        if self.pod_specs:
            run_spec["taskRunSpecs"] = self.pod_specs
        run = _document("PipelineRun", self.document_name("PipelineRun", info.name, info.name), labels, run_spec)
        if info.schedule:
            # A run that is started on the schedule, not now: only the CronJob and what it needs.
            runs = schedule_documents(
                run, info.schedule, info.timezone, labels, kubectl_image=self.kubectl_image,
                names=lambda kind, wanted, limit: self.document_name(kind, info.name, wanted,
                                                                     limit=limit or LABEL_MAX))
        else:
            runs = [run]
        if embedded:
            return runs
        result = [_document("Task", self.task_specs[key][0], labels, self.task_specs[key][1])
                  for key in self.task_order]
        result.append(_document("Pipeline", pipeline_name, labels, spec))
        return result + runs

    def _reference(self, entry: dict, embedded: bool) -> dict:
        """A pipeline task with its Task by reference, or with the Task's spec inside it."""
        key = entry.pop("_key")
        if not embedded:
            return entry
        result = {}
        for field, value in entry.items():
            if field == "taskRef":
                result["taskSpec"] = self.task_specs[key][1]
            else:
                result[field] = value
        return result

    def _workspace_binding(self) -> dict:
        if self.options.volume_claim:
            return {"name": ARTIFACTS_WORKSPACE, "persistentVolumeClaim": {"claimName": self.options.volume_claim}}
        # ReadWriteOnce is enough for task pods: Tekton's affinity assistant runs the tasks
        # that share a claim on one node. An MPI step's pods run on any node.
        mode = "ReadWriteMany" if any(task.settings.mpi is not None and self.mpi_shares_workspace(task)
                                      for task in self.ordered) else "ReadWriteOnce"
        return {"name": ARTIFACTS_WORKSPACE, "volumeClaimTemplate": {"spec": {
            "accessModes": [mode], "resources": {"requests": {"storage": VOLUME_SIZE}}}}}

    # ------------------------------------------------------------ pipeline tasks
    def ref_name(self, task_id: str) -> str:
        """The pipeline task of step `task_id`."""
        return self.names.name(task_id, task_id)

    def task(self, task: ir.Task, scope, matrix_inputs: set[str] = frozenset()) -> dict:
        """A call as a pipeline task; with `matrix_inputs`, one task for whole loops whose
        items those inputs take (Tekton's `matrix`)."""
        name = self.ref_name(task.id)
        files = self.file_inputs(task)
        reads = tuple((port, mode != "one") for port, (mode, _) in files.items())
        check = None
        conditions = ir.flat_conditions(task.guard)
        # Conditions on a matrix's item: a `when` is decided before the fan-out, so each
        # combination's TaskRun checks them itself.
        own = tuple(condition for condition in conditions if self.reads_matrix_item(condition))
        if task.is_finally:  # its condition may shape its Task (a check of its own)
            self.inline_check = None
            when = self.condition(conditions, task)
            check, self.inline_check = self.inline_check, None
        elif own:
            check = self.check_shape(own, task)
        guard = "" if check is None else "files" if check[2] else "values"
        items = check[3] if check is not None else ()
        key = self.variant_key(task, reads, guard, items)
        entry: dict = {"name": name, "taskRef": {"name": self.component(task, reads, guard, items)}, "_key": key}
        if not task.is_finally:  # checks come after the Task in the output, as they always did
            when = self.condition(tuple(condition for condition in conditions if condition not in own), task)
        params = []
        workspaces = []
        component = task.component
        for port in component.inputs:
            binding = task.argument(port.name)
            if binding is None:
                binding = ir.Const(port.default)
            where = f"argument '{port.name}' of step '{task.id}'"
            if port.name in matrix_inputs or port.name in files:
                continue
            if port.type.is_artifact and task.settings.mpi is not None:
                folder = f"{self.ref_name(binding.task)}/{binding.output}"
                params.append(Flow(name=mpi_input_param(port.name), value=folder))
            elif port.type.is_artifact:
                producer = self.ref_name(binding.task)
                workspaces.append(Flow(name=input_workspace(port.name), workspace=ARTIFACTS_WORKSPACE,
                                       subPath=f"{producer}/{binding.output}"))
            else:
                params.append(Flow(name=port.name, value=self.value_text(binding, task, where)))
        for variable in self.run_context_variables(component, task.settings):
            params.append(Flow(name=RUN_CONTEXT_PARAMS[variable][0], value=RUN_CONTEXT_PARAMS[variable][1]))
        if files:
            values: list[str] = []
            for port_name, (mode, paths) in files.items():
                if mode == "one":
                    params.append(Flow(name=file_param(port_name), value=paths[0]))
                else:
                    values += [port_name, mode, json.dumps(paths, separators=(",", ":"))]
            if values:
                params.append(Flow(name=VALUES_PARAM, value=values))
        # The whole workspace, read-only: for files read, an MPI job's claim, or a check's files.
        if files or (task.settings.mpi is not None and self.mpi_shares_workspace(task)) or (check and check[2]):
            workspaces.append(SHARED_WORKSPACE_BINDING)
        if task.settings.mpi is not None:
            if component.outputs:
                params.append(Flow(name=MPI_OUTPUTS_PARAM, value=name))
        elif self.writes_files(component):
            workspaces.append(Flow(name=OUTPUTS_WORKSPACE, workspace=ARTIFACTS_WORKSPACE, subPath=name))
        if check is not None:
            params += [Flow(name=GUARD_PARAM, value=check[0]), Flow(name=GUARD_VALUES_PARAM, value=check[1])]
        if workspaces:
            self.uses_workspace = True
        if when:
            entry["when"] = when
        if not task.is_finally:
            after = sorted({self.ref_name(other) for other in self.graph.predecessors(task.id)})
            if after:
                entry["runAfter"] = after
        else:
            for other in self.graph.predecessors(task.id):
                if self.task_of[other].is_finally:
                    self.unsupported(task.span, f"finally step '{task.id}' waits for finally step '{other}': Tekton "
                                                "starts every finally task at once, and a finally task can neither "
                                                "run after another nor read its results",
                                     hint="make one of the two a step of the pipeline's main part, or one component "
                                          "that does both")
        if params:
            entry["params"] = params
        if workspaces:
            entry["workspaces"] = workspaces
        entry.update(self.retries(task.settings))
        entry.update(self.timeout(task.settings))
        pod_template = self.pod_template(task.settings)
        if pod_template:
            self.pod_specs.append({"pipelineTaskName": name, "podTemplate": pod_template})
        return entry

    def file_inputs(self, task: ir.Task) -> dict[str, tuple[str, list[str]]]:
        """Input values that the step reads from the workspace: input -> (mode, paths)."""
        files = {}
        for port in task.component.inputs:
            binding = task.argument(port.name)
            if not port.type.is_artifact and isinstance(binding, (ir.TaskOutput, ir.ListOf)):
                route = self.file_route(binding)
                if route is not None:
                    files[port.name] = route
        return files

    def file_route(self, binding: ir.TaskOutput | ir.ListOf) -> tuple[str, list] | None:
        """How a reader gets an output that is a file, not a result: (mode, [workspace path])
        for one file, or for the outputs of an unrolled loop read after it (fan-in)
        (mode, layout), the copies' files nested by loop in item order; None for a result."""
        leaf = next((b for b in ir.binding_leaves(binding) if isinstance(b, ir.TaskOutput)), None)
        if leaf is None:
            return None  # no copies at all: the empty list is a literal
        producer: ir.Task = self.task_of[leaf.task]
        port = producer.component.output(leaf.output)
        if self.is_result(producer.component, port):
            return None
        if isinstance(binding, ir.TaskOutput):
            return "one", [f"{self.ref_name(binding.task)}/{binding.output}"]
        mode = "text" if port.type.name == "str" else "json"
        return mode, nested(binding, lambda output: f"{self.ref_name(output.task)}/{output.output}")

    def value_text(self, binding: ir.Binding, task: ir.Task, where: str) -> str:
        """A parameter value of a pipeline task: literal text, or a Tekton variable."""
        if isinstance(binding, ir.Const):
            # The value lands in the step's args or env, which the kubelet expands.
            return kube_escape(self.literal(binding.value, task.span, where))
        if isinstance(binding, ir.ParamRef):
            return f"$(params.{binding.name})"
        if isinstance(binding, (ir.TaskOutput, ir.ListOf)):
            return self.result_ref(binding, task)
        # A loop item is a literal in an unrolled copy, or the matrix param of its one input;
        # the loop's planning never sends it anywhere else, but a refusal is better than a
        # wrong variable.
        self.unsupported(task.span, f"{where} reads the item of a loop that is a matrix, and Tekton gives a matrix's "
                                    "item only to the input that the matrix param names")
        return ""

    def result_ref(self, binding: ir.TaskOutput | ir.ListOf, reader: ir.Task) -> str:
        """A result as a Tekton variable; the outputs of an unrolled loop read after it
        (fan-in) as a JSON list written around one variable per copy, in item order."""
        if isinstance(binding, ir.ListOf):
            # The language lets a step read a loop's outputs only under every condition the
            # loop's steps run under, so a copy is never skipped while its reader runs.
            def text(node) -> str:
                return "[" + ", ".join(text(item) for item in node) + "]" if isinstance(node, list) else node

            return text(nested(binding, lambda output: self.result_ref(output, reader)))
        producer: ir.Task = self.task_of[binding.task]
        port = producer.component.output(binding.output)
        if not self.is_result(producer.component, port):
            # Readers of files take them through the launcher or a check's files; nothing
            # else should reach here, but a refusal is better than a wrong variable.
            self.unsupported(reader.span, f"step '{reader.id}' reads output '{binding.output}' of '{binding.task}', a "
                                          "file in the workspace, where only a Tekton result can go")
            return ""
        return f"$(tasks.{self.ref_name(binding.task)}.results.{binding.output})"

    def literal(self, value: ir.Value, span: Span, where: str) -> str:
        text = ir.render_value(value)
        if _TEKTON_VARIABLE.search(text):
            self.error("B002", span, f"{where} contains '$(' ({text!r}); Tekton reads '$(' as the start of a "
                                     "variable and has no escape for it, so the text cannot reach the container "
                                     "unchanged",
                       hint="remove the '$(' (for example, pass the text through a file the step reads)")
        return text

    def step_text(self, text: str, span: Span, where: str) -> str:
        """Constant text of a Task's own step (its command, args, env): refused only when
        Tekton could read a variable in it (see `_TEKTON_REFERENCE`). Text passed as a param
        value goes through `literal`, which refuses every `$(`: a param is substituted where
        the Pipeline is read too."""
        match = _TEKTON_REFERENCE.search(text)
        if match is not None:
            self.error("B002", span, f"{where} contains '{match.group(0)}' ({text!r}); Tekton reads '$(' followed by "
                                     "a name as a variable and has no escape for it, so the text cannot reach the "
                                     "container unchanged",
                       hint="remove the '$(' (a shell's $(command) with a space or quote after the name is kept)")
        return text

    def runtime_literal(self, value: ir.Value, span: Span, where: str) -> str:
        """A value that reaches containers through a Tekton variable at run time: the kubelet
        expands `$$` and `$(` in it there, while a `when` compares it as it is, so no escape
        suits every reader. Text the kubelet leaves alone (`US$5`) passes; `$$`, and a `$`
        at the end (which would join a `$(` that follows it in an argument), are refused."""
        text = self.literal(value, span, where)
        if "$" in text and "$(" not in text and (kube_escape(text) != text or text.endswith("$")):
            self.error("B002", span, f"{where} contains '$$' or ends in '$' ({text!r}); the kubelet expands '$$' "
                                     "in the args and env that receive it, and a run-time value cannot be escaped",
                       hint="write the text without '$$' and without a '$' at its end")
        return text

    # ------------------------------------------------------------ conditions
    def condition(self, conditions: tuple[ir.Condition, ...], task: ir.Task) -> list[dict]:
        """`when` expressions, all of which must hold. Equality of str and bool values, and
        bool values by themselves, are text comparisons, which Tekton's `when` does exactly
        (bools are always `true`/`false`). Every other condition (numbers, `or`, `not` over
        a compound) is evaluated by one condition-check task, whose result the `when` tests."""
        result = []
        checked: list[ir.Condition] = []
        for condition in conditions:
            when = self.text_when(condition, task)
            if when is None:
                checked.append(condition)
            else:
                result.append(when)
        if checked:
            if task.is_finally:
                # A check task in the main DAG might never start when the run fails early, and
                # a finally task cannot wait for another: the finally step checks by itself.
                self.inline_check = self.check_shape(tuple(checked), task)
                return result
            check = self.condition_check(tuple(checked), task)
            result.append(Flow(input=f"$(tasks.{check}.results.{CHECK_RESULT})", operator="in", values=["true"]))
        return result

    def text_when(self, condition: ir.Condition, task: ir.Task) -> dict | None:
        """The condition as one text `when`, or None when text comparison would be wrong."""
        if any(self.from_file(binding) for binding in ir.condition_bindings(condition)):
            return None  # a `when` takes Tekton variables only: the check task reads the file
        negated = False
        while isinstance(condition, ir.Not) and isinstance(condition.operand, (ir.Compare, ir.Truthy, ir.Not)):
            negated = not negated
            condition = condition.operand
        if isinstance(condition, ir.Truthy) and self._type_of(condition.operand) == "bool":
            return self._when(condition.operand, "in", ["true"], negated, task)
        if isinstance(condition, ir.Compare) and condition.op in ("==", "!="):
            types = {self._type_of(condition.left), self._type_of(condition.right)}
            if len(types) == 1 and types <= {"str", "bool"}:
                left, right = condition.left, condition.right
                if isinstance(left, ir.Const) and not isinstance(right, ir.Const):
                    left, right = right, left
                values = [self.condition_text(right, task)]
                return self._when(left, "in", values, negated != (condition.op == "!="), task)
        return None

    def condition_check(self, conditions: tuple[ir.Condition, ...], task: ir.Task) -> str:
        """The pipeline task that evaluates `conditions` (shared by every step they guard).
        The condition's shape is compile-time JSON; the values arrive as separate args."""
        key = ("check", conditions)
        known = self.checks.get(key)
        if known is not None:
            return known
        name = self.names.name(key, f"check-{self.ref_name(task.id)}")
        self.checks[key] = name
        shape, operands, files, _ = self.check_shape(conditions, task)
        key = CHECK_FILES_KEY if files else CHECK_KEY
        entry: dict = {"name": name, "taskRef": {"name": self.check_task(bool(files))}, "_key": key}
        after = sorted({self.ref_name(binding.task) for condition in conditions
                        for binding in ir.condition_bindings(condition) if isinstance(binding, ir.TaskOutput)})
        if after:
            entry["runAfter"] = after
        entry["params"] = [Flow(name="condition", value=shape), Flow(name="values", value=operands)]
        if files:
            entry["workspaces"] = [SHARED_WORKSPACE_BINDING]
            self.uses_workspace = True
        self.pending_tasks.append(entry)
        return name

    def check_shape(self, conditions: tuple[ir.Condition, ...], task: ir.Task
                    ) -> tuple[str, list[str], bool, tuple[str, ...]]:
        """(the conditions' shape as JSON, the operand values, whether some are files, the
        inputs whose matrix item is an operand: the Task's check step appends those params
        to the values, so their positions follow the operands')."""
        operands: list[str] = []
        files: list[int] = []
        items: list[str] = []
        tree = [self.condition_tree(condition, operands, task, files, items) for condition in conditions]
        shape = ["and", tree] if len(tree) > 1 else tree[0]
        if items:
            shape = after_operands(shape, len(operands))
        if files:
            shape = ["files", files, shape]
        return json.dumps(shape, separators=(",", ":")), operands, bool(files), tuple(items)

    def condition_tree(self, condition: ir.Condition, operands: list[str], task: ir.Task, files: list[int],
                       items: list[str]) -> list:
        """A condition as nested lists over operand positions: ["and"|"or", [..]], ["not", c],
        ["compare", op, kind, i, j], ["true", i]; kind says how the values compare. Operands
        read from the workspace are paths, their positions listed in `files`; a matrix item
        is the input named in `items`, at position -1 - (its index there) until
        `after_operands` moves it behind the operands."""
        if isinstance(condition, (ir.And, ir.Or)):
            return ["and" if isinstance(condition, ir.And) else "or",
                    [self.condition_tree(operand, operands, task, files, items) for operand in condition.operands]]
        if isinstance(condition, ir.Not):
            return ["not", self.condition_tree(condition.operand, operands, task, files, items)]

        def position(binding: ir.Binding) -> int:
            if isinstance(binding, ir.LoopItem) and binding.loop in self.matrix_items:
                port = self.matrix_items[binding.loop]
                if port not in items:
                    items.append(port)
                return -1 - items.index(port)
            route = self.from_file(binding)
            if route is not None:
                files.append(len(operands))
                operands.append(route)
                return len(operands) - 1
            text = self.condition_text(binding, task)  # the check step's args: the kubelet expands them
            operands.append(kube_escape(text) if isinstance(binding, ir.Const) else text)
            return len(operands) - 1

        if isinstance(condition, ir.Truthy):
            return ["true", position(condition.operand)]
        kinds = {self._type_of(condition.left), self._type_of(condition.right)}
        kind = "text" if kinds & {"str", "bool"} else "number"
        return ["compare", condition.op, kind, position(condition.left), position(condition.right)]

    def check_task(self, reads_files: bool = False) -> str:
        """The Task that evaluates a condition: a fixed program on a small Python image, run
        as an unprivileged user, with the values as arguments (never pasted into code); with
        `reads_files`, the variant that mounts the workspace to read some of them."""
        key = CHECK_FILES_KEY if reads_files else CHECK_KEY
        known = self.task_specs.get(key)
        if known is not None:
            return known[0]
        wanted = f"{self.info.name}-condition-check" + ("-files" if reads_files else "")
        name = self.document_name("Task", (self.info.name,) + key, wanted)
        step = {"name": "check", "image": CHECK_IMAGE, "command": ["python3", "-c", kube_escape(CHECK_PROGRAM)],
                "args": [f"$(results.{CHECK_RESULT}.path)", "$(params.condition)", "$(params.values[*])"],
                "securityContext": helper_security()}
        spec: dict = {"params": [{"name": "condition", "type": "string"}, {"name": "values", "type": "array"}],
                      "results": [{"name": CHECK_RESULT, "type": "string"}]}
        if reads_files:
            spec["workspaces"] = [SHARED_WORKSPACE_MOUNT]
        spec["steps"] = [step]
        self.task_specs[key] = (name, spec)
        self.task_order.append(key)
        return name

    def from_file(self, binding: ir.Binding) -> str | None:
        """The workspace path of an output that a condition reads from a file, or None."""
        if isinstance(binding, ir.TaskOutput) and not binding.gathered:
            route = self.file_route(binding)
            if route is not None:
                return route[1][0]
        return None

    def reads_matrix_item(self, condition: ir.Condition) -> bool:
        """Whether `condition` reads the item of a loop that the matrix being built fans out."""
        return any(isinstance(binding, ir.LoopItem) and binding.loop in self.matrix_items
                   for binding in ir.condition_bindings(condition))

    def _when(self, operand: ir.Binding, operator: str, values: list[str], negated: bool, task: ir.Task) -> dict:
        if negated:
            operator = "notin" if operator == "in" else "in"
        return Flow(input=self.condition_text(operand, task), operator=operator, values=values)

    def condition_text(self, binding: ir.Binding, task: ir.Task) -> str:
        if isinstance(binding, ir.Const):
            return self.literal(binding.value, task.span, f"a value in the condition of step '{task.id}'")
        return self.value_text(binding, task, f"a condition of step '{task.id}'")

    def _type_of(self, binding: ir.Binding) -> str:
        if isinstance(binding, ir.Const):
            value = binding.value
            return "bool" if isinstance(value, bool) else "str" if isinstance(value, str) else "number"
        return ir.declared_type(self.graph, binding).name

    def loop(self, scope: Scope, parent) -> list[dict]:
        """A `for`: one task with a `matrix` when the loop (with the loops nested in it) is
        one step that takes each loop's item in exactly one input, writes no files
        (iterations would share its folder), is not gathered and whose condition does not
        read an item; a list known only at run time gets a matrix per member (see
        `matrices`). Other loops over a list known when compiling, and every such loop in
        finally, arrive unrolled into copies of their body (named STEP-INDEX,
        STEP-OUTER-INNER in nested loops; see `unrolled_loops`)."""
        in_finally = next(scope.all_tasks()).is_finally
        chain = None if in_finally else self.matrix_chain(scope, self.gathered)
        if chain is not None:
            return self.matrix_loop(scope, *chain)
        loop = scope.loop
        if isinstance(loop.items, ir.Const):
            raise AssertionError(f"loop {loop.id} over a literal list reached the Tekton emitter without unrolling")
        if in_finally:
            self.unsupported(loop.span, f"the loop over {loop.variable} in the finally block gets its list at run "
                                        "time, and Tekton has no task that could read it for a finally task: a "
                                        "finally task cannot read the results of another finally task, and reads "
                                        "those of a pipeline task only if that task ran, which a failed or "
                                        "cancelled run does not promise",
                             hint="loop over a literal list in the finally block, or move the loop out of it")
            return []
        return self.matrices(scope)

    def matrices(self, scope: Scope) -> list[dict]:
        """A loop over a list known only at run time whose body has several members: one
        matrix per member, all over the one items task's array result, when each member is
        a matrix by itself and none reads or waits for another (a matrix fans out one
        pipeline task, and the iterations of two matrices cannot be paired)."""
        loop = scope.loop
        chains = [self.matrix_chain(Scope(loop, scope.depth, [member]), self.gathered, item_checks=True)
                  for member in scope.items]
        members = [{item.id} if isinstance(item, ir.Task) else {task.id for task in item.all_tasks()}
                   for item in scope.items]
        owner = {task_id: index for index, ids in enumerate(members) for task_id in ids}
        linked = next(((task_id, other) for task_id, index in owner.items()
                       for other in self.graph.predecessors(task_id) if owner.get(other, index) != index), None)
        if linked is not None or any(chain is None for chain in chains):
            why = (f"step '{linked[0]}' reads or waits for step '{linked[1]}' of the same iteration, and running a "
                   "group of tasks per item needs Pipelines in Pipelines, which Tekton has not implemented "
                   "(tektoncd/pipeline#7166)" if linked is not None else self.not_a_matrix(scope, chains))
            self.unsupported(loop.span, f"the loop over {loop.variable} gets its list at run time, which Tekton fans "
                                        f"out only as matrices, one per step, that each take the item: {why}",
                             hint="loop over a literal list (the body is then unrolled), or make each step of the "
                                  "body take the item and write no files, with nothing read after the loop")
            return []
        known = [math.prod(len(inner.items.value) for inner in chain[0] if isinstance(inner.items, ir.Const))
                 for chain in chains]
        # A member with an empty literal list inside runs no iteration (and makes no task).
        self.items_limit = MATRIX_LIMIT // max(1, max(known))
        result: list[dict] = []
        for chain in chains:
            result += self.matrix_loop(scope, *chain)
        self.items_limit = None
        return result

    def not_a_matrix(self, scope: Scope, chains: list) -> str:
        """Why a member of a loop body over a run-time list cannot be a matrix."""
        node = scope.items[chains.index(None)]
        loops = [scope.loop]
        while isinstance(node, Scope):
            if len(node.items) != 1:
                return (f"the loop over {node.loop.variable} inside it holds several steps, and a matrix fans out "
                        "one step")
            loops.append(node.loop)
            node = node.items[0]
        task = node
        ids = {loop.id for loop in loops}
        for loop in loops:
            if isinstance(loop.items, ir.LoopItem) and loop.items.loop in ids:
                outer = self.info.loop(loop.items.loop).variable
                return (f"the loop over {loop.variable} iterates the item of the loop over {outer}, and a matrix is "
                        "the product of lists that do not depend on each other's items")
        if task.id in self.gathered:
            return (f"the outputs of step '{task.id}' are read after the loop, and Tekton gathers a matrix's "
                    "results into one array ordered by its TaskRuns' names, not by item (tektoncd/pipeline#7167), "
                    "which only an array param takes whole")
        if self.writes_files(task.component) or (task.settings.mpi is not None and task.component.outputs):
            return f"step '{task.id}' writes files, and every combination of a matrix would share its folder"
        return f"step '{task.id}' does not take the item of each loop in exactly one value input"

    def matrix_chain(self, scope: Scope, gathered: set[str], item_checks: bool = False
                     ) -> tuple[list[ir.Loop], list[str], ir.Task] | None:
        """(loops, the input each loop's item goes to, the step) when `scope` can be one
        matrix task: a chain of loops, each holding only the next, around one step, whose
        outputs no step or loop reads after the loop (`gathered`). A matrix is the product
        of its params, which is what nested loops are. A condition on
        an item needs `item_checks` (each combination checks it in its own Task; otherwise
        the loop is unrolled and the item written into a `when`)."""
        loops = []
        while True:
            loops.append(scope.loop)
            if len(scope.items) != 1:
                return None
            member = scope.items[0]
            if isinstance(member, Scope):
                scope = member
                continue
            task = member
            break
        if self.writes_files(task.component) or task.id in gathered:
            return None
        if task.settings.mpi is not None and task.component.outputs:
            return None  # its values pass through its folder, which iterations would share
        ids = {loop.id for loop in loops}
        for condition in ir.flat_conditions(task.guard):
            for binding in ir.condition_bindings(condition):
                if isinstance(binding, ir.LoopItem) and not (item_checks and binding.loop in ids):
                    return None
        inputs = []
        for loop in loops:
            if isinstance(loop.items, ir.LoopItem) and loop.items.loop in ids:
                return None  # a list that depends on another item of the product
            reading = [name for name, binding in task.arguments
                       if isinstance(binding, ir.LoopItem) and binding.loop == loop.id]
            if len(reading) != 1:
                return None
            inputs.append(reading[0])
        for port in task.component.inputs:  # an item must go to a value input, as text
            if port.name in inputs and port.type.is_artifact:
                return None
        return loops, inputs, task

    def matrix_loop(self, scope: Scope, loops: list[ir.Loop], inputs: list[str], task: ir.Task) -> list[dict]:
        """One pipeline task whose matrix has a param per loop: the literal items, or the
        array result of an items task that reads a list known at run time."""
        params: list = []
        known = known_combinations(loops)
        for loop, input_name in zip(loops, inputs):
            items = loop.items
            if isinstance(items, ir.Const):
                values = [kube_escape(self.literal(item, loop.span, f"an item of the loop over {loop.variable}"))
                          for item in items.value]
                params.append(Flow(name=input_name, value=values))
            else:
                params.append((loop, input_name))
        if known == 0:
            return []  # an empty list: no iteration at all
        item_tasks = []
        for position, param in enumerate(params):
            if isinstance(param, tuple):
                loop, input_name = param
                name = self.items_task(loop, task, MATRIX_LIMIT // known)
                if not name:
                    return []
                item_tasks.append(name)
                params[position] = Flow(name=input_name, value=f"$(tasks.{name}.results.{ITEMS_RESULT}[*])")
        self.matrix_items = {loop.id: input_name for loop, input_name in zip(loops, inputs)}
        entry = self.task(task, scope, matrix_inputs=set(inputs))
        self.matrix_items = {}
        if item_tasks:
            entry["runAfter"] = sorted(set(entry.get("runAfter", [])) | set(item_tasks))
        entry["matrix"] = {"params": params}
        result = self.pending_tasks + [entry]
        self.pending_tasks = []
        return result

    def items_task(self, loop: ir.Loop, task: ir.Task, limit: int) -> str:
        """A pipeline task that turns a list known only at run time (a list parameter's JSON
        text, a step's list output in the workspace, or an unrolled loop's outputs) into the
        array result a matrix takes, refusing more than `limit` items (`items_limit` while
        several matrices share it); it runs under the loop's conditions. One per loop copy
        (a loop inside an unrolled one has an id of its own in each copy)."""
        items = loop.items
        if loop.id in self.items_tasks:
            return self.items_tasks[loop.id]
        suffix = "".join(f"-{index}" for _, index in task.copy_of)  # the loop's copy in unrolled ones
        name = self.names.name(("items", loop.id), f"{loop.variable}-items{suffix}")
        if self.items_limit is not None:
            limit = self.items_limit
        self.items_tasks[loop.id] = name
        entry: dict = {"name": name, "taskRef": {"name": self.items_task_spec()}, "_key": ITEMS_KEY}
        if isinstance(items, ir.ParamRef):
            source, value = "text", f"$(params.{items.name})"
        elif isinstance(items, ir.TaskOutput) and not items.gathered:
            route = self.file_route(items)
            if route is None:  # list outputs are always files; a result here would be a bug
                raise AssertionError(f"list output {items.task}.{items.output} is a result")
            source, value = "file", route[1][0]
            entry["runAfter"] = [self.ref_name(items.task)]
            entry["workspaces"] = [SHARED_WORKSPACE_BINDING]
            self.uses_workspace = True
        elif isinstance(items, ir.TaskOutput):
            # The outputs of a loop left in place (its list is known only at run time): its
            # own refusal says why Tekton cannot gather them (`matrices`).
            return ""
        elif isinstance(items, ir.ListOf):  # an unrolled loop's outputs, one value per copy
            route = self.file_route(items)
            if route is None:
                source, value = "text", self.result_ref(items, task)
            else:
                source, value = "texts" if route[0] == "text" else "values", json.dumps(route[1], separators=(",", ":"))
                entry["workspaces"] = [SHARED_WORKSPACE_BINDING]
                self.uses_workspace = True
            entry["runAfter"] = sorted({self.ref_name(leaf.task) for leaf in ir.binding_leaves(items)
                                        if isinstance(leaf, ir.TaskOutput)})
        else:
            self.unsupported(loop.span, f"the loop over {loop.variable} iterates the item of a loop that is a "
                                        "matrix itself, and a matrix is the product of lists that do not depend on "
                                        "each other's items",
                             hint="loop over a literal list outside, so that its body is unrolled")
            return ""
        when = self.condition(ir.flat_conditions(loop.guard), task)
        if when:
            entry["when"] = when
        entry["params"] = [Flow(name="source", value=source), Flow(name="list", value=value),
                           Flow(name="limit", value=str(limit))]
        self.pending_tasks.append(entry)
        return name

    def items_task_spec(self) -> str:
        known = self.task_specs.get(ITEMS_KEY)
        if known is not None:
            return known[0]
        name = self.document_name("Task", (self.info.name,) + ITEMS_KEY, f"{self.info.name}-loop-items")
        step = {"name": "items", "image": CHECK_IMAGE, "command": ITEMS_COMMAND,
                "args": [f"$(results.{ITEMS_RESULT}.path)", "$(params.source)", "$(params.list)", "$(params.limit)"],
                "securityContext": helper_security()}
        spec = {"params": [{"name": "source", "type": "string"}, {"name": "list", "type": "string"},
                           {"name": "limit", "type": "string"}],
                "results": [{"name": ITEMS_RESULT, "type": "array"}],
                "workspaces": [Flow(name=MPI_SHARED_WORKSPACE, mountPath=MPI_SHARED_PATH, readOnly=True, optional=True)],
                "steps": [step]}
        self.task_specs[ITEMS_KEY] = (name, spec)
        self.task_order.append(ITEMS_KEY)
        return name

    def finally_block(self, scope: Scope, name: str) -> list[dict]:
        """The Pipeline's `finally` tasks, in source order; a loop there is always unrolled
        (its copies are finally tasks of their own)."""
        result: list[dict] = []
        for item in scope.items:
            result += self.loop(item, scope) if isinstance(item, Scope) else [self.task(item, scope)]
        return result

    # ------------------------------------------------------------ Tasks
    def writes_files(self, component: ir.ComponentSpec) -> bool:
        return not all(self.is_result(component, port) for port in component.outputs)

    def variant_key(self, task: ir.Task, files: tuple[tuple[str, bool], ...], guard: str,
                    items: tuple[str, ...]) -> tuple:
        """The key of `task`'s Task (see `component`): its pod's key, plus how it reads files
        and checks its own condition when it does either."""
        if not (files or guard):
            return self.task_key(task)
        return self.task_key(task) + (files, guard) + ((items,) if items else ())

    def component(self, task: ir.Task, files: tuple[tuple[str, bool], ...] = (), guard: str = "",
                  items: tuple[str, ...] = ()) -> str:
        """The Task of `task`; `files`: (input, gathered) for each input it reads from the
        workspace (one file, or a loop's files gathered into a list); `guard`: "values" or
        "files" when the Task checks its own condition (a finally step), reading files or not."""
        key = self.variant_key(task, files, guard, items)
        known = self.task_specs.get(key)
        if known is not None:
            return known[0]
        wanted = f"{self.info.name}-{task.component.name}"
        name = self.document_name("Task", (self.info.name,) + key, wanted,
                                  stable=lambda: self.info.name + self.keys.identity(key[:2]) + (repr(key[2:]) if len(key) > 2 else ""))
        spec = (self.mpi(task, name, files, guard, items) if task.settings.mpi is not None
                else self.task_spec(task, files, guard, items))
        if task.component.description:
            spec = {"description": task.component.description, **spec}
        self.task_specs[key] = (name, spec)
        self.task_order.append(key)
        return name

    def task_spec(self, task: ir.Task, files: tuple[tuple[str, bool], ...] = (), guard: str = "",
                  items: tuple[str, ...] = ()) -> dict:
        """A Task that runs the component; `files`: (input, gathered) for the inputs it reads
        from the workspace. The command then runs through the launcher, which reads a single
        file where it is; a helper step first gathers a loop's files into one list."""
        component, settings = task.component, task.settings
        reads = dict(files)
        gathers = any(reads.values())
        spec: dict = {}
        params = []
        for port in component.inputs:
            if port.type.is_artifact:
                continue
            if port.name not in reads:
                params.append(described({"name": port.name, "type": "string"}, port))
            elif not reads[port.name]:
                params.append({"name": file_param(port.name), "type": "string"})
        for variable in self.run_context_variables(component, settings):
            params.append({"name": RUN_CONTEXT_PARAMS[variable][0], "type": "string"})
        helper_params, helper_volumes, helper_steps = self.helper_parts(gathers, guard, items)
        params += helper_params
        if params:
            spec["params"] = self.shared_list(params)
        results = [described({"name": port.name, "type": "string"}, port) for port in component.outputs
                   if self.is_result(component, port)]
        if results:
            spec["results"] = self.shared_list(results)
        workspaces = [Flow(name=input_workspace(port.name), mountPath=pod.input_path(port.name), readOnly=True)
                      for port in component.inputs if port.type.is_artifact]
        if self.writes_files(component):
            workspaces.append(Flow(name=OUTPUTS_WORKSPACE, mountPath=pod.OUTPUTS_DIR))
        if files or guard == "files":
            workspaces.append(SHARED_WORKSPACE_MOUNT)
        if workspaces:
            spec["workspaces"] = self.shared_list(workspaces)
        volumes = [pod.volume_source(volume) for volume in settings.volumes] + helper_volumes
        if volumes:
            spec["volumes"] = volumes
        spec["steps"] = helper_steps + [self.step(task, files, guard)]
        self.cache(task, name="", key=())
        return spec

    def helper_parts(self, gathers: bool, guard: str, items: tuple[str, ...]) -> tuple[list, list, list]:
        """(params, emptyDir volumes, first steps) that a Task adds to gather a loop's files
        into one list (`gathers`) and to check its own condition first (`guard`)."""
        params: list = []
        volumes: list = []
        steps: list = []
        if gathers:
            params.append({"name": VALUES_PARAM, "type": "array"})
            volumes.append({"name": VALUES_VOLUME, "emptyDir": {}})
        if guard:
            params += [{"name": GUARD_PARAM, "type": "string"}, {"name": GUARD_VALUES_PARAM, "type": "array"}]
            volumes.append({"name": GUARD_VOLUME, "emptyDir": {}})
            steps.append(self.check_step(items))
        if gathers:
            steps.append(self.values_step())
        return params, volumes, steps

    @staticmethod
    def check_step(items: tuple[str, ...] = ()) -> dict:
        """The first step of a Task that checks its own condition: writes `true` or `false`
        to the check volume, which later steps read. `items`: inputs whose values (a
        matrix's item in this combination) follow the condition's values."""
        return {"name": "treadle-check", "image": CHECK_IMAGE, "command": CHECK_COMMAND,
                "args": [GUARD_FILE, f"$(params.{GUARD_PARAM})", f"$(params.{GUARD_VALUES_PARAM}[*])",
                         *(f"$(params.{port})" for port in items)],
                "volumeMounts": [Flow(name=GUARD_VOLUME, mountPath=GUARD_PATH)],
                "securityContext": helper_security()}

    @staticmethod
    def values_step() -> dict:
        """The step that gathers a loop's files into one JSON list per input, for the steps after it."""
        return {"name": "treadle-values", "image": CHECK_IMAGE, "command": VALUES_COMMAND,
                "args": [MPI_SHARED_PATH, VALUES_PATH, f"$(params.{VALUES_PARAM}[*])"],
                "volumeMounts": [Flow(name=VALUES_VOLUME, mountPath=VALUES_PATH)],
                "securityContext": helper_security()}

    def step(self, task: ir.Task, files: tuple[tuple[str, bool], ...] = (), guard: str = "") -> dict:
        component, settings = task.component, task.settings
        where = f"the component '{component.name}'"
        step: dict = {"name": dns_label(component.name),
                      "image": self.literal(component.image, task.span, f"the image of {where}")}
        env = self.env(task)
        if files or guard:
            step["command"] = self.shared_list(self.launcher(task, files, env, bool(guard)))
            env = [variable for variable in env if variable["name"] not in self.file_env(task, files)]
        else:
            command = [self.argument(argument, task, where) for argument in component.command]
            args = [self.argument(argument, task, where) for argument in component.args]
            if command:
                step["command"] = self.shared_list(command)
            if args:
                step["args"] = self.shared_list(args)
        if env:
            step["env"] = env
        if settings.image_pull_policy:
            step["imagePullPolicy"] = settings.image_pull_policy
        requested = self.resources(settings)
        if requested:
            step["computeResources"] = requested
        mounts = []
        for volume in settings.volumes:
            mount = Flow(name=pod.volume_name(volume), mountPath=volume.mount_path)
            if volume.read_only:
                mount["readOnly"] = True
            mounts.append(mount)
        if any(gathered for _, gathered in files):
            mounts.append(Flow(name=VALUES_VOLUME, mountPath=VALUES_PATH, readOnly=True))
        if guard:
            mounts.append(Flow(name=GUARD_VOLUME, mountPath=GUARD_PATH, readOnly=True))
        if mounts:
            step["volumeMounts"] = mounts
        step["securityContext"] = self.security(settings)
        return step

    @staticmethod
    def file_env(task: ir.Task, files: tuple[tuple[str, bool], ...]) -> dict[str, str]:
        """Environment variables whose value is an input read from the workspace: name -> input."""
        reads = dict(files)
        return {variable.name: variable.value.name for variable in task.settings.env
                if isinstance(variable.value, ir.InputValue) and variable.value.name in reads}

    def launcher(self, task: ir.Task, files: tuple[tuple[str, bool], ...], env: list[dict], guarded: bool = False
                 ) -> list[str]:
        """The command of a step that reads values from files: `sh` runs the fixed launcher,
        whose tokens rebuild the component's command and args with each file's content in
        place, export the environment variables that take such values, and run it."""
        component = task.component
        where = f"the component '{component.name}'"
        reads = dict(files)

        def source(port: str) -> str:
            """Where the launcher reads input `port`: the producer's file on the mounted
            workspace (its path a param), or the list the helper step gathered."""
            return f"<{VALUES_PATH}/{port}" if reads[port] else f"<{MPI_SHARED_PATH}/$(params.{file_param(port)})"

        if not component.command:
            why = f"reads {', '.join(reads)} from the workspace" if reads else "checks its own condition"
            self.unsupported(task.span, f"step '{task.id}' {why}, which runs its command through a launcher; {where} "
                                        "gives no command (the image's entrypoint cannot be wrapped)",
                             hint="give the component a command")
        tokens: list[str] = [f"?{GUARD_FILE}"] if guarded else []
        for argument in component.command + component.args:
            for piece in argument:
                if isinstance(piece, ir.InputValue) and piece.name in reads:
                    tokens.append(source(piece.name))
                else:
                    tokens.append("=" + self.argument((piece,), task, where))
            tokens.append(".")
        for name, port in self.file_env(task, files).items():
            tokens += [source(port), f"@{name}"]
        return [*LAUNCHER_COMMAND, *tokens]

    def argument(self, argument: ir.Argument, task: ir.Task, where: str, label: str | None = None) -> str:
        """One argv entry (or env value, named by `label`): literal text kubelet-escaped,
        values as Tekton variables."""
        parts = []
        for piece in argument:
            if isinstance(piece, str):
                parts.append(kube_escape(self.step_text(piece, task.span, label or f"the command of {where}")))
            elif isinstance(piece, ir.EngineVariable):
                parts.append(self.engine_reference(piece, parts))
            elif isinstance(piece, ir.InputValue):
                parts.append(f"$(params.{piece.name})")
            elif isinstance(piece, ir.InputPath):
                parts.append(pod.input_path(piece.name))
            else:
                port = task.component.output(piece.name)
                if port is not None and self.is_result(task.component, port):
                    parts.append(f"$(results.{piece.name}.path)")
                else:
                    parts.append(pod.output_path(piece.name))
        return "".join(parts)

    @staticmethod
    def engine_reference(variable: ir.EngineVariable, before: list[str]) -> str:
        """An engine variable in a step's command, args or env value. `before`: the parts
        written so far; a `$` that ends them would make the kubelet read `$$(` as an escaped
        `$`, so it is doubled first."""
        if variable.name in RUN_CONTEXT_PARAMS:
            return f"$(params.{RUN_CONTEXT_PARAMS[variable.name][0]})"
        if variable.name == "task_id":
            return "$(context.taskRun.uid)"
        if before and before[-1].endswith("$"):
            before[-1] += "$"
        return f"$({POD_NAME_ENV})"

    def reads_pod_name(self, task: ir.Task) -> bool:
        """Whether the step needs POD_NAME_ENV: its command or args read the pod's name, or an
        env value holds it among other text."""
        component = task.component
        if "pod_name" not in self.engine_variables(component, task.settings):
            return False
        if any(_POD_NAME in argument for argument in component.command + component.args):
            return True
        return any(isinstance(variable.value, tuple) and len(variable.value) > 1
                   and _POD_NAME in variable.value for variable in task.settings.env)

    def retries(self, settings: ir.Settings) -> dict:
        return {"retries": settings.retries} if settings.retries > 0 else {}

    def timeout(self, settings: ir.Settings) -> dict:
        return {"timeout": duration(settings.timeout_seconds)} if settings.timeout_seconds else {}

    def resources(self, settings: ir.Settings) -> dict:
        return pod.resources(settings)

    def env(self, task: ir.Task) -> list[dict]:
        result = []
        if self.reads_pod_name(task):  # first: the kubelet expands $(NAME) only for names defined before
            result.append({"name": POD_NAME_ENV, "valueFrom": POD_NAME_SOURCE})
        for variable in task.settings.env:
            value = variable.value
            if isinstance(value, ir.SecretRef):
                result.append({"name": variable.name,
                               "valueFrom": {"secretKeyRef": {"name": value.secret, "key": value.key}}})
            elif isinstance(value, ir.InputValue):
                result.append({"name": variable.name, "value": f"$(params.{value.name})"})
            elif value == (ir.EngineVariable("pod_name"),):
                result.append({"name": variable.name, "valueFrom": POD_NAME_SOURCE})
            elif isinstance(value, tuple):
                result.append({"name": variable.name, "value": self.argument(
                    value, task, "", label=f"environment variable {variable.name}")})
            else:
                text = self.step_text(value, task.span, f"environment variable {variable.name}")
                result.append({"name": variable.name, "value": kube_escape(text)})
        return result

    def security(self, settings: ir.Settings) -> dict:
        return pod.security_context(settings)

    def pod_template(self, settings: ir.Settings) -> dict:
        template: dict = {}
        if settings.node_selector:
            template["nodeSelector"] = dict(settings.node_selector)
        tolerations = pod.tolerations(settings)
        if tolerations:
            template["tolerations"] = tolerations
        return template

    def mpi(self, task: ir.Task, name: str, files: tuple[tuple[str, bool], ...] = (), guard: str = "",
            items: tuple[str, ...] = ()) -> dict:
        """The spec of Task `name` for an MPI step: fill the values into the MPIJob manifest,
        create the job with kubectl and wait for it, then copy its int/float/bool outputs
        into results. `files`: (input, gathered) for the inputs read from the workspace (the
        manifest step reads them; the `treadle-values` step first gathers a loop's files into one list).
        `guard`: the Task checks its own condition first (a finally step), and every later
        step ends at once, successfully, unless it holds."""
        component, settings = task.component, task.settings
        reads = dict(files)
        gathers = any(reads.values())
        mpi_settings = settings.mpi
        where = f"the component '{component.name}'"
        values: list[str] = []  # the Tekton variables the manifest's marks refer to, by position

        def value(variable: str) -> int:
            if variable not in values:
                values.append(variable)
            return values.index(variable)

        def file_value(port: str) -> list[int]:
            """A mark for the text of the file input `port` reads (the manifest step reads it):
            the producer's file, or the list the `treadle-values` step gathered."""
            if reads[port]:
                return [value(f"{VALUES_PATH}/{port}")]
            return [value(f"{MPI_SHARED_PATH}/$(params.{file_param(port)})")]

        def joined(parts: list, kubelet: bool = False) -> dict | str:
            if all(isinstance(part, str) for part in parts):
                return "".join(parts)
            return {MPI_KUBE_MARK if kubelet else MPI_MARK: parts}

        def argument(argument: ir.Argument) -> dict | str:
            parts: list = []
            for piece in argument:
                if isinstance(piece, str):
                    parts.append(kube_escape(self.literal(piece, task.span, f"the command of {where}")))
                elif isinstance(piece, ir.InputValue) and piece.name in reads:
                    parts.append(file_value(piece.name))
                elif isinstance(piece, ir.InputValue):
                    parts.append(value(f"$(params.{piece.name})"))
                elif isinstance(piece, ir.InputPath):
                    parts.append(pod.input_path(piece.name))
                else:
                    parts.append(pod.output_path(piece.name))
            return joined(parts, kubelet=True)

        argv = [argument(a) for a in component.command] + [argument(a) for a in component.args]
        env = []
        for variable in settings.env:
            if isinstance(variable.value, ir.SecretRef):
                env.append({"name": variable.name, "valueFrom": {"secretKeyRef": {
                    "name": variable.value.secret, "key": variable.value.key}}})
            elif isinstance(variable.value, ir.InputValue) and variable.value.name in reads:
                env.append({"name": variable.name, "value": joined([file_value(variable.value.name)], kubelet=True)})
            elif isinstance(variable.value, ir.InputValue):
                position = value(f"$(params.{variable.value.name})")
                env.append({"name": variable.name, "value": joined([position], kubelet=True)})
            else:
                text = self.literal(variable.value, task.span, f"environment variable {variable.name}")
                env.append({"name": variable.name, "value": kube_escape(text)})
        mounts: list[dict] = []
        volumes: list[dict] = []
        if self.mpi_shares_workspace(task):
            claim = joined([value(f"$(workspaces.{MPI_SHARED_WORKSPACE}.claim)")])
            volumes.append({"name": pod.ARTIFACTS_VOLUME, "persistentVolumeClaim": {"claimName": claim}})
            for port in component.inputs:
                if port.type.is_artifact:
                    mounts.append({"name": pod.ARTIFACTS_VOLUME, "mountPath": pod.input_path(port.name),
                                   "subPath": joined([value(f"$(params.{mpi_input_param(port.name)})")]),
                                   "readOnly": True})
            if component.outputs:
                mounts.append({"name": pod.ARTIFACTS_VOLUME, "mountPath": pod.OUTPUTS_DIR,
                               "subPath": joined([value(f"$(params.{MPI_OUTPUTS_PARAM})")])})
        for volume in settings.volumes:
            mount = {"name": pod.volume_name(volume), "mountPath": volume.mount_path}
            if volume.read_only:
                mount["readOnly"] = True
            mounts.append(mount)
            volumes.append(pod.volume_source(volume))
        mpi_pod = mpijob.MpiPod(
            image=self.literal(component.image, task.span, f"the image of {where}"),
            resources=pod.resources(settings), env=env, volume_mounts=mounts, volumes=volumes,
            security_context=dict(pod.security_context(settings)), node_selector=dict(settings.node_selector),
            tolerations=pod.tolerations(settings), image_pull_policy=settings.image_pull_policy)
        manifest = mpijob.mpijob(component.name, mpi_settings.ranks, mpi_settings.slots_per_worker,
                                 mpi_settings.implementation, argv, mpi_pod, deadline_seconds=settings.timeout_seconds,
                                 labels={"app.kubernetes.io/managed-by": "treadle",
                                         PIPELINE_LABEL: dns_label(self.info.name),
                                         "treadle.dev/task-run": joined([value("$(context.taskRun.name)")])})
        # The programs are part of each step's command, which the kubelet expands: escaped.
        helper = helper_security()
        job_mount = Flow(name=MPI_JOB_VOLUME, mountPath=MPI_JOB_PATH)
        manifest_mounts = [job_mount]
        if gathers:
            manifest_mounts.append(Flow(name=VALUES_VOLUME, mountPath=VALUES_PATH, readOnly=True))
        steps = [
            {"name": "manifest", "image": CHECK_IMAGE, "command": ["python3", "-c", kube_escape(MPI_MANIFEST_PROGRAM)],
             "args": [MPI_MANIFEST_FILE, kube_escape(json.dumps(manifest, sort_keys=True, separators=(",", ":"))),
                      "$(POD_NAME)", "$(POD_UID)", *values],
             "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                     {"name": "POD_UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}}],
             "volumeMounts": manifest_mounts, "securityContext": helper},
            {"name": "mpijob", "image": self.kubectl_image,
             "command": ["sh", "-c", kube_escape(MPI_WAIT_SCRIPT), "sh", MPI_MANIFEST_FILE],
             "env": [{"name": "HOME", "value": MPI_JOB_PATH}],
             "volumeMounts": [job_mount], "securityContext": helper},
        ]
        results = [port for port in component.outputs if self.is_result(component, port)]
        if results:
            pairs = []
            for port in results:
                pairs += [f"{MPI_SHARED_PATH}/$(params.{MPI_OUTPUTS_PARAM})/{port.name}", f"$(results.{port.name}.path)"]
            steps.append({"name": "values", "image": CHECK_IMAGE, "command": ["python3", "-c", kube_escape(MPI_VALUES_PROGRAM)],
                          "args": pairs, "securityContext": helper})
        if guard:
            steps = [guarded(step) for step in steps]
        helper_params, helper_volumes, helper_steps = self.helper_parts(gathers, guard, items)
        steps = helper_steps + steps
        spec: dict = {}
        params = [described({"name": file_param(port.name) if port.name in reads else port.name, "type": "string"}, port)
                  for port in component.inputs if not port.type.is_artifact and not reads.get(port.name)]
        params += [{"name": mpi_input_param(port.name), "type": "string"}
                   for port in component.inputs if port.type.is_artifact]
        if component.outputs:
            params.append({"name": MPI_OUTPUTS_PARAM, "type": "string"})
        params += helper_params
        if params:
            spec["params"] = params
        if results:
            spec["results"] = [described({"name": port.name, "type": "string"}, port) for port in results]
        if self.mpi_shares_workspace(task) or reads or guard == "files":
            spec["workspaces"] = [SHARED_WORKSPACE_MOUNT]
        spec["volumes"] = [{"name": MPI_JOB_VOLUME, "emptyDir": {}}] + helper_volumes
        spec["steps"] = steps
        self.cache(task, name="", key=())
        return spec

    def cache(self, task: ir.Task, name: str, key: tuple) -> dict:
        """Tekton has no result cache: a step whose author wrote `cache = true` is told so;
        every step runs every time."""
        if task.settings.cache_asked and task.settings.deterministic:
            self.warning("B005", task.span, f"step '{task.id}' is not memoized: Tekton has no result cache")
        return {}


def gathered_steps(ordered: list[ir.Task], pipeline: ir.PipelineInfo) -> set[str]:
    """Loop steps whose outputs a step outside their loop reads (fan-in), or another loop
    iterates."""
    bindings = [binding for task in ordered for _, binding in task.arguments]
    bindings += [loop.items for loop in pipeline.loops]
    return {leaf.task for binding in bindings for leaf in ir.binding_leaves(binding)
            if isinstance(leaf, ir.TaskOutput) and leaf.gathered}


def nested(binding: ir.ListOf, leaf) -> list:
    """A list of unrolled outputs as nested lists, `leaf(output)` standing for each output."""
    return [nested(item, leaf) if isinstance(item, ir.ListOf) else leaf(item) for item in binding.items]


def result_names(component: ir.ComponentSpec) -> frozenset[str]:
    """The outputs that travel as Tekton results: values of a few bytes (int, float, bool)
    with a name Tekton accepts for a result (`x_` is a valid treadle name but not a result
    name), in declaration order while they fit in the termination message; the rest are
    files in the workspace, which readers read from there."""
    names = []
    budget = 0
    for port in component.outputs:
        if port.type.name in RESULT_TYPES and _RESULT_NAME.fullmatch(port.name):
            cost = len(port.name) + RESULT_OVERHEAD
            if budget + cost > RESULT_BUDGET:
                continue
            budget += cost
            names.append(port.name)
    return frozenset(names)


def known_combinations(loops: list[ir.Loop]) -> int:
    """How many combinations the literal lists of a matrix's loops make (lists known only at
    run time are counted by the task that reads them)."""
    known = 1
    for loop in loops:
        if isinstance(loop.items, ir.Const):
            known *= len(loop.items.value)
    return known


def file_param(port: str) -> str:
    """The param that gives a Task the workspace path of the file it reads for input `port`."""
    return f"treadle-file-{port}"


@lru_cache(maxsize=None)
def helper_security() -> dict:
    """The security context of treadle's helper steps: non-root (uid 65534) on images that
    run as root by default (one shared object)."""
    return pod.security_context(ir.Settings(security=ir.Security(run_as_user=CHECK_USER)))


def after_operands(node, count: int):
    """A check's shape with each item position (-1 - index) moved behind `count` operands."""
    if isinstance(node, list):
        return [after_operands(part, count) for part in node]
    if isinstance(node, int) and not isinstance(node, bool) and node < 0:
        return count - 1 - node
    return node


def guarded(step: dict) -> dict:
    """`step` run through the launcher, which ends it at once, successfully, unless the
    Task's condition holds (the check step wrote `true`); its command and args become
    the launcher's text tokens, unchanged (an array param's `[*]` cannot be one)."""
    tokens = [f"?{GUARD_FILE}"]
    for argument in step.get("command", []) + step.get("args", []):
        tokens += ["=" + argument, "."]
    result = {key: value for key, value in step.items() if key != "args"}
    result["command"] = [*LAUNCHER_COMMAND, *tokens]
    guard = Flow(name=GUARD_VOLUME, mountPath=GUARD_PATH, readOnly=True)
    result["volumeMounts"] = [*step.get("volumeMounts", []), guard]
    return result


def mpi_input_param(port: str) -> str:
    """The param through which an MPI step's Task learns the workspace folder of input `port`."""
    return f"treadle-input-{port}"


def input_workspace(port: str) -> str:
    """The workspace through which a Task reads its input artifact `port`."""
    return dns_label(f"input-{port}")


def duration(seconds: int) -> str:
    """Seconds as the Go duration text Tekton reads (`1h2m3s`)."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"


def _frozen(value):
    """A hashable stand-in for a list or dict of a Task spec that is equal only for content
    that the YAML writer writes the same (kinds of mapping and text included)."""
    if isinstance(value, dict):
        if set(map(type, value.values())) <= _TEXT:  # the usual case, checked without a call per item
            return (type(value),) + tuple(value.items())
        return (type(value),) + tuple((key, _frozen(item)) for key, item in value.items())
    if isinstance(value, list):
        if set(map(type, value)) <= _TEXT:
            return (type(value),) + tuple(value)
        return (type(value),) + tuple(_frozen(item) for item in value)
    return value if type(value) is str else (type(value), value)


_TEXT = {str}


def _document(kind: str, name: str, labels: dict, spec: dict) -> dict:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name, "labels": labels}, "spec": spec}


EMITTER = TektonEmitter  # the engine's emitter class, for what it asks of the optimizer


def emit(graph: nx.DiGraph, options: Options | None = None, document_names: dict | None = None) -> EmitResult:
    """Compile one pipeline; problems come back as diagnostics, never as exceptions."""
    return TektonEmitter(options, document_names).emit(graph)


def documents_near_limit(documents: list[dict], sizes: list[int] | None = None) -> list[tuple[str, int, str]]:
    """(what, JSON bytes, pipeline name) of each document near the API server's object limit."""
    return documents_over(documents, sizes, SIZE_WARNING)
