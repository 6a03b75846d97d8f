"""Tests of the --engine / --cluster / --workers options of the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fnguard.cli import main

pytest.importorskip("distributed")


def _score_files(folder: Path) -> str:
    rng = np.random.default_rng(0)
    folder.mkdir()
    for i in range(3):
        y = rng.random(400) < 0.1
        p = np.clip(0.25 * y + rng.random(400) * 0.8, 0, 1).round(2)  # ties on purpose
        frame = pd.DataFrame({"y": y.astype(int), "p": p, "region": rng.choice(["a", "b"], 400)})
        frame.to_parquet(folder / f"part-{i}.parquet")
    return str(folder / "*.parquet")


def test_diagnose_dask_equals_local(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Check that diagnose --engine dask prints the same metrics and decision as one machine."""
    pattern = _score_files(tmp_path / "scores")
    merged = tmp_path / "all.parquet"
    parts = sorted((tmp_path / "scores").glob("*.parquet"))
    pd.concat(pd.read_parquet(f) for f in parts).to_parquet(merged)
    common = ["--label", "y", "--score", "p", "--positive", "1", "--json", "--n-boot", "50",
              "--require", "recall>=0.9"]
    code_local = main(["diagnose", str(merged), *common, "--out", str(tmp_path / "r1")])
    local = json.loads(capsys.readouterr().out)
    code_dask = main(["diagnose", pattern, *common, "--out", str(tmp_path / "r2"),
                      "--engine", "dask", "--workers", "2"])
    captured = capsys.readouterr()
    dask = json.loads(captured.out)
    assert code_dask == code_local
    assert "Dask: running on a local cluster" in captured.err
    for key in ("tp", "fp", "tn", "fn", "recall", "precision", "roc_auc", "pr_auc"):
        assert dask["metrics"][key]["value"] == pytest.approx(local["metrics"][key]["value"])
    assert dask["decisions"][0]["threshold"] == local["decisions"][0]["threshold"]
    assert (tmp_path / "r2" / "index.html").is_file()


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--cluster", "tcp://127.0.0.1:1"], "--cluster and --workers need --engine dask"),
        (["--engine", "spark"], "The engine must be one of local, dask"),
        (["--engine", "dask", "--cluster", "tcp://127.0.0.1:1"], "127.0.0.1:1"),
        (["--engine", "dask", "--calibrate", "isotonic"], "--calibrate"),
    ],
)
def test_engine_bad_input(
    args: list[str], match: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Check that misplaced or unusable engine options are bad input (exit 2, one line)."""
    pattern = _score_files(tmp_path / "scores")
    code = main(["diagnose", pattern, "--label", "y", "--score", "p", *args,
                 "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2
    assert match in " ".join(err.split())
    assert "Traceback" not in err


def test_predict_dask_equals_local(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Check that predict --engine dask writes what one machine writes, and enqueues the band."""
    from fnguard.data import datasets, infer_schema
    from fnguard.guard import Guard
    from fnguard.levers import build

    data = datasets.load_caravan()
    X, y = data.X.iloc[:1500], data.y[:1500]
    schema = infer_schema(X)
    pipe = build(["logistic"], schema).fit(X, y)
    guard = Guard(pipe, schema, "Purchase", "Yes", "No", "recall>=0.8", 0.05,
                  review_band=(0.05, 0.08))
    guard.save(tmp_path / "guard", report=False)
    folder = tmp_path / "new"
    folder.mkdir()
    for i in range(3):
        data.X.iloc[1500 + 400 * i: 1900 + 400 * i].to_parquet(folder / f"p{i}.parquet")
    local_in = tmp_path / "all.parquet"
    data.X.iloc[1500:2700].to_parquet(local_in)
    assert main(["predict", str(tmp_path / "guard"), str(local_in), "--out",
                 str(tmp_path / "local.parquet"), "--json"]) == 0
    capsys.readouterr()
    code = main(["predict", str(tmp_path / "guard"), str(folder / "*.parquet"), "--out",
                 str(tmp_path / "preds"), "--engine", "dask", "--workers", "2", "--json",
                 "--review-db", str(tmp_path / "review.sqlite"), "--review-capacity", "10"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    local = pd.read_parquet(tmp_path / "local.parquet")
    dask = pd.concat(pd.read_parquet(f) for f in sorted((tmp_path / "preds").glob("*.parquet")))
    assert dask["row"].tolist() == local["row"].tolist()
    np.testing.assert_allclose(dask["score"], local["score"])
    assert (dask["review"].to_numpy() == local["review"].to_numpy()).all()
    assert doc["queue"]["enqueued"] == min(10, int(local["review"].sum()))


def test_fit_dask_saves_a_sampled_guard(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Check that fit --engine dask saves a Guard that records what Dask sampled."""
    from fnguard.data import datasets
    from fnguard.guard import load

    data = datasets.load_caravan()
    frame = data.X.copy()
    frame["Purchase"] = np.where(data.y, "Yes", "No")
    folder = tmp_path / "train"
    folder.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), 4)):
        frame.iloc[rows].to_parquet(folder / f"part-{i}.parquet")
    code = main(["fit", str(folder / "*.parquet"), "--target", "Purchase", "--positive", "Yes",
                 "--require", "recall>=0.6", "--out", str(tmp_path / "guard"), "--budget", "30",
                 "--max-trials", "1", "--cv", "3", "--jobs", "1", "--no-report", "--json",
                 "--engine", "dask", "--workers", "2"])
    doc = json.loads(capsys.readouterr().out)
    assert code == (0 if doc["met"] else 1)
    guard = load(tmp_path / "guard")
    assert "dask" in guard.info
    assert any("sampl" in note for note in guard.info.get("notes", []))
