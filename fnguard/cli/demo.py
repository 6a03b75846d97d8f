"""``fnguard demo``: the main job on a bundled real dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from fnguard.cli._app import JsonOption, app, emit_json


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder the Guard is saved to (report/index.html inside).")
    ] = Path("fnguard-demo"),
    dataset: Annotated[
        str, typer.Option(help="Bundled dataset: lending_club, nass_cds, caravan, digits.")
    ] = "lending_club",
    require: Annotated[
        str, typer.Option(help="The requirement: a plain model at threshold 0.5 misses it.")
    ] = "recall>=0.8",
    budget: Annotated[
        str, typer.Option(help="Time for the whole fit: seconds or '90s', '2m'.")
    ] = "2m",
    seed: Annotated[int, typer.Option(help="Seed of the splits, the search and the levers.")] = 0,
    json_out: JsonOption = False,
    open_report: Annotated[
        bool, typer.Option("--open", help="Open the report in a web browser.")
    ] = False,
) -> None:
    """Fit a Guard on a bundled real dataset and show what it changes against a plain model.

    Exit code 1 when the requirement is not met on the held-out test set.
    """
    from rich.markup import escape

    from fnguard.cli.fit import _print_summary, _progress_bar, summary
    from fnguard.data import datasets
    from fnguard.decide import parse_requirement
    from fnguard.demo import before_after, run_demo
    from fnguard.errors import DataError
    from fnguard.search.budget import parse_budget

    if dataset not in datasets.DATASETS:  # before the opening line, which names it
        raise DataError(
            f"There is no bundled dataset {dataset!r}: use one of {', '.join(datasets.DATASETS)}."
        )
    parse_requirement(require)
    parse_budget(budget)
    err = Console(stderr=True, highlight=False)
    if not json_out:
        err.print(
            f"[bold]fnguard demo[/]: searching the levers on the bundled [bold]{escape(dataset)}"
            f"[/] data for [bold]{escape(require)}[/] within {escape(budget)}; a final test "
            "split is held out and used once, at the end."
        )
    with _progress_bar(err) as on_trial:
        result = run_demo(dataset=dataset, out=out, require=require, budget=budget, seed=seed,
                          progress=on_trial)
    guard = result.guard
    doc = summary(guard, result.folder)
    change = before_after(guard)
    doc["dataset"] = result.dataset.source
    doc["before_after"] = change
    doc["report"] = None if result.report is None else str(result.report)
    if json_out:
        emit_json(doc)
    else:
        console = Console(highlight=False)
        _print_summary(doc, console)
        if change is not None:
            console.print(before_after_line(change, result.dataset.target,
                                            result.dataset.positive))
        if result.report is not None:
            console.print(f"Report: [bold]{escape(str(result.report))}[/]")
    if open_report and result.report is not None:
        from fnguard.cli._app import open_in_browser

        open_in_browser(result.report)
    if not guard.met:
        raise typer.Exit(1)


def before_after_line(change: dict[str, Any], target: str, positive: Any) -> str:
    """The demo's before/after sentence (Rich markup), from :func:`fnguard.demo.before_after`.

    Examples
    --------
    >>> change = {"positives": 103, "before_misses": 98, "after_misses": 15,
    ...           "misses_removed": 83, "false_alarms_added": 807,
    ...           "before_false_alarms": 5, "after_false_alarms": 812}
    >>> before_after_line(change, "loan_status", "bad")  # doctest: +NORMALIZE_WHITESPACE
    "[bold]Before/after[/] on 103 held-out positive cases (loan_status = 'bad'): a plain
    logistic regression at 0.5 misses 98; the Guard misses 15: [green]83 fewer misses, 807
    more false alarms[/] (5 -> 812 false alarms)."
    """
    from rich.markup import escape

    from fnguard.cli.fit import _change

    return (
        f"[bold]Before/after[/] on {change['positives']:,} held-out positive cases "
        f"({escape(str(target))} = {escape(repr(positive))}): a plain logistic regression "
        f"at 0.5 misses {change['before_misses']:,}; the Guard misses "
        f"{change['after_misses']:,}: [green]{escape(_change(change))}[/] "
        f"({change['before_false_alarms']:,} -> {change['after_false_alarms']:,} "
        "false alarms)."
    )
