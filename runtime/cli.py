"""`treadle-runtime NAME --flags`: the command-line components a pipeline step runs.

Every component runs as one process or under `mpiexec -n N`. This module imports only
the standard library: numpy, scikit-learn and mpi4py are loaded by the component that
runs, after the thread count per rank has been exported (see `threads`).

Exit codes: 0 success; 2 bad input or arguments (one line on stderr, nothing written);
1 an internal failure (one line; `TREADLE_DEBUG=1` shows the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

from treadle.runtime import stats
from treadle.runtime.errors import InternalError, UserError

PROGRAM = "treadle-runtime"

# command name -> module under treadle.runtime.components
COMMANDS = {
    "load": "load",
    "generate": "generate",
    "split": "split",
    "scale": "scale",
    "pca": "pca",
    "kmeans": "kmeans",
    "linear": "linear",
    "forest": "forest",
    "grid-search": "grid_search",
    "evaluate": "evaluate",
    "predict": "predict",
}


def _is_reporting_rank() -> bool:
    return os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "0")) == "0"


def _say(command: str | None, kind: str, message: str) -> None:
    prefix = f"{PROGRAM} {command}" if command else PROGRAM
    line = " ".join(str(message).split())
    print(f"{prefix}: {kind}: {line}", file=sys.stderr, flush=True)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2."""

    def error(self, message):
        if _is_reporting_rank():
            _say(None, "error", f"{message} (see '{self.prog} --help')")
        sys.exit(2)


