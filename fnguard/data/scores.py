"""A model's scores next to the true labels: the input of ``fnguard diagnose``."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np
import pandas as pd

from fnguard.data.frames import read_frame, source_name
from fnguard.data.names import missing_column_error, plural, quote_source
from fnguard.data.target import binarize_target, row_numbers, show_value
from fnguard.errors import DataError


@dataclasses.dataclass(repr=False)
class ScoredTable:
    """True labels and a model's scores, read and checked by :func:`load_scores`.

    Parameters
    ----------
    y_true : ndarray of bool
        True where the row holds the positive label.
    y_score : ndarray of float64
        The model's score for the positive class (higher means more likely positive).
    label, score : str
        The label and score column names.
    positive, negative : scalar
        The positive and negative labels, as plain Python scalars.
    features : DataFrame
        All the other columns, indexed 0..n-1 (to find slices where the misses concentrate).
    source : str
        Where the data came from.
    notes : list of str
        What was decided for the user while loading.
    """

    y_true: np.ndarray
    y_score: np.ndarray
    label: str
    score: str
    positive: Any
    negative: Any
    features: pd.DataFrame
    source: str
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def n_rows(self) -> int:
        """The number of rows."""
        return int(self.y_true.shape[0])

    @property
    def n_positive(self) -> int:
        """The number of positive rows."""
        return int(np.count_nonzero(self.y_true))

    @property
    def prevalence(self) -> float:
        """The share of positive rows."""
        return self.n_positive / self.n_rows if self.n_rows else float("nan")

    def __repr__(self) -> str:
        return (
            f"ScoredTable(source={self.source!r}, n_rows={self.n_rows}, label={self.label!r}, "
            f"score={self.score!r}, positive={self.positive!r}, "
            f"prevalence={self.prevalence:.4f})"
        )


def _scores(values: pd.Series, column: str, source: str) -> np.ndarray:
    where = f"The score column '{column}' in {quote_source(source)}"
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
        parsed = values.astype("float64")
    else:
        parsed = pd.to_numeric(values, errors="coerce")
        text = values.astype(str).str.strip()
        bad = (values.notna() & parsed.isna() & (text != "")).to_numpy(dtype=bool)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{where} holds {plural(int(bad.sum()), 'non-numeric value')}, e.g. "
                f"{show_value(values.iloc[first])} at data row {first + 1} "
                f"({row_numbers(bad)}): pass the model's numeric score for the positive class."
            )
        parsed = parsed.astype("float64")
    scores = parsed.to_numpy(dtype=np.float64, copy=True)
    missing = np.isnan(scores)
    if missing.any():
        raise DataError(
            f"{where} has {plural(int(missing.sum()), 'missing value')} ({row_numbers(missing)}): "
            "drop those rows or fill them."
        )
    infinite = np.isinf(scores)
    if infinite.any():
        raise DataError(
            f"{where} has {plural(int(infinite.sum()), 'infinite value')} "
            f"({row_numbers(infinite)}): "
            "drop those rows or fill them with finite scores."
        )
    return scores


def load_scores(
    path_or_frame: str | os.PathLike[str] | pd.DataFrame,
    *,
    label: str,
    score: str,
    positive: Any = None,
) -> ScoredTable:
    """Read true labels and a model's scores, and check them.

    Parameters
    ----------
    path_or_frame : str, PathLike or DataFrame
        A CSV or Parquet file, a folder of Parquet files, or a DataFrame (see
        :func:`~fnguard.data.read_frame`).
    label : str
        The column of true labels (two classes).
    score : str
        The column of scores: any finite numbers, higher meaning more likely positive.
    positive : scalar, optional
        The positive label (a command-line string is matched by type). When omitted the
        minority class is used, with a note and a warning.

    Returns
    -------
    ScoredTable

    Raises
    ------
    DataError
        If the table cannot be read, a column is absent, the labels are not binary, or a
        score is not a number, missing or infinite.

    Examples
    --------
    >>> frame = pd.DataFrame({"y": [0, 1, 0, 1], "p": [0.1, 0.8, 0.4, 0.35], "age": [1, 2, 3, 4]})
    >>> scored = load_scores(frame, label="y", score="p", positive="1")
    >>> scored.y_true.tolist(), scored.y_score.tolist(), scored.features.columns.tolist()
    ([False, True, False, True], [0.1, 0.8, 0.4, 0.35], ['age'])
    """
    label, score = str(label), str(score)
    if label == score:
        raise DataError(
            f"The label and score columns are both '{label}': pass the true labels as the label "
            "column and the model's scores as the score column."
        )
    frame = read_frame(path_or_frame)
    source = source_name(path_or_frame)
    for kind, name in (("label", label), ("score", score)):
        if name not in frame.columns:
            raise missing_column_error(kind, name, frame.columns, source)
    y_score = _scores(frame[score], score, source)
    y_true, pos, neg, notes = binarize_target(
        frame[label], positive=positive, column=label, source=source, kind="label"
    )
    low, high = float(y_score.min()), float(y_score.max())
    if low < 0.0 or high > 1.0:
        notes.append(
            f"The scores range from {low:g} to {high:g}, outside [0, 1]: ranking metrics hold, "
            "but calibration needs probabilities."
        )
    features = frame.drop(columns=[label, score]).reset_index(drop=True)
    return ScoredTable(
        y_true=y_true, y_score=y_score, label=label, score=score, positive=pos, negative=neg,
        features=features, source=source, notes=notes,
    )
