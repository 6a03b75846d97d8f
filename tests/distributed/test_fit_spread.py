"""Tests of the Dask fit's search on the workers and of the LightGBM refit on the full data."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from fnguard.distributed import fit_dask
from fnguard.distributed.fit import SampledModel
from fnguard.distributed.folds import DaskFolds
from fnguard.distributed.refit import effective_rate, refit_blocker
from fnguard.guard import load
from fnguard.search.objective import OutOfTime, oof_scores

from .conftest import write_parts

pytest.importorskip("lightgbm.dask")


@pytest.fixture(scope="module")
def xy():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(400, 3)), columns=["a", "b", "c"])
    y = (X["a"] + rng.normal(size=400) > 1.0).to_numpy()
    folds = list(StratifiedKFold(4, shuffle=True, random_state=0).split(X, y))
    return X, y, folds


def test_folds_run_on_the_workers_with_the_local_scores(ready, xy) -> None:
    """Check that a trial's folds run as tasks on both workers and score as on this machine."""
    from distributed import get_task_stream

    X, y, folds = xy
    with DaskFolds(ready) as spread, get_task_stream(client=ready) as stream:
        there, seconds = oof_scores(LogisticRegression(), X, y, folds, executor=spread)
        shared = [f.key for f in spread._shared]
        again, _ = oof_scores(LogisticRegression(C=0.1), X, y, folds, executor=spread)
        assert [f.key for f in spread._shared] == shared  # the data went out once
    here, _ = oof_scores(LogisticRegression(), X, y, folds, jobs=2)
    np.testing.assert_allclose(there, here, rtol=1e-10)
    assert spread.jobs == 2 and spread.tasks == 8 and len(seconds) == 4
    assert not np.allclose(again, there)
    tasks = [t for t in stream.data if "fit_fold" in str(t["key"])]
    assert len(tasks) == 8
    assert {t["worker"] for t in tasks} == set(ready.scheduler_info()["workers"])


def test_deadline_stops_a_slow_trial_and_cancels_its_folds(ready, xy) -> None:
    """Check that a trial past its deadline raises OutOfTime and leaves no fold task behind."""
    X, y, folds = xy
    slow = make_pipeline(
        FunctionTransformer(lambda X: (time.sleep(3.0), X)[1]), LogisticRegression()
    )
    with DaskFolds(ready) as spread:
        start = time.monotonic()
        with pytest.raises(OutOfTime):
            oof_scores(slow, X, y, folds, executor=spread, deadline=start + 0.5)
        took = time.monotonic() - start
        pending = ready.run_on_scheduler(
            lambda dask_scheduler: [k for k in dask_scheduler.tasks if "fit_fold" in str(k)]
        )
    assert took < 2.5  # not waiting for the folds to end (3 s), even on a loaded machine
    assert spread.tasks == 2  # the second batch never started
    assert pending == []
    time.sleep(2.7)  # let the two started folds end on their workers


def test_lost_data_is_sent_again(ready, xy) -> None:
    """Check that when the search's data is gone from the workers (a worker restarted past its
    memory limit loses it), the next batch sends it again and scores as before."""
    X, y, folds = xy
    with DaskFolds(ready) as spread:
        first, _ = oof_scores(LogisticRegression(), X, y, folds, executor=spread)
        ready.cancel(spread._shared)  # as a dead worker's data
        assert not spread._alive()
        again, _ = oof_scores(LogisticRegression(), X, y, folds, executor=spread)
        assert spread._alive()
    np.testing.assert_allclose(again, first, rtol=1e-12)


def test_lost_workers_are_told_apart_from_failed_folds() -> None:
    """Check which errors count as lost workers (retried, then a MemoryError) and which as a
    fold's own failure (the trial fails, the search goes on)."""
    from distributed.client import (
        CancelledFuturesGroup,
        FutureCancelledError,
        FuturesCancelledError,
    )
    from distributed.scheduler import KilledWorker

    from fnguard.distributed.folds import _lost

    one = FutureCancelledError("fit_fold-1", "lost dependencies")
    assert _lost(FuturesCancelledError([CancelledFuturesGroup([one], "lost dependencies")]))
    assert _lost(KilledWorker("fit_fold-1", None, 3))
    assert not _lost(ValueError("Input contains NaN"))


