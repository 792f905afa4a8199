"""`treadle run` of a Kubeflow spec whose command reads engine variables: the local runner
gives the run's id and an attempt's name, and never serves such a step from its cache."""

from __future__ import annotations

from pathlib import Path

from treadle.backends.local.store import Store
from treadle.compiler.cli import main

from .kfp_helpers import STAMP_SPEC

PREFIX = 'out/$HOME $$ {x} "q"/'
QUOTED = PREFIX.replace('"', '\\"')
PIPELINE = f'''import "stamp.yaml" as stamp

pipeline p() {{
  s = stamp(prefix="{QUOTED}")
}}
'''


def _last_run() -> dict:
    store = Store(Path(".treadle") / "runs")
    try:
        run = store.runs()[-1]
        run["tasks"] = {task["key"]: task for task in store.tasks(run["id"])}
        return run
    finally:
        store.close()


def test_a_local_run_fills_in_the_run_id_and_the_pod_name(in_tmp, capsys, monkeypatch):
    monkeypatch.delenv("TREADLE_RUNS_DIR", raising=False)
    Path("stamp.yaml").write_text(STAMP_SPEC, encoding="utf-8")
    Path("main.treadle").write_text(PIPELINE, encoding="utf-8")
    runs = []
    for _ in range(2):
        assert main(["run", "main.treadle"]) == 0, capsys.readouterr()
        runs.append(_last_run())
    for run in runs:
        task = run["tasks"]["s"]
        pod = f"{run['id']}-s-1"
        assert task["status"] == "succeeded"  # the second run too: never from the cache
        assert task["outputs"] == {"stamp": f"{PREFIX}{run['id']}/{pod}:{run['id']}", "pod": pod}
    assert runs[0]["id"] != runs[1]["id"]
