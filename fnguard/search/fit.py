"""``fnguard.fit``: search the levers against a requirement, honestly, and return a Guard.

1. A stratified final test set is split off first, or given as its own table
   (:mod:`fnguard.search.test_table`); nothing that chooses ever sees it.
2. The levers are searched by stratified cross-validation on the rest
   (:func:`fnguard.search.runner.run_search`).
3. The winner is refitted on all the search rows and keeps the threshold chosen on its
   out-of-fold scores; when the requirement asks for a guarantee (``"recall>=0.95 @95%"``) it
   is refitted on the search rows minus a stratified calibration split instead, and its
   threshold is chosen on that split, which it did not train on. The review band is placed
   on the same scores.
4. The Guard is scored once on the test set, with intervals, beside a plain logistic
   regression fitted on the same rows (at threshold 0.5 and at its own tuned threshold).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from fnguard.data import Dataset, load_table
from fnguard.data.leaks import leak_notes
from fnguard.data.names import format_names, plural
from fnguard.decide import (
    DEFAULT_MARGIN,
    Requirement,
    check_margin,
    choose_threshold,
    parse_requirement,
    review_band,
    with_margin,
)
from fnguard.decide.guarantee import positives_needed
from fnguard.decide.requirement import GUARANTEED
from fnguard.errors import DataError, FnguardError, RequirementError
from fnguard.guard_files import check_destination
from fnguard.levers import build
from fnguard.levers.features import ONEHOT_MAX_LEVELS, many_levels
from fnguard.metrics import summary
from fnguard.search.budget import SearchError, format_seconds, parse_budget
from fnguard.search.contributions import contributions
from fnguard.search.leaderboard import is_repeat, jsonable
from fnguard.search.objective import FoldExecutor, oof_scores, positive_scores, threshold_on
from fnguard.search.runner import (
    FRESH_SPLITS,
    Progress,
    SearchResult,
    check_jobs,
    run_search,
)
from fnguard.search.space import TARGET_ENCODING, Plan, Pool, resolve_pool
from fnguard.search.split import cv_folds, guarantee_split, holdout_split
from fnguard.search.test_table import read_test_table

__all__ = ["FLAGS_ALMOST_ALL", "REVIEW_CAPACITY", "fit"]

#: A false-positive rate on the test set from which the Guard is said to flag nearly everyone.
FLAGS_ALMOST_ALL = 0.9

#: Share of cases the review band may hold.
REVIEW_CAPACITY = "2%"
#: Share of the rows held out as the final test set when no test table is given.
DEFAULT_TEST_SIZE = 0.2
#: Bootstrap replicates of the final test-set intervals.
N_BOOT = 1000


def fit(
    data: Any,
    target: str | None = None,
    positive: Any = None,
    require: str | Requirement = "recall>=0.95",
    *,
    budget: float | str = "2m",
    levers: str | Sequence[str] | None = None,
    test: Any = None,
    test_size: float | None = None,
    cv: int = 5,
    seed: int = 0,
    jobs: int = 2,
    drop: str | Iterable[str] | None = None,
    progress: Callable[[Progress], None] | None = None,
    out: str | os.PathLike[str] | None = None,
    max_trials: int | None = None,
    margin: float | None = DEFAULT_MARGIN,
    executor: FoldExecutor | None = None,
    _threshold_splits: int | None = None,
) -> Any:
    """Search the levers for the pipeline and threshold that meet a requirement best.

    Parameters
    ----------
    data : path, DataFrame or Dataset
        A CSV or Parquet file, a DataFrame, or a :class:`~fnguard.data.Dataset` (then
        ``target``, ``positive`` and ``drop`` are taken from it).
    target : str
        The label column (not needed with a Dataset).
    positive : scalar, optional
        The positive label; the minority class when omitted (with a note).
    require : str or Requirement, default="recall>=0.95"
        What the Guard must achieve (:func:`fnguard.decide.parse_requirement`).
    budget : float or str, default="2m"
        Time for the whole fit: seconds or ``"90s"``, ``"10m"``, ``"1h"``.
    levers : str or sequence of str, optional
        The levers to search (``fnguard levers`` lists them); a fast default pool otherwise.
    test : path, DataFrame or Dataset, optional
        A labelled table kept apart as the final test set (the last month, another site, a
        fixed benchmark split), with the training table's feature and target columns. Then
        no rows of ``data`` are held out: all of them serve the search and the refit, and the
        Guard is scored once on ``test``, read as :meth:`Guard.predict` reads new data.
    test_size : float, optional
        Share of rows of ``data`` held out as the final test set when no ``test`` table is
        given (default 0.2).
    cv : int, default=5
        Cross-validation folds of the search (fewer, with a note, when positives are few).
    seed : int, default=0
        Seed of the splits, the search and every lever.
    jobs : int, default=2
        Folds fitted at once (worker processes); -1 for every core.
    drop : str or iterable of str, optional
        Columns to leave out of the features (ids, columns that leak the label).
    progress : callable, optional
        Called with a :class:`~fnguard.search.runner.Progress` after each trial.
    out : path, optional
        Folder to save the Guard to (``Guard.save``).
    max_trials : int, optional
        Stop the search after this many trials even with time left (reproducible runs).
    margin : float or None, default=0.9
        For a constraint without a guarantee (``recall>=0.95``, ``fpr<=0.01``, ...): the
        confidence with which the final threshold should meet it on new data. The threshold
        is chosen on the winner's out-of-fold scores with the exact order-statistic rule of a
        guarantee at this confidence (:func:`fnguard.decide.with_margin`), instead of at the
        edge, where new data misses the target about half of the time. None or 0: the point
        estimate. Ignored for requirements with a guarantee ``@..%`` and for objectives.
    executor : FoldExecutor, optional
        Where the search's folds run instead of this machine's worker processes (its ``jobs``
        replaces ``jobs``); :func:`fnguard.distributed.fit_dask` passes
        :class:`fnguard.distributed.folds.DaskFolds` to spread them over a cluster's workers.
    _threshold_splits : int, optional
        Internal: new fold splits that choose the threshold (default 3);
        :func:`fnguard.distributed.fit_dask` passes 0, as it chooses its own on held-out
        partitions.

    Returns
    -------
    Guard
        ``met`` says whether the requirement held on the final test set.

    Raises
    ------
    DataError, RequirementError, LeverError, SearchError
        For bad input: a missing or non-binary target, a requirement that does not parse, an
        unknown lever, a budget that cannot be read or is too short, too few positives.

    Examples
    --------
    >>> import fnguard
    >>> from fnguard.data.datasets import load_digits
    >>> guard = fnguard.fit(load_digits(), require="recall>=0.9", budget=30,
    ...                     levers=["logistic"], cv=3, jobs=1, max_trials=2)
    >>> guard.levers, guard.metrics["recall"]["value"] >= 0.8
    (['logistic'], True)
    """
    started = time.monotonic()
    created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    seconds = parse_budget(budget)
    req = parse_requirement(require)
    jobs = check_jobs(jobs)
    try:
        margin = check_margin(margin)
    except ValueError as exc:
        raise SearchError(str(exc)) from None
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not (
        0 <= int(seed) < 2**32
    ):
        raise SearchError(
            f"'seed' (--seed) must be an integer in [0, 4294967295]. Got {seed!r} instead."
        )
    if max_trials is not None and (isinstance(max_trials, bool) or int(max_trials) < 1):
        raise SearchError(f"'max_trials' must be an integer >= 1. Got {max_trials!r} instead.")
    pool = resolve_pool(levers)
    if out is not None:
        check_destination(out)  # before the search, not after it
    dataset = _dataset(data, target, positive, drop)
    notes = list(dataset.notes) + list(pool.notes)
    cores = os.cpu_count() or 1
    if jobs > cores:  # more processes than cores only slow each other down
        notes.append(
            f"jobs={jobs} (--jobs) is more than this machine's {plural(cores, 'core')}: "
            f"{plural(cores, 'fold')} at once."
        )
        jobs = cores
    if levers is None:
        pool, note = _with_target_encoding(pool, dataset.schema)
        notes += [note] if note else []
    X, y = dataset.X, np.asarray(dataset.y, dtype=bool)
    groups = _groups(req, X)

    if test is None:
        test_size = DEFAULT_TEST_SIZE if test_size is None else test_size
        search_rows, test_rows = holdout_split(y, test_size, seed)
        X_s, y_s = X.iloc[search_rows], y[search_rows]
        X_t, y_t = X.iloc[test_rows], y[test_rows]
        g_s = None if groups is None else groups[search_rows]
        test_source, test_notes = None, []
    else:
        if test_size is not None:
            raise SearchError(
                f"Both a test table and a test size ({test_size!r}) were given: pass one. The "
                "test table (--test) is the final test set; a test size (--test-size) holds "
                "out a share of the training table instead."
            )
        held = read_test_table(test, dataset)
        notes += held.notes
        test_notes = held.notes
        X_s, y_s, g_s = X, y, groups
        X_t, y_t, test_source = held.X, held.y, held.source
    notes += _leak_notes(X_s, y_s, seed)
    folds, fold_notes = cv_folds(y_s, cv, seed)
    notes += fold_notes
    if req.guaranteed:
        left = "are left after the test split" if test is None else "are in the training table"
        _, cal_rows = guarantee_split(y_s, req, seed, left=left)
        if g_s is not None:  # every group must be able to hold the guarantee: say so now
            _check_groups(req, y_s[cal_rows], g_s[cal_rows], int(y_s.size))

    with _quiet():
        result = run_search(
            X_s, y_s, dataset.schema, req, folds, pool=pool, budget=seconds, seed=seed,
            jobs=jobs, max_trials=max_trials, groups=g_s, progress=progress, start=started,
            executor=executor,
        )
    notes += result.notes
    if result.best is None:
        raise _nothing_finished(result, seconds)
    plan = result.plans[result.best]

    with _quiet():
        final = _final_model(plan, dataset, X_s, y_s, g_s, req, result, seed, margin,
                             fresh={"folds": len(folds), "jobs": jobs, "executor": executor,
                                    "deadline": started + seconds,
                                    "splits": _threshold_splits})
        test_scores = positive_scores(final["pipeline"], X_t)
    metrics, met = _test_metrics(y_t, test_scores, final["threshold"], req, seed)
    with _quiet():
        reference = _reference(dataset, X_s, y_s, X_t, y_t, folds, req, result,
                               seed, jobs, g_s)
    counts = (int(y_s.sum()), int(y_s.size - y_s.sum()))
    notes += final["notes"] + _verdict_notes(req, result, final, metrics, met, counts)
    states = result.states()
    info = {
        "budget": seconds,
        "elapsed": round(time.monotonic() - started, 3),
        "search_seconds": round(result.elapsed, 3),
        "trials": states,
        "n_trials": len(result.leaderboard),
        "cv": len(folds),
        "cv_asked": cv,
        "test_size": test_size,
        **({"test_table": test_source, "test_notes": test_notes}
           if test_source is not None else {}),
        "split": {
            "rows": int(y_s.size + y_t.size),
            "positives": int(y_s.sum() + y_t.sum()),
            "search_rows": int(y_s.size),
            "search_positives": int(y_s.sum()),
            "test_rows": int(y_t.size),
            "test_positives": int(y_t.sum()),
            **final["split"],
        },
        "seed": seed,
        "jobs": jobs,
        "requirement": req.describe(),
        "threshold_from": final["threshold_from"],
        "threshold_splits": final["threshold_splits"],
        "margin": final["margin"],
        "calibration": final["calibration"],
        "choice": final["choice"],
        "review": final["review"],
        "best_trial": result.best,
        "baseline_trials": list(result.baselines),
        "reference": reference,
        "contributions": contributions(result, y_s),
        "pool": pool.names,
        "notes": notes,
        "fingerprint": fingerprint(X, y),
        "source": dataset.source,
        "dropped": list(dataset.dropped),
        "versions": versions(),
        "created": created,
    }
    from fnguard.guard import Guard

    guard = Guard(
        pipeline=final["pipeline"],
        schema=dataset.schema,
        target=dataset.target,
        positive=dataset.positive,
        negative=dataset.negative,
        requirement=req.describe(),
        threshold=float(final["threshold"]),
        review_band=final["band"],
        levers=list(plan.levers),
        params={k: dict(v) for k, v in plan.params.items()},
        metrics=metrics,
        met=bool(met),
        leaderboard=result.leaderboard,
        info=jsonable(info),
        holdout=pd.DataFrame({"y": y_t, "score": test_scores}),
    )
    if out is not None:
        guard.save(out)
    return guard


def _leak_notes(X: pd.DataFrame, y: np.ndarray, seed: int) -> list[str]:
    """:func:`~fnguard.data.leaks.leak_notes`, looked at on the search rows only."""
    return leak_notes(X, y, seed=seed)


def _with_target_encoding(pool: Pool, schema: Any) -> tuple[Pool, str | None]:
    """The default pool plus 'encode:target' when a categorical column has more levels than
    one-hot encoding keeps, with the note that says so."""
    wide = many_levels(schema)
    if not wide or TARGET_ENCODING in pool.transformers:
        return pool, None
    shown = format_names([f"'{name}'" for name in wide])
    note = (
        f"{plural(len(wide), 'categorical column')} with more than {ONEHOT_MAX_LEVELS} levels "
        f"({shown}): one-hot encoding keeps the {ONEHOT_MAX_LEVELS} most frequent of each, "
        f"so '{TARGET_ENCODING}' (each level's cross-fitted positive rate) joins the search."
    )
    return replace(pool, transformers=(*pool.transformers, TARGET_ENCODING)), note


def _dataset(data: Any, target: str | None, positive: Any, drop: Any) -> Dataset:
    if isinstance(data, Dataset):
        if target is not None and str(target) != data.target:
            raise DataError(
                f"The Dataset's target is '{data.target}', not '{target}': leave 'target' out "
                "when passing a Dataset, or load the table again with that target."
            )
        return data
    if target is None:
        raise DataError(
            "No target column was given: pass target='column' (--target on the command line), "
            "the column that holds the labels."
        )
    return load_table(data, target, positive, drop=drop)


def _groups(req: Requirement, X: pd.DataFrame) -> np.ndarray | None:
    if req.per is None:
        return None
    if req.per not in X.columns:
        raise RequirementError(
            f"The requirement {req.text!r} asks for a guarantee per {req.per!r}, which is not a "
            f"feature column: use one of {', '.join(map(str, X.columns[:10]))}."
        )
    return X[req.per].astype(str).to_numpy()


def _check_groups(req: Requirement, y_cal: np.ndarray, g_cal: np.ndarray, n_rows: int) -> None:
    """Raise SearchError before the search when some group's rows in the calibration split
    could not hold the guarantee whatever the model (a perfect ranking cannot meet it)."""
    from fnguard.decide.policies import decide_on_curve
    from fnguard.metrics.confusion import _curve_from_scores

    short: list[tuple[str, int, int]] = []
    levels = sorted(set(g_cal.tolist()))
    for level in levels:
        is_pos = y_cal[g_cal == level]
        try:
            if not is_pos.any() or is_pos.all():
                raise RequirementError("one class only")
            curve = _curve_from_scores(is_pos.astype(np.float64), is_pos)
            decide_on_curve(curve, req, n_boot=0)
        except RequirementError:
            short.append((str(level), int(is_pos.sum()), int((~is_pos).sum())))
    if not short:
        return
    shown = ", ".join(f"'{g}' ({p:,} positives, {n:,} negatives)" for g, p, n in short[:5])
    more = f" and {len(short) - 5:,} more" if len(short) > 5 else ""
    need = positives_needed(req)
    needs = (
        f"a guarantee of {req.metric} needs at least {need:,} positives per group"
        if req.metric in ("recall", "fnr") else
        f"a guarantee of {req.metric} needs enough negatives (and a positive) per group"
    )
    raise SearchError(
        f"The requirement {req.text!r} must hold in every group of {req.per!r}, but "
        f"{len(short):,} of the {len(levels):,} groups have too few rows in the calibration "
        f"split (a quarter or more of the {n_rows:,} search rows) for it: {shown}{more}; "
        f"{needs}. Merge the rare groups into one level, add rows, lower the guarantee's "
        f"confidence or target, or drop 'per {req.per}'."
    )


def operating_point(
    y: np.ndarray,
    scores: np.ndarray,
    req: Requirement,
    *,
    margin: float | None,
    groups: Any = None,
    seed: int = 0,
    n_boot: int = 200,
) -> dict[str, Any]:
    """The threshold and review band of a final model, chosen on scores it did not train on.

    A plain constraint gets the safety margin (:func:`fnguard.decide.with_margin`) before the
    threshold is chosen; the review band sits directly above that threshold. Used by
    :func:`fit`, ``fnguard retrain`` and the Dask fit, so that all three choose alike.
    ``n_boot`` replicates give the threshold's interval (0: none; the threshold is the same).

    Returns
    -------
    dict
        ``decision`` (:class:`~fnguard.decide.Decision`), ``band`` (``(lower, upper)`` or
        None), ``review`` (the band's record or None), ``req`` (the requirement the threshold
        was chosen with) and ``notes``.

    Examples
    --------
    >>> y = np.r_[np.ones(50, bool), np.zeros(450, bool)]
    >>> s = np.r_[np.linspace(0.3, 1, 50), np.linspace(0, 0.7, 450)]
    >>> p = operating_point(y, s, parse_requirement("recall>=0.8"), margin=0.9)
    >>> p["req"].confidence, p["band"][0] == p["decision"].threshold
    (0.9, True)
    """
    req_dec, margin_note = with_margin(req, y, margin)
    notes = [margin_note] if margin_note else []
    decision = choose_threshold(y, scores, req_dec, positive=True, groups=groups, n_boot=n_boot,
                                random_state=seed)
    band, review = None, None
    try:
        rb = review_band(y, scores, req_dec, REVIEW_CAPACITY, positive=True)
        band, review = (float(rb.lower), float(rb.upper)), rb.to_dict()
        if rb.n_review == 0 and rb.n_auto_positive > 0:
            tied = int(np.sum(scores == rb.lower))
            notes.append(
                f"The review band is empty: the {plural(tied, 'row')} at the threshold "
                f"share one score ({len(np.unique(scores)):,} distinct scores in all), more "
                f"than the review capacity ({REVIEW_CAPACITY} of the rows, "
                f"{rb.capacity:,}), so no case is routed to review. A model with finer "
                "scores, or review capacity for a whole tie, would fill it."
            )
    except FnguardError as exc:
        notes.append(f"No review band was placed: {exc}")
    return {"decision": decision, "band": band, "review": review, "req": req_dec,
            "notes": notes}


def _final_model(
    plan: Plan, dataset: Dataset, X: pd.DataFrame, y: np.ndarray, groups: Any,
    req: Requirement, result: SearchResult, seed: int, margin: float | None = None,
    fresh: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The winner refitted, its threshold, review band and where both were chosen.

    Without a guarantee, the threshold is chosen on out-of-fold scores of the winner from
    :data:`~fnguard.search.runner.FRESH_SPLITS` new fold splits (``fresh``: the number of
    folds, ``jobs``, ``executor`` and the budget's ``deadline``), not on the search's own: the
    search picked
    the winner as the best of many trials on its folds' scores, which flatters it there, and a
    threshold chosen on them misses more positives on new data. Each split chooses its
    threshold; the median one (the lower of two), among the splits whose threshold meets the
    requirement if any, is kept with its scores. Splits the budget
    has no time for are left out; with none, the search's scores are used and a note says so.
    """
    pipeline = build(plan.levers, dataset.schema, params=plan.params, random_state=seed)
    notes = list(getattr(pipeline, "fnguard_notes_", []))
    split: dict[str, int] = {}
    if req.guaranteed:
        fit_rows, cal_rows = guarantee_split(y, req, seed)
        pipeline.fit(X.iloc[fit_rows], y[fit_rows])
        scores = positive_scores(pipeline, X.iloc[cal_rows])
        y_dec, g_dec = y[cal_rows], None if groups is None else groups[cal_rows]
        threshold_from = "calibration"
        split = {"fit_rows": int(fit_rows.size), "calibration_rows": int(cal_rows.size),
                 "calibration_positives": int(y_dec.sum())}
        notes.append(
            f"The requirement asks for a guarantee: the model was fitted on {fit_rows.size:,} "
            f"search rows and its threshold chosen on the other {cal_rows.size:,} "
            f"({int(y_dec.sum()):,} positives), which it did not train on."
        )
    else:
        pipeline.fit(X, y)
        y_dec, g_dec = y, groups
        threshold_from = "out-of-fold"
    fresh_record = None
    if req.guaranteed:
        point = operating_point(y_dec, scores, req, margin=margin, groups=g_dec, seed=seed)
    else:
        scores, point, fresh_record, fresh_note = _fresh_threshold(
            plan, dataset, X, y, groups, req, result, seed, margin, fresh or {})
        notes += [fresh_note]
    decision, band, review = point["decision"], point["band"], point["review"]
    req_dec = point["req"]
    notes += point["notes"]
    threshold = decision.threshold
    calibration = None
    if not req.guaranteed:
        from fnguard.search.calibration import calibrate_winner

        pipeline, threshold, band, calibration = calibrate_winner(
            pipeline, scores, y_dec, threshold, band, seed
        )
        if calibration["applied"]:
            notes.append(
                f"The winner's scores were not calibrated (out-of-fold ECE "
                f"{calibration['ece_before']:.3f}): a Platt map fitted on its out-of-fold "
                f"scores brings it to {calibration['ece_after']:.3f} (cross-fitted) without "
                "changing any decision; the threshold and review band are mapped with it."
            )
    return {
        "pipeline": pipeline,
        "threshold": threshold,
        "calibration": calibration,
        "band": band,
        "review": review,
        "threshold_from": threshold_from,
        "threshold_splits": fresh_record,
        "margin": req_dec.confidence if req_dec is not req else None,
        "choice": decision.to_dict(),
        "split": split,
        "notes": notes,
    }


