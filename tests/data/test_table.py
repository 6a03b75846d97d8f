"""Tests for fnguard.data.table: loading a labelled table into a Dataset."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fnguard.data import Dataset, load_table
from fnguard.errors import DataError, FnguardWarning

CSV = "id,age,grade,member,label\n1,30,A,true,0\n2,,B,false,1\n3,50,,true,0\n4,61,A,false,0\n"


@pytest.mark.parametrize(
    ("content", "kwargs", "match"),
    [
        (CSV, {"target": "lable"}, r"The target column 'lable' is not in .*Did you mean 'label'\?"),
        (CSV, {"target": "y"}, r"target column 'y' is not in .* Pass one of its columns\. Columns"),
        (CSV, {"target": "label", "drop": ["ID"]}, r"dropped column 'ID' .*Did you mean 'id'\?"),
        (CSV, {"target": "label", "drop": "label"}, r"is the target and cannot also be dropped"),
        ("label,x\n0,1\n1,\n,3\n", {"target": "label"}, r"1 missing or empty value \(data row 3\)"),
        ("label,x\n1,1\n1,2\n", {"target": "label"}, r"target column 'label' .* single value"),
        ("label,x\n1,1\n2,2\n3,3\n", {"target": "label"}, r"3 distinct values, not 2"),
        (CSV, {"target": "label", "positive": "yes"}, r"positive label 'yes' is not a value"),
        ("label\n0\n1\n", {"target": "label"}, r"no feature columns besides the target 'label':"),
        ("a,label\n5,0\n6,1\n", {"target": "label", "drop": "a"}, r"and the dropped columns"),
        ("label,label\n0,0\n1,1\n", {"target": "label"}, r"duplicate column names: 'label'"),
        ("label,x\n", {"target": "label"}, r"has no rows"),
        (
            "label,x,z\n0,1,a\n1,inf,b\n0,-inf,c\n",
            {"target": "label"},
            r"numeric column 'x' in '.*data\.csv' holds 2 infinite values \(data rows 2, 3\): "
            r"replace them with finite values, or blank them",
        ),
        (
            "label,x,z\n0,1.5,a\n1,1e308,b\n0,-2e200,c\n",
            {"target": "label"},
            r"numeric column 'x' in '.*data\.csv' holds 2 values too large to compute with "
            r"\(up to 1e\+308; past 1e\+150 their squares overflow\): rescale the column",
        ),
    ],
)
def test_load_table_rejects_bad_input(
    tmp_path: Path, content: str, kwargs: dict[str, Any], match: str
) -> None:
    """Check that each bad table or argument raises a DataError that says what to fix."""
    path = tmp_path / "data.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=match):
        load_table(path, **kwargs)


def test_load_table_reads_csv(tmp_path: Path) -> None:
    """Check that a CSV file gives features, a boolean target, labels and a schema."""
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    data = load_table(path, "label", "1", drop="id")
    assert isinstance(data, Dataset)
    assert data.X.columns.tolist() == ["age", "grade", "member"]
    assert data.y.tolist() == [False, True, False, False]
    assert (data.positive, data.negative) == (1, 0)
    assert (data.n_rows, data.n_positive, data.prevalence) == (4, 1, 0.25)
    assert data.source == str(path)
    assert data.schema.target == "label"
    assert {c.name: c.kind for c in data.schema.columns} == {
        "age": "numeric", "grade": "categorical", "member": "boolean",
    }
    assert data.schema["age"].n_missing == 1
    assert data.notes == ["2 feature columns with missing values (2 cells): kept as missing: "
                          "'age' (1), 'grade' (1)."]
    empty = load_table(pd.read_csv(path).assign(blank=np.nan), "label", "1", drop="id")
    assert empty.notes == [
        "3 feature columns with missing values (6 cells): kept as missing: 'blank' (4), "
        "'age' (1), 'grade' (1). 'blank' holds no value at all and carries no information: "
        "drop it (drop=[...], --drop)."
    ]
    assert "prevalence=0.2500" in repr(data)


def test_load_table_reads_parquet(tmp_path: Path) -> None:
    """Check that a Parquet file loads like the same DataFrame."""
    frame = pd.DataFrame({"x": [0.1, 0.2, 0.3], "cls": ["neg", "pos", "neg"]})
    frame.to_parquet(tmp_path / "data.parquet")
    from_file = load_table(tmp_path / "data.parquet", "cls", "pos")
    from_frame = load_table(frame, "cls", "pos")
    pd.testing.assert_frame_equal(from_file.X, from_frame.X)
    np.testing.assert_array_equal(from_file.y, from_frame.y)
    assert from_frame.source == "the DataFrame"


def test_load_table_defaults_to_minority_with_warning(tmp_path: Path) -> None:
    """Check that without a positive label the minority class is used and announced."""
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    with pytest.warns(FnguardWarning, match="minority class 1"):
        data = load_table(path, "label")
    assert data.positive == 1
    assert data.notes[0].startswith("No positive label given")


def test_load_table_resets_index_and_keeps_frame() -> None:
    """Check that X is indexed 0..n-1 and the caller's frame is left untouched."""
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [True, False, True]}, index=[10, 20, 30])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_table(frame, "y", positive="true")
    assert data.X.index.tolist() == [0, 1, 2]
    assert data.positive is True and data.negative is False
    assert frame.columns.tolist() == ["x", "y"]


