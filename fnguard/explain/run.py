""":func:`explain`: run every analysis of the misses on a labelled table, in order."""

from __future__ import annotations

import math
import numbers
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fnguard.data.leaks import leak_notes
from fnguard.data.table import Dataset
from fnguard.errors import DataError
from fnguard.explain import findings as F
from fnguard.explain.check import quick_check as run_quick_check
from fnguard.explain.duplicates import conflicting_duplicates
from fnguard.explain.explanation import Explanation
from fnguard.explain.labels import MIN_AUC, find_label_issues, ranking_signal
from fnguard.explain.model import (
    Model,
    fold_count,
    folds,
    in_sample,
    out_of_fold,
    resolve_model,
    score_fitted,
)
from fnguard.explain.overfit import overfitting
from fnguard.explain.recommend import attach_levers, rank_by_checks, recommend
from fnguard.explain.shared import MIN_GROUP, feature_effects
from fnguard.metrics.diagnosis import Diagnosis, diagnose

__all__ = ["TableScores", "diagnose_scores", "explain", "score_table"]


def _command_source(data: Dataset) -> str:
    return data.source if os.path.isfile(data.source) else "data.csv"


def _check_cv(cv: Any) -> int:
    if isinstance(cv, bool) or not isinstance(cv, numbers.Integral) or cv < 2:
        raise DataError(
            f"The number of cross-validation folds 'cv' must be an integer >= 2. Got {cv!r} "
            "instead: for instance 5."
        )
    return int(cv)


def _check_options(
    *, cv: Any, budget: Any, require: Any, confidence: Any, n_boot: Any, threshold: Any
) -> None:
    """Raise DataError or RequirementError for an option out of its range, before any work."""
    from fnguard.decide import parse_requirement
    from fnguard.metrics.intervals import _check_confidence

    _check_cv(cv)
    if (
        isinstance(budget, bool)
        or not isinstance(budget, numbers.Real)
        or math.isnan(budget)
        or budget < 0
    ):
        raise DataError(
            f"The quick check's 'budget' must be a number of seconds >= 0. Got {budget!r} "
            "instead: for instance 60 (0 skips the measurements)."
        )
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or n_boot < 0:
        raise DataError(
            f"'n_boot' must be an integer >= 0 (0: no bootstrap). Got {n_boot!r} instead: "
            "for instance 1000."
        )
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, numbers.Real)
        or not math.isfinite(threshold)
    ):
        raise DataError(
            f"The 'threshold' must be a finite number or None. Got {threshold!r} instead: for "
            "instance 0.5."
        )
    if not isinstance(require, str):
        raise DataError(
            f"'require' must be a requirement string. Got {require!r} instead: for instance "
            "'recall>=0.8'."
        )
    parse_requirement(require)  # a RequirementError that lists the forms
    _check_confidence(confidence)


@dataclass
class TableScores:
    """A model's scores on a labelled table, and the folds behind them.

    Attributes
    ----------
    model : Model
        The model (see :func:`~fnguard.explain.model.resolve_model`).
    scores : ndarray of float
        The scores diagnosed: the fitted model's own, else out of fold.
    kind : str
        ``"model"`` or ``"out-of-fold"``.
    threshold : float
        Scores ``>=`` it are predicted positive.
    splits : list of (train, test) or None
        The folds (None when the table is too small to cross-validate).
    oof, train : ndarray or None
        Out-of-fold scores and training scores (None when not computed).
    notes : list of str
        What was decided or skipped.
    """

    model: Model
    scores: np.ndarray
    kind: str
    threshold: float
    splits: list[tuple[np.ndarray, np.ndarray]] | None = None
    oof: np.ndarray | None = None
    train: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)


