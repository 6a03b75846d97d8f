"""Tests for fnguard.data.target: binary labels and the positive class."""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fnguard.data.target import binarize_target, match_label
from fnguard.errors import DataError, FnguardWarning


def _binarize(values: list[Any] | pd.Series, positive: Any = None, **kwargs: Any) -> tuple:
    series = values if isinstance(values, pd.Series) else pd.Series(values, **kwargs)
    return binarize_target(series, positive=positive, column="y", source="x.csv")


@pytest.mark.parametrize(
    ("values", "positive", "match"),
    [
        ([0, 1, None, 1, None], 1, r"2 missing or empty values \(data rows 3, 5\): drop or fill"),
        (["a", "", "b", "  "], "a", r"has 2 missing or empty values \(data rows 2, 4\)"),
        ([np.nan] * 7 + [1.0, 0.0], 1, r"7 missing .* \(data rows 1, 2, 3, 4, 5 and 2 more\)"),
        (["good"] * 4, None, r"single value \('good' in all 4 rows\).*needs both classes"),
        ([1, 1], "1", r"single value \(1 in all 2 rows\)"),
        (
            ["a", "b", "b", "c", "c", "c"],
            None,
            r"3 distinct values, not 2: 'c' \(3\), 'b' \(2\), 'a' \(1\)\. Map them to two classes",
        ),
        (list(range(12)), None, r"12 distinct values.* and 2 more\. Map them"),
        (["good", "bad"], "ugly", r"positive label 'ugly' is not a value .* 'good' \(1\), 'bad'"),
        ([0, 1, 1], "2", r"positive label '2' is not a value.*1 \(2\), 0 \(1\)"),
        ([0, 1], 2, r"positive label 2 is not a value"),
        ([True, False], "maybe", r"positive label 'maybe' is not a value"),
        ([0.0, 1.0], "x", r"positive label 'x' is not a value"),
    ],
)
def test_binarize_target_rejects_bad_labels(values: list[Any], positive: Any, match: str) -> None:
    """Check that each bad label column raises a DataError with the count, rows or values."""
    with pytest.raises(DataError, match=match):
        _binarize(values, positive)


def test_binarize_target_names_the_column_and_source() -> None:
    """Check that the error names the column, the source and the kind of column."""
    with pytest.raises(DataError, match=r"^The target column 'Class' in 'data\.csv' has a single"):
        binarize_target(pd.Series([1, 1]), column="Class", source="data.csv", kind="target")
    with pytest.raises(DataError, match=r"^The label column 'y' in the DataFrame"):
        binarize_target(pd.Series([1, 1]), column="y", source="the DataFrame")


@pytest.mark.parametrize(
    ("values", "dtype", "positive", "expected"),
    [
        ([0, 1, 1], "int64", "1", 1),
        ([0, 1, 1], "int64", 1, 1),
        ([0, 1, 1], "int64", "1.0", 1),
        ([0, 1, 1], "int64", "0", 0),
        ([0.0, 1.0, 1.0], "float64", "1", 1.0),
        ([0.0, 1.0, 1.0], "float64", 1, 1.0),
        ([False, True, True], "bool", "true", True),
        ([False, True, True], "bool", "True", True),
        ([False, True, True], "bool", "1", True),
        ([False, True, True], "bool", "yes", True),
        ([False, True, True], "bool", "no", False),
        ([False, True, True], "bool", True, True),
        ([False, True, True], "bool", 0, False),
        (["bad", "good", "good"], None, "bad", "bad"),
        (["bad", "good", "good"], None, "BAD", "bad"),
        (["bad", "good", "good"], "str", " Good", "good"),
        (["0", "1", "1"], None, 1, "1"),
        (["bad", "good", "good"], "category", "bad", "bad"),
    ],
)
def test_binarize_target_matches_command_line_positive(
    values: list[Any], dtype: str | None, positive: Any, expected: Any
) -> None:
    """Check that a positive label typed as a string matches the column's value by type."""
    series = pd.Series(values, dtype=dtype)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FnguardWarning)
        y, pos, neg, notes = _binarize(series, positive)
    assert pos == expected
    assert type(pos) is type(expected)
    assert y.dtype == bool
    np.testing.assert_array_equal(y, (series == expected).to_numpy())
    assert neg != pos
    if isinstance(expected, str) and str(positive) != expected:  # matched without case/spaces
        assert notes == [f"The positive label '{positive}' is written '{expected}' in the "
                         f"label column 'y' in 'x.csv': using '{expected}' as positive."]
        assert [str(w.message) for w in caught] == notes
    else:
        assert notes == [] and caught == []


