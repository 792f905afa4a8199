"""`pca`: principal components from the covariance summed over ranks; a plain PCA out.

Each rank reads its own rows and adds up its centred Gram matrix (p x p); one collective
sums them, and the eigendecomposition of the p x p covariance is done on every rank. This
is scikit-learn's `covariance_eigh` solver (its choice for tall data, n > 10 p) split over
ranks: the communication is p^2 numbers, whatever the row count. Components are signed as
scikit-learn signs them (largest absolute loading positive). As in `scale`, scikit-learn
is loaded by rank 0 alone, after the rows are written and freed.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from treadle.runtime.components._moments import centred_gram, column_mean
from treadle.runtime.components._shared import late_import, name_features, output_blocks
from treadle.runtime.csvio import format_rows, read_table, text_fields
from treadle.runtime.errors import UserError
from treadle.runtime.stats import phase


def principal_axes(comm, table, n_components: int, whiten: bool = False) -> SimpleNamespace:
    """The fitted PCA's numbers, under PCA's attribute names."""
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

    return SimpleNamespace(
        whiten=whiten,
        mean_=mean,
        components_=components[:n_components].copy(),
        explained_variance_=eigenvalues[:n_components].copy(),
        explained_variance_ratio_=ratio[:n_components].copy(),
        singular_values_=np.sqrt(eigenvalues * (n - 1))[:n_components].copy(),
        noise_variance_=float(eigenvalues[n_components:].mean()) if n_components < min(n, p) else 0.0,
        n_components_=n_components,
        n_samples_=n,
    )


def pca_model(fitted: SimpleNamespace, feature_names: list[str]):
    pca = late_import("sklearn.decomposition").PCA(
        n_components=fitted.n_components_, whiten=fitted.whiten, svd_solver="covariance_eigh"
    )
    pca._fit_svd_solver = "covariance_eigh"
    for name, value in vars(fitted).items():
        if name.endswith("_"):
            setattr(pca, name, value)
    name_features(pca, feature_names)
    return pca


def fit_pca(comm, table, n_components: int, whiten: bool = False):
    """A `PCA` fitted on all ranks' rows."""
    return pca_model(principal_axes(comm, table, n_components, whiten), table.feature_names)


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
        fitted = principal_axes(comm, table, args.n_components, args.whiten)
    columns = [f"pca{index}" for index in range(fitted.n_components_)]
    columns += [table.target_name] if table.target is not None else []
    outputs.write_csv(args.output, columns, projected_rows(fitted, table))
    feature_names = table.feature_names
    del table
    outputs.write_model(args.model, pca_model(fitted, feature_names) if comm.is_root else None)
