"""What the misses share: per feature, how false negatives differ from the positives caught.

Each feature gets one effect size with an interval, on a probability scale so that numeric
and categorical features rank together:

- numeric (and datetime) columns: Cliff's delta, ``P(miss > caught) - P(miss < caught)``, with
  the DeLong (placement) variance of the underlying Mann-Whitney statistic for its interval,
  and the Mann-Whitney test's p-value (scipy's: exact for a small sample without ties, else
  the normal approximation with the tie correction, whose variance is known under the null
  and so stays honest when one group holds a handful of rows, unlike DeLong's estimate);
- categorical (and boolean) columns: the largest difference, over the levels, between the
  share of misses and the share of caught positives at that level, with Newcombe's hybrid
  score interval (method 10, from two Wilson intervals); Cramér's V and a chi-square test
  of the whole table go with it. When the table is sparse (an expected count below 5) the
  chi-square distribution does not hold, and the p-value is a Monte-Carlo permutation one.

The p-values of all features are corrected together (Benjamini-Hochberg), so a wide table
does not flag features by chance; and nothing is flagged when fewer than ``MIN_GROUP``
positives are missed or caught, as so few rows cannot say what the misses share.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special, stats

from fnguard.metrics.intervals import _check_confidence, wilson_interval

__all__ = ["FeatureEffect", "cliffs_delta", "feature_effects", "share_difference"]

MISSING = "(missing)"
OTHER = "(other levels)"
#: Fewest misses and caught positives for a feature to be flagged.
MIN_GROUP = 10
#: Permutations of a sparse categorical table's Monte-Carlo p-value.
PERMUTATIONS = 9999
#: Below this expected count in a cell, the chi-square p-value is replaced by a permutation one.
MIN_EXPECTED = 5.0
#: Largest sample for scipy's exact Mann-Whitney distribution (it slows down beyond).
EXACT_MAX = 1000


@dataclass(frozen=True)
class FeatureEffect:
    """How one feature differs between the misses (false negatives) and the caught positives.

    Attributes
    ----------
    feature : str
        The column.
    kind : str
        ``"numeric"`` or ``"categorical"``.
    statistic : str
        ``"cliffs_delta"`` or ``"share_difference"``.
    effect, low, high : float
        The effect size in [-1, 1] and its interval (NaN when a group is too small). Positive:
        misses have larger values (numeric) or are more often at ``level`` (categorical).
    p_value : float
        Two-sided p-value (Mann-Whitney for a numeric column; chi-square test of the levels,
        by permutation when the table is sparse, for a categorical one).
    flagged : bool
        Significant after the Benjamini-Hochberg correction over every feature, with at
        least ``MIN_GROUP`` misses and caught positives.
    level : str or None
        For a categorical column, the level whose shares differ most.
    miss_value, caught_value : float
        Median among misses and among caught positives (numeric), or the level's share
        among each (categorical).
    n_missed, n_caught : int
        Misses and caught positives with a value.
    cramers_v : float or None
        Cramér's V of the levels against missed / caught (categorical only).
    """

    feature: str
    kind: str
    statistic: str
    effect: float
    low: float
    high: float
    p_value: float
    flagged: bool
    level: str | None
    miss_value: float
    caught_value: float
    n_missed: int
    n_caught: int
    cramers_v: float | None = None

    def describe(self) -> str:
        """One line: what the misses have that the caught positives do not."""
        interval = f" [{self.low:+.2f}, {self.high:+.2f}]" if not math.isnan(self.low) else ""
        if self.kind == "numeric":
            side = "larger" if self.effect > 0 else "smaller"
            return (
                f"misses have {side} '{self.feature}' (median {self.miss_value:.4g} against "
                f"{self.caught_value:.4g} among caught positives; Cliff's delta "
                f"{self.effect:+.2f}{interval})"
            )
        more = "more" if self.effect > 0 else "less"
        return (
            f"misses are {more} often '{self.feature}' = {self.level} ({self.miss_value:.0%} "
            f"of misses against {self.caught_value:.0%} of caught positives; difference "
            f"{self.effect:+.2f}{interval})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for JSON (NaN becomes None)."""
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in asdict(self).items()
        }


def _z(confidence: float) -> float:
    return float(special.ndtri(0.5 + _check_confidence(confidence) / 2))


