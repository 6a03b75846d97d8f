"""Tests of fnguard.data.columns and of how load_table applies it: dates and decimal-comma
numbers written as text, identifier and row-number columns."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fnguard.data import load_table
from fnguard.data.columns import (
    decimal_comma_numbers,
    identifier_columns,
    read_dates,
    row_number_columns,
)
from fnguard.data.schema import Drift
from fnguard.errors import DataError, FnguardWarning


def _table(n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "amount": rng.gamma(2.0, 50.0, n).round(2),
        "opened": pd.date_range("2023-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "account": [f"AC-{i:06d}" for i in rng.permutation(n)],
        "shop": rng.choice(["north", "south", "east"], n),
        "y": (rng.random(n) < 0.3).astype(int),
    })


def test_load_table_reads_dates_and_decimal_commas_and_leaves_ids_out(tmp_path: Path) -> None:
    """A spreadsheet export (';' separators, decimal commas, text dates, an account id) loads
    as the same table saved the plain way, with a note for each decision."""
    frame = _table()
    eu = tmp_path / "eu.csv"
    frame.to_csv(eu, sep=";", decimal=",", index=False)
    data = load_table(eu, "y", positive=1)
    assert data.X.columns.tolist() == ["amount", "opened", "shop"]
    np.testing.assert_allclose(data.X["amount"], frame["amount"])
    assert data.X["opened"].dtype.kind == "M"
    assert (data.X["opened"] == pd.to_datetime(frame["opened"])).all()
    assert data.schema["opened"].kind == "datetime" and data.schema["amount"].kind == "numeric"
    assert data.dropped == ["account"]
    joined = " ".join(data.notes)
    assert "read as dates: 'opened'" in joined
    assert "decimal commas and is read as numbers: 'amount'" in joined
    assert "'account' (100% distinct)" in joined and "--drop account" in joined
    plain = load_table(frame, "y", positive=1, auto_columns=False)
    assert plain.X.columns.tolist() == ["amount", "opened", "account", "shop"]


def test_only_identifier_columns_is_an_error() -> None:
    """A table whose only features are ids says so instead of fitting on nothing."""
    frame = pd.DataFrame({"ref": [f"r{i}" for i in range(80)], "y": [0, 1] * 40})
    with pytest.raises(DataError, match=r"'ref' \(100% distinct\).*add feature columns"):
        load_table(frame, "y", positive=1)


def test_row_number_columns() -> None:
    """Distinct whole numbers from a range at most twice the row count, in any order and
    from any start, none missing: row numbers (a random 80% of a numbered table too); a
    wider range, a repeat, a missing value, a fraction, booleans or too few rows: not."""
    n = 60
    rng = np.random.default_rng(0)
    X = pd.DataFrame({
        "rownames": np.arange(1, n + 1),
        "Unnamed: 0": rng.permutation(n),  # a shuffled pandas index
        "as_float": np.arange(10, n + 10, dtype=float),
        "cut": rng.choice(np.arange(1, 76), n, replace=False),  # 80% of rows 1 to 75
        "edge": np.r_[np.arange(n - 1), 2 * n - 1],  # a range of exactly 2n
        "wide": np.r_[np.arange(n - 1), 2 * n],
        "repeat": np.r_[np.arange(n - 1), 0],
        "missing": np.r_[np.arange(n - 1), np.nan],
        "fraction": np.arange(n) + 0.5,
        "flag": np.arange(n) % 2 == 0,
        "text": [str(i) for i in range(n)],
        "measured": rng.integers(0, 2 * n, n),  # whole numbers drawn at random: repeats
    })
    assert len(np.unique(X["measured"])) < n
    assert row_number_columns(X) == ["rownames", "Unnamed: 0", "as_float", "cut", "edge"]
    assert row_number_columns(X.head(49)) == []


def test_load_table_leaves_row_numbers_out(tmp_path: Path) -> None:
    """A CSV whose first column numbers the rows of a table sorted by the label (R's
    write.csv) loads without it, with a note, and so does a random 80% of it; --drop says so
    without a note; a table of row numbers only is an error."""
    frame = _table().sort_values("y").reset_index(drop=True)
    path = tmp_path / "sorted.csv"
    frame.rename_axis("rownames").reset_index().assign(rownames=lambda f: f.rownames + 1).to_csv(
        path, index=False)
    data = load_table(path, "y", positive=1)
    assert "rownames" not in data.X.columns and "rownames" in data.dropped
    notes = [n for n in data.notes if "numbers the rows" in n]
    assert len(notes) == 1 and "'rownames'" in notes[0] and "--drop rownames" in notes[0]
    assert "each of the 120 rows" in notes[0]
    quiet = load_table(path, "y", positive=1, drop="rownames")
    assert not any("numbers the rows" in n for n in quiet.notes)
    assert quiet.X.columns.tolist() == data.X.columns.tolist()
    cut = pd.read_csv(path).sample(frac=0.8, random_state=0)
    assert cut["rownames"].max() - cut["rownames"].min() + 1 > len(cut)  # it has gaps
    assert "rownames" in load_table(cut, "y", positive=1).dropped
    kept = load_table(path, "y", positive=1, auto_columns=False)
    assert "rownames" in kept.X.columns
    only = pd.DataFrame({"n": np.arange(80), "y": [0, 1] * 40})
    with pytest.raises(DataError, match=r"only number the rows: 'n'.*add feature columns"):
        load_table(only, "y", positive=1)


@pytest.mark.parametrize(
    ("values", "sure", "expected"),
    [
        (["17,99", "1.234,5", "-3", None, " "], False, [17.99, 1234.5, -3.0, np.nan, np.nan]),
        (["0,5", "12"], True, [0.5, 12.0]),
        (["1,234", "5"], True, None),  # a thousand or 1.234: left alone
        (["1,234", "5"], False, [1.234, 5.0]),
        (["12.5", "3"], False, None),  # a decimal point is not ours to read
        (["a,5"], False, None),
    ],
)
def test_decimal_comma_numbers(values, sure, expected) -> None:
    """Check which texts read as decimal-comma numbers, against the values by hand."""
    got = decimal_comma_numbers(pd.Series(values, dtype=object), sure=sure)
    if expected is None:
        assert got is None
    else:
        np.testing.assert_array_equal(got.to_numpy(), np.array(expected, dtype=float))


def test_dates_with_zones_and_non_dates() -> None:
    """Zoned times become UTC; a column with one non-date, or impossible dates, stays text."""
    X = pd.DataFrame({
        "at": ["2024-03-01T10:00+02:00", "2024-03-01T09:00Z"],
        "mixed": ["2024-03-01", "soon"],
        "bad": ["2024-13-45", "2024-01-01"],
    })
    out, notes = read_dates(X)
    assert out["at"].tolist() == [pd.Timestamp("2024-03-01 08:00"),
                                  pd.Timestamp("2024-03-01 09:00")]
    assert out["mixed"].tolist() == ["2024-03-01", "soon"]
    assert out["bad"].tolist() == ["2024-13-45", "2024-01-01"]
    assert notes == ["1 text column holds dates and is read as dates: 'at'."]


def test_identifier_rule_needs_enough_rows_and_distinct_values() -> None:
    """95% distinct over at least 50 values; categories and numbers are never ids."""
    n = 60
    X = pd.DataFrame({
        "id": [f"u{i}" for i in range(n)],
        "few": [f"u{i}" for i in range(n)][:40] + [None] * 20,  # only 40 values
        "repeats": [f"u{i % 50}" for i in range(n)],  # 83% distinct
        "number": np.arange(n),
        "cat": pd.Categorical([f"u{i}" for i in range(n)]),
    })
    assert identifier_columns(X) == [("id", 1.0)]


def test_text_dates_and_decimal_commas_are_not_drift() -> None:
    """New CSV data holds dates and decimal-comma numbers as text: not a change of type; a
    numeric column read as words still is."""
    data = load_table(_table(), "y", positive=1)
    new = data.X.assign(
        opened=data.X["opened"].dt.strftime("%Y-%m-%d"),
        amount=data.X["amount"].map(lambda v: f"{v:.2f}".replace(".", ",")),
    )
    drift = Drift(data.schema)
    checked = data.schema.check(new, drift=drift)
    np.testing.assert_allclose(checked["amount"], data.X["amount"])
    assert [kind for kind, _ in drift.findings()] == []
    with warnings.catch_warnings():
        warnings.simplefilter("error", FnguardWarning)
        data.schema.check(new)
    with pytest.raises(DataError, match="non-numeric"):
        data.schema.check(new.assign(amount="n/a"))


def test_a_typo_in_a_numeric_column_is_named(tmp_path: Path) -> None:
    """Check that a numeric column read as text because of one typo gets a note naming the
    value and its row (it was only called an identifier), and that a text column whose values
    are mostly words gets none."""
    frame = _table()
    frame["amount"] = frame["amount"].astype(str)
    frame.loc[3, "amount"] = "oops"
    frame.to_csv(tmp_path / "t.csv", index=False)
    data = load_table(tmp_path / "t.csv", "y", positive=1)
    typo = [n for n in data.notes if "'amount' holds numbers but for 1 value" in n]
    assert len(typo) == 1 and "'oops' (data row 4)" in typo[0]
    assert not any("'shop' holds numbers" in n for n in data.notes)
