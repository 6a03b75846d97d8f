"""What a text column of a table really holds: dates or decimal-comma numbers written as
text, or identifiers.

A CSV has no types: dates arrive as strings and would be treated as categories with a level
per day, and an id or free-text column would be encoded as thousands of levels that no model
can learn from (and that make SMOTE-NC's memory explode). :func:`read_dates` turns text
columns written as ISO dates into datetimes, :func:`read_decimal_commas` numbers written with
decimal commas (``17,99``, ``1.234,5``: spreadsheets in many locales) into floats;
:func:`identifier_columns` finds text columns with a distinct value in (nearly) every row,
and :func:`row_number_columns` numeric columns that number the rows (``rownames``,
``Unnamed: 0``: the index a CSV export writes). :func:`~fnguard.data.load_table` applies
them all and says so in its notes.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from fnguard.data.names import format_names, plural

__all__ = [
    "ID_MIN_ROWS", "ID_SHARE", "ROW_NUMBER_SPAN", "decimal_comma_numbers", "formatted_numbers",
    "identifier_columns", "not_parsed",
    "read_dates", "read_decimal_commas", "read_formatted_numbers", "read_numbers",
    "row_number_columns",
]

#: A text column is an identifier when at least this share of its values are distinct ...
ID_SHARE = 0.95
#: ... and it holds at least this many values (on fewer rows nothing can be told).
ID_MIN_ROWS = 50
#: A numeric column numbers the rows when its distinct whole numbers span at most this many
#: values per row.
ROW_NUMBER_SPAN = 2
#: Values looked at to decide whether a text column holds dates.
_SAMPLE = 1000
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}"  # 2024-03-01
    r"([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?"  # optional time, 2024-03-01 12:30:00.5
    r"(Z|[+-]\d{2}:?\d{2})?$"  # optional zone
)


#: A number with a decimal comma (thousands grouped by dots or not), or a whole number.
_COMMA_NUMBER = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$")
#: ... of which one at least must be unambiguous: a comma not followed by exactly 3 digits
#: (1,234 may be a thousand), or dots grouping thousands before a comma.
_SURELY_COMMA = re.compile(r"^[+-]?(\d+,(\d{1,2}|\d{4,})|\d{1,3}(\.\d{3})+,\d+)$")


def decimal_comma_numbers(values: pd.Series, *, sure: bool = False) -> pd.Series | None:
    """``values`` read as numbers written with decimal commas, or None if they are not.

    Parameters
    ----------
    values : Series
        Text.
    sure : bool, default=False
        Require one value that cannot be a number with a comma between thousands
        (``17,99``; not ``1,234``).

    Returns
    -------
    Series of float64 or None
        Blank values are missing.

    Examples
    --------
    >>> decimal_comma_numbers(pd.Series(["17,99", "1.234,5", "-3", None])).tolist()
    [17.99, 1234.5, -3.0, nan]
    >>> decimal_comma_numbers(pd.Series(["1,234", "5"]), sure=True) is None
    True
    >>> decimal_comma_numbers(pd.Series(["1,2", "x"])) is None
    True
    """
    text = values.astype(object).where(values.notna()).astype(str).str.strip()
    blank = values.isna() | (text == "")
    present = text[~blank]
    if not len(present) or not present.str.fullmatch(_COMMA_NUMBER).all():
        return None
    if sure and not present.str.fullmatch(_SURELY_COMMA).any():
        return None
    number = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    return pd.to_numeric(number.where(~blank), errors="coerce").astype("float64")


#: Text that stands for a missing number in tables read as numbers by
#: :func:`formatted_numbers` (UCI's ``?``, a spreadsheet's ``-``).
MISSING_MARKERS = frozenset({"?", "-", "--", "---", "."})
#: A number with a currency sign, a percent sign or thousands grouped by commas:
#: ``$1,234.56``, ``-12.5 %``, ``€ 99``, ``1,234,567``.
_FORMATTED = re.compile(
    r"^(?P<sign>[+-]?)\s*[$€£¥]?\s*(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"\s*[$€£¥]?\s*%?$"
)
#: ... of which one value at least must show the format: a sign or a comma before a point.
_SURELY_FORMATTED = re.compile(r"[$€£¥%]|\d,\d{3}\.\d")


def formatted_numbers(values: pd.Series) -> pd.Series | None:
    """``values`` read as numbers written with currency or percent signs, thousands commas,
    and missing markers (:data:`MISSING_MARKERS`), or None if they are not.

    One value at least must show a currency or percent sign, or a thousands comma before a
    decimal point (``1,234`` alone may be a decimal comma: :func:`decimal_comma_numbers`);
    or, without any comma, one value must be a missing marker (``?``). Percentages are read
    as written (``12.5%`` is 12.5).

    Examples
    --------
    >>> formatted_numbers(pd.Series(["$1,234.50", "$99", "?", None])).tolist()
    [1234.5, 99.0, nan, nan]
    >>> formatted_numbers(pd.Series(["13.56%", "7%"])).tolist()
    [13.56, 7.0]
    >>> formatted_numbers(pd.Series(["1,234", "5"])) is None  # a decimal comma, maybe
    True
    >>> formatted_numbers(pd.Series(["$5", "five"])) is None
    True
    >>> formatted_numbers(pd.Series(["3.5", "?", "12"])).tolist()  # UCI's missing values
    [3.5, nan, 12.0]
    """
    text = values.astype(object).where(values.notna()).astype(str).str.strip()
    marker = text.isin(MISSING_MARKERS)
    blank = values.isna() | (text == "") | marker
    present = text[~blank]
    if not len(present) or not present.str.fullmatch(_FORMATTED).all():
        return None
    marked = bool(marker.any())
    if not present.str.contains(_SURELY_FORMATTED).any() and not (
        marked and not present.str.contains(",", regex=False).any()
    ):
        return None
    parts = present.str.extract(_FORMATTED)
    number = parts["sign"] + parts["num"].str.replace(",", "", regex=False)
    out = pd.Series(np.nan, index=values.index, dtype="float64")
    out[~blank] = pd.to_numeric(number, errors="coerce").astype("float64")
    return out


def read_formatted_numbers(X: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Text columns of numbers with currency or percent signs, thousands commas or missing
    markers read as numbers (see :func:`formatted_numbers`).

    Examples
    --------
    >>> X = pd.DataFrame({"rate": ["13.5%", "7%", "?"], "c": ["a"] * 3})
    >>> out, notes = read_formatted_numbers(X)
    >>> out["rate"].tolist(), notes  # doctest: +NORMALIZE_WHITESPACE
    ([13.5, 7.0, nan], ["1 text column holds numbers written with currency or percent signs,
    thousands commas or '?' for missing and is read as numbers (percentages as written, 12.5%
    as 12.5): 'rate'."])
    """
    parsed = {}
    for name in X.columns:
        if _is_text(X[name]) and not isinstance(X[name].dtype, pd.CategoricalDtype):
            numbers = formatted_numbers(X[name])
            if numbers is not None:
                parsed[str(name)] = numbers
    return _replaced(
        X, parsed, "numbers written with currency or percent signs, thousands commas or '?' "
        "for missing", "numbers (percentages as written, 12.5% as 12.5)",
    )


