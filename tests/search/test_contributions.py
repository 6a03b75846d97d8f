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
    """Check every lever's figures against a recomputation from the out-of-fold scores: the
    lever alone on an algorithm where a trial had it so, a plain algorithm against the best
    other plain algorithm (never against itself)."""
    from fnguard.levers import registry

    res, y = search
    rows = contributions(res, y)
    levers = {n for t in res.decisions for n in res.plans[t].levers}
    assert {r["lever"] for r in rows} == levers
    plain = {res.plans[t].classifier: t for t in res.baselines}

    def rank(t: int) -> tuple[float, int, int]:
        return (res.leaderboard[t]["value"], -len(res.plans[t].levers), -t)

    alone_seen = 0
    for r in rows:
        name = r["lever"]
        clf = registry[name].kind == "classifier"

        def others(t: int, name: str = name, clf: bool = clf) -> list[str]:
            plan = res.plans[t]
            return [n for n in plan.levers if n != name and (clf or n != plan.classifier)]

        with_it = [t for t in res.decisions if name in res.plans[t].levers]
        alone = [t for t in with_it if not others(t)]
        best = max(alone or with_it, key=rank)
        assert r["best_trial"] == best and r["trials"] == len(with_it)
        assert r["shared_with"] == ([] if alone else others(best))
        alone_seen += bool(alone)
        if name in plain:
            base = max([b for b in res.baselines if b != plain[name]], key=rank)
            assert r["against"] != [name]
        else:
            family = res.plans[best].classifier.split(":")[0]
            base = plain.get(family, max(res.baselines, key=rank))
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
    assert alone_seen


def test_a_plain_algorithm_is_not_credited_with_a_sampler(search) -> None:
    """Check the report's old fault: plain lightgbm, a baseline itself, credited with the gain
    of its best trial (random-under + lightgbm) against plain lightgbm. It is now its best
    trial alone against the other plain algorithm."""
    res, y = search
    rows = {r["lever"]: r for r in contributions(res, y)}
    plain = {res.plans[t].classifier: t for t in res.baselines}
    assert {"logistic", "lightgbm"} <= set(plain)
    for name in ("logistic", "lightgbm"):
        r = rows[name]
        assert res.plans[r["best_trial"]].levers == [name] and r["shared_with"] == []
        assert r["baseline_trial"] != plain[name]


def test_no_baseline_no_contributions(search) -> None:
    """Check that without a completed plain baseline there is nothing to compare with."""
    res, y = search
    import copy

    res2 = copy.copy(res)
    res2.baselines = []
    assert contributions(res2, y) == []


def test_every_lever_of_a_search_has_its_contribution() -> None:
    """Check that no lever vanishes from the contributions when its best trial alone on an
    algorithm is not its best trial (the search kept the out-of-fold scores of the latter
    only, and smote and scale:quantile, in the winner, were missing from the report)."""
    from fnguard.search.contributions import lever_trials

    from .conftest import make_frame

    d = load_table(make_frame(600, seed=1), "y", positive=1)
    folds, _ = cv_folds(d.y, 3, seed=0)
    res = run_search(d.X, d.y, d.schema, parse_requirement("recall>=0.8"), folds,
                     pool=resolve_pool(["smote", "random-over", "scale:quantile", "lightgbm",
                                        "logistic"]), budget=120.0, max_trials=10, seed=0)
    levers = {n for t in res.decisions for n in res.plans[t].levers}
    split = [n for n in levers
             if (lambda w, a: a and res.best_of(a) != res.best_of(w))(*lever_trials(res, n))]
    assert split  # a lever whose lone best is not its best: the case that lost it
    rows = contributions(res, d.y)
    assert {r["lever"] for r in rows} == levers
    for r in rows:
        assert r["best_trial"] in res.oof
