"""What the runtime tests share besides fixtures: CSV files, mpiexec, simulated ranks.

A module of its own (not conftest.py) so that test files import it by a name no other
test folder uses.

`simulate_ranks` runs one function on N threads that stand for N MPI ranks, each with a
communicator that exchanges through shared memory. The distributed code paths (byte
ranges, collectives, partial rows) are then exercised for many data shapes in one
process; the tests under real `mpiexec` check the same things with real processes.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from pathlib import Path

import numpy as np

from treadle.runtime.mpi import Communicator

MPIEXEC = Path(sys.executable).parent / "mpiexec"


def run_mpiexec(argv, **options):
    """`subprocess.run` of an mpiexec command line, its standard input an open pipe that
    carries nothing: MPICH's launcher, given /dev/null on a loaded machine, sometimes
    fails at start with "process reading stdin too slowly" (the local runner does the same)."""
    import subprocess

    read_end, write_end = os.pipe()
    try:
        return subprocess.run(argv, stdin=read_end, **options)
    finally:
        os.close(read_end)
        os.close(write_end)


def write_csv(path, features, target=None, target_name="target", names=None) -> str:
    """A dataset file as the runtime reads it (shortest round-trip float text)."""
    features = np.asarray(features, dtype=np.float64)
    names = names or [f"x{i}" for i in range(features.shape[1])]
    header = list(names) + ([target_name] if target is not None else [])
    lines = [",".join(header)]
    for index, row in enumerate(features):
        fields = [repr(float(value)) for value in row]
        if target is not None:
            fields.append(str(target[index]))
        lines.append(",".join(fields))
    Path(path).write_text("\n".join(lines) + "\n")
    return str(path)


def read_csv(path):
    import pandas as pd

    return pd.read_csv(path)


# -- simulated ranks ------------------------------------------------------------------

class _SharedWorld:
    def __init__(self, size: int):
        self.size = size
        self.barrier = threading.Barrier(size, timeout=120)
        self.slots = [None] * size


class ThreadComm(Communicator):
    """A Communicator whose ranks are threads of this process."""

    def __init__(self, shared: _SharedWorld, rank: int):
        super().__init__(None)
        self._shared, self.rank, self.size = shared, rank, shared.size

    def allgather(self, obj):
        self._shared.slots[self.rank] = obj
        self._shared.barrier.wait()
        values = list(self._shared.slots)
        self._shared.barrier.wait()
        return values

    def bcast(self, obj, root=0):
        return self.allgather(obj)[root]

    def gather(self, obj, root=0):
        values = self.allgather(obj)
        return values if self.rank == root else None

    def barrier(self):
        self._shared.barrier.wait()

    def sum(self, array):
        parts = self.allgather(np.ascontiguousarray(array).copy())
        return functools.reduce(np.add, parts)

    def allgather_rows(self, array):
        return np.concatenate(self.allgather(array))

    def gather_rows(self, array, root=0):
        parts = self.gather(array, root)
        return np.concatenate(parts) if parts is not None else None

    def abort(self, code):
        self._shared.barrier.abort()


def simulate_ranks(size: int, function):
    """Run function(comm) on `size` simulated ranks; returns each rank's result in rank order."""
    shared = _SharedWorld(size)
    results, errors = [None] * size, [None] * size

    def body(rank):
        try:
            results[rank] = function(ThreadComm(shared, rank))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors[rank] = exc
            shared.barrier.abort()

    threads = [threading.Thread(target=body, args=(rank,)) for rank in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first = next((error for error in errors if error is not None and
                  not isinstance(error, threading.BrokenBarrierError)), None)
    first = first or next((error for error in errors if error is not None), None)
    if first is not None:
        raise first
    return results
