"""The model an explanation reads: a Guard, a scikit-learn model, or LightGBM fitted on the spot.

:func:`resolve_model` turns what the user gave into a :class:`Model`: the table's columns the
model takes, a fresh unfitted copy for the folds, and the fitted model (when there is one) whose
own scores are diagnosed. :func:`load_model` reads a Guard folder or a skops model file, refusing
types it does not trust. :func:`out_of_fold` and :func:`in_sample` give the scores the
explanation compares.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fnguard.data.names import format_names, quote_source
from fnguard.data.table import Dataset
from fnguard.errors import ArtifactError, DataError

__all__ = [
    "DEFAULT_LEVERS",
    "Model",
    "fold_count",
    "folds",
    "in_sample",
    "load_model",
    "out_of_fold",
    "resolve_model",
]

#: The model fitted on the spot when none is given.
DEFAULT_LEVERS = ("lightgbm",)


@dataclass
class Model:
    """What :func:`fnguard.explain.explain` needs of a model.

    Attributes
    ----------
    description : str
        What it is, for display.
    X : DataFrame
        The table's columns it takes, in its order.
    make : callable
        ``make()`` returns a fresh, unfitted copy (refitted in each fold).
    fitted : estimator or None
        The fitted model whose own scores on the table are diagnosed; None when the model is
        fitted on the spot (its out-of-fold scores are diagnosed).
    threshold : float or None
        Its operating threshold, when it carries one (a Guard).
    levers : list of str
        Its lever names when known (registry names), the base of the quick check.
    notes : list of str
        What was decided about it.
    """

    description: str
    X: pd.DataFrame
    make: Callable[[], Any]
    fitted: Any = None
    threshold: float | None = None
    levers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def load_model(path: str | os.PathLike[str], *, trust: bool = False) -> Any:
    """Read a Guard folder, or a scikit-learn compatible model saved with skops.

    A Guard is loaded with :func:`fnguard.guard.load` (which checks it). A skops file is
    loaded when every type it holds comes from a library fnguard trusts
    (:data:`fnguard.guard.TRUSTED_MODULES`), or when ``trust`` is True. Pickle and joblib
    files are refused: loading them runs any code they hold.

    Parameters
    ----------
    path : str or PathLike
        A Guard folder or a ``.skops`` file.
    trust : bool, default=False
        Load a skops file even with types outside the trusted libraries (inspect them first
        with ``skops.io.get_untrusted_types(file=path)``).

    Returns
    -------
    Guard or estimator

    Raises
    ------
    ArtifactError
        For a missing path, a file that is not a skops file, untrusted types without
        ``trust``, or a model that cannot be loaded.

    Examples
    --------
    >>> load_model("nowhere.skops")
    Traceback (most recent call last):
    ...
    fnguard.errors.ArtifactError: The model 'nowhere.skops' does not exist: pass a Guard folder (written by `fnguard fit --out`) or a model file saved with skops.io.dump.
    """  # noqa: E501
    target = Path(path)
    if target.is_dir():
        from fnguard.guard import load

        return load(target)
    if not target.exists():
        raise ArtifactError(
            f"The model '{target}' does not exist: pass a Guard folder (written by "
            "`fnguard fit --out`) or a model file saved with skops.io.dump."
        )
    import zipfile

    from fnguard.guard_files import import_skops, trusted

    sio = import_skops()

    if not zipfile.is_zipfile(target):
        raise ArtifactError(
            f"The model file '{target}' is not a skops file. Pickle and joblib files are "
            "refused, because loading them runs any code they hold: save the model with "
            "skops.io.dump(model, 'model.skops') and pass that file."
        )
    try:
        untrusted = sio.get_untrusted_types(file=target)
    except Exception as exc:
        raise ArtifactError(
            f"The model file '{target}' cannot be read as a skops file "
            f"({type(exc).__name__}: {exc}): save the model again with skops.io.dump."
        ) from None
    refused = [t for t in untrusted if not trusted(t)]
    if refused and not trust:
        raise ArtifactError(
            f"The model file '{target}' holds types fnguard does not trust: "
            f"{format_names(refused, 8)}. Loading it could run their code. Inspect them with "
            f"python -c \"import skops.io as s; print(s.get_untrusted_types(file='{target}'))\""
            " and, if you trust where the file came from, pass --trust-model "
            "(trust=True in Python)."
        )
    try:
        return sio.load(target, trusted=untrusted)
    except Exception as exc:
        raise ArtifactError(
            f"The model file '{target}' cannot be loaded ({type(exc).__name__}: {exc}): save "
            "it again with the library versions installed here."
        ) from exc


def _is_fitted(estimator: Any) -> bool:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    except TypeError:  # not a scikit-learn estimator: trust that it can score
        return hasattr(estimator, "predict_proba")
    return True


def _model_columns(model: Any, data: Dataset) -> pd.DataFrame:
    """The table's columns the model takes: its ``feature_names_in_``, else all features."""
    columns = [str(c) for c in data.X.columns]
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        names = [str(c) for c in names]
        missing = [c for c in names if c not in columns]
        if missing:
            raise DataError(
                f"The model was fitted on the columns {format_names(names)}; the table "
                f"{quote_source(data.source)} lacks {format_names(missing)} (its feature "
                f"columns: {format_names(columns)}). Pass a table with the model's columns, or "
                "a model fitted on this table's."
            )
        return data.X[names]
    n = getattr(model, "n_features_in_", None)
    if n is not None and int(n) != len(columns):
        raise DataError(
            f"The model takes {int(n)} feature columns; the table {quote_source(data.source)} "
            f"has {len(columns)} ({format_names(columns)}). Pass a table with the model's "
            "columns, in its order, or a model fitted on this table's."
        )
    return data.X


