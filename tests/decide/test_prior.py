"""Tests for fnguard.decide.prior: correcting probabilities for a shift in class balance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, logit
from scipy.stats import norm
from threadpoolctl import threadpool_limits

from fnguard.decide.prior import correct_prior, prior_shift_logit
from fnguard.errors import DataError
from fnguard.metrics import brier_score, confusion_curve, reliability

rates = st.floats(1e-4, 1 - 1e-4)


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Small matrices: BLAS threads only add overhead, worse under pytest-xdist."""
    with threadpool_limits(1):
        yield


def test_correct_prior_matches_bayes_rule_on_known_densities():
    """Check that the corrected posterior of two Gaussians equals the posterior at the new rate."""
    x = np.linspace(-4, 5, 200)
    f1, f0 = norm.pdf(x, loc=1.0), norm.pdf(x, loc=0.0)

    def posterior(rate: float) -> np.ndarray:
        return rate * f1 / (rate * f1 + (1 - rate) * f0)

    got = correct_prior(posterior(0.5), train_rate=0.5, true_rate=0.03)
    np.testing.assert_allclose(got, posterior(0.03), rtol=1e-12, atol=1e-300)


@given(p=st.lists(st.floats(0, 1), min_size=1, max_size=50), a=rates, b=rates)
@settings(max_examples=200, deadline=None)
def test_correct_prior_is_a_logit_shift_and_its_own_inverse(p, a, b):
    """Check that the correction shifts the logit by prior_shift_logit; swapped rates undo it."""
    p = np.asarray(p)
    out = correct_prior(p, a, b)
    shifted = expit(logit(p) + prior_shift_logit(a, b))
    np.testing.assert_allclose(out, shifted, rtol=1e-9, atol=1e-300)
    # The round trip loses about eps * exp(|shift|) near 0 and 1 (at most ~2e-8 for these rates).
    np.testing.assert_allclose(correct_prior(out, b, a), p, rtol=1e-9, atol=1e-7)
    assert np.all(np.diff(out[np.argsort(p, kind="stable")]) >= 0)


def test_correct_prior_keeps_zero_and_one_exact_and_shape():
    """Check that 0 and 1 stay exactly 0 and 1, equal rates change nothing, and shape is kept."""
    out = correct_prior([[0.0, 1.0], [0.25, 0.5]], train_rate=0.5, true_rate=0.01)
    assert out.shape == (2, 2)
    assert out[0, 0] == 0.0 and out[0, 1] == 1.0
    np.testing.assert_allclose(correct_prior([0.3, 0.7], 0.2, 0.2), [0.3, 0.7], rtol=1e-15)
    assert float(correct_prior(0.5, 0.5, 0.1)) == pytest.approx(0.1)
    assert prior_shift_logit(0.5, 0.1) == pytest.approx(logit(0.1))


def test_correct_prior_recalibrates_an_undersampled_model_on_caravan():
    """Check that an undersampled model's probabilities are far better calibrated once corrected."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from fnguard.data.datasets import load_caravan

    data = load_caravan()
    X, y = data.X.astype(float).to_numpy(), np.asarray(data.y, dtype=bool)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)
    rng = np.random.default_rng(0)
    pos = np.flatnonzero(y_tr)
    neg = rng.choice(np.flatnonzero(~y_tr), size=pos.size, replace=False)
    keep = np.concatenate([pos, neg])
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=1000))
    model.fit(X_tr[keep], y_tr[keep])
    p = model.predict_proba(X_te)[:, 1]
    fixed = correct_prior(p, train_rate=0.5, true_rate=y_tr.mean())

    before, after = confusion_curve(y_te, p), confusion_curve(y_te, fixed)
    assert reliability(after).ece < 0.25 * reliability(before).ece
    assert brier_score(after) < 0.5 * brier_score(before)
    # The ranking is untouched: the correction is monotone.
    np.testing.assert_array_equal(np.argsort(p, kind="stable"), np.argsort(fixed, kind="stable"))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"train_rate": 0.0}, DataError, r"'train_rate' must be a positive rate in \(0, 1\)"),
        ({"train_rate": 1.0}, DataError, r"'train_rate' must be .* Got 1.0"),
        ({"true_rate": -0.2}, DataError, r"'true_rate' must be .* Got -0.2"),
        ({"true_rate": 1.5}, DataError, r"'true_rate' must be .* Got 1.5"),
        ({"true_rate": float("nan")}, DataError, r"'true_rate' must be"),
        ({"true_rate": "high"}, DataError, r"'true_rate' must be .* Got 'high'"),
        ({"true_rate": None}, DataError, r"'true_rate' must be .* Got None"),
        ({"scores": [0.2, 1.5]}, DataError, r"probabilities in \[0, 1\].*first: 1.5 at position 1"),
        ({"scores": [-0.1]}, DataError, r"not logits or margins"),
        ({"scores": [0.2, np.nan]}, DataError, r"drop NaN rows"),
        ({"scores": ["a", "b"]}, DataError, r"must be numeric"),
        (
            {"scores": [[0.8, 0.2], [0.3, 0.7]]},
            DataError,
            r"predict_proba's output, both classes.*predict_proba\(X\)\[:, 1\]",
        ),
    ],
)
def test_correct_prior_rejects_bad_input(kwargs, error, match):
    """Check that bad rates and scores raise a DataError that names the rule and the fix."""
    args = {"scores": [0.1, 0.9], "train_rate": 0.5, "true_rate": 0.1} | kwargs
    with pytest.raises(error, match=match):
        correct_prior(**args)


def test_prior_shift_logit_rejects_bad_rates():
    """Check that prior_shift_logit validates its rates like correct_prior."""
    with pytest.raises(DataError, match=r"'train_rate' must be a positive rate"):
        prior_shift_logit(0, 0.5)
    assert expit(logit(0.2) + prior_shift_logit(0.2, 0.6)) == pytest.approx(0.6)
