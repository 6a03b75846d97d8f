"""The report of an explanation: the diagnosis report plus "Why are positives missed?".

The page is the diagnosis report of :mod:`fnguard.report.html` (same template, CSS, scripts
and escaping), with the explanation's section filled in; the folder also holds
``label_issues.csv``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fnguard.report.html import _cell, render_report, write_report

if TYPE_CHECKING:
    from fnguard.explain.explanation import Explanation
    from fnguard.metrics.diagnosis import Diagnosis

__all__ = ["render_explained_report", "write_explained_report"]


#: Most rows of the label issues and duplicates tables in the page (the CSV has them all).
MAX_EXPLAIN_ROWS = 20
#: Most features listed in the "what the misses share" table.
MAX_EFFECTS = 20


def _frame_rows(frame: Any, limit: int) -> tuple[list[str], list[list[str]]]:
    from fnguard.metrics.diagnosis import _plain

    shown = frame.head(limit)
    rows = [[_cell(_plain(v)) for v in row] for row in shown.itertuples(index=False)]
    return [str(c) for c in shown.columns], rows


def _explain_context(exp: Explanation, confidence: float) -> dict[str, Any]:
    """The "Why are positives missed?" section, formatted for the template (plain strings)."""
    from fnguard.explain.explanation import LABEL_ISSUES_CSV

    def signed(v: float) -> str:
        return "n/a" if not math.isfinite(v) else f"{v:+.3f}"

    findings = [
        {
            "code": f.code,
            "kind": f.kind,
            "severity": f.severity,
            "title": f.title,
            "message": f.message,
            "misses_at_stake": f"{f.misses_at_stake:,.1f}".removesuffix(".0"),
            "levers": list(f.levers),
        }
        for f in exp.findings
    ]
    recommendations = [
        {
            "rank": r.rank,
            "lever": r.lever,
            "finding": r.finding,
            "kind": r.kind,
            "reason": r.reason,
            "measured": "" if r.check is None else r.check.message,
            "command": r.command or "",
        }
        for r in exp.recommendations
    ]
    effects = []
    for e in exp.effects[:MAX_EFFECTS]:
        as_share = e.kind != "numeric"
        effects.append(
            {
                "feature": e.feature,
                "level": e.level or "",
                "statistic": e.statistic,
                "effect": signed(e.effect),
                "interval": (
                    f"[{signed(e.low)}, {signed(e.high)}]" if math.isfinite(e.low) else ""
                ),
                "miss_value": f"{e.miss_value:.1%}" if as_share else f"{e.miss_value:.4g}",
                "caught_value": f"{e.caught_value:.1%}" if as_share else f"{e.caught_value:.4g}",
                "p_value": f"{e.p_value:.3g}",
                "flagged": bool(e.flagged),
            }
        )
    issues = None
    if exp.label_issues is not None:
        li = exp.label_issues
        columns, rows = _frame_rows(exp.label_issues_frame(), MAX_EXPLAIN_ROWS)
        issues = {
            "summary": (
                f"cleanlab's confident learning on out-of-fold probabilities suspects "
                f"{len(li):,} labels: {li.hidden_positives.size:,} labelled negative look "
                f"positive (hidden positives), {li.not_positives.size:,} labelled positive "
                "look negative. The most suspect are listed first."
            ),
            "csv": LABEL_ISSUES_CSV,
            "columns": columns,
            "rows": rows,
        }
    over = None
    if exp.overfitting is not None:
        o = exp.overfitting
        over = {
            "rows": [
                [
                    "training (fitted on every row)",
                    f"{o.train_error:.4f}",
                    f"{o.train_fnr:.4f}",
                    f"{o.train_misses:,}",
                ],
                [
                    "cross-validated (out of fold)",
                    f"{o.cv_error:.4f}",
                    f"{o.cv_fnr:.4f}",
                    f"{o.cv_misses:,}",
                ],
            ],
            "flagged": bool(o.flagged),
            "text": o.describe() + (f" Flagged: {o.reason}." if o.flagged else " Not flagged."),
        }
    dups = None
    if exp.duplicates.n_groups:
        dp = exp.duplicates
        columns, rows = _frame_rows(dp.examples(exp.features, exp.y_true), MAX_EXPLAIN_ROWS)
        dups = {
            "summary": (
                f"{dp.n_groups:,} groups of identical feature rows carry both labels "
                f"({dp.n_positive:,} positive and {dp.n_negative:,} negative rows); the largest "
                "groups are listed."
            ),
            "columns": columns,
            "rows": rows,
        }
    return {
        "model": exp.model,
        "scores": exp.scores,
        "threshold": f"{exp.threshold:g}",
        "cv": exp.cv,
        "confidence": f"{confidence:.0%}",
        "notes": list(exp.notes),
        "findings": findings,
        "recommendations": recommendations,
        "effects": effects,
        "label_issues": issues,
        "overfitting": over,
        "duplicates": dups,
    }


def render_explained_report(
    diagnosis: Diagnosis, explanation: Explanation, *, title: str | None = None
) -> str:
    """:func:`render_report` with the "Why are positives missed?" section of an explanation.

    Parameters
    ----------
    diagnosis : Diagnosis
        The diagnosis (``explanation.diagnosis``, with any decisions added).
    explanation : Explanation
        What :func:`fnguard.explain.explain` returned.
    title : str, optional
        Page title.

    Returns
    -------
    str
        The HTML document.

    Examples
    --------
    >>> from fnguard.data import datasets
    >>> from fnguard.explain import explain
    >>> exp = explain(datasets.load("digits"), cv=2, quick_check=False, n_boot=0)
    >>> "Why are positives missed?" in render_explained_report(exp.diagnosis, exp)
    True
    """
    extra = {"explain": _explain_context(explanation, diagnosis.confidence)}
    return render_report(diagnosis, title=title, extra=extra)


def write_explained_report(
    diagnosis: Diagnosis,
    explanation: Explanation,
    out_dir: str | os.PathLike[str],
    *,
    title: str | None = None,
) -> Path:
    """Write the report with its explanation, ``misses.csv`` and ``label_issues.csv``.

    Like :func:`write_report`; ``label_issues.csv`` (every suspected label error with its
    features, most suspect first) is written when label issues were computed.

    Parameters
    ----------
    diagnosis : Diagnosis
        The diagnosis.
    explanation : Explanation
        What :func:`fnguard.explain.explain` returned.
    out_dir : str or PathLike
        The folder to write into; created if missing.
    title : str, optional
        Page title.

    Returns
    -------
    Path
        The path of ``out_dir/index.html``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from fnguard.data import datasets
    >>> from fnguard.explain import explain
    >>> exp = explain(datasets.load("digits"), cv=2, quick_check=False, n_boot=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_explained_report(exp.diagnosis, exp, pathlib.Path(tmp) / "report")
    ...     sorted(p.name for p in path.parent.iterdir())
    ['index.html', 'label_issues.csv', 'misses.csv']
    """
    from fnguard.explain.explanation import LABEL_ISSUES_CSV

    html = render_explained_report(diagnosis, explanation, title=title)
    files = {}
    if explanation.label_issues is not None:
        issues = explanation.label_issues_frame().to_csv(index=False, lineterminator="\n")
        files[LABEL_ISSUES_CSV] = (issues, "label issues file")
    return write_report(diagnosis, out_dir, html=html, files=files)
