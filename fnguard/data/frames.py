"""Read a CSV file, a Parquet file or folder, or a DataFrame into a checked DataFrame."""

from __future__ import annotations

import bz2
import collections
import contextlib
import csv
import gzip
import io
import lzma
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import pandas as pd

from fnguard.data.names import format_names
from fnguard.errors import DataError

#: Text table extensions and the separator each implies (``None``: sniffed from the header).
TEXT_SEPARATORS: dict[str, str | None] = {".csv": ",", ".tsv": "\t", ".txt": None}
PARQUET_EXTENSIONS = (".parquet", ".pq")
COMPRESSION_EXTENSIONS = (".gz", ".bz2", ".zip", ".xz", ".zst")
SUPPORTED = (
    ".csv, .tsv, .txt (optionally compressed as "
    + ", ".join(COMPRESSION_EXTENSIONS)
    + "), .parquet, .pq, or a folder of Parquet files"
)
_SNIFF_BYTES = 64 * 1024
_NEED_ROWS = "pass a table with a header and data rows."


def source_name(path_or_frame: str | os.PathLike[str] | pd.DataFrame) -> str:
    """Name an input for messages: its path, or ``'the DataFrame'``.

    Examples
    --------
    >>> source_name("data/x.csv")
    'data/x.csv'
    >>> source_name(pd.DataFrame())
    'the DataFrame'
    """
    if isinstance(path_or_frame, pd.DataFrame):
        return "the DataFrame"
    return os.fspath(path_or_frame)


def read_frame(
    path_or_frame: str | os.PathLike[str] | pd.DataFrame,
    *,
    what: str = "input table",
    text: Iterable[str] = (),
) -> pd.DataFrame:
    """Read a table and check that it has rows and unique column names.

    Parameters
    ----------
    path_or_frame : str, PathLike or DataFrame
        A CSV file (``.csv``, or ``;``, tab or ``|`` separated when its header has no
        comma; ``.tsv`` is tab separated; the separator of ``.txt`` is sniffed; any of them
        may be compressed, e.g. ``.csv.gz``), a Parquet file
        (``.parquet``, ``.pq``), a folder of Parquet files, or a DataFrame, which is
        returned as is (only non-string column names are turned into strings, on a
        shallow copy).
    what : str, default="input table"
        How to name the input in error messages.
    text : iterable of str, optional
        Columns of a CSV file to read as text whatever they hold (``Schema.text()``: codes
        such as ``"07"`` stay ``"07"``); names not in the file are ignored.

    Returns
    -------
    DataFrame
        The table, with string column names.

    Raises
    ------
    DataError
        If the file is missing, empty, has no rows, is malformed, has an unsupported
        extension, or has duplicate column names.

    Examples
    --------
    >>> read_frame(pd.DataFrame({0: [1, 2], "b": ["x", "y"]})).columns.tolist()
    ['0', 'b']
    >>> read_frame("nowhere.csv")
    Traceback (most recent call last):
    ...
    fnguard.errors.DataError: The input table 'nowhere.csv' does not exist: check the path.
    """
    if isinstance(path_or_frame, pd.DataFrame):
        return _check_frame(path_or_frame, f"The {what} (a DataFrame)")
    if not isinstance(path_or_frame, str | os.PathLike):
        raise DataError(
            f"The {what} must be a file path or a pandas DataFrame. "
            f"Got {type(path_or_frame).__name__} instead: wrap an array in a DataFrame that "
            "names its columns (pd.DataFrame(X, columns=[...]))."
        )
    path = Path(path_or_frame)
    label = f"The {what} '{path}'"
    if not path.exists():
        raise DataError(f"{label} does not exist: check the path.")
    if path.is_dir():
        if not parquet_files(path):
            raise DataError(
                f"{label} is a folder without Parquet files: pass a file ({SUPPORTED})."
            )
        return _check_frame(_read_parquet(path, label), label)
    kind, compressed = table_kind(path)
    if kind in PARQUET_EXTENSIONS and not compressed:
        return _check_frame(_read_parquet(path, label), label)
    if kind not in TEXT_SEPARATORS:
        shown = "".join(path.suffixes) or "no extension"
        raise DataError(f"{label} has an unsupported extension ({shown}): use {SUPPORTED}.")
    if path.stat().st_size == 0:
        raise DataError(
            f"{label} is empty (0 bytes) and has no rows: pass a table with a header and data rows."
        )
    return _check_frame(_read_text(path, label, TEXT_SEPARATORS[kind], text), label)


