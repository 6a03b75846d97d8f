"""Write files so that a failure never leaves a half-written output behind."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fnguard.errors import OutputError


def guard_folder_of(path: str | os.PathLike[str]) -> Path | None:
    """The Guard folder (one holding ``guard.json``) that ``path`` would be written in, if any.

    Examples
    --------
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "guard.json").write_text("{}")
    >>> guard_folder_of(folder / "out.parquet") == folder.resolve()
    True
    >>> guard_folder_of(folder.parent / "out.parquet") is None
    True
    """
    for folder in Path(path).resolve().parents:
        if (folder / "guard.json").is_file():
            return folder
    return None


def prepare_dir(path: str | os.PathLike[str], *, what: str = "output folder") -> tuple[Path, bool]:
    """Create ``path`` if needed and check that it is a writable folder.

    Parameters
    ----------
    path : str or PathLike
        The folder to write into.
    what : str, default="output folder"
        How to name the folder in an error message.

    Returns
    -------
    folder : Path
        The folder.
    created : bool
        Whether this call created it (so that a failed write can remove it again).
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise OutputError(
            f"The {what} '{folder}' is an existing file, not a folder: choose another path."
        )
    created = False
    if not folder.exists():
        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            raise OutputError(
                f"The {what} '{folder}' cannot be created ({exc.strerror or exc}): "
                "choose a path in a folder you can write to."
            ) from None
        created = True
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(
            f"The {what} '{folder}' is not writable: choose a path in a folder you can write to."
        )
    return folder, created


def check_files(targets: list[Path], *, what: str = "output file") -> None:
    """Refuse, before anything is written, file paths that are existing folders, so that a
    write of several files fails before the first one.

    Raises
    ------
    OutputError
        Naming the first such path.
    """
    for target in targets:
        if target.is_dir():
            example = (
                f" (e.g. '{target / ('predictions' + ''.join(target.suffixes))}')"
                if what == "output file" else ""
            )
            raise OutputError(
                f"The {what} '{target}' is an existing folder: pass a file path{example}, or "
                "remove the folder."
            )


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, what: str = "output file") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only on success.

    Parameters
    ----------
    target : str or PathLike
        The final file path. Its folder must exist.
    what : str, default="output file"
        How to name the file in an error message.

    Yields
    ------
    tmp : Path
        Write the whole file here. It is removed if the block raises.
    """
    target = Path(target)
    check_files([target], what=what)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        fix = "choose a path in a folder you can write to"
        raise _cannot_write(what, target, exc, fix) from None
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates 0600; give the file the mode a plain open() would (0666 less the umask).
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if out_of_space(exc):
            raise _cannot_write(what, target, exc, _FREE_SPACE) from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


_FREE_SPACE = "free some space or choose another folder"


def _cannot_write(
    what: str, target: str | os.PathLike[str], exc: OSError, fix: str
) -> OutputError:
    """The error for a file that cannot be written: which, why, and ``fix``."""
    return OutputError(
        f"The {what} '{target}' cannot be written ({exc.strerror or exc}): {fix}."
    )


#: errno values of a write that the disk refused: full, over quota, file too large.
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def out_of_space(exc: OSError) -> bool:
    """Whether ``exc`` says the disk refused to store more (pyarrow's errors may carry the
    reason only in their text).

    Examples
    --------
    >>> out_of_space(OSError(28, "No space left on device")), out_of_space(OSError(2, "x"))
    (True, False)
    """
    if exc.errno in _NO_SPACE:
        return True
    text = str(exc)
    return any(os.strerror(code) in text for code in _NO_SPACE)


def write_text_atomic(
    target: str | os.PathLike[str], text: str, *, what: str = "output file"
) -> Path:
    """Write ``text`` to ``target`` through a temporary file and a rename.

    Parameters
    ----------
    target : str or PathLike
        The final file path. Its folder must exist.
    text : str
        The whole content, written as UTF-8.
    what : str, default="output file"
        How to name the file in an error message.

    Returns
    -------
    Path
        The written path.
    """
    with atomic_path(target, what=what) as tmp:
        try:
            tmp.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise _cannot_write(what, target, exc, _FREE_SPACE) from None
    return Path(target)
