"""The Guard: a fitted pipeline with its operating threshold, review band, schema and record.

CONTRACT (filled in by the guard/predict work; the search builds Guards with these fields).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from fnguard.data.schema import Schema

__all__ = ["Guard", "load"]


@dataclasses.dataclass
class Guard:
    """A fitted model that decides: positive, negative, or review.

    Parameters
    ----------
    pipeline : estimator
        Fitted; ``pipeline.predict_proba(X)[:, 1]`` is the probability of the positive class,
        where ``X`` is the feature frame returned by ``schema.check(frame)``.
    schema : Schema
        The feature columns the pipeline was fitted on.
    target : str
        The label column's name in the training data.
    positive, negative : scalar
        The positive and negative labels (plain Python scalars).
    requirement : str
        The requirement text, e.g. ``"recall>=0.95"`` (``parse_requirement`` reads it).
    threshold : float
        Scores ``>=`` it are positive.
    review_band : tuple of float or None
        ``(lower, upper)``: scores in ``[lower, upper)`` go to review (``lower`` equals
        ``threshold``; ``upper`` may be ``inf``); ``None`` when no band was placed.
    levers : list of str
        The winning trial's lever names (registry names), in pipeline order.
    params : dict
        Lever name to the keyword arguments given to its ``make``.
    metrics : dict
        Final test-set estimate at ``threshold``: metric name to ``Estimate.to_dict()``
        (``value``, ``low``, ``high`` ...), plus ``"n"``, ``"n_positive"``, ``"tp"``, ``"fp"``,
        ``"tn"``, ``"fn"`` counts.
    met : bool
        Whether the requirement holds on the final test set.
    leaderboard : list of dict
        One JSON-ready record per search trial (see ``fnguard.search.leaderboard``).
    info : dict
        JSON-ready record of the search and provenance: budget, trials, cv folds, test size,
        split sizes, seed, baseline comparison, lever contributions, notes, data fingerprint,
        library versions, creation time.
    holdout : DataFrame or None
        The final test set's ``y`` (bool, True = positive) and ``score`` columns, kept for the
        report and to compare Guards on the same held-out rows.
    """

    pipeline: Any
    schema: Schema
    target: str
    positive: Any
    negative: Any
    requirement: str
    threshold: float
    review_band: tuple[float, float] | None = None
    levers: list[str] = dataclasses.field(default_factory=list)
    params: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    met: bool = True
    leaderboard: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    info: dict[str, Any] = dataclasses.field(default_factory=dict)
    holdout: pd.DataFrame | None = None


def load(path: Any) -> Guard:
    """Load a Guard saved by ``Guard.save`` (to be written)."""
    raise NotImplementedError
