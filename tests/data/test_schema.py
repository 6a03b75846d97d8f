"""Tests for fnguard.data.schema: inferring column kinds and checking new data."""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fnguard.data import ColumnSpec, Schema, infer_schema
from fnguard.data.schema import MAX_CATEGORIES, Drift
from fnguard.errors import ArtifactError, DataError, FnguardWarning


def _mixed() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "count": [1, 2, 3, 4],
            "amount": [0.5, np.nan, 2.5, np.nan],
            "grade": ["A", None, "B", "A"],
            "flag": [True, False, True, True],
            "nullable_flag": pd.array([True, None, False, True], dtype="boolean"),
            "csv_flag": pd.Series([True, None, False, True], dtype=object),
            "colour": pd.Categorical(["red", "blue", "red", None]),
            "when": pd.to_datetime(["2024-01-01", None, "2024-03-01", "2024-04-01"]),
            "code": ["1", "2", "10", None],
            "y": [0, 1, 0, 1],
        }
    )


@pytest.mark.parametrize(
    ("name", "kind", "n_missing", "categories"),
    [
        ("count", "numeric", 0, None),
        ("amount", "numeric", 2, None),
        ("grade", "categorical", 1, ("A", "B")),
        ("flag", "boolean", 0, None),
        ("nullable_flag", "boolean", 1, None),
        ("csv_flag", "boolean", 1, None),
        ("colour", "categorical", 1, ("red", "blue")),
        ("when", "datetime", 1, None),
        ("code", "categorical", 1, ("1", "2", "10")),
    ],
)
def test_infer_schema_kinds(
    name: str, kind: str, n_missing: int, categories: tuple[str, ...] | None
) -> None:
    """Check the kind, missing count and frequency-ordered levels inferred for each column."""
    spec = infer_schema(_mixed(), target="y")[name]
    assert (spec.kind, spec.n_missing, spec.categories) == (kind, n_missing, categories)
    assert spec.dtype == str(_mixed()[name].dtype)


def test_infer_schema_leaves_out_target_and_lists_kinds() -> None:
    """Check that the target is not a feature and numeric()/categorical() split the names."""
    schema = infer_schema(_mixed(), target="y", positive=np.int64(1), negative=0)
    assert "y" not in schema
    assert schema.names == [c for c in _mixed().columns if c != "y"]
    assert schema.numeric() == ["count", "amount"]
    assert schema.categorical() == ["grade", "flag", "nullable_flag", "csv_flag", "colour", "code"]
    assert schema.datetime() == ["when"]
    assert type(schema.positive) is int
    assert len(schema) == 9


def test_infer_schema_truncates_many_categories() -> None:
    """Check that at most MAX_CATEGORIES levels are kept and the truncation is flagged."""
    frame = pd.DataFrame({"id": [f"row{i}" for i in range(MAX_CATEGORIES + 5)]})
    spec = infer_schema(frame)["id"]
    assert len(spec.categories) == MAX_CATEGORIES
    assert spec.categories_truncated
    assert not infer_schema(_mixed())["grade"].categories_truncated


def test_schema_round_trips_through_json() -> None:
    """Check that to_dict is JSON serialisable and from_dict rebuilds an equal schema."""
    schema = infer_schema(_mixed(), target="y", positive=1, negative=0)
    data = json.loads(json.dumps(schema.to_dict()))
    again = Schema.from_dict(data)
    assert again == schema
    assert again["grade"].categories == ("A", "B")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"columns": [{"name": "a"}]}, r"cannot be read \(KeyError"),
        ({"target": "y"}, r"cannot be read"),
        ({"columns": [{"name": "a", "kind": "text", "dtype": "str"}]}, r"must be one of"),
        ({"version": 99, "columns": []}, r"version 99"),
        ({"columns": 3}, r"cannot be read \(TypeError"),
    ],
)
def test_schema_from_dict_rejects_bad_input(data: dict[str, Any], match: str) -> None:
    """Check that a dict that is not a saved schema raises an ArtifactError."""
    with pytest.raises(ArtifactError, match=match):
        Schema.from_dict(data)


