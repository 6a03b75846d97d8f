"""``fnguard report``: (re)write the HTML report of a saved Guard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fnguard.cli._app import JsonOption, app, emit_json


@app.command()
def report(
    guard_dir: Annotated[
        Path, typer.Argument(help="The Guard folder that `fnguard fit --out` wrote.")
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder of the report (default: GUARD_DIR/report)."),
    ] = None,
    open_report: Annotated[
        bool, typer.Option("--open", help="Open the report in a web browser.")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Write a Guard's report: requirement, test-set metrics, leaderboard, levers, curves."""
    from fnguard.errors import ArtifactError
    from fnguard.guard import load
    from fnguard.report import write_guard_report

    folder = Path(guard_dir)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise ArtifactError(
            f"The Guard folder '{folder}' {what}: pass the folder that `fnguard fit --out` "
            "wrote."
        )
    guard = load(folder)
    index = write_guard_report(guard, out if out is not None else folder / "report")
    if json_out:
        emit_json(
            {
                "report": str(index),
                "requirement": str(guard.requirement),
                "met": bool(guard.met),
                "threshold": float(guard.threshold),
            }
        )
    else:
        from rich.markup import escape

        console = Console(highlight=False)
        verdict = "[green]met[/]" if guard.met else "[bold red]NOT met[/]"
        console.print(
            f"Requirement [bold]{escape(str(guard.requirement))}[/] {verdict} on the test set; "
            f"threshold {float(guard.threshold):.6g}."
        )
        console.print(f"Report: {escape(str(index))}", soft_wrap=True)
    if open_report:
        from fnguard.cli._app import open_in_browser

        open_in_browser(index)
