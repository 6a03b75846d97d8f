"""The ``fnguard`` Typer application and the options its commands share."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

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


def emit_json(doc: object) -> None:
    """Print one JSON document on standard output (NaN is refused: clean it first)."""
    sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
