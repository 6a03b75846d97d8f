"""Batch prediction: score a table with a Guard, in chunks, into a CSV or Parquet file.

:func:`predict_file` streams the input (CSV in pandas chunks, Parquet in pyarrow record
batches), so memory stays bounded by ``chunk_size`` whatever the file's length, and writes the
output through a temporary file renamed at the end: on any error nothing is left half-written.
:func:`predict_frame` does the same for a DataFrame in memory.

Output columns: ``row`` (0-based row number in the input), the ``keep`` columns copied from
the input (ids), then ``score``, ``decision`` (0/1), ``label`` and ``review`` (see
:meth:`fnguard.guard.Guard.decide`).

With ``review=ReviewSample(...)``, :func:`predict_file` also gathers, while it streams, what the
review queue needs: the rows of the review band (only the ``capacity`` highest scores once the
capacity is a count) and an audit sample of auto-negatives, each with every input column.
The audit is uniform over the file whatever the chunk size: each row gets a seeded hash of
its row number, a number in [0, 1), and the audit is the auto-negatives with the smallest
ones. :func:`enqueue_sample` then puts them in the review store
(:func:`fnguard.serve.queue.enqueue`).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fnguard._atomic import guard_folder_of
from fnguard.data.frames import csv_parse_error
from fnguard.data.names import closest_names, format_names
from fnguard.data.schema import Drift
from fnguard.errors import DataError, FnguardWarning, OutputError
from fnguard.serve.sampling import (  # noqa: F401
    ReviewSample,
    SampledRows,
    _Collector,
    _uniform,
    file_digest,
)

__all__ = [
    "OUTPUT_SUFFIXES",
    "ReviewSample",
    "SampledRows",
    "predict_file",
    "predict_frame",
    "predict_to_queue",
]

#: Output suffixes and the format each writes.
OUTPUT_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".csv.gz": "csv"}
#: The columns every output has after ``row`` and the kept columns.
DECISION_COLUMNS = ("score", "decision", "label", "review")


def predict_frame(
    guard: Any,
    frame: pd.DataFrame,
    *,
    keep: str | Sequence[str] | None = None,
    source: str = "the DataFrame",
) -> pd.DataFrame:
    """Score and decide every row of a DataFrame, as :func:`predict_file` writes them.

    Parameters
    ----------
    guard : Guard, str or PathLike
        A Guard, or its folder (loaded with :func:`fnguard.load`).
    frame : DataFrame
        The rows to score; it must hold the Guard's feature columns.
    keep : str or sequence of str, optional
        Input columns to copy into the result (ids).
    source : str, default="the DataFrame"
        The table, for messages.

    Returns
    -------
    DataFrame
        ``row``, the ``keep`` columns, ``score``, ``decision``, ``label``, ``review``; indexed
        0..n-1.

    Examples
    --------
    >>> from fnguard.data import load_table
    >>> from fnguard.guard import Guard
    >>> from fnguard.levers import build
    >>> frame = pd.DataFrame({"id": range(30), "x": [0.1, 0.4, 0.35, 0.8, 0.9, 0.2] * 5,
    ...                       "y": [0, 0, 1, 1, 1, 0] * 5})
    >>> data = load_table(frame, "y", positive=1, drop="id")
    >>> guard = Guard(build(["logistic"], data.schema).fit(data.X, data.y), data.schema,
    ...               "y", 1, 0, "recall>=0.9", threshold=0.5)
    >>> predict_frame(guard, frame.tail(2), keep="id")[["row", "id", "decision", "label"]]
       row  id  decision  label
    0    0  28         1      1
    1    1  29         0      0
    """
    guard = _guard(guard)
    kept = _keep_names(keep)
    drift = Drift(guard.schema, source=source, ignore=[*guard.not_features, *kept])
    out = _chunk_predictions(guard, frame, 0, kept, source, drift)
    drift.warn(stacklevel=2)
    return out


def predict_file(
    guard: Any,
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    chunk_size: int = 100_000,
    keep: str | Sequence[str] | None = None,
    review: ReviewSample | None = None,
) -> dict[str, Any]:
    """Score a CSV or Parquet table with a Guard, chunk by chunk, into a CSV or Parquet file.

    Parameters
    ----------
    guard : Guard, str or PathLike
        A Guard, or its folder (loaded with :func:`fnguard.load`).
    source : str or PathLike
        The input: a CSV file (``.csv``, ``.tsv``, ``.txt``, optionally compressed as
        :func:`fnguard.data.read_frame` reads them), a Parquet file or a folder of Parquet
        files.
    out : str or PathLike
        The output file; its suffix chooses the format: ``.parquet`` / ``.pq`` or ``.csv`` /
        ``.csv.gz``. It is written under a temporary name and renamed when complete.
    chunk_size : int, default=100_000
        The most rows read, checked and scored at once.
    keep : str or sequence of str, optional
        Input columns copied into the output before the scores (ids).
    review : ReviewSample, optional
        Also gather the rows the review queue needs (see the module docstring); memory then
        grows with the review band and the audit, not with the file.

    Returns
    -------
    dict
        ``rows``, ``positives`` (decision 1), ``reviews`` (in the review band), ``chunks``,
        ``seconds``, ``source``, ``output`` (the path written) and ``warnings`` (the drift
        messages, each also given once as a :class:`~fnguard.errors.FnguardWarning`); with
        ``review``, also ``sample``: the :class:`SampledRows`.

    Raises
    ------
    DataError
        If the input cannot be read, has no rows, lacks a trained or kept column, or holds
        values that cannot be read as their column's type (the message counts rows from the
        start of the file).
    OutputError
        If the output suffix is not one of :data:`OUTPUT_SUFFIXES`, the output is the input,
        or it cannot be written.
    ArtifactError
        If ``guard`` is a folder that is not a valid Guard.

    Examples
    --------
    >>> import tempfile
    >>> from fnguard.data import load_table
    >>> from fnguard.guard import Guard
    >>> from fnguard.levers import build
    >>> frame = pd.DataFrame({"x": [0.1, 0.4, 0.35, 0.8, 0.9, 0.2] * 5,
    ...                       "y": [0, 0, 1, 1, 1, 0] * 5})
    >>> data = load_table(frame, "y", positive=1)
    >>> guard = Guard(build(["logistic"], data.schema).fit(data.X, data.y), data.schema,
    ...               "y", 1, 0, "recall>=0.9", threshold=0.5)
    >>> folder = Path(tempfile.mkdtemp())
    >>> frame.to_csv(folder / "new.csv", index=False)
    >>> summary = predict_file(guard, folder / "new.csv", folder / "out.parquet", chunk_size=8)
    >>> summary["rows"], summary["chunks"], summary["positives"]
    (30, 4, 10)
    >>> pd.read_parquet(folder / "out.parquet").columns.tolist()
    ['row', 'score', 'decision', 'label', 'review']
    """
    from fnguard._atomic import atomic_path, prepare_dir

    started = time.perf_counter()
    guard = _guard(guard)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int | np.integer) or (
        chunk_size < 1
    ):
        raise DataError(f"'chunk_size' must be an integer >= 1. Got {chunk_size!r} instead.")
    kept = _keep_names(keep)
    source_path, out_path = Path(source), Path(out)
    fmt = _output_format(out_path)
    label = os.fspath(source_path)
    # the columns training read as text are read as text: codes like "07" stay "07" whatever
    # else a chunk holds
    chunks = _read_chunks(source_path, int(chunk_size), text=guard.schema.text())
    _check_output(source_path, out_path)
    prepare_dir(out_path.absolute().parent, what="folder of the output")
    collector = None if review is None else _Collector(review, label)
    ids = [] if review is None or review.id_column is None else [review.id_column]
    drift = Drift(guard.schema, source=label, ignore=[*guard.not_features, *kept, *ids])
    rows = positives = reviews = n_chunks = 0
    with atomic_path(out_path, what="output file") as tmp, _writer(fmt, out_path, tmp) as write:
        for chunk in chunks:
            if n_chunks == 0:
                _check_keep(kept, chunk.columns, label)
            result = _chunk_predictions(guard, chunk, rows, kept, label, drift)
            if collector is not None:
                collector.add(chunk, result)
            write(result)
            rows += len(result)
            positives += int(result["decision"].sum())
            reviews += int(result["review"].sum())
            n_chunks += 1
        if rows == 0:
            raise DataError(
                f"The input table '{label}' has no rows, only a header: pass a table with data "
                "rows."
            )
    messages = drift.warn(stacklevel=2)
    seconds = time.perf_counter() - started
    if n_chunks >= SMALL_CHUNKS and chunk_size < 1_000:
        slow = (
            f"{rows:,} rows were scored in {n_chunks:,} chunks of at most {chunk_size:,} rows "
            f"({seconds:.1f} s): every chunk pays the model's fixed cost of a call, so small "
            "chunks are slow; a chunk size of 10,000 to 100,000 rows keeps memory bounded and "
            "scores far faster."
        )
        warnings.warn(slow, FnguardWarning, stacklevel=2)
        messages = [*messages, slow]
    summary = {
        "rows": rows,
        "positives": positives,
        "reviews": reviews,
        "chunks": n_chunks,
        "seconds": seconds,
        "source": label,
        "output": os.fspath(out_path),
        "warnings": messages,
    }
    if collector is not None:
        summary["sample"] = collector.finish(rows)
    return summary


def predict_to_queue(
    guard: Any,
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    db: Any,
    *,
    capacity: int | float | str | None = "2%",
    audit: int | float | str | None = None,
    id_column: str | None = None,
    seed: int = 0,
    chunk_size: int = 100_000,
    keep: str | Sequence[str] | None = None,
    explain: bool = True,
) -> dict[str, Any]:
    """Score a file into ``out`` (:func:`predict_file`), then enqueue its review cases in ``db``.

    An existing database is checked first (schema version, and that its cases were queued for
    a Guard with this schema), so a wrong one costs no scoring. The cases then go through
    :func:`fnguard.serve.queue.enqueue` (case ids, duplicates, audit order, contributions), and
    the batch record gets the file's row and auto-negative counts, on which the audit's
    estimate of the misses in production rests. The same file run again enqueues nothing.

    Parameters
    ----------
    guard : Guard, str or PathLike
        A Guard, or its folder.
    source, out, chunk_size, keep
        As in :func:`predict_file`.
    db : str, PathLike or Engine
        The review database (a SQLite path or SQLAlchemy URL); created when missing.
    capacity, audit, seed, id_column
        As in :class:`ReviewSample`; without ``id_column`` a case's id hashes its whole row.
    explain : bool, default=True
        Store each new case's per-feature contributions (one score per feature per case).

    Returns
    -------
    dict
        :func:`predict_file`'s summary and ``queue``: ``enqueued``, ``review``, ``audit``,
        ``duplicates`` (already queued), ``band``, ``capacity``, ``left_out``,
        ``auto_negative`` and ``rows`` (of the whole file), ``batch``, ``database``, ``notes``.

    Examples
    --------
    >>> import tempfile
    >>> from fnguard.data import load_table
    >>> from fnguard.guard import Guard
    >>> from fnguard.levers import build
    >>> x = np.linspace(0, 1, 200)
    >>> data = load_table(pd.DataFrame({"x": x, "y": x > 0.6}), "y", positive=True)
    >>> guard = Guard(build(["logistic"], data.schema).fit(data.X, data.y), data.schema,
    ...               "y", True, False, "recall>=0.9", threshold=0.2, review_band=(0.2, 0.4))
    >>> frame = data.X
    >>> folder = Path(tempfile.mkdtemp())
    >>> frame[["x"]].to_csv(folder / "new.csv", index=False)
    >>> args = guard, folder / "new.csv", folder / "out.csv", folder / "review.sqlite"
    >>> queue = predict_to_queue(*args, capacity=5, audit=3, explain=False)["queue"]
    >>> queue["review"], queue["audit"], queue["duplicates"]
    (5, 3, 0)
    >>> predict_to_queue(*args, capacity=5, audit=3, explain=False)["queue"]["duplicates"]
    8
    """
    import uuid

    import sqlalchemy as sa

    from fnguard.serve.queue import case_keys, check_guard, enqueue
    from fnguard.serve.store import _sqlite_file, batches, database_url, open_store, write

    guard = _guard(guard)
    spec = ReviewSample(capacity=capacity, audit=audit, seed=seed, id_column=id_column)
    engine = _existing_store(db)
    if engine is not None:
        check_guard(engine, guard)
    out_path, source_path = Path(out), Path(source)
    _check_output(source_path, out_path)
    # The predictions go to a temporary file beside 'out', renamed onto it once the cases are
    # queued: a failure while queueing (ids, the database) leaves neither behind.
    staged = out_path.with_name(f".{uuid.uuid4().hex[:12]}.{out_path.name}")
    created = None  # a SQLite file this call creates, removed again if it fails
    if engine is None and not isinstance(db, sa.Engine):
        url = sa.make_url(database_url(db))
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            guard_folder = guard_folder_of(url.database)
            if guard_folder is not None:
                raise OutputError(
                    f"The review database '{url.database}' would be created inside the Guard "
                    f"folder '{guard_folder}', which a new fit replaces whole: put it beside "
                    "the Guard instead."
                )
        created = _sqlite_file(url)
    try:
        summary = predict_file(
            guard, source, staged, chunk_size=chunk_size, keep=keep, review=spec
        )
        sample = summary.pop("sample")
        if id_column is not None:
            case_keys(sample.frame, id_column)  # missing or long ids: before the database
        engine = open_store(db if engine is None else engine, create=True)
        n_band = int(sample.predictions["review"].sum())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FnguardWarning)  # drift: predict_file warned already
            queue = enqueue(
                engine, guard, sample.frame, sample.predictions.reset_index(drop=True),
                capacity=sample.capacity,
                audit=None if audit is None else len(sample.frame) - n_band,
                id_column=id_column, batch=source_path.name, seed=seed, explain=explain,
                digest=file_digest(source),  # the same file again is the same batch
            )
        with write(engine) as conn:  # the counts of the whole file, not of the gathered rows
            conn.execute(
                batches.update()
                .where(batches.c.id == queue["batch"])
                .values(n_rows=sample.rows, n_auto_negative=sample.auto_negative)
            )
        os.replace(staged, out_path)
    except BaseException:
        staged.unlink(missing_ok=True)
        if created is not None and created.exists():
            if engine is not None:
                engine.dispose()
            for leftover in (created, Path(f"{created}-wal"), Path(f"{created}-shm")):
                leftover.unlink(missing_ok=True)
        raise
    summary["output"] = os.fspath(out_path)
    queue.update(band=sample.band, capacity=sample.capacity, rows=sample.rows,
                 left_out=max(0, sample.band - sample.capacity),
                 auto_negative=sample.auto_negative, audit_asked=sample.audit,
                 notes=list(sample.notes))
    summary["queue"] = queue
    return summary


def _check_output(source: Path, out: Path) -> None:
    """Refuse an output path that is the input table, inside an input folder, an existing
    folder, or inside a Guard's folder (before scoring)."""
    if source.exists() and out.exists() and out.resolve() == source.resolve():
        raise OutputError(f"The output '{out}' is the input table: choose another output path.")
    if source.is_dir() and out.resolve().is_relative_to(source.resolve()):
        # the folder's files are all read as input: the next run would read the output too
        raise OutputError(
            f"The output '{out}' is inside the input folder '{source}', whose files are all "
            "read as input (a later run would read the predictions as rows): write it outside "
            "the folder."
        )
    if out.is_dir():
        raise OutputError(
            f"The output file '{out}' is an existing folder: pass a file path, or remove the "
            "folder."
        )
    guard_folder = guard_folder_of(out)
    if guard_folder is not None:
        raise OutputError(
            f"The output '{out}' is inside the Guard folder '{guard_folder}', whose files are "
            "checked against its guard.json (a file of the same name written there breaks the "
            "Guard) and which a new fit replaces whole: write it outside the folder."
        )


