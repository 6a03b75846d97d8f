"""The columns a model was trained on, and the check of new data against them."""

from __future__ import annotations

import dataclasses
import warnings
from collections import Counter
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from fnguard.data.columns import (
    decimal_comma_numbers,
    durations_text,
    formatted_numbers,
    not_parsed,
    read_numbers_how,
)
from fnguard.data.frames import plain_dtypes
from fnguard.data.names import capitalized, closest_names, format_names, plural, quote_source
from fnguard.data.target import row_numbers, show_value, to_python
from fnguard.errors import ArtifactError, DataError, FnguardWarning

Kind = Literal["numeric", "categorical", "boolean", "datetime"]
KINDS: tuple[str, ...] = ("numeric", "categorical", "boolean", "datetime")
#: The most categories a column spec records; more are counted as truncated.
MAX_CATEGORIES = 1000
SCHEMA_VERSION = 1


@dataclasses.dataclass(frozen=True)
class ColumnSpec:
    """One feature column as seen in the training data.

    Parameters
    ----------
    name : str
        The column name.
    kind : {"numeric", "categorical", "boolean", "datetime"}
        How the column is used.
    dtype : str
        The pandas dtype it had, e.g. ``"float64"`` or ``"str"``.
    n_missing : int
        How many values were missing.
    categories : tuple of str, optional
        For a categorical column, its levels as strings, the most frequent first, at most
        :data:`MAX_CATEGORIES`.
    categories_truncated : bool, default=False
        Whether the column had more levels than were recorded.
    low, high : float, optional
        For a numeric column, its smallest and largest value; for a date column, its first and
        last date in seconds since 1970 (UTC). None when unknown. They flag new values far
        outside the training range.
    """

    name: str
    kind: Kind
    dtype: str
    n_missing: int = 0
    categories: tuple[str, ...] | None = None
    categories_truncated: bool = False
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"The kind of column '{self.name}' must be one of {KINDS}. "
                             f"Got {self.kind!r} instead.")

    def filler(self) -> tuple[bool, Any]:
        """``(True, value)`` when training saw one value in every row (or none at all), so a
        new table may leave the column out: the model learnt nothing from it, and ``value``
        (NaN for an empty column) stands in; ``(False, None)`` otherwise.

        Examples
        --------
        >>> ColumnSpec("a", "numeric", "float64", low=3.0, high=3.0).filler()
        (True, 3.0)
        >>> ColumnSpec("b", "categorical", "object", n_missing=2, categories=("x",)).filler()
        (False, None)
        """
        if self.kind == "numeric":
            if self.low is None and self.high is None and self.n_missing > 0:
                return True, np.nan
            if self.low is not None and self.low == self.high and self.n_missing == 0:
                return True, float(self.low)
        if self.kind == "categorical" and self.categories is not None:
            if not self.categories and self.n_missing > 0:
                return True, np.nan
            if len(self.categories) == 1 and self.n_missing == 0 and not self.categories_truncated:
                return True, self.categories[0]
        return False, None

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as a JSON-serialisable dict."""
        out = dataclasses.asdict(self)
        out["categories"] = None if self.categories is None else list(self.categories)
        return out


def _column_kind(values: pd.Series) -> Kind:
    dtype = values.dtype
    if pd.api.types.is_complex_dtype(dtype):
        raise DataError(
            f"The column '{values.name}' holds complex numbers ({dtype}), which no model here "
            "reads: split it into two numeric columns (its .real and .imag parts, or its "
            "absolute value and angle), or drop it."
        )
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "numeric"  # durations: seconds (see fnguard.data.columns.durations_as_seconds)
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_object_dtype(dtype):
        present = values.dropna()
        # A CSV boolean column with blanks arrives as object holding True/False.
        if len(present) and all(isinstance(v, bool | np.bool_) for v in present):
            return "boolean"
    return "categorical"


def _category_text(value: Any) -> str:
    value = to_python(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _spec(name: str, values: pd.Series) -> ColumnSpec:
    kind = _column_kind(values)
    categories = None
    truncated = False
    low = high = None
    if kind == "numeric":
        if pd.api.types.is_timedelta64_dtype(values.dtype):
            values = values.dt.total_seconds()
        low, high = _finite(values.min()), _finite(values.max())
    if kind == "datetime":
        seconds = _epoch_seconds(values)
        low, high = _finite(seconds.min()), _finite(seconds.max())
    if kind == "categorical":
        levels = values.value_counts(sort=True, dropna=True).index
        truncated = len(levels) > MAX_CATEGORIES
        categories = tuple(dict.fromkeys(_category_text(v) for v in levels[:MAX_CATEGORIES]))
    return ColumnSpec(
        name=str(name),
        kind=kind,
        dtype=str(values.dtype),
        n_missing=int(values.isna().sum()),
        categories=categories,
        categories_truncated=truncated,
        low=low,
        high=high,
    )


#: Seconds past (or before) the training dates that new dates may be without a drift note,
#: however short the training window: a year (scoring later data is the normal use).
_DATE_SLACK = 366 * 86400.0


def _epoch_seconds(values: pd.Series) -> pd.Series:
    """Dates as seconds since 1970-01-01 (float; zones converted to UTC, NaT as NaN)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert(None)
    stamps = values.astype("datetime64[ns]")
    out = stamps.astype("int64").astype("float64") / 1e9
    return out.where(stamps.notna())