def test_labels_differing_only_in_case_get_the_fix() -> None:
    """Check that Yes/yes/No/no, refused as 4 classes, say that they differ only in case."""
    with pytest.raises(DataError, match=r"4 distinct values, not 2: .* They differ only in "
                       r"case or spaces: write each class one way"):
        _binarize(["Yes", "yes", "No ", "no"], "yes")
    with pytest.raises(DataError, match=r"Map them to two classes"):
        _binarize(["a", "b", "c"], "a")


def test_binarize_target_returns_plain_python_labels() -> None:
    """Check that the labels are plain Python scalars that serialise to JSON."""
    for values in ([0, 1], [0.0, 1.0], [True, False], ["a", "b"]):
        _, pos, neg, _ = _binarize(pd.Series(values), values[1])
        assert not isinstance(pos, np.generic)
        assert not isinstance(neg, np.generic)
        json.dumps([pos, neg])


def test_binarize_target_prefers_exact_string_match() -> None:
    """Check that an exact match wins over a case-insensitive one."""
    assert match_label("Yes", ["yes", "Yes"]) == "Yes"
    assert match_label("YES", ["yes", "Yes"]) is None


def test_binarize_target_defaults_to_minority_class() -> None:
    """Check that without a positive label the minority class is used, with a note and warning."""
    values = ["good"] * 3 + ["bad"]
    with pytest.warns(FnguardWarning, match=r"minority class 'bad' \(1 of 4 rows, 25\.0%\)"):
        y, pos, neg, notes = _binarize(values)
    assert (pos, neg) == ("bad", "good")
    assert y.tolist() == [False, False, False, True]
    assert notes == [
        "No positive label given: using the minority class 'bad' (1 of 4 rows, 25.0%) as "
        "positive. Pass --positive to choose."
    ]


@pytest.mark.parametrize(
    ("values", "expected"),
    [([0, 1, 1, 0], 1), ([1, 0, 0, 1], 1), (["b", "a"], "b"), ([True, False], True)],
)
def test_binarize_target_breaks_ties_by_the_last_value(values: list[Any], expected: Any) -> None:
    """Check that balanced classes choose the value that sorts last, e.g. 1 over 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FnguardWarning)
        _, pos, _, _ = _binarize(values)
    assert pos == expected


def test_binarize_target_gives_no_warning_with_positive() -> None:
    """Check that an explicit positive label issues no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _binarize([0, 1, 0], "1")


@given(st.lists(st.booleans(), min_size=2).filter(lambda b: 0 < sum(b) < len(b)))
def test_binarize_target_agrees_with_comparison(flags: list[bool]) -> None:
    """Check that y equals the brute-force comparison with the positive label."""
    values = pd.Series(["yes" if f else "no" for f in flags])
    y, pos, neg, _ = binarize_target(values, positive="yes", column="y", source="x")
    assert y.tolist() == flags
    assert (pos, neg) == ("yes", "no")


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(pd.to_datetime(["2020-01-01", "2021-01-01", "2020-01-01"])),
        pd.Series(pd.to_timedelta([1, 2, 1], unit="D")),
        pd.Series([pd.Timestamp("2020-01-01"), pd.Timestamp("2021-01-01")] * 2, dtype=object),
    ],
    ids=["datetime64", "timedelta64", "object-timestamps"],
)
def test_labels_that_are_not_text_numbers_or_bools_are_refused(values: pd.Series) -> None:
    """Check that date or duration labels are a DataError saying how to fix them (a Guard of
    such labels could not be saved: JSON has no dates, and the whole search ran first)."""
    with pytest.raises(DataError, match=r"holds (Timestamp|Timedelta) labels .*astype\(str\)"):
        binarize_target(values, positive=None, column="y", source="t.csv")


def test_decimal_labels_read_as_numbers() -> None:
    """Check that Decimal labels (Parquet decimal, SQL NUMERIC) are read as the numbers they
    hold: 1 matches the positive label 1 and the labels save as JSON numbers."""
    from decimal import Decimal

    values = pd.Series([Decimal("1"), Decimal("0"), Decimal("0"), Decimal("1.0")], dtype=object)
    y, pos, neg, _ = binarize_target(values, positive="1", column="y", source="t.parquet")
    assert y.tolist() == [True, False, False, True]
    assert (pos, neg) == (1, 0) and json.dumps([pos, neg]) == "[1, 0]"
