"""Every component under a real `mpiexec -n N` (N = 1, 2, 3) against scikit-learn in one process.

One mpiexec launch per N runs all commands (see mpi_driver.py); each test then compares
one command's outputs with what scikit-learn computes on the same files.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs, make_classification, make_regression
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.preprocessing import StandardScaler

from runtime_helpers import MPIEXEC, run_mpiexec, write_csv

DRIVER = Path(__file__).with_name("mpi_driver.py")
GRID = {"C": [0.05, 0.5, 5.0]}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mpi-data")
    x, y = make_classification(n_samples=300, n_features=6, n_informative=4, n_redundant=0,
                               n_classes=3, random_state=0)
    write_csv(folder / "cls.csv", x[:240], y[:240])
    write_csv(folder / "cls_test.csv", x[240:], y[240:])
    xr, yr = make_regression(n_samples=250, n_features=5, noise=0.5, random_state=1)
    write_csv(folder / "reg.csv", xr, np.round(yr, 6))
    xb, _ = make_blobs(n_samples=400, n_features=4, centers=5, random_state=2)
    write_csv(folder / "blobs.csv", xb * [1.0, 2.0, 0.5, 3.0] + [10.0, -5.0, 0.0, 100.0])
    (folder / "grid.json").write_text(json.dumps(GRID))
    (folder / "bad.csv").write_text("x0,x1,target\n1.0,2.0,0\n3.0,oops,1\n")
    return folder


def commands(d: Path, out: Path) -> list[list[str]]:
    return [
        ["split", "--data", d / "cls.csv", "--test-size", "0.3", "--seed", "4", "--stratify",
         "--train", out / "train.csv", "--test", out / "test.csv"],
        ["scale", "--data", d / "blobs.csv", "--output", out / "scaled.csv", "--model", out / "scaler.joblib"],
        ["pca", "--data", d / "blobs.csv", "--n-components", "3", "--output", out / "pca.csv",
         "--model", out / "pca.joblib"],
        ["kmeans", "--data", d / "blobs.csv", "--k", "5", "--seed", "3", "--model", out / "km.joblib",
         "--inertia", out / "inertia.txt"],
        ["linear", "--data", d / "reg.csv", "--kind", "linear", "--model", out / "ols.joblib"],
        ["linear", "--data", d / "reg.csv", "--kind", "ridge", "--alpha", "2.5", "--model", out / "ridge.joblib"],
        ["linear", "--data", d / "cls.csv", "--kind", "logistic", "--alpha", "0.5", "--max-iter", "500",
         "--model", out / "logistic.joblib"],
        ["forest", "--data", d / "cls.csv", "--task", "classification", "--n-estimators", "7", "--seed", "5",
         "--model", out / "rf.joblib"],
        ["grid-search", "--data", d / "cls.csv", "--estimator", "logistic", "--grid", d / "grid.json",
         "--cv", "4", "--seed", "0", "--model", out / "best.joblib", "--best-params", out / "best.json",
         "--scores", out / "scores.json"],
        ["evaluate", "--model", out / "rf.joblib", "--data", d / "cls_test.csv", "--metrics", out / "metrics.json"],
        ["predict", "--model", out / "rf.joblib", "--data", d / "cls_test.csv", "--output", out / "pred.csv"],
        # bad input under MPI: every rank must stop, exit 2, and write nothing
        ["scale", "--data", d / "bad.csv", "--output", out / "never.csv", "--model", out / "never.joblib"],
        ["kmeans", "--data", d / "blobs.csv", "--k", "401", "--seed", "0", "--model", out / "never_km.joblib",
         "--inertia", out / "never.txt"],
    ]


@pytest.fixture(scope="module", params=[1, 2, 3], ids=lambda n: f"{n}ranks")
def run(request, data, tmp_path_factory):
    ranks = request.param
    out = tmp_path_factory.mktemp(f"mpi-{ranks}")
    plan = [[str(part) for part in argv] for argv in commands(data, out)]
    plan_file, codes_file = out / "plan.json", out / "codes.json"
    plan_file.write_text(json.dumps(plan))
    completed = run_mpiexec(
        [str(MPIEXEC), "-n", str(ranks), sys.executable, str(DRIVER), str(plan_file), str(codes_file)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(codes_file.read_text())
    return {"ranks": ranks, "out": out, "data": data, "codes": report["codes"], "stderr": completed.stderr,
            "mpi_started": report["mpi_started"]}


def _features(path):
    frame = pd.read_csv(path)
    return frame.drop(columns=["target"], errors="ignore").to_numpy(), (
        frame["target"].to_numpy() if "target" in frame else None
    )


def test_every_good_command_succeeds_and_bad_ones_exit_2(run):
    assert run["codes"] == [0] * 11 + [2, 2]
    assert not list(run["out"].glob("never*"))
    assert not [p for p in run["out"].iterdir() if p.name.startswith(".")], "staged files left behind"
    assert "column 'x1' has a non-numeric value 'oops'" in run["stderr"]
    assert "--k 401 is larger than the number of rows (400)" in run["stderr"]
    assert "Traceback" not in run["stderr"]


def test_one_rank_starts_no_mpi(run):
    assert run["mpi_started"] == (run["ranks"] > 1)


def test_split_is_train_test_split(run):
    x, y = _features(run["data"] / "cls.csv")
    rows = np.arange(len(y))
    train_rows, test_rows = train_test_split(rows, test_size=0.3, random_state=4, stratify=y)
    lines = (run["data"] / "cls.csv").read_text().splitlines()
    assert (run["out"] / "train.csv").read_text().splitlines() == [lines[0]] + [lines[1 + i] for i in sorted(train_rows)]
    assert (run["out"] / "test.csv").read_text().splitlines() == [lines[0]] + [lines[1 + i] for i in sorted(test_rows)]


def test_scaler_equals_standard_scaler(run):
    x, _ = _features(run["data"] / "blobs.csv")
    expected = StandardScaler().fit(x)
    scaler = joblib.load(run["out"] / "scaler.joblib")
    assert type(scaler) is StandardScaler
    for name in ("mean_", "var_", "scale_"):
        np.testing.assert_allclose(getattr(scaler, name), getattr(expected, name), rtol=1e-8)
    assert scaler.n_samples_seen_ == 400
    scaled, _ = _features(run["out"] / "scaled.csv")
    np.testing.assert_allclose(scaled, expected.transform(x), rtol=1e-8, atol=1e-12)


def test_pca_equals_pca_up_to_sign(run):
    x, _ = _features(run["data"] / "blobs.csv")
    expected = PCA(n_components=3, svd_solver="full").fit(x)
    pca = joblib.load(run["out"] / "pca.joblib")
    signs = np.sign(np.sum(pca.components_ * expected.components_, axis=1))
    np.testing.assert_allclose(pca.components_ * signs[:, None], expected.components_, rtol=1e-8, atol=1e-10)
    for name in ("explained_variance_", "explained_variance_ratio_", "singular_values_", "mean_"):
        np.testing.assert_allclose(getattr(pca, name), getattr(expected, name), rtol=1e-8)
    projected, _ = _features(run["out"] / "pca.csv")
    np.testing.assert_allclose(projected * signs, expected.transform(x), rtol=1e-7, atol=1e-9)


def test_kmeans_equals_kmeans_from_the_same_start(run):
    x, _ = _features(run["data"] / "blobs.csv")
    expected = KMeans(n_clusters=5, n_init=1, random_state=3).fit(x)
    model = joblib.load(run["out"] / "km.joblib")
    assert type(model) is KMeans
    np.testing.assert_allclose(model.cluster_centers_, expected.cluster_centers_, rtol=1e-8)
    assert abs(model.inertia_ - expected.inertia_) <= 1e-3 * expected.inertia_
    assert float((run["out"] / "inertia.txt").read_text()) == model.inertia_
    np.testing.assert_array_equal(model.labels_, expected.labels_)
    np.testing.assert_array_equal(model.predict(pd.DataFrame(x, columns=model.feature_names_in_)), expected.labels_)


def test_linear_and_ridge_equal_scikit_learn(run):
    x, y = _features(run["data"] / "reg.csv")
    for name, expected in (("ols", LinearRegression().fit(x, y)), ("ridge", Ridge(alpha=2.5).fit(x, y))):
        model = joblib.load(run["out"] / f"{name}.joblib")
        assert type(model) is type(expected)
        np.testing.assert_allclose(model.coef_, expected.coef_, rtol=1e-8)
        np.testing.assert_allclose(model.intercept_, expected.intercept_, rtol=1e-8, atol=1e-10)


def test_logistic_matches_scikit_learn(run):
    x, y = _features(run["data"] / "cls.csv")
    expected = LogisticRegression(C=2.0, max_iter=500).fit(x, y)
    model = joblib.load(run["out"] / "logistic.joblib")
    assert type(model) is LogisticRegression
    np.testing.assert_array_equal(model.classes_, expected.classes_)
    np.testing.assert_allclose(model.coef_, expected.coef_, rtol=1e-3, atol=1e-3)
    frame = pd.DataFrame(x, columns=model.feature_names_in_)
    np.testing.assert_allclose(model.predict_proba(frame), expected.predict_proba(x), atol=1e-3)


def test_merged_forest_is_the_single_process_forest(run):
    x, y = _features(run["data"] / "cls.csv")
    expected = RandomForestClassifier(n_estimators=7, random_state=5).fit(x, y)
    forest = joblib.load(run["out"] / "rf.joblib")
    assert type(forest) is RandomForestClassifier and len(forest.estimators_) == 7
    for ours, theirs in zip(forest.estimators_, expected.estimators_):
        np.testing.assert_array_equal(ours.tree_.threshold, theirs.tree_.threshold)
        np.testing.assert_array_equal(ours.tree_.feature, theirs.tree_.feature)
    x_test, _ = _features(run["data"] / "cls_test.csv")
    frame = pd.DataFrame(x_test, columns=forest.feature_names_in_)
    np.testing.assert_array_equal(forest.predict_proba(frame), expected.predict_proba(x_test))


def test_grid_search_equals_grid_search_cv(run):
    x, y = _features(run["data"] / "cls.csv")
    expected = GridSearchCV(LogisticRegression(random_state=0), GRID, cv=4).fit(x, y)
    assert json.loads((run["out"] / "best.json").read_text()) == expected.best_params_
    scores = json.loads((run["out"] / "scores.json").read_text())
    assert scores["params"] == expected.cv_results_["params"]
    for key in ["mean_test_score", "std_test_score"] + [f"split{i}_test_score" for i in range(4)]:
        np.testing.assert_array_equal(scores[key], expected.cv_results_[key])
    assert scores["rank_test_score"] == list(expected.cv_results_["rank_test_score"])
    best = joblib.load(run["out"] / "best.joblib")
    np.testing.assert_array_equal(best.coef_, expected.best_estimator_.coef_)


def test_evaluate_and_predict_equal_scikit_learn(run):
    x_test, y_test = _features(run["data"] / "cls_test.csv")
    forest = joblib.load(run["out"] / "rf.joblib")
    predicted = forest.predict(pd.DataFrame(x_test, columns=forest.feature_names_in_))
    metrics = json.loads((run["out"] / "metrics.json").read_text())
    assert metrics["n_samples"] == len(y_test)
    assert metrics["accuracy"] == accuracy_score(y_test, predicted)
    assert metrics["f1"] == pytest.approx(f1_score(y_test, predicted, average="macro"))
    assert metrics["confusion_matrix"] == confusion_matrix(y_test, predicted).tolist()
    assert 0.5 <= metrics["roc_auc"] <= 1.0
    written = pd.read_csv(run["out"] / "pred.csv")
    assert list(written.columns) == ["prediction"]
    np.testing.assert_array_equal(written["prediction"].to_numpy(), predicted)


def test_bad_input_under_mpiexec_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "d.csv").write_text("a,b\n1,2\n3,4\n")
    completed = run_mpiexec(
        [str(MPIEXEC), "-n", "2", sys.executable, "-m", "treadle.runtime.cli", "linear", "--data",
         str(tmp_path / "d.csv"), "--kind", "ridge", "--model", str(tmp_path / "m.joblib")],
        capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1, completed.stderr
    assert "no target column 'target'" in completed.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv"]


def test_scale_pca_and_linear_load_scikit_learn_on_rank_0_only(tmp_path):
    """The other ranks never need scikit-learn, whose import is ~70 MiB per process."""
    data = write_csv(tmp_path / "d.csv", np.arange(40.0).reshape(20, 2) ** 1.5)
    labelled = write_csv(tmp_path / "l.csv", np.arange(40.0).reshape(20, 2) ** 1.5, np.arange(20) % 2)
    commands = [["scale", "--data", data, "--output", f"{tmp_path}/s.csv", "--model", f"{tmp_path}/s.joblib"],
                ["pca", "--data", data, "--n-components", "1", "--output", f"{tmp_path}/p.csv",
                 "--model", f"{tmp_path}/p.joblib"],
                ["linear", "--data", labelled, "--kind", "ridge", "--model", f"{tmp_path}/r.joblib"],
                ["linear", "--data", labelled, "--kind", "logistic", "--model", f"{tmp_path}/g.joblib"]]
    script = (
        "import sys\nfrom treadle.runtime import cli\nfrom treadle.runtime.mpi import world\n"
        f"for argv in {commands!r}:\n"
        "    assert cli.main(argv) == 0\n"
        f"open({str(tmp_path)!r} + f'/rank{{world().rank}}', 'w').write(str('sklearn' in sys.modules))\n"
    )
    completed = run_mpiexec([str(MPIEXEC), "-n", "2", sys.executable, "-c", script],
                            capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert [(tmp_path / f"rank{rank}").read_text() for rank in (0, 1)] == ["True", "False"]
    assert joblib.load(tmp_path / "s.joblib").n_samples_seen_ == 20
    assert list(joblib.load(tmp_path / "g.joblib").classes_) == [0, 1]
