"""Study: does a threshold chosen on out-of-fold scores hold for the refitted model?

Usage::

    python benchmarks/study_threshold_transfer.py [--lever lightgbm:weighted] [--splits 20]
                                                  [--dataset caravan] [--require recall>=0.95]

``fnguard.fit`` chooses its threshold on the winner's out-of-fold scores (with the safety
margin) and applies it to the winner refitted on every search row. On each of ``--splits``
stratified 80/20 splits of a bundled dataset this script fits one lever (default
parameters) that way and reports, on the 20 %, how often the recall fell below the target
and the mean recall and precision, for two final models at the same threshold: the refit
(what fit does) and the average of the fold models the threshold was chosen on. Not part
of ``make bench``: a study for whoever revisits the final model.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import train_test_split

from fnguard.data import load_table
from fnguard.data.datasets import load
from fnguard.decide import parse_requirement
from fnguard.levers import build
from fnguard.search.fit import operating_point
from fnguard.search.split import cv_folds


def one_split(name: str, lever: str, require: str, split: int) -> tuple[float, ...]:
    """Recall and precision on the 20 % of one split: (refit recall, fold-average recall,
    out-of-fold recall, refit precision, fold-average precision)."""
    data = load(name)
    y_all = np.asarray(data.y, dtype=bool)
    rows = np.arange(len(y_all))
    train, test = train_test_split(rows, test_size=0.2, stratify=y_all, random_state=split)
    frame = data.X.iloc[train].reset_index(drop=True).assign(_label=y_all[train].astype(int))
    d = load_table(frame, "_label", positive=1)
    X, y = d.X, d.y
    X_test, y_test = d.schema.check(data.X.iloc[test].reset_index(drop=True)), y_all[test]
    pipeline = build([lever], d.schema, random_state=split)
    folds, _ = cv_folds(y, 5, split)
    oof = np.empty(len(y))
    fold_scores = []
    for fit_rows, valid in folds:
        model = clone(pipeline).fit(X.iloc[fit_rows], y[fit_rows])
        oof[valid] = model.predict_proba(X.iloc[valid])[:, 1]
        fold_scores.append(model.predict_proba(X_test)[:, 1])
    req = parse_requirement(require)
    t = operating_point(y, oof, req, margin=0.9, seed=split)["decision"].threshold
    refit = clone(pipeline).fit(X, y).predict_proba(X_test)[:, 1]
    average = np.mean(fold_scores, axis=0)

    def recall(s: np.ndarray) -> float:
        return float((s[y_test] >= t).mean())

    def precision(s: np.ndarray) -> float:
        return float(y_test[s >= t].mean())

    return (recall(refit), recall(average), float((oof[y] >= t).mean()), precision(refit),
            precision(average))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lever", default="lightgbm:weighted")
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--dataset", default="caravan")
    parser.add_argument("--require", default="recall>=0.95")
    args = parser.parse_args()
    target = parse_requirement(args.require).target
    warnings.filterwarnings("ignore")
    res = np.array([one_split(args.dataset, args.lever, args.require, s)
                    for s in range(args.splits)])
    print(f"{args.dataset} {args.lever} {args.require}, {args.splits} splits")
    print(f"  refit:        recall under target {int((res[:, 0] < target).sum())}, "
          f"mean recall {res[:, 0].mean():.4f}, mean precision {res[:, 3].mean():.4f}")
    print(f"  fold average: recall under target {int((res[:, 1] < target).sum())}, "
          f"mean recall {res[:, 1].mean():.4f}, mean precision {res[:, 4].mean():.4f}")
    print(f"  out-of-fold recall at the threshold: {res[:, 2].mean():.4f}")


if __name__ == "__main__":
    main()
