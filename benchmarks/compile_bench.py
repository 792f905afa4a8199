"""Compile speed of `treadle compile --target argo|tekton` on linear chains, source text to YAML.

    python benchmarks/compile_bench.py [--target argo|tekton|argo,tekton] [--sizes 200,2000,10000] [--repeat 3]
                                       [--no-hera]

Two shapes: N distinct components (one template or Task each) and N calls of one component
(one shared template or Task). For each: the in-process time (front end + backend, and the
backend's own share), the time of a whole `treadle compile` process, and the YAML size;
medians of --repeat runs. For Argo, when hera is installed, the same Workflow built and
dumped with hera is timed beside it (in process and as a whole process). For Tekton each
step reads the previous step's str output from the workspace (the chain's values are
files, as any str output is there). `--target argo,tekton` times both engines on the same
chains in one process, one row each, side by side.

Whole processes run as an installed treadle starts: with the modules' compiled bytecode
kept (see `installed_environment`), after one warm-up compile.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMAGE = "python:3.12-slim"
SCRIPT = "import sys; open(sys.argv[2], 'w').write(sys.argv[1])"


def chain_source(n: int, distinct: bool) -> str:
    """A chain in which each step passes a string output to the next."""
    lines = []
    for index in range(n if distinct else 1):
        lines.append(f'component step{index}(text: str) -> (out: str) {{\n  image = "{IMAGE}"\n'
                     f'  command = ["python", "-c", "{SCRIPT}", text, out]\n}}')
    lines.append('pipeline chain(seed: str = "hello") {')
    previous = "seed"
    for index in range(n):
        lines.append(f"  s{index} = step{index if distinct else 0}(text={previous})")
        previous = f"s{index}.out"
    lines.append("}")
    return "\n".join(lines) + "\n"


def treadle_in_process(source: str, target: str = "argo") -> tuple[float, float, int]:
    """(total seconds, backend seconds, YAML bytes)."""
    from treadle.backends.base import Options
    from treadle.backends.targets import compile_pipelines
    from treadle.compiler.frontend import compile_sources
    from treadle.compiler.source import SourceFile

    start = time.perf_counter()
    result = compile_sources([SourceFile("chain.treadle", source)])
    middle = time.perf_counter()
    output = compile_pipelines(list(result.pipelines.values()), target, Options())
    end = time.perf_counter()
    assert output.ok, [d.message for d in output.diagnostics]
    return end - start, end - middle, len(output.text.encode("utf-8"))


def treadle_command() -> list[str]:
    script = Path(sys.executable).with_name("treadle")
    return [str(script)] if script.exists() else [sys.executable, "-m", "treadle.compiler.cli"]


def installed_environment() -> dict:
    """The environment with Python free to keep compiled bytecode: an installed wheel has
    it from the install, while PYTHONDONTWRITEBYTECODE=1 (set on some machines) makes an
    editable checkout compile every module from source at every start (about 40% more
    start-up work), which no user of a release pays."""
    return {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def treadle_whole_process(path: Path, out: Path, target: str = "argo") -> float:
    start = time.perf_counter()
    run = subprocess.run(treadle_command() + ["compile", str(path), "--target", target, "-o", str(out)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=installed_environment())
    if run.returncode != 0:  # the size warnings of large chains are expected; anything failing is shown
        raise SystemExit(f"treadle compile failed ({run.returncode}):\n{run.stderr}")
    return time.perf_counter() - start


HERA_PROGRAM = '''
import sys, time
from hera.workflows import Container, DAG, Parameter, Workflow
from hera.workflows.models import ValueFrom


def build(n, distinct):
    with Workflow(name="chain", entrypoint="chain", arguments=[Parameter(name="seed", value="hello")]) as w:
        templates = {}
        for index in range(n if distinct else 1):
            templates[index] = Container(
                name=f"step{index}", image="%(image)s",
                command=["python", "-c", %(script)r, "{{inputs.parameters.text}}", "/tmp/out"],
                inputs=[Parameter(name="text")],
                outputs=[Parameter(name="out", value_from=ValueFrom(path="/tmp/out"))])
        with DAG(name="chain"):
            previous = None
            for index in range(n):
                value = "{{workflow.parameters.seed}}" if previous is None else \\
                    "{{tasks.s%%d.outputs.parameters.out}}" %% (index - 1)
                task = templates[index if distinct else 0](name=f"s{index}", arguments={"text": value})
                if previous is not None:
                    previous >> task
                previous = task
    return w.to_yaml()


if __name__ == "__main__":
    start = time.perf_counter()
    text = build(int(sys.argv[1]), sys.argv[2] == "distinct")
    print(time.perf_counter() - start, len(text.encode("utf-8")))
''' % {"image": IMAGE, "script": SCRIPT}


def hera_available() -> bool:
    try:
        import hera  # noqa: F401
    except ImportError:
        return False
    return True


def hera_runs(program: Path, n: int, shape: str) -> tuple[float, float, int]:
    """(in-process seconds, whole-process seconds, YAML bytes) of one hera run."""
    start = time.perf_counter()
    run = subprocess.run([sys.executable, str(program), str(n), shape], check=True, capture_output=True, text=True,
                         env=installed_environment())
    whole = time.perf_counter() - start
    inside, size = run.stdout.split()
    return float(inside), whole, int(size)


def median(values) -> float:
    return statistics.median(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="argo",
                        help="argo, tekton, or both as argo,tekton (side by side; default: argo)")
    parser.add_argument("--sizes", default="200,2000,10000", help="chain lengths (default: 200,2000,10000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; medians are printed (default: 3)")
    parser.add_argument("--no-hera", action="store_true", help="skip the hera comparison")
    parser.add_argument("--hera-max", type=int, default=2000, help="largest N to time with hera (default: 2000)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    targets = args.target.split(",")
    if not set(targets) <= {"argo", "tekton"}:
        parser.error(f"unknown target in {args.target!r} (argo, tekton)")
    use_hera = not args.no_hera and hera_available()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        program = folder / "hera_chain.py"
        program.write_text(HERA_PROGRAM)
        warm = folder / "warm.treadle"
        warm.write_text(chain_source(1, True))
        for target in targets:  # leaves the compiled bytecode of every module a compile loads
            treadle_whole_process(warm, folder / "out.yaml", target)
        for shape in ("distinct", "one"):
            for n in sizes:
                source = chain_source(n, shape == "distinct")
                path = folder / f"chain_{shape}_{n}.treadle"
                path.write_text(source)
                for target in targets:
                    with_hera = target == "argo" and use_hera and n <= args.hera_max
                    runs, whole, hera = [], [], []
                    for _ in range(args.repeat):  # in turns, so that each ratio compares runs of one moment
                        runs.append(treadle_in_process(source, target))
                        whole.append(treadle_whole_process(path, folder / "out.yaml", target))
                        if with_hera:
                            hera.append(hera_runs(program, n, shape))
                    row = {"target": target, "shape": shape, "n": n, "total": median(r[0] for r in runs),
                           "backend": median(r[1] for r in runs), "whole": median(whole), "bytes": runs[0][2]}
                    if with_hera:
                        row.update(hera_in=median(h[0] for h in hera), hera_whole=median(h[1] for h in hera),
                                   hera_bytes=hera[0][2],
                                   speed_up=median(h[0] / r[0] for r, h in zip(runs, hera)))
                    rows.append(row)
                    print_row(row, header=len(rows) == 1)
    return 0


def print_row(row: dict, header: bool) -> None:
    if header:
        from treadle.compiler.parser import parse_loops

        print(f"parse loops: {parse_loops()}")
        print("medians; 'x hera' is the median ratio of hera's and treadle's in-process times, run in turns")
        print(f"{'target':<8}{'shape':<9}{'N':>7} {'in process':>11} {'backend':>9} {'whole':>8} {'YAML':>10}"
              f" {'hera in':>9} {'hera whole':>11} {'hera YAML':>10} {'x hera':>7}")
    hera = (f" {row['hera_in']:>8.2f}s {row['hera_whole']:>10.2f}s {row['hera_bytes'] / 1e6:>8.2f}MB"
            f" {row['speed_up']:>6.1f}x" if "hera_in" in row else f" {'-':>9} {'-':>11} {'-':>10} {'-':>7}")
    print(f"{row['target']:<8}{row['shape']:<9}{row['n']:>7} {row['total']:>10.3f}s {row['backend']:>8.3f}s {row['whole']:>7.2f}s"
          f" {row['bytes'] / 1e6:>8.3f}MB" + hera, flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
