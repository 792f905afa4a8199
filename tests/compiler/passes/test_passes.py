"""Each pass on its fixture file: input programs and the programs they become; the
docstring examples; the pass list's order; the CLI flags."""

from __future__ import annotations

import dataclasses
import doctest
import importlib
from pathlib import Path

import pytest

from treadle.compiler import ir
from treadle.compiler.passes import PASSES, Options, check_pass_order, optimize
from treadle.compiler.passes.describe import describe, pipeline_of
from treadle.compiler.passes.fold_constants import fold_constants
from treadle.compiler.passes.fuse_tasks import fuse_tasks
from treadle.compiler.passes.unroll_loops import unroll_loops

FIXTURES = Path(__file__).parent / "fixtures"
PASS_MODULES = ["unroll_loops", "fold_constants", "dead_tasks", "common_tasks", "reduce_edges"]
# `# options:` words and the Options field each sets: `unroll` asks for every loop unrolled.
OPTION_WORDS = {"fold_defaults": ("fold_defaults", True),
                "unroll": ("unroll", lambda graph: {loop.id for loop in ir.info(graph).loops})}


def _cases(name: str):
    """(title, params, options, input body, expected) of each case of a fixture file. The
    expected part is a body (after `# expected`) or, where the result has names no program
    can write (unrolled copies), the result's description (after `# expected text`)."""
    text = (FIXTURES / f"{name}.cases").read_text(encoding="utf-8")
    cases = []
    for chunk in text.split("# case: ")[1:]:
        title, _, rest = chunk.partition("\n")
        params, options, body_lines = "", Options(), []
        if "# expected text\n" in rest:
            source, _, text = rest.partition("# expected text\n")
            expected = ("text", text.strip("\n"))
        else:
            source, _, expected = rest.partition("# expected\n")
        for line in source.splitlines():
            if line.startswith("# params: "):
                params = line[len("# params: "):]
            elif line.startswith("# options: "):
                options = Options(**dict(OPTION_WORDS[word] for word in line[len("# options: "):].split()))
            else:
                body_lines.append(line)
        cases.append(pytest.param(params, options, "\n".join(body_lines), expected, id=title))
    return cases


def _pass(name: str):
    return getattr(importlib.import_module(f"treadle.compiler.passes.{name}"),
                   {"unroll_loops": "unroll_loops", "fold_constants": "fold_constants",
                    "dead_tasks": "eliminate_dead_tasks", "common_tasks": "eliminate_common_tasks",
                    "reduce_edges": "reduce_edges"}[name])


@pytest.mark.parametrize("name", PASS_MODULES)
def test_fixture_file_has_cases(name):
    assert len(_cases(name)) >= 4


@pytest.mark.parametrize("name,params,options,body,expected",
                         [pytest.param(name, *case.values, id=f"{name}: {case.id}")
                          for name in PASS_MODULES for case in _cases(name)])
def test_pass_fixture(name, params, options, body, expected):
    graph = pipeline_of(body, params)
    before = describe(graph)
    changes = []
    result = _pass(name)(graph, options, changes)
    assert ir.validate(result) == []
    if isinstance(expected, tuple):
        assert describe(result) == expected[1]
    else:
        assert describe(result) == describe(pipeline_of(expected, params))
    assert describe(graph) == before, "a pass changed the graph it was given"
    assert bool(changes) == (describe(result) != before)
    for change in changes:
        assert change.span.path == "example.treadle" and change.span.line > 0


def _fusion_cases():
    """Fusion's fixtures: the expected side is a description (and the refusals explained),
    since a fused step cannot be written in the language."""
    cases = []
    for params, options, body, expected in (case.values for case in _cases("fuse_tasks")):
        lines = [line.strip() for line in expected.splitlines() if line.strip()]
        refused = [line[len("# refused: "):] for line in lines if line.startswith("# refused: ")]
        described = "\n".join(line for line in lines if not line.startswith("#"))
        cases.append((params, body, described, refused))
    return [pytest.param(*case, id=case_id.id) for case, case_id in zip(cases, _cases("fuse_tasks"))]


def test_fusion_fixture_file_has_cases():
    assert len(_fusion_cases()) >= 4


@pytest.mark.parametrize("params,body,expected,refused", _fusion_cases())
def test_fusion_fixture(params, body, expected, refused):
    graph = pipeline_of(body, params)
    before = describe(graph)
    changes = []
    result = fuse_tasks(graph, Options(), changes)
    assert ir.validate(result) == []
    assert describe(result) == expected
    assert describe(graph) == before, "a pass changed the graph it was given"
    made = [change for change in changes if not change.refused]
    assert bool(made) == (describe(result) != before)
    said = [change.message for change in changes if change.refused]
    assert len(said) == len(refused) and all(any(text in message for message in said) for text in refused), said
    for change in changes:
        assert change.span.path == "example.treadle" and change.span.line > 0


