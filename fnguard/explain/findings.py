"""Why positives are missed: findings with a stable code, evidence and the misses at stake.

Each check reads what the explanation measured and returns findings or nothing. A finding's
``misses_at_stake`` counts the misses (false negatives of the diagnosed scores, or positives
in the training data) that the finding bears on; the explanation keeps the ten largest.

===========  ================  ======================================================
code         kind              fires when
===========  ================  ======================================================
FNG101       saturation        the scores are piled up at 0 and 1
FNG102       imbalance         more than 20 negatives per positive
FNG103       few_positives     fewer than 50 positives
FNG104       label_issues      cleanlab suspects labels (out-of-fold probabilities)
FNG105       slice             a slice misses significantly more (one per slice, at most 3)
FNG106       overfitting       training error / FNR far below cross-validated
FNG107       duplicates        identical feature rows carry both labels
FNG108       shared            the misses differ significantly from the caught positives
FNG109       threshold         the threshold misses most positives the ranking could catch
===========  ================  ======================================================
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from fnguard.explain.duplicates import ConflictingDuplicates
from fnguard.explain.labels import LabelIssues
from fnguard.explain.overfit import Overfitting
from fnguard.explain.shared import FeatureEffect
from fnguard.metrics.diagnosis import Diagnosis
from fnguard.metrics.findings import FEW_POSITIVES, RECALL_TARGET

__all__ = ["IMBALANCE_RATIO", "MAX_FINDINGS", "ExplainFinding", "rank_findings"]

#: Above this many negatives per positive, cost weights or resampling are recommended.
IMBALANCE_RATIO = 20.0
#: Most findings an explanation keeps.
MAX_FINDINGS = 10
#: Most slice findings.
MAX_SLICES = 3
#: Most features named by the shared finding.
MAX_SHARED = 3
#: Most rows listed in a finding's evidence.
MAX_ROWS = 1000


@dataclass(frozen=True)
class ExplainFinding:
    """One reason positives are missed.

    Attributes
    ----------
    code : str
        Stable identifier (``FNG104``): safe to match on in scripts.
    kind : str
        ``label_issues``, ``slice``, ``overfitting``, ``saturation``, ``imbalance``,
        ``few_positives``, ``duplicates``, ``shared`` or ``threshold``.
    severity : str
        ``"warning"`` or ``"info"``.
    title : str
        A few words.
    message : str
        What was measured and what helps.
    evidence : dict
        The figures behind it (JSON-ready); for ``label_issues``, ``rows`` are the 0-based
        positions of the suspected rows in the input table, most suspect first.
    misses_at_stake : float
        The misses it bears on (see the module docstring for each kind).
    levers : tuple of str
        What to try, best first (registry names, or actions such as ``review-labels``).
    """

    code: str
    kind: str
    severity: str
    title: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    misses_at_stake: float = 0.0
    levers: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for JSON."""
        out = asdict(self)
        out["levers"] = list(self.levers)
        out["evidence"] = _plain(self.evidence)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def saturation_finding(d: Diagnosis) -> list[ExplainFinding]:
    """FNG101: saturated scores; at stake, the misses no threshold in [0.05, 0.95] reaches."""
    sat = d.saturation
    if not sat.saturated:
        return []
    fn = int(d.metrics["fn"].value)
    share = sat.misses_recoverable
    stuck = fn if share != share else fn - round(fn * share)
    return [ExplainFinding(
        "FNG101", "saturation", "warning", "Saturated scores",
        f"{sat.message} {stuck} of the {fn} misses stay missed at any threshold down to 0.05. "
        "Soften the scores: calibrate them (temperature scaling), or train with a loss that "
        "keeps them off 0 and 1 (focal loss, label smoothing).",
        evidence={
            "share_extreme": sat.share_extreme, "flip_fraction": sat.flip_fraction,
            "n_distinct": sat.n_distinct, "misses": fn, "misses_stuck": stuck,
        },
        misses_at_stake=float(stuck),
    )]  # fmt: skip


