"""Rank helpers and a communicator that works with or without `mpiexec`.

Outside `mpiexec`, and under `mpiexec -n 1`, the runtime never imports mpi4py: a
one-process stand-in answers every collective, so a one-rank run has no MPI start-up
cost, no MPI memory and no collective work.

A rank that reaches a collective before the others waits without burning its core: it
polls a non-blocking barrier with short sleeps (MPICH would otherwise spin), so on a node
with more busy processes than cores the ranks still working get the CPU.

Every collective that decides control flow (convergence, errors) must give all ranks
bit-identical values; sums are therefore reduced to rank 0 and broadcast, which the
MPI standard guarantees, rather than relying on `Allreduce` giving the same rounding
on every rank.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

from treadle.runtime import stats
from treadle.runtime.errors import InternalError, UserError

# Variables that MPICH (Hydra), Open MPI and PMIx launchers set in every rank.
_LAUNCHER_VARIABLES = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK")
_LOCAL_SIZE_VARIABLES = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE")
_WORLD_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")  # MPICH's and Open MPI's


def launched_by_mpi() -> bool:
    """True when an MPI launcher started this process (`TREADLE_MPI=0|1` overrides)."""
    forced = os.environ.get("TREADLE_MPI")
    if forced in ("0", "1"):
        return forced == "1"
    return any(name in os.environ for name in _LAUNCHER_VARIABLES)


def local_rank_count() -> int:
    """How many ranks share this node, read from the launcher before MPI starts."""
    for name in _LOCAL_SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    for name in _WORLD_SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 1


class Communicator:
    """The world communicator, or a single-process stand-in with the same methods."""

    def __init__(self, mpi_comm=None):
        self._comm = mpi_comm
        self.rank = mpi_comm.Get_rank() if mpi_comm is not None else 0
        self.size = mpi_comm.Get_size() if mpi_comm is not None else 1

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @contextmanager
    def _collective(self):
        """Wait for every rank to reach this point, sleeping rather than spinning, then
        run the collective; the time it all takes is accounted to `collectives`."""
        started = time.perf_counter()
        request = self._comm.Ibarrier()
        pause = 0.0
        while not request.Test():
            time.sleep(pause)
            pause = min(0.001, pause + 0.00005)
        try:
            yield
        finally:
            stats.add_collective_time(time.perf_counter() - started)

    # -- object collectives -------------------------------------------------------
    def bcast(self, obj, root: int = 0):
        if self._comm is None:
            return obj
        with self._collective():
            return self._comm.bcast(obj, root=root)

    def gather(self, obj, root: int = 0):
        if self._comm is None:
            return [obj]
        with self._collective():
            return self._comm.gather(obj, root=root)

    def allgather(self, obj) -> list:
        if self._comm is None:
            return [obj]
        with self._collective():
            return self._comm.allgather(obj)

    def barrier(self) -> None:
        if self._comm is not None:
            with self._collective():
                pass

    # -- numeric collectives ------------------------------------------------------
    def sum(self, array):
        """Element-wise sum over ranks, bit-identical on every rank (float64 or int64)."""
        import numpy as np

        local = np.ascontiguousarray(array)
        if self._comm is None:
            return local.copy()
        from mpi4py import MPI

        total = np.empty_like(local)
        with self._collective():
            self._comm.Reduce(local, total, op=MPI.SUM, root=0)
            self._comm.Bcast(total, root=0)
        return total

    def sum_scalar(self, value: float) -> float:
        import numpy as np

        return float(self.sum(np.array([value], dtype=np.float64))[0])

    def sum_int(self, value: int) -> int:
        import numpy as np

        return int(self.sum(np.array([value], dtype=np.int64))[0])

    def rows_before(self, local_rows: int) -> int:
        """Exclusive prefix sum of row counts: the global index of this rank's first row."""
        counts = self.allgather(int(local_rows))
        return sum(counts[: self.rank])

    def allgather_rows(self, array):
        """Concatenate every rank's rows (axis 0) on every rank, in rank order."""
        import numpy as np

        if self._comm is None:
            return array
        if array.dtype == object:
            return np.concatenate(self.allgather(array))
        local = np.ascontiguousarray(array)
        counts = self.allgather(local.shape[0])
        row_items = int(np.prod(local.shape[1:], dtype=np.int64))
        result = np.empty((sum(counts),) + local.shape[1:], dtype=local.dtype)
        from mpi4py.util.dtlib import from_numpy_dtype

        sizes = [c * row_items for c in counts]
        offsets = [sum(sizes[:r]) for r in range(self.size)]
        with self._collective():
            self._comm.Allgatherv(local, [result, sizes, offsets, from_numpy_dtype(local.dtype)])
        return result

    def gather_rows(self, array, root: int = 0):
        """Concatenate every rank's rows on `root` only (None elsewhere)."""
        import numpy as np

        if self._comm is None:
            return array
        parts = self.gather(array, root=root)
        return np.concatenate(parts) if self.rank == root else None

    # -- failure agreement --------------------------------------------------------
    def agree(self, error: BaseException | None) -> None:
        """Raise the same error on every rank if any rank had one; else return."""
        message = None
        internal = False
        if error is not None:
            internal = not isinstance(error, UserError)
            message = str(error) if not internal else f"{type(error).__name__}: {error}"
        outcomes = self.allgather((message, internal))
        for message, internal in outcomes:
            if message is not None:
                raise (InternalError if internal else UserError)(message)

    def abort(self, code: int) -> None:
        """End every rank at once; used only when ranks can no longer agree."""
        if self._comm is not None:
            self._comm.Abort(code)


@contextmanager
def agreed(comm: Communicator):
    """Run a block that may fail on some ranks only; afterwards all ranks fail alike or none."""
    failure = None
    try:
        yield
    except Exception as exc:  # any failure, so that no rank waits forever in a collective
        failure = exc
    comm.agree(failure)


_WORLD: Communicator | None = None


def _launched_alone() -> bool:
    """True under a launcher that started this one rank only (`mpiexec -n 1`): then the
    one-process communicator serves, and MPI is neither imported nor started."""
    if os.environ.get("TREADLE_MPI") == "1":
        return False
    return any(os.environ.get(name) == "1" for name in _WORLD_SIZE_VARIABLES)


def world() -> Communicator:
    """The process-wide communicator, started on first use."""
    global _WORLD
    if _WORLD is None:
        if launched_by_mpi() and not _launched_alone():
            from mpi4py import MPI

            _WORLD = Communicator(MPI.COMM_WORLD)
        else:
            _WORLD = Communicator(None)
    return _WORLD


def share(total: int, rank: int, size: int) -> tuple[int, int]:
    """Start and end of rank's contiguous share of `total` items, remainder to the first ranks."""
    base, extra = divmod(total, size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)
