"""From findings to levers: what to try first, why, and the command that tries it.

Each kind of finding maps to levers (registry names from :mod:`fnguard.levers`) and to a few
actions that are no lever (``review-labels``, ``more-positives``, ``more-data``,
``add-feature``, ``calibrate:temperature``). Recommendations follow the findings' order (most
misses at stake first); a lever suggested by several findings is listed once, under the first.
Once the quick check has measured some of them, :func:`rank_by_checks` puts the measured gains
first and the levers measured to add misses last, with a caveat.
"""

from __future__ import annotations

import importlib.util
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from fnguard.explain.findings import ExplainFinding

__all__ = [
    "ACTIONS",
    "Recommendation",
    "attach_levers",
    "levers_for",
    "rank_by_checks",
    "recommend",
]

#: Recommendations that are not registry levers, and what they mean.
ACTIONS = {
    "review-labels": "Review the suspected rows and correct their labels before training.",
    "more-positives": "Label more positive rows.",
    "more-data": "Collect more labelled positives where the model misses them.",
    "add-feature": "Add a feature that separates the missed positives from the negatives.",
    "calibrate:temperature": "Calibrate the scores by temperature scaling (cross-fitted).",
}

#: Parameters that make LightGBM simpler: fewer, larger leaves and a penalty.
REGULARISED_LIGHTGBM = {"num_leaves": 7, "min_child_samples": 50, "reg_lambda": 5.0}


@dataclass(frozen=True)
class _Suggestion:
    lever: str
    reason: str
    params: dict[str, Any] = field(default_factory=dict)


def _has_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


def levers_for(finding: ExplainFinding) -> list[_Suggestion]:
    """The levers and actions a finding calls for, best first."""
    k = finding.kind
    if k == "saturation":
        out = [
            _Suggestion(
                "calibrate:temperature",
                "temperature scaling spreads saturated scores "
                "so that the threshold can trade alarms for misses again",
            ),
            _Suggestion(
                "lightgbm:focal",
                "focal loss stops pushing easy rows to 0 and 1 and "
                "spends the model on the hard positives",
            ),
        ]
        if _has_torch():
            out.append(
                _Suggestion(
                    "mlp", "label smoothing trains on targets off 0 and 1", {"label_smoothing": 0.1}
                )
            )
        return out
    if k == "imbalance":
        return [
            _Suggestion("lightgbm:weighted", "weights the positives by the imbalance ratio"),
            _Suggestion(
                "random-under", "drops negatives from the training folds until the classes balance"
            ),
            _Suggestion("smote", "adds synthetic positives to the training folds"),
        ]
    if k == "few_positives":
        return [
            _Suggestion(
                "more-positives",
                "a threshold with a guarantee needs more positives than the table has",
            ),
            _Suggestion("isolation-forest", "anomaly detection learns the negatives alone"),
        ]
    if k == "label_issues":
        return [
            _Suggestion("review-labels", "wrong labels teach the model to miss"),
            _Suggestion(
                "enn",
                "edited nearest neighbours drops training rows whose neighbours "
                "disagree with their label",
            ),
        ]
    if k == "slice":
        ev = finding.evidence
        out = [
            _Suggestion(
                "more-data",
                f"collect positives where '{ev['feature']}' = "
                f"{ev['level']}, or a feature that separates them there",
            )
        ]
        if ev.get("slice_kind") == "categorical":
            out.append(
                _Suggestion(
                    "threshold",
                    f"a threshold per level of '{ev['feature']}' meets the recall in every level",
                    {"per": ev["feature"]},
                )
            )
        return out
    if k == "overfitting":
        return [
            _Suggestion(
                "lightgbm",
                "regularised boosting: fewer leaves, more rows per leaf, an L2 penalty",
                dict(REGULARISED_LIGHTGBM),
            ),
            _Suggestion("logistic", "a simpler model cannot memorise the positives"),
        ]
    if k == "duplicates":
        return [
            _Suggestion(
                "review-labels",
                "identical rows with both labels: one label is wrong, or a feature is missing",
            ),
            _Suggestion("add-feature", "only a new feature can tell identical rows apart"),
        ]
    if k == "shared":
        return [
            _Suggestion("add-feature", "the misses share values the model does not use well enough")
        ]
    if k == "threshold":
        return [_Suggestion("threshold", "choose the threshold from the requirement")]
    return []


