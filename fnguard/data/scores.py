"""A model's scores next to the true labels: the input of ``fnguard diagnose``."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np
import pandas as pd

from fnguard.data.columns import read_numbers
from fnguard.data.frames import read_frame, source_name
from fnguard.data.names import missing_column_error, plural, quote_source
from fnguard.data.target import binarize_target, row_numbers, show_value, to_python
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
        parsed, bad = read_numbers(values)  # 0,95 reads too: a spreadsheet's decimal comma
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{where} holds {plural(int(bad.sum()), 'non-numeric value')} "
                f"({row_numbers(bad)}; the first is {show_value(values.iloc[first])}): pass the "
                "model's numeric score for the positive class."
            )
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


@dataclasses.dataclass(repr=False)
class ClassScores:
    """True labels of several classes and one score column per class (one-vs-rest).

    Parameters
    ----------
    y : ndarray of object
        The label of each row, as plain Python scalars.
    classes : list
        The class each score column is for, in column order.
    y_score : ndarray of float64, shape (n_rows, n_classes)
        Column ``k`` scores how likely the row is ``classes[k]``.
    label : str
        The label column.
    score_columns : list of str
        The score columns, in class order.
    features : DataFrame
        All the other columns.
    source : str
        Where the data came from.
    notes : list of str
        What was decided for the user while loading.
    """

    y: np.ndarray
    classes: list[Any]
    y_score: np.ndarray
    label: str
    score_columns: list[str]
    features: pd.DataFrame
    source: str
    notes: list[str] = dataclasses.field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"ClassScores(source={self.source!r}, n_rows={len(self.y)}, "
            f"classes={self.classes!r}, score_columns={self.score_columns!r})"
        )

    def one_vs_rest(self, cls: Any) -> ScoredTable:
        """The binary view of one class: its label against all the others.

        Parameters
        ----------
        cls : scalar
            One of :attr:`classes` (a command-line string is matched by type).

        Returns
        -------
        ScoredTable
        """
        from fnguard.data.target import match_label

        found = match_label(cls, self.classes)
        if found is None:
            raise DataError(
                f"The class {show_value(cls)} has no score column; classes with scores: "
                f"{', '.join(show_value(c) for c in self.classes)}."
            )
        k = self.classes.index(found)
        return ScoredTable(
            y_true=np.asarray([v == found for v in self.y], dtype=bool),
            y_score=self.y_score[:, k],
            label=self.label,
            score=self.score_columns[k],
            positive=found,
            negative=f"not {found}",
            features=self.features,
            source=self.source,
            notes=list(self.notes),
        )


def load_class_scores(
    path_or_frame: str | os.PathLike[str] | pd.DataFrame,
    *,
    label: str,
    scores: list[str],
) -> ClassScores:
    """Read labels of several classes and one score column per class.

    Parameters
    ----------
    path_or_frame : str, PathLike or DataFrame
        A CSV or Parquet file, a folder of Parquet files, or a DataFrame.
    label : str
        The column of true labels.
    scores : list of str
        One entry per class: ``"CLASS=COLUMN"``, or a bare column named after its class
        (``"malignant"``) or ending with it after ``_``, ``:`` or ``.`` (``"p_malignant"``).

    Returns
    -------
    ClassScores

    Raises
    ------
    DataError
        If a column is absent, a score column cannot be tied to a class, a class does not
        occur in the labels, labels are missing, or scores are not finite numbers.

    Examples
    --------
    >>> frame = pd.DataFrame({"y": ["a", "b", "c", "a"], "p_a": [.7, .1, .2, .5],
    ...                       "p_b": [.2, .8, .1, .3], "p_c": [.1, .1, .7, .2]})
    >>> cs = load_class_scores(frame, label="y", scores=["p_a", "p_b", "c=p_c"])
    >>> cs.classes, cs.one_vs_rest("b").y_true.tolist()
    (['a', 'b', 'c'], [False, True, False, False])
    """
    from fnguard.data.target import _missing_labels, match_label

    frame = read_frame(path_or_frame)
    source = source_name(path_or_frame)
    label = str(label)
    if label not in frame.columns:
        raise missing_column_error("label", label, frame.columns, source)
    values = frame[label]
    missing = _missing_labels(values)
    if missing.any():
        raise DataError(
            f"The label column '{label}' in {quote_source(source)} has "
            f"{plural(int(missing.sum()), 'missing label')} ({row_numbers(missing)}): drop or "
            "fill those rows."
        )
    present = [to_python(v) for v in pd.unique(values)]
    classes: list[Any] = []
    columns: list[str] = []
    for spec in scores:
        cls_text, _, column = str(spec).rpartition("=")
        column = column.strip()
        if column not in frame.columns:
            raise missing_column_error("score", column, frame.columns, source)
        if column == label:
            raise DataError(f"The label column '{label}' cannot also be a score column.")
        candidates = [cls_text.strip()] if cls_text else [column] + [
            column.rsplit(sep, 1)[-1] for sep in ("_", ":", ".") if sep in column
        ]
        found = None
        for c in candidates:
            found = match_label(c, present)
            if found is not None:
                break
        if found is None:
            shown = ", ".join(show_value(v) for v in present[:10])
            raise DataError(
                f"The score column '{column}' cannot be tied to a class of '{label}' "
                f"(classes: {shown}): name it after its class (e.g. 'p_<class>') or write "
                f"CLASS={column}."
            )
        if found in classes:
            raise DataError(
                f"Two score columns are for the class {show_value(found)}: pass one per class."
            )
        classes.append(found)
        columns.append(column)
    if len(classes) < 2:
        raise DataError(
            "Pass one score column per class (at least two) for one-vs-rest, or a single "
            "--score with a binary label."
        )
    matrix = np.column_stack([_scores(frame[c], c, source) for c in columns])
    notes = []
    without = [v for v in present if v not in classes]
    if without:
        notes.append(
            f"Classes without a score column count as negatives for every class: "
            f"{', '.join(show_value(v) for v in without)}."
        )
    features = frame.drop(columns=[label, *columns]).reset_index(drop=True)
    return ClassScores(
        y=np.asarray([to_python(v) for v in values], dtype=object),
        classes=classes,
        y_score=matrix,
        label=label,
        score_columns=columns,
        features=features,
        source=source,
        notes=notes,
    )
