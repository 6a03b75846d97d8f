"""Tests of ``fnguard predict``: exit codes, the JSON summary and the Rich summary."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fnguard.cli import main
from fnguard.data import datasets
from fnguard.guard import Guard
from fnguard.levers import build


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Guard]:
    """A Guard folder (logistic regression on 1,000 loans) and 400 new loans as CSV."""
    data = datasets.load_lending_club()
    pipe = build(["logistic"], data.schema).fit(data.X.iloc[:1000], data.y[:1000])
    guard = Guard(pipe, data.schema, data.target, data.positive, data.negative,
                  "recall>=0.9", threshold=0.07, review_band=(0.07, 0.1))
    folder = tmp_path_factory.mktemp("predict")
    guard.save(folder / "guard", report=False)
    new = data.X.iloc[1000:1400].reset_index(drop=True)
    new.insert(0, "id", np.arange(1000, 1400))
    new.to_csv(folder / "new.csv", index=False)
    return folder / "guard", folder / "new.csv", guard


def test_json_summary_matches_the_output(saved, tmp_path: Path, capsys) -> None:
    """Check exit 0 and that the JSON counts equal the rows of the written file."""
    guard_dir, data, guard = saved
    out = tmp_path / "p.parquet"
    code = main(["predict", str(guard_dir), str(data), "--out", str(out), "--keep", "id",
                 "--chunk-size", "150", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    doc = json.loads(captured.out)
    written = pd.read_parquet(out)
    assert written.columns.tolist() == ["row", "id", "score", "decision", "label", "review"]
    assert doc["rows"] == len(written) == 400 and doc["chunks"] == 3
    assert doc["positives"] == int(written["decision"].sum())
    assert doc["reviews"] == int(written["review"].sum())
    assert doc["threshold"] == 0.07 and doc["review_band"] == [0.07, 0.1]
    assert doc["output"] == str(out) and doc["warnings"] == []
    expected = guard.score(pd.read_csv(data).drop(columns="id"))
    np.testing.assert_allclose(written["score"], expected, rtol=1e-12)


def test_rich_summary(saved, tmp_path: Path, capsys) -> None:
    """Check that without --json the summary table names rows, positives, reviews and time."""
    guard_dir, data, _ = saved
    code = main(["predict", str(guard_dir), str(data), "--out", str(tmp_path / "p.csv")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    for words in ("rows scored", "400", "flagged positive", "review cases", "time"):
        assert words in captured.out
    assert "'id'" in captured.err and "note:" in captured.err  # the unkept id column


def _tamper(guard_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "tampered"
    shutil.copytree(guard_dir, copy)
    raw = bytearray((copy / "model.skops").read_bytes())
    raw[100] ^= 0xFF
    (copy / "model.skops").write_bytes(bytes(raw))
    return copy


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("missing-columns", r"lacks 1 column the model was trained on: 'int_rate'"),
        ("not-a-guard", r"is not a Guard: it has no guard\.json"),
        ("tampered", r"does not match its SHA-256 checksum"),
        ("bad-suffix", r"unsupported extension \(\.xlsx\)"),
        ("no-data", r"does not exist"),
    ],
)
def test_bad_input_exits_2(case: str, match: str, saved, tmp_path: Path, capsys) -> None:
    """Check exit 2 with one red error line and no traceback, and no output file, per bad input."""
    guard_dir, data, _ = saved
    out = tmp_path / "p.csv"
    if case == "missing-columns":
        data = tmp_path / "short.csv"
        pd.read_csv(saved[1]).drop(columns="int_rate").to_csv(data, index=False)
    elif case == "not-a-guard":
        guard_dir = tmp_path
    elif case == "tampered":
        guard_dir = _tamper(guard_dir, tmp_path)
    elif case == "bad-suffix":
        out = tmp_path / "p.xlsx"
    else:
        data = tmp_path / "absent.csv"
    code = main(["predict", str(guard_dir), str(data), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.err
    assert captured.err.strip().splitlines()[-1].startswith("error:")
    assert re.search(match, " ".join(captured.err.split())), captured.err
    assert not out.exists()


def test_real_executable(saved, tmp_path: Path) -> None:
    """Check that the installed `fnguard predict` runs end to end and prints JSON."""
    guard_dir, data, _ = saved
    exe = Path(sys.executable).parent / "fnguard"
    if not exe.exists():
        pytest.skip("the fnguard console script is not installed in this environment")
    done = subprocess.run(
        [str(exe), "predict", str(guard_dir), str(data), "--out", str(tmp_path / "p.csv"),
         "--keep", "id", "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == 400


@pytest.mark.parametrize(("signame", "code", "word"), [
    ("SIGTERM", 143, "terminated"), ("SIGINT", 130, "interrupted"), ("SIGHUP", 129, "hung up"),
])
def test_sigterm_leaves_no_half_written_output(
    saved, tmp_path: Path, signame: str, code: int, word: str
) -> None:
    """Check that SIGTERM (timeout, docker stop) stops `fnguard predict` as Ctrl-C does: exit
    143 (130 for Ctrl-C), a one-word message, and neither the output nor its temporary file
    left behind."""
    import signal
    import time

    guard_dir, data, _ = saved
    big = tmp_path / "big.csv"
    frame = pd.read_csv(data)
    pd.concat([frame] * 250, ignore_index=True).to_csv(big, index=False)  # 100,000 rows
    out = tmp_path / "out" / "p.csv"
    out.parent.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fnguard", "predict", str(guard_dir), str(big), "--out",
         str(out), "--chunk-size", "200"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while not list(out.parent.glob(".p.csv.*")) and proc.poll() is None:
        assert time.monotonic() < deadline, "the temporary output never appeared"
        time.sleep(0.02)
    if proc.poll() is not None:
        pytest.skip("the prediction ended before it could be stopped")
    proc.send_signal(getattr(signal, signame))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1] == word and "Traceback" not in err
    assert list(out.parent.iterdir()) == []


def test_output_inside_the_input_folder_is_refused(saved, tmp_path: Path, capsys) -> None:
    """Check that an output inside an input folder of Parquet files (all of which are read)
    is refused before scoring, with the reason."""
    guard_dir, data, _ = saved
    folder = tmp_path / "parts"
    folder.mkdir()
    frame = pd.read_csv(data)
    frame.iloc[:200].to_parquet(folder / "a.parquet")
    frame.iloc[200:].to_parquet(folder / "b.parquet")
    code = main(["predict", str(guard_dir), str(folder), "--out", str(folder / "p.parquet")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "is inside the input folder" in err
    assert sorted(p.name for p in folder.iterdir()) == ["a.parquet", "b.parquet"]
    assert main(["predict", str(guard_dir), str(folder), "--out", str(tmp_path / "p.parquet")]) == 0


def test_output_inside_a_guard_folder_is_refused(saved, tmp_path: Path, capsys) -> None:
    """Check that predictions written into a Guard's folder are refused before scoring: a
    file named like one of its own (holdout.parquet) replaced it and left the Guard unloadable
    (a checksum mismatch), and any other file there would be deleted by a new fit."""
    import fnguard
    from fnguard.errors import OutputError
    from fnguard.serve.predict import predict_file

    guard_dir, data, _ = saved
    copy = tmp_path / "g"
    shutil.copytree(guard_dir, copy)
    before = sorted(p.name for p in copy.rglob("*"))
    for name in ("holdout.parquet", "predictions.csv", "report/holdout/misses.csv"):
        code = main(["predict", str(copy), str(data), "--out", str(copy / name)])
        err = " ".join(capsys.readouterr().err.split())
        assert code == 2 and "is inside the Guard folder" in err and "Traceback" not in err
    assert sorted(p.name for p in copy.rglob("*")) == before
    fnguard.load(copy)  # still whole
    with pytest.raises(OutputError, match="inside the Guard folder"):
        predict_file(copy, data, copy / "holdout.parquet")
    # nor a new review database, nor the Dask engine's folder of parts
    code = main(["predict", str(copy), str(data), "--out", str(tmp_path / "p.csv"),
                 "--review-db", str(copy / "review.sqlite")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "would be created inside the Guard folder" in err
    assert not (copy / "review.sqlite").exists() and not (tmp_path / "p.csv").exists()
    from fnguard.distributed.predict import check_output_folder

    with pytest.raises(OutputError, match="inside the Guard folder"):
        check_output_folder(copy / "preds")
    assert sorted(p.name for p in copy.rglob("*")) == before


def test_signals_take_their_default_action_once_the_command_is_done(monkeypatch) -> None:
    """Check that entry() watches SIGTERM and SIGHUP only while the command runs: a SIGTERM
    during the interpreter's exit (loky joining its workers) raised in an exit hook, with a
    traceback and exit code 0."""
    import signal

    import fnguard.cli as cli

    seen = {}

    def command(argv=None):
        seen.update({s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)})
        return 0

    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    monkeypatch.setattr(cli, "main", command)
    try:
        with pytest.raises(SystemExit) as done:
            cli.entry()
        assert done.value.code == 0
        assert all(h is cli._terminate for h in seen.values())
        assert signal.getsignal(signal.SIGTERM) == signal.getsignal(signal.SIGHUP) == (
            signal.SIG_DFL)
    finally:
        for s, h in before.items():
            signal.signal(s, h)
