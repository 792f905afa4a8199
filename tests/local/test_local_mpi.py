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

SKLEARN = r'''
import "std/sklearn"

component keep(score: float) -> (kept: str) {
  image = "python:3.11-slim"
  command = ["python3", "-c", "import sys; open(sys.argv[2], 'w').write('kept ' + sys.argv[1])", score, kept]
}

pipeline iris(min_accuracy: float = 0.8) {
  data  = load_dataset(name="iris")
  parts = split(data=data.dataset, test_size=0.3, seed=1, stratify=true)
  rf    = forest(train=parts.train, n_estimators=12, seed=0)
  score = evaluate(model=rf.model, test=parts.test)
  if score.score >= min_accuracy {
    keep(score=score.score)
  }
}
'''


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


def test_runtime_components_end_to_end_at_two_ranks(treadle):
    source = treadle.write("iris.treadle", SKLEARN)
    code, out, err = treadle("run", source, "--parallelism", "2")
    assert code == 0, out + err
    run = treadle.last_run()
    score = run["tasks"]["score"]["outputs"]["score"]
    assert 0.8 <= score <= 1.0
    assert run["tasks"]["keep"]["outputs"] == {"kept": f"kept {score!r}"}
    folder = Path(".treadle/runs") / run["id"]
    model = joblib.load(folder / "rf" / "model")
    assert len(model.estimators_) == 12  # the trees grown on both ranks, gathered
    code, out, _ = treadle("runs", "show", run["id"])
    assert code == 0 and "score.metrics.accuracy" in out