def score_table(
    data: Dataset,
    *,
    model: Any = None,
    cv: int = 5,
    seed: int = 0,
    threshold: float | None = None,
    training: bool = True,
    progress: Callable[[str], None] | None = None,
) -> TableScores:
    """Score a labelled table: out of fold, in training, and with the model's own fit.

    Parameters
    ----------
    data : Dataset
        The labelled table.
    model : Guard, estimator or None
        See :func:`explain`.
    cv : int, default=5
        Folds (fewer when a class has fewer rows).
    seed : int, default=0
        Seed of the folds and the models.
    threshold : float, optional
        Default: the Guard's threshold, else 0.5.
    training : bool, default=True
        Also fit on every row for the training scores.
    progress : callable, optional
        Called with a short line before each step.

    Returns
    -------
    TableScores

    Raises
    ------
    DataError
        If ``cv`` is not an integer >= 2, no model is given and a class has fewer than 2
        rows, or the model does not match the table.

    Examples
    --------
    >>> import pandas as pd
    >>> from fnguard.data import load_table
    >>> frame = pd.DataFrame({"x": range(40), "y": [0, 1] * 20})
    >>> ts = score_table(load_table(frame, "y", positive=1), cv=4, training=False)
    >>> ts.kind, len(ts.splits), ts.scores.shape
    ('out-of-fold', 4, (40,))
    """
    say = progress or (lambda _text: None)
    cv = _check_cv(cv)
    m = resolve_model(model, data, seed=seed)
    notes = list(m.notes)
    thr = float(threshold if threshold is not None else (m.threshold or 0.5))
    y = data.y
    k = fold_count(y, cv)
    splits = None
    if k < 2:
        short = (
            f"The table has {data.n_positive} positive and {data.n_rows - data.n_positive} "
            "negative rows: cross-validating needs at least 2 of each"
        )
        if m.fitted is None:
            raise DataError(
                f"{short}, and without a model there are no scores to explain. Add labelled "
                "rows, or pass a fitted model (--model) to explain its scores."
            )
        notes.append(f"{short}: label issues, over-fitting and the quick check are skipped.")
    else:
        if k < cv:
            notes.append(f"Only {k} folds: a class has {k} rows.")
        splits = folds(y, k, seed)
    oof = train = None
    if splits is not None and (m.fitted is None or training):
        say(f"Fitting {m.description} on {k} folds")
        oof = out_of_fold(m.make, m.X, y, splits)
    if splits is not None and training:
        say("Fitting it on every row (training scores)")
        train = in_sample(m.make, m.X, y)
    if m.fitted is not None:
        scores, kind = score_fitted(m, data.positive), "model"
    else:
        assert oof is not None
        scores, kind = oof, "out-of-fold"
    return TableScores(m, scores, kind, thr, splits, oof, train, notes)


