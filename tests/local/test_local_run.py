"""`treadle run` on pipelines of small real components: the values that flow through every
construct, failure and skip propagation, retries, timeouts, the cache, usage errors."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # local_helpers

from local_helpers import COMPONENTS  # noqa: E402

TRICKY = "$(echo no) {{x}} 'q' \"d\" \\ é\nnew line"

FLOWS = COMPONENTS + r'''
pipeline flows(n: int = 3, word: str = "w", log: str = "log.txt") {
  tricky = emit(text=word)
  made   = count(n=n)
  for x in made.items {
    sq = square(x=x)
  }
  squares = total(xs=sq.y)
  for a in [1, 2] {
    for b in [10, 20] {
      inner = add(x=a, y=b)
    }
    row = total(xs=inner.z)
  }
  grid = nested_total(xss=inner.z)
  file = make_file(text=word)
  back = read_file(data=file.data)
  with_env = env_echo(text=word)
  if squares.sum > 4 and word != "" {
    big = emit(text="big")
  } else {
    small = emit(text="small")
  }
  late = note(path=log, text="late") after back, small
  finally {
    note(path=log, text="finally")
  }
}
'''


def outputs(run: dict) -> dict:
    return {key: task["outputs"] for key, task in run["tasks"].items() if task["outputs"]}


def test_values_flow_through_every_construct(treadle):
    source = treadle.write("flows.treadle", FLOWS)
    code, out, err = treadle("run", source, "-p", f"word={TRICKY}", "--parallelism", "2")
    assert code == 0, out + err
    run = treadle.last_run()
    assert run["status"] == "succeeded" and run["params"] == {"n": 3, "word": TRICKY, "log": "log.txt"}
    values = outputs(run)
    assert values["tricky"] == {"out": TRICKY}  # byte for byte, nothing interpreted
    assert values["made"] == {"items": [0, 1, 2]}
    assert [values[f"sq/{i}"]["y"] for i in range(3)] == [0, 1, 4]  # typed, trailing newline dropped
    assert values["squares"] == {"sum": 5}
    assert [values[f"inner/{a}/{b}"]["z"] for a in range(2) for b in range(2)] == [11, 21, 12, 22]
    assert values["row/0"] == {"sum": 32} and values["row/1"] == {"sum": 34}
    assert values["grid"] == {"sum": 66, "shape": "[[11, 21], [12, 22]]"}  # fan-in over two loops
    assert values["back"] == {"text": TRICKY * 2}  # an artifact handed over as a path
    assert values["with_env"] == {"out": "hello|" + TRICKY}
    assert values["big"] == {"out": "big"}
    assert run["tasks"]["small"]["status"] == "skipped"
    assert run["tasks"]["late"]["status"] == "succeeded"  # `after` a skipped step still runs
    assert Path("log.txt").read_text() == "late\nfinally\n"
    assert "skipped         small" in out
    # files named after the outputs in folders named after the steps
    folder = Path(".treadle/runs") / run["id"]
    assert (folder / "file" / "data").read_text(encoding="utf-8") == TRICKY * 2
    assert (folder / "sq" / "2" / "y").read_text() == "4\n"
    assert not list(folder.rglob(".attempt-*"))


def test_else_branch_and_a_loop_over_an_empty_list(treadle):
    source = treadle.write("flows.treadle", FLOWS)
    code, out, err = treadle("run", source, "-p", "n=0", "--no-cache")
    assert code == 0, out + err
    run = treadle.last_run()
    values = outputs(run)
    assert values["squares"] == {"sum": 0} and values["small"] == {"out": "small"}
    assert run["tasks"]["big"]["status"] == "skipped"
    assert run["tasks"]["sq"]["status"] == "skipped" and "no items" in run["tasks"]["sq"]["message"]


FAILING = COMPONENTS + r'''
pipeline failing(log: str = "log.txt") {
  first  = emit(text="a")
  broken = fail(code=3) after first
  needs  = note(path=log, text="never") after broken
  later  = note(path=log, text="never either") after needs
  other  = emit(text="independent")
  chain  = read_file(data=made.data)
  made   = make_file(text=other.out)
  finally {
    note(path=log, text="finally ran")
  }
}
'''


def test_a_failure_fails_the_run_and_skips_what_depends_on_it(treadle):
    source = treadle.write("failing.treadle", FAILING)
    code, out, err = treadle("run", source)
    assert code == 1
    run = treadle.last_run()
    states = {key: task["status"] for key, task in run["tasks"].items()}
    assert states == {"first": "succeeded", "broken": "failed", "needs": "upstream-failed",
                      "later": "upstream-failed", "other": "succeeded", "made": "succeeded",
                      "chain": "succeeded", "note": "succeeded"}
    assert run["status"] == "failed"
    broken = run["tasks"]["broken"]
    assert broken["exit_code"] == 3 and broken["message"] == "exited with code 3"
    assert Path(broken["stderr"]).read_text() == "something went wrong\n"
    assert "| something went wrong" in out  # the last lines are shown
    assert Path("log.txt").read_text() == "finally ran\n"


RETRIES = COMPONENTS + r'''
component flaky(counter: str, succeed_at: int) -> (attempt: int) {
  image = "python:3.11-slim"
  command = ["python3", "-c", """
    import pathlib, sys
    counter = pathlib.Path(sys.argv[1])
    attempt = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempt))
    open(sys.argv[3], 'w').write(str(attempt))
    sys.exit(0 if attempt >= int(sys.argv[2]) else 1)
    """, counter, succeed_at, attempt]
  retries = 2
}

component sleepy(pid_file: str) {
  image = "python:3.11-slim"
  command = ["sh", "-c", "sleep 30 & echo $! > \"$1\"; wait", "sh", pid_file]
  timeout = "1s"
}

pipeline retried() {
  works = flaky(counter="works.count", succeed_at=3)
  gives_up = flaky(counter="gives_up.count", succeed_at=5)
  slow = sleepy(pid_file="child.pid")
}
'''


def test_retries_and_timeouts(treadle):
    source = treadle.write("retried.treadle", RETRIES)
    started = time.monotonic()
    code, out, err = treadle("run", source, "--parallelism", "3")
    assert time.monotonic() - started < 20
    assert code == 1
    run = treadle.last_run()
    works, gives_up, slow = (run["tasks"][key] for key in ("works", "gives_up", "slow"))
    assert works["status"] == "succeeded" and works["attempts"] == 3 and works["outputs"] == {"attempt": 3}
    assert gives_up["status"] == "failed" and gives_up["attempts"] == 3  # 1 + 2 retries
    assert Path("gives_up.count").read_text() == "3"
    folder = Path(gives_up["stdout"]).parent
    assert sorted(p.name for p in folder.iterdir()) == ["stderr.attempt1.log", "stderr.attempt2.log", "stderr.log",
                                                        "stdout.attempt1.log", "stdout.attempt2.log", "stdout.log"]
    assert slow["status"] == "failed" and slow["message"] == "timed out after 1s"
    child = int(Path("child.pid").read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the task's process group was not killed"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


CACHED = COMPONENTS + r'''
component once(path: str, text: str) -> (out: str) {
  image = "python:3.11-slim"
  command = ["python3", "-c", "import sys; open(sys.argv[1], 'a').write(sys.argv[2] + chr(10)); open(sys.argv[3], 'w').write(sys.argv[2])",
             path, text, out]
}

component uncached(path: str) {
  image = "python:3.11-slim"
  command = ["python3", "-c", "import sys; open(sys.argv[1], 'a').write('uncached' + chr(10))", path]
  cache = false
}

pipeline cached(word: str = "a", other: str = "b") {
  file = make_file(text=word)
  back = read_file(data=file.data)
  side = once(path="ran.txt", text=back.text)
  independent = once(path="ran.txt", text=other)
  uncached(path="ran.txt")
}
'''


def test_cache_hits_and_misses(treadle):
    source = treadle.write("cached.treadle", CACHED)
    assert treadle("run", source)[0] == 0
    assert sorted(Path("ran.txt").read_text().split()) == ["aa", "b", "uncached"]
    first = treadle.last_run()

    code, out, _ = treadle("run", source)
    assert code == 0
    second = treadle.last_run()
    assert {key: task["status"] for key, task in second["tasks"].items()} == {
        "file": "cached", "back": "cached", "side": "cached", "independent": "cached", "uncached": "succeeded"}
    assert outputs(second) == outputs(first)
    assert (Path(".treadle/runs") / second["id"] / "file" / "data").read_text() == "aa"
    assert "cached          side" in out
    assert sorted(Path("ran.txt").read_text().split()) == ["aa", "b", "uncached", "uncached"]

    # a new value for `word` changes the artifact, so everything downstream runs again
    assert treadle("run", source, "-p", "word=c")[0] == 0
    third = treadle.last_run()
    assert {key: task["status"] for key, task in third["tasks"].items()} == {
        "file": "succeeded", "back": "succeeded", "side": "succeeded", "independent": "cached",
        "uncached": "succeeded"}

    assert treadle("run", source, "--no-cache")[0] == 0
    assert {task["status"] for task in treadle.last_run()["tasks"].values()} == {"succeeded"}


def test_same_artifact_content_from_a_different_step_is_a_hit(treadle):
    """The key holds the artifact's content, not where it came from."""
    source = treadle.write("cached.treadle", CACHED)
    assert treadle("run", source, "-p", "word=x")[0] == 0
    run = treadle.last_run()
    os.remove(Path(".treadle/runs") / run["id"] / "file" / "data")  # an earlier result whose files are gone
    assert treadle("run", source, "-p", "word=x")[0] == 0
    states = {key: task["status"] for key, task in treadle.last_run()["tasks"].items()}
    assert states["file"] == "succeeded" and states["back"] == "cached"


