"""Tests of fnguard.explain.run: the whole explanation, on planted and bundled real data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fnguard.data import datasets, load_table
from fnguard.errors import DataError
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
