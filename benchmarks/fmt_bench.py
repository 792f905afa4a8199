"""Formatter speed: `format_source` on generated programs of N steps, beside a plain parse of
the same text (formatting parses twice: once to lay out, once to check the result).

Run: python benchmarks/fmt_bench.py [--sizes 1000 10000] [--repeat 5]

Prints, per size, the median times of a parse and of a format, and their ratio. The
language server formats a whole document on request, so the 1,000-step figure is the
one an editor user waits for.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from frontend_bench import generate  # noqa: E402  (the same programs as the front-end benchmark)

from treadle.compiler.diagnostics import Diagnostics  # noqa: E402
from treadle.compiler.formatter import format_source  # noqa: E402
from treadle.compiler.parser import parse  # noqa: E402
from treadle.compiler.source import SourceFile  # noqa: E402


def median_seconds(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'steps':>7} {'lines':>7} {'parse ms':>9} {'format ms':>10} {'ratio':>6}")
    for size in args.sizes:
        text = generate(size)
        formatted = format_source(text, "generated.treadle").text
        assert formatted is not None
        parse_time = median_seconds(lambda: parse(SourceFile("generated.treadle", text), Diagnostics()), args.repeat)
        format_time = median_seconds(lambda: format_source(text, "generated.treadle"), args.repeat)
        print(f"{size:>7} {text.count(chr(10)):>7} {parse_time * 1000:>9.1f} {format_time * 1000:>10.1f} "
              f"{format_time / parse_time:>6.1f}")


if __name__ == "__main__":
    main()
