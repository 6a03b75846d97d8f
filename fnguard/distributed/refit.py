"""Refit a LightGBM winner on every training row with LightGBM's Dask estimator.

The search of :func:`fnguard.distributed.fit_dask` runs on a sample. When its winner ends in a
plain ``lightgbm.LGBMClassifier`` and resamples nothing, that last step can learn from all
the training partitions instead: the preprocessing steps, already fitted on the sample, are
applied to each training partition on the workers, ``lightgbm.DaskLGBMClassifier`` is fitted
on all of them with the winner's parameters (so at the real class balance, and no prior
correction for the sample is needed), and its local copy (``.to_local()``, a plain
``LGBMClassifier``) replaces the last step.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np

__all__ = ["effective_rate", "refit_blocker", "refit_full", "unwrap"]


def unwrap(model: Any) -> tuple[Any, bool]:
    """The winner's pipeline, without the Platt calibrator the search may have put around it.

    Returns the pipeline and whether a calibrator was removed.
    """
    from fnguard.decide.calibrated import CalibratedClassifier

    if isinstance(model, CalibratedClassifier):
        return model.estimator_, True
    return model, False


def refit_blocker(model: Any) -> str | None:
    """Why ``model`` cannot be refitted with ``DaskLGBMClassifier``, or None when it can.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> refit_blocker(make_pipeline(LogisticRegression()))
    "the winner's classifier is LogisticRegression, not LightGBM"
    """
    from lightgbm import LGBMClassifier

    pipeline, _ = unwrap(model)
    steps = getattr(pipeline, "steps", None)
    if not steps:
        return f"the winner is a {type(pipeline).__name__}, not a pipeline ending in LightGBM"
    final = steps[-1][1]
    if type(final).__name__ == "FocalLGBMClassifier":
        return (
            "the winner is LightGBM on the focal loss, a custom Python objective with a "
            "starting score that DaskLGBMClassifier's local model would not add back"
        )
    if type(final) is not LGBMClassifier:
        return f"the winner's classifier is {type(final).__name__}, not LightGBM"
    samplers = [n for n, step in steps[:-1] if hasattr(step, "fit_resample")]
    if samplers:
        return (
            f"the winner resamples ({', '.join(samplers)}), which DaskLGBMClassifier cannot do "
            "across partitions"
        )
    if hasattr(final, "feature_names_in_"):
        return "the winner's LightGBM step was fitted on named columns, not on an array"
    return None


def effective_rate(params: dict[str, Any], n_pos: int, n_neg: int) -> float:
    """Positive share LightGBM trains on with these class weights (as ``PriorCorrectedPipeline``).

    Examples
    --------
    >>> effective_rate({"class_weight": "balanced"}, 10, 990)
    0.5
    >>> effective_rate({"scale_pos_weight": 9.0}, 10, 90)
    0.5
    >>> effective_rate({}, 10, 90)
    0.1
    """
    n = n_pos + n_neg
    weights = params.get("class_weight")
    if weights == "balanced":
        w_pos, w_neg = n / (2.0 * n_pos), n / (2.0 * n_neg)
    elif isinstance(weights, dict):
        w_pos = float(weights.get(True, weights.get(1, 1.0)))
        w_neg = float(weights.get(False, weights.get(0, 1.0)))
    else:
        w_pos = w_neg = 1.0
    if params.get("is_unbalance"):
        w_pos *= n_neg / max(n_pos, 1)
    scale = params.get("scale_pos_weight")
    if scale not in (None, 1, 1.0):
        w_pos *= float(scale)
    return float(w_pos * n_pos / (w_pos * n_pos + w_neg * n_neg))


def _transform_part(
    path: str, *, pre: Any, schema: Any, target: str, chosen: Any
) -> tuple[np.ndarray, np.ndarray]:
    """A training partition through the fitted preprocessing: ``(features, labels)``."""
    from fnguard.data.schema import Drift
    from fnguard.distributed.files import read_partition

    frame = read_partition(path)
    y = (frame[target] == chosen).to_numpy(dtype=bool)
    X = schema.check(frame, source=path, drift=Drift(schema, source=path, ignore=[target]))
    Xt = X if pre is None else pre.transform(X)
    return np.asarray(Xt, dtype=np.float64), y


def refit_full(
    client: Any,
    model: Any,
    *,
    files: list[str],
    rows: list[int],
    schema: Any,
    target: str,
    chosen: Any,
    n_pos: int,
    n_neg: int,
) -> Any:
    """``model`` with its LightGBM step refitted on every row of ``files`` on the workers.

    Parameters
    ----------
    client : distributed.Client
    model : estimator
        The search's winner (fitted on the sample); :func:`refit_blocker` must return None.
    files, rows : list
        The training partitions and their row counts.
    schema : Schema
        The Guard's feature columns.
    target : str
        The label column.
    chosen : scalar
        The positive label.
    n_pos, n_neg : int
        Positives and negatives of those partitions.

    Returns
    -------
    PriorCorrectedPipeline or Pipeline
        The preprocessing fitted on the sample, then a plain ``lightgbm.LGBMClassifier``
        fitted on all the rows; a prior-corrected pipeline's rates are those of all the rows
        (its class weights only, as no sample is left to undo). Any calibrator around
        ``model`` is dropped: it was fitted on the sample model's scores.
    """
    import dask
    import dask.array as da
    from lightgbm import LGBMClassifier
    from lightgbm.dask import DaskLGBMClassifier

    pipeline, _ = unwrap(model)
    name, final = pipeline.steps[-1]
    pre = pipeline[:-1] if len(pipeline.steps) > 1 else None
    width = int(getattr(final, "n_features_in_", 0))
    shared = client.scatter(pre, broadcast=True, hash=False) if pre is not None else None
    kept = [(path, n) for path, n in zip(files, rows, strict=True) if n > 0]
    files, rows = [k[0] for k in kept], [k[1] for k in kept]
    parts = [
        dask.delayed(_transform_part, pure=False)(
            path, pre=shared, schema=schema, target=target, chosen=chosen
        )
        for path in files
    ]
    X = da.concatenate(
        [
            da.from_delayed(p[0], shape=(n, width), dtype=np.float64)
            for p, n in zip(parts, rows, strict=True)
        ]
    )
    y = da.concatenate(
        [da.from_delayed(p[1], shape=(n,), dtype=bool) for p, n in zip(parts, rows, strict=True)]
    )
    params = final.get_params()
    # LightGBM's Dask training gives each worker num_threads = its thread count itself.
    dask_params = {k: v for k, v in params.items() if k != "n_jobs"}
    dask_model = DaskLGBMClassifier(**dask_params, client=client)
    with client.as_current(), warnings.catch_warnings():  # it waits with distributed.wait()
        warnings.filterwarnings("ignore", "Parameter n_jobs will be ignored")
        dask_model.fit(X, y)
    local = dask_model.to_local()
    local.set_params(n_jobs=params.get("n_jobs"))
    if type(local) is not LGBMClassifier:  # pragma: no cover - lightgbm's contract
        raise TypeError(f"to_local() gave a {type(local).__name__}, not an LGBMClassifier")
    refitted = copy.copy(pipeline)  # the fitted preprocessing steps are shared
    refitted.steps = [*pipeline.steps[:-1], (name, local)]
    if hasattr(pipeline, "true_rate_"):
        refitted.true_rate_ = n_pos / (n_pos + n_neg)
        refitted.train_rate_ = effective_rate(params, n_pos, n_neg)
    if shared is not None:
        client.cancel(shared)
    return refitted
