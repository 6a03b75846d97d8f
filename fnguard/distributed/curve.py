"""Confusion counts at every threshold, computed partition by partition and merged exactly.

Each partition is reduced to its sorted distinct scores with how many positive and negative
rows hold each (:func:`score_counts`); two such summaries merge into the summary of their union
(:func:`merge_counts`: a sorted union and two scatter-adds, no row is looked at again), and the
merges run on the workers as a binary tree (:func:`tree_reduce`). The cumulative sums of the
final summary are exactly the counts that :func:`fnguard.metrics.confusion_curve` computes from
one sort of all the rows (:func:`curve_from_counts`), ties included, so every metric read off
the curve is the same. A worker holds one partition, or two summaries being merged.

With ``resolution``, scores are first floored to a grid of that step, so a summary holds at most
``1 / resolution`` values per unit of score (a histogram); the counts are then exact at the grid
thresholds only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fnguard.errors import DataError
from fnguard.metrics.confusion import ConfusionCurve

__all__ = [
    "ScoreCounts",
    "confusion_curve_dask",
    "curve_from_counts",
    "merge_counts",
    "score_counts",
    "tree_reduce",
]


@dataclass(frozen=True)
class ScoreCounts:
    """Distinct scores (ascending) with the positive and negative rows at each.

    Attributes
    ----------
    scores : ndarray of float64, shape (k,)
        Distinct scores, strictly increasing.
    pos, neg : ndarray of int64, shape (k,)
        Positive and negative rows holding each score.
    """

    scores: np.ndarray
    pos: np.ndarray
    neg: np.ndarray

    @property
    def n(self) -> int:
        """Rows summarised."""
        return int(self.pos.sum() + self.neg.sum())


def _check_resolution(resolution: float | None) -> float | None:
    if resolution is None:
        return None
    try:
        step = float(resolution)
    except (TypeError, ValueError):
        step = math.nan
    if not (step > 0 and math.isfinite(step)):
        raise DataError(
            f"'resolution' must be a positive number such as 1e-4. Got {resolution!r} instead."
        )
    return step


def score_counts(
    scores: np.ndarray, is_pos: np.ndarray, resolution: float | None = None
) -> ScoreCounts:
    """Summarise one partition: its distinct scores with the positives and negatives at each.

    Parameters
    ----------
    scores : ndarray of float64
        Finite scores.
    is_pos : ndarray of bool
        True for positive rows.
    resolution : float, optional
        Floor the scores to multiples of this step first (a histogram).

    Returns
    -------
    ScoreCounts

    Examples
    --------
    >>> c = score_counts(np.array([0.4, 0.1, 0.4]), np.array([True, False, False]))
    >>> c.scores.tolist(), c.pos.tolist(), c.neg.tolist()
    ([0.1, 0.4], [0, 1], [1, 1])
    """
    step = _check_resolution(resolution)
    s = np.asarray(scores, dtype=np.float64)
    if step is not None:
        s = np.floor(s / step) * step
    distinct, inverse = np.unique(s, return_inverse=True)
    total = np.bincount(inverse, minlength=distinct.size)
    pos = np.bincount(inverse[np.asarray(is_pos, dtype=bool)], minlength=distinct.size)
    return ScoreCounts(distinct, pos.astype(np.int64), (total - pos).astype(np.int64))


def merge_counts(a: ScoreCounts, b: ScoreCounts) -> ScoreCounts:
    """The summary of the union of two partitions (exact: counts of equal scores add up).

    Examples
    --------
    >>> a = ScoreCounts(np.array([0.1, 0.5]), np.array([1, 0]), np.array([0, 2]))
    >>> b = ScoreCounts(np.array([0.5, 0.9]), np.array([1, 1]), np.array([1, 0]))
    >>> m = merge_counts(a, b)
    >>> m.scores.tolist(), m.pos.tolist(), m.neg.tolist()
    ([0.1, 0.5, 0.9], [1, 1, 1], [0, 3, 0])
    """
    union = np.union1d(a.scores, b.scores)
    pos = np.zeros(union.size, dtype=np.int64)
    neg = np.zeros(union.size, dtype=np.int64)
    # Each side's scores are distinct, so each index appears once per side: += is exact.
    for side in (a, b):
        where = np.searchsorted(union, side.scores)
        pos[where] += side.pos
        neg[where] += side.neg
    return ScoreCounts(union, pos, neg)


def curve_from_counts(counts: ScoreCounts) -> ConfusionCurve:
    """The :class:`~fnguard.metrics.confusion.ConfusionCurve` of a merged summary.

    Examples
    --------
    >>> from fnguard.metrics import confusion_curve
    >>> y, s = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    >>> curve = curve_from_counts(score_counts(s, y == 1))
    >>> ref = confusion_curve(y, s)
    >>> curve.thresholds.tolist() == ref.thresholds.tolist(), curve.tp.tolist() == ref.tp.tolist()
    (True, True)
    """
    n_pos, n_neg = int(counts.pos.sum()), int(counts.neg.sum())
    if n_pos + n_neg == 0:
        raise DataError("The input has no rows: pass partitions with labelled rows.")
    thresholds = np.concatenate(([np.inf], counts.scores[::-1]))
    tp = np.concatenate(([0], np.cumsum(counts.pos[::-1]))).astype(np.int64, copy=False)
    fp = np.concatenate(([0], np.cumsum(counts.neg[::-1]))).astype(np.int64, copy=False)
    return ConfusionCurve(thresholds=thresholds, tp=tp, fp=fp, tn=n_neg - fp, fn=n_pos - tp)


def tree_reduce(client: Any, futures: Sequence[Any], merge: Callable[[Any, Any], Any]) -> Any:
    """Merge futures pairwise on the workers, level by level, into one future.

    Parameters
    ----------
    client : distributed.Client
    futures : sequence of Future
        At least one.
    merge : callable
        ``merge(a, b)`` returns the merge of two results; it must be associative.

    Returns
    -------
    Future
        The merge of all the results, in order.
    """
    level = list(futures)
    if not level:
        raise DataError("There is nothing to merge: pass at least one partition.")
    while len(level) > 1:
        nxt = [client.submit(merge, a, b) for a, b in zip(level[::2], level[1::2], strict=False)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def confusion_curve_dask(
    paths_or_glob: Any,
    label: str,
    score: str,
    positive: Any = None,
    *,
    client: Any,
    resolution: float | None = None,
) -> ConfusionCurve:
    """:func:`fnguard.metrics.confusion_curve` of a partitioned table, on a Dask cluster.

    Parameters
    ----------
    paths_or_glob : str, PathLike or list
        The partitions (see :func:`fnguard.distributed.files.list_partitions`).
    label, score : str
        The label and score columns.
    positive : scalar, optional
        The positive label; omitted, the minority class, as :func:`fnguard.data.load_scores`.
    client : distributed.Client
        From :func:`fnguard.distributed.connect`.
    resolution : float, optional
        Floor the scores to multiples of this step (exact counts at the grid thresholds only).

    Returns
    -------
    ConfusionCurve
        Equal to ``confusion_curve`` on all the rows when ``resolution`` is None.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from pathlib import Path
    >>> from fnguard.distributed import connect
    >>> folder = Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"y": [0, 1, 0], "p": [0.1, 0.8, 0.4]}).to_parquet(folder / "a.parquet")
    >>> pd.DataFrame({"y": [1, 0], "p": [0.4, 0.2]}).to_parquet(folder / "b.parquet")
    >>> with connect(workers=1, processes=False) as client:
    ...     curve = confusion_curve_dask(str(folder / "*.parquet"), "y", "p", 1, client=client)
    >>> curve.thresholds.tolist(), curve.tp.tolist()
    ([inf, 0.8, 0.4, 0.2, 0.1], [0, 1, 2, 2, 2])
    """
    from fnguard.distributed.diagnose import scan_labels
    from fnguard.distributed.files import list_partitions

    step = _check_resolution(resolution)
    parts = list_partitions(paths_or_glob)
    parts.require([label], "label")
    parts.require([score], "score")
    chosen, _, _, _ = scan_labels(parts, label, positive, client=client)
    futures = client.map(
        _partition_counts, [str(f) for f in parts.files], label=label, score=score,
        chosen=chosen, resolution=step, pure=False,
    )
    return curve_from_counts(tree_reduce(client, futures, merge_counts).result())


def _partition_counts(
    path: str, *, label: str, score: str, chosen: Any, resolution: float | None
) -> ScoreCounts:
    from fnguard.data.scores import _scores
    from fnguard.distributed.files import read_partition

    frame = read_partition(path, [label, score])
    scores = _scores(frame[score], score, path)
    return score_counts(scores, (frame[label] == chosen).to_numpy(dtype=bool), resolution)
