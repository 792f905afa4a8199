"""Column means and centred second moments over all ranks' rows.

Two passes over the local rows with one collective each: the sum gives the mean, then
sums of centred values give variances (or the covariance) without the cancellation of
the one-pass sum-of-squares formula. Passes work on row blocks so the temporaries stay
small whatever the data size.
"""

from __future__ import annotations

import numpy as np

from treadle.runtime.components._shared import row_blocks


def column_mean(comm, features: np.ndarray, total_rows: int) -> np.ndarray:
    return comm.sum(features.sum(axis=0)) / total_rows


def centred_variance(comm, features: np.ndarray, mean: np.ndarray, total_rows: int) -> np.ndarray:
    """Population variance, with the same rounding correction as scikit-learn's scaler."""
    columns = features.shape[1]
    sums = np.zeros(2 * columns)
    for rows in row_blocks(features.shape[0], columns):
        centred = features[rows] - mean
        sums[:columns] += centred.sum(axis=0)
        centred **= 2
        sums[columns:] += centred.sum(axis=0)
    sums = comm.sum(sums)
    correction, squares = sums[:columns], sums[columns:]
    return (squares - correction**2 / total_rows) / total_rows


def centred_gram(comm, features: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Sum over all rows of (x - mean)(x - mean)^T."""
    columns = features.shape[1]
    gram = np.zeros((columns, columns))
    for rows in row_blocks(features.shape[0], columns, values_per_block=1 << 21):
        centred = features[rows] - mean
        gram += centred.T @ centred
    return comm.sum(gram)


def centred_cross(comm, features: np.ndarray, mean: np.ndarray, target: np.ndarray, target_mean: float) -> np.ndarray:
    """Sum over all rows of (x - mean)(y - target_mean)."""
    cross = np.zeros(features.shape[1])
    for rows in row_blocks(features.shape[0], features.shape[1]):
        cross += (features[rows] - mean).T @ (target[rows] - target_mean)
    return comm.sum(cross)
