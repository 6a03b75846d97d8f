"""Tests of fnguard.explain.labels: suspected label errors by confident learning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cleanlab.filter import find_label_issues as cleanlab_find

from fnguard.errors import DataError
from fnguard.explain.labels import (
    HIDDEN_POSITIVE,
    NOT_POSITIVE,
    find_label_issues,
    ranking_signal,
)
from fnguard.explain.model import folds, out_of_fold
from fnguard.levers import build


@pytest.fixture(scope="module")
def noisy_oof(noisy_digits):
    data, hidden, fake = noisy_digits
    oof = out_of_fold(lambda: build(["lightgbm"], data.schema), data.X, data.y,
                      folds(data.y, 5, 0))
    return data, hidden, fake, oof


def test_planted_label_noise_is_found(noisy_oof) -> None:
    """Check that flipped labels are found with good precision and recall, by direction."""
    data, hidden, fake, oof = noisy_oof
    issues = find_label_issues(data.y, oof)
    planted = set(hidden.tolist()) | set(fake.tolist())
    found = set(issues.rows.tolist())
    precision = len(found & planted) / len(found)
    recall = len(found & planted) / len(planted)
    print(f"planted label noise: precision {precision:.2f}, recall {recall:.2f} "
          f"({len(found)} found, {len(planted)} planted)")
    assert precision >= 0.5
    assert recall >= 0.7
    hidden_recall = len(set(issues.hidden_positives.tolist()) & set(hidden.tolist())) / 15
    fake_recall = len(set(issues.not_positives.tolist()) & set(fake.tolist())) / 25
    assert hidden_recall >= 0.6 and fake_recall >= 0.6
    assert set(issues.hidden_positives.tolist()).isdisjoint(fake.tolist())


def test_rows_are_cleanlabs(noisy_oof) -> None:
    """Check that the rows and their order are cleanlab's own (the reference)."""
    data, _, _, oof = noisy_oof
    proba = np.column_stack([1 - oof, oof])
    ref = cleanlab_find(data.y.astype(int), proba, return_indices_ranked_by="self_confidence")
    issues = find_label_issues(data.y, oof)
    assert issues.rows.tolist() == list(ref)
    given = np.where(data.y[issues.rows], oof[issues.rows], 1 - oof[issues.rows])
    assert np.allclose(issues.quality, given)
    assert np.all(np.diff(issues.quality) >= 0)  # most suspect (lowest quality) first


def test_clean_labels_give_few_issues(digits) -> None:
    """Check that well separated data with true labels gives (almost) no issues."""
    rng = np.random.default_rng(1)
    y = rng.random(2000) < 0.2
    p = np.clip(np.where(y, rng.beta(20, 2, y.size), rng.beta(2, 20, y.size)), 0, 1)
    assert len(find_label_issues(y, p)) <= 2


def test_frame_for_review(noisy_oof) -> None:
    """Check the review table: positions, kinds, suggested labels and the features."""
    data, _, _, oof = noisy_oof
    issues = find_label_issues(data.y, oof)
    frame = issues.to_frame(data.X, positive="nine", negative="other")
    assert frame["row"].tolist() == issues.rows.tolist()
    assert set(frame["kind"]) <= {HIDDEN_POSITIVE, NOT_POSITIVE}
    hidden = frame[frame["kind"] == HIDDEN_POSITIVE]
    assert (hidden["given_label"] == "other").all() and (hidden["suggested_label"] == "nine").all()
    pd.testing.assert_series_equal(
        frame["pixel_0"].reset_index(drop=True),
        data.X["pixel_0"].iloc[issues.rows].reset_index(drop=True),
    )
    doc = issues.to_dict(max_rows=3)
    assert doc["rows"] == issues.rows[:3].tolist() and doc["rows_truncated"]


@pytest.mark.parametrize(
    ("y", "p", "match"),
    [
        ([True, False], [0.5], "2 labels but 1"),
        ([True, False], [0.5, 1.5], r"\[0, 1\]"),
        ([True, False], [0.5, np.nan], r"\[0, 1\]"),
        ([True, True], [0.5, 0.5], "both classes"),
    ],
)
def test_bad_input(y, p, match) -> None:
    """Check that bad labels or probabilities raise a DataError that says what to do."""
    with pytest.raises(DataError, match=match):
        find_label_issues(np.array(y), np.array(p))


def test_ranking_signal_matches_scikit_learn() -> None:
    """Check the ROC-AUC against scikit-learn's, with ties, and that its interval holds 0.5
    for scores unrelated to the labels and not for informative ones."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.random(400) < 0.3
    scores = np.round(rng.random(400) + 0.8 * y, 1)
    auc, low, high = ranking_signal(y, scores)
    assert auc == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    assert 0.5 < low < auc < high
    auc, low, high = ranking_signal(y, rng.random(400))
    assert low < 0.5 < high
