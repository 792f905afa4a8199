"""Each command end to end through the CLI in one process, and its bad-input behaviour."""

from __future__ import annotations

import json
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn import datasets
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from runtime_helpers import read_csv, write_csv


@pytest.fixture
def iris(tmp_path, run_cli):
    path = tmp_path / "iris.csv"
    assert run_cli("load", "--name", "iris", "--output", path) == (0, "")
    return path


@pytest.mark.parametrize("name", ["iris", "digits", "wine", "breast_cancer", "diabetes"])
def test_load_writes_the_bundled_dataset(tmp_path, run_cli, name):
    code, err = run_cli("load", "--name", name, "--output", tmp_path / "d.csv")
    assert (code, err) == (0, "")
    bunch = getattr(datasets, f"load_{name}")()
    frame = read_csv(tmp_path / "d.csv")
    assert list(frame.columns) == list(bunch.feature_names) + ["target"]
    np.testing.assert_array_equal(frame.drop(columns="target").to_numpy(), bunch.data)
    np.testing.assert_array_equal(frame["target"].to_numpy(), bunch.target)


@pytest.mark.parametrize("kind, extra, generator, options", [
    ("classification", ["--n-classes", "3"], datasets.make_classification,
     {"n_informative": 3, "n_redundant": 0, "n_classes": 3}),
    ("regression", ["--noise", "0.5"], datasets.make_regression, {"n_informative": 3, "noise": 0.5}),
    ("blobs", ["--centers", "4"], datasets.make_blobs, {"centers": 4}),
])
def test_generate_writes_the_generator_output(tmp_path, run_cli, kind, extra, generator, options):
    code, _ = run_cli("generate", "--kind", kind, "--n-samples", 120, "--n-features", 6, "--seed", 9,
                      *extra, "--output", tmp_path / "g.csv")
    assert code == 0
    x, y = generator(n_samples=120, n_features=6, random_state=9, **options)
    frame = read_csv(tmp_path / "g.csv")
    np.testing.assert_array_equal(frame.drop(columns="target").to_numpy(), x)
    np.testing.assert_array_equal(frame["target"].to_numpy(), y)


def test_split_keeps_rows_verbatim_and_partitions_them(tmp_path, run_cli, iris):
    code, _ = run_cli("split", "--data", iris, "--test-size", 30, "--seed", 1,
                      "--train", tmp_path / "a" / "train.csv", "--test", tmp_path / "a" / "test.csv")
    assert code == 0
    lines = iris.read_text().splitlines()
    train = (tmp_path / "a" / "train.csv").read_text().splitlines()
    test = (tmp_path / "a" / "test.csv").read_text().splitlines()
    assert train[0] == test[0] == lines[0]
    assert len(test) - 1 == 30 and sorted(train[1:] + test[1:]) == sorted(lines[1:])


def test_scale_and_predict_with_its_model(tmp_path, run_cli, iris):
    assert run_cli("scale", "--data", iris, "--output", tmp_path / "s.csv", "--model", tmp_path / "s.joblib")[0] == 0
    frame = read_csv(iris)
    features = frame.drop(columns="target")
    scaled = read_csv(tmp_path / "s.csv")
    model = joblib.load(tmp_path / "s.joblib")
    np.testing.assert_allclose(scaled.drop(columns="target"), StandardScaler().fit_transform(features), atol=1e-12)
    np.testing.assert_array_equal(scaled["target"], frame["target"])
    # a transformer model "predicts" its transformed columns
    assert run_cli("predict", "--model", tmp_path / "s.joblib", "--data", iris, "--output", tmp_path / "t.csv")[0] == 0
    np.testing.assert_allclose(read_csv(tmp_path / "t.csv").to_numpy(), model.transform(features), atol=1e-12)


