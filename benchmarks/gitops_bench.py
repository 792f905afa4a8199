"""What a repository compile and `--check` cost, and what the provenance stamp adds.

    python benchmarks/gitops_bench.py [--files 50] [--steps 20] [--repeat 5]

Makes a repository of --files sources, each a pipeline of --steps steps on shared
components, then times, as whole processes: compiling it for Argo and Tekton into an
empty folder, and `--check` against the written folder (the CI case). In process, the
backends with and without the provenance stamp, side by side. Medians of --repeat runs.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIBRARY = ('component step(text: str, n: int = 1) -> (out: str) {\n  image = "python:3.12-slim"\n'
           '  command = ["python", "-c", "import sys; open(sys.argv[2], \\"w\\").write(sys.argv[1])", text, out]\n}\n')


def make_repository(root: Path, files: int, steps: int) -> None:
    (root / "pipelines" / "lib").mkdir(parents=True)
    (root / "pipelines" / "lib" / "common.treadle").write_text(LIBRARY)
    for index in range(files):
        lines = ['import "lib/common.treadle"', "", f"pipeline p{index}(seed: int = {index}) {{"]
        for step in range(steps):
            lines.append(f'  s{step} = step(text="{index}-{step}", n=seed)' + (f" after s{step - 1}" if step else ""))
        lines.append("}")
        (root / "pipelines" / f"p{index}.treadle").write_text("\n".join(lines) + "\n")


def timed(command: list[str], cwd: Path, expect: int) -> float:
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    assert completed.returncode == expect, completed.stderr[-2000:]
    return elapsed


def in_process(root: Path, repeat: int) -> tuple[float, float]:
    """(median seconds without the stamp, with it), both targets, the front end excluded."""
    import os

    from treadle.backends.base import Options
    from treadle.backends.provenance import Origin
    from treadle.backends.targets import compile_pipelines
    from treadle.compiler.frontend import compile_files

    here = os.getcwd()
    os.chdir(root)
    try:
        paths = sorted(str(p.relative_to(root)) for p in (root / "pipelines").glob("*.treadle"))
        result = compile_files(paths)
        graphs = list(result.pipelines.values())
        origins = {path: Origin.of(path, source.text) for path, source in result.program.sources.items()}
        plain, stamped = [], []
        for _ in range(repeat):
            for times, given in ((plain, None), (stamped, origins)):
                start = time.perf_counter()
                for target in ("argo", "tekton"):
                    assert compile_pipelines(graphs, target, Options(), given).ok
                times.append(time.perf_counter() - start)
        return statistics.median(plain), statistics.median(stamped)
    finally:
        os.chdir(here)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    script = Path(sys.executable).with_name("treadle")
    treadle = [str(script)] if script.exists() else [sys.executable, "-m", "treadle.compiler.cli"]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_repository(root, args.files, args.steps)
        compile_ = treadle + ["compile", "pipelines", "--target", "argo,tekton", "-o", "deploy"]
        writes, checks = [], []
        for _ in range(args.repeat):
            shutil.rmtree(root / "deploy", ignore_errors=True)
            writes.append(timed(compile_, root, 0))
            checks.append(timed(compile_ + ["--check"], root, 0))
        plain, stamped = in_process(root, args.repeat)
        files = len(list((root / "deploy").rglob("*.yaml")))
    print(f"repository: {args.files} files x {args.steps} steps, 2 targets, {files} YAML files; "
          f"medians of {args.repeat}")
    print(f"{'compile into an empty folder (process)':45} {statistics.median(writes) * 1000:8.0f} ms")
    print(f"{'--check of an up-to-date folder (process)':45} {statistics.median(checks) * 1000:8.0f} ms")
    print(f"{'backends, no stamp (in process)':45} {plain * 1000:8.1f} ms")
    print(f"{'backends, stamped (in process)':45} {stamped * 1000:8.1f} ms   "
          f"({(stamped / plain - 1) * 100:+.1f}%)")


if __name__ == "__main__":
    main()
