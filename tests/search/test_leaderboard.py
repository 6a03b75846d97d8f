"""Tests of the leaderboard records."""

from __future__ import annotations

import json

import numpy as np

from fnguard.decide import choose_threshold
from fnguard.metrics import summary
from fnguard.search.leaderboard import jsonable, record

KEYS = {"trial", "levers", "params", "state", "objective", "met", "threshold", "recall",
        "precision", "fpr", "ece", "misses", "false_alarms", "seconds", "baseline", "error"}


def test_complete_record_matches_summary() -> None:
    """Check that a complete record holds summary()'s metrics at the chosen threshold."""
    rng = np.random.default_rng(0)
    y = rng.random(400) < 0.2
    s = np.clip(0.3 * y + rng.random(400) * 0.7, 0, 1)
    d = choose_threshold(y, s, "recall>=0.9", positive=True, n_boot=0)
    r = record(4, ["smote", "lightgbm"], {"smote": {"k_neighbors": np.int64(3)}},
               state="complete", seconds=1.23456, decision=d, value=0.5)
    ref = summary(y, s, d.threshold, positive=True, n_boot=0)
    assert KEYS <= set(r)
    assert r["threshold"] == d.threshold and r["met"] is True
    assert r["misses"] == ref["fn"].value and r["false_alarms"] == ref["fp"].value
    for name in ("recall", "precision", "fpr"):
        assert r[name] == {"value": ref[name].value, "low": ref[name].low,
                           "high": ref[name].high}
    assert r["ece"] == ref["ece"].value
    assert r["objective"] == d.objective == ref["precision"].value
    assert r["params"] == {"smote": {"k_neighbors": 3}} and r["seconds"] == 1.235
    json.dumps(r, allow_nan=False)


def test_failed_record_is_empty_but_complete() -> None:
    """Check that a failed trial keeps its plan and error, with empty metrics."""
    r = record(2, ["adasyn", "logistic"], {}, state="failed", seconds=0.1, error="ValueError: x")
    assert KEYS <= set(r)
    assert r["state"] == "failed" and r["error"] == "ValueError: x" and r["objective"] is None
    assert r["recall"] == {"value": None, "low": None, "high": None} and not r["met"]
    json.dumps(r, allow_nan=False)


def test_jsonable_cleans_numpy_and_non_finite() -> None:
    """Check that numpy values become plain and NaN / inf become None."""
    out = jsonable({"a": np.array([1.0, np.nan]), 2: (np.bool_(True), -np.inf)})
    assert out == {"a": [1.0, None], "2": [True, None]}
