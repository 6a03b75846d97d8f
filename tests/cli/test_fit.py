"""Tests of `fnguard fit`: exit codes, the JSON summary, the saved Guard, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fnguard.cli import main


@pytest.fixture(scope="module")
def csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 rows: two informative numeric columns, a categorical one, about 15% positives."""
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(2, 400))
    cat = rng.choice(["a", "b"], size=400)
    y = (1.5 * x1 - x2 + rng.logistic(size=400) > 2.2).astype(int)
    path = tmp_path_factory.mktemp("fit") / "data.csv"
    pd.DataFrame({"id": np.arange(400), "x1": x1, "x2": x2, "cat": cat, "y": y}).to_csv(
        path, index=False)
    return path


def _args(csv: Path, out: Path, require: str, *extra: str) -> list[str]:
    return ["fit", str(csv), "--target", "y", "--positive", "1", "--require", require,
            "--out", str(out), "--budget", "60", "--levers", "logistic,random-under",
            "--cv", "3", "--jobs", "1", "--max-trials", "3", "--drop", "id", "--no-report",
            "--margin", "0.9", *extra]


@pytest.mark.parametrize(("margin", "expected"), [("0.8", 0.8), ("0", None)])
def test_margin_option(csv: Path, tmp_path: Path, capsys, margin: str, expected) -> None:
    """Check that --margin sets the confidence of the threshold's safety margin (0: none)."""
    args = _args(csv, tmp_path / "guard", "recall>=0.8", "--json")
    args[args.index("--margin") + 1] = margin
    main(args)
    capsys.readouterr()
    info = json.loads((tmp_path / "guard" / "guard.json").read_text())["info"]
    assert info["margin"] == expected


def test_met_exits_0_with_json(csv: Path, tmp_path: Path, capsys) -> None:
    """Check exit code 0, the JSON summary on stdout alone, and the Guard saved."""
    code = main(_args(csv, tmp_path / "guard", "f1", "--json"))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    doc = json.loads(captured.out)
    assert doc["met"] is True and doc["requirement"] == "fbeta:1"
    assert doc["levers"][-1] in ("logistic",) and doc["trials"]["complete"] >= 1
    assert {"recall", "precision", "fpr", "tp", "fp", "fn", "tn"} <= set(doc["test"])
    assert doc["against_logistic_at_0.5"]["misses_removed"] == (
        doc["reference"]["logistic_at_0.5"]["fn"] - doc["test"]["fn"])
    saved = json.loads((tmp_path / "guard" / "guard.json").read_text())
    assert saved["threshold"] == pytest.approx(doc["threshold"])
    # where the time went: the whole command, its budget and the search within it
    assert doc["budget"] == saved["info"]["budget"] and doc["search_seconds"] > 0
    assert doc["seconds"] >= doc["elapsed"] >= doc["search_seconds"]
    assert "id" not in [c["name"] for c in saved["schema"]["columns"]]


def test_not_met_exits_1_after_saving(csv: Path, tmp_path: Path, capsys) -> None:
    """Check exit code 1 when the requirement fails on the test set, with the Guard saved."""
    code = main(_args(csv, tmp_path / "guard", "precision>=0.99", "--json"))
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["met"] is False
    assert json.loads((tmp_path / "guard" / "guard.json").read_text())["met"] is False


def test_summary_and_progress(csv: Path, tmp_path: Path, capsys) -> None:
    """Check the Rich summary on stdout and the progress bar on stderr."""
    code = main(_args(csv, tmp_path / "guard", "f1"))
    captured = capsys.readouterr()
    assert code == 0
    assert "Winner:" in captured.out and "held-out test set" in captured.out
    assert "plain logistic regression at 0.5" in captured.out
    assert "Searched 3 trials (3 complete, 0 pruned, 0 failed)" in captured.err
    assert re.search(r"Guard saved to .*guard in [\d.ms]+ \(budget [\d.ms]+: [\d.ms]+ "
                     r"searching, [\d.ms]+ reading the data, refitting the winner, testing it "
                     r"and saving\)\.", captured.out.replace("\n", " "))


def test_a_note_is_printed_once(csv: Path, tmp_path: Path, capsys) -> None:
    """Check that a note the summary prints on stdout (the positive label chosen) is not
    repeated on stderr, where warnings go."""
    args = _args(csv, tmp_path / "guard", "f1")
    at = args.index("--positive")
    del args[at : at + 2]
    assert main(args) == 0
    captured = capsys.readouterr()
    said = "No positive label given: using the minority class 1"
    assert captured.out.count(said) == 1
    assert said not in captured.err


