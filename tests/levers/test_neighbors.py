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
