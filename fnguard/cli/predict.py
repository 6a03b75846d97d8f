"""``fnguard predict``: score a table with a Guard, in chunks, into a CSV or Parquet file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from fnguard.cli._app import JsonOption, app, emit_json, print_note
from fnguard.cli._engine import ClusterOption, EngineOption, WorkersOption, check_engine


@app.command()
def predict(
    guard: Annotated[str, typer.Argument(help="The Guard folder (written by `fnguard fit`).")],
    data: Annotated[
        str, typer.Argument(help="The rows to score: CSV (optionally compressed) or Parquet.")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Output file: .parquet, .pq, .csv or .csv.gz (the suffix chooses); "
            "predictions.parquet by default. With --engine dask a folder (predictions/ by "
            "default).", show_default=False,
        ),
    ] = None,
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", help="The most rows read and scored at once.", min=1)
    ] = 100_000,
    keep: Annotated[
        list[str] | None,
        typer.Option("--keep", help="An input column to copy into the output (ids); repeatable."),
    ] = None,
    review_db: Annotated[
        str | None,
        typer.Option("--review-db", help="Also enqueue the review band (and the audit) in this "
                     "review database: a SQLite file (created if missing) or SQLAlchemy URL."),
    ] = None,
    review_capacity: Annotated[
        str, typer.Option("--review-capacity", help="Most band cases to enqueue, highest scores "
                          "first: a count (200) or a share of the rows (2%).")
    ] = "2%",
    audit: Annotated[
        str | None,
        typer.Option("--audit", help="Also enqueue a random sample of auto-negatives, a count "
                     "or a share of the rows (0.5%): it estimates the misses in production."),
    ] = None,
    id_column: Annotated[
        str | None,
        typer.Option("--id-column", help="Column with a stable id per case; by default a "
                     "case's id is a hash of its whole row."),
    ] = None,
    json_out: JsonOption = False,
    engine: EngineOption = "local",
    cluster: ClusterOption = None,
    workers: WorkersOption = None,
) -> None:
    """Score new rows: score, decision, label and review flag per row, streamed in chunks.

    With --engine dask, DATA may be a glob of Parquet files and --out is a folder of Parquet
    files, one per input file.
    """
    from fnguard.errors import DataError
    from fnguard.guard import load
    from fnguard.serve import predict_file

    engine = check_engine(engine, cluster, workers)
    if review_db is None and (audit is not None or id_column is not None):
        raise DataError("--audit and --id-column choose what goes into the review queue: give "
                        "--review-db too.")
    if engine == "dask":
        out = _dask_output(Path("predictions") if out is None else out)
    out = Path("predictions.parquet") if out is None else out
    loaded = load(guard)
    if engine == "dask":
        summary = _predict_on_dask(
            loaded, data, out, cluster=cluster, workers=workers, chunk_size=chunk_size,
            keep=keep, review_db=review_db, review_capacity=review_capacity, audit=audit,
            id_column=id_column,
        )
    elif review_db is None:
        summary = predict_file(loaded, data, out, chunk_size=chunk_size, keep=keep)
    else:
        from fnguard.serve.predict import predict_to_queue

        summary = predict_to_queue(
            loaded, data, out, review_db, capacity=review_capacity, audit=audit,
            id_column=id_column, chunk_size=chunk_size, keep=keep,
        )
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


def _predict_on_dask(
    guard: Any, data: str, out: Path, *, cluster: str | None, workers: int | None,
    chunk_size: int, keep: list[str] | None, review_db: str | None, review_capacity: str,
    audit: str | None, id_column: str | None,
) -> dict[str, Any]:
    """Partitions scored on a Dask cluster; the review band enqueued here, on the client."""
    from fnguard.cli._engine import dask_client
    from fnguard.decide.review import parse_capacity
    from fnguard.distributed import predict_dask
    from fnguard.errors import DataError

    if audit is not None:
        raise DataError(
            "--audit samples auto-negatives uniformly over the whole file, which --engine dask "
            "does not collect yet: drop --audit, or predict on one machine."
        )
    if review_db is not None:  # a store of another Guard, or one that cannot be created:
        from fnguard.serve.queue import check_guard  # refused before the cluster scores
        from fnguard.serve.store import check_store, open_store

        check_store(review_db)
        if Path(review_db).exists():
            engine = open_store(review_db)
            try:
                check_guard(engine, guard)
            finally:
                engine.dispose()
    with dask_client(cluster, workers, Console(stderr=True, highlight=False)) as client:
        summary = predict_dask(guard, data, out, client=client, keep=keep, chunk_size=chunk_size,
                               overwrite=_earlier_predictions(out))
    review, cases = summary.pop("review"), summary.pop("review_cases")
    summary["chunks"] = summary.get("partitions", 0)
    if review_db is not None:
        from fnguard.serve.queue import enqueue
        from fnguard.serve.sampling import file_digest
        from fnguard.serve.store import batches, open_store, write

        rows, auto_negative = int(summary["rows"]), int(summary["auto_negative"])
        capacity = parse_capacity(review_capacity, max(rows, 1))
        # only the band came back from the workers: name the batch and count the whole input
        # as the local path does (fnguard.serve.predict.predict_to_queue)
        queue = enqueue(review_db, guard, cases, review, capacity=capacity,
                        id_column=id_column, batch=_batch_name(data), digest=file_digest(data))
        engine = open_store(review_db)
        try:
            with write(engine) as conn:
                conn.execute(
                    batches.update()
                    .where(batches.c.id == queue["batch"])
                    .values(n_rows=rows, n_auto_negative=auto_negative)
                )
        finally:
            engine.dispose()
        queue.update(rows=rows, auto_negative=auto_negative)
        queue.setdefault("database", review_db)
        queue.setdefault("audit_asked", None)
        queue.setdefault("notes", [])
        summary["queue"] = queue
    return summary


def _batch_name(data: str) -> str:
    """The input's name for the review store: its file or folder name, a glob with its folder."""
    path = Path(data)
    if any(c in path.name for c in "*?["):
        return f"{path.parent.name}/{path.name}" if path.parent.name else path.name
    return path.name or str(data)


