"""Turn a label column into a boolean target: True for the positive class."""

from __future__ import annotations

import decimal
import numbers
import warnings
from typing import Any

import numpy as np
import pandas as pd

from fnguard.data.names import plural, quote_source
from fnguard.errors import DataError, FnguardWarning

#: Words a command-line string may use for a boolean label.
TRUE_WORDS = frozenset({"true", "t", "1", "yes", "y"})
FALSE_WORDS = frozenset({"false", "f", "0", "no", "n"})
_SHOWN_ROWS = 5
_SHOWN_VALUES = 10


def to_python(value: Any) -> Any:
    """Return a plain Python scalar for a numpy scalar, so that it serialises to JSON.

    Examples
    --------
    >>> type(to_python(np.int64(3)))
    <class 'int'>
    """
    return value.item() if isinstance(value, np.generic) else value


def whole_number(value: Any) -> Any:
    """:func:`to_python`, with a float that holds a whole number (below 2**53, where floats
    are exact) given as an int: a column of integers with one blank reads as floats, and its
    514.0 must key, group and read as 514.

    Examples
    --------
    >>> whole_number(np.float64(514.0)), whole_number(2.5), whole_number("514")
    (514, 2.5, '514')
    """
    value = to_python(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def show_value(value: Any) -> str:
    """Show a label the way a user types it: strings quoted, numbers bare.

    Examples
    --------
    >>> show_value("bad"), show_value(np.float64(1.0))
    ("'bad'", '1.0')
    """
    return repr(to_python(value))


def row_numbers(mask: np.ndarray, limit: int = _SHOWN_ROWS) -> str:
    """Describe the first rows where ``mask`` is True, counting data rows from 1.

    Examples
    --------
    >>> row_numbers(np.array([False, True, True]))
    'data rows 2, 3'
    """
    rows = np.flatnonzero(mask)
    shown = ", ".join(str(i + 1) for i in rows[:limit])
    more = f" and {len(rows) - limit:,} more" if len(rows) > limit else ""
    return f"data row{'s' if len(rows) > 1 else ''} {shown}{more}"


def _missing_labels(values: pd.Series) -> np.ndarray:
    missing = values.isna().to_numpy(dtype=bool, copy=True)
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
        text = values[~missing].astype(str).str.strip()
        missing[np.flatnonzero(~missing)[(text == "").to_numpy(dtype=bool)]] = True
    return missing


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool | np.bool_)


def _same_label(wanted: Any, value: Any) -> bool:
    """Compare a requested label with a column value, reading strings by the value's type."""
    if isinstance(value, bool | np.bool_):
        if isinstance(wanted, str):
            word = wanted.strip().casefold()
            return (word in TRUE_WORDS and bool(value)) or (word in FALSE_WORDS and not value)
        if isinstance(wanted, bool | np.bool_) or _is_number(wanted):
            return wanted in (0, 1) and bool(wanted) == bool(value)
        return False
    if _is_number(value):
        if isinstance(wanted, str):
            try:
                return float(wanted.strip()) == value
            except ValueError:
                return False
        return (_is_number(wanted) or isinstance(wanted, bool | np.bool_)) and wanted == value
    if isinstance(value, str):
        return (wanted if isinstance(wanted, str) else str(to_python(wanted))) == value
    try:
        return bool(wanted == value)
    except (TypeError, ValueError):
        return False


def match_label(wanted: Any, present: list[Any]) -> Any | None:
    """Find the value of ``present`` that ``wanted`` names, or None.

    ``wanted`` may be a string typed on the command line: ``"1"`` matches the integer 1 and
    the float 1.0, ``"true"``/``"yes"``/``"1"`` match the boolean True, and strings match
    exactly first, then without case.

    Examples
    --------
    >>> match_label("1", [0, 1]), match_label("yes", [False, True])
    (1, True)
    >>> match_label("BAD", ["bad", "good"])
    'bad'
    >>> match_label("2", [0, 1]) is None
    True
    """
    exact = [v for v in present if _same_label(wanted, v)]
    if exact:
        return exact[0]
    folded = str(to_python(wanted)).strip().casefold()
    loose = [v for v in present if isinstance(v, str) and v.strip().casefold() == folded]
    return loose[0] if len(loose) == 1 else None


def _sort_key(value: Any) -> tuple[int, Any]:
    value = to_python(value)
    if _is_number(value) or isinstance(value, bool):
        return (0, value)
    return (1, str(value))


def _format_counts(counts: pd.Series, limit: int = _SHOWN_VALUES) -> str:
    shown = ", ".join(f"{show_value(v)} ({n:,})" for v, n in counts.iloc[:limit].items())
    if len(counts) > limit:
        shown += f" and {len(counts) - limit:,} more"
    return shown


def _plain_decimals(values: pd.Series) -> pd.Series:
    """Decimal labels (Parquet decimal columns, SQL NUMERIC through read_sql) as numbers: a
    whole one as an int, others as floats, so that they match and save like numbers."""
    if not pd.api.types.is_object_dtype(values.dtype):
        return values
    present = values.dropna()
    if not len(present) or not all(isinstance(v, decimal.Decimal) for v in present):
        return values
    return values.map(
        lambda v: v if not isinstance(v, decimal.Decimal)
        else int(v) if v == v.to_integral_value() else float(v)
    )


