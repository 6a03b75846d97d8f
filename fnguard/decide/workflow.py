"""Decisions for a diagnosis: what ``fnguard diagnose --require`` computes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from fnguard.data.names import missing_column_error
from fnguard.decide.policies import (
    Decision,
    choose_threshold,
    decide_on_curve,
    requirement_class,
)
from fnguard.decide.requirement import Requirement
from fnguard.errors import RequirementError
from fnguard.metrics.diagnosis import Diagnosis


def decide_for_diagnosis(
    d: Diagnosis,
    requirements: Sequence[Requirement],
    *,
    y_true: Any = None,
    y_score: Any = None,
    features: pd.DataFrame | None = None,
    n_boot: int = 200,
    random_state: int | None = 0,
) -> list[Decision]:
    """Choose the operating point of each requirement on a diagnosis' scores.

    Parameters
    ----------
    d : Diagnosis
        Its curve is read; nothing is sorted again (except per group, for a guarantee
        ``per COLUMN``).
    requirements : sequence of Requirement
        Parsed requirements.
    y_true, y_score : array-like, optional
        The rows behind the diagnosis (boolean labels, scores): needed only for a guarantee
        ``per COLUMN``.
    features : DataFrame, optional
        Where ``per COLUMN`` finds its column, row-aligned with ``y_true``.
    n_boot : int, default=200
        Bootstrap replicates of the intervals.
    random_state : int or None, default=0
        Seed.

    Returns
    -------
    list of Decision
    """
    out: list[Decision] = []
    for req in requirements:
        if req.label is not None and not _names_class(d, req.label):
            raise RequirementError(
                f"The requirement {req.describe()!r} names the class {req.label!r}, but these "
                f"scores are for {d.positive!r} against the rest."
            )
        if req.per is None:
            out.append(
                decide_on_curve(
                    d.curve, req, confidence=d.confidence, n_boot=n_boot,
                    random_state=random_state,
                )
            )
            continue
        columns = [] if features is None else [str(c) for c in features.columns]
        if req.per not in columns:
            raise missing_column_error("group column", req.per, columns, d.source or "the data")
        if y_true is None or y_score is None:
            raise RequirementError(
                f"The requirement {req.describe()!r} needs the labelled rows to place one "
                "threshold per group: pass y_true and y_score."
            )
        out.append(
            choose_threshold(
                y_true, y_score, req, positive=True, groups=features[req.per].to_numpy(),
                confidence=d.confidence, n_boot=n_boot, random_state=random_state,
            )
        )
    return out


def _names_class(d: Diagnosis, label: str) -> bool:
    from fnguard.data.target import match_label

    return match_label(label, [d.positive]) is not None


def decide_for_classes(
    diagnoses: dict[Any, Diagnosis],
    requirements: Sequence[Requirement],
    *,
    y_true: Any = None,
    y_score: Any = None,
    features: pd.DataFrame | None = None,
    n_boot: int = 200,
    random_state: int | None = 0,
) -> None:
    """Attach each requirement's decision to the diagnosis of the class it names.

    Parameters
    ----------
    diagnoses : dict
        Class label to its one-vs-rest diagnosis; their ``decisions`` are filled in.
    requirements : sequence of Requirement
        Each must name its class (``"malignant: recall>=0.98"``).
    y_true : array-like, optional
        Class labels, for guarantees ``per COLUMN``.
    y_score : ndarray of shape (n_samples, n_classes), optional
        Score columns in the order of ``diagnoses``, for guarantees ``per COLUMN``.
    features : DataFrame, optional
        Where ``per COLUMN`` finds its column.
    n_boot, random_state
        As in :func:`decide_for_diagnosis`.
    """
    classes = list(diagnoses)
    for req in requirements:
        cls = requirement_class(req, classes)
        k = classes.index(cls)
        rows = {}
        if y_true is not None and y_score is not None:
            rows = {
                "y_true": [v == cls for v in y_true],
                "y_score": y_score[:, k],
            }
        diagnoses[cls].decisions += decide_for_diagnosis(
            diagnoses[cls], [req], features=features, n_boot=n_boot,
            random_state=random_state, **rows,
        )
