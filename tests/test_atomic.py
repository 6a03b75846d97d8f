"""Tests of fnguard._atomic: files written whole or not at all."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from fnguard._atomic import atomic_path
from fnguard.errors import OutputError


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        OSError("Error writing bytes to file. Detail: [errno 28] No space left on device"),
        OSError(errno.EDQUOT, "Disk quota exceeded"),
    ],
    ids=["errno", "pyarrow-text", "quota"],
)
def test_a_full_disk_is_an_output_error(error: OSError, tmp_path: Path) -> None:
    """Check that a write the disk refuses (full, over quota; pyarrow names the errno only in
    its text) is an OutputError naming the file and the fix (a traceback came out of predict),
    and that no temporary file is left."""
    target = tmp_path / "p.parquet"
    with pytest.raises(OutputError, match=r"'.*p\.parquet' cannot be written .*free some space"):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise error
    assert list(tmp_path.iterdir()) == []


def test_other_errors_pass_through_and_leave_nothing(tmp_path: Path) -> None:
    """Check that any other error inside the block is not renamed, and leaves nothing."""
    with pytest.raises(FileNotFoundError):
        with atomic_path(tmp_path / "out.csv") as tmp:
            tmp.write_text("partial")
            raise FileNotFoundError(errno.ENOENT, "the input vanished")
    assert list(tmp_path.iterdir()) == []
