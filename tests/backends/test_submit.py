"""`treadle submit` against a stand-in API server (kube_standin.py: no Kubernetes API
server can run here); the real kubernetes client talks HTTP to it through a kubeconfig."""

from __future__ import annotations

import socket

import pytest

from backend_helpers import run
from kube_standin import StandIn
from treadle.compiler.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE

SOURCE = ('component say(text: str) {\n  image = "alpine:3.20"\n  command = ["echo", text]\n}\n'
          'pipeline hello(greeting: str = "hi") {\n  first = say(text=greeting)\n'
          '  second = say(text="again") after first\n}\n')
APPLY = "application/apply-patch+yaml"


@pytest.fixture
def source(in_tmp):
    path = in_tmp / "hello.treadle"
    path.write_text(SOURCE)
    return path


@pytest.fixture
def standin():
    with StandIn() as server:
        yield server


def submit(standin, tmp_path, capsys, target, *extra):
    return run(["submit", "hello.treadle", "--target", target, "--kubeconfig", standin.kubeconfig(tmp_path),
                *extra], capsys)


def test_argo_creates_a_workflow_with_a_generated_name(source, standin, in_tmp, capsys):
    code, out, err = submit(standin, in_tmp, capsys, "argo")
    assert (code, out) == (EXIT_OK, "hello-x7k2p\n"), err
    assert "created Workflow hello-x7k2p in namespace ml" in err
    discovery, create = standin.requests
    assert (discovery.method, discovery.path) == ("GET", "/apis/argoproj.io/v1alpha1")
    assert (create.method, create.path) == ("POST", "/apis/argoproj.io/v1alpha1/namespaces/ml/workflows")
    assert create.query["fieldManager"] == ["treadle"]
    metadata = create.body["metadata"]
    assert metadata["generateName"] == "hello-" and "name" not in metadata
    assert metadata["annotations"]["treadle.dev/source"] == "hello.treadle"
    assert create.body["spec"]["entrypoint"] == "hello"


def test_tekton_applies_tasks_and_pipeline_then_creates_the_run(source, standin, in_tmp, capsys):
    code, out, err = submit(standin, in_tmp, capsys, "tekton", "--namespace", "team-a")
    assert (code, out) == (EXIT_OK, "hello-x7k2p\n"), err
    discovery, *applies, create = standin.requests
    assert discovery.path == "/apis/tekton.dev/v1"
    assert [(r.method, r.path) for r in applies] == [
        ("PATCH", "/apis/tekton.dev/v1/namespaces/team-a/tasks/hello-say"),
        ("PATCH", "/apis/tekton.dev/v1/namespaces/team-a/pipelines/hello")]
    for request in applies:
        assert request.content_type == APPLY
        assert request.query["fieldManager"] == ["treadle"] and request.query["force"] == ["true"]
    assert "applied Task hello-say" in err and "applied Pipeline hello" in err
    assert (create.method, create.path) == ("POST", "/apis/tekton.dev/v1/namespaces/team-a/pipelineruns")
    assert create.body["spec"]["pipelineRef"] == {"name": "hello"}
    assert create.body["metadata"]["generateName"] == "hello-"


def _argo_node(name, phase, started):
    return {"displayName": name, "name": f"hello-x7k2p.{name}", "type": "Pod", "phase": phase, "startedAt": started}


@pytest.mark.parametrize("outcome, code", [("Succeeded", EXIT_OK), ("Failed", EXIT_PROBLEMS)])
def test_argo_watch_shows_each_task_and_exits_with_the_outcome(source, standin, in_tmp, capsys, outcome, code):
    standin.script.watch_states = [
        {"phase": "Running", "nodes": {"a": _argo_node("first", "Running", "t1")}},
        {"phase": "Running", "nodes": {"a": _argo_node("first", "Succeeded", "t1"),
                                       "b": _argo_node("second", "Pending", "t2")}},
        {"phase": "Running", "nodes": {"a": _argo_node("first", "Succeeded", "t1"),
                                       "b": _argo_node("second", "Running", "t2")}},
        {"phase": outcome, "message": "" if outcome == "Succeeded" else "child 'second' failed",
         "nodes": {"a": _argo_node("first", "Succeeded", "t1"), "b": _argo_node("second", outcome, "t2")}},
    ]
    got, out, err = submit(standin, in_tmp, capsys, "argo", "--watch")
    assert got == code, err
    ending = "succeeded" if outcome == "Succeeded" else "failed: child 'second' failed"
    assert out.splitlines() == ["hello-x7k2p", "first: Running", "first: Succeeded", "second: Pending",
                                "second: Running", f"second: {outcome}", f"Workflow hello-x7k2p {ending}"]
    watch = standin.requests[-1]
    assert watch.query["watch"] == ["true"] and watch.query["fieldSelector"] == ["metadata.name=hello-x7k2p"]


def _condition(status, reason, message=""):
    return {"conditions": [{"type": "Succeeded", "status": status, "reason": reason, "message": message}]}


def _task_run(task, status, reason):
    return {"metadata": {"name": f"hello-x7k2p-{task}", "labels": {"tekton.dev/pipelineTask": task}},
            "status": _condition(status, reason)}


