"""Tests of the search loop: first trials, pruning, failures, budget, reproducibility."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from fnguard.data import load_table
from fnguard.decide import parse_requirement
from fnguard.levers import registry
from fnguard.levers.registry import register
from fnguard.search.runner import run_search
from fnguard.search.space import resolve_pool
from fnguard.search.split import cv_folds

from .conftest import make_frame

REQ = parse_requirement("recall>=0.8")
FAST = ["logistic", "random-under", "random-over"]


class Broken(LogisticRegression):
    """A classifier whose fit always fails."""

    def fit(self, X, y, sample_weight=None):
        raise ValueError("this lever always fails")


@pytest.fixture
def broken() -> Iterator[None]:
    register("test:broken", "algorithm", "classifier", "Fails.", "Fails.")(Broken)
    yield
    registry._levers.pop("test:broken")


@pytest.fixture(scope="module")
def data(frame):
    d = load_table(frame, "y", positive=1)
    folds, _ = cv_folds(d.y, 3, seed=0)
    return d, folds


def _search(data, levers=FAST, **kwargs):
    d, folds = data
    options = {"budget": 120.0, "seed": 0, "max_trials": 10, **kwargs}
    return run_search(d.X, d.y, d.schema, REQ, folds, pool=resolve_pool(levers), **options)


@pytest.fixture(scope="module")
def result(data):
    return _search(data)


def test_first_trial_is_the_plain_model(result) -> None:
    """Check that trial 0 is the plain logistic regression, a baseline with default params."""
    first = result.leaderboard[0]
    assert first["levers"] == ["logistic"] and first["params"] == {} and first["baseline"]
    assert result.baselines == [0]
    assert all(not r["baseline"] for r in result.leaderboard[1:])


def test_default_first_trials(data) -> None:
    """Check the default pool's first three trials: logistic, LightGBM, weighted LightGBM."""
    res = _search(data, levers=None, max_trials=3)
    assert [r["levers"] for r in res.leaderboard] == [
        ["logistic"], ["lightgbm"], ["lightgbm:weighted"]]
    assert [r["baseline"] for r in res.leaderboard] == [True, True, False]
    assert all(r["state"] == "complete" for r in res.leaderboard)


def test_records_and_best(result) -> None:
    """Check that every trial is recorded and the best has the highest value."""
    board = result.leaderboard
    assert [r["trial"] for r in board] == list(range(10))
    complete = [r for r in board if r["state"] == "complete"]
    assert result.best == max(complete, key=lambda r: (r["value"], -len(r["levers"]),
                                                       -r["trial"]))["trial"]
    for r in complete:
        assert r["threshold"] is not None and r["misses"] is not None
        assert r["recall"]["low"] <= r["recall"]["value"] <= r["recall"]["high"]


def test_threshold_is_chosen_on_oof_scores(result, data) -> None:
    """Check that a kept trial's threshold is the requirement's on its out-of-fold scores."""
    d, _ = data
    for t, oof in result.oof.items():
        from fnguard.decide import choose_threshold

        expected = choose_threshold(d.y, oof, REQ, positive=True, n_boot=0)
        assert result.leaderboard[t]["threshold"] == expected.threshold
        assert result.leaderboard[t]["misses"] == expected.metrics["fn"].value


def test_hopeless_trials_are_pruned(result) -> None:
    """Check that some trials are pruned after their first folds, with the reason."""
    pruned = [r for r in result.leaderboard if r["state"] == "pruned"]
    assert pruned, [(r["levers"], r["value"]) for r in result.leaderboard]
    assert all("pruned" in r["error"] and r["threshold"] is None for r in pruned)
    assert all(r["trial"] >= 4 for r in pruned)  # never the first trials


def test_failed_trial_is_recorded_not_fatal(data, broken) -> None:
    """Check that a lever that raises is a failed trial with its message; the search goes on."""
    res = _search(data, levers=["logistic", "test:broken"], max_trials=8)
    failed = [r for r in res.leaderboard if r["state"] == "failed"]
    assert failed and all(r["levers"] == ["test:broken"] for r in failed)
    assert all("this lever always fails" in r["error"] for r in failed)
    assert any(r["state"] == "complete" for r in res.leaderboard)
    assert res.best is not None


