"""Tests for fnguard.metrics.intervals: Wilson, Clopper-Pearson and percentile intervals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from fnguard.errors import DataError
from fnguard.metrics import clopper_pearson_interval, wilson_interval
from fnguard.metrics.intervals import percentile_interval

PROPERTY = settings(max_examples=200, deadline=None)

METHODS = [(wilson_interval, "wilson"), (clopper_pearson_interval, "exact")]


@st.composite
def trials(draw: st.DrawFn) -> tuple[int, int, float]:
    """Successes, trials (k = 0 and k = n included) and a confidence level."""
    n = draw(st.integers(1, 10_000))
    k = draw(st.one_of(st.just(0), st.just(n), st.integers(0, n)))
    confidence = draw(st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99, 0.999]))
    return k, n, confidence


@pytest.mark.parametrize(("interval", "method"), METHODS)
@PROPERTY
@given(trials())
def test_matches_scipy(interval, method: str, case: tuple[int, int, float]) -> None:
    """Check that the interval equals scipy's binomtest(k, n).proportion_ci with that method."""
    k, n, confidence = case
    ref = binomtest(k, n).proportion_ci(confidence_level=confidence, method=method)
    low, high = interval(k, n, confidence)
    assert abs(float(low) - ref.low) <= 1e-9
    assert abs(float(high) - ref.high) <= 1e-9
    assert 0.0 <= low <= k / n <= high <= 1.0


@pytest.mark.parametrize(("interval", "method"), METHODS)
@pytest.mark.parametrize("n", [1, 7, 1000])
def test_exact_ends(interval, method: str, n: int) -> None:
    """Check that k = 0 starts at exactly 0 and k = n ends at exactly 1."""
    assert float(interval(0, n)[0]) == 0.0
    assert float(interval(n, n)[1]) == 1.0
    assert float(interval(0, n)[1]) > 0.0
    assert float(interval(n, n)[0]) < 1.0


@pytest.mark.parametrize(("interval", "method"), METHODS)
def test_no_trials_gives_nan(interval, method: str) -> None:
    """Check that n = 0 gives a NaN interval at both ends, alone or inside an array."""
    low, high = interval(0, 0)
    assert np.isnan(low) and np.isnan(high)
    low, high = interval([0, 3, 0], [0, 5, 4])
    assert np.isnan(low[0]) and np.isnan(high[0])
    assert np.all(np.isfinite(low[1:])) and np.all(np.isfinite(high[1:]))


@pytest.mark.parametrize(("interval", "method"), METHODS)
def test_vectorised(interval, method: str) -> None:
    """Check that arrays of counts give the interval of each pair."""
    k, n = np.array([0, 1, 5, 9, 10]), np.array([10, 10, 10, 10, 10])
    low, high = interval(k, n, 0.9)
    for i in range(k.size):
        one = interval(k[i], n[i], 0.9)
        assert (low[i], high[i]) == (float(one[0]), float(one[1]))


@pytest.mark.parametrize("interval", [wilson_interval, clopper_pearson_interval])
def test_wider_with_confidence(interval) -> None:
    """Check that a higher confidence level gives a wider interval around the same k/n."""
    widths = [float(np.subtract(*interval(30, 100, c)[::-1])) for c in (0.5, 0.9, 0.99)]
    assert widths[0] < widths[1] < widths[2]


def test_percentile_interval_ignores_nan() -> None:
    """Check that the percentile interval equals np.quantile of the replicates, NaN dropped."""
    rng = np.random.default_rng(0)
    reps = rng.normal(size=(1000, 3))
    reps[::7, 1] = np.nan
    low, high = percentile_interval(reps, 0.9)
    kept = reps[~np.isnan(reps[:, 1]), 1]
    assert low[1] == np.quantile(kept, 0.05) and high[1] == np.quantile(kept, 0.95)
    assert low.shape == (3,)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"k": 1, "n": 2, "confidence": 0.0}, DataError, r"must be in \(0, 1\). Got 0.0"),
        ({"k": 1, "n": 2, "confidence": 1.0}, DataError, r"must be in \(0, 1\). Got 1.0"),
        ({"k": 1, "n": 2, "confidence": 95}, DataError, r"must be in \(0, 1\). Got 95"),
        ({"k": 1, "n": 2, "confidence": float("nan")}, DataError, r"must be in \(0, 1\)"),
    ],
)
@pytest.mark.parametrize("interval", [wilson_interval, clopper_pearson_interval])
def test_bad_confidence(interval, kwargs: dict, error: type[Exception], match: str) -> None:
    """Check that a confidence level outside (0, 1) raises a DataError naming the value."""
    with pytest.raises(error, match=match):
        interval(**kwargs)