def test_schema_getitem_suggests_names() -> None:
    """Check that asking for an absent column raises KeyError with a suggestion."""
    with pytest.raises(KeyError, match="Did you mean 'grade'"):
        infer_schema(_mixed())["Grade_"]


def test_column_spec_rejects_unknown_kind() -> None:
    """Check that a ColumnSpec with an unknown kind cannot be built."""
    with pytest.raises(ValueError, match="must be one of"):
        ColumnSpec(name="a", kind="text", dtype="str")  # type: ignore[arg-type]


def _trained() -> Schema:
    frame = pd.DataFrame(
        {
            "age": [30.0, 40.0],
            "grade": ["A", "B"],
            "member": [True, False],
            "when": pd.to_datetime(["2024-01-01", "2024-02-01"]),
        }
    )
    return infer_schema(frame)


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (
            {"Age": [1], "grade": ["A"], "member": [True], "when": ["2024-01-01"]},
            r"lacks 1 column the model was trained on: 'age' \(did you mean 'Age'\?\)\. Add it",
        ),
        ({"member": [True]}, r"lacks 3 columns .*: 'age', 'grade', 'when'\. Add them"),
        (
            {"age": ["31", "n/a", "x"], "grade": "A", "member": True, "when": "2024-01-01"},
            r"numeric column 'age' in the DataFrame holds 2 non-numeric values, "
            r"e\.g\. 'n/a' \(data rows 2, 3\)",
        ),
        (
            {"age": [1.0, 2.0], "grade": "A", "member": True, "when": ["2024-01-01", "soon"]},
            r"date column 'when' .* 1 value that cannot be read as dates, "
            r"e\.g\. 'soon' \(data row 2\)",
        ),
        (
            {"age": [1.0, np.inf], "grade": "A", "member": True, "when": "2024-01-01"},
            r"numeric column 'age' in the DataFrame holds 1 infinite value \(data row 2\)",
        ),
        (
            {"age": ["1", "-inf"], "grade": "A", "member": True, "when": "2024-01-01"},
            r"numeric column 'age' .* 1 infinite value \(data row 2\): replace it",
        ),
    ],
)
def test_schema_check_rejects_bad_frames(frame: dict[str, Any], match: str) -> None:
    """Check that new data with missing columns or unreadable values raises a DataError."""
    with pytest.raises(DataError, match=match):
        _trained().check(pd.DataFrame(frame))