def test_reproducible_with_a_seed(data, result) -> None:
    """Check that the same seed gives the same trials and results; another seed does not."""
    def strip(board):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in board]

    again = _search(data, max_trials=6).leaderboard
    assert strip(again) == strip(result.leaderboard[:6])
    other = _search(data, seed=1, max_trials=6).leaderboard
    assert strip(other) != strip(again)


def test_budget_stops_the_search(data) -> None:
    """Check that the search stops when its budget runs out, without a trial limit."""
    start = time.monotonic()
    res = _search(data, budget=2.0, max_trials=None)
    assert time.monotonic() - start < 2.0 + 10.0  # one trial may finish after the deadline
    assert res.best is not None and len(res.leaderboard) >= 1


def test_no_time_no_trial(data) -> None:
    """Check that a budget already spent runs no trial and has no best."""
    res = _search(data, budget=0.0, start=time.monotonic() - 1)
    assert res.leaderboard == [] and res.best is None


def test_kept_scores(result) -> None:
    """Check that out-of-fold scores are kept for the baselines, the best and each lever's best."""
    assert {0, result.best} <= set(result.oof)
    for lever in {n for r in result.leaderboard if r["state"] == "complete" for n in r["levers"]}:
        with_it = [t for t in result.decisions if lever in result.plans[t].levers]
        assert result.best_of(with_it) in result.oof
    assert all(np.isfinite(v).all() for v in result.oof.values())


def test_resampling_stays_inside_training_folds(data, monkeypatch) -> None:
    """Check that the sampler sees exactly a training fold, its synthetic rows are trained on,
    and every scoring call sees exactly one validation fold, never a resampled row."""
    from imblearn.over_sampling import RandomOverSampler

    from fnguard.levers.prior import PriorCorrectedPipeline

    _, folds = data
    seen: dict[str, list] = {"fit": [], "resample": [], "score": []}
    real_fit, real_proba = PriorCorrectedPipeline.fit, PriorCorrectedPipeline.predict_proba
    real_resample = RandomOverSampler.fit_resample

    def spy_fit(self, X, y=None, **kw):
        seen["fit"].append(np.asarray(X.index))
        return real_fit(self, X, y, **kw)

    def spy_proba(self, X, **kw):
        seen["score"].append(np.asarray(X.index))
        return real_proba(self, X, **kw)

    def spy_resample(self, X, y, **kw):
        Xr, yr = real_resample(self, X, y, **kw)
        seen["resample"].append((len(X), len(Xr)))
        return Xr, yr

    monkeypatch.setattr(PriorCorrectedPipeline, "fit", spy_fit)
    monkeypatch.setattr(PriorCorrectedPipeline, "predict_proba", spy_proba)
    monkeypatch.setattr(RandomOverSampler, "fit_resample", spy_resample)
    res = _search(data, levers=["random-over", "logistic"], max_trials=4)
    resampled = [t for t in res.decisions if "random-over" in res.plans[t].levers]
    assert resampled and seen["resample"]
    trains = [np.sort(tr) for tr, _ in folds]
    valids = [np.sort(va) for _, va in folds]
    assert all(any(np.array_equal(np.sort(ix), tr) for tr in trains) for ix in seen["fit"])
    assert all(any(np.array_equal(np.sort(ix), va) for va in valids) for ix in seen["score"])
    sizes = {tr.size for tr in trains}
    assert all(n_in in sizes and n_out > n_in for n_in, n_out in seen["resample"])


def test_samplers_do_not_fail_on_a_common_positive_class() -> None:
    """On 40% positives (above the default 0.25 ratio) no resampling trial fails: the ratios
    searched start above the data's own, which imbalanced-learn refuses."""
    d = load_table(make_frame(300, seed=3, positives=0.4), "y", positive=1)
    folds, _ = cv_folds(d.y, 3, seed=0)
    levers = ["logistic", "random-over", "random-under", "smote", "adasyn"]
    res = run_search(d.X, d.y, d.schema, REQ, folds, pool=resolve_pool(levers), budget=120.0,
                     seed=0, max_trials=25)
    states = [r["state"] for r in res.leaderboard]
    assert "failed" not in states, [r["error"] for r in res.leaderboard if r["error"]]
    sampled = [r for r in res.leaderboard if len(r["levers"]) == 2 and r["state"] == "complete"]
    assert len(sampled) >= 5


