"""Stratified bootstrap of the curve metrics, vectorised over replicates.

A stratified bootstrap redraws the positives and the negatives separately, keeping their
counts. Every metric of fnguard depends on the rows only through how many positives and
negatives hold each distinct score, so a replicate is two vectors of counts over the
distinct scores, never a copy of the data:

- at a fixed threshold, the positives above it follow a binomial law (``tp* ~ B(P, tp/P)``,
  ``fp* ~ B(N, fp/N)``), drawn directly;
- for the ranking and calibration metrics, up to ``exact_rows`` rows the rows themselves are
  redrawn and counted per distinct score (exact); above it, the distinct scores are merged into
  at most ``max_groups`` consecutive groups of similar size, counts are redrawn from a
  multinomial over those groups, and the interval is shifted so that it is centred on the exact
  value (a basic-bootstrap correction of the small merge bias).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fnguard.metrics.calibration import ece_bin_ids, is_probability, score_groups
from fnguard.metrics.confusion import ConfusionCurve
from fnguard.metrics.point import threshold_metrics

#: Beyond this many rows, replicates are drawn over merged score groups.
EXACT_ROWS = 20_000
#: Most score groups a replicate is drawn over in the merged regime.
MAX_GROUPS = 2_000
#: Most cells (replicates x groups) held at once.
_CELLS = 4_000_000


def threshold_replicates(
    tp: int, fp: int, n_pos: int, n_neg: int, n_boot: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Bootstrap replicates of every threshold metric at one operating point."""
    tp_r = rng.binomial(n_pos, tp / n_pos if n_pos else 0.0, size=n_boot)
    fp_r = rng.binomial(n_neg, fp / n_neg if n_neg else 0.0, size=n_boot)
    return threshold_metrics(tp_r, fp_r, n_neg - fp_r, n_pos - tp_r)