@pytest.mark.parametrize(
    ("change", "match"),
    [({"--budget": "soon"}, "budget 'soon' cannot be read"),
     ({"--budget": "2"}, "too short for one trial"),
     ({"--levers": "smot,logistic"}, "no lever 'smot'"),
     ({"--require": "recall>>0.9"}, "cannot be parsed"),
     ({"--target": "label"}, "label"),
     ({"--cv": "1"}, "integer >= 2"),
     ({"--margin": "1.5"}, "margin must be a confidence strictly between 0 and 1")],
)
def test_bad_input_exits_2(csv: Path, tmp_path: Path, capsys, change, match) -> None:
    """Check exit code 2 and one red line, no traceback, for each kind of bad input."""
    args = _args(csv, tmp_path / "guard", "f1")
    for option, value in change.items():
        args[args.index(option) + 1] = value
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    import re

    assert re.search(match, " ".join(err.split()))
    assert not (tmp_path / "guard").exists()


def test_missing_file_exits_2(tmp_path: Path, capsys) -> None:
    """Check that a data file that does not exist is bad input."""
    code = main(_args(tmp_path / "nope.csv", tmp_path / "guard", "f1"))
    assert code == 2 and "nope.csv" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["file", "other folder"])
def test_bad_out_exits_2_before_the_search(csv: Path, tmp_path: Path, capsys, kind) -> None:
    """Check that an --out the Guard cannot be saved to is refused before any trial runs."""
    out = tmp_path / "taken"
    if kind == "file":
        out.write_text("not a folder")
    else:
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    code = main(_args(csv, out, "f1"))
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert "Cannot save the Guard to" in err and "Traceback" not in err
    assert "Searched" not in err  # no trial ran
    assert out.is_file() if kind == "file" else sorted(p.name for p in out.iterdir()) == [
        "notes.txt"]


def test_test_table_option(csv: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    """Check --test: the Guard is scored on that file (its rows alone), records it, and a
    test table given with --test-size, or with --engine dask, exits 2 before any search."""
    frame = pd.read_csv(csv)
    train, test = tmp_path / "train.csv", tmp_path / "test.parquet"
    frame.iloc[:300].to_csv(train, index=False)
    frame.iloc[300:].to_parquet(test, index=False)
    code = main(_args(train, tmp_path / "guard", "recall>=0.5", "--json", "--test", str(test)))
    captured = capsys.readouterr()
    assert code in (0, 1), captured.err
    doc = json.loads(captured.out)
    assert doc["test"]["n"] == 100 and doc["test"]["n_positive"] == int(frame["y"][300:].sum())
    assert doc["test_table"] == str(test)
    info = json.loads((tmp_path / "guard" / "guard.json").read_text())["info"]
    assert info["test_table"] == str(test) and info["test_size"] is None
    assert info["split"]["search_rows"] == 300 and info["split"]["test_rows"] == 100
    for extra, match in (
        (("--test-size", "0.3"), "Both a test table and a test size"),
        (("--engine", "dask"), "--test is not available with --engine dask"),
    ):
        args = _args(train, tmp_path / "g2", "recall>=0.5", "--test", str(test), *extra)
        assert main(args) == 2
        captured = capsys.readouterr()
        assert match in " ".join(captured.err.split()) and "Traceback" not in captured.err
        assert not (tmp_path / "g2").exists()
    monkeypatch.chdir(tmp_path)
    main(_args(Path("train.csv"), Path("g3"), "recall>=0.5", "--test", "test.parquet"))
    assert "On the test table 'test.parquet'" in capsys.readouterr().out


def test_a_winner_that_is_the_reference_says_so(csv: Path, tmp_path: Path, capsys) -> None:
    """Check that when the winner is the plain logistic regression itself, the line against
    the logistic regression at its tuned threshold says that only the threshold's safety
    margin differs (it read like a gain of the search)."""
    args = _args(csv, tmp_path / "guard", "recall>=0.8")
    args[args.index("--levers") + 1] = "logistic"
    args[args.index("--max-trials") + 1] = "1"
    main(args)
    out = " ".join(capsys.readouterr().out.split())
    assert "Winner: logistic" in out
    assert "at its tuned threshold" in out and "the same model" in out
    main([*args[:-2], "--margin", "0.9", "--json"])
    assert json.loads(capsys.readouterr().out)["winner_is_reference"] is True
