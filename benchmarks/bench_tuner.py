"""Benchmark ThresholdTuner against scikit-learn's TunedThresholdClassifierCV.

Usage::

    python benchmarks/bench_tuner.py

On the Caravan insurance data (5,822 rows, 85 features, 6% positives), with the same estimator
(``StandardScaler`` + ``LogisticRegression(max_iter=1000)``), the same five stratified folds and
``refit=True``, it times ``fit`` of both (best of 3, ``time.perf_counter``, one BLAS thread
each) for F1 and for the cost ``fn=50, fp=1``, and evaluates each one's threshold with the same
formula on the same out-of-fold scores (``cross_val_predict`` on those folds). ThresholdTuner
runs with its default ``n_boot=200`` (it also returns intervals) and with ``n_boot=0``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, f1_score, make_scorer
from sklearn.model_selection import StratifiedKFold, TunedThresholdClassifierCV, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from fnguard.data.datasets import load_caravan
from fnguard.decide.tuner import ThresholdTuner


def _neg_cost(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Minus the cost per row with fn=50, fp=1: scikit-learn maximises a gain."""
    _, fp, fn, _ = confusion_matrix(y_true, y_pred, labels=[False, True]).ravel()
    return -(50.0 * fn + 1.0 * fp) / len(y_true)


def _model() -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


# requirement, scikit-learn scoring, objective on 0/1 predictions (higher is better), label
CASES: list[tuple[str, object, Callable[[np.ndarray, np.ndarray], float], str]] = [
    ("f1", "f1", f1_score, "F1"),
    ("cost:fn=50,fp=1", make_scorer(_neg_cost), _neg_cost, "cost per row"),
]


def _best_of(repeat: int, fit: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fit()
        best = min(best, time.perf_counter() - start)
    return best, result


def section(quick: bool = False) -> str:
    """Markdown section: fit time and out-of-fold objective of both tuners.

    Parameters
    ----------
    quick : bool, default=False
        One repetition on a 2,000-row stratified subsample instead of best of 3 on all rows.

    Returns
    -------
    str
        A markdown section with a table.
    """
    data = load_caravan()
    X, y = data.X.astype(float), np.asarray(data.y)
    if quick:
        keep = np.sort(np.random.default_rng(0).choice(y.size, size=2000, replace=False))
        X, y = X.iloc[keep], y[keep]
    repeat = 1 if quick else 3
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    rows = []
    with threadpool_limits(limits=1):
        oof = cross_val_predict(_model(), X, y, cv=folds, method="predict_proba")[:, 1]
        for requirement, scoring, objective, label in CASES:
            t_sk, sk = _best_of(
                repeat,
                lambda s=scoring: TunedThresholdClassifierCV(
                    _model(), scoring=s, cv=folds, refit=True
                ).fit(X, y),
            )
            t_ours, ours = _best_of(
                repeat, lambda r=requirement: ThresholdTuner(_model(), r, cv=folds).fit(X, y)
            )
            t_fast, _ = _best_of(
                repeat,
                lambda r=requirement: ThresholdTuner(_model(), r, cv=folds, n_boot=0).fit(X, y),
            )
            v_sk = objective(y, oof >= sk.best_threshold_)
            v_ours = objective(y, oof >= ours.threshold_)
            if label.startswith("cost"):
                v_sk, v_ours = -v_sk, -v_ours
            rows.append(
                f"| `{requirement}` ({label}) | {t_ours:.3f} | {t_fast:.3f} | {t_sk:.3f} "
                f"| {t_sk / t_ours:.2f} | {v_ours:.4f} | {v_sk:.4f} |"
            )
    lines = [
        "## Threshold tuner vs scikit-learn's TunedThresholdClassifierCV",
        "",
        f"Caravan, {y.size:,} rows, {X.shape[1]} features, {y.mean():.1%} positive; "
        "StandardScaler + LogisticRegression(max_iter=1000); the same 5 stratified folds; "
        f"refit=True; fit time best of {repeat}, one BLAS thread. Objectives are computed with "
        "the same formula on the same out-of-fold scores (cost: lower is better). Ratio above 1: "
        "fnguard is faster.",
        "",
        "| requirement | fnguard s (n_boot=200) | fnguard s (n_boot=0) | scikit-learn s "
        "| ratio (scikit-learn s / fnguard n_boot=200 s) | fnguard objective "
        "| scikit-learn objective |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(section())