class _Groups:
    """Per-group sufficient statistics (groups ordered by decreasing score)."""

    def __init__(self, curve: ConfusionCurve, n_bins: int, merge: bool) -> None:
        s, pos, neg = score_groups(curve)
        self.probability = is_probability(curve)
        ece_id = ece_bin_ids(curve, n_bins) if self.probability else np.zeros(s.size, dtype=int)
        if merge and s.size > MAX_GROUPS:
            # Consecutive groups of similar row count, never across an ECE bin.
            cum = np.cumsum(pos + neg) - (pos + neg)
            part = np.minimum((cum * MAX_GROUPS) // curve.n, MAX_GROUPS - 1)
            key = ece_id * MAX_GROUPS + (MAX_GROUPS - 1 - part)
            starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        else:
            starts = np.arange(s.size)
        self.starts = starts

        def add(v: np.ndarray) -> np.ndarray:
            return np.add.reduceat(v, starts) if starts.size else v

        self.pos = add(pos).astype(np.float64)
        self.neg = add(neg).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.s_pos = np.nan_to_num(add(pos * s) / self.pos)
            self.s_neg = np.nan_to_num(add(neg * s) / self.neg)
            if self.probability:
                eps = np.finfo(np.float64).eps
                c = np.clip(s, eps, 1 - eps)
                self.brier_pos = np.nan_to_num(add(pos * (1 - s) ** 2) / self.pos)
                self.brier_neg = np.nan_to_num(add(neg * s**2) / self.neg)
                self.ll_pos = np.nan_to_num(add(-pos * np.log(c)) / self.pos)
                self.ll_neg = np.nan_to_num(add(-neg * np.log1p(-c)) / self.neg)
        ece_g = ece_id[starts]
        self.ece_starts = np.flatnonzero(np.r_[True, ece_g[1:] != ece_g[:-1]])
        # Row-to-group maps for exact redraws only: merged redraws never read them, and at
        # millions of rows they would cost 8 bytes a row.
        self.pos_rows = self.neg_rows = np.zeros(0, dtype=np.int64)
        if not merge:
            ids = np.arange(self.pos.size)
            self.pos_rows = np.repeat(ids, self.pos.astype(np.int64))
            self.neg_rows = np.repeat(ids, self.neg.astype(np.int64))

    def metrics(self, pos: np.ndarray, neg: np.ndarray) -> dict[str, np.ndarray]:
        """Ranking and calibration metrics for count matrices of shape (replicates, groups)."""
        n_pos = pos.sum(axis=1)
        n_neg = neg.sum(axis=1)
        n = n_pos + n_neg
        tp = np.cumsum(pos, axis=1)
        fp = np.cumsum(neg, axis=1)
        out: dict[str, np.ndarray] = {}
        out["roc_auc"] = np.sum(neg * (tp - pos / 2), axis=1) / (n_pos * n_neg)
        with np.errstate(invalid="ignore", divide="ignore"):
            prec = np.where(pos > 0, tp / (tp + fp), 0.0)
        out["pr_auc"] = np.sum(pos * prec, axis=1) / n_pos
        if self.probability:
            out["brier"] = (pos @ self.brier_pos + neg @ self.brier_neg) / n
            out["log_loss"] = (pos @ self.ll_pos + neg @ self.ll_neg) / n
            cnt = np.add.reduceat(pos + neg, self.ece_starts, axis=1)
            true = np.add.reduceat(pos, self.ece_starts, axis=1)
            ssum = np.add.reduceat(pos * self.s_pos + neg * self.s_neg, self.ece_starts, axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                gap = np.where(cnt > 0, np.abs(true - ssum) / np.maximum(cnt, 1), 0.0)
            out["ece"] = np.sum(cnt * gap, axis=1) / n
        return out


def curve_replicates(
    curve: ConfusionCurve, n_boot: int, rng: np.random.Generator, *, n_bins: int = 10
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Bootstrap replicates of the ranking and calibration metrics.

    Parameters
    ----------
    curve : ConfusionCurve
        Counts at every threshold, both classes present.
    n_boot : int
        Number of replicates.
    rng : numpy.random.Generator
        Source of randomness.
    n_bins : int, default=10
        Quantile bins of the ECE.

    Returns
    -------
    replicates : dict of str to ndarray of shape (n_boot,)
        ``roc_auc pr_auc`` and, for probability scores, ``brier log_loss ece``.
    grouped_point : dict of str to float
        The same metrics on the (possibly merged) groups of the original data: an interval is
        ``exact + (percentile - grouped_point)``, which is the plain percentile interval in the
        exact regime.
    """
    merge = curve.n > EXACT_ROWS
    groups = _Groups(curve, n_bins, merge)
    n_pos, n_neg = curve.n_positive, curve.n_negative
    g = groups.pos.size
    # Exact redraws also hold a (replicates x rows) matrix of picks: bound that one too.
    width = g if merge else max(g, n_pos, n_neg)
    chunk = max(1, min(n_boot, _CELLS // max(width, 1)))
    parts: list[dict[str, np.ndarray]] = []
    draw: Callable[[int, np.ndarray, int], np.ndarray]
    if merge:

        def draw(size: int, counts: np.ndarray, total: int) -> np.ndarray:
            return rng.multinomial(total, counts / total, size=size).astype(np.float64)

    else:

        def draw(size: int, rows: np.ndarray, total: int) -> np.ndarray:
            picks = rows[rng.integers(0, total, size=(size, total))]
            flat = (picks + np.arange(size)[:, None] * g).ravel()
            return np.bincount(flat, minlength=size * g).reshape(size, g).astype(np.float64)

    pos_src = groups.pos if merge else groups.pos_rows
    neg_src = groups.neg if merge else groups.neg_rows
    done = 0
    while done < n_boot:
        size = min(chunk, n_boot - done)
        parts.append(groups.metrics(draw(size, pos_src, n_pos), draw(size, neg_src, n_neg)))
        done += size
    replicates = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    point = groups.metrics(groups.pos[None, :], groups.neg[None, :])
    return replicates, {k: float(v[0]) for k, v in point.items()}
