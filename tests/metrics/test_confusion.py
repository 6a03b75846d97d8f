"""Tests for fnguard.metrics.confusion: the one-sort kernel against scikit-learn's curves."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import confusion_matrix, precision_recall_curve, roc_curve

from fnguard.errors import DataError
from fnguard.metrics import ConfusionCurve, confusion_curve

PROPERTY = settings(max_examples=200, deadline=None)


@st.composite
def labelled_scores(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Labels holding both classes, with heavily tied, free-float or all-equal scores."""
    n = draw(st.integers(2, 80))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    y[0], y[1] = 0, 1
    kind = draw(st.sampled_from(["ties", "floats", "logits", "equal", "extreme"]))
    if kind == "ties":
        values = draw(st.lists(st.floats(0, 1), min_size=1, max_size=4))
        s = draw(st.lists(st.sampled_from(values), min_size=n, max_size=n))
    elif kind == "floats":
        s = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    elif kind == "logits":
        s = draw(st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n))
    elif kind == "equal":
        s = [draw(st.floats(-10, 10))] * n
    else:
        extreme = [0.0, -0.0, 2.7e-15, 0.5, 1 - 1e-12, 1.0]
        s = draw(st.lists(st.sampled_from(extreme), min_size=n, max_size=n))
    order = draw(st.permutations(range(n)))
    return np.asarray(y)[order], np.asarray(s, dtype=np.float64)[order]


def _thresholds_to_try(s: np.ndarray) -> list[float]:
    """At scores, between two scores, below the smallest and above the largest."""
    distinct = np.unique(s)
    mid = distinct.size // 2
    at = [distinct[0], distinct[mid], distinct[-1]]
    between = [(distinct[mid - 1] + distinct[mid]) / 2] if distinct.size > 1 else []
    return [float(t) for t in (*at, *between, distinct[0] - 1.0, distinct[-1] + 1.0)]


@PROPERTY
@given(labelled_scores())
def test_curve_matches_roc_curve(data: tuple[np.ndarray, np.ndarray]) -> None:
    """Check that thresholds and counts equal roc_curve(drop_intermediate=False)'s."""
    y, s = data
    curve = confusion_curve(y, s)
    fpr, tpr, thresholds = roc_curve(y, s, drop_intermediate=False)
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    np.testing.assert_array_equal(curve.thresholds, thresholds)
    assert curve.thresholds[0] == np.inf
    assert np.all(np.diff(curve.thresholds) < 0)
    np.testing.assert_array_equal(curve.tp, np.rint(tpr * n_pos))
    np.testing.assert_array_equal(curve.fp, np.rint(fpr * n_neg))
    np.testing.assert_array_equal(curve.tp + curve.fn, n_pos)
    np.testing.assert_array_equal(curve.fp + curve.tn, n_neg)
    own_fpr, own_tpr = curve.roc()
    np.testing.assert_allclose(own_fpr, fpr, rtol=0, atol=1e-12)
    np.testing.assert_allclose(own_tpr, tpr, rtol=0, atol=1e-12)
    assert (curve.n_positive, curve.n_negative, curve.n, len(curve)) == (
        n_pos,
        n_neg,
        y.size,
        thresholds.size,
    )


