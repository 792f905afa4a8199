"""Tekton: a pipeline `schedule` becomes a CronJob that creates the PipelineRun and waits for
it; `parallelism` is a warning (Tekton cannot bound it)."""

from __future__ import annotations

import subprocess
import textwrap

import pytest
import yaml
from backend_helpers import compile_text, kubelet_expand, load_all
from kube_models import model_errors

from treadle.backends.base import Options
from treadle.backends.tekton_schedule import CREATE_AND_WAIT_SCRIPT
from treadle.compiler.cli import main

SOURCE = '''
component say(text: str) {
  image = "alpine:3.20"
  command = ["echo", text]
}
pipeline NAME(text: str = "hello") {
  schedule = "30 2 * * 1-5"
  SETTINGS
  a = say(text=text)
}
'''


def scheduled(name: str = "nightly", settings: str = "", options: Options | None = None):
    source = SOURCE.replace("NAME", name).replace("SETTINGS", settings)
    output, _ = compile_text(source, options, target="tekton")
    assert output.ok, [d.message for d in output.diagnostics]
    return load_all(output.text)


def by_kind(documents: list[dict]) -> dict[str, dict]:
    return {document["kind"]: document for document in documents}


def valid(document: dict, schema_errors) -> list[str]:
    if document["apiVersion"].startswith("tekton.dev/"):
        return schema_errors(document, strict=True)
    return model_errors(document)


@pytest.mark.parametrize("options", [Options(), Options(embedded=True)], ids=["refs", "embedded"])
def test_a_schedule_is_a_cronjob_that_creates_the_run(options, schema_errors):
    documents = scheduled(options=options)
    kinds = [document["kind"] for document in documents]
    expected = ["ConfigMap", "ServiceAccount", "Role", "RoleBinding", "CronJob"]
    assert kinds == (expected if options.embedded else ["Task", "Pipeline"] + expected)  # no run started now
    for document in documents:
        assert valid(document, schema_errors) == []
    docs = by_kind(documents)
    (run,) = yaml.safe_load_all(docs["ConfigMap"]["data"]["pipelinerun.yaml"])
    assert schema_errors(run, strict=True) == []
    assert run["kind"] == "PipelineRun" and run["metadata"]["generateName"] == "nightly-"
    assert "name" not in run["metadata"]
    assert run["spec"]["params"] == [{"name": "text", "value": "hello"}]
    assert ("pipelineSpec" in run["spec"]) == options.embedded
    cron = docs["CronJob"]["spec"]
    assert cron["schedule"] == "30 2 * * 1-5" and cron["concurrencyPolicy"] == "Forbid"
    job = cron["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0  # a retried job would start a second run
    pod = job["template"]["spec"]
    assert pod["serviceAccountName"] == docs["ServiceAccount"]["metadata"]["name"]
    assert pod["volumes"][0] == {"name": "pipelinerun", "configMap": {"name": docs["ConfigMap"]["metadata"]["name"]}}
    (container,) = pod["containers"]
    assert container["securityContext"]["runAsNonRoot"] is True
    assert docs["Role"]["rules"] == [{"apiGroups": ["tekton.dev"], "resources": ["pipelineruns"],
                                      "verbs": ["create", "get"]}]
    binding = docs["RoleBinding"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": docs["ServiceAccount"]["metadata"]["name"]}]
    assert binding["roleRef"]["name"] == docs["Role"]["metadata"]["name"]


def test_a_time_zone_and_a_long_name():
    name = "a_pipeline_with_a_name_that_is_much_longer_than_fifty_two"
    docs = by_kind(scheduled(name, settings='timezone = "Europe/Paris"'))
    assert docs["CronJob"]["spec"]["timeZone"] == "Europe/Paris"
    assert len(docs["CronJob"]["metadata"]["name"]) <= 52  # Kubernetes adds 11 characters per job
    for kind in ("ConfigMap", "ServiceAccount", "Role", "RoleBinding"):
        assert len(docs[kind]["metadata"]["name"]) <= 63


def test_the_kubectl_image_can_be_replaced(tmp_path, capsys):
    docs = by_kind(scheduled(options=Options(kubectl_image="registry.example/kubectl:1")))
    assert docs["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "registry.example/kubectl:1"
    source = tmp_path / "p.treadle"
    source.write_text(SOURCE.replace("NAME", "p").replace("SETTINGS", ""), encoding="utf-8")
    assert main(["compile", str(source), "--target", "tekton", "--kubectl-image", "k:2"]) == 0
    assert "image: k:2" in capsys.readouterr().out
    assert main(["compile", str(source), "--target", "argo", "--kubectl-image", "k:2"]) == 2


FAKE_KUBECTL = '''#!/bin/sh
# create: prints the run's name; get: prints the next state from the states file.
case "$1" in
  create) echo "pipelinerun.tekton.dev/nightly-x1" ;;
  get) state=$(head -n 1 "$STATES"); tail -n +2 "$STATES" > "$STATES.rest"; mv "$STATES.rest" "$STATES"
       [ "$state" = "error" ] && exit 1; printf '%s' "$state" ;;
esac
'''


@pytest.mark.parametrize("states,status", [(["Unknown", "", "True"], 0), (["Unknown", "False"], 1),
                                           (["error"] * 12, 1)])
def test_the_job_waits_for_the_run_and_fails_with_it(tmp_path, states, status):
    """The job's program under a kubectl that answers as the API server would."""
    (tmp_path / "kubectl").write_text(FAKE_KUBECTL)
    (tmp_path / "kubectl").chmod(0o755)
    (tmp_path / "sleep").write_text("#!/bin/sh\n")  # no waiting in the test
    (tmp_path / "sleep").chmod(0o755)
    (tmp_path / "states").write_text("\n".join(states) + "\n")
    docs = by_kind(scheduled())
    command = docs["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"]
    program = kubelet_expand(command[2], {})
    assert program == CREATE_AND_WAIT_SCRIPT
    run = subprocess.run(["sh", "-c", program, "sh", "run.yaml"], capture_output=True, text=True, cwd=tmp_path,
                         env={"PATH": f"{tmp_path}:/usr/bin:/bin", "STATES": str(tmp_path / "states")})
    assert run.returncode == status, run.stdout + run.stderr


def test_parallelism_is_a_warning_that_names_the_limit():
    source = textwrap.dedent('''
        component say(text: str) {
          image = "alpine:3.20"
          command = ["echo", text]
        }
        pipeline p() {
          parallelism = 2
          a = say(text="a")
          b = say(text="b")
        }
        ''')
    output, _ = compile_text(source, target="tekton")
    assert output.ok and [d.code for d in output.diagnostics] == ["B006"]
    assert "parallelism = 2" in output.diagnostics[0].message
    tasks = load_all(output.text)[1]["spec"]["tasks"]
    assert all("runAfter" not in task for task in tasks)  # nothing added that would change skipping
