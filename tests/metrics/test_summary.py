"""Tests for fnguard.metrics.summary: every metric against scikit-learn, with its interval."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from fnguard.errors import DataError
from fnguard.metrics import METRICS, Estimate, confusion_curve, summary, summary_from_curve

PROPERTY = settings(max_examples=200, deadline=None)

WILSON = "prevalence accuracy recall fnr specificity fpr precision npv".split()
BOOTSTRAP = "f1 f2 mcc balanced_accuracy g_mean roc_auc pr_auc brier log_loss ece".split()


@st.composite
def labelled_scores(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Labels holding both classes, with heavily tied, free-float or all-equal probabilities."""
    n = draw(st.integers(2, 80))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    y[0], y[1] = 0, 1
    kind = draw(st.sampled_from(["ties", "floats", "equal", "extreme"]))
    if kind == "ties":
        values = draw(st.lists(st.floats(0, 1), min_size=1, max_size=4))
        s = draw(st.lists(st.sampled_from(values), min_size=n, max_size=n))
    elif kind == "floats":
        s = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    elif kind == "equal":
        s = [draw(st.floats(0, 1))] * n
    else:
        extreme = [0.0, 2.7e-15, 0.5, 1 - 1e-12, 1.0]
        s = draw(st.lists(st.sampled_from(extreme), min_size=n, max_size=n))
    order = draw(st.permutations(range(n)))
    return np.asarray(y)[order], np.asarray(s, dtype=np.float64)[order]


