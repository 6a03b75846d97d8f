"""The :class:`Explanation`: why positives are missed and what to try, in one object."""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fnguard.explain.check import Check
from fnguard.explain.duplicates import ConflictingDuplicates
from fnguard.explain.findings import ExplainFinding
from fnguard.explain.labels import LabelIssues
from fnguard.explain.overfit import Overfitting
from fnguard.explain.recommend import Recommendation
from fnguard.explain.shared import FeatureEffect
from fnguard.metrics.diagnosis import Diagnosis
from fnguard.metrics.slices import Slice

__all__ = ["LABEL_ISSUES_CSV", "Explanation"]

LABEL_ISSUES_CSV = "label_issues.csv"
#: Most feature effects and slices listed in JSON.
MAX_LISTED = 20


@dataclass
class Explanation:
    """What :func:`fnguard.explain.explain` found.

    Attributes
    ----------
    diagnosis : Diagnosis
        The diagnosis of the scores explained (the model's own, or out of fold).
    findings : list of ExplainFinding
        At most ten, most misses at stake first.
    recommendations : list of Recommendation
        Levers to try, in the findings' order; the first few carry a measured ``check``.
    effects : list of FeatureEffect
        Every feature, strongest difference between missed and caught positives first.
    slices : list of Slice
        The flagged slices, most misses that fixing them would remove first.
    label_issues : LabelIssues or None
        None when the table is too small to cross-validate or the scores are no
        probabilities.
    overfitting : Overfitting or None
        None when the table is too small to cross-validate.
    duplicates : ConflictingDuplicates
    checks : list of Check
        The quick check, in rank order (empty when skipped).
    model : str
        The model explained.
    scores : str
        Which scores the diagnosis reads (``"model"`` or ``"out-of-fold"``).
    cv : int
        Folds used (0 when none).
    threshold : float
    seconds : float
        Time spent.
    notes : list of str
        What was decided or skipped, and why.
    features : DataFrame
        The table's features (for the label issues CSV); not in :meth:`to_dict`.
    positive, negative : scalar
        The class labels.
    oof_scores : ndarray or None
        Out-of-fold probabilities of the positive class (not in :meth:`to_dict`).
    diagnosis_scores : ndarray or None
        The scores the diagnosis reads, row by row (not in :meth:`to_dict`).
    y_true : ndarray of bool or None
        The labels, True for positive rows (not in :meth:`to_dict`).
    """

    diagnosis: Diagnosis
    findings: list[ExplainFinding]
    recommendations: list[Recommendation]
    effects: list[FeatureEffect]
    slices: list[Slice]
    label_issues: LabelIssues | None
    overfitting: Overfitting | None
    duplicates: ConflictingDuplicates
    checks: list[Check] = field(default_factory=list)
    model: str = ""
    scores: str = "out-of-fold"
    cv: int = 0
    threshold: float = 0.5
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    features: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    positive: Any = True
    negative: Any = False
    oof_scores: np.ndarray | None = field(default=None, repr=False)
    diagnosis_scores: np.ndarray | None = field(default=None, repr=False)
    y_true: np.ndarray | None = field(default=None, repr=False)

    def label_issues_frame(self) -> pd.DataFrame:
        """The suspected label errors for review, most suspect first (empty when none)."""
        if self.label_issues is None:
            return pd.DataFrame(
                columns=["row", "kind", "given_label", "suggested_label", "score", "label_quality"]
            )
        return self.label_issues.to_frame(
            self.features, positive=self.positive, negative=self.negative
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``explain`` part of ``fnguard diagnose --json``.

        ``findings`` (each with ``code``, ``kind``, ``severity``, ``message``, ``evidence``,
        ``misses_at_stake``, ``levers``), ``recommendations`` (each with the lever, the
        finding that triggered it and its measured ``effect``), the details behind them
        (``shared``, ``label_issues``, ``overfitting``, ``duplicates``) and ``notes``.
        """
        return {
            "model": self.model,
            "scores": self.scores,
            "cv": self.cv,
            "threshold": self.threshold,
            "seconds": round(self.seconds, 3),
            "findings": [f.to_dict() for f in self.findings],
            "recommendations": [r.to_dict() for r in self.recommendations],
            "shared": {
                "features": [e.to_dict() for e in self.effects[:MAX_LISTED]],
                "slices": [s.to_dict() for s in self.slices[:MAX_LISTED]],
            },
            "label_issues": None if self.label_issues is None else self.label_issues.to_dict(),
            "overfitting": None if self.overfitting is None else self.overfitting.to_dict(),
            "duplicates": self.duplicates.to_dict(),
            "notes": list(self.notes),
        }

    def write(self, out_dir: str | os.PathLike[str]) -> list[Path]:
        """Write ``label_issues.csv`` (every suspected row with its features) into a folder.

        The file is written to a temporary name and renamed; nothing is written when label
        issues were not computed. A folder this call created is removed again on failure.

        Parameters
        ----------
        out_dir : str or PathLike
            The folder (created if missing).

        Returns
        -------
        list of Path
            The files written.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from fnguard.data import datasets
        >>> from fnguard.explain import explain
        >>> exp = explain(datasets.load("digits"), cv=2, quick_check=False, n_boot=0)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     [p.name for p in exp.write(pathlib.Path(tmp) / "out")]
        ['label_issues.csv']
        """
        from fnguard._atomic import prepare_dir, write_text_atomic

        if self.label_issues is None:
            return []
        folder, created = prepare_dir(out_dir, what="output folder")
        try:
            csv = self.label_issues_frame().to_csv(index=False, lineterminator="\n")
            return [write_text_atomic(folder / LABEL_ISSUES_CSV, csv, what="label issues file")]
        except BaseException:
            if created:
                shutil.rmtree(folder, ignore_errors=True)
            raise

    def summary(self) -> str:
        """A few lines of plain text: the findings and the first recommendations."""
        lines = [f"{len(self.findings)} finding(s) for {self.model}:"]
        for f in self.findings:
            at_stake = f.misses_at_stake
            shown = "" if math.isnan(at_stake) else f" ({at_stake:g} misses at stake)"
            lines.append(f"  {f.code} {f.kind}: {f.title}{shown}")
        for r in self.recommendations[:5]:
            effect = f" -> {r.check.message}" if r.check is not None else ""
            lines.append(f"  try #{r.rank} {r.lever} (for {r.finding}){effect}")
        return "\n".join(lines)
