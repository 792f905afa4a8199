"""`pca`: principal components from the covariance summed over ranks; a plain PCA out.

Each rank reads its own rows and adds up its centred Gram matrix (p x p); one collective
sums them, and the eigendecomposition of the p x p covariance is done on every rank. This
is scikit-learn's `covariance_eigh` solver (its choice for tall data, n > 10 p) split over
ranks: the communication is p^2 numbers, whatever the row count. Components are signed as
scikit-learn signs them (largest absolute loading positive).
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA

from treadle.runtime.components._moments import centred_gram, column_mean
from treadle.runtime.components._shared import name_features, output_blocks
from treadle.runtime.csvio import format_rows, read_table, text_fields
from treadle.runtime.errors import UserError
from treadle.runtime.stats import phase


def fit_pca(comm, table, n_components: int, whiten: bool = False) -> PCA:
    n, p = table.total_rows, table.features.shape[1]
    if n < 2:
        raise UserError(f"{table.path}: PCA needs at least 2 rows, got {n}")
    if n_components > min(n, p):
        raise UserError(
            f"--n-components {n_components} exceeds min(rows, features) = {min(n, p)} of {table.path}"
        )
    mean = column_mean(comm, table.features, n)
    covariance = centred_gram(comm, table.features, mean) / (n - 1)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    eigenvalues, eigenvectors = eigenvalues[::-1].copy(), eigenvectors[:, ::-1]
    eigenvalues[eigenvalues < 0.0] = 0.0
    components = np.ascontiguousarray(eigenvectors.T)
    largest = np.argmax(np.abs(components), axis=1)
    components *= np.sign(components[np.arange(p), largest])[:, np.newaxis]
    ratio = eigenvalues / eigenvalues.sum()

    pca = PCA(n_components=n_components, whiten=whiten, svd_solver="covariance_eigh")
    pca._fit_svd_solver = "covariance_eigh"
    pca.mean_ = mean
    pca.components_ = components[:n_components].copy()
    pca.explained_variance_ = eigenvalues[:n_components].copy()
    pca.explained_variance_ratio_ = ratio[:n_components].copy()
    pca.singular_values_ = np.sqrt(eigenvalues * (n - 1))[:n_components].copy()
    pca.noise_variance_ = float(eigenvalues[n_components:].mean()) if n_components < min(n, p) else 0.0
    pca.n_components_ = n_components
    pca.n_samples_ = n
    name_features(pca, table.feature_names)
    return pca


def projected_rows(pca, table):
    for rows in output_blocks(table.local_rows, table.features.shape[1]):
        block = table.features[rows] - pca.mean_
        block = block @ pca.components_.T
        if pca.whiten:
            scale = np.sqrt(pca.explained_variance_)
            block /= np.maximum(scale, np.finfo(np.float64).eps)
        trailing = text_fields(table.target[rows]) if table.target is not None else None
        yield format_rows(block, trailing)


def run(args, comm, outputs) -> None:
    outputs.check(args.output, args.model)
    table = read_table(comm, args.data, target=args.target_column)
    with phase("fit"):
        pca = fit_pca(comm, table, args.n_components, args.whiten)
    columns = [f"pca{index}" for index in range(pca.n_components_)]
    columns += [table.target_name] if table.target is not None else []
    outputs.write_csv(args.output, columns, projected_rows(pca, table))
    outputs.write_model(args.model, pca)
