"""Nearest neighbours by blocks of matrix products: an inverted file searched with BLAS.

:class:`CellIndex` cuts the rows into k-means cells and searches only the cells nearest to
each query, as faiss's ``IndexIVFFlat`` does, but cell by cell instead of query by query.

The cells come from two levels of k-means (on a sample): about ``sqrt(n_cells)``
coarse centroids, then fine centroids inside each coarse group; every row goes to the nearest
fine centroid of its nearest coarse group, so building costs ``n * (sqrt(n_cells) + n_cells /
sqrt(n_cells))`` distances instead of ``n * n_cells``. The rows are assigned and stored cell by
cell in threaded passes over chunks of rows (no float32 copy of the whole data beyond the
index itself).

A search runs in three steps:

1. each query's :data:`FIRST_CELLS` nearest cells give a bound: the ``k``-th best distance of
   the query to their rows (distances to real rows, so an upper bound of its true ``k``-th
   neighbour distance);
2. per probed cell, one matrix product for all the queries that probe it, on augmented
   vectors (``[x, |x|^2] . [-2q, 1] = |x - q|^2 - |q|^2``), and a vectorised comparison with
   each query's bound: only the rows below it survive, so no selection runs over all distances;
3. the survivors of each query ranked in float32, then its best candidates ranked again with
   float64 distances (ties by row number, as scikit-learn's stable sort).

The search is approximate (a true neighbour in a cell that is not probed is missed): the share
of cells probed sets the recall. :meth:`CellIndex.probe_for_recall` finds the smallest share
that reaches a recall on a sample of queries whose exact neighbours are known, from the rank
of each neighbour's cell (no search), and :func:`recall` measures a recall against an exact
search.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

__all__ = [
    "CellIndex",
    "count_within",
    "farthest_selection",
    "nearest_distances",
    "nearest_other",
    "nearest_selection",
    "recall",
]

#: Rows per cell aimed at by default (fewer cells: cheaper to build, more rows per probe).
ROWS_PER_CELL = 256
#: Nearest cells of each query searched first, to bound the rest of its search.
FIRST_CELLS = 8


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


def _nearest(X: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The nearest centroid of each row (float32 matrix products in blocks)."""
    C = _augment_queries(centroids)  # [-2c, 1] . [x, |x|^2] ranks as |x - c|^2
    C[:, -1] = np.einsum("ij,ij->i", centroids, centroids)
    out = np.empty(len(X), dtype=np.intp)
    step = max(1, 2**22 // max(len(C), 1))
    for s in range(0, len(X), step):
        out[s : s + step] = np.argmin(X[s : s + step] @ C[:, :-1].T + C[:, -1], axis=1)
    return out


def _kmeans(X: np.ndarray, k: int, rng: np.random.Generator, n_iter: int = 8) -> np.ndarray:
    """k centroids of the float32 rows X: Lloyd's iterations from k distinct rows (small
    problems: numpy, no per-call thread start-up)."""
    if k <= 1:
        return X.mean(axis=0, keepdims=True)
    centroids = X[rng.choice(len(X), k, replace=False)].copy()
    for _ in range(n_iter):
        label = _nearest(X, centroids)
        counts = np.bincount(label, minlength=k)
        sums = np.stack([np.bincount(label, X[:, j], k) for j in range(X.shape[1])], axis=1)
        filled = counts > 0  # an empty cell keeps its centroid
        centroids[filled] = sums[filled] / counts[filled, None]
    return centroids


#: Rows handled by one task of the threaded passes over the data (bounded temporary memory).
_CHUNK = 65_536


def _centroids(X: np.ndarray, n_cells: int, seed: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Coarse centroids (about ``sqrt(n_cells)``) and the fine centroids of each coarse group,
    from k-means on a sample of the rows."""
    from threadpoolctl import threadpool_limits

    n = len(X)
    rng = np.random.default_rng(seed)
    sample = X[np.sort(rng.choice(n, min(n, 8 * n_cells), replace=False))].astype(np.float32)
    n_coarse = max(1, min(n_cells, round(math.sqrt(n_cells))))
    fine = []
    with threadpool_limits(1):  # small products: more threads cost more than they save
        coarse = _kmeans(sample, n_coarse, rng)
        group = _nearest(sample, coarse)
        for g in range(len(coarse)):
            part = sample[group == g]
            f = min(len(part), max(1, round(n_cells * len(part) / len(sample))))
            fine.append(_kmeans(part, f, rng) if f else coarse[g : g + 1])
    return coarse, fine


def _assign(
    X: np.ndarray, coarse: np.ndarray, fine: list[np.ndarray], n_jobs: int
) -> np.ndarray:
    """The cell of every row: the nearest fine centroid of its nearest coarse group, in one
    threaded pass over chunks of rows (each cast to float32 there, no full copy)."""
    offsets = np.cumsum([0] + [len(f) for f in fine])
    labels = np.empty(len(X), dtype=np.intp)

    def chunk(start: int) -> None:
        part = X[start : start + _CHUNK].astype(np.float32)
        top = _nearest(part, coarse)
        order = np.argsort(top, kind="stable")
        bounds = np.searchsorted(top[order], np.arange(len(coarse) + 1))
        out = np.empty(len(part), dtype=np.intp)
        for g in np.flatnonzero(np.diff(bounds)):
            rows = order[bounds[g] : bounds[g + 1]]
            out[rows] = offsets[g] + _nearest(part[rows], fine[g])
        labels[start : start + len(part)] = out

    _threaded(chunk, range(0, len(X), _CHUNK), n_jobs)
    return labels


def _n_threads(n_jobs: int | None) -> int:
    """Threads for ``n_jobs``: None or a negative number means every core."""
    cores = os.cpu_count() or 1
    return cores if n_jobs is None or n_jobs < 0 else max(1, min(int(n_jobs), cores))


def _threaded(task, items, n_jobs: int) -> list:
    """``task`` of every item, in order, run on ``n_jobs`` threads (the caller limits BLAS to
    one thread each: :func:`threadpoolctl.threadpool_limits` costs milliseconds a call)."""
    if n_jobs > 1:
        with ThreadPoolExecutor(n_jobs) as pool:
            return list(pool.map(task, items))
    return [task(item) for item in items]


class CellIndex:
    """An approximate nearest-neighbour index: k-means cells searched with matrix products.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        The rows to index (kept by reference, in float64, to rank the candidates exactly).
    n_cells : int or None, default=None
        k-means cells aimed at (the two levels give about that many); None: one per
        :data:`ROWS_PER_CELL` rows.
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
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        n = len(self.X)
        self.n_jobs = _n_threads(n_jobs)
        if n_cells is None:
            n_cells = max(1, round(n / ROWS_PER_CELL))
        n_cells = max(1, min(int(n_cells), n))
        from threadpoolctl import threadpool_limits

        coarse, fine = _centroids(self.X, n_cells, random_state)
        centroids = np.concatenate(fine).astype(np.float32)
        self.n_cells = len(centroids)
        # the rows cell by cell, augmented, filled chunk by chunk (float32 cast on the way)
        self.rows = np.empty((n, self.X.shape[1] + 1), dtype=np.float32)

        def fill(start: int) -> None:
            at = slice(start, start + _CHUNK)
            self.rows[at] = _augment_rows(self.X[self.order[at]].astype(np.float32))

        with threadpool_limits(1):
            labels = _assign(self.X, coarse, fine, self.n_jobs)
            #: the cell of each row of X
            self.cell_of = labels
            self.order = np.argsort(labels, kind="stable")
            self.starts = np.searchsorted(labels[self.order], np.arange(self.n_cells + 1))
            _threaded(fill, range(0, n, _CHUNK), self.n_jobs)
        self.centroids = _augment_rows(centroids)

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
        n_probe = self._n_probe(probe)
        # bounded memory: the distances to the centroids and the probe masks of one block
        step = max(256, 2**24 // self.n_cells)
        dist = np.empty((len(Q), k))
        ind = np.empty((len(Q), k), dtype=np.intp)
        from threadpoolctl import threadpool_limits

        # one BLAS thread in each of our threads (parallelism comes from the threads)
        with threadpool_limits(1):
            for s in range(0, len(Q), step):
                dist[s : s + step], ind[s : s + step] = self._search(
                    Q[s : s + step], k, keep, n_probe
                )
        return dist, ind

    def cell_bounds(self, at: np.ndarray, k: int, n_near: int = 1) -> np.ndarray:
        """Upper bounds of the distance from indexed rows to their ``k``-th nearest indexed
        row (the row itself included): the ``k``-th smallest distance to the rows of the
        row's own cell and of the ``n_near - 1`` cells whose centroids are nearest to it.

        The queries are rows of the index, so their cells are known: no cell is ranked per
        query, and the rows of one cell share one matrix product.

        Parameters
        ----------
        at : ndarray of int
            Positions in ``X`` of the rows.
        k : int
            Rank of the neighbour bounded (1: the row itself).
        n_near : int, default=1
            Cells searched for each row, its own first.

        Returns
        -------
        ndarray of shape (len(at),)
            Distances to real rows (float64); ``inf`` where those cells hold fewer than ``k``
            rows.
        """
        from threadpoolctl import threadpool_limits

        near = _nearest_cells(self.centroids, max(1, min(int(n_near), self.n_cells)))
        cells = self.cell_of[at]
        by_cell = np.argsort(cells, kind="stable")
        first = np.searchsorted(cells[by_cell], np.arange(self.n_cells + 1))
        out = np.full(len(at), np.inf)

        def task(part: range) -> None:
            for c in part:
                if first[c] == first[c + 1]:
                    continue
                mine = by_cell[first[c] : first[c + 1]]
                q = at[mine]
                cand = np.concatenate(
                    [np.arange(self.starts[d], self.starts[d + 1]) for d in near[c]]
                )
                if len(cand) < k:
                    continue
                G = _augment_queries(self.X[q].astype(np.float32)) @ self.rows[cand].T
                every = np.arange(len(q))
                pick = np.empty((len(q), k), dtype=np.intp)
                for j in range(k):  # k passes of a vectorised argmin
                    pick[:, j] = G.argmin(axis=1)
                    G[every, pick[:, j]] = np.inf
                diff = self.X[self.order[cand[pick]]] - self.X[q][:, None, :]
                out[mine] = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff).max(axis=1))

        with threadpool_limits(1):
            parts = [range(i, self.n_cells, self.n_jobs) for i in range(self.n_jobs)]
            _threaded(task, parts, self.n_jobs)
        return out

    def _n_probe(self, probe: float) -> int:
        return max(1, min(self.n_cells, math.ceil(probe * self.n_cells)))

    def probe_for_recall(self, Q: np.ndarray, exact: np.ndarray, target: float) -> float:
        """The smallest share of cells whose search reaches ``target`` recall on ``Q``.

        A search probing ``n`` cells finds exactly the neighbours lying in the ``n`` cells
        nearest to the query, so the recall of each share follows from the rank of each exact
        neighbour's cell among the query's cells: no search is run.

        Parameters
        ----------
        Q : ndarray of shape (n_queries, n_features)
            A sample of queries.
        exact : ndarray of shape (n_queries, k)
            Their exact neighbours (row numbers in ``X``).
        target : float
            The recall to reach.

        Returns
        -------
        float
            The share to pass as ``probe`` to :meth:`search`.
        """
        if not exact.size:
            return 1.0
        to_cells = _augment_queries(np.asarray(Q, dtype=np.float32)) @ self.centroids.T
        own = np.take_along_axis(to_cells, self.cell_of[exact], axis=1)
        # a cell is probed when at most n_probe - 1 cells are strictly nearer (ties probed)
        rank = np.concatenate(
            [(to_cells[i, None, :] < own[i, :, None]).sum(axis=1) for i in range(len(Q))]
        )
        need = np.sort(rank)[max(0, math.ceil(target * len(rank)) - 1)] + 1
        return min(1.0, (need - 0.5) / self.n_cells)

    def _search(
        self, Q: np.ndarray, k: int, keep: int, n_probe: int
    ) -> tuple[np.ndarray, np.ndarray]:
        m = len(Q)
        Qa = _augment_queries(Q.astype(np.float32))
        n_first = min(n_probe, FIRST_CELLS)
        probed = np.empty((self.n_cells, m), dtype=bool)  # a cell's queries: one contiguous row

        def mask(start: int) -> tuple[np.ndarray, np.ndarray]:
            at = slice(start, start + 1024)
            to_cells = Qa[at] @ self.centroids.T  # |c - q|^2 - |q|^2
            # numpy's vectorised sort beats a selection on these short rows
            ranked = np.sort(to_cells, axis=1)
            probed[:, at] = (to_cells <= ranked[:, n_probe - 1 : n_probe]).T
            queries, cells = np.nonzero(to_cells <= ranked[:, n_first - 1 : n_first])
            return queries + start, cells

        pairs = _threaded(mask, range(0, m, 1024), self.n_jobs)
        near, slots, near_starts = _queries_by_cell(
            np.concatenate([q for q, _ in pairs]), np.concatenate([c for _, c in pairs]),
            self.n_cells,
        )
        # the k best float32 values of each query in each of its near cells, side by side
        width = int(slots.max()) + 1 if len(slots) else 1
        best = np.full((m, width * k), np.inf, dtype=np.float32)

        def first(cells: range) -> None:
            for c in cells:
                lo, hi = self.starts[c], self.starts[c + 1]
                at = slice(near_starts[c], near_starts[c + 1])
                qi = near[at]
                if hi == lo or not len(qi):
                    continue
                G = Qa[qi] @ self.rows[lo:hi].T  # one query per row: contiguous sorts
                j = min(k, hi - lo)
                best[qi[:, None], slots[at][:, None] * k + np.arange(j)] = np.sort(G, axis=1)[:, :j]

        def scan(cells: range) -> tuple[list, list, list]:
            found_q, found_r, found_v = [], [], []
            for c in cells:
                lo, hi = self.starts[c], self.starts[c + 1]
                qi = np.flatnonzero(probed[c])
                if hi == lo or not len(qi):
                    continue
                G = self.rows[lo:hi] @ Qa[qi].T
                # few queries have a row of this cell below their bound: find them first
                # with a column minimum, then compare only their columns
                some = np.flatnonzero(G.min(axis=0) <= bound[qi])
                if not len(some):
                    continue
                rows, cols = np.nonzero(G[:, some] <= bound[qi[some]])
                found_q.append(qi[some[cols]])
                found_r.append(rows + lo)
                found_v.append(G[rows, some[cols]])
            return found_q, found_r, found_v

        parts = [range(i, self.n_cells, self.n_jobs) for i in range(self.n_jobs)]
        with ThreadPoolExecutor(self.n_jobs) as pool:
            run = pool.map if self.n_jobs > 1 else map
            list(run(first, parts))
            # the k-th best value in the near cells bounds the search of every probed cell
            bound = np.partition(best, k - 1, axis=1)[:, k - 1]
            # float32 slack (relative to the terms summed): a row at the bound must survive
            bound += np.float32(1e-4) * (1.0 + np.abs(bound) + np.einsum("ij,ij->i", Q, Q))
            q, r, v = _join(list(run(scan, parts)))
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

        def block(s: int) -> None:
            diff = self.X[safe[s : s + step]] - Q[s : s + step, None, :]
            d2 = np.einsum("ijk,ijk->ij", diff, diff)
            d2[missing[s : s + step]] = np.inf
            # ties by row number, as scikit-learn's stable sorts
            best = np.lexsort((safe[s : s + step], d2), axis=-1)[:, :k]
            dist[s : s + step] = np.sqrt(np.take_along_axis(d2, best, axis=1))
            ind[s : s + step] = np.take_along_axis(cand[s : s + step], best, axis=1)

        _threaded(block, range(0, m, step), self.n_jobs)
        return dist, ind


def _nearest_cells(centroids: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` cells nearest to each cell, nearest first and itself before all (augmented
    centroids: ``[c, |c|^2]``)."""
    n_cells = len(centroids)
    C = centroids[:, :-1]
    out = np.empty((n_cells, n), dtype=np.intp)
    for s in range(0, n_cells, 1024):
        part = np.arange(s, min(n_cells, s + 1024))
        d2 = centroids[None, :, -1] - 2.0 * C[part] @ C.T  # |c'|^2 - 2 c.c': ranks by distance
        d2[np.arange(len(part)), part] = -np.inf  # the cell itself first
        top = np.argpartition(d2, n - 1, axis=1)[:, :n] if n < n_cells else np.argsort(d2, 1)
        rank = np.argsort(np.take_along_axis(d2, top, axis=1), axis=1, kind="stable")
        out[part] = np.take_along_axis(top, rank, axis=1)
    return out


def _queries_by_cell(
    queries: np.ndarray, cells: np.ndarray, n_cells: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From the (query, cell) pairs of a (queries x cells) mask, query by query with cells in
    order: the queries probing each cell, cell by cell (query order inside a cell), the rank
    of that cell among each query's cells, and where each cell's queries start."""
    slots = np.arange(len(queries)) - np.searchsorted(queries, queries)
    order = np.argsort(cells.astype(np.int16 if n_cells < 2**15 else np.int32), kind="stable")
    starts = np.zeros(n_cells + 1, dtype=np.intp)
    np.cumsum(np.bincount(cells, minlength=n_cells), out=starts[1:])
    return queries[order], slots[order], starts


def _join(parts: list[tuple[list, list, list]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The query, row and float32 value arrays found by the threads, end to end."""
    empty = (np.empty(0, np.intp), np.empty(0, np.intp), np.empty(0, np.float32))
    return tuple(  # type: ignore[return-value]
        np.concatenate([x for part in parts for x in part[i]] or [empty[i]]) for i in range(3)
    )


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


#: Tile of the float32 products of :func:`nearest_other` and :func:`count_within`: many query
#: rows by few indexed rows (OpenBLAS runs near its peak on that shape at 32 columns).
_TILE_ROWS, _TILE_COLS = 2048, 512


def _relative_margin(n_columns: int) -> float:
    """Error bound on float32 squared distances from products of ``n_columns`` augmented
    columns, relative to ``1 + |q|^2 + |r|^2`` (both centred): twice the worst case of a
    float32 dot product (``n u / (1 - n u)`` of the sum of its terms' sizes, ``u = 2^-24``),
    with the rounding of the inputs and of the compared radius."""
    return (4 * (n_columns + 2) + 8) * 2.0**-24


def _both_norms(Z: np.ndarray, left: bool, centre: np.ndarray) -> np.ndarray:
    """Rows augmented so that a product of a left and a right row is ``-|a - b|^2 / 2``:
    ``[a, -|a|^2/2, 1] . [b, 1, -|b|^2/2]``, after subtracting ``centre`` (small norms: small
    float32 errors)."""
    Z = Z - centre
    out = np.empty((len(Z), Z.shape[1] + 2), dtype=np.float32)
    out[:, :-2] = Z
    half = -0.5 * np.einsum("ij,ij->i", Z, Z)
    out[:, -2], out[:, -1] = (half, 1.0) if left else (1.0, half)
    return out


def _tiled(Q: np.ndarray, R: np.ndarray, centre: np.ndarray) -> tuple[np.ndarray, list]:
    """Q as left rows, and R as right rows cut into transposed tiles of :data:`_TILE_COLS`."""
    tiles = [
        np.ascontiguousarray(_both_norms(R[c : c + _TILE_COLS], False, centre).T)
        for c in range(0, len(R), _TILE_COLS)
    ]
    return _both_norms(Q, True, centre), tiles


def _margin(Q: np.ndarray, R: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Error bound of the float32 squared distances from each row of Q to rows of R, both
    centred on ``centre`` (the ``|q|^2`` and ``|r|^2`` terms)."""
    q, r = Q - centre, R - centre
    top = float(np.einsum("ij,ij->i", r, r).max(initial=0.0))
    return _relative_margin(Q.shape[1] + 2) * (1.0 + np.einsum("ij,ij->i", q, q) + top)


def nearest_other(
    X: np.ndarray, y: np.ndarray, classes: Any, n_jobs: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of the squared distance from each row to its nearest row of another class.

    Every pair of classes of which at least one is in ``classes`` is compared once, in tiles
    of float32 matrix products whose rows and columns both give maxima: the nearest row of
    the other class for the rows of both classes at once. Work: the sum over those pairs of
    the product of their row counts.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        The rows.
    y : ndarray of shape (n_rows,)
        Their classes.
    classes : collection
        Classes whose rows need the distance (the others get ``nan`` unless compared with one
        of them).
    n_jobs : int or None, default=None
        Threads; None or -1 uses every core.

    Returns
    -------
    low, high : ndarray of shape (n_rows,)
        The squared distance lies between them (``inf`` where no other class was compared).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [3.0], [7.0]])
    >>> low, high = nearest_other(X, np.array([0, 0, 1, 1]), [0, 1])
    >>> bool(np.all((low <= [9, 4, 4, 36]) & ([9, 4, 4, 36] <= high)))
    True
    """
    X = np.asarray(X, dtype=np.float64)
    centre = X.mean(axis=0)
    labels = np.unique(y)
    H = np.full(len(X), -np.inf, dtype=np.float32)  # max of -d^2/2 over other classes
    n_threads = _n_threads(n_jobs)
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            if a not in classes and b not in classes:
                continue
            rows, cols = np.flatnonzero(y == a), np.flatnonzero(y == b)
            row_max, col_max = _cross_maxima(X[rows], X[cols], centre, n_threads)
            H[rows] = np.maximum(H[rows], row_max)
            H[cols] = np.maximum(H[cols], col_max)
    d2 = -2.0 * H.astype(np.float64)
    margin = _margin(X, X, centre)
    return np.maximum(d2 - margin, 0.0), d2 + margin


def _cross_maxima(
    A: np.ndarray, B: np.ndarray, centre: np.ndarray, n_threads: int
) -> tuple[np.ndarray, np.ndarray]:
    """Maxima of ``-|a - b|^2 / 2`` over B for each row of A, and over A for each row of B."""
    from threadpoolctl import threadpool_limits

    left, tiles = _tiled(A, B, centre)
    row_max = np.empty(len(A), dtype=np.float32)

    def strips(first: int) -> np.ndarray:
        """Row maxima written in place; the column maxima of this thread's strips."""
        col_max = np.full(len(B), -np.inf, dtype=np.float32)
        out = np.empty((_TILE_ROWS, _TILE_COLS), dtype=np.float32)
        best = np.empty(_TILE_ROWS, dtype=np.float32)
        part = np.empty(max(_TILE_ROWS, _TILE_COLS), dtype=np.float32)
        for start in range(first * _TILE_ROWS, len(left), n_threads * _TILE_ROWS):
            m = min(_TILE_ROWS, len(left) - start)
            best[:m] = -np.inf
            for t, tile in enumerate(tiles):
                c = tile.shape[1]
                h = out[:m, :c]
                np.matmul(left[start : start + m], tile, out=h)
                np.maximum(best[:m], h.max(axis=1, out=part[:m]), out=best[:m])
                at = slice(t * _TILE_COLS, t * _TILE_COLS + c)
                np.maximum(col_max[at], h.max(axis=0, out=part[:c]), out=col_max[at])
            row_max[start : start + m] = best[:m]
        return col_max

    with threadpool_limits(1):
        col_max = np.max(_threaded(strips, range(n_threads), n_threads), axis=0)
    return row_max, col_max


def count_within(
    Q: np.ndarray,
    R: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    n_jobs: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """For each query, how many rows of R lie surely closer than ``low`` and how many may lie
    within ``high`` (squared distances; float32 products with a margin for their errors).

    Parameters
    ----------
    Q : ndarray of shape (n_queries, n_features)
        The queries.
    R : ndarray of shape (n_rows, n_features)
        The rows counted.
    low, high : ndarray of shape (n_queries,)
        Squared radii.
    n_jobs : int or None, default=None
        Threads; None or -1 uses every core.

    Returns
    -------
    surely, maybe : ndarray of shape (n_queries,)
        Rows with squared distance surely below ``low``, and rows whose squared distance may
        be at most ``high``.

    Examples
    --------
    >>> import numpy as np
    >>> R = np.array([[0.0], [1.0], [2.0]])
    >>> surely, maybe = count_within(np.array([[0.0]]), R, np.array([1.0]), np.array([1.0]))
    >>> surely.tolist(), maybe.tolist()
    ([1], [2])
    """
    from threadpoolctl import threadpool_limits

    Q = np.asarray(Q, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    centre = R.mean(axis=0)
    margin = _margin(Q, R, centre)
    # in products -d^2/2: surely closer above one cut, maybe within at or above the other
    above = (-0.5 * (low - margin)).astype(np.float32)
    at_least = (-0.5 * (high + margin)).astype(np.float32)
    left, tiles = _tiled(Q, R, centre)
    surely = np.zeros(len(Q), dtype=np.intp)
    maybe = np.zeros(len(Q), dtype=np.intp)
    n_threads = _n_threads(n_jobs)

    def strips(first: int) -> None:
        out = np.empty((_TILE_ROWS, _TILE_COLS), dtype=np.float32)
        top = np.empty(_TILE_ROWS, dtype=np.float32)
        for start in range(first * _TILE_ROWS, len(Q), n_threads * _TILE_ROWS):
            at = slice(start, min(len(Q), start + _TILE_ROWS))
            m = at.stop - start
            for tile in tiles:
                h = out[:m, : tile.shape[1]]
                np.matmul(left[at], tile, out=h)
                # one pass over the tile (each row's maximum); comparisons only on the few
                # rows that reach the radius
                rows = np.flatnonzero(h.max(axis=1, out=top[:m]) >= at_least[at])
                if len(rows):
                    near = h[rows]
                    maybe[start + rows] += np.count_nonzero(
                        near >= at_least[start + rows, None], axis=1
                    )
                    surely[start + rows] += np.count_nonzero(
                        near > above[start + rows, None], axis=1
                    )

    with threadpool_limits(1):
        _threaded(strips, range(n_threads), n_threads)
    return surely, maybe


def _smallest(score: np.ndarray, n: int) -> np.ndarray:
    """Positions of the n smallest scores, ties in order (imbalanced-learn's stable sort)."""
    return np.argsort(score, kind="stable")[:n]


#: Rows sampled to estimate the score of the last row :func:`nearest_selection` keeps.
_SAMPLE = 4096
#: Rows of X per float32 product of :func:`nearest_selection` (fewer when Y is large).
_ROWS = 128
#: Relative difference above which two float64 scores of one row, computed two ways, are
#: not rounding: ``1e-6`` of the distances and norms summed (their rounding is ~``1e-16``
#: relative, ~``1e-8`` on a distance near zero from norms and products).
_ROUNDING = 1e-6


def nearest_selection(
    X: np.ndarray,
    Y: np.ndarray,
    k: int,
    n_keep: int,
    exact: Any,
    n_jobs: int | None = None,
) -> np.ndarray:
    """NearMiss-1's choice: the ``n_keep`` rows of X of the smallest sum of distances to their
    ``k`` nearest rows of Y, exactly, scoring with ``exact`` only the rows that can be chosen.

    One threaded pass of float32 matrix products against every row of Y gives each row of X
    its nearest distance ``d1``, so ``k * d1`` bounds its score from below. A sample of rows
    scored with ``exact`` estimates the score of the last row kept; the rows whose bound is
    below that estimate get their ``k`` nearest rows from the same product (bounds from
    below and above). The ``n_keep``-th smallest bound from above caps the score of the last
    row kept, and only the rows whose bound from below is under that cap can be kept. Where
    the ``k``-th product of such a row leads the next by more than the float32 error, its ``k``
    nearest rows are known and its bound from above (float64 distances to them) is its
    score; the others are scored with ``exact``. ``exact`` scores again the rows within a
    rounding margin of the ``n_keep``-th score and below, which are ranked (stable sort: ties
    in row order, as imbalanced-learn). The float32 bounds are widened by a margin far above
    their rounding errors.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        The rows to choose from.
    Y : ndarray of shape (n_minority, n_features)
        The rows whose distances score them (at least ``k``).
    k : int
        Nearest rows of Y in a score.
    n_keep : int
        Rows to keep.
    exact : object
        A fitted exact neighbours search on Y with ``kneighbors(Q, k)`` (imbalanced-learn's,
        so that the scores compared are the ones it compares).
    n_jobs : int or None, default=None
        Threads; None or -1 uses every core.

    Returns
    -------
    ndarray
        Positions in X of the rows kept, in imbalanced-learn's order (by score).
    """
    from threadpoolctl import threadpool_limits

    def score(rows: np.ndarray) -> np.ndarray:
        return exact.kneighbors(X[rows], k)[0].sum(axis=1)

    n = len(X)
    if n_keep >= n or n <= _SAMPLE:
        return _smallest(score(np.arange(n)), n_keep)
    guess = _last_score_guess(score, n, n_keep)
    # both centred on Y's mean (small norms, small float32 errors)
    centre = Y.mean(axis=0)
    Ya = _half_norm_rows(Y, centre)  # [y, -|y|^2/2] . [x, 1]: larger, nearer
    YaT = np.ascontiguousarray(Ya.T)
    x_sq = np.empty(n)
    for start in range(0, n, 65_536):
        part = X[start : start + 65_536] - centre
        x_sq[start : start + len(part)] = np.einsum("ij,ij->i", part, part)
    # float32 error of |x - y|^2 = |x|^2 - 2 G: far below this margin
    slack = _relative_margin(Ya.shape[1] + 1) * (1.0 + x_sq + float(np.max(Ya[:, -1] * -2.0)))
    low = np.empty(n)
    high = np.full(n, np.inf)
    known = np.zeros(n, dtype=bool)  # the k nearest rows found surely: high is the score
    step = max(8, min(_ROWS, 2**23 // max(len(Y), 1)))
    kk = min(k, len(Y))
    k_next = min(k + 1, len(Y))

    def nearest(G: np.ndarray, rows: np.ndarray) -> None:
        """Bounds of the score of ``rows`` from their products G (argmax passes)."""
        every = np.arange(len(rows))
        found = np.empty((len(rows), k_next), dtype=np.intp)
        value = np.empty((len(rows), k_next))
        for j in range(k_next):
            best = G.argmax(axis=1)
            found[:, j] = best
            value[:, j] = G[every, best]
            G[every, best] = -np.inf
        d2 = x_sq[rows, None] - 2.0 * value[:, :kk]
        low[rows] = np.sqrt(np.maximum(d2 - slack[rows, None], 0.0)).sum(axis=1)
        diff = Y[found[:, :kk]] - X[rows, None, :]  # distances to real rows: from above
        high[rows] = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff)).sum(axis=1)
        # squared distances are 2 products apart, each within slack / 2 of the truth
        known[rows] = value[:, kk - 1] - value[:, -1] > slack[rows] if k_next > kk else True

    n_threads = _n_threads(n_jobs)

    def blocks(first: int) -> None:
        """Every n_threads-th block from ``first``, in buffers allocated once."""
        Qa = np.empty((step, Ya.shape[1]), dtype=np.float32)
        Qa[:, -1] = 1.0
        G = np.empty((step, len(Y)), dtype=np.float32)
        for start in range(first * step, n, n_threads * step):
            stop = min(n, start + step)
            m = stop - start
            Qa[:m, :-1] = X[start:stop] - centre
            np.matmul(Qa[:m], YaT, out=G[:m])
            d1 = x_sq[start:stop] - 2.0 * G[:m].max(axis=1)
            low[start:stop] = k * np.sqrt(np.maximum(d1 - slack[start:stop], 0.0))
            near = np.flatnonzero(low[start:stop] <= guess)
            if len(near):
                nearest(G[near], near + start)

    with threadpool_limits(1):
        _threaded(blocks, range(n_threads), n_threads)
        cap = np.partition(high, n_keep - 1)[n_keep - 1]
        if cap > guess:  # the estimate was low: bound the rows between it and the cap too
            more = np.flatnonzero((low <= cap) & np.isinf(high))
            for start in range(0, len(more), step):
                rows = more[start : start + step]
                Qa = np.empty((len(rows), Ya.shape[1]), dtype=np.float32)
                Qa[:, :-1] = X[rows] - centre
                Qa[:, -1] = 1.0
                nearest(Qa @ YaT, rows)
            cap = np.partition(high, n_keep - 1)[n_keep - 1]
    candidates = np.flatnonzero(low <= cap)
    ours = high[candidates]
    unsure = ~known[candidates]
    if unsure.any():
        ours[unsure] = score(candidates[unsure])
    # float64 sums of direct differences and exact's own (norms and products) differ by
    # rounding: exact scores again every row that may be kept, and ranks them
    last = np.partition(ours, n_keep - 1)[n_keep - 1]
    norms = math.sqrt(float(x_sq.max())) + float(np.abs(Ya[:, -1]).max() * 2.0) ** 0.5
    scale = last + k * (norms + 2.0 * float(np.linalg.norm(centre)))
    kept = candidates[ours <= last + _ROUNDING * scale]
    return kept[_smallest(score(kept), n_keep)]


def nearest_distances(
    X: np.ndarray, Y: np.ndarray, k: int, n_jobs: int | None = None
) -> np.ndarray:
    """Distances from each row of X to its ``k`` nearest rows of Y, nearest first: the
    ``k + 2`` best candidates of float32 matrix products (all of Y searched), ranked again
    with float64 distances.

    Parameters
    ----------
    X : ndarray of shape (n_queries, n_features)
        The queries.
    Y : ndarray of shape (n_rows, n_features)
        The rows searched (at least ``k``).
    k : int
        Neighbours per query.
    n_jobs : int or None, default=None
        Threads; None or -1 uses every core.

    Returns
    -------
    ndarray of shape (n_queries, k)

    Examples
    --------
    >>> import numpy as np
    >>> nearest_distances(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [1.0, 0.0], [9, 9]]), 2)
    array([[1., 5.]])
    """
    from threadpoolctl import threadpool_limits

    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    centre = Y.mean(axis=0)
    Ya = _half_norm_rows(Y, centre)
    YaT = np.ascontiguousarray(Ya.T)
    kk = min(len(Y), k + 2)
    out = np.empty((len(X), k))
    step = max(8, min(_ROWS, 2**23 // max(len(Y), 1)))
    n_threads = _n_threads(n_jobs)

    def blocks(first: int) -> None:
        Qa = np.empty((step, Ya.shape[1]), dtype=np.float32)
        Qa[:, -1] = 1.0
        G = np.empty((step, len(Y)), dtype=np.float32)
        for start in range(first * step, len(X), n_threads * step):
            m = min(step, len(X) - start)
            Qa[:m, :-1] = X[start : start + m] - centre
            np.matmul(Qa[:m], YaT, out=G[:m])
            every = np.arange(m)
            found = np.empty((m, kk), dtype=np.intp)
            for j in range(kk):  # the larger the product, the nearer
                found[:, j] = G[:m].argmax(axis=1)
                G[every, found[:, j]] = -np.inf
            diff = Y[found] - X[start : start + m, None, :]
            d = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
            out[start : start + m] = np.sort(d, axis=1)[:, :k]

    with threadpool_limits(1):
        _threaded(blocks, range(n_threads), n_threads)
    return out


def _half_norm_rows(Y: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """float32 rows ``[y - centre, -|y - centre|^2 / 2]``: their product with ``[x - centre,
    1]`` is ``x.y - |y|^2 / 2`` (centred), the larger the nearer."""
    Yc = Y - centre
    Ya = np.empty((len(Y), Y.shape[1] + 1), dtype=np.float32)
    Ya[:, :-1] = Yc
    Ya[:, -1] = -0.5 * np.einsum("ij,ij->i", Yc, Yc)
    return Ya


def _last_score_guess(score: Any, n: int, n_keep: int) -> float:
    """A generous estimate of the score of the last of ``n_keep`` rows kept out of ``n``: its
    quantile in a sample of rows scored exactly, plus three standard errors."""
    sample = np.sort(np.random.default_rng(0).choice(n, _SAMPLE, replace=False))
    q = n_keep / n
    at = min(1.0, q + 3.0 * math.sqrt(q * (1.0 - q) / _SAMPLE) + 1.0 / _SAMPLE)
    return float(np.quantile(score(sample), at))


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
    k = min(k, len(Y))  # fewer rows than k: all of them (imbalanced-learn's mean over all)
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