@PROPERTY
@given(labelled_scores())
def test_precision_recall_matches_sklearn(data: tuple[np.ndarray, np.ndarray]) -> None:
    """Check that precision and recall equal precision_recall_curve's, in decreasing order."""
    y, s = data
    curve = confusion_curve(y, s)
    precision, recall, thresholds = precision_recall_curve(y, s)
    own_precision, own_recall = curve.precision_recall()
    # scikit-learn orders by increasing threshold and appends the (1, 0) end point.
    np.testing.assert_array_equal(curve.thresholds[1:], thresholds[::-1])
    np.testing.assert_allclose(own_precision, precision[:-1][::-1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(own_recall, recall[:-1][::-1], rtol=0, atol=1e-12)


@PROPERTY
@given(labelled_scores())
def test_counts_at_match_confusion_matrix(data: tuple[np.ndarray, np.ndarray]) -> None:
    """Check that counts_at(t) equals confusion_matrix(y, s >= t) at, between and beyond scores."""
    y, s = data
    curve = confusion_curve(y, s)
    for t in _thresholds_to_try(s):
        tn, fp, fn, tp = confusion_matrix(y, s >= t, labels=[0, 1]).ravel()
        assert curve.counts_at(t) == (tp, fp, tn, fn), t


def test_all_equal_scores_give_one_threshold() -> None:
    """Check that scores all equal give the +inf row and one threshold holding every row."""
    curve = confusion_curve([0, 1, 1, 0, 1], [0.3] * 5)
    assert curve.thresholds.tolist() == [np.inf, 0.3]
    assert curve.tp.tolist() == [0, 3] and curve.fp.tolist() == [0, 2]
    assert curve.counts_at(0.3) == (3, 2, 0, 0)
    assert curve.counts_at(0.31) == (0, 0, 2, 3)


def test_counts_at_infinite_thresholds() -> None:
    """Check that +inf predicts nothing positive and -inf predicts every row positive."""
    curve = confusion_curve([0, 1, 1, 0], [0.1, 0.4, 0.8, 0.4])
    assert curve.counts_at(np.inf) == (0, 0, 2, 2)
    assert curve.counts_at(-np.inf) == (2, 2, 0, 0)


def test_counts_are_int64_arrays() -> None:
    """Check that the curve holds float64 thresholds and int64 counts."""
    curve = confusion_curve([0, 1, 1], [0.2, 0.5, 0.9])
    assert isinstance(curve, ConfusionCurve)
    assert curve.thresholds.dtype == np.float64
    for counts in (curve.tp, curve.fp, curve.tn, curve.fn):
        assert counts.dtype == np.int64


@pytest.mark.parametrize(
    ("y_true", "positive"),
    [
        (["good", "bad", "bad", "good", "bad"], "bad"),
        ([False, True, True, False, True], True),
        ([-1, 1, 1, -1, 1], 1),
        ([0.0, 1.0, 1.0, 0.0, 1.0], 1),
    ],
)
def test_non_01_labels(y_true: list, positive: object) -> None:
    """Check that string, boolean and +-1 labels give the curve of their 0/1 encoding."""
    s = [0.1, 0.7, 0.4, 0.4, 0.9]
    curve = confusion_curve(y_true, s, positive=positive)
    reference = confusion_curve([0, 1, 1, 0, 1], s)
    np.testing.assert_array_equal(curve.thresholds, reference.thresholds)
    np.testing.assert_array_equal(curve.tp, reference.tp)
    np.testing.assert_array_equal(curve.fp, reference.fp)


def test_negative_label_as_positive() -> None:
    """Check that choosing the other class as positive swaps the roles of the counts."""
    y, s = [0, 1, 1, 0, 1], [0.1, 0.7, 0.4, 0.4, 0.9]
    flipped = confusion_curve(y, s, positive=0)
    curve = confusion_curve(y, s)
    np.testing.assert_array_equal(flipped.tp, curve.fp)
    np.testing.assert_array_equal(flipped.fn, curve.tn)
    bools = confusion_curve([bool(v) for v in y], s, positive=False)
    np.testing.assert_array_equal(bools.tp, curve.fp)


def test_single_class_negatives_only() -> None:
    """Check that 0/1 labels holding only the negative class give a curve, as labels holding
    only positives do (it was an error telling to pass positive=0)."""
    curve = confusion_curve([0, 0, 0], [0.2, 0.2, 0.9])
    assert curve.n_positive == 0 and curve.n_negative == 3
    assert curve.fp.tolist() == [0, 1, 3]


def test_single_class_positives_only() -> None:
    """Check that labels holding only the positive class still give a curve."""
    curve = confusion_curve([1, 1, 1], [0.2, 0.2, 0.9])
    assert curve.n_positive == 3 and curve.n_negative == 0
    assert curve.tp.tolist() == [0, 1, 3]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"y_true": [0, 1], "y_score": [0.1, np.nan]}, DataError, "1 NaN and 0 infinite"),
        ({"y_true": [0, 1], "y_score": [np.inf, 0.2]}, DataError, "0 NaN and 1 infinite"),
        ({"y_true": [0, 1], "y_score": [[0.1, 0.9], [0.8, 0.2]]}, DataError, "one-dimensional"),
        ({"y_true": [0, 1, 1], "y_score": [0.1, 0.2]}, DataError, "3 rows but 'y_score' has 2"),
        ({"y_true": [0, 1, 2], "y_score": [0.1, 0.2, 0.3]}, DataError, "two classes. Got 3"),
        ({"y_true": [0, 0, 0], "y_score": [0.1, 0.2, 0.3], "positive": 2}, DataError,
         "positive label 2 does not occur"),
        (
            {"y_true": ["a", "b"], "y_score": [0.1, 0.2], "positive": "bad"},
            DataError,
            "'bad' does not occur",
        ),
        (
            {"y_true": [True, False], "y_score": [0.1, 0.2], "positive": "yes"},
            DataError,
            "pass positive=True",
        ),
        ({"y_true": [[0, 1]], "y_score": [0.1, 0.2]}, DataError, "'y_true' must be one-dim"),
        ({"y_true": [], "y_score": []}, DataError, "empty"),
        ({"y_true": [0.0, np.nan], "y_score": [0.1, 0.2]}, DataError, "NaN labels"),
        ({"y_true": [0, None], "y_score": [0.1, 0.2]}, DataError, "missing"),
        # blank labels as pandas reads them: text with NaN, categorical, nullable types
        ({"y_true": pd.Series(["a", np.nan, "b"]), "y_score": [0.1, 0.2, 0.3],
          "positive": "a"}, DataError, r"1 missing label \(None, NaN or NA; first at row 1\)"),
        ({"y_true": pd.Categorical(["a", None, "b"]), "y_score": [0.1, 0.2, 0.3],
          "positive": "a"}, DataError, "1 missing label"),
        ({"y_true": pd.array(["a", None, "b"], dtype="string"), "y_score": [0.1, 0.2, 0.3],
          "positive": "a"}, DataError, "1 missing label"),
        ({"y_true": pd.array([True, None, False], dtype="boolean"), "y_score": [0.1, 0.2, 0.3],
          "positive": True}, DataError, "1 missing label"),
        ({"y_true": np.array([0, 1, "1"], dtype=object), "y_score": [0.1, 0.2, 0.3]},
         DataError, r"mixes labels of different types \(int, str\)"),
        ({"y_true": [0, 1], "y_score": ["low", "high"]}, DataError, "must be numeric"),
    ],
)
def test_bad_inputs(kwargs: dict, error: type[Exception], match: str) -> None:
    """Check that each invalid input raises the error that names the problem."""
    with pytest.raises(error, match=match):
        confusion_curve(**kwargs)


