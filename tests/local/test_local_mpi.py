"""MPI steps under the real `mpiexec` of the mpich wheel: two ranks, the cap on ranks, and
the runtime's components end to end."""

from __future__ import annotations

import os
from pathlib import Path

import joblib

RANKS = r'''
# Every rank writes a file named after its rank and the world size into one folder.
component ranks(tag: str) -> (seen: Artifact) {
  image = "python:3.11-slim"
  command = ["python3", "-c", """
    import os, pathlib, sys
    folder = pathlib.Path(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{sys.argv[1]}-{os.environ['PMI_RANK']}-of-{os.environ['PMI_SIZE']}").write_text("")
    """, tag, seen]
  mpi { ranks = 2 }
}

pipeline ranked() {
  two  = ranks(tag="two")
  many = ranks(tag="many") with { mpi { ranks = 64 } }
}
'''

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_mpi_steps_run_on_their_ranks_capped_to_the_cores(treadle):
    source = treadle.write("ranked.treadle", RANKS)
    code, out, err = treadle("run", source)
    assert code == 0, out + err
    run = treadle.last_run()
    folder = Path(".treadle/runs") / run["id"]
    assert sorted(p.name for p in (folder / "two" / "seen").iterdir()) == ["two-0-of-2", "two-1-of-2"]
    cores = len(os.sched_getaffinity(0))
    assert len(list((folder / "many" / "seen").iterdir())) == min(64, cores)
    assert f"step 'many' asks for 64 MPI ranks; this machine has {cores} cores, so it runs on {cores}" in out


def test_the_readme_example_end_to_end_with_runtime_components_on_two_ranks(treadle):
    """examples/digits.treadle, as the README's first command runs it (fewer trees)."""
    code, out, err = treadle("run", EXAMPLES / "digits.treadle", "-p", "n_estimators=20")
    assert code == 0, out + err
    run = treadle.last_run()
    tasks = run["tasks"]
    score = tasks["score"]["outputs"]["score"]
    assert 0.8 <= score <= 1.0
    checked = [tasks[f"checked/{index}"]["outputs"]["score"] for index in range(3)]
    assert [tasks[f"checked/{index}"]["items"] for index in range(3)] == [[11], [22], [33]]
    assert tasks["spread"]["outputs"] == {"best": max(checked), "index": checked.index(max(checked))}
    location = Path(tasks["publish"]["outputs"]["location"])
    assert location == (Path("published") / "digits" / "model.joblib").resolve() and location.is_file()
    assert tasks["notify"]["status"] == "succeeded"
    assert (Path(tasks["notify"]["stdout"])).read_text() == "digits pipeline finished\n"
    folder = Path(".treadle/runs") / run["id"]
    assert len(joblib.load(folder / "rf" / "model").estimators_) == 20  # grown on two ranks, gathered
    assert len(joblib.load(folder / "variant" / "1" / "model").estimators_) == 50
    code, out, _ = treadle("runs", "show", run["id"])
    assert code == 0 and "score.metrics.accuracy" in out
