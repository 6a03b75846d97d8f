"""A labelled table: features, a binary target and the schema of the features."""

from __future__ import annotations

import dataclasses
import numbers
import os
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from fnguard.data.columns import (
    durations_as_seconds,
    identifier_columns,
    read_dates,
    read_decimal_commas,
    read_formatted_numbers,
    row_number_columns,
    typo_columns,
)
from fnguard.data.frames import read_frame, source_name
from fnguard.data.names import (
    capitalized,
    format_names,
    missing_column_error,
    plural,
    quote_source,
)
from fnguard.data.schema import Schema, check_finite, infer_schema
from fnguard.data.target import binarize_target
from fnguard.errors import DataError


@dataclasses.dataclass(repr=False)
class Dataset:
    """Features and a binary target, read and checked by :func:`load_table`.

    Parameters
    ----------
    X : DataFrame
        The feature columns (the target and dropped columns removed), indexed 0..n-1.
    y : ndarray of bool
        True where the row holds the positive label.
    target : str
        The target column name.
    positive, negative : scalar
        The positive and negative labels, as plain Python scalars.
    schema : Schema
        The feature columns' kinds, dtypes, missing counts and categories.
    source : str
        Where the data came from (a path, ``"the DataFrame"`` or a bundled dataset's origin).
    notes : list of str
        What was decided for the user while loading (e.g. the positive label chosen).
    dropped : list of str
        The columns of the table left out of the features besides the target: those asked
        to be dropped and the identifier columns left out (a Guard does not warn about them
        in new data).
    """

    X: pd.DataFrame
    y: np.ndarray
    target: str
    positive: Any
    negative: Any
    schema: Schema
    source: str
    notes: list[str] = dataclasses.field(default_factory=list)
    dropped: list[str] = dataclasses.field(default_factory=list)

    @property
    def n_rows(self) -> int:
        """The number of rows."""
        return int(self.y.shape[0])

    @property
    def n_positive(self) -> int:
        """The number of positive rows."""
        return int(np.count_nonzero(self.y))

    @property
    def prevalence(self) -> float:
        """The share of positive rows."""
        return self.n_positive / self.n_rows if self.n_rows else float("nan")

    def __repr__(self) -> str:
        return (
            f"Dataset(source={self.source!r}, n_rows={self.n_rows}, "
            f"n_features={self.X.shape[1]}, target={self.target!r}, "
            f"positive={self.positive!r}, prevalence={self.prevalence:.4f})"
        )


def _comma_list(name: str, columns: Any) -> list[str]:
    """A column name, or the names of a comma-separated list of columns (``--drop a,b``, as
    ``--levers`` takes them) when the whole is not a column and every part is.

    Examples
    --------
    >>> _comma_list("id,when", ["id", "when", "x"]), _comma_list("a,b", ["a,b", "a", "b"])
    (['id', 'when'], ['a,b'])
    """
    names = {str(c) for c in columns}
    parts = [p.strip() for p in name.split(",")]
    if name in names or len(parts) < 2 or not all(p in names for p in parts):
        return [name]
    return parts


def _drop_row_numbers(
    X: pd.DataFrame, target: str, source: str
) -> tuple[pd.DataFrame, list[str]]:
    """Leave out numeric columns that number the rows (see
    :func:`~fnguard.data.columns.row_number_columns`), with a note."""
    found = row_number_columns(X)
    if not found:
        return X, []
    shown = format_names([f"'{name}'" for name in found])
    n = len(X)
    if len(found) == X.shape[1]:
        raise DataError(
            f"The feature columns of {quote_source(source)} besides the target '{target}' only "
            f"number the rows: {shown} (a distinct whole number in every row, with few gaps). "
            "A row's place in the table says nothing about a new case: add feature "
            "columns (numbers, categories, dates)."
        )
    it = "it numbers" if len(found) == 1 else "they number"
    note = (
        f"{plural(len(found), 'numeric column')} left out of the features, as {it} the "
        f"rows (a distinct whole number in each of the {n:,} rows, with few gaps): {shown}. "
        "A row's place in the "
        "table says nothing about a new case, and leaks the label when the table was sorted "
        f"by it. Pass {' '.join(f'--drop {name}' for name in found)} (drop=[...]) to say so; "
        "if the numbers mean something (ids given in time order, say), turn them into a "
        "feature first (a date)."
    )
    return X.drop(columns=found), [note]


