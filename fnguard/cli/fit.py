"""``fnguard fit``: search the levers against a requirement and save a Guard."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from fnguard.cli._app import JsonOption, app, emit_json, print_note
from fnguard.cli._engine import (
    ClusterOption,
    EngineError,
    EngineOption,
    WorkersOption,
    check_engine,
)
from fnguard.data.names import plural

if TYPE_CHECKING:
    from fnguard.guard import Guard


@app.command()
def fit(
    path: Annotated[str, typer.Argument(help="CSV or Parquet file of features and labels.")],
    target: Annotated[str, typer.Option(help="Column of the labels.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to save the Guard to.")],
    positive: Annotated[
        str | None,
        typer.Option(help="The positive label (default: the minority class, said out loud)."),
    ] = None,
    require: Annotated[
        str,
        typer.Option(
            help="What the Guard must achieve: 'recall>=0.95', 'fnr<=0.05 @95%' (a guarantee), "
            "'cost:fn=50,fp=1' ..."
        ),
    ] = "recall>=0.95",
    budget: Annotated[
        str, typer.Option(help="Time for the whole fit: seconds or '90s', '10m', '1h'.")
    ] = "2m",
    levers: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated levers to search, e.g. 'smote,lightgbm' (`fnguard levers` "
            "lists them); a fast default pool otherwise."
        ),
    ] = None,
    test: Annotated[
        str | None,
        typer.Option(
            help="A labelled CSV or Parquet file kept apart as the final test set (same "
            "columns); then no rows of PATH are held out."
        ),
    ] = None,
    test_size: Annotated[
        float | None,
        typer.Option(help="Share of rows held out as the final test set (default 0.2)."),
    ] = None,
    cv: Annotated[int, typer.Option(help="Cross-validation folds of the search.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the splits, the search and the levers.")] = 0,
    jobs: Annotated[int, typer.Option(help="Folds fitted at once (-1: every core).")] = 2,
    drop: Annotated[
        list[str] | None,
        typer.Option(
            help="A column to leave out of the features (ids, leaks); repeat it, or list them: a,b."
        ),
    ] = None,
    max_trials: Annotated[
        int | None,
        typer.Option(min=1, help="Stop after this many trials, even with time left."),
    ] = None,
    margin: Annotated[
        float,
        typer.Option(
            help="For a plain constraint ('recall>=0.95'): the confidence with which the "
            "threshold should meet it on new data, not only on average (0: the point estimate)."
        ),
    ] = 0.9,
    report: Annotated[
        bool, typer.Option("--report/--no-report", help="Write the HTML report into the Guard.")
    ] = True,
    json_out: JsonOption = False,
    engine: EngineOption = "local",
    cluster: ClusterOption = None,
    workers: WorkersOption = None,
) -> None:
    """Search the levers for the model and threshold that meet a requirement; save a Guard.

    Exit code 1 when the requirement is not met on the held-out test set (the Guard is saved
    anyway, with that fact recorded).
    """
    from fnguard.guard_files import check_destination
    from fnguard.search import fit as search_fit

    started = time.monotonic()
    err = Console(stderr=True, highlight=False)
    engine = check_engine(engine, cluster, workers)
    if test is not None and engine == "dask":
        raise EngineError(
            "--test is not available with --engine dask yet: hold out a share of the table "
            "with --test-size, or fit on this machine (--engine local)."
        )
    check_destination(out)  # before the search, not after it
    if engine == "dask":
        from fnguard.cli._engine import dask_client
        from fnguard.distributed import fit_dask
        from fnguard.search.fit import DEFAULT_TEST_SIZE

        with dask_client(cluster, workers, err) as client, _progress_bar(err) as on_trial:
            guard = fit_dask(
                path, target, positive, require, client=client, budget=budget, seed=seed,
                holdout=DEFAULT_TEST_SIZE if test_size is None else test_size, levers=levers,
                cv=cv,
                jobs=jobs, drop=drop, progress=on_trial, max_trials=max_trials,
                margin=margin or None,
            )
    else:
        with _progress_bar(err) as on_trial:
            guard = search_fit(
                path, target, positive, require, budget=budget, levers=levers,
                test=test, test_size=test_size, cv=cv, seed=seed, jobs=jobs, drop=drop,
                progress=on_trial,
                max_trials=max_trials, margin=margin or None,
            )
    saved = guard.save(out, report=report)
    doc = summary(guard, saved)
    doc["seconds"] = round(time.monotonic() - started, 3)
    if json_out:
        emit_json(doc)
    else:
        _print_summary(doc, Console(highlight=False))
    if not guard.met:
        raise typer.Exit(1)


def summary(guard: Guard, saved: Path | None = None) -> dict[str, Any]:
    """The final summary of a fit, JSON-ready (what ``--json`` prints)."""
    from fnguard.search.leaderboard import jsonable

    m = guard.metrics
    keep = ("recall", "precision", "fpr", "fnr", "specificity", "f1", "roc_auc", "pr_auc", "ece")
    ref = guard.info.get("reference") or {}
    before = ref.get("logistic_at_0.5") or {}
    tuned = ref.get("logistic_tuned") or {}

    def change(point: dict[str, Any]) -> dict[str, Any] | None:
        if "fn" not in point:
            return None
        return {
            "misses_removed": int(point["fn"]) - int(m["fn"]),
            "false_alarms_added": int(m["fp"]) - int(point["fp"]),
        }

    band = guard.review_band
    return jsonable({
        "met": bool(guard.met),
        "requirement": guard.requirement,
        "out": None if saved is None else str(saved),
        "levers": list(guard.levers),
        "params": guard.params,
        "threshold": guard.threshold,
        "review_band": None if band is None else {"lower": band[0], "upper": band[1]},
        "test_table": guard.info.get("test_table"),
        "test": {
            **{k: {x: m[k].get(x) for x in ("value", "low", "high")} for k in keep if k in m},
            **{k: m[k] for k in ("n", "n_positive", "tp", "fp", "tn", "fn") if k in m},
        },
        "reference": ref,
        "against_logistic_at_0.5": change(before),
        "against_logistic_tuned": change(tuned),
        # the winner is the reference itself: only the threshold (its margin) differs
        "winner_is_reference": list(guard.levers) == ["logistic"]
        and not any(guard.params.values()),
        "trials": guard.info.get("trials"),
        "best_trial": guard.info.get("best_trial"),
        "elapsed": guard.info.get("elapsed"),
        "budget": guard.info.get("budget"),
        "search_seconds": guard.info.get("search_seconds"),
        "notes": guard.info.get("notes", []),
    })


class _progress_bar:
    """A Rich progress bar of the search on standard error; yields the ``progress`` callback.

    The bar fills with the time spent; beside it, the trials by state, the time left and the
    best trial so far. A last line says the same once the search is over.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar: Any = None
        self.last: Any = None

    def __enter__(self) -> Any:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            SpinnerColumn(),
            BarColumn(bar_width=20),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=self.console,
            transient=True,
        )
        self.bar.__enter__()
        self.task = self.bar.add_task("searching: the plain models first", total=None)
        return self.update

    def update(self, p: Any) -> None:
        from rich.markup import escape

        from fnguard.search.budget import format_seconds

        self.last = p
        left = format_seconds(max(p.budget - p.elapsed, 0.0))
        best = f" [green]best: {escape(p.best)}[/]" if p.best else ""
        self.bar.update(
            self.task, total=p.budget, completed=min(p.elapsed, p.budget),
            description=f"{_states(p)}, {left} left;{best}",
        )

    def __exit__(self, *exc: Any) -> None:
        from rich.markup import escape

        from fnguard.search.budget import format_seconds

        self.bar.__exit__(*exc)
        p = self.last
        if p is not None and exc[0] is None:
            best = f"; best out of fold: {escape(p.best)}" if p.best else ""
            self.console.print(
                f"Searched {_states(p)} in {format_seconds(p.elapsed)}{best}", soft_wrap=True
            )


