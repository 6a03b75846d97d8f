"""Tests for fnguard.metrics.calibration: reliability, ECE, Brier, log-loss and saturation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss
from sklearn.metrics import log_loss as sk_log_loss

from fnguard.metrics import (
    brier_score,
    confusion_curve,
    log_loss,
    reliability,
    saturation,
    summary,
)
from fnguard.metrics.calibration import quantile_edges

PROPERTY = settings(max_examples=200, deadline=None)


@st.composite
def probabilities(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Labels holding both classes, with probabilities: tied, free, equal or at 0 and 1."""
    n = draw(st.integers(2, 120))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    y[0], y[1] = 0, 1
    kind = draw(st.sampled_from(["ties", "floats", "equal", "extreme"]))
    if kind == "ties":
        values = draw(st.lists(st.floats(0, 1), min_size=1, max_size=5))
        s = draw(st.lists(st.sampled_from(values), min_size=n, max_size=n))
    elif kind == "floats":
        s = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    elif kind == "equal":
        s = [draw(st.floats(0, 1))] * n
    else:
        extreme = [0.0, 1e-300, 2.7e-15, 0.3, 1 - 1e-12, 1.0]
        s = draw(st.lists(st.sampled_from(extreme), min_size=n, max_size=n))
    order = draw(st.permutations(range(n)))
    return np.asarray(y)[order], np.asarray(s, dtype=np.float64)[order]


def _brute_force_ece(y: np.ndarray, s: np.ndarray, n_bins: int = 10) -> float:
    """ECE row by row, on the bins calibration_curve(strategy='quantile') uses."""
    edges = np.percentile(s, np.linspace(0, 1, n_bins + 1) * 100)
    total = 0.0
    for b in range(n_bins):
        rows = [i for i in range(s.size) if np.searchsorted(edges[1:-1], s[i]) == b]
        if rows:
            gap = abs(np.mean(y[rows]) - np.mean(s[rows]))
            total += len(rows) / s.size * gap
    return total


@PROPERTY
@given(probabilities())
def test_reliability_matches_calibration_curve(data: tuple[np.ndarray, np.ndarray]) -> None:
    """Check that bins equal calibration_curve(strategy='quantile', n_bins=10)'s, empty dropped."""
    y, s = data
    rel = reliability(confusion_curve(y, s))
    prob_true, prob_pred = calibration_curve(y, s, n_bins=10, strategy="quantile")
    np.testing.assert_allclose(rel.fraction_positive, prob_true, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rel.mean_score, prob_pred, rtol=0, atol=1e-12)
    assert rel.count.sum() == y.size
    assert np.all((rel.low <= rel.fraction_positive) & (rel.fraction_positive <= rel.high))


@PROPERTY
@given(probabilities())
def test_ece_matches_brute_force(data: tuple[np.ndarray, np.ndarray]) -> None:
    """Check that ECE equals a per-row computation on the same quantile bins."""
    y, s = data
    assert abs(reliability(confusion_curve(y, s)).ece - _brute_force_ece(y, s)) <= 1e-9


@PROPERTY
@given(probabilities(), st.integers(1, 20))
def test_quantile_edges_match_percentile(data: tuple[np.ndarray, np.ndarray], n_bins: int) -> None:
    """Check that the edges read off the curve equal np.percentile of the scores, bit for bit."""
    y, s = data
    expected = np.percentile(s, np.linspace(0, 1, n_bins + 1) * 100)
    np.testing.assert_array_equal(quantile_edges(confusion_curve(y, s), n_bins), expected)