def cliffs_delta(
    a: ArrayLike, b: ArrayLike, confidence: float = 0.95
) -> tuple[float, float, float, float]:
    """Cliff's delta of ``a`` against ``b`` with its interval and p-value.

    ``delta = P(A > B) - P(A < B)`` over all pairs, ties counting half, which is
    ``2 U / (m n) - 1`` for the Mann-Whitney statistic ``U`` of ``a``. The interval's variance
    is DeLong's, from the placement values (computed from mid-ranks in
    ``O((m + n) log(m + n))``); the interval is the normal one, clipped to [-1, 1]. The
    p-value is the Mann-Whitney test's (:func:`scipy.stats.mannwhitneyu`, exact when a
    sample has at most 8 values and there are no ties), not DeLong's: that variance is an
    estimate, far too small when a sample holds a few values. NaN values are dropped.

    Parameters
    ----------
    a, b : array-like of float
        The two samples.
    confidence : float, default=0.95
        Level of the interval.

    Returns
    -------
    delta, low, high, p_value : float
        NaN (p-value 1) when a sample is empty; the interval is NaN when one has fewer
        than two values.

    Examples
    --------
    >>> d, low, high, p = cliffs_delta([3, 4, 5, 6], [1, 2, 3, 4])
    >>> d
    0.75
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    m, n = x.size, y.size
    if m == 0 or n == 0:
        return float("nan"), float("nan"), float("nan"), 1.0
    ranks = stats.rankdata(np.concatenate([x, y]))
    v10 = (ranks[:m] - stats.rankdata(x)) / n  # per a: share of b below, ties half
    v01 = 1.0 - (ranks[m:] - stats.rankdata(y)) / m  # per b: share of a above, ties half
    auc = float(v10.mean())
    delta = 2.0 * auc - 1.0
    if m < 2 or n < 2:
        return delta, float("nan"), float("nan"), 1.0
    se = 2.0 * math.sqrt(v10.var(ddof=1) / m + v01.var(ddof=1) / n)
    z = _z(confidence)
    low, high = max(-1.0, delta - z * se), min(1.0, delta + z * se)
    if np.unique(ranks).size < 2:
        return delta, low, high, 1.0  # every value equal: nothing to test
    method = "auto" if max(m, n) <= EXACT_MAX else "asymptotic"
    p = float(stats.mannwhitneyu(x, y, alternative="two-sided", method=method).pvalue)
    return delta, low, high, min(p, 1.0)


def share_difference(
    k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95
) -> tuple[float, float, float]:
    """``k1/n1 - k2/n2`` with Newcombe's hybrid score interval (his method 10).

    Parameters
    ----------
    k1, n1 : int
        Count and size of the first group.
    k2, n2 : int
        Count and size of the second group.
    confidence : float, default=0.95
        Level of the interval.

    Returns
    -------
    difference, low, high : float

    Examples
    --------
    Newcombe (1998), table II, example (a):

    >>> d, low, high = share_difference(56, 70, 48, 80)
    >>> round(d, 4), round(low, 4), round(high, 4)
    (0.2, 0.0524, 0.3339)
    """
    if n1 <= 0 or n2 <= 0:
        return float("nan"), float("nan"), float("nan")
    p1, p2 = k1 / n1, k2 / n2
    lo, hi = wilson_interval([k1, k2], [n1, n2], confidence)
    d = p1 - p2
    low = d - math.sqrt((p1 - lo[0]) ** 2 + (hi[1] - p2) ** 2)
    high = d + math.sqrt((hi[0] - p1) ** 2 + (p2 - lo[1]) ** 2)
    return float(d), float(low), float(high)


def _categories(col: pd.Series, max_levels: int) -> pd.Series | None:
    labels = col.astype("string").fillna(MISSING).astype(object)
    counts = labels.value_counts()
    if counts.size < 2:
        return None
    if counts.size > max_levels:
        if counts.size > 0.5 * len(col):
            return None  # an identifier: every row its own level
        keep = set(counts.index[: max_levels - 1])
        labels = labels.where(labels.isin(keep), OTHER)
    return labels


def _numeric(col: pd.Series) -> np.ndarray | None:
    if pd.api.types.is_bool_dtype(col):
        return None
    if pd.api.types.is_datetime64_any_dtype(col):
        values = col.astype("int64").astype(np.float64).to_numpy()
        return np.where(col.isna().to_numpy(), np.nan, values)
    if pd.api.types.is_numeric_dtype(col):
        return pd.to_numeric(col, errors="coerce").astype(np.float64).to_numpy()
    return None


def _chi2_statistic(counts: np.ndarray, totals: np.ndarray, n1: int, n2: int) -> np.ndarray:
    """Pearson's chi-square of 2 x L tables given the first row (``counts``, ``(..., L)``)."""
    n = n1 + n2
    e1, e2 = totals * (n1 / n), totals * (n2 / n)
    return (((counts - e1) ** 2) * (1.0 / e1 + 1.0 / e2)).sum(axis=-1)


def _chi2_p_value(table: np.ndarray, seed: int) -> tuple[float, float]:
    """The chi-square statistic of a 2-column table and its p-value: the chi-square
    distribution's when every expected count is at least ``MIN_EXPECTED``, else a Monte-Carlo
    permutation one (the missed / caught labels shuffled over the rows, which draws the first
    column from a multivariate hypergeometric distribution)."""
    first, totals = table[:, 0], table.sum(axis=1)
    n1, n2 = int(first.sum()), int(table[:, 1].sum())
    chi2 = float(_chi2_statistic(first, totals, n1, n2))
    dof = table.shape[0] - 1
    expected = np.outer(totals, [n1, n2]) / (n1 + n2)
    if expected.min() >= MIN_EXPECTED:
        return chi2, float(stats.chi2.sf(chi2, dof))
    rng = np.random.default_rng(seed)
    draws = rng.multivariate_hypergeometric(totals, n1, size=PERMUTATIONS, method="marginals")
    null = _chi2_statistic(draws, totals, n1, n2)
    hits = int(np.count_nonzero(null >= chi2 * (1 - 1e-9)))
    return chi2, (hits + 1) / (PERMUTATIONS + 1)