def test_balanced_classes_leave_the_samplers_out() -> None:
    """On balanced classes the resampling levers are left out, and a note says so."""
    d = load_table(make_frame(200, seed=4, positives=0.5), "y", positive=1)
    folds, _ = cv_folds(d.y, 3, seed=0)
    res = run_search(d.X, d.y, d.schema, REQ, folds, pool=resolve_pool(["logistic", "smote"]),
                     budget=120.0, seed=0, max_trials=4)
    assert all(r["levers"] == ["logistic"] for r in res.leaderboard)
    assert any("nearly balanced" in n and "smote" in n for n in res.notes)


@pytest.fixture
def tiny() -> Iterator[None]:
    """A classifier lever whose search space has two points."""

    def space(trial):
        return {"C": trial.suggest_categorical("C", [0.1, 1.0])}

    register("test:tiny", "algorithm", "classifier", "Two points.", "None.", search=space)(
        LogisticRegression)
    yield
    registry._levers.pop("test:tiny")


def test_an_exhausted_space_stops_the_search(data, tiny) -> None:
    """Plans drawn again are not fitted again; once every draw is a repeat the search stops
    early with a note, long before its budget."""
    from fnguard.search.leaderboard import is_repeat
    from fnguard.search.runner import MAX_REPEATS

    d, folds = data
    started = time.monotonic()
    res = run_search(d.X, d.y, d.schema, REQ, folds, pool=resolve_pool(["test:tiny"]),
                     budget=120.0, seed=0)
    assert time.monotonic() - started < 60
    fitted = [r for r in res.leaderboard if not is_repeat(r)]
    plans = [(tuple(r["levers"]), repr(r["params"])) for r in fitted]
    assert len(plans) == len(set(plans)) <= 3  # the plain model, then C=0.1 and C=1.0
    repeats = [r for r in res.leaderboard if r not in fitted]
    assert len(repeats) >= MAX_REPEATS
    assert all(r["state"] == "pruned" and r["seconds"] == 0 for r in repeats)
    assert [r["trial"] for r in res.leaderboard] == list(range(len(res.leaderboard)))
    assert any(f"the last {MAX_REPEATS} plans drawn had all been tried" in n for n in res.notes)


def test_local_jobs_are_capped_at_the_cores(data, monkeypatch) -> None:
    """Check that run_search, called directly, starts no more fold processes than the machine
    has cores (fit caps them too, with a note)."""
    import importlib

    runner = importlib.import_module("fnguard.search.runner")
    seen: list[int] = []
    real = runner.oof_scores

    def spy(*args, jobs=1, **kwargs):
        seen.append(jobs)
        return real(*args, jobs=1, **kwargs)  # run here: the cap is what is checked

    monkeypatch.setattr(runner, "oof_scores", spy)
    monkeypatch.setattr(runner.os, "cpu_count", lambda: 2)
    _search(data, levers=["logistic"], max_trials=1, jobs=99)
    assert seen == [2]


def test_first_trial_note_blames_start_up_only_when_it_dominates() -> None:
    """Check that a first trial over budget that was mostly worker start-up (4.6 s for 0.5 s
    of folds, on 2 workers) says so, and that a slow model alone, or one worker, does not."""
    from fnguard.search.runner import first_trial_note

    slow_start = first_trial_note("logistic", 4.6, [0.1] * 5, 2, 5.0)
    assert "most of the rest was starting the 2 worker processes" in slow_start
    assert "its 5 folds took 0.5 s" in slow_start
    slow_model = first_trial_note("lightgbm", 30.0, [24.0] * 5, 2, 5.0)
    one_worker = first_trial_note("logistic", 4.6, [0.1] * 5, 1, 5.0)
    for note in (slow_model, one_worker):
        assert "worker processes" not in note and "longer than the budget of 5 s; it" in note
    late = first_trial_note("logistic", 5.8, [1.1] * 5, 1, 6.0, ended=6.6)
    assert "took 5.8 s and ended 6.6 s into the budget of 6 s (which also counts" in late
