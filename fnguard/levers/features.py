"""Feature levers: encoding and scaling from the schema, engineering and selection.

:func:`features_from_schema` turns a :class:`~fnguard.data.schema.Schema` into the column
transformer a model needs (imputation, scaling, categorical encoding), so nobody hand-writes
one. The levers registered here are the same pieces one by one: ``scale:standard``,
``scale:quantile``, ``encode:onehot``, ``encode:target`` (cross-fitted), ``poly``, ``pca``,
``select:mutual-info``, ``select:l1`` and ``select:importance``. When a pipeline is built
from a schema, the ``scale:*`` and ``encode:*`` levers configure the schema's feature step
instead of being added as steps of their own (see :func:`fnguard.levers.build`).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from fnguard.levers.registry import LeverError, register

__all__ = ["ONEHOT_MAX_LEVELS", "SCHEMA_LEVERS", "features_from_schema", "many_levels"]

#: Most one-hot columns per categorical column (the rarer levels share the last one): bounds
#: the memory of a dense encoding; :func:`many_levels` finds the columns with more.
ONEHOT_MAX_LEVELS = 100

#: Levers that, given a schema, set an option of :func:`features_from_schema`: name to
#: (keyword, value).
SCHEMA_LEVERS: dict[str, tuple[str, str]] = {
    "scale:standard": ("numeric", "standard"),
    "scale:quantile": ("numeric", "quantile"),
    "encode:onehot": ("categorical", "onehot"),
    "encode:target": ("categorical", "target"),
}
_NUMERIC = (None, "standard", "quantile")
_CATEGORICAL = ("onehot", "target", "ordinal")
#: Label of a missing category once imputed.
MISSING = "(missing)"


def categories_as_text(X: Any) -> Any:
    """Categorical values as text, missing values kept missing.

    Boolean, numeric-coded and string levels then sort and compare alike in the encoders,
    which refuse a column that mixes strings and numbers.

    Examples
    --------
    >>> categories_as_text(pd.DataFrame({"a": [True, None], "b": [1, 2]})).tolist()
    [['True', '1'], [nan, '2']]
    """
    frame = pd.DataFrame(X).astype(object)
    text = frame.map(str)
    out = text.where(frame.notna(), np.nan)
    return out.to_numpy(dtype=object)


def dates_as_days(X: Any) -> Any:
    """Datetime columns as days since 1970-01-01 (floats, missing stays NaN).

    Examples
    --------
    >>> dates_as_days(pd.DataFrame({"d": pd.to_datetime(["1970-01-03", None])})).ravel()
    array([ 2., nan])
    """
    frame = pd.DataFrame(X)
    cols = []
    for c in frame.columns:
        dates = pd.to_datetime(frame[c], errors="coerce", utc=True).dt.tz_convert(None)
        cols.append((dates - pd.Timestamp(0)).dt.total_seconds() / 86400)
    return np.column_stack(cols).astype(float) if cols else np.empty((len(frame), 0))


def many_levels(schema: Any) -> list[str]:
    """The categorical columns with more levels than one-hot encoding keeps
    (:data:`ONEHOT_MAX_LEVELS`): target encoding suits them better.

    Examples
    --------
    >>> from fnguard.data.schema import infer_schema
    >>> frame = pd.DataFrame({"zip": [f"z{i}" for i in range(150)], "c": ["a", "b"] * 75})
    >>> many_levels(infer_schema(frame))
    ['zip']
    """
    return [
        c.name for c in schema.columns
        if c.kind == "categorical"
        and (c.categories_truncated or len(c.categories or ()) > ONEHOT_MAX_LEVELS)
    ]


def _scaler(numeric: str | None, random_state: Any = None) -> Any:
    if numeric == "standard":
        from sklearn.preprocessing import StandardScaler

        return StandardScaler()
    if numeric == "quantile":
        from sklearn.preprocessing import QuantileTransformer

        return QuantileTransformer(output_distribution="normal", random_state=random_state)
    return "passthrough"


def _encoder(categorical: str, random_state: Any = None) -> Any:
    from sklearn import preprocessing

    if categorical == "onehot":
        return _onehot()
    if categorical == "target":
        return _target_encoder(random_state)
    return preprocessing.OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-2
    )


def features_from_schema(
    schema: Any,
    *,
    numeric: Literal["standard", "quantile"] | None = "standard",
    categorical: Literal["onehot", "target", "ordinal"] = "onehot",
    impute: bool = True,
    random_state: Any = None,
) -> ColumnTransformer:
    """The column transformer a schema's columns need: impute, scale, encode.

    Numeric columns are imputed with the median (plus a missing-value indicator) and scaled;
    categorical and boolean columns are read as text, imputed with the level ``"(missing)"``
    and encoded; datetime columns become days since 1970 and are treated as numeric. Columns
    not in the schema are dropped. Output is a dense array.

    Parameters
    ----------
    schema : Schema
        The feature columns (``Dataset.schema``); the input frame must hold them by name.
    numeric : {"standard", "quantile"} or None, default="standard"
        Scaling of numeric columns: z-scores, a quantile map to a normal distribution (robust
        to heavy tails), or none.
    categorical : {"onehot", "target", "ordinal"}, default="onehot"
        Encoding of categorical columns: one column per level (levels seen fewer than 5
        times, and those beyond the :data:`ONEHOT_MAX_LEVELS` most frequent, share one
        column; unseen levels are all zeros), the cross-fitted mean target
        per level (scikit-learn's ``TargetEncoder``: during ``fit_transform`` each row is
        encoded by means from the other folds, so its own label does not leak), or integer
        codes (for samplers such as SMOTE-NC that must see the levels).
    impute : bool, default=True
        Fill missing values. Without it, missing numeric values stay NaN (for models that
        handle them, such as LightGBM) and missing categories are a level of their own.
    random_state : int or None, default=None
        Seed of the target encoder's folds and the quantile subsample.

    Returns
    -------
    ColumnTransformer
        Unfitted; transformers named ``"numeric"``, ``"dates"`` and ``"categorical"``, each a
        pipeline whose last step is ``"scale"`` or ``"encode"``.

    Raises
    ------
    LeverError
        If an option is not one of the values above, or the schema has no column.

    Examples
    --------
    >>> from fnguard.data.schema import infer_schema
    >>> frame = pd.DataFrame({"age": [30, None, 50], "grade": ["A", "B", None]})
    >>> ct = features_from_schema(infer_schema(frame), numeric=None)
    >>> ct.fit_transform(frame).tolist()
    [[30.0, 0.0, 1.0], [40.0, 1.0, 1.0], [50.0, 0.0, 1.0]]
    """
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import FunctionTransformer

    if numeric not in _NUMERIC:
        raise LeverError(f"'numeric' must be one of {_NUMERIC}. Got {numeric!r} instead.")
    if categorical not in _CATEGORICAL:
        raise LeverError(
            f"'categorical' must be one of {_CATEGORICAL}. Got {categorical!r} instead."
        )
    if len(schema) == 0:
        raise LeverError("The schema has no feature column: there is nothing to transform.")
    parts: list[tuple[str, Any, list[str]]] = []

    def numeric_steps() -> list[tuple[str, Any]]:
        steps: list[tuple[str, Any]] = []
        if impute:
            steps.append(("impute", SimpleImputer(strategy="median", add_indicator=True)))
        return [*steps, ("scale", _scaler(numeric, random_state))]

    if schema.numeric():
        parts.append(("numeric", Pipeline(numeric_steps()), schema.numeric()))
    if schema.datetime():
        days = FunctionTransformer(dates_as_days, feature_names_out="one-to-one")
        parts.append(("dates", Pipeline([("days", days), *numeric_steps()]), schema.datetime()))
    if schema.categorical():
        cat_steps: list[tuple[str, Any]] = [
            ("text", FunctionTransformer(categories_as_text, feature_names_out="one-to-one"))
        ]
        if impute or categorical == "ordinal":
            fill = SimpleImputer(strategy="constant", fill_value=MISSING)
            cat_steps.append(("impute", fill))
        cat_steps.append(("encode", _encoder(categorical, random_state)))
        parts.append(("categorical", Pipeline(cat_steps), schema.categorical()))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)


# -- the levers ----------------------------------------------------------------------------------


@register(
    "scale:standard",
    "features",
    "transformer",
    "Scales numeric columns to zero mean and unit variance (with a schema: its numeric columns).",
    "Outliers dominate the mean and variance, squeezing the bulk of the values together.",
)
def _standard(**params: Any) -> Any:
    from sklearn.preprocessing import StandardScaler

    return StandardScaler(**params)


def _quantile_space(trial: Any) -> dict[str, Any]:
    return {"n_quantiles": trial.suggest_int("n_quantiles", 100, 1000, log=True)}


@register(
    "scale:quantile",
    "features",
    "transformer",
    "Maps numeric columns through their quantiles to a normal shape; robust to heavy tails.",
    "Flattens the extreme values that often mark the rare positives.",
    search=_quantile_space,
)
def _quantile(**params: Any) -> Any:
    from sklearn.preprocessing import QuantileTransformer

    params.setdefault("output_distribution", "normal")
    return QuantileTransformer(**params)


def _onehot_space(trial: Any) -> dict[str, Any]:
    return {"min_frequency": trial.suggest_int("min_frequency", 1, 50, log=True)}


@register(
    "encode:onehot",
    "features",
    "transformer",
    "One column per category level; rare levels share one column, unseen ones are all zeros.",
    "Many levels make many sparse columns that rare positives cannot fill.",
    search=_onehot_space,
)
def _onehot(**params: Any) -> Any:
    from sklearn.preprocessing import OneHotEncoder

    params = {
        "handle_unknown": "infrequent_if_exist",
        "min_frequency": 5,
        "max_categories": ONEHOT_MAX_LEVELS,
        "sparse_output": False,
        **params,
    }
    return OneHotEncoder(**params)


def _target_space(trial: Any) -> dict[str, Any]:
    return {"smooth": trial.suggest_float("smooth", 0.1, 100.0, log=True)}


@register(
    "encode:target",
    "features",
    "transformer",
    "Replaces each category level by its cross-fitted positive rate (out-of-fold in training).",
    "Levels with few rows get noisy rates; without cross fitting the label would leak.",
    search=_target_space,
)
def _target(random_state: Any = None, **params: Any) -> Any:
    return _target_encoder(random_state, **params)


def _target_encoder(random_state: Any = None, **params: Any) -> Any:
    """A binary target encoder whose cross fitting uses shuffled, stratified folds."""
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import TargetEncoder

    params.setdefault("target_type", "binary")
    params.setdefault("cv", StratifiedKFold(5, shuffle=True, random_state=random_state))
    return TargetEncoder(**params)


def _poly_space(trial: Any) -> dict[str, Any]:
    return {"interaction_only": trial.suggest_categorical("interaction_only", [True, False])}


@register(
    "poly",
    "features",
    "transformer",
    "Adds pairwise products (interactions) of the features for linear models.",
    "The number of columns grows with the square of the features; rare positives overfit.",
    search=_poly_space,
)
def _poly(**params: Any) -> Any:
    from sklearn.preprocessing import PolynomialFeatures

    params = {"degree": 2, "interaction_only": True, "include_bias": False, **params}
    return PolynomialFeatures(**params)


def _pca_space(trial: Any) -> dict[str, Any]:
    return {"n_components": trial.suggest_float("n_components", 0.8, 0.99)}


@register(
    "pca",
    "features",
    "transformer",
    "Projects the features on the principal components that keep most of their variance.",
    "Directions of high variance need not separate the classes: the positives' signal can go.",
    search=_pca_space,
)
def _pca(**params: Any) -> Any:
    from sklearn.decomposition import PCA

    params.setdefault("n_components", 0.95)
    return PCA(**params)


def _k_space(trial: Any) -> dict[str, Any]:
    return {"k": trial.suggest_int("k", 5, 50, log=True)}


@register(
    "select:mutual-info",
    "features",
    "transformer",
    "Keeps the k features with the highest mutual information with the label.",
    "Scores features one at a time: misses features that matter only together.",
    search=_k_space,
)
def _mutual_info(k: int | str = 20, random_state: Any = 0) -> Any:
    from sklearn.feature_selection import SelectKBest

    # More k than features only warns and keeps them all, so one space fits any width.
    return SelectKBest(SeededMutualInfo(random_state), k=k)


class SeededMutualInfo:
    """scikit-learn's ``mutual_info_classif`` with a fixed ``random_state``: the score function
    of ``select:mutual-info``, as a type of fnguard's that a Guard's model file can hold
    (a ``functools.partial`` is a type :func:`fnguard.load` does not trust).

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=0
        Passed to ``mutual_info_classif`` (its neighbour estimates add a little noise).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 1.0], [1.0, 1.0], [0.0, 1.0], [1.0, 1.0]] * 5)
    >>> y = np.array([0, 1, 0, 1] * 5)
    >>> scores = SeededMutualInfo(0)(X, y)
    >>> bool(scores[0] > scores[1])
    True
    """

    def __init__(self, random_state: Any = 0) -> None:
        self.random_state = random_state

    def __call__(self, X: Any, y: Any) -> np.ndarray:
        from sklearn.feature_selection import mutual_info_classif

        return mutual_info_classif(X, y, random_state=self.random_state)

    def __repr__(self) -> str:
        return f"SeededMutualInfo(random_state={self.random_state!r})"


def _l1_space(trial: Any) -> dict[str, Any]:
    return {"C": trial.suggest_float("C", 1e-3, 10.0, log=True)}


@register(
    "select:l1",
    "features",
    "transformer",
    "Keeps the features an L1-penalised logistic regression gives a non-zero weight.",
    "A strong penalty drops weak features that the rare positives depend on.",
    search=_l1_space,
)
def _l1(C: float = 0.1, class_weight: Any = "balanced", random_state: Any = None) -> Any:
    from sklearn.feature_selection import SelectFromModel
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(
        l1_ratio=1.0, solver="liblinear", C=C, class_weight=class_weight,
        random_state=random_state,
    )
    return SelectFromModel(model)


def _importance_space(trial: Any) -> dict[str, Any]:
    return {"threshold": trial.suggest_categorical("threshold", ["mean", "median", "0.5*mean"])}


@register(
    "select:importance",
    "features",
    "transformer",
    "Keeps the features a balanced extra-trees model finds important (above mean importance).",
    "Impurity importance favours features with many distinct values.",
    search=_importance_space,
)
def _importance(
    threshold: str | float = "mean", n_estimators: int = 100, random_state: Any = None
) -> Any:
    from sklearn.ensemble import ExtraTreesClassifier
    from sklearn.feature_selection import SelectFromModel

    model = ExtraTreesClassifier(
        n_estimators=n_estimators, class_weight="balanced", min_samples_leaf=2,
        random_state=random_state, n_jobs=1,
    )
    return SelectFromModel(model, threshold=threshold)
