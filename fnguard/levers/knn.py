"""Nearest neighbours by blocks of matrix products: an inverted file searched with BLAS.

:class:`CellIndex` cuts the rows into k-means cells (faiss's k-means on a sample, every row
then in the cell of its nearest centroid, rows stored cell by cell) and searches only the
cells nearest to each query, as faiss's ``IndexIVFFlat`` does, but cell by cell instead of
query by query:

1. a first bound: each query's ``k``-th nearest row inside its nearest cell (a distance to a
   real row, so an upper bound of its true ``k``-th neighbour distance);
2. per probed cell, one matrix product for all the queries that probe it, on augmented vectors
   (``[x, |x|^2] . [-2q, 1] = |x - q|^2 - |q|^2``), and a vectorised comparison with each
   query's bound: only the rows below it survive, so no selection runs over all distances;
3. the survivors of each query ranked in float32, then its best candidates ranked again with
   float64 distances (ties by row number, as scikit-learn's stable sort).

The search is approximate (a true neighbour in a cell that is not probed is missed): the share
of cells probed sets the recall. :func:`recall` measures it against an exact search.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

__all__ = ["CellIndex", "farthest_selection", "recall"]

#: Rows per cell aimed at by default (fewer cells: cheaper to build, more rows per probe).
ROWS_PER_CELL = 256


def _faiss() -> Any:
    import faiss

    return faiss


def _augment_rows(X: np.ndarray) -> np.ndarray:
    out = np.empty((len(X), X.shape[1] + 1), dtype=np.float32)
    out[:, :-1] = X
    out[:, -1] = np.einsum("ij,ij->i", X, X)
    return out


def _augment_queries(Q: np.ndarray) -> np.ndarray:
    out = np.empty((len(Q), Q.shape[1] + 1), dtype=np.float32)
    out[:, :-1] = -2.0 * Q
    out[:, -1] = 1.0
    return out


class CellIndex:
    """An approximate nearest-neighbour index: k-means cells searched with matrix products.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        The rows to index (kept by reference, in float64, to rank the candidates exactly).
    n_cells : int or None, default=None
        k-means cells; None: one per :data:`ROWS_PER_CELL` rows.
    n_jobs : int or None, default=None
        Threads; None or -1 uses every core.
    random_state : int, default=0
        Seed of the k-means sample.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(2000, 8))
    >>> index = CellIndex(X, n_cells=16)
    >>> dist, ind = index.search(X[:3], 2, probe=1.0)
    >>> ind[:, 0].tolist()
    [0, 1, 2]
    """

    def __init__(
        self,
        X: np.ndarray,
        *,
        n_cells: int | None = None,
        n_jobs: int | None = None,
        random_state: int = 0,
    ) -> None:
        faiss = _faiss()
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        n, d = self.X.shape
        cores = os.cpu_count() or 1
        self.n_jobs = cores if n_jobs is None or n_jobs < 0 else max(1, min(int(n_jobs), cores))
        if n_cells is None:
            n_cells = max(1, round(n / ROWS_PER_CELL))
        self.n_cells = n_cells = max(1, min(int(n_cells), n))
        X32 = self.X.astype(np.float32)
        rng = np.random.default_rng(random_state)
        sample = X32[np.sort(rng.choice(n, min(n, 8 * n_cells), replace=False))]
        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(self.n_jobs)
        try:
            kmeans = faiss.Kmeans(d, n_cells, niter=6, seed=random_state, min_points_per_centroid=1)
            kmeans.train(sample)
            _, labels = kmeans.index.search(X32, 1)
        finally:
            faiss.omp_set_num_threads(before)
        labels = labels.ravel()
        self.order = np.argsort(labels, kind="stable")
        self.starts = np.searchsorted(labels[self.order], np.arange(n_cells + 1))
        self.rows = _augment_rows(X32[self.order])
        self.centroids = _augment_rows(kmeans.centroids)

    def search(
        self, Q: np.ndarray, k: int, *, probe: float = 0.1, extra: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest indexed rows of each query, nearest first (approximate).

        Parameters
        ----------
        Q : ndarray of shape (n_queries, n_features)
            The queries.
        k : int
            Neighbours per query (at most the number of indexed rows).
        probe : float, default=0.1
            Share of the cells searched for each query (1.0: exact).
        extra : int or None, default=None
            Candidates ranked again in float64 beyond ``k`` (None: ``max(k, 4)``).

        Returns
        -------
        dist : ndarray of shape (n_queries, k)
            Euclidean distances (float64); ``inf`` where fewer than ``k`` rows were found.
        ind : ndarray of shape (n_queries, k)
            Row numbers in ``X``; -1 where fewer than ``k`` rows were found.
        """
        Q = np.ascontiguousarray(Q, dtype=np.float64)
        keep = k + (max(k, 4) if extra is None else int(extra))
        n_probe = max(1, min(self.n_cells, math.ceil(probe * self.n_cells)))
        per_cell = math.ceil(keep / n_probe)
        # bounded memory: the probe mask and the per-cell minima of one block of queries
        step = max(256, 2**24 // (self.n_cells * per_cell))
        dist = np.empty((len(Q), k))
        ind = np.empty((len(Q), k), dtype=np.intp)
        for s in range(0, len(Q), step):
            dist[s : s + step], ind[s : s + step] = self._search(Q[s : s + step], k, keep, n_probe)
        return dist, ind

    def _search(
        self, Q: np.ndarray, k: int, keep: int, n_probe: int
    ) -> tuple[np.ndarray, np.ndarray]:
        from threadpoolctl import threadpool_limits

        m = len(Q)
        Qa = _augment_queries(Q.astype(np.float32))
        with threadpool_limits(self.n_jobs):
            to_cells = Qa @ self.centroids.T  # |c - q|^2 - |q|^2
        if n_probe < self.n_cells:
            limit = np.partition(to_cells, n_probe - 1, axis=1)[:, n_probe - 1]
            probes = np.ascontiguousarray((to_cells <= limit[:, None]).T)
        else:
            probes = np.ones((self.n_cells, m), dtype=bool)
        del to_cells
        # each probed cell gives its `per_cell` nearest rows: their keep-th smallest distance
        # is an upper bound of the keep-th neighbour distance
        per_cell = math.ceil(keep / n_probe)
        mins = np.full((m, self.n_cells * per_cell), np.inf, dtype=np.float32)

        def first(cells: range) -> None:
            for c in cells:
                lo, hi = self.starts[c], self.starts[c + 1]
                qi = np.flatnonzero(probes[c])
                if hi == lo or not len(qi):
                    continue
                G = self.rows[lo:hi] @ Qa[qi].T
                if per_cell == 1:
                    mins[qi, c] = G.min(axis=0)
                else:
                    j = min(per_cell, hi - lo)
                    low = np.partition(G, j - 1, axis=0)[:j] if j < hi - lo else G
                    mins[qi[None, :], c * per_cell + np.arange(j)[:, None]] = low

        def scan(cells: range) -> tuple[list, list, list]:
            found_q, found_r, found_v = [], [], []
            for c in cells:
                lo, hi = self.starts[c], self.starts[c + 1]
                qi = np.flatnonzero(probes[c])
                if hi == lo or not len(qi):
                    continue
                G = self.rows[lo:hi] @ Qa[qi].T
                hit = np.flatnonzero(G <= bound[qi])
                found_q.append(qi[hit % len(qi)])
                found_r.append(hit // len(qi) + lo)
                found_v.append(G.ravel()[hit])
            return found_q, found_r, found_v

        parts = [range(i, self.n_cells, self.n_jobs) for i in range(self.n_jobs)]
        with threadpool_limits(1), ThreadPoolExecutor(self.n_jobs) as pool:
            list(pool.map(first, parts))
            kth = min(keep, mins.shape[1]) - 1
            bound = np.partition(mins, kth, axis=1)[:, kth]
            # float32 slack: a row at the bound must survive
            bound += np.float32(1e-4) * (1.0 + np.abs(bound))
            results = list(pool.map(scan, parts))
        q = np.concatenate([x for part in results for x in part[0]] or [np.empty(0, np.intp)])
        r = np.concatenate([x for part in results for x in part[1]] or [np.empty(0, np.intp)])
        v = np.concatenate([x for part in results for x in part[2]] or [np.empty(0, np.float32)])
        return self._rank(Q, q, r, v, k, keep)

    def _rank(
        self,
        Q: np.ndarray,
        q: np.ndarray,
        r: np.ndarray,
        v: np.ndarray,
        k: int,
        keep: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``keep`` best float32 candidates of each query, ranked again in float64."""
        m = len(Q)
        order = np.lexsort((v, q))
        q, r = q[order], r[order]
        starts = np.searchsorted(q, np.arange(m + 1))
        rank = np.arange(len(q)) - np.repeat(starts[:-1], np.diff(starts))
        take = rank < keep
        cand = np.full((m, keep), -1, dtype=np.intp)
        cand[q[take], rank[take]] = self.order[r[take]]
        missing = cand < 0
        safe = np.where(missing, 0, cand)
        dist = np.empty((m, k))
        ind = np.empty((m, k), dtype=np.intp)
        step = max(1, 2**21 // max(keep * Q.shape[1], 1))
        for s in range(0, m, step):
            diff = self.X[safe[s : s + step]] - Q[s : s + step, None, :]
            d2 = np.einsum("ijk,ijk->ij", diff, diff)
            d2[missing[s : s + step]] = np.inf
            # ties by row number, as scikit-learn's stable sorts
            best = np.lexsort((safe[s : s + step], d2), axis=-1)[:, :k]
            dist[s : s + step] = np.sqrt(np.take_along_axis(d2, best, axis=1))
            ind[s : s + step] = np.take_along_axis(cand[s : s + step], best, axis=1)
        return dist, ind


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    """Share of the exact neighbours found: ``|found_i & exact_i| / k`` averaged over rows.

    Examples
    --------
    >>> recall(np.array([[1, 2], [3, 4]]), np.array([[2, 1], [3, 5]]))
    0.75
    """
    k = exact.shape[1]
    hits = sum(len(set(a.tolist()) & set(b.tolist())) for a, b in zip(found, exact, strict=True))
    return hits / (k * len(exact))


def _smallest(score: np.ndarray, n: int) -> np.ndarray:
    """Positions of the n smallest scores, ties in order (imbalanced-learn's stable sort)."""
    return np.argsort(score, kind="stable")[:n]


def _farthest_sums(X: np.ndarray, Y: np.ndarray, k: int) -> np.ndarray:
    """Sum of the distances from each row of X to its k farthest rows of Y (exact, float64,
    in blocks of bounded memory)."""
    Y_sq = np.einsum("ij,ij->i", Y, Y)
    out = np.empty(len(X))
    block = max(1, 2**22 // max(len(Y), 1))
    for start in range(0, len(X), block):
        part = X[start : start + block]
        d2 = np.einsum("ij,ij->i", part, part)[:, None] - 2.0 * part @ Y.T + Y_sq[None, :]
        far = np.partition(d2, d2.shape[1] - k, axis=1)[:, -k:]
        out[start : start + len(part)] = np.sqrt(np.maximum(far, 0.0)).sum(axis=1)
    return out


def farthest_selection(X: np.ndarray, Y: np.ndarray, k: int, n_keep: int) -> np.ndarray:
    """NearMiss-2's choice: the n_keep rows of X of the smallest sum of distances to their k
    farthest rows of Y, computing exact sums only for rows that can be chosen.

    The sum over a subset of Y (its rows farthest from its mean) is a lower bound of the sum
    over Y. The rows of the smallest bounds are scored exactly; the n_keep-th smallest exact
    score is an upper bound of the n_keep-th smallest of all, so a row whose lower bound is
    above it cannot be chosen.
    """
    if n_keep >= len(X):
        return _smallest(_farthest_sums(X, Y, k), n_keep)
    centre = Y.mean(axis=0)
    outer = np.argsort(-np.einsum("ij,ij->i", Y - centre, Y - centre), kind="stable")
    outer = np.sort(outer[: min(len(Y), max(128, 4 * k))])
    low = _farthest_sums(X, Y[outer], k) if len(outer) < len(Y) else None
    if low is None:
        return _smallest(_farthest_sums(X, Y, k), n_keep)
    order = np.argsort(low, kind="stable")
    score = np.full(len(X), np.inf)
    done = min(len(X), 2 * n_keep)
    score[order[:done]] = _farthest_sums(X[order[:done]], Y, k)
    while done < len(X):
        limit = np.partition(score[order[:done]], n_keep - 1)[n_keep - 1]
        more = int(np.searchsorted(low[order], limit, side="right"))
        if more <= done:
            break
        more = min(more, done + 4 * n_keep)
        score[order[done:more]] = _farthest_sums(X[order[done:more]], Y, k)
        done = more
    return _smallest(score, n_keep)