def test_nested_columns_are_refused_and_can_be_dropped(tmp_path) -> None:
    """Check that a Parquet list or struct column gets a DataError naming it (it crashed the
    leak and duplicate checks with 'unhashable type'), and that dropping it works."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "amount": rng.normal(size=60),
        "tags": [["a", "b"][: i % 3] for i in range(60)],
        "meta": [{"k": i} for i in range(60)],
        "y": [1] * 10 + [0] * 50,
    })
    path = tmp_path / "nested.parquet"
    frame.to_parquet(path)
    with pytest.raises(DataError, match=r"nested values .*'tags', 'meta'.*--drop"):
        load_table(path, "y", positive=1)
    data = load_table(path, "y", positive=1, drop=["tags", "meta"])
    assert list(data.X.columns) == ["amount"]


FRAME = pd.DataFrame({"a": [0.1, 0.5, 0.9, 0.3], "y": [0, 1, 0, 1]})


@pytest.mark.parametrize(
    ("data", "target", "match"),
    [
        (FRAME, FRAME["y"], r"The target must be the name of a column of the table, not the "
         r"labels themselves; got Series 'y'\. Instead, put the labels in the frame as a column "
         r"\(frame\['y'\] = y\) and pass target='y'\.$"),
        (FRAME, FRAME["y"].to_numpy(), r"got ndarray\. Instead, put the labels in the frame"),
        (FRAME[["a"]].to_numpy(), FRAME["y"].to_numpy(), r"got ndarray\. Instead, put the "
         r"features and the labels in one DataFrame \(frame = pd\.DataFrame\(X, columns="),
        (FRAME[["a"]].to_numpy(), "y", r"Got ndarray instead: wrap an array in a DataFrame"),
        (FRAME[["y"]], "y", r"^The DataFrame has no feature columns besides the target 'y':"),
        (FRAME.assign(o=[{"k": 1}] * 4), "y", r"^The DataFrame has columns of nested values "
         r"\(lists, arrays or structs\): 'o'\."),
    ],
)
def test_load_table_rejects_bad_frames(data: Any, target: Any, match: str) -> None:
    """Check that labels passed as the target (scikit-learn's fit(X, y) habit) and arrays get
    a DataError saying how to make a table, and that messages about a DataFrame name it once
    (they said 'The table the DataFrame')."""
    with pytest.raises(DataError, match=match):
        load_table(data, target, positive=1)


def test_durations_are_seconds_in_training_and_prediction() -> None:
    """Check that a duration (timedelta) column is a numeric feature in seconds, in training
    and in new data (it was a category of distinct durations: order lost, unseen values)."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "wait": pd.to_timedelta(rng.integers(0, 3600, 80), unit="s"),
        "y": np.r_[np.ones(20, int), np.zeros(60, int)],
    })
    data = load_table(frame, "y", positive=1)
    assert data.schema["wait"].kind == "numeric"
    np.testing.assert_array_equal(data.X["wait"], frame["wait"].dt.total_seconds())
    assert "1 duration column is read as seconds: 'wait'." in data.notes
    new = frame[["wait"]] + pd.Timedelta(seconds=1)
    np.testing.assert_array_equal(
        data.schema.check(new)["wait"], frame["wait"].dt.total_seconds() + 1
    )
    # the same durations as a CSV writes them ('0 days 00:12:31'): read as seconds too, in
    # new data (without a drift note) and in a training table
    from fnguard.data.schema import Drift

    text = frame.astype({"wait": str})
    drift = Drift(data.schema)
    np.testing.assert_array_equal(
        data.schema.check(text[["wait"]], drift=drift)["wait"],
        frame["wait"].dt.total_seconds(),
    )
    assert drift.findings() == []
    again = load_table(text, "y", positive=1)
    assert again.schema["wait"].kind == "numeric"
    np.testing.assert_array_equal(again.X["wait"], data.X["wait"])


def test_decimal_comma_among_decimal_points_is_refused_not_a_duration() -> None:
    """Check that '13,5' in a numeric column whose other values use a decimal point is
    refused at predict, naming the column and the value (pandas reads '13,5' as a duration of
    135 nanoseconds, which was scored as 1.35e-07), and that a column of decimal commas only
    still reads as numbers."""
    frame = pd.DataFrame({"rate": np.linspace(5.0, 25.0, 40), "y": [1, 0, 0, 0] * 10})
    data = load_table(frame, "y", positive=1)
    with pytest.raises(DataError, match=r"(?s)'rate'.*13,5.*decimal point"):
        data.schema.check(pd.DataFrame({"rate": ["13,5", "13.5", "7.25"]}))
    out = data.schema.check(pd.DataFrame({"rate": ["13,5", "7,25"]}))
    assert out["rate"].tolist() == [13.5, 7.25]