def not_parsed(values: pd.Series, parsed: pd.Series) -> np.ndarray:
    """Rows with a non-blank value that the parser could not read."""
    text = values.astype(str).str.strip()
    return (values.notna() & parsed.isna() & (text != "")).to_numpy(dtype=bool)


def read_numbers(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Text read as numbers, with decimal points or, failing that, decimal commas.

    Returns
    -------
    numbers : Series of float64
        Missing where a value is blank or unreadable.
    bad : ndarray of bool
        The rows holding a value that could not be read.

    Examples
    --------
    >>> numbers, bad = read_numbers(pd.Series(["0,5", "2"]))
    >>> numbers.tolist(), bad.tolist()
    ([0.5, 2.0], [False, False])
    >>> read_numbers(pd.Series(["0.5", "high"]))[1].tolist()
    [False, True]
    """
    numbers, bad, _ = read_numbers_how(values)
    return numbers, bad


def read_numbers_how(values: pd.Series) -> tuple[pd.Series, np.ndarray, str]:
    """:func:`read_numbers`, and how: ``"plain"`` (as Python reads numbers), ``"comma"``
    (decimal commas: ``13,5``) or ``"formatted"`` (currency, percent, thousands commas).

    Examples
    --------
    >>> read_numbers_how(pd.Series(["13,5", "2"]))[2], read_numbers_how(pd.Series(["1.5"]))[2]
    ('comma', 'plain')
    """
    parsed = pd.to_numeric(values, errors="coerce")
    bad = not_parsed(values, parsed)
    commas = decimal_comma_numbers(values) if bad.any() else None
    if commas is not None:  # 0,95: a spreadsheet's decimal comma
        return commas, np.zeros(len(values), dtype=bool), "comma"
    formatted = formatted_numbers(values) if bad.any() else None
    if formatted is not None:  # $1,234.50, 13.5%, ? for missing
        return formatted, np.zeros(len(values), dtype=bool), "formatted"
    return parsed.astype("float64"), bad, "plain"


def read_decimal_commas(X: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Text columns of numbers written with decimal commas read as numbers (see
    :func:`decimal_comma_numbers`; one value at least must be unambiguous).

    Examples
    --------
    >>> out, notes = read_decimal_commas(pd.DataFrame({"p": ["17,99", "3", None], "c": ["a"] * 3}))
    >>> out["p"].tolist(), notes
    ([17.99, 3.0, nan], ["1 text column holds numbers with decimal commas and is read as numbers: 'p'."])
    """  # noqa: E501
    parsed = {}
    for name in X.columns:
        if _is_text(X[name]):
            numbers = decimal_comma_numbers(X[name], sure=True)
            if numbers is not None:
                parsed[str(name)] = numbers
    return _replaced(X, parsed, "numbers with decimal commas", "numbers")


def _replaced(
    X: pd.DataFrame, parsed: dict[str, pd.Series], holds: str | None, read_as: str,
    noun: str = "text column",
) -> tuple[pd.DataFrame, list[str]]:
    """``X`` with the ``parsed`` columns replaced (a shallow copy; ``X`` itself when none),
    and the note that names them ("1 text column holds dates and is read as dates: ...")."""
    if not parsed:
        return X, []
    out = X.copy(deep=False)
    for name, values in parsed.items():
        out[name] = values
    one = len(parsed) == 1
    held = "" if holds is None else f"{'holds' if one else 'hold'} {holds} and "
    return out, [
        f"{plural(len(parsed), noun)} {held}{'is' if one else 'are'} read as {read_as}: "
        f"{format_names([repr(n) for n in parsed])}."
    ]


def _is_text(values: pd.Series) -> bool:
    if not (pd.api.types.is_object_dtype(values.dtype)
            or pd.api.types.is_string_dtype(values.dtype)):
        return False
    present = values.dropna()
    return bool(len(present)) and all(isinstance(v, str) for v in present.iloc[:_SAMPLE])


#: A duration as pandas writes one to text (a timedelta column saved as CSV).
_DURATION = r"-?\d+ days? [+-]?\d{1,2}:\d{2}:\d{2}(\.\d+)?"


def durations_as_seconds(X: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Duration columns (timedelta, or text as pandas writes them: ``'0 days 08:31:37'``) as
    numbers of seconds, and a note naming them: a model reads a duration as a number, not as a
    category of distinct values.

    Examples
    --------
    >>> X = pd.DataFrame({"wait": pd.to_timedelta([90, 30], unit="s"), "c": ["a", "b"]})
    >>> out, notes = durations_as_seconds(X)
    >>> out["wait"].tolist(), notes
    ([90.0, 30.0], ["1 duration column is read as seconds: 'wait'."])
    """
    parsed = {
        str(name): X[name].dt.total_seconds()
        for name in X.columns
        if pd.api.types.is_timedelta64_dtype(X[name].dtype)
    }
    for name in X.columns:  # as a CSV writes them: '0 days 08:31:37'
        values = X[name]
        if _is_text(values) and durations_text(values):
            blanked = values.where(values.astype(str).str.strip() != "")
            parsed[str(name)] = pd.to_timedelta(blanked, errors="coerce").dt.total_seconds()
    return _replaced(X, parsed, None, "seconds", noun="duration column")


def durations_text(values: pd.Series) -> bool:
    """Whether every non-blank value of a column is a duration as pandas writes one to text
    (``'0 days 08:31:37'``), and there is one.

    Examples
    --------
    >>> durations_text(pd.Series(["1 days 00:00:00", None, ""])), durations_text(pd.Series(["1"]))
    (True, False)
    """
    present = values.dropna().astype(str).str.strip()
    present = present[present != ""]
    return bool(len(present)) and bool(present.str.fullmatch(_DURATION).all())


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
    return _replaced(X, parsed, "dates", "dates")


#: Share of a text column's non-blank values that read as numbers above which the others
#: are taken for typos in a numeric column (see :func:`numbers_with_typos`).
MOSTLY_NUMBERS = 0.9


def numbers_with_typos(X: pd.DataFrame, left_out: Any = ()) -> list[str]:
    """Notes on the text columns that hold numbers but for a few values (``MOSTLY_NUMBERS``
    of them read as numbers): a typo keeps such a column out of the numbers.

    Parameters
    ----------
    X : DataFrame
        Feature columns.
    left_out : collection of str, default=()
        Columns that, as text, are left out of the features (a distinct value in nearly every
        row): their note says so.

    Examples
    --------
    >>> X = pd.DataFrame({"num": [str(i) for i in range(30)] + ["oops"], "c": ["a"] * 31})
    >>> numbers_with_typos(X)
    ["The text column 'num' holds numbers but for 1 value that does not read as one: 'oops' (data row 31). It is read as text; fix or blank that value to use the column as numbers."]
    """  # noqa: E501
    return list(typo_columns(X, left_out).values())


def typo_columns(X: pd.DataFrame, left_out: Any = ()) -> dict[str, str]:
    """:func:`numbers_with_typos`, by column name."""
    from fnguard.data.target import row_numbers, show_value

    notes = {}
    for name in X.columns:
        values = X[name]
        if isinstance(values.dtype, pd.CategoricalDtype) or not _is_text(values):
            continue
        blank = values.isna() | (values.astype(str).str.strip() == "")
        present = int((~blank).sum())
        if present < 10:
            continue
        _, bad = read_numbers(values)
        n_bad = int(bad.sum())
        if not 0 < n_bad <= (1 - MOSTLY_NUMBERS) * present:
            continue
        shown = ", ".join(show_value(v) for v in pd.unique(values[bad])[:3])
        that = "that value" if n_bad == 1 else "those values"
        read = (
            "As text it has a distinct value in nearly every row, so it is left out of the "
            f"features; fix or blank {that} to use the column as numbers."
            if str(name) in left_out else
            f"It is read as text; fix or blank {that} to use the column as numbers."
        )
        notes[str(name)] = (
            f"The text column '{name}' holds numbers but for {plural(n_bad, 'value')} that "
            f"{'does' if n_bad == 1 else 'do'} not read as one: {shown} ({row_numbers(bad)}). "
            + read
        )
    return notes


def row_number_columns(X: pd.DataFrame) -> list[str]:
    """Numeric columns that number the rows: whole numbers, none missing, a distinct one in
    every row, from a range at most twice as long as the rows are many (1 to n, in any
    order; or the rows of a table cut from a numbered one, as a random 80% keeps 1 number in
    1.25).

    Such a column is the index a CSV export writes (R's ``rownames``, pandas'
    ``Unnamed: 0``) or a numeric id. A row's place in the table says nothing about a new case,
    and leaks the label when the table was sorted by it. Measured whole numbers are almost
    never all distinct in so narrow a range: for n values drawn at random from it, the
    chance is at most exp(-(n - 1) / 4). Tables of fewer than :data:`ID_MIN_ROWS` rows are
    not looked at.

    Parameters
    ----------
    X : DataFrame
        Feature columns.

    Returns
    -------
    list of str
        The names of such columns.

    Examples
    --------
    >>> X = pd.DataFrame({"rownames": range(1, 61), "n": [3, 1] * 30, "x": range(0, 180, 3)})
    >>> row_number_columns(X)  # 'x' spans 178 values: more than twice its 60 rows
    ['rownames']
    """
    n = len(X)
    found: list[str] = []
    if n < ID_MIN_ROWS:
        return found
    for name in X.columns:
        values = X[name]
        if (not pd.api.types.is_numeric_dtype(values.dtype)
                or pd.api.types.is_bool_dtype(values.dtype)):
            continue
        v = values.to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.isfinite(v).all():
            continue
        low, high = float(v.min()), float(v.max())
        if high - low + 1 > ROW_NUMBER_SPAN * n or not np.array_equal(v, np.round(v)):
            continue
        if np.unique(v).size == n:
            found.append(str(name))
    return found


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
