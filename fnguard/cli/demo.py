"""``fnguard demo``: the main job on a bundled real dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fnguard.cli._app import JsonOption, OutOption, app
from fnguard.cli.diagnose import finish


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
    finish(result.diagnosis, result.report, json_out, open_report, console)
