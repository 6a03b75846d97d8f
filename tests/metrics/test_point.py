"""Tests for fnguard.metrics.point: threshold metrics from counts against scikit-learn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from fnguard.metrics import fbeta, mcc, threshold_metrics

PROPERTY = settings(max_examples=100, deadline=None)  # 7**4 count tuples: 100 suffice

NAMES = (
    "accuracy recall fnr specificity fpr precision npv f1 f2 mcc balanced_accuracy g_mean"
).split()


def _rows(tp: int, fp: int, tn: int, fn: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and 0/1 predictions holding exactly these counts."""
    y = np.array([1] * tp + [0] * fp + [0] * tn + [1] * fn)
    p = np.array([1] * tp + [1] * fp + [0] * tn + [0] * fn)
    return y, p


def _sklearn(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Every threshold metric by scikit-learn, with its default zero_division (0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        recall = skm.recall_score(y, p, labels=[0, 1])
        specificity = skm.recall_score(y, p, pos_label=0, labels=[0, 1])
        return {
            "accuracy": skm.accuracy_score(y, p),
            "recall": recall,
            "fnr": 1 - recall,
            "specificity": specificity,
            "fpr": 1 - specificity,
            "precision": skm.precision_score(y, p, labels=[0, 1]),
            "npv": skm.precision_score(y, p, pos_label=0, labels=[0, 1]),
            "f1": skm.f1_score(y, p, labels=[0, 1]),
            "f2": skm.fbeta_score(y, p, beta=2, labels=[0, 1]),
            "mcc": skm.matthews_corrcoef(y, p),
            "balanced_accuracy": skm.balanced_accuracy_score(y, p),
            "g_mean": float(np.sqrt(recall * specificity)),
        }


counts = st.integers(0, 6)


@PROPERTY
@given(tp=counts, fp=counts, tn=counts, fn=counts)
def test_threshold_metrics_match_sklearn(tp: int, fp: int, tn: int, fn: int) -> None:
    """Check that every metric equals scikit-learn's for both classes present, zeros included."""
    tp, fn = (tp, fn) if tp + fn else (0, 1)
    fp, tn = (fp, tn) if fp + tn else (1, 0)
    ours = threshold_metrics(tp, fp, tn, fn)
    ref = _sklearn(*_rows(tp, fp, tn, fn))
    assert list(ours) == NAMES
    for name in NAMES:
        assert abs(float(ours[name]) - ref[name]) <= 1e-9, (name, ours[name], ref[name])


@PROPERTY
@given(tp=counts, fp=counts, tn=counts, fn=counts)
def test_zero_divisions_give_zero(tp: int, fp: int, tn: int, fn: int) -> None:
    """Check that F-scores, MCC and the ratios are 0 (scikit-learn's default) when undefined."""
    if tp + fp + tn + fn == 0:
        tn = 1
    y, p = _rows(tp, fp, tn, fn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert abs(float(fbeta(tp, fp, fn, 1.0)) - skm.f1_score(y, p, labels=[0, 1])) <= 1e-9
        assert abs(float(fbeta(tp, fp, fn, 0.5)) - skm.fbeta_score(y, p, beta=0.5)) <= 1e-9
        assert abs(float(mcc(tp, fp, tn, fn)) - skm.matthews_corrcoef(y, p)) <= 1e-9
        ours = threshold_metrics(tp, fp, tn, fn)
        assert abs(float(ours["precision"]) - skm.precision_score(y, p, labels=[0, 1])) <= 1e-9
    assert all(np.isfinite(float(v)) for v in ours.values())


def test_vectorised_over_arrays() -> None:
    """Check that arrays of counts give, element by element, the metrics of each scalar."""
    rng = np.random.default_rng(3)
    tp, fp, tn, fn = rng.integers(0, 20, size=(4, 50))
    batch = threshold_metrics(tp, fp, tn, fn)
    for i in range(50):
        one = threshold_metrics(tp[i], fp[i], tn[i], fn[i])
        for name in NAMES:
            assert batch[name].shape == (50,)
            assert batch[name][i] == one[name]


@pytest.mark.parametrize(
    ("tp", "fp", "tn", "fn", "expected"),
    [
        (5, 0, 5, 0, 1.0),
        (0, 5, 0, 5, -1.0),
        (5, 5, 0, 0, 0.0),  # nothing predicted negative: a margin is empty
        (0, 0, 5, 5, 0.0),
        (0, 3, 0, 2, -1.0),  # two square roots would round this to -1.0000000000000002
    ],
)
def test_mcc_closed_cases(tp: int, fp: int, tn: int, fn: int, expected: float) -> None:
    """Check that MCC is +1, -1 or 0 in the perfect, inverted and degenerate cases."""
    assert float(mcc(tp, fp, tn, fn)) == expected


def test_mcc_large_counts_do_not_overflow() -> None:
    """Check that MCC on counts in the billions matches the closed formula without overflow."""
    tp, fp, tn, fn = 3_000_000_000, 1_000_000_000, 5_000_000_000, 2_000_000_000
    expected = (tp * tn - fp * fn) / np.sqrt(float((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)))
    assert abs(float(mcc(tp, fp, tn, fn)) - expected) <= 1e-12