@PROPERTY
@given(probabilities())
def test_brier_and_log_loss_match_sklearn(data: tuple[np.ndarray, np.ndarray]) -> None:
    """Check that Brier score and log-loss equal scikit-learn's, saturated scores included."""
    y, s = data
    curve = confusion_curve(y, s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected_log_loss = sk_log_loss(y, s)
    assert abs(brier_score(curve) - brier_score_loss(y, s)) <= 1e-9
    assert abs(log_loss(curve) - expected_log_loss) <= 1e-9


def test_logits_are_not_probabilities() -> None:
    """Check that scores outside [0, 1] give NaN Brier, log-loss and ECE and an empty curve."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    logits = rng.normal(size=200) * 3 + y
    curve = confusion_curve(y, logits)
    assert np.isnan(brier_score(curve)) and np.isnan(log_loss(curve))
    rel = reliability(curve)
    assert np.isnan(rel.ece) and rel.count.size == 0
    sat = saturation(curve)
    assert not sat.probability and not sat.saturated
    assert np.isnan(sat.share_extreme) and np.isnan(sat.misses_recoverable)
    assert "not probabilities" in sat.message
    s = summary(y, logits, threshold=0.0, n_boot=50)
    for name in ("brier", "log_loss", "ece"):
        assert np.isnan(s[name].value) and s[name].method == "none"


def test_saturation_fires_on_saturated_sigmoid() -> None:
    """Check that an over-confident network's sigmoid (1.0 or 2.7e-15) is flagged saturated."""
    rng = np.random.default_rng(1)
    y = rng.random(2_000) < 0.1
    logits = np.where(y, 40.0, -33.5) + rng.normal(size=y.size)
    logits[:100] = rng.normal(size=100)  # 5% of rows keep a spread score
    scores = expit(logits)
    sat = saturation(confusion_curve(y, scores, positive=True))
    assert sat.saturated and sat.probability
    assert sat.share_extreme >= 0.9
    assert "saturated" in sat.message and "calibrate" in sat.message
    assert sat.to_dict()["saturated"] is True


def test_saturation_fires_on_hard_predictions() -> None:
    """Check that 0/1 predictions are flagged as hard decisions."""
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    sat = saturation(confusion_curve(y, [0, 1, 0, 0, 1, 1, 0, 1]))
    assert sat.saturated and sat.n_distinct == 2
    assert "hard decisions" in sat.message


def test_saturation_quiet_on_spread_scores() -> None:
    """Check that well-spread probabilities are not flagged, and lowering the threshold helps."""
    rng = np.random.default_rng(2)
    y = rng.random(5_000) < 0.2
    scores = expit(rng.normal(size=y.size) + 1.5 * y - 1)
    sat = saturation(confusion_curve(y, scores, positive=True), threshold=0.5)
    assert not sat.saturated and sat.probability
    assert sat.share_extreme == 0.0
    assert sat.flip_fraction > 0.5
    assert 0 < sat.misses_recoverable <= 1
    assert "working lever" in sat.message


def test_saturation_threshold_below_sweep() -> None:
    """Check that a threshold already below 0.05 reports no recoverable misses, never negative."""
    y = [0, 1, 1, 0, 1, 1]
    sat = saturation(confusion_curve(y, [0.01, 0.6, 0.02, 0.3, 0.04, 0.2]), threshold=0.03)
    assert sat.misses_recoverable == 0.0


def test_reliability_to_dict_is_plain() -> None:
    """Check that to_dict gives plain lists and floats."""
    rel = reliability(confusion_curve([0, 1, 1, 0], [0.1, 0.9, 0.6, 0.4]), n_bins=2)
    d = rel.to_dict()
    assert isinstance(d["count"], list) and isinstance(d["ece"], float)
    assert sum(d["count"]) == 4


@pytest.mark.parametrize("n_bins", [1, 2, 5, 20])
def test_reliability_bins(n_bins: int) -> None:
    """Check that other bin counts also match calibration_curve."""
    rng = np.random.default_rng(n_bins)
    y = rng.integers(0, 2, 500)
    s = np.round(rng.random(500), 2)
    rel = reliability(confusion_curve(y, s), n_bins=n_bins)
    prob_true, prob_pred = calibration_curve(y, s, n_bins=n_bins, strategy="quantile")
    np.testing.assert_allclose(rel.fraction_positive, prob_true, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rel.mean_score, prob_pred, rtol=0, atol=1e-12)
