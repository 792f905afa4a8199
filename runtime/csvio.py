"""CSV datasets: one header line, then one record per line, numbers in every feature column.

Reading: the data lines are cut into one byte range per rank, each range starting at a
line start, and each rank parses only its own range, in one streaming call of pandas' C
parser, chunk by chunk. Parsing is the costly part of most components, so this is what
makes them scale; it also keeps each rank's memory to its own rows, held once (parsed
chunks are copied into one array as they come, never stacked at the end). (Skipping rows
with `read_csv(skiprows=...)` would still tokenise every skipped line.)

Writing: each rank formats its own rows (orjson's shortest round-trip float formatting,
far faster than Python's `repr`), rank 0 writes the header and its rows into the staged
file, the other ranks into part files beside it, and rank 0 appends the parts in rank
order with an in-kernel copy. Nothing is visible at the destination until every rank
has succeeded (see `outputs.Outputs`).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass

import numpy as np
import orjson
import pandas as pd

from treadle.runtime.errors import UserError
from treadle.runtime.mpi import Communicator, agreed
from treadle.runtime.stats import phase

# Bytes parsed per pandas call, per 100 columns: each call costs ~0.1 ms per column on top
# of the parse (setting up, type inference, the frame), so wide rows need larger blocks.
BLOCK_BYTES = 16 << 20
DEFAULT_TARGET = "target"


@dataclass
class Header:
    path: str
    columns: list[str]
    data_start: int
    file_size: int


@dataclass
class Table:
    """This rank's rows of a dataset (all rows when read with `whole=True`)."""

    path: str
    feature_names: list[str]
    features: np.ndarray
    target_name: str | None
    target: np.ndarray | None  # raw text of the target column, object dtype
    first_row: int
    total_rows: int

    @property
    def local_rows(self) -> int:
        return self.features.shape[0]


def read_header(path: str) -> Header:
    try:
        with open(path, "rb") as handle:
            line = handle.readline()
            file_size = os.fstat(handle.fileno()).st_size
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not a CSV file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    if not line.strip():
        raise UserError(f"{path}: empty file (a CSV header line is required)")
    try:
        text = line.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise UserError(f"{path}: the header is not UTF-8 text") from None
    columns = [name.strip() for name in next(csv.reader([text]))]
    if any(not name for name in columns):
        raise UserError(f"{path}: the header has an empty column name")
    duplicates = sorted({name for name in columns if columns.count(name) > 1})
    if duplicates:
        raise UserError(f"{path}: duplicate column name(s): {', '.join(duplicates)}")
    return Header(path, columns, len(line), file_size)


def _line_start_at_or_after(handle, offset: int, header: Header) -> int:
    if offset <= header.data_start:
        return header.data_start
    if offset >= header.file_size:
        return header.file_size
    position = offset - 1
    handle.seek(position)
    while True:
        block = handle.read(1 << 16)
        if not block:
            return header.file_size
        newline = block.find(b"\n")
        if newline >= 0:
            return position + newline + 1
        position += len(block)


def byte_range(handle, header: Header, rank: int, size: int) -> tuple[int, int]:
    """Rank's share of the data bytes; neighbouring ranks' ranges meet at a line start."""
    span = header.file_size - header.data_start
    nominal_start = header.data_start + span * rank // size
    nominal_end = header.data_start + span * (rank + 1) // size
    return (
        _line_start_at_or_after(handle, nominal_start, header),
        _line_start_at_or_after(handle, nominal_end, header),
    )


def line_blocks(handle, start: int, end: int, block_bytes: int | None = None):
    """Blocks of whole lines covering [start, end), each read once (no carried-over copies)."""
    block_bytes = block_bytes or BLOCK_BYTES
    position = start
    while position < end:
        handle.seek(position)
        data = handle.read(min(block_bytes, end - position))
        if not data:
            return
        while position + len(data) < end:
            cut = data.rfind(b"\n") + 1
            if cut:
                if cut < len(data):
                    data = data[:cut]
                break
            more = handle.read(min(block_bytes, end - position - len(data)))  # a line longer than a block
            if not more:
                break
            data += more
        position += len(data)
        yield data