@pytest.mark.parametrize("name", PASS_MODULES + ["fuse_tasks"])
def test_docstring_example(name):
    module = importlib.import_module(f"treadle.compiler.passes.{name}")
    failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert attempted > 0 and failed == 0


def test_every_pass_comes_after_what_it_needs():
    assert check_pass_order() == []
    assert check_pass_order(tuple(reversed(PASSES)))  # the check itself can fail


def _swapped(first: str, second: str) -> tuple:
    names = [p.name for p in PASSES]
    i, j = names.index(first), names.index(second)
    passes = list(PASSES)
    passes[i], passes[j] = passes[j], passes[i]
    return tuple(passes)


def test_folding_before_unrolling_is_refused():
    assert check_pass_order(_swapped("unroll-loops", "fold-constants")) == [
        "fold-constants needs unroll-loops before it"]


def test_unrolling_first_is_what_lets_folding_decide_a_copys_condition():
    """Why fold-constants needs unroll-loops: in the other order the copies keep conditions
    that are literal but undecided, and dead-step elimination keeps the copy that never runs."""
    graph = pipeline_of("  for n in [0, 1] {\n    if n > 0 {\n      show(x=n)\n    }\n  }")
    options = Options(unroll=OPTION_WORDS["unroll"][1])
    unrolled_first = fold_constants(unroll_loops(graph, options, []), options, [])
    folded_first = unroll_loops(fold_constants(graph, options, []), options, [])
    assert describe(unrolled_first) == "show-0 = show(x=0) if false\nshow-1 = show(x=1)"
    assert describe(folded_first) == "show-0 = show(x=0) if 0 > 0\nshow-1 = show(x=1) if 1 > 0"


@pytest.mark.parametrize("user,need", [(p.name, need) for p in PASSES for need in p.needs])
def test_moving_a_needed_pass_after_its_user_is_refused(user, need):
    needed = next(p for p in PASSES if p.name == need)
    rest = [p for p in PASSES if p is not needed]
    position = [p.name for p in rest].index(user) + 1
    moved = tuple(rest[:position] + [needed] + rest[position:])
    assert f"{user} needs {need} before it" in check_pass_order(moved)


def test_levels():
    graph = pipeline_of("  a = inc(x=1)\n  b = inc(x=1)\n  if false {\n    show(x=b.y)\n  }\n  show(x=a.y)")
    assert optimize(graph, 0).graph is graph
    result = optimize(graph, 1)
    assert [report.name for report in result.reports] == [p.name for p in PASSES if p.runs(1, Options())]
    assert "unroll-loops" not in [report.name for report in result.reports]  # no engine asked for it
    assert describe(result.graph) == "a = inc(x=1)\nshow_2 = show(x=a.y)"
    assert [report.name for report in optimize(graph, 2).reports] == [p.name for p in PASSES if p.runs(2, Options())]
    with pytest.raises(ValueError):
        optimize(graph, 7)


def test_a_long_chain_gets_a_short_name_and_broken_fused_steps_are_caught():
    lines = ["  first_step_of_a_long_chain = pack(x=1)"]
    previous = "first_step_of_a_long_chain.d"
    for i in range(1, 8):
        lines.append(f"  copy_number_{i} = repack(d={previous})")
        previous = f"copy_number_{i}.e"
    fused = fuse_tasks(pipeline_of("\n".join(lines)))
    (task,) = ir.tasks(fused)
    assert task.id == "first_step_of_a_long_chain+...+copy_number_7" and len(task.fused) == 8
    assert ir.validate(fused) == []
    step = task.fused[2]
    task.fused = task.fused[:2] + (dataclasses.replace(step, reads=((step.reads[0][0], 5, "e"),)),) + task.fused[3:]
    assert ir.validate(fused) == [f"{task.id}: step copy_number_2 reads output e of no earlier step"]


def test_repeated_compiles_keep_no_garbage_for_good():
    """The front end freezes what is alive when it ends (`gc.freeze`); graphs the passes
    dropped (reference cycles through networkx's cached views) must be gone by then, or
    every compile of a long-lived process (a GitOps tree, a benchmark) keeps them."""
    import gc

    from ...helpers import compile_text

    source = "\n".join(["component inc(x: int) -> (y: int) {", '  image = "alpine"',
                         '  command = ["sh", "-c", "echo $(( $0 + 1 )) > $1", x, y]', "  deterministic = true", "}",
                         "pipeline p() {"] + [f"  s{i} = inc(x={i % 7})" for i in range(60)] + ["}"])
    frozen = []
    for _ in range(4):
        graph = compile_text(source).pipelines["p"]
        assert optimize(graph, 1).graph.number_of_nodes() == 7  # the passes made new graphs
        frozen.append(gc.get_freeze_count())
    gc.unfreeze()
    assert frozen[1] == frozen[2] == frozen[3], frozen
