"""SMOTE's segments: bounds of distances checked against exact ones, and SMOTE-ENN through
them checked row for row against imbalanced-learn."""

from __future__ import annotations

import numpy as np
import pytest
from imblearn.combine import SMOTEENN, SMOTETomek
from imblearn.over_sampling import SMOTE
from imblearn.under_sampling import EditedNearestNeighbours, TomekLinks
from sklearn.datasets import make_classification
from sklearn.metrics import pairwise_distances

from fnguard.levers import cleaning, sampler_base, samplers, segments
from fnguard.levers.segments import segment_bounds, segment_other


def _smoted(seed: int, offset: float = 0.0, twins: bool = False):
    """SMOTE's output on a small two-class table, and where its new rows lie."""
    X, y = make_classification(
        n_samples=2500, n_features=8, weights=[0.96], flip_y=0.02, random_state=seed
    )
    X = X * 10.0 + offset
    if twins:  # repeated minority rows, and a minority row repeated in the majority
        minority = np.flatnonzero(y == 1)
        X[minority[:4]] = X[minority[4]]
        X[np.flatnonzero(y == 0)[0]] = X[minority[5]]
    sampler = samplers.FastSMOTE(random_state=seed)
    sampler._want_segments = True
    X_res, y_res = sampler.fit_resample(X, y)
    return X_res, y_res, sampler._segments


@pytest.mark.parametrize(
    ("seed", "offset", "twins"),
    [(0, 0.0, False), (1, 5e4, False), (2, 0.0, True)],
    ids=["plain", "far-from-origin", "repeated-rows"],
)
def test_segment_other_brackets_exact_distances(seed, offset, twins) -> None:
    """Check that every row's squared distance to its nearest other-class row lies between
    the bounds, and that the bounds are tight below each row's ceiling."""
    X, y, seg = _smoted(seed, offset, twins)
    assert seg.check(X)
    D2 = pairwise_distances(X, metric="sqeuclidean")
    truth = np.where(y[:, None] != y[None, :], D2, np.inf).min(axis=1)
    rng = np.random.default_rng(seed)
    ceiling = np.where(rng.random(len(y)) < 0.3, np.inf, rng.uniform(0.0, 2.0, len(y)) * truth)
    low, high = segment_other(X, y, 1, seg, ceiling)
    scale = 1.0 + (X - X.mean(axis=0)).var(axis=0).sum()
    assert np.all(low <= truth + 1e-9 * scale)
    assert np.all(truth <= high + 1e-9 * scale)
    below = (y == 0) & (truth < ceiling)
    assert below.sum() > 100
    assert np.all(high[below] - low[below] <= 1e-4 * (scale + truth[below]))
    # beyond the ceiling, the ceiling itself may be the lower bound
    above = (y == 0) & (truth >= ceiling)
    floor = np.minimum(ceiling[above], truth[above])
    assert np.all(low[above] >= floor - 1e-4 * (scale + floor))
    # original minority rows: tight; new rows: bounded on both sides
    originals = np.flatnonzero(y[: seg.n_orig] == 1)
    assert np.all(high[originals] - low[originals] <= 1e-4 * (scale + truth[originals]))
    new = np.arange(seg.n_orig, len(y))
    assert np.mean(low[new] > 0.3 * truth[new]) > 0.5


@pytest.mark.parametrize("k", [1, 2, 4, 6])
def test_segment_bounds_hold_and_are_often_exact(k) -> None:
    """Check the own-class bounds from the segments' lines: never below the exact k-th
    neighbour, and close to it for most new rows (their nearest rows are on their line)."""
    X, y, seg = _smoted(3, twins=True)
    bound = segment_bounds(X, y, 1, seg, k)
    own = np.flatnonzero(y == 1)
    D = np.sqrt(pairwise_distances(X[own], metric="sqeuclidean"))
    kth = np.sort(D, axis=1)[:, k - 1]
    assert np.all(np.isnan(bound[y == 0]))
    assert np.all(kth <= bound[own] + 1e-9)
    new = own >= seg.n_orig
    if k > 1:
        assert np.mean(bound[own][new] <= 2.0 * kth[new] + 1e-9) > 0.5


def test_segments_check_refuses_other_rows() -> None:
    """Check that segments describing other rows are not used."""
    X, _y, seg = _smoted(4)
    assert seg.check(X)
    moved = X.copy()
    moved[seg.n_orig :] += 1e-3
    assert not seg.check(moved)
    assert not seg.check(X[:-1])