def diagnose_scores(
    data: Dataset,
    ts: TableScores,
    *,
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> Diagnosis:
    """The diagnosis of a table's scores, with its features, labels and names.

    Parameters
    ----------
    data : Dataset
        The labelled table.
    ts : TableScores
        What :func:`score_table` returned for it.
    confidence : float, default=0.95
        Level of every interval.
    n_boot : int, default=1000
        Bootstrap replicates.
    seed : int, default=0
        Seed of the bootstrap.

    Returns
    -------
    Diagnosis

    Examples
    --------
    >>> import pandas as pd
    >>> from fnguard.data import load_table
    >>> data = load_table(pd.DataFrame({"x": range(40), "y": [0, 1] * 20}), "y", positive=1)
    >>> d = diagnose_scores(data, score_table(data, cv=4, training=False), n_boot=0)
    >>> d.curve.n, d.positive
    (40, 1)
    """
    what = "model" if ts.kind == "model" else "out-of-fold"
    d = diagnose(
        data.y,
        ts.scores,
        threshold=ts.threshold,
        positive=True,
        features=data.X,
        confidence=confidence,
        n_boot=n_boot,
        random_state=seed,
        label=data.target,
        score=f"{what} probability ({ts.model.description})",
        source=data.source,
        notes=list(data.notes) + list(ts.notes),
    )
    d.positive, d.negative = data.positive, data.negative
    return d


def _recall_target(require: str) -> float | None:
    """The recall a recall or FNR constraint asks for (None for other requirements)."""
    from fnguard.decide import parse_requirement

    req = parse_requirement(require)
    if req.kind != "constraint" or req.target is None:
        return None
    if req.metric == "recall":
        return float(req.target)
    if req.metric == "fnr":
        return 1.0 - float(req.target)
    return None


def _strict(require: str) -> bool:
    """Whether the requirement's bound is strict (``recall>0.9``, ``fnr<0.1``)."""
    from fnguard.decide import parse_requirement

    return parse_requirement(require).op in (">", "<")


def explain(
    data: Dataset,
    *,
    model: Any = None,
    cv: int = 5,
    seed: int = 0,
    threshold: float | None = None,
    quick_check: bool = True,
    budget: float = 60.0,
    require: str = "recall>=0.8",
    confidence: float = 0.95,
    n_boot: int = 1000,
    source: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Explanation:
    """Explain why positives are missed and recommend the levers that fit, measured.

    The model (a Guard, a scikit-learn compatible classifier, or LightGBM fitted on the spot
    when None) is refitted on ``cv`` stratified folds for out-of-fold probabilities, and on
    every row for training scores. Then:

    - the diagnosis of its scores (its own scores when it is fitted, else out of fold);
    - what the misses share (:func:`~fnguard.explain.shared.feature_effects`) and the slices
      where they concentrate;
    - suspected label errors (cleanlab, out-of-fold probabilities);
    - over-fitting (training against cross-validated error and FNR);
    - conflicting duplicates;
    - findings (at most ten, most misses at stake first) and recommended levers, the first
      three measured by the quick check within ``budget`` seconds.

    Parameters
    ----------
    data : Dataset
        The labelled table (:func:`fnguard.data.load_table`).
    model : Guard, estimator or None
        The model to explain; None fits ``fnguard.levers.build(["lightgbm"], data.schema)``.
    cv : int, default=5
        Folds (fewer when a class has fewer rows).
    seed : int, default=0
        Seed of the folds, the models and the bootstrap.
    threshold : float, optional
        Scores ``>=`` it are predicted positive; by default the Guard's threshold, else 0.5.
    quick_check : bool, default=True
        Measure the top three recommended levers.
    budget : float, default=60.0
        Seconds the quick check may take.
    require : str, default="recall>=0.8"
        The requirement written into the recommended commands.
    confidence : float, default=0.95
        Level of every interval.
    n_boot : int, default=1000
        Bootstrap replicates of the diagnosis' intervals.
    source : str, optional
        How the commands name the table (default: its path when it is a file).
    progress : callable, optional
        Called with a short line before each step.

    Returns
    -------
    Explanation

    Raises
    ------
    DataError
        If an option is out of its range (``cv`` not an integer >= 2, a negative
        ``budget``...), no model is given and the table has fewer than 2 rows of a class
        (nothing can be cross-validated), or the model does not match the table.
    RequirementError
        If ``require`` cannot be parsed (checked even without the quick check, as it is
        written into the recommended commands).

    Examples
    --------
    >>> from fnguard.data import datasets
    >>> data = datasets.load("digits")
    >>> exp = explain(data, cv=3, quick_check=False, n_boot=100)
    >>> len(exp.findings) <= 10, exp.cv
    (True, 3)
    """
    t0 = time.perf_counter()
    _check_options(
        cv=cv,
        budget=budget,
        require=require,
        confidence=confidence,
        n_boot=n_boot,
        threshold=threshold,
    )
    say = progress or (lambda _text: None)
    ts = score_table(data, model=model, cv=cv, seed=seed, threshold=threshold, progress=say)
    m, scores, thr, oof, splits = ts.model, ts.scores, ts.threshold, ts.oof, ts.splits
    y = data.y
    notes: list[str] = leak_notes(data.X, y, seed=seed) if model is None else []
    say("Diagnosing the misses")
    d = diagnose_scores(data, ts, confidence=confidence, n_boot=n_boot, seed=seed)
    pred = scores >= thr
    missed = y & ~pred
    effects = feature_effects(data.X, y, pred, confidence=confidence, random_state=seed)
    n_missed, n_caught = int(missed.sum()), int((y & pred).sum())
    if effects and min(n_missed, n_caught) < MIN_GROUP:
        notes.append(
            f"{n_caught} positives caught and {n_missed} missed: too few of one group to "
            f"say what the misses share (it takes {MIN_GROUP} of each), so no feature is "
            "flagged; the effects are listed for reference only."
        )
    slices = sorted((s for s in d.slices if s.flagged), key=lambda s: -s.excess_misses)
    issues = over = None
    if oof is not None:
        say("Looking for label errors (cleanlab)")
        auc, auc_low, _ = ranking_signal(y, oof, confidence=confidence)
        if not np.all((oof >= 0) & (oof <= 1)):
            notes.append("The model's scores are not probabilities: label issues skipped.")
        elif not (auc >= MIN_AUC and auc_low > 0.5):
            notes.append(
                f"The cross-validated model ranks positives little better than chance (ROC-AUC "
                f"{auc:.2f}, lower bound {auc_low:.2f}): its disagreements with the labels say "
                "nothing about them, so label issues are skipped."
            )
        else:
            issues = find_label_issues(y, oof)
        over = overfitting(y, ts.train, oof, threshold=thr)
    dups = conflicting_duplicates(data.X, y)
    found = [
        *F.saturation_finding(d),
        *F.imbalance_finding(d, scores, y),
        *F.few_positives_finding(d),
        *F.label_issues_finding(issues, missed),
        *F.slice_findings(d),
        *F.overfitting_finding(over),
        *F.duplicates_finding(dups),
        *F.shared_finding(effects),
        *F.threshold_finding(d),
    ]
    ranked = attach_levers(F.rank_findings(found))
    recs = recommend(
        ranked,
        source=source or _command_source(data),
        target=data.target,
        positive=data.positive,
        require=require,
        drop=data.dropped,
    )
    checks = []
    if quick_check and splits is not None and oof is not None:
        say("Measuring the top three levers (quick check)")
        checks = run_quick_check(
            recs,
            data.X,
            y,
            oof,
            threshold=thr,
            splits=splits,
            schema=data.schema,
            base_levers=m.levers,
            seed=seed,
            budget=budget,
            recall_target=_recall_target(require),
            strict=_strict(require),
        )
        recs = rank_by_checks(recs)
        checks = [r.check for r in recs if r.check is not None]
    return Explanation(
        diagnosis=d,
        findings=ranked,
        recommendations=recs,
        effects=effects,
        slices=slices,
        label_issues=issues,
        overfitting=over,
        duplicates=dups,
        checks=checks,
        model=m.description,
        scores=ts.kind,
        cv=len(splits) if splits is not None else 0,
        threshold=thr,
        seconds=time.perf_counter() - t0,
        notes=notes,
        features=data.X,
        positive=data.positive,
        negative=data.negative,
        oof_scores=oof,
        diagnosis_scores=scores,
        y_true=y,
    )
