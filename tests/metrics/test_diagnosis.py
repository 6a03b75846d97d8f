"""Tests of the diagnosis object behind the CLI and the report."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from fnguard.errors import DataError
from fnguard.metrics import diagnose


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    n = 5000
    y = rng.random(n) < 0.08
    s = np.clip(np.where(y, rng.beta(3, 3, n), rng.beta(1, 6, n)), 0, 1)
    X = pd.DataFrame({"kind": rng.choice(["a", "b"], n), "v": rng.normal(size=n)})
    return y, s, X


def test_misses_lowest_first(data) -> None:
    """Check that the misses table lists every false negative, lowest score first."""
    y, s, X = data
    d = diagnose(y, s, threshold=0.4, features=X, n_boot=50)
    expected = np.flatnonzero(y & (s < 0.4))
    assert sorted(d.misses["row"]) == sorted(expected.tolist())
    assert d.misses["score"].is_monotonic_increasing
    assert list(d.misses.columns) == ["row", "score", "kind", "v"]
    assert (d.misses["kind"].to_numpy() == X["kind"].to_numpy()[d.misses["row"]]).all()


def test_json_document_is_strict(data) -> None:
    """Check that to_dict() is valid strict JSON (no NaN) with every documented key."""
    y, s, X = data
    doc = diagnose(y, (s - 0.5) * 4, features=X, n_boot=50).to_dict()
    text = json.dumps(doc, allow_nan=False)
    assert set(json.loads(text)) >= {
        "fnguard_version", "input", "threshold", "confidence", "metrics", "saturation",
        "calibration", "slices", "misses", "findings", "notes",
    }
    assert doc["metrics"]["brier"]["value"] is None  # margins are not probabilities


def test_curve_points_exact(data) -> None:
    """Check that the thinned curve keeps exact counts and the operating point."""
    y, s, _ = data
    d = diagnose(y, s, threshold=0.3, n_boot=0)
    pts = d.curve_points(max_points=500)
    assert len(pts["tp"]) <= 520
    assert pts["thresholds"][0] is None
    for t, tp, fp in zip(pts["thresholds"][1:], pts["tp"][1:], pts["fp"][1:], strict=True):
        assert (tp, fp) == (int(((s >= t) & y).sum()), int(((s >= t) & ~y).sum()))
    op = d.curve.thresholds[d.curve.index_at(0.3)]
    assert any(t is not None and math.isclose(t, op) for t in pts["thresholds"])


def test_histogram_counts(data) -> None:
    """Check that the per-class histogram counts every row once."""
    y, s, _ = data
    h = diagnose(y, s, n_boot=0).histogram(20)
    assert sum(h["positive"]) == y.sum() and sum(h["negative"]) == (~y).sum()


def test_feature_rows_must_align(data) -> None:
    """Check that features of another length are refused."""
    y, s, X = data
    with pytest.raises(DataError, match="same order"):
        diagnose(y, s, features=X.iloc[:10])
