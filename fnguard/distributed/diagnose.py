"""``diagnose`` on a partitioned table, on a Dask cluster: the same Diagnosis, from merged counts.

Two passes over the partitions, each task reading one file:

1. the label column only: row counts, missing labels, the label values and how many rows hold
   each (the positive class is chosen from the merged counts, as ``load_scores`` does);
2. labels, scores and features: the partition's distinct scores with their positive and
   negative counts (:mod:`fnguard.distributed.curve`), its counts per category and per
   distinct number of each feature (:mod:`fnguard.distributed.slices`), its score range and
   its lowest-scored misses.

The summaries merge in a tree on the workers; the client builds the exact
:class:`~fnguard.metrics.confusion.ConfusionCurve` and reads every metric, Wilson interval,
saturation figure and calibration bin off it with the single-machine code
(:func:`fnguard.metrics.summary.summary_from_curve`), so the Diagnosis, and the HTML report that
:func:`fnguard.report.write_report` writes from it, are the ones a single machine computes.

Bootstrap intervals (ROC-AUC, PR-AUC, F-scores, MCC, Brier, log-loss, ECE) are drawn from the
merged counts, as on a single machine: above 20,000 rows the ranking metrics are redrawn over at
most 2,000 merged score groups and the interval is re-centred on the exact value (see
:mod:`fnguard.metrics.bootstrap`), which is the documented approximation at this scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fnguard.distributed.curve import (
    ScoreCounts,
    _check_resolution,
    curve_from_counts,
    merge_counts,
    score_counts,
    tree_reduce,
)
from fnguard.distributed.files import Partitions, list_partitions, read_partition
from fnguard.distributed.slices import (
    ColumnCounts,
    column_counts,
    merge_column_counts,
    slices_from_counts,
)
from fnguard.errors import DataError
from fnguard.metrics.diagnosis import Diagnosis

__all__ = ["MAX_MISSES", "diagnose_dask", "scan_labels"]

#: Most false negatives collected into the misses table (the lowest-scored ones).
MAX_MISSES = 10_000


# ------------------------------------------------------------------------------ labels
def _label_counts(path: str, label: str) -> tuple[int, list[tuple[Any, int]]]:
    from fnguard.data.target import _missing_labels, row_numbers, to_python

    values = read_partition(path, [label])[label]
    missing = _missing_labels(values)
    if missing.any():
        from fnguard.data.names import plural

        raise DataError(
            f"The label column '{label}' in '{path}' has "
            f"{plural(int(missing.sum()), 'missing or empty value')} ({row_numbers(missing)}): "
            "drop or fill those rows."
        )
    counts = values.value_counts(sort=False)
    return len(values), [(to_python(v), int(c)) for v, c in counts.items()]


def scan_labels(
    parts: Partitions, label: str, positive: Any, *, client: Any
) -> tuple[Any, Any, list[str], list[int]]:
    """Count the label values of every partition and choose the positive class.

    Parameters
    ----------
    parts : Partitions
        From :func:`~fnguard.distributed.files.list_partitions`.
    label : str
        The label column.
    positive : scalar or None
        The positive label (a command-line string is matched by type); None chooses the
        minority class, with a note and a warning, as :func:`fnguard.data.load_scores` does.
    client : distributed.Client

    Returns
    -------
    positive, negative : scalar
        The two labels, as plain Python scalars.
    notes : list of str
        What was decided for the user.
    rows : list of int
        Rows per partition, in order.
    """
    from fnguard.data.names import quote_source
    from fnguard.data.target import choose_classes

    results = client.gather(
        client.map(_label_counts, [str(f) for f in parts.files], label=label, pure=False)
    )
    merged: dict[Any, int] = {}
    for _, pairs in results:
        for value, count in pairs:
            merged[value] = merged.get(value, 0) + count
    rows = [n for n, _ in results]
    counts = pd.Series(merged, dtype="int64").sort_values(ascending=False, kind="stable")
    chosen, other, notes = choose_classes(
        counts, positive, where=f"The label column '{label}' in {quote_source(parts.source)}",
        column=f"label column '{label}' in {quote_source(parts.source)}", stacklevel=3,
    )
    return chosen, other, notes, rows


# ------------------------------------------------------------------------------ one partition
@dataclass
class _Summary:
    """What one partition (or a merged run of them) contributes to the diagnosis."""

    counts: ScoreCounts
    columns: dict[str, ColumnCounts] = field(default_factory=dict)
    misses: pd.DataFrame | None = None
    n_fn: int = 0


def _summarize(
    path: str,
    *,
    label: str,
    score: str,
    features: list[str],
    chosen: Any,
    threshold: float,
    offset: int,
    n_total: int,
    resolution: float | None,
    max_misses: int,
) -> _Summary:
    from fnguard.data.scores import _scores

    frame = read_partition(path, [label, score, *features])
    scores = _scores(frame[score], score, path)
    is_pos = (frame[label] == chosen).to_numpy(dtype=bool)
    missed = is_pos & ~(scores >= threshold)
    columns = {
        name: column_counts(
            frame[name], is_pos, missed, offset=offset, n_total=n_total, file=path
        )
        for name in features
    }
    idx = np.flatnonzero(missed)
    idx = idx[np.argsort(scores[idx], kind="stable")][:max_misses]
    misses = pd.DataFrame({"row": idx.astype(np.int64) + offset, "score": scores[idx]})
    if features:
        extra = frame[features].iloc[idx].reset_index(drop=True)
        extra = extra.rename(columns={c: f"{c} (feature)" for c in features if c in misses})
        misses = pd.concat([misses, extra], axis=1)
    return _Summary(score_counts(scores, is_pos, resolution), columns, misses, int(missed.sum()))


def _merge(a: _Summary, b: _Summary, max_misses: int) -> _Summary:
    columns = {
        name: merge_column_counts(name, a.columns[name], b.columns[name]) for name in a.columns
    }
    if len(a.misses) == 0 or len(b.misses) == 0:
        misses = b.misses if len(a.misses) == 0 else a.misses  # concat would loosen dtypes
    else:
        misses = pd.concat([a.misses, b.misses], ignore_index=True)
    misses = misses.sort_values(["score", "row"], kind="stable").head(max_misses)
    return _Summary(
        merge_counts(a.counts, b.counts),
        columns,
        misses.reset_index(drop=True),
        a.n_fn + b.n_fn,
    )


class _Merge:
    """A picklable ``merge(a, b)`` with the misses limit bound."""

    def __init__(self, max_misses: int) -> None:
        self.max_misses = max_misses

    def __call__(self, a: _Summary, b: _Summary) -> _Summary:
        return _merge(a, b, self.max_misses)


# ------------------------------------------------------------------------------ public
def _features(parts: Partitions, label: str, score: str, slices: Any) -> list[str]:
    others = [c for c in parts.columns if c not in (label, score)]
    if slices is True or slices is None:
        return others
    if slices is False:
        return []
    names = [slices] if isinstance(slices, str) else [str(c) for c in slices]
    parts.require(names, "feature")
    bad = [c for c in names if c in (label, score)]
    if bad:
        raise DataError(
            f"The column '{bad[0]}' is the label or the score and cannot be a slice: pass "
            "feature columns in 'slices'."
        )
    return names


def diagnose_dask(
    paths_or_glob: Any,
    label: str,
    score: str,
    positive: Any = None,
    *,
    client: Any,
    threshold: float = 0.5,
    confidence: float = 0.95,
    slices: bool | str | Sequence[str] = True,
    n_boot: int = 1000,
    random_state: int | None = 0,
    resolution: float | None = None,
    max_misses: int = MAX_MISSES,
) -> Diagnosis:
    """Diagnose a model's scores stored in many files, on a Dask cluster.

    The result equals ``diagnose_table(load_scores(all rows, ...))`` on one machine: the
    curve, every metric and interval, saturation, calibration, slices, findings and notes; the
    misses table holds the ``max_misses`` lowest-scored misses (all of them when there are
    fewer). Row numbers count from the first row of the first file, files sorted by path.

    Parameters
    ----------
    paths_or_glob : str, PathLike or list
        The partitions: a glob such as ``'scores/*.parquet'``, a folder of Parquet files, a
        file, or a list (see :func:`fnguard.distributed.files.list_partitions`).
    label, score : str
        The label column (two classes) and the score column.
    positive : scalar, optional
        The positive label; omitted, the minority class (with a note).
    client : distributed.Client
        From :func:`fnguard.distributed.connect`.
    threshold, confidence, n_boot, random_state
        As in :func:`fnguard.metrics.diagnose`.
    slices : bool, str or sequence of str, default=True
        Feature columns to slice and to show beside the misses: True for every other column
        (as ``fnguard diagnose``), False for none, or their names.
    resolution : float, optional
        Floor the scores to multiples of this step before counting (a histogram of
        ``1 / resolution`` bins per unit): less memory for billions of distinct scores, counts
        exact at the grid thresholds only. The misses keep their exact scores.
    max_misses : int, default=10_000
        Most misses collected (the lowest-scored first).

    Returns
    -------
    Diagnosis

    Raises
    ------
    DataError
        A glob that matches nothing, partitions with different columns or types (the file and
        the column are named), a missing column, labels that are not binary, scores that are
        not finite numbers (the file is named).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from fnguard.distributed import connect
    >>> folder = Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> for i in range(3):
    ...     y = rng.integers(0, 2, 200)
    ...     p = np.clip(0.3 * y + rng.random(200) * 0.7, 0, 1)
    ...     pd.DataFrame({"y": y, "p": p}).to_parquet(folder / f"part{i}.parquet")
    >>> with connect(workers=1, processes=False) as client:
    ...     d = diagnose_dask(str(folder / "*.parquet"), "y", "p", 1, client=client, n_boot=50)
    >>> d.curve.n, d.metrics["fn"].value == len(d.misses)
    (600, True)
    """
    if isinstance(max_misses, bool) or not isinstance(max_misses, int) or max_misses < 0:
        raise DataError(f"'max_misses' must be an integer >= 0. Got {max_misses!r} instead.")
    step = _check_resolution(resolution)
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        threshold = math.nan
    if math.isnan(threshold):
        raise DataError("The 'threshold' parameter must be a number. Got NaN or text instead.")
    label, score = str(label), str(score)
    if label == score:
        raise DataError(
            f"The label and score columns are both '{label}': pass the true labels as the label "
            "column and the model's scores as the score column."
        )
    parts = list_partitions(paths_or_glob)
    parts.require([label], "label")
    parts.require([score], "score")
    features = _features(parts, label, score, slices)
    chosen, other, notes, rows = scan_labels(parts, label, positive, client=client)
    offsets = np.concatenate(([0], np.cumsum(rows)[:-1])).tolist()
    n_total = int(sum(rows))
    futures = [
        client.submit(
            _summarize, str(path), label=label, score=score, features=features, chosen=chosen,
            threshold=float(threshold), offset=int(offset), n_total=n_total, resolution=step,
            max_misses=max_misses, pure=False,
        )
        for path, offset in zip(parts.files, offsets, strict=True)
    ]
    merged: _Summary = tree_reduce(client, futures, _Merge(max_misses)).result()
    curve = curve_from_counts(merged.counts)
    low, high = float(curve.thresholds[-1]), float(curve.thresholds[1])
    if low < 0.0 or high > 1.0:
        notes.append(
            f"The scores range from {low:g} to {high:g}, outside [0, 1]: ranking metrics hold, "
            "but calibration needs probabilities."
        )
    if step is not None:
        notes.append(
            f"Scores were counted on a grid of step {step:g} (resolution): the counts are exact "
            "at the grid thresholds only."
        )
    if merged.n_fn > len(merged.misses):
        notes.append(
            f"The misses table lists the {len(merged.misses):,} lowest-scored of the "
            f"{merged.n_fn:,} misses (max_misses)."
        )
    return _diagnosis(
        curve, merged, features, chosen, other, notes, label, score, parts.source,
        threshold=threshold, confidence=confidence, n_boot=n_boot, random_state=random_state,
    )


def _diagnosis(
    curve: Any,
    merged: _Summary,
    features: list[str],
    positive: Any,
    negative: Any,
    notes: list[str],
    label: str,
    score: str,
    source: str,
    *,
    threshold: float,
    confidence: float,
    n_boot: int,
    random_state: int | None,
) -> Diagnosis:
    """Assemble the Diagnosis as :func:`fnguard.metrics.diagnose` does, from merged counts."""
    from fnguard.metrics.calibration import reliability, saturation
    from fnguard.metrics.findings import find
    from fnguard.metrics.summary import summary_from_curve

    metrics = summary_from_curve(
        curve, threshold, confidence, n_boot=n_boot, random_state=random_state
    )
    found = slices_from_counts(
        merged.columns, curve.n, curve.n_positive, merged.n_fn, confidence=confidence
    )
    misses = merged.misses
    if not features:
        misses = misses[["row", "score"]]
    d = Diagnosis(
        curve=curve,
        threshold=float(threshold),
        metrics=metrics,
        saturation=saturation(curve, threshold),
        reliability=reliability(curve, 10, confidence),
        slices=found,
        misses=misses.reset_index(drop=True),
        positive=positive,
        negative=negative,
        label=label,
        score=score,
        source=source,
        confidence=confidence,
        feature_names=list(features),
        notes=notes,
    )
    d.findings = find(d)
    return d