def plain_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its pyarrow-backed columns (``pd.ArrowDtype``, from
    ``dtype_backend="pyarrow"``) turned into the dtypes a Parquet file reads as: floats for
    integers with nulls, ``datetime64`` for timestamps, categories for dictionaries. Other
    columns are kept; a frame without such columns is returned as it is.

    Examples
    --------
    >>> import pyarrow as pa
    >>> f = pd.DataFrame({"n": pd.Series([1, None], dtype=pd.ArrowDtype(pa.int64()))})
    >>> plain_dtypes(f)["n"].tolist()
    [1.0, nan]
    """
    arrow = [i for i, dtype in enumerate(frame.dtypes) if isinstance(dtype, pd.ArrowDtype)]
    if not arrow:
        return frame
    frame = frame.copy(deep=False)
    for i in arrow:  # by position: repeated names are allowed here
        column = frame.iloc[:, i].array.__arrow_array__().to_pandas()
        frame.isetitem(i, column.set_axis(frame.index))
    return frame


def _check_frame(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """Turn column names into strings, pyarrow-backed columns into plain ones, and reject
    duplicate names and empty tables."""
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.copy(deep=False)
        frame.columns = [str(c) for c in frame.columns]
    _reject_duplicates(frame.columns, label)
    if frame.shape[1] == 0:
        raise DataError(f"{label} has no columns: pass a table with a header and data rows.")
    if frame.shape[0] == 0:
        raise DataError(f"{label} has no rows, only a header: pass a table with data rows.")
    return plain_dtypes(frame)


def _reject_duplicates(names: Iterable[object], label: str) -> None:
    counts = collections.Counter(str(n) for n in names)
    repeated = [f"'{n}' ({k} times)" for n, k in counts.items() if k > 1]
    if repeated:
        raise DataError(
            f"{label} has duplicate column names: {format_names(repeated)}. "
            "Rename or remove the repeated columns so that every name is unique."
        )


def parquet_files(folder: Path) -> list[Path]:
    """The Parquet files of a folder, in the order their rows are read.

    Files are found in every subfolder (a Hive-partitioned layout such as ``region=north/``)
    and ordered naturally, numbers by value (``part.2`` before ``part.10``), as Dask and
    Spark number the parts they write. Names starting with ``.`` or ``_`` (Spark's
    ``_temporary`` folder, hidden and checksum files) are skipped, as pyarrow skips them.

    Parameters
    ----------
    folder : Path
        The folder.

    Returns
    -------
    list of Path
        The files ending in ``.parquet`` or ``.pq`` (any case).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("part.10.parquet", "part.2.parquet", "_temporary", ".part.0.parquet"):
    ...     (folder / name).touch()
    >>> [p.name for p in parquet_files(folder)]
    ['part.2.parquet', 'part.10.parquet']
    """
    found = [f for f in folder.rglob("*")
             if f.suffix.lower() in PARQUET_EXTENSIONS and f.is_file() and not hidden(f, folder)]
    return sorted(found, key=lambda f: natural_key(f.relative_to(folder).as_posix()))


def table_kind(path: Path) -> tuple[str, bool]:
    """The table's format from its name, and whether it is compressed: ``(".csv", True)``
    for ``a.csv.gz``, ``(".parquet", False)`` for ``a.parquet``, ``("", False)`` without a
    suffix."""
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] in COMPRESSION_EXTENSIONS
    kind = suffixes[-2] if compressed and len(suffixes) >= 2 else (suffixes[-1] if suffixes else "")
    return kind, compressed


def hidden(path: Path, folder: Path) -> bool:
    """Whether a file of ``folder`` is skipped as pyarrow skips it: a name on its way that
    starts with ``.`` or ``_`` (hidden files, Spark's ``_temporary`` and ``_SUCCESS``)."""
    return any(part.startswith((".", "_")) for part in path.relative_to(folder).parts)


def natural_key(text: str) -> list[str | int]:
    """Sort key reading runs of digits as numbers (``part.2`` before ``part.10``).

    Parameters
    ----------
    text : str
        A file name or path.

    Returns
    -------
    list
        Its text and numbers, alternating (so that any two keys compare).
    """
    return [int(t) if i % 2 else t for i, t in enumerate(re.split(r"(\d+)", text))]


def parquet_dataset(folder: Path, label: str) -> Any:
    """A pyarrow dataset of a folder's Parquet files (:func:`parquet_files`, in that order),
    with the columns of a Hive-partitioned layout (``region=north/part.0.parquet`` gives
    the column ``region``); duplicate column names in any file are refused."""
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    files = parquet_files(folder)
    text = sorted(f.relative_to(folder).as_posix() for f in folder.rglob("*")
                  if f.is_file() and table_kind(f)[0] in (".csv", ".tsv") and not hidden(f, folder))
    if text:
        raise DataError(
            f"{label} mixes Parquet files and CSV-like files ({format_names(repr(t) for t in text)}"
            "): a folder is read as its Parquet files, so keep one format per folder."
        )
    try:
        schemas = [pq.read_schema(file) for file in files]
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(
            f"{label} cannot be read as Parquet ({exc}): check that every file in it is a "
            "complete Parquet file, or save the table again."
        ) from None
    for each in schemas:
        _reject_duplicates(each.names, label)
    _check_same_columns(files, schemas, folder, label)
    try:
        paths = [str(f) for f in files]
        found = ds.dataset(paths, format="parquet", partitioning="hive",
                           partition_base_dir=str(folder))
        # the files' own columns with types that hold every file's values (integers in one
        # part and floats in another read as floats; a part of nulls takes the others' type),
        # then the partition keys
        merged = pa.unify_schemas(schemas, promote_options="permissive")
        keys = [f for f in found.schema if f.name not in merged.names]
        return ds.dataset(paths, schema=pa.schema([*merged, *keys]), format="parquet",
                          partitioning="hive", partition_base_dir=str(folder))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise folder_error(label, exc) from None


def folder_error(label: str, exc: Exception) -> DataError:
    """The error for a folder of Parquet files that cannot be read."""
    return DataError(
        f"{label} cannot be read as Parquet ({exc}): check that every file in it is a "
        "complete Parquet file with the same columns, or save the table again."
    )


def _type_kind(dtype: Any) -> str:
    """The kind of a Parquet column type that a change would alter the meaning of: numbers
    (integers and floats alike: a part without missing values stores floats as integers),
    text, booleans, dates and times; a column of nulls only fits any."""
    import pyarrow.types as t

    if t.is_null(dtype):
        return "null"
    if t.is_dictionary(dtype):
        return _type_kind(dtype.value_type)
    for kind, test in (("number", lambda d: t.is_integer(d) or t.is_floating(d)
                        or t.is_decimal(d)), ("text", lambda d: t.is_string(d)
                        or t.is_large_string(d)), ("boolean", t.is_boolean),
                       ("date or time", t.is_temporal)):
        if test(dtype):
            return kind
    return str(dtype)


def _check_same_columns(files: list[Path], schemas: list[Any], folder: Path, label: str) -> None:
    """Refuse a folder whose files do not share the first file's columns and their kinds (a
    dataset reads every file with the first one's schema: a column another file lacks became
    missing, or a file's columns were dropped, silently)."""
    first, reference = files[0].relative_to(folder), schemas[0]
    kinds = {f.name: _type_kind(f.type) for f in reference}
    for file, schema in zip(files[1:], schemas[1:], strict=True):
        name = file.relative_to(folder)
        missing = [c for c in reference.names if c not in schema.names]
        extra = [c for c in schema.names if c not in kinds]
        if missing or extra:
            what = (f"lacks {format_names(repr(c) for c in missing)}" if missing else
                    f"has {format_names(repr(c) for c in extra)}, which '{first}' has not")
            raise DataError(
                f"{label}: its files have different columns: '{name}' {what}. Give every "
                "file the same columns (as one table written in parts)."
            )
        for field in schema:
            kind, want = _type_kind(field.type), kinds[field.name]
            if kind != want and "null" not in (kind, want):
                raise DataError(
                    f"{label}: its files disagree on the type of column '{field.name}': "
                    f"{want} ({reference.field(field.name).type}) in '{first}', {kind} "
                    f"({field.type}) in '{name}'. Write the column with one type in every "
                    "file."
                )


def _read_parquet(path: Path, label: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.is_dir():
        dataset = parquet_dataset(path, label)
        try:
            return dataset.to_table().to_pandas()
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise folder_error(label, exc) from None
    try:
        names = pq.read_schema(path).names
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(
            f"{label} cannot be read as Parquet ({exc}): check that it is a complete Parquet "
            "file, or save the table again."
        ) from None
    _reject_duplicates(names, label)
    try:
        return pd.read_parquet(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(
            f"{label} cannot be read as Parquet ({exc}): check that it is a complete Parquet "
            "file, or save the table again."
        ) from None


@contextlib.contextmanager
def _open_text(path: Path) -> Iterator[IO[str]]:
    """Open a possibly compressed text file (the compressions pandas infers from the name)."""
    suffix = path.suffix.lower()
    with contextlib.ExitStack() as stack:
        if suffix in (".gz", ".bz2", ".xz"):
            opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[suffix]
            raw: IO[bytes] = stack.enter_context(opener(path, "rb"))
        elif suffix == ".zip":
            archive = stack.enter_context(zipfile.ZipFile(path))
            members = [m for m in archive.namelist() if not m.endswith("/")]
            if len(members) != 1:
                raise ValueError(f"the zip archive holds {len(members)} files, not one")
            raw = stack.enter_context(archive.open(members[0]))
        elif suffix == ".zst":
            import zstandard  # pandas needs it too for .zst

            source = stack.enter_context(path.open("rb"))
            raw = stack.enter_context(zstandard.ZstdDecompressor().stream_reader(source))
        else:
            raw = stack.enter_context(path.open("rb"))
        yield io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _read_header(path: Path, label: str, sep: str | None) -> tuple[list[str], str]:
    """Read the header row with the csv module (pandas renames duplicates to 'a.1')."""
    try:
        with _open_text(path) as handle:
            sample = handle.read(_SNIFF_BYTES)
    except UnicodeDecodeError:
        raise DataError(f"{label} is not UTF-8 text: save it with UTF-8 encoding.") from None
    except ImportError as exc:
        raise DataError(
            f"{label} needs the {exc.name} package to decompress: install it."
        ) from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as exc:
        raise DataError(
            f"{label} cannot be decompressed ({exc}): check that the file is complete."
        ) from None
    lines = sample.splitlines()
    if not lines or not sample.strip():
        raise DataError(f"{label} is empty and has no rows: {_NEED_ROWS}")
    if sep is None:
        try:
            sep = csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=",\t;|").delimiter
        except csv.Error:
            sep = ","
    elif sep == "," and "," not in lines[0]:
        # a .csv saved with another separator (';' from spreadsheets in many locales)
        sep = next((other for other in ";\t|" if other in lines[0]), sep)
    header = next(csv.reader(io.StringIO(sample), delimiter=sep), [])
    return header, sep


def text_dtypes(header: Iterable[str], text: Iterable[str]) -> dict[str, type] | None:
    """The ``dtype=`` of ``pd.read_csv`` that reads the ``text`` columns of ``header`` as str.

    Examples
    --------
    >>> text_dtypes(["zip", "n"], ["zip", "gone"])
    {'zip': <class 'str'>}
    >>> text_dtypes(["n"], ["zip"]) is None
    True
    """
    wanted = set(text)
    found = {name: str for name in header if name in wanted}
    return found or None


def _read_text(path: Path, label: str, sep: str | None, text: Iterable[str] = ()) -> pd.DataFrame:
    header, sep = _read_header(path, label, sep)
    _reject_duplicates([h for h in header if h != ""], label)
    try:
        return pd.read_csv(
            path, sep=sep, compression="infer", encoding="utf-8", low_memory=False,
            dtype=text_dtypes(header, text),
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{label} is empty and has no rows: {_NEED_ROWS}") from None
    except pd.errors.ParserError as exc:
        raise csv_parse_error(exc, label, sep) from None
    except UnicodeDecodeError:
        raise DataError(f"{label} is not UTF-8 text: save it with UTF-8 encoding.") from None


def csv_parse_error(
    exc: Exception, label: str, sep: str, offset: int | None = None
) -> DataError:
    """The DataError for a CSV line pandas could not parse, naming the line.

    ``offset`` is the number of data rows read before the chunk that failed (chunked reading):
    the line is then counted from the start of the file, with thousands separators.

    Examples
    --------
    >>> exc = ValueError("Error tokenizing data. C error: Expected 2 fields in line 5, saw 3")
    >>> print(csv_parse_error(exc, "The table 'a.csv'", ",", offset=1000))
    The table 'a.csv' is not a valid table: line 1,005 has 3 fields where the header has 2. Fix that line (quote values that contain the separator ',') or check the separator.
    """  # noqa: E501
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if found:
        expected, line, saw = found.groups()
        at = line if offset is None else f"{int(line) + offset:,}"
        what = f"line {at} has {saw} fields where the header has {expected}"
    else:
        what = str(exc).strip()
    return DataError(
        f"{label} is not a valid table: {what}. Fix that line (quote values that contain "
        f"the separator {sep!r}) or check the separator."
    )
