"""Tests of the ``fnguard`` command line, called in-process with an argv list."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import recall_score, roc_auc_score

from fnguard.cli import main


@pytest.fixture(scope="module")
def scores_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scored table with a planted weak slice: region 'north' is missed more often."""
    rng = np.random.default_rng(7)
    n = 3000
    region = rng.choice(["north", "south", "east"], n)
    y = rng.random(n) < 0.1
    shift = np.where(region == "north", 0.25, 0.0)
    p = np.clip(np.where(y, rng.beta(5, 2, n) - shift, rng.beta(1, 6, n)), 0, 1)
    path = tmp_path_factory.mktemp("scores") / "scores.csv"
    pd.DataFrame(
        {"y": np.where(y, "fraud", "ok"), "p": p, "region": region, "amount": rng.gamma(2, 50, n)}
    ).to_csv(path, index=False)
    return path


def test_diagnose_json(scores_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Check that --json prints one document whose metrics match scikit-learn."""
    out = tmp_path / "report"
    code = main(
        ["diagnose", str(scores_csv), "--label", "y", "--score", "p", "--positive", "fraud",
         "--threshold", "0.4", "--out", str(out), "--json", "--n-boot", "200"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    doc = json.loads(captured.out)
    frame = pd.read_csv(scores_csv)
    y = (frame["y"] == "fraud").to_numpy()
    assert doc["input"]["positive"] == "fraud"
    assert doc["input"]["n_positive"] == int(y.sum())
    assert doc["metrics"]["recall"]["value"] == pytest.approx(
        recall_score(y, frame["p"] >= 0.4), abs=1e-12
    )
    assert doc["metrics"]["roc_auc"]["value"] == pytest.approx(roc_auc_score(y, frame["p"]))
    assert isinstance(doc["saturation"]["saturated"], bool)
    assert doc["saturation"]["saturated"] is False
    flagged = [s for s in doc["slices"] if s["flagged"]]
    assert flagged and flagged[0]["feature"] == "region" and flagged[0]["level"] == "north"
    assert doc["misses"]["count"] == doc["metrics"]["fn"]["value"]
    assert Path(doc["report"]).is_file()
    assert (out / "misses.csv").is_file()


def test_diagnose_tables(scores_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Check that the terminal summary names the misses and the report path."""
    code = main(
        ["diagnose", str(scores_csv), "--label", "y", "--score", "p", "--out",
         str(tmp_path / "r"), "--n-boot", "100"]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "FN (missed)" in captured.out
    assert "index.html" in captured.out
    # No --positive: the minority class was chosen and said out loud.
    assert "minority" in captured.err and "fraud" in captured.err


def test_diagnose_parquet(scores_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Check that Parquet input gives the same counts as CSV."""
    parquet = tmp_path / "scores.parquet"
    pd.read_csv(scores_csv).to_parquet(parquet)
    docs = []
    for path in (scores_csv, parquet):
        assert main(["diagnose", str(path), "--label", "y", "--score", "p", "--positive",
                     "fraud", "--json", "--out", str(tmp_path / path.suffix[1:]),
                     "--n-boot", "50"]) == 0
        docs.append(json.loads(capsys.readouterr().out))
    assert docs[0]["metrics"]["fn"] == docs[1]["metrics"]["fn"]


def test_saturated_scores_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Check that a network's saturated sigmoid is called saturated in the JSON."""
    rng = np.random.default_rng(0)
    y = rng.random(500) < 0.2
    p = np.where(rng.random(500) < 0.8, y.astype(float), 1.0 - y)  # 20% flipped, all 0/1
    p = np.where(p == 0, 2.7e-15, 1.0)
    path = tmp_path / "sat.csv"
    pd.DataFrame({"y": y.astype(int), "p": p}).to_csv(path, index=False)
    assert main(["diagnose", str(path), "--label", "y", "--score", "p", "--positive", "1",
                 "--json", "--out", str(tmp_path / "r"), "--n-boot", "50"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["saturation"]["saturated"] is True
    assert "FNG001" in [f["code"] for f in doc["findings"]]


def _write(tmp_path: Path, name: str, content: str | bytes | pd.DataFrame) -> Path:
    path = tmp_path / name
    if isinstance(content, pd.DataFrame):
        content.to_parquet(path) if name.endswith(".parquet") else content.to_csv(path, index=False)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


GOOD = "y,p\n1,0.9\n0,0.2\n1,0.4\n0,0.6\n"

BAD_INPUTS = [
    ("missing file", None, [], "does not exist"),
    ("empty file", "", [], "empty"),
    ("header only", "y,p\n", [], "no rows"),
    ("malformed csv", "y,p\n1,0.9\n0,0.2,7,8\n", [], "line 3"),
    ("label absent", GOOD, ["--label", "yy"], "Did you mean 'y'"),
    ("score absent", GOOD, ["--score", "prob"], "score column 'prob'"),
    ("nan labels", "y,p\n1,0.9\n,0.2\n0,0.4\n", [], "missing"),
    ("single class", "y,p\n1,0.9\n1,0.2\n", [], "both classes"),
    ("positive absent", GOOD, ["--positive", "7"], "'7'"),
    ("three labels", "y,p\n1,0.9\n0,0.2\n2,0.4\n", [], "three|3"),
    ("text scores", "y,p\n1,0.9\n0,high\n", [], "not numeric|non-numeric"),
    ("nan scores", "y,p\n1,0.9\n0,\n1,0.3\n", [], "NaN|missing"),
    ("inf scores", "y,p\n1,0.9\n0,inf\n1,0.3\n", [], "infinite"),
    ("duplicate columns", "y,p,p\n1,0.9,0.1\n0,0.2,0.3\n", [], "duplicate"),
]


@pytest.mark.parametrize(("case", "content", "extra", "match"), BAD_INPUTS,
                         ids=[c[0] for c in BAD_INPUTS])
def test_bad_input(
    case: str, content: str | None, extra: list[str], match: str, tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    """Check that each bad input exits 2 with one clear line and writes nothing."""
    path = tmp_path / "in.csv" if content is None else _write(tmp_path, "in.csv", content)
    args = {"--label": "y", "--score": "p"}
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        args[flag] = value
    out = tmp_path / "report"
    argv = ["diagnose", str(path), "--out", str(out), "--n-boot", "20"]
    for flag, value in args.items():
        argv += [flag, value]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    import re

    assert re.search(match, lines[0], flags=re.IGNORECASE), lines[0]
    assert not out.exists()


@pytest.mark.parametrize("target", ["file", "under-file"])
def test_unwritable_output(
    target: str, scores_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Check that an output path that cannot be written exits 2 and leaves nothing."""
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    out = blocker if target == "file" else blocker / "report"
    code = main(["diagnose", str(scores_csv), "--label", "y", "--score", "p", "--out",
                 str(out), "--n-boot", "20"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and "error:" in err
    assert blocker.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_folder(scores_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Check that a read-only output folder exits 2."""
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        code = main(["diagnose", str(scores_csv), "--label", "y", "--score", "p", "--out",
                     str(ro / "r"), "--n-boot", "20"])
    finally:
        ro.chmod(0o700)
    assert code == 2


def test_usage_error_exit_code(capsys: pytest.CaptureFixture) -> None:
    """Check that a malformed option exits 2 without a traceback."""
    assert main(["diagnose", "x.csv", "--label", "y", "--score", "p", "--threshold", "abc"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_real_executable(scores_csv: Path, tmp_path: Path) -> None:
    """Check that the installed `fnguard` executable runs and fails cleanly."""
    exe = shutil.which("fnguard", path=str(Path(sys.executable).parent)) or shutil.which("fnguard")
    assert exe, "the fnguard console script is not installed"
    ok = subprocess.run(
        [exe, "diagnose", str(scores_csv), "--label", "y", "--score", "p", "--positive",
         "fraud", "--json", "--out", str(tmp_path / "r"), "--n-boot", "50"],
        capture_output=True, text=True, check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["input"]["label"] == "y"
    bad = subprocess.run(
        [exe, "diagnose", str(tmp_path / "nope.csv"), "--label", "y", "--score", "p"],
        capture_output=True, text=True, check=False,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr and "does not exist" in bad.stderr
    # python -m fnguard: the same command line
    module = subprocess.run(
        [sys.executable, "-m", "fnguard", "diagnose", str(tmp_path / "nope.csv"), "--label",
         "y", "--score", "p"],
        capture_output=True, text=True, check=False,
    )
    assert module.returncode == 2 and "does not exist" in module.stderr


def test_report_never_replaces_the_input_or_a_foreign_page(
    scores_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Check that diagnose --out refuses, before any work, a folder where the report would
    replace the input table (a table named misses.csv) or an index.html fnguard did not write
    (both were overwritten silently), and still replaces its own earlier report there."""
    project = tmp_path / "project"
    project.mkdir()
    table = project / "misses.csv"
    shutil.copy(scores_csv, table)
    before = table.read_bytes()
    args = ["diagnose", str(table), "--label", "y", "--score", "p", "--positive", "fraud",
            "--n-boot", "20", "--out", str(project)]
    assert main(args) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "would replace the input table" in err and "Traceback" not in err
    assert table.read_bytes() == before and sorted(p.name for p in project.iterdir()) == [
        "misses.csv"
    ]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "index.html").write_text("<h1>my own page</h1>")
    args[1], args[-1] = str(scores_csv), str(mine)
    assert main(args) == 2
    assert "holds an index.html that fnguard did not write" in " ".join(
        capsys.readouterr().err.split()
    )
    assert (mine / "index.html").read_text() == "<h1>my own page</h1>"
    args[-1] = str(tmp_path / "report")
    assert main(args) == 0 and main(args) == 0  # its own report, replaced
