"""Passes keep what a pipeline means. Generated pipelines of pure components (small Python
programs computing outputs from inputs) with duplicates, literal and parameter conditions,
loops (some under a condition), fan-in, `after` and `finally`; before and after optimizing
(with loops unrolled or not), the same steps with side effects run with the same inputs
under the same conditions (dataflow.py), no new work appears, and every order between the
steps that stay is kept.

At -O2 a fused step counts as the steps it holds, run in turn, and its launcher's argv
must give back each step's own command line. test_passes_runs.py runs the same programs
on the local runner before and after, at every level, and compares their outputs."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treadle.compiler import ir
from treadle.compiler.passes import Options, optimize

from ...helpers import compile_text
from .dataflow import launched, meaning, order, steps

IMAGE = '"python:3.12-slim"'
COMPONENTS = f'''
component inc(x: int = 0) -> (y: int) {{
  image = {IMAGE}
  command = ["python3", "-c", "import sys; open(sys.argv[2], 'w').write(str(int(sys.argv[1]) + 1))", x, y]
  deterministic = true
  side_effects = false
}}
component add(a: int, b: int = 1) -> (s: int) {{
  image = {IMAGE}
  command = ["python3", "-c", "import sys; open(sys.argv[3], 'w').write(str(int(sys.argv[1]) + int(sys.argv[2])))",
             a, b, s]
  deterministic = true
  side_effects = false
}}
component pack(x: int) -> (d: Dataset) {{
  image = {IMAGE}
  command = ["python3", "-c", "import sys; open(sys.argv[2], 'w').write(sys.argv[1])", x, d]
  deterministic = true
  side_effects = false
}}
component repack(d: Dataset) -> (e: Dataset) {{
  image = {IMAGE}
  command = ["python3", "-c", "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2])", d, e]
  deterministic = true
  side_effects = false
}}
component unpack(d: Dataset) -> (y: int) {{
  image = {IMAGE}
  command = ["python3", "-c", "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2])", d, y]
  deterministic = true
  side_effects = false
}}
component total(xs: list) -> (n: int) {{
  image = {IMAGE}
  command = ["python3", "-c",
             "import json, sys; open(sys.argv[2], 'w').write(str(sum(i * x for i, x in enumerate(json.loads(sys.argv[1]), 1))))",
             xs, n]
  deterministic = true
  side_effects = false
}}
component draw(x: int = 0) -> (y: int) {{
  image = {IMAGE}
  command = ["python3", "-c", "import random, sys; open(sys.argv[2], 'w').write(str(random.randint(0, 9)))", x, y]
}}
component record(x: int) -> (y: int) {{
  image = {IMAGE}
  command = ["python3", "-c", "import sys; print(sys.argv[1]); open(sys.argv[2], 'w').write(sys.argv[1])", x, y]
  deterministic = true
}}
component show(x: int) {{
  image = {IMAGE}
  command = ["python3", "-c", "import sys; print(sys.argv[1])", x]
}}
'''
INT_STEPS = {"inc": ("x", "y"), "draw": ("x", "y"), "record": ("x", "y"), "add": ("a", "s")}


@st.composite
def pipelines(draw, fan_in: bool = False):
    """Source text of a pipeline with parameters p (int) and flag (bool), and their defaults.
    `fan_in`: it starts with a loop over distinct items whose outputs a step reads after it
    (where item order shows)."""
    default_p = draw(st.integers(0, 2))
    default_flag = draw(st.booleans())
    ints: list[str] = ["p"]  # int expressions visible at the top level
    lists: list[str] = []  # fan-in lists
    steps: list[str] = []  # names others may run after
    lines: list[str] = []
    counter = 0
    if fan_in:
        items = draw(st.lists(st.integers(0, 5), min_size=2, max_size=3, unique=True))
        body = draw(st.sampled_from(["    s0 = inc(x=v0)", "    s0_p = pack(x=v0)\n    s0 = unpack(d=s0_p.d)"]))
        lines += [f"  for v0 in [{', '.join(map(str, items))}] {{\n{body}\n  }}", "  t0 = total(xs=s0.y)"]
        ints.append("t0.n")
        lists.append("s0.y")
        steps += ["s0", "t0"]

    def value(pool, prefer=None):
        if prefer is not None and draw(st.booleans()):  # a loop body mostly reads its item
            return prefer
        return draw(st.sampled_from([str(draw(st.integers(0, 2)))] + pool))

    def condition(pool):
        kind = draw(st.sampled_from(["literal", "param", "flag", "output", "mixed"]))
        if kind == "literal":
            return draw(st.sampled_from(["true", "false", "1 < 2", "2 == 3", "not (1 >= 1)"]))
        if kind == "param":
            return f"p {draw(st.sampled_from(['<', '>=', '==', '!=']))} {draw(st.integers(0, 2))}"
        if kind == "flag":
            return draw(st.sampled_from(["flag", "not flag"]))
        outputs = [expr for expr in pool if "." in expr]
        atom = f"{draw(st.sampled_from(outputs))} > 1" if outputs else "p > 0"
        return atom if kind == "output" else f"{atom} {draw(st.sampled_from(['and', 'or']))} " \
                                             f"{draw(st.sampled_from(['true', 'false', 'flag']))}"

    def call(name, pool, indent, prefer=None):
        component = draw(st.sampled_from(sorted(INT_STEPS) + ["pack", "pack", "show", "total"]))
        if component == "total" and not lists:
            component = "inc"
        elif lists and not indent.startswith("    ") and draw(st.integers(0, 2)) == 0:
            component = "total"  # a fan-in, often: its order is what unrolling must keep
        if component == "show":
            return f"{indent}{name} = show(x={value(pool, prefer)})", None
        if component == "total":
            return f"{indent}{name} = total(xs={draw(st.sampled_from(lists))})", f"{name}.n"
        if component == "pack":  # a chain of files (fusion's matter), one to three steps long
            text = f"{indent}{name}_p = pack(x={value(pool, prefer)})"
            file = f"{name}_p.d"
            if draw(st.booleans()):
                text += f"\n{indent}{name}_r = repack(d={file})"
                file = f"{name}_r.e"
            return text + f"\n{indent}{name} = unpack(d={file})", f"{name}.y"
        argument, output = INT_STEPS[component]
        text = f"{indent}{name} = {component}({argument}={value(pool, prefer)})"
        if component == "inc" and draw(st.booleans()):
            text = f"{indent}{name} = inc()"  # the default, equal to inc(x=0)
        return text, f"{name}.{output}"

    for _ in range(draw(st.integers(1, 10))):
        counter += 1
        name = f"s{counter}"
        shape = draw(st.sampled_from(["plain", "plain", "duplicate", "if", "for", "after"]))
        if shape == "duplicate" and lines:
            written = [line for line in lines if line.startswith("  s") and " = " in line and "\n" not in line
                       and "show(" not in line]
            if not written:
                continue
            text = f"  {name} = {draw(st.sampled_from(written)).split(' = ', 1)[1]}"
            lines.append(text)
            ints.append(f"{name}.{_output_of(text)}")
            steps.append(name)
        elif shape == "if":
            inside, produced = call(name, ints, "    ")
            lines.append(f"  if {condition(ints)} {{\n{inside}")
            if produced and draw(st.booleans()):
                lines[-1] += f"\n    show(x={produced})"
            lines[-1] += "\n  }"
        elif shape == "for":
            variable = f"v{counter}"
            items = draw(st.lists(st.integers(0, 2), min_size=1, max_size=3))
            inside, produced = call(name, ints + [variable], "    ", prefer=variable)
            guard = draw(st.sampled_from([None, f"{variable} > 0", "true", "p > 0"]))
            if guard:
                inside = f"    if {guard} {{\n" + "\n".join("  " + line for line in inside.split("\n")) + "\n    }"
            loop = f"  for {variable} in [{', '.join(map(str, items))}] {{\n{inside}\n  }}"
            around = draw(st.sampled_from([None, None, condition(ints)]))  # a condition on the whole loop
            if around:
                loop = f"  if {around} {{\n" + "\n".join("  " + line for line in loop.split("\n")) + "\n  }"
            lines.append(loop)
            if produced and guard is None and around is None:
                lists.append(produced)
                steps.append(name)
        else:
            text, produced = call(name, ints, "  ")
            if shape == "after" and steps:
                text += " after " + ", ".join(sorted(set(draw(st.lists(st.sampled_from(steps), min_size=1, max_size=3)))))
            lines.append(text)
            if produced:
                ints.append(produced)
                if produced.endswith(".n") and draw(st.booleans()):  # a fan-in's total, seen
                    lines.append(f"  show(x={produced})")
            steps.append(name)
    if draw(st.booleans()):
        lines.append(f"  show(x={value(ints)})")
    if draw(st.booleans()):  # finally steps read parameters and literals only
        lines.append(f"  finally {{\n    {draw(st.sampled_from(['show', 'record']))}(x={value(['p'])})\n  }}")
    signature = f"p: int = {default_p}, flag: bool = {'true' if default_flag else 'false'}"
    text = COMPONENTS + f"pipeline generated({signature}) {{\n" + "\n".join(lines) + "\n}\n"
    return text, {"p": default_p, "flag": default_flag}


def _output_of(text: str) -> str:
    component = text.split("=", 1)[1].strip().split("(")[0]
    return {"inc": "y", "draw": "y", "record": "y", "add": "s", "unpack": "y", "total": "n"}[component]


PARAMS = st.fixed_dictionaries({"p": st.integers(0, 2), "flag": st.booleans()})


def every_loop(graph) -> set[str]:
    """An engine's request to unroll whatever loop it can."""
    return {loop.id for loop in ir.info(graph).loops}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(pipelines(), PARAMS, st.booleans(), st.booleans())
