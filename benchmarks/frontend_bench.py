"""Front-end speed: generated programs of N steps, parse + check + lower, in one process.

Run: python benchmarks/frontend_bench.py [--sizes 1000 10000] [--repeat 5] [--min-seconds 3]

Prints the median time per size (at least --repeat runs, more for small sizes), per stage,
and the growth from the smallest size to the largest (linear growth is 10x from 1,000 to
10,000 steps).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

from treadle.compiler.diagnostics import Diagnostics
from treadle.compiler.frontend import compile_sources
from treadle.compiler.lower import lower_pipeline
from treadle.compiler.parser import parse, parse_loops
from treadle.compiler.resolve import load_program
from treadle.compiler.source import SourceFile
from treadle.compiler.typecheck import check_program

COMPONENTS = 20


def generate(steps: int) -> str:
    """A pipeline shaped like real ones: steps read one or two earlier outputs and a
    parameter, one in ten sits under a condition, one in twenty in a loop."""
    lines = []
    for index in range(COMPONENTS):
        lines.append(
            f"component c{index}(data: Dataset, rate: float = 0.5, label: str = \"x\") -> (out: Dataset, score: float) {{\n"
            f"  image = \"registry.example/c{index}:1\"\n"
            f"  command = [\"run\", \"--data\", data, \"--rate\", rate, \"--label\", label, \"--out\", out, \"--score\", score]\n"
            f"  retries = 1\n"
            f"  resources {{ cpu = \"500m\", memory = \"1Gi\" }}\n"
            f"}}\n")
    lines.append("component source() -> (out: Dataset, score: float) {\n  image = \"registry.example/source:1\"\n"
                 "  command = [\"source\", out, score]\n}\n")
    lines.append("pipeline generated(rate: float = 0.1, threshold: float = 0.5, label: str = \"run\") {")
    lines.append("  s0 = source()")
    for index in range(1, steps):
        component = f"c{index % COMPONENTS}"
        previous = f"s{index - 1}"
        if index % 10 == 5:
            lines.append(f"  if {previous}.score > threshold {{\n    s{index} = {component}(data={previous}.out, rate=rate)\n  }}")
            lines.append(f"  # the next step reads the one before the condition")
            continue
        reader = f"s{index - 2}" if index % 10 == 6 else previous
        if index % 20 == 7:
            lines.append(f"  for r in [0.1, 0.2] {{\n    t{index} = {component}(data={reader}.out, rate=r)\n  }}")
            lines.append(f"  s{index} = {component}(data={reader}.out, rate=rate, label=label) after t{index}")
            continue
        lines.append(f"  s{index} = {component}(data={reader}.out, rate=rate, label=label)")
    lines.append("}")
    return "\n".join(lines) + "\n"


def measure(text: str, repeat: int, min_seconds: float) -> dict[str, float]:
    """Medians of at least `repeat` runs, and of as many more as fit in `min_seconds`: a
    0.1 s run moves by a third on a busy machine, and the growth figure divides by it."""
    totals, parses, checks, lowers = [], [], [], []
    while len(totals) < repeat or sum(totals) < min_seconds:
        gc.collect()
        started = time.perf_counter()
        result = compile_sources([SourceFile("generated.treadle", text)])
        totals.append(time.perf_counter() - started)
        assert result.ok, [d.message for d in result.diagnostics][:3]
        del result
        gc.collect()
        gc.disable()
        t0 = time.perf_counter()
        diagnostics = Diagnostics()
        program = load_program([SourceFile("generated.treadle", text)], diagnostics)
        t1 = time.perf_counter()
        checked = check_program(program, diagnostics)
        t2 = time.perf_counter()
        lower_pipeline(checked.pipelines[0])
        t3 = time.perf_counter()
        gc.enable()
        parses.append(t1 - t0)
        checks.append(t2 - t1)
        lowers.append(t3 - t2)
    return {"runs": len(totals), "total": statistics.median(totals), "parse": statistics.median(parses),
            "check": statistics.median(checks), "lower": statistics.median(lowers)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=5, help="runs per size at least (default: 5)")
    parser.add_argument("--min-seconds", type=float, default=3.0,
                        help="more runs of a size until its runs add up to this (default: 3.0)")
    args = parser.parse_args()
    parse(SourceFile("warm.treadle", "let A = 1\n"), Diagnostics())  # load the grammar tables once
    print(f"{'steps':>8} {'bytes':>10} {'runs':>5} {'total s':>9} {'parse s':>9} {'check s':>9} {'lower s':>9}")
    results = {}
    for size in args.sizes:
        text = generate(size)
        figures = measure(text, args.repeat, args.min_seconds)
        results[size] = figures
        print(f"{size:>8} {len(text.encode()):>10} {figures['runs']:>5} {figures['total']:>9.3f} {figures['parse']:>9.3f} "
              f"{figures['check']:>9.3f} {figures['lower']:>9.3f}")
    smallest, largest = min(results), max(results)
    if smallest != largest:
        ratio = results[largest]["total"] / results[smallest]["total"]
        print(f"growth {smallest} -> {largest} steps: {ratio:.1f}x (linear: {largest / smallest:.0f}x)")
    print(f"medians of the runs; parse loops: {parse_loops()}")
    print("target: 10,000 steps in at most 1.0 s, growth at most 12x")


if __name__ == "__main__":
    main()
