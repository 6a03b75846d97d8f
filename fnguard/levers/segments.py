"""Distances on SMOTE's segments: the bounds that Edited Nearest Neighbours and Tomek links
need after SMOTE, without comparing every synthetic row with every row of the other class.

SMOTE writes each new row on a segment between two original rows of its class,
``s = a + lam * (b - a)``. For any point ``q``,
``|q - s|^2 = (1 - lam) |q - a|^2 + lam |q - b|^2 - lam (1 - lam) |b - a|^2``, so the squared
distances from a row to the few thousand original rows of the class give its distance to
every synthetic row, and the nearest synthetic row on a segment is one of the two on either
side of the segment's closest point. The rows of a segment lie on a line: their distances to
each other are ``|lam - lam'| |b - a|``. :class:`Segments` holds that geometry;
:func:`segment_other` and :func:`segment_bounds` use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fnguard.levers.knn import _both_norms, _relative_margin
from fnguard.levers.threads import _n_threads, _threaded

__all__ = ["Segments", "segment_bounds", "segment_other"]

#: float32 products held at once by one thread of :func:`segment_other`.
_STRIP_VALUES = 4_000_000
#: (row, segment) pairs searched at once by one thread of :func:`segment_other`.
_SEGMENT_PAIRS = 1 << 20


@dataclass
class Segments:
    """SMOTE's new rows of one class as points on segments between its original rows.

    Parameters
    ----------
    n_orig : int
        Rows before SMOTE; the new rows follow them, in the order of ``start``.
    start, end : ndarray of int
        Positions (among all rows) of the original rows each new row was drawn between.
    step : ndarray of float
        Where on its segment each new row lies: ``X[start] + step * (X[end] - X[start])``.
    """

    n_orig: int
    start: np.ndarray
    end: np.ndarray
    step: np.ndarray

    def check(self, X: np.ndarray) -> bool:
        """Whether the rows past ``n_orig`` of X are these segments' points (a sample of
        rows, to rounding)."""
        n_new = len(self.step)
        if len(X) != self.n_orig + n_new or not n_new:
            return False
        at = np.unique(np.linspace(0, n_new - 1, min(n_new, 64)).astype(np.intp))
        a, b = X[self.start[at]], X[self.end[at]]
        made = a + self.step[at, None] * (b - a)
        return bool(np.allclose(X[self.n_orig + at], made, rtol=1e-9, atol=1e-12))


@dataclass
class _Lines:
    """The segments grouped by their pair of original rows (either direction), each group's
    points sorted along it: position ``mu`` from ``lo`` (0) to ``hi`` (1)."""

    lo: np.ndarray  # per group: index into the originals of the class
    hi: np.ndarray
    length2: np.ndarray  # |P[hi] - P[lo]|^2
    first: np.ndarray  # per group: its points in ``mu``/``row``, first to first of the next
    mu: np.ndarray  # per point, sorted within its group
    row: np.ndarray  # per point: position among the new rows
    key: np.ndarray  # 2 * group + mu: sorted, for searching a position on a group

    @classmethod
    def of(cls, b: np.ndarray, e: np.ndarray, step: np.ndarray, P: np.ndarray) -> _Lines:
        lo, hi = np.minimum(b, e), np.maximum(b, e)
        mu = np.where(b == lo, step, 1.0 - step)
        pair = lo.astype(np.int64) * len(P) + hi
        order = np.lexsort((mu, pair))
        pair, first = np.unique(pair[order], return_index=True)
        g_lo, g_hi = (pair // len(P)).astype(np.intp), (pair % len(P)).astype(np.intp)
        diff = P[g_hi] - P[g_lo]
        group = np.repeat(np.arange(len(pair)), np.diff(np.append(first, len(order))))
        mu = mu[order]
        return cls(
            g_lo, g_hi, np.einsum("ij,ij->i", diff, diff), np.append(first, len(order)),
            mu, order, 2.0 * group + mu,
        )

    @property
    def n_groups(self) -> int:
        return len(self.lo)

    def by_end(self, n_ends: int) -> tuple[np.ndarray, np.ndarray]:
        """The groups touching each original row: ``groups[ptr[i]:ptr[i + 1]]``."""
        ends = np.concatenate([self.lo, self.hi[self.hi != self.lo]])
        groups = np.concatenate(
            [np.arange(self.n_groups), np.flatnonzero(self.hi != self.lo)]
        )
        order = np.argsort(ends, kind="stable")
        ptr = np.searchsorted(ends[order], np.arange(n_ends + 1))
        return ptr, groups[order]


def _split(segments: Segments, y: np.ndarray, label: object) -> tuple[np.ndarray, ...]:
    """Positions of the original rows of ``label`` and of the other rows, and each
    segment's ends as indices into the former."""
    n = segments.n_orig
    own = np.flatnonzero(y[:n] == label)
    other = np.flatnonzero(y != label)
    index = np.full(n, -1, dtype=np.intp)
    index[own] = np.arange(len(own))
    b, e = index[segments.start], index[segments.end]
    if (b < 0).any() or (e < 0).any() or (other >= n).any():
        raise ValueError("the segments' rows are not original rows of their class")
    return own, other, b, e


