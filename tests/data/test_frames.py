"""Tests for fnguard.data.frames: reading CSV, Parquet and DataFrames."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fnguard.data import read_frame
from fnguard.errors import DataError

REFERENCE = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None], "c": [0.5, None, 1.5]})


def _write(path: Path, content: str | bytes | None) -> None:
    if content is None:
        return
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("missing.csv", None, r"'.*missing\.csv' does not exist: check the path"),
        ("empty.csv", "", r"is empty \(0 bytes\)"),
        ("blank.csv", "\n\n  \n", r"is empty"),
        ("header.csv", "a,b,label\n", r"has no rows"),
        ("ragged.csv", "a,b\n1,2\n3,4,5\n", r"line 3 has 3 fields where the header has 2"),
        ("dup.csv", "a,b,a\n1,2,3\n", r"duplicate column names: 'a' \(2 times\)"),
        ("dup.tsv", "a\tb\tb\tb\n1\t2\t3\t4\n", r"duplicate column names: 'b' \(3 times\)"),
        ("quoted.csv", '"a,b",c,c\n1,2,3\n', r"duplicate column names: 'c'"),
        ("table.xlsx", "a,b\n1,2\n", r"unsupported extension \(\.xlsx\): use \.csv, \.tsv"),
        ("noext", "a,b\n1,2\n", r"unsupported extension \(no extension\)"),
        ("broken.parquet", "not parquet at all", r"cannot be read as Parquet"),
        ("latin.csv", "a,b\n1,caf\xe9\n".encode("latin-1"), r"is not UTF-8 text"),
        ("broken.csv.gz", b"not gzip", r"cannot be decompressed"),
    ],
)
def test_read_frame_rejects_bad_files(
    tmp_path: Path, name: str, content: str | bytes | None, match: str
) -> None:
    """Check that each bad file raises a DataError that names the problem."""
    path = tmp_path / name
    _write(path, content)
    with pytest.raises(DataError, match=match):
        read_frame(path)


def test_read_frame_names_the_input(tmp_path: Path) -> None:
    """Check that the message names the input with the caller's word and its path."""
    path = tmp_path / "scores.csv"
    with pytest.raises(DataError, match=r"^The scores table '.*scores\.csv' does not exist"):
        read_frame(path, what="scores table")


def test_read_frame_rejects_folder_without_parquet(tmp_path: Path) -> None:
    """Check that a folder holding no Parquet files is refused with the supported formats."""
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match=r"folder without Parquet files: pass a file \(\.csv"):
        read_frame(tmp_path)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("t.csv", "a,b,c\n1,x,0.5\n2,y,\n3,,1.5\n"),
        ("t.tsv", "a\tb\tc\n1\tx\t0.5\n2\ty\t\n3\t\t1.5\n"),
        ("t.txt", "a;b;c\n1;x;0.5\n2;y;\n3;;1.5\n"),
        ("t.txt", "a,b,c\n1,x,0.5\n2,y,\n3,,1.5\n"),
        ("semicolons.csv", "a;b;c\n1;x;0.5\n2;y;\n3;;1.5\n"),
        ("tabs.csv", "a\tb\tc\n1\tx\t0.5\n2\ty\t\n3\t\t1.5\n"),
    ],
)
def test_read_frame_reads_text_tables(tmp_path: Path, name: str, text: str) -> None:
    """Check that CSV (also with ';' or tabs), TSV and sniffed TXT tables read like the
    reference frame."""
    path = tmp_path / name
    path.write_text(text)
    pd.testing.assert_frame_equal(read_frame(path), REFERENCE, check_dtype=False)


