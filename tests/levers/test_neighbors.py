"""Tests of fnguard.levers.neighbors: the faiss index imbalanced-learn's samplers accept."""

from __future__ import annotations

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE
from imblearn.under_sampling import EditedNearestNeighbours
from sklearn.base import clone
from sklearn.neighbors import NearestNeighbors

from fnguard.levers.neighbors import FaissNeighbors


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(2000, 30)), rng.normal(size=(300, 30))


def _same_sets(a: np.ndarray, b: np.ndarray) -> bool:
    return all(set(r) == set(s) for r, s in zip(a, b, strict=True))


@pytest.mark.parametrize("query", [None, "other", "fitted"])
@pytest.mark.parametrize("k", [1, 5])
def test_flat_index_equals_scikit_learn(data, query, k) -> None:
    """Check that the exact index finds scikit-learn's neighbour sets and distances."""
    X, other = data
    Xq = {"other": other, "fitted": X[:300], None: None}[query]
    want_d, want_i = NearestNeighbors(n_neighbors=k).fit(X).kneighbors(Xq)
    got_d, got_i = FaissNeighbors(n_neighbors=k, algorithm="flat").fit(X).kneighbors(Xq)
    assert _same_sets(got_i, want_i)
    np.testing.assert_allclose(got_d, want_d, atol=1e-6)
    if query is None:  # a row is not its own neighbour
        assert not (got_i == np.arange(len(X))[:, None]).any()


def test_self_exclusion_with_duplicates() -> None:
    """Check that kneighbors() drops the row itself, not its duplicate, as scikit-learn does."""
    X = np.array([[0.0], [0.0], [1.0], [3.0]])
    dist, ind = FaissNeighbors(n_neighbors=2).fit(X).kneighbors()
    # rows 0 and 1 are duplicates: each is the other's neighbour at distance 0
    assert ind[:2].tolist() == [[1, 2], [0, 2]]
    np.testing.assert_allclose(dist[:2], [[0.0, 1.0], [0.0, 1.0]])


@pytest.mark.parametrize("algorithm", ["hnsw", "ivf"])
def test_approximate_recall(algorithm) -> None:
    """Check that HNSW and IVF find at least 95% of the true neighbours on 20,000 x 30."""
    rng = np.random.default_rng(1)
    centres = rng.normal(scale=4.0, size=(20, 30))
    X = centres[rng.integers(0, 20, 20_000)] + rng.normal(size=(20_000, 30))
    queries = X[:2000]
    want = NearestNeighbors(n_neighbors=5).fit(X).kneighbors(queries, return_distance=False)
    got = (
        FaissNeighbors(n_neighbors=5, algorithm=algorithm)
        .fit(X)
        .kneighbors(queries, return_distance=False)
    )
    recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(got, want, strict=True)])
    assert recall >= 0.95


def test_graph_clone_and_params(data) -> None:
    """Check kneighbors_graph, get_params / set_params and clone, as imbalanced-learn uses."""
    X, _ = data
    nn = FaissNeighbors(n_neighbors=3).set_params(n_jobs=1)
    assert clone(nn).get_params() == nn.get_params()
    graph = nn.fit(X).kneighbors_graph(mode="distance")
    want = NearestNeighbors(n_neighbors=3).fit(X).kneighbors_graph(mode="distance")
    np.testing.assert_allclose(graph.toarray(), want.toarray(), atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"algorithm": "kd_tree"}, "'algorithm' parameter"),
        ({"n_neighbors": 3000}, "n_neighbors <= n_samples_fit"),
    ],
)
def test_bad_input(data, kwargs, match) -> None:
    """Check the errors for an unknown index and for more neighbours than rows."""
    with pytest.raises(ValueError, match=match):
        FaissNeighbors(**kwargs).fit(data[0]).kneighbors()


def test_in_smote_and_enn() -> None:
    """Check that SMOTE and ENN give the same output with FaissNeighbors as with scikit-learn."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=3000, n_features=10, weights=[0.9], random_state=0)
    want = SMOTE(random_state=0).fit_resample(X, y)
    got = SMOTE(random_state=0, k_neighbors=FaissNeighbors(6)).fit_resample(X, y)
    np.testing.assert_allclose(got[0], want[0])
    ref = EditedNearestNeighbours().fit(X, y)
    ref.fit_resample(X, y)
    ours = EditedNearestNeighbours(n_neighbors=FaissNeighbors(4))
    ours.fit_resample(X, y)
    np.testing.assert_array_equal(ours.sample_indices_, ref.sample_indices_)


def test_auto_switches_to_calibrated_cells(monkeypatch) -> None:
    """Check that "auto" is scikit-learn's exact search below the work limit, and above it a
    cell index whose probe is raised until the recall of neighbours reaches 0.95."""
    from fnguard.levers import neighbors

    rng = np.random.default_rng(2)
    X, Q = rng.normal(size=(10_000, 30)), rng.normal(size=(400, 30))
    nn = FaissNeighbors(n_neighbors=5).fit(X)
    want = NearestNeighbors(n_neighbors=5).fit(X).kneighbors(Q, return_distance=False)
    np.testing.assert_array_equal(nn.kneighbors(Q, return_distance=False), want)
    assert nn.recall() is None
    monkeypatch.setattr(neighbors, "AUTO_APPROXIMATE_WORK", 1000)
    got = nn.kneighbors(Q, return_distance=False)
    assert nn.approximate_
    found = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(got, want, strict=True)])
    assert found >= 0.95 and nn.recall() >= 0.95


def test_shared_index() -> None:
    """Check that a FaissNeighbors told to share with another fitted on the same array reuses
    its indexes (Borderline-SMOTE-2 fits two on the whole data)."""
    X = np.random.default_rng(3).normal(size=(500, 4))
    first = FaissNeighbors(algorithm="cells").fit(X)
    first.kneighbors(X[:10])
    second = FaissNeighbors(algorithm="cells")
    second._share = first
    second.fit(X)
    assert second._indexes is first._indexes
