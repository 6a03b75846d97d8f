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
from fnguard.data.names import (
    capitalized,
    closest_names,
    format_names,
    plural,
    quote_source,
)
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
        table's labels (and only those), or is the training table again (the same rows and
        labels) or, when the training rows are mostly distinct, a part of it.

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
    target = train.target
    if not isinstance(test, str | os.PathLike | pd.DataFrame):
        raise DataError(
            f"The test table must be a path to a CSV or Parquet file, a DataFrame or a "
            f"Dataset. Got {type(test).__name__} instead (for features and labels apart, put "
            f"the labels in the frame: X_test.assign(**{{{target!r}: y_test}}))."
        )
    if not isinstance(test, pd.DataFrame) and not os.fspath(test).strip():
        raise DataError("The test table's path is empty: pass the path of a CSV or Parquet file.")
    source = "the test DataFrame" if isinstance(test, pd.DataFrame) else source_name(test)
    frame = read_frame(test, what="test table", text=train.schema.text())
    if target not in frame.columns:
        hint = closest_names(target, [str(c) for c in frame.columns], n=1)
        raise DataError(
            f"{capitalized(_named(source, 'test'))} has no target column '{target}'"
            + (f" (did you mean '{hint[0]}'?)" if hint else "")
            + f": the test rows need their labels, in a column named '{target}' as in the "
            f"training table (in Python, for features and labels apart: "
            f"X_test.assign(**{{{target!r}: y_test}}))."
        )
    wanted = train.positive
    present = sorted(frame[target].dropna().unique(), key=str)
    if match_label(wanted, present) is None:  # 1.0 in training, "1" here: the same label
        alike = [value for value in present if _same(value, wanted)]
        wanted = alike[0] if len(alike) == 1 else wanted
    try:
        y, positive, negative, _ = binarize_target(
            frame[target], positive=wanted, column=target, source=source, kind="target"
        )
    except DataError:
        if len(present) == 2 and match_label(wanted, present) is None:
            raise _labels_error(present[0], present[1], train, source) from None
        if len(present) == 1 and not frame[target].isna().any():
            raise DataError(
                f"The target column '{target}' of {_named(source, 'test')} holds "
                f"only {show_value(present[0])}: recall and precision need both positive and "
                "negative test rows. Add rows of the other class to the test table."
            ) from None
        raise
    _check_labels(positive, negative, train, source)
    return _checked(frame.drop(columns=[target]), y, source, train)


def _from_dataset(test: Dataset, train: Dataset) -> TestTable:
    if test.target != train.target:
        raise DataError(
            f"The test Dataset's target is '{test.target}', the training table's "
            f"'{train.target}': load the test rows with the same target."
        )
    _check_labels(test.positive, test.negative, train, test.source)
    lost = [name for name in train.schema.names
            if name not in test.X.columns and name in test.dropped]
    if lost:
        raise DataError(
            f"The test Dataset left out {plural(len(lost), 'column')} that the training table "
            f"keeps: {format_names([repr(n) for n in lost])} (left out when it was loaded: by "
            "drop=, or as an identifier column, which load_table decides table by table). Pass "
            "the test rows as a DataFrame or a file instead: they are then read by the "
            "training table's columns."
        )
    y = np.asarray(test.y, dtype=bool)
    if y.all() or not y.any():  # a table read here has both classes (binarize_target)
        raise DataError(
            f"The test Dataset {quote_source(test.source)} holds only "
            f"{'positive' if y.any() else 'negative'} rows: recall and precision need both "
            "positive and negative test rows. Add rows of the other class."
        )
    return _checked(test.X, y, test.source, train)


def _checked(features: pd.DataFrame, y: np.ndarray, source: str, train: Dataset) -> TestTable:
    """The test features read by the training schema, with the notes on drift and on rows
    shared with the training table."""
    drift = Drift(train.schema, source=source, ignore=train.dropped)
    X = train.schema.check(features.reset_index(drop=True), source=source, drift=drift)
    notes = [message for _, message in drift.findings()]
    notes += _shared_rows(X, y, train, source)
    return TestTable(X=X, y=y, source=source, notes=notes)


def _check_labels(positive: Any, negative: Any, train: Dataset, source: str) -> None:
    """Raise DataError unless the test labels are the training labels (alike, see
    :func:`_same`), the same one positive."""
    if not (_same(positive, train.positive) and _same(negative, train.negative)):
        raise _labels_error(positive, negative, train, source)


def _labels_error(positive: Any, negative: Any, train: Dataset, source: str) -> DataError:
    return DataError(
        f"The target column '{train.target}' in {_named(source, 'test')} holds the labels "
        f"{show_value(positive)} and {show_value(negative)}; the training table's are "
        f"{show_value(train.positive)} (positive) and {show_value(train.negative)}. Write the "
        "test table's labels as the training table writes them."
    )


def _named(source: str, kind: str) -> str:
    """``the test table 'x.csv'``, ``the training DataFrame``, or another phrase as it is."""
    if source == "the DataFrame":
        return f"the {kind} DataFrame"
    return source if source.startswith("the ") else f"the {kind} table {quote_source(source)}"


def _same(a: Any, b: Any) -> bool:
    """Whether two labels are the same by :func:`~fnguard.data.target.match_label`'s rules,
    either way round: 1 and 1.0, True and 1, "Yes" and "yes"."""
    return any(match_label(str(to_python(u)), [v]) is not None for u, v in ((a, b), (b, a)))


def _hashes(X: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(X, index=False).to_numpy()


def _shared_rows(X: pd.DataFrame, y: np.ndarray, train: Dataset, source: str) -> list[str]:
    """A note when test rows repeat training rows' feature values (their figures may flatter
    the Guard); a DataError when the test table is the training table (the same rows and
    labels, in any order), or a part of it whose rows are mostly distinct."""
    train_X = train.schema.check(train.X, source=train.source)
    seen = _hashes(train_X)
    test_hashes = _hashes(X)
    test_name, train_name = _named(source, "test"), _named(train.source, "training")
    refuse = (
        "a Guard tested on the rows it trained on looks better than it is. Pass test rows kept "
        "apart from the training rows, or leave the test table out to hold out a share of the "
        "training table (--test-size)."
    )
    if len(X) == len(train_X) and np.array_equal(
        np.sort(test_hashes * 2 + y), np.sort(seen * 2 + np.asarray(train.y, dtype=bool))
    ):
        raise DataError(
            f"{capitalized(test_name)} holds the same rows and labels as {train_name}: {refuse}"
        )
    shared = int(np.isin(test_hashes, seen).sum())
    if not shared:
        return []
    distinct = len(np.unique(seen))
    if shared == len(X) and distinct >= len(seen) / 2:
        raise DataError(
            f"Every row of {test_name} is also a row of {train_name} (the same feature "
            f"values): {refuse}"
        )
    said = (
        f"{plural(shared, 'row')} of {test_name} ({shared / len(X):.1%}) have the same "
        "feature values as a training row."
    )
    if distinct < len(seen) / 2:
        return [
            f"{said} The training table has only {distinct:,} distinct feature rows in "
            f"{len(seen):,}, so different cases often share their values: only repeats of the "
            "same cases make the Guard's test figures optimistic."
        ]
    return [
        f"{said} If they are the same cases, the Guard's test figures are optimistic for "
        "them: remove them from one of the two tables."
    ]
