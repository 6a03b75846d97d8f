"""Tests for fnguard.metrics.bootstrap: stratified, seeded, vectorised bootstrap intervals."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

import fnguard.metrics.bootstrap as bootstrap
from fnguard.metrics import (
    average_precision,
    brier_score,
    confusion_curve,
    log_loss,
    reliability,
    roc_auc,
    summary,
)
from fnguard.metrics.bootstrap import curve_replicates, threshold_replicates

BOOTSTRAPPED = "f1 f2 mcc balanced_accuracy g_mean roc_auc pr_auc brier log_loss ece".split()


@st.composite
def labelled_probabilities(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Labels holding both classes and probabilities, tied or free."""
    n = draw(st.integers(4, 60))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    y[0], y[1] = 0, 1
    values = draw(st.lists(st.floats(0, 1), min_size=1, max_size=n))
    s = draw(st.lists(st.sampled_from(values), min_size=n, max_size=n))
    return np.asarray(y), np.asarray(s, dtype=np.float64)


@settings(max_examples=60, deadline=None)
@given(labelled_probabilities(), st.floats(0, 1), st.integers(0, 2**32 - 1))
def test_intervals_bracket_the_value(
    data: tuple[np.ndarray, np.ndarray], threshold: float, seed: int
) -> None:
    """Check that every bootstrap interval holds its point value and stays in range."""
    y, s = data
    out = summary(y, s, threshold=threshold, n_boot=100, random_state=seed)
    for name in BOOTSTRAPPED:
        e = out[name]
        assert e.method == "bootstrap", name
        assert e.low <= e.value <= e.high, (name, e)
        low_bound = -1.0 if name == "mcc" else 0.0
        high_bound = math.inf if name == "log_loss" else 1.0
        assert low_bound <= e.low and e.high <= high_bound, (name, e)


def test_seeded_reproducibility() -> None:
    """Check that one random_state gives identical intervals and another seed different ones."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    s = np.clip(rng.normal(0.4 + 0.2 * y, 0.2), 0, 1)
    first = summary(y, s, n_boot=200, random_state=42)
    again = summary(y, s, n_boot=200, random_state=42)
    other = summary(y, s, n_boot=200, random_state=43)
    assert first == again
    assert any(first[name] != other[name] for name in BOOTSTRAPPED)
    assert summary(y, s, n_boot=200, random_state=None)["roc_auc"].method == "bootstrap"


def test_no_bootstrap_gives_nan_intervals() -> None:
    """Check that n_boot=0 keeps the values and leaves the bootstrap intervals NaN."""
    y, s = [0, 1, 1, 0, 1, 0], [0.2, 0.8, 0.4, 0.5, 0.9, 0.1]
    out = summary(y, s, n_boot=0)
    for name in BOOTSTRAPPED:
        assert math.isnan(out[name].low) and math.isnan(out[name].high)
        assert out[name].method == "none"
    assert out["roc_auc"].value == summary(y, s, n_boot=10)["roc_auc"].value


def test_exact_regime_grouped_point_is_exact() -> None:
    """Check that below EXACT_ROWS the replicates' point values equal the exact metrics."""
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 2_000)
    s = np.round(rng.beta(2, 3, 2_000) + 0.1 * y, 2).clip(0, 1)
    curve = confusion_curve(y, s)
    reps, point = curve_replicates(curve, 50, np.random.default_rng(0))
    exact = {
        "roc_auc": roc_auc(curve),
        "pr_auc": average_precision(curve),
        "brier": brier_score(curve),
        "log_loss": log_loss(curve),
        "ece": reliability(curve).ece,
    }
    assert set(reps) == set(exact)
    for name, value in exact.items():
        assert abs(point[name] - value) <= 1e-12, name
        assert reps[name].shape == (50,)


def test_threshold_replicates_keep_class_counts() -> None:
    """Check that threshold replicates are stratified: positives and negatives keep their counts."""
    reps = threshold_replicates(30, 10, 40, 160, 2_000, np.random.default_rng(0))
    recall = reps["recall"]
    assert recall.shape == (2_000,)
    # tp* ~ B(40, 0.75): recall has that mean and variance.
    assert abs(recall.mean() - 0.75) < 0.01
    assert abs(recall.var() - 0.75 * 0.25 / 40) < 0.001
    np.testing.assert_allclose(reps["fnr"], 1 - recall)


def test_auc_interval_coverage() -> None:
    """Check that the 95% ROC-AUC interval covers the true binormal AUC in 88-99% of datasets."""
    true_auc = 0.8
    shift = math.sqrt(2) * norm.ppf(true_auc)  # AUC of N(shift, 1) vs N(0, 1)
    rng = np.random.default_rng(2024)
    y = np.r_[np.zeros(300, dtype=int), np.ones(100, dtype=int)]
    n_datasets = 300
    covered = 0
    for i in range(n_datasets):
        s = np.r_[rng.normal(size=300), rng.normal(shift, size=100)]
        e = summary(y, s, n_boot=300, random_state=i)["roc_auc"]
        covered += e.low <= true_auc <= e.high
    assert 0.88 <= covered / n_datasets <= 0.99, covered


def test_merged_regime_close_to_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """Check that the merged regime (n > EXACT_ROWS) gives nearly the exact regime's intervals."""
    rng = np.random.default_rng(11)
    n = 30_000
    y = rng.random(n) < 0.1
    s = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.2 * y)))
    assert n > bootstrap.EXACT_ROWS
    merged = summary(y, s, positive=True, n_boot=1_000)
    monkeypatch.setattr(bootstrap, "EXACT_ROWS", 10**9)
    exact = summary(y, s, positive=True, n_boot=1_000)
    for name in ("roc_auc", "pr_auc", "brier", "log_loss", "ece"):
        m, e = merged[name], exact[name]
        assert m.value == e.value
        width = e.high - e.low
        assert abs((m.high - m.low) - width) <= 0.2 * width, (name, m, e)
        assert abs((m.high + m.low) / 2 - (e.high + e.low) / 2) <= 0.2 * width, (name, m, e)


def test_exact_redraws_bound_memory() -> None:
    """Check that redrawing 20,000 tied rows 1,000 times holds tens of MB, not a full matrix."""
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 20_000)
    s = np.full(20_000, 0.3)
    tracemalloc.start()
    out = summary(y, s)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert out["roc_auc"].value == 0.5
    # A (1,000 x 10,000) int64 matrix of picks alone would be 80 MB; chunks keep ~4M cells.
    assert peak < 100e6, peak