def attach_levers(findings: Sequence[ExplainFinding]) -> list[ExplainFinding]:
    """The findings with their ``levers`` filled in."""
    return [replace(f, levers=tuple(s.lever for s in levers_for(f))) for f in findings]


@dataclass
class Recommendation:
    """One lever to try, the finding behind it, and the command that tries it.

    Attributes
    ----------
    rank : int
        1 for the first to try.
    lever : str
        A registry name, or an action from :data:`ACTIONS`.
    finding : str
        The code of the finding that triggered it.
    kind : str
        That finding's kind.
    reason : str
        Why it helps with that finding.
    command : str or None
        The command that tries it (None for an action that no command does).
    params : dict
        Parameters of the lever used by the quick check.
    also : list of str
        Codes of other findings that suggest it.
    check : Check or None
        Its measured effect (:mod:`fnguard.explain.check`), when it was checked.
    caveat : str
        What the measurement says against it (empty when nothing): also ends ``reason``.
    """

    rank: int
    lever: str
    finding: str
    kind: str
    reason: str
    command: str | None
    params: dict[str, Any] = field(default_factory=dict)
    also: list[str] = field(default_factory=list)
    check: Any = None
    caveat: str = ""

    @property
    def in_registry(self) -> bool:
        """Whether the lever is a registry lever (else an action)."""
        from fnguard.levers import registry

        return self.lever in registry

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for JSON; ``effect`` is the measured check (or None)."""
        return {
            "rank": self.rank,
            "lever": self.lever,
            "in_registry": self.in_registry,
            "finding": self.finding,
            "kind": self.kind,
            "reason": self.reason,
            "command": self.command,
            "params": dict(self.params),
            "also": list(self.also),
            "caveat": self.caveat,
            "effect": None if self.check is None else self.check.to_dict(),
        }


def _command(
    s: _Suggestion,
    *,
    source: str,
    target: str,
    positive: Any,
    require: str,
    drop: Sequence[str] = (),
) -> str | None:
    head = (
        f"{shlex.quote(source)} --target {shlex.quote(str(target))} "
        f"--positive {shlex.quote(str(positive))}"
    )
    head += "".join(f" --drop {shlex.quote(str(name))}" for name in drop)
    if s.lever == "calibrate:temperature":
        return f"fnguard diagnose {head} --calibrate temperature"
    if s.lever == "threshold":
        per = ""
        if "per" in s.params:  # 'per COLUMN' goes with a guarantee
            per = ("" if "@" in require else " @90%") + f" per {s.params['per']}"
        return f"fnguard diagnose {head} --require {shlex.quote(require + per)}"
    if s.lever in ACTIONS:
        return None
    out = shlex.quote("guard-" + s.lever.replace(":", "-"))
    return (
        f"fnguard fit {head} --require {shlex.quote(require)} --levers {shlex.quote(s.lever)} "
        f"--out {out}"
    )


def _reason(s: _Suggestion) -> str:
    """The suggestion's reason, saying which parameters the quick check fixed that the command
    leaves to the search (the command line takes no lever parameters)."""
    if not s.params or s.lever == "threshold":
        return s.reason
    shown = ", ".join(f"{k}={v}" for k, v in s.params.items())
    return (
        f"{s.reason} (the quick check fits it with {shown}; the command lets `fnguard fit` "
        "search its parameters)"
    )


def recommend(
    findings: Sequence[ExplainFinding],
    *,
    source: str = "data.csv",
    target: str = "y",
    positive: Any = 1,
    require: str = "recall>=0.8",
    drop: Sequence[str] = (),
) -> list[Recommendation]:
    """Levers to try, in the order of the findings that call for them.

    Parameters
    ----------
    findings : sequence of ExplainFinding
        Ranked findings (most misses at stake first).
    source : str, default="data.csv"
        The table as the commands should name it.
    target : str, default="y"
        The label column.
    positive : scalar, default=1
        The positive label.
    require : str, default="recall>=0.8"
        The requirement written into the commands.
    drop : sequence of str, default=()
        Columns the commands leave out (``--drop``), as the table was read.

    Returns
    -------
    list of Recommendation

    Examples
    --------
    >>> f = ExplainFinding("FNG102", "imbalance", "warning", "Imbalance", "...")
    >>> [r.lever for r in recommend([f])]
    ['lightgbm:weighted', 'random-under', 'smote']
    >>> recommend([f], source="loans.csv", target="bad")[0].command
    "fnguard fit loans.csv --target bad --positive 1 --require 'recall>=0.8' --levers lightgbm:weighted --out guard-lightgbm-weighted"
    """  # noqa: E501
    out: list[Recommendation] = []
    seen: dict[tuple[str, str], Recommendation] = {}
    for f in findings:
        for s in levers_for(f):
            key = (s.lever, repr(sorted(s.params.items())))
            if key in seen:
                if f.code not in seen[key].also and f.code != seen[key].finding:
                    seen[key].also.append(f.code)
                continue
            rec = Recommendation(
                rank=len(out) + 1,
                lever=s.lever,
                finding=f.code,
                kind=f.kind,
                reason=_reason(s),
                command=_command(
                    s,
                    source=source,
                    target=target,
                    positive=positive,
                    require=require,
                    drop=drop,
                ),
                params=dict(s.params),
            )
            seen[key] = rec
            out.append(rec)
    return out


def _measured(rec: Recommendation) -> tuple[int, int] | None:
    """Misses removed at the baseline's false alarms and at the requirement's (0 without)."""
    check = rec.check
    if check is None or check.status != "measured" or check.misses_removed is None:
        return None
    at_req = getattr(check, "at_requirement", None) or {}
    return int(check.misses_removed), int(at_req.get("misses_removed") or 0)


def _misses(n: int) -> str:
    return f"{n:,} miss" if n == 1 else f"{n:,} misses"


def _judge(gain: tuple[int, int] | None) -> tuple[int, str]:
    """The group a measured lever ranks in (0 gains, 1 not measured, 2 none, 3 worse), and
    the caveat it gets."""
    if gain is None:
        return 1, ""
    main, req = gain
    if main > 0 or (main == 0 and req > 0):
        if req < 0:
            return 0, f"measured to add {_misses(-req)} at the requirement's false alarms"
        return 0, ""
    if main == 0 and req == 0:
        return 2, "measured to remove no misses at the same false alarms"
    worst = main if main < 0 else req
    where = "the same false alarms" if main < 0 else "the requirement's false alarms"
    return 3, (
        f"measured to add {_misses(-worst)} at {where}, so it ranks after the levers not "
        "measured; try it only for another reason"
    )


def rank_by_checks(recommendations: Sequence[Recommendation]) -> list[Recommendation]:
    """Rank again by what the quick check measured, and say so in the reasons.

    Levers measured to remove misses (at the baseline's false alarms, else at the
    requirement's) come first, most removed first; then the levers and actions not measured,
    in their order; then the levers measured to remove none, and last those measured to add
    misses, each with a ``caveat`` (also ending its ``reason``). Ranks are renumbered; the
    objects are updated in place.

    Parameters
    ----------
    recommendations : sequence of Recommendation
        Ranked by the findings, some with a ``check``.

    Returns
    -------
    list of Recommendation
        The same objects, in the new order.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> recs = [Recommendation(i + 1, lv, "FNG106", "overfitting", "r", None)
    ...         for i, lv in enumerate(["lightgbm", "review-labels", "logistic"])]
    >>> recs[0].check = SimpleNamespace(status="measured", misses_removed=-7)
    >>> recs[2].check = SimpleNamespace(status="measured", misses_removed=5)
    >>> [(r.rank, r.lever) for r in rank_by_checks(recs)]
    [(1, 'logistic'), (2, 'review-labels'), (3, 'lightgbm')]
    >>> recs[0].reason
    'r; but measured to add 7 misses at the same false alarms, so it ranks after the levers not measured; try it only for another reason'
    """  # noqa: E501

    def key(item: tuple[int, Recommendation]) -> tuple[int, int, int, int]:
        i, rec = item
        gain = _measured(rec)
        group = _judge(gain)[0]
        main, req = gain or (0, 0)
        return (group, -main, -req, i)

    ordered = [rec for _, rec in sorted(enumerate(recommendations), key=key)]
    for rank, rec in enumerate(ordered, 1):
        rec.rank = rank
        caveat = _judge(_measured(rec))[1]
        if caveat and not rec.caveat:
            rec.caveat = caveat
            rec.reason = f"{rec.reason}; but {caveat}"
    return ordered
