"""The main job on a bundled real dataset: what ``make demo`` and ``fnguard demo`` run.

:func:`run_demo` runs :func:`fnguard.fit` on a bundled dataset with a short budget and a
requirement that a plain model at the usual threshold of 0.5 misses (on the Lending Club loans,
``recall>=0.8``: a plain logistic regression at 0.5 catches almost no bad loan), saves the
Guard with its report, and returns it; the before/after against that plain model is in
``guard.info["reference"]``, measured on the same held-out test set.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fnguard.data import Dataset, datasets
from fnguard.errors import DataError

__all__ = ["DemoResult", "before_after", "run_demo"]


@dataclass
class DemoResult:
    """What the demo produced.

    Attributes
    ----------
    dataset : Dataset
        The bundled data.
    guard : Guard
        The Guard :func:`fnguard.fit` returned.
    folder : Path or None
        Where the Guard was saved (None when ``out`` was None).
    report : Path or None
        The Guard's HTML report, ``folder/report/index.html``.
    """

    dataset: Dataset
    guard: Any
    folder: Path | None
    report: Path | None


def run_demo(
    *,
    dataset: str = "lending_club",
    out: str | os.PathLike[str] | None = "fnguard-demo",
    require: str = "recall>=0.8",
    budget: float | str = "2m",
    seed: int = 0,
    max_trials: int | None = None,
    progress: Callable[[Any], None] | None = None,
) -> DemoResult:
    """Fit a Guard on a bundled real dataset against a requirement and save it with its report.

    Parameters
    ----------
    dataset : str, default="lending_club"
        A name from :data:`fnguard.data.datasets.DATASETS`.
    out : path or None, default="fnguard-demo"
        Folder the Guard is saved to (``report/index.html`` inside); None saves nothing.
    require : str, default="recall>=0.8"
        The requirement (see :func:`fnguard.decide.parse_requirement`).
    budget : float or str, default="2m"
        Time for the whole fit (seconds, or "90s", "2m").
    seed : int, default=0
        Seed of the splits, the search and the levers.
    max_trials : int, optional
        Stop the search after this many trials, even with time left.
    progress : callable, optional
        Called after every trial (see :func:`fnguard.fit`).

    Returns
    -------
    DemoResult

    Raises
    ------
    DataError
        For an unknown dataset name.
    """
    import fnguard

    if dataset not in datasets.DATASETS:
        raise DataError(
            f"There is no bundled dataset {dataset!r}: use one of {', '.join(datasets.DATASETS)}."
        )
    if out is not None:
        from fnguard.guard_files import check_destination

        check_destination(out)  # before the search, not after it
    data = datasets.load(dataset)
    guard = fnguard.fit(
        data, require=require, budget=budget, seed=seed, max_trials=max_trials, progress=progress
    )
    folder = report = None
    if out is not None:
        folder = guard.save(out)
        report = folder / "report" / "index.html"
    return DemoResult(dataset=data, guard=guard, folder=folder, report=report)


def before_after(guard: Any) -> dict[str, Any] | None:
    """Misses and false alarms of the plain logistic regression at 0.5 and of the Guard.

    Both are counted on the Guard's held-out test set (``guard.info["reference"]`` and
    ``guard.metrics``).

    Parameters
    ----------
    guard : Guard

    Returns
    -------
    dict or None
        ``before_misses``, ``after_misses``, ``misses_removed``, ``before_false_alarms``,
        ``after_false_alarms``, ``false_alarms_added``, ``positives``; None when the Guard
        holds no reference.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> g = SimpleNamespace(metrics={"fn": 6, "fp": 900, "n_positive": 103},
    ...                     info={"reference": {"logistic_at_0.5": {"fn": 103, "fp": 2}}})
    >>> before_after(g)["misses_removed"], before_after(g)["false_alarms_added"]
    (97, 898)
    """
    point = (guard.info.get("reference") or {}).get("logistic_at_0.5") or {}
    m = guard.metrics
    if "fn" not in point or "fn" not in m:
        return None
    return {
        "positives": int(m.get("n_positive", int(m["fn"]) + int(m.get("tp", 0)))),
        "before_misses": int(point["fn"]),
        "after_misses": int(m["fn"]),
        "misses_removed": int(point["fn"]) - int(m["fn"]),
        "before_false_alarms": int(point["fp"]),
        "after_false_alarms": int(m["fp"]),
        "false_alarms_added": int(m["fp"]) - int(point["fp"]),
    }
