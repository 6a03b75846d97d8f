"""Tests for fnguard.data.names: column name suggestions."""

from __future__ import annotations

import difflib

import pytest

from fnguard.data.names import closest_names, missing_column_error
from fnguard.errors import DataError


@pytest.mark.parametrize(
    ("name", "candidates", "expected"),
    [
        ("lable", ["a", "b", "label"], ["label"]),
        ("LABEL", ["label", "Label", "x"], ["label", "Label"]),
        ("scroe", ["score", "scores", "age"], ["score", "scores"]),
        ("zzz", ["a", "b"], []),
        ("a", [], []),
    ],
)
def test_closest_names(name: str, candidates: list[str], expected: list[str]) -> None:
    """Check that case-insensitive matches come first, then difflib's close matches."""
    assert closest_names(name, candidates) == expected


def test_closest_names_agrees_with_difflib() -> None:
    """Check that without case differences the suggestions are difflib's."""
    candidates = ["income", "incomes", "outcome", "age", "in_come"]
    assert closest_names("incme", candidates, n=3) == difflib.get_close_matches(
        "incme", candidates, n=3
    )


def test_missing_column_error_message() -> None:
    """Check the wording of the error, with a suggestion and the listed columns."""
    error = missing_column_error("label", "lable", ["a", "b", "label"], "scores.csv")
    assert isinstance(error, DataError)
    assert str(error) == (
        "The label column 'lable' is not in 'scores.csv'. Did you mean 'label'? "
        "Columns: a, b, label."
    )


def test_missing_column_error_lists_at_most_20_columns() -> None:
    """Check that a wide table lists 20 columns and counts the rest."""
    columns = [f"c{i}" for i in range(25)]
    message = str(missing_column_error("score", "zzz", columns, "the DataFrame"))
    assert message.startswith("The score column 'zzz' is not in the DataFrame. Pass one of")
    assert message.endswith("c18, c19 (and 5 more).")