def imbalance_finding(d: Diagnosis, scores: np.ndarray, y: np.ndarray) -> list[ExplainFinding]:
    """FNG102: imbalance; at stake, misses scored above the base rate but below the threshold."""
    n_pos, n_neg = d.curve.n_positive, d.curve.n_negative
    ratio = n_neg / n_pos if n_pos else math.inf
    if ratio <= IMBALANCE_RATIO:
        return []
    prevalence = n_pos / d.curve.n
    missed = y & (scores < d.threshold)
    above = int((missed & (scores >= prevalence)).sum())
    return [ExplainFinding(
        "FNG102", "imbalance", "warning", "Few positives against many negatives",
        f"{n_neg / max(n_pos, 1):.0f} negatives per positive ({n_pos:,} positives, "
        f"prevalence {prevalence:.2%}): a model trained on it learns that 'negative' is almost "
        f"always right. {above} of the misses score above the base rate of {prevalence:.2%} "
        "yet below the threshold. Weight the positives (cost-sensitive training) or resample "
        "the training folds.",
        evidence={
            "imbalance_ratio": ratio, "n_positive": n_pos, "n_negative": n_neg,
            "prevalence": prevalence, "misses_above_base_rate": above,
        },
        misses_at_stake=float(above),
    )]  # fmt: skip


def few_positives_finding(d: Diagnosis) -> list[ExplainFinding]:
    """FNG103: fewer than 50 positives; at stake, every miss."""
    n_pos = d.curve.n_positive
    if n_pos >= FEW_POSITIVES:
        return []
    recall = d.metrics["recall"]
    fn = int(d.metrics["fn"].value)
    return [ExplainFinding(
        "FNG103", "few_positives", "warning", "Too few positives for a guarantee",
        f"Only {n_pos} positive rows: recall is known only within [{recall.low:.0%}, "
        f"{recall.high:.0%}], and a threshold with a guarantee ('recall>=0.95 @95%') needs "
        "more positives than that. Label more positives, or model the negatives alone "
        "(anomaly detection), which needs no positives to learn from.",
        evidence={"n_positive": n_pos, "recall": recall.value, "recall_low": recall.low,
                  "recall_high": recall.high, "misses": fn},
        misses_at_stake=float(fn),
    )]  # fmt: skip


def label_issues_finding(issues: LabelIssues | None, missed: np.ndarray) -> list[ExplainFinding]:
    """FNG104: suspected labels; at stake, hidden positives plus misses that look negative."""
    if issues is None or len(issues) == 0:
        return []
    hidden, doubtful = issues.hidden_positives, issues.not_positives
    doubtful_missed = int(missed[doubtful].sum())
    severity = "warning" if issues.share >= 0.01 or hidden.size >= 10 else "info"
    return [ExplainFinding(
        "FNG104", "label_issues", severity, "Suspected label errors",
        f"cleanlab's confident learning on out-of-fold probabilities suspects {len(issues):,} "
        f"labels ({issues.share:.1%} of rows): {hidden.size:,} labelled negative look positive "
        f"(hidden positives: each may be a positive the model learns to miss), "
        f"{doubtful.size:,} labelled positive look negative ({doubtful_missed:,} of them are "
        "among the misses, so they may be no misses at all). Review them first: a model "
        "trained on wrong labels learns the mistakes.",
        evidence={
            "count": len(issues), "share": issues.share,
            "hidden_positives": int(hidden.size), "not_positives": int(doubtful.size),
            "not_positives_missed": doubtful_missed,
            "rows": issues.rows[:MAX_ROWS].tolist(),
            "hidden_positive_rows": hidden[:MAX_ROWS].tolist(),
            "not_positive_rows": doubtful[:MAX_ROWS].tolist(),
            "rows_truncated": bool(len(issues) > MAX_ROWS),
        },
        misses_at_stake=float(hidden.size + doubtful_missed),
    )]  # fmt: skip


def slice_findings(d: Diagnosis) -> list[ExplainFinding]:
    """FNG105: one per flagged slice (at most 3); at stake, its misses above the overall FNR."""
    overall = d.metrics["fnr"].value
    flagged = sorted(
        (s for s in d.slices if s.flagged and s.excess_misses > 0),
        key=lambda s: (-s.excess_misses, s.feature, s.level),
    )
    out = []
    for s in flagged[:MAX_SLICES]:
        out.append(ExplainFinding(
            "FNG105", "slice", "warning", f"Misses concentrate where {s.feature} = {s.level}",
            f"Where '{s.feature}' = {s.level}, {s.fn} of {s.n_positive} positives are missed "
            f"(FNR {s.fnr:.0%} [{s.low:.0%}, {s.high:.0%}] against {overall:.0%} overall): "
            f"bringing it to the overall FNR would remove {s.excess_misses:.0f} misses. "
            "Collect more positives of this slice, add a feature that separates them there, "
            "or give the slice its own threshold.",
            evidence={
                "feature": s.feature, "level": s.level, "slice_kind": s.kind,
                "n_rows": s.n_rows, "n_positive": s.n_positive, "fn": s.fn, "fnr": s.fnr,
                "low": s.low, "high": s.high, "overall_fnr": overall, "p_value": s.p_value,
            },
            misses_at_stake=round(float(s.excess_misses), 1),
        ))  # fmt: skip
    return out