def _existing_store(db: Any) -> Any:
    """The engine of ``db`` when it exists (checked), else None; a missing folder is refused."""
    from fnguard.serve.store import StoreError, database_url, open_store

    if not isinstance(db, str | os.PathLike):
        return open_store(db)
    url = database_url(db)
    if not url.startswith("sqlite:///"):
        return None if url == "sqlite://" else open_store(db)
    path = Path(url.removeprefix("sqlite:///"))
    if path.exists():
        return open_store(db)
    if not path.parent.is_dir():
        raise StoreError(
            f"The review database '{db}' cannot be created: its folder '{path.parent}' does "
            "not exist. Create the folder, or choose another path."
        )
    return None


# ------------------------------------------------------------------------------ scoring
def _guard(guard: Any) -> Any:
    from fnguard.guard import Guard, load

    return guard if isinstance(guard, Guard) else load(guard)


def _keep_names(keep: str | Sequence[str] | None) -> list[str]:
    names = [keep] if isinstance(keep, str) else [str(k) for k in (keep or ())]
    taken = [n for n in names if n in ("row", *DECISION_COLUMNS)]
    if taken:
        raise DataError(
            f"The kept columns {format_names([repr(n) for n in taken])} share a name with an "
            f"output column (row, {', '.join(DECISION_COLUMNS)}): rename them in the input."
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(f"The kept columns {repeated} are named more than once: name each once.")
    return names


def _check_keep(kept: list[str], columns: Any, source: str) -> None:
    present = [str(c) for c in columns]
    for name in kept:
        if name not in present:
            hint = closest_names(name, present, n=1)
            also = f" Did you mean '{hint[0]}'?" if hint else ""
            raise DataError(
                f"The column '{name}' to keep is not in the input table '{source}'.{also} "
                "Keep columns the input has."
            )


def _chunk_predictions(
    guard: Any, chunk: pd.DataFrame, offset: int, kept: list[str], source: str, drift: Drift
) -> pd.DataFrame:
    chunk = chunk.copy(deep=False)
    chunk.columns = [str(c) for c in chunk.columns]
    _check_keep(kept, chunk.columns, source)
    try:
        scores = guard.score(chunk, source=source, drift=drift)
    except DataError as exc:
        if offset == 0:
            raise
        raise DataError(_shift_rows(str(exc), offset)) from None
    decided = guard.decide(scores)
    out = pd.DataFrame({"row": np.arange(offset, offset + len(chunk), dtype=np.int64)})
    for name in kept:
        out[name] = chunk[name].to_numpy()
    for name in DECISION_COLUMNS:
        out[name] = decided[name].to_numpy()
    return out


def _shift_rows(message: str, offset: int) -> str:
    """Count the data rows of a chunk's error message from the start of the file."""

    def shift(match: re.Match[str]) -> str:
        numbers = ", ".join(str(int(n) + offset) for n in match.group(2).split(", "))
        return f"{match.group(1)}{numbers}"

    return re.sub(r"(data rows? )(\d+(?:, \d+)*)", shift, message)


#: From this many chunks, with a chunk size under 1,000 rows, predict_file says that larger chunks
#: are faster.
SMALL_CHUNKS = 50


# ------------------------------------------------------------------------------ reading
def _read_chunks(
    path: Path, chunk_size: int, *, text: Sequence[str] = ()
) -> Iterator[pd.DataFrame]:
    """Check the input, then return an iterator over its chunks as DataFrames."""
    from fnguard.data import frames

    label = f"The input table '{path}'"
    if not path.exists():
        raise DataError(f"{label} does not exist: check the path.")
    if path.is_dir():
        if not frames.parquet_files(path):
            raise DataError(
                f"{label} is a folder without Parquet files: pass a file ({frames.SUPPORTED})."
            )
        return _parquet_folder_chunks(path, label, chunk_size)
    kind, compressed = frames.table_kind(path)
    if kind in frames.PARQUET_EXTENSIONS and not compressed:
        return _parquet_chunks(path, label, chunk_size)
    if kind not in frames.TEXT_SEPARATORS:
        shown = "".join(path.suffixes) or "no extension"
        raise DataError(f"{label} has an unsupported extension ({shown}): use {frames.SUPPORTED}.")
    if path.stat().st_size == 0:
        raise DataError(f"{label} is empty (0 bytes) and has no rows: pass a table with a header "
                        "and data rows.")
    header, sep = frames._read_header(path, label, frames.TEXT_SEPARATORS[kind])
    frames._reject_duplicates([h for h in header if h != ""], label)
    return _csv_chunks(path, label, sep, chunk_size, frames.text_dtypes(header, text))


def _csv_chunks(
    path: Path, label: str, sep: str, chunk_size: int, dtype: dict[str, type] | None = None
) -> Iterator[pd.DataFrame]:
    start = 0
    try:
        reader = pd.read_csv(
            path, sep=sep, compression="infer", encoding="utf-8", chunksize=chunk_size,
            dtype=dtype,
        )
        with reader:
            for chunk in reader:
                yield chunk
                start += len(chunk)
    except pd.errors.EmptyDataError:
        return
    except pd.errors.ParserError as exc:
        raise csv_parse_error(exc, label, sep, offset=start) from None
    except UnicodeDecodeError:
        raise DataError(f"{label} is not UTF-8 text: save it with UTF-8 encoding.") from None


def _parquet_chunks(file: Path, label: str, chunk_size: int) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fnguard.data import frames

    try:
        frames._reject_duplicates(pq.read_schema(file).names, label)
        parquet = pq.ParquetFile(file)
        for batch in parquet.iter_batches(batch_size=chunk_size):
            yield batch.to_pandas()
    except DataError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(
            f"{label} cannot be read as Parquet ({exc}): check that it is a complete "
            "Parquet file, or save the table again."
        ) from None


def _parquet_folder_chunks(folder: Path, label: str, chunk_size: int) -> Iterator[pd.DataFrame]:
    """A folder's files in the order (and with the partition columns) that ``fit`` reads
    them (:func:`fnguard.data.frames.parquet_dataset`), file by file, in bounded chunks."""
    import pyarrow as pa

    from fnguard.data import frames

    dataset = frames.parquet_dataset(folder, label)
    try:
        for fragment in dataset.get_fragments():
            for batch in fragment.to_batches(schema=dataset.schema, batch_size=chunk_size):
                if batch.num_rows:
                    yield batch.to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise frames.folder_error(label, exc) from None


# ------------------------------------------------------------------------------ writing
def _output_format(out: Path) -> str:
    name = out.name.lower()
    for suffix, fmt in sorted(OUTPUT_SUFFIXES.items(), key=lambda item: -len(item[0])):
        if name.endswith(suffix) and len(name) > len(suffix):
            return fmt
    shown = "".join(out.suffixes) or "no extension"
    raise OutputError(
        f"The output '{out}' has an unsupported extension ({shown}): end it with "
        f"{', '.join(OUTPUT_SUFFIXES)}."
    )


@contextlib.contextmanager
def _writer(fmt: str, out: Path, tmp: Path) -> Iterator[Any]:
    """Yield ``write(frame)``, appending each chunk's predictions to ``tmp``."""
    if fmt == "csv":
        opener = gzip.open if out.name.lower().endswith(".gz") else open
        with opener(tmp, "wt", encoding="utf-8", newline="") as handle:
            first = [True]

            def write_csv(frame: pd.DataFrame) -> None:
                frame.to_csv(handle, header=first[0], index=False)
                first[0] = False

            yield write_csv
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    state: dict[str, Any] = {}

    def write_parquet(frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if "writer" not in state:
            state["writer"] = pq.ParquetWriter(tmp, table.schema)
        writer = state["writer"]
        if not table.schema.equals(writer.schema):
            try:
                table = table.cast(writer.schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
                changed = [
                    f"'{f.name}' ({writer.schema.field(f.name).type} then {f.type})"
                    for f in table.schema
                    if f.type != writer.schema.field(f.name).type
                ]
                raise DataError(
                    f"The kept columns {format_names(changed)} change type between chunks "
                    "of the input, which a Parquet output cannot hold: write CSV, or raise "
                    "the chunk size."
                ) from None
        writer.write_table(table)

    try:
        yield write_parquet
    finally:
        if "writer" in state:
            state["writer"].close()