def resolve_model(model: Any, data: Dataset, *, seed: int = 0) -> Model:
    """What to fit, score and compare: the given model, or LightGBM fitted on the spot.

    Parameters
    ----------
    model : Guard, estimator or None
        A Guard, a fitted or unfitted scikit-learn compatible classifier with
        ``predict_proba``, or None for ``fnguard.levers.build(["lightgbm"], data.schema)``.
    data : Dataset
        The labelled table.
    seed : int, default=0
        Seed of the models fitted on the spot.

    Returns
    -------
    Model

    Raises
    ------
    DataError
        If the model's columns are not in the table, a Guard's positive label differs from
        the table's, or the object cannot score.

    Examples
    --------
    >>> from fnguard.data import load_table
    >>> frame = pd.DataFrame({"x": [0.1, 0.4, 0.35, 0.8], "y": [0, 0, 1, 1]})
    >>> resolve_model(None, load_table(frame, "y", positive=1)).levers
    ['lightgbm']
    """
    from sklearn.base import clone

    from fnguard.levers import build

    if model is None:
        schema = data.schema
        return Model(
            description="LightGBM fitted on the spot (out-of-fold scores)",
            X=data.X,
            make=lambda: build(list(DEFAULT_LEVERS), schema, random_state=seed),
            levers=list(DEFAULT_LEVERS),
        )
    from fnguard.guard import Guard

    if isinstance(model, Guard):
        if str(model.positive) != str(data.positive):
            theirs = {str(data.positive), str(data.negative)}
            if str(model.positive) in theirs:  # the same labels, the other one chosen
                fix = f"pass the Guard's positive label: --positive {model.positive}"
            else:
                fix = (
                    f"the table's labels are {data.positive!r} and {data.negative!r}; recode "
                    f"the target column to the Guard's labels ({model.positive!r} for a "
                    f"positive, {model.negative!r} for a negative) and run again"
                )
            raise DataError(
                f"The Guard's positive label is {model.positive!r} (negative "
                f"{model.negative!r}), the table's {data.positive!r}: {fix}."
            )
        X = model.features(data.X, source=data.source)
        guard = model

        def make() -> Any:
            if guard.levers:
                return build(guard.levers, guard.schema, params=guard.params, random_state=seed)
            return clone(guard.pipeline)

        shown = " + ".join(guard.levers) or type(guard.pipeline).__name__
        notes = []
        from fnguard.search.fit import fingerprint

        if guard.info.get("fingerprint") == fingerprint(data.X, data.y):
            notes.append(
                "This is the table the Guard was fitted on: most of its rows trained the model, "
                "so the figures at the Guard's threshold are optimistic. The Guard's honest "
                "figures come from its held-out test rows: see its report (fnguard report)."
            )
        return Model(
            description=f"the Guard ({shown}, threshold {guard.threshold:.4g})",
            X=X,
            make=make,
            fitted=guard.pipeline,
            threshold=float(guard.threshold),
            levers=list(guard.levers),
            notes=notes,
        )
    if not hasattr(model, "predict_proba"):
        raise DataError(
            f"The model ({type(model).__name__}) has no predict_proba: pass a classifier that "
            "gives probabilities, or a Guard."
        )
    X = _model_columns(model, data)
    fitted = model if _is_fitted(model) else None
    return Model(
        description=type(model).__name__ + ("" if fitted is not None else " (unfitted)"),
        X=X,
        make=lambda: clone(model),
        fitted=fitted,
    )


