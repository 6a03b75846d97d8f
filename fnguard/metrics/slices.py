"""Where the misses are: the false-negative rate by slice of the features."""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from fnguard.data.target import whole_number
from fnguard.metrics.intervals import wilson_interval

MISSING = "(missing)"
OTHER = "(other levels)"


@dataclass(frozen=True)
class Slice:
    """The misses among the positives of one slice of the data.

    Attributes
    ----------
    feature : str
        Column the slice is cut from.
    level : str
        The level (a category, or a numeric bin such as ``"(0.5, 1.2]"``).
    kind : str
        ``"categorical"`` or ``"numeric"``.
    n_rows, n_positive, fn : int
        Rows, positive rows and missed positives in the slice.
    fnr, low, high : float
        False-negative rate with its Wilson interval (NaN without positives).
    excess_misses : float
        Misses beyond what the overall FNR predicts for this many positives.
    p_value : float
        One-sided Fisher exact test that the slice misses more than the rest of the data.
    flagged : bool
        Significantly above the overall FNR after Benjamini-Hochberg correction over all
        slices at level ``alpha``.
    """

    feature: str
    level: str
    kind: str
    n_rows: int
    n_positive: int
    fn: int
    fnr: float
    low: float
    high: float
    excess_misses: float
    p_value: float
    flagged: bool

    def to_dict(self) -> dict[str, object]:
        """Plain values, for JSON (NaN becomes None)."""
        return {
            k: (None if isinstance(v, float) and v != v else v) for k, v in asdict(self).items()
        }


def _levels(col: pd.Series, n_bins: int, max_levels: int) -> tuple[pd.Series, str] | None:
    """Slice labels for one column, or None when the column cannot be sliced usefully."""
    if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
        labels = col.astype("string").fillna(MISSING).astype(object)
        counts = labels.value_counts()
        if counts.size < 2 or (counts.size > 0.5 * len(col) and counts.size > max_levels):
            return None  # constant, or an identifier
        if counts.size > max_levels:
            keep = set(counts.index[: max_levels - 1])
            labels = labels.where(labels.isin(keep), OTHER)
        return labels, "categorical"
    values = pd.to_numeric(col, errors="coerce").astype(float)
    distinct = values.dropna().unique()
    if distinct.size < 2:
        return None
    if distinct.size <= n_bins:
        text = dict(zip(distinct, _texts(distinct), strict=True))
        labels = values.map(lambda v: MISSING if v != v else text[v])
        return labels.astype(object), "numeric"
    finite = values[np.isfinite(values)].to_numpy()
    if finite.size == 0:
        return None
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, n_bins + 1)))
    if edges.size < 2:  # one finite value, and infinite ones: slice by value
        text = dict(zip(distinct, _texts(distinct), strict=True))
        return values.map(lambda v: MISSING if v != v else text[v]).astype(object), "numeric"
    shown = _texts(edges)
    # infinite values fall in the end bins, whose labels then reach them
    if (values == -np.inf).any():
        shown[0] = "-inf"
    if (values == np.inf).any():
        shown[-1] = "inf"
    pairs = enumerate(itertools.pairwise(shown))
    names = [f"{'[' if i == 0 else '('}{lo}, {hi}]" for i, (lo, hi) in pairs]
    codes = np.clip(np.searchsorted(edges, values.to_numpy(), side="left") - 1, 0, len(names) - 1)
    labels = pd.Series(np.asarray(names, dtype=object)[codes], index=values.index)
    return labels.where(values.notna(), MISSING).astype(object), "numeric"


def _texts(numbers: np.ndarray) -> list[str]:
    """Shortest texts that tell the distinct numbers apart: whole numbers as integers
    (1000001, not 1e+06), others with the fewest significant digits that keep them apart."""
    whole = [whole_number(float(v)) for v in numbers]
    if all(isinstance(v, int) for v in whole):
        return [str(v) for v in whole]
    for digits in (4, 6, 10, 17):
        texts = [f"{v:.{digits}g}" for v in numbers]
        if len(set(texts)) == len(texts):
            return texts
    return texts


