"""Tests of the command line's --engine dask paths: what the user sees on bad input and after."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fnguard.cli import main
from fnguard.data import load_table
from fnguard.guard import Guard
from fnguard.levers import build


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    kind = rng.choice(["a", "b", "c"], n)
    y = (x + (kind == "a") + rng.normal(size=n) > 1.2).astype(int)
    return pd.DataFrame({"x": x, "kind": kind, "y": y})


@pytest.fixture(scope="module")
def guard_dir(tmp_path_factory) -> Path:
    """A saved Guard whose review band holds a few percent of the rows."""
    data = load_table(_table(600, seed=1), "y", positive=1)
    pipe = build(["logistic"], data.schema).fit(data.X, data.y)
    guard = Guard(pipe, data.schema, "y", 1, 0, "recall>=0.9", threshold=0.4,
                  review_band=(0.4, 0.5))
    return guard.save(tmp_path_factory.mktemp("guard") / "guard", report=False)


@pytest.fixture
def parts(tmp_path) -> Path:
    """A folder of three Parquet partitions to score."""
    folder = tmp_path / "new"
    folder.mkdir()
    frame = _table(900, seed=2).drop(columns="y")
    for i in range(3):
        frame.iloc[300 * i : 300 * (i + 1)].to_parquet(folder / f"p{i}.parquet", index=False)
    return folder


def _status(db: Path, capsys: pytest.CaptureFixture) -> dict:
    capsys.readouterr()
    assert main(["review", "status", "--db", str(db), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_predict_dask_records_the_batch_as_locally(
    guard_dir: Path, parts: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Check that the review store holds the same batch (name, rows, auto-negatives) from Dask."""
    common = ["--review-capacity", "100%", "--json"]
    assert main(["predict", str(guard_dir), str(parts), "--out", str(tmp_path / "l.parquet"),
                 "--review-db", str(tmp_path / "local.sqlite"), *common]) == 0
    capsys.readouterr()
    assert main(["predict", str(guard_dir), str(parts), "--out", str(tmp_path / "preds"),
                 "--review-db", str(tmp_path / "dask.sqlite"), *common,
                 "--engine", "dask", "--workers", "1"]) == 0
    doc = json.loads(capsys.readouterr().out)
    local, dask = _status(tmp_path / "local.sqlite", capsys), _status(tmp_path / "dask.sqlite",
                                                                       capsys)
    assert dask == local
    assert local["batches"][0]["name"] == "new" and local["batches"][0]["rows"] == 900
    preds = pd.read_parquet(tmp_path / "preds")
    auto_negative = int(((preds["decision"] == 0) & ~preds["review"]).sum())
    assert local["audit"]["auto_negative"] == auto_negative > 0
    assert doc["queue"]["rows"] == 900 and doc["queue"]["auto_negative"] == auto_negative


@pytest.mark.parametrize(
    ("out", "setup", "match"),
    [
        ("preds.csv", None, r"--engine dask writes a folder of Parquet files .* names a \.csv "
                            r"file: give a folder path, e\.g\. --out .*preds\."),
        ("preds.parquet", None, r"names a \.parquet file"),
        ("preds", "notes.txt", r"holds files other than earlier predictions"),
    ],
)
def test_predict_dask_bad_out_before_the_cluster(
    guard_dir: Path, parts: Path, tmp_path: Path, capfd: pytest.CaptureFixture, out: str,
    setup: str | None, match: str,
) -> None:
    """Check that a file-like or foreign --out is refused before a cluster starts."""
    if setup is not None:
        (tmp_path / out).mkdir()
        (tmp_path / out / setup).write_text("mine")
    code = main(["predict", str(guard_dir), str(parts), "--out", str(tmp_path / out),
                 "--engine", "dask", "--workers", "1"])
    err = capfd.readouterr().err
    assert code == 2
    assert "Dask: running" not in err and "Traceback" not in err
    text = " ".join(err.split())
    assert re.search(match, text), text
    assert "--overwrite" not in text
    assert not (tmp_path / out).exists() or setup is not None


def test_predict_dask_replaces_earlier_predictions(
    guard_dir: Path, parts: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Check that a folder of earlier part files is replaced and a default folder is used."""
    args = ["predict", str(guard_dir), str(parts), "--engine", "dask", "--workers", "1", "--json"]
    assert main([*args, "--out", str(tmp_path / "preds")]) == 0
    assert main([*args, "--out", str(tmp_path / "preds")]) == 0
    assert len(pd.read_parquet(tmp_path / "preds")) == 900


@pytest.mark.parametrize("address", ["garbage", "", "http://127.0.0.1:8786", "tcp://127.0.0.1"])
def test_malformed_cluster_address(
    parts: Path, tmp_path: Path, capfd: pytest.CaptureFixture, address: str
) -> None:
    """Check that a malformed --cluster is bad input at once, with an example, no traceback."""
    started = time.monotonic()
    code = main(["diagnose", str(parts), "--label", "y", "--score", "x", "--engine", "dask",
                 "--cluster", address, "--out", str(tmp_path / "r")])
    err = capfd.readouterr().err
    assert code == 2
    assert time.monotonic() - started < 5
    text = " ".join(err.split())
    assert f"The scheduler address {address!r} is malformed" in text
    assert "e.g. tcp://10.0.0.5:8786" in text
    assert "Traceback" not in err and "Exception ignored" not in err


def test_worker_logs_stay_off_the_terminal(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    """Check that a bad partition read on a worker gives one error line, no worker traceback."""
    folder = tmp_path / "scores"
    folder.mkdir()
    pd.DataFrame({"y": [0.0, 1.0, 0.0], "p": [0.1, 0.8, 0.3]}).to_parquet(folder / "a.parquet")
    pd.DataFrame({"y": [0, None, 1], "p": [0.2, 0.6, 0.9]}).to_parquet(folder / "b.parquet")
    code = main(["diagnose", str(folder), "--label", "y", "--score", "p", "--engine", "dask",
                 "--workers", "1", "--out", str(tmp_path / "r")])
    err = capfd.readouterr().err
    assert code == 2
    assert "The label column 'y'" in err and "missing or empty value" in err
    assert "Traceback" not in err and "Compute Failed" not in err
    assert "distributed." not in err


def test_workers_option_is_named(parts: Path, tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    """Check that a bad --workers is a usage error naming the option."""
    code = main(["diagnose", str(parts), "--label", "y", "--score", "x", "--engine", "dask",
                 "--workers", "0", "--out", str(tmp_path / "r")])
    err = capfd.readouterr().err
    assert code == 2
    assert "--workers" in err and "'workers'" not in err


def test_engine_help_shows_the_install_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Check that the --engine help keeps [dask] of the install command (not read as markup)."""
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["diagnose", "--help"]) == 0
    assert "pip install 'fnguard[dask]'" in capsys.readouterr().out


