"""``fnguard levers``: the catalogue of fixes."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console

from fnguard.cli._app import JsonOption, app


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
