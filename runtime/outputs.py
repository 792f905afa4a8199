"""Outputs staged beside their destinations and published together, only on success.

A step that fails half-way must leave no output a later step could mistake for a
result: every output is written to a hidden temporary file in the destination's own
folder (so the final `os.replace` is an atomic rename on the same file system), and
the renames happen only after every output of the command was written on every rank.
Only rank 0 publishes; single-file outputs (models, JSON, values) are written by rank 0
alone, CSV row outputs by all ranks as described in `csvio.write_rows`.
"""

from __future__ import annotations

import json
import os
import secrets

from treadle.runtime.errors import UserError
from treadle.runtime.mpi import Communicator, agreed
from treadle.runtime.stats import phase


class Outputs:
    def __init__(self, comm: Communicator):
        self.comm = comm
        self._token = comm.bcast(secrets.token_hex(6) if comm.is_root else None)
        self._staged: dict[str, str] = {}

    def check(self, *destinations: str | None) -> None:
        """Fail early, before any work, on a destination that cannot be written."""
        with agreed(self.comm):
            for destination in destinations:
                if destination is None:
                    continue
                if os.path.isdir(destination):
                    raise UserError(f"{destination}: is a folder; an output file path is needed")
                folder = os.path.dirname(os.path.abspath(destination))
                try:
                    os.makedirs(folder, exist_ok=True)
                except OSError as exc:
                    raise UserError(f"{destination}: cannot create its folder ({exc.strerror})") from None
                if not os.access(folder, os.W_OK):
                    raise UserError(f"{destination}: its folder is not writable")

    def stage(self, destination: str) -> str:
        """The temporary path that stands for `destination` until `publish`."""
        folder, name = os.path.split(os.path.abspath(destination))
        staged = os.path.join(folder, f".{name}.{self._token}.tmp")
        self._staged[destination] = staged
        return staged

    # -- rank-0 writers (other ranks only register the staged path) ------------------
    def write_bytes(self, destination: str, data: bytes) -> None:
        staged = self.stage(destination)
        with phase("write"), agreed(self.comm):
            if self.comm.is_root:
                with open(staged, "wb") as handle:
                    handle.write(data)

    def write_json(self, destination: str, value) -> None:
        self.write_bytes(destination, (json.dumps(value, indent=2, sort_keys=False) + "\n").encode())

    def write_value(self, destination: str, value) -> None:
        """A one-value output: the value's text alone, with a final newline."""
        if not self.comm.is_root:
            self.write_bytes(destination, b"")  # only rank 0 writes; the others just take part
            return
        text = repr(float(value)) if isinstance(value, float) else ("nan" if value is None else str(value))
        self.write_bytes(destination, f"{text}\n".encode())

    def write_model(self, destination: str, estimator) -> None:
        staged = self.stage(destination)
        with phase("write"), agreed(self.comm):
            if self.comm.is_root:
                import joblib

                joblib.dump(estimator, staged)

    def write_csv(self, destination: str, columns: list[str] | bytes, blocks) -> None:
        """Rows from every rank, in rank order; `columns` is the header (or its raw line)."""
        from treadle.runtime.csvio import header_line, write_rows

        header = columns if isinstance(columns, bytes) else header_line(columns)
        write_rows(self.comm, self.stage(destination), header, blocks)

    # -- end of the command -----------------------------------------------------------
    def publish(self) -> None:
        with agreed(self.comm):
            if self.comm.is_root:
                for destination, staged in self._staged.items():
                    os.replace(staged, destination)
        self._staged.clear()

    def discard(self) -> None:
        """Remove whatever this rank staged; safe to call after any failure."""
        from treadle.runtime.csvio import part_path

        for staged in self._staged.values():
            own = staged if self.comm.is_root else part_path(staged, self.comm.rank)
            try:
                os.remove(own)
            except OSError:
                pass
        self._staged.clear()