def test_tekton_watch_reads_the_task_runs(source, standin, in_tmp, capsys):
    standin.script.watch_states = [_condition("Unknown", "Running"), _condition("Unknown", "Running"),
                                   _condition("False", "Failed", "Tasks Completed: 2 (Failed: 1)")]
    standin.script.task_runs = [[_task_run("first", "Unknown", "Running")],
                                [_task_run("first", "True", "Succeeded"), _task_run("second", "Unknown", "Pending")],
                                [_task_run("first", "True", "Succeeded"), _task_run("second", "False", "Failed")]]
    code, out, err = submit(standin, in_tmp, capsys, "tekton", "--watch")
    assert code == EXIT_PROBLEMS, err
    assert out.splitlines() == ["hello-x7k2p", "first: Running", "first: Succeeded", "second: Pending",
                                "second: Failed", "PipelineRun hello-x7k2p failed: Failed: Tasks Completed: 2 (Failed: 1)"]
    lists = [r for r in standin.requests if r.path.endswith("/taskruns")]
    assert lists[0].query["labelSelector"] == ["tekton.dev/pipelineRun=hello-x7k2p"]


# ---------------------------------------------------------------- clear errors
def test_no_kubeconfig(source, in_tmp, capsys, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(in_tmp / "absent"))
    monkeypatch.setenv("HOME", str(in_tmp))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    code, out, err = run(["submit", "hello.treadle", "--target", "argo"], capsys)
    assert code == EXIT_PROBLEMS and out == ""
    assert "treadle: error: no Kubernetes configuration: no kubeconfig (KUBECONFIG or ~/.kube/config)" in err
    assert "Traceback" not in err


def test_unreachable_server(source, in_tmp, capsys):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kubeconfig = in_tmp / "kubeconfig"
    kubeconfig.write_text(
        '{"apiVersion": "v1", "kind": "Config", "current-context": "c", "clusters": [{"name": "c", "cluster": '
        f'{{"server": "http://127.0.0.1:{port}"}}}}], "users": [{{"name": "u", "user": {{}}}}], '
        '"contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}')
    code, out, err = run(["submit", "hello.treadle", "--target", "argo", "--kubeconfig", str(kubeconfig)], capsys)
    assert code == EXIT_PROBLEMS and out == ""
    assert "treadle: error: cannot reach the Kubernetes API server" in err and "Traceback" not in err


def test_engine_not_installed(source, standin, in_tmp, capsys):
    standin.script.installed = {"argoproj.io/v1alpha1"}
    code, out, err = submit(standin, in_tmp, capsys, "tekton")
    assert code == EXIT_PROBLEMS and out == ""
    assert ("treadle: error: Tekton Pipelines is not installed on this cluster: the server has no "
            "tekton.dev/v1 API") in err
    assert [r.method for r in standin.requests] == ["GET"]  # nothing created


def test_forbidden(source, standin, in_tmp, capsys):
    message = ('pipelines.tekton.dev "hello" is forbidden: User "dev" cannot patch resource "pipelines" in API '
               'group "tekton.dev" in the namespace "ml"')
    standin.script.failures[("PATCH", "pipelines")] = (403, "Forbidden", message)
    code, out, err = submit(standin, in_tmp, capsys, "tekton")
    assert code == EXIT_PROBLEMS and out == ""
    assert f"treadle: error: forbidden: {message}" in err
    assert "kubectl auth can-i patch pipelines.tekton.dev -n ml" in err
    assert not any(r.method == "POST" for r in standin.requests)  # no run after a failed apply


def test_invalid_object_shows_the_servers_message(source, standin, in_tmp, capsys):
    message = ('Workflow.argoproj.io "hello-" is invalid: spec.templates[0].name: Invalid value: "Hello": '
               "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters")
    standin.script.failures[("POST", "workflows")] = (422, "Invalid", message)
    code, out, err = submit(standin, in_tmp, capsys, "argo")
    assert code == EXIT_PROBLEMS and out == ""
    assert f"treadle: error: the server refused Workflow hello-... (422 Unprocessable Entity): {message}" in err


def test_usage(in_tmp, capsys):
    (in_tmp / "two.treadle").write_text(SOURCE + SOURCE.split("}\n", 1)[1].replace("hello", "bye"))
    code, _, err = run(["submit", "two.treadle", "--target", "argo"], capsys)
    assert code == EXIT_USAGE and "has 2 pipelines (hello, bye); choose one with --pipeline NAME" in err


def test_tekton_schedule_objects_are_not_applied_by_submit(in_tmp, standin, capsys):
    (in_tmp / "hello.treadle").write_text(SOURCE.replace('pipeline hello(greeting: str = "hi") {\n',
                                                          'pipeline hello(greeting: str = "hi") {\n'
                                                          '  schedule = "0 3 * * *"\n'))
    code, out, err = submit(standin, in_tmp, capsys, "tekton")
    assert code == EXIT_PROBLEMS and out == ""
    assert "CronJob" in err and "which treadle submit does not apply" in err and "kubectl apply -f" in err
    assert standin.requests == []  # refused before anything reached the cluster
