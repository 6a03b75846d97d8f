"""Slices where the misses concentrate, from per-partition group counts merged exactly.

:func:`fnguard.metrics.slices.fnr_by_slice` cuts each feature into levels (categories, or
quantile bins of a numeric column) and counts rows, positives and misses per level. Here each
partition counts them per **category** (with the row where each category first occurs) and per
**distinct number**; the counts merge exactly, and the levels are cut from the merged counts
(the quantile edges from the counts per distinct number, with numpy's linear interpolation), so
the slices equal the single-machine ones. A column with more categories than rows allow
(an identifier) is recognised inside its partition and dropped early.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from fnguard.errors import DataError
from fnguard.metrics.slices import MISSING, OTHER, Slice, slices_from_rows

__all__ = ["ColumnCounts", "column_counts", "merge_column_counts", "slices_from_counts"]

N_BINS = 5
MAX_LEVELS = 20
ALPHA = 0.05


@dataclass
class ColumnCounts:
    """Rows, positives and misses per level of one column, over some partitions.

    Attributes
    ----------
    kind : str
        ``"categorical"``, ``"numeric"``, or ``"missing"`` (no value in any row, which merges
        with either kind).
    file : str
        A partition it came from (to name it when kinds disagree).
    levels : ndarray
        Categories (object) or distinct numbers (float64, ascending); ``None`` for an
        identifier column, which is not sliced.
    counts : ndarray of int64, shape (n_levels, 3)
        Rows, positives, misses per level.
    first : ndarray of int64 or None
        Categorical: the global row where each category first occurs (ties in
        ``value_counts`` order are broken by it); missing: the first row.
    missing : ndarray of int64, shape (3,)
        Numeric and missing: rows, positives and misses without a value.
    """

    kind: str
    file: str
    levels: np.ndarray | None
    counts: np.ndarray
    first: np.ndarray | None = None
    missing: np.ndarray | None = None


def _is_categorical(col: pd.Series) -> bool:
    return pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col)


def column_counts(
    col: pd.Series,
    is_pos: np.ndarray,
    missed: np.ndarray,
    *,
    offset: int,
    n_total: int,
    file: str,
    max_levels: int = MAX_LEVELS,
) -> ColumnCounts:
    """Count rows, positives and misses per category or distinct number of one partition."""
    col = col.reset_index(drop=True)
    flags = np.column_stack([np.ones(len(col), dtype=np.int64), is_pos, missed]).astype(np.int64)
    if not pd.api.types.is_bool_dtype(col) and bool(col.isna().all()):
        # no value at all (a CSV reads an empty text column as numbers): either kind
        return ColumnCounts(
            "missing", file, np.empty(0), np.zeros((0, 3), dtype=np.int64),
            first=np.array([offset], dtype=np.int64), missing=flags.sum(axis=0),
        )
    if _is_categorical(col):
        labels = col.astype("string").fillna(MISSING).astype(object)
        codes, uniques = pd.factorize(labels, sort=False)
        k = len(uniques)
        if k > max_levels and k > 0.5 * n_total:
            return ColumnCounts("categorical", file, None, np.zeros((0, 3), dtype=np.int64))
        counts = np.zeros((k, 3), dtype=np.int64)
        np.add.at(counts, codes, flags)
        # factorize numbers categories in order of first occurrence.
        first = np.full(k, len(col), dtype=np.int64)
        np.minimum.at(first, codes, np.arange(len(col), dtype=np.int64))
        return ColumnCounts(
            "categorical", file, np.asarray(uniques, dtype=object), counts, first + offset
        )
    values = pd.to_numeric(col, errors="coerce").astype(float).to_numpy()
    nan = np.isnan(values)
    distinct, inverse = np.unique(values[~nan], return_inverse=True)
    counts = np.zeros((distinct.size, 3), dtype=np.int64)
    np.add.at(counts, inverse, flags[~nan])
    return ColumnCounts("numeric", file, distinct, counts, missing=flags[nan].sum(axis=0))


def merge_column_counts(name: str, a: ColumnCounts, b: ColumnCounts) -> ColumnCounts:
    """The counts of the union of two sets of partitions (exact)."""
    if "missing" in (a.kind, b.kind):
        return _merge_missing(a, b)
    if a.kind != b.kind:
        raise DataError(
            f"The column '{name}' is {_kind_word(a.kind)} in '{a.file}' but "
            f"{_kind_word(b.kind)} in '{b.file}': the partitions have different schemas. Write "
            "every file with the same column types."
        )
    if a.levels is None or b.levels is None:
        return ColumnCounts(a.kind, a.file, None, np.zeros((0, 3), dtype=np.int64))
    if a.kind == "numeric":
        union = np.union1d(a.levels, b.levels)
        counts = np.zeros((union.size, 3), dtype=np.int64)
        for side in (a, b):
            counts[np.searchsorted(union, side.levels)] += side.counts
        missing = np.asarray(a.missing) + np.asarray(b.missing)
        return ColumnCounts("numeric", a.file, union, counts, missing=missing)
    index = {level: i for i, level in enumerate(a.levels)}
    extra = [level for level in b.levels if level not in index]
    for level in extra:
        index[level] = len(index)
    levels = np.asarray([*a.levels, *extra], dtype=object)
    counts = np.zeros((levels.size, 3), dtype=np.int64)
    first = np.full(levels.size, np.iinfo(np.int64).max, dtype=np.int64)
    counts[: a.levels.size] = a.counts
    first[: a.levels.size] = a.first
    where = np.fromiter((index[level] for level in b.levels), dtype=np.int64, count=b.levels.size)
    counts[where] += b.counts
    first[where] = np.minimum(first[where], b.first)
    return ColumnCounts("categorical", a.file, levels, counts, first)


def _merge_missing(a: ColumnCounts, b: ColumnCounts) -> ColumnCounts:
    """Merge counts of which one (or both) has no value: its rows join the missing level."""
    empty, other = (a, b) if a.kind == "missing" else (b, a)
    rows = np.asarray(empty.missing)
    if other.kind == "missing":
        first = np.minimum(a.first, b.first)
        return ColumnCounts("missing", a.file, a.levels, a.counts, first, rows + other.missing)
    if other.levels is None or rows[0] == 0:  # an identifier; or no row to add
        return other
    if other.kind == "numeric":
        missing = np.asarray(other.missing) + rows
        return ColumnCounts("numeric", other.file, other.levels, other.counts, missing=missing)
    # categorical: a missing value is the MISSING category, as column_counts names it
    levels, counts, first = list(other.levels), other.counts.copy(), other.first.copy()
    if MISSING in levels:
        at = levels.index(MISSING)
        counts[at] += rows
        first[at] = min(first[at], empty.first[0])
    else:
        levels.append(MISSING)
        counts = np.vstack([counts, rows[None, :]])
        first = np.append(first, empty.first[0])
    order = np.argsort(first, kind="stable")  # levels in order of first occurrence
    return ColumnCounts(
        "categorical", other.file, np.asarray(levels, dtype=object)[order], counts[order],
        first[order],
    )


def _kind_word(kind: str) -> str:
    return "numeric" if kind == "numeric" else "text or boolean"


def quantiles_from_counts(values: np.ndarray, counts: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``np.quantile(np.repeat(values, counts), q)`` without repeating (linear method).

    Examples
    --------
    >>> v, c = np.array([1.0, 2.0, 5.0]), np.array([2, 1, 3])
    >>> q = np.linspace(0, 1, 6)
    >>> bool(np.array_equal(quantiles_from_counts(v, c, q), np.quantile(np.repeat(v, c), q)))
    True
    """
    from fnguard.metrics.calibration import _lerp

    n = int(counts.sum())
    cum = np.cumsum(counts)
    virtual = (n - 1) * np.asarray(q, dtype=np.float64)
    lo = np.floor(virtual)
    hi = np.minimum(lo + 1, n - 1)
    v_lo = values[np.searchsorted(cum, lo, side="right")]
    v_hi = values[np.searchsorted(cum, hi, side="right")]
    return _lerp(v_lo, v_hi, virtual - lo)


