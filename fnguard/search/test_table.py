"""A final test set given as its own table (``fnguard fit --test``, ``fit(test=...)``).

Practitioners often hold their test rows apart already: the last month of a time series,
another site, a benchmark's fixed split. Then no share of the training table is held out:
every training row serves the search and the refit, and the Guard is scored once on the
test table, read and checked as :meth:`fnguard.Guard.predict` reads new data (the training
schema's columns and types) and labelled with the training table's two labels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fnguard.data import Dataset
from fnguard.data.frames import read_frame, source_name
from fnguard.data.names import missing_column_error, plural, quote_source
from fnguard.data.schema import Drift
from fnguard.data.target import binarize_target, match_label, show_value, to_python
from fnguard.errors import DataError

__all__ = ["TestTable", "read_test_table"]


@dataclass
class TestTable:
    """The checked final test set.

    Parameters
    ----------
    X : DataFrame
        Its feature columns, converted by the training schema, in schema order.
    y : ndarray of bool
        True where the row holds the positive label.
    source : str
        Where it came from (a path or ``"the DataFrame"``), for messages and the Guard's record.
    notes : list of str
        What a user should know: drift from the training table, rows the two tables share.
    """

    __test__ = False  # not a pytest class

    X: pd.DataFrame
    y: np.ndarray
    source: str
    notes: list[str] = field(default_factory=list)


def read_test_table(test: str | os.PathLike[str] | pd.DataFrame | Dataset,
                    train: Dataset) -> TestTable:
    """Read and check a final test table against the training table it goes with.

    Parameters
    ----------
    test : path, DataFrame or Dataset
        The labelled test rows: a CSV or Parquet file or a DataFrame with the training
        table's feature columns and its target column, or a :class:`~fnguard.data.Dataset`
        with the same target and labels.
    train : Dataset
        The training table, as :func:`~fnguard.data.load_table` read it.

    Returns
    -------
    TestTable

    Raises
    ------
    DataError
        If the test table cannot be read, lacks the target or a feature column, holds values
        that cannot be read as their training type, does not hold both of the training
        table's labels (and only those), or holds only rows of the training table.

    Examples
    --------
    >>> from fnguard.data import load_table
    >>> train = load_table(pd.DataFrame({"x": [0.1, 0.9, 0.2, 0.8], "y": [0, 1, 0, 1]}),
    ...                    "y", positive=1)
    >>> test = read_test_table(pd.DataFrame({"x": ["0.3", "0.7"], "y": [0, 1]}), train)
    >>> test.X["x"].tolist(), test.y.tolist()
    ([0.3, 0.7], [False, True])
    """
    if isinstance(test, Dataset):
        return _from_dataset(test, train)
    if not isinstance(test, str | os.PathLike | pd.DataFrame):
        raise DataError(
            f"The test table must be a path to a CSV or Parquet file, a DataFrame or a "
            f"Dataset. Got {type(test).__name__} instead."
        )
    source = source_name(test)
    frame = read_frame(test, what="test table", text=train.schema.text())
    target = train.target
    if target not in frame.columns:
        raise missing_column_error("target", target, frame.columns, source)
    try:
        y, positive, negative, _ = binarize_target(
            frame[target], positive=train.positive, column=target, source=source, kind="target"
        )
    except DataError:
        present = sorted(frame[target].dropna().unique(), key=str)
        if len(present) == 2 and match_label(train.positive, present) is None:
            _check_labels(present[0], present[1], train, source, both=True)
        raise
    _check_labels(positive, negative, train, source)
    drift = Drift(train.schema, source=source, ignore=[target, *train.dropped])
    X = train.schema.check(frame.drop(columns=[target]).reset_index(drop=True),
                           source=source, drift=drift)
    notes = [message for _, message in drift.findings()]
    notes += _shared_rows(X, train, source)
    return TestTable(X=X, y=y, source=source, notes=notes)


def _from_dataset(test: Dataset, train: Dataset) -> TestTable:
    if test.target != train.target:
        raise DataError(
            f"The test Dataset's target is '{test.target}', the training table's "
            f"'{train.target}': load the test rows with the same target."
        )
    _check_labels(test.positive, test.negative, train, test.source)
    drift = Drift(train.schema, source=test.source, ignore=train.dropped)
    X = train.schema.check(test.X.reset_index(drop=True), source=test.source, drift=drift)
    notes = [message for _, message in drift.findings()]
    notes += _shared_rows(X, train, test.source)
    return TestTable(X=X, y=np.asarray(test.y, dtype=bool), source=test.source, notes=notes)


def _check_labels(
    positive: Any, negative: Any, train: Dataset, source: str, *, both: bool = False
) -> None:
    """Raise DataError unless the test labels are the training labels, the same one
    positive (compared as text: 1 in a CSV and 1.0 in a DataFrame are the same label)."""
    if not both and _same(positive, train.positive) and _same(negative, train.negative):
        return
    raise DataError(
        f"The target column '{train.target}' in {quote_source(source)} holds the labels "
        f"{show_value(positive)} and {show_value(negative)}; the training table's are "
        f"{show_value(train.positive)} (positive) and {show_value(train.negative)}. Write the "
        "test table's labels as the training table writes them."
    )


def _same(a: Any, b: Any) -> bool:
    return str(to_python(a)).strip().casefold() == str(to_python(b)).strip().casefold()


def _hashes(X: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(X, index=False).to_numpy()


def _shared_rows(X: pd.DataFrame, train: Dataset, source: str) -> list[str]:
    """A note when test rows repeat training rows (their figures flatter the Guard); a
    DataError when every one does (the same table given twice)."""
    seen = _hashes(train.schema.check(train.X, source=train.source))
    shared = int(np.isin(_hashes(X), seen).sum())
    if not shared:
        return []
    where = quote_source(source)
    if shared == len(X):
        raise DataError(
            f"Every row of the test table {where} is also a row of the training table "
            f"{quote_source(train.source)}: a Guard tested on rows it trained on looks better "
            "than it is. Pass test rows kept apart from the training rows, or leave the test "
            "table out to hold out a share of the training table (--test-size)."
        )
    return [
        f"{plural(shared, 'row')} of the test table {where} ({shared / len(X):.1%}) have the "
        "same feature values as a training row: the Guard's test figures are optimistic for "
        "them. Remove them from one of the two tables if they are the same cases."
    ]