def test_pca_output_and_whitening(tmp_path, run_cli, iris):
    code, _ = run_cli("pca", "--data", iris, "--n-components", 2, "--whiten",
                      "--output", tmp_path / "p.csv", "--model", tmp_path / "p.joblib")
    assert code == 0
    features = read_csv(iris).drop(columns="target").to_numpy()
    expected = PCA(n_components=2, whiten=True).fit(features)
    projected = read_csv(tmp_path / "p.csv")
    assert list(projected.columns) == ["pca0", "pca1", "target"]
    signs = np.sign(joblib.load(tmp_path / "p.joblib").components_[:, 0] * expected.components_[:, 0])
    np.testing.assert_allclose(projected[["pca0", "pca1"]].to_numpy() * signs, expected.transform(features), atol=1e-9)


def test_kmeans_inertia_labels_and_clustering_metrics(tmp_path, run_cli, iris):
    code, _ = run_cli("kmeans", "--data", iris, "--k", 3, "--seed", 0, "--model", tmp_path / "km.joblib",
                      "--inertia", tmp_path / "inertia.txt", "--labels", tmp_path / "labels.csv")
    assert code == 0
    features = read_csv(iris).drop(columns="target").to_numpy()
    expected = KMeans(n_clusters=3, n_init=1, random_state=0).fit(features)
    assert float((tmp_path / "inertia.txt").read_text()) == pytest.approx(expected.inertia_, rel=1e-9)
    np.testing.assert_array_equal(read_csv(tmp_path / "labels.csv")["cluster"], expected.labels_)
    assert run_cli("evaluate", "--model", tmp_path / "km.joblib", "--data", iris, "--metrics", tmp_path / "m.json")[0] == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["inertia"] == pytest.approx(expected.inertia_, rel=1e-9)
    assert 0.3 < metrics["silhouette"] < 1


def test_logistic_on_text_labels_evaluates_and_predicts_probabilities(tmp_path, run_cli, csv_file):
    rng = np.random.default_rng(0)
    labels = np.array(["cat", "dog, big", 'say "hi"'])[np.arange(90) % 3]
    x = rng.normal(size=(90, 2)) + (np.arange(90) % 3)[:, None] * 2.0
    frame = pd.DataFrame(x, columns=["x0", "x1"]).assign(target=labels)
    path = tmp_path / "pets.csv"
    frame.to_csv(path, index=False)
    assert run_cli("linear", "--data", path, "--kind", "logistic", "--model", tmp_path / "m.joblib")[0] == 0
    model = joblib.load(tmp_path / "m.joblib")
    expected = LogisticRegression().fit(x, labels)
    np.testing.assert_array_equal(model.classes_, expected.classes_)
    assert run_cli("predict", "--model", tmp_path / "m.joblib", "--data", path, "--proba",
                   "--output", tmp_path / "p.csv")[0] == 0
    predicted = read_csv(tmp_path / "p.csv")
    assert list(predicted.columns) == ["prediction"] + [f"proba_{c}" for c in expected.classes_]
    np.testing.assert_array_equal(predicted["prediction"], expected.predict(x))
    assert run_cli("evaluate", "--model", tmp_path / "m.joblib", "--data", path, "--metrics", tmp_path / "e.json")[0] == 0
    metrics = json.loads((tmp_path / "e.json").read_text())
    assert metrics["labels"] == list(expected.classes_)
    assert metrics["accuracy"] == pytest.approx((expected.predict(x) == labels).mean(), abs=0.02)


def test_forest_regression_and_regression_metrics(tmp_path, run_cli, csv_file):
    x, y = datasets.make_regression(n_samples=150, n_features=4, noise=1.0, random_state=3)
    path = csv_file(x, [repr(float(v)) for v in y])
    code, _ = run_cli("forest", "--data", path, "--task", "regression", "--n-estimators", 5, "--seed", 2,
                      "--max-depth", 4, "--model", tmp_path / "rf.joblib")
    assert code == 0
    expected = RandomForestRegressor(n_estimators=5, random_state=2, max_depth=4).fit(x, y)
    assert run_cli("evaluate", "--model", tmp_path / "rf.joblib", "--data", path, "--metrics", tmp_path / "m.json")[0] == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["r2"] == pytest.approx(r2_score(y, expected.predict(x)), rel=1e-12)
    assert metrics["mae"] == pytest.approx(mean_absolute_error(y, expected.predict(x)), rel=1e-12)


