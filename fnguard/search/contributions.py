"""What each lever added beyond the plain model with only its threshold tuned.

For every lever that appeared in a completed trial, its best trial is compared with a plain
baseline on the same out-of-fold scores (same rows, same folds): the plain model of the same
algorithm family where the search ran one (``lightgbm:weighted`` and ``lightgbm:focal``
against plain ``lightgbm``), else the best plain baseline. A plain algorithm that is itself a
baseline (``lightgbm``) is compared with the best baseline of another algorithm: the gain of
choosing it (and tuning it). The trial taken for a lever is its best trial with no other
lever than an algorithm (``smote + lightgbm`` for ``smote``) when the search ran one, so
that the gain is that lever's alone; otherwise its best trial, and ``shared_with`` names the
levers whose effect it includes. Published benchmarks (Elor & Averbuch-Elor 2022; CLIMB 2025)
find that once the threshold is tuned, resampling often adds nothing; this record lets the
data say whether it did here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fnguard.levers import registry
from fnguard.metrics.confusion import ConfusionCurve, _curve_from_scores
from fnguard.search.leaderboard import jsonable
from fnguard.search.runner import SearchResult

__all__ = ["contributions", "false_alarms_at_recall", "lever_trials", "misses_at_fpr"]


def misses_at_fpr(curve: ConfusionCurve, false_alarms: int) -> int:
    """Fewest misses (false negatives) with at most ``false_alarms`` false positives.

    Examples
    --------
    >>> from fnguard.metrics import confusion_curve
    >>> c = confusion_curve([1, 0, 1, 0, 1], [0.9, 0.8, 0.7, 0.3, 0.2])
    >>> misses_at_fpr(c, 0), misses_at_fpr(c, 1), misses_at_fpr(c, 2)
    (2, 1, 0)
    """
    ok = np.flatnonzero(curve.fp <= false_alarms)
    return int(curve.fn[ok[-1]])  # fp grows along the curve; the last row catches the most


def false_alarms_at_recall(curve: ConfusionCurve, caught: int) -> int:
    """Fewest false positives with at least ``caught`` true positives.

    Examples
    --------
    >>> from fnguard.metrics import confusion_curve
    >>> c = confusion_curve([1, 0, 1, 0, 1], [0.9, 0.8, 0.7, 0.3, 0.2])
    >>> false_alarms_at_recall(c, 1), false_alarms_at_recall(c, 2), false_alarms_at_recall(c, 3)
    (0, 1, 2)
    """
    ok = np.flatnonzero(curve.tp >= caught)
    return int(curve.fp[ok[0]])


def _family_base(classifier: str) -> str:
    """The plain algorithm a classifier lever varies: ``lightgbm:weighted`` -> ``lightgbm``."""
    return classifier.split(":")[0]


def contributions(result: SearchResult, y: np.ndarray) -> list[dict[str, Any]]:
    """Each lever's contribution against the plain baseline, on out-of-fold scores.

    Parameters
    ----------
    result : SearchResult
        The search, with the out-of-fold scores of the baselines and of each lever's best
        trial.
    y : ndarray of bool
        Labels of the search part (the rows of the out-of-fold scores).

    Returns
    -------
    list of dict
        One per lever, in pipeline-kind order then by name: ``lever``, ``kind``,
        ``family``, ``trials`` (completed trials with it), ``best_trial``, ``shared_with``
        (the other levers of that trial, but its algorithm, when no trial had the lever
        alone), ``baseline_trial``, ``against`` (the baseline's levers), ``misses_removed`` (at
        the baseline's number of false alarms), ``false_alarms_removed`` (at the baseline's
        number of caught positives), ``delta_ece``, ``delta_objective`` (the requirement's
        objective: positive is better, for a cost it is the cost saved per row),
        ``met`` and ``baseline_met``. Empty without a completed baseline.

    Examples
    --------
    >>> from fnguard.data.datasets import load_digits
    >>> from fnguard.decide import parse_requirement
    >>> from fnguard.search import cv_folds, resolve_pool, run_search
    >>> d = load_digits()
    >>> folds, _ = cv_folds(d.y, 3, seed=0)
    >>> res = run_search(d.X, d.y, d.schema, parse_requirement("recall>=0.9"), folds,
    ...                  pool=resolve_pool("logistic,random-under"), budget=60, max_trials=2)
    >>> rows = contributions(res, d.y)
    >>> [(r["lever"], r["against"], r["trials"]) for r in rows]
    [('random-under', ['logistic'], 1)]
    """
    done = list(result.decisions)
    baselines = [t for t in result.baselines if t in result.decisions and t in result.oof]
    if not baselines:
        return []
    best_plain = result.best_of(baselines)
    by_family = {result.plans[t].classifier: t for t in baselines}
    y = np.asarray(y, dtype=bool)
    curves: dict[int, ConfusionCurve] = {}

    def curve(t: int) -> ConfusionCurve:
        if t not in curves:
            curves[t] = _curve_from_scores(np.asarray(result.oof[t], dtype=np.float64), y)
        return curves[t]

    kinds = {"transformer": 0, "sampler": 1, "classifier": 2}
    levers = sorted(
        {name for t in done for name in result.plans[t].levers},
        key=lambda n: (kinds.get(registry[n].kind, 3), n),
    )
    out = []
    for name in levers:
        with_it, alone = lever_trials(result, name)
        best = result.best_of(alone or with_it)
        if best is None or best not in result.oof:
            continue
        if name in by_family:  # a plain algorithm: against the best plain other algorithm
            base = result.best_of([b for b in baselines if b != by_family[name]])
            if base is None:
                continue
        else:
            base = by_family.get(_family_base(result.plans[best].classifier), best_plain)
        b_rec, l_rec = result.leaderboard[base], result.leaderboard[best]
        b_fp, b_fn = b_rec["false_alarms"], b_rec["misses"]
        b_tp = int(y.sum()) - b_fn
        lever_curve = curve(best)
        d_ece = None
        if l_rec["ece"] is not None and b_rec["ece"] is not None:
            d_ece = l_rec["ece"] - b_rec["ece"]
        out.append(jsonable({
            "lever": name,
            "kind": registry[name].kind,
            "family": registry[name].family,
            "trials": len(with_it),
            "best_trial": best,
            "shared_with": [] if alone else _others(result, best, name),
            "baseline_trial": base,
            "against": list(result.plans[base].levers),
            "misses_removed": b_fn - misses_at_fpr(lever_curve, b_fp),
            "false_alarms_removed": b_fp - false_alarms_at_recall(lever_curve, b_tp),
            "delta_ece": d_ece,
            "delta_objective": _objective_gain(result, best, base),
            "met": bool(l_rec["met"]),
            "baseline_met": bool(b_rec["met"]),
        }))
    return out


def _others(result: SearchResult, t: int, name: str) -> list[str]:
    """The trial's levers besides ``name`` and (for any other lever) its algorithm."""
    plan = result.plans[t]
    own = {name} if registry[name].kind == "classifier" else {name, plan.classifier}
    return [n for n in plan.levers if n not in own]


def lever_trials(result: SearchResult, name: str) -> tuple[list[int], list[int]]:
    """The completed trials with lever ``name``, and those of them with no other lever than
    an algorithm (the trials that measure it alone; :func:`contributions` takes the best of
    those when there are any, and the search keeps their out-of-fold scores)."""
    with_it = [t for t in result.decisions if name in result.plans[t].levers]
    return with_it, [t for t in with_it if not _others(result, t, name)]


def _objective_gain(result: SearchResult, trial: int, base: int) -> float:
    """The objective's improvement (positive is better, whatever its direction)."""
    from fnguard.decide.requirement import OBJECTIVES

    d, b = result.decisions[trial], result.decisions[base]
    req = d.requirement
    gain = float(d.objective) - float(b.objective)
    lower_better = req.kind == "cost" or (
        req.kind == "constraint" and OBJECTIVES.get(req.secondary or "") == "min"
    )
    return -gain if lower_better else gain