def _fresh_threshold(
    plan: Plan, dataset: Dataset, X: pd.DataFrame, y: np.ndarray, groups: Any,
    req: Requirement, result: SearchResult, seed: int, margin: float | None,
    fresh: dict[str, Any],
) -> tuple[np.ndarray, dict[str, Any], dict[str, Any], str]:
    """The winner's threshold on new fold splits (see :func:`_final_model`): the chosen
    split's scores, its operating point, a record (``splits``: how many ran, ``thresholds``)
    and a note."""
    from fnguard.search.objective import OutOfTime

    k = int(fresh.get("folds") or len(result.fold_seconds.get(result.best, [])) or 5)
    jobs = max(1, int(fresh.get("jobs") or 1))
    deadline = fresh.get("deadline")
    per_split = float(np.sum(result.fold_seconds.get(result.best, [0.0]))) / jobs
    runs: list[np.ndarray] = []
    wanted = FRESH_SPLITS if fresh.get("splits") is None else int(fresh["splits"])
    for r in range(wanted):
        if deadline is not None and time.monotonic() + per_split > deadline:
            break
        folds, _ = cv_folds(y, k, seed + 1 + r)
        model = build(plan.levers, dataset.schema, params=plan.params, random_state=seed)
        try:
            oof, _ = oof_scores(model, X, y, folds, jobs=jobs, deadline=deadline,
                                executor=fresh.get("executor"))
        except OutOfTime:
            break
        runs.append(oof)
    if not runs:
        scores = result.oof[result.best]
        point = operating_point(y, scores, req, margin=margin, groups=groups, seed=seed)
        return scores, point, {"splits": 0, "thresholds": []}, (
            "The threshold was chosen on the search's own out-of-fold scores"
            + (": no new fold split was asked for." if wanted == 0 else
               ": the budget left no time to score the winner on new fold splits. The search "
               "picked the winner as the best of its trials on those scores, which flatters "
               "it, so new data may miss a few more positives; a longer --budget leaves the "
               "time.")
        )
    # the threshold and whether it meets do not depend on the bootstrap of the threshold's
    # interval: it runs once, for the split kept
    points = [operating_point(y, s, req, margin=margin, groups=groups, seed=seed, n_boot=0)
              for s in runs]
    thresholds = [float(p["decision"].threshold) for p in points]
    # among the splits that meet the requirement, if any: the median; the lower of two
    # (the one that catches more)
    met = [i for i, p in enumerate(points) if p["decision"].met] or list(range(len(runs)))
    order = sorted(met, key=lambda i: (thresholds[i], i))
    pick = order[(len(order) - 1) // 2]
    kept = operating_point(y, runs[pick], req, margin=margin, groups=groups, seed=seed)
    shown = ", ".join(f"{t:.4g}" for t in thresholds)
    return runs[pick], kept, {"splits": len(runs), "thresholds": thresholds}, (
        f"The threshold was chosen on the winner's out-of-fold scores from "
        f"{plural(len(runs), 'new fold split')} ({k} folds each; thresholds {shown}; the "
        f"{'median' if len(order) > 2 else 'lower' if len(order) == 2 else 'one'} of "
        f"{'those that meet the requirement' if len(order) < len(runs) else 'them'} kept), "
        "not on "
        "the search's own folds: the search picked the winner as the best of its trials on "
        "those, which flatters it, and a threshold chosen there does worse on new data (for "
        "a recall target: more misses)."
        + ("" if len(runs) == wanted else
           f" The budget left time for {len(runs)} of {wanted} splits.")
    )


def _test_metrics(
    y: np.ndarray, scores: np.ndarray, threshold: float, req: Requirement, seed: int
) -> tuple[dict[str, Any], bool]:
    """The one scoring on the test set: every metric with its interval, counts, and met."""
    from fnguard.decide import evaluate_threshold
    from fnguard.metrics.confusion import _curve_from_scores

    curve = _curve_from_scores(np.asarray(scores, dtype=np.float64), y)
    decision = evaluate_threshold(curve, req, threshold, n_boot=N_BOOT, random_state=seed)
    metrics = {name: jsonable(est.to_dict()) for name, est in decision.metrics.items()}
    tp, fp, tn, fn = curve.counts_at(threshold)
    metrics.update(n=int(y.size), n_positive=int(y.sum()), tp=tp, fp=fp, tn=tn, fn=fn)
    if decision.value is not None:
        metrics["requirement_value"] = jsonable(decision.value)
    return metrics, bool(decision.met)


def _with_interval(got: dict[str, Any]) -> str:
    """``0.8123 [0.7012, 0.8911]``, without the brackets when there is no interval (such as
    the precision of a threshold that flags no row)."""
    value, low, high = got.get("value"), got.get("low"), got.get("high")
    if value is None or not np.isfinite(value):
        return "undefined"
    if low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return f"{value:.4f}, no interval"
    return f"{value:.4f} [{low:.4f}, {high:.4f}]"


def _guarantee_fits(req: Requirement, counts: tuple[int, int]) -> bool:
    """Whether the search rows (``counts``: positives, negatives) can calibrate the guarantee
    ``req @95%`` (at most half of them calibrate)."""
    from fnguard.decide.guarantee import negatives_needed, positives_needed
    from fnguard.decide.requirement import parse_requirement

    wanted = parse_requirement(f"{req.describe()} @95%")
    return (positives_needed(wanted) <= counts[0] // 2
            and negatives_needed(wanted) <= counts[1] // 2)


def _margin_advice(req: Requirement, margin: float, counts: tuple[int, int]) -> str:
    """How to narrow the gap between a margin's threshold and the test set: a higher margin
    when the search rows (``counts``: positives, negatives) hold enough to keep it (else the
    threshold falls back to the point estimate), or more data."""
    from fnguard.decide.guarantee import min_positives, rule_target

    higher = max(0.95, round(margin + 0.04, 2))
    have = counts[0] if req.metric in ("recall", "fnr") else counts[1]
    kind = "positives" if req.metric in ("recall", "fnr") else "negatives"
    if higher < 1 and min_positives(rule_target(req), higher) <= have:
        return f"a higher margin (--margin {higher:g}) or more data narrows the gap."
    return (
        f"more data narrows the gap (a higher margin needs more {kind} than the {have:,} "
        "here, and without enough the threshold is the point estimate)."
    )


def _guarantee_advice(req: Requirement, counts: tuple[int, int]) -> str:
    """Advice to ask for a guarantee, naming one the search rows (``counts``: positives,
    negatives) can calibrate: ``req @95%``, or else the guarantees within their reach."""
    from fnguard.decide.guarantee import negatives_needed, positives_needed
    from fnguard.decide.requirement import parse_requirement
    from fnguard.search.split import _within_reach

    text = f"{req.describe()} @95%"
    if _guarantee_fits(req, counts):
        return f"Ask for a guarantee ('{text}') to keep a margin."
    wanted = parse_requirement(text)
    on_positives = req.metric in ("recall", "fnr")
    need = positives_needed(wanted) if on_positives else negatives_needed(wanted)
    spare = (counts[0] if on_positives else counts[1]) // 2
    kind = "positives" if on_positives else "negatives"
    return (
        f"A guarantee would keep a margin, but '{text}' needs {need} {kind} to calibrate on "
        f"and this table can spare {spare}{_within_reach(wanted, spare)}; more data would "
        "allow it."
    )


def _verdict_notes(
    req: Requirement, result: SearchResult, final: dict[str, Any], metrics: dict[str, Any],
    met: bool, counts: tuple[int, int] = (0, 0),
) -> list[str]:
    """What the user should know about whether the requirement held, and why (``counts``:
    the search rows' positives and negatives, for a guarantee's advice)."""
    notes = []
    if not result.leaderboard[result.best]["met"]:
        notes.append(
            "No trial met the requirement out of fold: the closest one was kept. Relax the "
            "requirement, give the search more time or more levers, or add data."
        )
    elif not final["choice"].get("met", True):
        value = final["choice"].get("value")
        shown = f" (out of fold {value:.4f})" if value is not None else ""
        notes.append(
            "The winner met the requirement on the search's folds but not on new fold splits "
            f"of it{shown}: the search's folds flattered it, and the closest threshold was "
            "kept. Relax the requirement, give the search more time or more levers, or add "
            "data."
        )
    elif not met and req.kind == "constraint":
        where = "out of fold" if final["threshold_from"] == "out-of-fold" else "on calibration"
        value = final["choice"].get("value")
        got = metrics.get(req.metric, {})
        on_test = _with_interval(got)
        notes.append(
            f"The threshold met {req.metric}{req.op}{req.target:g} {where} ({value:.4f}) but "
            f"not on the test set ({on_test}): a threshold chosen at "
            "the edge of the requirement misses it on new data about half the time. "
            + (_guarantee_advice(req, counts)
               if req.metric in GUARANTEED else
               f"A {req.metric} target can carry no margin or guarantee (they are for recall, FNR, "
               "FPR and specificity): ask for a slightly stricter target than you need, or give "
               "more data.")
            if not req.guaranteed and not final.get("margin") else
            f"The threshold met {req.metric}{req.op}{req.target:g} out of fold with a "
            f"{final['margin']:.0%} safety margin ({value:.4f}) but not on the test set "
            f"({on_test}): a margin holds with its confidence, not always; "
            + _margin_advice(req, final["margin"], counts)
            if not req.guaranteed else
            f"The guarantee held on the calibration split but {req.metric} fell short on the "
            f"test set ({on_test}): a guarantee holds with the stated probability, not always."
        )
    elif met and req.kind == "constraint":
        counted = _cases_behind(req.metric, metrics)
        got = metrics.get(req.metric, {})
        if counted is not None and counted < FEW_CASES and got.get("low") is not None:
            notes.append(
                f"{req.metric} met {req.metric}{req.op}{req.target:g} on the test set "
                f"({got['value']:.4f}), but from {plural(counted, 'case')} only (95% interval "
                f"[{got['low']:.4f}, {got['high']:.4f}]): the test set can hardly confirm it. "
                + ("More data would."
                   if req.guaranteed or req.metric not in GUARANTEED
                   or not _guarantee_fits(req, counts) else
                   "More data would, or a guarantee on a calibration split "
                   f"('{req.describe()} @95%').")
            )
    if (req.kind == "constraint" and result.leaderboard[result.best]["met"]
            and final["choice"].get("met", True)):
        chosen = final["choice"].get("metrics") or {}
        oof = {k: _count(chosen.get(k)) for k in ("tp", "fp", "tn", "fn")}
        behind = _cases_behind(req.metric, oof)
        if behind is not None and behind < FEW_CASES:
            what = {"precision": "flagged row", "recall": "positive", "fnr": "positive"}.get(
                req.metric, "negative")
            notes.append(
                f"Out of fold, the threshold met {req.metric}{req.op}{req.target:g} from "
                f"{plural(behind, what)} only: a choice resting on so few cases is fragile. "
                "More data, or a requirement that flags more rows, gives a firmer one."
            )
    if int(metrics.get("tp", 0)) + int(metrics.get("fp", 0)) == 0:
        notes.append(
            "The threshold flags no row of the test set: its precision is undefined there "
            "(shown as 0, as scikit-learn does)."
        )
    fpr = (metrics.get("fpr") or {}).get("value")
    if fpr is not None and np.isfinite(fpr) and fpr >= FLAGS_ALMOST_ALL:
        notes.append(
            f"The Guard flags {fpr:.0%} of the negative rows of the test set: it is barely "
            "better than flagging everyone. The features may not tell the classes apart at "
            "this requirement: relax it, give the search more time, or add informative columns."
        )
    return notes


#: Cases behind a test-set metric (positives for recall, flagged rows for precision) below
#: which meeting the requirement there gets a note: its interval is too wide to confirm it.
FEW_CASES = 20


def _count(value: Any) -> int:
    """A count from a metrics record: a number, or an estimate's ``value``."""
    if isinstance(value, dict):
        value = value.get("value")
    return int(value) if isinstance(value, int | float | np.integer | np.floating) else 0


def _cases_behind(metric: str, metrics: dict[str, Any]) -> int | None:
    """The number of test rows a metric is a share of, or None for a metric not listed."""
    tp, fp, tn, fn = (int(metrics.get(k, 0)) for k in ("tp", "fp", "tn", "fn"))
    return {
        "recall": tp + fn, "fnr": tp + fn, "precision": tp + fp,
        "fpr": fp + tn, "specificity": fp + tn,
    }.get(metric)


def _operating_point(y: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    s = summary(y, scores, threshold, positive=True, n_boot=0)
    point = {"threshold": jsonable(float(threshold))}
    for name in ("tp", "fp", "tn", "fn"):
        point[name] = int(s[name].value)
    for name in ("recall", "precision", "fpr"):
        point[name] = jsonable({k: v for k, v in s[name].to_dict().items() if k != "method"})
    return point


def _reference(
    dataset: Dataset, X_s: pd.DataFrame, y_s: np.ndarray, X_t: pd.DataFrame, y_t: np.ndarray,
    folds: list, req: Requirement, result: SearchResult, seed: int, jobs: int, groups: Any,
) -> dict[str, Any]:
    """A plain logistic regression on the same rows: at 0.5 and at its out-of-fold threshold."""
    pipeline = build(["logistic"], dataset.schema, random_state=seed)
    plain = [t for t in result.baselines
             if result.plans[t].levers == ["logistic"] and t in result.oof]
    if plain:
        oof = result.oof[plain[0]]
    else:
        oof, _ = oof_scores(pipeline, X_s, y_s, folds)
    tuned = threshold_on(y_s, oof, req, groups).threshold
    model = pipeline.fit(X_s, y_s)
    scores = positive_scores(model, X_t)
    return {
        "model": "logistic",
        "logistic_at_0.5": _operating_point(y_t, scores, 0.5),
        "logistic_tuned": _operating_point(y_t, scores, tuned),
    }


def _nothing_finished(result: SearchResult, seconds: float) -> SearchError:
    failed = [r for r in result.leaderboard if r["state"] == "failed"]
    if failed and len(failed) == sum(not is_repeat(r) for r in result.leaderboard):
        reasons = "; ".join(f"{' + '.join(r['levers'])}: {r['error']}" for r in failed[:3])
        return SearchError(
            f"Every trial failed ({len(failed)}), so there is no model to keep: {reasons}. "
            "Check the data, or search other levers."
        )
    took = max((r["seconds"] for r in result.leaderboard), default=0.0)
    hint = max(2 * math.ceil(took + 1), int(2 * seconds))
    return SearchError(
        f"The budget of {format_seconds(seconds)} ran out before one trial finished "
        f"(the first ran {format_seconds(took)}): give a budget of at least "
        f"{format_seconds(hint)}, fewer folds (--cv 3) or fewer rows."
    )


def fingerprint(X: pd.DataFrame, y: np.ndarray) -> str:
    """``sha256:...`` of the features (values, names, order) and labels.

    Examples
    --------
    >>> a = fingerprint(pd.DataFrame({"x": [1, 2]}), np.array([True, False]))
    >>> a == fingerprint(pd.DataFrame({"x": [1, 2]}), np.array([True, False])), a[:7]
    (True, 'sha256:')
    """
    h = hashlib.sha256()
    h.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    h.update("\x1f".join(map(str, X.columns)).encode())
    h.update(np.asarray(y, dtype=bool).tobytes())
    return "sha256:" + h.hexdigest()


def versions() -> dict[str, str]:
    """Versions of Python and of the libraries a Guard's pipeline depends on."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("fnguard", "scikit-learn", "imbalanced-learn", "lightgbm", "optuna", "numpy",
                 "pandas", "skops"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


class _quiet(warnings.catch_warnings):
    """Silence the libraries' own warnings (convergence, future changes) during fitting, and
    keep numpy's, scipy's and faiss's thread pools to one thread (see ``run_search``)."""

    def __enter__(self) -> Any:
        from threadpoolctl import threadpool_limits

        self._limits = threadpool_limits(1)
        out = super().__enter__()
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        from fnguard.errors import FnguardWarning

        warnings.simplefilter("default", category=FnguardWarning)
        try:
            from sklearn.exceptions import ConvergenceWarning

            warnings.simplefilter("ignore", category=ConvergenceWarning)
        except ImportError:  # pragma: no cover
            pass
        return out

    def __exit__(self, *exc: Any) -> None:
        super().__exit__(*exc)
        self._limits.restore_original_limits()
