"""NearMiss-1's density screen on large data: the share of the exact selection it finds, the
rows it scores, and its fall-backs to scoring every row."""

from __future__ import annotations

import numpy as np
from imblearn.under_sampling import NearMiss
from sklearn.datasets import make_classification
from sklearn.neighbors import NearestNeighbors

from fnguard.levers import knn, nearmiss, sampler_base, samplers, screen


def _data(n: int = 84_000, n_minority: int = 4_000, d: int = 12, seed: int = 0):
    """Majority and minority rows of make_classification (noisy columns, two clusters)."""
    X, y = make_classification(
        n_samples=n + n_minority, n_features=d, n_informative=3, weights=[n / (n + n_minority)],
        flip_y=0.0, random_state=seed,
    )
    return X[y == 0], X[y == 1]


def _counting(monkeypatch) -> list[int]:
    """Rows handed to nearest_selection, per call."""
    asked: list[int] = []
    real = screen.nearest_selection
    monkeypatch.setattr(
        screen, "nearest_selection", lambda X, *a, **k: asked.append(len(X)) or real(X, *a, **k)
    )
    return asked


def test_screen_finds_the_selection_scoring_few_rows(monkeypatch) -> None:
    """Check that the screened choice finds at least 99% of the exact NearMiss-1 selection
    (scores from scikit-learn's exact search), in its order by score, while scoring well under
    half of the rows."""
    monkeypatch.setattr(screen, "MIN_SAMPLE", 4096)
    X, Y = _data()
    n_keep = len(Y)
    nn = NearestNeighbors(n_neighbors=3).fit(Y)
    score = nn.kneighbors(X, 3)[0].sum(axis=1)
    truth = np.argsort(score, kind="stable")[:n_keep]
    asked = _counting(monkeypatch)
    chosen = screen.screened_selection(X, Y, 3, n_keep, nn, n_jobs=1, target=0.99)
    assert len(chosen) == n_keep == len(np.unique(chosen))
    assert len(np.intersect1d(chosen, truth)) >= 0.99 * n_keep
    assert np.all(np.diff(score[chosen]) >= 0)  # imbalanced-learn's order
    assert len(asked) == 1 and asked[0] < 0.5 * len(X)


def test_screen_ranks_by_density_of_the_minority() -> None:
    """Check the screen against the closed-form log density of one spherical Gaussian: with
    one cell, minus the log density is |x - mean|^2 / (2 var) plus a constant."""
    rng = np.random.default_rng(0)
    Y = rng.normal(scale=2.0, size=(5000, 4)) + 1.0
    X = rng.normal(scale=3.0, size=(300, 4))
    got = screen.density_screen(X, Y, n_cells=1)
    var = ((Y - Y.mean(axis=0)) ** 2).sum() / ((len(Y) - 1) * 4)
    want = ((X - Y.mean(axis=0)) ** 2).sum(axis=1) / (2 * var) + 2 * np.log(var)
    np.testing.assert_allclose(got - got.mean(), want - want.mean(), rtol=1e-4, atol=1e-3)


def test_screen_falls_back_to_every_row(monkeypatch) -> None:
    """Check that every row is scored (the exact choice) when the sample would be a large
    share of the rows, and when the minority rows are one repeated row (no density)."""
    X, Y = _data(n=20_000, n_minority=400)
    nn = NearestNeighbors(n_neighbors=3).fit(Y)
    truth = np.argsort(nn.kneighbors(X, 3)[0].sum(axis=1), kind="stable")[:400]
    asked = _counting(monkeypatch)
    np.testing.assert_array_equal(screen.screened_selection(X, Y, 3, 400, nn), truth)
    assert asked == [len(X)]
    assert screen.density_screen(X, np.repeat(Y[:1], 50, axis=0)) is None
    monkeypatch.setattr(screen, "MIN_SAMPLE", 10)
    asked.clear()
    same = np.repeat(Y[:1], 3000, axis=0)
    chosen = screen.screened_selection(X, same, 3, 3000, NearestNeighbors().fit(same))
    assert asked == [len(X)] and len(chosen) == 3000


