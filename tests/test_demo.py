"""Tests of the demo: the main job (fnguard fit) on the bundled real dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fnguard.cli import main
from fnguard.data import datasets
from fnguard.demo import before_after, run_demo
from fnguard.guard import load
from fnguard.metrics import confusion_curve


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("demo") / "guard"
    return run_demo(out=out, budget=40, max_trials=3)


def test_run_demo_saves_a_guard_that_meets_the_requirement(demo_run) -> None:
    """Check that the demo's Guard is saved whole, with its report, and says what it met."""
    result = demo_run
    assert result.report is not None and result.report.is_file()
    guard = load(result.folder)
    assert guard.requirement.startswith("recall>=0.8")
    assert guard.positive == "bad"
    # The recorded test counts are those of the held-out scores kept with the Guard.
    h = guard.holdout
    curve = confusion_curve(h["y"].to_numpy(), h["score"].to_numpy())
    tp, fp, tn, fn = curve.counts_at(guard.threshold)
    assert (tp, fp, tn, fn) == tuple(guard.metrics[k] for k in ("tp", "fp", "tn", "fn"))
    assert guard.met == (tp / (tp + fn) >= 0.8)


def test_demo_before_after_counts(demo_run) -> None:
    """Check that the before/after compares the plain model at 0.5 with the Guard on one set."""
    guard = demo_run.guard
    change = before_after(guard)
    assert change is not None
    n_test = len(guard.holdout)
    assert change["positives"] == int(guard.holdout["y"].sum())
    before = guard.info["reference"]["logistic_at_0.5"]
    assert before["tp"] + before["fp"] + before["tn"] + before["fn"] == n_test
    # At 0.5 a plain logistic regression on 5% positives misses most bad loans; the Guard
    # removes misses at the price of false alarms.
    assert change["before_misses"] > 0.5 * change["positives"]
    assert change["misses_removed"] > 0
    assert change["misses_removed"] == change["before_misses"] - change["after_misses"]


def test_demo_test_split_is_a_fifth_of_the_data(demo_run) -> None:
    """Check that the held-out test set is the stratified 20% the search never saw."""
    data = datasets.load_lending_club()
    n_test = len(demo_run.guard.holdout)
    assert n_test == pytest.approx(0.2 * data.n_rows, abs=1)
    assert demo_run.guard.holdout["y"].mean() == pytest.approx(np.mean(data.y), abs=0.005)


def test_demo_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Check that `fnguard demo --json` saves the Guard and prints one document."""
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--json", "--budget", "15s"])
    doc = json.loads(capsys.readouterr().out)
    assert code == (0 if doc["met"] else 1)
    assert (out / "guard.json").is_file() and (out / "report" / "index.html").is_file()
    assert doc["before_after"]["misses_removed"] == (
        doc["before_after"]["before_misses"] - doc["before_after"]["after_misses"]
    )


def test_demo_unknown_dataset(capsys: pytest.CaptureFixture) -> None:
    """Check that an unknown dataset is bad input, with the names that exist."""
    assert main(["demo", "--dataset", "nope", "--budget", "5s"]) == 2
    err = capsys.readouterr().err
    assert "lending_club" in err and "searching the levers" not in err


@pytest.mark.parametrize(
    ("args", "said"), [(["--budget", "xx"], "budget 'xx'"), (["--require", "recall>=2"], "0 and 1")]
)
def test_demo_bad_budget_or_requirement_before_it_starts(args, said, capsys) -> None:
    """Check that a bad budget or requirement is refused before the opening line."""
    assert main(["demo", *args]) == 2
    err = capsys.readouterr().err
    assert said in err and "searching the levers" not in err


def test_demo_before_after_line_names_the_class_and_signs(demo_run) -> None:
    """Check the terminal's before/after sentence on the demo's own figures: the positive
    class is named with its column (it printed 'held-out True cases' on digits), and the
    changes read '83 fewer misses, 807 more false alarms' (it printed '-1 false alarms')."""
    from fnguard.cli.demo import before_after_line

    change = before_after(demo_run.guard)
    line = before_after_line(change, "loan_status", "bad")
    assert f"on {change['positives']:,} held-out positive cases (loan_status = 'bad')" in line
    assert f"{change['misses_removed']:,} fewer misses" in line
    fewer = {**change, "false_alarms_added": -1, "misses_removed": 0}
    assert "0 fewer misses, 1 fewer false alarm[" in before_after_line(fewer, "digit", True)
    worse = {**change, "false_alarms_added": 2, "misses_removed": -1}
    assert "1 more miss, 2 more false alarms" in before_after_line(worse, "digit", True)


def test_demo_checks_its_folder_before_the_search(tmp_path: Path) -> None:
    """Check that a demo folder holding other files is refused before any trial runs (the
    two-minute search ran, then the save failed)."""
    from fnguard.errors import ArtifactError

    (tmp_path / "guard.json").write_text("{}")
    (tmp_path / "mynotes.txt").write_text("mine")
    trials: list = []
    with pytest.raises(ArtifactError, match=r"holds a Guard and other files \('mynotes\.txt'\)"):
        run_demo(out=tmp_path, budget=40, max_trials=1, progress=trials.append)
    assert trials == []
