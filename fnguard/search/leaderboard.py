"""The leaderboard: one JSON-ready record per trial, kept whether it completed, was pruned or
failed.

A record::

    {"trial": 3, "levers": ["smote", "lightgbm"], "params": {"smote": {...}, ...},
     "state": "complete" | "pruned" | "failed", "objective": 0.41 | None, "met": True,
     "threshold": 0.08 | None, "recall": {"value", "low", "high"}, "precision": {...},
     "fpr": {...}, "ece": 0.01 | None, "misses": 12, "false_alarms": 340, "seconds": 4.2,
     "baseline": False, "error": None}

Metrics are those of the out-of-fold scores at the trial's threshold, with Wilson intervals.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fnguard.decide import Decision

__all__ = ["REPEAT", "STATES", "is_repeat", "jsonable", "record"]

#: The states of a trial.
STATES = ("complete", "pruned", "failed")
#: How the error of a trial that repeats an earlier plan (a "pruned" row, not fitted) ends.
REPEAT = "not fitted again"


def is_repeat(row: dict[str, Any]) -> bool:
    """Whether a leaderboard row repeats an earlier trial's plan (and was not fitted).

    Examples
    --------
    >>> is_repeat({"state": "pruned", "error": "the same plan as trial 3: not fitted again"})
    True
    """
    return row["state"] == "pruned" and str(row.get("error") or "").endswith(REPEAT)
_EMPTY = {"value": None, "low": None, "high": None}


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars and arrays made plain and NaN / inf made ``None``.

    Examples
    --------
    >>> jsonable({"a": np.float64("nan"), "b": [np.int64(2), float("inf")], "c": (1.5,)})
    {'a': None, 'b': [2, None], 'c': [1.5]}
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _interval(estimate: Any) -> dict[str, float | None]:
    if estimate is None:
        return dict(_EMPTY)
    return {
        "value": jsonable(float(estimate.value)),
        "low": jsonable(float(estimate.low)),
        "high": jsonable(float(estimate.high)),
    }


def record(
    number: int,
    levers: list[str],
    params: dict[str, dict[str, Any]],
    *,
    state: str,
    seconds: float,
    baseline: bool = False,
    decision: Decision | None = None,
    value: float | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """One leaderboard record.

    Parameters
    ----------
    number : int
        The trial number (0 first).
    levers, params
        The trial's plan.
    state : {"complete", "pruned", "failed"}
    seconds : float
        Wall time of the trial.
    baseline : bool, default=False
        A plain model with default parameters, only its threshold tuned.
    decision : Decision, optional
        The threshold chosen on the out-of-fold scores (complete trials).
    value : float, optional
        The trial's rank value (:func:`fnguard.search.objective.rank_value`), kept as
        ``"value"`` to order trials.
    error : str, optional
        Why the trial failed or was stopped.

    Returns
    -------
    dict
        JSON-ready.

    Examples
    --------
    >>> from fnguard.decide import choose_threshold
    >>> d = choose_threshold([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.4], "recall>=0.9", n_boot=0)
    >>> r = record(0, ["logistic"], {}, state="complete", seconds=0.5, decision=d, value=0.667)
    >>> r["threshold"], r["misses"], r["false_alarms"], r["met"]
    (0.4, 0, 1, True)
    """
    out: dict[str, Any] = {
        "trial": int(number),
        "levers": list(levers),
        "params": jsonable(params),
        "state": state,
        "objective": None,
        "value": None if value is None else jsonable(float(value)),
        "met": False,
        "threshold": None,
        "recall": dict(_EMPTY),
        "precision": dict(_EMPTY),
        "fpr": dict(_EMPTY),
        "ece": None,
        "misses": None,
        "false_alarms": None,
        "seconds": round(float(seconds), 3),
        "baseline": bool(baseline),
        "error": error,
    }
    if decision is not None:
        m = decision.metrics
        out.update(
            objective=jsonable(float(decision.objective)),
            met=bool(decision.met),
            threshold=jsonable(float(decision.threshold)),
            recall=_interval(m.get("recall")),
            precision=_interval(m.get("precision")),
            fpr=_interval(m.get("fpr")),
            ece=jsonable(float(m["ece"].value)) if "ece" in m else None,
            misses=int(m["fn"].value),
            false_alarms=int(m["fp"].value),
        )
        req = decision.requirement
        secondary = req.secondary if req.kind == "constraint" else None
        if secondary in m:
            out["objective_interval"] = _interval(m[secondary])
    return out
