"""Benchmark of the treadle runtime against scikit-learn in one process.

    python benchmarks/runtime_bench.py            # full sizes (~5 s per single-process run)
    python benchmarks/runtime_bench.py --quick    # small sizes, a smoke run

For each component it runs, 3 times each (median reported):
- treadle: `mpiexec -n 1` and `mpiexec -n 2`, one BLAS/OpenMP thread per rank;
- scikit-learn in one process doing the same job: with 1 thread, with its default
  threading (both cores), and with n_jobs=2 where the estimator has it.

A thread count is enforced on BLAS and OpenMP (environment variables and threadpoolctl)
and on pandas' own CSV reader, which from pandas 3.1 parses a file given by path on
several threads (`mode.max_threads`); treadle's ranks parse their byte ranges on one.

"work" is the time from the start of reading the input to the end of writing the outputs,
measured inside each process (`--stats` for treadle), so interpreter start and library
imports (~1-3 s, the same for every process-based step) are left out on both sides (an
import that treadle defers until the rows are freed is timed as its phase "import" and
left out too); the whole command's wall time is printed too. CPU time (user + system) of
the work is recorded on both sides as well: unlike wall time, other processes' load
hardly changes it. Peers read CSV with pandas and write CSV with
the same formatter as the runtime, so the comparison is of the algorithms and their
distribution, not of CSV libraries. Peak memory is each process's peak RSS (the largest
rank's at 2 ranks), and the same above the RSS right after imports ("data"). Other
processes' CPU use during each run is measured too: on a shared machine, a run at 2
ranks cannot have both cores while something else is busy, and the table says so.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
PYTHON = sys.executable
MPIEXEC = str(Path(PYTHON).parent / "mpiexec")
RUNTIME = str(Path(PYTHON).parent / "treadle-runtime")
REPEATS = 3

# name: (rows, features, full-size rows multiplier semantics are in make_datasets)
SIZES = {
    "full": {"scale": (600_000, 20), "pca": (500_000, 40), "kmeans": (500_000, 20),
             "ridge": (100_000, 200), "logistic": (250_000, 40), "forest": (13_000, 20),
             "grid-search": (110_000, 50)},
    "quick": {"scale": (20_000, 10), "pca": (20_000, 10), "kmeans": (20_000, 8),
              "ridge": (10_000, 20), "logistic": (10_000, 10), "forest": (2_000, 10),
              "grid-search": (4_000, 10)},
}
LOGISTIC_GRID = {"C": [0.01, 0.1, 1.0, 10.0]}


# -- data -------------------------------------------------------------------------------

def _write_dataset(path: Path, features, target=None) -> None:
    from treadle.runtime.csvio import format_rows, text_fields

    names = [f"x{i}" for i in range(features.shape[1])] + (["target"] if target is not None else [])
    with open(path, "wb") as handle:
        handle.write((",".join(names) + "\n").encode())
        for start in range(0, features.shape[0], 50_000):
            rows = slice(start, start + 50_000)
            handle.write(format_rows(features[rows], text_fields(target[rows]) if target is not None else None))


def make_datasets(folder: Path, sizes: dict) -> dict[str, Path]:
    import numpy as np

    rng = np.random.default_rng(0)
    paths = {}
    n, p = sizes["scale"]
    paths["scale"] = folder / "scale.csv"
    _write_dataset(paths["scale"], rng.normal(size=(n, p)) * rng.uniform(1, 10, p) + rng.uniform(-5, 5, p))
    n, p = sizes["pca"]
    paths["pca"] = folder / "pca.csv"
    _write_dataset(paths["pca"], rng.normal(size=(n, p)) @ rng.normal(size=(p, p)))
    n, p = sizes["kmeans"]
    centres = rng.normal(scale=4.0, size=(8, p))
    paths["kmeans"] = folder / "kmeans.csv"
    _write_dataset(paths["kmeans"], centres[rng.integers(0, 8, n)] + rng.normal(size=(n, p)))
    n, p = sizes["ridge"]
    x = rng.normal(size=(n, p))
    paths["ridge"] = folder / "ridge.csv"
    _write_dataset(paths["ridge"], x, x @ rng.normal(size=p) + rng.normal(size=n))
    for name in ("logistic", "grid-search"):
        n, p = sizes[name]
        x = rng.normal(size=(n, p))
        y = (x @ rng.normal(size=p) + rng.normal(scale=2.0, size=n) > 0).astype(int)
        paths[name] = folder / f"{name}.csv"
        _write_dataset(paths[name], x, y)
    from sklearn.datasets import make_classification

    n, p = sizes["forest"]
    x, y = make_classification(n_samples=n, n_features=p, n_informative=p // 2, random_state=0)
    paths["forest"] = folder / "forest.csv"
    _write_dataset(paths["forest"], x, y)
    (folder / "grid.json").write_text(json.dumps(LOGISTIC_GRID))
    return paths


# -- what each benchmark runs -----------------------------------------------------------

def treadle_arguments(name: str, data: Path, out: Path) -> list[str]:
    grid = data.parent / "grid.json"
    return {
        "scale": ["scale", "--data", data, "--output", out / "s.csv", "--model", out / "m.joblib"],
        "pca": ["pca", "--data", data, "--n-components", "5", "--output", out / "p.csv", "--model", out / "m.joblib"],
        "kmeans": ["kmeans", "--data", data, "--k", "8", "--seed", "0", "--max-iter", "50",
                   "--model", out / "m.joblib", "--inertia", out / "i.txt"],
        "ridge": ["linear", "--data", data, "--kind", "ridge", "--model", out / "m.joblib"],
        "logistic": ["linear", "--data", data, "--kind", "logistic", "--model", out / "m.joblib"],
        "forest": ["forest", "--data", data, "--task", "classification", "--n-estimators", "100",
                   "--seed", "0", "--model", out / "m.joblib"],
        "grid-search": ["grid-search", "--data", data, "--estimator", "logistic", "--grid", grid, "--cv", "5",
                        "--seed", "0", "--model", out / "m.joblib", "--best-params", out / "b.json",
                        "--scores", out / "s.json"],
    }[name]


def peer_job(name: str, data: str, out: str, n_jobs: int | None):
    """The same job in one process with scikit-learn; returns a function to time."""
    import joblib
    import numpy as np
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.model_selection import GridSearchCV
    from sklearn.preprocessing import StandardScaler

    from treadle.runtime.csvio import format_rows, header_line, text_fields

    def write_rows(path, columns, values, target):
        with open(path, "wb") as handle:
            handle.write(header_line(columns))
            for start in range(0, values.shape[0], 50_000):
                rows = slice(start, start + 50_000)
                handle.write(format_rows(values[rows], text_fields(target[rows]) if target is not None else None))

    def job():
        frame = pd.read_csv(data)
        target = frame.pop("target").to_numpy() if "target" in frame else None
        x = frame.to_numpy(dtype=np.float64)
        if name == "scale":
            model = StandardScaler()
            write_rows(f"{out}/s.csv", list(frame.columns), model.fit_transform(x), target)
        elif name == "pca":
            model = PCA(n_components=5)
            write_rows(f"{out}/p.csv", [f"pca{i}" for i in range(5)], model.fit_transform(x), target)
        elif name == "kmeans":
            model = KMeans(n_clusters=8, n_init=1, random_state=0, max_iter=50).fit(x)
            Path(f"{out}/i.txt").write_text(f"{model.inertia_!r}\n")
        elif name == "ridge":
            model = Ridge().fit(x, target)
        elif name == "logistic":
            model = LogisticRegression().fit(x, target)
        elif name == "forest":
            model = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=n_jobs).fit(x, target)
        else:
            search = GridSearchCV(LogisticRegression(random_state=0), LOGISTIC_GRID, cv=5, n_jobs=n_jobs)
            model = search.fit(x, target).best_estimator_
        joblib.dump(model, f"{out}/m.joblib")

    return job


def limit_csv_threads(count: int) -> None:
    """pandas 3.1 and later parse a CSV file given by path on several threads (option
    `mode.max_threads`, by default every usable core), which BLAS/OpenMP limits do not
    reach: a peer "with 1 thread" would read on both cores."""
    import pandas as pd

    try:
        pd.set_option("mode.max_threads", count)
    except KeyError:  # older pandas: always one thread
        pass


def run_peer_in_this_process(args) -> None:
    limiter = None
    if args.peer_threads != "default":
        from treadle.runtime.threads import limit_threads

        count = int(args.peer_threads)
        limiter = limit_threads(count)
        limit_csv_threads(count)
    from treadle.runtime.stats import cpu_seconds, current_rss_mib, peak_rss_mib

    job = peer_job(args.peer, args.data, args.out, args.n_jobs)
    rss_after_imports = current_rss_mib()
    started, cpu_at_start = time.perf_counter(), cpu_seconds()
    job()
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_at_start
    peak = peak_rss_mib()
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mib": peak,
                      "rss_after_imports_mib": rss_after_imports}))
    del limiter


# -- measuring --------------------------------------------------------------------------

def bench_environment(threads: str | None) -> dict:
    env = {key: value for key, value in os.environ.items()
           if key not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "TREADLE_THREADS")}
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(key, None)
        if threads not in (None, "default"):
            env[key] = threads
    return env


def _busy_cpu_seconds() -> float:
    """CPU time all processes of the machine have used so far (from /proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(command, env) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run a command; return it, its wall time, and the cores that OTHER processes kept busy meanwhile."""
    busy, ours = _busy_cpu_seconds(), _children_cpu_seconds()
    # stdin: an open pipe that carries nothing; MPICH's launcher, given the terminal or
    # /dev/null on a loaded machine, sometimes fails with "process reading stdin too slowly"
    read_end, write_end = os.pipe()
    started = time.perf_counter()
    try:
        completed = subprocess.run(command, stdin=read_end, capture_output=True, text=True, env=env)
    finally:
        os.close(read_end)
        os.close(write_end)
    wall = time.perf_counter() - started
    others = (_busy_cpu_seconds() - busy) - (_children_cpu_seconds() - ours)
    return completed, wall, max(0.0, others / wall)


def measure_treadle(name, data, work, ranks) -> dict:
    out = work / f"out-{name}-{ranks}"
    out.mkdir(exist_ok=True)
    stats = out / "stats.json"
    command = [MPIEXEC, "-n", str(ranks), RUNTIME] + [str(a) for a in treadle_arguments(name, data, out)]
    command += ["--threads", "1", "--stats", str(stats)]
    completed, wall, others = run_measured(command, bench_environment("1"))
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {completed.stderr.strip()}")
    report = json.loads(stats.read_text())
    worst = max(report["per_rank"], key=lambda rank: rank["peak_rss_mib"])

    def deferred_import(rank, key):  # an import made inside the work (phase "import")
        return rank.get("phases", {}).get("import", {}).get(key, 0.0)

    # The other ranks wait for rank 0's deferred import at the next collective, so it is
    # taken off the slowest rank's time once, as the imports before the work are.
    seconds = max(r["seconds"] for r in report["per_rank"]) - max(deferred_import(r, "seconds")
                                                                   for r in report["per_rank"])
    return {"seconds": seconds,
            "wall": wall, "peak_rss_mib": worst["peak_rss_mib"],
            "data_mib": max(r["peak_rss_mib"] - r["rss_after_imports_mib"] for r in report["per_rank"]),
            "cpu": max(r["cpu_seconds"] - deferred_import(r, "cpu") for r in report["per_rank"]),
            "others": others}


def measure_peer(name, data, work, threads: str, n_jobs: int | None) -> dict:
    out = work / f"peer-{name}-{threads}-{n_jobs}"
    out.mkdir(exist_ok=True)
    command = [PYTHON, str(HERE), "--peer", name, "--data", str(data), "--out", str(out),
               "--peer-threads", threads] + (["--n-jobs", str(n_jobs)] if n_jobs else [])
    completed, wall, others = run_measured(command, bench_environment(threads))
    if completed.returncode != 0:
        raise RuntimeError(f"peer {name} failed: {completed.stderr.strip()}")
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    return {"seconds": report["seconds"], "wall": wall, "peak_rss_mib": report["peak_rss_mib"],
            "data_mib": report["peak_rss_mib"] - report["rss_after_imports_mib"],
            "cpu": report["cpu_seconds"], "others": others}


def median_of(runs: list[dict]) -> dict:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


DATA_PARALLEL = {"scale", "pca", "kmeans", "ridge", "logistic"}
HAS_N_JOBS = {"forest", "grid-search"}


def bench(name, data, work, repeats) -> dict:
    result = {}
    configurations = [("treadle 1 rank", lambda: measure_treadle(name, data, work, 1)),
                      ("treadle 2 ranks", lambda: measure_treadle(name, data, work, 2)),
                      ("sklearn 1 thread", lambda: measure_peer(name, data, work, "1", None)),
                      ("sklearn default", lambda: measure_peer(name, data, work, "default", None))]
    if name in HAS_N_JOBS:
        configurations.append(("sklearn n_jobs=2", lambda: measure_peer(name, data, work, "default", 2)))
    for _ in range(repeats):  # interleaved, so drifting machine load hits every configuration alike
        for label, measure in configurations:
            result.setdefault(label, []).append(measure())
    return {label: median_of(runs) for label, runs in result.items()}


def _cpu_ratio(r: dict) -> float:
    """1-rank CPU time over the busiest rank's at 2 ranks: the speed-up an idle machine would show."""
    return r["treadle 1 rank"]["cpu"] / max(1e-9, r["treadle 2 ranks"]["cpu"])


def verdicts(name: str, r: dict) -> list[str]:
    one, two = r["treadle 1 rank"]["seconds"], r["treadle 2 ranks"]["seconds"]
    notes = []
    if name in HAS_N_JOBS:
        notes.append(f"2r/1r speed-up {one / two:.2f}x (target >= 1.8): {'met' if one / two >= 1.8 else 'MISSED'}"
                     f"; in CPU time of the busiest rank {_cpu_ratio(r):.2f}x")
        peer = r["sklearn n_jobs=2"]["seconds"]
        notes.append(f"2r vs sklearn n_jobs=2 {two / peer:.2f}x time (target <= 1.0): "
                     f"{'met' if two <= peer else 'MISSED'}")
    else:
        same = r["sklearn 1 thread"]["seconds"]
        same_cpu = r["treadle 1 rank"]["cpu"] / max(1e-9, r["sklearn 1 thread"]["cpu"])
        notes.append(f"1r vs sklearn 1 thread {one / same:.2f}x time (target <= 1.10): "
                     f"{'met' if one <= 1.10 * same else 'MISSED'}; in CPU time {same_cpu:.2f}x")
        notes.append(f"2r/1r speed-up {one / two:.2f}x (target >= 1.5): {'met' if one / two >= 1.5 else 'MISSED'}"
                     f"; in CPU time of the busiest rank {_cpu_ratio(r):.2f}x")
        default = r["sklearn default"]["seconds"]
        notes.append(f"2r vs sklearn default threads {two / default:.2f}x time (target <= 1.25): "
                     f"{'met' if two <= 1.25 * default else 'MISSED'}")
        peak_ratio = r["treadle 2 ranks"]["peak_rss_mib"] / r["treadle 1 rank"]["peak_rss_mib"]
        data_ratio = r["treadle 2 ranks"]["data_mib"] / max(1e-9, r["treadle 1 rank"]["data_mib"])
        notes.append(f"peak RSS per rank 2r/1r {peak_ratio:.2f} (target <= 0.6): "
                     f"{'met' if peak_ratio <= 0.6 else 'MISSED'}; above imports {data_ratio:.2f}")
    return notes


def print_table(sizes: dict, results: dict, repeats: int) -> None:
    labels = ["treadle 1 rank", "treadle 2 ranks", "sklearn 1 thread", "sklearn default", "sklearn n_jobs=2"]
    print()
    print("| component | rows x features | " + " | ".join(labels) +
          " | peak RSS MiB 1r / 2r (above imports) | others' load (cores) |")
    print("|---" * (len(labels) + 4) + "|")
    for name, result in results.items():
        cells = []
        for label in labels:
            run = result.get(label)
            cells.append("–" if run is None else f"{run['seconds']:.2f} s ({run['wall']:.1f})")
        one, two = result["treadle 1 rank"], result["treadle 2 ranks"]
        memory = (f"{one['peak_rss_mib']:.0f} / {two['peak_rss_mib']:.0f} "
                  f"({one['data_mib']:.0f} / {two['data_mib']:.0f})")
        n, p = sizes[name]
        load = max(run["others"] for run in result.values())
        print(f"| {name} | {n:,} x {p} | " + " | ".join(cells) + f" | {memory} | {load:.2f} |")
    print()
    print(f"work time, median of {repeats} (whole command wall time in brackets); others' load: the"
          " largest median number of cores other processes kept busy during a configuration's runs")
    for name, result in results.items():
        for note in verdicts(name, result):
            print(f"  {name}: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, one repetition: a smoke run")
    parser.add_argument("--only", nargs="*", help="benchmark only these components")
    parser.add_argument("--workdir", help="folder for data and outputs (default: a temporary folder)")
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--peer-threads", help=argparse.SUPPRESS)
    parser.add_argument("--n-jobs", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        run_peer_in_this_process(args)
        return
    sizes = SIZES["quick" if args.quick else "full"]
    repeats = 1 if args.quick else REPEATS
    names = args.only or list(sizes)
    with tempfile.TemporaryDirectory(dir=args.workdir) as folder:
        work = Path(folder)
        print(f"writing datasets ({'quick' if args.quick else 'full'} sizes) ...", flush=True)
        paths = make_datasets(work, sizes)
        results = {}
        for name in names:
            print(f"benchmarking {name} ...", flush=True)
            results[name] = bench(name, paths[name], work, repeats)
        print_table(sizes, results, repeats)


if __name__ == "__main__":
    main()