def test_optimizing_keeps_the_dataflow(program, params, fold_defaults, unroll):
    text, defaults = program
    result = compile_text(text)
    errors = [f"{d.span}: {d.message}" for d in result.diagnostics if d.is_error]
    assert not errors, (text, errors)
    graph = result.pipelines["generated"]
    options = Options(fold_defaults=fold_defaults, unroll=every_loop if unroll else None)
    for level in (1, 2):  # -O2: fused steps run as the steps they hold
        _keeps_the_dataflow(text, graph, optimize(graph, level, options).graph, defaults, params, fold_defaults)


def _keeps_the_dataflow(text, graph, optimized, defaults, params, fold_defaults):
    assert ir.validate(optimized) == []
    runs = [defaults] if fold_defaults else [defaults, params]  # --fold-defaults: runs keep the defaults
    for values in runs:
        before, after = meaning(graph, values), meaning(optimized, values)
        assert after.effects == before.effects, text
        assert not (after.work - before.work), text  # nothing runs that did not run before
    for node in optimized:
        task = optimized.nodes[node]["task"]
        if task.fused:
            assert launched(task) == [_merged(step.component.command + step.component.args) for step in task.fused]
    kept = steps(optimized)
    assert order(graph) & {(a, b) for a in kept for b in kept} <= order(optimized), text


def _merged(arguments) -> tuple:
    """Arguments with adjacent texts joined (as the launcher's arguments hold them)."""
    result = []
    for argument in arguments:
        pieces = []
        for piece in argument:
            if isinstance(piece, str) and pieces and isinstance(pieces[-1], str):
                pieces[-1] += piece
            elif piece != "":
                pieces.append(piece)
        result.append(tuple(pieces))
    return tuple(result)
