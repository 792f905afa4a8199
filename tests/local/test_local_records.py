"""`treadle runs` (list, show, compare) and `treadle graph` over recorded runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # local_helpers

from local_helpers import COMPONENTS  # noqa: E402

SCORED = COMPONENTS + r'''
component scored(x: int) -> (score: float, metrics: Metrics) {
  image = "python:3.11-slim"
  command = ["python3", "-c", """
    import json, sys
    x = int(sys.argv[1])
    open(sys.argv[2], 'w').write(str(x / 4))
    json.dump({"accuracy": x / 4, "n_samples": 100, "detail": {"f1": 0.5}}, open(sys.argv[3], 'w'))
    """, x, score, metrics]
}

pipeline scoring(x: int = 1, label: str = "same") {
  s = scored(x=x)
  for k in [1, 2] {
    term = add(x=k, y=x)
  }
  if s.score > 0.3 {
    emit(text=label)
  }
  finally {
    emit(text="end")
  }
}
'''


@pytest.fixture
def two_runs(treadle):
    source = treadle.write("scoring.treadle", SCORED)
    assert treadle("run", source)[0] == 0
    first = treadle.last_run()["id"]
    assert treadle("run", source, "-p", "x=2")[0] == 0
    second = treadle.last_run()["id"]
    return source, first, second


def test_runs_lists_and_shows(treadle, two_runs):
    _, first, second = two_runs
    code, out, _ = treadle("runs")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["RUN", "PIPELINE", "STATUS", "STARTED", "TIME", "PARAMETERS"]
    assert lines[1].startswith(first) and lines[2].startswith(second) and "x=2 label=same" in lines[2]
    listed = json.loads(treadle("runs", "--json")[1])["runs"]
    assert [run["id"] for run in listed] == [first, second]
    assert listed[1]["params"] == {"x": 2, "label": "same"} and listed[1]["status"] == "succeeded"

    code, out, _ = treadle("runs", "show", first)
    assert code == 0
    steps = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith(("s ", "term", "emit"))}
    assert steps["s"][:2] == ["succeeded", "1"] and steps["emit"][0] == "skipped"
    assert steps["term/1"][:2] == ["[2]", "succeeded"] and "z=3" in steps["term/1"]
    assert "s.metrics.detail.f1 = 0.5" in out
    shown = json.loads(treadle("runs", "show", first, "--json")[1])
    statuses = {task["key"]: task["status"] for task in shown["tasks"]}
    assert statuses == {"s": "succeeded", "term/0": "succeeded", "term/1": "succeeded", "emit": "skipped",
                        "emit_2": "succeeded"}
    assert treadle("runs", "show", "nope")[0] == 2


def test_compare_marks_what_differs(treadle, two_runs):
    _, first, second = two_runs
    code, out, _ = treadle("runs", "compare", first, second)
    assert code == 0
    rows = {tuple(line.split()[:3]) if line.startswith("*") else tuple(["="] + line.split()[:2]): line
            for line in out.splitlines()[2:] if line.strip() and "rows differ" not in line}
    assert ("*", "parameter", "x") in rows and ("=", "parameter", "label") in rows
    assert ("*", "metric", "s.metrics.accuracy") in rows and ("=", "metric", "s.metrics.n_samples") in rows
    assert ("*", "value", "s.score") in rows
    assert ("*", "value", "emit.out") in rows  # ran in the second run only
    compared = json.loads(treadle("runs", "compare", first, second, "--json")[1])
    by_name = {row["name"]: row for row in compared["rows"]}
    assert by_name["s.metrics.accuracy"] == {"kind": "metric", "name": "s.metrics.accuracy",
                                             "values": [0.25, 0.5], "differs": True}
    assert by_name["label"]["differs"] is False
    assert by_name["emit.out"]["values"] == [None, "same"]


def test_graph_formats_and_colours(treadle, two_runs, monkeypatch, tmp_path):
    source, first, _ = two_runs
    code, dot, _ = treadle("graph", source)
    assert code == 0 and dot.startswith('digraph "scoring" {')
    assert 'label="for k in [1, 2]"' in dot and 'label="finally"' in dot
    assert "if s.score > 0.3" in dot and "style=\"rounded,filled,dashed\"" in dot
    assert 's0 -> s2 [label="score"];' in dot
    assert "fillcolor=\"#" not in dot.split("\n", 3)[3]
    code, coloured, _ = treadle("graph", source, "--run", first)
    assert code == 0 and 'fillcolor="#e5e5e5"' in coloured and "2 succeeded" in coloured
    code, mermaid, _ = treadle("graph", source, "--format", "mermaid", "--run", first)
    assert code == 0 and mermaid.startswith("flowchart TD") and "classDef skipped" in mermaid
    assert 'subgraph g0["for k in [1, 2]"]' in mermaid
    treadle("graph", source, "-o", "picture.dot")
    assert Path("picture.dot").read_text() == dot
    empty = tmp_path / "no-programs"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    code, out, err = treadle("graph", source, "--format", "svg")
    assert code == 2 and out == "" and "needs Graphviz's `dot` program" in err and "--format mermaid" in err


def test_graph_svg_with_graphviz(treadle, two_runs):
    import shutil

    if shutil.which("dot") is None:
        pytest.skip("Graphviz is not installed here")
    source, first, _ = two_runs
    code, svg, _ = treadle("graph", source, "--format", "svg", "--run", first)
    assert code == 0 and "<svg" in svg