def test_nearmiss_1_large_path_finds_imbalanced_learns_rows(monkeypatch) -> None:
    """Check FastNearMiss(version=1) above the work limit against imbalanced-learn: every
    minority row kept, the same number of majority rows, at least 99% of them the same."""
    monkeypatch.setattr(nearmiss, "AUTO_APPROXIMATE_WORK", 1000)
    monkeypatch.setattr(sampler_base, "TREE_COLUMNS", 0)
    monkeypatch.setattr(screen, "MIN_SAMPLE", 1000)
    X, y = make_classification(
        n_samples=60_000, n_features=16, weights=[0.93], flip_y=0.0, random_state=3
    )
    asked = _counting(monkeypatch)
    ours = samplers.FastNearMiss(version=1).fit(X, y)
    theirs = NearMiss(version=1).fit(X, y)
    _, y_ours = ours.fit_resample(X, y)
    _, y_theirs = theirs.fit_resample(X, y)
    np.testing.assert_array_equal(np.bincount(y_ours), np.bincount(y_theirs))
    a, b = ours.sample_indices_, theirs.sample_indices_
    minority = np.flatnonzero(y == 1)
    np.testing.assert_array_equal(np.intersect1d(a, minority), minority)
    assert len(np.intersect1d(a, b)) - len(minority) >= 0.99 * (len(b) - len(minority))
    assert asked and asked[0] < 0.6 * (y == 0).sum()


def test_exact_search_stays_available_for_nearmiss_1(monkeypatch) -> None:
    """Check that an estimator passed as n_neighbors runs imbalanced-learn's own search (the
    exact choice) instead of the screen."""
    from fnguard.levers.neighbors import FaissNeighbors

    monkeypatch.setattr(nearmiss, "AUTO_APPROXIMATE_WORK", 1000)
    monkeypatch.setattr(sampler_base, "TREE_COLUMNS", 0)
    asked = _counting(monkeypatch)
    X, y = make_classification(n_samples=6000, n_features=16, weights=[0.9], random_state=3)
    flat = FaissNeighbors(n_neighbors=3, algorithm="flat")
    ours = samplers.FastNearMiss(version=1, n_neighbors=flat)
    ours.fit_resample(X, y)
    theirs = NearMiss(version=1).fit(X, y)
    theirs.fit_resample(X, y)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)
    assert asked == []


def test_knn_exact_choice_unchanged() -> None:
    """Check that knn.nearest_selection (what the screen hands its rows to) is still exact."""
    X, Y = _data(n=6000, n_minority=300)
    nn = NearestNeighbors(n_neighbors=3).fit(Y)
    want = np.argsort(nn.kneighbors(X, 3)[0].sum(axis=1), kind="stable")[:300]
    np.testing.assert_array_equal(knn.nearest_selection(X, Y, 3, 300, nn), want)


def test_a_weak_screen_is_given_up_after_the_first_part_of_the_sample(monkeypatch) -> None:
    """Check that a screen that ranks no better than chance is given up once the first part
    of the sample shows it (the whole sample was scored, then every row again: 1.7 times the
    exact choice's time), with the exact choice; and that keeping no row keeps none (it
    divided by zero)."""
    monkeypatch.setattr(screen, "MIN_SAMPLE", 4096)
    X, Y = _data()
    nn = NearestNeighbors(n_neighbors=3).fit(Y)
    rng = np.random.default_rng(1)
    monkeypatch.setattr(screen, "density_screen", lambda X, Y, **k: rng.random(len(X)))
    sampled: list[int] = []
    real = screen.nearest_distances
    monkeypatch.setattr(
        screen, "nearest_distances", lambda Q, *a, **k: sampled.append(len(Q)) or real(Q, *a, **k)
    )
    asked = _counting(monkeypatch)
    chosen = screen.screened_selection(X, Y, 3, len(Y), nn, n_jobs=1)
    truth = np.argsort(nn.kneighbors(X, 3)[0].sum(axis=1), kind="stable")[: len(Y)]
    np.testing.assert_array_equal(chosen, truth)
    size = screen._sample_size(len(X), len(Y), 0.99)
    assert sampled == [size // screen.PILOT] and asked == [len(X)]
    assert len(screen.screened_selection(X, Y, 3, 0, nn)) == 0
