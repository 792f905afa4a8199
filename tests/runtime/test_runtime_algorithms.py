"""The distributed algorithms against scikit-learn over many data shapes (hypothesis).

Ranks are simulated by threads (see conftest.simulate_ranks), so hypothesis can try many
shapes and rank counts quickly, including ranks that get no row at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler
from sklearn.utils.extmath import row_norms

from runtime_helpers import simulate_ranks, write_csv
from treadle.runtime import csvio
from treadle.runtime.components import forest, kmeans, linear, pca, scale
from treadle.runtime.csvio import read_table

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ranks = st.sampled_from([1, 2, 3])


def _distributed(tmp_path, size, x, y, fit, **read_options):
    path = write_csv(tmp_path / f"d{np.random.randint(1 << 30)}.csv", x, y)

    def body(comm):
        table = read_table(comm, path, **read_options)
        return fit(comm, table)

    return simulate_ranks(size, body)[0]


@SETTINGS
@given(size=ranks, n=st.integers(1, 40), p=st.integers(1, 5), seed=st.integers(0, 1000))
def test_scaler_matches_for_any_shape(tmp_path, size, n, p, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p)) * rng.uniform(0.1, 100, size=p) + rng.uniform(-50, 50, size=p)
    x[:, 0] = 7.0 if p > 1 else x[:, 0]  # a constant column, left unscaled
    ours = _distributed(tmp_path, size, x, None, scale.fit_scaler)
    expected = StandardScaler().fit(x)
    np.testing.assert_allclose(ours.mean_, expected.mean_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ours.var_, expected.var_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ours.scale_, expected.scale_, rtol=1e-8)


@SETTINGS
@given(size=ranks, p=st.integers(2, 6), extra=st.integers(0, 40), seed=st.integers(0, 1000))
def test_pca_matches_for_any_shape(tmp_path, size, p, extra, seed):
    rng = np.random.default_rng(seed)
    n = 4 * p + extra
    x = rng.normal(size=(n, p)) * (1.7 ** np.arange(p)) + 3.0
    k = max(1, p - 1)
    ours = _distributed(tmp_path, size, x, None, lambda comm, table: pca.fit_pca(comm, table, k))
    expected = PCA(n_components=k, svd_solver="full").fit(x)
    signs = np.sign(np.sum(ours.components_ * expected.components_, axis=1))
    np.testing.assert_allclose(ours.components_ * signs[:, None], expected.components_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.explained_variance_, expected.explained_variance_, rtol=1e-8)
    np.testing.assert_allclose(ours.noise_variance_, expected.noise_variance_, rtol=1e-6, atol=1e-12)
    projected = ours.transform(pd.DataFrame(x, columns=ours.feature_names_in_))
    np.testing.assert_allclose(projected * signs, expected.transform(x), rtol=1e-6, atol=1e-8)


@SETTINGS
@given(size=ranks, k=st.integers(1, 5), extra=st.integers(0, 60), p=st.integers(1, 4), seed=st.integers(0, 2**31))
@example(size=2, k=5, extra=6, p=1, seed=35940)  # k-means++ meets an exact tie between two draws
def test_kmeans_matches_for_any_shape(tmp_path, size, k, extra, p, seed):
    rng = np.random.default_rng(seed)
    n = k + extra
    x = rng.normal(size=(n, p)) + rng.integers(0, 4, size=(n, 1)) * 5.0
    ours, _, start = _distributed(tmp_path, size, x, None, lambda comm, table: kmeans.fit_kmeans(comm, table, k, seed % 2**32))
    expected = KMeans(n_clusters=k, n_init=1, random_state=seed % 2**32).fit(x)
    sklearn_start, _ = kmeans_plusplus(x - x.mean(axis=0), k, random_state=seed % 2**32)
    sklearn_start += x.mean(axis=0)
    if not np.allclose(start, sklearn_start, rtol=1e-9, atol=1e-9):
        # Two draws that k-means++ scores exactly alike (mirror-image points, say): rounding
        # in another summation order may pick the other. Both are equally good starts;
        # then the run must equal scikit-learn's from the same start.
        def potential(centres):
            return ((x[:, None, :] - centres[None]) ** 2).sum(axis=2).min(axis=1).sum()

        assert potential(start) == pytest.approx(potential(sklearn_start), rel=1e-9)
        expected = KMeans(n_clusters=k, n_init=1, init=start, random_state=seed % 2**32).fit(x)
    np.testing.assert_allclose(ours.cluster_centers_, expected.cluster_centers_, rtol=1e-7, atol=1e-9)
    assert ours.inertia_ == pytest.approx(expected.inertia_, rel=1e-6, abs=1e-9)
    np.testing.assert_array_equal(ours.labels_, expected.labels_)
    assert ours.n_iter_ == expected.n_iter_


@SETTINGS
@given(size=ranks, k=st.integers(1, 6), extra=st.integers(0, 50), seed=st.integers(0, 2**31))
@example(size=1, k=2, extra=2, seed=1)  # two candidates tie exactly: the norms must be scikit-learn's, bit for bit
@example(size=2, k=3, extra=5, seed=46)  # two draws give the same potential; two ranks pick the other
def test_kmeans_plusplus_picks_scikit_learn_rows(tmp_path, size, k, extra, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(k + extra, 3))
    path = write_csv(tmp_path / f"pp{seed}.csv", x)

    def body(comm):
        table = read_table(comm, path)
        norms = row_norms(table.features, squared=True)  # as scikit-learn and the component compute them
        return kmeans.kmeans_plusplus(comm, table.features, norms, k, np.random.RandomState(seed),
                                      table.first_row, table.total_rows)

    centers, indices = simulate_ranks(size, body)[0]
    expected_centers, expected_indices = kmeans_plusplus(x, k, random_state=seed)
    differing = np.flatnonzero(indices != expected_indices)
    if differing.size:
        # Only a draw that scores exactly like scikit-learn's may differ (a tie that rounding
        # in another summation order breaks the other way); the draws after it then differ too.
        assert size > 1, "one rank sums as scikit-learn does: its draws must be the same"
        first = int(differing[0]) + 1

        def potential(chosen):
            return ((x[:, None, :] - x[chosen][None]) ** 2).sum(axis=2).min(axis=1).sum()

        assert potential(indices[:first]) == pytest.approx(potential(expected_indices[:first]), rel=1e-9)
        return
    np.testing.assert_array_equal(centers, expected_centers)


@SETTINGS
@given(size=ranks, n=st.integers(8, 60), p=st.integers(1, 5), alpha=st.floats(0.01, 100), seed=st.integers(0, 1000))
def test_linear_and_ridge_match_for_any_shape(tmp_path, size, n, p, alpha, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p)) * 3 + 1
    y = x @ rng.normal(size=p) + rng.normal(size=n) + 4
    path = write_csv(tmp_path / f"lin{seed}.csv", x, [repr(float(v)) for v in y])

    def body(comm):
        table = read_table(comm, path, target_required=True)
        return (linear.fit_linear(comm, table, "linear", alpha, 100, 1e-4),
                linear.fit_linear(comm, table, "ridge", alpha, 100, 1e-4))

    ols, ridge = simulate_ranks(size, body)[0]
    for ours, expected in ((ols, LinearRegression().fit(x, y)), (ridge, Ridge(alpha=alpha).fit(x, y))):
        np.testing.assert_allclose(ours.coef_, expected.coef_, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(ours.intercept_, expected.intercept_, rtol=1e-8, atol=1e-10)


@SETTINGS
@given(size=ranks, n=st.integers(30, 80), classes=st.integers(2, 4), seed=st.integers(0, 1000))
def test_logistic_matches_for_any_shape(tmp_path, size, n, classes, seed):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = rng.normal(size=(n, 3)) + y[:, None] * 0.8
    path = write_csv(tmp_path / f"log{seed}.csv", x, y)

    def body(comm):
        table = read_table(comm, path, target_required=True)
        return linear.fit_linear(comm, table, "logistic", 1.0, 1000, 1e-8)

    ours = simulate_ranks(size, body)[0]
    expected = LogisticRegression(max_iter=1000, tol=1e-8).fit(x, y)
    np.testing.assert_allclose(ours.coef_, expected.coef_, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.intercept_, expected.intercept_, rtol=1e-4, atol=1e-5)


@settings(max_examples=8, deadline=None)
@given(size=ranks, trees=st.integers(1, 5), seed=st.integers(0, 1000))
def test_forest_trees_are_dealt_without_changing_the_forest(tmp_path_factory, size, trees, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(60, 3))
    y = x[:, 0] * 2 + rng.normal(size=60)
    template = RandomForestRegressor(n_estimators=trees, random_state=seed, max_depth=4)
    merged = simulate_ranks(size, lambda comm: forest.grow_across_ranks(comm, template, x, y))[0]
    expected = RandomForestRegressor(n_estimators=trees, random_state=seed, max_depth=4).fit(x, y)
    np.testing.assert_array_equal(merged.predict(x), expected.predict(x))


# -- the reader ---------------------------------------------------------------------

rows_strategy = st.lists(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=2, max_size=2),
                         min_size=0, max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy, size=st.integers(1, 5), newline=st.sampled_from(["\n", "\r\n"]),
       trailing=st.integers(0, 12), block=st.sampled_from([7, 64, 1 << 20]))
def test_byte_ranges_cover_every_row_once_in_order(tmp_path, monkeypatch, rows, size, newline, trailing, block):
    monkeypatch.setattr(csvio, "BLOCK_BYTES", block)
    text = newline.join(["a,b"] + [",".join(repr(v) for v in row) for row in rows]) + newline * trailing  # blank lines at the end: a range of only those has no rows
    path = tmp_path / "rows.csv"
    path.write_bytes(text.encode())
    tables = simulate_ranks(size, lambda comm: read_table(comm, str(path), min_rows=0))
    together = np.concatenate([t.features for t in tables]) if tables else np.empty((0, 2))
    np.testing.assert_array_equal(together.reshape(-1, 2), np.array(rows, dtype=np.float64).reshape(-1, 2))
    assert [t.first_row for t in tables] == list(np.cumsum([0] + [t.local_rows for t in tables])[:-1])


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=30),
       labels=st.booleans())
def test_formatted_rows_read_back_exactly(values, labels):
    block = np.array(values).reshape(-1, 1)
    trailing = csvio.text_fields(np.arange(block.shape[0])) if labels else None
    lines = csvio.format_rows(block, trailing).decode().splitlines()
    assert [float(line.split(",")[0]) for line in lines] == list(block[:, 0])
    if labels:
        assert [line.split(",")[1] for line in lines] == [str(i) for i in range(len(lines))]
