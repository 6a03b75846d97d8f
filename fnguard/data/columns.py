"""What a text column of a table really holds: dates written as text, or identifiers.

A CSV has no types: dates arrive as strings and would be treated as categories with a level
per day, and an id or free-text column would be encoded as thousands of levels that no model
can learn from (and that make SMOTE-NC's memory explode). :func:`read_dates` turns text
columns written as ISO dates into datetimes; :func:`identifier_columns` finds text columns
with a distinct value in (nearly) every row. :func:`~fnguard.data.load_table` applies both
and says so in its notes.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from fnguard.data.names import format_names, plural

__all__ = ["ID_MIN_ROWS", "ID_SHARE", "identifier_columns", "read_dates"]

#: A text column is an identifier when at least this share of its values are distinct ...
ID_SHARE = 0.95
#: ... and it holds at least this many values (on fewer rows nothing can be told).
ID_MIN_ROWS = 50
#: Values looked at to decide whether a text column holds dates.
_SAMPLE = 1000
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}"  # 2024-03-01
    r"([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?"  # optional time, 2024-03-01 12:30:00.5
    r"(Z|[+-]\d{2}:?\d{2})?$"  # optional zone
)


def _is_text(values: pd.Series) -> bool:
    if not (pd.api.types.is_object_dtype(values.dtype)
            or pd.api.types.is_string_dtype(values.dtype)):
        return False
    present = values.dropna()
    return bool(len(present)) and all(isinstance(v, str) for v in present.iloc[:_SAMPLE])


def read_dates(X: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Text columns whose every value is an ISO date (``2024-03-01``, optionally with a
    time and a zone) read as datetimes (zones converted to UTC, then dropped).

    Parameters
    ----------
    X : DataFrame
        Feature columns.

    Returns
    -------
    X : DataFrame
        ``X`` itself when no column changed, else a shallow copy with those columns parsed.
    notes : list of str
        A note naming the columns read as dates (empty when none).

    Examples
    --------
    >>> X = pd.DataFrame({"when": ["2024-03-01", None, "2024-03-09 10:00"], "c": ["a", "b", "c"]})
    >>> out, notes = read_dates(X)
    >>> out["when"].dt.day.tolist()[::2], out["c"].tolist()
    ([1.0, 9.0], ['a', 'b', 'c'])
    >>> notes
    ["1 text column holds dates and is read as dates: 'when'."]
    """
    parsed: dict[str, pd.Series] = {}
    for name in X.columns:
        values = X[name]
        if not _is_text(values):
            continue
        present = values.dropna().astype(str).str.strip()
        present = present[present != ""]
        if not len(present) or not present.iloc[:_SAMPLE].str.fullmatch(_ISO_DATE).all():
            continue
        if not present.str.fullmatch(_ISO_DATE).all():
            continue
        dates = pd.to_datetime(values.where(values.astype(str).str.strip() != ""),
                               errors="coerce", format="ISO8601", utc=True)
        if dates.notna().sum() != len(present):
            continue  # e.g. 2024-13-45: not dates after all
        parsed[str(name)] = dates.dt.tz_convert(None)
    if not parsed:
        return X, []
    out = X.copy(deep=False)
    for name, dates in parsed.items():
        out[name] = dates
    names = format_names([f"'{n}'" for n in parsed])
    return out, [
        f"{plural(len(parsed), 'text column')} "
        f"{'holds' if len(parsed) == 1 else 'hold'} dates and "
        f"{'is' if len(parsed) == 1 else 'are'} read as dates: {names}."
    ]


def identifier_columns(X: pd.DataFrame) -> list[tuple[str, float]]:
    """Text columns with a distinct value in nearly every row (ids, names, free text).

    Parameters
    ----------
    X : DataFrame
        Feature columns.

    Returns
    -------
    list of (name, share)
        Each such column and the share of its values that are distinct (at least
        :data:`ID_SHARE`, over at least :data:`ID_MIN_ROWS` values).

    Examples
    --------
    >>> X = pd.DataFrame({"uid": [f"u{i}" for i in range(60)], "c": ["a", "b"] * 30})
    >>> identifier_columns(X)
    [('uid', 1.0)]
    """
    found = []
    for name in X.columns:
        values = X[name]
        if isinstance(values.dtype, pd.CategoricalDtype) or not _is_text(values):
            continue
        present = values.dropna()
        if len(present) < ID_MIN_ROWS:
            continue
        share = present.nunique() / len(present)
        if share >= ID_SHARE:
            found.append((str(name), float(np.round(share, 4))))
    return found
