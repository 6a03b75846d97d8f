"""``fnguard diagnose``: what a model's misses look like, with error bars."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from fnguard.cli._app import JsonOption, OutOption, app, emit_json
from fnguard.cli._engine import ClusterOption, EngineOption, WorkersOption, check_engine

if TYPE_CHECKING:
    from fnguard.decide.requirement import Requirement
    from fnguard.metrics.diagnosis import Diagnosis


@app.command()
def diagnose(
    ctx: typer.Context,
    path: Annotated[
        str,
        typer.Argument(
            help="CSV or Parquet file: labels and a model's scores (--label, --score), or "
            "features and labels (--target)."
        ),
    ],
    label: Annotated[
        str | None, typer.Option(help="Scores mode: the column of true labels.")
    ] = None,
    score: Annotated[
        list[str] | None,
        typer.Option(
            help="Scores mode: the column of the model's scores. Repeat it, one column per "
            "class ('p_benign', 'malignant=p_m'), for multiclass scores: each class is "
            "diagnosed against the rest."
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            help="Table mode: the label column of a table of features. A model is fitted on "
            "the spot (out-of-fold scores), or given with --model, and its misses explained."
        ),
    ] = None,
    positive: Annotated[
        str | None,
        typer.Option(help="The positive label (default: the minority class, said out loud)."),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Scores at or above it are predicted positive (default 0.5, or the Guard's)."
        ),
    ] = None,
    out: OutOption = Path("fnguard-report"),
    json_out: JsonOption = False,
    confidence: Annotated[float, typer.Option(help="Level of the intervals.")] = 0.95,
    n_boot: Annotated[int, typer.Option(help="Bootstrap replicates for intervals.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap (and of folds, models).")] = 0,
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
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Table mode: a Guard folder, or a scikit-learn model saved with skops, to "
            "diagnose instead of fitting LightGBM on the spot.",
        ),
    ] = None,
    trust_model: Annotated[
        bool,
        typer.Option(
            "--trust-model",
            help="Load a skops model file even if it holds types outside scikit-learn, "
            "imbalanced-learn, LightGBM, NumPy, SciPy, pandas and fnguard (inspect them first).",
        ),
    ] = False,
    explain_misses: Annotated[
        bool,
        typer.Option(
            "--explain/--no-explain",
            help="Table mode: explain the misses (label errors, over-fitting, what they share, "
            "duplicates) and recommend levers, the top three measured.",
        ),
    ] = True,
    drop: Annotated[
        list[str] | None,
        typer.Option("--drop", help="Table mode: a column to leave out (an id); repeat, or a,b."),
    ] = None,
    cv: Annotated[int, typer.Option(help="Table mode: cross-validation folds.")] = 5,
    budget: Annotated[
        str,
        typer.Option(
            help="Table mode: time for the quick check of the top three levers: seconds or "
            "'90s', '2m'."
        ),
    ] = "60",
    quick_check: Annotated[
        bool,
        typer.Option(
            "--quick-check/--no-quick-check",
            help="Table mode: measure the top three recommended levers.",
        ),
    ] = True,
    review_db: Annotated[
        str | None,
        typer.Option(
            "--review-db",
            help="Table mode with a Guard (--model): put the suspected label errors in this "
            "review queue (a SQLite path or SQLAlchemy URL) for experts to relabel.",
        ),
    ] = None,
    engine: EngineOption = "local",
    cluster: ClusterOption = None,
    workers: WorkersOption = None,
) -> None:
    """Diagnose a model's misses at every threshold, with error bars; explain them.

    Scores mode (--label, --score): the scores of any model. Table mode (--target): a table of
    features, scored out of fold by LightGBM fitted on the spot or by --model; the misses are
    explained and the levers that fit them recommended.
    """
    from fnguard.data import load_scores
    from fnguard.decide import parse_requirement
    from fnguard.decide.workflow import decide_for_diagnosis
    from fnguard.metrics import diagnose_table
    from fnguard.report import write_report
    from fnguard.report.html import INDEX, MISSES_CSV, check_report_files
    from fnguard.search.budget import duration_seconds

    console = Console(stderr=json_out)
    engine = check_engine(engine, cluster, workers)
    score = _check_mode(label, score, target, model, drop, review_db, ctx=ctx)
    requirements = [parse_requirement(r) for r in require or []]
    # before any work: not over the input table, nor over a page fnguard did not write
    check_report_files(out, [INDEX, MISSES_CSV], inputs=glob.glob(path) or [path])
    if engine == "dask":
        from fnguard.cli.diagnose_dask import diagnose_on_dask

        diagnose_on_dask(
            path, label, score, positive, target=target, calibrate=calibrate,
            requirements=requirements, threshold=threshold, confidence=confidence,
            n_boot=n_boot, seed=seed, out=out, cluster=cluster, workers=workers,
            json_out=json_out, open_report=open_report, console=console,
        )
        return
    if target is not None:
        _diagnose_table(
            path, target, positive, drop=drop, model=model, trust_model=trust_model,
            threshold=threshold, explain_misses=explain_misses, cv=cv,
            budget=duration_seconds(budget),
            quick_check=quick_check, review_db=review_db, seed=seed, confidence=confidence,
            n_boot=n_boot,
            requirements=requirements, require_text=list(require or []), calibrate=calibrate,
            out=out, json_out=json_out, open_report=open_report, console=console,
        )
        return
    assert label is not None
    threshold = 0.5 if threshold is None else threshold
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
        from fnguard.cli._app import open_in_browser

        open_in_browser(report)
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
        _print_notes(d)
    if open_report and report is not None:
        from fnguard.cli._app import open_in_browser

        open_in_browser(report)


def _print_notes(d: Diagnosis) -> None:
    """The diagnosis's notes (how the table was read, what the model is) on standard error,
    each once (JSON carries them in ``notes``)."""
    from fnguard.cli._app import SHOWN_NOTES, print_note

    err = Console(stderr=True, highlight=False)
    for note in d.notes:
        if note not in SHOWN_NOTES:
            print_note(err, note)


def _check_mode(
    label: str | None,
    score: list[str] | None,
    target: str | None,
    model: str | None,
    drop: list[str] | None,
    review_db: str | None = None,
    *,
    ctx: Any = None,
) -> list[str]:
    """Which mode: scores (--label and --score) or table (--target); never both, never neither
    (``ctx``: the command's context, to tell options given from defaults)."""
    from fnguard.errors import DataError

    scores_mode = label is not None or bool(score)
    if target is not None and scores_mode:
        raise DataError(
            "Give --target for a table of features (table mode), or --label with --score for "
            "a table of a model's scores (scores mode), not both."
        )
    if target is None and not scores_mode:
        raise DataError(
            "Say what the table holds: --target COLUMN for features and labels (a model is "
            "fitted, or given with --model), or --label COLUMN --score COLUMN for labels and "
            "a model's scores."
        )
    if target is None:
        if label is None or not score:
            missing = "--label" if label is None else "--score"
            raise DataError(
                f"Scores mode needs both --label and --score; {missing} is missing: name the "
                "label column and the score column (or use --target for a table of features)."
            )
        used = [flag for flag, v in (("--model", model), ("--drop", drop),
                                     ("--review-db", review_db)) if v]
        used += _given(ctx, ("explain_misses", "--explain/--no-explain"), ("cv", "--cv"),
                       ("budget", "--budget"), ("quick_check", "--quick-check/--no-quick-check"))
        if used:
            raise DataError(
                f"{' and '.join(used)} {'belongs' if len(used) == 1 else 'belong'} to table "
                f"mode (--target): drop {'it' if len(used) == 1 else 'them'}, or pass a table "
                "of features with --target."
            )
    return list(score or [])


def _given(ctx: Any, *options: tuple[str, str]) -> list[str]:
    """The options, of (parameter, flag) pairs, given on the command line (not defaults)."""
    if ctx is None:
        return []
    return [flag for name, flag in options
            if getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"]


def _diagnose_table(
    path: str,
    target: str,
    positive: str | None,
    *,
    drop: list[str] | None,
    model: str | None,
    trust_model: bool,
    threshold: float | None,
    explain_misses: bool,
    cv: int,
    budget: float,
    quick_check: bool,
    review_db: str | None,
    seed: int,
    confidence: float,
    n_boot: int,
    requirements: list[Requirement],
    require_text: list[str],
    calibrate: str | None,
    out: Path,
    json_out: bool,
    open_report: bool,
    console: Console,
) -> None:
    """Table mode: score the table (model or on the spot), diagnose, explain, report."""
    from fnguard.data import load_table
    from fnguard.decide.workflow import decide_for_diagnosis
    from fnguard.errors import DataError
    from fnguard.explain import explain, load_model
    from fnguard.explain.run import diagnose_scores, score_table

    if cv < 2:
        raise DataError(f"--cv must be at least 2. Got {cv} instead.")
    if calibrate is not None:
        from fnguard.decide.calibration import _check_method

        _check_method(calibrate)
    data = load_table(path, target, positive, drop=drop or None)
    fitted = load_model(model, trust=trust_model) if model is not None else None
    if review_db is not None:
        from fnguard.guard import Guard

        if not isinstance(fitted, Guard) or not explain_misses:
            raise DataError(
                "--review-db puts suspected label errors in a Guard's review queue: pass the "
                "Guard folder with --model, and keep --explain."
            )
        from fnguard.serve.store import check_store

        check_store(review_db)  # before the work and the report: nothing half-written
    exp = None
    with console.status("Scoring the table...", spinner="dots") as status:
        if explain_misses:
            exp = explain(
                data, model=fitted, cv=cv, seed=seed, threshold=threshold,
                quick_check=quick_check, budget=budget,
                require=require_text[0] if require_text else "recall>=0.8",
                confidence=confidence, n_boot=n_boot, progress=status.update,
            )
            d, scores = exp.diagnosis, exp.diagnosis_scores
        else:
            ts = score_table(data, model=fitted, cv=cv, seed=seed, threshold=threshold,
                             training=False, progress=status.update)
            d = diagnose_scores(data, ts, confidence=confidence, n_boot=n_boot, seed=seed)
            scores = ts.scores
        if calibrate is not None:
            from fnguard.decide.calibration import calibration_report, cross_calibrate

            after = cross_calibrate(scores, data.y, calibrate, positive=True, random_state=seed)
            d.calibration_fix = {
                "method": calibrate,
                **calibration_report(data.y, scores, after, positive=True,
                                     threshold=d.threshold),
            }
        d.decisions = decide_for_diagnosis(
            d, requirements, y_true=data.y, y_score=scores, features=data.X,
            n_boot=min(n_boot, 200), random_state=seed,
        )
    report = _write_table_report(d, exp, out)
    queued = None
    if review_db is not None and exp is not None and exp.label_issues is not None:
        from fnguard.data import read_frame
        from fnguard.explain.review import enqueue_label_issues

        queued = enqueue_label_issues(review_db, fitted, read_frame(path), exp.label_issues)
    if json_out:
        from fnguard.cli._app import emit_json

        doc = d.to_dict()
        doc["report"] = str(report)
        if exp is not None:
            doc["explain"] = exp.to_dict()
            csv = out / "label_issues.csv"
            doc["explain"]["label_issues_csv"] = str(csv) if csv.is_file() else None
            doc["explain"]["review_queue"] = queued
        emit_json(doc)
    else:
        from fnguard.console import print_diagnosis

        print_diagnosis(d, None, console)
        _print_notes(d)
        if exp is not None:
            from fnguard.console import print_explanation

            print_explanation(exp, report, console)
            if queued is not None:
                console.print(
                    f"Review queue {review_db}: {queued.get('enqueued', 0)} suspected label "
                    f"errors enqueued ({queued.get('duplicates', 0)} already there)."
                )
        else:
            console.print(f"[bold green]Report: {report}[/]")
    if open_report:
        from fnguard.cli._app import open_in_browser

        open_in_browser(report)
    if any(not dec.met for dec in d.decisions):
        raise typer.Exit(1)


def _write_table_report(d: Diagnosis, exp: Any, out: Path) -> Path:
    """The HTML report (with the explanation when there is one) and label_issues.csv."""
    from fnguard.report import write_report

    if exp is None:
        return write_report(d, out)
    from fnguard.explain.report import write_explained_report

    return write_explained_report(d, exp, out)
