"""The local runner's overhead per task, beside plain process spawning.

A pipeline of 200 independent steps, each running `true` with its own argument (so no
step is a cache hit of another), is run by `treadle run` at parallelism 1 and 2 in this
process. The baseline spawns the same 200 commands the way the runner does (own session,
output to log files, at most 1 or 2 at once) with nothing else around them. The
overhead per task is (runner time - baseline time) / 200: what treadle adds to each
step beyond starting its process (deciding, resolving values, cache keys, records in
SQLite, log files, output folders, progress lines). Target: at most 20 ms per task.

    python benchmarks/runner_bench.py [--tasks 200] [--repeat 5]

Medians of interleaved repetitions; the runs folder is fresh for every repetition. The
machine's other load shows in both columns alike; compare them, not figures from
another day.
"""

from __future__ import annotations

import argparse
import io
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MS = 20.0


def pipeline_text(tasks: int) -> str:
    steps = "\n".join(f"  s{index} = nothing(i={index})" for index in range(tasks))
    return ('component nothing(i: int) {\n  image = "busybox"\n  command = ["true", i]\n}\n\n'
            f"pipeline trivial() {{\n{steps}\n}}\n")


def run_treadle(source: Path, work: Path, parallelism: int) -> tuple[float, float]:
    """(whole command, the runner alone) in seconds, in this process."""
    from treadle.backends.local import cli as local_cli
    from treadle.backends.local.executor import Runner

    runner_time = []
    original = Runner.run

    def timed(self):
        started = time.perf_counter()
        try:
            return original(self)
        finally:
            runner_time.append(time.perf_counter() - started)

    runs_dir = work / "runs"
    shutil.rmtree(runs_dir, ignore_errors=True)
    Runner.run = timed
    try:
        parser_args = argparse.Namespace(file=str(source), pipeline=None, param=[], parallelism=parallelism,
                                         no_cache=False, resume=None, runs_dir=str(runs_dir))
        out, err = io.StringIO(), io.StringIO()
        started = time.perf_counter()
        code = local_cli.command_run(parser_args, out, err)
        whole = time.perf_counter() - started
    finally:
        Runner.run = original
    if code != 0:
        raise RuntimeError(f"treadle run failed:\n{out.getvalue()}{err.getvalue()}")
    return whole, runner_time[0]


def run_baseline(tasks: int, work: Path, parallelism: int) -> float:
    """The same commands spawned as the runner spawns them, with nothing else."""
    program = shutil.which("true")
    logs = work / "baseline"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir()
    started = time.perf_counter()
    running: list[tuple[subprocess.Popen, int]] = []
    next_index = 0
    while next_index < tasks or running:
        while next_index < tasks and len(running) < parallelism:
            with open(logs / f"{next_index}.out", "wb") as out, open(logs / f"{next_index}.err", "wb") as err:
                process = subprocess.Popen([program, str(next_index)], stdin=subprocess.DEVNULL, stdout=out,
                                           stderr=err, start_new_session=True)
            running.append((process, os.pidfd_open(process.pid)))
            next_index += 1
        select.select([fd for _, fd in running], [], [])
        for entry in list(running):
            if entry[0].poll() is not None:
                os.close(entry[1])
                running.remove(entry)
    return time.perf_counter() - started


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--tasks", type=int, default=200)
    options.add_argument("--repeat", type=int, default=5)
    args = options.parse_args()
    with tempfile.TemporaryDirectory(prefix="treadle-runner-bench-") as folder:
        work = Path(folder)
        source = work / "trivial.treadle"
        source.write_text(pipeline_text(args.tasks))
        os.chdir(work)
        results: dict[int, dict[str, list[float]]] = {}
        for _ in range(args.repeat):
            for parallelism in (1, 2):
                entry = results.setdefault(parallelism, {"baseline": [], "runner": [], "whole": []})
                entry["baseline"].append(run_baseline(args.tasks, work, parallelism))
                whole, runner = run_treadle(source, work, parallelism)
                entry["runner"].append(runner)
                entry["whole"].append(whole)
    print(f"{args.tasks} steps running `true`, medians of {args.repeat} interleaved runs "
          f"({os.cpu_count()} cores; load average before: {os.getloadavg()[0]:.1f})\n")
    header = ("parallelism", "spawn only (s)", "treadle runner (s)", "treadle run, whole (s)",
              "runner overhead / task (ms)", "target")
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    worst = 0.0
    for parallelism, entry in sorted(results.items()):
        baseline = statistics.median(entry["baseline"])
        runner = statistics.median(entry["runner"])
        whole = statistics.median(entry["whole"])
        overhead = (runner - baseline) / args.tasks * 1000
        worst = max(worst, overhead)
        verdict = "met" if overhead <= TARGET_MS else "missed"
        print(f"{parallelism} | {baseline:.2f} | {runner:.2f} | {whole:.2f} | {overhead:.1f} | "
              f"<= {TARGET_MS:.0f} ms: {verdict}")
    print(f"\nworst overhead per task: {worst:.1f} ms (target {TARGET_MS:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
