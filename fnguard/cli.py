"""The ``fnguard`` command: parses, calls the library, prints. No logic of its own.

Exit codes: 0 done; 1 the requirement cannot be met; 2 bad input (one red line, no traceback).
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from fnguard.errors import FnguardError, FnguardWarning

if TYPE_CHECKING:
    from fnguard.decide.requirement import Requirement
    from fnguard.metrics.diagnosis import Diagnosis

app = typer.Typer(
    name="fnguard",
    help="Find, explain and cut the false negatives of classifiers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

OutOption = Annotated[
    Path,
    typer.Option("--out", help="Folder of the HTML report (index.html, misses.csv)."),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document instead of tables.")
]


def _emit_json(doc: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")


@app.command()
def demo(
    out: OutOption = Path("fnguard-report"),
    dataset: Annotated[
        str, typer.Option(help="Bundled dataset: lending_club, nass_cds, caravan, digits.")
    ] = "lending_club",
    seed: Annotated[int, typer.Option(help="Seed of the split, model and bootstrap.")] = 0,
    json_out: JsonOption = False,
    open_report: Annotated[
        bool, typer.Option("--open", help="Open the report in a web browser.")
    ] = False,
    require: Annotated[
        str,
        typer.Option(
            help="Requirement whose threshold is chosen on out-of-fold training scores and "
            "checked on the held-out split ('none' to skip)."
        ),
    ] = "recall>=0.8",
) -> None:
    """Fit a plain baseline on a bundled real dataset and diagnose its misses."""
    from fnguard.demo import run_demo

    console = Console(stderr=json_out)
    with console.status("Fitting the baseline and measuring its misses...", spinner="dots"):
        result = run_demo(
            dataset=dataset, out=out, random_state=seed,
            require=None if require.strip().lower() == "none" else require,
        )
    _finish(result.diagnosis, result.report, json_out, open_report, console)


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
    _finish(d, report, json_out, open_report, console)
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
        _emit_json(doc)
    else:
        from fnguard.console import print_classes

        print_classes(diagnoses, report, console)
    if open_report:
        import webbrowser

        webbrowser.open(Path(str(report)).resolve().as_uri())
    if not all(dec.met for d in diagnoses.values() for dec in d.decisions):
        raise typer.Exit(1)


def _finish(
    d: Diagnosis, report: Path | None, json_out: bool, open_report: bool, console: Console
) -> None:
    if json_out:
        doc = d.to_dict()
        doc["report"] = str(report) if report else None
        _emit_json(doc)
    else:
        from fnguard.console import print_diagnosis

        print_diagnosis(d, report, console)
    if open_report and report is not None:
        import webbrowser

        webbrowser.open(report.resolve().as_uri())


@app.command()
def levers(
    family: Annotated[
        str | None,
        typer.Option(help="Show one family only: features, resampling, algorithm, ensemble, ..."),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """List the levers: every fix fnguard can search, what it does and what can go wrong."""
    from fnguard.levers import FAMILIES, LeverError, registry

    if family is not None and family.strip().lower() not in FAMILIES:
        raise LeverError(
            f"There is no lever family {family!r}: use one of {', '.join(FAMILIES)}."
        )
    rows = [
        lever
        for fam in FAMILIES
        for lever in registry.family(fam)
        if family is None or fam == family.strip().lower()
    ]
    if json_out:
        sys.stdout.write(json.dumps([lever.to_dict() for lever in rows], indent=2) + "\n")
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Levers ({len(rows)})", header_style="bold", show_lines=False)
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("family")
    table.add_column("what it does")
    table.add_column("risk", style="yellow")
    for lever in rows:
        table.add_row(
            escape(lever.name), lever.family, escape(lever.summary), escape(lever.risk)
        )
    Console().print(table)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (2 for bad input, without a traceback).

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        The exit code.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    err = Console(stderr=True, highlight=False)
    failure: str | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FnguardWarning)
        try:
            result = app(args=args, prog_name="fnguard", standalone_mode=False)
            # Without standalone mode, typer returns an Exit's code instead of raising it.
            code = result if isinstance(result, int) and not isinstance(result, bool) else 0
        except FnguardError as exc:
            failure = str(exc)
            code = 2
        except typer.Exit as exc:
            code = int(exc.exit_code or 0)
        except typer.TyperException as exc:  # usage errors: bad option, missing argument
            show = getattr(exc, "show", None)
            if show is not None:
                show()
            else:
                err.print(f"[bold red]error:[/] {_escape(exc.format_message())}")
            code = 2
        except typer.Abort:
            err.print("[red]aborted[/]")
            code = 130
        except KeyboardInterrupt:
            err.print("[red]interrupted[/]")
            code = 130
    for w in caught:
        if issubclass(w.category, FnguardWarning):
            err.print(f"[yellow]note:[/] {_escape(str(w.message))}", soft_wrap=True)
    if failure is not None:  # last, so that it is the line a reader sees
        err.print(f"[bold red]error:[/] {_escape(failure)}", soft_wrap=True)
    return code


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
