"""Exact neighbour answers from float32 matrix products: bounds of each row's nearest row of
another class (:func:`nearest_other`), counts of rows within a radius (:func:`count_within`),
and the selections of NearMiss (:func:`nearest_selection`, :func:`farthest_selection`,
:func:`nearest_distances`).

The products run in float32 on rows centred on a common point (small norms, small rounding),
with a margin far above their rounding error (:func:`_relative_margin`); whatever the margin
cannot settle is computed again in float64, so every answer is exact.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fnguard.levers.cells import CellIndex, recall  # noqa: F401 - they lived here before
from fnguard.levers.threads import _n_threads, _threaded

__all__ = [
    "count_within",
    "farthest_selection",
    "nearest_distances",
    "nearest_other",
    "nearest_selection",
]


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
