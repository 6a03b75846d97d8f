"""The quick check: how many misses each of the top recommended levers removes, measured.

Each lever is built into a pipeline (a classifier alone; a sampler or transformer in front of
the baseline's classifier), fitted on the same folds as the baseline, and its out-of-fold
scores are read at the baseline's number of false alarms: the misses it removes are the
positives it catches there beyond what the baseline catches. So a lever cannot look better by
raising more alarms. The whole check stops when its time budget is spent.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fnguard.explain.model import out_of_fold
from fnguard.explain.recommend import Recommendation
from fnguard.metrics.confusion import confusion_curve

__all__ = ["Check", "checkable", "quick_check"]

#: The classifier a sampler or transformer is put in front of when the baseline has none.
BASE_CLASSIFIER = "lightgbm"


@dataclass
class Check:
    """The measured effect of one lever.

    Attributes
    ----------
    lever : str
        The lever checked.
    pipeline : list of str
        The levers of the pipeline fitted.
    status : str
        ``"measured"``, ``"budget"`` (not run or stopped: the budget was spent) or
        ``"failed"`` (the pipeline could not be fitted; ``message`` says why).
    message : str
        One line on the result.
    false_alarms : int or None
        The baseline's false alarms at its threshold: the baseline and the candidate are
        each read at their best point with as many or fewer.
    baseline_misses, misses, misses_removed : int or None
        Misses of the baseline and of the candidate at those false alarms, and the
        difference (positive: fewer misses; 0 for a lever that scores as the baseline does).
    candidate_false_alarms : int or None
        The candidate's false alarms at the threshold read.
    threshold : float or None
        The candidate's threshold that gives them.
    folds : int
        Folds fitted.
    seconds : float
        Time spent.
    """

    lever: str
    pipeline: list[str]
    status: str
    message: str
    false_alarms: int | None = None
    baseline_misses: int | None = None
    misses: int | None = None
    misses_removed: int | None = None
    candidate_false_alarms: int | None = None
    threshold: float | None = None
    folds: int = 0
    seconds: float = 0.0
    params: dict[str, Any] = field(default_factory=dict)
    #: The same reading at the false alarms where the baseline meets the recall target:
    #: ``recall_target``, ``false_alarms``, ``baseline_misses``, ``misses``,
    #: ``misses_removed`` (None without a recall target or a measurement).
    at_requirement: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for JSON."""
        out = asdict(self)
        t = out["threshold"]
        out["threshold"] = None if t is None or not math.isfinite(t) else t
        return out


def _at_false_alarms(curve: Any, false_alarms: int) -> int:
    """The curve row with the most positives caught at ``false_alarms`` or fewer."""
    return int(np.searchsorted(curve.fp, false_alarms, side="right")) - 1


def checkable(rec: Recommendation) -> bool:
    """Whether a recommendation is a lever that can go in a pipeline and be measured."""
    from fnguard.levers import registry

    if rec.lever not in registry:
        return False
    lever = registry[rec.lever]
    if lever.kind not in ("classifier", "sampler", "transformer"):
        return False
    return not lever.missing()


def _pipeline(rec: Recommendation, base_levers: Sequence[str]) -> list[str]:
    from fnguard.levers import registry

    if registry[rec.lever].kind == "classifier":
        return [rec.lever]
    base = [n for n in base_levers if n in registry and registry[n].kind == "classifier"]
    return [rec.lever, base[-1] if base else BASE_CLASSIFIER]


def needed_positives(recall: float, n_pos: int, *, strict: bool = False) -> int:
    """The fewest caught positives of ``n_pos`` that meet ``recall>=`` (or ``recall>`` when
    ``strict``), without float rounding.

    Examples
    --------
    >>> needed_positives(0.07, 100), needed_positives(0.07, 100, strict=True)
    (7, 8)
    >>> 0.07 * 100 > 7  # why the product cannot be compared as it is
    True
    """
    edge = recall * n_pos
    return math.floor(edge + 1e-9) + 1 if strict else math.ceil(edge - 1e-9)


