"""`predict`: batch prediction; each rank predicts and writes its own rows, in file order.

The output has one `prediction` column (the class, value or cluster of each row); with
`--proba`, a classifier adds one `proba_<class>` column per class. A transformer model
(a scaler or PCA from this runtime) writes its transformed columns instead.
"""

from __future__ import annotations

import numpy as np

from treadle.runtime.components._shared import frame, load_model, output_blocks
from treadle.runtime.components.evaluate import read_for_model
from treadle.runtime.csvio import format_rows, text_fields
from treadle.runtime.errors import UserError
from treadle.runtime.mpi import agreed


def output_columns(model, proba: bool) -> list[str]:
    if hasattr(model, "predict"):
        columns = ["prediction"]
        if proba:
            if not hasattr(model, "predict_proba") or not hasattr(model, "classes_"):
                raise UserError(f"--proba: a {type(model).__name__} gives no class probabilities")
            columns += [f"proba_{label}" for label in model.classes_]
        return columns
    if hasattr(model, "transform") and hasattr(model, "get_feature_names_out"):
        return [str(name) for name in model.get_feature_names_out()]
    raise UserError(f"a {type(model).__name__} can neither predict nor transform")


def predicted_rows(model, table, proba: bool):
    named = hasattr(model, "feature_names_in_")
    for rows in output_blocks(table.local_rows, table.features.shape[1]):
        x = frame(table.features[rows], table.feature_names) if named else table.features[rows]
        if not hasattr(model, "predict"):
            yield format_rows(np.asarray(model.transform(x), dtype=np.float64))
            continue
        labels = text_fields(model.predict(x))
        if proba:
            yield _with_leading(labels, model.predict_proba(x))
        else:
            yield format_rows(np.empty((len(labels), 0)), labels)


def _with_leading(first: list[bytes], values: np.ndarray) -> bytes:
    lines = format_rows(values).split(b"\n")[:-1]
    return b"\n".join(map(b",".join, zip(first, lines))) + b"\n" if lines else b""


def run(args, comm, outputs) -> None:
    outputs.check(args.output)
    with agreed(comm):
        model = load_model(args.model)
        columns = output_columns(model, args.proba)
    table = read_for_model(comm, model, args.data, args.target_column, target_required=False)
    outputs.write_csv(args.output, columns, predicted_rows(model, table, args.proba))
