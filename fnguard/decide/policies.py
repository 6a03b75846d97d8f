"""Threshold policies: from a requirement and labelled scores to an operating threshold.

Every policy reads the :class:`~fnguard.metrics.ConfusionCurve` (one sort) and picks one of its
rows, so the chosen threshold is always one of the scores (or ``+inf``: flag nothing) and the
metrics at it are exact on the data given. Choose on data the model did not train on:
out-of-fold scores (:class:`~fnguard.decide.ThresholdTuner`) or a calibration split.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fnguard.decide import guarantee
from fnguard.decide.requirement import Requirement, parse_requirement
from fnguard.errors import DataError, FnguardWarning, RequirementError
from fnguard.metrics._validation import binary_labels, check_options, finite_scores
from fnguard.metrics.confusion import ConfusionCurve, _curve_from_scores
from fnguard.metrics.point import threshold_metric
from fnguard.metrics.summary import Estimate, summary_from_curve

#: Score groups a threshold bootstrap draws over, at most.
_BOOT_GROUPS = 2000


@dataclass
class Decision:
    """The operating threshold chosen for a requirement.

    Attributes
    ----------
    requirement : Requirement
    threshold : float
        Scores ``>=`` it are predicted positive (``inf``: nothing is).
    met : bool
        Whether the chosen point meets the requirement on the data it was chosen on (for a
        guarantee: whether the guarantee could be given).
    objective : float
        The optimised value: the secondary metric of a constraint, F-beta, Youden's J, or the
        expected cost per row (lower is better).
    value : float or None
        The constrained metric at the threshold.
    metrics : dict of str to Estimate
        :func:`fnguard.metrics.summary` at the threshold.
    threshold_low, threshold_high : float
        Bootstrap interval of the chosen threshold: how stable the operating point is.
    best_threshold, best_value, shortfall : float or None
        When the constraint cannot be met: the point that comes closest, its value and how far
        it falls short of the target.
    allowed : int or None
        For a guarantee: calibration misses (recall, fnr) or false alarms (fpr, specificity)
        the rule allows.
    group_thresholds : dict or None
        For a guarantee ``per COLUMN``: the threshold of each group (Mondrian); ``threshold``
        is then the single threshold that keeps every group's guarantee.
    approximate : bool
        For a guarantee: True when the calibration scores came from other models than the one
        that will be used (fold models of a cross-validation, or a model refitted after), so
        the guarantee holds only approximately.
    """

    requirement: Requirement
    threshold: float
    met: bool
    objective: float
    value: float | None
    metrics: dict[str, Estimate]
    index: int
    threshold_low: float = math.nan
    threshold_high: float = math.nan
    best_threshold: float | None = None
    best_value: float | None = None
    shortfall: float | None = None
    allowed: int | None = None
    group_thresholds: dict[str, float] | None = None
    notes: list[str] = field(default_factory=list)
    approximate: bool = False

    def describe(self) -> str:
        """One sentence: the threshold, whether it meets the requirement, what it costs."""
        r = self.requirement
        m = self.metrics
        where = "above every score" if math.isinf(self.threshold) else f"{self.threshold:.6g}"
        head = f"{r.describe()}: threshold {where}"
        if not self.met and self.best_value is not None:
            return (
                f"{head}: NOT met; the best achievable {r.metric} is {self.best_value:.4f}, "
                f"{self.shortfall:.4f} short of {r.target:g}."
            )
        if not self.met and self.value is not None:
            return (
                f"{head}: NOT met on this data; {r.metric} is {self.value:.4f} "
                f"[{self.metrics[r.metric].low:.4f}, {self.metrics[r.metric].high:.4f}], "
                f"{self.shortfall:.4f} short of {r.target:g}."
            )
        parts = [
            f"recall {m['recall'].value:.4f}",
            f"precision {m['precision'].value:.4f}",
            f"FPR {m['fpr'].value:.4f}",
        ]
        if r.kind == "cost":
            parts.append(f"expected cost {self.objective:.4g} per row")
        how = "approximately guaranteed" if self.approximate else "guaranteed"
        if r.guaranteed and self.allowed is not None:
            parts.append(f"{how} at {r.confidence:.0%} (allows {self.allowed} on calibration)")
        elif r.guaranteed:
            parts.append(f"{how} at {r.confidence:.0%} in every group of {r.per}")
        return f"{head} meets it ({', '.join(parts)})."

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (NaN and inf as None)."""

        def f(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else float(x)

        return {
            "requirement": self.requirement.describe(),
            "threshold": f(self.threshold),
            "threshold_low": f(self.threshold_low),
            "threshold_high": f(self.threshold_high),
            "met": self.met,
            "objective": f(self.objective),
            "value": f(self.value),
            "best_threshold": f(self.best_threshold),
            "best_value": f(self.best_value),
            "shortfall": f(self.shortfall),
            "allowed": self.allowed,
            "group_thresholds": (
                {k: f(v) for k, v in self.group_thresholds.items()}
                if self.group_thresholds
                else None
            ),
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            "notes": list(self.notes),
            "approximate": self.approximate,
        }


def _objective_curve(req: Requirement, tp: Any, fp: Any, tn: Any, fn: Any) -> np.ndarray:
    """Value to maximise at every row (costs are negated)."""
    if req.kind == "constraint":
        obj = threshold_metric(req.secondary or "precision", tp, fp, tn, fn)
        from fnguard.decide.requirement import OBJECTIVES

        return -obj if OBJECTIVES.get(req.secondary or "") == "min" else obj
    if req.kind == "fbeta":
        from fnguard.metrics.point import fbeta

        return fbeta(tp, fp, fn, req.beta or 1.0)
    if req.kind == "youden":
        return threshold_metric("recall", tp, fp, tn, fn) - threshold_metric("fpr", tp, fp, tn, fn)
    c = req.costs
    tp, fp, tn, fn = (np.asarray(v, dtype=np.float64) for v in (tp, fp, tn, fn))
    n = tp + fp + tn + fn
    return -(c["fn"] * fn + c["fp"] * fp + c["tp"] * tp + c["tn"] * tn) / n


def _choose_index(req: Requirement, tp: Any, fp: Any, tn: Any, fn: Any) -> np.ndarray:
    """Chosen row for each row of count matrices (shape (..., n_rows)); -1 where none meets."""
    tp, fp, tn, fn = (np.asarray(v) for v in (tp, fp, tn, fn))
    if req.guaranteed:
        # Every row on the safe side of the guarantee's edge keeps the guarantee (a lower
        # threshold only raises recall, a higher one only lowers the FPR): among them, the best
        # of the requirement's objective ("maximize precision" by default), ties broken as
        # _best_row does.
        n_pos = tp[..., -1:] + fn[..., -1:]
        n_neg = fp[..., -1:] + tn[..., -1:]
        if req.metric in ("recall", "fnr"):
            target = req.target if req.metric == "recall" else 1 - req.target
            allowed = _allowed_array(n_pos, target, req.confidence, positives=True)
            ok = fn <= allowed
            edge = ok.argmax(axis=-1)
        else:
            target = req.target if req.metric == "fpr" else 1 - req.target
            allowed = _allowed_array(n_neg, target, req.confidence, positives=False)
            ok = fp <= allowed
            edge = ok.shape[-1] - 1 - ok[..., ::-1].argmax(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            obj = np.asarray(_objective_curve(req, tp, fp, tn, fn), dtype=np.float64)
        obj = np.where(ok & np.isfinite(obj), obj, -np.inf)
        best = _best_row(obj, tp, fp)
        found = np.take_along_axis(obj, best[..., None], axis=-1)[..., 0] > -np.inf
        return np.where(ok.any(axis=-1), np.where(found, best, edge), -1)
    obj = _objective_curve(req, tp, fp, tn, fn)
    if req.kind == "constraint":
        value = threshold_metric(req.metric or "recall", tp, fp, tn, fn)
        ok = req.meets(value)
        if req.metric == "precision":
            ok &= (tp + fp) > 0  # flagging nothing has no precision to speak of
        obj = np.where(ok & ~np.isnan(obj), obj, -np.inf)
        return np.where(ok.any(axis=-1), _best_row(obj, tp, fp), -1)
    return _best_row(np.where(np.isnan(obj), -np.inf, obj), tp, fp)


def _best_row(obj: np.ndarray, tp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Row of the largest objective along the last axis; among rows of an equal objective
    (within rounding), the one that catches the most positives, then the one with the fewest
    false alarms: equal precision at more recall, or equal recall at fewer false alarms, is
    never worse. ``-inf`` marks rows that may not be chosen (row 0 where none may)."""
    top = obj.max(axis=-1, keepdims=True)
    tied = (obj >= top - 1e-12 * np.abs(top)) & (obj > -np.inf)
    tied &= tp == np.where(tied, tp, -1).max(axis=-1, keepdims=True)
    fewest = np.where(tied, fp, np.iinfo(np.int64).max).min(axis=-1, keepdims=True)
    return (tied & (fp == fewest)).argmax(axis=-1)


def _allowed_array(n: np.ndarray, target: float, confidence: float, positives: bool) -> np.ndarray:
    """:func:`guarantee.allowed_misses` / ``allowed_false_alarms`` for an array of counts."""
    fn = guarantee.allowed_misses if positives else guarantee.allowed_false_alarms
    out = np.empty(n.shape, dtype=np.int64)
    for idx, v in np.ndenumerate(n):
        try:
            out[idx] = fn(int(v), target, confidence)
        except RequirementError:
            out[idx] = -1
    return out


def choose_threshold(
    y_true: Any,
    y_score: Any,
    requirement: str | Requirement,
    *,
    positive: Any = 1,
    groups: Any = None,
    classes: Any = None,
    confidence: float = 0.95,
    n_boot: int = 200,
    random_state: int | None = 0,
) -> Decision:
    """Choose the operating threshold that meets a requirement, with its metrics and intervals.

    Multiclass scores (one column per class, one-vs-rest) are accepted: the requirement names
    its class (``"malignant: recall>=0.98"``), and the threshold applies to that class's column.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels with two classes, from data the model did not train on.
    y_score : array-like of shape (n_samples,) or (n_samples, n_classes)
        Scores, higher meaning more likely positive. Scores ``>=`` the threshold are flagged.
        With one column per class, ``y_true`` holds the class labels.
    requirement : str or Requirement
        See :func:`parse_requirement`: ``"recall>=0.95"``, ``"cost:fn=50,fp=1"``,
        ``"recall>=0.95 @95%"`` ...
    positive : scalar, default=1
        The positive label.
    groups : array-like of shape (n_samples,), optional
        Group of each row, for a guarantee ``per COLUMN``.
    classes : sequence, optional
        The class of each score column (multiclass); by default the sorted labels.
    confidence : float, default=0.95
        Level of the metric intervals (not of the guarantee, which the requirement states).
    n_boot : int, default=200
        Bootstrap replicates of the intervals and of the threshold's own interval.
    random_state : int or None, default=0
        Seed of the bootstraps.

    Returns
    -------
    Decision

    Raises
    ------
    RequirementError
        For a requirement that does not parse, or a guarantee with too few positives (or
        negatives) to be given.

    Examples
    --------
    >>> d = choose_threshold([0, 0, 1, 1, 0, 1], [0.1, 0.6, 0.7, 0.4, 0.2, 0.9], "recall>=0.9",
    ...                      n_boot=0)
    >>> d.threshold, d.met, d.metrics["recall"].value
    (0.4, True, 1.0)
    """
    req = parse_requirement(requirement)
    check_options(confidence=confidence, n_boot=n_boot, random_state=random_state)
    if np.ndim(y_score) == 2 and np.shape(y_score)[1] == 1:
        y_score = np.asarray(y_score).ravel()  # one column (e.g. Keras): the positive's score
    if np.ndim(y_score) == 2:
        y_true, y_score, positive = one_vs_rest(y_true, y_score, req, classes)
    is_pos = binary_labels(y_true, positive)
    scores = finite_scores(y_score, is_pos.size)
    curve = _curve_from_scores(scores, is_pos)
    if curve.n_positive == 0 or curve.n_negative == 0:
        only = "negative" if curve.n_positive == 0 else "positive"
        raise DataError(
            f"The labels hold only {only} rows: a threshold needs both classes to be chosen. "
            "Pass labelled data with positives and negatives."
        )
    if req.per is not None and groups is None:
        raise RequirementError(
            f"The requirement {req.text!r} asks for a guarantee per {req.per!r}, but no groups "
            "were passed: pass groups=frame[column] (the CLI reads the column from the file)."
        )
    if groups is not None:
        groups = _group_labels(groups, is_pos.size)
        if req.per is None:
            warnings.warn(
                f"'groups' are used only by a guarantee per column ('... @95% per region'); "
                f"the requirement {req.text!r} has none, so they were ignored.",
                FnguardWarning,
                stacklevel=2,
            )
        else:
            return _per_group(req, scores, is_pos, groups, confidence, n_boot, random_state)
    return decide_on_curve(curve, req, confidence=confidence, n_boot=n_boot,
                           random_state=random_state)


def _group_labels(groups: Any, n: int) -> np.ndarray:
    """Groups as one text label per row, after checking their shape and values."""
    import pandas as pd

    values = np.asarray(groups, dtype=object)
    if values.ndim != 1:
        raise DataError(
            f"'groups' must be one-dimensional (one group per row). Got an array of shape "
            f"{values.shape} instead."
        )
    if values.shape[0] != n:
        raise DataError(
            f"'groups' has {values.shape[0]} rows but there are {n} scores: pass one group "
            "per row."
        )
    missing = np.asarray(pd.isna(values), dtype=bool)
    if missing.any():
        raise DataError(
            f"'groups' holds {int(missing.sum())} missing value(s) (first at row "
            f"{int(np.flatnonzero(missing)[0])}): fill them with a group of their own, e.g. "
            "'unknown', or drop those rows."
        )
    labels = np.asarray([_group_text(g) for g in values], dtype=object)
    seen: dict[str, Any] = {}
    for g, text in zip(values, labels, strict=True):
        other = seen.setdefault(text, g)
        if isinstance(other, str) != isinstance(g, str):
            raise DataError(
                f"'groups' holds both {other!r} and {g!r}, which would be one group "
                f"'{text}': give the groups one type (all text or all numbers)."
            )
    return labels


def _group_text(value: Any) -> str:
    """A group's text: a whole float as its integer (1.0 and 1 are one group, as in pandas)."""
    from fnguard.data.target import whole_number

    return str(whole_number(value))


def one_vs_rest(
    y_true: Any, y_score: Any, req: Requirement, classes: Any = None
) -> tuple[np.ndarray, np.ndarray, bool]:
    """The binary problem of the requirement's class: ``(is_class, its scores, True)``.

    Without ``classes`` the columns are the classes present in sorted order, as scikit-learn's
    ``classes_`` (numbers by value, 2 before 10; text after numbers).
    """
    from fnguard.data.target import _sort_key

    y = np.asarray(y_true, dtype=object)
    matrix = np.asarray(y_score)
    present = sorted({v.item() if isinstance(v, np.generic) else v for v in y}, key=_sort_key)
    names = list(present if classes is None else classes)
    if matrix.shape[1] != len(names):
        raise DataError(
            f"'y_score' has {matrix.shape[1]} columns but there are {len(names)} classes "
            f"({', '.join(map(str, names[:10]))}): pass one score column per class, in the "
            "order of 'classes'."
        )
    cls = requirement_class(req, names)
    k = names.index(cls)
    return np.asarray([v == cls for v in y], dtype=bool), matrix[:, k], True


def requirement_class(req: Requirement, classes: list[Any]) -> Any:
    """The class (one of ``classes``) that a multiclass requirement names.

    Raises
    ------
    RequirementError
        When the requirement names no class, or one that is not among ``classes``.
    """
    from fnguard.data.target import match_label

    if req.label is None:
        raise RequirementError(
            f"With scores for several classes, the requirement {req.text!r} must name its "
            f"class, as in '{classes[-1]}: {req.describe()}'."
        )
    cls = match_label(req.label, classes)
    if cls is None:
        raise RequirementError(
            f"The requirement names the class {req.label!r}, which is not one of "
            f"{', '.join(map(str, classes))}."
        )
    return cls


def decide_on_curve(
    curve: ConfusionCurve,
    requirement: str | Requirement,
    *,
    confidence: float = 0.95,
    n_boot: int = 200,
    random_state: int | None = 0,
) -> Decision:
    """:func:`choose_threshold` for a curve already computed (no second sort)."""
    req = parse_requirement(requirement)
    tp, fp, tn, fn = curve.tp, curve.fp, curve.tn, curve.fn
    notes: list[str] = []
    allowed = None
    if req.guaranteed:
        target = req.target if req.metric in ("recall", "fpr") else 1 - req.target
        if req.metric in ("recall", "fnr"):
            allowed = guarantee.allowed_misses(curve.n_positive, target, req.confidence)
        else:
            allowed = guarantee.allowed_false_alarms(curve.n_negative, target, req.confidence)
    index = int(_choose_index(req, tp, fp, tn, fn))
    met = index >= 0
    best_threshold = best_value = shortfall = None
    if not met:
        # Unreachable constraint: report the point that comes closest.
        value = threshold_metric(req.metric or "recall", tp, fp, tn, fn)
        if req.metric == "precision":
            value = np.where(tp + fp > 0, value, -np.inf)
        index = int(value.argmax() if req.at_least else value.argmin())
        best_threshold = float(curve.thresholds[index])
        best_value = float(value[index])
        shortfall = float(abs(req.target - best_value))
    value_at = (
        float(threshold_metric(req.metric, tp[index], fp[index], tn[index], fn[index]))
        if req.kind == "constraint"
        else None
    )
    objective = float(_objective_curve(req, tp[index], fp[index], tn[index], fn[index]))
    if req.kind == "cost":
        objective = -objective
    elif req.kind == "constraint" and req.secondary in ("fpr", "fnr"):
        objective = -objective
    threshold = float(curve.thresholds[index])
    metrics = summary_from_curve(
        curve, threshold, confidence, n_boot=n_boot, random_state=random_state
    )
    low = high = math.nan
    if n_boot > 0 and met:
        low, high = _threshold_interval(curve, req, n_boot, confidence, random_state)
    return Decision(
        requirement=req,
        threshold=threshold,
        met=met,
        objective=objective,
        value=value_at,
        metrics=metrics,
        index=index,
        threshold_low=low,
        threshold_high=high,
        best_threshold=best_threshold,
        best_value=best_value,
        shortfall=shortfall,
        allowed=allowed,
        notes=notes,
    )


def evaluate_threshold(
    curve: ConfusionCurve,
    requirement: str | Requirement,
    threshold: float,
    *,
    confidence: float = 0.95,
    n_boot: int = 200,
    random_state: int | None = 0,
    note: str | None = None,
) -> Decision:
    """Score a threshold chosen elsewhere against a requirement, on new labelled data.

    This is the honest last step: the threshold was chosen on other data (out-of-fold scores,
    a calibration split), and ``met`` says whether the requirement holds on this data, with
    the metrics and their intervals.

    Parameters
    ----------
    curve : ConfusionCurve
        Counts of the new data.
    requirement : str or Requirement
        What the threshold was chosen for.
    threshold : float
        The threshold (scores ``>=`` it are flagged).
    confidence, n_boot, random_state
        As in :func:`choose_threshold`.
    note : str, optional
        Where the threshold came from, kept in ``notes``.

    Returns
    -------
    Decision
        ``threshold_low``/``threshold_high`` are NaN: the threshold is given, not estimated.

    Examples
    --------
    >>> from fnguard.metrics import confusion_curve
    >>> c = confusion_curve([0, 1, 1, 0, 1], [0.2, 0.7, 0.4, 0.5, 0.9])
    >>> d = evaluate_threshold(c, "recall>=0.9", 0.45, n_boot=0)
    >>> d.met, round(d.value, 3)
    (False, 0.667)
    """
    req = parse_requirement(requirement)
    index = curve.index_at(threshold)
    tp, fp, tn, fn = curve.tp[index], curve.fp[index], curve.tn[index], curve.fn[index]
    value = (
        float(threshold_metric(req.metric, tp, fp, tn, fn)) if req.kind == "constraint" else None
    )
    objective = float(_objective_curve(req, tp, fp, tn, fn))
    if req.kind == "cost" or (req.kind == "constraint" and req.secondary in ("fpr", "fnr")):
        objective = -objective
    met = req.is_met(value) if value is not None else True
    metrics = summary_from_curve(
        curve, threshold, confidence, n_boot=n_boot, random_state=random_state
    )
    return Decision(
        requirement=req,
        threshold=float(threshold),
        met=bool(met),
        objective=objective,
        value=value,
        metrics=metrics,
        index=index,
        shortfall=None if met or value is None else float(abs(req.target - value)),
        notes=[note] if note else [],
    )


def _threshold_interval(
    curve: ConfusionCurve, req: Requirement, n_boot: int, confidence: float, seed: int | None
) -> tuple[float, float]:
    """Stratified bootstrap interval of the threshold the policy picks."""
    reps = _threshold_replicates(curve, req, n_boot, np.random.default_rng(seed))
    return _quantile_interval(reps, confidence)


def _quantile_interval(reps: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval of threshold replicates (NaN replicates, where no threshold met the
    requirement, are left out)."""
    reps = reps[~np.isnan(reps)]
    if reps.size == 0:
        return math.nan, math.nan
    alpha = 1 - confidence
    low, high = np.quantile(reps, [alpha / 2, 1 - alpha / 2], method="lower")
    return float(low), float(high)


def _threshold_replicates(
    curve: ConfusionCurve, req: Requirement, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """The threshold the policy picks on each stratified bootstrap replicate (NaN: none)."""
    scores = curve.thresholds[1:]
    pos = np.diff(curve.tp)
    neg = np.diff(curve.fp)
    if scores.size > _BOOT_GROUPS:
        # Merge consecutive scores into groups of similar size; a group's threshold is its
        # lowest score, where its cumulative counts are exact.
        cum = np.cumsum(pos + neg) - (pos + neg)
        part = (cum * _BOOT_GROUPS) // curve.n
        starts = np.flatnonzero(np.r_[True, part[1:] != part[:-1]])
        ends = np.r_[starts[1:] - 1, scores.size - 1]
        pos, neg, scores = np.add.reduceat(pos, starts), np.add.reduceat(neg, starts), scores[ends]
    n_pos, n_neg = curve.n_positive, curve.n_negative
    pos_r = rng.multinomial(n_pos, pos / n_pos, size=n_boot)
    neg_r = rng.multinomial(n_neg, neg / n_neg, size=n_boot)
    zero = np.zeros((n_boot, 1), dtype=np.int64)
    tp = np.concatenate([zero, np.cumsum(pos_r, axis=1)], axis=1)
    fp = np.concatenate([zero, np.cumsum(neg_r, axis=1)], axis=1)
    idx = _choose_index(req, tp, fp, n_neg - fp, n_pos - tp)
    return np.where(idx >= 0, np.r_[np.inf, scores][np.maximum(idx, 0)], np.nan)


def _common_threshold(
    req: Requirement, scores: np.ndarray, is_pos: np.ndarray, labels: np.ndarray
) -> float:
    """The one threshold for all groups: among the thresholds that keep every group's
    guarantee (each group's misses, or false alarms, within what its own rows allow), the
    best of the requirement's objective on all rows, ties broken as :func:`_best_row` does.
    (The lowest, or highest, of the groups' own choices gave up catches where a group's own
    choice sat high in a tie.)"""
    curve = _curve_from_scores(scores, is_pos)
    t = curve.thresholds
    ok = np.ones(t.size, dtype=bool)
    on_positives = req.metric in ("recall", "fnr")
    for g in np.unique(labels):
        mask = labels == g
        if on_positives:
            target = req.target if req.metric == "recall" else 1 - req.target
            mine = np.sort(scores[mask & is_pos])
            allowed = guarantee.allowed_misses(mine.size, target, req.confidence)
            ok &= np.searchsorted(mine, t, side="left") <= allowed  # misses: scores below t
        else:
            target = req.target if req.metric == "fpr" else 1 - req.target
            mine = np.sort(scores[mask & ~is_pos])
            allowed = guarantee.allowed_false_alarms(mine.size, target, req.confidence)
            ok &= mine.size - np.searchsorted(mine, t, side="left") <= allowed
    with np.errstate(invalid="ignore", divide="ignore"):
        obj = np.asarray(
            _objective_curve(req, curve.tp, curve.fp, curve.tn, curve.fn), dtype=np.float64
        )
    obj = np.where(ok & np.isfinite(obj), obj, -np.inf)
    if not np.isfinite(obj).any():  # every allowed row's objective undefined: the safe edge
        return float(t[np.flatnonzero(ok)[-1 if on_positives else 0]])
    return float(t[int(_best_row(obj, curve.tp, curve.fp))])


def _per_group(
    req: Requirement,
    scores: np.ndarray,
    is_pos: np.ndarray,
    groups: np.ndarray,
    confidence: float,
    n_boot: int,
    random_state: int | None,
) -> Decision:
    """Mondrian guarantee: one threshold per group, and one threshold that keeps them all
    (``groups``: :func:`_group_labels`, one text label per row)."""
    per: dict[str, float] = {}
    labels = groups
    rng = np.random.default_rng(random_state)
    replicates = []
    for g in sorted(set(labels.tolist())):
        mask = labels == g
        curve = _curve_from_scores(scores[mask], is_pos[mask])
        try:
            d = decide_on_curve(curve, req, confidence=confidence, n_boot=0)
        except RequirementError as exc:
            raise RequirementError(f"In group {req.per} = {g!r}: {exc}") from None
        per[g] = d.threshold
        if n_boot > 0:
            replicates.append(_threshold_replicates(curve, req, n_boot, rng))
    # Lower thresholds raise recall in every group; higher ones lower the FPR in every group.
    lowest = req.metric in ("recall", "fnr")
    common = _common_threshold(req, scores, is_pos, labels)
    low = high = math.nan
    if replicates:
        # Groups are disjoint, so their stratified redraws are independent: combine replicate
        # by replicate (a replicate where some group met nothing counts as none).
        stacked = np.vstack(replicates)
        combined = stacked.min(axis=0) if lowest else stacked.max(axis=0)
        low, high = _quantile_interval(combined, confidence)
    curve = _curve_from_scores(scores, is_pos)
    metrics = summary_from_curve(curve, common, confidence, n_boot=n_boot,
                                 random_state=random_state)
    index = curve.index_at(common)
    value = float(threshold_metric(req.metric, curve.tp[index], curve.fp[index],
                                   curve.tn[index], curve.fn[index]))
    objective = float(_objective_curve(req, curve.tp[index], curve.fp[index],
                                       curve.tn[index], curve.fn[index]))
    if req.secondary in ("fpr", "fnr"):
        objective = -objective  # report the secondary metric itself, as decide_on_curve does
    return Decision(
        requirement=req,
        threshold=common,
        met=True,
        objective=objective,
        value=value,
        metrics=metrics,
        index=index,
        threshold_low=low,
        threshold_high=high,
        group_thresholds=per,
        notes=[
            f"One threshold per group of {req.per} keeps each group's guarantee "
            "(group_thresholds); 'threshold' is the single threshold that keeps every group's."
        ],
    )
