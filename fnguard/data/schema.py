"""The columns a model was trained on, and the check of new data against them."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from fnguard.data.names import closest_names, format_names, plural, quote_source
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
    """

    name: str
    kind: Kind
    dtype: str
    n_missing: int = 0
    categories: tuple[str, ...] | None = None
    categories_truncated: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"The kind of column '{self.name}' must be one of {KINDS}. "
                             f"Got {self.kind!r} instead.")

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as a JSON-serialisable dict."""
        out = dataclasses.asdict(self)
        out["categories"] = None if self.categories is None else list(self.categories)
        return out


def _column_kind(values: pd.Series) -> Kind:
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
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
    )


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

    def check(self, frame: pd.DataFrame, *, source: str = "the DataFrame") -> pd.DataFrame:
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

        Returns
        -------
        DataFrame
            A new frame with the schema's columns, in schema order.

        Raises
        ------
        DataError
            If a column is missing, or a numeric (datetime) column holds values that are not
            numbers (dates).

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
        missing = [name for name in self.names if name not in present]
        if missing:
            extra = [c for c in present if c not in self._by_name]
            parts = []
            for name in missing:
                hint = closest_names(name, extra, n=1)
                parts.append(f"'{name}'" + (f" (did you mean '{hint[0]}'?)" if hint else ""))
            noun = "column" if len(missing) == 1 else "columns"
            pronoun = "it" if len(missing) == 1 else "them"
            raise DataError(
                f"{where[0].upper()}{where[1:]} lacks {len(missing):,} {noun} the model was "
                f"trained on: {format_names(parts)}. Add {pronoun} (missing values are allowed) "
                f"or rename the {noun}."
            )
        frame = frame.copy(deep=False)
        frame.columns = present
        out: dict[str, pd.Series] = {}
        unseen: list[str] = []
        for spec in self.columns:
            values = frame[spec.name]
            if spec.kind == "numeric":
                out[spec.name] = _as_float(values, spec.name, where)
            elif spec.kind == "datetime":
                out[spec.name] = _as_datetime(values, spec.name, where)
            elif spec.kind == "categorical":
                values = _as_text_like(values, spec)
                out[spec.name] = values
                if spec.categories is not None and not spec.categories_truncated:
                    new = _unseen(values, spec.categories)
                    if new:
                        unseen.append(f"'{spec.name}': {new}")
            else:
                out[spec.name] = values
        if unseen:
            warnings.warn(
                f"Values not seen in training in {where}: {'; '.join(unseen)}. They are scored "
                "like any other, but the model has not learnt from them.",
                FnguardWarning,
                stacklevel=2,
            )
        return pd.DataFrame(out, index=frame.index)


def _not_parsed(values: pd.Series, parsed: pd.Series) -> np.ndarray:
    """Rows with a non-blank value that the parser could not read."""
    text = values.astype(str).str.strip()
    return (values.notna() & parsed.isna() & (text != "")).to_numpy(dtype=bool)


def _as_float(values: pd.Series, name: str, where: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("float64")
    parsed = pd.to_numeric(values, errors="coerce")
    bad = _not_parsed(values, parsed)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"The numeric column '{name}' in {where} holds "
            f"{plural(int(bad.sum()), 'non-numeric value')}, "
            f"e.g. {show_value(values.iloc[first])} ({row_numbers(bad)}): "
            "fix or blank those values."
        )
    return parsed.astype("float64")


def _as_datetime(values: pd.Series, name: str, where: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    parsed = pd.to_datetime(values, errors="coerce")
    bad = _not_parsed(values, parsed)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"The date column '{name}' in {where} holds "
            f"{plural(int(bad.sum()), 'value')} that cannot be read as dates, "
            f"e.g. {show_value(values.iloc[first])} ({row_numbers(bad)}): "
            "fix or blank those values."
        )
    return parsed


def _as_text_like(values: pd.Series, spec: ColumnSpec) -> pd.Series:
    """Give back text if training saw text but the new file read as numbers (e.g. codes)."""
    trained_numeric = spec.dtype.startswith(("int", "float", "uint", "Int", "Float", "UInt"))
    if trained_numeric or not pd.api.types.is_numeric_dtype(values.dtype):
        return values
    return values.map(_category_text, na_action="ignore").astype(object)


def _unseen(values: pd.Series, categories: tuple[str, ...]) -> str:
    known = set(categories)
    counts = values.dropna().map(_category_text).value_counts()
    new = [(v, n) for v, n in counts.items() if v not in known]
    if not new:
        return ""
    shown = ", ".join(f"'{v}'" for v, _ in new[:5]) + (" ..." if len(new) > 5 else "")
    return f"{shown} ({sum(n for _, n in new):,} rows)"
