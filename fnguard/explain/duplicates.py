"""Conflicting duplicates: identical feature rows that carry different labels.

No model can tell such rows apart: it gives them one score, so in each group either every
positive is missed or every negative is a false alarm. They are label errors, or a sign that
the features lack what separates the classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from fnguard.errors import DataError

__all__ = ["ConflictingDuplicates", "conflicting_duplicates"]


@dataclass
class ConflictingDuplicates:
    """Groups of identical feature rows with both labels.

    Attributes
    ----------
    groups : list of ndarray of int
        Row positions of each conflicting group, largest group first.
    n_positive, n_negative : int
        Positive and negative rows inside the conflicting groups.
    n_duplicate_rows : int
        Rows that repeat an earlier row's features, conflicting or not.
    """

    groups: list[np.ndarray]
    n_positive: int
    n_negative: int
    n_duplicate_rows: int

    @property
    def n_groups(self) -> int:
        """The number of conflicting groups."""
        return len(self.groups)

    @property
    def n_rows(self) -> int:
        """Rows inside the conflicting groups."""
        return self.n_positive + self.n_negative

    @property
    def rows(self) -> np.ndarray:
        """Every row inside a conflicting group, group by group."""
        if not self.groups:
            return np.empty(0, dtype=np.int64)
        return np.concatenate(self.groups)

    def examples(
        self, features: pd.DataFrame, y_true: ArrayLike, *, max_groups: int = 5
    ) -> pd.DataFrame:
        """The rows of the largest groups: ``group``, ``row``, ``label`` then the features."""
        is_pos = np.asarray(y_true, dtype=bool)
        parts = []
        for g, rows in enumerate(self.groups[:max_groups]):
            part = features.reset_index(drop=True).iloc[rows].reset_index(drop=True)
            part.insert(0, "positive", is_pos[rows])
            part.insert(0, "row", rows)
            part.insert(0, "group", g)
            parts.append(part)
        if not parts:
            return pd.DataFrame(columns=["group", "row", "positive"])
        return pd.concat(parts, ignore_index=True)

    def to_dict(self, *, max_groups: int = 20) -> dict[str, Any]:
        """Counts and the rows of the largest groups, for JSON."""
        return {
            "groups": self.n_groups,
            "rows": self.n_rows,
            "positive_rows": self.n_positive,
            "negative_rows": self.n_negative,
            "duplicate_rows": self.n_duplicate_rows,
            "group_rows": [g.tolist() for g in self.groups[:max_groups]],
        }


def conflicting_duplicates(features: pd.DataFrame, y_true: ArrayLike) -> ConflictingDuplicates:
    """Find groups of identical feature rows whose labels differ.

    Missing values are equal to each other; ``1`` and ``1.0`` in the same numeric column are
    equal. Rows are compared on every feature column.

    Parameters
    ----------
    features : DataFrame
        The feature columns.
    y_true : array-like of bool
        True for positive rows.

    Returns
    -------
    ConflictingDuplicates

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1, 1, 2, 2, 3], "b": ["x", "x", "y", "y", None]})
    >>> d = conflicting_duplicates(X, [True, False, False, False, True])
    >>> d.n_groups, d.groups[0].tolist(), d.n_duplicate_rows
    (1, [0, 1], 2)
    """
    is_pos = np.asarray(y_true, dtype=bool)
    if len(features) != is_pos.size:
        raise DataError(
            f"'features' has {len(features)} rows but there are {is_pos.size} labels: pass the "
            "feature rows in the same order as the labels."
        )
    if is_pos.size == 0 or features.shape[1] == 0:
        return ConflictingDuplicates([], 0, 0, 0)
    frame = features.reset_index(drop=True)
    # Hash each row (missing values hash alike); a 64-bit collision is not a practical risk.
    keys = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    codes = np.unique(keys, return_inverse=True)[1]
    counts = np.bincount(codes)
    positives = np.bincount(codes, weights=is_pos.astype(np.float64))
    n_duplicate_rows = int(is_pos.size - counts.size)
    conflicting = np.flatnonzero((positives > 0) & (positives < counts))
    if conflicting.size == 0:
        return ConflictingDuplicates([], 0, 0, n_duplicate_rows)
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    groups = [order[starts[c] : starts[c + 1]] for c in conflicting]
    groups.sort(key=lambda g: (-g.size, int(g[0])))
    n_positive = int(positives[conflicting].sum())
    return ConflictingDuplicates(
        groups=[np.asarray(g, dtype=np.int64) for g in groups],
        n_positive=n_positive,
        n_negative=int(counts[conflicting].sum()) - n_positive,
        n_duplicate_rows=n_duplicate_rows,
    )
