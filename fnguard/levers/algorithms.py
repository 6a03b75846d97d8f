"""Algorithm levers: the classifiers a pipeline ends with.

``logistic``, ``tree``, ``random-forest``, ``extra-trees``, ``hist-gb``, ``lightgbm`` and
``knn``. Class weights are a parameter of each (``make(class_weight="balanced")``) and part
of its search space, rather than levers of their own: weighting the rare class is the
cheapest cost-sensitive fix. The PyTorch MLP is in :mod:`fnguard.levers.nn`.
"""

from __future__ import annotations

from typing import Any

from fnguard.levers.registry import register

#: Class weights the searches try: none, or inversely proportional to class frequencies.
CLASS_WEIGHTS = [None, "balanced"]


def _weights(trial: Any) -> Any:
    return trial.suggest_categorical("class_weight", CLASS_WEIGHTS)


def _logistic_space(trial: Any) -> dict[str, Any]:
    return {"C": trial.suggest_float("C", 1e-3, 100.0, log=True), "class_weight": _weights(trial)}


@register(
    "logistic",
    "algorithm",
    "classifier",
    "Logistic regression: a linear score, well calibrated, fast; the baseline.",
    "A linear boundary misses positives that sit in pockets; unweighted, it favours negatives.",
    search=_logistic_space,
)
def _logistic(**params: Any) -> Any:
    from sklearn.linear_model import LogisticRegression

    params.setdefault("max_iter", 1000)
    return LogisticRegression(**params)


def _tree_space(trial: Any) -> dict[str, Any]:
    return {
        "max_depth": trial.suggest_int("max_depth", 2, 12),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 50, log=True),
        "class_weight": _weights(trial),
    }


@register(
    "tree",
    "algorithm",
    "classifier",
    "A single decision tree: readable rules.",
    "Deep trees overfit rare positives; shallow ones give coarse, tied scores.",
    search=_tree_space,
)
def _tree(**params: Any) -> Any:
    from sklearn.tree import DecisionTreeClassifier

    params.setdefault("min_samples_leaf", 5)
    return DecisionTreeClassifier(**params)


def _forest_space(trial: Any) -> dict[str, Any]:
    return {
        "n_estimators": trial.suggest_int("n_estimators", 100, 500, log=True),
        "max_features": trial.suggest_float("max_features", 0.1, 1.0),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 20, log=True),
        "class_weight": trial.suggest_categorical(
            "class_weight", [None, "balanced", "balanced_subsample"]
        ),
    }


@register(
    "random-forest",
    "algorithm",
    "classifier",
    "Random forest: many decorrelated trees on bootstrap samples, averaged.",
    "Bootstrap samples may hold few positives; probabilities cluster away from 0 and 1.",
    search=_forest_space,
)
def _random_forest(**params: Any) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(**params)


@register(
    "extra-trees",
    "algorithm",
    "classifier",
    "Extremely randomised trees: random split points, lower variance than a forest.",
    "Random splits can cut through a small cluster of positives; scores need calibration.",
    search=_forest_space,
)
def _extra_trees(**params: Any) -> Any:
    from sklearn.ensemble import ExtraTreesClassifier

    return ExtraTreesClassifier(**params)


def _hist_gb_space(trial: Any) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 7, 63, log=True),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 5, 100, log=True),
        "l2_regularization": trial.suggest_float("l2_regularization", 1e-6, 10.0, log=True),
        "class_weight": _weights(trial),
    }


@register(
    "hist-gb",
    "algorithm",
    "classifier",
    "Histogram gradient boosting (scikit-learn): strong on tables, handles missing values.",
    "Boosting chases the hardest rows: with label noise among the positives it overfits.",
    search=_hist_gb_space,
)
def _hist_gb(**params: Any) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(**params)


def _lightgbm_space(trial: Any) -> dict[str, Any]:
    return {
        "n_estimators": trial.suggest_int("n_estimators", 50, 500, log=True),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 7, 63, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 5, 100, log=True),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-6, 10.0, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "subsample_freq": 1,
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
        "class_weight": _weights(trial),
    }


@register(
    "lightgbm",
    "algorithm",
    "classifier",
    "LightGBM gradient boosting: fast, handles missing values, class weights built in.",
    "Many leaves memorise the few positives; boosting amplifies mislabelled ones.",
    search=_lightgbm_space,
)
def _lightgbm(**params: Any) -> Any:
    from lightgbm import LGBMClassifier

    params.setdefault("verbose", -1)
    # One thread by default: LightGBM's own default takes every core the machine reports,
    # which oversubscribes containers and parallel searches (folds and trials run in parallel).
    params.setdefault("n_jobs", 1)
    return LGBMClassifier(**params)


def _knn_space(trial: Any) -> dict[str, Any]:
    return {
        "n_neighbors": trial.suggest_int("n_neighbors", 3, 100, log=True),
        "weights": trial.suggest_categorical("weights", ["uniform", "distance"]),
    }


@register(
    "knn",
    "algorithm",
    "classifier",
    "k-nearest neighbours: scores a row by the labels of its closest training rows.",
    "Positives are outvoted by their negative neighbours; needs scaled features; slow to score.",
    search=_knn_space,
)
def _knn(**params: Any) -> Any:
    from sklearn.neighbors import KNeighborsClassifier

    params.setdefault("n_neighbors", 15)
    params.setdefault("weights", "distance")
    return KNeighborsClassifier(**params)