def _diagnose(block: bytes, header: Header, feature_names: list[str]) -> UserError:
    """Name the column and value that made a block fail to parse as numbers."""
    try:
        frame = pd.read_csv(io.BytesIO(block), **{**_parser_options(header, None), "dtype": object,
                                                   "keep_default_na": False})
    except (ValueError, pd.errors.ParserError) as exc:
        first_line = str(exc).strip().splitlines()[-1]
        return UserError(f"{header.path}: malformed CSV: {first_line}")
    for name in feature_names:
        for value in frame[name]:
            text = "" if value is None else str(value).strip()
            if not text:
                return UserError(f"{header.path}: column {name!r} has a missing value")
            try:
                float(text)
            except ValueError:
                return UserError(f"{header.path}: column {name!r} has a non-numeric value {text!r}")
    return UserError(f"{header.path}: cannot parse the data as numbers")


def _parser_options(header: Header, target_name: str | None) -> dict:
    """pandas' `read_csv` arguments for data lines. Column types are inferred: naming
    float64 up front makes pandas' parser over twice as slow. Every column is parsed, so a
    row with extra fields is an error."""
    return dict(header=None, names=header.columns, index_col=False,
                dtype={target_name: object} if target_name else None, engine="c")


def _all_numeric(frame, feature_names) -> bool:
    return all(frame[name].dtype.kind in "biuf" for name in feature_names)