def _levels(
    counts: ColumnCounts, n_rows: int, n_bins: int, max_levels: int
) -> tuple[list[str], np.ndarray, str] | None:
    """Level names and their (rows, positives, misses), as ``fnr_by_slice`` cuts them."""
    if counts.levels is None:
        return None
    if counts.kind == "categorical":
        k = counts.levels.size
        if k < 2 or (k > 0.5 * n_rows and k > max_levels):
            return None
        names = [str(v) for v in counts.levels]
        table = counts.counts
        if k > max_levels:
            # value_counts order: most rows first, ties by first occurrence.
            order = np.lexsort((counts.first, -table[:, 0]))
            keep = np.zeros(k, dtype=bool)
            keep[order[: max_levels - 1]] = True
            names = [n if kept else OTHER for n, kept in zip(names, keep, strict=True)]
        return (*_grouped(names, table), "categorical")
    values, table = counts.levels, counts.counts
    if values.size < 2:
        return None
    if values.size <= n_bins:
        names = [f"{v:g}" for v in values]
    else:
        edges = np.unique(quantiles_from_counts(values, table[:, 0], np.linspace(0, 1, n_bins + 1)))
        for digits in (4, 6, 10, 17):
            bins = [
                f"{'[' if i == 0 else '('}{lo:.{digits}g}, {hi:.{digits}g}]"
                for i, (lo, hi) in enumerate(itertools.pairwise(edges))
            ]
            if len(set(bins)) == len(bins):
                break
        codes = np.clip(np.searchsorted(edges, values, side="left") - 1, 0, len(bins) - 1)
        names = [bins[c] for c in codes]
    if counts.missing is not None and counts.missing[0] > 0:
        names = [*names, MISSING]
        table = np.vstack([table, counts.missing[None, :]])
    return (*_grouped(names, table), "numeric")