def _spy(monkeypatch: pytest.MonkeyPatch) -> list:
    calls: list = []
    real = cleaning.segment_other

    def spying(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(cleaning, "segment_other", spying)
    return calls


#: Their class for each of our samplers that a combined sampler's parameters may hold.
_THEIRS = {
    samplers.FastEditedNearestNeighbours: EditedNearestNeighbours,
    samplers.FastTomekLinks: TomekLinks,
    samplers.FastSMOTE: SMOTE,
}


def _against_imbalanced_learn(ours_class, theirs_class, cleaner, params, data, twins):
    """Fit ours and imbalanced-learn's combined sampler on the same data (some rows repeated
    inside and across classes when ``twins``); check them row for row."""
    X, y = data
    X = X.copy()
    if twins:
        minority = np.flatnonzero(y == 1)
        X[minority[:6]] = X[minority[6]]
        X[np.flatnonzero(y == 0)[:3]] = X[minority[7]]
    theirs_params = {
        key: _THEIRS[type(value)](**value.get_params()) if type(value) in _THEIRS else value
        for key, value in params.items()
    }
    ours = ours_class(random_state=0, **params)
    theirs = theirs_class(random_state=0, **theirs_params)
    X_ours, y_ours = ours.fit_resample(X, y)
    X_theirs, y_theirs = theirs.fit_resample(X, y)
    np.testing.assert_array_equal(
        getattr(ours, cleaner).sample_indices_, getattr(theirs, cleaner).sample_indices_
    )
    np.testing.assert_array_equal(X_ours, X_theirs)
    np.testing.assert_array_equal(y_ours, y_theirs)
    assert len(y_theirs) < len(y) + ours.smote_.sampling_strategy_[1]  # rows were removed


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"enn": samplers.FastEditedNearestNeighbours(
            sampling_strategy="all", kind_sel="mode", n_neighbors=5
        )},
        {"enn": samplers.FastEditedNearestNeighbours(sampling_strategy="majority")},
        {"smote": samplers.FastSMOTE(k_neighbors=2, random_state=1)},
        {"sampling_strategy": 0.5},
    ],
    ids=["default", "mode-5", "majority-only", "smote-k2", "ratio-0.5"],
)
@pytest.mark.parametrize("twins", [False, True], ids=["distinct", "repeated-rows"])
def test_smote_enn_through_segments_equals_imbalanced_learn(params, twins, monkeypatch) -> None:
    """Check SMOTE-ENN's segment path row for row against imbalanced-learn, and that it was
    the path taken."""
    monkeypatch.setattr(sampler_base, "LARGE", 100)
    monkeypatch.setattr(sampler_base, "TREE_COLUMNS", 0)  # the fast paths, whatever the width
    calls = _spy(monkeypatch)
    data = make_classification(
        n_samples=4000, n_features=10, weights=[0.95], flip_y=0.02, random_state=5
    )
    _against_imbalanced_learn(samplers.FastSMOTEENN, SMOTEENN, "enn_", params, data, twins)
    assert calls


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"tomek": samplers.FastTomekLinks(sampling_strategy="majority")},
        {"smote": samplers.FastSMOTE(k_neighbors=2, random_state=1)},
        {"sampling_strategy": 0.5},
    ],
    ids=["default", "majority-only", "smote-k2", "ratio-0.5"],
)
@pytest.mark.parametrize("twins", [False, True], ids=["distinct", "repeated-rows"])
def test_smote_tomek_through_segments_equals_imbalanced_learn(params, twins, monkeypatch) -> None:
    """Check SMOTE-Tomek's segment path (links searched only from the new class's rows that
    the segments cannot rule out) row for row against imbalanced-learn."""
    monkeypatch.setattr(sampler_base, "LARGE", 100)
    monkeypatch.setattr(sampler_base, "TREE_COLUMNS", 0)  # the fast paths, whatever the width
    calls = _spy(monkeypatch)
    data = make_classification(
        n_samples=4000, n_features=6, weights=[0.9], flip_y=0.05, class_sep=0.5,
        random_state=6,
    )
    _against_imbalanced_learn(samplers.FastSMOTETomek, SMOTETomek, "tomek_", params, data, twins)
    assert calls


def test_smote_enn_of_three_classes_takes_the_other_path(monkeypatch) -> None:
    """Check that SMOTE-ENN over-sampling two classes does not use the segments (they
    describe one class), and still equals imbalanced-learn."""
    monkeypatch.setattr(sampler_base, "LARGE", 100)
    monkeypatch.setattr(sampler_base, "TREE_COLUMNS", 0)  # the fast paths, whatever the width
    calls = _spy(monkeypatch)
    X, y = make_classification(
        n_samples=3000, n_features=8, n_informative=4, n_classes=3, n_clusters_per_class=1,
        weights=[0.8, 0.15], random_state=3,
    )
    ours = samplers.FastSMOTEENN(random_state=0)
    theirs = SMOTEENN(random_state=0)
    ours.fit_resample(X, y)
    theirs.fit_resample(X, y)
    assert not calls
    np.testing.assert_array_equal(ours.enn_.sample_indices_, theirs.enn_.sample_indices_)


def test_sparse_nonzero_finds_every_flag() -> None:
    """Check the word-at-a-time search of set flags against numpy's."""
    rng = np.random.default_rng(0)
    for shape in [(7, 13), (64, 8), (3, 1)]:
        size = shape[0] * shape[1]
        flags = np.zeros(size + 8, dtype=bool)
        flags[:size] = rng.random(size) < 0.05
        rows, cols = segments._sparse_nonzero(flags, size, shape[1])
        expected = np.nonzero(flags[:size].reshape(shape))
        np.testing.assert_array_equal(rows, expected[0])
        np.testing.assert_array_equal(cols, expected[1])


def test_smote_enn_segments_in_small_parts_on_a_dense_minority(monkeypatch) -> None:
    """Check the segment path where every majority row is near many segments (a dense
    minority cluster inside a sparse majority), searched a few pairs at a time."""
    monkeypatch.setattr(sampler_base, "LARGE", 100)
    monkeypatch.setattr(sampler_base, "TREE_COLUMNS", 0)  # the fast paths, whatever the width
    monkeypatch.setattr(segments, "_SEGMENT_PAIRS", 64)
    calls = _spy(monkeypatch)
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(1500, 6)) * 3.0, rng.normal(size=(60, 6)) * 0.5])
    y = np.r_[np.zeros(1500, dtype=int), np.ones(60, dtype=int)]
    ours = samplers.FastSMOTEENN(random_state=0)
    theirs = SMOTEENN(random_state=0)
    ours.fit_resample(X, y)
    theirs.fit_resample(X, y)
    assert calls
    np.testing.assert_array_equal(ours.enn_.sample_indices_, theirs.enn_.sample_indices_)
    assert len(theirs.enn_.sample_indices_) < 3000

