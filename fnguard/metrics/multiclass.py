"""One-vs-rest diagnosis of multiclass scores: one column of scores per class."""

from __future__ import annotations

from typing import Any

from fnguard.data.scores import ClassScores
from fnguard.metrics.diagnosis import Diagnosis, diagnose_table


def diagnose_classes(scores: ClassScores, **options: Any) -> dict[Any, Diagnosis]:
    """Diagnose each class against the rest, from its own score column.

    Parameters
    ----------
    scores : ClassScores
        Labels and one score column per class (see :func:`fnguard.data.load_class_scores`).
    **options
        ``threshold``, ``confidence``, ``n_boot``, ``random_state`` of
        :func:`~fnguard.metrics.diagnose`; the threshold applies to every class's scores.

    Returns
    -------
    dict
        Class label to its one-vs-rest :class:`Diagnosis`, in the order of the score columns.
    """
    return {cls: diagnose_table(scores.one_vs_rest(cls), **options) for cls in scores.classes}


def class_rows(diagnoses: dict[Any, Diagnosis]) -> list[dict[str, Any]]:
    """The per-class table of misses: rows of each class, misses, FNR with interval, and more.

    Returns
    -------
    list of dict
        ``class rows misses fnr fnr_low fnr_high recall precision roc_auc pr_auc threshold``.
    """
    rows = []
    for cls, d in diagnoses.items():
        m = d.metrics
        rows.append(
            {
                "class": cls,
                "rows": d.curve.n_positive,
                "misses": int(m["fn"].value),
                "fnr": m["fnr"].value,
                "fnr_low": m["fnr"].low,
                "fnr_high": m["fnr"].high,
                "recall": m["recall"].value,
                "precision": m["precision"].value,
                "roc_auc": m["roc_auc"].value,
                "pr_auc": m["pr_auc"].value,
                "threshold": d.threshold,
            }
        )
    return rows
