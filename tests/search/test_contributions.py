"""Tests of the lever contributions against a brute-force recomputation."""

from __future__ import annotations

import numpy as np
import pytest

from fnguard.data import load_table
from fnguard.decide import parse_requirement
from fnguard.metrics import confusion_curve
from fnguard.search.contributions import contributions, false_alarms_at_recall, misses_at_fpr
from fnguard.search.runner import run_search
from fnguard.search.space import resolve_pool
from fnguard.search.split import cv_folds


def _brute(y: np.ndarray, s: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(tp, fp, fn, tn) at every threshold, by a loop over the distinct scores and +inf."""
    out = []
    for t in [np.inf, *np.unique(s)]:
        flag = s >= t
        out.append((int((flag & y).sum()), int((flag & ~y).sum()), int((~flag & y).sum()),
                    int((~flag & ~y).sum())))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_misses_and_false_alarms_match_brute_force(seed: int) -> None:
    """Check both operating-point helpers against a loop over every threshold."""
    rng = np.random.default_rng(seed)
    y = rng.random(60) < 0.3
    s = np.round(rng.random(60) + 0.4 * y, 1)  # ties
    curve = confusion_curve(y, s, positive=True)
    points = _brute(y, s)
    for budget in range(0, int((~y).sum()) + 1):
        assert misses_at_fpr(curve, budget) == min(fn for _, fp, fn, _ in points if fp <= budget)
    for caught in range(0, int(y.sum()) + 1):
        assert false_alarms_at_recall(curve, caught) == min(
            fp for tp, fp, _, _ in points if tp >= caught)


@pytest.fixture(scope="module")
def search(frame):
    d = load_table(frame, "y", positive=1)
    folds, _ = cv_folds(d.y, 3, seed=0)
    req = parse_requirement("recall>=0.8")
    res = run_search(d.X, d.y, d.schema, req, folds, pool=resolve_pool(
        ["logistic", "lightgbm", "random-under", "lightgbm:weighted"]), budget=120.0,
        max_trials=8)
    return res, d.y


def test_contributions_match_brute_force(search) -> None:
    """Check every lever's figures against a recomputation from the out-of-fold scores."""
    res, y = search
    rows = contributions(res, y)
    levers = {n for t in res.decisions for n in res.plans[t].levers}
    assert {r["lever"] for r in rows} == levers
    plain = {res.plans[t].classifier: t for t in res.baselines}
    for r in rows:
        with_it = [t for t in res.decisions if r["lever"] in res.plans[t].levers]
        best = max(with_it, key=lambda t: (res.leaderboard[t]["value"],
                                           -len(res.plans[t].levers), -t))
        assert r["best_trial"] == best and r["trials"] == len(with_it)
        family = res.plans[best].classifier.split(":")[0]
        base = plain.get(family, max(res.baselines, key=lambda t: res.leaderboard[t]["value"]))
        assert r["baseline_trial"] == base
        b, lv = res.leaderboard[base], res.leaderboard[best]
        points = _brute(y, res.oof[best])
        fn_same_fp = min(fn for _, fp, fn, _ in points if fp <= b["false_alarms"])
        fp_same_tp = min(fp for tp, fp, _, _ in points if tp >= y.sum() - b["misses"])
        assert r["misses_removed"] == b["misses"] - fn_same_fp
        assert r["false_alarms_removed"] == b["false_alarms"] - fp_same_tp
        assert r["delta_ece"] == pytest.approx(lv["ece"] - b["ece"])
        assert r["delta_objective"] == pytest.approx(lv["objective"] - b["objective"])
        if best == base:
            assert r["misses_removed"] == 0 and r["false_alarms_removed"] == 0


def test_no_baseline_no_contributions(search) -> None:
    """Check that without a completed plain baseline there is nothing to compare with."""
    res, y = search
    import copy

    res2 = copy.copy(res)
    res2.baselines = []
    assert contributions(res2, y) == []