def positive_column(estimator: Any, positive: Any = True) -> int:
    """The column of ``predict_proba`` that holds the positive class."""
    classes = [
        c.item() if isinstance(c, np.generic) else c
        for c in getattr(estimator, "classes_", [False, True])
    ]
    for candidate in (positive, True, 1):
        for i, c in enumerate(classes):
            if c is candidate or (type(c) is type(candidate) and c == candidate):
                return i
    text = [str(c) for c in classes]
    if str(positive) in text:
        return text.index(str(positive))
    raise DataError(
        f"The model's classes are {format_names(text)}; none is the positive label "
        f"{positive!r}: pass the positive label the model was trained with (--positive)."
    )


def score_fitted(model: Model, positive: Any) -> np.ndarray:
    """The fitted model's probability of the positive class for every row of the table."""
    try:
        proba = np.asarray(model.fitted.predict_proba(model.X), dtype=np.float64)
    except DataError:
        raise
    except Exception as exc:
        raise DataError(
            f"The model cannot score the table ({type(exc).__name__}: {exc}): pass the table "
            "it was trained on the columns of, with the same types."
        ) from None
    return proba[:, positive_column(model.fitted, positive)].copy()


def fold_count(y: np.ndarray, cv: int) -> int:
    """Folds a stratified split can make: ``cv``, or fewer when a class has fewer rows."""
    n_pos = int(np.count_nonzero(y))
    return int(min(cv, n_pos, y.size - n_pos))


def folds(y: np.ndarray, cv: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified, shuffled ``(train, test)`` row positions of ``cv`` folds."""
    from sklearn.model_selection import StratifiedKFold

    split = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    return list(split.split(np.zeros(y.size), y))


def _fit_score(
    make: Callable[[], Any], X_fit: pd.DataFrame, y_fit: np.ndarray, X_score: pd.DataFrame
) -> np.ndarray:
    est = make()
    try:
        est.fit(X_fit, y_fit)
        proba = np.asarray(est.predict_proba(X_score), dtype=np.float64)
    except DataError:
        raise
    except Exception as exc:
        raise DataError(
            f"The model cannot be fitted on this table ({type(exc).__name__}: {exc}): pass a "
            "model that takes these columns (a pipeline with its encoders), or a Guard."
        ) from None
    return proba[:, positive_column(est, True)]


def out_of_fold(
    make: Callable[[], Any],
    X: pd.DataFrame,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    *,
    deadline: float | None = None,
) -> np.ndarray | None:
    """Each row's score from the copy fitted without its fold (None past ``deadline``).

    Parameters
    ----------
    make : callable
        Returns a fresh unfitted model.
    X : DataFrame
        The model's input.
    y : ndarray of bool
        True for positive rows.
    splits : list of (train, test)
        Row positions, e.g. from :func:`folds`.
    deadline : float, optional
        A :func:`time.perf_counter` value: stop (and return None) when a fold ends after it.

    Returns
    -------
    ndarray of float or None
    """
    import time

    scores = np.full(y.size, np.nan)
    for i, (train, test) in enumerate(splits):
        scores[test] = _fit_score(make, X.iloc[train], y[train], X.iloc[test])
        last = i == len(splits) - 1
        if deadline is not None and not last and time.perf_counter() > deadline:
            return None
    return scores


def in_sample(make: Callable[[], Any], X: pd.DataFrame, y: np.ndarray) -> np.ndarray:
    """Scores of a copy fitted on every row, on those same rows (the training scores)."""
    return _fit_score(make, X, y, X)
