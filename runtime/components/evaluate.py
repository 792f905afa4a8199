"""`evaluate`: metrics of a fitted model on a dataset, as JSON.

Each rank reads and predicts its own rows (prediction is the costly part); the labels,
predictions and scores, a few numbers per row, are gathered on rank 0, which computes the
metrics with `sklearn.metrics` exactly as on the whole file.

- classifiers: accuracy, f1 (binary: of the second class; otherwise macro), roc_auc where
  defined (scores or probabilities available and at least two classes present), and the
  confusion matrix with its label order;
- regressors: r2, mae, rmse;
- clustering (k-means): inertia on these rows, and the silhouette (on all rows up to
  10,000, else on a seeded sample of 10,000 rows).

`--score` writes the headline metric alone (accuracy, r2 or silhouette), for pipeline
conditions such as `if score.score >= 0.9`.
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics
from sklearn.base import is_classifier, is_regressor

from treadle.runtime.components._shared import check_feature_count, frame, load_model
from treadle.runtime.csvio import decode_target, read_header, read_table
from treadle.runtime.errors import UserError
from treadle.runtime.mpi import agreed

SILHOUETTE_ROWS = 10_000


def model_kind(model) -> str:
    if is_classifier(model):
        return "classification"
    if is_regressor(model):
        return "regression"
    if hasattr(model, "cluster_centers_") and hasattr(model, "predict"):
        return "clustering"
    raise UserError(f"cannot evaluate a {type(model).__name__}: a classifier, regressor or k-means model is needed")


def read_for_model(comm, model, path: str, target_column: str, target_required: bool):
    """This rank's rows, with the columns the model was fitted on."""
    with agreed(comm):
        header = read_header(path)
    names = getattr(model, "feature_names_in_", None)
    features = [str(name) for name in names] if names is not None else None
    table = read_table(comm, path, target=target_column, target_required=target_required, features=features)
    with agreed(comm):
        check_feature_count(model, table.feature_names, header.path)
    return table


def _scores(model, x):
    if hasattr(model, "predict_proba"):
        try:
            return model.predict_proba(x)
        except AttributeError:  # e.g. SVC without probability=True
            pass
    if hasattr(model, "decision_function"):
        return model.decision_function(x)
    return None


def classification_metrics(model, truth, predicted, scores) -> dict:
    classes = list(model.classes_)
    binary = len(classes) == 2
    result = {
        "n_samples": int(truth.shape[0]),
        "accuracy": float(metrics.accuracy_score(truth, predicted)),
        "f1": float(
            metrics.f1_score(truth, predicted, pos_label=classes[1], zero_division=0) if binary
            else metrics.f1_score(truth, predicted, labels=classes, average="macro", zero_division=0)
        ),
        "f1_average": "binary" if binary else "macro",
        "roc_auc": None,
    }
    present = np.unique(truth)
    if scores is not None and present.shape[0] >= 2 and set(present) <= set(classes):
        if binary:
            positive = scores[:, 1] if scores.ndim == 2 else scores
            result["roc_auc"] = float(metrics.roc_auc_score(truth == classes[1], positive))
        elif scores.ndim == 2 and present.shape[0] == len(classes) and hasattr(model, "predict_proba"):
            result["roc_auc"] = float(metrics.roc_auc_score(truth, scores, multi_class="ovr", labels=classes))
    result["labels"] = [label.item() if hasattr(label, "item") else label for label in classes]
    result["confusion_matrix"] = metrics.confusion_matrix(truth, predicted, labels=classes).tolist()
    return result


def regression_metrics(truth, predicted) -> dict:
    return {
        "n_samples": int(truth.shape[0]),
        "r2": float(metrics.r2_score(truth, predicted)),
        "mae": float(metrics.mean_absolute_error(truth, predicted)),
        "rmse": float(np.sqrt(metrics.mean_squared_error(truth, predicted))),
    }


def clustering_metrics(comm, model, table) -> dict:
    x = frame(table.features, table.feature_names) if hasattr(model, "feature_names_in_") else table.features
    with agreed(comm):
        labels = model.predict(x) if table.local_rows else np.empty(0, dtype=np.int32)
        local_inertia = -model.score(x) if table.local_rows else 0.0
    inertia = comm.sum_scalar(local_inertia)
    n = table.total_rows
    if n > SILHOUETTE_ROWS:
        chosen = np.sort(np.random.RandomState(0).choice(n, SILHOUETTE_ROWS, replace=False))
        local = chosen[(chosen >= table.first_row) & (chosen < table.first_row + table.local_rows)] - table.first_row
    else:
        local = np.arange(table.local_rows)
    sample = comm.gather_rows(table.features[local])
    sample_labels = comm.gather_rows(labels[local])
    result = {"n_samples": n, "inertia": inertia, "silhouette": None}
    if comm.is_root and 2 <= np.unique(sample_labels).shape[0] < sample.shape[0]:
        result["silhouette"] = float(metrics.silhouette_score(sample, sample_labels))
    return result


def _gather_on_root(comm, array):
    """Rows of every rank on rank 0 (ranks without rows send nothing)."""
    parts = comm.gather(array if array is not None and array.shape[0] else None)
    if not comm.is_root:
        return None
    parts = [part for part in parts if part is not None]
    return np.concatenate(parts) if parts else None


HEADLINE = {"classification": "accuracy", "regression": "r2", "clustering": "silhouette"}


def run(args, comm, outputs) -> None:
    outputs.check(args.metrics, args.score)
    with agreed(comm):
        model = load_model(args.model)
        kind = model_kind(model)
    table = read_for_model(comm, model, args.data, args.target_column, kind != "clustering")
    if kind == "clustering":
        _write(args, outputs, kind, clustering_metrics(comm, model, table))
        return
    truth = decode_target(comm, table, kind)
    x = frame(table.features, table.feature_names) if hasattr(model, "feature_names_in_") else table.features
    predicted = scores = None
    with agreed(comm):
        if table.local_rows:
            predicted = model.predict(x)
            scores = _scores(model, x) if kind == "classification" else None
    every_rank_scored = all(comm.allgather(scores is not None or not table.local_rows))
    all_truth, all_predicted = _gather_on_root(comm, truth), _gather_on_root(comm, predicted)
    all_scores = _gather_on_root(comm, scores) if every_rank_scored else None
    result = None
    with agreed(comm):
        if comm.is_root:
            if kind == "classification":
                result = classification_metrics(model, all_truth, all_predicted, all_scores)
            else:
                result = regression_metrics(all_truth, all_predicted)
    _write(args, outputs, kind, result)


def _write(args, outputs, kind: str, result: dict | None) -> None:
    outputs.write_json(args.metrics, result)
    if args.score:
        outputs.write_value(args.score, result[HEADLINE[kind]] if result is not None else None)