@pytest.mark.parametrize("estimator, grid, reference", [
    ("knn", {"n_neighbors": [1, 5, 15]}, KNeighborsClassifier()),
    ("ridge", [{"alpha": [0.1, 10.0]}, {"alpha": [1.0], "fit_intercept": [False]}], Ridge()),
])
def test_grid_search_matches_grid_search_cv(tmp_path, run_cli, csv_file, estimator, grid, reference):
    x, y = datasets.make_classification(n_samples=120, n_features=5, random_state=1)
    if estimator == "ridge":
        y = x @ np.arange(1.0, 6.0) + 0.1 * np.sin(np.arange(120))
    path = csv_file(x, [repr(float(v)) for v in y] if estimator == "ridge" else y)
    (tmp_path / "grid.json").write_text(json.dumps(grid))
    code, _ = run_cli("grid-search", "--data", path, "--estimator", estimator, "--grid", tmp_path / "grid.json",
                      "--cv", 3, "--seed", 0, "--model", tmp_path / "b.joblib", "--best-params", tmp_path / "b.json",
                      "--scores", tmp_path / "s.json")
    assert code == 0
    expected = GridSearchCV(reference, grid, cv=3).fit(x, y)
    assert json.loads((tmp_path / "b.json").read_text()) == expected.best_params_
    scores = json.loads((tmp_path / "s.json").read_text())
    np.testing.assert_array_equal(scores["mean_test_score"], expected.cv_results_["mean_test_score"])
    assert scores["best_index"] == expected.best_index_


# -- bad input: exit code 2, one line, nothing written ---------------------------------

def _assert_refused(result, fragment, folder, keep=()):
    code, err = result
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert fragment in err, err
    assert sorted(p.name for p in folder.iterdir()) == sorted(keep)


def test_missing_data_file(tmp_path, run_cli):
    result = run_cli("scale", "--data", tmp_path / "nope.csv", "--output", tmp_path / "s.csv", "--model", tmp_path / "m")
    _assert_refused(result, "nope.csv: no such file", tmp_path)


def test_wrong_target_column(tmp_path, run_cli, csv_file):
    path = csv_file(np.ones((5, 2)), [0, 1, 0, 1, 0])
    result = run_cli("forest", "--data", path, "--task", "classification", "--seed", 0,
                     "--target-column", "label", "--model", tmp_path / "m.joblib")
    _assert_refused(result, "no target column 'label'", tmp_path, keep=["data0.csv"])


@pytest.mark.parametrize("body, fragment", [
    ("a,b\n1,2\n3,x\n", "column 'b' has a non-numeric value 'x'"),
    ("a,b\n1,2\n3,\n", "column 'b' has a missing"),
    ("a,b\n1,2\n3,4,5\n", "malformed CSV"),
    ("a,b\n1,inf\n", "column 'b' has a missing or infinite value"),
    ("", "empty file"),
    ("a,b\n", "0 data row(s)"),
    ("a,a\n1,2\n", "duplicate column name"),
])
def test_malformed_data(tmp_path, run_cli, body, fragment):
    (tmp_path / "d.csv").write_text(body)
    result = run_cli("pca", "--data", tmp_path / "d.csv", "--n-components", 1,
                     "--output", tmp_path / "p.csv", "--model", tmp_path / "p.joblib")
    _assert_refused(result, fragment, tmp_path, keep=["d.csv"])


def test_k_larger_than_the_rows(tmp_path, run_cli, csv_file):
    path = csv_file(np.arange(6.0).reshape(3, 2))
    result = run_cli("kmeans", "--data", path, "--k", 4, "--seed", 0, "--model", tmp_path / "k.joblib",
                     "--inertia", tmp_path / "i.txt")
    _assert_refused(result, "--k 4 is larger than the number of rows (3)", tmp_path, keep=["data0.csv"])