def test_schema_check_orders_coerces_and_drops() -> None:
    """Check that the result has the schema's columns in order, numeric ones as float."""
    new = pd.DataFrame(
        {
            "extra": [1, 2, 3],
            "when": ["2024-03-01", None, "2024-04-01"],
            "member": [False, True, True],
            "grade": ["B", "A", None],
            "age": ["50", "", None],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = _trained().check(new)
    assert out.columns.tolist() == ["age", "grade", "member", "when"]
    assert out["age"].dtype == np.float64
    np.testing.assert_array_equal(out["age"].to_numpy(), [50.0, np.nan, np.nan])
    assert pd.api.types.is_datetime64_any_dtype(out["when"])
    assert new.columns.tolist()[0] == "extra"


def test_schema_check_warns_about_unseen_categories() -> None:
    """Check that unseen categories are allowed but reported with a FnguardWarning."""
    new = pd.DataFrame({"age": [1.0, 2.0, 3.0], "grade": ["A", "Z", "Z"],
                        "member": True, "when": "2024-01-01"})
    with pytest.warns(FnguardWarning, match=r"not seen in training .*'grade': 'Z' \(2 rows\)"):
        out = _trained().check(new, source="new.csv")
    assert out["grade"].tolist() == ["A", "Z", "Z"]


def test_unseen_free_text_is_shown_short() -> None:
    """Check that unseen values of free text are shown on one line and cut short, with their
    length, in the note (whole multi-paragraph descriptions filled the screen)."""
    text = "A laptop was stolen from a car.\nThe data held names and addresses. " * 8
    new = pd.DataFrame({"age": [1.0], "grade": [text], "member": True, "when": "2024-01-01"})
    with pytest.warns(FnguardWarning) as caught:
        _trained().check(new, source="new.csv")
    message = " ".join(str(w.message) for w in caught)
    assert "'A laptop was stolen from a car. The data…'" in message
    assert f"({len(text)} characters)" in message and "\n" not in message


def test_schema_check_reads_number_codes_as_text() -> None:
    """Check that category codes re-read as numbers are compared with training as text."""
    schema = infer_schema(pd.DataFrame({"code": ["1", "2", "10"]}))
    new = pd.DataFrame({"code": [1.0, 10.0, np.nan]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = schema.check(new)
    assert out["code"].tolist()[:2] == ["1", "10"]
    assert pd.isna(out["code"].iloc[2])


def test_unseen_categories_count_every_row_past_the_levels_kept() -> None:
    """Check that the unseen-category warning counts every row, also those of levels past the
    first ones it keeps by name (600 rows of 300 new levels)."""
    from fnguard.data.schema import Drift

    schema = infer_schema(pd.DataFrame({"grade": ["A", "B"] * 20}))
    new = pd.DataFrame({"grade": [f"new{i % 300}" for i in range(600)]})
    drift = Drift(schema)
    for start in range(0, 600, 100):  # in chunks, as predict streams them
        schema.check(new.iloc[start : start + 100], drift=drift)
    text = " ".join(message for _, message in drift.findings())
    assert "(600 rows)" in text


def test_columns_constant_in_training_may_be_left_out() -> None:
    """Check that a column that held one value (or none) in every training row may be absent
    from new data: it is filled with that value, with one warning, and scores do not change;
    a column that varied is still required."""
    from fnguard.levers import build

    rng = np.random.default_rng(0)
    n = 400
    train = pd.DataFrame({
        "x": rng.normal(size=n),
        "grade": rng.choice(["A", "B", "C"], n),
        "version": 3.0,
        "country": "NL",
        "empty": np.nan,
    })
    y = (train["x"] + (train["grade"] == "A") + rng.normal(size=n) > 1).to_numpy()
    schema = infer_schema(train)
    assert [schema[c].filler()[0] for c in schema.names] == [False, False, True, True, True]
    pipe = build(["logistic"], schema).fit(train, y)
    new = train.iloc[:50]
    with warnings.catch_warnings():
        warnings.simplefilter("error", FnguardWarning)
        warnings.filterwarnings("ignore", "Skipping features without any observed values")
        expected = pipe.predict_proba(schema.check(new))[:, 1]
        slim = new[["grade", "x"]]
    said = (
        r"3 columns the model was trained on are absent from the DataFrame: 'version' "
        r"\(always 3\.0 in training\), 'country' \(always 'NL' in training\), 'empty' "
        r"\(empty in training\)\. Training saw a single value there \(or none\), so the model "
        r"learnt nothing from them; they were filled with that value\."
    )
    with pytest.warns(FnguardWarning, match=said) as got:
        checked = schema.check(slim)
    assert len([w for w in got if w.category is FnguardWarning]) == 1
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipping features without any observed values")
        np.testing.assert_array_equal(pipe.predict_proba(checked)[:, 1], expected)
    drift = Drift(schema)
    schema.check(slim, drift=drift)
    assert [kind for kind, _ in drift.findings()] == ["absent-constant"]
    with pytest.raises(DataError, match="lacks 1 column the model was trained on: 'x'"):
        schema.check(new.drop(columns=["x", "version"]))


def test_schema_check_rejects_repeated_columns_it_reads() -> None:
    """Check that a frame with two columns of a name the model reads is a DataError naming
    it (pandas raised an AttributeError deep inside), while repeated extra columns, which are
    dropped, pass."""
    good = {"age": [30.0], "grade": ["A"], "member": [True], "when": ["2024-01-01"]}
    frame = pd.concat([pd.DataFrame(good), pd.DataFrame({"age": [31.0]})], axis=1)
    with pytest.raises(DataError, match=r"duplicate column names the model reads: 'age' \(2 "):
        _trained().check(frame)
    extra = pd.concat([pd.DataFrame(good), pd.DataFrame([[1, 2]], columns=["id", "id"])], axis=1)
    assert list(_trained().check(extra).columns) == ["age", "grade", "member", "when"]


def test_complex_column_is_refused_up_front() -> None:
    """Check that a complex-valued column is a DataError naming it and the fix (every trial of
    a search failed on it, with a dump of the frame as the message)."""
    frame = pd.DataFrame({"a": [1.0, 2.0], "z": np.array([1 + 2j, 3 - 1j])})
    with pytest.raises(DataError, match=r"column 'z' holds complex numbers .*\.real and \.imag"):
        infer_schema(frame)


def test_dates_in_another_format_read_one_way() -> None:
    """Check that new dates not written as in training are read with one format for the
    whole column (read value by value, 05/08/2020 was 8 May beside 25/08/2020 as 25 August,
    and predictions changed silently), and that a column that reads two ways is an error."""
    schema = _trained()
    good = {"age": 1.0, "grade": "A", "member": True}
    dayfirst = schema.check(pd.DataFrame({**good, "when": ["05/08/2020", "25/08/2020"]}))
    assert dayfirst["when"].dt.strftime("%Y-%m-%d").tolist() == ["2020-08-05", "2020-08-25"]
    monthfirst = schema.check(pd.DataFrame({**good, "when": ["08/05/2020", "08/25/2020"]}))
    assert monthfirst["when"].dt.strftime("%Y-%m-%d").tolist() == ["2020-08-05", "2020-08-25"]
    with pytest.raises(DataError, match=r"reads two ways: '05/08/2020' \(data row 1\) is"):
        schema.check(pd.DataFrame({**good, "when": ["05/08/2020", "06/09/2021"]}))
    with pytest.raises(DataError, match=r"1 value that cannot be read as dates"):
        schema.check(pd.DataFrame({**good, "when": ["2020-08-05", "soon"]}))
    # no single format reads them all: value by value, kept when day first reads the same
    mixed = schema.check(pd.DataFrame({
        **good, "when": ["2020-08-05", " 25/08/20", "7/26/2024 13:00", "01-JUL-24"]
    }))
    assert mixed["when"].dt.strftime("%Y-%m-%d %H:%M").tolist() == [
        "2020-08-05 00:00", "2020-08-25 00:00", "2024-07-26 13:00", "2024-07-01 00:00"
    ]
    with pytest.raises(DataError, match=r"reads two ways: '05/08/20' .* read month first"):
        schema.check(pd.DataFrame({**good, "when": ["05/08/20", "7/26/2024 13:00"]}))


def test_dates_far_outside_the_training_range_are_drift() -> None:
    """Check that dates far past the training dates are reported, as numbers are (they were
    not), with the dates shown as dates, and that the range survives the schema's JSON."""
    from fnguard.data.schema import Drift

    schema = _trained()  # when: 2024-01-01 to 2024-02-01
    again = Schema.from_dict(json.loads(json.dumps(schema.to_dict())))
    assert (again["when"].low, again["when"].high) == (schema["when"].low, schema["when"].high)
    new = pd.DataFrame({"age": [31.0, 32.0], "grade": "A", "member": True,
                        "when": ["2024-01-15", "2026-05-01"]})
    drift = Drift(again)
    again.check(new, drift=drift)
    (message,) = drift.warn()
    assert message.startswith("Values far outside the training range in the DataFrame: 'when': "
                              "1 row, e.g. 2026-05-01 (training range 2024-01-01 to 2024-02-01)")
    for later in ("2024-02-20", "2024-12-20"):  # scoring later data: the normal use
        near = Drift(again)
        again.check(new.assign(when=later), drift=near)
        assert near.findings() == []
