"""The optimizer on five shapes: what each pass costs, what it removes, and the YAML it leaves.

    python benchmarks/optimizer_bench.py [--repeat 5] [--no-hera]

Shapes: a linear chain (of values), a wide fan-out/fan-in, a grid search over 500
candidates (one `for`), 2,000 steps of which 10% repeat earlier work (deterministic
component), and 100 chains of five steps that hand a file on. For each: the front end's
time, each -O1 pass's time, steps and templates before and after, Argo and Tekton YAML
bytes at -O0 and -O1 (each engine's from the graph `treadle compile` optimizes for it),
whether the Argo Workflow fits under 1 MiB; what fusion (-O2) does to steps, pods per run
and templates, its time and the YAML it leaves; and hera building the same Workflow (as
written, from its Python API, in its own process) beside treadle from source to YAML (not
for the file chains). Medians of --repeat runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compile_bench import IMAGE, SCRIPT, hera_available, median  # noqa: E402

MIB = 1 << 20
SIZES = {"chain": 500, "fan": 500, "grid": 500, "duplicates": 2000, "files": 500}


def _component(deterministic: bool) -> str:
    """Values are ints: Tekton carries them as results (long strings need a workspace)."""
    return (f'component step(text: int, k: int = 0) -> (out: int) {{\n  image = "{IMAGE}"\n'
            f'  command = ["python", "-c", "{SCRIPT}", text, out, k]\n'
            + ("  deterministic = true\n" if deterministic else "") + "}\n")


def chain_source(length: int) -> str:
    lines = [_component(False), "pipeline chain(seed: int = 1) {"]
    previous = "seed"
    for i in range(length):
        lines.append(f"  s{i} = step(text={previous})")
        previous = f"s{i}.out"
    return "\n".join(lines + ["}"]) + "\n"


def fan_source(width: int) -> str:
    lines = [_component(False), 'pipeline fan(seed: int = 1) {', "  s0 = step(text=seed)"]
    lines += [f"  w{i} = step(text=s0.out, k={i})" for i in range(width)]
    lines.append("  join = step(text=0) after " + ", ".join(f"w{i}" for i in range(width)))
    return "\n".join(lines + ["}"]) + "\n"


def grid_source(candidates: int) -> str:
    items = ", ".join(str(i) for i in range(candidates))
    return "\n".join([_component(False), 'pipeline grid(seed: int = 1) {', "  data = step(text=seed)",
                      f"  for c in [{items}] {{", "    fit = step(text=data.out, k=c)", "  }",
                      "  best = step(text=0) after fit", "}"]) + "\n"


def duplicates_source(steps: int) -> str:
    """A chain of 90% distinct steps; every tenth step repeats the call of an earlier one."""
    lines = [_component(True), 'pipeline duplicates(seed: int = 1) {']
    previous, calls = "seed", []
    for i in range(steps):
        if i % 10 == 9:
            text, k = calls[i // 2]
            lines.append(f"  s{i} = step(text={text}, k={k})")
        else:
            lines.append(f"  s{i} = step(text={previous}, k={i})")
            calls.append((previous, i))
            previous = f"s{i}.out"
    return "\n".join(lines + ["}"]) + "\n"


def files_source(steps: int) -> str:
    """Chains of five steps that hand a file on (what -O2 fuses), each chain from a parameter."""
    lines = [f'component start(text: int, k: int = 0) -> (out: Dataset) {{\n  image = "{IMAGE}"\n'
             f'  command = ["python", "-c", "{SCRIPT}", text, out, k]\n}}',
             f'component refine(data: Dataset, k: int = 0) -> (out: Dataset) {{\n  image = "{IMAGE}"\n'
             f'  command = ["python", "-c", "{COPY}", data, out, k]\n}}',
             "pipeline files(seed: int = 1) {"]
    for i in range(steps):
        if i % 5 == 0:
            lines.append(f"  s{i} = start(text=seed, k={i})")
        else:
            lines.append(f"  s{i} = refine(data=s{i - 1}.out, k={i})")
    return "\n".join(lines + ["}"]) + "\n"


COPY = "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2])"
SOURCES = {"chain": chain_source, "fan": fan_source, "grid": grid_source,
           "duplicates": duplicates_source, "files": files_source}
HERA_SHAPES = ("chain", "fan", "grid", "duplicates")  # the shapes the hera program builds
TARGETS = ("argo", "tekton")

HERA_PROGRAM = '''
import sys, time
from hera.workflows import Container, DAG, Parameter, Workflow
from hera.workflows.models import ValueFrom


def build(shape, n):
    with Workflow(name=shape, entrypoint=shape, arguments=[Parameter(name="seed", value="1")]) as w:
        step = Container(name="step", image=%(image)r,
                         command=["python", "-c", %(script)r, "{{inputs.parameters.text}}", "/tmp/out",
                                  "{{inputs.parameters.k}}"],
                         inputs=[Parameter(name="text"), Parameter(name="k", default="0")],
                         outputs=[Parameter(name="out", value_from=ValueFrom(path="/tmp/out"))])
        seed = "{{workflow.parameters.seed}}"
        out = "{{tasks.%%s.outputs.parameters.out}}"
        with DAG(name=shape):
            if shape == "chain":
                previous = None
                for i in range(n):
                    task = step(name=f"s{i}", arguments={"text": out %% f"s{i - 1}" if i else seed})
                    if previous is not None:
                        previous >> task
                    previous = task
            elif shape == "fan":
                first = step(name="s0", arguments={"text": seed})
                wide = [step(name=f"w{i}", arguments={"text": out %% "s0", "k": str(i)}) for i in range(n)]
                join = step(name="join", arguments={"text": "0"})
                for task in wide:
                    first >> task >> join
            elif shape == "grid":
                data = step(name="data", arguments={"text": seed})
                fit = step(name="fit", arguments={"text": out %% "data", "k": "{{item}}"},
                           with_items=list(range(n)))
                best = step(name="best", arguments={"text": "0"})
                data >> fit >> best
            else:
                previous, calls, tasks = None, [], {}
                for i in range(n):
                    if i %% 10 == 9:
                        source, k = calls[i // 2]
                    else:
                        source, k = previous, i
                        calls.append((previous, i))
                    task = step(name=f"s{i}", arguments={"text": out %% source if source else seed, "k": str(k)})
                    if source:
                        tasks[source] >> task
                    tasks[f"s{i}"] = task
                    if i %% 10 != 9:
                        previous = f"s{i}"
    return w.to_yaml()


if __name__ == "__main__":
    start = time.perf_counter()
    text = build(sys.argv[1], int(sys.argv[2]))
    print(time.perf_counter() - start, len(text.encode("utf-8")))
''' % {"image": IMAGE, "script": SCRIPT}


def treadle_run(source: str) -> dict:
    """Each engine's bytes come from the graph `treadle compile --target ENGINE` gives it:
    Tekton asks for some loops unrolled, at every level. Pass times, steps, templates and
    fusion's figures are Argo's, whose loops stay loops as in hera's Workflow."""
    from treadle.backends.base import Options as BackendOptions
    from treadle.backends.targets import compile_pipelines
    from treadle.compiler.cli import pass_options
    from treadle.compiler.frontend import compile_sources
    from treadle.compiler.passes import optimize
    from treadle.compiler.passes.explain import pod_count, template_count
    from treadle.compiler.source import SourceFile

    start = time.perf_counter()
    result = compile_sources([SourceFile("bench.treadle", source)])
    frontend = time.perf_counter() - start
    graph = next(iter(result.pipelines.values()))
    backend = BackendOptions()
    passes = {target: pass_options(target, backend) for target in TARGETS}
    optimized = {target: optimize(graph, 1, passes[target]) for target in TARGETS}
    row = {"frontend": frontend, "passes": {r.name: r.seconds for r in optimized["argo"].reports},
           "tasks": (graph.number_of_nodes(), optimized["argo"].graph.number_of_nodes()),
           "templates": (template_count(graph), template_count(optimized["argo"].graph))}
    for target in TARGETS:
        as_written = optimize(graph, 0, passes[target]).graph
        for level, chosen in (("O0", as_written), ("O1", optimized[target].graph)):
            start = time.perf_counter()
            output = compile_pipelines([chosen], target, backend)
            row[f"{target}_{level}_seconds"] = time.perf_counter() - start
            if not output.ok:  # Tekton refuses a 500-item matrix: the table says so
                assert target == "tekton", [d.message for d in output.diagnostics if d.is_error][:3]
                row[f"{target}_{level}"] = None
                continue
            row[f"{target}_{level}"] = len(output.text.encode("utf-8"))
            if target == "argo":
                row[f"argo_{level}_json"] = max(len(json.dumps(d, separators=(",", ":")).encode("utf-8"))
                                                for d in output.documents)
    row["source_to_yaml"] = frontend + sum(row["passes"].values()) + row["argo_O1_seconds"]
    fused = {target: optimize(graph, 2, passes[target]) for target in TARGETS}
    fusion = next(r for r in fused["argo"].reports if r.name == "fuse-tasks")
    before, after = optimized["argo"].graph, fused["argo"].graph
    row["fusion"] = {"seconds": fusion.seconds,
                     "tasks": (before.number_of_nodes(), after.number_of_nodes()),
                     "pods": (pod_count(before), pod_count(after)),
                     "templates": (template_count(before), template_count(after)),
                     "refused": sum(change.refused for change in fusion.changes)}
    for target in TARGETS:
        output = compile_pipelines([fused[target].graph], target, backend)
        row["fusion"][target] = len(output.text.encode("utf-8")) if output.ok else None
    return row