def _threshold(s: np.ndarray, where: str) -> float:
    """A threshold at a score, between two scores, below the smallest or above the largest."""
    distinct = np.unique(s)
    if where == "at":
        return float(distinct[distinct.size // 2])
    if where == "between":
        return float((distinct[0] + distinct[1]) / 2) if distinct.size > 1 else 0.5
    return float(distinct[0] - 0.25) if where == "below" else float(distinct[-1] + 0.25)


def _sklearn(y: np.ndarray, s: np.ndarray, threshold: float) -> dict[str, float]:
    """Every metric scikit-learn has, with its default zero_division (0)."""
    p = (s >= threshold).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        recall = skm.recall_score(y, p, labels=[0, 1])
        specificity = skm.recall_score(y, p, pos_label=0, labels=[0, 1])
        tn, fp, fn, tp = skm.confusion_matrix(y, p, labels=[0, 1]).ravel()
        return {
            "tp": tp,
            "fp": fp,
            "tn": tn,
            "fn": fn,
            "prevalence": y.mean(),
            "accuracy": skm.accuracy_score(y, p),
            "recall": recall,
            "fnr": 1 - recall,
            "specificity": specificity,
            "fpr": fp / (fp + tn),
            "precision": skm.precision_score(y, p, labels=[0, 1]),
            "npv": skm.precision_score(y, p, pos_label=0, labels=[0, 1]),
            "f1": skm.f1_score(y, p, labels=[0, 1]),
            "f2": skm.fbeta_score(y, p, beta=2, labels=[0, 1]),
            "mcc": skm.matthews_corrcoef(y, p),
            "balanced_accuracy": skm.balanced_accuracy_score(y, p),
            "g_mean": math.sqrt(recall * specificity),
            "roc_auc": skm.roc_auc_score(y, s),
            "pr_auc": skm.average_precision_score(y, s),
            "brier": skm.brier_score_loss(y, s),
            "log_loss": skm.log_loss(y, s),
        }


@PROPERTY
@given(labelled_scores(), st.sampled_from(["at", "between", "below", "above"]))
def test_values_match_sklearn(data: tuple[np.ndarray, np.ndarray], where: str) -> None:
    """Check that every metric scikit-learn has equals it to 1e-9, ties and edges included."""
    y, s = data
    threshold = _threshold(s, where)
    out = summary(y, s, threshold=threshold, n_boot=0)
    assert list(out) == METRICS
    for name, expected in _sklearn(y, s, threshold).items():
        assert abs(out[name].value - expected) <= 1e-9, (name, out[name].value, expected)
    n_pos = int(y.sum())
    imbalance = max(n_pos, y.size - n_pos) / min(n_pos, y.size - n_pos)
    assert abs(out["imbalance_ratio"].value - imbalance) <= 1e-12


@settings(max_examples=30, deadline=None)
@given(labelled_scores(), st.floats(0, 1))
def test_methods_and_intervals(data: tuple[np.ndarray, np.ndarray], threshold: float) -> None:
    """Check that proportions get Wilson intervals, the rest a bootstrap, each holding its value."""
    y, s = data
    out = summary(y, s, threshold=threshold, n_boot=50)
    for name in ("tp", "fp", "tn", "fn"):
        assert out[name].method == "count" and math.isnan(out[name].low)
        assert isinstance(out[name].value, int)
    for name in WILSON:
        e = out[name]
        assert e.method in ("wilson", "none"), name
        if e.method == "wilson":
            assert 0 <= e.low <= e.value <= e.high <= 1, (name, e)
        else:  # a zero denominator: value 0, no interval
            assert e.value == 0 and math.isnan(e.low) and math.isnan(e.high), (name, e)
    for name in BOOTSTRAP:
        assert out[name].method == "bootstrap", name
        assert out[name].low <= out[name].value <= out[name].high, (name, out[name])
    ratio = out["imbalance_ratio"]
    assert 1 <= ratio.low <= ratio.value <= ratio.high


@pytest.mark.parametrize(
    ("y_true", "positive"),
    [
        (["good", "bad", "bad", "good", "bad", "good"], "bad"),
        ([False, True, True, False, True, False], True),
        (np.array([0, 1, 1, 0, 1, 0], dtype=np.int8), 1),
    ],
)
def test_non_01_labels(y_true: list, positive: object) -> None:
    """Check that string labels with positive='bad' and boolean labels equal their 0/1 encoding."""
    s = [0.2, 0.9, 0.4, 0.6, 0.7, 0.1]
    out = summary(y_true, s, positive=positive, n_boot=100)
    ref = summary([0, 1, 1, 0, 1, 0], s, n_boot=100)
    assert out == ref
    assert abs(out["roc_auc"].value - skm.roc_auc_score([0, 1, 1, 0, 1, 0], s)) <= 1e-12


def test_string_labels_other_class_positive() -> None:
    """Check that positive='good' measures the misses of the other class, as scikit-learn does."""
    y = np.array(["good", "bad", "bad", "good", "bad", "good"])
    s = np.array([0.8, 0.1, 0.6, 0.7, 0.3, 0.9])
    out = summary(y, s, positive="good", n_boot=0)
    p = np.where(s >= 0.5, "good", "bad")
    assert out["recall"].value == skm.recall_score(y, p, pos_label="good")
    assert out["precision"].value == skm.precision_score(y, p, pos_label="good")
    assert out["roc_auc"].value == skm.roc_auc_score(y == "good", s)


def test_summary_from_curve_is_summary() -> None:
    """Check that summary_from_curve on the curve gives what summary gives on the data."""
    rng = np.random.default_rng(8)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.random(300), 1)
    assert summary_from_curve(confusion_curve(y, s), 0.3, 0.9, n_boot=100) == summary(
        y, s, 0.3, confidence=0.9, n_boot=100
    )


def test_confidence_widens_intervals() -> None:
    """Check that a 99% summary has wider intervals than a 90% one on the same data."""
    rng = np.random.default_rng(9)
    y = rng.integers(0, 2, 400)
    s = np.clip(rng.normal(0.4 + 0.2 * y, 0.2), 0, 1)
    narrow, wide = summary(y, s, confidence=0.9), summary(y, s, confidence=0.99)
    for name in ("recall", "precision", "roc_auc", "f1"):
        assert wide[name].high - wide[name].low > narrow[name].high - narrow[name].low, name


def test_estimate_to_dict_and_format() -> None:
    """Check that Estimate is JSON-ready (NaN as None) and formats with its interval."""
    out = summary([0, 1, 1, 0], [0.1, 0.9, 0.3, 0.2], threshold=0.95, n_boot=20)
    assert json.loads(json.dumps({k: v.to_dict() for k, v in out.items()}))
    assert out["tp"].to_dict() == {"value": 0, "low": None, "high": None, "method": "count"}
    # Nothing predicted positive: precision is 0 with no interval, NaN at both ends.
    assert out["precision"].to_dict() == {"value": 0.0, "low": None, "high": None, "method": "none"}
    assert format(Estimate(0.5, 0.25, 0.75, "wilson"), ".2f") == "0.50 [0.25, 0.75]"
    assert format(Estimate(3, math.nan, math.nan, "count"), "d") == "3"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"y_score": [0.1, np.nan, 0.3, 0.4]}, DataError, "1 NaN and 0 infinite"),
        ({"y_score": [0.1, 0.2, -np.inf, 0.4]}, DataError, "0 NaN and 1 infinite"),
        ({"y_score": [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6]]}, DataError, "one-dim"),
        ({"y_score": [0.1, 0.2, 0.3]}, DataError, "4 rows but 'y_score' has 3"),
        ({"y_true": [0, 1, 2, 1]}, DataError, "must hold two classes. Got 3"),
        ({"positive": 2}, DataError, "positive label 2 does not occur"),
        ({"y_true": [1, 1, 1, 1]}, DataError, "only positive rows"),
        ({"y_true": [0, 0, 0, 0], "positive": 0}, DataError, "only positive rows"),
        # 0/1 labels with only the negative one: a batch without positives, not a wrong label
        ({"y_true": [0, 0, 0, 0]}, DataError, "only negative rows: the metrics need both"),
        ({"y_true": [1, 1, 1, 1], "positive": 0}, DataError, "only negative rows"),
        ({"y_true": ["0", "0", "0", "0"], "positive": "1"}, DataError, "only negative rows"),
        ({"y_true": ["a", "b", "a", "b"]}, DataError,
         r"positive label 1 does not occur in 'y_true' \(values: 'a', 'b'\): pass one"),
        ({"y_true": [0, 0, 0, 0], "positive": "1"}, DataError, "positive label '1' does not"),
        ({"confidence": 0.0}, DataError, r"'confidence' parameter must be in \(0, 1\)"),
        ({"confidence": 1.0}, DataError, r"'confidence' parameter must be in \(0, 1\)"),
        ({"confidence": 95}, DataError, r"Got 95 instead"),
        ({"n_boot": -1}, DataError, "'n_boot' parameter must be >= 0. Got -1"),
        ({"threshold": "high"}, DataError, "'threshold' parameter must be a number"),
        ({"threshold": None}, DataError, "'threshold' parameter must be a number"),
        ({"threshold": float("nan")}, DataError, "Got NaN"),
        ({"y_score": ["a", "b", "c", "d"]}, DataError, "must be numeric"),
    ],
)
def test_bad_inputs(kwargs: dict, error: type[Exception], match: str) -> None:
    """Check that each invalid input raises a DataError that names the rule and the value."""
    args = {"y_true": [0, 1, 1, 0], "y_score": [0.1, 0.8, 0.6, 0.3], "n_boot": 10, **kwargs}
    with pytest.raises(error, match=match):
        summary(**args)
