"""Tests of fnguard.distributed.predict against the single-machine predict_frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fnguard.data import load_table
from fnguard.distributed import predict_dask
from fnguard.errors import DataError, OutputError
from fnguard.guard import Guard
from fnguard.levers import build
from fnguard.serve.predict import predict_frame

from .conftest import kill_a_worker_during, write_parts


def table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    kind = rng.choice(["a", "b", "c"], n)
    y = (x + (kind == "a") + rng.normal(size=n) > 1.2).astype(int)
    return pd.DataFrame({"id": np.arange(n) + 1000, "x": x, "kind": kind, "y": y})


@pytest.fixture(scope="module")
def guard() -> Guard:
    data = load_table(table(600, seed=1), "y", positive=1, drop="id")
    pipe = build(["logistic"], data.schema).fit(data.X, data.y)
    return Guard(pipe, data.schema, "y", 1, 0, "recall>=0.9", threshold=0.4,
                 review_band=(0.4, 0.6))


def test_same_output_as_one_machine(ready, tmp_path, guard) -> None:
    """Check that the partitioned output, read back, equals predict_frame on all the rows."""
    frame = table(2500, seed=2)
    pattern = write_parts(frame, tmp_path / "in", [900, 0, 1, 1599])
    summary = predict_dask(guard, pattern, tmp_path / "out", client=ready, keep="id",
                           chunk_size=300)
    ref = predict_frame(guard, frame, keep="id")
    got = pd.read_parquet(tmp_path / "out")
    pd.testing.assert_frame_equal(got, ref)
    assert summary["files"] == [f"part-{i:05d}.parquet" for i in range(4)]
    assert (summary["rows"], summary["positives"]) == (2500, int(ref["decision"].sum()))
    band = ref[ref["review"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(summary["review"], band)
    assert summary["reviews"] == len(band) > 0
    cases = frame.iloc[band["row"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(summary["review_cases"], cases)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]


def test_guard_folder_and_overwrite(ready, tmp_path, guard) -> None:
    """Check that a saved Guard folder works and a full output folder needs overwrite."""
    folder = guard.save(tmp_path / "guard", report=False)
    pattern = write_parts(table(300, seed=3), tmp_path / "in", [150, 150])
    predict_dask(folder, pattern, tmp_path / "out", client=ready, keep="id")
    with pytest.raises(OutputError, match="is not empty: choose a new folder, or pass"):
        predict_dask(folder, pattern, tmp_path / "out", client=ready, keep="id")
    summary = predict_dask(
        folder, pattern, tmp_path / "out", client=ready, keep="id", overwrite=True
    )
    assert summary["rows"] == len(pd.read_parquet(tmp_path / "out")) == 300


def test_error_in_a_partition_writes_nothing(ready, tmp_path, guard) -> None:
    """Check that a bad value in one partition leaves no output and no temporary folder."""
    frame = table(200, seed=4).astype({"x": object})
    frame.loc[150, "x"] = "not a number"
    write_parts(frame.iloc[:100], tmp_path / "in", [100], fmt="csv")
    frame.iloc[100:].to_csv(tmp_path / "in" / "part-001.csv", index=False)
    with pytest.raises(DataError, match=r"part-001\.csv"):
        predict_dask(guard, str(tmp_path / "in" / "*.csv"), tmp_path / "out", client=ready)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"keep": "nope"}, DataError, "The column 'nope' to keep is not in"),
        ({"keep": "score"}, DataError, "share a name with an output column"),
        ({"chunk_size": 0}, DataError, "'chunk_size' must be an integer >= 1"),
    ],
)
def test_bad_options(ready, tmp_path, guard, kwargs, error, match) -> None:
    """Check that bad options are refused before any write."""
    pattern = write_parts(table(50), tmp_path / "in", [50])
    with pytest.raises(error, match=match):
        predict_dask(guard, pattern, tmp_path / "out", client=ready, **kwargs)
    assert not (tmp_path / "out").exists()


def test_killed_worker_loses_nothing(ready, tmp_path, guard) -> None:
    """Check that a worker killed while partitions are scored changes nothing in the output."""
    frame = table(60_000, seed=5)
    pattern = write_parts(frame, tmp_path / "in", [5000] * 12)
    summary, killed = kill_a_worker_during(
        ready,
        "_predict_part",
        lambda: predict_dask(guard, pattern, tmp_path / "out", client=ready, keep="id",
                             chunk_size=5000),
    )
    assert killed
    ref = predict_frame(guard, frame, keep="id")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out"), ref)
    assert summary["files"] == [f"part-{i:05d}.parquet" for i in range(12)]
    assert summary["reviews"] == int(ref["review"].sum())
