"""`grid-search`: cross-validated grid search with (candidate, fold) fits dealt over ranks.

Every rank reads its byte range and the rows are then shared (every fit needs any row).
The candidate list (`ParameterGrid`), the folds (`check_cv`, or a seeded shuffle), the
fit of each (candidate, fold) and its score are scikit-learn's own, as in `GridSearchCV`;
pair t of the candidate-major list is fitted on rank t mod N. The scores are gathered and
summarised exactly as `GridSearchCV.cv_results_` does, so the best parameters, the CV
scores and their ranks are the same. The best candidate is then refitted on all rows: a
forest with its trees spread over ranks (see `forest`), other estimators on rank 0.
"""

from __future__ import annotations

import json
import time

import numpy as np
from scipy.stats import rankdata
from sklearn.base import clone, is_classifier
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge, RidgeClassifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import KFold, ParameterGrid, StratifiedKFold, check_cv
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.svm import SVC, SVR

from treadle.runtime.components._shared import name_features
from treadle.runtime.components.forest import grow_across_ranks
from treadle.runtime.csvio import decode_target, read_table
from treadle.runtime.errors import UserError
from treadle.runtime.mpi import agreed
from treadle.runtime.stats import phase

DEFAULT_TASK = {"forest": "classification", "ridge": "regression", "logistic": "classification",
                "svc": "classification", "knn": "classification"}


def base_estimator(name: str, task: str, seed: int):
    if name == "forest":
        kind = RandomForestClassifier if task == "classification" else RandomForestRegressor
        return kind(random_state=seed)
    if name == "ridge":
        return RidgeClassifier() if task == "classification" else Ridge()
    if name == "logistic":
        if task != "classification":
            raise UserError("--estimator logistic is a classifier; use --task classification")
        return LogisticRegression(random_state=seed)
    if name == "svc":
        return SVC(random_state=seed) if task == "classification" else SVR()
    return KNeighborsClassifier() if task == "classification" else KNeighborsRegressor()


def read_grid(path: str, estimator) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as handle:
            grid = json.load(handle)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: not a JSON parameter grid ({exc})") from None
    try:
        candidates = list(ParameterGrid(grid))
    except (TypeError, ValueError) as exc:
        raise UserError(f"{path}: {exc}") from None
    if not candidates:
        raise UserError(f"{path}: the grid has no candidate")
    known = estimator.get_params()
    unknown = sorted({name for candidate in candidates for name in candidate if name not in known})
    if unknown:
        raise UserError(f"{path}: unknown parameter(s) for {type(estimator).__name__}: {', '.join(unknown)}")
    return candidates


def folds(estimator, target, n_splits: int, shuffle: bool, seed: int):
    if shuffle:
        kind = StratifiedKFold if is_classifier(estimator) else KFold
        splitter = kind(n_splits=n_splits, shuffle=True, random_state=seed)
    else:
        splitter = check_cv(n_splits, target, classifier=is_classifier(estimator))
    try:
        return list(splitter.split(np.zeros((target.shape[0], 1)), target))
    except ValueError as exc:
        raise UserError(f"cannot cut {n_splits} folds: {exc}") from None


def fit_and_score(estimator, params, scorer, features, target, train, test):
    """One (candidate, fold) pair as GridSearchCV's `_fit_and_score` runs it (error score NaN)."""
    model = clone(estimator).set_params(**clone(params, safe=False))
    started = time.perf_counter()
    try:
        model.fit(features[train], target[train])
        score = float(scorer(model, features[test], target[test]))
        failure = None
    except Exception as exc:  # GridSearchCV records a failed fit as a NaN score
        score, failure = float("nan"), f"{type(exc).__name__}: {exc}"
    return score, time.perf_counter() - started, failure


def summarise(candidates, scores: np.ndarray, fit_times: np.ndarray) -> dict:
    """The test-score part of `GridSearchCV.cv_results_`, computed the same way."""
    means = np.average(scores, axis=1)
    stds = np.sqrt(np.average((scores - means[:, np.newaxis]) ** 2, axis=1))
    if np.isnan(means).all():
        ranks = np.ones_like(means, dtype=np.int32)
    else:
        ranks = rankdata(-np.nan_to_num(means, nan=np.nanmin(means) - 1), method="min").astype(np.int32)

    def plain(values):
        return [None if not np.isfinite(value) else float(value) for value in values]

    results = {"params": candidates, "mean_test_score": plain(means), "std_test_score": plain(stds),
               "rank_test_score": [int(rank) for rank in ranks]}
    for split in range(scores.shape[1]):
        results[f"split{split}_test_score"] = plain(scores[:, split])
    results["mean_fit_time"] = plain(np.average(fit_times, axis=1))
    return results


def run(args, comm, outputs) -> None:
    outputs.check(args.model, args.best_params, args.scores)
    task = DEFAULT_TASK[args.estimator] if args.task == "auto" else args.task
    estimator = base_estimator(args.estimator, task, args.seed)
    candidates = read_grid(args.grid, estimator)
    table = read_table(comm, args.data, target=args.target_column, target_required=True, whole=True)
    target = decode_target(comm, table, "classification" if is_classifier(estimator) else "regression")
    features = table.features
    splits = folds(estimator, target, args.cv, args.shuffle, args.seed)
    try:
        scorer = check_scoring(estimator, scoring=args.scoring or None)
    except (ValueError, TypeError) as exc:
        raise UserError(f"--scoring: {exc}") from None

    pairs = [(c, f) for c in range(len(candidates)) for f in range(len(splits))]
    results = []
    with phase("search"), agreed(comm):
        for c, f in pairs[comm.rank :: comm.size]:
            train, test = splits[f]
            results.append((c, f) + fit_and_score(estimator, candidates[c], scorer, features, target, train, test))
    scores = np.full((len(candidates), len(splits)), np.nan)
    fit_times = np.zeros_like(scores)
    failures = []
    for c, f, score, seconds, failure in (item for part in comm.allgather(results) for item in part):
        scores[c, f], fit_times[c, f] = score, seconds
        if failure:
            failures.append(failure)
    if failures and len(failures) == scores.size:
        raise UserError(f"all {scores.size} fits failed; the first: {failures[0]}")
    if failures:
        import warnings

        from sklearn.exceptions import FitFailedWarning

        warnings.warn(f"{len(failures)} of {scores.size} fits failed (scored NaN); the first: {failures[0]}",
                      FitFailedWarning)

    summary = summarise(candidates, scores, fit_times)
    best = int(np.argmin(summary["rank_test_score"]))
    best_model = clone(estimator).set_params(**clone(candidates[best], safe=False))
    with phase("refit"):
        if isinstance(best_model, (RandomForestClassifier, RandomForestRegressor)):
            best_model = grow_across_ranks(comm, best_model, features, target)
        else:
            with agreed(comm):
                if comm.is_root:
                    best_model.fit(features, target)
    if comm.is_root:
        name_features(best_model, table.feature_names)
    outputs.write_model(args.model, best_model)
    outputs.write_json(args.best_params, candidates[best])
    summary["best_index"] = best
    summary["best_score"] = summary["mean_test_score"][best]
    outputs.write_json(args.scores, summary)
