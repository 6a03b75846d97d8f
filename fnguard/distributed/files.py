"""The partitions of a distributed input: which files, in which order, with one schema.

A partition is one file. A glob (``'scores/*.parquet'``), a folder of Parquet files, one file or
a list of any of these name them; they are sorted by path, numbers by value (``part.2`` before
``part.10``, as Dask numbers its parts), and that order numbers the rows
(row 0 is the first row of the first file), as reading the files one after the other would.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from fnguard.data import frames
from fnguard.errors import DataError

__all__ = ["Partitions", "list_partitions", "read_partition"]

_GLOB_CHARS = frozenset("*?[")


def _kind(path: Path) -> str | None:
    """``"parquet"``, ``"text"`` or None (unsupported) from the file name."""
    kind, compressed = frames.table_kind(path)
    if kind in frames.PARQUET_EXTENSIONS and not compressed:
        return "parquet"
    if kind in frames.TEXT_SEPARATORS:
        return "text"
    return None


def _expand(item: str | os.PathLike[str]) -> list[Path]:
    text = os.fspath(item)
    if any(c in text for c in _GLOB_CHARS):
        found = [Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file()]
        if not found:
            raise DataError(
                f"The pattern '{text}' matches no file: check the folder and the pattern "
                "(quote it in a shell so that the shell does not expand it)."
            )
        return sorted(found, key=lambda f: frames.natural_key(str(f)))
    path = Path(text)
    if not path.exists():
        raise DataError(f"The input table '{path}' does not exist: check the path.")
    if path.is_dir():
        return _folder_files(path)
    return [path]


def _folder_files(path: Path) -> list[Path]:
    """The Parquet files of a folder; a folder that also holds CSV-like files is refused."""
    found = sorted(
        (f for f in path.rglob("*")
         if f.is_file() and _kind(f) is not None and not frames.hidden(f, path)),
        key=lambda f: frames.natural_key(f.relative_to(path).as_posix()),
    )
    parquet = [f for f in found if _kind(f) == "parquet"]
    text = [f for f in found if _kind(f) == "text"]

    def some(files: list[Path]) -> str:
        shown = ", ".join(f"'{f.relative_to(path)}'" for f in files[:3])
        return shown + (f" and {len(files) - 3:,} more" if len(files) > 3 else "")

    if parquet and text:
        raise DataError(
            f"The input folder '{path}' mixes Parquet files ({some(parquet)}) and CSV-like "
            f"files ({some(text)}): a folder is read as its Parquet files, so keep one "
            f"format per folder, or pass a glob that chooses one, such as "
            f"'{path / '*.parquet'}'."
        )
    if not parquet:
        pattern = path / ("*" + "".join(text[0].suffixes)) if text else None
        hint = f" It holds CSV-like files ({some(text)}): pass a glob such as '{pattern}'."
        raise DataError(
            f"The input folder '{path}' holds no Parquet file: pass a folder of Parquet "
            f"files, a file or a glob such as 'data/*.csv'.{hint if text else ''}"
        )
    return parquet


class Partitions:
    """The files of one input, sorted, with the columns (and Parquet types) they share.

    Parameters
    ----------
    files : list of Path
        One file per partition, in row order.
    columns : list of str
        The column names, in the first file's order.
    types : dict of str to str
        Parquet column types (empty for text files).
    source : str
        How the user named the input, for messages.
    """

    def __init__(
        self, files: list[Path], columns: list[str], types: dict[str, str], source: str
    ) -> None:
        self.files = files
        self.columns = columns
        self.types = types
        self.source = source

    def __len__(self) -> int:
        return len(self.files)

    def __repr__(self) -> str:
        return f"Partitions(source={self.source!r}, files={len(self.files)})"

    def require(self, names: Sequence[str], kind: str = "column") -> None:
        """Raise a DataError naming the first of ``names`` the partitions do not have."""
        from fnguard.data.names import missing_column_error

        for name in names:
            if name not in self.columns:
                raise missing_column_error(kind, name, self.columns, self.source)


def _schema(path: Path) -> tuple[list[str], dict[str, str]]:
    label = f"The input table '{path}'"
    if _kind(path) == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            schema = pq.read_schema(path)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise DataError(
                f"{label} cannot be read as Parquet ({exc}): check that it is a complete "
                "Parquet file, or save the table again."
            ) from None
        names = [str(n) for n in schema.names]
        frames._reject_duplicates(names, label)
        return names, {str(f.name): str(f.type) for f in schema}
    if path.stat().st_size == 0:
        raise DataError(f"{label} is empty (0 bytes) and has no rows: pass a table with rows.")
    header, sep = frames._read_header(path, label, frames.TEXT_SEPARATORS[_text_kind(path)])
    frames._reject_duplicates([h for h in header if h != ""], label)
    # The names pandas gives (an empty header cell becomes 'Unnamed: 0'), as read_frame reads.
    names = pd.read_csv(path, sep=sep, nrows=0, compression="infer", encoding="utf-8").columns
    return [str(h) for h in names], {}


def _text_kind(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1] in frames.COMPRESSION_EXTENSIONS:
        return suffixes[-2]
    return suffixes[-1]


def _same_type(a: str, b: str) -> bool:
    """Whether two Parquet column types read into the same pandas column kind."""
    if "null" in (a, b):  # a column without a single value in one file
        return True
    return a.replace("large_", "") == b.replace("large_", "")


def list_partitions(paths_or_glob: Any) -> Partitions:
    """Expand the input into its files and check that they share one schema.

    Parameters
    ----------
    paths_or_glob : str, PathLike or list of them
        A glob (``'scores/*.parquet'``, ``'**'`` allowed), a folder of Parquet files (and no
        CSV-like file), a file, or a list of these. CSV-like files (as
        :func:`fnguard.data.read_frame` reads them) and Parquet files named one by one or by a
        glob may be mixed; Parquet column types are compared only between Parquet
        files.

    Returns
    -------
    Partitions
        Its ``files`` are absolute paths, so that workers in other working folders find them.

    Raises
    ------
    DataError
        If a glob matches nothing, a path does not exist, a folder mixes Parquet and CSV-like
        files, a file has an unsupported extension, or a file's columns (or Parquet types)
        differ from the first file's: the message names the file and the column.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for i in range(3):
    ...     pd.DataFrame({"y": [0, 1], "p": [0.2, 0.9]}).to_parquet(folder / f"part{i}.parquet")
    >>> parts = list_partitions(str(folder / "*.parquet"))
    >>> len(parts), parts.columns, parts.types["p"]
    (3, ['y', 'p'], 'double')
    """
    items = [paths_or_glob] if isinstance(paths_or_glob, str | os.PathLike) else paths_or_glob
    if not isinstance(items, Sequence) or not items:
        raise DataError(
            "The input must be a path, a glob or a non-empty list of them. "
            f"Got {paths_or_glob!r} instead."
        )
    files: list[Path] = []
    for item in items:
        if not isinstance(item, str | os.PathLike):
            raise DataError(f"Each input must be a path or a glob. Got {item!r} instead.")
        # absolute here, on the client: a worker resolves a relative path against its own
        # working folder, which an external scheduler's workers do not share with us
        files.extend(f for f in (p.absolute() for p in _expand(item)) if f not in files)
    for file in files:
        if _kind(file) is None:
            shown = "".join(file.suffixes) or "no extension"
            raise DataError(
                f"The input table '{file}' has an unsupported extension ({shown}): use "
                f"{frames.SUPPORTED}."
            )
    source = (
        os.fspath(paths_or_glob)
        if isinstance(paths_or_glob, str | os.PathLike)
        else ", ".join(os.fspath(p) for p in paths_or_glob)
    )
    first_names, first_types = _schema(files[0])
    first_kind = _kind(files[0])
    for file in files[1:]:
        names, types = _schema(file)
        for name in first_names:
            if name not in names:
                raise DataError(
                    f"The partitions of '{source}' have different columns: '{file}' has no "
                    f"column '{name}', which '{files[0]}' has. Give every file the same "
                    "columns."
                )
        for name in names:
            if name not in first_names:
                raise DataError(
                    f"The partitions of '{source}' have different columns: '{file}' has a "
                    f"column '{name}' that '{files[0]}' has not. Give every file the same "
                    "columns."
                )
            if first_kind == "parquet" and types and name in first_types:
                a, b = first_types[name], types[name]
                if not _same_type(a, b):
                    raise DataError(
                        f"The partitions of '{source}' have different schemas: the column "
                        f"'{name}' is {b} in '{file}' but {a} in '{files[0]}'. Write every "
                        "file with the same column types."
                    )
    return Partitions(files, first_names, first_types, source)


def read_partition(path: str | os.PathLike[str], columns: Sequence[str] | None = None) -> Any:
    """Read one partition (all its columns, or ``columns``) into a DataFrame.

    Parameters
    ----------
    path : str or PathLike
        A Parquet or CSV-like file.
    columns : sequence of str, optional
        The columns to read (Parquet reads only those).

    Returns
    -------
    DataFrame
        With string column names; possibly without rows.
    """
    path = Path(path)
    label = f"The input table '{path}'"
    if _kind(path) == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path, columns=list(columns) if columns is not None else None)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise DataError(
                f"{label} cannot be read as Parquet ({exc}): check that it is a complete "
                "Parquet file, or save the table again."
            ) from None
        return table.to_pandas()
    frame = frames._read_text(path, label, frames.TEXT_SEPARATORS[_text_kind(path)])
    frame.columns = [str(c) for c in frame.columns]
    return frame if columns is None else frame[list(columns)]


def count_rows(path: str | os.PathLike[str]) -> int:
    """Number of data rows of one partition (Parquet: from its footer, without reading it)."""
    path = Path(path)
    if _kind(path) == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    return len(read_partition(path))


def frame_of(files: Sequence[str | os.PathLike[str]]) -> pd.DataFrame:
    """All partitions read one after the other into one DataFrame (for tests and references)."""
    return pd.concat([read_partition(f) for f in files], ignore_index=True)