def fnr_by_slice(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    features: pd.DataFrame,
    *,
    confidence: float = 0.95,
    n_bins: int = 5,
    max_levels: int = 20,
    alpha: float = 0.05,
) -> list[Slice]:
    """False-negative rate of every slice of every feature, flagging the significant ones.

    A slice is a level of a categorical (or boolean) column, a quantile bin of a numeric one,
    or its missing values. Only positives matter to the FNR, so slices without positives are
    left out.

    Parameters
    ----------
    y_true : ndarray of bool
        True for positive rows.
    y_pred : ndarray of bool
        True for rows predicted positive.
    features : DataFrame
        Feature columns, row-aligned with ``y_true``.
    confidence : float, default=0.95
        Level of the Wilson intervals.
    n_bins : int, default=5
        Quantile bins per numeric column.
    max_levels : int, default=20
        Most levels per categorical column; the rarest are pooled.
    alpha : float, default=0.05
        False discovery rate of the flags (Benjamini-Hochberg).

    Returns
    -------
    list of Slice
        Flagged slices first, then by excess misses, largest first.
    """
    y_true = np.asarray(y_true, dtype=bool)
    missed = y_true & ~np.asarray(y_pred, dtype=bool)
    n_pos, n_fn = int(y_true.sum()), int(missed.sum())
    if n_pos == 0 or features.shape[1] == 0:
        return []
    overall = n_fn / n_pos
    rows: list[dict[str, object]] = []
    for name in features.columns:
        cut = _levels(features[name].reset_index(drop=True), n_bins, max_levels)
        if cut is None:
            continue
        labels, kind = cut
        frame = pd.DataFrame({"level": labels.to_numpy(), "pos": y_true, "fn": missed})
        grouped = frame.groupby("level", sort=False).agg(
            n_rows=("pos", "size"), n_positive=("pos", "sum"), fn=("fn", "sum")
        )
        for level, g in grouped.iterrows():
            if g.n_positive == 0:
                continue
            rest_pos, rest_fn = n_pos - int(g.n_positive), n_fn - int(g.fn)
            table = [[int(g.fn), int(g.n_positive - g.fn)], [rest_fn, rest_pos - rest_fn]]
            p = stats.fisher_exact(table, alternative="greater").pvalue if rest_pos else 1.0
            rows.append(
                {
                    "feature": str(name),
                    "level": str(level),
                    "kind": kind,
                    "n_rows": int(g.n_rows),
                    "n_positive": int(g.n_positive),
                    "fn": int(g.fn),
                    "p_value": float(p),
                }
            )
    return slices_from_rows(rows, overall, alpha=alpha, confidence=confidence)


def slices_from_rows(
    rows: list[dict[str, Any]], overall: float, *, alpha: float, confidence: float
) -> list[Slice]:
    """Slices from per-level counts: FNR with a Wilson interval, excess misses, flagged.

    Each row holds ``feature``, ``level``, ``kind``, ``n_rows``, ``n_positive``, ``fn`` and the
    one-sided ``p_value``; flagged slices pass Benjamini-Hochberg at ``alpha``. Flagged first,
    then by excess misses (also what :mod:`fnguard.distributed` computes from merged counts).

    Examples
    --------
    >>> rows = [{"feature": "region", "level": "north", "kind": "category", "n_rows": 50,
    ...          "n_positive": 10, "fn": 8, "p_value": 0.001}]
    >>> [(s.level, s.fnr, s.flagged) for s in slices_from_rows(rows, 0.2, alpha=0.05,
    ...                                                          confidence=0.95)]
    [('north', 0.8, True)]
    """
    if not rows:
        return []
    p_values = np.array([r["p_value"] for r in rows])
    flagged = _benjamini_hochberg(p_values, alpha)
    fn = np.array([r["fn"] for r in rows])
    npos = np.array([r["n_positive"] for r in rows])
    low, high = wilson_interval(fn, npos, confidence)
    slices = [
        Slice(
            fnr=float(r["fn"] / r["n_positive"]),
            low=float(lo),
            high=float(hi),
            excess_misses=float(r["fn"] - overall * r["n_positive"]),
            flagged=bool(f),
            **r,
        )
        for r, lo, hi, f in zip(rows, low, high, flagged, strict=True)
    ]
    slices.sort(key=lambda s: (not s.flagged, -s.excess_misses, s.feature, s.level))
    return slices


def _benjamini_hochberg(p_values: np.ndarray, alpha: float) -> np.ndarray:
    """Which hypotheses are rejected at false discovery rate ``alpha``."""
    m = p_values.size
    order = np.argsort(p_values)
    passed = p_values[order] <= alpha * np.arange(1, m + 1) / m
    reject = np.zeros(m, dtype=bool)
    if passed.any():
        reject[order[: np.flatnonzero(passed)[-1] + 1]] = True
    return reject
