"""Tests of fnguard.levers.samplers: every resampling lever, against imbalanced-learn."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from imblearn.combine import SMOTEENN, SMOTETomek
from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE
from imblearn.under_sampling import EditedNearestNeighbours, NearMiss, TomekLinks
from imblearn.utils.estimator_checks import parametrize_with_checks
from sklearn.datasets import make_classification
from sklearn.neighbors import NearestNeighbors

from fnguard.data.datasets import load_caravan
from fnguard.errors import DataError
from fnguard.levers import cleaning, knn, nearmiss, oversamplers, sampler_base, samplers
from fnguard.levers.neighbors import FaissNeighbors
from fnguard.levers.registry import registry

NAMES = [lever.name for lever in registry.family("resampling") if lever.kind == "sampler"]
OVER = {
    "random-over",
    "smote",
    "borderline-smote-1",
    "borderline-smote-2",
    "adasyn",
    "smote-nc",
    "smoten",
}
UNDER = {"random-under", "nearmiss-1", "nearmiss-2", "nearmiss-3"}
CLEANING = {"tomek", "enn"}
COMBINED = {"smote-tomek", "smote-enn"}


@pytest.fixture(scope="module")
def caravan() -> tuple[np.ndarray, np.ndarray]:
    """1,500 rows of the Caravan data (all 348 positives are too many for a quick test)."""
    data = load_caravan()
    X = data.X.astype(float).to_numpy()
    y = np.asarray(data.y).astype(int)
    rng = np.random.default_rng(0)
    keep = np.sort(
        np.concatenate(
            [
                rng.choice(np.flatnonzero(y == 1), 100, replace=False),
                rng.choice(np.flatnonzero(y == 0), 1400, replace=False),
            ]
        )
    )
    return X[keep], y[keep]


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """Continuous data without ties in distance, where exact results are comparable."""
    return make_classification(
        n_samples=3000, n_features=10, weights=[0.95], flip_y=0.02, random_state=0
    )


def test_every_name_is_registered() -> None:
    """Check that the fifteen resampling levers of the catalogue are registered."""
    assert set(NAMES) == OVER | UNDER | CLEANING | COMBINED


@pytest.mark.parametrize("name", NAMES)
def test_sampler_keeps_its_promise(name, caravan) -> None:
    """Check the class counts each sampler promises on the Caravan data."""
    X, y = caravan
    if name == "smoten":
        X = (X[:, :6] > np.median(X[:, :6], axis=0)).astype(int)
    params = {"categorical_features": [0, 1, 2]} if name == "smote-nc" else {}
    if name not in CLEANING:
        params["sampling_strategy"] = 0.5
    if "random_state" in registry[name].make(**params).get_params():
        params["random_state"] = 0
    X_res, y_res = registry[name].make(**params).fit_resample(X, y)
    before, after = Counter(y.tolist()), Counter(y_res.tolist())
    if name in OVER:
        assert after[0] == before[0]
        assert after[1] >= before[1]
        if name != "adasyn":  # ADASYN reaches the ratio only roughly
            assert after[1] == int(0.5 * before[0])
    elif name in UNDER:
        assert after[1] == before[1] and after[0] == 2 * before[1]
    elif name in CLEANING:
        assert after[1] == before[1] and after[0] <= before[0]
    else:
        assert after[1] > before[1]
    assert X_res.shape == (len(y_res), X.shape[1])


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (samplers.FastTomekLinks(), TomekLinks()),
        (samplers.FastTomekLinks(sampling_strategy="all"), TomekLinks(sampling_strategy="all")),
        (samplers.FastEditedNearestNeighbours(), EditedNearestNeighbours()),
        (
            samplers.FastEditedNearestNeighbours(kind_sel="mode", n_neighbors=5),
            EditedNearestNeighbours(kind_sel="mode", n_neighbors=5),
        ),
        (
            samplers.FastEditedNearestNeighbours(sampling_strategy="all"),
            EditedNearestNeighbours(sampling_strategy="all"),
        ),
        (samplers.FastNearMiss(version=1), NearMiss(version=1)),
        (samplers.FastNearMiss(version=2), NearMiss(version=2)),
        (samplers.FastNearMiss(version=3), NearMiss(version=3)),
        (
            samplers.FastNearMiss(version=2, sampling_strategy=0.5),
            NearMiss(version=2, sampling_strategy=0.5),
        ),
    ],
    ids=["tomek", "tomek-all", "enn", "enn-mode", "enn-all", "nm1", "nm2", "nm3", "nm2-half"],
)
@pytest.mark.parametrize("fast", [False, True], ids=["small", "faiss"])
def test_undersamplers_equal_imbalanced_learn(ours, theirs, fast, blobs, monkeypatch) -> None:
    """Check the same kept rows as imbalanced-learn, also when the faiss path runs."""
    if fast:
        monkeypatch.setattr(sampler_base, "LARGE", 100)
        monkeypatch.setattr(sampler_base, "TREE_COLUMNS", 0)  # the fast paths, whatever the width
    X, y = blobs
    ours.fit_resample(X, y)
    theirs.fit_resample(X, y)
    np.testing.assert_array_equal(np.sort(ours.sample_indices_), np.sort(theirs.sample_indices_))


@pytest.mark.parametrize("verify", [True, False], ids=["verified", "unverified"])
def test_approximate_paths_stay_close(blobs, monkeypatch, verify) -> None:
    """Check Tomek links and ENN when the exact search is judged too large: IVF neighbours,
    and at least 95% of imbalanced-learn's removed rows still removed; with ENN's removals
    searched again exactly, none that imbalanced-learn keeps."""
    monkeypatch.setattr(sampler_base, "LARGE", 100)
    monkeypatch.setattr(sampler_base, "TREE_COLUMNS", 0)  # the fast paths, whatever the width
    monkeypatch.setattr(cleaning, "EXACT_WORK", 1000)
    monkeypatch.setattr(cleaning, "CROSS_WORK", 1000)
    monkeypatch.setattr(cleaning, "VERIFY_WORK", 10**12 if verify else 0)
    X, y = blobs
    for ours, theirs in [
        (samplers.FastTomekLinks(sampling_strategy="all"), TomekLinks(sampling_strategy="all")),
        (
            samplers.FastEditedNearestNeighbours(sampling_strategy="all"),
            EditedNearestNeighbours(sampling_strategy="all"),
        ),
    ]:
        ours.fit_resample(X, y)
        theirs.fit_resample(X, y)
        removed_ours = set(range(len(y))) - set(ours.sample_indices_)
        removed_theirs = set(range(len(y))) - set(theirs.sample_indices_)
        assert len(removed_ours & removed_theirs) >= 0.95 * len(removed_theirs)
        if isinstance(ours, samplers.FastTomekLinks) or verify:  # removals checked exactly
            assert removed_ours <= removed_theirs


def _smote_then_duplicates() -> tuple[np.ndarray, np.ndarray]:
    """SMOTE's output (two large classes, half synthetic) with three classes and exact
    duplicates: rows repeated inside a class and across classes (ties at distance zero)."""
    X, y = make_classification(
        n_samples=3000, n_features=8, n_informative=4, n_classes=3, n_clusters_per_class=1,
        weights=[0.8, 0.15], random_state=3,
    )
    X, y = samplers.FastSMOTE(random_state=0).fit_resample(X, y)
    rng = np.random.default_rng(0)
    twins = rng.choice(len(y), 60, replace=False)
    flipped = (y[twins[:30]] + 1) % 3
    X = np.vstack([X, X[twins]])
    y = np.concatenate([y, flipped, y[twins[30:]]])
    return X, y


@pytest.mark.parametrize(
    "params",
    [
        {"sampling_strategy": "all"},
        {"sampling_strategy": "all", "kind_sel": "mode", "n_neighbors": 5},
        {},
        {"sampling_strategy": "not majority", "n_neighbors": 1},
    ],
    ids=["all", "mode-5", "auto", "not-majority-1"],
)
def test_enn_bounded_path_equals_imbalanced_learn(params, monkeypatch) -> None:
    """Check ENN's bounded path (cross-class pass, own-class index, counts, exact search for
    the undecided) row for row against imbalanced-learn, on SMOTE's output of three classes
    with rows repeated inside and across classes."""
    monkeypatch.setattr(sampler_base, "LARGE", 100)
    monkeypatch.setattr(sampler_base, "TREE_COLUMNS", 0)  # the fast paths, whatever the width
    X, y = _smote_then_duplicates()
    ours = samplers.FastEditedNearestNeighbours(**params)
    theirs = EditedNearestNeighbours(**params)
    X_ours, y_ours = ours.fit_resample(X, y)
    X_theirs, y_theirs = theirs.fit_resample(X, y)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)
    np.testing.assert_array_equal(X_ours, X_theirs)
    np.testing.assert_array_equal(y_ours, y_theirs)
    assert len(y_theirs) < len(y)  # something was removed


def test_enn_bounds_decide_most_rows(monkeypatch) -> None:
    """Check that ENN's bounds and counts leave few rows to the exact search (on SMOTE's
    output, where about a tenth of the rows are removed)."""
    monkeypatch.setattr(sampler_base, "LARGE", 100)
    monkeypatch.setattr(sampler_base, "TREE_COLUMNS", 0)  # the fast paths, whatever the width
    X, y = make_classification(n_samples=6000, n_features=10, weights=[0.9], random_state=0)
    X, y = samplers.FastSMOTE(random_state=0).fit_resample(X, y)
    ours = samplers.FastEditedNearestNeighbours(sampling_strategy="all")
    asked = []
    search = NearestNeighbors.kneighbors

    def counting(self, X=None, *args, **kwargs):
        asked.append(0 if X is None else len(X))
        return search(self, X, *args, **kwargs)

    monkeypatch.setattr(NearestNeighbors, "kneighbors", counting)
    ours.fit_resample(X, y)
    removed = len(y) - len(ours.sample_indices_)
    assert removed > 0.02 * len(y)
    assert sum(asked) < 0.25 * removed


def test_nearest_other_and_count_within_against_exact() -> None:
    """Check the float32 bounds against scikit-learn's exact distances: the nearest row of
    another class lies between the bounds, and the counts bracket the exact counts."""
    from sklearn.metrics import pairwise_distances

    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 6)) * 1000.0 + 5e4  # far from the origin: centring matters
    y = rng.integers(0, 3, size=1500)
    low, high = knn.nearest_other(X, y, [0, 2])
    D2 = pairwise_distances(X, metric="sqeuclidean")
    truth = np.where(y[:, None] != y[None, :], D2, np.inf).min(axis=1)
    assert np.all(low <= truth) and np.all(truth <= high)
    assert np.median((high - low) / truth) < 0.05  # not centred: above 1
    own = np.flatnonzero(y == 0)
    radius = truth[own]
    surely, maybe = knn.count_within(X[own], X[own], radius, radius)
    inside = (D2[np.ix_(own, own)] < radius[:, None]).sum(axis=1)
    at_most = (D2[np.ix_(own, own)] <= radius[:, None]).sum(axis=1)
    assert np.all(surely <= inside) and np.all(at_most <= maybe)
    assert np.mean(surely == inside) > 0.95


def _on_segment(X_new: np.ndarray, minority: np.ndarray) -> bool:
    """Each synthetic row lies on a segment from a minority row to another minority row."""
    for row in X_new:
        gaps = []
        for start in minority:
            direction = minority - start
            step = (direction @ (row - start)) / np.maximum((direction**2).sum(1), 1e-300)
            inside = (step >= -1e-9) & (step <= 1 + 1e-9)
            rest = np.linalg.norm(start + step[:, None] * direction - row, axis=1)
            gaps.append(np.min(np.where(inside, rest, np.inf)))
        if min(gaps) > 1e-8:
            return False
    return True


#: Our over-samplers and imbalanced-learn's, in pairs.
OVERSAMPLERS = [
    (samplers.FastSMOTE, SMOTE),
    (samplers.FastADASYN, ADASYN),
    (samplers.FastBorderlineSMOTE, BorderlineSMOTE),
    (
        lambda **kw: samplers.FastBorderlineSMOTE(kind="borderline-2", **kw),
        lambda **kw: BorderlineSMOTE(kind="borderline-2", **kw),
    ),
]


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        *OVERSAMPLERS,
        (samplers.FastSMOTETomek, SMOTETomek),
        (samplers.FastSMOTEENN, SMOTEENN),
    ],
)
@pytest.mark.parametrize("fast", [False, True], ids=["small", "faiss"])
def test_oversamplers_equal_imbalanced_learn(ours, theirs, fast, blobs, monkeypatch) -> None:
    """Check imbalanced-learn's output, also on the fast path below the work limit where the
    search stays exact, and synthetic rows on segments between minority rows."""
    if fast:
        monkeypatch.setattr(sampler_base, "LARGE", 100)
        monkeypatch.setattr(sampler_base, "TREE_COLUMNS", 0)  # the fast paths, whatever the width
    X, y = blobs
    X_ours, y_ours = ours(random_state=0).fit_resample(X, y)
    X_theirs, y_theirs = theirs(random_state=0).fit_resample(X, y)
    assert Counter(y_ours.tolist()) == Counter(y_theirs.tolist())
    # the same (exact) neighbours below the work limit: the same synthetic rows
    np.testing.assert_allclose(X_ours, X_theirs)
    borderline = isinstance(ours(random_state=0), samplers.FastBorderlineSMOTE)
    new = X_ours[len(y) :][:50]
    if not borderline:  # borderline-2 also steps toward the majority
        assert _on_segment(new, X[y == 1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("ours", "theirs"),
    OVERSAMPLERS,
)
def test_oversamplers_bit_for_bit(ours, theirs, dtype) -> None:
    """Check that the threaded generation into one output array gives imbalanced-learn's rows
    bit for bit, in float32 (its float64 steps) and float64, with three classes."""
    X, y = make_classification(n_samples=3000, n_features=8, n_informative=5, n_classes=3,
                               weights=[0.8, 0.15, 0.05], random_state=0)
    X = X.astype(dtype)
    X_ours, y_ours = ours(random_state=0).fit_resample(X, y)
    X_theirs, y_theirs = theirs(random_state=0).fit_resample(X, y)
    assert X_ours.dtype == X_theirs.dtype == dtype
    np.testing.assert_array_equal(y_ours, y_theirs)
    np.testing.assert_array_equal(X_ours, X_theirs)
    assert len(y_ours) > len(y)


def test_smote_nc_takes_categorical_features(caravan) -> None:
    """Check make('smote-nc', categorical_features=...) and that categories stay categories."""
    X, y = caravan
    sampler = registry["smote-nc"].make(categorical_features=[0], random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    assert set(np.unique(X_res[:, 0])) <= set(np.unique(X[:, 0]))


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("smote", {"k_neighbors": 5}, "there are 4 rows of class 1 and 5 neighbours"),
        ("smote-tomek", {}, "there are 4 rows of class 1 and 5 neighbours"),
        ("smote-enn", {}, "there are 4 rows of class 1 and 5 neighbours"),
        ("borderline-smote-1", {"k_neighbors": 4}, "Lower k_neighbors to at most 3"),
        ("adasyn", {"n_neighbors": 6}, "Lower n_neighbors to at most 3"),
        ("nearmiss-1", {"n_neighbors": 5}, "there are 4 rows of class 1"),
        ("smote-nc", {"categorical_features": [0]}, "random-over, random-under, tomek or enn"),
    ],
)
def test_too_many_neighbours(name, params, match) -> None:
    """Check the DataError for more neighbours than minority rows, and what still works."""
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.integers(0, 3, 60), rng.normal(size=(60, 3))])
    y = np.array([1] * 4 + [0] * 56)
    with pytest.raises(DataError, match=match):
        registry[name].make(**params).fit_resample(X, y)
    for still in ("random-over", "random-under", "tomek", "enn"):
        registry[still].make().fit_resample(X, y)


@parametrize_with_checks(
    [
        samplers.FastTomekLinks(),
        samplers.FastEditedNearestNeighbours(),
        samplers.FastNearMiss(version=2),
        samplers.FastSMOTE(random_state=0),
        samplers.FastBorderlineSMOTE(random_state=0),
        samplers.FastADASYN(random_state=0),
        samplers.FastSMOTETomek(random_state=0),
        samplers.FastSMOTEENN(random_state=0),
    ]
)
def test_imbalanced_learn_checks(estimator, check) -> None:
    """Check that our samplers pass imbalanced-learn's sampler checks."""
    check(estimator)


