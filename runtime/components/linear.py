"""`linear`: least squares, ridge and logistic regression over ranks; plain estimators out.

- linear / ridge: the normal equations. Each rank adds up its centred Gram matrix X'X and
  X'y (p x p and p numbers, the means coming from a first collective); one collective sums
  them and every rank solves the same p x p system. Ridge is then exactly scikit-learn's
  `cholesky` solver (its choice for dense data); least squares takes the minimum-norm
  solution that `LinearRegression`'s `lstsq` gives, through the eigendecomposition of X'X.
- logistic: L-BFGS on the same objective as `LogisticRegression(solver="lbfgs")`
  (mean log-loss + ||w||^2 / (2 C n), intercept unpenalised, multinomial for 3+ classes),
  with scikit-learn's stopping rules. Every rank runs the same optimiser; each objective
  evaluation is one collective of the summed loss and gradient (p + 1 numbers per class).

The fit needs numpy and scipy only; scikit-learn is loaded by rank 0 alone, to build the
model it writes, after the rows are freed (see `scale`).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from scipy import linalg, optimize
from scipy.special import expit, log_softmax

from treadle.runtime.components._moments import centred_cross, centred_gram, column_mean
from treadle.runtime.components._shared import late_import, name_features, row_blocks
from treadle.runtime.csvio import decode_target, read_table
from treadle.runtime.errors import UserError
from treadle.runtime.stats import phase


def _centred_normal_equations(comm, features, target, total_rows):
    x_mean = column_mean(comm, features, total_rows)
    y_mean = comm.sum(np.array([target.sum()]))[0] / total_rows
    gram = centred_gram(comm, features, x_mean)
    cross = centred_cross(comm, features, x_mean, target, y_mean)
    return x_mean, y_mean, gram, cross


def _fitted(estimator: str, params: dict, **attributes) -> SimpleNamespace:
    """A fitted scikit-learn estimator described by its class name, parameters and attributes."""
    return SimpleNamespace(estimator=estimator, params=params, attributes=attributes)


def linear_model(fitted: SimpleNamespace, feature_names: list[str]):
    model = getattr(late_import("sklearn.linear_model"), fitted.estimator)(**fitted.params)
    for name, value in fitted.attributes.items():
        setattr(model, name, value)
    name_features(model, feature_names)
    return model


def solve_ridge(comm, features, target, total_rows, alpha: float) -> SimpleNamespace:
    x_mean, y_mean, gram, cross = _centred_normal_equations(comm, features, target, total_rows)
    gram.flat[:: gram.shape[0] + 1] += alpha
    try:
        coef = linalg.solve(gram, cross, assume_a="pos", overwrite_a=True)
    except (linalg.LinAlgError, ValueError):
        raise UserError("ridge: X'X + alpha I is singular; use alpha > 0") from None
    return _fitted("Ridge", {"alpha": alpha, "solver": "auto"}, coef_=coef,
                   intercept_=float(y_mean - x_mean @ coef), n_iter_=None, solver_="cholesky")


def solve_least_squares(comm, features, target, total_rows) -> SimpleNamespace:
    x_mean, y_mean, gram, cross = _centred_normal_equations(comm, features, target, total_rows)
    eigenvalues, eigenvectors = np.linalg.eigh(gram)
    singular = np.sqrt(np.clip(eigenvalues, 0.0, None))[::-1]
    cutoff = singular[0] * max(total_rows, gram.shape[0]) * np.finfo(np.float64).eps if singular.size else 0.0
    keep = np.sqrt(np.clip(eigenvalues, 0.0, None)) > cutoff
    # minimum-norm solution, as lstsq gives when X has dependent columns
    coef = eigenvectors[:, keep] @ ((eigenvectors[:, keep].T @ cross) / eigenvalues[keep])
    return _fitted("LinearRegression", {}, coef_=coef, intercept_=float(y_mean - x_mean @ coef),
                   rank_=int(keep.sum()), singular_=singular)


class _LogisticObjective:
    """Mean log-loss and gradient over all ranks' rows, plus scikit-learn's L2 penalty."""

    def __init__(self, comm, features, encoded, n_classes, total_rows, C):
        self.comm, self.features, self.encoded = comm, features, encoded
        self.n_classes, self.total_rows = n_classes, total_rows
        self.l2 = 1.0 / (C * total_rows)
        self.n_features = features.shape[1]
        self.evaluations = 0

    def _binary_sums(self, w):
        coef, intercept = w[:-1], w[-1]
        loss, grad = 0.0, np.zeros(self.n_features + 1)
        for rows in row_blocks(self.features.shape[0], self.n_features):
            x, y = self.features[rows], self.encoded[rows]
            raw = x @ coef + intercept
            loss += float(np.sum(np.logaddexp(0.0, raw) - y * raw))
            residual = expit(raw) - y
            grad[:-1] += x.T @ residual
            grad[-1] += residual.sum()
        return loss, grad

    def _multinomial_sums(self, w):
        weights = w.reshape((self.n_classes, -1), order="F")  # scikit-learn's layout
        coef, intercept = weights[:, :-1], weights[:, -1]
        loss, grad = 0.0, np.zeros_like(weights)
        for rows in row_blocks(self.features.shape[0], self.n_features):
            x, y = self.features[rows], self.encoded[rows]
            raw = x @ coef.T + intercept
            log_proba = log_softmax(raw, axis=1)
            loss -= float(log_proba[np.arange(y.shape[0]), y].sum())
            residual = np.exp(log_proba)
            residual[np.arange(y.shape[0]), y] -= 1.0
            grad[:, :-1] += residual.T @ x
            grad[:, -1] += residual.sum(axis=0)
        return loss, grad.ravel(order="F")

    def __call__(self, w):
        self.evaluations += 1
        if self.n_classes == 2:
            loss, grad = self._binary_sums(w)
        else:
            loss, grad = self._multinomial_sums(w)
        pooled = self.comm.sum(np.concatenate([[loss], grad]))
        loss, grad = pooled[0] / self.total_rows, pooled[1:] / self.total_rows
        if self.n_classes == 2:
            coef = w[:-1]
            loss += 0.5 * self.l2 * float(coef @ coef)
            grad[:-1] += self.l2 * coef
        else:
            weights = w.reshape((self.n_classes, -1), order="F")
            coef = weights[:, :-1]
            loss += 0.5 * self.l2 * float(np.sum(coef * coef))
            grad_weights = grad.reshape((self.n_classes, -1), order="F")
            grad_weights[:, :-1] += self.l2 * coef
            grad = grad_weights.ravel(order="F")
        return loss, grad


def solve_logistic(comm, features, labels, total_rows, C: float, max_iter: int = 100, tol: float = 1e-4):
    classes = np.unique(np.concatenate(comm.allgather(np.unique(labels))))
    if classes.shape[0] < 2:
        raise UserError(f"logistic regression needs at least 2 classes, the data have {classes.shape[0]}")
    encoded = np.searchsorted(classes, labels)
    n_classes = classes.shape[0]
    if n_classes == 2:
        encoded = encoded.astype(np.float64)
        w0 = np.zeros(features.shape[1] + 1)
    else:
        w0 = np.zeros((n_classes, features.shape[1] + 1), order="F").ravel(order="F")
    objective = _LogisticObjective(comm, features, encoded, n_classes, total_rows, C)
    result = optimize.minimize(
        objective, w0, method="L-BFGS-B", jac=True,
        options={"maxiter": max_iter, "maxls": 50, "gtol": tol, "ftol": 64 * np.finfo(float).eps},
    )
    if result.status != 0:
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        warnings.warn(f"lbfgs failed to converge after {result.nit} iteration(s): {result.message}",
                      ConvergenceWarning)
    if n_classes == 2:
        coef, intercept = result.x[np.newaxis, :-1].copy(), result.x[-1:].copy()
    else:
        weights = result.x.reshape((n_classes, -1), order="F")
        coef, intercept = np.ascontiguousarray(weights[:, :-1]), weights[:, -1].copy()
    n_iter = np.array([min(result.nit, max_iter)], dtype=np.int32)
    return _fitted("LogisticRegression", {"C": C, "max_iter": max_iter, "tol": tol}, classes_=classes,
                   coef_=coef, intercept_=intercept, n_iter_=n_iter)


def fit_linear(comm, table, kind: str, alpha: float, max_iter: int, tol: float):
    """The fitted estimator, on every rank."""
    return linear_model(solve_linear(comm, table, kind, alpha, max_iter, tol), table.feature_names)


def solve_linear(comm, table, kind: str, alpha: float, max_iter: int, tol: float) -> SimpleNamespace:
    if kind == "logistic":
        if alpha <= 0:
            raise UserError("--alpha must be > 0 for logistic regression (C = 1/alpha)")
        labels = decode_target(comm, table, "classification")
        fitted = solve_logistic(comm, table.features, labels, table.total_rows, 1.0 / alpha, max_iter, tol)
    else:
        target = decode_target(comm, table, "regression")
        if kind == "ridge":
            fitted = solve_ridge(comm, table.features, target, table.total_rows, alpha)
        else:
            fitted = solve_least_squares(comm, table.features, target, table.total_rows)
    return fitted


def run(args, comm, outputs) -> None:
    outputs.check(args.model)
    table = read_table(comm, args.data, target=args.target_column, target_required=True)
    with phase("fit"):
        fitted = solve_linear(comm, table, args.kind, args.alpha, args.max_iter, args.tol)
    feature_names = table.feature_names
    del table
    outputs.write_model(args.model, linear_model(fitted, feature_names) if comm.is_root else None)