def test_usage_errors(treadle):
    source = treadle.write("flows.treadle", FLOWS)
    code, _, err = treadle("run", source, "-p", "n=three")
    assert code == 2 and "-p n is declared int but holds 'three'" in err
    code, _, err = treadle("run", source, "-p", "nope=1")
    assert code == 2 and "has no parameter 'nope' (parameters: n, word, log)" in err
    code, _, err = treadle("run", source, "--pipeline", "other")
    assert code == 2 and "has no pipeline 'other' (pipelines: flows)" in err
    code, _, err = treadle("run", "missing.treadle")
    assert code == 2 and "cannot read missing.treadle" in err
    code, _, err = treadle("run", "--resume", "nothing-here")
    assert code == 2 and "no run nothing-here" in err
    code, _, err = treadle("run")
    assert code == 2 and "give a .treadle file" in err
    bad = treadle.write("bad.treadle", "pipeline p() {\n  x = nothing()\n}\n")
    code, _, err = treadle("run", bad)
    assert code == 1 and "bad.treadle:2:" in err
    assert not Path(".treadle/runs/runs.db").exists() or treadle.store().runs() == []


def test_a_missing_program_fails_its_step_naming_program_and_component(treadle):
    source = treadle.write("missing.treadle", r'''
component ghost() -> (out: str) {
  image = "somewhere/ghost:1"
  command = ["treadle-no-such-program", "--go", out]
}
pipeline p() {
  ghost()
}
''')
    code, out, _ = treadle("run", source)
    assert code == 1
    message = treadle.last_run()["tasks"]["ghost"]["message"]
    assert message.startswith("program 'treadle-no-such-program' of component 'ghost' was not found")
    assert "program 'treadle-no-such-program' of component 'ghost' was not found" in out


