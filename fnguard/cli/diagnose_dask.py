"""``fnguard diagnose --engine dask``: scores in many files, diagnosed on a Dask cluster."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from fnguard.errors import DataError, RequirementError

__all__ = ["diagnose_on_dask"]

if TYPE_CHECKING:
    from fnguard.decide.requirement import Requirement


def diagnose_on_dask(
    path: str,
    label: str | None,
    score: list[str] | None,
    positive: str | None,
    *,
    target: str | None,
    calibrate: str | None,
    requirements: list[Requirement],
    threshold: float | None,
    confidence: float,
    n_boot: int,
    seed: int,
    out: Path,
    cluster: str | None,
    workers: int | None,
    json_out: bool,
    open_report: bool,
    console: Console,
) -> None:
    """Scores mode on a Dask cluster: the same Diagnosis, report and exit codes as locally.

    The counts at every threshold are merged exactly from the partitions
    (:func:`fnguard.distributed.diagnose_dask`); requirements are decided on the merged curve.
    """
    from fnguard.cli._engine import dask_client
    from fnguard.cli.diagnose import finish
    from fnguard.decide import decide_on_curve
    from fnguard.distributed import diagnose_dask
    from fnguard.report import write_report

    if target is not None:
        raise DataError(
            "Table mode (--target) fits models and runs on one machine: drop --engine dask, or "
            "diagnose a model's scores stored in many files with --label and --score."
        )
    if score is None or len(score) != 1 or label is None:
        raise DataError(
            "--engine dask diagnoses one score column (--label y --score p); one-vs-rest "
            "multiclass scores run on one machine: drop --engine dask."
        )
    if calibrate is not None:
        raise DataError(
            "--calibrate cross-fits a calibrator on the scores in memory: drop --engine dask, "
            "or calibrate a sample of the scores on one machine."
        )
    for req in requirements:
        if req.per is not None:
            raise RequirementError(
                f"The requirement {req.text!r} asks for a guarantee per group, which needs the "
                "scores of every group in memory: drop --engine dask for it."
            )
    with dask_client(cluster, workers, Console(stderr=True, highlight=False)) as client:
        d = diagnose_dask(
            path, label, score[0], positive, client=client,
            threshold=0.5 if threshold is None else threshold, confidence=confidence,
            n_boot=n_boot, random_state=seed,
        )
    d.decisions = [
        decide_on_curve(d.curve, req, confidence=confidence, n_boot=min(n_boot, 200),
                        random_state=seed)
        for req in requirements
    ]
    report = write_report(d, out)
    finish(d, report, json_out, open_report, console)
    if any(not dec.met for dec in d.decisions):
        raise typer.Exit(1)

