"""Tests of fnguard.distributed.files: which files, in which order, with one schema."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from fnguard.distributed.files import count_rows, frame_of, list_partitions, read_partition
from fnguard.errors import DataError


def _write(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        frame = pd.DataFrame({"y": [0, 1, 0][: i + 1], "p": [0.1, 0.5, 0.9][: i + 1]})
        if name.endswith(".csv"):
            frame.to_csv(folder / name, index=False)
        else:
            frame.to_parquet(folder / name, index=False)


def test_sorted_by_path_from_glob_folder_and_list(tmp_path) -> None:
    """Check that a glob, a folder and a list give the same files sorted by path."""
    _write(tmp_path / "d", ["b.parquet", "a.parquet", "c.parquet"])
    by_glob = list_partitions(str(tmp_path / "d" / "*.parquet")).files
    by_folder = list_partitions(tmp_path / "d").files
    by_list = list_partitions(
        [tmp_path / "d" / "a.parquet", str(tmp_path / "d" / "[bc].parquet")]
    ).files
    assert by_glob == by_folder == by_list
    assert [f.name for f in by_glob] == ["a.parquet", "b.parquet", "c.parquet"]
    assert [count_rows(f) for f in by_glob] == [2, 1, 3]
    assert len(frame_of(by_glob)) == 6


def test_part_numbers_sort_by_value_as_fit_reads_a_folder(tmp_path) -> None:
    """Check that Dask's part.10 comes after part.2 by glob and by folder, that a folder
    skips Spark's _temporary files, and that the order is the one read_frame reads."""
    from fnguard.data import read_frame

    names = [f"part.{i}.parquet" for i in (10, 2, 0, 1, 11)]
    _write(tmp_path / "d", names)
    _write(tmp_path / "d" / "_temporary", ["part.3.parquet"])
    want = [f"part.{i}.parquet" for i in (0, 1, 2, 10, 11)]
    assert [f.name for f in list_partitions(str(tmp_path / "d" / "*.parquet")).files] == want
    assert [f.name for f in list_partitions(tmp_path / "d").files] == want
    rows = frame_of(list_partitions(tmp_path / "d").files)
    pd.testing.assert_frame_equal(rows.reset_index(drop=True), read_frame(tmp_path / "d"))


def test_mixed_csv_and_parquet(tmp_path) -> None:
    """Check that CSV and Parquet files with the same columns read alike."""
    _write(tmp_path, ["a.csv", "b.parquet"])
    parts = list_partitions(str(tmp_path / "*"))
    assert parts.columns == ["y", "p"]
    assert read_partition(parts.files[0], ["p"]).columns.tolist() == ["p"]
    assert count_rows(parts.files[0]) == 1


@pytest.mark.parametrize(
    ("setup", "arg", "match"),
    [
        ([], "none-*.parquet", r"The pattern '.*none-\*.parquet' matches no file"),
        ([], "missing.parquet", r"'.*missing.parquet' does not exist"),
        (["a.csv"], "", r"holds no Parquet file"),
        (["x.json"], "x.json", r"unsupported extension \(.json\)"),
        ([], [], r"non-empty list"),
    ],
)
def test_bad_inputs(tmp_path, setup, arg, match) -> None:
    """Check that inputs naming no usable file are refused with the path and the fix."""
    tmp_path.mkdir(exist_ok=True)
    for name in setup:
        (tmp_path / name).write_text("y,p\n0,0.1\n")
    target = arg if isinstance(arg, list) else str(tmp_path / arg) if arg else tmp_path
    with pytest.raises(DataError, match=match):
        list_partitions(target)


def test_folder_mixing_parquet_and_csv_is_refused(tmp_path) -> None:
    """Check that a folder with Parquet and CSV files is refused, naming the files of each."""
    _write(tmp_path / "d", ["a.parquet", "b.csv", "c.parquet"])
    with pytest.raises(DataError, match=r"mixes Parquet files \('a.parquet', 'c.parquet'\) "
                                        r"and CSV-like files \('b.csv'\)"):
        list_partitions(tmp_path / "d")
    assert len(list_partitions(str(tmp_path / "d" / "*.parquet"))) == 2


def test_relative_paths_reach_workers_in_another_folder(ready, tmp_path, monkeypatch) -> None:
    """Check that relative inputs are made absolute before they are sent to the workers,
    whose working folder is not the client's."""
    from fnguard.distributed import diagnose_dask

    _write(tmp_path / "d", ["a.parquet", "b.parquet"])
    monkeypatch.chdir(tmp_path)
    assert all(f.is_absolute() for f in list_partitions("d/*.parquet").files)
    assert all(cwd != str(tmp_path) for cwd in ready.run(os.getcwd).values())
    d = diagnose_dask("d", "y", "p", 1, client=ready, n_boot=0)
    assert (d.curve.n, d.curve.n_positive) == (3, 1)