def _drop_identifiers(
    X: pd.DataFrame, target: str, source: str, explained: Any = ()
) -> tuple[pd.DataFrame, list[str]]:
    """Leave out text columns with a distinct value in nearly every row (see
    :func:`~fnguard.data.columns.identifier_columns`), with a note on those another note
    has not ``explained`` (numbers but for a typo)."""
    found = identifier_columns(X)
    if not found:
        return X, []
    shown = format_names([f"'{name}' ({share:.0%} distinct)" for name, share in found])
    if len(found) == X.shape[1]:
        raise DataError(
            f"The feature columns of {quote_source(source)} besides the target '{target}' hold "
            f"a distinct value in nearly every row: {shown}. Ids, names or free text teach a "
            "model nothing about new rows: add feature columns (numbers, categories, dates)."
        )
    names = [name for name, _ in found]
    unexplained = [(name, share) for name, share in found if name not in explained]
    if not unexplained:
        return X.drop(columns=names), []
    found = unexplained
    shown = format_names([f"'{name}' ({share:.0%} distinct)" for name, share in found])
    them = "it" if len(found) == 1 else "them"
    note = (
        f"{plural(len(found), 'text column')} with a distinct value in nearly every row "
        f"(ids, names or free text) left out of the features, as no model can learn from "
        f"{them}: {shown}. Pass {' '.join(f'--drop {n}' for n in names)} to say so, or turn "
        f"{them} into features first."
    )
    return X.drop(columns=names), [note]


def load_table(
    path_or_frame: str | os.PathLike[str] | pd.DataFrame,
    target: str,
    positive: Any = None,
    *,
    drop: str | Iterable[str] | None = None,
    auto_columns: bool = True,
) -> Dataset:
    """Read a labelled table and check its target.

    Text columns that hold only ISO dates are read as dates, those of numbers written with
    decimal commas (``17,99``) as numbers, and text columns with a
    distinct value in nearly every row (ids, names, free text) and numeric columns that number
    the rows (``rownames``, ``Unnamed: 0``) are left out of the features, each with a note
    (see :mod:`fnguard.data.columns`).

    Parameters
    ----------
    path_or_frame : str, PathLike or DataFrame
        A CSV or Parquet file, a folder of Parquet files, or a DataFrame (see
        :func:`~fnguard.data.read_frame`).
    target : str
        The label column.
    positive : scalar, optional
        The positive label (a command-line string is matched by type, e.g. ``"1"`` matches
        the integer 1). When omitted the minority class is used, with a note and a warning.
    drop : str or iterable of str, optional
        Columns to leave out of the features, such as ids or columns that leak the label.
    auto_columns : bool, default=True
        Read text dates and decimal-comma numbers and leave out identifier and row-number
        columns; False keeps the columns
        as they are read (to match a schema made before, as ``fnguard retrain`` does).

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        If the table cannot be read, the target or a dropped column is absent, the target
        is not binary, a feature column holds infinite values, or no feature column is left
        (or only identifier or row-number columns).

    Examples
    --------
    >>> frame = pd.DataFrame({"id": [1, 2, 3, 4], "x": [0.1, 0.5, None, 0.9],
    ...                       "y": ["no", "yes", "no", "no"]})
    >>> data = load_table(frame, "y", positive="yes", drop="id")
    >>> data.X.columns.tolist(), data.y.tolist(), data.prevalence
    (['x'], [False, True, False, False], 0.25)
    """
    _check_target_name(target, path_or_frame)
    frame = read_frame(path_or_frame)
    source = source_name(path_or_frame)
    target = str(target)
    if target not in frame.columns:
        raise missing_column_error("target", target, frame.columns, source)
    dropped = [drop] if isinstance(drop, str) else [str(c) for c in (drop or ())]
    dropped = [part for name in dropped for part in _comma_list(name, frame.columns)]
    for name in dropped:
        if name == target:
            raise DataError(
                f"The column '{target}' is the target and cannot also be dropped: "
                "remove it from the columns to drop."
            )
        if name not in frame.columns:
            raise missing_column_error("dropped", name, frame.columns, source)
    X = frame.drop(columns=[target, *dict.fromkeys(dropped)]).reset_index(drop=True)
    if X.shape[1] == 0:
        raise DataError(
            f"{_the_table(source)} has no feature columns besides the target "
            f"'{target}'" + (" and the dropped columns" if dropped else "")
            + ": pass a table with at least one feature column."
        )
    y, pos, neg, notes = binarize_target(
        frame[target], positive=positive, column=target, source=source, kind="target"
    )
    X, duration_notes = durations_as_seconds(X)
    notes += duration_notes
    check_finite(X, quote_source(source))
    _check_magnitude(X, source)
    _check_flat(X, source)
    left_out = list(dict.fromkeys(dropped))
    if auto_columns:
        X, date_notes = read_dates(X)
        X, comma_notes = read_decimal_commas(X)
        X, formatted_notes = read_formatted_numbers(X)
        typos = typo_columns(X, {name for name, _ in identifier_columns(X)})
        comma_notes += formatted_notes + list(typos.values())
        before = list(X.columns)
        X, id_notes = _drop_identifiers(X, target, source, explained=set(typos))
        X, row_notes = _drop_row_numbers(X, target, source)
        notes += date_notes + comma_notes + id_notes + row_notes
        left_out += [name for name in before if name not in X.columns]
    schema = infer_schema(X, target=target, positive=pos, negative=neg)
    n_missing = sum(c.n_missing for c in schema.columns)
    if n_missing:
        with_missing = sorted((c for c in schema.columns if c.n_missing),
                              key=lambda c: -c.n_missing)
        empty = [c.name for c in with_missing if c.n_missing >= len(X)]
        shown = format_names(f"'{c.name}' ({c.n_missing:,})" for c in with_missing)
        notes.append(
            f"{plural(len(with_missing), 'feature column')} with missing values "
            f"({plural(n_missing, 'cell')}): kept as missing: {shown}."
            + (f" {format_names(repr(n) for n in empty)} "
               + ("holds no value at all and carries no information: drop it"
                  if len(empty) == 1 else
                  "hold no value at all and carry no information: drop them")
               + " (drop=[...], --drop)." if empty else "")
        )
    return Dataset(
        X=X, y=y, target=target, positive=pos, negative=neg, schema=schema,
        source=source, notes=notes, dropped=left_out,
    )


