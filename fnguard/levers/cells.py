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
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from fnguard.levers.threads import _n_threads, _threaded

__all__ = ["CellIndex", "recall"]

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
