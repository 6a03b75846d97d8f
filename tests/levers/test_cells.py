"""Tests of fnguard.levers.cells: the cell index searched with matrix products."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from fnguard.levers.cells import CellIndex, recall


@pytest.fixture(scope="module")
def noisy() -> tuple[np.ndarray, np.ndarray]:
    """20,000 rows in 30 noisy dimensions (the hard case for an index) and 1,000 queries."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(20_000, 30)), rng.normal(size=(1_000, 30))


def test_full_probe_is_exact(noisy) -> None:
    """Check that probing every cell finds scikit-learn's neighbours and distances."""
    X, Q = noisy
    want_d, want_i = NearestNeighbors(n_neighbors=6).fit(X).kneighbors(Q[:200])
    got_d, got_i = CellIndex(X, n_cells=40).search(Q[:200], 6, probe=1.0)
    np.testing.assert_array_equal(got_i, want_i)
    np.testing.assert_allclose(got_d, want_d, rtol=1e-10)


@pytest.mark.parametrize("k", [3, 11])
def test_half_probe_recall(noisy, k) -> None:
    """Check a recall of neighbours >= 0.95 with half of the cells probed (pure noise: the
    share needed falls as the cells grow in number)."""
    X, Q = noisy
    want = NearestNeighbors(n_neighbors=k).fit(X).kneighbors(Q, return_distance=False)
    dist, got = CellIndex(X).search(Q, k, probe=0.5)
    assert recall(got, want) >= 0.95
    assert np.all(np.diff(dist, axis=1) >= 0)  # nearest first


def test_few_rows_and_small_cells() -> None:
    """Check fewer rows than asked (-1 and inf) and cells smaller than the neighbours asked."""
    X = np.arange(12, dtype=float).reshape(6, 2)
    dist, ind = CellIndex(X, n_cells=6).search(X[:2], 8, probe=1.0)
    assert ind[0, :6].tolist() == [0, 1, 2, 3, 4, 5]
    assert (ind[:, 6:] == -1).all() and np.isinf(dist[:, 6:]).all()


def test_recall() -> None:
    """Check the recall of neighbour sets on a hand-made case."""
    assert recall(np.array([[1, 2], [3, 4]]), np.array([[2, 1], [4, 9]])) == 0.75


def test_probe_for_recall(noisy) -> None:
    """Check that the share found from the cells' ranks reaches the recall asked on its
    queries, and that one cell fewer does not."""
    X, Q = noisy
    index = CellIndex(X, n_cells=200)
    want = NearestNeighbors(n_neighbors=5).fit(X).kneighbors(Q[:300], return_distance=False)
    probe = index.probe_for_recall(Q[:300], want, 0.9)
    assert recall(index.search(Q[:300], 5, probe=probe)[1], want) >= 0.9
    fewer = (math.ceil(probe * index.n_cells) - 1.5) / index.n_cells
    assert recall(index.search(Q[:300], 5, probe=fewer)[1], want) < 0.9


def test_cells_cover_every_row(noisy) -> None:
    """Check that the two-level cells hold every row once, about as many as asked."""
    X, _ = noisy
    index = CellIndex(X, n_cells=100)
    assert 80 <= index.n_cells <= 120
    np.testing.assert_array_equal(np.sort(index.order), np.arange(len(X)))
    assert index.starts[-1] == len(X)
    np.testing.assert_array_equal(
        index.cell_of[index.order], np.repeat(np.arange(index.n_cells), np.diff(index.starts))
    )
