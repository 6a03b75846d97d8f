"""``fnguard.fit`` for training tables larger than one machine: sample, search, threshold on all.

1. The label column of every partition is counted on the workers.
2. A share ``holdout`` of the **partitions** is held out (chosen with the seed). Their rows are
   split in two halves: one to choose the threshold and review band, one for the final test.
3. From the other partitions, every positive is kept and negatives are drawn per partition at
   one rate, chosen so that the sample fits one worker's memory with room for the search's
   copies (:data:`MEMORY_SHARE_SPREAD` of it per worker thread when the folds run on the
   workers, :data:`MEMORY_SHARE` with ``spread=False``). The sample is gathered and
   :func:`fnguard.search.fit` searches the levers on it, its trials' folds spread over the workers
   (:class:`~fnguard.distributed.folds.DaskFolds`: the sample is sent to each worker once, and
   the folds of a trial run in parallel, one per worker thread); with ``spread=False`` they
   run in processes of this machine (``jobs``).
4. When the winner ends in a plain LightGBM classifier and resamples nothing (``refit="auto"``),
   its LightGBM step is refitted on **every** row of the training partitions with
   ``lightgbm.DaskLGBMClassifier``, its preprocessing (fitted on the sample) applied on the
   workers (:mod:`fnguard.distributed.refit`): it sees the real class balance, so no correction
   is needed. Otherwise the winner's probabilities are mapped back from the sample's positive
   rate to the training partitions' with :func:`fnguard.decide.correct_prior`
   (:class:`SampledModel`), so they stay calibrated. Which of the two happened, and why, is
   in ``guard.info["dask"]``.
5. The held-out partitions are scored on the workers with the final model; the threshold and
   the review band are chosen on the first half of their rows and the requirement is checked
   once on the second half, at the real class balance, not on the sample.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from fnguard.errors import DataError, FnguardWarning

__all__ = ["REFITS", "SampledModel", "fit_dask", "sample_rate"]

#: Share of one worker's memory the sample may take when the search runs on the client.
MEMORY_SHARE = 0.25
#: The same when the search's folds run on the workers (``spread``), per worker thread: each
#: worker then holds the whole sample (as the search stores it, up to twice its file size),
#: a fold's training copy, the feature step's output and the model at once (measured: a sample
#: of a quarter of a 2 GB worker made it exceed its memory limit and restart).
MEMORY_SHARE_SPREAD = 0.06
#: Values of ``fit_dask(refit=...)``.
REFITS = ("auto", "sample")


class SampledModel:
    """A fitted model whose probabilities are corrected from a sample's class balance.

    Parameters
    ----------
    estimator : estimator
        Fitted on the sample; ``predict_proba(X)[:, 1]`` is its positive probability.
    train_rate : float
        Positive share of the sample.
    true_rate : float
        Positive share of the data the sample was drawn from.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> X, y = np.zeros((4, 1)), np.array([0, 1, 0, 1])
    >>> m = SampledModel(DummyClassifier(strategy="prior").fit(X, y), 0.5, 0.1)
    >>> m.predict_proba(X[:1]).round(3).tolist()
    [[0.9, 0.1]]
    """

    def __init__(self, estimator: Any, train_rate: float, true_rate: float) -> None:
        self.estimator = estimator
        self.train_rate = float(train_rate)
        self.true_rate = float(true_rate)
        self.classes_ = getattr(estimator, "classes_", np.array([False, True]))

    def predict_proba(self, X: Any) -> np.ndarray:
        """The estimator's probabilities at the full data's positive rate."""
        from fnguard.decide.prior import correct_prior

        proba = np.asarray(self.estimator.predict_proba(X), dtype=np.float64)
        if self.train_rate == self.true_rate:
            return proba
        positive = correct_prior(proba[:, 1], self.train_rate, self.true_rate)
        return np.column_stack([1 - positive, positive])

    def predict(self, X: Any) -> np.ndarray:
        """Classes from the corrected probabilities at 0.5."""
        return np.asarray(self.classes_)[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]


def sample_rate(n_positive: int, n_negative: int, row_bytes: float, memory: float) -> float:
    """Share of negatives to draw so that all positives and the drawn negatives fit ``memory``.

    At least as many negatives as positives are drawn (rate capped at 1).

    Examples
    --------
    >>> sample_rate(1_000, 1_000_000, row_bytes=100, memory=50_000_000)
    0.499
    >>> sample_rate(10, 100, row_bytes=100, memory=1e9)
    1.0
    """
    if n_negative == 0:
        return 1.0
    rows = memory / max(row_bytes, 1.0)
    rate = (rows - n_positive) / n_negative
    floor = min(1.0, n_positive / n_negative)
    return float(min(1.0, max(rate, floor)))


def _worker_memory(client: Any, memory_per_worker: Any) -> float:
    if memory_per_worker is not None:
        from dask.utils import parse_bytes

        try:
            return float(parse_bytes(memory_per_worker))
        except (TypeError, ValueError):
            raise DataError(
                "'memory_per_worker' must be bytes or a size such as '2GB'. "
                f"Got {memory_per_worker!r} instead."
            ) from None
    limits = [w.get("memory_limit") or 0 for w in client.scheduler_info()["workers"].values()]
    limits = [m for m in limits if m > 0]
    if not limits:
        import psutil

        return float(psutil.virtual_memory().total) / 4
    return float(min(limits))


def _row_bytes(path: str) -> float:
    from fnguard.distributed.files import read_partition

    frame = read_partition(path)
    return float(frame.memory_usage(deep=True).sum()) / max(len(frame), 1)


def _sample_part(
    path: str, index: int, *, target: str, chosen: Any, rate: float, seed: int
) -> pd.DataFrame:
    from fnguard.distributed.files import read_partition

    frame = read_partition(path)
    is_pos = (frame[target] == chosen).to_numpy(dtype=bool)
    rng = np.random.default_rng([seed, index])
    keep = is_pos | (rng.random(len(frame)) < rate)
    return frame[keep]


def _score_part(
    path: str, index: int, *, guard: Any, target: str, chosen: Any, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """``(y, score, half, warnings)`` of a held-out partition; ``half`` is True for threshold
    rows; the drift warnings are returned, to be given on the caller's side, not printed by
    the worker."""
    from fnguard.distributed.files import read_partition

    frame = read_partition(path)
    y = (frame[target] == chosen).to_numpy(dtype=bool)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FnguardWarning)
        scores = guard.score(frame.drop(columns=[target]), source=path)
    messages = [str(w.message) for w in caught if issubclass(w.category, FnguardWarning)]
    half = np.random.default_rng([seed, index, 1]).random(len(frame)) < 0.5
    return y, scores, half, messages


#: Beginnings of the notes of fnguard.fit on the sample that are about its own threshold and
#: test split, not the Dask Guard's (its threshold and test come from held-out partitions).
_SAMPLE_FIT_NOTES = (
    "The threshold met ",
    "The threshold was chosen on ",
    "The guarantee held on the calibration split",
    "Safety margin:",
    "No safety margin on the threshold",
)


def fit_dask(
    paths_or_glob: Any,
    target: str,
    positive: Any = None,
    require: str = "recall>=0.95",
    *,
    client: Any,
    budget: float | str = "2m",
    memory_per_worker: str | int | None = None,
    holdout: float = 0.2,
    sample: float | None = None,
    seed: int = 0,
    spread: bool = True,
    refit: str = "auto",
    **fit_kwargs: Any,
) -> Any:
    """Fit a Guard on partitioned training data on a Dask cluster.

    Parameters
    ----------
    paths_or_glob : str, PathLike or list
        The training partitions (see :func:`fnguard.distributed.files.list_partitions`); at
        least two files.
    target : str
        The label column.
    positive : scalar, optional
        The positive label; the minority class when omitted (with a note).
    require : str, default="recall>=0.95"
        The requirement (:func:`fnguard.decide.parse_requirement`).
    client : distributed.Client
        From :func:`fnguard.distributed.connect`.
    budget : float or str, default="2m"
        Time of the search on the sample (as :func:`fnguard.fit`).
    memory_per_worker : str or int, optional
        Memory of one worker (``"4GB"``); by default the smallest worker memory limit.
    holdout : float, default=0.2
        Share of the partitions held out to choose the threshold and test (at least one).
    sample : float, optional
        Negative sampling rate to use instead of the one memory allows (for tests).
    seed : int, default=0
        Seed of the partition choice, the sampling and the search.
    spread : bool, default=True
        Run the search's folds on the workers (folds of one trial in parallel, as many as the
        cluster has worker threads); False: in ``jobs`` processes of this machine.
    refit : {"auto", "sample"}, default="auto"
        "auto": refit a LightGBM winner without samplers on all the training rows with
        ``lightgbm.DaskLGBMClassifier``; "sample": keep the model fitted on the sample.
    **fit_kwargs
        Passed to :func:`fnguard.fit`: ``levers``, ``cv``, ``jobs`` (ignored when
        ``spread``), ``max_trials``, ``drop``, ``progress``, ``margin`` (default 0.9: also the
        safety margin of the threshold chosen on the held-out partitions).

    Returns
    -------
    Guard
        Its ``info["dask"]`` records the partitions, the sampling rate, the class rates,
        where the trials ran (``search_on_workers``, ``fold_tasks``) and which model was kept
        (``refit``: ``"full (DaskLGBMClassifier)"`` or ``"sample"``, with ``refit_why``);
        ``info["notes"]`` says what was sampled; ``metrics`` and ``met`` come from held-out
        rows of the full data.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from fnguard.distributed import connect
    >>> folder = Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> for i in range(4):
    ...     x = rng.normal(size=500)
    ...     y = (x + rng.normal(size=500) > 1.5).astype(int)
    ...     pd.DataFrame({"x": x, "y": y}).to_parquet(folder / f"part{i}.parquet")
    >>> with connect(workers=1, processes=False) as client:
    ...     guard = fit_dask(str(folder / "*.parquet"), "y", 1, "recall>=0.8", client=client,
    ...                      budget=20, sample=0.5, levers=["logistic"], cv=3, jobs=1,
    ...                      max_trials=1)
    >>> info = guard.info["dask"]
    >>> info["negative_rate"], info["search_on_workers"], info["refit"], guard.threshold < 0.5
    (0.5, True, 'sample', True)
    """
    import fnguard
    from fnguard.decide import (
        DEFAULT_MARGIN,
        check_margin,
        parse_requirement,
    )
    from fnguard.distributed.diagnose import scan_labels
    from fnguard.distributed.files import list_partitions
    from fnguard.distributed.folds import DaskFolds
    from fnguard.distributed.refit import refit_blocker, refit_full, unwrap
    from fnguard.search.fit import _test_metrics, operating_point
    from fnguard.search.leaderboard import jsonable

    started = time.monotonic()
    req = parse_requirement(require)
    try:
        margin = check_margin(fit_kwargs.get("margin", DEFAULT_MARGIN))
    except ValueError as exc:
        raise DataError(str(exc)) from None
    if not 0 < float(holdout) < 1:
        raise DataError(f"'holdout' must be in (0, 1). Got {holdout!r} instead.")
    if sample is not None and not 0 < float(sample) <= 1:
        raise DataError(f"'sample' must be a rate in (0, 1]. Got {sample!r} instead.")
    if refit not in REFITS:
        raise DataError(
            f"'refit' must be one of {', '.join(REFITS)}. Got {refit!r} instead: 'auto' refits "
            "a LightGBM winner on all the rows, 'sample' keeps the model fitted on the sample."
        )
    parts = list_partitions(paths_or_glob)
    parts.require([target], "target")
    if len(parts) < 2:
        raise DataError(
            f"'{parts.source}' is a single file: the Dask fit holds out whole partitions to "
            "choose the threshold, so split the table into several files (e.g. 10 or more)."
        )
    labels = scan_labels(parts, target, positive, client=client)
    chosen, notes, rows = labels[0], list(labels[2]), labels[3]
    n_pos_by_part = _positives(client, parts, target, chosen)
    files = [str(f) for f in parts.files]
    rng = np.random.default_rng(seed)
    n_hold = min(len(files) - 1, max(1, round(float(holdout) * len(files))))
    held = sorted(rng.choice(len(files), n_hold, replace=False).tolist())
    train = [i for i in range(len(files)) if i not in held]
    _check_sides(parts, held, train, n_pos_by_part, target, chosen, seed)
    n_total, n_pos_total = int(sum(rows)), int(sum(n_pos_by_part))
    n_pos_t = int(sum(n_pos_by_part[i] for i in train))
    n_neg_t = int(sum(rows[i] for i in train)) - n_pos_t
    memory = _worker_memory(client, memory_per_worker)
    row_bytes = client.submit(_row_bytes, files[train[0]], pure=False).result()
    share = MEMORY_SHARE
    if spread:
        threads = max(client.nthreads().values(), default=1)
        share = MEMORY_SHARE_SPREAD / max(1, int(threads))
    rate = (
        float(sample)
        if sample is not None
        else sample_rate(n_pos_t, n_neg_t, row_bytes, share * memory)
    )
    futures = [
        client.submit(
            _sample_part,
            files[i],
            i,
            target=target,
            chosen=chosen,
            rate=rate,
            seed=seed,
            pure=False,
        )
        for i in train
    ]
    frame = pd.concat(client.gather(futures), ignore_index=True)
    n_pos_s = int((frame[target] == chosen).sum())
    executor = DaskFolds(client) if spread else None
    if executor is not None:
        fit_kwargs["jobs"] = executor.jobs
    try:
        searched = fnguard.fit(
            frame, target, chosen, req, budget=budget, seed=seed, executor=executor,
            _threshold_splits=0,  # the threshold is chosen again on held-out partitions
            **fit_kwargs,
        )
    finally:
        if executor is not None:
            executor.close()
    # the training partitions' balance: the held-out partitions' labels must not shape the
    # model, so the correction undoes the negative sampling only
    train_rate, true_rate = n_pos_s / len(frame), n_pos_t / max(n_pos_t + n_neg_t, 1)
    guard = searched
    why = "refit='sample' was asked" if refit == "sample" else refit_blocker(searched.pipeline)
    full = None
    if why is None:
        try:
            full = refit_full(
                client,
                searched.pipeline,
                files=[files[i] for i in train],
                rows=[rows[i] for i in train],
                schema=searched.schema,
                target=target,
                chosen=chosen,
                n_pos=n_pos_t,
                n_neg=n_neg_t,
            )
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:  # the sample model is still a good Guard: keep it, say why
            why = f"the refit with DaskLGBMClassifier failed: {type(exc).__name__}: {exc}"[:300]
    if full is not None:
        _, calibrated = unwrap(searched.pipeline)
        guard.pipeline = full
        refitted = "full (DaskLGBMClassifier)"
        how = (
            f"The winner's LightGBM step was then refitted on all {n_pos_t + n_neg_t:,} rows of "
            f"the {len(train)} training partitions with DaskLGBMClassifier (its preprocessing "
            "fitted on the sample), at the real class balance: no prior correction is needed."
        )
        if calibrated:
            how += " The Platt map fitted on the sample model's scores was dropped."
    else:
        guard.pipeline = SampledModel(searched.pipeline, train_rate, true_rate)
        refitted, calibrated = "sample", False
        how = (
            f"The model fitted on the sample was kept ({why}); its probabilities were "
            f"corrected from the sample's positive rate {train_rate:.4f} to the training "
            f"partitions' {true_rate:.4f} (undoing the sampling of the negatives)."
        )
    where = (
        f"on the workers ({executor.tasks:,} fold tasks, {executor.jobs} at once)"
        if executor is not None
        else "on the client, in processes of this machine"
    )
    shared = client.scatter(guard, broadcast=True, hash=False)
    scored = client.gather(
        [
            client.submit(
                _score_part,
                files[i],
                i,
                guard=shared,
                target=target,
                chosen=chosen,
                seed=seed,
                pure=False,
            )
            for i in held
        ]
    )
    for message in dict.fromkeys(m for part in scored for m in part[3]):
        warnings.warn(message, FnguardWarning, stacklevel=2)
    y = np.concatenate([s[0] for s in scored])
    s = np.concatenate([s[1] for s in scored])
    half = np.concatenate([s[2] for s in scored])
    # the safety margin of a plain constraint, as fnguard.fit keeps it
    point = operating_point(y[half], s[half], req, margin=margin, seed=seed)
    decision, review, req_dec = point["decision"], point["review"], point["req"]
    guard.threshold, guard.review_band = float(decision.threshold), point["band"]
    notes += point["notes"]
    metrics, met = _test_metrics(y[~half], s[~half], guard.threshold, req, seed)
    guard.metrics, guard.met = metrics, met
    guard.holdout = pd.DataFrame({"y": y[~half], "score": s[~half]})
    notes.append(
        f"Searched on a sample: every positive ({n_pos_t:,}) and {rate:.2%} of the negatives "
        f"({len(frame) - n_pos_s:,} of {n_neg_t:,}) of {len(train)} of {len(files)} "
        f"partitions; the trials' folds ran {where}. {how} The threshold and review band "
        f"were chosen on {int(half.sum()):,} rows of {len(held)} held-out partitions and the "
        f"requirement tested on their other {int((~half).sum()):,} rows, at the real class "
        "balance."
    )
    info = dict(guard.info)
    # fnguard.fit described its own split of the sample; the Guard's test is the held-out
    # partitions' second half (the inner figures stay under info["dask"]["sample_fit"])
    sample_fit = {key: info.pop(key) for key in ("test_size", "split", "reference")
                  if key in info}
    # the sample fit's notes on its own threshold and test split describe a model and rows
    # the Guard does not use: they stay with the sample fit's figures
    inner = list(info.get("notes", []))
    about_sample = [n for n in inner if n.startswith(_SAMPLE_FIT_NOTES)]
    info["notes"] = [n for n in inner if n not in about_sample]
    if about_sample:
        sample_fit["notes"] = about_sample
    info["test_size"] = int((~half).sum()) / max(n_total, 1)
    info["split"] = {
        "rows": n_total,
        "positives": n_pos_total,
        "search_rows": len(frame),
        "search_positives": n_pos_s,
        "threshold_rows": int(half.sum()),
        "threshold_positives": int(y[half].sum()),
        "test_rows": int((~half).sum()),
        "test_positives": int(y[~half].sum()),
    }
    info["notes"] = list(info.get("notes", [])) + notes
    info["threshold_from"] = "held-out partitions"
    info["margin"] = req_dec.confidence if req_dec is not req else None
    info["oof"] = decision.to_dict()
    info["review"] = review
    info["elapsed"] = round(time.monotonic() - started, 3)
    if calibrated:
        info["calibration"] = {
            **dict(info.get("calibration") or {}),
            "applied": False,
            "why": "the winner was refitted on the full data; the map fitted on the sample "
            "model's scores was dropped",
        }
    if executor is not None:
        info["jobs"] = executor.jobs
    info["dask"] = {
        "partitions": len(files),
        "held_out": [files[i] for i in held],
        "rows": n_total,
        "positives": n_pos_total,
        "sample_rows": len(frame),
        "sample_positives": n_pos_s,
        "negative_rate": rate,
        "train_rate": train_rate,
        "true_rate": true_rate,
        "memory_per_worker": memory,
        "row_bytes": row_bytes,
        "threshold_rows": int(half.sum()),
        "test_rows": int((~half).sum()),
        "search_on_workers": executor is not None,
        "fold_tasks": 0 if executor is None else executor.tasks,
        "refit": refitted,
        "refit_why": how if why is None else why,
        "sample_fit": sample_fit,
    }
    guard.info = jsonable(info)
    if math.isnan(guard.threshold):
        raise DataError("No threshold could be chosen on the held-out partitions.")
    return guard


def _check_sides(
    parts: Any, held: list[int], train: list[int], n_pos: list[int], target: str, chosen: Any,
    seed: int,
) -> None:
    """Refuse a hold-out that leaves the held-out or the training partitions no positive.

    Checked before the search: the threshold is chosen on the held-out partitions' positives
    and the model learns from the training partitions' ones.
    """
    for side, other in (("held-out", "training"), ("training", "held-out")):
        chosen_side = held if side == "held-out" else train
        if sum(n_pos[i] for i in chosen_side) > 0:
            continue

        def listed(indices: list[int]) -> str:
            shown = [f"'{parts.files[i].name}': {n_pos[i]:,}" for i in indices[:8]]
            more = f", and {len(indices) - 8:,} more" if len(indices) > 8 else ""
            return ", ".join(shown) + more

        rest = train if side == "held-out" else held
        with_pos = [i for i in rest if n_pos[i] > 0]
        raise DataError(
            f"The {side} partitions hold no positive row ({target!r} == {chosen!r}) with "
            f"seed {seed}: positives per {side} file {listed(chosen_side)}; per {other} file "
            f"{listed(rest)}. The Dask fit holds out whole files, so "
            + (
                "try another seed (--seed), or spread the positives over more files (they "
                f"are in {len(with_pos)} of {len(parts.files)} files)."
                if with_pos
                else "spread the positives over more files."
            )
        )


def _positives(client: Any, parts: Any, target: str, chosen: Any) -> list[int]:
    def count(path: str) -> int:
        from fnguard.distributed.files import read_partition

        return int((read_partition(path, [target])[target] == chosen).sum())

    return client.gather(client.map(count, [str(f) for f in parts.files], pure=False))
