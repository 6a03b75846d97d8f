"""Build a pipeline from lever names; the levers that act after fitting (threshold, review).

:func:`build` turns ``["smote", "lightgbm"]`` (and optionally a schema) into an
imbalanced-learn ``Pipeline``: the schema's feature step, transformers, samplers (which run
in ``fit`` only, so resampling stays inside training folds), then one classifier.

The ``threshold`` and ``review`` levers do not go in the pipeline: they act on a fitted
model's scores. ``registry["threshold"].make(estimator=pipeline, requirement="recall>=0.95")``
returns an unfitted :class:`~fnguard.decide.ThresholdTuner` around the pipeline (a plain
logistic regression without ``estimator``); ``registry["review"].make(requirement=...,
capacity=...)`` returns a :class:`ReviewBandPlacer`, fitted on held-out scores and labels
(or called on ``(y_true, y_score)`` for the :class:`~fnguard.decide.ReviewBand` at once).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sklearn.base import BaseEstimator

from fnguard.levers.features import SCHEMA_LEVERS, features_from_schema
from fnguard.levers.registry import LeverError, register, registry

__all__ = ["DEFAULT_CLASSIFIER", "ReviewBandPlacer", "build"]

#: The classifier used when no lever of kind "classifier" is named.
DEFAULT_CLASSIFIER = "logistic"
#: SMOTE variants for categorical data, registered by :mod:`fnguard.levers.samplers`.
SMOTE_MIXED, SMOTE_CATEGORICAL = "smote-nc", "smoten"


def build(
    levers: str | Sequence[str],
    schema: Any = None,
    *,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    random_state: Any = 0,
    correct_prior: bool = True,
) -> Any:
    """An unfitted imbalanced-learn pipeline made of the named levers.

    Steps, each named after its lever:

    1. ``"features"``, from :func:`~fnguard.levers.features_from_schema`, when ``schema`` is
       given. The levers ``scale:standard`` / ``scale:quantile`` and ``encode:onehot`` /
       ``encode:target`` then choose its scaling and encoding (defaults: standard scaling,
       one-hot) instead of being steps of their own; without a schema they are plain steps on
       every column.
    2. The other transformers (kind ``"transformer"``), in the order given.
    3. The samplers (kind ``"sampler"``), in the order given; they run in ``fit`` only. With a
       schema, the augmentation samplers (``jitter``, ``image-augment``) come first, before
       the feature step: they change the raw values (numbers before scaling, categories
       copied, pixels before scaling).
    4. Exactly one classifier (kind ``"classifier"``); ``"logistic"`` when none is named.

    When the schema has categorical columns, ``"smote"`` is replaced by ``"smote-nc"``
    (SMOTE-NC: numeric columns interpolated, categories voted by the neighbours), or by
    ``"smoten"`` when every column is categorical, so no synthetic row holds a fraction of a
    category. The feature step then gives the categories as integer codes, the sampler runs,
    and an ``"encode"`` step after it encodes them; any other transformers follow it. What was
    decided is listed in the pipeline's ``fnguard_notes_`` attribute.

    Parameters
    ----------
    levers : str or sequence of str
        Lever names (``fnguard levers`` lists them); a string holds one name or several
        separated by commas (``"smote,lightgbm"``), as ``fnguard fit --levers`` takes them.
    schema : Schema, optional
        The feature columns (``Dataset.schema``); the pipeline then takes the raw frame.
    params : mapping, optional
        Lever name to keyword arguments of its ``make``, e.g. ``{"smote": {"k_neighbors":
        3}}``. Parameters given for ``"smote"`` go to its replacement.
    random_state : int or None, default=0
        Seed given to every step (and nested estimator) that takes one and was not given one
        in ``params``.
    correct_prior : bool, default=True
        Return a :class:`~fnguard.levers.prior.PriorCorrectedPipeline`, whose probabilities
        undo the class balance that samplers and class weights changed. That is exact for a
        model that learns the resampled classes' probabilities (logistic regression); one
        that memorises the resampled rows (boosting after SMOTE) can still come out
        miscalibrated: check its ECE, or calibrate it on held-out scores. Rankings, and so
        thresholds' recall and precision, do not change.

    Returns
    -------
    imblearn.pipeline.Pipeline
        Unfitted, with a ``fnguard_notes_`` list of str.

    Raises
    ------
    LeverError
        For an unknown lever (with the close names), a lever named twice, two classifiers,
        parameters for a lever not named, a threshold / review lever (they wrap a fitted
        model instead: see the module docstring), or arguments of the wrong type (levers
        that are not names, params that are not dicts, a schema that is not a Schema).

    Examples
    --------
    >>> pipe = build(["select:mutual-info", "random-forest"], params={"random-forest": {
    ...     "n_estimators": 20}})
    >>> list(pipe.named_steps), pipe.named_steps["random-forest"].random_state
    (['select:mutual-info', 'random-forest'], 0)
    >>> build(["tree", "knn"])
    Traceback (most recent call last):
    ...
    fnguard.levers.registry.LeverError: Only one classifier can end a pipeline; got 'tree', 'knn'. Keep one, or combine them with the 'voting' or 'stacking' lever (params={'voting': {'estimators': ['tree', 'knn']}}).
    """  # noqa: E501
    from imblearn.pipeline import Pipeline

    names = [n.strip().lower() for n in _lever_names(levers)]
    found = [registry[n] for n in names]  # unknown names: LeverError with close names
    params = _lever_params(params)
    _check_schema(schema)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise LeverError(f"The levers {repeated} are named more than once: name each once.")
    unused = sorted(set(params) - set(names))
    if unused:
        raise LeverError(
            f"Parameters were given for {unused}, which are not among the levers {names}: "
            "add them to the levers or drop their parameters."
        )
    after = [lv.name for lv in found if lv.kind in ("threshold", "review")]
    if after:
        raise LeverError(
            f"The levers {after} act on a fitted model's scores, not inside the pipeline: "
            "build the pipeline without them, then wrap it, e.g. "
            "registry['threshold'].make(estimator=pipeline, requirement='recall>=0.95')."
        )
    classifiers = [lv.name for lv in found if lv.kind == "classifier"]
    if len(classifiers) > 1:
        shown = ", ".join(repr(c) for c in classifiers)
        raise LeverError(
            f"Only one classifier can end a pipeline; got {shown}. Keep one, or combine them "
            "with the 'voting' or 'stacking' lever "
            f"(params={{'voting': {{'estimators': {classifiers}}}}})."
        )
    notes: list[str] = []
    transformers = [lv.name for lv in found if lv.kind == "transformer"]
    sampler_names = [lv.name for lv in found if lv.kind == "sampler"]
    samplers = [(name, dict(params.get(name, {}))) for name in sampler_names]
    classifier = classifiers[0] if classifiers else DEFAULT_CLASSIFIER
    if not classifiers:
        notes.append(f"No classifier was named: '{DEFAULT_CLASSIFIER}' ends the pipeline.")

    steps: list[tuple[str, Any]] = []
    explicit: dict[str, bool] = {}  # step name -> whether random_state was given by the user
    deferred: tuple[str, Any] | None = None
    if schema is not None:
        # augmentation works on the raw columns: jitter numbers before they are scaled (and
        # copy categories, never one-hot columns), transform pixels before they are scaled
        raw = [n for n in sampler_names if registry[n].family == "augmentation"]
        for name in raw:
            steps.append((name, _make(name, params.get(name, {}), random_state)))
        if raw:
            notes.append(
                f"The augmentation levers {raw} run first, on the raw columns, before the "
                "feature step scales and encodes them."
            )
        sampler_names = [n for n in sampler_names if n not in raw]
        feature_step, transformers, samplers, deferred = _schema_steps(
            schema, transformers, sampler_names, params, random_state, notes
        )
        steps.append(feature_step)
        explicit[feature_step[0]] = False
    before = [] if deferred else transformers
    for name in before:
        steps.append((name, _make(name, params.get(name, {}), random_state)))
    for name, lever_params in samplers:
        steps.append((name, _make(name, lever_params, random_state)))
    if deferred:
        steps.append(deferred)
        for name in transformers:
            steps.append((name, _make(name, params.get(name, {}), random_state)))
    steps.append((classifier, _make(classifier, params.get(classifier, {}), random_state)))
    for name, _ in steps:
        explicit.setdefault(name, "random_state" in params.get(name, {}))
    for name, step in steps:
        if not explicit[name]:
            _seed(step, random_state)
    if correct_prior:
        from fnguard.levers.prior import PriorCorrectedPipeline

        pipeline = PriorCorrectedPipeline(steps)
    else:
        pipeline = Pipeline(steps)
    pipeline.fnguard_notes_ = notes
    return pipeline


def _lever_names(levers: Any) -> list[str]:
    """The lever names of ``levers``: a list of names, one name, or names separated by commas
    (as ``fnguard fit --levers`` takes them)."""
    if isinstance(levers, str):
        names = [n for n in levers.split(",") if n.strip()]
        if not names:
            raise LeverError(
                f"The levers {levers!r} name no lever: pass lever names such as "
                "['smote', 'lightgbm'] (`fnguard levers` lists them)."
            )
        return names
    if isinstance(levers, Iterable) and not isinstance(levers, (bytes, Mapping)):
        names = list(levers)
        bad = [n for n in names if not isinstance(n, str)]
        if not bad:
            return names
        shown = ", ".join(f"{n!r} ({type(n).__name__})" for n in bad[:3])
        raise LeverError(
            f"The levers must be lever names (str); got {shown}. Pass names such as "
            "['smote', 'lightgbm'] (`fnguard levers` lists them)."
        )
    raise LeverError(
        f"The levers must be a list of lever names, such as ['smote', 'lightgbm'], or one "
        f"name; got {type(levers).__name__} ({_short(levers)}). `fnguard levers` lists them."
    )


def _lever_params(params: Any) -> dict[str, dict[str, Any]]:
    """``params`` as lever name (lower case) to a dict of keyword arguments."""
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise LeverError(
            "'params' must map lever names to their keyword arguments, e.g. "
            f"{{'smote': {{'k_neighbors': 3}}}}; got {type(params).__name__} "
            f"({_short(params)})."
        )
    out: dict[str, dict[str, Any]] = {}
    for name, value in params.items():
        if not isinstance(value, Mapping):
            raise LeverError(
                f"The parameters of the lever {name!r} must be a dict of keyword arguments; "
                f"got {type(value).__name__} ({_short(value)}). Name each one, e.g. "
                f"params={{{name!r}: {{'k_neighbors': 3}}}}."
            )
        out[str(name).strip().lower()] = dict(value)
    return out


def _check_schema(schema: Any) -> None:
    """Raise a LeverError unless ``schema`` is None or a :class:`~fnguard.data.schema.Schema`."""
    from fnguard.data.schema import Schema

    if schema is None or isinstance(schema, Schema):
        return
    if hasattr(schema, "columns") and hasattr(schema, "dtypes"):  # a DataFrame
        fix = (
            "To build for a table, pass its schema: schema=fnguard.data.infer_schema(frame, "
            "target=...) or Dataset.schema."
        )
    else:
        fix = "Pass Dataset.schema or fnguard.data.infer_schema(frame), or leave it out."
    raise LeverError(
        "'schema' must be a Schema (the feature columns and their kinds); got "
        f"{type(schema).__name__}. {fix}"
    )


def _short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters for a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _schema_steps(
    schema: Any,
    transformers: list[str],
    samplers: list[str],
    params: dict[str, dict[str, Any]],
    random_state: Any,
    notes: list[str],
) -> tuple[tuple[str, Any], list[str], list[tuple[str, dict[str, Any]]], Any]:
    """The feature step, the remaining transformers, the samplers with their parameters, and
    the encoding step to put after the samplers (``None`` unless SMOTE-NC or SMOTEN runs)."""
    chosen: dict[str, str] = {}
    for name in transformers:
        if name in SCHEMA_LEVERS:
            option = SCHEMA_LEVERS[name][0]
            if option in chosen:
                raise LeverError(
                    f"The levers {chosen[option]!r} and {name!r} both set the {option} "
                    "encoding of the schema's feature step: keep one."
                )
            chosen[option] = name
    numeric = SCHEMA_LEVERS[chosen["numeric"]][1] if "numeric" in chosen else "standard"
    categorical = (
        SCHEMA_LEVERS[chosen["categorical"]][1] if "categorical" in chosen else "onehot"
    )
    rest = [name for name in transformers if name not in SCHEMA_LEVERS]
    n_cat = len(schema.categorical())
    all_categorical = n_cat == len(schema)
    with_params: list[tuple[str, dict[str, Any]]] = []
    for name in samplers:
        lever_params = dict(params.get(name, {}))
        if name == "smote" and n_cat:
            name = SMOTE_CATEGORICAL if all_categorical else SMOTE_MIXED
            if name in samplers:
                raise LeverError(f"'smote' and {name!r} are both named: keep one.")
            notes.append(
                f"The schema has {n_cat} categorical column(s): '{name}' replaces 'smote', "
                "so synthetic rows take categories from their neighbours instead of "
                "fractions of one-hot columns."
            )
        with_params.append((name, lever_params))
    categorical_samplers = (SMOTE_MIXED, SMOTE_CATEGORICAL)
    mixed = [i for i, (name, _) in enumerate(with_params) if name in categorical_samplers]
    if n_cat and mixed:
        # The categorical codes come first, so SMOTE-NC's column indices do not depend on how
        # many missing-value indicators the numeric part adds.
        features = features_from_schema(
            schema, numeric=numeric, categorical="ordinal", random_state=random_state
        )
        features.transformers = sorted(features.transformers, key=lambda t: t[0] != "categorical")
        codes = list(range(n_cat))
        for i in mixed:
            name, lever_params = with_params[i]
            if name == SMOTE_MIXED:
                lever_params.setdefault("categorical_features", codes)
        from sklearn.compose import ColumnTransformer

        from fnguard.levers.features import _encoder

        encode = ColumnTransformer(
            [("categorical", _encoder(categorical, random_state), codes)],
            remainder="passthrough",
            sparse_threshold=0.0,
        )
        _apply(encode, chosen.get("categorical"), params, ["categorical"])
        _apply(features, chosen.get("numeric"), params, ["numeric__scale", "dates__scale"])
        if rest:
            notes.append(
                f"The transformers {rest} run after '{with_params[mixed[0]][0]}' and the "
                "encoding, since they need encoded columns."
            )
        return ("features", features), rest, with_params, ("encode", encode)
    features = features_from_schema(
        schema, numeric=numeric, categorical=categorical, random_state=random_state
    )
    _apply(features, chosen.get("categorical"), params, ["categorical__encode"])
    _apply(features, chosen.get("numeric"), params, ["numeric__scale", "dates__scale"])
    return ("features", features), rest, with_params, None


def _apply(
    step: Any, lever: str | None, params: dict[str, dict[str, Any]], paths: list[str]
) -> None:
    """Set the parameters given for a schema lever on the estimator(s) it configures."""
    if lever is None or not params.get(lever):
        return
    keys = step.get_params(deep=True)
    for path in paths:
        if path.split("__")[0] not in {name for name, _, _ in step.transformers}:
            continue
        update = {f"{path}__{k}": v for k, v in params[lever].items()}
        bad = sorted(k for k in update if k not in keys)
        if bad:
            raise LeverError(
                f"The lever {lever!r} does not take the parameters "
                f"{sorted(params[lever])}: they are not among {path}'s parameters."
            )
        step.set_params(**update)


def _make(name: str, params: Mapping[str, Any], random_state: Any) -> Any:
    """``make`` the lever, passing ``random_state`` when its factory names that argument."""
    import inspect

    lever = registry[name]
    params = dict(params)
    if "random_state" not in params:
        try:
            named = inspect.signature(lever.factory).parameters
        except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
            named = {}
        if "random_state" in named:
            params["random_state"] = random_state
    return lever.make(**params)


def _seed(step: Any, random_state: Any) -> None:
    """Give ``random_state`` to the step and every nested estimator left unseeded."""
    if not hasattr(step, "get_params"):
        return
    keys = [
        key
        for key, value in step.get_params(deep=True).items()
        if (key == "random_state" or key.endswith("__random_state")) and value is None
    ]
    if keys:
        step.set_params(**{key: random_state for key in keys})


# -- the levers that act after fitting ----------------------------------------------------------


@register(
    "threshold",
    "threshold",
    "threshold",
    "Moves the decision threshold to meet the requirement on out-of-fold scores.",
    "A threshold chosen on too few positives is noisy: a low one floods reviewers with alarms.",
)
def _threshold(estimator: Any = None, **params: Any) -> Any:
    """``make(estimator=None, requirement=..., cv=...)``: an unfitted
    :class:`~fnguard.decide.ThresholdTuner` around ``estimator`` (default: the plain
    ``logistic`` lever)."""
    from fnguard.decide import ThresholdTuner, parse_requirement

    if estimator is None:
        estimator = build([DEFAULT_CLASSIFIER])
    tuner = ThresholdTuner(estimator, **params)  # unknown parameters: TypeError -> LeverError
    parse_requirement(tuner.requirement)  # a malformed requirement fails now
    return tuner


class ReviewBandPlacer(BaseEstimator):
    """The ``review`` lever: places a review band on held-out scores, in scikit-learn's
    ``fit`` / ``predict`` form (``X`` is the scores, one column, as for
    ``IsotonicRegression``); calling it, ``placer(y_true, y_score)``, returns the
    :class:`~fnguard.decide.ReviewBand` at once.

    Parameters
    ----------
    requirement : str, default="recall>=0.95"
        Places the band's lower edge (:func:`~fnguard.decide.review_band`).
    capacity : int, float or str, default="2%"
        Most cases the band may hold.
    positive : scalar, default=1
        The positive label.

    Attributes
    ----------
    band_ : ReviewBand
        After ``fit``.

    Examples
    --------
    >>> placer = ReviewBandPlacer("recall>=0.99", capacity=2)
    >>> s = [0.1, 0.2, 0.3, 0.9, 0.4, 0.8, 0.7, 0.05]
    >>> placer.fit(s, [0, 0, 1, 1, 0, 1, 0, 0]).band_.n_review
    2
    >>> placer.predict([0.05, 0.5, 0.95]).tolist()  # auto-negative, review, auto-positive
    [0, 1, 2]
    """

    def __init__(self, requirement: Any = "recall>=0.95", capacity: Any = "2%",
                 positive: Any = 1) -> None:
        self.requirement = requirement
        self.capacity = capacity
        self.positive = positive

    def __call__(self, y_true: Any, y_score: Any) -> Any:
        from fnguard.decide import review_band

        return review_band(y_true, y_score, self.requirement, self.capacity,
                           positive=self.positive)

    def fit(self, X: Any, y: Any) -> ReviewBandPlacer:
        """Place the band on scores ``X`` (1-D, or one column) with labels ``y``."""
        self.band_ = self(y, _one_column(X))
        return self

    def predict(self, X: Any) -> Any:
        """0 below the band (auto-negative), 1 in it (review), 2 above it (auto-positive)."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "band_")
        s = _one_column(X)
        return (s >= self.band_.lower).astype(int) + (s >= self.band_.upper).astype(int)


def _one_column(X: Any) -> Any:
    import numpy as np

    s = np.asarray(X, dtype=float)
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim != 1:
        raise ValueError(
            f"The review lever places a band on scores: pass one score per row (1-D, or one "
            f"column). Got an array of shape {s.shape}."
        )
    return s


@register(
    "review",
    "review",
    "review",
    "Sends the cases just above the threshold to human review, within the reviewers' capacity.",
    "Reviewers' own misses count as misses; a band wider than capacity backs up the queue.",
)
def _review(requirement: Any = "recall>=0.95", capacity: Any = "2%", **params: Any) -> Any:
    """``make(requirement, capacity)``: a :class:`ReviewBandPlacer`."""
    from fnguard.decide import parse_requirement
    from fnguard.decide.review import parse_capacity

    unknown = sorted(set(params) - {"positive"})
    if unknown:
        raise LeverError(
            f"The lever 'review' does not take the parameter{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(u) for u in unknown)}. It takes: requirement, capacity, positive."
        )
    parse_requirement(requirement)  # a malformed requirement fails now
    parse_capacity(capacity, 1_000_000)  # and a malformed capacity
    return ReviewBandPlacer(requirement, capacity, **params)
