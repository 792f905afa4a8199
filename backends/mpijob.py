"""The `kubeflow.org/v2beta1` MPIJob that runs an MPI step, for any engine.

The engine renders the container's argv, env, volumes and so on in its own syntax; this
module only shapes them into a launcher and its workers:
- the launcher runs `mpirun -n RANKS <command> <args>` on the component's image;
- the workers run the SSH server that mpirun reaches them through (mpi-operator's
  convention for non-root images: `/usr/sbin/sshd -De -f /home/mpiuser/.sshd_config`);
- `slotsPerWorker` ranks per worker, so RANKS / slots workers (rounded up).
The launcher's status says whether the step succeeded; workers never finish by themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .naming import LABEL_MAX, dns_label

API_VERSION = "kubeflow.org/v2beta1"
KIND = "MPIJob"
SSH_AUTH_MOUNT_PATH = "/home/mpiuser/.ssh"
WORKER_COMMAND = ["/usr/sbin/sshd"]
WORKER_ARGS = ["-De", "-f", "/home/mpiuser/.sshd_config"]
# Expressions over the MPIJob's status for an engine that waits on a resource: the launcher's
# replica status, never the workers'.
LAUNCHER_SUCCEEDED = "status.replicaStatuses.Launcher.succeeded > 0"
LAUNCHER_FAILED = "status.replicaStatuses.Launcher.failed > 0"
# A command that every MPI image holds and that returns at once, for a pod that only needs
# to exist on the step's image (the launcher runs `mpirun` from that image too).
PROBE_COMMAND = ["mpirun", "--version"]
# The API server completes a `generateName` with this many random characters.
GENERATED_SUFFIX = 5


@dataclass
class MpiPod:
    """What launcher and workers share, already in the engine's syntax."""

    image: str
    resources: dict = field(default_factory=dict)
    env: list[dict] = field(default_factory=list)
    volume_mounts: list[dict] = field(default_factory=list)
    volumes: list[dict] = field(default_factory=list)
    security_context: dict = field(default_factory=dict)
    node_selector: dict = field(default_factory=dict)
    tolerations: list[dict] = field(default_factory=list)
    image_pull_policy: str | None = None


def worker_count(ranks: int, slots_per_worker: int) -> int:
    return -(-ranks // slots_per_worker)


def generate_name(name: str, workers: int) -> str:
    """The job's `generateName`: `name` (shortened, with a hash, where needed) and a `-`.

    mpi-operator names the pods `<job>-launcher` and `<job>-worker-<i>` and refuses a job
    whose last worker's name is not a valid label (it only records an event, so the step
    would wait for its deadline); the job's own name is this prefix plus the random
    characters the API server adds."""
    room = LABEL_MAX - GENERATED_SUFFIX - max(len("-launcher"), len(f"-worker-{workers - 1}")) - 1
    return dns_label(name, room) + "-"


def mpijob(name: str, ranks: int, slots_per_worker: int, implementation: str, argv: list,
           pod: MpiPod, deadline_seconds: int | None = None, labels: dict | None = None) -> dict:
    """The MPIJob manifest, named after `name` (see `generate_name`). `argv` is the step's
    command and args (engine-rendered strings)."""
    run_policy: dict = {"cleanPodPolicy": "Running", "backoffLimit": 0}
    if deadline_seconds:
        run_policy["activeDeadlineSeconds"] = deadline_seconds
    workers = worker_count(ranks, slots_per_worker)
    metadata: dict = {"generateName": generate_name(name, workers)}
    if labels:
        metadata["labels"] = dict(labels)
    launcher = _container("launcher", pod, ["mpirun"], ["-n", str(ranks), *argv], with_resources=False)
    worker = _container("worker", pod, list(WORKER_COMMAND), list(WORKER_ARGS), with_resources=True)
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "spec": {
            "slotsPerWorker": slots_per_worker,
            "mpiImplementation": implementation,
            "sshAuthMountPath": SSH_AUTH_MOUNT_PATH,
            "runPolicy": run_policy,
            "mpiReplicaSpecs": {
                "Launcher": {"replicas": 1, "template": _pod_template(launcher, pod)},
                "Worker": {"replicas": workers, "template": _pod_template(worker, pod)},
            },
        },
    }


def _container(name: str, pod: MpiPod, command: list, args: list, with_resources: bool) -> dict:
    container: dict = {"name": name, "image": pod.image, "command": command, "args": args}
    if pod.image_pull_policy:
        container["imagePullPolicy"] = pod.image_pull_policy
    if pod.env:
        container["env"] = pod.env
    if with_resources and pod.resources:
        container["resources"] = pod.resources
    if pod.volume_mounts:
        container["volumeMounts"] = pod.volume_mounts
    if pod.security_context:
        container["securityContext"] = pod.security_context
    return container


def _pod_template(container: dict, pod: MpiPod) -> dict:
    spec: dict = {"containers": [container]}
    if pod.volumes:
        spec["volumes"] = pod.volumes
    if pod.node_selector:
        spec["nodeSelector"] = pod.node_selector
    if pod.tolerations:
        spec["tolerations"] = pod.tolerations
    return {"spec": spec}
