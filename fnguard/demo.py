"""The main job on a bundled real dataset: what ``make demo`` and ``fnguard demo`` run.

Today it fits a plain baseline (logistic regression at threshold 0.5) and diagnoses its misses;
later stages (threshold policies, levers, the search) extend :func:`run_demo`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fnguard.data import Dataset, datasets
from fnguard.metrics.diagnosis import Diagnosis, diagnose


@dataclass
class DemoResult:
    """What the demo produced.

    Attributes
    ----------
    dataset : Dataset
        The bundled data.
    model : sklearn Pipeline
        The fitted baseline.
    diagnosis : Diagnosis
        The baseline's misses on the held-out split.
    report : Path or None
        The written ``index.html``.
    """

    dataset: Dataset
    model: Any
    diagnosis: Diagnosis
    report: Path | None


def baseline_model(data: Dataset, random_state: int = 0) -> Any:
    """A plain logistic regression with imputation, scaling and one-hot encoding."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = data.schema.numeric()
    categorical = data.schema.categorical()
    steps = []
    if numeric:
        steps.append(
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric)
        )
    if categorical:
        steps.append(
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                categorical,
            )
        )
    return Pipeline(
        [
            ("features", ColumnTransformer(steps, remainder="drop")),
            ("model", LogisticRegression(max_iter=5000, random_state=random_state)),
        ]
    )


def _as_model_input(data: Dataset) -> Any:
    """Feature frame with categorical columns as plain strings (NaN kept as missing)."""
    X = data.X.copy()
    for name in data.schema.categorical():
        col = X[name]
        X[name] = col.astype(object).where(col.notna(), None)
    return X


def run_demo(
    *,
    dataset: str = "lending_club",
    out: str | os.PathLike[str] | None = "fnguard-report",
    test_size: float = 0.3,
    threshold: float = 0.5,
    random_state: int = 0,
    n_boot: int = 1000,
    require: str | None = "recall>=0.8",
) -> DemoResult:
    """Fit a plain baseline on a bundled dataset and diagnose its misses on held-out data.

    With ``require``, the threshold that meets it is also chosen honestly, on out-of-fold
    scores of the training split (:class:`~fnguard.decide.ThresholdTuner`), and scored once on
    the held-out split: the diagnosis' ``decisions`` say whether it holds on data never used
    to choose it.

    Parameters
    ----------
    dataset : str, default="lending_club"
        A name from :data:`fnguard.data.datasets.DATASETS`.
    out : path or None, default="fnguard-report"
        Folder of the HTML report; None writes none.
    test_size : float, default=0.3
        Share of rows held out (stratified) for the diagnosis.
    threshold : float, default=0.5
        The baseline's operating threshold.
    random_state : int, default=0
        Seed of the split, the model and the bootstrap.
    n_boot : int, default=1000
        Bootstrap replicates of the intervals.
    require : str or None, default="recall>=0.8"
        A requirement (see :func:`fnguard.decide.parse_requirement`) whose threshold is chosen
        on the training split and checked on the held-out split; None skips it.

    Returns
    -------
    DemoResult
    """
    from sklearn.model_selection import train_test_split

    data = datasets.load(dataset)
    X = _as_model_input(data)
    X_train, X_test, y_train, y_test = train_test_split(
        X, data.y, test_size=test_size, stratify=data.y, random_state=random_state
    )
    tuner = None
    if require is not None:
        from fnguard.decide import ThresholdTuner

        # The tuner refits the same baseline on the whole training split: one fit serves both.
        tuner = ThresholdTuner(
            baseline_model(data, random_state), require, cv=5, random_state=random_state,
            n_boot=0,
        ).fit(X_train, y_train)
        model = tuner.estimator_
    else:
        model = baseline_model(data, random_state).fit(X_train, y_train)
    scores = model.predict_proba(X_test)[:, list(model.classes_).index(True)]
    diagnosis = diagnose(
        y_test,
        scores,
        threshold=threshold,
        positive=True,
        features=data.X.loc[X_test.index].reset_index(drop=True),
        n_boot=n_boot,
        random_state=random_state,
        label=data.target,
        score="logistic regression probability",
        source=f"{data.source}: held-out {test_size:.0%} ({len(y_test):,} rows)",
        notes=list(data.notes),
    )
    diagnosis.positive, diagnosis.negative = data.positive, data.negative
    if tuner is not None:
        from fnguard.decide import evaluate_threshold

        diagnosis.decisions = [
            evaluate_threshold(
                diagnosis.curve,
                tuner.requirement_,
                tuner.threshold_,
                n_boot=n_boot,
                random_state=random_state,
                note="threshold chosen on out-of-fold scores of the training split (5 folds), "
                "scored once on the held-out split",
            )
        ]
    report = None
    if out is not None:
        from fnguard.report import write_report

        report = write_report(diagnosis, out, title=f"fnguard demo: {dataset}")
    return DemoResult(dataset=data, model=model, diagnosis=diagnosis, report=report)