def overfitting_finding(over: Overfitting | None) -> list[ExplainFinding]:
    """FNG106: a large train/cross-validated gap; at stake, the misses the gap costs."""
    if over is None or not over.flagged:
        return []
    return [ExplainFinding(
        "FNG106", "overfitting", "warning", "Over-fitting",
        f"{over.describe()} The model fits its training rows much better than new ones "
        f"({over.reason}): regularise it (fewer leaves, more rows per leaf, stronger penalty) "
        "or use a simpler model.",
        evidence=over.to_dict(),
        misses_at_stake=float(over.misses_at_stake),
    )]  # fmt: skip


def duplicates_finding(dups: ConflictingDuplicates) -> list[ExplainFinding]:
    """FNG107: conflicting duplicates; at stake, the positive rows inside them."""
    if dups.n_groups == 0:
        return []
    return [ExplainFinding(
        "FNG107", "duplicates", "warning", "Identical rows with different labels",
        f"{dups.n_groups:,} groups of identical feature rows carry both labels "
        f"({dups.n_positive:,} positive and {dups.n_negative:,} negative rows): no model can "
        "tell them apart, so each group's positives are all missed or its negatives all "
        "flagged. Check their labels, or add the feature that tells them apart.",
        evidence=dups.to_dict(),
        misses_at_stake=float(dups.n_positive),
    )]  # fmt: skip


def shared_finding(effects: list[FeatureEffect]) -> list[ExplainFinding]:
    """FNG108: what the misses share; at stake, an estimate of the misses set apart.

    For a numeric feature, ``n_missed * |delta| / 2`` (the misses beyond the caught
    positives' median, over the half expected by chance); for a categorical one,
    ``n_missed * |difference|`` (the misses at the level beyond its share among caught
    positives). The largest over the named features.
    """
    top = [e for e in effects if e.flagged][:MAX_SHARED]
    if not top:
        return []

    def stake(e: FeatureEffect) -> float:
        scale = 0.5 if e.kind == "numeric" else 1.0
        return e.n_missed * abs(e.effect) * scale

    lines = "; ".join(e.describe() for e in top)
    return [ExplainFinding(
        "FNG108", "shared", "info", "What the misses share",
        f"The missed positives differ from the caught ones: {lines}. A feature that separates "
        "the positives there, or more positives like them, helps the model catch them.",
        evidence={"features": [e.to_dict() for e in top]},
        misses_at_stake=round(max(stake(e) for e in top), 1),
    )]  # fmt: skip


def threshold_finding(d: Diagnosis) -> list[ExplainFinding]:
    """FNG109: the threshold misses most positives the ranking could catch."""
    recall = d.metrics["recall"].value
    auc = d.metrics["roc_auc"].value
    if not recall < 0.5 or d.saturation.saturated or not auc >= 0.6:
        return []
    c = d.curve
    i = int((c.tp >= RECALL_TARGET * c.n_positive).argmax())
    j = c.index_at(d.threshold)
    gained, added = int(c.tp[i] - c.tp[j]), int(c.fp[i] - c.fp[j])
    return [ExplainFinding(
        "FNG109", "threshold", "warning", "The threshold leaves most positives missed",
        f"At threshold {d.threshold:g} the scores miss {1 - recall:.0%} of positives, yet they "
        f"rank positives above negatives (ROC-AUC {auc:.2f}): at {c.thresholds[i]:.4g}, "
        f"{gained:,} more positives are caught for {added:,} more false alarms. Choose the "
        "threshold from your requirement.",
        evidence={"threshold": d.threshold, "recall": recall, "roc_auc": auc,
                  "suggested_threshold": float(c.thresholds[i]), "misses_removed": gained,
                  "false_alarms_added": added, "recall_target": RECALL_TARGET},
        misses_at_stake=float(gained),
    )]  # fmt: skip


_ORDER = {"warning": 0, "info": 1}


def rank_findings(
    findings: list[ExplainFinding], limit: int = MAX_FINDINGS
) -> list[ExplainFinding]:
    """The ``limit`` findings with the most misses at stake, largest first (warnings first
    among ties, then by code)."""
    ordered = sorted(
        findings, key=lambda f: (-f.misses_at_stake, _ORDER.get(f.severity, 2), f.code)
    )
    return ordered[:limit]
