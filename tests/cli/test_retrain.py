"""Tests of ``fnguard retrain``: the whole loop from files (fit, predict --review-db, review,
retrain), exit codes 0 / 1 / 2, the JSON and Rich summaries, and nothing written on refusal."""

from __future__ import annotations

import json
import re
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fnguard
from fnguard.cli import main
from fnguard.data import datasets
from fnguard.guard import load
from fnguard.serve.auth import add_user
from fnguard.serve.leases import case_for, lease_next, submit_verdict
from fnguard.serve.queue import case_keys
from fnguard.serve.store import open_store

pytestmark = pytest.mark.filterwarnings("ignore::fnguard.errors.FnguardWarning")


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> types.SimpleNamespace:
    """Car crashes whose fast deaths were mostly recorded as survivals: a Guard made by
    fnguard.fit on that table, and the fast crashes scored by `fnguard predict --review-db`
    into two review databases (one for right reviewers, one for wrong ones)."""
    folder = tmp_path_factory.mktemp("retrain")
    data = datasets.load_nass_cds()
    rng = np.random.default_rng(3)
    rows = np.sort(rng.permutation(data.n_rows)[:14000])
    X = data.X.iloc[rows].reset_index(drop=True)
    truth = np.asarray(data.y, bool)[rows]
    fast = (X["dvcat"] == "55+").to_numpy()
    stored = truth.copy()
    stored[rng.choice(np.flatnonzero(truth & fast), int(0.8 * (truth & fast).sum()),
                      replace=False)] = False
    X.assign(dead=np.where(stored, "dead", "alive")).to_csv(folder / "train.csv", index=False)
    X[fast].to_csv(folder / "fast.csv", index=False)
    guard = fnguard.fit(folder / "train.csv", "dead", "dead", "recall>=0.8", budget=120,
                        levers=["logistic"], cv=3, jobs=1, max_trials=1)
    guard.save(folder / "guard", report=False)
    truth_by_key = dict(zip(case_keys(pd.read_csv(folder / "fast.csv")), truth[fast],
                            strict=True))
    for name, wrong in (("right", False), ("wrong", True)):
        code = main(["predict", str(folder / "guard"), str(folder / "fast.csv"), "--out",
                     str(folder / f"{name}.parquet"), "--review-db", str(folder / f"{name}.sqlite"),
                     "--review-capacity", "100%", "--audit", "70%", "--chunk-size", "400"])
        assert code == 0
        engine = open_store(folder / f"{name}.sqlite")
        user = add_user(engine, "alice", "a long enough password")
        case = lease_next(engine, user)
        while case is not None:
            right = truth_by_key[case_for(engine, user, case)["key"]]
            verdict = "positive" if right != wrong else "negative"
            case = submit_verdict(engine, user, case, verdict, then_next=True)["next"]
        engine.dispose()
    return types.SimpleNamespace(folder=folder, guard=folder / "guard", data=folder / "train.csv",
                                 right=folder / "right.sqlite", wrong=folder / "wrong.sqlite")