def _compress(path: Path, text: str) -> None:
    data = text.encode()
    suffix = path.suffix
    if suffix == ".zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(path.stem, data)
    else:
        opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[suffix]
        with opener(path, "wb") as handle:
            handle.write(data)


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz", ".zip"])
def test_read_frame_reads_compressed_csv(tmp_path: Path, suffix: str) -> None:
    """Check that a compressed CSV is read and its header is still checked for duplicates."""
    path = tmp_path / f"t.csv{suffix}"
    _compress(path, "a,b,c\n1,x,0.5\n2,y,\n3,,1.5\n")
    pd.testing.assert_frame_equal(read_frame(path), REFERENCE, check_dtype=False)
    dup = tmp_path / f"dup.csv{suffix}"
    _compress(dup, "a,a\n1,2\n")
    with pytest.raises(DataError, match="duplicate column names: 'a'"):
        read_frame(dup)


def test_read_frame_reads_csv_with_bom(tmp_path: Path) -> None:
    """Check that a UTF-8 byte order mark does not end up in the first column name."""
    path = tmp_path / "bom.csv"
    path.write_bytes("a,b\n1,2\n".encode("utf-8-sig"))
    assert read_frame(path).columns.tolist() == ["a", "b"]


@pytest.mark.parametrize("name", ["t.parquet", "t.pq"])
def test_read_frame_reads_parquet_file(tmp_path: Path, name: str) -> None:
    """Check that a Parquet file reads back the frame that was written."""
    path = tmp_path / name
    REFERENCE.to_parquet(path)
    pd.testing.assert_frame_equal(read_frame(path), REFERENCE, check_dtype=False)


def test_read_frame_reads_parquet_folder(tmp_path: Path) -> None:
    """Check that a folder of Parquet files reads as one table."""
    folder = tmp_path / "parts"
    folder.mkdir()
    REFERENCE.iloc[:2].to_parquet(folder / "part-0.parquet")
    REFERENCE.iloc[2:].to_parquet(folder / "part-1.parquet")
    out = read_frame(folder)
    assert sorted(out["a"].tolist()) == [1, 2, 3]
    assert out.columns.tolist() == ["a", "b", "c"]


def test_parquet_folder_rows_keep_the_parts_order(tmp_path: Path) -> None:
    """Check that Dask's unpadded part numbers are read by value (part.2 before part.10), and
    that Spark's _temporary folder and hidden files are skipped, as pyarrow skips them."""
    folder = tmp_path / "parts"
    (folder / "_temporary" / "0").mkdir(parents=True)
    for i in range(12):
        pd.DataFrame({"i": [2 * i, 2 * i + 1]}).to_parquet(folder / f"part.{i}.parquet")
    pd.DataFrame({"i": [-1]}).to_parquet(folder / "_temporary" / "0" / "part.99.parquet")
    pd.DataFrame({"i": [-2]}).to_parquet(folder / ".part.98.parquet")
    assert read_frame(folder)["i"].tolist() == list(range(24))


def test_parquet_folder_hive_partitions_are_columns(tmp_path: Path) -> None:
    """Check that a Hive-partitioned folder gives its partition keys as columns."""
    frame = pd.DataFrame({"a": range(6), "region": ["n", "s", "n", "s", "e", "e"]})
    frame.to_parquet(tmp_path / "hive", partition_cols=["region"])
    out = read_frame(tmp_path / "hive")
    assert sorted(out.columns) == ["a", "region"]
    assert sorted(zip(out["a"], out["region"], strict=True)) == sorted(
        zip(frame["a"], frame["region"], strict=True))


def test_parquet_folder_of_different_columns_is_refused(tmp_path: Path) -> None:
    """Check that files of one folder with other columns, or a column of another kind, are
    refused, naming the file and the column (the first file's schema was used for all: a
    column another file lacked became missing, or was dropped, silently)."""
    for name, parts, match in [
        ("lacks", [{"a": [1], "b": [2]}, {"a": [1]}], r"'part\.1\.parquet' lacks 'b'"),
        ("extra", [{"a": [1]}, {"a": [1], "b": [2]}],
         r"'part\.1\.parquet' has 'b', which 'part\.0\.parquet' has not"),
        ("kinds", [{"a": ["x"]}, {"a": [1.5]}],
         r"disagree on the type of column 'a': text \(.*\) in 'part\.0\.parquet', number"),
    ]:
        (tmp_path / name).mkdir()
        for i, part in enumerate(parts):
            pd.DataFrame(part).to_parquet(tmp_path / name / f"part.{i}.parquet")
        with pytest.raises(DataError, match=match):
            read_frame(tmp_path / name)