def test_fit_dask_output_is_clean(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    """Check that a Dask fit prints no worker logs, and a worker's drift warning as a note."""
    folder = tmp_path / "train"
    folder.mkdir()
    frame = _table(1200, seed=3)
    held = int(np.random.default_rng(0).choice(3, 1, replace=False)[0])  # seed 0 holds it out
    for i in range(3):
        part = frame.iloc[400 * i : 400 * (i + 1)].copy()
        if i == held:
            part.iloc[0, part.columns.get_loc("x")] = 1e6  # far outside the training range
        part.to_parquet(folder / f"p{i}.parquet", index=False)
    code = main(["fit", str(folder), "--target", "y", "--positive", "1", "--require",
                 "recall>=0.6", "--out", str(tmp_path / "g"), "--budget", "20", "--levers",
                 "logistic", "--max-trials", "1", "--cv", "3", "--no-report", "--json",
                 "--engine", "dask", "--workers", "1"])
    err = capfd.readouterr().err
    assert code in (0, 1)
    assert "distributed." not in err and "Traceback" not in err and "still alive" not in err
    assert "note: Numbers far outside the training range" in " ".join(err.split())
    assert "guard.score(" not in err


def test_predict_dask_checks_the_review_store_before_the_cluster(
    guard_dir: Path, parts: Path, tmp_path: Path, capfd: pytest.CaptureFixture
) -> None:
    """Check that a review store of another Guard, or one that cannot be created, is refused
    before a cluster scores anything (as on one machine)."""
    other = load_table(_table(300, seed=3).rename(columns={"x": "w"}), "y", positive=1)
    pipe = build(["logistic"], other.schema).fit(other.X, other.y)
    other_guard = Guard(pipe, other.schema, "y", 1, 0, "recall>=0.9", threshold=0.4,
                        review_band=(0.4, 0.5))
    db = tmp_path / "other.sqlite"
    from fnguard.serve.queue import enqueue

    frame = _table(300, seed=4).rename(columns={"x": "w"}).drop(columns="y")
    enqueue(db, other_guard, frame, other_guard.predict(frame), capacity="100%", explain=False)
    for target in (db, tmp_path / "missing" / "r.sqlite"):
        code = main(["predict", str(guard_dir), str(parts), "--out", str(tmp_path / "p"),
                     "--engine", "dask", "--workers", "1", "--review-db", str(target)])
        err = capfd.readouterr().err
        assert code == 2 and "Dask: running" not in err and "Traceback" not in err, err
    assert not (tmp_path / "p").exists()


def test_batches_are_the_input_files_whatever_the_engine(
    guard_dir: Path, parts: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Check that the same files predicted locally and with Dask are one batch, counted
    once, and that other files are another batch (Dask keyed batches by their band rows:
    two files with the same band were one batch, the second's counts replacing the first's)."""
    db = tmp_path / "r.sqlite"
    common = ["--review-db", str(db), "--review-capacity", "100%", "--json"]
    assert main(["predict", str(guard_dir), str(parts), "--out", str(tmp_path / "l.parquet"),
                 *common]) == 0
    assert main(["predict", str(guard_dir), str(parts), "--out", str(tmp_path / "d"), *common,
                 "--engine", "dask", "--workers", "1"]) == 0
    once = _status(db, capsys)
    assert len(once["batches"]) == 1 and once["batches"][0]["rows"] == 900
    other = tmp_path / "other"
    other.mkdir()
    _table(400, seed=9).drop(columns="y").to_parquet(other / "q.parquet", index=False)
    assert main(["predict", str(guard_dir), str(other), "--out", str(tmp_path / "o"), *common,
                 "--engine", "dask", "--workers", "1"]) == 0
    twice = _status(db, capsys)
    assert sorted(b["rows"] for b in twice["batches"]) == [400, 900]
    preds = pd.concat([pd.read_parquet(tmp_path / "d"), pd.read_parquet(tmp_path / "o")])
    negatives = int(((preds["decision"] == 0) & ~preds["review"]).sum())
    assert twice["audit"]["auto_negative"] == negatives
