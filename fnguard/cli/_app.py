"""The ``fnguard`` Typer application and the options its commands share."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

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


#: The notes a command printed on standard output in this run: ``main`` does not repeat them
#: on standard error when the same text also came as a warning.
SHOWN_NOTES: set[str] = set()


def print_note(console: Any, text: str) -> None:
    """Print ``note: text`` on ``console`` (Rich markup escaped) and remember it."""
    from rich.markup import escape

    SHOWN_NOTES.add(str(text))
    console.print(f"[yellow]note:[/] {escape(str(text))}", soft_wrap=True)


def open_in_browser(page: Any) -> None:
    """Open the HTML file ``page`` in the user's browser, or say on standard error where it is
    when no browser can be started (a server, no display)."""
    import webbrowser
    from pathlib import Path

    from rich.console import Console

    uri = Path(str(page)).resolve().as_uri()
    try:
        opened = webbrowser.open(uri)
    except webbrowser.Error:
        opened = False
    if not opened:
        print_note(Console(stderr=True, highlight=False),
                   f"No browser could be started here (--open): open {uri} by hand.")


def emit_json(doc: object) -> None:
    """Print one JSON document on standard output (NaN is refused: clean it first)."""
    sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
