"""`kmeans`: Lloyd's k-means over ranks, started from scikit-learn's own k-means++ centres.

- Start: the k-means++ draw of `KMeans(random_state=seed)` replayed over distributed rows.
  Every rank holds the same random generator and makes the same draws; the sums that the
  draws are scaled by (potentials, cumulative distances) are summed over ranks, and the
  chosen rows are fetched from the rank that holds them. The centres are those that
  `KMeans` would start from on the whole file.
- Each iteration: the local assignment and per-centre sums use scikit-learn's Cython Lloyd
  kernel; ONE collective then sums the per-centre sums, counts and a "labels changed" flag,
  and every rank derives the same new centres. Convergence rules (strict label stability,
  then centre shift against `tol` scaled by the data variance) are scikit-learn's.
- The data are centred first, as scikit-learn does for accurate distances.
"""

from __future__ import annotations

import os

import numpy as np
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.cluster._k_means_common import _inertia_dense
from sklearn.cluster._k_means_lloyd import lloyd_iter_chunked_dense
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils.extmath import row_norms

from treadle.runtime.components._moments import centred_variance, column_mean
from treadle.runtime.components._shared import name_features
from treadle.runtime.csvio import format_rows, read_table
from treadle.runtime.errors import UserError
from treadle.runtime.stats import phase


def _openmp_threads() -> int:
    value = os.environ.get("OMP_NUM_THREADS", "1")
    return int(value) if value.isdigit() and int(value) > 0 else 1


def _rows_by_global_index(comm, features, first_row, indices) -> np.ndarray:
    """The rows with these global indices, on every rank (each row comes from its owner)."""
    rows = np.zeros((len(indices), features.shape[1]))
    local = np.asarray(indices) - first_row
    mine = (local >= 0) & (local < features.shape[0])
    rows[mine] = features[local[mine]]
    return comm.sum(rows)  # exactly one rank contributes each row, the others add zeros


def _squared_distances(points, features, squared_norms) -> np.ndarray:
    """scikit-learn's squared distances from `points` to the local rows (none on a rank without rows)."""
    if features.shape[0] == 0:
        return np.empty((points.shape[0], 0))
    return euclidean_distances(points, features, Y_norm_squared=squared_norms, squared=True)


def _global_searchsorted(comm, local_cumsum, offset, first_row, values) -> np.ndarray:
    """np.searchsorted over the concatenated cumulative sums of all ranks."""
    shifted = local_cumsum + offset
    positions = np.searchsorted(shifted, values)
    mine = np.where(positions < shifted.shape[0], first_row + positions, np.iinfo(np.int64).max)
    return np.min(np.asarray(comm.allgather(mine)), axis=0)


def kmeans_plusplus(comm, features, squared_norms, n_clusters, random_state, first_row, total_rows):
    """The centres `sklearn.cluster.kmeans_plusplus` would pick from all rows, and their indices."""
    n_features = features.shape[1]
    centers = np.empty((n_clusters, n_features))
    indices = np.full(n_clusters, -1, dtype=int)
    n_local_trials = 2 + int(np.log(n_clusters))
    all_weights = np.ones(total_rows)
    center_id = random_state.choice(total_rows, p=all_weights / all_weights.sum())
    del all_weights
    centers[0] = _rows_by_global_index(comm, features, first_row, [center_id])[0]
    indices[0] = center_id
    closest = _squared_distances(centers[0, np.newaxis], features, squared_norms)[0]
    ones = np.ones(features.shape[0])
    current_pot = comm.sum(np.array([closest @ ones]))[0]

    for c in range(1, n_clusters):
        rand_vals = random_state.uniform(size=n_local_trials) * current_pot
        local_cumsum = np.cumsum(closest)
        totals = comm.allgather(float(local_cumsum[-1]) if local_cumsum.shape[0] else 0.0)
        offset = sum(totals[: comm.rank])
        candidate_ids = _global_searchsorted(comm, local_cumsum, offset, first_row, rand_vals)
        np.clip(candidate_ids, None, total_rows - 1, out=candidate_ids)
        candidates = _rows_by_global_index(comm, features, first_row, candidate_ids)
        distances = _squared_distances(candidates, features, squared_norms)
        np.minimum(closest, distances, out=distances)
        candidates_pot = comm.sum(distances @ ones)
        best = int(np.argmin(candidates_pot))
        current_pot = candidates_pot[best]
        closest = distances[best]
        centers[c] = candidates[best]
        indices[c] = candidate_ids[best]
    return centers, indices


def _local_sums(features, sample_weight, centers, centers_new, weights, labels, shift, threads):
    """Assign local rows to `centers`; return per-centre sums and counts of local rows."""
    n_rows, n_clusters = features.shape[0], centers.shape[0]
    if n_rows == 0:
        return np.zeros_like(centers), np.zeros(n_clusters)
    # The fused kernel also sums the rows per centre, but relocates locally empty clusters,
    # which needs at least as many rows as clusters; fewer rows only get their labels.
    fused = n_rows >= n_clusters
    lloyd_iter_chunked_dense(features, sample_weight, centers, centers_new, weights, labels, shift, threads,
                             update_centers=fused)
    counts = np.bincount(labels, minlength=n_clusters).astype(np.float64)
    if fused and (counts > 0).all():
        # no local cluster was empty, so nothing was moved: undo the kernel's averaging
        return centers_new * weights[:, np.newaxis], weights.copy()
    one_hot = sparse.csr_matrix((sample_weight, labels, np.arange(n_rows + 1)), shape=(n_rows, n_clusters))
    return np.asarray(one_hot.T @ features), counts


