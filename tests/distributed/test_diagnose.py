"""Tests of fnguard.distributed.diagnose: the same Diagnosis and report as one machine."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from fnguard.data import load_scores
from fnguard.distributed import diagnose_dask
from fnguard.errors import DataError
from fnguard.metrics.diagnosis import diagnose_table
from fnguard.report import write_report

from .conftest import kill_a_worker_during, scores_frame, write_parts


def _reference(frame: pd.DataFrame, n_boot_override: int = 200, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scored = load_scores(frame, label="y", score="p", positive=options.pop("positive", None))
    return diagnose_table(scored, n_boot=n_boot_override, **options)


def _doc(d) -> dict:
    doc = d.to_dict(max_misses=10**9)
    doc["input"]["source"] = None
    return doc


@pytest.mark.parametrize(
    ("n", "sizes", "options"),
    [
        (4000, [1500, 0, 1, 2499], {"threshold": 0.5, "positive": 1}),
        (3000, [1000, 1000, 1000], {"threshold": 0.3, "confidence": 0.9}),
    ],
)
def test_same_diagnosis_as_one_machine(ready, tmp_path, n, sizes, options) -> None:
    """Check that every figure, slice, miss, finding and note equals the single-machine one."""
    frame = scores_frame(n, seed=n)
    pattern = write_parts(frame, tmp_path, sizes)
    ref = _reference(frame, **dict(options))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = diagnose_dask(pattern, "y", "p", client=ready, n_boot=200, **options)
    assert _doc(got) == _doc(ref)
    pd.testing.assert_frame_equal(got.misses, ref.misses)
    assert got.slices == ref.slices
    assert any(s.feature == "region" and s.level == "r07" and s.flagged for s in got.slices)
    got.source = ref.source
    a = (write_report(got, tmp_path / "a")).read_text()
    b = (write_report(ref, tmp_path / "b")).read_text()
    assert a == b


def test_many_categories_pool_like_one_machine(ready, tmp_path) -> None:
    """Check that tied category counts across partitions pool the same rarest levels."""
    rng = np.random.default_rng(3)
    n = 2000
    frame = pd.DataFrame(
        {
            "y": (rng.random(n) < 0.3).astype(int),
            "p": rng.random(n).round(1),
            "shop": rng.choice([f"s{i}" for i in range(40)], n),
            "v": rng.normal(size=n),
        }
    )
    frame.loc[::97, "shop"] = None
    pattern = write_parts(frame, tmp_path, [333, 667, 1000])
    got = diagnose_dask(pattern, "y", "p", 1, client=ready, n_boot=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = diagnose_table(load_scores(frame, label="y", score="p", positive=1), n_boot=0)
    assert got.slices == ref.slices
    assert any(s.level == "(other levels)" for s in got.slices)


def test_misses_limited_to_the_lowest(ready, tmp_path) -> None:
    """Check that max_misses keeps the lowest-scored misses, in the single-machine order."""
    frame = scores_frame(2000, seed=5)
    pattern = write_parts(frame, tmp_path, [1000, 1000])
    got = diagnose_dask(pattern, "y", "p", 1, client=ready, n_boot=0, max_misses=7)
    ref = _reference(frame, positive=1)
    pd.testing.assert_frame_equal(got.misses, ref.misses.head(7))
    assert any("lowest-scored" in note for note in got.notes)


def test_no_slices(ready, tmp_path) -> None:
    """Check that slices=False reads no feature and lists misses with row and score only."""
    frame = scores_frame(1000, seed=6)
    pattern = write_parts(frame, tmp_path, [500, 500])
    got = diagnose_dask(pattern, "y", "p", 1, client=ready, n_boot=0, slices=False)
    assert got.slices == [] and list(got.misses.columns) == ["row", "score"]


def test_csv_partitions(ready, tmp_path) -> None:
    """Check that CSV partitions give the same curve and slices as one machine."""
    frame = scores_frame(1200, seed=7)
    pattern = write_parts(frame, tmp_path, [600, 600], fmt="csv")
    got = diagnose_dask(pattern, "y", "p", 1, client=ready, n_boot=0)
    ref = diagnose_table(load_scores(frame, label="y", score="p", positive=1), n_boot=0)
    np.testing.assert_array_equal(got.curve.tp, ref.curve.tp)
    assert got.slices == ref.slices


@pytest.mark.parametrize("empty", [0, 1, 2])
def test_csv_column_empty_in_one_partition(ready, tmp_path, empty) -> None:
    """Check that a column with no value in one CSV partition (read there as numbers) merges
    with the text or numbers of the others, as the concatenated file reads on one machine."""
    frame = scores_frame(900, seed=9)
    frame["amount"] = frame["amount"].fillna(1.0)
    rows = slice(300 * empty, 300 * (empty + 1))
    frame.loc[frame.index[rows], ["region", "amount"]] = np.nan
    pattern = write_parts(frame, tmp_path, [300, 300, 300], fmt="csv")
    got = diagnose_dask(pattern, "y", "p", 1, client=ready, n_boot=0)
    whole = tmp_path / "all.csv"
    frame.to_csv(whole, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = diagnose_table(load_scores(str(whole), label="y", score="p", positive=1), n_boot=0)
    assert got.slices == ref.slices
    assert any(s.feature == "region" and s.level == "(missing)" for s in got.slices)


def _mismatch(tmp_path):
    a = pd.DataFrame({"y": [0, 1], "p": [0.1, 0.9], "amount": [1.0, 2.0]})
    b = pd.DataFrame({"y": [0, 1], "p": [0.1, 0.9], "amount": ["x", "y"]})
    a.to_parquet(tmp_path / "a.parquet")
    b.to_parquet(tmp_path / "b.parquet")
    return str(tmp_path / "*.parquet")


def _missing_column(tmp_path):
    pd.DataFrame({"y": [0, 1], "p": [0.1, 0.9], "k": [1, 2]}).to_parquet(tmp_path / "a.parquet")
    pd.DataFrame({"y": [0, 1], "p": [0.1, 0.9]}).to_parquet(tmp_path / "b.parquet")
    return str(tmp_path / "*.parquet")


def _csv_kinds(tmp_path):
    pd.DataFrame({"y": [0, 1], "p": [0.1, 0.9], "k": [1, 2]}).to_csv(tmp_path / "a.csv")
    pd.DataFrame({"y": [0, 1], "p": [0.1, 0.9], "k": ["u", "v"]}).to_csv(tmp_path / "b.csv")
    return str(tmp_path / "*.csv")


def _bad_score(tmp_path):
    pd.DataFrame({"y": [0, 1], "p": [0.1, 0.9]}).to_csv(tmp_path / "a.csv", index=False)
    pd.DataFrame({"y": [0, 1], "p": ["0.2", "high"]}).to_csv(tmp_path / "b.csv", index=False)
    return str(tmp_path / "*.csv")


def _three_labels(tmp_path):
    pd.DataFrame({"y": [0, 1], "p": [0.1, 0.9]}).to_parquet(tmp_path / "a.parquet")
    pd.DataFrame({"y": [2, 1], "p": [0.1, 0.9]}).to_parquet(tmp_path / "b.parquet")
    return str(tmp_path / "*.parquet")


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda t: str(t / "nothing-*.parquet"), r"The pattern '.*nothing-\*.parquet' matches no"),
        (_mismatch, r"'amount' is (large_)?string in '.*b.parquet' but double in '.*a.parquet'"),
        (_missing_column, r"'.*b.parquet' has no column 'k'"),
        (_csv_kinds, r"column 'k' is numeric in '.*a.csv' but text or boolean in '.*b.csv'"),
        (_bad_score, r"The score column 'p' in '.*b.csv' holds 1 non-numeric value"),
        (_three_labels, r"has 3 distinct values, not 2"),
    ],
)
def test_bad_input(ready, tmp_path, make, match) -> None:
    """Check that bad partitions are refused naming the file and the column."""
    with pytest.raises(DataError, match=match):
        diagnose_dask(make(tmp_path), "y", "p", 1, client=ready, n_boot=0)


def test_killed_worker_changes_nothing(ready, tmp_path) -> None:
    """Check that a worker killed while partitions are summarised leaves the result unchanged."""
    frame = scores_frame(120_000, seed=8, decimals=4)
    pattern = write_parts(frame.drop(columns="id"), tmp_path, [10_000] * 12)
    got, killed = kill_a_worker_during(
        ready,
        "_summarize",
        lambda: diagnose_dask(pattern, "y", "p", 1, client=ready, n_boot=0, max_misses=50),
    )
    assert killed
    ref = _reference(frame.drop(columns="id"), positive=1, n_boot_override=0)
    pd.testing.assert_frame_equal(got.misses, ref.misses.head(50))
    a, b = _doc(got), _doc(ref)
    for doc in (a, b):
        del doc["misses"], doc["notes"]
    assert a == b