def _number(convert, minimum, wanted: str, unparsable: str | None = None):
    """An argparse type: `convert` the text and refuse values below `minimum` (or infinite)."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {unparsable or wanted}, got {text!r}") from None
        if not value >= minimum or value == float("inf"):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    return parse


_positive_int = _number(int, 1, "a positive integer")
_non_negative_int = _number(int, 0, "an integer >= 0")
_non_negative_float = _number(float, 0, "a finite number >= 0", unparsable="a number")


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _switch(command: argparse.ArgumentParser, flag: str, help_text: str) -> None:
    """A flag that may stand alone or take true/false, so a pipeline can always pass a value."""
    command.add_argument(flag, nargs="?", const=True, default=False, type=_boolean, metavar="true|false",
                         help=help_text)


def _add_common(command: argparse.ArgumentParser, reads_data: bool = True) -> None:
    group = command.add_argument_group("common")
    group.add_argument("--threads", metavar="N|auto",
                       help="BLAS/OpenMP threads per rank (default: 1 under mpiexec, "
                            "all cores in a single process; env TREADLE_THREADS)")
    group.add_argument("--stats", metavar="FILE",
                       help="write each rank's time and peak memory as JSON (for benchmarks)")
    if reads_data:
        group.add_argument("--target-column", default="target", metavar="NAME",
                           help="label column of the dataset (default: target)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROGRAM, description="MPI-distributed scikit-learn components of treadle.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="NAME",
                                     parser_class=_Parser)

    c = commands.add_parser("load", help="write a dataset bundled with scikit-learn as CSV")
    c.add_argument("--name", required=True, choices=["iris", "digits", "wine", "breast_cancer", "diabetes"])
    c.add_argument("--output", required=True, metavar="D.csv")
    _add_common(c)

    c = commands.add_parser("generate", help="write a synthetic dataset as CSV")
    c.add_argument("--kind", required=True, choices=["classification", "regression", "blobs"])
    c.add_argument("--n-samples", required=True, type=_positive_int)
    c.add_argument("--n-features", required=True, type=_positive_int)
    c.add_argument("--n-classes", type=_positive_int, default=2, help="classification (default 2)")
    c.add_argument("--n-informative", type=_positive_int,
                   help="informative features (default: half the features, enough for the classes)")
    c.add_argument("--centers", type=_positive_int, default=3, help="blobs (default 3)")
    c.add_argument("--noise", type=_non_negative_float, default=1.0, help="regression noise (default 1.0)")
    c.add_argument("--seed", required=True, type=int)
    c.add_argument("--output", required=True, metavar="D.csv")
    _add_common(c)

    c = commands.add_parser("split", help="split a dataset into train and test rows")
    c.add_argument("--data", required=True, metavar="D.csv")
    c.add_argument("--test-size", default="0.25", help="fraction in (0, 1) or a row count (default 0.25)")
    c.add_argument("--seed", required=True, type=int)
    c.add_argument("--train", required=True, metavar="T.csv")
    c.add_argument("--test", required=True, metavar="E.csv")
    _switch(c, "--stratify", "keep class proportions (uses the target)")
    _add_common(c)

    c = commands.add_parser("scale", help="standard scaling (zero mean, unit variance)")
    c.add_argument("--data", required=True, metavar="D.csv")
    c.add_argument("--output", required=True, metavar="S.csv")
    c.add_argument("--model", required=True, metavar="scaler.joblib")
    _add_common(c)

    c = commands.add_parser("pca", help="principal component analysis")
    c.add_argument("--data", required=True, metavar="D.csv")
    c.add_argument("--n-components", required=True, type=_positive_int)
    _switch(c, "--whiten", "scale components to unit variance")
    c.add_argument("--output", required=True, metavar="P.csv")
    c.add_argument("--model", required=True, metavar="pca.joblib")
    _add_common(c)

    c = commands.add_parser("kmeans", help="k-means clustering (Lloyd, k-means++ start)")
    c.add_argument("--data", required=True, metavar="D.csv")
    c.add_argument("--k", required=True, type=_positive_int)
    c.add_argument("--seed", required=True, type=int)
    c.add_argument("--max-iter", type=_positive_int, default=300)
    c.add_argument("--tol", type=_non_negative_float, default=1e-4)
    c.add_argument("--model", required=True, metavar="km.joblib")
    c.add_argument("--inertia", required=True, metavar="inertia.txt")
    c.add_argument("--labels", metavar="L.csv", help="optional: the cluster of every row")
    _add_common(c)

    c = commands.add_parser("linear", help="linear, ridge or logistic regression")
    c.add_argument("--data", required=True, metavar="D.csv")
    c.add_argument("--kind", required=True, choices=["linear", "ridge", "logistic"])
    c.add_argument("--alpha", type=_non_negative_float, default=1.0,
                   help="L2 strength: ridge's alpha; for logistic C = 1/alpha (default 1.0)")
    c.add_argument("--max-iter", type=_positive_int, default=100, help="logistic (default 100)")
    c.add_argument("--tol", type=_non_negative_float, default=1e-4, help="logistic (default 1e-4)")
    c.add_argument("--model", required=True, metavar="m.joblib")
    _add_common(c)

    c = commands.add_parser("forest", help="random forest, trees trained across ranks")
    c.add_argument("--data", required=True, metavar="D.csv")
    c.add_argument("--task", required=True, choices=["classification", "regression"])
    c.add_argument("--n-estimators", type=_positive_int, default=100)
    c.add_argument("--seed", required=True, type=int)
    c.add_argument("--max-depth", type=_non_negative_int, default=0, help="0: unlimited (default)")
    c.add_argument("--min-samples-leaf", type=_positive_int, default=1)
    c.add_argument("--model", required=True, metavar="rf.joblib")
    _add_common(c)

    c = commands.add_parser("grid-search", help="grid search with cross-validation")
    c.add_argument("--data", required=True, metavar="D.csv")
    c.add_argument("--estimator", required=True, choices=["forest", "ridge", "logistic", "svc", "knn"])
    c.add_argument("--grid", required=True, metavar="grid.json")
    c.add_argument("--cv", type=_positive_int, default=5)
    c.add_argument("--seed", required=True, type=int)
    c.add_argument("--task", choices=["auto", "classification", "regression"], default="auto",
                   help="auto (default): regression for ridge, classification for the others")
    c.add_argument("--scoring", default="", help="a scikit-learn scorer name (default: the estimator's score)")
    _switch(c, "--shuffle", "shuffle rows before cutting folds (seeded)")
    c.add_argument("--model", required=True, metavar="best.joblib")
    c.add_argument("--best-params", required=True, metavar="best.json")
    c.add_argument("--scores", required=True, metavar="scores.json")
    _add_common(c)

    c = commands.add_parser("evaluate", help="metrics of a model on a dataset")
    c.add_argument("--model", required=True, metavar="m.joblib")
    c.add_argument("--data", required=True, metavar="E.csv")
    c.add_argument("--metrics", required=True, metavar="metrics.json")
    c.add_argument("--score", metavar="score.txt",
                   help="optional: the headline metric alone (accuracy, r2 or silhouette)")
    _add_common(c)

    c = commands.add_parser("predict", help="batch prediction")
    c.add_argument("--model", required=True, metavar="m.joblib")
    c.add_argument("--data", required=True, metavar="D.csv")
    c.add_argument("--output", required=True, metavar="P.csv")
    _switch(c, "--proba", "classifiers: add one probability column per class")
    _add_common(c)
    return parser


def _route_warnings(comm, command: str) -> None:
    """Library warnings as one line each, from rank 0 only."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        if comm.is_root:
            _say(command, "warning", f"{category.__name__}: {message}")

    warnings.showwarning = show


