"""The runner as a separate process: `kill -9` in the middle of a run, then `--resume`;
Ctrl-C. A side-effect file counts how often each step ran."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from treadle.backends.local.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent))  # local_helpers

from local_helpers import COMPONENTS  # noqa: E402

PIPELINE = r'''
# Each call appends its name to counts.txt; `b` writes half its output, then waits while
# the file `hold` exists.
component step(name: str, before: str = "") -> (out: str) {
  image = "python:3.11-slim"
  command = ["python3", "-c", """
    import os, pathlib, sys, time
    name, before, out = sys.argv[1:4]
    with open("counts.txt", "a") as counts:
        counts.write(name + chr(10))
    if name == "b":
        pathlib.Path("b.pid").write_text(str(os.getpid()))
        with open(out, "w") as partial:
            partial.write("half")
            partial.flush()
            while os.path.exists("hold"):
                time.sleep(0.05)
            partial.write(" and the rest")
    else:
        pathlib.Path(out).write_text(before + name)
    """, name, before, out]
}

pipeline resumable() {
  a = step(name="a")
  b = step(name="b", before=a.out)
  c = step(name="c", before=b.out)
  d = step(name="d")
}
'''


def start_runner(folder: Path, *argv: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "treadle.compiler.cli", *argv], cwd=folder,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(condition, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def task_states(folder: Path) -> tuple[str, dict] | None:
    database = folder / ".treadle" / "runs"
    if not (database / "runs.db").exists():
        return None
    store = Store(database)
    try:
        runs = store.runs()
        if not runs:
            return None
        return runs[-1]["id"], {task["key"]: task for task in store.tasks(runs[-1]["id"])}
    finally:
        store.close()


def b_is_running(folder: Path):
    found = task_states(folder)
    if found and found[1].get("b", {}).get("status") == "running" and (folder / "b.pid").exists():
        return found
    return None


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_kill_9_then_resume_runs_no_succeeded_step_twice(in_tmp, treadle):
    (in_tmp / "p.treadle").write_text(PIPELINE)
    (in_tmp / "hold").write_text("")
    runner = start_runner(in_tmp, "run", "p.treadle", "--parallelism", "2")
    run_id, tasks = wait_for(lambda: b_is_running(in_tmp))
    wait_for(lambda: (task_states(in_tmp)[1]["d"]["status"] == "succeeded"))
    os.kill(runner.pid, signal.SIGKILL)
    runner.wait(10)
    runner.stdout.close()

    folder = in_tmp / ".treadle" / "runs" / run_id
    assert task_states(in_tmp)[1]["b"]["status"] == "running"
    store = Store(in_tmp / ".treadle" / "runs")
    assert store.run(run_id)["status"] == "stopped"  # its runner is gone
    store.close()
    # b is still writing, in its attempt's own folder: nothing where c would look for it
    orphan = int((in_tmp / "b.pid").read_text())
    assert alive(orphan)
    assert not (folder / "b" / "out").exists()
    assert (folder / "b" / ".attempt-1" / "out").read_text() == "half"

    (in_tmp / "hold").unlink()
    (in_tmp / "b.pid").unlink()
    code, out, err = treadle("run", "--resume", run_id)
    assert code == 0, out + err
    assert not alive(orphan), "the step the killed runner left running was not stopped"
    assert "resumed" in out
    assert sorted((in_tmp / "counts.txt").read_text().split()) == ["a", "b", "b", "c", "d"]
    run = treadle.last_run()
    assert run["id"] == run_id and run["status"] == "succeeded"
    assert run["tasks"]["c"]["outputs"] == {"out": "half and the restc"}
    assert run["tasks"]["b"]["attempts"] == 2
    assert not list(folder.rglob(".attempt-*"))


def test_ctrl_c_stops_the_steps_and_marks_the_run_interrupted(in_tmp, treadle):
    (in_tmp / "p.treadle").write_text(PIPELINE)
    (in_tmp / "hold").write_text("")
    runner = start_runner(in_tmp, "run", "p.treadle")
    # Signal once `d` is done too: a `d` still running would be interrupted and rerun on resume.
    run_id, _ = wait_for(lambda: (found := b_is_running(in_tmp)) and found[1].get("d", {}).get("status") == "succeeded"
                         and found)
    step = int((in_tmp / "b.pid").read_text())
    runner.send_signal(signal.SIGINT)
    output, _ = runner.communicate(timeout=30)
    assert runner.returncode == 130, output
    assert not alive(step)
    run_id, tasks = task_states(in_tmp)
    assert tasks["b"]["status"] == "interrupted" and tasks["a"]["status"] == "succeeded"
    store = Store(in_tmp / ".treadle" / "runs")
    assert store.run(run_id)["status"] == "interrupted"
    store.close()
    assert "interrupted" in output and "Traceback" not in output

    (in_tmp / "hold").unlink()
    code, out, _ = treadle("run", "--resume", run_id)
    assert code == 0
    assert sorted((in_tmp / "counts.txt").read_text().split()) == ["a", "b", "b", "c", "d"]
    code, out, _ = treadle("run", "--resume", run_id)
    assert code == 0 and "nothing to resume" in out


def test_resume_refuses_a_changed_pipeline(in_tmp, treadle):
    (in_tmp / "p.treadle").write_text(PIPELINE.replace('name="d"', 'name="e"').replace(
        'step(name="b", before=a.out)', 'step(name="x", before=a.out)'))
    failing = in_tmp / "p.treadle"
    failing.write_text(failing.read_text() + "\npipeline other() {\n  step(name=\"z\")\n}\n")
    code, _, _ = treadle("run", "p.treadle", "--pipeline", "resumable")
    assert code == 0
    run_id = treadle.last_run()["id"]
    failing.write_text(failing.read_text() + "\n# changed\n")
    store = Store(in_tmp / ".treadle" / "runs")
    store.set_run_status(run_id, "failed")
    store.close()
    code, _, err = treadle("run", "--resume", run_id)
    assert code == 2 and "changed since run" in err


LOOPED = COMPONENTS + r'''
component maybe(flag: str) -> (items: list[int]) {
  image = "python:3.11-slim"
  command = ["python3", "-c", "import os, sys; os.path.exists(sys.argv[1]) or sys.exit(1); open(sys.argv[2], 'w').write('[1, 2]')",
             flag, items]
}

pipeline looped() {
  made = maybe(flag="ready")
  for x in made.items {
    sq = square(x=x)
  }
}
'''


def test_resuming_a_failed_run_decides_its_loops_again(in_tmp, treadle):
    (in_tmp / "p.treadle").write_text(LOOPED)
    assert treadle("run", "p.treadle")[0] == 1
    run = treadle.last_run()
    assert {key: task["status"] for key, task in run["tasks"].items()} == {"made": "failed", "sq": "upstream-failed"}
    (in_tmp / "ready").write_text("")
    assert treadle("run", "--resume", run["id"])[0] == 0
    resumed = treadle.last_run()
    assert {key: (task["status"], task["outputs"]) for key, task in resumed["tasks"].items()} == {
        "made": ("succeeded", {"items": [1, 2]}), "sq/0": ("succeeded", {"y": 1}), "sq/1": ("succeeded", {"y": 4})}
    assert resumed["tasks"]["made"]["attempts"] == 2