def test_two_million_scores_match_roc_curve() -> None:
    """Check that 2,000,000 scores give roc_curve's counts, fast and in bounded memory."""
    rng = np.random.default_rng(7)
    n = 2_000_000
    y = rng.random(n) < 0.05
    scores = rng.random(n)
    scores[: n // 2] = np.round(scores[: n // 2], 3)  # half the rows heavily tied
    tracemalloc.start()
    start = time.perf_counter()
    curve = confusion_curve(y, scores, positive=True)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    fpr, tpr, thresholds = roc_curve(y, scores, drop_intermediate=False)
    np.testing.assert_array_equal(curve.thresholds, thresholds)
    sample = np.random.default_rng(0).choice(thresholds.size, 1_000, replace=False)
    np.testing.assert_array_equal(curve.tp[sample], np.rint(tpr[sample] * y.sum()))
    np.testing.assert_array_equal(curve.fp[sample], np.rint(fpr[sample] * (~y).sum()))
    for t in scores[:50]:
        tp = int(np.count_nonzero(y & (scores >= t)))
        fp = int(np.count_nonzero(~y & (scores >= t)))
        assert curve.counts_at(t)[:2] == (tp, fp)
    # The output alone is 5 arrays of about n values (~4.7x the scores measured): no blow-up.
    assert peak < 8 * scores.nbytes, peak
    assert seconds < 10, seconds