def _write_stats(comm, outputs, args, threads: int, started: float, rss_at_start: float,
                 cpu_at_start: float) -> None:
    mine = {
        "rank": comm.rank,
        "seconds": time.perf_counter() - started,
        "cpu_seconds": stats.cpu_seconds() - cpu_at_start,
        "peak_rss_mib": stats.peak_rss_mib(),
        "rss_after_imports_mib": rss_at_start,
        "phases": stats.report(),
    }
    ranks = comm.gather(mine)
    if comm.is_root:
        report = {
            "command": args.command,
            "ranks": comm.size,
            "threads_per_rank": threads,
            "seconds": max(rank["seconds"] for rank in ranks),
            "per_rank": ranks,
        }
    else:
        report = None
    outputs.write_json(args.stats, report)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command
    comm = outputs = None
    try:
        from treadle.runtime.threads import export_thread_count, limit_threads, resolve_thread_count

        threads = resolve_thread_count(args.threads)
        export_thread_count(threads)
        from treadle.runtime.mpi import world
        from treadle.runtime.outputs import Outputs

        comm = world()
        component = importlib.import_module(f"treadle.runtime.components.{COMMANDS[command]}")
        limit_threads(threads)
        _route_warnings(comm, command)
        outputs = Outputs(comm)
        if args.stats:
            outputs.check(args.stats)
            stats.start()
        rss_at_start, cpu_at_start = stats.current_rss_mib(), stats.cpu_seconds()
        started = time.perf_counter()
        component.run(args, comm, outputs)
        if args.stats:
            _write_stats(comm, outputs, args, threads, started, rss_at_start, cpu_at_start)
        outputs.publish()
        return 0
    except (UserError, InternalError) as exc:
        if outputs is not None:
            outputs.discard()
        if comm is None or comm.is_root:
            if os.environ.get("TREADLE_DEBUG") == "1":
                raise
            _say(command, "error" if isinstance(exc, UserError) else "internal error", str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a failure on one rank outside any agreed step: no rank may wait
        if os.environ.get("TREADLE_DEBUG") == "1":
            raise
        _say(command, "internal error", f"{type(exc).__name__}: {exc}")
        if outputs is not None:
            outputs.discard()
        if comm is not None and comm.distributed:
            comm.abort(1)
        return 1
    finally:
        stats.stop()


if __name__ == "__main__":
    sys.exit(main())
