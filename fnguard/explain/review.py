"""Put suspected label errors in the review queue of a Guard, for experts to relabel.

The queue (:mod:`fnguard.serve.queue`) holds cases of one Guard: each suspected row is
enqueued with the Guard's score, so reviewers see the row, its score and what drives it.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from fnguard.errors import DataError
from fnguard.explain.labels import LabelIssues

__all__ = ["enqueue_label_issues"]


def enqueue_label_issues(
    db: str | os.PathLike[str] | Any,
    guard: Any,
    frame: pd.DataFrame,
    issues: LabelIssues,
    *,
    id_column: str | None = None,
    batch: str = "suspected label errors",
    explain: bool = True,
) -> dict[str, Any]:
    """Enqueue every suspected label error for review (all of them: no capacity).

    Parameters
    ----------
    db : str, PathLike or Engine
        The review database (a path or SQLAlchemy URL); created when it does not exist.
    guard : Guard
        The Guard whose queue it is (its schema must match the table's columns).
    frame : DataFrame
        The table, row for row as the label issues were found in it (the label column may
        be kept: reviewers see it).
    issues : LabelIssues
        What :func:`~fnguard.explain.labels.find_label_issues` found.
    id_column : str, optional
        A column of stable case ids; by default a hash of the whole row.
    batch : str, default="suspected label errors"
        The batch name shown to reviewers.
    explain : bool, default=True
        Store each case's per-feature contributions.

    Returns
    -------
    dict
        :func:`fnguard.serve.queue.enqueue`'s summary (``enqueued``, ``duplicates`` ...).

    Raises
    ------
    DataError
        If ``guard`` is not a Guard or a suspected row lies outside ``frame``.

    Examples
    --------
    >>> import numpy as np
    >>> from fnguard.explain.labels import find_label_issues
    >>> issues = find_label_issues(np.array([True, False] * 10), np.full(20, 0.5))
    >>> enqueue_label_issues("review.sqlite", object(), pd.DataFrame({"x": range(20)}), issues)
    Traceback (most recent call last):
    ...
    fnguard.errors.DataError: The review queue holds cases of a Guard; got object: pass the Guard folder with --model (fnguard.load in Python).
    """  # noqa: E501
    from fnguard.guard import Guard
    from fnguard.serve.queue import enqueue

    if not isinstance(guard, Guard):
        raise DataError(
            f"The review queue holds cases of a Guard; got {type(guard).__name__}: pass the "
            "Guard folder with --model (fnguard.load in Python)."
        )
    if len(issues) and int(issues.rows.max()) >= len(frame):
        raise DataError(
            f"The label issues name row {int(issues.rows.max())} but the table has "
            f"{len(frame)} rows: pass the table they were found in."
        )
    rows = frame.iloc[issues.rows].reset_index(drop=True)
    predictions = guard.predict(rows)
    predictions["review"] = True  # every suspect goes to review, whatever its score
    return enqueue(
        db,
        guard,
        rows,
        predictions,
        capacity=None,
        id_column=id_column,
        batch=batch,
        explain=explain,
    )