def _run(capsys, *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_right_labels_are_learned(loop, tmp_path: Path, capsys) -> None:
    """Check exit 0, a new Guard written with its report, compared on the test rows of the
    fit that made the old one (its split reproduced from the file), fewer misses there."""
    out = tmp_path / "guard-v2"
    code, stdout, err = _run(capsys, "retrain", loop.guard, "--db", loop.right, "--data",
                             loop.data, "--out", out, "--json")
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["accepted"] and doc["verdict"] in ("better", "no worse") and doc["saved"] == str(out)
    assert doc["holdout"]["from"].startswith("the old Guard's test rows")
    old = load(loop.guard)
    assert doc["holdout"]["rows"] == old.metrics["n"] == len(old.holdout)
    # The same rows flagged as in the fit's own test scoring (labels may have been corrected).
    assert doc["old"]["tp"] + doc["old"]["fp"] == old.metrics["tp"] + old.metrics["fp"]
    assert doc["new"]["fn"] < doc["old"]["fn"]
    assert doc["labels"]["labels_changed"] > 20 and doc["labels"]["rows_added"] == 0
    new = load(out)
    assert (out / "report" / "index.html").exists()
    assert new.info["retrain"]["labels"]["labels_sha256"] == doc["labels"]["labels_sha256"]
    assert new.levers == old.levers and new.requirement == old.requirement
    assert len(new.leaderboard) == len(old.leaderboard) + 1


def test_rich_summary(loop, tmp_path: Path, capsys) -> None:
    """Check that without --json the before/after table, the labels learned and the verdict
    are printed."""
    code, stdout, err = _run(capsys, "retrain", loop.guard, "--db", loop.right, "--data",
                             loop.data, "--out", tmp_path / "v2", "--no-report")
    assert code == 0, err
    text = " ".join(stdout.split())
    for words in ("held-out rows", "misses (FN)", "false alarms (FP)", "requirement met",
                  "Learned from", "stored labels changed", "Verdict:", "New Guard written to"):
        assert words in text, words
    assert not (tmp_path / "v2" / "report").exists()


def test_wrong_labels_exit_1_unless_forced(loop, tmp_path: Path, capsys) -> None:
    """Check exit 1 with the reason and nothing written when the new Guard is worse, and exit
    0 with the Guard written (recorded as forced) with --force."""
    out = tmp_path / "guard-v2"
    code, stdout, err = _run(capsys, "retrain", loop.guard, "--db", loop.wrong, "--data",
                             loop.data, "--out", out, "--no-report")
    assert code == 1
    text = " ".join(err.split())
    assert "refused:" in text and "Nothing was written" in text and "--force" in text
    assert "Traceback" not in err and not out.exists()
    assert list(tmp_path.iterdir()) == []
    code, stdout, err = _run(capsys, "retrain", loop.guard, "--db", loop.wrong, "--data",
                             loop.data, "--out", out, "--no-report", "--force", "--json")
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["verdict"] == "worse" and doc["forced"] and doc["accepted"]
    assert load(out).info["retrain"]["forced"] is True


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("not-a-guard", r"is not a Guard"),
        ("unknown-db", r"review database .* does not exist"),
        ("not-a-db", r"cannot be read .* not a SQLite file"),
        ("other-schema", r"does not match the cases in the review queue"),
        ("no-target", r"has no column 'dead'"),
        ("no-data", r"does not exist"),
    ],
)
def test_bad_input_exits_2(case: str, match: str, loop, tmp_path: Path, capsys) -> None:
    """Check exit 2 with one red line and no traceback, and nothing written, per bad input."""
    guard, db, data = loop.guard, loop.right, loop.data
    if case == "not-a-guard":
        guard = tmp_path
    elif case == "unknown-db":
        db = tmp_path / "absent.sqlite"
    elif case == "not-a-db":
        db = tmp_path / "text.sqlite"
        db.write_text("hello\n" * 100)
    elif case == "other-schema":
        narrow = pd.read_csv(loop.data).drop(columns="ageOFocc")
        narrow.to_csv(tmp_path / "narrow.csv", index=False)
        other = fnguard.fit(tmp_path / "narrow.csv", "dead", "dead", "recall>=0.8",
                            budget=60, levers=["logistic"], cv=2, jobs=1, max_trials=1)
        other.save(tmp_path / "other", report=False)
        guard = tmp_path / "other"
    elif case == "no-target":
        data = tmp_path / "features.csv"
        pd.read_csv(loop.data).drop(columns="dead").to_csv(data, index=False)
    else:
        data = tmp_path / "absent.csv"
    out = tmp_path / "v2"
    code, _, err = _run(capsys, "retrain", guard, "--db", db, "--data", data, "--out", out,
                        "--no-report")
    assert code == 2
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("error:")
    assert re.search(match, " ".join(err.split())), err
    assert not out.exists()