def _states(p: Any) -> str:
    return (f"{plural(p.trials, 'trial')} ({p.complete} complete, {p.pruned} pruned, "
            f"{p.failed} failed)")


def _fmt(est: dict[str, Any] | None) -> str:
    if not est or est.get("value") is None:
        return "-"
    if est.get("low") is None:
        return f"{est['value']:.4f}"
    return f"{est['value']:.4f} [{est['low']:.4f}, {est['high']:.4f}]"


def _change(c: dict[str, Any]) -> str:
    """'88 fewer misses, 807 more false alarms' from the signed changes."""
    m, f = int(c["misses_removed"]), int(c["false_alarms_added"])
    misses = f"{abs(m):,} {'fewer' if m >= 0 else 'more'} {'miss' if abs(m) == 1 else 'misses'}"
    alarms = (f"{abs(f):,} {'more' if f >= 0 else 'fewer'} false "
              f"{'alarm' if abs(f) == 1 else 'alarms'}")
    return f"{misses}, {alarms}"


def _print_summary(doc: dict[str, Any], console: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    from fnguard.data.names import quote_source

    t = doc["test"]
    verdict = "[bold green]met[/]" if doc["met"] else "[bold red]NOT met[/]"
    console.print(
        f"[bold]Winner:[/] {escape(' + '.join(doc['levers']))} (trial {doc['best_trial']}), "
        f"threshold {doc['threshold']:.6g}", soft_wrap=True,
    )
    title = ("On the held-out test set" if not doc.get("test_table")
             else f"On the test table {quote_source(doc['test_table'])}")
    table = Table(title=escape(title) + " (95% intervals)", header_style="bold")
    table.add_column("metric")
    table.add_column("value [low, high]")
    for name in ("recall", "precision", "fpr", "ece", "pr_auc"):
        if name in t:
            table.add_row(name, _fmt(t[name]))
    table.add_row("misses / false alarms", f"{t['fn']:,} / {t['fp']:,} of {t['n']:,} rows")
    console.print(table)
    console.print(f"Requirement {escape(doc['requirement'])}: {verdict} on the test set.")
    for key, name in (("against_logistic_at_0.5", "a plain logistic regression at 0.5"),
                      ("against_logistic_tuned", "a logistic regression at its tuned threshold")):
        c = doc.get(key)
        if c:
            same = ""
            if key == "against_logistic_tuned" and doc.get("winner_is_reference"):
                same = (" (the same model: the Guard's threshold differs by its safety margin "
                        "only)")
            console.print(f"Against {name}: {_change(c)}{same}.")
    band = doc.get("review_band")
    if band:
        upper = "inf" if band["upper"] is None else f"{band['upper']:.6g}"
        if band["upper"] is not None and band["upper"] <= band["lower"]:
            console.print("Review band: empty (see the note on why).")
        else:
            console.print(f"Review band: scores in [{band['lower']:.6g}, {upper}).")
    for note in doc.get("notes") or []:
        print_note(console, str(note))
    if doc.get("out"):
        took = ""
        if doc.get("seconds") is not None and doc.get("search_seconds") is not None:
            from fnguard.search.budget import format_seconds

            total, search = float(doc["seconds"]), float(doc["search_seconds"])
            took = (
                f" in {format_seconds(total)} (budget {format_seconds(float(doc['budget']))}: "
                f"{format_seconds(search)} searching, {format_seconds(max(total - search, 0))} "
                "reading the data, refitting the winner, testing it and saving)"
            )
        console.print(f"Guard saved to [bold]{escape(doc['out'])}[/]{took}.", soft_wrap=True)
