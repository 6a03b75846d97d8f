"""A diagnosis of one model's scores: metrics, saturation, calibration, slices and misses.

:func:`diagnose` is what ``fnguard diagnose`` and ``fnguard demo`` run; the report and the JSON
output both read the :class:`Diagnosis` it returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fnguard.data.scores import ScoredTable
from fnguard.metrics._validation import binary_labels, finite_scores
from fnguard.metrics.calibration import (
    Reliability,
    Saturation,
    reliability,
    saturation,
    score_groups,
)
from fnguard.metrics.confusion import ConfusionCurve, _curve_from_scores
from fnguard.metrics.findings import Finding, find
from fnguard.metrics.slices import Slice, fnr_by_slice
from fnguard.metrics.summary import Estimate, summary_from_curve


@dataclass
class Diagnosis:
    """Everything measured about one set of scores at one threshold.

    Attributes
    ----------
    curve : ConfusionCurve
        Counts at every distinct threshold.
    threshold : float
        The operating threshold (scores ``>=`` it are predicted positive).
    metrics : dict of str to Estimate
        :func:`fnguard.metrics.summary` at the threshold.
    saturation : Saturation
    reliability : Reliability
    slices : list of Slice
        FNR by slice of the features (empty without features).
    misses : DataFrame
        Every false negative, lowest score first: ``row`` (position in the input), ``score``,
        then the features.
    findings : list of Finding
    positive, negative : scalar
        The class labels.
    label, score, source : str or None
        Column names and input description, for display.
    confidence : float
        Level of every interval.
    notes : list of str
        Things said about the input (such as a positive label chosen for the user).
    """

    curve: ConfusionCurve
    threshold: float
    metrics: dict[str, Estimate]
    saturation: Saturation
    reliability: Reliability
    slices: list[Slice]
    misses: pd.DataFrame
    positive: Any = 1
    negative: Any = 0
    label: str | None = None
    score: str | None = None
    source: str | None = None
    confidence: float = 0.95
    feature_names: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: Operating points chosen for the user's requirements (``fnguard.decide.Decision``).
    decisions: list[Any] = field(default_factory=list)
    #: Before/after figures of a cross-fitted calibration (``fnguard diagnose --calibrate``).
    calibration_fix: dict[str, Any] | None = None

    def histogram(self, n_bins: int = 40) -> dict[str, list[float]]:
        """Score histogram per class: ``edges``, ``positive`` and ``negative`` counts."""
        s, pos, neg = score_groups(self.curve)
        lo, hi = (0.0, 1.0) if self.saturation.probability else (float(s.min()), float(s.max()))
        if hi <= lo:
            hi = lo + 1.0
        edges = np.linspace(lo, hi, n_bins + 1)
        return {
            "edges": edges.tolist(),
            "positive": np.histogram(s, edges, weights=pos)[0].astype(int).tolist(),
            "negative": np.histogram(s, edges, weights=neg)[0].astype(int).tolist(),
        }

    def curve_points(self, max_points: int = 2000) -> dict[str, list[Any]]:
        """The curve thinned to at most about ``max_points`` rows, counts exact at each.

        Rows are kept evenly by rank and evenly by score value, plus the first, the last, the
        operating threshold's row and the decisions' rows. ``+inf`` is written as ``None``.
        """
        c = self.curve
        m = len(c)
        if m <= max_points:
            idx = np.arange(m)
        else:
            by_rank = np.linspace(0, m - 1, max_points // 2).round().astype(int)
            finite = c.thresholds[1:]
            grid = np.linspace(finite[-1], finite[0], max_points // 2)
            by_value = np.searchsorted(-c.thresholds, -grid, side="right") - 1
            chosen = [c.index_at(self.threshold)] + [
                c.index_at(dec.threshold) for dec in self.decisions
            ]
            idx = np.unique(np.concatenate([by_rank, by_value, [0, m - 1], chosen]))
        thresholds = [None if math.isinf(t) else float(t) for t in c.thresholds[idx]]
        return {
            "thresholds": thresholds,
            "tp": c.tp[idx].tolist(),
            "fp": c.fp[idx].tolist(),
            "tn": c.tn[idx].tolist(),
            "fn": c.fn[idx].tolist(),
        }

    def to_dict(self, *, max_misses: int = 100) -> dict[str, Any]:
        """The JSON document of ``fnguard diagnose --json`` (schema in the README).

        Parameters
        ----------
        max_misses : int, default=100
            Most false negatives listed under ``misses.rows``.
        """
        from fnguard import __version__

        shown = self.misses.head(max_misses)
        return {
            "fnguard_version": __version__,
            "input": {
                "source": self.source,
                "label": self.label,
                "score": self.score,
                "positive": _plain(self.positive),
                "negative": _plain(self.negative),
                "n_rows": self.curve.n,
                "n_positive": self.curve.n_positive,
                "n_negative": self.curve.n_negative,
                "n_distinct_scores": len(self.curve) - 1,
                "features": list(self.feature_names),
            },
            "threshold": self.threshold,
            "confidence": self.confidence,
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            "saturation": _clean(self.saturation.to_dict()),
            "calibration": _clean(self.reliability.to_dict()),
            "slices": [s.to_dict() for s in self.slices],
            "misses": {
                "count": len(self.misses),
                "shown": len(shown),
                "columns": [str(c) for c in shown.columns],
                "rows": [[_plain(v) for v in row] for row in shown.itertuples(index=False)],
            },
            "findings": [f.to_dict() for f in self.findings],
            "decisions": [dec.to_dict() for dec in self.decisions],
            "calibration_fix": self.calibration_fix,
            "notes": list(self.notes),
        }


def _plain(v: Any) -> Any:
    """A JSON-ready scalar: numpy scalars unwrapped, NaN and NaT as None."""
    if v is None:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (bool, int, float, str)):
        return v
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, list):
            out[k] = [_plain(x) for x in v]
        else:
            out[k] = _plain(v)
    return out


def diagnose(
    y_true: Any,
    y_score: Any,
    *,
    threshold: float = 0.5,
    positive: Any = 1,
    negative: Any = None,
    features: pd.DataFrame | None = None,
    confidence: float = 0.95,
    n_boot: int = 1000,
    random_state: int | None = 0,
    label: str | None = None,
    score: str | None = None,
    source: str | None = None,
    notes: list[str] | None = None,
) -> Diagnosis:
    """Diagnose a model's scores: how many positives it misses, where, and why.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels with two classes.
    y_score : array-like of shape (n_samples,)
        Scores, higher meaning more likely positive.
    threshold : float, default=0.5
        Scores ``>= threshold`` are predicted positive.
    positive : scalar, default=1
        The positive label.
    negative : scalar, optional
        The negative label, for display.
    features : DataFrame, optional
        Feature columns row-aligned with the labels: slices and the misses table use them.
    confidence : float, default=0.95
        Level of every interval.
    n_boot : int, default=1000
        Bootstrap replicates.
    random_state : int or None, default=0
        Seed of the bootstrap.
    label, score, source : str, optional
        Names shown in the report.
    notes : list of str, optional
        Things to say about the input.

    Returns
    -------
    Diagnosis

    Examples
    --------
    >>> d = diagnose([0, 0, 1, 1, 0, 1], [0.1, 0.6, 0.7, 0.4, 0.2, 0.9], n_boot=100)
    >>> d.metrics["fn"].value, d.misses["row"].tolist()
    (1, [3])
    """
    is_pos = binary_labels(y_true, positive)
    scores = finite_scores(y_score, is_pos.size)
    if features is not None and len(features) != is_pos.size:
        from fnguard.errors import DataError

        raise DataError(
            f"'features' has {len(features)} rows but there are {is_pos.size} labels: "
            "pass the feature rows in the same order as the labels."
        )
    curve = _curve_from_scores(scores, is_pos)
    metrics = summary_from_curve(
        curve, threshold, confidence, n_boot=n_boot, random_state=random_state
    )
    predicted = scores >= threshold
    missed = np.flatnonzero(is_pos & ~predicted)
    order = missed[np.argsort(scores[missed], kind="stable")]
    misses = pd.DataFrame({"row": order, "score": scores[order]})
    slices: list[Slice] = []
    names: list[str] = []
    if features is not None and features.shape[1]:
        feats = features.reset_index(drop=True)
        names = [str(c) for c in feats.columns]
        extra = feats.iloc[order].reset_index(drop=True)
        extra.columns = names
        clash = [c for c in names if c in ("row", "score")]
        extra = extra.rename(columns={c: f"{c} (feature)" for c in clash})
        misses = pd.concat([misses, extra], axis=1)
        slices = fnr_by_slice(is_pos, predicted, feats, confidence=confidence)
    if negative is None:
        negative = 0 if positive == 1 else None
    d = Diagnosis(
        curve=curve,
        threshold=float(threshold),
        metrics=metrics,
        saturation=saturation(curve, threshold),
        reliability=reliability(curve, 10, confidence),
        slices=slices,
        misses=misses,
        positive=positive,
        negative=negative,
        label=label,
        score=score,
        source=source,
        confidence=confidence,
        feature_names=names,
        notes=list(notes or []),
    )
    d.findings = find(d)
    return d


def diagnose_table(scored: ScoredTable, **options: Any) -> Diagnosis:
    """:func:`diagnose` for a :class:`~fnguard.data.ScoredTable` read by ``load_scores``.

    The other columns of the table are the features; labels, column names, source and notes
    are carried over for display.

    Parameters
    ----------
    scored : ScoredTable
        Labels, scores and features.
    **options
        ``threshold``, ``confidence``, ``n_boot``, ``random_state`` of :func:`diagnose`.

    Returns
    -------
    Diagnosis
    """
    d = diagnose(
        scored.y_true,
        scored.y_score,
        positive=True,
        features=scored.features,
        label=scored.label,
        score=scored.score,
        source=scored.source,
        notes=scored.notes,
        **options,
    )
    d.positive, d.negative = scored.positive, scored.negative
    d.findings = find(d)  # they name the labels
    return d
