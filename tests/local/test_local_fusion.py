"""`treadle run -O2`: fused steps run in one process each (the launcher under `sh`) and the
run gives the outputs of the unfused run, file for file and value for value; a step that
fails inside a fused one fails it with its exit code (that the steps after it never start
is tested on the launcher itself, in tests/backends/test_fusion.py)."""

from __future__ import annotations

from pathlib import Path

from treadle.compiler import ir
from treadle.compiler.frontend import compile_sources
from treadle.compiler.passes import optimize
from treadle.compiler.source import SourceFile

SHELL = r'''
component write(text: str) -> (data: Dataset) {
  image = "alpine:3.20"
  command = ["sh", "-c", "printf '%s' \"$1\" > \"$2\"", "write", text, data]
}
component shout(data: Dataset, mark: str = "!") -> (loud: Dataset) {
  image = "alpine:3.20"
  command = ["sh", "-c", "tr a-z A-Z < \"$1\" > \"$2\" && printf '%s' \"$3\" >> \"$2\"", "shout", data, loud, mark]
}
component measure(data: Dataset) -> (size: int, text: str) {
  image = "alpine:3.20"
  command = ["sh", "-c", "wc -c < \"$1\" | tr -d ' ' > \"$2\" && cat \"$1\" > \"$3\"", "measure", data, size, text]
}
component check(data: Dataset, limit: int) -> (ok: Dataset) {
  image = "alpine:3.20"
  command = ["sh", "-c", "test \"$(wc -c < \"$1\")\" -le \"$2\" && cp \"$1\" \"$3\"", "check", data, limit, ok]
}
'''

PIPELINE = SHELL + r'''
pipeline files(word: str = "hello", limit: int = 100) {
  a = write(text=word)
  b = shout(data=a.data, mark="=!# $(x) {{y}}")
  c = measure(data=b.loud)
  for k in ["x", "yy"] {
    w = write(text=k)
    m = measure(data=w.data)
  }
  if c.size > 3 {
    d = write(text=c.text)
    e = check(data=d.data, limit=limit)
    f = measure(data=e.ok)
  }
}
'''
WORD = "$(echo no) 'q' \"d\" = ! #\nsecond line"


def _fused_names(path: Path) -> dict[str, list[str]]:
    """Fused step -> the steps it holds, for the pipeline at -O2."""
    result = compile_sources([SourceFile(str(path), path.read_text(encoding="utf-8"))])
    graph = optimize(result.pipelines["files"], 2).graph
    return {task.id: [step.id for step in task.fused] for task in ir.tasks(graph) if task.fused}


def _outputs(run: dict) -> dict[str, dict]:
    """Each step's outputs (a fused step's split back into its steps'): instance key ->
    {output: the file's bytes}, with the typed value the run recorded for output values."""
    folder = Path(".treadle/runs") / run["id"]
    found: dict[str, dict] = {}
    for key, task in run["tasks"].items():
        step, _, iteration = key.partition("/")
        for path in sorted((folder / key).iterdir()):
            if path.suffix == ".log":
                continue
            owner, name = step, path.name
            if "+" in step:
                position, _, name = name.partition("-")
                owner = step.split("+")[int(position[1:]) - 1]
            recorded = task["outputs"].get(path.name)
            found.setdefault(owner + ("/" + iteration if iteration else ""), {})[name] = (path.read_bytes(), recorded)
    return found


def test_a_fused_run_gives_the_outputs_of_the_unfused_run(treadle):
    source = treadle.write("files.treadle", PIPELINE)
    assert _fused_names(Path(source)) == {"a+b+c": ["a", "b", "c"], "w+m": ["w", "m"], "d+e+f": ["d", "e", "f"]}
    code, out, err = treadle("run", source, "-p", f"word={WORD}", "--no-cache")
    assert code == 0, out + err
    unfused = treadle.last_run()
    code, out, err = treadle("run", "-O2", source, "-p", f"word={WORD}", "--no-cache")
    assert code == 0, out + err
    fused = treadle.last_run()
    assert fused["options"]["optimize"] == 2
    assert sorted(fused["tasks"]) == ["a+b+c", "d+e+f", "w+m/0", "w+m/1"]
    expected = _outputs(unfused)
    assert _outputs(fused) == expected
    loud = (WORD.upper() + "=!# $(x) {{y}}").encode()
    assert expected["b"]["loud"] == (loud, None)
    assert expected["c"]["size"] == (b"%d\n" % len(loud), len(loud))
    assert expected["m/1"] == {"size": (b"2\n", 2), "text": (b"yy", "yy")}
    assert set(expected) == {"a", "b", "c", "w/0", "w/1", "m/0", "m/1", "d", "e", "f"}


def test_a_failing_step_fails_its_fused_step_and_stops_there(treadle):
    source = treadle.write("files.treadle", PIPELINE)
    code, out, err = treadle("run", "-O2", source, "-p", "limit=3", "--no-cache")
    assert code == 1, out + err
    run = treadle.last_run()
    assert run["status"] == "failed"
    assert run["tasks"]["d+e+f"]["status"] == "failed"
    folder = Path(".treadle/runs") / run["id"]
    assert run["tasks"]["d+e+f"]["exit_code"] == 1  # `check`'s own code (the launcher stops there)
    assert not (folder / "d+e+f").joinpath("s1-data").exists()  # a failed step publishes nothing
    assert (folder / "a+b+c" / "s3-size").is_file()
    # A resumed run keeps its level (and takes no other).
    code, _, err = treadle("run", "--resume", run["id"], "-O1")
    assert code == 2 and "-O" in err


def test_the_picture_of_a_fused_run_gives_each_step_its_fused_step_state(treadle):
    source = treadle.write("files.treadle", PIPELINE)
    code, out, err = treadle("run", "-O2", source, "--no-cache")
    assert code == 0, out + err
    code, out, err = treadle("graph", source, "--run", treadle.last_run()["id"], "--format", "mermaid")
    assert code == 0, err
    assert '"a: write<br/>succeeded"' in out
    assert "class s0,s1,s2,s3,s4,s5,s6,s7 succeeded" in out  # all eight steps as written
