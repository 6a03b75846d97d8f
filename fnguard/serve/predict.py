"""Batch prediction: score a table with a Guard, in chunks, into a CSV or Parquet file.

:func:`predict_file` streams the input (CSV in pandas chunks, Parquet in pyarrow record
batches), so memory stays bounded by ``chunk_size`` whatever the file's length, and writes the
output through a temporary file renamed at the end: on any error nothing is left half-written.
:func:`predict_frame` does the same for a DataFrame in memory.

Output columns: ``row`` (0-based row number in the input), the ``keep`` columns copied from
the input (ids), then ``score``, ``decision`` (0/1), ``label`` and ``review`` (see
:meth:`fnguard.guard.Guard.decide`).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fnguard.data.names import closest_names, format_names
from fnguard.data.schema import Drift
from fnguard.errors import DataError, OutputError

__all__ = ["OUTPUT_SUFFIXES", "predict_file", "predict_frame"]

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
    drift = Drift(guard.schema, source=source, ignore=[guard.target, *kept])
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

    Returns
    -------
    dict
        ``rows``, ``positives`` (decision 1), ``reviews`` (in the review band), ``chunks``,
        ``seconds``, ``source``, ``output`` (the path written) and ``warnings`` (the drift
        messages, each also given once as a :class:`~fnguard.errors.FnguardWarning`).

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
    chunks = _read_chunks(source_path, int(chunk_size))  # checks the input before any write
    if source_path.exists() and out_path.exists() and out_path.resolve() == source_path.resolve():
        raise OutputError(
            f"The output '{out_path}' is the input table: choose another output path."
        )
    prepare_dir(out_path.absolute().parent, what="folder of the output")
    drift = Drift(guard.schema, source=label, ignore=[guard.target, *kept])
    rows = positives = reviews = n_chunks = 0
    with atomic_path(out_path, what="output file") as tmp, _writer(fmt, out_path, tmp) as write:
        for chunk in chunks:
            if n_chunks == 0:
                _check_keep(kept, chunk.columns, label)
            result = _chunk_predictions(guard, chunk, rows, kept, label, drift)
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
    return {
        "rows": rows,
        "positives": positives,
        "reviews": reviews,
        "chunks": n_chunks,
        "seconds": time.perf_counter() - started,
        "source": label,
        "output": os.fspath(out_path),
        "warnings": messages,
    }


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


# ------------------------------------------------------------------------------ reading
def _read_chunks(path: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    """Check the input, then return an iterator over its chunks as DataFrames."""
    from fnguard.data import frames

    label = f"The input table '{path}'"
    if not path.exists():
        raise DataError(f"{label} does not exist: check the path.")
    if path.is_dir():
        files = sorted([*path.rglob("*.parquet"), *path.rglob("*.pq")])
        if not files:
            raise DataError(
                f"{label} is a folder without Parquet files: pass a file ({frames.SUPPORTED})."
            )
        return _parquet_chunks(files, label, chunk_size)
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] in frames.COMPRESSION_EXTENSIONS
    kind = suffixes[-2] if compressed and len(suffixes) >= 2 else (suffixes[-1] if suffixes else "")
    if kind in frames.PARQUET_EXTENSIONS and not compressed:
        return _parquet_chunks([path], label, chunk_size)
    if kind not in frames.TEXT_SEPARATORS:
        shown = "".join(path.suffixes) or "no extension"
        raise DataError(f"{label} has an unsupported extension ({shown}): use {frames.SUPPORTED}.")
    if path.stat().st_size == 0:
        raise DataError(f"{label} is empty (0 bytes) and has no rows: pass a table with a header "
                        "and data rows.")
    header, sep = frames._read_header(path, label, frames.TEXT_SEPARATORS[kind])
    frames._reject_duplicates([h for h in header if h != ""], label)
    return _csv_chunks(path, label, sep, chunk_size)


def _csv_chunks(path: Path, label: str, sep: str, chunk_size: int) -> Iterator[pd.DataFrame]:
    start = 0
    try:
        reader = pd.read_csv(
            path, sep=sep, compression="infer", encoding="utf-8", chunksize=chunk_size
        )
        with reader:
            for chunk in reader:
                yield chunk
                start += len(chunk)
    except pd.errors.EmptyDataError:
        return
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            expected, line, saw = found.groups()
            what = f"line {int(line) + start:,} has {saw} fields where the header has {expected}"
        else:
            what = str(exc).strip()
        raise DataError(
            f"{label} is not a valid table: {what}. Fix that line (quote values that contain "
            f"the separator {sep!r}) or check the separator."
        ) from None
    except UnicodeDecodeError:
        raise DataError(f"{label} is not UTF-8 text: save it with UTF-8 encoding.") from None


def _parquet_chunks(files: list[Path], label: str, chunk_size: int) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fnguard.data import frames

    for file in files:
        try:
            frames._reject_duplicates(pq.read_schema(file).names, label)
            parquet = pq.ParquetFile(file)
            for batch in parquet.iter_batches(batch_size=chunk_size):
                yield batch.to_pandas()
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise DataError(
                f"{label} cannot be read as Parquet ({exc}): check that it is a complete "
                "Parquet file, or save the table again."
            ) from None


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
