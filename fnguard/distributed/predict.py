"""Batch prediction on a Dask cluster: one Parquet file out per partition in, written whole.

The Guard is sent to every worker once (``client.scatter(..., broadcast=True)``); each task
streams one input file through :func:`fnguard.serve.predict`'s chunk scorer and writes
``part-00000.parquet`` ... with the same columns as :func:`fnguard.serve.predict_file`:
``row`` (numbered across all partitions, files sorted by path), the kept columns, ``score``,
``decision``, ``label``, ``review``. Files are written into a hidden folder beside the output
(each through a temporary name) and the folder is renamed onto the output only when every
partition is done, so an error leaves nothing behind and a worker lost midway (its tasks run
again elsewhere) leaves no half-written file.

The review band is not written to the review queue from the workers (SQLite takes one writer):
its rows come back to the caller, who enqueues them (:func:`fnguard.serve.queue.enqueue`).
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fnguard._atomic import guard_folder_of
from fnguard.errors import FnguardWarning, OutputError

__all__ = ["PART_NAME", "check_output_folder", "predict_dask"]

#: Name of the output file of partition ``i``.
PART_NAME = "part-{:05d}.parquet"


def _predict_part(
    path: str,
    index: int,
    offset: int,
    *,
    guard: Any,
    kept: list[str],
    folder: str,
    chunk_size: int,
) -> dict[str, Any]:
    """Score one partition into ``folder/part-<index>.parquet``; return its counts and band."""
    from fnguard._atomic import atomic_path
    from fnguard.data.schema import Drift
    from fnguard.distributed.files import read_partition
    from fnguard.serve.predict import _chunk_predictions, _read_chunks, _writer

    target = Path(folder) / PART_NAME.format(index)
    drift = Drift(guard.schema, source=path, ignore=[*guard.not_features, *kept])
    rows = positives = auto_negative = 0
    band: list[pd.DataFrame] = []
    cases: list[pd.DataFrame] = []
    with atomic_path(target, what="partition output") as tmp, _writer(
        "parquet", target, tmp
    ) as write:
        for chunk in _read_chunks(Path(path), chunk_size, text=guard.schema.text()):
            result = _chunk_predictions(guard, chunk, offset + rows, kept, path, drift)
            write(result)
            flagged = result["review"].to_numpy(dtype=bool)
            if flagged.any():
                band.append(result[flagged])
                cases.append(chunk[flagged].reset_index(drop=True))
            rows += len(result)
            positives += int(result["decision"].sum())
            # as the review queue counts them: below the threshold and outside the band
            auto_negative += int(((result["decision"] == 0) & ~flagged).sum())
        if rows == 0:
            empty = read_partition(path).head(0)
            write(_chunk_predictions(guard, empty, offset, kept, path, drift))
    return {
        "rows": rows,
        "positives": positives,
        "auto_negative": auto_negative,
        "band": pd.concat(band, ignore_index=True) if band else None,
        "cases": pd.concat(cases, ignore_index=True) if cases else None,
        "drift": drift.findings(),
    }


def check_output_folder(out_dir: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """The output folder, checked before any work: not a file, and empty unless ``overwrite``.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> check_output_folder(folder / "preds") == folder / "preds"
    True
    >>> (folder / "preds.csv").write_text("row")
    3
    >>> check_output_folder(folder / "preds.csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fnguard.errors.OutputError: The output folder '...preds.csv' is an existing file: choose a folder path for the partitioned predictions.
    """  # noqa: E501
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(
            f"The output folder '{out}' is an existing file: choose a folder path for the "
            "partitioned predictions."
        )
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise OutputError(
            f"The output folder '{out}' is not empty: choose a new folder, or pass "
            "overwrite=True to replace it."
        )
    guard_folder = guard_folder_of(out / "part")
    if guard_folder is not None:
        raise OutputError(
            f"The output folder '{out}' is inside the Guard folder '{guard_folder}', which a "
            "new fit replaces whole: write the predictions outside it."
        )
    return out


def _output_folder(out_dir: str | os.PathLike[str], overwrite: bool) -> tuple[Path, Path]:
    """Check the output folder; create the hidden folder the partitions are written into."""
    from fnguard._atomic import prepare_dir

    out = check_output_folder(out_dir, overwrite)
    parent, _ = prepare_dir(out.absolute().parent, what="folder of the output")
    tmp = parent / f".{out.name}.tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    return out, tmp


def _swap(tmp: Path, out: Path) -> None:
    """Put the finished folder in place of ``out`` (which may exist)."""
    if not out.exists():
        os.replace(tmp, out)
        return
    old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:12]}"
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except OSError:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def predict_dask(
    guard: Any,
    paths_or_glob: Any,
    out_dir: str | os.PathLike[str],
    *,
    client: Any,
    keep: str | Sequence[str] | None = None,
    chunk_size: int = 100_000,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Score partitioned tables with a Guard on a Dask cluster into partitioned Parquet.

    Parameters
    ----------
    guard : Guard, str or PathLike
        A Guard, or its folder (loaded with :func:`fnguard.load`).
    paths_or_glob : str, PathLike or list
        The input partitions (see :func:`fnguard.distributed.files.list_partitions`).
    out_dir : str or PathLike
        The output folder; it receives ``part-00000.parquet`` ... (one per input file, in
        input order), all at once at the end.
    client : distributed.Client
        From :func:`fnguard.distributed.connect`.
    keep : str or sequence of str, optional
        Input columns copied into the output before the scores (ids).
    chunk_size : int, default=100_000
        Rows a worker scores at once inside its partition.
    overwrite : bool, default=False
        Replace a non-empty ``out_dir`` (only once the new predictions are complete).

    Returns
    -------
    dict
        ``rows``, ``positives``, ``auto_negative`` (rows below the threshold and outside the
        review band), ``reviews``, ``partitions``, ``seconds``, ``source``,
        ``output`` (the folder), ``files`` (its file names), ``warnings`` (one drift message
        per kind, also given as :class:`~fnguard.errors.FnguardWarning`), ``review`` (the
        review band's prediction rows: ``row``, kept columns, ``score`` ... sorted by ``row``)
        and ``review_cases`` (the same rows of the input, every column, row for row), ready
        for :func:`fnguard.serve.queue.enqueue` on the caller's side.

    Raises
    ------
    DataError
        Bad or mismatched partitions, a missing kept or trained column, unreadable values.
    OutputError
        The output is a file, or a non-empty folder without ``overwrite``.

    Examples
    --------
    >>> import tempfile
    >>> from fnguard.data import load_table
    >>> from fnguard.distributed import connect
    >>> from fnguard.guard import Guard
    >>> from fnguard.levers import build
    >>> frame = pd.DataFrame({"x": [0.1, 0.4, 0.35, 0.8, 0.9, 0.2] * 5,
    ...                       "y": [0, 0, 1, 1, 1, 0] * 5})
    >>> data = load_table(frame, "y", positive=1)
    >>> guard = Guard(build(["logistic"], data.schema).fit(data.X, data.y), data.schema,
    ...               "y", 1, 0, "recall>=0.9", threshold=0.5, review_band=(0.5, 0.52))
    >>> folder = Path(tempfile.mkdtemp())
    >>> frame.iloc[:20].to_parquet(folder / "a.parquet")
    >>> frame.iloc[20:].to_parquet(folder / "b.parquet")
    >>> with connect(workers=1, processes=False) as client:
    ...     summary = predict_dask(guard, str(folder / "*.parquet"), folder / "out",
    ...                            client=client)
    >>> summary["rows"], summary["files"]
    (30, ['part-00000.parquet', 'part-00001.parquet'])
    >>> pd.read_parquet(folder / "out")["row"].tolist() == list(range(30))
    True
    """
    from fnguard.distributed.files import count_rows, list_partitions
    from fnguard.serve.predict import _check_keep, _guard, _keep_names

    started = time.perf_counter()
    guard = _guard(guard)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int | np.integer) or (
        chunk_size < 1
    ):
        from fnguard.errors import DataError

        raise DataError(f"'chunk_size' must be an integer >= 1. Got {chunk_size!r} instead.")
    kept = _keep_names(keep)
    parts = list_partitions(paths_or_glob)
    _check_keep(kept, parts.columns, parts.source)
    files = [str(f) for f in parts.files]
    out = Path(out_dir)
    if any(Path(f).absolute().is_relative_to(out.absolute()) for f in files):
        raise OutputError(
            f"The output folder '{out}' holds input partitions: choose another output folder."
        )
    rows = client.gather(client.map(count_rows, files, pure=False))
    offsets = np.concatenate(([0], np.cumsum(rows)[:-1])).astype(int).tolist()
    out, tmp = _output_folder(out, overwrite)
    try:
        shared = client.scatter(guard, broadcast=True, hash=False)
        futures = client.map(
            _predict_part, files, range(len(files)), offsets, guard=shared, kept=kept,
            folder=str(tmp), chunk_size=int(chunk_size), pure=False,
        )
        results = client.gather(futures)
        expected = {PART_NAME.format(i) for i in range(len(files))}
        for leftover in tmp.iterdir():  # temporary files of a worker lost while writing
            if leftover.name not in expected:
                leftover.unlink()
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    messages: dict[str, str] = {}
    for result in results:
        for kind, message in result["drift"]:
            messages.setdefault(kind, message)
    for message in messages.values():
        warnings.warn(message, FnguardWarning, stacklevel=2)
    band = [r["band"] for r in results if r["band"] is not None]
    cases = [r["cases"] for r in results if r["cases"] is not None]
    review = pd.concat(band, ignore_index=True) if band else pd.DataFrame(
        columns=["row", *kept, "score", "decision", "label", "review"]
    )
    review_cases = pd.concat(cases, ignore_index=True) if cases else pd.DataFrame(
        columns=parts.columns
    )
    return {
        "rows": int(sum(r["rows"] for r in results)),
        "positives": int(sum(r["positives"] for r in results)),
        "auto_negative": int(sum(r["auto_negative"] for r in results)),
        "reviews": len(review),
        "partitions": len(files),
        "seconds": time.perf_counter() - started,
        "source": parts.source,
        "output": os.fspath(out),
        "files": sorted(p.name for p in out.iterdir()),
        "warnings": list(messages.values()),
        "review": review,
        "review_cases": review_cases,
    }