def _relocate_empty(comm, features, centers, labels, first_row, sums, counts) -> None:
    """Move each empty cluster to a point far from its centre, the very point scikit-learn's
    `_relocate_empty_clusters_dense` picks: its `argpartition` leaves ties and the order of
    the farthest points to the selection algorithm, so the distances of all rows are
    gathered (one float and one label per row, only in an iteration that empties a
    cluster) and partitioned exactly as it does."""
    empty = np.flatnonzero(counts == 0)
    if empty.size == 0:
        return
    local = ((features - centers[labels]) ** 2).sum(axis=1) if features.shape[0] else np.empty(0)
    distances = np.concatenate(comm.allgather(local))  # ranks hold consecutive rows, in order
    all_labels = np.concatenate(comm.allgather(labels))
    if distances.shape[0] == 0 or np.max(distances) == 0:
        return  # more clusters than distinct points: nothing to relocate
    far = np.argpartition(distances, -empty.size)[: -empty.size - 1 : -1]
    rows = _rows_by_global_index(comm, features, first_row, far)
    for cluster, index, row in zip(empty, far, rows):
        old_cluster = all_labels[index]
        sums[old_cluster] -= row
        sums[cluster] = row
        counts[cluster] = 1.0
        counts[old_cluster] -= 1.0


def lloyd(comm, features, centers, first_row, max_iter, tol, threads):
    """scikit-learn's `_kmeans_single_lloyd`, with one collective per iteration."""
    n_clusters, n_features = centers.shape
    sample_weight = np.ones(features.shape[0])
    centers_new = np.zeros_like(centers)
    labels = np.full(features.shape[0], -1, dtype=np.int32)
    labels_old = labels.copy()
    weights = np.zeros(n_clusters)
    shift = np.zeros(n_clusters)
    strict_convergence = False
    for iteration in range(max_iter):
        sums, counts = _local_sums(features, sample_weight, centers, centers_new, weights, labels, shift, threads)
        changed = float(not np.array_equal(labels, labels_old))
        pooled = comm.sum(np.concatenate([sums.ravel(), counts, [changed]]))
        sums = pooled[: n_clusters * n_features].reshape(n_clusters, n_features)
        counts = pooled[n_clusters * n_features : -1]
        _relocate_empty(comm, features, centers, labels, first_row, sums, counts)
        filled = counts > 0
        updated = np.empty_like(centers)
        updated[filled] = sums[filled] * (1.0 / counts[filled])[:, np.newaxis]
        updated[~filled] = updated[np.argmax(counts)]
        center_shift_total = float(((updated - centers) ** 2).sum())
        centers = updated
        if pooled[-1] == 0:
            strict_convergence = True
            break
        if center_shift_total <= tol:
            break
        labels_old[:] = labels
    if not strict_convergence and features.shape[0]:
        lloyd_iter_chunked_dense(features, sample_weight, centers, centers, weights, labels, shift,
                                 threads, update_centers=False)
    local_inertia = _inertia_dense(features, sample_weight, centers, labels, threads) if features.shape[0] else 0.0
    inertia = comm.sum(np.array([local_inertia]))[0]
    return labels, float(inertia), centers, iteration + 1


def fit_kmeans(comm, table, n_clusters, seed, max_iter=300, tol=1e-4):
    """A fitted `KMeans` equal to `KMeans(n_clusters, n_init=1, random_state=seed).fit` (labels on rank 0),
    this rank's labels, and the k-means++ start (in the data's coordinates)."""
    if not 0 <= seed < 2**32:
        raise UserError(f"--seed must be in [0, 2**32), got {seed}")
    n = table.total_rows
    if n_clusters > n:
        raise UserError(f"--k {n_clusters} is larger than the number of rows ({n}) of {table.path}")
    threads = _openmp_threads()
    features = table.features
    mean = column_mean(comm, features, n)
    features -= mean  # centred in place, as KMeans does on its copy
    variance = centred_variance(comm, features, column_mean(comm, features, n), n)
    scaled_tol = float(np.mean(variance) * tol) if tol else 0.0
    squared_norms = row_norms(features, squared=True)
    random_state = np.random.RandomState(seed)
    start, _ = kmeans_plusplus(comm, features, squared_norms, n_clusters, random_state, table.first_row, n)
    labels, inertia, centers, n_iter = lloyd(comm, features, start, table.first_row, max_iter, scaled_tol, threads)
    centers += mean
    start = start + mean
    features += mean

    counts = comm.sum(np.bincount(labels, minlength=n_clusters).astype(np.int64))
    if (counts == 0).any():
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        warnings.warn(
            f"Number of distinct clusters ({int((counts > 0).sum())}) found smaller than "
            f"n_clusters ({n_clusters}). Possibly due to duplicate points in X.",
            ConvergenceWarning,
        )
    model = KMeans(n_clusters=n_clusters, n_init=1, max_iter=max_iter, tol=tol, random_state=seed,
                   algorithm="lloyd")
    model.cluster_centers_ = centers
    model.labels_ = comm.gather_rows(labels)
    model.inertia_ = inertia
    model.n_iter_ = n_iter
    model._n_features_out = n_clusters
    model._n_threads = threads
    model._tol = scaled_tol
    model._n_init = 1
    model._algorithm = "lloyd"
    name_features(model, table.feature_names)
    return model, labels, start


def run(args, comm, outputs) -> None:
    outputs.check(args.model, args.inertia, args.labels)
    table = read_table(comm, args.data, target=args.target_column)
    with phase("fit"):
        model, labels, _ = fit_kmeans(comm, table, args.k, args.seed, args.max_iter, args.tol)
    if args.labels:
        def blocks():
            yield format_rows(np.empty((labels.shape[0], 0)), [str(int(v)).encode() for v in labels])

        outputs.write_csv(args.labels, ["cluster"], blocks())
    outputs.write_model(args.model, model)
    outputs.write_value(args.inertia, model.inertia_)