#: Suffixes of a table file: a Dask output is a folder, so an --out ending in one is a mistake.
_FILE_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".txt", ".json", ".gz", ".bz2", ".zip",
                  ".xz", ".zst")


def _earlier_predictions(out: Path) -> bool:
    """Whether ``out`` is a folder of earlier predictions only (part-*.parquet): replaced."""
    return out.is_dir() and all(p.name.startswith("part-") for p in out.iterdir())


def _dask_output(out: Path) -> Path:
    """The --out folder of --engine dask, checked before a cluster starts."""
    from fnguard.errors import OutputError

    if out.suffix.lower() in _FILE_SUFFIXES and not out.is_dir():
        raise OutputError(
            f"--engine dask writes a folder of Parquet files (part-00000.parquet, one per "
            f"input file), but --out '{out}' names a {out.suffix} file: give a folder path, "
            f"e.g. --out {out.with_suffix('')}."
        )
    if out.is_dir() and any(out.iterdir()) and not _earlier_predictions(out):
        raise OutputError(
            f"The output folder '{out}' holds files other than earlier predictions "
            "(part-*.parquet), which --engine dask would replace: choose a new or empty "
            "folder."
        )
    from fnguard.distributed.predict import check_output_folder

    return check_output_folder(out, overwrite=True)


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
    queue = doc.get("queue")
    if queue is not None:
        table.add_row("enqueued for review", f"{queue['enqueued']:,}")
        table.add_row("  from the review band", f"{queue['review']:,} (capacity "
                      f"{queue['capacity']:,}, {queue['left_out']:,} left out)")
        audit = "none asked" if queue["audit_asked"] is None else f"{queue['audit']:,}"
        table.add_row("  audit of auto-negatives", audit)
        table.add_row("already queued (duplicates)", f"{queue['duplicates']:,}")
    console = Console(highlight=False)
    console.print(table)
    console.print(f"Written to [bold]{escape(doc['output'])}[/].")
    if queue is not None:
        console.print(f"Review cases in [bold]{escape(str(queue['database']))}[/]: serve them "
                      "with `fnguard review serve`.")
        for note in queue["notes"]:
            print_note(console, note)
