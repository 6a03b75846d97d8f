"""What a search may try: the pool of levers, one trial's plan, the enqueued first trials.

A :class:`Plan` is one pipeline: an optional feature transformer, an optional sampler and one
classifier, with each lever's parameters. :func:`suggest` draws a plan from an optuna trial;
each lever's parameters come from its own ``Lever.space``, under names prefixed with the
lever's name so that two levers never share an optuna parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fnguard.levers import registry
from fnguard.levers.registry import LeverError, PrefixedTrial

__all__ = [
    "DEFAULT_POOL", "NONE", "Plan", "Pool", "class_ratio", "enqueue", "first_plans",
    "minority_rows", "resolve_pool", "suggest",
]

#: Levers searched by default: fast and sensible on tables of up to ~100k rows. Slow ones
#: (random-forest, extra-trees, easy-ensemble, knn, svm, the MLP, stacking,
#: NearMiss-2 ...) are searched only when named.
DEFAULT_POOL = (
    "logistic",
    "lightgbm",
    "lightgbm:weighted",
    "lightgbm:focal",
    "hist-gb",
    "balanced-random-forest",
    "random-under",
    "random-over",
    "smote",
    "borderline-smote-1",
    "adasyn",
    "scale:quantile",
)
#: The plain models every search starts with (threshold tuned, nothing else), in order.
PLAIN_FIRST = ("logistic", "lightgbm")
#: The cost-sensitive default tried right after the plain models.
WEIGHTED_FIRST = "lightgbm:weighted"
#: The encoding added for categorical columns with many levels.
TARGET_ENCODING = "encode:target"
#: The choice "no lever of this kind".
NONE = "none"


@dataclass(frozen=True)
class Pool:
    """The levers a search may combine, by kind.

    Attributes
    ----------
    classifiers, samplers, transformers : tuple of str
        Registry names.
    notes : tuple of str
        What was decided for the user (classifiers added, levers left out).
    """

    classifiers: tuple[str, ...]
    samplers: tuple[str, ...] = ()
    transformers: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        """Every lever of the pool."""
        return [*self.transformers, *self.samplers, *self.classifiers]


@dataclass
class Plan:
    """One trial's pipeline: lever names in pipeline order and their parameters.

    Attributes
    ----------
    levers : list of str
        Transformer, sampler, classifier (those present), in pipeline order.
    params : dict
        Lever name to the keyword arguments of its ``make``.
    baseline : bool
        A plain model with default parameters: only its threshold is tuned.
    """

    levers: list[str]
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    baseline: bool = False

    @property
    def classifier(self) -> str:
        """The classifier lever (the last one)."""
        return self.levers[-1]

    def label(self) -> str:
        """Short text: ``"smote + lightgbm"``."""
        return " + ".join(self.levers)


def resolve_pool(levers: str | Sequence[str] | None = None) -> Pool:
    """Check lever names and sort them by kind.

    Parameters
    ----------
    levers : str or sequence of str, optional
        Lever names (a comma-separated string is split); :data:`DEFAULT_POOL` when omitted.
        Without a classifier among them, ``logistic`` and ``lightgbm`` are added.

    Returns
    -------
    Pool

    Raises
    ------
    LeverError
        For an unknown lever (with the close names).

    Examples
    --------
    >>> pool = resolve_pool("smote, lightgbm")
    >>> pool.classifiers, pool.samplers
    (('lightgbm',), ('smote',))
    >>> resolve_pool(["smote"]).classifiers
    ('logistic', 'lightgbm')
    """
    notes: list[str] = []
    if levers is None:
        names = list(DEFAULT_POOL)
    else:
        raw = levers.split(",") if isinstance(levers, str) else [str(n) for n in levers]
        names = list(dict.fromkeys(n.strip().lower() for n in raw if n.strip()))
        if not names:
            raise LeverError(
                "The list of levers is empty: name at least one (`fnguard levers` lists them), "
                "or leave it out to search the default pool."
            )
    by_kind: dict[str, list[str]] = {"classifier": [], "sampler": [], "transformer": []}
    ignored = []
    for name in names:
        lever = registry[name]  # unknown: LeverError with the close names
        try:  # before the search, not after every trial failed with it
            lever.check_installed()
        except ImportError as exc:
            raise LeverError(f"{exc}, or leave {name!r} out of the levers.") from None
        if lever.kind in ("threshold", "review"):
            ignored.append(name)
            continue
        by_kind[lever.kind].append(lever.name)
    if ignored:
        notes.append(
            f"{', '.join(ignored)}: the threshold is always tuned and the review band always "
            "placed, so they are not levers to search."
        )
    if not by_kind["classifier"]:
        by_kind["classifier"] = list(PLAIN_FIRST)
        if levers is not None:
            notes.append(
                "No classifier was named among the levers: 'logistic' and 'lightgbm' are "
                "searched with them."
            )
    return Pool(
        classifiers=tuple(by_kind["classifier"]),
        samplers=tuple(by_kind["sampler"]),
        transformers=tuple(by_kind["transformer"]),
        notes=tuple(notes),
    )


def first_plans(pool: Pool) -> list[Plan]:
    """The trials every search starts with, so that a short budget still returns a good model.

    The plain logistic regression and plain LightGBM (whichever the pool holds; else the
    pool's first classifier), default parameters and only the threshold tuned; then the
    class-weighted LightGBM with its default weight (negatives / positives), also after
    target encoding when the pool holds it (added by ``fit`` for categorical columns with
    many levels).

    Examples
    --------
    >>> [p.label() for p in first_plans(resolve_pool())]
    ['logistic', 'lightgbm', 'lightgbm:weighted']
    """
    plain = [name for name in PLAIN_FIRST if name in pool.classifiers] or [pool.classifiers[0]]
    plans = [Plan([name], {}, baseline=True) for name in plain]
    if WEIGHTED_FIRST in pool.classifiers:
        plans.append(Plan([WEIGHTED_FIRST], {}, baseline=False))
        if TARGET_ENCODING in pool.transformers:
            plans.append(Plan([TARGET_ENCODING, WEIGHTED_FIRST], {}, baseline=False))
    return plans


class _Prefixed(PrefixedTrial):
    """An optuna trial whose parameter names get a prefix (``"smote/k_neighbors"``), and
    that carries what a search space may need to know of the data (``class_ratio``,
    ``minority_rows``)."""

    def __init__(
        self, trial: Any, prefix: str, class_ratio: float | None = None,
        minority_rows: int | None = None,
    ) -> None:
        super().__init__(trial, prefix)
        #: minority rows per majority row of the training data (None: unknown)
        self.class_ratio = class_ratio
        #: minority rows of the smallest training fold (None: unknown)
        self.minority_rows = minority_rows


def class_ratio(y: Any, folds: Sequence[tuple[Any, Any]] | None = None) -> float:
    """Minority rows per majority row of ``y``, the largest over the training part of each fold.

    A resampling ratio below it cannot be reached without removing minority rows, so
    imbalanced-learn refuses it; :func:`suggest` searches only ratios above it.

    Examples
    --------
    >>> y = np.array([0] * 6 + [1] * 3)
    >>> class_ratio(y)
    0.5
    >>> class_ratio(y, [(np.arange(1, 9), np.array([0])), (np.arange(8), np.array([8]))])
    0.6
    """
    ratios = [c.min() / c.max() for c in _class_counts(y, folds) if len(c) >= 2]
    return float(max(ratios)) if ratios else 0.0


def minority_rows(y: Any, folds: Sequence[tuple[Any, Any]] | None = None) -> int:
    """Rows of the smaller class in ``y``, the fewest over the training part of each fold.

    Examples
    --------
    >>> y = np.array([0] * 6 + [1] * 3)
    >>> minority_rows(y), minority_rows(y, [(np.arange(1, 9), None), (np.arange(7), None)])
    (3, 1)
    """
    return int(min(c.min() if len(c) >= 2 else 0 for c in _class_counts(y, folds)))


def _class_counts(y: Any, folds: Sequence[tuple[Any, Any]] | None) -> list[np.ndarray]:
    """Rows per class of ``y``, or of the training part of each fold."""
    y = np.asarray(y)
    parts = [y] if not folds else [y[np.asarray(train)] for train, _ in folds]
    return [np.unique(part, return_counts=True)[1] for part in parts]


def suggest(
    trial: Any, pool: Pool, *, class_ratio: float | None = None, minority_rows: int | None = None
) -> Plan:
    """Draw one plan from an optuna trial.

    The classifier, then (unless the classifier is a balanced ensemble, which resamples
    inside) a sampler or none, then a transformer or none, then each chosen lever's
    parameters. A trial enqueued with the user attribute ``"plan"`` (see
    :func:`enqueue`) gets exactly that plan, with default parameters.

    Parameters
    ----------
    trial : optuna.Trial
    pool : Pool
    class_ratio : float, optional
        Minority rows per majority row of the data the plans are fitted on (the largest over
        the training folds): resampling levers then search only ratios above it, which
        imbalanced-learn can reach (:func:`class_ratio` computes it).
    minority_rows : int, optional
        Minority rows of the smallest training fold: neighbour-based levers then ask for
        fewer neighbours than that (:func:`minority_rows` computes it).

    Returns
    -------
    Plan

    Examples
    --------
    >>> import optuna
    >>> pool = resolve_pool("smote,lightgbm")
    >>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    >>> enqueue(study, Plan(["lightgbm"], baseline=True), pool)
    >>> suggest(study.ask(), pool)
    Plan(levers=['lightgbm'], params={}, baseline=True)
    >>> plan = suggest(study.ask(), pool)
    >>> plan.classifier, sorted(plan.params["lightgbm"])[:3]
    ('lightgbm', ['class_weight', 'colsample_bytree', 'learning_rate'])
    """
    fixed = trial.user_attrs.get("plan")
    classifier = trial.suggest_categorical("classifier", list(pool.classifiers))
    sampler = NONE
    if pool.samplers and registry[classifier].family != "ensemble":
        sampler = trial.suggest_categorical("sampler", [NONE, *pool.samplers])
    transformer = NONE
    if pool.transformers:
        transformer = trial.suggest_categorical("transformer", [NONE, *pool.transformers])
    levers = [n for n in (transformer, sampler) if n != NONE] + [classifier]
    if fixed is not None:
        return Plan(levers, {}, baseline=bool(fixed.get("baseline")))
    params = {}
    for name in levers:
        drawn = registry[name].space(_Prefixed(trial, name, class_ratio, minority_rows))
        if drawn:
            params[name] = drawn
    return Plan(levers, params)


def enqueue(study: Any, plan: Plan, pool: Pool) -> None:
    """Put ``plan`` (lever names, default parameters) at the front of the study's queue.

    :func:`suggest` then draws exactly that plan, with no parameters (see its example).
    """
    params = {"classifier": plan.classifier}
    samplers = [n for n in plan.levers if registry[n].kind == "sampler"]
    transformers = [n for n in plan.levers if registry[n].kind == "transformer"]
    if pool.samplers and registry[plan.classifier].family != "ensemble":
        params["sampler"] = samplers[0] if samplers else NONE
    if pool.transformers:
        params["transformer"] = transformers[0] if transformers else NONE
    study.enqueue_trial(params, user_attrs={"plan": {"baseline": plan.baseline}})