def hera_run(program: Path, shape: str, n: int) -> tuple[float, int]:
    run = subprocess.run([sys.executable, str(program), shape, str(n)], check=True, capture_output=True, text=True)
    seconds, size = run.stdout.split()
    return float(seconds), int(size)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure; medians are printed (default: 5)")
    parser.add_argument("--no-hera", action="store_true", help="skip the hera comparison")
    args = parser.parse_args()
    use_hera = not args.no_hera and hera_available()
    with tempfile.TemporaryDirectory() as folder:
        program = Path(folder) / "hera_shapes.py"
        program.write_text(HERA_PROGRAM)
        rows = {}
        for shape, n in SIZES.items():
            source = SOURCES[shape](n)
            with_hera = use_hera and shape in HERA_SHAPES
            runs, hera = [], []
            for _ in range(args.repeat):  # in turns, so that each ratio compares runs of one moment
                runs.append(treadle_run(source))
                if with_hera:
                    hera.append(hera_run(program, shape, n))
            row = dict(runs[0])
            for key in ("frontend", "source_to_yaml", "argo_O1_seconds"):
                row[key] = median(r[key] for r in runs)
            row["passes"] = {name: median(r["passes"][name] for r in runs) for name in runs[0]["passes"]}
            row["fusion"]["seconds"] = median(r["fusion"]["seconds"] for r in runs)
            if with_hera:
                row["hera_seconds"], row["hera_bytes"] = median(h[0] for h in hera), hera[0][1]
                row["speed_up"] = median(h[0] / r["source_to_yaml"] for r, h in zip(runs, hera))
            rows[f"{shape} ({n})"] = row
    print_tables(rows)
    return 0


