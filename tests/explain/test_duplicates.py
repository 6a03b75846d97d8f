"""Tests of fnguard.explain.duplicates: identical feature rows with both labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fnguard.data import datasets
from fnguard.errors import DataError
from fnguard.explain.duplicates import conflicting_duplicates


def _brute(X: pd.DataFrame, y: np.ndarray) -> set[tuple[int, ...]]:
    """Conflicting groups by pandas' groupby on every column (missing values kept)."""
    frame = X.reset_index(drop=True).astype(object).where(X.notna(), "<NA>")
    out = set()
    for _, idx in frame.groupby(list(frame.columns), dropna=False, sort=False).indices.items():
        idx = np.sort(idx)
        if 0 < y[idx].sum() < idx.size:
            out.add(tuple(idx.tolist()))
    return out


def test_planted_duplicates_are_found(digits) -> None:
    """Check that copies of real rows with the other label are found, group by group."""
    rng = np.random.default_rng(0)
    X = digits.X.drop_duplicates().reset_index(drop=True)
    y = digits.y[X.index].copy()
    base = conflicting_duplicates(X, y)
    assert base.n_groups == 0
    picked = rng.choice(len(X), 12, replace=False)
    X2 = pd.concat([X, X.iloc[picked]], ignore_index=True)
    y2 = np.concatenate([y, ~y[picked]])
    d = conflicting_duplicates(X2, y2)
    assert d.n_groups == 12
    expected = {tuple(sorted((int(p), len(X) + i))) for i, p in enumerate(picked)}
    assert {tuple(g.tolist()) for g in d.groups} == expected
    assert d.n_positive == 12 and d.n_negative == 12 and d.n_duplicate_rows == 12


def test_matches_groupby_on_real_data() -> None:
    """Check against a pandas groupby on caravan, which has conflicting rows of its own."""
    data = datasets.load("caravan")
    d = conflicting_duplicates(data.X, data.y)
    assert {tuple(g.tolist()) for g in d.groups} == _brute(data.X, data.y)
    assert d.n_groups > 0
    assert d.n_duplicate_rows == int(data.X.duplicated().sum())


def test_missing_values_and_types() -> None:
    """Check that missing values are equal to each other and that rows need every column."""
    X = pd.DataFrame({"a": [1.0, 1.0, np.nan, np.nan, 2.0], "b": ["x", "x", None, None, "x"]})
    y = np.array([True, False, True, False, True])
    d = conflicting_duplicates(X, y)
    assert {tuple(g.tolist()) for g in d.groups} == {(0, 1), (2, 3)}
    assert d.examples(X, y)["row"].tolist() == [0, 1, 2, 3]
    same = conflicting_duplicates(X, np.array([True, True, False, False, True]))
    assert same.n_groups == 0 and same.n_duplicate_rows == 2


def test_bad_input() -> None:
    """Check that labels of another length raise a DataError."""
    with pytest.raises(DataError, match="same order"):
        conflicting_duplicates(pd.DataFrame({"a": [1, 2]}), [True])
