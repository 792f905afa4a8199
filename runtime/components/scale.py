"""`scale`: standard scaling from moments summed over ranks; a plain StandardScaler out.

Each rank reads its own rows; one collective gives the means, one the variances; each rank
then scales and writes its own rows. The scaler's attributes equal those of
`StandardScaler().fit` on the whole file (to rounding), and its output rows are computed
by the same operations as its `transform`. scikit-learn is loaded only by rank 0, to write
the model, after the rows are written and freed: the other ranks never need it, and its
~70 MiB do not add to the memory the rows take.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from treadle.runtime.components._moments import centred_variance, column_mean
from treadle.runtime.components._shared import late_import, name_features, output_blocks
from treadle.runtime.csvio import format_rows, read_table, text_fields
from treadle.runtime.stats import phase


def scaling(comm, table) -> SimpleNamespace:
    """The fitted scaler's numbers, under StandardScaler's attribute names."""
    n = table.total_rows
    mean = column_mean(comm, table.features, n)
    variance = centred_variance(comm, table.features, mean, n)
    # scikit-learn treats a feature as constant up to rounding and leaves it unscaled
    eps = np.finfo(np.float64).eps
    constant = variance <= n * eps * variance + (n * mean * eps) ** 2
    scale = np.sqrt(variance)
    scale[constant] = 1.0
    return SimpleNamespace(mean_=mean, var_=variance, scale_=scale, n_samples_seen_=np.int64(n))


def standard_scaler(fitted: SimpleNamespace, feature_names: list[str]):
    scaler = late_import("sklearn.preprocessing").StandardScaler()
    scaler.mean_, scaler.var_, scaler.scale_ = fitted.mean_, fitted.var_, fitted.scale_
    scaler.n_samples_seen_ = fitted.n_samples_seen_
    name_features(scaler, feature_names)
    return scaler


def fit_scaler(comm, table):
    """A `StandardScaler` fitted on all ranks' rows."""
    return standard_scaler(scaling(comm, table), table.feature_names)


def scaled_rows(scaler, table):
    """CSV blocks of this rank's scaled rows, the target text carried over unchanged."""
    for rows in output_blocks(table.local_rows, table.features.shape[1]):
        block = table.features[rows] - scaler.mean_
        block /= scaler.scale_
        trailing = text_fields(table.target[rows]) if table.target is not None else None
        yield format_rows(block, trailing)


def run(args, comm, outputs) -> None:
    outputs.check(args.output, args.model)
    table = read_table(comm, args.data, target=args.target_column)
    with phase("fit"):
        fitted = scaling(comm, table)
    columns = table.feature_names + ([table.target_name] if table.target is not None else [])
    outputs.write_csv(args.output, columns, scaled_rows(fitted, table))
    feature_names = table.feature_names
    del table
    outputs.write_model(args.model, standard_scaler(fitted, feature_names) if comm.is_root else None)
