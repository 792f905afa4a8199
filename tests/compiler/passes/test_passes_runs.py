"""Passes keep what a pipeline computes, checked by running it. The generated pipelines of
test_passes_properties (pure Python one-liners with conditions, loops, fan-in, `after` and
`finally`; `draw` made to compute instead of drawing, so that runs can be compared) run
on the local runner as written (-O0), at every other level, and with every loop unrolled.
Some (those with a condition on a parameter for it to decide) are optimized with
`--fold-defaults`, and all their runs then use the parameters' defaults: the only runs
that option promises to keep. Every step that still runs must finish as it did with the
same output values and files, and the steps with side effects must run with the same
inputs."""

from __future__ import annotations

import io
import itertools
from collections import Counter
from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from treadle.backends.local.executor import Options as RunOptions, Runner
from treadle.backends.local.plan import pipeline_values
from treadle.backends.local.store import Store
from treadle.backends.local.view import View
from treadle.compiler import ir
from treadle.compiler.passes import LEVELS, Options, optimize
from treadle.compiler.passes.describe import describe
from treadle.compiler.passes.fold_constants import fold_constants

from ...helpers import compile_text
from .test_passes_properties import PARAMS, every_loop, pipelines

RANDOM = "import random, sys; open(sys.argv[2], 'w').write(str(random.randint(0, 9)))"
# Still not declared deterministic (the optimizer must treat it as drawing anew), but it
# computes, so two runs can be compared.
COMPUTED = "import sys; open(sys.argv[2], 'w').write(str((int(sys.argv[1]) * 7 + 3) % 10))"
_RUNS = itertools.count()


def run(graph, params: dict, folder: Path) -> dict:
    """The finished instances of one run: (step as written, iteration) -> (status, outputs,
    the inputs of a step with side effects)."""
    store = Store(folder / f"runs-{next(_RUNS)}")
    info = ir.info(graph)
    run_id = store.new_run(info.name, "generated.treadle", str(folder), "", params, {})
    runner = Runner(graph, store, run_id, params,
                    RunOptions(parallelism=2, use_cache=False, cwd=str(folder), version="test", cores=2),
                    View(io.StringIO(), live=False, color=False))
    try:
        assert runner.run() in ("succeeded", "failed")
    finally:
        store.close()
    result = {}
    for (_, iteration), instance in runner.instances.items():
        task = instance.task
        done = instance.status in ("succeeded", "cached")
        # A fused task (-O2) stands for its steps: each step's outputs are the task's outputs
        # named by fused_port, its values the task's inputs it was given.
        steps = [(step.id, step.component, step.settings, lambda name, p=position: ir.fused_port(p, name),
                  dict(step.inputs)) for position, step in enumerate(task.fused)] or \
                [(task.id, task.component, task.settings, lambda name: name, None)]
        for step_id, component, step_settings, port_name, given in steps:
            outputs = {}
            for port in component.outputs:
                if done:
                    name = port_name(port.name)
                    path = instance.folder / name
                    outputs[port.name] = (path.read_bytes() if port.type.is_artifact and path.is_file()
                                          else instance.outputs.get(name))
            effect = None
            if step_settings.side_effects and instance.status == "succeeded":
                values = instance.values if given is None else {
                    name: instance.values[fused] for name, fused in given.items() if fused in instance.values}
                effect = (step_settings.deterministic, (component.name, tuple(
                    sorted((name, ir.render_value(value)) for name, value in values.items()))))
            result[written(step_id, iteration)] = (instance.status, outputs, effect)
    return result


def effects(run_result: dict) -> tuple[Counter, set]:
    """What the steps with side effects did: each run of a step that may draw anew counts;
    a deterministic one may run once for equal inputs (common-step elimination)."""
    drawn: Counter = Counter()
    computed = set()
    for _, _, effect in run_result.values():
        if effect is not None:
            deterministic, what = effect
            if deterministic:
                computed.add(what)
            else:
                drawn[what] += 1
    return drawn, computed


def written(step_id: str, iteration: tuple) -> tuple[str, tuple]:
    """A step's instance as the step and iteration written in the program: a copy of an
    unrolled loop body, STEP-I-J (step names hold no `-`), is its step in the iteration it
    was copied for."""
    step, *indices = step_id.split("-")
    return step, tuple(map(int, indices)) + iteration


