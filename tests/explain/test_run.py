"""Tests of fnguard.explain.run: the whole explanation, on planted and bundled real data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fnguard.data import datasets, load_table
from fnguard.errors import DataError, RequirementError
from fnguard.explain import explain

CODES = {"FNG101": "saturation", "FNG102": "imbalance", "FNG103": "few_positives",
         "FNG104": "label_issues", "FNG105": "slice", "FNG106": "overfitting",
         "FNG107": "duplicates", "FNG108": "shared", "FNG109": "threshold"}


def planted_slice_table(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Labels follow 'x' except in region 'north', where positives look like negatives."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east", "west"], n)
    y = rng.random(n) < 0.25
    x = np.where(y & (region != "north"), rng.normal(2.0, 1.0, n), rng.normal(0.0, 1.0, n))
    return pd.DataFrame({"x": x, "z": rng.normal(size=n), "region": region, "y": y.astype(int)})


def test_planted_slice_is_found() -> None:
    """Check that the slice where positives are missed is the top slice finding."""
    data = load_table(planted_slice_table(), "y", positive=1)
    exp = explain(data, cv=3, quick_check=False, n_boot=50)
    slices = [f for f in exp.findings if f.kind == "slice"]
    assert slices and (slices[0].evidence["feature"], slices[0].evidence["level"]) == (
        "region", "north")
    shared = next(f for f in exp.findings if f.kind == "shared")
    assert shared.evidence["features"][0]["feature"] in ("region", "x")
    assert exp.scores == "out-of-fold" and exp.cv == 3
    assert np.array_equal(exp.diagnosis_scores, exp.oof_scores)


@pytest.mark.parametrize("name", ["lending_club", "nass_cds", "caravan", "digits"])
def test_bundled_datasets_do_not_flood(name: str) -> None:
    """Check at most ten findings, ordered by misses at stake, each with levers, as JSON."""
    data = datasets.load(name)
    exp = explain(data, cv=2, quick_check=False, n_boot=0)
    assert 0 < len(exp.findings) <= 10
    stakes = [f.misses_at_stake for f in exp.findings]
    assert stakes == sorted(stakes, reverse=True)
    for f in exp.findings:
        assert CODES[f.code] == f.kind and f.levers and f.message
    doc = json.loads(json.dumps(exp.to_dict(), allow_nan=False))
    assert [f["code"] for f in doc["findings"]] == [f.code for f in exp.findings]
    assert doc["recommendations"] and doc["recommendations"][0]["finding"] == exp.findings[0].code
    issues = next((f for f in doc["findings"] if f["kind"] == "label_issues"), None)
    if issues is not None:
        assert issues["evidence"]["rows"] == exp.label_issues.rows[:1000].tolist()


def test_quick_check_is_measured() -> None:
    """Check that the top three checkable levers carry a measured effect."""
    data = load_table(planted_slice_table(n=1200, seed=1), "y", positive=1)
    exp = explain(data, cv=3, budget=30, n_boot=0)
    measured = [r for r in exp.recommendations if r.check is not None]
    assert 1 <= len(measured) <= 3
    assert all(r.check.status in ("measured", "budget") for r in measured)
    assert exp.checks == [r.check for r in measured]


def test_too_small_without_a_model() -> None:
    """Check that a table with one positive cannot be explained without a model."""
    frame = pd.DataFrame({"x": np.arange(20.0), "y": [1] + [0] * 19})
    with pytest.raises(DataError, match="cross-validating needs at least 2"):
        explain(load_table(frame, "y", positive=1), quick_check=False)


def test_too_small_with_a_model_runs_what_it_can() -> None:
    """Check that a fitted model's scores are still diagnosed, with a note of what is skipped."""
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"x": np.arange(20.0), "y": [1] + [0] * 19})
    data = load_table(frame, "y", positive=1)
    model = LogisticRegression().fit(data.X, data.y)
    exp = explain(data, model=model, n_boot=0)
    assert exp.label_issues is None and exp.overfitting is None and exp.cv == 0
    assert exp.scores == "model"
    assert any("skipped" in n for n in exp.diagnosis.notes)
    assert exp.checks == []


def test_recommendations_follow_the_measurements_and_keep_the_drops() -> None:
    """Check that levers measured to add misses rank below the unmeasured ones with a caveat,
    gains first, and that every command leaves out the dropped columns, quoted."""
    rng = np.random.default_rng(0)
    n = 800
    x = rng.uniform(-3, 3, n)
    frame = pd.DataFrame({"id": np.arange(n), "x": x, "worst perimeter": rng.normal(size=n),
                          "z": rng.normal(size=n), "y": (np.abs(x) < 0.8).astype(int)})
    data = load_table(frame, "y", positive=1, drop=["id", "worst perimeter"])
    exp = explain(data, cv=3, n_boot=0, budget=60)

    def group(r) -> int:
        if r.check is None or r.check.status != "measured":
            return 1
        main, req = r.check.misses_removed, r.check.at_requirement["misses_removed"]
        return 0 if main > 0 or (main == 0 and req > 0) else 2 if main == req == 0 else 3

    groups = [group(r) for r in exp.recommendations]
    assert groups == sorted(groups) and 3 in groups, groups
    assert [r.rank for r in exp.recommendations] == list(range(1, len(groups) + 1))
    for r, g in zip(exp.recommendations, groups, strict=True):
        assert ("measured to add" in r.reason) == (g == 3) and bool(r.caveat) == (g >= 2)
    assert exp.checks == [r.check for r in exp.recommendations if r.check is not None]
    commands = [r.command for r in exp.recommendations if r.command]
    assert commands and all("--drop id --drop 'worst perimeter' " in c for c in commands)
    # A miss or two among 200 positives: nothing can be said of what the misses share.
    assert exp.diagnosis.metrics["fn"].value < 10
    assert not any(f.kind == "shared" for f in exp.findings)
    assert not exp.effects or any("too few of one group" in note for note in exp.notes)


