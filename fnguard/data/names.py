"""Suggest column names when the one asked for is not there."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from fnguard.errors import DataError

#: How many column names an error message lists at most.
MAX_LISTED = 20


def closest_names(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Return up to ``n`` candidates that look like ``name``, the most likely first.

    Names equal to ``name`` up to case and surrounding spaces come first, then the close
    matches that :func:`difflib.get_close_matches` finds (compared without case).

    Parameters
    ----------
    name : str
        The name that was asked for.
    candidates : iterable of str
        The names that exist.
    n : int, default=3
        The most suggestions to return.

    Returns
    -------
    list of str
        The suggestions, spelled as in ``candidates``; empty when nothing is close.

    Examples
    --------
    >>> closest_names("lable", ["a", "b", "label"])
    ['label']
    >>> closest_names("CLASS", ["class", "Class", "glass"])
    ['class', 'Class', 'glass']
    >>> closest_names("zzz", ["a", "b"])
    []
    >>> closest_names("y", [" y ", "x"])
    [' y ']
    """
    names = [str(c) for c in candidates]
    if n <= 0 or not names:
        return []
    wanted = str(name).casefold()
    found = [c for c in names if c.casefold() == wanted]
    found += [c for c in names if c.strip().casefold() == wanted.strip() and c not in found]
    folded: dict[str, list[str]] = {}
    for c in names:
        folded.setdefault(c.casefold(), []).append(c)
    for match in difflib.get_close_matches(wanted, list(folded), n=n, cutoff=0.6):
        found.extend(c for c in folded[match] if c not in found)
    return found[:n]


def format_names(names: Iterable[str], limit: int = MAX_LISTED) -> str:
    """Join names with commas, listing at most ``limit`` and counting the rest.

    Examples
    --------
    >>> format_names(["a", "b", "c"], limit=2)
    'a, b (and 1 more)'
    """
    names = [str(c) for c in names]
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        shown += f" (and {len(names) - limit:,} more)"
    return shown


def plural(count: int, word: str) -> str:
    """Count a noun: ``plural(1, "value")`` is ``'1 value'``, ``plural(2, "value")`` ``'2 values'``.

    Examples
    --------
    >>> plural(1, "row"), plural(1234, "row")
    ('1 row', '1,234 rows')
    """
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def capitalized(text: str) -> str:
    """``text`` with its first letter in upper case and the rest as it is: the subject of a
    message ("The DataFrame lacks ..."); ``str.capitalize`` would lower the rest.

    Examples
    --------
    >>> capitalized("the DataFrame"), capitalized("'x.csv'")
    ('The DataFrame', "'x.csv'")
    """
    return text[:1].upper() + text[1:]


def quote_source(source: str) -> str:
    """Quote a source for a message, unless it is already a phrase such as 'the DataFrame'.

    Examples
    --------
    >>> quote_source("scores.csv")
    "'scores.csv'"
    >>> quote_source("the DataFrame")
    'the DataFrame'
    """
    return source if source.startswith("the ") else f"'{source}'"


def missing_column_error(kind: str, name: str, columns: Iterable[str], source: str) -> DataError:
    """Build the error for a column that is not in a table, with suggestions.

    Parameters
    ----------
    kind : str
        What the column is for, e.g. ``"label"``, ``"score"`` or ``"target"``.
    name : str
        The column asked for.
    columns : iterable of str
        The columns the table has.
    source : str
        The table, e.g. its path or ``"the DataFrame"``.

    Returns
    -------
    DataError
        The error to raise (it is returned so that the caller's ``raise`` shows in tracebacks).

    Examples
    --------
    >>> print(missing_column_error("label", "lable", ["a", "b", "label"], "scores.csv"))
    The label column 'lable' is not in 'scores.csv'. Did you mean 'label'? Columns: a, b, label.
    """
    columns = [str(c) for c in columns]
    suggestions = closest_names(name, columns)
    message = f"The {kind} column '{name}' is not in {quote_source(source)}."
    if suggestions:
        message += " Did you mean " + " or ".join(f"'{s}'" for s in suggestions) + "?"
    else:
        message += " Pass one of its columns."
    return DataError(f"{message} Columns: {format_names(columns)}.")