@pytest.mark.parametrize("argv, fragment", [
    (["kmeans", "--data", "d.csv", "--k", "0", "--seed", "1", "--model", "m", "--inertia", "i"], "expected a positive integer"),
    (["linear", "--data", "d.csv", "--kind", "lasso", "--model", "m"], "invalid choice: 'lasso'"),
    (["split", "--data", "d.csv", "--seed", "1", "--train", "a.csv"], "the following arguments are required: --test"),
    (["nonsense"], "invalid choice"),
])
def test_usage_errors(tmp_path, run_cli, argv, fragment):
    _assert_refused(run_cli(*argv), fragment, tmp_path)


def test_bad_grid_and_bad_parameter(tmp_path, run_cli, csv_file):
    path = csv_file(np.random.default_rng(0).normal(size=(20, 2)), [0, 1] * 10)
    (tmp_path / "g.json").write_text("{not json")
    common = ["--cv", 2, "--seed", 0, "--model", tmp_path / "b", "--best-params", tmp_path / "p", "--scores", tmp_path / "s"]
    result = run_cli("grid-search", "--data", path, "--estimator", "svc", "--grid", tmp_path / "g.json", *common)
    _assert_refused(result, "not a JSON parameter grid", tmp_path, keep=["data0.csv", "g.json"])
    (tmp_path / "g.json").write_text('{"depth": [1, 2]}')
    result = run_cli("grid-search", "--data", path, "--estimator", "svc", "--grid", tmp_path / "g.json", *common)
    _assert_refused(result, "unknown parameter(s) for SVC: depth", tmp_path, keep=["data0.csv", "g.json"])


def test_not_a_model_and_output_is_a_folder(tmp_path, run_cli, csv_file):
    path = csv_file(np.ones((4, 2)), [0, 1, 0, 1])
    (tmp_path / "m.joblib").write_text("not a model")
    result = run_cli("predict", "--model", tmp_path / "m.joblib", "--data", path, "--output", tmp_path / "p.csv")
    _assert_refused(result, "not a joblib model file", tmp_path, keep=["data0.csv", "m.joblib"])
    (tmp_path / "out").mkdir()
    result = run_cli("scale", "--data", path, "--output", tmp_path / "out", "--model", tmp_path / "s.joblib")
    _assert_refused(result, "is a folder", tmp_path, keep=["data0.csv", "m.joblib", "out"])


def test_a_failure_after_the_first_output_publishes_nothing(tmp_path, run_cli, csv_file):
    path = csv_file(np.random.default_rng(0).normal(size=(10, 2)), list(range(10)))
    (tmp_path / "blocked").write_text("a file where a folder is needed")
    result = run_cli("kmeans", "--data", path, "--k", 2, "--seed", 0, "--model", tmp_path / "k.joblib",
                     "--inertia", tmp_path / "blocked" / "inertia.txt")
    _assert_refused(result, "cannot create its folder", tmp_path, keep=["blocked", "data0.csv"])


def test_the_command_line_entry_point_is_light_and_exits_2(tmp_path):
    probe = ("import sys, treadle.runtime.cli; "
             "print(sorted(m for m in ('numpy', 'sklearn', 'mpi4py', 'pandas') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "[]"
    completed = subprocess.run(
        [sys.executable, "-m", "treadle.runtime.cli", "evaluate", "--model", str(tmp_path / "m"),
         "--data", str(tmp_path / "d.csv"), "--metrics", str(tmp_path / "out.json")],
        capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip().endswith("no such file") and completed.stderr.count("\n") == 1


def test_missing_label_is_refused(tmp_path, run_cli):
    (tmp_path / "d.csv").write_text("a,target\n1,0\n2,\n3,1\n")
    result = run_cli("linear", "--data", tmp_path / "d.csv", "--kind", "logistic", "--model", tmp_path / "m")
    _assert_refused(result, "the target column 'target' has a missing value", tmp_path, keep=["d.csv"])
