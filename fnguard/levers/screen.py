"""NearMiss-1 on large data without scoring every row (:func:`screened_selection`).

NearMiss-1 keeps the majority rows of the smallest sum of distances to their ``k`` nearest
minority rows. Scoring every majority row costs a product of every majority row with every
minority row (5e11 flops at 1,000,000 rows with 1% positives, seconds at the peak of two
cores), and bounds on those distances prune nothing on noisy data in 30 dimensions: the
distances concentrate.

The rows that can be kept are, however, where the minority rows are dense. A Gaussian mixture
of the minority rows (k-means cells, each with its weight and its own spherical variance,
:func:`density_screen`) ranks every majority row at the cost of a product with a few dozen
centroids; a random sample of rows scored exactly shows how far down that ranking the rows
the selection keeps go; only the rows above that depth are scored exactly, by
:func:`~fnguard.levers.knn.nearest_selection`. The result is approximate: a kept row ranked
below every sampled one is missed. The sample is large enough that the share of the exact
selection found reaches ``target`` with probability ``1 - FAILURE``; measured on the benchmark
at 1,000,000 rows, see ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fnguard.levers.cells import _kmeans, _nearest
from fnguard.levers.knn import nearest_distances, nearest_selection
from fnguard.levers.threads import _n_threads, _threaded

__all__ = ["density_screen", "screened_selection"]

#: k-means cells of the minority rows in the screen's mixture (more cells ranked no better on
#: the benchmark: 16 to 256 cells all needed about 22% of the rows for 99% of the selection).
SCREEN_CELLS = 32
#: Chance that the share of the exact selection found falls below the target.
FAILURE = 0.01
#: Fewest rows sampled to calibrate the screen.
MIN_SAMPLE = 16_384
#: Largest share of the rows sampled for which the screen is worth it; above, every row is
#: scored (exact).
MAX_SAMPLE = 0.15
#: Largest share of the rows sampled and then scored above the cut for which the screen is
#: worth it (the sample is scored without the bounds that prune the exact pass).
MAX_SCORED = 0.6
#: The sample is scored in two parts: its first ``1 / PILOT`` part, whose cut already shows a
#: screen too weak to be worth it (the whole sample only cuts deeper), then the rest.
PILOT = 4
#: Rows per task of the screen.
_CHUNK = 65_536


def density_screen(
    X: np.ndarray, Y: np.ndarray, n_cells: int = SCREEN_CELLS, seed: int = 0,
    n_jobs: int | None = None,
) -> np.ndarray | None:
    """Minus the log density, at each row of X, of a mixture of spherical Gaussians fitted to
    the rows of Y (k-means cells: weight, centroid, mean squared distance to it per column):
    the lower, the denser Y around the row.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        The rows ranked.
    Y : ndarray of shape (n_minority, n_features)
        The rows whose density ranks them.
    n_cells : int, default=SCREEN_CELLS
        k-means cells of Y.
    seed : int, default=0
        Seed of the k-means start.
    n_jobs : int or None, default=None
        Threads; None or -1 uses every core.

    Returns
    -------
    ndarray of shape (n_rows,) or None
        None when the rows of Y do not spread (every cell of one repeated row).

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.random.default_rng(0).normal(size=(200, 2))
    >>> s = density_screen(np.array([[0.0, 0.0], [3.0, 3.0], [9.0, 9.0]]), Y, n_cells=4)
    >>> bool(s[0] < s[1] < s[2])
    True
    """
    from threadpoolctl import threadpool_limits

    centre = Y.mean(axis=0)
    Yc = (Y - centre).astype(np.float32)
    d = Y.shape[1]
    with threadpool_limits(1):
        C = _kmeans(Yc, min(n_cells, len(Y)), np.random.default_rng(seed))
        label = _nearest(Yc, C)
    count = np.bincount(label, minlength=len(C))
    spread = np.bincount(label, np.einsum("ij,ij->i", Yc - C[label], Yc - C[label]), len(C))
    used = count > 0
    C, count, spread = C[used], count[used], spread[used]
    var = spread / (np.maximum(count - 1, 1) * d)  # per column, unbiased within a cell
    positive = var[var > 0]
    if not len(positive):
        return None
    var = np.maximum(np.where(count > 1, var, np.median(positive)), 1e-3 * np.median(positive))
    # log w_j - d/2 log var_j - |x - c_j|^2 / (2 var_j), as [x, |x|^2, 1] . [c/var, -1/2var, b]
    Ca = np.empty((len(C), d + 2), dtype=np.float32)
    Ca[:, :d] = C / var[:, None]
    Ca[:, d] = -0.5 / var
    Ca[:, d + 1] = (
        np.log(count / count.sum()) - 0.5 * d * np.log(var)
        - 0.5 * np.einsum("ij,ij->i", C, C) / var
    )
    CaT = np.ascontiguousarray(Ca.T)
    out = np.empty(len(X))

    def chunk(start: int) -> None:
        part = X[start : start + _CHUNK] - centre
        Xa = np.empty((len(part), d + 2), dtype=np.float32)
        Xa[:, :d] = part
        Xa[:, d] = np.einsum("ij,ij->i", part, part)
        Xa[:, d + 1] = 1.0
        L = (Xa @ CaT).astype(np.float64)
        top = L.max(axis=1)
        out[start : start + len(part)] = -(top + np.log(np.exp(L - top[:, None]).sum(axis=1)))

    n_threads = _n_threads(n_jobs)
    with threadpool_limits(1):
        _threaded(chunk, range(0, len(X), _CHUNK), n_threads)
    return out


def _sample_size(n: int, n_keep: int, target: float) -> int:
    """Rows to sample so that ``target`` of the rows kept rank above the deepest sampled row
    that would be kept, with probability ``1 - FAILURE``: ``target ** m <= FAILURE`` for
    ``m`` sampled rows kept."""
    kept_needed = math.ceil(math.log(FAILURE) / math.log(target))
    return max(MIN_SAMPLE, math.ceil(kept_needed * n / n_keep))


def screened_selection(
    X: np.ndarray,
    Y: np.ndarray,
    k: int,
    n_keep: int,
    exact: Any,
    n_jobs: int | None = None,
    target: float = 0.99,
) -> np.ndarray:
    """NearMiss-1's choice, scoring only the rows a density screen ranks high enough.

    The rows of X are ranked by :func:`density_screen` of Y. A random sample of rows gets
    its scores (sum of distances to the ``k`` nearest rows of Y); the sampled rows whose score
    is within the estimated score of the last row kept (its quantile, plus three standard
    errors) give the screen's cut: the deepest of them. The rows above the cut are then chosen
    from exactly by :func:`~fnguard.levers.knn.nearest_selection`. Where the sample would be
    more than :data:`MAX_SAMPLE` of the rows, or the sample and the rows above the cut more
    than :data:`MAX_SCORED` (known early from the first part of the sample), every row is
    scored (exact).

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
        A fitted exact neighbours search on Y (see
        :func:`~fnguard.levers.knn.nearest_selection`).
    n_jobs : int or None, default=None
        Threads; None or -1 uses every core.
    target : float, default=0.99
        Share of the exact selection to find (with probability ``1 - FAILURE``).

    Returns
    -------
    ndarray
        Positions in X of the rows kept, by score (imbalanced-learn's order).
    """
    n = len(X)
    if n_keep <= 0 or n_keep >= n:
        return nearest_selection(X, Y, k, n_keep, exact, n_jobs)
    size = _sample_size(n, n_keep, target)
    screen = None if size > MAX_SAMPLE * n else density_screen(X, Y, n_jobs=n_jobs)
    if screen is None:
        return nearest_selection(X, Y, k, n_keep, exact, n_jobs)
    # in random order: its first part, scored first, tells a weak screen cheaply
    sample = np.random.default_rng(0).choice(n, size, replace=False)
    q = n_keep / n
    # the estimated score of the last row kept: its quantile plus three standard errors of
    # the whole sample (the first part's cut then lies above the whole sample's, as a rule)
    at = min(1.0, q + 3.0 * math.sqrt(q * (1.0 - q) / size) + 1.0 / size)

    def cut(rows: np.ndarray, score: np.ndarray) -> float:
        """The screen's cut: the deepest sampled row within the last kept score."""
        return float(screen[rows[score <= np.quantile(score, at)]].max())

    def too_many(cut_value: float) -> bool:
        return size + int(np.count_nonzero(screen <= cut_value)) > MAX_SCORED * n

    first = np.sort(sample[: size // PILOT])
    first_score = nearest_distances(X[first], Y, k, n_jobs).sum(axis=1)
    if too_many(cut(first, first_score)):  # the whole sample cuts deeper still
        return nearest_selection(X, Y, k, n_keep, exact, n_jobs)
    rest = np.sort(sample[size // PILOT :])
    rows = np.concatenate([first, rest])
    score = np.concatenate([first_score, nearest_distances(X[rest], Y, k, n_jobs).sum(axis=1)])
    final = cut(rows, score)
    candidates = np.flatnonzero(screen <= final)
    if len(candidates) < n_keep or too_many(final):
        return nearest_selection(X, Y, k, n_keep, exact, n_jobs)
    return candidates[nearest_selection(X[candidates], Y, k, n_keep, exact, n_jobs)]
