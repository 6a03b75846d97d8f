"""Diagnosis findings: a stable code, a severity, and a message that says what to do."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fnguard.metrics.diagnosis import Diagnosis

#: Below this many positives, intervals are wide and guarantees are out of reach.
FEW_POSITIVES = 50
#: ECE at or above this is called miscalibrated.
ECE_LIMIT = 0.05
#: Recall target used to show what a lower threshold would buy.
RECALL_TARGET = 0.8


@dataclass(frozen=True)
class Finding:
    """One thing the diagnosis found.

    Attributes
    ----------
    code : str
        Stable identifier, ``FNG001`` ...: safe to match on in scripts.
    severity : str
        ``"warning"`` (acts on the misses) or ``"info"``.
    title : str
        A few words.
    message : str
        What was measured and what helps.
    """

    code: str
    severity: str
    title: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """Plain values, for JSON."""
        return asdict(self)


def saturated_scores(d: Diagnosis) -> Finding | None:
    """FNG001: scores piled up at 0 and 1, so the threshold cannot trade alarms for misses."""
    if not d.saturation.saturated or d.metrics["fn"].value == 0:  # no miss to catch
        return None
    return Finding("FNG001", "warning", "Saturated scores", d.saturation.message)


def high_fnr_slices(d: Diagnosis) -> Finding | None:
    """FNG002: slices whose FNR is significantly above the overall FNR."""
    flagged = [s for s in d.slices if s.flagged]
    if not flagged:
        return None
    overall = d.metrics["fnr"].value
    shown = "; ".join(
        f"{s.feature} = {s.level}: FNR {s.fnr:.0%} [{s.low:.0%}, {s.high:.0%}], "
        f"{s.fn} of {s.n_positive} positives missed"
        for s in flagged[:3]
    )
    more = f" (and {len(flagged) - 3} more)" if len(flagged) > 3 else ""
    return Finding(
        "FNG002",
        "warning",
        "Misses concentrate in slices",
        f"{len(flagged)} slice(s) miss significantly more than the overall FNR of {overall:.0%}: "
        f"{shown}{more}. Collect more positives there, add a feature that separates them, or "
        "give that slice its own threshold.",
    )


def not_probabilities(d: Diagnosis) -> Finding | None:
    """FNG003: scores outside [0, 1], so calibration metrics are not computed."""
    if d.saturation.probability:
        return None
    return Finding(
        "FNG003",
        "info",
        "Scores are not probabilities",
        "Some scores lie outside [0, 1] (margins or logits): ranking metrics and thresholds "
        "are valid, but Brier score, log-loss and ECE are not computed. Calibrate the scores "
        "(Platt or isotonic) to read them as probabilities.",
    )


def miscalibrated(d: Diagnosis) -> Finding | None:
    """FNG004: probability scores whose ECE is large."""
    ece = d.metrics["ece"]
    if not d.saturation.probability or not ece.value >= ECE_LIMIT:
        return None
    return Finding(
        "FNG004",
        "warning",
        "Poorly calibrated",
        f"Expected calibration error is {ece.value:.3f}: the scores do not mean the share of "
        "positives they state (see the reliability diagram). Calibrate (isotonic, Platt or "
        "temperature) before reading them as probabilities or setting a threshold by value.",
    )


def few_positives(d: Diagnosis) -> Finding | None:
    """FNG005: too few positives for narrow intervals."""
    n_pos = d.curve.n_positive
    if n_pos >= FEW_POSITIVES:
        return None
    recall = d.metrics["recall"]
    return Finding(
        "FNG005",
        "warning",
        "Few positives",
        f"Only {n_pos} positive rows: recall is known only to within "
        f"[{recall.low:.0%}, {recall.high:.0%}]. Label more positives before trusting a "
        "threshold, or evaluate on a larger sample.",
    )


def threshold_misses(d: Diagnosis) -> Finding | None:
    """FNG006: the threshold misses most positives although the ranking could catch them."""
    recall = d.metrics["recall"].value
    auc = d.metrics["roc_auc"].value
    if recall >= 0.5 or d.saturation.saturated or auc < 0.6:
        return None
    curve = d.curve
    reach = curve.tp >= RECALL_TARGET * curve.n_positive
    i = int(reach.argmax())
    t, tp, fp = curve.thresholds[i], int(curve.tp[i]), int(curve.fp[i])
    precision = tp / (tp + fp) if tp + fp else 0.0
    fn = int(d.metrics["fn"].value)
    return Finding(
        "FNG006",
        "warning",
        "The threshold leaves most positives missed",
        f"At threshold {d.threshold:g} the model misses {fn} of {curve.n_positive} positives "
        f"(FNR {1 - recall:.0%}), yet it ranks positives above negatives (ROC-AUC {auc:.2f}): "
        f"a lower threshold catches more. At {t:.4g}, recall reaches {tp / curve.n_positive:.0%} "
        f"with {fp} false alarms ({fp / curve.n_negative:.0%} of negatives, precision "
        f"{precision:.0%}). Choose the threshold from your requirement, not 0.5.",
    )


def reversed_ranking(d: Diagnosis) -> Finding | None:
    """FNG007: the scores rank negatives above positives (ROC-AUC significantly below 0.5):
    most often the score of the other class, or the other class taken as positive."""
    auc = d.metrics["roc_auc"]
    low, high = auc.low, auc.high
    if high is None or not math.isfinite(high):  # no bootstrap: Hanley & McNeil's error
        n1, n0 = d.curve.n_positive, d.curve.n_negative
        a = auc.value
        if not (n1 and n0 and math.isfinite(a)):
            return None
        q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
        se = math.sqrt(max(a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a), 0)
                       / (n1 * n0))
        low, high = a - 1.96 * se, a + 1.96 * se
    if not high < 0.5:
        return None
    one_vs_rest = isinstance(d.negative, str) and d.negative == f"not {d.positive}"
    if one_vs_rest:  # a class's column of multiclass scores
        fix = (
            f"The column given for {d.positive!r} is probably another class's score, or a "
            "score that falls as the class grows more likely: check which column belongs to "
            "which class (--score CLASS=COLUMN), or use 1 - score."
        )
    else:
        other = f" ({d.negative!r})" if d.negative is not None else ""
        fix = (
            f"The score is probably that of the other class{other}: pass the other class as "
            "the positive label (--positive), or use 1 - score (the negated score for margins)."
        )
    return Finding(
        "FNG007",
        "warning",
        "The scores rank the wrong way",
        f"ROC-AUC is {auc.value:.2f} [{low:.2f}, {high:.2f}], well below 0.5: the scores are "
        f"higher for the negatives than for the positives ({d.positive!r}). {fix}",
    )


#: Every check, in the order findings are listed.
CHECKS = (
    reversed_ranking,
    threshold_misses,
    saturated_scores,
    high_fnr_slices,
    miscalibrated,
    few_positives,
    not_probabilities,
)


def find(d: Diagnosis) -> list[Finding]:
    """Run every check on a diagnosis and return what fired."""
    return [f for check in CHECKS if (f := check(d)) is not None]
