"""``fnguard diagnose``: what a model's misses look like, with error bars."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from fnguard.cli._app import JsonOption, OutOption, app, emit_json

if TYPE_CHECKING:
    from fnguard.decide.requirement import Requirement
    from fnguard.metrics.diagnosis import Diagnosis


@app.command()
def diagnose(
    path: Annotated[str, typer.Argument(help="CSV or Parquet file of labels and scores.")],
    label: Annotated[str, typer.Option(help="Column of true labels.")],
    score: Annotated[
        list[str],
        typer.Option(
            help="Column of the model's scores. Repeat it, one column per class ('p_benign', "
            "'malignant=p_m'), for multiclass scores: each class is diagnosed against the rest."
        ),
    ],
    positive: Annotated[
        str | None,
        typer.Option(help="The positive label (default: the minority class, said out loud)."),
    ] = None,
    threshold: Annotated[
        float, typer.Option(help="Scores at or above it are predicted positive.")
    ] = 0.5,
    out: OutOption = Path("fnguard-report"),
    json_out: JsonOption = False,
    confidence: Annotated[float, typer.Option(help="Level of the intervals.")] = 0.95,
    n_boot: Annotated[int, typer.Option(help="Bootstrap replicates for intervals.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    open_report: Annotated[
        bool, typer.Option("--open", help="Open the report in a web browser.")
    ] = False,
    calibrate: Annotated[
        str | None,
        typer.Option(
            "--calibrate",
            help="Show what calibration would change: temperature, platt, isotonic or beta "
            "(cross-fitted on these scores; before/after ECE, Brier, saturation).",
        ),
    ] = None,
    require: Annotated[
        list[str] | None,
        typer.Option(
            "--require",
            help="A requirement such as 'recall>=0.95', 'fpr<=0.01 @95%' or 'cost:fn=50,fp=1'; "
            "repeat for several. Exit code 1 when one cannot be met.",
        ),
    ] = None,
) -> None:
    """Diagnose the scores of any model: its misses at every threshold, with error bars."""
    from fnguard.data import load_scores
    from fnguard.decide import parse_requirement
    from fnguard.decide.workflow import decide_for_diagnosis
    from fnguard.metrics import diagnose_table
    from fnguard.report import write_report

    console = Console(stderr=json_out)
    requirements = [parse_requirement(r) for r in require or []]
    options = {
        "threshold": threshold, "confidence": confidence, "n_boot": n_boot, "random_state": seed
    }
    if calibrate is not None:
        from fnguard.decide.calibration import _check_method

        _check_method(calibrate)
    if len(score) > 1:
        diagnoses, report, notes = _diagnose_classes(
            path, label, score, positive, requirements, out, options
        )
        _finish_classes(diagnoses, report, notes, json_out, open_report, console)
        return
    scored = load_scores(path, label=label, score=score[0], positive=positive)
    d = diagnose_table(
        scored, threshold=threshold, confidence=confidence, n_boot=n_boot, random_state=seed
    )
    if calibrate is not None:
        from fnguard.decide.calibration import calibration_report, cross_calibrate

        after = cross_calibrate(scored.y_score, scored.y_true, calibrate, positive=True,
                                random_state=seed)
        d.calibration_fix = {
            "method": calibrate,
            **calibration_report(scored.y_true, scored.y_score, after, positive=True,
                                 threshold=threshold),
        }
    d.decisions = decide_for_diagnosis(
        d,
        requirements,
        y_true=scored.y_true,
        y_score=scored.y_score,
        features=scored.features,
        n_boot=min(n_boot, 200),
        random_state=seed,
    )
    report = write_report(d, out)
    finish(d, report, json_out, open_report, console)
    if any(not dec.met for dec in d.decisions):
        raise typer.Exit(1)


def _diagnose_classes(
    path: str,
    label: str,
    score: list[str],
    positive: str | None,
    requirements: list[Requirement],
    out: Path,
    options: dict[str, Any],
) -> tuple[dict[Any, Diagnosis], Path, list[str]]:
    """Multiclass: one-vs-rest diagnosis per class, decisions, and the reports."""
    from fnguard.data import load_class_scores
    from fnguard.decide.workflow import decide_for_classes
    from fnguard.errors import DataError
    from fnguard.metrics.multiclass import diagnose_classes
    from fnguard.report.overview import write_class_reports

    if positive is not None:
        raise DataError(
            "--positive is for a binary label: with one --score column per class, each class "
            "is the positive one in turn. Drop --positive."
        )
    cs = load_class_scores(path, label=label, scores=score)
    diagnoses = diagnose_classes(cs, **options)
    decide_for_classes(
        diagnoses, requirements, y_true=cs.y, y_score=cs.y_score, features=cs.features,
        n_boot=min(int(options["n_boot"]), 200), random_state=options["random_state"],
    )
    report = write_class_reports(diagnoses, out, title=f"fnguard report: {cs.source}")
    return diagnoses, report, cs.notes


def _finish_classes(
    diagnoses: dict[Any, Diagnosis],
    report: Path,
    notes: list[str],
    json_out: bool,
    open_report: bool,
    console: Console,
) -> None:
    from fnguard import __version__
    from fnguard.metrics.multiclass import class_rows

    if json_out:
        doc = {
            "fnguard_version": __version__,
            "multiclass": True,
            "classes": [
                {"class": cls, **d.to_dict()} for cls, d in diagnoses.items()
            ],
            "per_class": [
                {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
                for row in class_rows(diagnoses)
            ],
            "notes": notes,
            "report": str(report),
        }
        emit_json(doc)
    else:
        from fnguard.console import print_classes

        print_classes(diagnoses, report, console)
    if open_report:
        import webbrowser

        webbrowser.open(Path(str(report)).resolve().as_uri())
    if not all(dec.met for d in diagnoses.values() for dec in d.decisions):
        raise typer.Exit(1)


def finish(
    d: Diagnosis, report: Path | None, json_out: bool, open_report: bool, console: Console
) -> None:
    """Print a diagnosis (tables, or JSON with ``json_out``) and open its report if asked."""
    if json_out:
        doc = d.to_dict()
        doc["report"] = str(report) if report else None
        emit_json(doc)
    else:
        from fnguard.console import print_diagnosis

        print_diagnosis(d, report, console)
    if open_report and report is not None:
        import webbrowser

        webbrowser.open(report.resolve().as_uri())