@pytest.mark.parametrize(
    ("version", "low_guess"), [(1, False), (1, True), (3, False)], ids=["nm1", "nm1-low", "nm3"]
)
def test_nearmiss_large_path_equals_imbalanced_learn(monkeypatch, version, low_guess) -> None:
    """Check NearMiss-1 and -3 above the work limit: NearMiss-1's float32 bounds, then only
    the rows they cannot rule out scored by imbalanced-learn's search, give the same rows as
    imbalanced-learn in its order, also when the estimate of the last score kept is too low
    (every row between it and the cap is bounded again); NearMiss-3's own steps (float32
    scores of the candidates) give imbalanced-learn's rows where its first search is exact."""
    monkeypatch.setattr(nearmiss, "AUTO_APPROXIMATE_WORK", 1000)
    monkeypatch.setattr(sampler_base, "LARGE", 100)
    monkeypatch.setattr(sampler_base, "TREE_COLUMNS", 0)  # the fast paths, whatever the width
    if low_guess:
        monkeypatch.setattr(knn, "_last_score_guess", lambda score, n, n_keep: 0.0)
    X, y = make_classification(n_samples=8000, n_features=20, weights=[0.95], random_state=1)
    ours = samplers.FastNearMiss(version=version)
    theirs = NearMiss(version=version)
    X_ours, y_ours = ours.fit_resample(X, y)
    X_theirs, y_theirs = theirs.fit_resample(X, y)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)
    np.testing.assert_array_equal(X_ours, X_theirs)
    np.testing.assert_array_equal(y_ours, y_theirs)