def folds_a_default(graph) -> bool:
    """Whether `--fold-defaults` decides a condition that folding literals leaves: a
    generated pipeline without one would only repeat a run of the plain variants."""
    return describe(fold_constants(graph, Options(fold_defaults=True), [])) != describe(
        fold_constants(graph, Options(), []))


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.filter_too_much])
@given(pipelines(fan_in=True), PARAMS, st.booleans())
def test_running_the_optimized_pipeline_gives_the_same_outputs(tmp_path, program, params, fold_defaults):
    text, defaults = program
    assert RANDOM in text
    text = text.replace(RANDOM, COMPUTED)
    graph = compile_text(text).pipelines["generated"]
    if fold_defaults:  # a run given no parameter values, as `treadle run` without `-p` makes it
        assume(folds_a_default(graph))
        params, problems = pipeline_values(ir.info(graph), {})
        assert not problems and params == defaults, (problems, params, defaults)
    folder = tmp_path / f"example-{next(_RUNS)}"
    folder.mkdir()
    written_run = run(graph, params, folder)
    variants = [(level, None) for level in LEVELS if level > 0] + [(0, every_loop), (max(LEVELS), every_loop)]
    for level, unroll in variants:
        optimized = optimize(graph, level, Options(fold_defaults=fold_defaults, unroll=unroll)).graph
        optimized_run = run(optimized, params, folder)
        variant = (level, unroll is not None, fold_defaults)
        for key, (status, outputs, _) in optimized_run.items():
            if key not in written_run:  # a loop skipped whole makes no instances; its unrolled copies are skipped
                assert status == "skipped", (variant, key, text)
                continue
            assert (status, outputs) == written_run[key][:2], (variant, key, text)
        assert effects(optimized_run) == effects(written_run), (variant, text)


def test_a_fan_in_in_another_order_runs_differently(tmp_path):
    """What the property compares can differ: a fan-in list in the wrong order changes
    what the reader computes."""
    text = '''
component inc(x: int) -> (y: int) {
  image = "python:3.12-slim"
  command = ["python3", "-c", "import sys; open(sys.argv[2], 'w').write(str(int(sys.argv[1]) + 1))", x, y]
}
component first(xs: list) -> (y: int) {
  image = "python:3.12-slim"
  command = ["python3", "-c", "import json, sys; open(sys.argv[2], 'w').write(str(json.loads(sys.argv[1])[0]))",
             xs, y]
}
pipeline generated() {
  for n in [1, 2] {
    a = inc(x=n)
  }
  b = first(xs=a.y)
}
'''
    graph = compile_text(text).pipelines["generated"]
    unrolled = optimize(graph, 0, Options(unroll=every_loop)).graph
    ((name, items),) = unrolled.nodes["b"]["task"].arguments
    assert items == ir.ListOf((ir.TaskOutput("a-0", "y"), ir.TaskOutput("a-1", "y")))
    reversed_graph = ir.build_graph(ir.info(unrolled), [
        replace(task, arguments=((name, ir.ListOf(items.items[::-1])),)) if task.id == "b" else task
        for task in ir.tasks(unrolled)])
    assert run(graph, {}, tmp_path)[("b", ())][1] == {"y": 2}
    assert run(unrolled, {}, tmp_path)[("b", ())][1] == {"y": 2}
    assert run(reversed_graph, {}, tmp_path)[("b", ())][1] == {"y": 3}


def test_folded_defaults_hold_only_for_runs_that_keep_them(tmp_path):
    """Why the property runs `--fold-defaults` variants with the defaults: with another value
    the folded pipeline runs a step the written one skips."""
    text = '''
component inc(x: int) -> (y: int) {
  image = "python:3.12-slim"
  command = ["python3", "-c", "import sys; open(sys.argv[2], 'w').write(str(int(sys.argv[1]) + 1))", x, y]
}
pipeline generated(p: int = 2) {
  if p > 1 {
    a = inc(x=p)
  }
}
'''
    graph = compile_text(text).pipelines["generated"]
    folded = optimize(graph, 1, Options(fold_defaults=True)).graph
    defaults, _ = pipeline_values(ir.info(graph), {})
    assert run(folded, defaults, tmp_path)[("a", ())][:2] == run(graph, defaults, tmp_path)[("a", ())][:2] == (
        "succeeded", {"y": 3})
    assert run(graph, {"p": 0}, tmp_path)[("a", ())][0] == "skipped"
    assert run(folded, {"p": 0}, tmp_path)[("a", ())][:2] == ("succeeded", {"y": 1})
