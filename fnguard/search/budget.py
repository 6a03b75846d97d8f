"""The time budget of a search: ``90``, ``"90s"``, ``"10m"``, ``"1h"``, ``"1h30m"``.

:class:`SearchError` is the error of this package: a search that cannot run as asked (a budget
that cannot be read or is too short, too few positives for the folds, no trial that finished).
"""

from __future__ import annotations

import math
import re
from typing import Any

from fnguard.errors import FnguardError

__all__ = ["MIN_BUDGET", "SearchError", "format_seconds", "parse_budget"]

#: The shortest budget accepted, in seconds: one trial of a plain model on a small table.
MIN_BUDGET = 5.0

_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(h|min|m|sec|s)?", flags=re.IGNORECASE)


class SearchError(FnguardError, ValueError):
    """A search that cannot run as asked: budget, folds, or no trial that finished."""


def parse_budget(budget: Any) -> float:
    """Seconds of a budget given as a number of seconds or as text with units.

    Parameters
    ----------
    budget : int, float or str
        Seconds (``90``), or text: ``"90"``, ``"90s"``, ``"2.5m"``, ``"10m"``, ``"1h"``,
        ``"1h30m"``.

    Returns
    -------
    float
        The budget in seconds, at least :data:`MIN_BUDGET`.

    Raises
    ------
    SearchError
        When the budget cannot be read, is not finite, or is shorter than :data:`MIN_BUDGET`.

    Examples
    --------
    >>> parse_budget("2m"), parse_budget(90), parse_budget("1h30m")
    (120.0, 90.0, 5400.0)
    >>> parse_budget("2 minutes")
    Traceback (most recent call last):
    ...
    fnguard.search.budget.SearchError: The budget '2 minutes' cannot be read: give seconds (90) or a number with a unit s, m or h ('90s', '10m', '1h', '1h30m').
    """  # noqa: E501
    seconds = duration_seconds(budget)
    if seconds < MIN_BUDGET:
        raise SearchError(
            f"The budget of {format_seconds(seconds)} is too short for one trial: give at least "
            f"{MIN_BUDGET:g}s (for instance --budget 1m; a few minutes let the search try "
            "more than the plain models)."
        )
    return seconds


def duration_seconds(budget: Any) -> float:
    """Seconds of a duration given as a number of seconds or as text with units (``"90"``,
    ``"90s"``, ``"2.5m"``, ``"1h30m"``), with no minimum; a SearchError when unreadable.

    Examples
    --------
    >>> duration_seconds("1m"), duration_seconds(0)
    (60.0, 0.0)
    """
    bad = SearchError(
        f"The budget {budget!r} cannot be read: give seconds (90) or a number with a unit "
        "s, m or h ('90s', '10m', '1h', '1h30m')."
    )
    if isinstance(budget, bool):
        raise bad
    if isinstance(budget, int | float):
        if not math.isfinite(budget):
            raise bad
        return float(budget)
    if not isinstance(budget, str):
        raise bad
    text = budget.strip().lower()
    if not text:
        raise bad
    total, pos = 0.0, 0
    while pos < len(text):
        m = _PART.match(text, pos)
        if m is None:
            raise bad
        unit = m.group(2)
        if unit is None and m.end() != len(text):
            raise bad
        total += float(m.group(1)) * _UNITS[unit or "s"]
        pos = m.end()
        while pos < len(text) and text[pos] == " ":
            pos += 1
    return total


def format_seconds(seconds: float) -> str:
    """Short text of a duration.

    Examples
    --------
    >>> format_seconds(4.2), format_seconds(125), format_seconds(3720)
    ('4.2s', '2m05s', '1h02m')
    """
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    if seconds < 3600:
        m, s = divmod(round(seconds), 60)
        return f"{m}m{s:02d}s"
    h, m = divmod(round(seconds / 60), 60)
    return f"{h}h{m:02d}m"