def segment_other(
    X: np.ndarray,
    y: np.ndarray,
    label: object,
    segments: Segments,
    ceiling: np.ndarray,
    n_jobs: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of the squared distance from each row to its nearest row of another class,
    when class ``label`` was over-sampled by SMOTE and every other row is original.

    One pass of float32 matrix products compares the rows of the other classes with the
    original rows of ``label`` only. The synthetic rows of a segment are then searched for
    an other-class row only when the segment may come closer than ``ceiling``; a synthetic
    row's nearest other-class row is bounded from the nearest ones of its segment's ends.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        SMOTE's output: the original rows, then the new rows of ``label``.
    y : ndarray of shape (n_rows,)
        Their classes.
    label : object
        The over-sampled class.
    segments : Segments
        Where SMOTE drew the new rows.
    ceiling : ndarray of shape (n_rows,)
        For rows of the other classes, the squared distance below which the bounds must be
        tight; above it, ``low`` may be the ceiling itself.
    n_jobs : int or None, default=None
        Threads; None or -1 uses every core.

    Returns
    -------
    low, high : ndarray of shape (n_rows,)
        The squared distance lies between them.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [4.0], [9.0], [2.0]])
    >>> y = np.array([1, 1, 0, 1])
    >>> seg = Segments(3, np.array([0]), np.array([1]), np.array([0.5]))
    >>> low, high = segment_other(X, y, 1, seg, np.full(4, np.inf))
    >>> bool(np.all((low <= [81, 25, 25, 49]) & ([81, 25, 25, 49] <= high)))
    True
    """
    from threadpoolctl import threadpool_limits

    X = np.asarray(X, dtype=np.float64)
    own, other, b, e = _split(segments, y, label)
    P, Q = X[own], X[other]
    lines = _Lines.of(b, e, segments.step, P)
    # a segment's points come no closer to a row than its nearer end's squared distance
    # less a quarter of its squared length: ``reach`` is that quarter, the most at each end
    reach = np.zeros(len(P))
    np.maximum.at(reach, lines.lo, 0.25 * lines.length2)
    np.maximum.at(reach, lines.hi, 0.25 * lines.length2)

    centre = P.mean(axis=0)
    p2 = np.einsum("ij,ij->i", P - centre, P - centre)
    q2 = np.einsum("ij,ij->i", Q - centre, Q - centre)
    top = reach.max(initial=0.0)
    rel = _relative_margin(P.shape[1] + 2)
    margin_q = rel * (1.0 + q2 + p2.max(initial=0.0) + top)
    margin_p = rel * (1.0 + p2 + q2.max(initial=0.0) + top)
    # products -|q - p|^2/2 + reach/2: over a row's cut exactly where an end's segments may
    # come within its ceiling (|q - p|^2 - reach < ceiling + margin)
    right = _both_norms(P, False, centre)
    right[:, -1] += (0.5 * reach).astype(np.float32)
    right = np.ascontiguousarray(right.T)
    left = _both_norms(Q, True, centre)
    thr = np.asarray(ceiling, dtype=np.float64)[other]
    search = _Search(lines, reach, thr, margin_q, len(Q))
    n_threads = _n_threads(n_jobs)
    strip = max(64, _STRIP_VALUES // max(len(P), 1))

    def strips(part: int) -> tuple[np.ndarray, np.ndarray]:
        col_best = np.full(len(P), -np.inf, dtype=np.float32)
        col_arg = np.zeros(len(P), dtype=np.intp)
        flags = np.zeros(strip * len(P) + 8, dtype=bool)
        for s in range(part * strip, len(Q), n_threads * strip):
            at = slice(s, min(len(Q), s + strip))
            H = left[at] @ right
            better = np.flatnonzero(H.max(axis=0) > col_best)  # few columns, once warm
            if len(better):
                arg = H[:, better].argmax(axis=0)
                col_best[better], col_arg[better] = H[arg, better], arg + s
            cut = (-0.5 * (thr[at] + margin_q[at])).astype(np.float32)
            size = H.size
            np.greater(H, cut[:, None], out=flags[:size].reshape(H.shape))
            flags[size : size + 8] = False
            qi, pi = _sparse_nonzero(flags, size, len(P))
            if len(qi):
                search.pairs(H, qi, pi, s)
        return col_best, col_arg

    with threadpool_limits(1):
        found = _threaded(strips, range(n_threads), n_threads)
    col_best = np.max([c for c, _ in found], axis=0)
    col_arg = np.choose(np.argmax([c for c, _ in found], axis=0), [a for _, a in found])
    near_q = reach - 2.0 * col_best.astype(np.float64)  # nearest other row of each original

    low = np.empty(len(X))
    high = np.empty(len(X))
    mq = margin_q
    # rows and segments not searched stay beyond the ceiling
    nearest = np.minimum(search.near, search.best)
    low[other] = np.maximum(np.minimum(nearest - mq, thr), 0.0)
    high[other] = nearest + mq
    low[own] = np.maximum(near_q - margin_p, 0.0)
    high[own] = near_q + margin_p
    new = np.arange(segments.n_orig, len(X))
    s_low, s_high = _new_rows(X, Q, lines, b, e, segments.step, near_q, margin_p, col_arg, new)
    low[new], high[new] = s_low, s_high
    return low, high


def _sparse_nonzero(flags: np.ndarray, size: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the set flags among the first ``size`` of ``flags`` (a matrix of
    ``width`` columns, zero-padded to a multiple of 8): eight flags per word searched at once,
    which is fast when few are set."""
    n_words = -(-size // 8)
    words = np.flatnonzero(flags[: 8 * n_words].view(np.uint64))
    if not len(words):
        return words, words
    hit = flags[: 8 * n_words].reshape(-1, 8)[words]
    w, byte = np.nonzero(hit)
    flat = words[w] * 8 + byte
    return flat // width, flat % width


class _Search:
    """The nearest original row of ``label`` and the nearest new row of each other-class
    row, found from the (row, end) pairs whose segments may come under the row's ceiling."""

    def __init__(
        self, lines: _Lines, reach: np.ndarray, thr: np.ndarray, margin: np.ndarray, n: int
    ) -> None:
        self.lines, self.reach, self.thr, self.margin = lines, reach, thr, margin
        self.ptr, self.touching = lines.by_end(len(reach))
        first, last = lines.first[:-1], lines.first[1:] - 1
        self.mu_low, self.mu_high = lines.mu[first], lines.mu[last]
        self.near = np.full(n, np.inf)  # squared distance to the nearest original, if close
        self.best = np.full(n, np.inf)  # to the nearest new row searched

    def pairs(self, H: np.ndarray, qi: np.ndarray, pi: np.ndarray, s: int) -> None:
        """Lower ``near`` and ``best`` for the pairs of one strip of products ``H``
        (``-|q - p|^2/2 + reach/2``) whose first row is ``s``."""
        d = self.reach[pi] - 2.0 * H[qi, pi].astype(np.float64)
        np.minimum.at(self.near, qi + s, d)
        count = self.ptr[pi + 1] - self.ptr[pi]
        # bounded memory: at most about _SEGMENT_PAIRS (row, segment) pairs at once
        ends = np.cumsum(count)
        cuts = np.searchsorted(ends, np.arange(_SEGMENT_PAIRS, int(ends[-1]), _SEGMENT_PAIRS))
        for part in np.split(np.arange(len(qi)), np.unique(cuts)):
            if len(part):
                self._segments(H, qi[part], pi[part], count[part], s)

    def _segments(
        self, H: np.ndarray, qi: np.ndarray, pi: np.ndarray, count: np.ndarray, s: int
    ) -> None:
        """Lower ``best`` with the nearest new row of every segment at those pairs' ends."""
        lines, reach = self.lines, self.reach
        total = int(count.sum())
        if not total:
            return
        q = np.repeat(qi, count)
        offset = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
        g = self.touching[np.repeat(self.ptr[pi], count) + offset]
        lo, hi = lines.lo[g], lines.hi[g]
        d_lo = reach[lo] - 2.0 * H[q, lo].astype(np.float64)
        d_hi = reach[hi] - 2.0 * H[q, hi].astype(np.float64)
        length2 = lines.length2[g]
        # f(mu) = d_lo + mu (d_hi - d_lo - L^2) + mu^2 L^2: least at mu*, here within the
        # span of the segment's points
        slope = d_hi - d_lo - length2
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = np.where(length2 > 0, -slope / (2.0 * length2), 0.0)
        mu = np.clip(mu, self.mu_low[g], self.mu_high[g])
        f = d_lo + mu * (slope + mu * length2)
        rows = q + s
        close = f - self.margin[rows] < self.thr[rows]
        if not close.any():
            return
        g, mu, d_lo, slope, length2 = (a[close] for a in (g, mu, d_lo, slope, length2))
        rows = rows[close]
        # the nearest point is the one on either side of mu*
        at = np.searchsorted(lines.key, 2.0 * g + mu)
        nearest = np.full(len(g), np.inf)
        for side in (at - 1, at):
            side = np.clip(side, lines.first[g], lines.first[g + 1] - 1)
            m = lines.mu[side]
            np.minimum(nearest, d_lo + m * (slope + m * length2), out=nearest)
        np.minimum.at(self.best, rows, nearest)


def _new_rows(
    X: np.ndarray,
    Q: np.ndarray,
    lines: _Lines,
    b: np.ndarray,
    e: np.ndarray,
    step: np.ndarray,
    near_q: np.ndarray,
    margin_p: np.ndarray,
    col_arg: np.ndarray,
    new: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds for the new rows: from below, the same weighting of their ends' nearest
    other-class distances (the least over the other rows of a weighted sum is at least the
    weighted sum of the least); from above, their distances to those two rows."""
    length2 = np.empty(len(new))  # each new row's segment's, from its group
    length2[lines.row] = np.repeat(lines.length2, np.diff(lines.first))
    w = step
    low = (1.0 - w) * (near_q[b] - margin_p[b]) + w * (near_q[e] - margin_p[e])
    low -= w * (1.0 - w) * length2 * (1.0 + 1e-12)
    high = np.full(len(new), np.inf)
    chunk = 65_536
    for c in range(0, len(new), chunk):
        rows = X[new[c : c + chunk]]
        for ends in (b, e):
            d = rows - Q[col_arg[ends[c : c + chunk]]]
            np.minimum(high[c : c + chunk], np.einsum("ij,ij->i", d, d), out=high[c : c + chunk])
    return np.maximum(low, 0.0), high * (1.0 + 1e-12)


def segment_bounds(
    X: np.ndarray, y: np.ndarray, label: object, segments: Segments, k: int
) -> np.ndarray:
    """Upper bounds of the distance from each row of class ``label`` to its ``k``-th nearest
    row of that class (the row itself first): the rows of a segment, and its two ends, lie
    on one line, ``|mu - mu'| * |b - a|`` apart.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        SMOTE's output: the original rows, then the new rows of ``label``.
    y : ndarray of shape (n_rows,)
        Their classes.
    label : object
        The over-sampled class.
    segments : Segments
        Where SMOTE drew the new rows.
    k : int
        Rank of the neighbour bounded (1: the row itself).

    Returns
    -------
    ndarray of shape (n_rows,)
        Distances for the rows of ``label`` (``inf`` where no line holds ``k`` rows), ``nan``
        for the others.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [4.0], [9.0], [2.0], [3.0]])
    >>> y = np.array([1, 1, 0, 1, 1])
    >>> seg = Segments(3, np.array([0, 0]), np.array([1, 1]), np.array([0.5, 0.75]))
    >>> np.round(segment_bounds(X, y, 1, seg, 3), 6).tolist()
    [3.0, 2.0, nan, 2.0, 1.0]
    """
    X = np.asarray(X, dtype=np.float64)
    own, _, b, e = _split(segments, y, label)
    lines = _Lines.of(b, e, segments.step, X[own])
    groups = np.arange(lines.n_groups)
    two = lines.hi != lines.lo  # a segment from a row to a copy of itself has one end
    group = np.concatenate([groups, groups[two], np.repeat(groups, np.diff(lines.first))])
    mu = np.concatenate([np.zeros(lines.n_groups), np.ones(int(two.sum())), lines.mu])
    row = np.concatenate([own[lines.lo], own[lines.hi[two]], segments.n_orig + lines.row])
    order = np.lexsort((mu, group))
    group, mu, row = group[order], mu[order], row[order]
    length = np.sqrt(lines.length2)[group]
    out = np.full(len(y), np.nan)
    out[y == label] = np.inf
    if k <= 1:
        out[y == label] = 0.0
        return out
    n = len(mu)
    near = np.full((n, 2 * (k - 1)), np.inf)
    for j in range(1, k):
        ahead = np.arange(n - j)
        same = group[ahead] == group[ahead + j]
        gap = np.where(same, (mu[ahead + j] - mu[ahead]) * length[ahead], np.inf)
        near[ahead, 2 * (j - 1)] = gap
        near[ahead + j, 2 * j - 1] = gap
    kth = np.partition(near, k - 2, axis=1)[:, k - 2] * (1.0 + 1e-12)
    bound = np.full(len(y), np.inf)
    np.minimum.at(bound, row, kth)
    out[y == label] = bound[y == label]
    return out