def test_nearest_selection_scores_few_rows_exactly() -> None:
    """Check that nearest_selection asks the exact search for few more rows than it keeps
    (the bounds rule out the rest), on 20,000 rows keeping 200."""
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(20_000, 10)), rng.normal(size=(500, 10))
    nn = NearestNeighbors(n_neighbors=3).fit(Y)
    asked = []

    class Counting:
        def kneighbors(self, Q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
            asked.append(len(Q))
            return nn.kneighbors(Q, k)

    chosen = knn.nearest_selection(X, Y, 3, 200, Counting())
    score = nn.kneighbors(X, 3)[0].sum(axis=1)
    np.testing.assert_array_equal(chosen, np.argsort(score, kind="stable")[:200])
    assert asked[0] == knn._SAMPLE  # the estimate of the last score kept
    assert sum(asked[1:]) < 0.1 * len(X)


def test_adasyn_few_new_rows_still_generates() -> None:
    """Where imbalanced-learn's rounding leaves ADASYN nothing to generate (8 new rows over 80
    minority rows) and it raises, ours generates the rows asked for, from the minority rows
    with the most neighbours of the other class; elsewhere it stays imbalanced-learn's."""
    X, y = make_classification(200, n_features=4, weights=[0.6], class_sep=0.5, random_state=0)
    n_min, n_maj = np.bincount(y)[1], np.bincount(y)[0]
    ratio = (n_min + 8.5) / n_maj
    with pytest.raises(ValueError, match="No samples will be generated"):
        ADASYN(sampling_strategy=ratio, random_state=0).fit_resample(X, y)
    ours = samplers.FastADASYN(sampling_strategy=ratio, random_state=0)
    Xr, yr = ours.fit_resample(X, y)
    assert np.bincount(yr)[1] == n_min + 8
    np.testing.assert_array_equal(Xr[: len(X)], X)
    # each new row lies between a minority row of the highest ADASYN share and a neighbour
    minority = X[y == 1]
    nn = ours.nn_.fit(X)
    share = (y[nn.kneighbors(minority, return_distance=False)[:, 1:]] != 1).mean(axis=1)
    starts = np.flatnonzero(share >= np.sort(share)[::-1][7])

    def from_top_row(x: np.ndarray) -> bool:
        for i in starts:
            step = x - minority[i]
            for other in minority:
                gap = other - minority[i]
                t = step @ gap / max(gap @ gap, 1e-300)
                if 0 <= t <= 1 and np.allclose(minority[i] + t * gap, x, atol=1e-9):
                    return True
        return False

    assert all(from_top_row(x) for x in Xr[len(X):])
    Xa, _ = ADASYN(random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(samplers.FastADASYN(random_state=0).fit_resample(X, y)[0], Xa)


@pytest.mark.parametrize("k_neighbors", [1, 5])
def test_smote_nc_in_blocks_is_imbalanced_learns(
    monkeypatch: pytest.MonkeyPatch, k_neighbors: int
) -> None:
    """Check that SMOTE-NC made in small blocks gives imbalanced-learn's rows bit for bit,
    ties between equally frequent categories included (5 neighbours over 40 levels tie
    often), and bounds the block it builds."""
    from imblearn.over_sampling import SMOTENC

    rng = np.random.default_rng(0)
    n = 600
    X = np.column_stack([rng.normal(size=n), rng.integers(0, 40, n), rng.integers(0, 7, n)])
    y = (X[:, 0] + rng.normal(size=n) > 1.6).astype(int)
    monkeypatch.setattr(oversamplers, "SMOTENC_BLOCK_BYTES", 2_000)
    ours = samplers.FastSMOTENC(categorical_features=[1, 2], k_neighbors=k_neighbors,
                                random_state=0)
    blocks: list[int] = []
    real_isclose = np.isclose

    def count_blocks(a, b, *args, **kwargs):
        blocks.append(a.shape[0])
        return real_isclose(a, b, *args, **kwargs)

    monkeypatch.setattr(np, "isclose", count_blocks)
    Xo, yo = ours.fit_resample(X, y)
    monkeypatch.setattr(np, "isclose", real_isclose)
    Xr, yr = SMOTENC(categorical_features=[1, 2], k_neighbors=k_neighbors,
                     random_state=0).fit_resample(X, y)
    n_new = len(yr) - n
    assert len(blocks) > 6 and max(blocks) < n_new  # ours in blocks
    np.testing.assert_array_equal(yo, yr)
    np.testing.assert_array_equal(Xo, Xr)


def test_nearmiss_ties_of_real_data_as_imbalanced_learn(monkeypatch) -> None:
    """Check NearMiss-1's bounded path row for row and in order on the Caravan data, where
    many rows are at equal distance and many scores are equal: its own float64 scores decide
    only what rounding cannot change."""
    monkeypatch.setattr(nearmiss, "AUTO_APPROXIMATE_WORK", 1000)
    monkeypatch.setattr(sampler_base, "TREE_COLUMNS", 0)
    data = load_caravan()
    X = data.X.astype(float).to_numpy()
    y = np.asarray(data.y).astype(int)
    ours, theirs = samplers.FastNearMiss(version=1), NearMiss(version=1)
    ours.fit_resample(X, y)
    theirs.fit_resample(X, y)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)


@pytest.mark.parametrize(
    ("ours", "theirs", "cleaner"),
    [
        (samplers.FastSMOTEENN, SMOTEENN, "enn_"),
        (samplers.FastSMOTETomek, SMOTETomek, "tomek_"),
        (samplers.FastEditedNearestNeighbours, EditedNearestNeighbours, None),
        (samplers.FastTomekLinks, TomekLinks, None),
    ],
    ids=["smote-enn", "smote-tomek", "enn", "tomek"],
)
def test_ties_of_real_data_broken_as_imbalanced_learn(ours, theirs, cleaner, monkeypatch) -> None:
    """Check the cleaning samplers row for row on the Caravan data (small integers: many
    repeated rows and rows at equal distance), where scikit-learn's search ranks tied rows
    differently for few queries than for many unless told otherwise."""
    monkeypatch.setattr(sampler_base, "LARGE", 100)
    monkeypatch.setattr(sampler_base, "TREE_COLUMNS", 0)  # the fast paths, whatever the width
    data = load_caravan()
    X = data.X.astype(float).to_numpy()
    y = np.asarray(data.y).astype(int)
    params = {"random_state": 0} if cleaner else {}
    a, b = ours(**params), theirs(**params)
    a.fit_resample(X, y)
    b.fit_resample(X, y)
    if cleaner:
        a, b = getattr(a, cleaner), getattr(b, cleaner)
    np.testing.assert_array_equal(a.sample_indices_, b.sample_indices_)


def test_few_columns_keep_scikit_learns_trees(monkeypatch) -> None:
    """Check that on few columns (where scikit-learn's k-d tree is exact and fast) the
    samplers keep imbalanced-learn's own searches: no float32 pass, no faiss, no segments."""
    monkeypatch.setattr(sampler_base, "LARGE", 100)
    used = []
    for module, name in [
        (cleaning, "nearest_other"), (cleaning, "segment_other"), (nearmiss, "screened_selection")
    ]:
        real = getattr(module, name)
        monkeypatch.setattr(
            module, name, lambda *a, _n=name, _r=real, **k: used.append(_n) or _r(*a, **k)
        )
    X, y = make_classification(
        n_samples=3000, n_features=6, weights=[0.9], flip_y=0.03, random_state=2
    )
    for ours, theirs, params in [
        (samplers.FastEditedNearestNeighbours, EditedNearestNeighbours, {}),
        (samplers.FastSMOTEENN, SMOTEENN, {"random_state": 0}),
        (samplers.FastSMOTETomek, SMOTETomek, {"random_state": 0}),
        (samplers.FastNearMiss, NearMiss, {"version": 1}),
        (samplers.FastSMOTE, SMOTE, {"random_state": 0}),
    ]:
        sampler = ours(**params)
        X_ours, y_ours = sampler.fit_resample(X, y)
        X_theirs, y_theirs = theirs(**params).fit_resample(X, y)
        np.testing.assert_array_equal(X_ours, X_theirs)
        np.testing.assert_array_equal(y_ours, y_theirs)
        assert not isinstance(getattr(sampler, "nn_k_", None), FaissNeighbors)
    assert used == []


def test_nearmiss_2_with_fewer_minority_rows_than_neighbours() -> None:
    """Check that NearMiss-2 with fewer minority rows than n_neighbors averages over all of
    them, as imbalanced-learn does, instead of refusing."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.array([1, 1] + [0] * 38)
    ours, theirs = samplers.FastNearMiss(version=2), NearMiss(version=2)
    ours.fit_resample(X, y)
    theirs.fit_resample(X, y)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)


def test_borderline_2_with_as_many_minority_rows_as_neighbours() -> None:
    """Check that Borderline-SMOTE-2, which draws neighbours from every class, takes a
    minority class of k_neighbors rows as imbalanced-learn does (same rows out)."""
    from imblearn.over_sampling import BorderlineSMOTE

    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(size=(60, 2)), rng.normal(0.3, 1, size=(5, 2))])
    y = np.r_[np.zeros(60, int), np.ones(5, int)]
    ours = samplers.FastBorderlineSMOTE(kind="borderline-2", random_state=0).fit_resample(X, y)
    theirs = BorderlineSMOTE(kind="borderline-2", random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(ours[0], theirs[0])
    assert np.bincount(ours[1]).tolist() == [60, 60]


@pytest.mark.parametrize("name", ["smote", "borderline-smote-1", "adasyn", "smote-enn"])
def test_categories_given_to_interpolating_samplers(name) -> None:
    """Check the DataError naming the categorical columns and the samplers that take them,
    for text and category dtypes and for an object array."""
    import pandas as pd

    rng = np.random.RandomState(0)
    X = pd.DataFrame({"amount": rng.normal(size=100), "grade": rng.choice(list("ABC"), 100)})
    y = np.r_[np.zeros(80, int), np.ones(20, int)]
    sampler = registry[name].make(random_state=0)
    for data in (X, X.astype({"grade": "category"})):
        with pytest.raises(DataError, match=r"\['grade'\].*'smote-nc'"):
            sampler.fit_resample(data, y)
    with pytest.raises(DataError, match="some columns of X are categories"):
        sampler.fit_resample(X.to_numpy(), y)
    X_num, _ = sampler.fit_resample(X[["amount"]], y)  # numbers only: unchanged behaviour
    assert list(X_num.columns) == ["amount"]


@pytest.mark.parametrize("fast_path", [False, True], ids=["imblearn-path", "bounded-path"])
def test_enn_mode_on_labels_that_are_not_numbers(monkeypatch, fast_path) -> None:
    """Check that ENN with kind_sel='mode' takes bool and text labels (scipy's mode, which
    imbalanced-learn calls, refuses them; fnguard's fit passes bool labels), keeping the rows
    imbalanced-learn keeps for the same labels as integers."""
    if fast_path:
        monkeypatch.setattr(sampler_base, "LARGE", 100)
        monkeypatch.setattr(sampler_base, "TREE_COLUMNS", 0)
    X, y = make_classification(
        n_samples=2000, n_features=20, weights=[0.9], flip_y=0.05, random_state=3
    )
    expected = EditedNearestNeighbours(kind_sel="mode").fit(X, y)
    expected.fit_resample(X, y)
    for labels in (y.astype(bool), np.where(y == 1, "pos", "neg")):
        sampler = samplers.FastEditedNearestNeighbours(kind_sel="mode")
        _, y_res = sampler.fit_resample(X, labels)
        np.testing.assert_array_equal(sampler.sample_indices_, expected.sample_indices_)
        np.testing.assert_array_equal(y_res, labels[expected.sample_indices_])
        assert set(sampler.sampling_strategy_) <= set(labels.tolist())


def test_one_minority_row_says_no_neighbour_count_works() -> None:
    """Check that with one minority row the error says no k works (it advised 'k_neighbors to
    at most 0', itself invalid, and '1 rows') and names the samplers that still work."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 3)), np.r_[1, np.zeros(199, int)]
    for name in ("smote", "adasyn", "smote-tomek"):
        with pytest.raises(DataError) as caught:
            registry[name].make().fit_resample(X, y)
        message = str(caught.value)
        assert "there is 1 row of class 1" in message and "at most 0" not in message
        assert "No value of" in message and "random-over" in message
