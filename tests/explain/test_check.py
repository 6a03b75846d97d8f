"""Tests of fnguard.explain.check: the measured effect of the top recommended levers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fnguard.data import load_table
from fnguard.explain.check import checkable, quick_check
from fnguard.explain.model import folds, out_of_fold
from fnguard.explain.recommend import Recommendation
from fnguard.levers import build


@pytest.fixture(scope="module")
def xor():
    """A table a linear model cannot separate (XOR) but boosting can."""
    rng = np.random.default_rng(0)
    n = 1500
    a, b = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    y = ((a > 0) ^ (b > 0)) & (rng.random(n) < 0.6)
    data = load_table(pd.DataFrame({"a": a, "b": b, "y": y.astype(int)}), "y", positive=1)
    splits = folds(data.y, 3, 0)
    base = out_of_fold(lambda: build(["logistic"], data.schema), data.X, data.y, splits)
    return data, splits, base


def _rec(lever: str, rank: int = 1, **params) -> Recommendation:
    return Recommendation(rank, lever, "FNG106", "overfitting", "r", None, params=params)


def _best(scores: np.ndarray, y: np.ndarray, false_alarms: int) -> int:
    """Brute force: the most positives caught by a threshold with at most ``false_alarms``."""
    return max([0] + [int(((scores >= t) & y).sum()) for t in np.unique(scores)
                      if int(((scores >= t) & ~y).sum()) <= false_alarms])


@pytest.fixture(scope="module")
def band():
    """Positives in a band of one feature: boosting ranks them almost perfectly, a line not."""
    rng = np.random.default_rng(0)
    n = 400
    x = rng.uniform(-3, 3, n)
    frame = pd.DataFrame({"x": x, "z": rng.normal(size=n), "y": (np.abs(x) < 0.8).astype(int)})
    data = load_table(frame, "y", positive=1)
    splits = folds(data.y, 3, 0)
    base = out_of_fold(lambda: build(["lightgbm"], data.schema, random_state=0), data.X,
                       data.y, splits)
    return data, splits, base


@pytest.mark.parametrize("threshold", [0.5, 0.9, 0.999])
def test_a_lever_scoring_as_the_baseline_removes_nothing(band, threshold) -> None:
    """Check that the baseline's own model gets exactly 0, at its threshold and at the
    requirement, where the first point reaching the recall is not the baseline's best."""
    data, splits, base = band
    (check,) = quick_check([_rec("lightgbm")], data.X, data.y, base, threshold=threshold,
                           splits=splits, schema=data.schema, base_levers=["lightgbm"],
                           recall_target=0.8)
    assert check.status == "measured"
    assert check.misses_removed == 0
    assert check.misses == check.baseline_misses
    req = check.at_requirement
    assert req["misses_removed"] == 0 and req["misses"] == req["baseline_misses"]
    y = data.y
    assert req["baseline_misses"] == int(y.sum()) - _best(base, y, req["false_alarms"])


def test_a_worse_lever_gets_a_negative_figure(band) -> None:
    """Check that a linear model, which cannot rank a band, is measured as adding misses,
    against brute force at both readings."""
    data, splits, base = band
    (check,) = quick_check([_rec("logistic")], data.X, data.y, base, threshold=0.5,
                           splits=splits, schema=data.schema, base_levers=["lightgbm"],
                           recall_target=0.8)
    cand = out_of_fold(lambda: build(["logistic"], data.schema, random_state=0), data.X,
                       data.y, splits)
    y = data.y
    fp = check.false_alarms
    assert check.misses_removed == _best(cand, y, fp) - _best(base, y, fp) < 0
    fp_req = check.at_requirement["false_alarms"]
    expected = _best(cand, y, fp_req) - _best(base, y, fp_req)
    assert check.at_requirement["misses_removed"] == expected < 0


def test_measured_at_the_baselines_false_alarms(xor) -> None:
    """Check the misses removed against a brute-force reading of the same folds."""
    data, splits, base = xor
    recs = [_rec("review-labels"), _rec("threshold", 2), _rec("lightgbm", 3)]
    (check,) = quick_check(recs, data.X, data.y, base, threshold=0.3, splits=splits,
                           schema=data.schema, base_levers=["logistic"], recall_target=0.8)
    assert recs[2].check is check and recs[0].check is None
    cand = out_of_fold(lambda: build(["lightgbm"], data.schema), data.X, data.y, splits)
    y = data.y
    fp_base = int(((base >= 0.3) & ~y).sum())
    assert check.status == "measured"
    assert check.misses_removed == _best(cand, y, fp_base) - _best(base, y, fp_base) > 0
    assert check.candidate_false_alarms <= fp_base
    assert check.at_requirement["recall_target"] == 0.8


def test_sampler_goes_in_front_of_the_base_classifier(xor) -> None:
    """Check that a sampler is checked in front of the baseline's classifier."""
    data, splits, base = xor
    (check,) = quick_check([_rec("random-under")], data.X, data.y, base, threshold=0.5,
                           splits=splits, schema=data.schema, base_levers=["logistic"])
    assert check.pipeline == ["random-under", "logistic"]


def test_budget_and_failures(xor) -> None:
    """Check that a spent budget and a lever that cannot fit are reported, not raised."""
    data, splits, base = xor
    (check,) = quick_check([_rec("lightgbm")], data.X, data.y, base, threshold=0.5,
                           splits=splits, schema=data.schema, budget=0)
    assert check.status == "budget" and check.misses_removed is None
    (check,) = quick_check([_rec("knn", n_neighbors=5000)], data.X, data.y, base,
                           threshold=0.5, splits=splits, schema=data.schema)
    assert check.status == "failed" and "could not be fitted" in check.message


def test_checkable() -> None:
    """Check that actions and post-fit levers are not checked."""
    assert checkable(_rec("lightgbm:weighted"))
    assert not checkable(_rec("threshold")) and not checkable(_rec("more-data"))
