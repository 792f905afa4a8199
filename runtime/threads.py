"""BLAS/OpenMP thread control per rank.

Two ranks on two cores each running a two-thread BLAS fight over the cores, so the
runtime decides the thread count per rank before numpy is imported:

- `--threads N` or `TREADLE_THREADS=N`: N threads per rank;
- `--threads auto`: the usable cores of this node divided by the ranks on it;
- neither: 1 thread per rank under an MPI launcher, `auto` in a single process.

The count is exported to the usual variables (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS,
MKL_NUM_THREADS, ...) so libraries start no larger pools, and enforced again with
threadpoolctl after import, which also covers libraries loaded later.
"""

from __future__ import annotations

import os

from treadle.runtime.errors import UserError
from treadle.runtime.mpi import launched_by_mpi, local_rank_count

_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def resolve_thread_count(requested: str | None) -> int:
    """Threads per rank from the flag, the environment, or the default rule."""
    value = requested or os.environ.get("TREADLE_THREADS") or ""
    if not value:
        value = "1" if launched_by_mpi() else "auto"
    if value == "auto":
        return max(1, usable_cores() // local_rank_count()) if launched_by_mpi() else usable_cores()
    if not value.isdigit() or int(value) < 1:
        raise UserError(f"--threads must be a positive integer or 'auto', got {value!r}")
    return int(value)


def export_thread_count(count: int) -> None:
    """Set the thread variables before numpy/scipy/sklearn load their pools."""
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(count)


def limit_threads(count: int):
    """Enforce the count on every loaded BLAS/OpenMP pool; returns the threadpoolctl limiter."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=count)
