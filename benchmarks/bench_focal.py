"""Benchmark LightGBM on the focal loss against LightGBM with ``scale_pos_weight``.

Usage::

    python benchmarks/bench_focal.py [--quick]

Two data sets, each split 70 / 30 (stratified, seed 0): the Caravan insurance customers
(5,822 rows, 85 features, 6 % positives) and
``make_classification(n_samples=100_000, n_features=30, weights=[0.99], random_state=0)``.
On each, with the same ``n_estimators=200``, ``learning_rate=0.05``, ``num_leaves=31``, one
thread and seed 0, it fits

- ``FocalLGBMClassifier`` (``gamma=2``, ``alpha=0.25`` as in Lin et al., and ``alpha=None``),
- ``LGBMClassifier`` with ``scale_pos_weight`` = negatives / positives of the training part,
- plain ``LGBMClassifier`` as the reference,

and reports the fit time (best of 3, ``time.perf_counter``) and the PR-AUC (average
precision) on the held-out part.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from lightgbm import LGBMClassifier
from sklearn.datasets import make_classification
from sklearn.metrics import average_precision_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from fnguard.data.datasets import load_caravan
from fnguard.levers.focal import FocalLGBMClassifier

N_ESTIMATORS, LEARNING_RATE = 200, 0.05


def _datasets(quick: bool) -> list[tuple[str, np.ndarray, np.ndarray]]:
    data = load_caravan()
    n = 20_000 if quick else 100_000
    X_syn, y_syn = make_classification(n_samples=n, n_features=30, weights=[0.99], random_state=0)
    return [
        ("Caravan (5,822 rows)", data.X.astype(float).to_numpy(), np.asarray(data.y, dtype=int)),
        (f"make_classification ({n:,} rows, 1 % positives)", X_syn, y_syn),
    ]


def _models(y_train: np.ndarray) -> list[tuple[str, Callable[[], object]]]:
    common = dict(
        n_estimators=N_ESTIMATORS,
        learning_rate=LEARNING_RATE,
        num_leaves=31,
        random_state=0,
        n_jobs=1,
    )
    spw = float((y_train == 0).sum() / (y_train == 1).sum())
    return [
        ("focal, gamma=2, alpha=0.25", lambda: FocalLGBMClassifier(2.0, 0.25, **common)),
        ("focal, gamma=2, alpha=None", lambda: FocalLGBMClassifier(2.0, None, **common)),
        (
            f"scale_pos_weight={spw:.1f}",
            lambda: LGBMClassifier(scale_pos_weight=spw, verbose=-1, **common),
        ),
        ("plain LightGBM (reference)", lambda: LGBMClassifier(verbose=-1, **common)),
    ]


def section(quick: bool = False) -> str:
    """Markdown section: fit time and held-out PR-AUC of focal vs weighted LightGBM.

    Parameters
    ----------
    quick : bool, default=False
        One repetition and a 20,000-row synthetic set instead of best of 3 on 100,000 rows.

    Returns
    -------
    str
        A markdown section with one table per data set.
    """
    repeat = 1 if quick else 3
    lines = [
        "## LightGBM: focal loss vs scale_pos_weight",
        "",
        f"Same trees for all: n_estimators={N_ESTIMATORS}, learning_rate={LEARNING_RATE}, "
        "num_leaves=31, one thread, seed 0; 70 / 30 stratified split; fit time best of "
        f"{repeat}; PR-AUC (average precision) on the held-out 30 %.",
    ]
    with threadpool_limits(limits=1):
        for title, X, y in _datasets(quick):
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.3, stratify=y, random_state=0
            )
            lines += [
                "",
                f"### {title}",
                "",
                f"Held-out prior (PR-AUC of a constant): {y_test.mean():.4f}",
                "",
                "| model | fit time (s) | PR-AUC |",
                "| --- | ---: | ---: |",
            ]
            for name, make in _models(y_train):
                best, model = float("inf"), None
                for _ in range(repeat):
                    model = make()
                    start = time.perf_counter()
                    model.fit(X_train, y_train)
                    best = min(best, time.perf_counter() - start)
                ap = average_precision_score(y_test, model.predict_proba(X_test)[:, 1])
                lines.append(f"| {name} | {best:.2f} | {ap:.4f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller, one repetition")
    print(section(quick=parser.parse_args().quick))
