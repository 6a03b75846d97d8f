"""Pipelines whose probabilities undo the class balance their samplers and weights changed.

Resampling to 50/50 or ``class_weight="balanced"`` trains the classifier on a world where
positives are common, so its probabilities overstate them. :class:`PriorCorrectedPipeline`
remembers the positive share of the original training data and the (weighted) share its
final estimator was trained on, and maps every probability back with
:func:`fnguard.decide.correct_prior`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from imblearn.pipeline import Pipeline
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if

from fnguard.data.names import format_names


def _effective_rate(estimator: Any, y: np.ndarray, sample_weight: Any = None) -> float:
    """Positive share the estimator trains on, counting class weights and sample weights.

    A fitted estimator that re-weights inside ``fit`` says so with ``trained_rate_`` (the
    cost-matrix lever, the network's weighted loss); imbalanced-learn's ensembles, which
    under-sample inside every member, by their ``sampling_strategy``.
    """
    own = getattr(estimator, "trained_rate_", None)
    if own is not None:
        return float(own)
    positive = np.asarray(y) == np.unique(y)[-1]
    weight = np.ones(positive.size) if sample_weight is None else np.asarray(sample_weight, float)
    params = estimator.get_params(deep=False) if hasattr(estimator, "get_params") else {}
    balanced = _member_rate(estimator, params, np.asarray(y), weight)
    if balanced is not None:
        return balanced
    class_weight = params.get("class_weight")
    if class_weight == "balanced_subsample":
        # balanced on each tree's bootstrap sample: balanced on the data, in expectation
        class_weight = "balanced"
    if class_weight is not None:
        weight = weight * compute_sample_weight(class_weight, y)
    if params.get("is_unbalance"):
        weight = weight * np.where(positive, (~positive).sum() / max(positive.sum(), 1), 1.0)
    scale = params.get("scale_pos_weight")
    if scale not in (None, 1, 1.0):
        weight = weight * np.where(positive, float(scale), 1.0)
    return float(weight[positive].sum() / weight.sum())


def _member_rate(
    estimator: Any, params: dict[str, Any], y: np.ndarray, weight: np.ndarray
) -> float | None:
    """The positive share each member of an under-sampling ensemble (EasyEnsemble, balanced
    random forest, balanced bagging, RUSBoost) trains on, or None for other estimators.

    The classes keep the counts ``sampling_strategy`` asks for (the mean sample weight of each
    class times its count), then the ensemble's own ``class_weight`` applies.
    """
    from sklearn.base import is_classifier

    if "sampling_strategy" not in params or not is_classifier(estimator):
        return None
    if params.get("sampler") is not None:  # balanced bagging with a sampler of the user's
        return None
    from imblearn.utils import check_sampling_strategy

    classes, counts = np.unique(y, return_counts=True)
    if classes.size != 2:
        return None
    try:
        target = check_sampling_strategy(params["sampling_strategy"], y, "under-sampling")
    except ValueError:
        return None  # the ensemble's fit reports a bad strategy itself
    kept = np.array([target.get(c, n) for c, n in zip(classes, counts, strict=True)], float)
    mean_weight = np.array([weight[y == c].mean() for c in classes])
    mass = kept * mean_weight
    class_weight = params.get("class_weight")
    if class_weight in ("balanced", "balanced_subsample"):
        return 0.5
    if isinstance(class_weight, dict):
        mass = mass * np.array([float(class_weight.get(c, 1.0)) for c in classes])
    return float(mass[1] / mass.sum())


def _check_columns(pipeline: Pipeline, X: Any) -> None:
    """Raise a DataError for an array given to a pipeline built from a schema, which reads
    its columns by name, naming the columns and the fix."""
    from sklearn.compose import ColumnTransformer

    from fnguard.data.names import format_names
    from fnguard.errors import DataError

    before = [step for _, step in pipeline.steps[:-1] if step not in (None, "passthrough")]
    first = next((s for s in before if isinstance(s, ColumnTransformer)), None)
    by_name = first is not None and any(
        isinstance(cols, str) or (isinstance(cols, list) and cols and isinstance(cols[0], str))
        for _, _, cols in first.transformers
    )
    if by_name and not hasattr(X, "columns"):
        names = [
            c for _, _, cols in first.transformers
            for c in ([cols] if isinstance(cols, str) else list(cols))
        ]
        raise DataError(
            f"This pipeline was built from a schema and reads its columns by name "
            f"({format_names([repr(n) for n in names])}); "
            f"got {type(X).__name__}. Fit it on a DataFrame holding those columns "
            "(pd.DataFrame(X, columns=[...]))."
        )


def _text_columns_error(X: Any) -> Exception | None:
    """The DataError for a fit that failed on text: the text columns of X, named, and the fix;
    None when X has none (the failure is about something else)."""
    if not hasattr(X, "dtypes"):
        return None
    import pandas as pd

    from fnguard.data.names import format_names
    from fnguard.errors import DataError

    text = [
        str(c) for c, t in zip(X.columns, X.dtypes, strict=True)
        if not isinstance(t, pd.CategoricalDtype)
        and (pd.api.types.is_object_dtype(t) or pd.api.types.is_string_dtype(t))
        and pd.to_numeric(X[c].dropna(), errors="coerce").isna().any()
    ]
    if not text:
        return None
    return DataError(
        f"X has {len(text)} text column(s) that no step of the pipeline encodes: "
        f"{format_names([repr(n) for n in text])}. Build it with "
        "schema=fnguard.data.infer_schema(X) (it encodes categories), or encode or drop them "
        "first."
    )


def _weights_after(step: Any, name: str, weight: Any, n_in: int, n_out: int) -> np.ndarray:
    """The final step's sample weights of the rows a sampler returned: those of the rows it
    kept, repeated or augmented (``sample_indices_``); interpolated rows have no weight of
    their own."""
    w = np.asarray(weight)
    if w.shape[0] != n_in:
        raise ValueError(
            f"sample_weight has {w.shape[0]} values for {n_in} rows: pass one weight per row."
        )
    chosen = getattr(step, "sample_indices_", None)
    if chosen is not None and len(chosen) == n_out:
        return w[np.asarray(chosen)]
    raise ValueError(
        f"The sampler '{name}' makes new rows, which have no sample weight of their own, so "
        "the final step's sample_weight cannot follow them. Drop the weights or the sampler, "
        "or use a sampler that keeps, repeats or augments rows (random-over, random-under, "
        "tomek, enn, nearmiss-1/2/3, jitter) or class weights."
    )


class PriorCorrectedPipeline(Pipeline):
    """An imbalanced-learn ``Pipeline`` whose ``predict_proba`` is corrected for the prior.

    After ``fit``, ``true_rate_`` is the positive share of the data given to ``fit`` (weighted
    by the final step's ``sample_weight`` when one is given: scikit-learn reads weights as
    repeated rows) and ``train_rate_`` the (class- and sample-weighted) positive share the final
    estimator saw after the samplers. ``predict_proba`` returns ``correct_prior(p,
    train_rate_, true_rate_)``; ``predict`` flags corrected probabilities ``>= 0.5``. With
    neither resampling nor weights the two rates are equal and nothing changes.

    The final step's ``sample_weight`` follows the rows a sampler keeps, repeats or augments
    (its ``sample_indices_``: an augmented row takes its source row's weight); a sampler that
    interpolates new rows refuses it. A parameter that names no step is refused, as
    scikit-learn's ``Pipeline`` refuses it; with scikit-learn's metadata routing on
    (``enable_metadata_routing``), each step gets what it requested (``set_fit_request``).

    Parameters
    ----------
    steps : list of (str, estimator)
        As :class:`imblearn.pipeline.Pipeline`.
    memory, verbose, transform_input
        As :class:`imblearn.pipeline.Pipeline`.
    """

    def fit(self, X: Any, y: Any = None, **params: Any) -> PriorCorrectedPipeline:
        """Fit the steps like the plain pipeline, then record the two class rates."""
        _check_columns(self, X)
        try:
            return self._fit(X, y, **params)
        except ValueError as exc:
            # text that reached a step that reads numbers only: name the columns
            error = _text_columns_error(X) if "string" in str(exc) else None
            if error is None:
                raise
            raise error from exc

    def _check_params(self, params: dict[str, Any]) -> None:
        """Refuse a fit parameter that names no step (scikit-learn's Pipeline refuses it too;
        it was dropped silently)."""
        names = {name for name, _ in self.steps}
        for key in params:
            step = key.split("__", 1)[0] if "__" in key else None
            if step not in names:
                final = self.steps[-1][0]
                raise ValueError(
                    f"{type(self).__name__}.fit does not accept the {key} parameter"
                    + ("" if step is None else f" (there is no step '{step}'; the steps are "
                       f"{format_names(repr(n) for n in names)})")
                    + ". You can pass parameters to specific steps of your pipeline using the "
                    f"stepname__parameter format, e.g. `fit(X, y, {final}__sample_weight="
                    "sample_weight)`."
                )

    def _routed(self, params: dict[str, Any]) -> dict[str, Any]:
        """With scikit-learn's metadata routing on, the parameters each step requested, as
        ``step__param`` (what the loop below reads); otherwise ``params`` themselves."""
        from sklearn.utils.metadata_routing import _routing_enabled

        if not _routing_enabled():
            self._check_params(params)
            return params
        routed = self._check_method_params(method="fit", props=params)
        out: dict[str, Any] = {}
        for name, step in self.steps:
            if step is None or isinstance(step, str) or name not in routed:
                continue
            methods = ("fit_resample",) if hasattr(step, "fit_resample") else (
                "fit", "fit_transform")
            for method in methods:
                for key, value in routed[name].get(method, {}).items():
                    out[f"{name}__{key}"] = value
        return out

    def _fit(self, X: Any, y: Any = None, **params: Any) -> PriorCorrectedPipeline:
        params = self._routed(params)
        y_arr = np.asarray(y)
        classes = np.unique(y_arr)
        final_key = f"{self.steps[-1][0]}__sample_weight"
        weight = params.get(final_key)
        # scikit-learn reads sample weights as repeated rows: they are part of the data whose
        # positive share the probabilities are mapped back to, not a shift to undo
        positive = y_arr == classes[-1]
        if weight is None:
            self.true_rate_ = float(np.mean(positive))
        else:
            w = np.asarray(weight, dtype=np.float64)
            self.true_rate_ = float(w[positive].sum() / w.sum()) if w.sum() > 0 else 0.0
        Xt, yt = X, y_arr
        for _, name, step in self._iter(
            with_final=False, filter_passthrough=True, filter_resample=False
        ):
            step_params = {
                key.split("__", 1)[1]: value
                for key, value in params.items()
                if key.startswith(f"{name}__")
            }
            if hasattr(step, "fit_resample"):
                n_in = np.shape(yt)[0]
                Xt, yt = step.fit_resample(Xt, yt, **step_params)
                if final_key in params and (
                    np.shape(yt)[0] != n_in or hasattr(step, "sample_indices_")
                ):
                    params = {**params, final_key: _weights_after(
                        step, name, params[final_key], n_in, np.shape(yt)[0])}
            else:
                Xt = step.fit_transform(Xt, yt, **step_params)
        final_name, final = self.steps[-1]
        final_params = {
            key.split("__", 1)[1]: value
            for key, value in params.items()
            if key.startswith(f"{final_name}__")
        }
        if final != "passthrough" and final is not None:
            final.fit(Xt, yt, **final_params)
        # the weights the final step saw (they followed the rows the samplers kept)
        self.train_rate_ = _effective_rate(final, np.asarray(yt), params.get(final_key))
        return self

    def predict_proba(self, X: Any, **params: Any) -> np.ndarray:
        """Probabilities of the final estimator, mapped back to the original class balance."""
        from fnguard.decide.prior import correct_prior

        proba = np.asarray(super().predict_proba(X, **params), dtype=np.float64)
        if proba.ndim != 2 or proba.shape[1] != 2 or not self._corrects():
            return proba
        positive = correct_prior(proba[:, 1], self.train_rate_, self.true_rate_)
        return np.column_stack([1 - positive, positive])

    def _corrects(self) -> bool:
        return (
            len(self.classes_) == 2
            and self.train_rate_ != self.true_rate_
            and 0 < self.train_rate_ < 1
            and 0 < self.true_rate_ < 1
        )

    def predict(self, X: Any, **params: Any) -> np.ndarray:
        """Classes from the corrected probabilities: the positive class at 0.5 (two classes),
        the most probable class otherwise."""
        proba = self.predict_proba(X, **params)
        if proba.shape[1] == 2:
            return self.classes_[(proba[:, 1] >= 0.5).astype(int)]
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_log_proba(self, X: Any, **params: Any) -> np.ndarray:
        """Logarithm of :meth:`predict_proba` (corrected)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X, **params))

    @available_if(lambda self: hasattr(self._final_estimator, "decision_function"))
    def decision_function(self, X: Any, **params: Any) -> np.ndarray:
        """The final estimator's decision function; with two classes and a correction, the
        log-odds of the corrected probability (its sign agrees with :meth:`predict`)."""
        if not self._corrects():
            return super().decision_function(X, **params)
        from scipy.special import logit

        return logit(self.predict_proba(X, **params)[:, 1])

    def score(self, X: Any, y: Any = None, sample_weight: Any = None, **params: Any) -> float:
        """Accuracy of :meth:`predict` (corrected), as scikit-learn's classifiers score."""
        from sklearn.metrics import accuracy_score

        if not self._corrects():
            return super().score(X, y, sample_weight=sample_weight, **params)
        return float(accuracy_score(y, self.predict(X), sample_weight=sample_weight))