def _grouped(names: list[str], table: np.ndarray) -> tuple[list[str], np.ndarray]:
    codes, uniques = pd.factorize(pd.Series(names, dtype=object), sort=False)
    out = np.zeros((len(uniques), 3), dtype=np.int64)
    np.add.at(out, codes, table)
    return [str(u) for u in uniques], out


def slices_from_counts(
    columns: dict[str, ColumnCounts],
    n_rows: int,
    n_positive: int,
    n_fn: int,
    *,
    confidence: float = 0.95,
    n_bins: int = N_BINS,
    max_levels: int = MAX_LEVELS,
    alpha: float = ALPHA,
) -> list[Slice]:
    """:func:`fnguard.metrics.slices.fnr_by_slice` from merged per-column counts.

    Parameters
    ----------
    columns : dict of str to ColumnCounts
        Merged counts per feature, in column order.
    n_rows, n_positive, n_fn : int
        Rows, positives and missed positives of the whole input.
    confidence, n_bins, max_levels, alpha
        As in ``fnr_by_slice``.

    Returns
    -------
    list of Slice
        Flagged slices first, then by excess misses, largest first.
    """
    if n_positive == 0 or not columns:
        return []
    overall = n_fn / n_positive
    rows: list[dict[str, Any]] = []
    for name, counts in columns.items():
        cut = _levels(counts, n_rows, n_bins, max_levels)
        if cut is None:
            continue
        names, table, kind = cut
        for level, (n_level, pos, fn) in zip(names, table.tolist(), strict=True):
            if pos == 0:
                continue
            rest_pos, rest_fn = n_positive - pos, n_fn - fn
            grid = [[fn, pos - fn], [rest_fn, rest_pos - rest_fn]]
            p = stats.fisher_exact(grid, alternative="greater").pvalue if rest_pos else 1.0
            rows.append(
                {
                    "feature": str(name),
                    "level": str(level),
                    "kind": kind,
                    "n_rows": int(n_level),
                    "n_positive": int(pos),
                    "fn": int(fn),
                    "p_value": float(p),
                }
            )
    return slices_from_rows(rows, overall, alpha=alpha, confidence=confidence)
