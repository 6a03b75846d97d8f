"""Old Guard against new on the same held-out rows: the verdict ``fnguard retrain`` acts on.

Each Guard is read at its own threshold; their requirement objectives are ranked as the search
ranks trials (``fnguard.search.objective.rank_value``: the constraint met first, then the
secondary metric), and the new-minus-old difference gets a paired Poisson bootstrap interval.
The new Guard is "worse" when it misses the requirement where the old one met it, when its
objective is lower beyond noise, or when it is worse beyond noise on the held-out rows nobody
reviewed; "better" when the reverse holds; "no worse" otherwise.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["compare", "verdict"]

#: Paired bootstrap replicates of the difference.
N_BOOT = 1000


def _ranks(req: Any, tp: Any, fp: Any, tn: Any, fn: Any) -> np.ndarray:
    """:func:`fnguard.search.objective.rank_value` for arrays of confusion counts."""
    from fnguard.decide.policies import _objective_curve
    from fnguard.metrics.point import threshold_metric
    from fnguard.search.objective import NOT_MET

    obj = np.nan_to_num(np.asarray(_objective_curve(req, tp, fp, tn, fn), dtype=np.float64))
    if req.kind != "constraint":
        return obj
    value = threshold_metric(req.metric, tp, fp, tn, fn)
    ok = req.meets(value)
    return np.where(ok, obj, NOT_MET - np.abs(req.target - value))


def _counts(weights: np.ndarray, y: np.ndarray, flagged: np.ndarray) -> tuple[Any, ...]:
    cells = [y & flagged, ~y & flagged, ~y & ~flagged, y & ~flagged]
    return tuple(weights @ c.astype(np.float64) for c in cells)


def _point(req: Any, y: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    from fnguard.metrics.point import threshold_metric

    tp, fp, tn, fn = (int(c) for c in _counts(np.ones(y.size), y, scores >= threshold))
    rank = float(_ranks(req, tp, fp, tn, fn))
    value = None if req.kind != "constraint" else float(
        threshold_metric(req.metric, tp, fp, tn, fn))
    return {
        "threshold": threshold if math.isfinite(threshold) else None,
        "met": bool(rank > -1.5) if req.kind == "constraint" else True,
        "value": value, "rank": rank, "tp": tp, "fp": fp, "tn": tn, "fn": fn,
        "recall": float(threshold_metric("recall", tp, fp, tn, fn)),
        "precision": float(threshold_metric("precision", tp, fp, tn, fn)),
    }


def _paired_difference(
    req: Any, y: np.ndarray, old: tuple[np.ndarray, float], new: tuple[np.ndarray, float],
    seed: int, n_boot: int = N_BOOT,
) -> dict[str, Any]:
    """New minus old rank on the held-out rows, with a paired (Poisson) bootstrap interval."""
    rng = np.random.default_rng(seed)
    flags = [s >= t for s, t in (old, new)]
    diffs = []
    for start in range(0, n_boot, 100):  # 100 replicates at a time: memory 100 x rows
        w = rng.poisson(1.0, size=(min(100, n_boot - start), y.size)).astype(np.float64)
        ranks = [_ranks(req, *_counts(w, y, f)) for f in flags]
        diffs.append(ranks[1] - ranks[0])
    d = np.concatenate(diffs)
    point = float(_ranks(req, *_counts(np.ones(y.size), y, flags[1])) -
                  _ranks(req, *_counts(np.ones(y.size), y, flags[0])))
    low, high = np.quantile(d, [0.025, 0.975])
    return {"rank": point, "low": float(low), "high": float(high), "n_boot": int(n_boot)}


def compare(req: Any, y: np.ndarray, old: tuple, new: tuple, seed: int) -> dict[str, Any]:
    return {"old": _point(req, y, *old), "new": _point(req, y, *new),
            "difference": _paired_difference(req, y, old, new, seed)}


def verdict(req: Any, both: dict, unreviewed: dict | None) -> tuple[str, list[str]]:
    old, new, diff = both["old"], both["new"], both["difference"]
    metric = req.metric if req.kind == "constraint" else "objective"

    def shown(p: dict) -> str:
        return f"{p['value']:.4f}" if p["value"] is not None else f"{p['rank']:.4g}"

    def interval(d: dict) -> str:
        text = (f"new minus old score {d['rank']:+.4f} (the requirement's objective, with 2 "
                f"taken off where it is not met), 95% interval [{d['low']:+.4f}, "
                f"{d['high']:+.4f}]")
        if d["low"] < -1 or d["high"] > 1:
            # an unmet constraint ranks 2 below any met one (search.objective.NOT_MET)
            text += ("; beyond 1 either way: in some resamples only one of the two Guards "
                     f"meets {req.describe()}")
        return text

    reasons = []
    if old["met"] and not new["met"]:
        noise = "" if diff["high"] < 0 else (
            f" The difference is within noise ({interval(diff)}): a refit that lands near the "
            "requirement's edge can fall either side of it, so with few reviewed cases this "
            "says little about their labels; reviewing more cases gives a firmer verdict."
        )
        reasons.append(f"The new Guard does not meet {req.describe()} on the held-out rows "
                       f"({metric} {shown(new)}) where the old one does ({shown(old)})."
                       + noise)
    elif diff["high"] < 0:
        reasons.append("The new Guard's objective is lower beyond noise on the held-out rows "
                       f"({interval(diff)}).")
    if unreviewed is not None and unreviewed["difference"]["high"] < 0:
        u = unreviewed
        reasons.append(
            f"On the {u['rows']:,} held-out rows nobody reviewed, the new Guard is worse beyond "
            f"noise ({metric} {shown(u['new'])} against {shown(u['old'])}; "
            f"{interval(u['difference'])}): the reviewed labels teach what the rest of the "
            "table refutes. Check them.")
    if reasons:
        return "worse", reasons
    if new["met"] and not old["met"]:
        return "better", [f"It meets {req.describe()} ({metric} {shown(new)}) where the old "
                          f"one does not ({shown(old)})."]
    if diff["low"] > 0:
        return "better", [f"Its objective is higher beyond noise ({interval(diff)})."]
    return "no worse", [f"Old and new differ within noise on the held-out rows "
                        f"({interval(diff)})."]