def population(n: int, seed: int) -> pd.DataFrame:
    """Rows whose positives (about 13%) depend on x non-linearly, as trees like."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    p = 1 / (1 + np.exp(-(-4.0 + 1.5 * x[:, 0] + x[:, 1] ** 2)))
    y = (rng.random(n) < p).astype(int)
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y})


@pytest.fixture(scope="module")
def lightgbm_guard(client, tmp_path_factory):
    frame = population(24_000, seed=0)
    pattern = write_parts(frame, tmp_path_factory.mktemp("lgbm"), [4000] * 6)
    guard = fit_dask(
        pattern,
        "y",
        1,
        "recall>=0.8",
        client=client,
        sample=0.2,
        seed=0,
        budget=60,
        cv=3,
        levers=["lightgbm"],
        max_trials=1,
    )
    return guard, frame


def test_lightgbm_winner_is_refitted_on_the_full_data(lightgbm_guard, tmp_path) -> None:
    """Check that a LightGBM winner is refitted with DaskLGBMClassifier, saves, loads, predicts."""
    from lightgbm import LGBMClassifier

    guard, frame = lightgbm_guard
    info = guard.info["dask"]
    assert info["refit"] == "full (DaskLGBMClassifier)"
    assert info["search_on_workers"] and info["fold_tasks"] == 3
    assert not isinstance(guard.pipeline, SampledModel)
    assert type(guard.pipeline.steps[-1][1]) is LGBMClassifier
    held = [int(Path(f).stem.split("-")[1]) for f in info["held_out"]]
    train = frame[~np.isin(np.arange(len(frame)) // 4000, held)]
    assert guard.pipeline.true_rate_ == pytest.approx(train["y"].mean())
    assert guard.pipeline.train_rate_ == pytest.approx(guard.pipeline.true_rate_)
    assert any("refitted on all 20,000 rows" in n for n in guard.info["notes"])
    recall = guard.metrics["recall"]["value"]
    print(f"test recall of the refitted LightGBM: {recall:.3f}")
    assert recall >= 0.7 and guard.metrics["n"] == info["test_rows"]
    loaded = load(guard.save(tmp_path / "g", report=False))
    X = frame.drop(columns="y").head(200)
    np.testing.assert_allclose(loaded.score(X), guard.score(X))
    assert set(loaded.predict(X)["decision"].unique()) <= {0, 1}


def test_refit_sample_keeps_the_sample_model(ready, tmp_path) -> None:
    """Check that refit='sample' and spread=False keep the sample model and local folds."""
    frame = population(8_000, seed=1)
    pattern = write_parts(frame, tmp_path, [2000] * 4)
    guard = fit_dask(
        pattern,
        "y",
        1,
        "recall>=0.8",
        client=ready,
        sample=0.3,
        budget=30,
        cv=3,
        jobs=1,
        levers=["lightgbm"],
        max_trials=1,
        refit="sample",
        spread=False,
    )
    info = guard.info["dask"]
    assert info["refit"] == "sample" and "refit='sample'" in info["refit_why"]
    assert not info["search_on_workers"] and info["fold_tasks"] == 0
    assert isinstance(guard.pipeline, SampledModel)


@pytest.mark.parametrize(
    ("levers", "reason"),
    [
        (["logistic"], "LogisticRegression, not LightGBM"),
        (["lightgbm:focal"], "focal loss"),
        (["random-under", "lightgbm"], "resamples (random-under)"),
        (["lightgbm"], None),
        (["lightgbm:weighted"], None),
    ],
)
def test_refit_blocker(levers, reason) -> None:
    """Check which winners can be refitted with DaskLGBMClassifier, and the reason otherwise."""
    from fnguard.data.datasets import load_digits
    from fnguard.levers import build

    d = load_digits()
    pipeline = build(
        levers,
        d.schema,
        params={levers[-1]: {"n_estimators": 5}} if levers[-1] != "logistic" else None,
    ).fit(d.X, d.y)
    why = refit_blocker(pipeline)
    assert why == reason if reason is None else reason in why


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"class_weight": "balanced"},
        {"is_unbalance": True},
        {"scale_pos_weight": 7.0},
        {"class_weight": {True: 3.0, False: 0.5}},
    ],
)
def test_effective_rate_matches_the_prior_pipeline(params) -> None:
    """Check that the rate from counts equals PriorCorrectedPipeline's from the labels."""
    from lightgbm import LGBMClassifier

    from fnguard.levers.prior import _effective_rate

    y = np.repeat([False, True], [930, 70])
    expected = _effective_rate(LGBMClassifier(**params), y)
    assert effective_rate(params, 70, 930) == pytest.approx(expected)