def _pair(before, after) -> str:
    return "refused (> 256 items)" if before is None else f"{before} -> {after}"


def print_tables(rows: dict) -> None:
    names = list(next(iter(rows.values()))["passes"])
    from treadle.compiler.parser import parse_loops

    print(f"Parse loops: {parse_loops()}")
    print("Per pass (ms, median):")
    print(f"{'shape':<18}{'front end':>10}" + "".join(f"{name:>16}" for name in names))
    for label, row in rows.items():
        print(f"{label:<18}{row['frontend'] * 1000:>10.1f}" + "".join(f"{row['passes'][n] * 1000:>16.2f}" for n in names))
    print("\nSize (-O0 -> -O1):")
    print(f"{'shape':<18}{'steps':>12}{'templates':>11}{'Argo bytes':>20}{'Tekton bytes':>24}{'Argo JSON < 1 MiB':>19}")
    for label, row in rows.items():
        fits = "yes" if row["argo_O1_json"] < MIB else f"no ({row['argo_O1_json'] / MIB:.2f} MiB)"
        print(f"{label:<18}{'%d -> %d' % row['tasks']:>12}{'%d -> %d' % row['templates']:>11}"
              f"{'%d -> %d' % (row['argo_O0'], row['argo_O1']):>20}{_pair(row['tekton_O0'], row['tekton_O1']):>24}"
              f"{fits:>19}")
    print("\nFusion (-O1 -> -O2; pods: the steps' own pods in one run, a loop over a literal list once per item):")
    print(f"{'shape':<18}{'steps':>14}{'pods':>14}{'templates':>11}{'refused':>9}{'fuse-tasks ms':>15}"
          f"{'Argo bytes -O2':>16}{'Tekton bytes -O2':>18}")
    for label, row in rows.items():
        fusion = row["fusion"]
        tekton = "refused" if fusion["tekton"] is None else fusion["tekton"]
        print(f"{label:<18}{'%d -> %d' % fusion['tasks']:>14}{'%d -> %d' % fusion['pods']:>14}"
              f"{'%d -> %d' % fusion['templates']:>11}{fusion['refused']:>9}{fusion['seconds'] * 1000:>15.2f}"
              f"{fusion['argo']:>16}{tekton:>18}")
    if any("hera_seconds" in row for row in rows.values()):
        print("\nSource to Argo YAML, treadle -O1 (front end + passes + backend) beside hera (build + dump),"
              "\nmedians; the speed-up is the median of the ratios of runs made in turns:")
        print(f"{'shape':<18}{'treadle':>10}{'hera':>10}{'speed-up':>10}{'treadle bytes':>15}{'hera bytes':>12}{'targets met':>13}")
        for label, row in rows.items():
            if "hera_seconds" not in row:
                continue
            ratio = row["speed_up"]
            met = ratio >= 10 and row["argo_O1"] <= row["hera_bytes"]
            print(f"{label:<18}{row['source_to_yaml'] * 1000:>8.0f}ms{row['hera_seconds'] * 1000:>8.0f}ms"
                  f"{ratio:>9.1f}x{row['argo_O1']:>15}{row['hera_bytes']:>12}{'yes' if met else 'NO':>13}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
