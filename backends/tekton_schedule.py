"""A pipeline `schedule` for Tekton, which has no scheduler of its own: a Kubernetes
`CronJob` whose job creates the PipelineRun with kubectl and waits until the run ends.

Why a CronJob and not Tekton Triggers: Triggers is a separate installation (an
EventListener service, interceptors), and a time schedule still needs something that
calls it; a CronJob needs nothing beyond Kubernetes. The documents:
- a ConfigMap holding the PipelineRun (with `generateName`, so every run gets its own name);
- a ServiceAccount for the job, a Role that may create and read PipelineRuns, and the
  RoleBinding between them (a ServiceAccount subject without a namespace is the binding's);
- the CronJob. Its job creates the run and polls its `Succeeded` condition until it is
  `True` or `False`, so `concurrencyPolicy: Forbid` skips a start while the previous run is
  still going (as the Argo backend's CronWorkflow does), and the job fails when the run
  fails. `backoffLimit: 0`: a retried job would start a second run.
"""

from __future__ import annotations

from ..compiler import ir
from . import argo_templates as pod
from .argo_values import kube_escape
from .naming import CRON_WORKFLOW_MAX
from .yaml_out import Flow, dump_documents

# Kubernetes names a CronJob's jobs NAME-<11 characters>, so the name may have 52 at most.
CRONJOB_MAX = CRON_WORKFLOW_MAX
RUN_FILE = "pipelinerun.yaml"
RUN_PATH = "/treadle/run"
HOME_PATH = "/treadle/home"  # kubectl's cache: the image's home may not be writable by the job's user
JOB_USER = 65534
POLL_SECONDS = 10
# $1: the PipelineRun manifest. No value is ever part of this text.
CREATE_AND_WAIT_SCRIPT = """set -u
run=$(kubectl create -f "$1" -o name) || exit 1
echo "created $run"
misses=0
while :; do
  if state=$(kubectl get "$run" -o 'jsonpath={.status.conditions[?(@.type=="Succeeded")].status}'); then
    misses=0
  else
    misses=$((misses + 1)); state=""
    if [ "$misses" -ge 12 ]; then echo "$run cannot be read"; exit 1; fi
  fi
  case "$state" in
    True) echo "$run succeeded"; exit 0 ;;
    False) echo "$run failed"; exit 1 ;;
  esac
  sleep %d
done
""" % POLL_SECONDS


def scheduled_run(run: dict) -> dict:
    """The PipelineRun as the CronJob creates it: `generateName` instead of a fixed name."""
    metadata = dict(run["metadata"])
    name = metadata.pop("name")
    return {"apiVersion": run["apiVersion"], "kind": run["kind"],
            "metadata": {"generateName": f"{name}-", **metadata}, "spec": run["spec"]}


def schedule_documents(run: dict, schedule: str, timezone: str | None, labels: dict, names, kubectl_image: str
                       ) -> list[dict]:
    """ConfigMap, ServiceAccount, Role, RoleBinding and CronJob that start `run` on `schedule`.
    `names(kind, wanted, limit)` gives each document a name unique among its kind."""
    base = run["metadata"]["name"]
    config_map = names("ConfigMap", f"{base}-run", None)
    account = names("ServiceAccount", f"{base}-scheduler", None)
    role = names("Role", f"{base}-scheduler", None)
    binding = names("RoleBinding", f"{base}-scheduler", None)
    cron = names("CronJob", base, CRONJOB_MAX)

    def metadata(name: str) -> dict:
        return {"name": name, "labels": dict(labels)}

    manifest = dump_documents([scheduled_run(run)])
    container = {
        "name": "create-run",
        "image": kubectl_image,
        "command": ["sh", "-c", kube_escape(CREATE_AND_WAIT_SCRIPT), "sh", f"{RUN_PATH}/{RUN_FILE}"],
        "env": [Flow(name="HOME", value=HOME_PATH)],
        "volumeMounts": [Flow(name="pipelinerun", mountPath=RUN_PATH, readOnly=True),
                         Flow(name="home", mountPath=HOME_PATH)],
        "securityContext": pod.security_context(ir.Settings(security=ir.Security(run_as_user=JOB_USER))),
    }
    cron_spec: dict = {"schedule": schedule}
    if timezone:
        cron_spec["timeZone"] = timezone
    cron_spec["concurrencyPolicy"] = "Forbid"
    cron_spec["jobTemplate"] = {"spec": {"backoffLimit": 0, "template": {
        "metadata": {"labels": dict(labels)},
        "spec": {"serviceAccountName": account, "restartPolicy": "Never", "containers": [container],
                 "volumes": [{"name": "pipelinerun", "configMap": {"name": config_map}},
                             {"name": "home", "emptyDir": {}}]}}}}
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(config_map), "data": {RUN_FILE: manifest}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(account)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": metadata(role),
         "rules": [{"apiGroups": ["tekton.dev"], "resources": ["pipelineruns"], "verbs": ["create", "get"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": metadata(binding),
         "subjects": [Flow(kind="ServiceAccount", name=account)],
         "roleRef": Flow(apiGroup="rbac.authorization.k8s.io", kind="Role", name=role)},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": metadata(cron), "spec": cron_spec},
    ]