def _check_target_name(target: Any, path_or_frame: Any) -> None:
    """Raise DataError unless ``target`` is a column name (labels given as a Series or an
    array, scikit-learn's ``fit(X, y)`` habit, are not one)."""
    if isinstance(target, str) or (
        isinstance(target, numbers.Number) and not isinstance(target, np.ndarray)
    ):
        return
    name = getattr(target, "name", None)
    label = name if isinstance(name, str) and name else "y"
    got = type(target).__name__ + (f" '{name}'" if label == name else "")
    if isinstance(path_or_frame, pd.DataFrame):
        fix = f"put the labels in the frame as a column (frame['{label}'] = y)"
    else:
        fix = (
            "put the features and the labels in one DataFrame (frame = pd.DataFrame(X, "
            f"columns=[...]); frame['{label}'] = y)"
        )
    raise DataError(
        "The target must be the name of a column of the table, not the labels themselves; "
        f"got {got}. Instead, {fix} and pass target='{label}'."
    )


def _the_table(source: str) -> str:
    """The subject of a message about a table: "The DataFrame" or "The table 'x.csv'"."""
    if source.startswith("the "):
        return capitalized(source)
    return f"The table {quote_source(source)}"


#: Largest magnitude a feature value may have: squares of larger ones overflow float64 (the
#: variance a scaler computes, the logistic model's sums).
MAX_MAGNITUDE = 1e150


def _check_magnitude(X: pd.DataFrame, source: str) -> None:
    """Raise DataError for numeric columns holding values too large to compute with."""
    for name in X.columns:
        values = X[name]
        if not pd.api.types.is_float_dtype(values.dtype):
            continue  # int64 stays below 1e19
        big = np.abs(values.to_numpy(dtype=np.float64, na_value=np.nan)) > MAX_MAGNITUDE
        if big.any():
            worst = float(np.nanmax(np.abs(values.to_numpy(dtype=np.float64, na_value=np.nan))))
            raise DataError(
                f"The numeric column '{name}' in {quote_source(source)} holds "
                f"{plural(int(big.sum()), 'value')} too large to compute with (up to "
                f"{worst:.3g}; past {MAX_MAGNITUDE:g} their squares overflow): rescale the column "
                "(divide it, or take a logarithm), or blank those values."
            )


def _check_flat(X: pd.DataFrame, source: str) -> None:
    """Raise DataError for columns holding lists, arrays, dicts or sets (Parquet lists and
    structs): no lever can use them as they are."""
    nested = []
    for name in X.columns:
        column = X[name]
        if column.dtype != object:
            continue
        values = column.dropna().iloc[:1000]  # nested columns are nested throughout
        if len(values) and values.map(
            lambda v: isinstance(v, list | tuple | dict | set | np.ndarray)
        ).any():
            nested.append(str(name))
    if nested:
        shown = format_names([f"'{n}'" for n in nested])
        raise DataError(
            f"{_the_table(source)} has columns of nested values (lists, arrays or "
            f"structs): {shown}. Leave them out (--drop, or drop=[...]) or "
            "flatten them into one column per value first."
        )