def _block_bytes(header: Header) -> int:
    """The bytes of a block or chunk for this file: BLOCK_BYTES per 100 columns."""
    return BLOCK_BYTES * max(1, len(header.columns) // 100)


def _parse_block(block: bytes, header: Header, feature_names, target_name):
    """The block's rows as a DataFrame whose feature columns are all numeric."""
    try:
        frame = pd.read_csv(io.BytesIO(block), **_parser_options(header, target_name))
    except (ValueError, TypeError, pd.errors.ParserError):
        raise _diagnose(block, header, feature_names) from None
    if not _all_numeric(frame, feature_names):
        raise _diagnose(block, header, feature_names)
    return frame


class _Rows:
    """A (rows, columns) float64 array filled block by block, its final size unknown.

    The array starts at the caller's estimate of the rows (from the range's bytes per row)
    and grows in place (`ndarray.resize`, a `realloc` that remaps large arrays rather than
    copying them), so the rows are copied once, from each parsed chunk, and never held twice.
    """

    def __init__(self, columns: int, capacity: int = 0):
        self.array = np.empty((capacity, columns))
        self.filled = 0

    def reserve(self, rows: int) -> None:
        if rows > self.array.shape[0]:
            self.array.resize((rows, self.array.shape[1]), refcheck=False)

    def append(self, values: np.ndarray) -> None:
        end = self.filled + values.shape[0]
        if end > self.array.shape[0]:
            self.reserve(max(end, self.array.shape[0] * 3 // 2))
        self.array[self.filled : end] = values
        self.filled = end

    def result(self) -> np.ndarray:
        if self.filled == 0:
            return np.empty((0, self.array.shape[1]))
        self.array.resize((self.filled, self.array.shape[1]), refcheck=False)
        return self.array


class _ByteRange(io.RawIOBase):
    """Bytes [start, end) of a file as a stream of its own, so that pandas parses a rank's
    whole share in one streaming call: its reader fills a small buffer at a time, where
    cutting the share into large blocks first cost a third of the parse in reads, copies
    and fresh memory."""

    def __init__(self, path: str, start: int, end: int) -> None:
        super().__init__()
        self.file = open(path, "rb", buffering=0)
        self.file.seek(start)
        self.left = end - start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.left <= 0:
            return 0
        with memoryview(buffer) as view:
            got = self.file.readinto(view[: min(len(view), self.left)]) or 0
        self.left -= got
        return got

    def close(self) -> None:
        self.file.close()
        super().close()


class _Unparsable(Exception):
    """Rows that are not all numbers where features should be: diagnosed block by block."""


def _bytes_per_row(handle, start: int, end: int) -> float:
    """Judged from the first 64 KiB of [start, end)."""
    handle.seek(start)
    sample = handle.read(min(1 << 16, end - start))
    return len(sample) / max(1, sample.count(b"\n"))


def _read_rows(handle, start: int, end: int, header: Header, feature_names, target_name) -> tuple[np.ndarray, list]:
    """Parse [start, end) into the features' rows and the target's text (in parts), in
    chunks of about `_block_bytes` each."""
    bytes_per_row = _bytes_per_row(handle, start, end)
    rows = _Rows(len(feature_names), int((end - start) / bytes_per_row * 1.05) + 16)
    target_parts: list = []
    per_chunk = max(1, int(_block_bytes(header) / bytes_per_row))
    try:
        with _ByteRange(handle.name, start, end) as stream, pd.read_csv(
            stream, chunksize=per_chunk, **_parser_options(header, target_name)
        ) as reader:
            for frame in reader:
                if not len(frame):  # blank lines only (a range at the end of a file can be)
                    continue
                if not _all_numeric(frame, feature_names):
                    raise _Unparsable
                values = frame[feature_names].to_numpy(dtype=np.float64)
                _check_finite(values, header, feature_names)
                rows.append(values)
                if target_name:
                    target_parts.append(frame[target_name].to_numpy(dtype=object))
                del frame, values
    except (ValueError, TypeError, pd.errors.ParserError):
        raise _Unparsable from None
    return rows.result(), target_parts


def _diagnose_range(handle, start: int, end: int, header: Header, feature_names, target_name) -> UserError:
    """The error of the first block of [start, end) that does not parse as numbers."""
    for block in line_blocks(handle, start, end, _block_bytes(header)):
        try:
            frame = _parse_block(block, header, feature_names, target_name)
        except UserError as error:
            return error
        _check_finite(frame[feature_names].to_numpy(dtype=np.float64), header, feature_names)
    return UserError(f"{header.path}: cannot parse the data as numbers")


def _check_finite(features: np.ndarray, header: Header, feature_names) -> None:
    finite = np.isfinite(features).all(axis=0)
    if not finite.all():
        bad_column = feature_names[int(np.flatnonzero(~finite)[0])]
        raise UserError(f"{header.path}: column {bad_column!r} has a missing or infinite value")


def _resolve_columns(header: Header, target: str | None, target_required: bool,
                     features: list[str] | None) -> tuple[list[str], str | None]:
    present = set(header.columns)
    if target_required and target not in present:
        raise UserError(
            f"{header.path}: no target column {target!r} "
            f"(columns: {', '.join(header.columns)}; choose one with --target-column)"
        )
    target_name = target if target in present else None
    if features is None:
        features = [name for name in header.columns if name != target_name]
    else:
        missing = [name for name in features if name not in present]
        if missing:
            raise UserError(f"{header.path}: missing column(s) the model needs: {', '.join(missing)}")
    if not features:
        raise UserError(f"{header.path}: no feature columns")
    return list(features), target_name


@phase("read")
def read_table(
    comm: Communicator,
    path: str,
    target: str | None = DEFAULT_TARGET,
    target_required: bool = False,
    features: list[str] | None = None,
    whole: bool = False,
    min_rows: int = 1,
) -> Table:
    """Read this rank's share of the rows (or, with `whole`, every row on every rank)."""
    with agreed(comm):
        header = read_header(path)
        feature_names, target_name = _resolve_columns(header, target, target_required, features)
        local_features, target_parts = np.empty((0, len(feature_names))), []
        with open(path, "rb") as handle:
            start, end = byte_range(handle, header, comm.rank, comm.size)
            if start < end:
                try:
                    local_features, target_parts = _read_rows(handle, start, end, header, feature_names, target_name)
                except _Unparsable:
                    raise _diagnose_range(handle, start, end, header, feature_names, target_name) from None
        local_target = (
            np.concatenate(target_parts) if target_parts else
            (np.empty(0, dtype=object) if target_name else None)
        )
    total_rows = comm.sum_int(local_features.shape[0])
    if total_rows < min_rows:
        raise UserError(f"{path}: {total_rows} data row(s), at least {min_rows} needed")
    first_row = comm.rows_before(local_features.shape[0])
    if whole and comm.distributed:
        local_features = comm.allgather_rows(local_features)
        if local_target is not None:
            local_target = comm.allgather_rows(local_target)
        first_row = 0
    return Table(path, feature_names, local_features, target_name, local_target, first_row, total_rows)


def decode_target(comm: Communicator, table: Table, kind: str) -> np.ndarray:
    """Target text -> numbers for regression, class labels for classification.

    Class labels stay text unless every rank's labels are all numbers, in which case they
    become integers (or floats), as pandas would read them; the decision is collective so
    that all ranks agree on the label type.
    """
    raw = table.target
    if raw is None:
        raise UserError(f"{table.path}: no target column {table.target_name!r}")
    series = pd.Series(raw, dtype=object)
    cleaned = series.astype(str).str.strip()
    if any(comm.allgather(bool(series.isna().any() or (cleaned == "").any()))):
        raise UserError(f"{table.path}: the target column {table.target_name!r} has a missing value")
    numeric = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=np.float64)
    all_numeric = bool(np.isfinite(numeric).all())
    cleaned = cleaned.to_numpy(dtype=object)
    votes = comm.allgather(all_numeric)
    if kind == "regression":
        if not all(votes):
            raise UserError(f"{table.path}: the target column {table.target_name!r} is not numeric")
        return numeric
    if all(votes):
        integral = comm.allgather(bool(np.all(numeric == np.round(numeric))))
        return numeric.astype(np.int64) if all(integral) else numeric
    return cleaned.astype(str)


# -- writing ------------------------------------------------------------------------

def _escape(text: str) -> str:
    if any(char in text for char in ',"\r\n') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


def header_line(columns: list[str]) -> bytes:
    return (",".join(_escape(name) for name in columns) + "\n").encode()


def text_fields(values) -> list[bytes]:
    """One CSV field per value: integers and labels as text, floats in shortest round-trip form."""
    array = np.asarray(values)
    if array.dtype.kind == "f":
        return _float_rows(array.reshape(-1, 1)).split(b"\n")[:-1]
    if array.dtype.kind in "iub":
        return [str(int(value)).encode() for value in array]
    return [b"" if value is None or value != value else _escape(str(value)).encode() for value in array]


def _float_rows(values: np.ndarray) -> bytes:
    if values.shape[0] == 0:
        return b""
    values = np.ascontiguousarray(values, dtype=np.float64)
    if np.isfinite(values).all():
        body = orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY)
        return body[2:-2].replace(b"],[", b"\n") + b"\n"
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in values).encode()


