"""`split`: train and test rows, chosen as `train_test_split` would choose them.

Rows are copied as text, byte for byte, so no number is ever re-formatted. Each rank
reads its own byte range of lines; only the row count (and, with --stratify, the class
of every row) is shared, which is all scikit-learn's splitter needs to pick the rows.
The chosen rows keep their order in the file (`train_test_split` returns them shuffled).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from treadle.runtime.csvio import Table, byte_range, decode_target, line_blocks, read_header
from treadle.runtime.errors import UserError
from treadle.runtime.mpi import agreed


def test_size_value(text: str):
    """A fraction in (0, 1) or a whole row count (also written as 30.0), as train_test_split takes."""
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"--test-size must be a fraction or a row count, got {text!r}") from None
    if 0.0 < value < 1.0:
        return value
    if value >= 1.0 and value == int(value):
        return int(value)
    raise UserError(f"--test-size must be a fraction in (0, 1) or a whole row count >= 1, got {text}")


def _local_lines(path, header, comm):
    lines = []
    with open(path, "rb") as handle:
        start, end = byte_range(handle, header, comm.rank, comm.size)
        for block in line_blocks(handle, start, end):
            lines.extend(line for line in block.split(b"\n") if line.strip(b"\r"))
    return lines


def _target_text(lines, header, target):
    column = header.columns.index(target)
    frame = pd.read_csv(
        io.BytesIO(b"\n".join(lines)), header=None, names=header.columns,
        usecols=[column], index_col=False, dtype=object, na_filter=False, engine="c",
    ) if lines else None
    return frame.iloc[:, 0].to_numpy(dtype=object) if frame is not None else np.empty(0, dtype=object)


def run(args, comm, outputs) -> None:
    test_size = test_size_value(args.test_size)
    outputs.check(args.train, args.test)
    with agreed(comm):
        header = read_header(args.data)
        if args.stratify and args.target_column not in header.columns:
            raise UserError(f"{args.data}: no target column {args.target_column!r} to stratify on")
        lines = _local_lines(args.data, header, comm)
        labels_text = _target_text(lines, header, args.target_column) if args.stratify else None
    total = comm.sum_int(len(lines))
    first = comm.rows_before(len(lines))
    stratify = None
    if args.stratify:
        table = Table(args.data, [], np.empty((len(lines), 0)), args.target_column, labels_text, first, total)
        stratify = comm.allgather_rows(decode_target(comm, table, "classification"))
    try:
        _, test_rows = train_test_split(
            np.arange(total), test_size=test_size, random_state=args.seed, stratify=stratify,
        )
    except ValueError as exc:
        raise UserError(f"cannot split {total} row(s): {exc}") from None
    in_test = np.zeros(total, dtype=bool)
    in_test[test_rows] = True
    mine = in_test[first : first + len(lines)]
    with open(args.data, "rb") as handle:
        raw_header = handle.readline()
    if not raw_header.endswith(b"\n"):
        raw_header += b"\n"

    def rows(wanted: bool):
        chosen = [line for line, test in zip(lines, mine) if test == wanted]
        if chosen:
            yield b"\n".join(chosen) + b"\n"

    outputs.write_csv(args.train, raw_header, rows(False))
    outputs.write_csv(args.test, raw_header, rows(True))
