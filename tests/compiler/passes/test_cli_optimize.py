"""`treadle compile -O0/-O1/-O2 --fold-defaults --explain`, and the golden files at the default level."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from treadle.compiler.cli import EXIT_OK, EXIT_USAGE, main
from treadle.compiler.passes.describe import EXAMPLE_COMPONENTS, FILE_COMPONENTS

from ...helpers import EXAMPLES

PIPELINE = EXAMPLE_COMPONENTS + '''pipeline demo(limit: int = 3) {
  a = inc(x=1)
  b = inc(x=1)
  if 2 > 3 {
    dead = show(x=a.y)
  }
  if limit > 2 {
    gated = show(x=b.y)
  }
  last = show(x=a.y) after a
}
'''
LINE = EXAMPLE_COMPONENTS.count("\n") + 1  # the pipeline's first line


def run(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _tasks(out: str) -> list[str]:
    (workflow,) = yaml.safe_load_all(out)
    (dag,) = [t for t in workflow["spec"]["templates"] if "dag" in t]
    return [task["name"] for task in dag["dag"]["tasks"]]


def test_levels_and_explain(in_tmp, capsys):
    Path("demo.treadle").write_text(PIPELINE, encoding="utf-8")
    code, out, err = run(["compile", "demo.treadle", "--target", "argo", "-O0"], capsys)
    assert code == EXIT_OK and err == ""
    assert _tasks(out) == ["a", "b", "dead", "gated", "last"]
    code, out, err = run(["compile", "demo.treadle", "--target", "argo", "--explain"], capsys)
    assert code == EXIT_OK
    assert _tasks(out) == ["a", "gated", "last"]
    assert f"demo.treadle:{LINE + 4}:5: step 'dead' removed: its condition never holds" in err
    assert (f"demo.treadle:{LINE + 2}:3: step 'b' removed: it computes what 'a' "
            f"(demo.treadle:{LINE + 1}:3) computes") in err
    assert f"demo.treadle:{LINE + 9}:3: step 'last': after 'a' dropped: it reads the outputs of 'a'" in err
    assert "result: 5 -> 3 steps" in err and f"YAML: {len(out.encode())} bytes" in err
    code, out, err = run(["compile", "demo.treadle", "--target", "tekton", "--fold-defaults", "--explain"], capsys)
    assert code == EXIT_OK
    assert "step 'gated' runs if limit > 2: folded to always" in err


LOOPS = EXAMPLE_COMPONENTS + '''pipeline loops(limit: int = 3) {
  for n in [1, 2] {
    a = inc(x=n)
    if n > 1 {
      show(x=a.y)
    }
  }
  b = count(xs=a.y)
}
'''


def _tekton_tasks(out: str) -> list[str]:
    pipeline = next(d for d in yaml.safe_load_all(out) if d["kind"] == "Pipeline")
    return [task["name"] for task in pipeline["spec"]["tasks"]]


def test_tekton_asks_for_unrolling_at_every_level_and_argo_does_not(in_tmp, capsys):
    Path("loops.treadle").write_text(LOOPS, encoding="utf-8")
    code, out, err = run(["compile", "loops.treadle", "--target", "tekton", "-O0", "--explain"], capsys)
    assert code == EXIT_OK
    assert f"loops.treadle:{LINE + 1}:3: loop over n unrolled: 2 copies of a, show" in err
    assert "unroll-loops: 1 change, 3 -> 5 steps" in err and "fold-constants" not in err
    # -O0: the copies' conditions on their item are literal comparisons, checked at run time.
    assert _tekton_tasks(out) == ["a-0", "check-show-0", "show-0", "a-1", "check-show-1", "show-1", "b"]
    code, out, err = run(["compile", "loops.treadle", "--target", "tekton", "--explain"], capsys)
    assert code == EXIT_OK and "unroll-loops: 1 change" in err
    assert f"loops.treadle:{LINE + 4}:7: step 'show-0' removed: its condition never holds" in err
    assert _tekton_tasks(out) == ["a-1", "show-1"]  # a-0 and b are pure and unused: gone too
    code, out, err = run(["compile", "loops.treadle", "--target", "argo", "-O0", "--explain"], capsys)
    assert code == EXIT_OK and "unroll-loops" not in err and "no passes run" in err


def test_unknown_level_is_a_usage_error(in_tmp, capsys):
    Path("demo.treadle").write_text(PIPELINE, encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["compile", "demo.treadle", "--target", "argo", "-O3"])
    assert exit_.value.code == EXIT_USAGE and "-O" in capsys.readouterr().err


@pytest.mark.parametrize("source", sorted(EXAMPLES.glob("*.treadle")), ids=lambda path: path.name)
def test_examples_golden_files_are_what_the_default_level_writes(source, capsys):
    code, out, _ = run(["compile", str(source), "--target", "argo"], capsys)
    assert code == EXIT_OK
    assert out == source.with_suffix(".argo.yaml").read_text(encoding="utf-8")


CHAIN = EXAMPLE_COMPONENTS + '''pipeline files() {
  a = pack(x=1)
  b = unpack(d=a.d)
  c = inc(x=b.y)
  show(x=c.y)
}
''' + FILE_COMPONENTS


def test_level_2_fuses_and_explains_each_refusal(in_tmp, capsys):
    Path("files.treadle").write_text(CHAIN, encoding="utf-8")
    code, out, err = run(["compile", "files.treadle", "--target", "argo", "-O2", "--explain"], capsys)
    assert code == EXIT_OK
    assert _tasks(out) == ["a-b", "c", "show"]
    assert "fuse-tasks: 1 change, 2 refused, 4 -> 3 steps" in err
    a, b, c, show = LINE + 1, LINE + 2, LINE + 3, LINE + 4
    assert f"files.treadle:{a}:3: steps 'a' ({a}:3), 'b' ({b}:3) fused into 'a+b': one pod runs them in turn" in err
    assert f"files.treadle:{c}:3: step 'c' not fused with 'b': it reads the value 'b.y'" in err
    assert f"files.treadle:{show}:3: step 'show' not fused with 'c': their settings differ (deterministic)" in err
    assert "4 -> 3 pods per run" in err
    code, out, err = run(["compile", "files.treadle", "--target", "tekton", "--explain"], capsys)
    assert code == EXIT_OK and "fuse" not in err and "refused" not in err and "pods" not in err


def test_explain_lists_twenty_refusals_and_counts_the_rest(in_tmp, capsys):
    """A chain of values refuses fusion at every link; the report stays short."""
    steps = "\n".join(f"  s{i} = inc(x={'s%d.y' % (i - 1) if i else '1'})" for i in range(30))
    (in_tmp / "chain.treadle").write_text(
        'component inc(x: int) -> (y: int) {\n  image = "python:3.12-slim"\n'
        '  command = ["python3", "-c", "import sys; open(sys.argv[2], \'w\').write(sys.argv[1])", x, y]\n}\n'
        f"pipeline chain() {{\n{steps}\n}}\n")
    code, _, err = run(["compile", "chain.treadle", "--target", "argo", "-O2", "--explain", "-o", "out.yaml"], capsys)
    assert code == 0, err
    assert "fuse-tasks: 0 changes, 29 refused" in err
    assert sum("not fused with" in line for line in err.splitlines()) == 20
    assert "    ... and 9 more refused, not shown" in err.splitlines()