def test_chunks_read_a_column_with_one_decimal_mark() -> None:
    """Check that chunks of one table read a text number column one way: a later chunk
    whose values read with decimal commas ('13,5', '1.612') after chunks with decimal points
    is refused (it read '1.612' as 1612, silently), while a table of decimal commas in every
    chunk reads, whole numbers telling nothing either way."""
    from fnguard.data.schema import Drift

    frame = pd.DataFrame({"rate": np.linspace(0.0, 3.0, 40), "y": [1, 0, 0, 0] * 10})
    data = load_table(frame, "y", positive=1)
    drift = Drift(data.schema, source="'new.csv'")
    data.schema.check(pd.DataFrame({"rate": ["0.5", "1.25", "2"]}), drift=drift)
    with pytest.raises(DataError, match=r"'rate' in .* decimal commas in these rows but with "
                       r"decimal points in earlier ones"):
        data.schema.check(pd.DataFrame({"rate": ["13,5", "1.612", "2.345"]}), drift=drift)
    drift = Drift(data.schema, source="'new.csv'")
    got = [data.schema.check(pd.DataFrame({"rate": part}), drift=drift)["rate"].tolist()
           for part in (["13,5", "7,25"], ["3", "4"], ["1,5", "2"])]
    assert got == [[13.5, 7.25], [3.0, 4.0], [1.5, 2.0]]


def test_numbers_with_currency_percent_and_missing_markers_are_numbers(tmp_path: Path) -> None:
    """Check that "$1,234.50" amounts (dropped as an identifier: 99% distinct text), "13.5%"
    rates and numbers with UCI's "?" for missing (read as categories) are numeric features,
    with a note, and that new data written the same way is read alike at predict, without a
    drift note."""
    from fnguard.guard import Guard
    from fnguard.levers import build

    rng = np.random.default_rng(0)
    amount = rng.gamma(2, 500, 300).round(2)
    rate = rng.uniform(5, 25, 300).round(2)
    count = rng.integers(0, 50, 300).astype(float)
    count[::9] = np.nan
    table = pd.DataFrame({
        "amount": [f"${v:,.2f}" for v in amount], "rate": [f"{v}%" for v in rate],
        "count": ["?" if np.isnan(v) else str(int(v)) for v in count],
        "y": (amount > 1000).astype(int),
    })
    path = tmp_path / "loans.csv"
    table.to_csv(path, index=False)
    data = load_table(path, "y", 1)
    assert {c.name: c.kind for c in data.schema.columns} == {
        "amount": "numeric", "rate": "numeric", "count": "numeric"}
    np.testing.assert_allclose(data.X["amount"], amount)
    np.testing.assert_allclose(data.X["rate"], rate)
    np.testing.assert_array_equal(data.X["count"].isna(), np.isnan(count))
    assert any("currency or percent signs" in n and "'amount', 'rate', 'count'" in n
               for n in data.notes)
    guard = Guard(build(["logistic"], data.schema).fit(data.X, data.y), data.schema, "y", 1, 0,
                  "recall>=0.8", 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FnguardWarning)
        got = guard.predict(table.drop(columns="y"))
    np.testing.assert_allclose(got["score"], guard.predict(data.X)["score"])


def test_drop_takes_a_comma_separated_list() -> None:
    """Check that drop='id,when' leaves out both columns (--drop took one name only, while
    --levers takes a list), and that a column whose own name holds a comma is still one."""
    frame = pd.DataFrame({"id": range(40), "when": range(40), "a,b": np.arange(40) % 3,
                          "x": np.linspace(0, 1, 40), "y": [1, 0, 0, 0] * 10})
    data = load_table(frame, "y", positive=1, drop="id,when")
    assert "id" not in data.X.columns and "when" not in data.X.columns
    data = load_table(frame, "y", positive=1, drop=["a,b"])
    assert "a,b" not in data.X.columns and "x" in data.X.columns
    with pytest.raises(DataError, match="The dropped column 'id,nope'"):
        load_table(frame, "y", positive=1, drop="id,nope")


def test_a_numeric_column_with_a_typo_is_not_called_an_identifier() -> None:
    """Check that a column of distinct numbers but for one typo ('13,5' among decimal
    points) gets one note saying it is left out and how to keep it, not a second note
    calling it ids, names or free text with the advice to --drop it."""
    rng = np.random.default_rng(0)
    a = np.round(rng.normal(10, 3, 400), 3).astype(str).astype(object)
    a[5] = "13,5"
    frame = pd.DataFrame({"a": a, "b": rng.normal(size=400), "y": [1, 0, 0, 0] * 100})
    data = load_table(frame, "y", positive=1)
    assert "a" not in data.X.columns
    about = [n for n in data.notes if "'a'" in n]
    assert len(about) == 1 and "'13,5' (data row 6)" in about[0]
    assert "left out of the features; fix or blank that value" in about[0]
    assert "--drop" not in " ".join(data.notes)
