"""``fnguard predict``: score a table with a Guard, in chunks, into a CSV or Parquet file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from fnguard.cli._app import JsonOption, app, emit_json


@app.command()
def predict(
    guard: Annotated[str, typer.Argument(help="The Guard folder (written by `fnguard fit`).")],
    data: Annotated[
        str, typer.Argument(help="The rows to score: CSV (optionally compressed) or Parquet.")
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Output file: .parquet, .pq, .csv or .csv.gz (the suffix chooses)."
        ),
    ] = Path("predictions.parquet"),
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", help="The most rows read and scored at once.", min=1)
    ] = 100_000,
    keep: Annotated[
        list[str] | None,
        typer.Option("--keep", help="An input column to copy into the output (ids); repeatable."),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Score new rows: score, decision, label and review flag per row, streamed in chunks."""
    from fnguard.guard import load
    from fnguard.serve import predict_file

    loaded = load(guard)
    summary = predict_file(loaded, data, out, chunk_size=chunk_size, keep=keep)
    doc = {
        "guard": guard,
        "requirement": loaded.requirement,
        "threshold": float(loaded.threshold),
        "review_band": None if loaded.review_band is None else [
            _finite(v) for v in loaded.review_band
        ],
        **summary,
    }
    if json_out:
        emit_json(doc)
        return
    _print(doc)


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if value not in (float("inf"), float("-inf")) and value == value else None


def _print(doc: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    rows = doc["rows"]

    def share(n: int) -> str:
        return f"{n:,} ({n / rows:.1%})" if rows else f"{n:,}"

    table = Table(title="Predictions", header_style="bold", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("rows scored", f"{rows:,}")
    table.add_row("flagged positive", share(doc["positives"]))
    table.add_row("review cases", share(doc["reviews"]))
    table.add_row("threshold", f"{doc['threshold']:.4g}")
    table.add_row("time", f"{doc['seconds']:.2f} s ({doc['chunks']:,} chunks)")
    console = Console(highlight=False)
    console.print(table)
    console.print(f"Written to [bold]{escape(doc['output'])}[/].")
