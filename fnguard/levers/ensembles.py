"""Ensemble levers: balanced ensembles from imbalanced-learn, voting and stacking.

``easy-ensemble``, ``balanced-random-forest``, ``balanced-bagging`` and ``rusboost`` each
under-sample the majority class inside every member, so each member sees balanced data but
the ensemble as a whole sees every negative. ``voting`` and ``stacking`` combine any
registered classifiers by name: ``registry["voting"].make(estimators=["logistic",
"lightgbm"])``. (Random forest and gradient boosting are in :mod:`fnguard.levers.algorithms`.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fnguard.levers import algorithms as _algorithms  # noqa: F401 - registers the defaults
from fnguard.levers.registry import LeverError, register, registry

#: Members of ``voting`` and ``stacking`` when none are named.
DEFAULT_MEMBERS = ("logistic", "random-forest", "lightgbm")
#: Member sets the searches of ``voting`` and ``stacking`` choose among.
MEMBER_SETS = (
    "logistic+random-forest",
    "logistic+lightgbm",
    "random-forest+lightgbm",
    "logistic+random-forest+lightgbm",
    "logistic+extra-trees+hist-gb",
)


def _sampling_space(trial: Any) -> dict[str, Any]:
    return {"n_estimators": trial.suggest_int("n_estimators", 10, 50, log=True)}


@register(
    "easy-ensemble",
    "ensemble",
    "classifier",
    "EasyEnsemble: AdaBoost learners, each on all positives and an equal random draw of negatives.",
    "Each member sees few negatives: false alarms rise; costly with many members.",
    search=_sampling_space,
)
def _easy_ensemble(**params: Any) -> Any:
    from imblearn.ensemble import EasyEnsembleClassifier

    return EasyEnsembleClassifier(**params)


def _balanced_forest_space(trial: Any) -> dict[str, Any]:
    return {
        "n_estimators": trial.suggest_int("n_estimators", 100, 500, log=True),
        "max_features": trial.suggest_float("max_features", 0.1, 1.0),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 20, log=True),
    }


@register(
    "balanced-random-forest",
    "ensemble",
    "classifier",
    "Balanced random forest: each tree grows on a bootstrap sample balanced by under-sampling.",
    "Random under-sampling throws information away; probabilities are shifted up.",
    search=_balanced_forest_space,
)
def _balanced_random_forest(**params: Any) -> Any:
    from imblearn.ensemble import BalancedRandomForestClassifier

    # Spelled out: imbalanced-learn's defaults changed across versions, with warnings.
    params = {"sampling_strategy": "all", "replacement": True, "bootstrap": False, **params}
    return BalancedRandomForestClassifier(**params)


def _bagging_space(trial: Any) -> dict[str, Any]:
    return {
        "n_estimators": trial.suggest_int("n_estimators", 10, 100, log=True),
        "max_samples": trial.suggest_float("max_samples", 0.5, 1.0),
    }


@register(
    "balanced-bagging",
    "ensemble",
    "classifier",
    "Balanced bagging: decision trees, each on a bag re-balanced by random under-sampling.",
    "Random under-sampling throws information away; deep trees overfit rare positives.",
    search=_bagging_space,
)
def _balanced_bagging(**params: Any) -> Any:
    from imblearn.ensemble import BalancedBaggingClassifier

    return BalancedBaggingClassifier(**params)


def _rusboost_space(trial: Any) -> dict[str, Any]:
    return {
        "n_estimators": trial.suggest_int("n_estimators", 20, 200, log=True),
        "learning_rate": trial.suggest_float("learning_rate", 0.05, 1.0, log=True),
    }


@register(
    "rusboost",
    "ensemble",
    "classifier",
    "RUSBoost: AdaBoost with random under-sampling of negatives before each round.",
    "Boosting chases mislabelled positives; under-sampling throws negatives away each round.",
    search=_rusboost_space,
)
def _rusboost(**params: Any) -> Any:
    from imblearn.ensemble import RUSBoostClassifier

    return RUSBoostClassifier(**params)


def members(
    estimators: str | Sequence[str] | None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[tuple[str, Any]]:
    """``(name, unfitted classifier)`` pairs of registered classifiers named in ``estimators``.

    Parameters
    ----------
    estimators : str, sequence of str or None
        Lever names, as a list or joined with ``+`` (``"logistic+lightgbm"``, the form the
        search suggests); ``None`` takes :data:`DEFAULT_MEMBERS`.
    params : mapping, optional
        Lever name to parameters of its ``make``.

    Returns
    -------
    list of (str, estimator)

    Raises
    ------
    LeverError
        If a name is unknown, not a classifier, an ensemble of named members itself,
        repeated, or fewer than two are named.

    Examples
    --------
    >>> [name for name, _ in members("logistic+tree")]
    ['logistic', 'tree']
    """
    if estimators is None:
        names = list(DEFAULT_MEMBERS)
    elif isinstance(estimators, str):
        names = [n.strip() for n in estimators.split("+") if n.strip()]
    else:
        names = [str(n).strip() for n in estimators]
    names = [n.lower() for n in names]
    params = dict(params or {})
    if len(names) < 2:
        raise LeverError(
            f"Voting and stacking combine at least two classifiers. Got {names} instead: "
            "name two or more, e.g. estimators=['logistic', 'lightgbm']."
        )
    if len(set(names)) != len(names):
        raise LeverError(f"A classifier is named twice among {names}: name each once.")
    unused = sorted(set(params) - set(names))
    if unused:
        raise LeverError(f"Parameters were given for {unused}, which are not among {names}.")
    out = []
    for name in names:
        lever = registry[name]
        if lever.kind != "classifier" or name in ("voting", "stacking"):
            raise LeverError(
                f"The lever {name!r} is a {lever.kind if lever.kind != 'classifier' else name} "
                "lever, not a classifier that can be combined: name classifiers only "
                "(`fnguard levers` lists them with kind 'classifier')."
            )
        out.append((name, lever.make(**dict(params.get(name, {})))))
    return out


def _members_space(trial: Any) -> dict[str, Any]:
    return {"estimators": trial.suggest_categorical("estimators", list(MEMBER_SETS))}


@register(
    "voting",
    "ensemble",
    "classifier",
    "Soft voting: averages the probabilities of registered classifiers named by `estimators`.",
    "Averaging with weak members dilutes the best one; members' scales must be comparable.",
    search=_members_space,
)
def _voting(
    estimators: str | Sequence[str] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    **kwargs: Any,
) -> Any:
    from sklearn.ensemble import VotingClassifier

    return VotingClassifier(members(estimators, params), voting="soft", **kwargs)


def _stacking_space(trial: Any) -> dict[str, Any]:
    return {**_members_space(trial), "cv": trial.suggest_categorical("cv", [3, 5])}


@register(
    "stacking",
    "ensemble",
    "classifier",
    "Stacking: a logistic regression learns to combine registered classifiers' out-of-fold "
    "scores.",
    "Costs a cross-validation per member; with few positives the combiner overfits the folds.",
    search=_stacking_space,
)
def _stacking(
    estimators: str | Sequence[str] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    **kwargs: Any,
) -> Any:
    from sklearn.ensemble import StackingClassifier
    from sklearn.linear_model import LogisticRegression

    kwargs.setdefault("final_estimator", LogisticRegression(max_iter=1000))
    kwargs.setdefault("stack_method", "predict_proba")
    return StackingClassifier(members(estimators, params), **kwargs)
