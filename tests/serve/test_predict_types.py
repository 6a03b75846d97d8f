"""Tests that prediction reads boolean columns and text codes as training did, whatever the
new table's format or chunking."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fnguard.data import datasets, infer_schema
from fnguard.errors import DataError, FnguardWarning
from fnguard.guard import Guard
from fnguard.levers import build
from fnguard.serve import predict_file


def _coded(frame: pd.DataFrame) -> pd.DataFrame:
    """Lending Club loans with the state as a zero-padded code ("07"; California as "CA") and
    the verification status as a bool."""
    states = sorted(frame["addr_state"].unique())
    codes = {s: ("CA" if s == "CA" else f"{i:02d}") for i, s in enumerate(states)}
    out = frame.drop(columns=["addr_state", "verification_status"])
    out["state_code"] = frame["addr_state"].map(codes).astype(object)
    out["verified"] = frame["verification_status"].eq("Verified")
    return out


@pytest.fixture(scope="module")
def coded_guard() -> tuple[Guard, pd.DataFrame]:
    """A LightGBM Guard on 3,000 loans with a text code and a bool column, and 600 new loans
    (California's last, so the first chunks of a file hold only number-like codes)."""
    data = datasets.load_lending_club()
    rows = np.random.default_rng(3).permutation(data.n_rows)
    X = _coded(data.X)
    train = rows[:3000]
    schema = infer_schema(X.iloc[train])
    assert schema["state_code"].kind == "categorical"
    assert schema["verified"].kind == "boolean"
    assert schema.text() == ["term", "sub_grade", "emp_length", "state_code"]
    pipe = build(["lightgbm"], schema, params={"lightgbm": {"n_estimators": 30}})
    pipe.fit(X.iloc[train], data.y[train])
    guard = Guard(pipe, schema, data.target, data.positive, data.negative,
                  "recall>=0.9", threshold=0.08, review_band=(0.06, 0.12))
    new = X.iloc[rows[3000:3600]].reset_index(drop=True)
    new = new.iloc[np.argsort(new["state_code"].eq("CA").to_numpy(), kind="stable")]
    return guard, new.reset_index(drop=True)


def _quiet_score(guard: Guard, frame: pd.DataFrame) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FnguardWarning)
        return guard.score(frame)


@pytest.mark.parametrize(
    "written",
    [
        lambda v: v.astype(int),
        lambda v: v.astype(float),
        lambda v: v.map({True: "yes", False: "No"}),
        lambda v: v.map({True: "TRUE", False: " f "}),
        lambda v: v.astype("boolean"),
    ],
    ids=["ints", "floats", "yes-no", "true-f", "nullable"],
)
def test_booleans_written_otherwise_score_the_same(coded_guard, written) -> None:
    """Check that a boolean feature given as 1/0, yes/no or true/false text scores exactly as
    the bools do (it used to be scored as an unseen level, i.e. as if missing)."""
    guard, new = coded_guard
    expected = _quiet_score(guard, new)
    # the column matters to the model, so reading it wrong would change scores
    flipped = _quiet_score(guard, new.assign(verified=~new["verified"]))
    assert np.abs(flipped - expected).max() > 0.01
    got = _quiet_score(guard, new.assign(verified=written(new["verified"])))
    np.testing.assert_array_equal(got, expected)


def test_booleans_keep_missing_values(coded_guard) -> None:
    guard, new = coded_guard
    values = new["verified"].astype(object)
    values[::3] = None
    as_text = values.map({True: "yes", False: "no"}, na_action="ignore")
    np.testing.assert_array_equal(
        _quiet_score(guard, new.assign(verified=as_text)),
        _quiet_score(guard, new.assign(verified=values)),
    )


@pytest.mark.parametrize("bad", ["maybe", 2, 0.5])
def test_booleans_that_are_not_refused(coded_guard, bad, tmp_path: Path) -> None:
    guard, new = coded_guard
    values = new["verified"].astype(object)
    values[5] = bad
    with pytest.raises(DataError, match=r"boolean column 'verified' .* holds 1 value that is "
                       r"not true or false, e\.g\. .* \(data row 6\): write true/false"):
        guard.score(new.assign(verified=values))
    source = tmp_path / "bad.csv"
    new.assign(verified=values).to_csv(source, index=False)
    with pytest.raises(DataError, match="boolean column 'verified'"):
        predict_file(guard, source, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("chunk_size", [50, 600])
def test_codes_with_leading_zeros_read_as_training_read_them(
    coded_guard, chunk_size: int, tmp_path: Path
) -> None:
    """Check that "07" stays "07" in a CSV chunk holding only number-like codes (pandas reads
    such a chunk as integers: "07" became 7, an unseen level, and scores depended on the
    chunk size)."""
    guard, new = coded_guard
    source = tmp_path / "new.csv"
    new.to_csv(source, index=False)
    assert pd.read_csv(source, nrows=50)["state_code"].dtype == np.int64  # the trap
    out = tmp_path / "out.parquet"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FnguardWarning)
        predict_file(guard, source, out, chunk_size=chunk_size)
    said = " ".join(str(w.message) for w in caught)
    assert "not seen in training" not in said and "another type" not in said
    np.testing.assert_allclose(
        pd.read_parquet(out)["score"], _quiet_score(guard, new), rtol=1e-12
    )


def test_retrain_reads_codes_as_text(coded_guard, tmp_path: Path) -> None:
    """read_frame(text=...) keeps the codes of a whole file that holds only number-like ones."""
    from fnguard.data import read_frame

    guard, new = coded_guard
    source = tmp_path / "numbers_only.csv"
    new[new["state_code"] != "CA"].to_csv(source, index=False)
    assert read_frame(source)["state_code"].dtype == np.int64
    read = read_frame(source, text=guard.schema.text())
    assert read["state_code"].tolist() == new.loc[new["state_code"] != "CA", "state_code"].tolist()