def _categorical_effect(
    name: str,
    labels: pd.Series,
    missed: np.ndarray,
    caught: np.ndarray,
    confidence: float,
    seed: int = 0,
) -> dict[str, Any] | None:
    a = labels[missed].value_counts()
    b = labels[caught].value_counts()
    table = pd.concat([a, b], axis=1).fillna(0).astype(int)
    table = table[table.sum(axis=1) > 0]
    if table.shape[0] < 2:
        return None
    n1, n2 = int(missed.sum()), int(caught.sum())
    diff = table.iloc[:, 0].to_numpy() / n1 - table.iloc[:, 1].to_numpy() / n2
    i = int(np.argmax(np.abs(diff)))  # the first of equal differences: the most frequent level
    level = str(table.index[i])
    k1, k2 = int(table.iat[i, 0]), int(table.iat[i, 1])
    effect, low, high = share_difference(k1, n1, k2, n2, confidence)
    chi2, p = _chi2_p_value(table.to_numpy(), seed)
    v = math.sqrt(chi2 / (n1 + n2) / (min(table.shape) - 1))
    return {
        "feature": name, "kind": "categorical", "statistic": "share_difference",
        "effect": effect, "low": low, "high": high, "p_value": float(p), "level": level,
        "miss_value": k1 / n1, "caught_value": k2 / n2, "n_missed": n1, "n_caught": n2,
        "cramers_v": float(v),
    }  # fmt: skip


def feature_effects(
    features: pd.DataFrame,
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    confidence: float = 0.95,
    alpha: float = 0.05,
    max_levels: int = 20,
    min_group: int = MIN_GROUP,
    random_state: int = 0,
) -> list[FeatureEffect]:
    """How each feature differs between the missed and the caught positives, strongest first.

    Parameters
    ----------
    features : DataFrame
        Feature columns, row-aligned with the labels.
    y_true : array-like of bool
        True for positive rows.
    y_pred : array-like of bool
        True for rows predicted positive.
    confidence : float, default=0.95
        Level of the intervals.
    alpha : float, default=0.05
        False discovery rate of the flags (Benjamini-Hochberg over the features).
    max_levels : int, default=20
        Most levels per categorical column; the rarest are pooled. A text column with more
        distinct values than half its rows (an identifier) is skipped.
    min_group : int, default=MIN_GROUP
        Fewest misses and caught positives (with a value) for a feature to be flagged: a
        handful of caught positives, the usual case on an imbalanced table, cannot say what
        the misses share. The effects are still measured.
    random_state : int, default=0
        Seed of the permutation p-values of sparse categorical tables.

    Returns
    -------
    list of FeatureEffect
        Flagged features first, then by absolute effect, largest first. Empty when there
        are no misses or no caught positives.

    Examples
    --------
    >>> X = pd.DataFrame({"age": [20, 25, 30, 60, 65, 70, 40], "city": list("aabbbba")})
    >>> y = [True] * 6 + [False]
    >>> pred = [True, True, True, False, False, False, False]
    >>> [(e.feature, round(e.effect, 2)) for e in feature_effects(X, y, pred)]
    [('age', 1.0), ('city', 0.67)]
    """
    is_pos = np.asarray(y_true, dtype=bool)
    pred = np.asarray(y_pred, dtype=bool)
    missed, caught = is_pos & ~pred, is_pos & pred
    if not missed.any() or not caught.any():
        return []
    X = features.reset_index(drop=True)
    rows: list[dict[str, Any]] = []
    for name in X.columns:
        col = X[name]
        values = _numeric(col)
        if values is not None:
            a, b = values[missed], values[caught]
            a, b = a[~np.isnan(a)], b[~np.isnan(b)]
            if a.size == 0 or b.size == 0 or np.unique(values[~np.isnan(values)]).size < 2:
                continue
            d, low, high, p = cliffs_delta(a, b, confidence)
            rows.append({
                "feature": str(name), "kind": "numeric", "statistic": "cliffs_delta",
                "effect": d, "low": low, "high": high, "p_value": p, "level": None,
                "miss_value": float(np.median(a)), "caught_value": float(np.median(b)),
                "n_missed": int(a.size), "n_caught": int(b.size),
            })  # fmt: skip
            continue
        labels = _categories(col, max_levels)
        if labels is None:
            continue
        row = _categorical_effect(str(name), labels, missed, caught, confidence, random_state)
        if row is not None:
            rows.append(row)
    if not rows:
        return []
    p_values = np.array([r["p_value"] for r in rows])
    adjusted = stats.false_discovery_control(np.clip(p_values, 0.0, 1.0), method="bh")
    out = [
        FeatureEffect(
            flagged=bool(q <= alpha and min(r["n_missed"], r["n_caught"]) >= min_group), **r
        )
        for r, q in zip(rows, adjusted, strict=True)
    ]
    out.sort(key=lambda e: (not e.flagged, -abs(e.effect), e.feature))
    return out