def test_runs_dir_option_and_environment_variable(treadle, monkeypatch):
    source = treadle.write("flows.treadle", FLOWS)
    assert treadle("run", source, "--runs-dir", "elsewhere")[0] == 0
    assert (Path("elsewhere") / "runs.db").exists() and not Path(".treadle").exists()
    monkeypatch.setenv("TREADLE_RUNS_DIR", "elsewhere")
    code, out, _ = treadle("runs", "--json")
    listed = json.loads(out)["runs"]
    assert code == 0 and len(listed) == 1 and listed[0]["status"] == "succeeded"
    run_id = listed[0]["id"]
    assert (Path("elsewhere") / run_id / "squares" / "sum").read_text() == "5"
    code, out, _ = treadle("graph", source, "--run", run_id)
    assert code == 0 and "#b7e4c7" in out


TIMED = COMPONENTS + r'''
component nap(seconds: int) {
  image = "busybox"
  command = ["sleep", seconds]
}

pipeline timed(log: str = "log.txt") {
  timeout = "1s"
  slow = nap(seconds=30)
  next = note(path=log, text="never") after slow
  finally {
    note(path=log, text="finally ran")
  }
}
'''


def test_the_pipeline_timeout_stops_the_run_and_finally_still_runs(treadle):
    source = treadle.write("timed.treadle", TIMED)
    started = time.monotonic()
    code, out, _ = treadle("run", source)
    assert code == 1 and time.monotonic() - started < 15
    run = treadle.last_run()
    assert run["status"] == "failed"
    assert run["tasks"]["slow"]["status"] == "failed"
    assert run["tasks"]["slow"]["message"] == "stopped: the pipeline's timeout passed"
    assert run["tasks"]["next"]["status"] == "upstream-failed"
    assert Path("log.txt").read_text() == "finally ran\n"
    assert "the pipeline's timeout (1s) passed" in out