def binarize_target(
    values: pd.Series,
    *,
    positive: Any = None,
    column: str,
    source: str,
    kind: str = "label",
) -> tuple[np.ndarray, Any, Any, list[str]]:
    """Check that a label column has exactly two classes and mark the positive one.

    Parameters
    ----------
    values : Series
        The label column.
    positive : scalar, optional
        The positive label. A string from the command line is matched to the column's
        values by their type (see :func:`match_label`). When omitted, the minority class is
        used (on a tie, the value that sorts last, e.g. 1 rather than 0), a note says so and
        a :class:`~fnguard.errors.FnguardWarning` is issued.
    column : str
        The column name, for messages.
    source : str
        The table, e.g. its path, for messages.
    kind : str, default="label"
        What the column is called in messages ("label" or "target").

    Returns
    -------
    y : ndarray of bool
        True where the row holds the positive label.
    positive : scalar
        The positive label, as a plain Python scalar.
    negative : scalar
        The other label, as a plain Python scalar.
    notes : list of str
        What was decided for the user (e.g. the positive label chosen).

    Raises
    ------
    DataError
        For missing or empty labels, a single class, more than two classes, or a positive
        label that is not in the column.

    Examples
    --------
    >>> y, pos, neg, notes = binarize_target(
    ...     pd.Series([0, 1, 1, 0]), positive="1", column="y", source="x.csv"
    ... )
    >>> y.tolist(), pos, neg, notes
    ([False, True, True, False], 1, 0, [])
    """
    where = f"The {kind} column '{column}' in {quote_source(source)}"
    values = _plain_decimals(values)
    missing = _missing_labels(values)
    if missing.any():
        raise DataError(
            f"{where} has {plural(int(missing.sum()), 'missing or empty value')} "
            f"({row_numbers(missing)}): drop or fill those rows."
        )
    counts = values.value_counts(sort=True)
    chosen, other, notes = choose_classes(
        counts, positive, where=where, column=f"{kind} column '{column}' in {quote_source(source)}",
        stacklevel=3,
    )
    odd = [v for v in (chosen, other) if not isinstance(to_python(v), str | int | float | bool)]
    if odd:
        raise DataError(
            f"{where} holds {type(odd[0]).__name__} labels ({show_value(odd[0])}): a label must "
            f"be text, a number or true/false. Turn the column into text first (for example "
            f"frame['{column}'] = frame['{column}'].astype(str)), or into 0/1."
        )
    y = (values == chosen).to_numpy(dtype=bool)
    return y, to_python(chosen), to_python(other), notes


def choose_classes(
    counts: pd.Series, positive: Any, *, where: str, column: str, stacklevel: int = 2
) -> tuple[Any, Any, list[str]]:
    """The positive and negative class from a column's value counts (most frequent first).

    Parameters
    ----------
    counts : Series
        Rows per distinct label, sorted by count, largest first.
    positive : scalar or None
        The label asked for (matched by type, see :func:`match_label`); None chooses the
        minority class (the value that sorts last on a tie) with a note and a warning.
    where : str
        The column as the start of a sentence ("The label column 'y' in 'data.csv'").
    column : str
        The column inside a sentence ("label column 'y' in 'data.csv'").
    stacklevel : int, default=2
        Of the warning, for the caller's caller.

    Returns
    -------
    positive, negative : scalar
        As found in the column.
    notes : list of str
        What was decided for the user.

    Raises
    ------
    DataError
        For one class, more than two, or a positive label not in the column.

    Examples
    --------
    >>> counts = pd.Series({"no": 90, "yes": 10})
    >>> choose_classes(counts, "yes", where="The label", column="label")
    ('yes', 'no', [])
    """
    n = int(counts.sum())
    if len(counts) < 2:
        only = show_value(counts.index[0]) if len(counts) else "nothing"
        raise DataError(
            f"{where} has a single value ({only} in all {n:,} rows): a binary classifier "
            "needs both classes; pass a table with positive and negative rows."
        )
    if len(counts) > 2:
        folded = {str(v).strip().casefold() for v in counts.index if isinstance(v, str)}
        alike = all(isinstance(v, str) for v in counts.index) and len(folded) == 2
        raise DataError(
            f"{where} has {len(counts):,} distinct values, not 2: {_format_counts(counts)}. "
            + ("They differ only in case or spaces: write each class one way (in pandas, "
               "with .str.strip().str.lower() on the column)."
               if alike else
               "Map them to two classes or pass a file with one binary label.")
        )
    present = list(counts.index)
    notes: list[str] = []
    if positive is None:
        low = counts.min()
        chosen = max((v for v in present if counts[v] == low), key=_sort_key)
        n_pos = int(counts[chosen])
        if counts.max() == low:
            note = (
                f"No positive label given and both classes have {n_pos:,} rows: using "
                f"{show_value(chosen)} (the value that sorts last) as positive. Pass --positive "
                "to choose."
            )
        else:
            note = (
                f"No positive label given: using the minority class {show_value(chosen)} "
                f"({n_pos:,} of {n:,} rows, {n_pos / n:.1%}) as positive. "
                "Pass --positive to choose."
            )
        notes.append(note)
        warnings.warn(note, FnguardWarning, stacklevel=stacklevel + 1)
    else:
        chosen = match_label(positive, present)
        if chosen is None:
            raise DataError(
                f"The positive label {show_value(positive)} is not a value of the {column}. "
                f"Its values: {_format_counts(counts)}. Pass one of them as the positive label "
                "(--positive)."
            )
        if isinstance(chosen, str) and str(to_python(positive)) != chosen:
            note = (
                f"The positive label {show_value(positive)} is written {show_value(chosen)} in "
                f"the {column}: using {show_value(chosen)} as positive."
            )
            notes.append(note)
            warnings.warn(note, FnguardWarning, stacklevel=stacklevel + 1)
    other = present[1] if present[0] == chosen else present[0]
    return chosen, other, notes