def quick_check(
    recommendations: Sequence[Recommendation],
    X: pd.DataFrame,
    y: np.ndarray,
    baseline_scores: np.ndarray,
    *,
    threshold: float,
    splits: list[tuple[np.ndarray, np.ndarray]],
    schema: Any = None,
    base_levers: Sequence[str] = (),
    seed: int = 0,
    budget: float = 60.0,
    limit: int = 3,
    recall_target: float | None = None,
    strict: bool = False,
) -> list[Check]:
    """Measure the first ``limit`` checkable recommendations; attach each check to its one.

    Parameters
    ----------
    recommendations : sequence of Recommendation
        Ranked; the first ``limit`` that :func:`checkable` accepts are checked.
    X : DataFrame
        The raw feature frame (``Dataset.X``), which pipelines built from ``schema`` take.
    y : ndarray of bool
        True for positive rows.
    baseline_scores : ndarray of float
        The baseline's out-of-fold scores on the same ``splits``.
    threshold : float
        The baseline's threshold: its false alarms there are the budget of alarms.
    splits : list of (train, test)
        The folds the baseline was scored on.
    schema : Schema, optional
        Passed to :func:`fnguard.levers.build`.
    base_levers : sequence of str
        The baseline's levers: a sampler or transformer goes in front of its classifier.
    seed : int, default=0
        Seed of the pipelines.
    budget : float, default=60.0
        Seconds for the whole check.
    limit : int, default=3
        How many levers to check.
    recall_target : float, optional
        Also read each lever at the false alarms the baseline needs to reach this recall
        (the requirement's operating point): ``Check.at_requirement``.
    strict : bool, default=False
        Whether the recall must exceed ``recall_target`` (``recall>0.9``), not only reach it.

    Returns
    -------
    list of Check
        One per checked lever, in rank order (also set as each recommendation's ``check``).

    Examples
    --------
    >>> from fnguard.data import load_table
    >>> from fnguard.explain.model import folds, out_of_fold
    >>> from fnguard.levers import build
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    >>> frame["y"] = (frame.a * frame.b > 0.3).astype(int)
    >>> data = load_table(frame, "y", positive=1)
    >>> splits = folds(data.y, 3, 0)
    >>> base = out_of_fold(lambda: build("logistic", data.schema), data.X, data.y, splits)
    >>> rec = Recommendation(1, "lightgbm", "FNG106", "overfitting", "simpler", None)
    >>> (check,) = quick_check([rec], data.X, data.y, base, threshold=0.5, splits=splits,
    ...                        schema=data.schema)
    >>> check.status, check.misses_removed > 0
    ('measured', True)
    """
    from fnguard.levers import build

    is_pos = np.asarray(y, dtype=bool)
    base = np.asarray(baseline_scores, dtype=np.float64)
    pred = base >= threshold
    fp_base = int((pred & ~is_pos).sum())
    n_pos, n_neg = int(is_pos.sum()), int((~is_pos).sum())
    base_curve = confusion_curve(is_pos, base)
    # The baseline is read exactly as each candidate is (its best point at as many false alarms
    # or fewer), so that a lever is credited only with the misses it removes, never with the
    # positives the baseline itself catches at the same alarms: an identical lever gets 0.
    tp_base = int(base_curve.tp[_at_false_alarms(base_curve, fp_base)])
    fp_req = tp_req = None
    if recall_target is not None and n_pos:
        need = needed_positives(recall_target, n_pos, strict=strict)
        j = int((base_curve.tp >= need).argmax())
        fp_req = int(base_curve.fp[j])
        tp_req = int(base_curve.tp[_at_false_alarms(base_curve, fp_req)])
    deadline = time.perf_counter() + float(budget)
    checks: list[Check] = []
    for rec in [r for r in recommendations if checkable(r)][:limit]:
        levers = _pipeline(rec, base_levers)
        params = {rec.lever: dict(rec.params)} if rec.params else {}
        t0 = time.perf_counter()
        check = Check(
            lever=rec.lever,
            pipeline=levers,
            status="budget",
            message="",
            false_alarms=fp_base,
            baseline_misses=n_pos - tp_base,
            params=params,
        )
        if t0 > deadline:
            check.message = f"not run: the quick check's {budget:g} s budget was spent"
        else:
            try:
                scores = out_of_fold(
                    lambda levers=levers, params=params: build(
                        levers, schema, params=params, random_state=seed
                    ),
                    X,
                    is_pos,
                    splits,
                    deadline=deadline,
                )
            except Exception as exc:  # a lever that cannot fit this table: say so, go on
                scores = None
                check.status = "failed"
                check.message = f"could not be fitted: {type(exc).__name__}: {exc}"
            if scores is None and check.status == "budget":
                check.message = f"stopped: the quick check's {budget:g} s budget was spent"
            elif scores is not None:
                curve = confusion_curve(is_pos, scores)
                i = _at_false_alarms(curve, fp_base)
                tp = int(curve.tp[i])
                if fp_req is not None and tp_req is not None:
                    tp_r = int(curve.tp[_at_false_alarms(curve, fp_req)])
                    check.at_requirement = {
                        "recall_target": recall_target,
                        "false_alarms": fp_req,
                        "baseline_misses": n_pos - tp_req,
                        "misses": n_pos - tp_r,
                        "misses_removed": tp_r - tp_req,
                    }
                check.status = "measured"
                check.misses = n_pos - tp
                check.misses_removed = tp - tp_base
                check.candidate_false_alarms = int(curve.fp[i])
                check.threshold = float(curve.thresholds[i])
                check.folds = len(splits)
                share = f" ({fp_base / n_neg:.2%} of negatives)" if n_neg else ""
                check.message = (
                    f"{check.misses_removed:+d} misses removed ({n_pos - tp_base} -> "
                    f"{check.misses}) at the baseline's {fp_base} false alarms{share}"
                )
                if check.at_requirement is not None:
                    r = check.at_requirement
                    check.message += (
                        f"; {r['misses_removed']:+d} at its {r['false_alarms']} false alarms "
                        f"for recall {recall_target:g}"
                    )
                check.message += f" ({len(splits)}-fold)"
        check.seconds = round(time.perf_counter() - t0, 3)
        rec.check = check
        checks.append(check)
    return checks