def format_rows(values: np.ndarray, trailing: list[bytes] | None = None) -> bytes:
    """CSV text of a block of numeric rows, with an optional last field per row."""
    if trailing is None:
        return _float_rows(values)
    if values.shape[1] == 0:
        return b"".join(field + b"\n" for field in trailing)
    lines = _float_rows(values).split(b"\n")[:-1]
    return b"\n".join(map(b",".join, zip(lines, trailing))) + b"\n"


def _append_file(source: str, destination_handle) -> None:
    with open(source, "rb") as handle:
        remaining = os.fstat(handle.fileno()).st_size
        try:
            while remaining > 0:
                copied = os.copy_file_range(handle.fileno(), destination_handle.fileno(), remaining)
                if copied == 0:
                    break
                remaining -= copied
        except OSError:
            handle.seek(os.fstat(handle.fileno()).st_size - remaining)
            while chunk := handle.read(BLOCK_BYTES):
                destination_handle.write(chunk)


def part_path(staged: str, rank: int) -> str:
    return f"{staged}.part{rank}"


@phase("write")
def write_rows(comm: Communicator, staged: str, header: bytes, blocks) -> None:
    """Write every rank's rows, in rank order, below one header line into `staged`.

    `blocks` yields this rank's CSV text blocks (see `format_rows`). Collective.
    """
    own_path = staged if comm.is_root else part_path(staged, comm.rank)
    with agreed(comm):
        with open(own_path, "wb") as handle:
            if comm.is_root:
                handle.write(header)
            for block in blocks:
                handle.write(block)
    with agreed(comm):
        if comm.is_root and comm.distributed:
            with open(staged, "ab") as handle:
                for rank in range(1, comm.size):
                    _append_file(part_path(staged, rank), handle)
                    os.remove(part_path(staged, rank))
