"""Tests of the time budget's parsing."""

from __future__ import annotations

import pytest

from fnguard.search.budget import MIN_BUDGET, SearchError, format_seconds, parse_budget


@pytest.mark.parametrize(
    ("budget", "seconds"),
    [(90, 90.0), (7.5, 7.5), ("90", 90.0), ("90s", 90.0), ("2m", 120.0), ("2.5m", 150.0),
     ("10 min", 600.0), ("1h", 3600.0), ("1h30m", 5400.0), (" 1m 30s ", 90.0), ("5S", 5.0)],
)
def test_parse_budget(budget: object, seconds: float) -> None:
    """Check that seconds and text with units read as the right number of seconds."""
    assert parse_budget(budget) == seconds


@pytest.mark.parametrize(
    ("budget", "match"),
    [("2 minutes", "cannot be read"), ("", "cannot be read"), ("m", "cannot be read"),
     (True, "cannot be read"), (None, "cannot be read"), (float("inf"), "cannot be read"),
     ("10 5", "cannot be read"), (1, "too short for one trial: give at least 5s"),
     ("3s", "too short"), (-10, "too short")],
)
def test_bad_budget(budget: object, match: str) -> None:
    """Check that a budget that cannot be read or is too short says what to give instead."""
    with pytest.raises(SearchError, match=match):
        parse_budget(budget)


def test_minimum_is_accepted() -> None:
    """Check that the minimum budget itself is accepted."""
    assert parse_budget(MIN_BUDGET) == MIN_BUDGET


def test_format_seconds() -> None:
    """Check the short text of durations on each side of a minute and an hour."""
    assert [format_seconds(s) for s in (0.5, 59, 61, 3599, 3600)] == [
        "0.5s", "59s", "1m01s", "59m59s", "1h00m"]
