"""Tests for fnguard.metrics.ranking: ROC-AUC and average precision against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from fnguard.errors import DataError
from fnguard.metrics import average_precision, confusion_curve, roc_auc

PROPERTY = settings(max_examples=200, deadline=None)


@st.composite
def labelled_scores(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Labels holding both classes, with scores from a few values (ties), floats or one value."""
    n = draw(st.integers(2, 80))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    y[0], y[1] = 0, 1
    kind = draw(st.sampled_from(["ties", "floats", "equal"]))
    if kind == "ties":
        values = draw(st.lists(st.floats(-5, 5), min_size=1, max_size=4))
        s = draw(st.lists(st.sampled_from(values), min_size=n, max_size=n))
    elif kind == "floats":
        s = draw(st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n))
    else:
        s = [draw(st.floats(0, 1))] * n
    order = draw(st.permutations(range(n)))
    return np.asarray(y)[order], np.asarray(s, dtype=np.float64)[order]


@PROPERTY
@given(labelled_scores())
def test_roc_auc_matches_sklearn(data: tuple[np.ndarray, np.ndarray]) -> None:
    """Check that roc_auc equals roc_auc_score to 1e-9, heavy ties and equal scores included."""
    y, s = data
    assert abs(roc_auc(confusion_curve(y, s)) - roc_auc_score(y, s)) <= 1e-9


@PROPERTY
@given(labelled_scores())
def test_average_precision_matches_sklearn(data: tuple[np.ndarray, np.ndarray]) -> None:
    """Check that average_precision equals average_precision_score to 1e-9."""
    y, s = data
    assert abs(average_precision(confusion_curve(y, s)) - average_precision_score(y, s)) <= 1e-9


@PROPERTY
@given(labelled_scores())
def test_roc_auc_is_the_pair_probability(data: tuple[np.ndarray, np.ndarray]) -> None:
    """Check that ROC-AUC equals P(positive > negative) + P(tie) / 2 by brute force over pairs."""
    y, s = data
    pos, neg = s[y == 1][:, None], s[y == 0][None, :]
    pairs = np.mean((pos > neg) + 0.5 * (pos == neg))
    assert abs(roc_auc(confusion_curve(y, s)) - pairs) <= 1e-9


def test_all_equal_scores() -> None:
    """Check that one score for every row gives AUC 0.5 and AP equal to the prevalence."""
    curve = confusion_curve([0, 1, 0, 0], [0.7] * 4)
    assert roc_auc(curve) == 0.5
    assert average_precision(curve) == 0.25


def test_perfect_and_inverted_ranking() -> None:
    """Check that a perfect ranking gives 1 and an inverted one gives 0 for ROC-AUC."""
    y = [0, 0, 1, 1]
    assert roc_auc(confusion_curve(y, [0.1, 0.2, 0.3, 0.4])) == 1.0
    assert average_precision(confusion_curve(y, [0.1, 0.2, 0.3, 0.4])) == 1.0
    assert roc_auc(confusion_curve(y, [0.4, 0.3, 0.2, 0.1])) == 0.0


@pytest.mark.parametrize("metric", [roc_auc, average_precision])
def test_single_class_raises(metric) -> None:
    """Check that a curve with positives only raises a DataError that asks for both classes."""
    with pytest.raises(DataError, match="needs both classes"):
        metric(confusion_curve([1, 1, 1], [0.1, 0.5, 0.9]))