def _finite(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


def infer_schema(
    frame: pd.DataFrame,
    target: str | None = None,
    positive: Any = None,
    negative: Any = None,
) -> Schema:
    """Describe the feature columns of a table.

    Booleans (also an object column holding only True/False and blanks) are ``"boolean"``;
    numeric dtypes ``"numeric"``; datetimes ``"datetime"``; strings, objects and
    categoricals ``"categorical"``. Strings that look like numbers are not coerced: a
    column is numeric only if its dtype is.

    Parameters
    ----------
    frame : DataFrame
        The table. The ``target`` column, if present, is left out of the columns.
    target : str, optional
        The target column name.
    positive, negative : scalar, optional
        The two labels of the target.

    Returns
    -------
    Schema

    Examples
    --------
    >>> frame = pd.DataFrame({"age": [30, None], "grade": ["A", "B"], "y": [0, 1]})
    >>> schema = infer_schema(frame, target="y", positive=1, negative=0)
    >>> schema.names, schema.numeric(), schema.categorical()
    (['age', 'grade'], ['age'], ['grade'])
    >>> schema["age"].n_missing
    1
    """
    columns = tuple(
        _spec(str(name), frame[name]) for name in frame.columns if str(name) != target
    )
    return Schema(
        columns=columns,
        target=target,
        positive=to_python(positive),
        negative=to_python(negative),
    )


@dataclasses.dataclass(frozen=True)
class Schema:
    """The feature columns of a training table, its target and labels.

    Parameters
    ----------
    columns : tuple of ColumnSpec
        The feature columns, in order.
    target : str, optional
        The target column (not among ``columns``).
    positive, negative : scalar, optional
        The two labels of the target.
    """

    columns: tuple[ColumnSpec, ...]
    target: str | None = None
    positive: Any = None
    negative: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})

    @property
    def names(self) -> list[str]:
        """The feature column names, in order."""
        return [c.name for c in self.columns]

    def __getitem__(self, name: str) -> ColumnSpec:
        try:
            return self._by_name[name]
        except KeyError:
            hint = closest_names(name, self._by_name)
            also = f" Did you mean {', '.join(repr(h) for h in hint)}?" if hint else ""
            raise KeyError(f"The schema has no column {name!r}.{also}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __len__(self) -> int:
        return len(self.columns)

    def numeric(self) -> list[str]:
        """The names of the numeric columns."""
        return [c.name for c in self.columns if c.kind == "numeric"]

    def categorical(self) -> list[str]:
        """The names of the categorical and boolean columns (the ones to slice by level)."""
        return [c.name for c in self.columns if c.kind in ("categorical", "boolean")]

    def text(self) -> list[str]:
        """The names of the categorical columns that training read as text.

        A CSV reader must read these as text too (``dtype=str``): otherwise a column (or a
        chunk) holding only number-like codes such as ``"07"`` reads as the number 7, a level
        training never saw.

        Examples
        --------
        >>> infer_schema(pd.DataFrame({"zip": ["07", "A1"], "n": [7, 8]})).text()
        ['zip']
        """
        return [
            c.name for c in self.columns
            if c.kind == "categorical" and not _numeric_dtype_name(c.dtype)
        ]

    def datetime(self) -> list[str]:
        """The names of the datetime columns."""
        return [c.name for c in self.columns if c.kind == "datetime"]

    def to_dict(self) -> dict[str, Any]:
        """Return the schema as a JSON-serialisable dict (see :meth:`from_dict`).

        Examples
        --------
        >>> schema = infer_schema(pd.DataFrame({"a": [1.0], "b": ["x"]}))
        >>> Schema.from_dict(schema.to_dict()) == schema
        True
        """
        return {
            "version": SCHEMA_VERSION,
            "target": self.target,
            "positive": to_python(self.positive),
            "negative": to_python(self.negative),
            "columns": [c.to_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        """Rebuild a schema from :meth:`to_dict`'s output.

        Raises
        ------
        ArtifactError
            If ``data`` is not a schema written by :meth:`to_dict`.
        """
        try:
            if data.get("version", SCHEMA_VERSION) != SCHEMA_VERSION:
                raise ValueError(f"version {data['version']!r} is not {SCHEMA_VERSION}")
            columns = tuple(
                ColumnSpec(
                    name=str(c["name"]),
                    kind=c["kind"],
                    dtype=str(c["dtype"]),
                    n_missing=int(c.get("n_missing", 0)),
                    categories=None if c.get("categories") is None else tuple(c["categories"]),
                    categories_truncated=bool(c.get("categories_truncated", False)),
                    low=None if c.get("low") is None else float(c["low"]),
                    high=None if c.get("high") is None else float(c["high"]),
                )
                for c in data["columns"]
            )
            return cls(
                columns=columns,
                target=data.get("target"),
                positive=data.get("positive"),
                negative=data.get("negative"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ArtifactError(
                f"The saved schema cannot be read ({type(exc).__name__}: {exc}): "
                "save the model again with this version of fnguard."
            ) from None

    def check(
        self, frame: pd.DataFrame, *, source: str = "the DataFrame", drift: Drift | None = None
    ) -> pd.DataFrame:
        """Check new data against the schema and return its feature columns in order.

        Extra columns are dropped; numeric columns are turned into float64 (text that reads
        as numbers is accepted); categorical values not seen in training are allowed and
        reported with a :class:`~fnguard.errors.FnguardWarning`.

        Parameters
        ----------
        frame : DataFrame
            The new data.
        source : str, default="the DataFrame"
            The table, e.g. its path, for messages.
        drift : Drift, optional
            Record every kind of drift (extra columns, unseen categories, changed types,
            columns without values, numbers far outside the training range) there instead of
            warning; call :meth:`Drift.warn` once after the last table or chunk.

        Returns
        -------
        DataFrame
            A new frame with the schema's columns, in schema order.

        Raises
        ------
        DataError
            If a column is missing, a numeric (datetime) column holds values that are not
            numbers (dates), or a boolean column values that are not true/false, yes/no, 1/0
            (in any case).

        Examples
        --------
        >>> schema = infer_schema(pd.DataFrame({"a": [1.5, 2.0], "b": ["x", "y"]}))
        >>> schema.check(pd.DataFrame({"b": ["x", "y"], "a": ["3", "4"], "id": [7, 8]}))
             a  b
        0  3.0  x
        1  4.0  y
        >>> schema.check(pd.DataFrame({"A": [1.0], "b": ["x"]}))
        Traceback (most recent call last):
        ...
        fnguard.errors.DataError: The DataFrame lacks 1 column the model was trained on: 'a' (did you mean 'A'?). Add it (missing values are allowed) or rename the column.
        """  # noqa: E501
        where = quote_source(source)
        present = [str(c) for c in frame.columns]
        repeated = [
            f"'{name}' ({n} times)"
            for name, n in Counter(present).items()
            if n > 1 and name in self._by_name
        ]
        if repeated:
            raise DataError(
                f"{capitalized(where)} has duplicate column names the model reads: "
                f"{format_names(sorted(repeated))}. Rename or remove the repeated columns so "
                "that every name is unique."
            )
        frame = plain_dtypes(frame)
        missing = [name for name in self.names if name not in present]
        filled = {}
        for name in missing:
            constant, value = self[name].filler()
            if constant:
                filled[name] = value
        missing = [name for name in missing if name not in filled]
        if missing:
            extra = [c for c in present if c not in self._by_name]
            parts = []
            for name in missing:
                hint = closest_names(name, extra, n=1)
                parts.append(f"'{name}'" + (f" (did you mean '{hint[0]}'?)" if hint else ""))
            noun = "column" if len(missing) == 1 else "columns"
            pronoun = "it" if len(missing) == 1 else "them"
            raise DataError(
                f"{capitalized(where)} lacks {len(missing):,} {noun} the model was "
                f"trained on: {format_names(parts)}. Add {pronoun} (missing values are allowed) "
                f"or rename the {noun}."
            )
        frame = frame.copy(deep=False)
        frame.columns = present
        if filled:
            frame = frame.assign(**{
                name: pd.Series(value, index=frame.index, dtype=object if isinstance(value, str)
                                else np.float64)
                for name, value in filled.items()
            })
            note = _filled_note(filled, where)
            if drift is not None:
                drift.note_filled(note, filled)
            else:
                warnings.warn(note, FnguardWarning, stacklevel=2)
        out: dict[str, pd.Series] = {}
        unseen: list[str] = []
        for spec in self.columns:
            values = frame[spec.name]
            if spec.kind == "numeric":
                marks = None if drift is None else drift._marks
                out[spec.name] = _as_float(values, spec.name, where, marks)
            elif spec.kind == "datetime":
                out[spec.name] = _as_datetime(values, spec.name, where)
            elif spec.kind == "categorical":
                values = _as_text_like(values, spec)
                out[spec.name] = values
                if drift is None and spec.categories is not None and not spec.categories_truncated:
                    new = _unseen(values, spec.categories)
                    if new:
                        unseen.append(f"'{spec.name}': {new}")
            else:
                out[spec.name] = _as_bool(values, spec.name, where)
        if drift is not None:
            drift.observe(frame, out)
        elif unseen:
            warnings.warn(
                f"Values not seen in training in {where}: {'; '.join(unseen)}. They are scored "
                "like any other, but the model has not learnt from them.",
                FnguardWarning,
                stacklevel=2,
            )
        return pd.DataFrame(out, index=frame.index)


def _filled_note(filled: Mapping[str, Any], where: str) -> str:
    shown = [
        f"'{name}' ({'empty' if isinstance(v, float) and np.isnan(v) else f'always {v!r}'} "
        "in training)"
        for name, v in filled.items()
    ]
    n = len(shown)
    is_, it, it_was = ("is", "it", "it was") if n == 1 else ("are", "them", "they were")
    return (
        f"{plural(n, 'column')} the model was trained on {is_} absent from {where}: "
        f"{format_names(shown)}. Training saw a single value there (or none), so the model "
        f"learnt nothing from {it}; {it_was} filled with that value."
    )


def _decimal_mark(values: pd.Series, how: str) -> str | None:
    """The decimal mark text numbers were read with: ``"comma"`` (``13,5``), ``"point"``
    (``13.5``, or ``1,234`` read as thousands), or None when nothing tells (whole numbers)."""
    if how == "comma":
        return "comma"
    text = values.dropna().astype(str)
    if text.str.contains(r"\d\.\d").any() or (how == "formatted" and text.str.contains(",").any()):
        return "point"
    return None


def _as_float(
    values: pd.Series, name: str, where: str, marks: dict[str, str] | None = None
) -> pd.Series:
    if pd.api.types.is_timedelta64_dtype(values.dtype):
        return values.dt.total_seconds()  # as in training (durations_as_seconds)
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        out = values.astype("float64")
    else:
        # 17,99 reads too: a decimal comma, as a training table of such text was read
        out, bad, how = read_numbers_how(values)
        mark = _decimal_mark(values, how) if marks is not None else None
        if mark is not None:
            first = marks.setdefault(name, mark)
            if first != mark:  # the chunks read the column two ways: '1.612' as 1612
                raise DataError(
                    f"The numeric column '{name}' in {where} is written with decimal "
                    f"{'commas' if mark == 'comma' else 'points'} in these rows but with "
                    f"decimal {'commas' if first == 'comma' else 'points'} in earlier ones, "
                    "so its values read differently from one part of the file to another "
                    "('1.612' could be 1.612 or 1612): write the column one way, all decimal "
                    "points or all decimal commas."
                )
        # durations written as text ('0 days 08:31:37', a CSV of a timedelta), as training
        # reads them; not any text pandas reads as one ('13,5' would be 135 nanoseconds)
        if bad.any() and durations_text(values[bad]):
            spans = pd.to_timedelta(values[bad].astype(str).str.strip(), errors="coerce")
            if spans.notna().all():
                out = out.copy()
                out[bad] = spans.dt.total_seconds()
                bad = np.zeros(len(values), dtype=bool)
        if bad.any():
            what = plural(int(bad.sum()), "non-numeric value")
            comma = values[bad].astype(str).str.strip().str.fullmatch(r"[-+]?\d*,\d+")
            if comma.all() and (~bad & values.notna().to_numpy()).any():
                first = int(np.flatnonzero(bad)[0])
                raise DataError(
                    f"The numeric column '{name}' in {where} holds "
                    f"{plural(int(bad.sum()), 'number')} written with a decimal comma, e.g. "
                    f"{show_value(values.iloc[first])} ({row_numbers(bad)}), where its other "
                    "values have a decimal point ('1,500' could be 1.5 or 1500): write the "
                    "column one way, all decimal points or all decimal commas."
                )
            raise _unreadable(values, bad, f"The numeric column '{name}' in {where} holds {what}")
    check_finite(out.to_frame(name), where)
    return out


def check_finite(X: pd.DataFrame, where: str) -> None:
    """Refuse infinite values in numeric feature columns (no model can learn from them).

    Raises
    ------
    DataError
        Naming the first such column, how many values and which rows.

    Examples
    --------
    >>> check_finite(pd.DataFrame({"a": [1.0, np.nan]}), "'x.csv'")
    >>> check_finite(pd.DataFrame({"a": [1.0, -np.inf]}), "'x.csv'")
    Traceback (most recent call last):
    ...
    fnguard.errors.DataError: The numeric column 'a' in 'x.csv' holds 1 infinite value (data row 2): replace it with a finite value, or blank it (missing values are allowed).
    """  # noqa: E501
    for name in X.columns:
        values = X[name]
        if not pd.api.types.is_float_dtype(values.dtype):
            continue
        infinite = np.isinf(values.to_numpy(dtype=float, na_value=np.nan))
        if infinite.any():
            n = int(infinite.sum())
            it = "it with a finite value, or blank it" if n == 1 else (
                "them with finite values, or blank them")
            raise DataError(
                f"The numeric column '{name}' in {where} holds "
                f"{plural(n, 'infinite value')} ({row_numbers(infinite)}): replace {it} "
                "(missing values are allowed)."
            )


#: Text read as true or false in a boolean column (compared in lower case, stripped).
BOOLEAN_TEXT: dict[str, bool] = {
    "true": True, "false": False, "t": True, "f": False, "yes": True, "no": False,
    "y": True, "n": False, "1": True, "0": False, "1.0": True, "0.0": False,
}


def _as_bool(values: pd.Series, name: str, where: str) -> pd.Series:
    """A boolean column's values as True/False (missing kept missing), read from 1/0 or
    true/false, yes/no text when the new table holds them that way.

    Anything else would reach the model as a level it never saw, i.e. scored as if missing,
    so it is refused.

    Examples
    --------
    >>> _as_bool(pd.Series([1, 0, None]), "flag", "'x.csv'").tolist()
    [True, False, nan]
    >>> _as_bool(pd.Series(["Yes", " no", "maybe"]), "flag", "'x.csv'")
    Traceback (most recent call last):
    ...
    fnguard.errors.DataError: The boolean column 'flag' in 'x.csv' holds 1 value that is not true or false, e.g. 'maybe' (data row 3): write true/false, yes/no or 1/0, or blank the values.
    """  # noqa: E501
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.BooleanDtype):
        return values
    present = values.notna().to_numpy()
    read: dict[Any, bool | None] = {}
    for value in pd.unique(values[present]):
        plain = to_python(value)
        if isinstance(plain, bool):
            read[value] = plain
        elif isinstance(plain, int | float) and plain in (0, 1):
            read[value] = bool(plain)
        elif isinstance(plain, str):
            read[value] = BOOLEAN_TEXT.get(plain.strip().lower())
        else:
            read[value] = None
    mapped = values.map(read, na_action="ignore")
    bad = present & mapped.isna().to_numpy()
    if bad.any():
        n = int(bad.sum())
        what = f"{plural(n, 'value')} that {'is' if n == 1 else 'are'} not true or false"
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"The boolean column '{name}' in {where} holds {what}, e.g. "
            f"{show_value(values.iloc[first])} ({row_numbers(bad)}): write true/false, "
            "yes/no or 1/0, or blank the values."
        )
    if present.all():
        return mapped.astype(bool)
    return mapped.astype(object).where(present, np.nan)


def _as_datetime(values: pd.Series, name: str, where: str) -> pd.Series:
    """Dates as naive datetimes (zones converted to UTC), read from text if need be: ISO
    dates first, then any format pandas recognises."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert(None)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
    if not_parsed(values, parsed).any():
        parsed = _one_date_format(values, parsed, name, where)
    parsed = parsed.dt.tz_convert(None)
    bad = not_parsed(values, parsed)
    if bad.any():
        what = f"{plural(int(bad.sum()), 'value')} that cannot be read as dates"
        raise _unreadable(values, bad, f"The date column '{name}' in {where} holds {what}")
    return parsed


#: Values of a date column whose formats are guessed (each day first and month first).
_GUESSED = 20


def _one_date_format(
    values: pd.Series, iso: pd.Series, name: str, where: str
) -> pd.Series:
    """Dates that are not ISO, read one way for the whole column.

    First a single format that reads every value, guessed from the first values ISO does not
    read (``25/08/2020`` makes ``05/08/2020`` the 5th of August: read value by value, it was
    8 May). When no single format reads them all (two-digit years, dates with and without a
    time), pandas reads them value by value, once month first and once day first: the same
    dates either way are kept, different ones are an error (the column reads two ways), as
    are two single formats that both read every value differently. ``iso`` (the ISO reading)
    is returned when nothing reads every value (its unread values are then reported).
    """
    from pandas.tseries.api import guess_datetime_format

    present = values.notna()
    text = values.where(~present, values.astype(str).str.strip())
    rest = not_parsed(values, iso)
    unread = text[rest].iloc[:_GUESSED]
    formats = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "parsing dates in %d/%m/%Y format"
        for value in unread:
            formats |= {guess_datetime_format(value, dayfirst=first) for first in (False, True)}
    formats.discard(None)
    if any(f.startswith("%Y") for f in formats):  # year first: then month, as in ISO
        formats = {f for f in formats if not f.startswith(("%Y/%d", "%Y-%d", "%Y.%d"))}
    readings = {}
    for fmt in sorted(formats):
        parsed = pd.to_datetime(text, errors="coerce", utc=True, format=fmt)
        if not not_parsed(values, parsed).any():
            readings[fmt] = parsed
    if not readings:  # value by value (the ISO values as ISO), kept if day first agrees
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            for first in (False, True):
                reading = iso.copy()
                reading[rest] = pd.to_datetime(
                    text[rest], errors="coerce", utc=True, format="mixed", dayfirst=first
                )
                readings[f"dayfirst={first}"] = reading
        if not_parsed(values, readings["dayfirst=False"]).any():
            return iso
        labels = {"dayfirst=False": "month first", "dayfirst=True": "day first"}
    else:
        labels = {fmt: fmt for fmt in readings}
    (first_key, first), *others = readings.items()
    for key, other in others:
        differ = (first != other).to_numpy() & first.notna().to_numpy()
        if differ.any():
            at = int(np.flatnonzero(differ)[0])
            shown = [f"{first.iloc[at]:%Y-%m-%d}", f"{other.iloc[at]:%Y-%m-%d}"]
            raise DataError(
                f"The date column '{name}' in {where} reads two ways: "
                f"{show_value(values.iloc[at])} (data row {at + 1}) is {shown[0]} "
                f"{_as(labels[first_key])} and {shown[1]} {_as(labels[key])}. Write the dates "
                "as YYYY-MM-DD (as in training) so that they read one way."
            )
    return first


def _as(label: str) -> str:
    return f"as {label}" if label.startswith("%") else f"read {label}"


def _unreadable(values: pd.Series, bad: np.ndarray, start: str) -> DataError:
    """The error for values a column's type cannot read: ``start``, an example, the rows."""
    first = int(np.flatnonzero(bad)[0])
    return DataError(
        f"{start}, e.g. {show_value(values.iloc[first])} ({row_numbers(bad)}): "
        "fix or blank those values."
    )


def _numeric_dtype_name(dtype: str) -> bool:
    return dtype.startswith(("int", "float", "uint", "Int", "Float", "UInt"))


def _as_text_like(values: pd.Series, spec: ColumnSpec) -> pd.Series:
    """Give back text if training saw text but the new file read as numbers (e.g. codes)."""
    trained_numeric = _numeric_dtype_name(spec.dtype)
    if trained_numeric or not pd.api.types.is_numeric_dtype(values.dtype):
        return values
    return values.map(_category_text, na_action="ignore").astype(object)


def _unseen_counts(values: pd.Series, categories: tuple[str, ...]) -> dict[str, int]:
    known = set(categories)
    counts = values.dropna().map(_category_text).value_counts()
    return {str(v): int(n) for v, n in counts.items() if v not in known}


#: Characters of a value shown in a note (free text can fill a screen).
_SHOWN_CHARS = 40


def _short(value: str) -> str:
    """``'value'``, on one line, cut after :data:`_SHOWN_CHARS` characters.

    Examples
    --------
    >>> _short("a"), _short("line one\\nline two " * 5)
    ("'a'", "'line one line two line one line two line…' (90 characters)")
    """
    flat = " ".join(str(value).split())
    if len(flat) <= _SHOWN_CHARS:
        return f"'{flat}'"
    return f"'{flat[:_SHOWN_CHARS]}…' ({len(str(value))} characters)"


def _show_unseen(new: Mapping[str, int], rows: int | None = None) -> str:
    if not new:
        return ""
    ordered = sorted(new.items(), key=lambda item: -item[1])
    shown = ", ".join(_short(v) for v, _ in ordered[:5]) + (" ..." if len(ordered) > 5 else "")
    return f"{shown} ({sum(new.values()) if rows is None else rows:,} rows)"


def _unseen(values: pd.Series, categories: tuple[str, ...]) -> str:
    return _show_unseen(_unseen_counts(values, categories))


#: The kinds of drift :class:`Drift` reports, each in one warning.
DRIFT_KINDS = (
    "absent-constant", "extra-columns", "changed-types", "unseen-categories", "all-missing",
    "out-of-range",
)
#: Unseen levels remembered per column (their rows are all counted).
_MAX_UNSEEN = 100


class Drift:
    """How new data differs from the training data, gathered over one table or many chunks.

    Give it to :meth:`Schema.check` for each table or chunk (``schema.check(chunk,
    drift=drift)``), then call :meth:`warn` once: it gives one
    :class:`~fnguard.errors.FnguardWarning` per kind of drift found (:data:`DRIFT_KINDS`),
    with counts over all the rows seen. These are warnings, not errors: the rows are scored.

    - ``absent-constant``: columns left out of the new data that held a single value (or
      none) in training, filled with it.
    - ``extra-columns``: columns the model was not trained on (ignored).
    - ``changed-types``: a column read as another kind than in training (numbers as text,
      category codes as numbers ...), converted before scoring.
    - ``unseen-categories``: categorical levels not seen in training.
    - ``all-missing``: a column without a single value in all the rows seen.
    - ``out-of-range``: numbers further outside the training range than the range is wide.

    Parameters
    ----------
    schema : Schema
        The training columns.
    source : str, default="the DataFrame"
        The table, for messages.
    ignore : iterable of str, optional
        Columns not to report as extra (the target, kept ids).

    Examples
    --------
    >>> schema = infer_schema(pd.DataFrame({"amount": [1.0, 5.0], "grade": ["A", "B"]}))
    >>> drift = Drift(schema, source="new.csv")
    >>> _ = schema.check(pd.DataFrame({"amount": [2.0, 90.0], "grade": ["A", "C"], "id": [1, 2]}),
    ...                  drift=drift)
    >>> for kind, message in drift.findings():
    ...     print(kind)
    extra-columns
    unseen-categories
    out-of-range
    """

    def __init__(self, schema: Schema, *, source: str = "the DataFrame", ignore: Any = ()):
        self.schema = schema
        self.source = source
        self.ignore = {str(c) for c in ignore}
        self.rows = 0
        self._extra: dict[str, None] = {}
        self._types: dict[str, str] = {}
        self._unseen: dict[str, dict[str, int]] = {}
        self._unseen_rows: dict[str, int] = {}
        self._filled: set[str] = set()
        self._far: dict[str, list[Any]] = {}  # column -> [rows, most extreme value]
        self._as_text: set[str] = set()  # dates or decimal-comma numbers written as text
        self._absent: str | None = None
        #: column -> decimal mark of its numbers written as text, from the first chunk that
        #: tells: one reading for the whole table, whatever its chunks
        self._marks: dict[str, str] = {}

    def note_filled(self, message: str, names: Any = ()) -> None:
        """Record that constant training columns absent from the data (``names``) were
        filled, as ``message`` says."""
        self._absent = self._absent or message
        self._filled.update(names)

    def observe(self, frame: pd.DataFrame, checked: pd.DataFrame) -> None:
        """Record the drift of one table or chunk: ``frame`` as read, ``checked`` as converted."""
        self.rows += len(frame)
        for name in frame.columns:
            if str(name) not in self.schema and str(name) not in self.ignore:
                self._extra.setdefault(str(name), None)
        for spec in self.schema.columns:
            raw, values = frame[spec.name], checked[spec.name]
            present = values.notna()
            if not present.any():
                continue
            self._filled.add(spec.name)
            if spec.name not in self._types and spec.name not in self._as_text:
                kind = _column_kind(raw[raw.notna()])
                if kind == "categorical" and (
                    spec.kind == "datetime"
                    or (spec.kind == "numeric" and (
                        decimal_comma_numbers(raw) is not None or durations_text(raw)
                        or formatted_numbers(raw) is not None
                    ))
                ):
                    # dates, numbers with decimal commas, currency or percent signs, or
                    # durations read from text: how a CSV holds them, not a change of type
                    self._as_text.add(spec.name)
                elif kind != spec.kind:
                    self._types[spec.name] = (
                        f"'{spec.name}' ({spec.kind}, {spec.dtype} in training; "
                        f"read as {raw.dtype} here)"
                    )
            if spec.kind == "categorical" and spec.categories and not spec.categories_truncated:
                new = _unseen_counts(values, spec.categories)
                if new:
                    seen = self._unseen.setdefault(spec.name, {})
                    # every row counts, also those of the levels past the ones shown
                    self._unseen_rows[spec.name] = (
                        self._unseen_rows.get(spec.name, 0) + sum(new.values())
                    )
                    for level, n in new.items():
                        if level in seen or len(seen) < _MAX_UNSEEN:
                            seen[level] = seen.get(level, 0) + n
            if spec.low is not None and spec.high is not None:
                if spec.kind == "numeric":
                    self._out_of_range(spec, values)
                elif spec.kind == "datetime":
                    # new data comes after the training dates: a year past them is normal
                    self._out_of_range(spec, _epoch_seconds(values), least=_DATE_SLACK)

    def _out_of_range(self, spec: ColumnSpec, values: pd.Series, least: float = 0.0) -> None:
        """Count values more than the training span (at least ``least``) outside the
        training range."""
        low, high = float(spec.low), float(spec.high)  # type: ignore[arg-type]
        span = max(high - low if high > low else max(abs(high), 1.0), least)
        array = values.to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            far = (array < low - span) | (array > high + span)
        if not far.any():
            return
        distance = np.where(far, np.maximum(low - array, array - high), -np.inf)
        worst = float(array[int(np.argmax(distance))])
        found = self._far.setdefault(spec.name, [0, worst])
        found[0] += int(far.sum())
        old = found[1]
        if max(low - worst, worst - high) > max(low - old, old - high):
            found[1] = worst

    def findings(self) -> list[tuple[str, str]]:
        """``(kind, message)`` for each kind of drift found so far, in :data:`DRIFT_KINDS` order."""
        where = quote_source(self.source)
        out: list[tuple[str, str]] = []
        if self._absent:
            out.append(("absent-constant", self._absent))
        if self._extra:
            names = [f"'{n}'" for n in self._extra]
            out.append((
                "extra-columns",
                f"{plural(len(names), 'column')} of {where} the model was not trained on "
                f"{'is' if len(names) == 1 else 'are'} ignored: {format_names(names)}.",
            ))
        if self._types:
            out.append((
                "changed-types",
                f"Columns of {where} read as another type than in training: "
                f"{format_names(list(self._types.values()))}. They were converted; check that "
                "the values still mean the same (units, codes, formats).",
            ))
        if self._unseen:
            shown = [
                f"'{name}': {_show_unseen(new, self._unseen_rows[name])}"
                for name, new in self._unseen.items()
            ]
            out.append((
                "unseen-categories",
                f"Values not seen in training in {where}: {'; '.join(shown)}. They are scored "
                "like any other, but the model has not learnt from them.",
            ))
        empty = [f"'{c.name}'" for c in self.schema.columns if c.name not in self._filled]
        if self.rows and empty:
            out.append((
                "all-missing",
                f"{plural(len(empty), 'column')} of {where} "
                f"{'holds' if len(empty) == 1 else 'hold'} no value in any of the "
                f"{self.rows:,} rows: {format_names(empty)}. They are scored as missing; check "
                "that the columns are filled.",
            ))
        if self._far:
            shown = []
            dates = False
            for name, (rows, worst) in self._far.items():
                spec = self.schema[name]
                show = _show_number
                if spec.kind == "datetime":
                    show, dates = _show_date, True
                shown.append(
                    f"'{name}': {plural(rows, 'row')}, e.g. {show(worst)} (training range "
                    f"{show(spec.low)} to {show(spec.high)})"
                )
            check = "the units" + (" and the dates" if dates else "")
            out.append((
                "out-of-range",
                f"{'Values' if dates else 'Numbers'} far outside the training range in {where}: "
                f"{'; '.join(shown)}. They are scored, but the model has not seen such values: "
                f"check {check}.",
            ))
        return out

    def warn(self, *, stacklevel: int = 2) -> list[str]:
        """Give one :class:`~fnguard.errors.FnguardWarning` per kind found; return the messages."""
        messages = [message for _, message in self.findings()]
        for message in messages:
            warnings.warn(message, FnguardWarning, stacklevel=stacklevel + 1)
        return messages


def _show_number(value: float) -> str:
    return f"{value:g}"


def _show_date(seconds: float) -> str:
    """A date of :func:`_epoch_seconds` as text: the day, with the time when it has one."""
    stamp = pd.Timestamp(seconds, unit="s")
    return f"{stamp:%Y-%m-%d}" if stamp == stamp.normalize() else f"{stamp:%Y-%m-%d %H:%M:%S}"
