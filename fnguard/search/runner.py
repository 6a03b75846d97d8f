"""The search loop: Optuna's TPE over lever combinations, seeded, pruned, within a time budget.

Trials run one after another (so that a seed gives the same trials in the same order); each
trial's folds run ``jobs`` at a time in worker processes, stopped when the budget runs out.
The first trials are the plain models and the class-weighted LightGBM
(:func:`fnguard.search.space.first_plans`), so a short budget still returns something good. A
trial whose first folds score in the bottom quarter of the trials seen at the same point is
pruned; a trial that raises is recorded as failed with its message.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from fnguard.decide import Decision, Requirement
from fnguard.levers import build
from fnguard.search.leaderboard import REPEAT, record
from fnguard.search.objective import (
    FoldExecutor,
    OutOfTime,
    oof_scores,
    rank_value,
    threshold_on,
)
from fnguard.search.space import (
    Plan,
    Pool,
    class_ratio,
    enqueue,
    first_plans,
    minority_rows,
    suggest,
)

__all__ = ["Progress", "SearchResult", "check_jobs", "run_search"]

#: Share of the trials (among those seen at the same fold) below which a trial is pruned.
PRUNE_PERCENTILE = 25.0
#: Above this ratio of minority to majority rows the resampling levers are left out: the
#: classes are nearly balanced already.
BALANCED_RATIO = 0.8
#: Plans drawn again in a row (each already tried) after which the search stops: its space
#: is exhausted.
MAX_REPEATS = 30
#: Longest error message kept in the leaderboard.
_MAX_ERROR = 300


@dataclass
class Progress:
    """Where a running search stands, given to the ``progress`` callback after each trial.

    Attributes
    ----------
    trials, complete, pruned, failed : int
        Trials done so far, by state.
    best : str or None
        The best trial so far, as text (levers and its out-of-fold metrics).
    elapsed, budget : float
        Seconds spent and allowed.
    last : dict
        The leaderboard record of the trial just done.
    """

    trials: int
    complete: int
    pruned: int
    failed: int
    best: str | None
    elapsed: float
    budget: float
    last: dict[str, Any]


#: New fold splits of the winner whose out-of-fold scores choose its threshold in
#: :func:`fnguard.search.fit.fit` (the search's own folds flatter the winner they picked);
#: the search keeps time for them.
FRESH_SPLITS = 3


@dataclass
class SearchResult:
    """What the search found.

    Attributes
    ----------
    leaderboard : list of dict
        Every trial's record (:func:`fnguard.search.leaderboard.record`).
    best : int or None
        Trial number of the winner (``None`` when no trial completed).
    plans : dict of int to Plan
        Every trial's plan.
    decisions : dict of int to Decision
        The out-of-fold decision of every completed trial.
    oof : dict of int to ndarray
        Out-of-fold scores of the trials the rest of ``fit`` needs (the plain baselines, the
        winner and each lever's best trial).
    fold_seconds : dict of int to list of float
        Per-fold fit time of the completed trials.
    baselines : list of int
        Trial numbers of the plain models (threshold tuned only).
    elapsed : float
        Seconds the search took.
    notes : list of str
        What happened that the user should know.
    """

    leaderboard: list[dict[str, Any]]
    best: int | None
    plans: dict[int, Plan]
    decisions: dict[int, Decision]
    oof: dict[int, np.ndarray]
    fold_seconds: dict[int, list[float]]
    baselines: list[int]
    elapsed: float
    notes: list[str] = field(default_factory=list)

    def states(self) -> dict[str, int]:
        """Number of trials in each state."""
        out = {"complete": 0, "pruned": 0, "failed": 0}
        for r in self.leaderboard:
            out[r["state"]] = out.get(r["state"], 0) + 1
        return out

    def best_of(self, trials: list[int]) -> int | None:
        """The best completed trial among ``trials`` (value, then fewer levers, then first)."""
        done = [t for t in trials if t in self.decisions]
        if not done:
            return None
        return max(done, key=lambda t: (self.leaderboard[t]["value"], -len(self.plans[t].levers),
                                        -t))


def first_trial_note(
    label: str, took: float, fold_seconds: list[float], parallel: int, budget: float,
    ended: float | None = None,
) -> str:
    """The note for a first trial that outlasted the budget, saying when most of its time
    was the worker processes' start-up rather than the model, and how far into the budget
    (which also counts reading the data) it ended.

    Examples
    --------
    >>> first_trial_note("logistic", 4.6, [0.1] * 5, 2, 5.0, 6.1)
    ... # doctest: +NORMALIZE_WHITESPACE
    'The first trial to finish (logistic) took 4.6 s (fitting and scoring its 5 folds took
    0.5 s; most of the rest was starting the 2 worker processes, which happens once per
    search) and ended 6.1 s into the budget of 5 s (which also counts reading and checking the
    data); it was let finish so that there is a model, and no other lever was tried. Give a
    budget of a few times that to compare levers.'
    """
    fitting = float(sum(fold_seconds))
    start_up = took - fitting / max(1, parallel)
    why = (
        f" (fitting and scoring its {len(fold_seconds)} folds took {fitting:.1f} s; most of "
        f"the rest was starting the {parallel} worker processes, which happens once per "
        "search)" if parallel > 1 and start_up > max(1.0, took / 2) else ""
    )
    when = (
        f"and ended {ended:.1f} s into the budget of {budget:g} s (which also counts reading "
        "and checking the data)" if ended is not None and ended > took
        else f"longer than the budget of {budget:g} s"
    )
    return (
        f"The first trial to finish ({label}) took {took:.1f} s{why} {when}; it was let finish "
        "so that there is a model, and no other lever was tried. Give a budget of a few times "
        "that to compare levers."
    )


def check_jobs(jobs: Any) -> int:
    """Worker processes: an integer >= 1, or -1 for every core.

    Examples
    --------
    >>> check_jobs(2)
    2
    """
    from fnguard.search.budget import SearchError

    if isinstance(jobs, bool) or not isinstance(jobs, int | np.integer) or not (
        jobs >= 1 or jobs == -1
    ):
        raise SearchError(
            f"The number of jobs must be an integer >= 1 (or -1 for every core). Got {jobs!r} "
            "instead: for instance 2."
        )
    return int(os.cpu_count() or 1) if jobs == -1 else int(jobs)


def run_search(
    X: pd.DataFrame,
    y: np.ndarray,
    schema: Any,
    requirement: Requirement,
    folds: list[tuple[np.ndarray, np.ndarray]],
    *,
    pool: Pool,
    budget: float,
    seed: int = 0,
    jobs: int = 1,
    max_trials: int | None = None,
    groups: np.ndarray | None = None,
    progress: Callable[[Progress], None] | None = None,
    start: float | None = None,
    executor: FoldExecutor | None = None,
) -> SearchResult:
    """Search lever combinations on the search part of the data.

    Parameters
    ----------
    X, y : DataFrame, ndarray of bool
        The search part only: the final test rows are never passed here.
    schema : Schema
        The feature columns (for :func:`fnguard.levers.build`).
    requirement : Requirement
    folds : list of (train, valid)
        Row positions in ``X``.
    pool : Pool
        The levers to combine.
    budget : float
        Seconds, counted from ``start``; the search stops early enough to leave time for the
        final refit.
    seed : int, default=0
        Seed of the sampler and of every lever.
    jobs : int, default=1
        Folds fitted at once, in worker processes when above 1.
    max_trials : int, optional
        Stop after this many trials even with time left.
    groups : ndarray, optional
        Group of each row, for a guarantee ``per COLUMN``.
    progress : callable, optional
        Called with a :class:`Progress` after each trial.
    start : float, optional
        ``time.monotonic()`` when the budget started (now by default).
    executor : FoldExecutor, optional
        Where the folds run instead of this machine (see
        :func:`fnguard.search.objective.oof_scores`); its ``jobs`` replaces ``jobs``.

    Returns
    -------
    SearchResult

    Examples
    --------
    >>> from fnguard.data.datasets import load_digits
    >>> from fnguard.decide import parse_requirement
    >>> from fnguard.search.space import resolve_pool
    >>> from fnguard.search.split import cv_folds
    >>> d = load_digits()
    >>> folds, _ = cv_folds(d.y, 3, seed=0)
    >>> res = run_search(d.X, d.y, d.schema, parse_requirement("recall>=0.9"), folds,
    ...                  pool=resolve_pool("logistic,random-under"), budget=60, max_trials=2)
    >>> [(r["levers"], r["state"], r["baseline"]) for r in res.leaderboard]
    [(['logistic'], 'complete', True), (['random-under', 'logistic'], 'complete', False)]
    """
    import optuna

    start = time.monotonic() if start is None else start
    deadline = start + budget
    jobs = check_jobs(jobs)
    if executor is None:  # more local processes than cores only slow each other down
        jobs = min(jobs, os.cpu_count() or 1)
    ratio = class_ratio(y, folds)
    balanced = None
    if pool.samplers and ratio > BALANCED_RATIO:
        balanced = (
            f"The classes are nearly balanced ({ratio:.2f} minority rows per majority row): "
            f"the resampling levers ({', '.join(pool.samplers)}) were left out of the search."
        )
        pool = replace(pool, samplers=())
    first = first_plans(pool)
    from threadpoolctl import threadpool_limits

    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        # One BLAS / OpenMP thread here, as in the workers (loky gives each cores / jobs):
        # threads of numpy, scipy and faiss fighting over the cores make fits many times
        # slower. Parallelism comes from the folds.
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(
                seed=seed, n_startup_trials=len(first) + 7, multivariate=True, group=True
            )
            # Optuna's percentile is the share of trials kept (the top 75%).
            pruner = optuna.pruners.PercentilePruner(
                100.0 - PRUNE_PERCENTILE, n_startup_trials=len(first) + 2, n_warmup_steps=0,
                n_min_trials=4,
            )
            study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
            for plan in first:
                enqueue(study, plan, pool)
            search = _Search(X, y, schema, requirement, folds, pool, seed, groups, ratio)
            if balanced:
                search.notes.append(balanced)
            search.budget = budget
            search.executor = executor
            search.loop(study, jobs, deadline, max_trials, progress, start, budget)
    finally:
        optuna.logging.set_verbosity(level)
    return search.result(time.monotonic() - start)


class _Search:
    """The state of one search: records, kept scores, best trial."""

    def __init__(self, X, y, schema, requirement, folds, pool, seed, groups, ratio=None) -> None:
        self.X, self.y, self.schema, self.req = X, y, schema, requirement
        self.folds, self.pool, self.seed, self.groups = folds, pool, seed, groups
        self.board: list[dict[str, Any]] = []
        self.plans: dict[int, Plan] = {}
        self.decisions: dict[int, Decision] = {}
        self.oof: dict[int, np.ndarray] = {}
        self.seconds: dict[int, list[float]] = {}
        self.baselines: list[int] = []
        self.notes: list[str] = []
        self.executor: FoldExecutor | None = None
        #: resampling levers search only ratios above the data's own, and neighbour counts
        #: below the smallest fold's minority rows (see ``suggest``)
        self.class_ratio = class_ratio(y, folds) if ratio is None else ratio
        self.minority_rows = minority_rows(y, folds)
        #: the trial number and value of each plan tried to the end (None: it failed), by
        #: :func:`_plan_key`
        self._tried: dict[str, tuple[int, float | None]] = {}
        self._repeats = 0  # plans drawn again in a row

    def result(self, elapsed: float) -> SearchResult:
        res = SearchResult(self.board, None, self.plans, self.decisions, self.oof,
                           self.seconds, self.baselines, elapsed, self.notes)
        res.best = res.best_of(list(self.decisions))
        return res

    def _reserve(self, best: int | None) -> float:
        """Seconds to keep for the final refit of the best trial and of the reference."""
        if best is None:
            return 0.0
        k = len(self.folds)
        reserve = float(np.mean(self.seconds[best])) * k / max(k - 1, 1)
        # the winner's new fold splits that choose its threshold, their folds two at a time
        # (fit's default jobs)
        reserve += FRESH_SPLITS * float(np.sum(self.seconds[best])) / 2
        logistic = [t for t in self.baselines if self.plans[t].classifier == "logistic"]
        if logistic and logistic[0] in self.seconds and logistic[0] != best:
            reserve += float(np.mean(self.seconds[logistic[0]]))
        # The test-set bootstrap, the review band and the reference take a little more.
        return reserve + 1.0 + 0.03 * self.budget

    def loop(self, study, jobs, deadline, max_trials, progress, start, budget):
        import optuna

        best: int | None = None
        while max_trials is None or len(self.board) < max_trials:
            now = time.monotonic()
            stop_at = deadline - self._reserve(best) if best is not None else deadline
            if now >= stop_at:
                break
            trial = study.ask()
            plan = suggest(trial, self.pool, class_ratio=self.class_ratio,
                           minority_rows=self.minority_rows)
            key = _plan_key(plan)
            if key in self._tried:
                # the same pipeline again: its result is known, nothing to fit
                self._repeat(study, trial, plan, *self._tried[key])
                if progress is not None:
                    progress(self._progress(best, start, budget))
                if self._repeats >= MAX_REPEATS:
                    self.notes.append(
                        f"The search stopped early, after {len(self.board)} trials of which "
                        f"{len(self._tried)} distinct plans ran to the end: the last "
                        f"{MAX_REPEATS} plans drawn had all been tried (the levers' search "
                        "space is small). Name more levers to search further."
                    )
                    break
                continue
            self._repeats = 0
            number = trial.number
            self.plans[number] = plan
            if plan.baseline:
                self.baselines.append(number)
            fixed = "plan" in trial.user_attrs
            t0 = time.perf_counter()
            error = state = None
            decision = value = None
            try:
                pipeline = build(plan.levers, self.schema, params=plan.params,
                                 random_state=self.seed)
                hook = self._pruning_hook(trial, prune=not fixed)
                # Until one trial has finished, trials run to the end whatever the budget
                # (as optuna's timeout lets a running trial finish): a search always returns
                # a model.
                oof, secs = oof_scores(pipeline, self.X, self.y, self.folds, jobs=jobs,
                                       deadline=None if best is None else stop_at,
                                       on_batch=hook, executor=self.executor)
                decision = threshold_on(self.y, oof, self.req, self.groups)
                value = rank_value(decision)
            except optuna.TrialPruned:
                state, error = "pruned", "pruned: its first folds scored in the bottom quarter"
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            except OutOfTime:
                state, error = "pruned", "stopped: the time budget ran out"
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            except (KeyboardInterrupt, MemoryError):
                raise
            except Exception as exc:
                state = "failed"
                error = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                state = "complete"
                study.tell(trial, value)
                self.decisions[number] = decision
                self.oof[number] = oof
                self.seconds[number] = secs
            self.board.append(record(
                number, plan.levers, plan.params, state=state, seconds=time.perf_counter() - t0,
                baseline=plan.baseline, decision=decision, value=value, error=error,
            ))
            if state in ("complete", "failed"):
                self._tried[key] = (number, value)
            if state == "complete":
                if best is None and time.monotonic() > deadline:
                    parallel = jobs if self.executor is None else max(1, self.executor.jobs)
                    self.notes.append(first_trial_note(
                        plan.label(), time.perf_counter() - t0, self.seconds[number],
                        min(parallel, len(self.folds)), budget, time.monotonic() - start,
                    ))
                best = self._keep()
            if progress is not None:
                progress(self._progress(best, start, budget))

    def _repeat(self, study: Any, trial: Any, plan: Plan, first: int, value: float | None) -> None:
        """Tell optuna the known result of a plan drawn again (None: it failed), and keep a
        row for it (the leaderboard has one per trial number) that says which trial it
        repeats."""
        import optuna

        self._repeats += 1
        if value is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, value)
        self.plans[trial.number] = plan
        self.board.append(record(
            trial.number, plan.levers, plan.params, state="pruned", seconds=0.0,
            baseline=plan.baseline, error=f"the same plan as trial {first}: {REPEAT}",
        ))

    def _pruning_hook(
        self, trial: Any, prune: bool
    ) -> Callable[[np.ndarray, np.ndarray, int], None]:
        """Report the value on the folds done so far; prune unless ``prune`` is False (the
        first trials, which every later trial is compared with)."""
        import optuna

        def hook(scored: np.ndarray, oof: np.ndarray, step: int) -> None:
            groups = None if self.groups is None else self.groups[scored]
            try:
                partial = threshold_on(self.y[scored], oof[scored], self.req, groups)
            except Exception:  # a partial fold set that cannot be judged is not pruned
                return
            trial.report(rank_value(partial), step)
            if prune and trial.should_prune():
                raise optuna.TrialPruned

        return hook

    def _keep(self) -> int | None:
        """Drop the out-of-fold scores no later step needs; return the best trial."""
        from fnguard.search.contributions import lever_trials

        res = self.result(0.0)
        keep = set(self.baselines) | {res.best}
        for lever in {name for t in self.decisions for name in self.plans[t].levers}:
            with_it, alone = lever_trials(res, lever)
            keep.add(res.best_of(alone or with_it))  # the trial contributions measures
        for t in list(self.oof):
            if t not in keep:
                del self.oof[t]
        return res.best

    def _progress(self, best: int | None, start: float, budget: float) -> Progress:
        states = {"complete": 0, "pruned": 0, "failed": 0}
        for r in self.board:
            states[r["state"]] += 1
        text = None
        if best is not None:
            r = self.board[best]
            text = f"{' + '.join(r['levers'])}: {_short(r, self.req)}"
        return Progress(
            trials=len(self.board), complete=states["complete"], pruned=states["pruned"],
            failed=states["failed"], best=text, elapsed=time.monotonic() - start,
            budget=budget, last=self.board[-1],
        )


def _short(r: dict[str, Any], req: Requirement) -> str:
    """``recall 0.951, precision 0.210`` of a record (out of fold)."""
    parts = []
    for name in ("recall", "precision"):
        v = r[name]["value"]
        if v is not None:
            parts.append(f"{name} {v:.3f}")
    if req.kind == "cost" and r["objective"] is not None:
        parts.append(f"cost {r['objective']:.4g}/row")
    if req.kind == "constraint" and not r["met"]:
        parts.append("not met")
    return ", ".join(parts) if parts else "-"


def _plan_key(plan: Plan) -> str:
    """The pipeline a plan builds, as text: equal plans build equal pipelines."""
    return json.dumps([plan.levers, plan.params], sort_keys=True, default=repr)