def test_parquet_folder_with_csv_files_is_refused(tmp_path: Path) -> None:
    """Check that a folder mixing Parquet and CSV parts is refused (its CSV rows were left
    out silently), as the Dask engine refuses it; a README.txt is no table."""
    (tmp_path / "mixed").mkdir()
    REFERENCE.to_parquet(tmp_path / "mixed" / "p0.parquet")
    (tmp_path / "mixed" / "README.txt").write_text("parts of the table")
    assert len(read_frame(tmp_path / "mixed")) == 3
    REFERENCE.to_csv(tmp_path / "mixed" / "p1.csv.gz", index=False)
    with pytest.raises(DataError, match=r"mixes Parquet files and CSV-like files \('p1\.csv"):
        read_frame(tmp_path / "mixed")


def test_parquet_folder_parts_of_compatible_types_are_unified(tmp_path: Path) -> None:
    """Check that integers in one part and floats in another read as floats, and a part
    whose column is all null takes the others' type (a dataset cast every part to the first
    one's types, and refused 1.5 as an integer)."""
    (tmp_path / "parts").mkdir()
    pd.DataFrame({"a": [1, 2], "b": [None, None]}).to_parquet(tmp_path / "parts" / "p0.parquet")
    pd.DataFrame({"a": [1.5, None], "b": ["x", "y"]}).to_parquet(tmp_path / "parts" / "p1.parquet")
    out = read_frame(tmp_path / "parts")
    assert out["a"].tolist()[:3] == [1.0, 2.0, 1.5] and out["a"].dtype == float
    assert out["b"].tolist()[2:] == ["x", "y"] and out["b"].isna().sum() == 2


def test_read_frame_rejects_duplicate_parquet_columns(tmp_path: Path) -> None:
    """Check that duplicate names in a Parquet schema written by pyarrow are refused."""
    path = tmp_path / "dup.parquet"
    table = pa.table([pa.array([1, 2]), pa.array([3, 4]), pa.array([5, 6])], names=["a", "b", "a"])
    pq.write_table(table, path)
    with pytest.raises(DataError, match=r"duplicate column names: 'a' \(2 times\)"):
        read_frame(path)


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), r"\(a DataFrame\) has duplicate column names"),
        (pd.DataFrame([[1, 2]], columns=[1, "1"]), r"duplicate column names: '1'"),
        (pd.DataFrame({"a": []}), r"has no rows"),
        (pd.DataFrame(index=[0, 1]), r"has no columns"),
    ],
)
def test_read_frame_rejects_bad_frames(frame: pd.DataFrame, match: str) -> None:
    """Check that a DataFrame with duplicate names, no rows or no columns is refused."""
    with pytest.raises(DataError, match=match):
        read_frame(frame)


def test_read_frame_passes_frames_through() -> None:
    """Check that a DataFrame with string names is returned as is."""
    assert read_frame(REFERENCE) is REFERENCE


def test_read_frame_turns_names_into_strings_without_touching_input() -> None:
    """Check that non-string column names become strings on a copy, not on the caller's frame."""
    frame = pd.DataFrame({0: [1], 1.5: [2], "c": [3]})
    out = read_frame(frame)
    assert out.columns.tolist() == ["0", "1.5", "c"]
    assert frame.columns.tolist() == [0, 1.5, "c"]


def test_read_frame_rejects_other_types() -> None:
    """Check that something neither a path nor a DataFrame is refused."""
    with pytest.raises(
        DataError,
        match=r"must be a file path or a pandas DataFrame\. Got list instead: wrap an array in a "
        r"DataFrame that names its columns \(pd\.DataFrame\(X, columns=\[\.\.\.\]\)\)",
    ):
        read_frame([1, 2])  # type: ignore[arg-type]