def test_no_label_issues_from_a_model_without_signal() -> None:
    """Check that labels drawn at random (cross-validated ROC-AUC about 0.5) raise no label
    issues, which cleanlab would otherwise find by the hundred, and that a note says why."""
    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame({"num": rng.normal(size=n), "cat": rng.choice(list("xyz"), n),
                          "y": (rng.random(n) < 0.3).astype(int)})
    exp = explain(load_table(frame, "y", positive=1), cv=3, quick_check=False, n_boot=0)
    assert exp.label_issues is None
    assert not any(f.kind == "label_issues" for f in exp.findings)
    assert any("little better than chance" in note for note in exp.notes)


def test_label_issues_still_found_with_signal(noisy_digits) -> None:
    """Check that a model with signal still looks for label errors (planted noise found)."""
    data, hidden, fake = noisy_digits
    exp = explain(data, cv=3, quick_check=False, n_boot=0)
    assert exp.label_issues is not None
    found = set(exp.label_issues.rows.tolist())
    assert len(found & (set(hidden.tolist()) | set(fake.tolist()))) >= 20


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"cv": 1}, DataError, r"'cv' must be an integer >= 2\. Got 1 instead"),
        ({"cv": 0}, DataError, r"'cv' must be an integer >= 2\. Got 0 instead"),
        ({"cv": -3}, DataError, r"'cv' must be an integer >= 2\. Got -3 instead"),
        ({"cv": 2.5}, DataError, r"'cv' must be an integer >= 2\. Got 2\.5 instead"),
        ({"cv": True}, DataError, r"'cv' must be an integer"),
        ({"budget": -1}, DataError, r"'budget' must be a number of seconds >= 0\. Got -1"),
        ({"budget": float("nan")}, DataError, r"'budget' must be"),
        ({"budget": "60"}, DataError, r"'budget' must be"),
        ({"require": "bogus"}, RequirementError, r"'bogus' cannot be parsed"),
        ({"require": "bogus", "quick_check": False}, RequirementError, r"cannot be parsed"),
        ({"require": None}, DataError, r"'require' must be a requirement string"),
        ({"n_boot": -1}, DataError, r"'n_boot' must be an integer >= 0 .*Got -1 instead"),
        ({"threshold": float("nan")}, DataError, r"'threshold' must be a finite number"),
        ({"confidence": 1.2}, DataError, r"'confidence' parameter must be in \(0, 1\)"),
    ],
)
def test_bad_options(kwargs, error, match) -> None:
    """Check that bad options are refused up front with the rule, the value and a fix."""
    frame = pd.DataFrame({"x": np.arange(40.0), "y": [0, 1] * 20})
    with pytest.raises(error, match=match):
        explain(load_table(frame, "y", positive=1), **kwargs)
    if "cv" in kwargs:
        from fnguard.explain.run import score_table

        with pytest.raises(error, match=match):
            score_table(load_table(frame, "y", positive=1), cv=kwargs["cv"])


def test_few_caught_positives_flag_nothing_shared() -> None:
    """Check the bundled Lending Club loans, where the plain model catches a handful of the
    bad loans at 0.5: no "what the misses share" finding, and a note that says why."""
    exp = explain(datasets.load("lending_club"), cv=2, quick_check=False, n_boot=0)
    caught = int(exp.diagnosis.metrics["tp"].value)
    assert caught < 10 and exp.effects
    assert not any(f.kind == "shared" for f in exp.findings)
    assert not any(e.flagged for e in exp.effects)
    assert any(f"{caught} positives caught" in note for note in exp.notes)


def test_a_column_that_leaks_the_label_is_named() -> None:
    """Check that a column that alone separates the classes gets the leak note that fit
    gives (table-mode diagnose said nothing), its name quoted for the shell."""
    rng = np.random.default_rng(0)
    y = rng.random(600) < 0.1
    frame = pd.DataFrame({"x": rng.normal(size=600), "paid back": y + rng.normal(0, 0.01, 600),
                          "y": y.astype(int)})
    exp = explain(load_table(frame, "y", positive=1), cv=3, quick_check=False, n_boot=50)
    leak = [n for n in exp.notes if "alone separates the classes" in n]
    assert len(leak) == 1 and "'paid back'" in leak[0] and leak[0].endswith("'paid back'.")
