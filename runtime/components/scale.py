"""`scale`: standard scaling from moments summed over ranks; a plain StandardScaler out.

Each rank reads its own rows; one collective gives the means, one the variances; each rank
then scales and writes its own rows. The scaler's attributes equal those of
`StandardScaler().fit` on the whole file (to rounding), and its output rows are computed
by the same operations as its `transform`.
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import StandardScaler

from treadle.runtime.components._moments import centred_variance, column_mean
from treadle.runtime.components._shared import name_features, output_blocks
from treadle.runtime.csvio import format_rows, read_table, text_fields
from treadle.runtime.stats import phase


def fit_scaler(comm, table) -> StandardScaler:
    n = table.total_rows
    mean = column_mean(comm, table.features, n)
    variance = centred_variance(comm, table.features, mean, n)
    # scikit-learn treats a feature as constant up to rounding and leaves it unscaled
    eps = np.finfo(np.float64).eps
    constant = variance <= n * eps * variance + (n * mean * eps) ** 2
    scale = np.sqrt(variance)
    scale[constant] = 1.0
    scaler = StandardScaler()
    scaler.mean_, scaler.var_, scaler.scale_ = mean, variance, scale
    scaler.n_samples_seen_ = np.int64(n)
    name_features(scaler, table.feature_names)
    return scaler


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
        scaler = fit_scaler(comm, table)
    columns = table.feature_names + ([table.target_name] if table.target is not None else [])
    outputs.write_csv(args.output, columns, scaled_rows(scaler, table))
    outputs.write_model(args.model, scaler)
