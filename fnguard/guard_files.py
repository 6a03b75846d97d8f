"""The files of a Guard folder: writing them safely, checking them before loading.

:mod:`fnguard.guard` saves and loads Guards with these helpers: the folder layout and format
version, the checksums, the types a model file may hold, samplers stripped from a fitted
pipeline, the atomic swap of a finished folder into place, and JSON-ready values.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fnguard.data.names import format_names
from fnguard.errors import ArtifactError

__all__ = [
    "FORMAT_VERSION",
    "TRUSTED_MODULES",
    "check_destination",
    "content_digest",
    "import_skops",
    "library_versions",
    "strip_samplers",
]

#: The Guard folder format this fnguard writes and the newest it reads.
FORMAT_VERSION = 1
FORMAT = "fnguard-guard"
MODEL_FILE = "model.skops"
META_FILE = "guard.json"
HOLDOUT_FILE = "holdout.parquet"
REPORT_DIR = "report"
#: Modules whose types :func:`load` trusts in ``model.skops``.
TRUSTED_MODULES = ("fnguard.", "sklearn.", "imblearn.", "lightgbm.", "numpy.", "scipy.", "pandas.")
#: Standard-library containers skops lists as untrusted that hold only data.
TRUSTED_TYPES = frozenset({"collections.OrderedDict", "builtins.slice"})
#: The only functions a model file may name: fnguard's own, used by its feature steps
#: (``features_from_schema``: categories as text, dates as days), and scikit-learn's
#: classification scores for ``SelectKBest`` (pure computations on arrays).
TRUSTED_FUNCTIONS = frozenset({
    "fnguard.levers.features.categories_as_text",
    "fnguard.levers.features.dates_as_days",
    "sklearn.feature_selection._univariate_selection.f_classif",
    "sklearn.feature_selection._univariate_selection.chi2",
    "sklearn.feature_selection._mutual_info.mutual_info_classif",
})
#: Libraries whose versions ``guard.json`` records.
LIBRARIES = ("numpy", "pandas", "scipy", "scikit-learn", "imbalanced-learn", "lightgbm", "skops",
             "pyarrow", "torch")  # fmt: skip


class _NotForSkops:
    """Import hook that hides torch and dask while skops builds its list of trusted types.

    skops imports every scikit-learn module to list its estimators, and scikit-learn's
    array-API shims then import torch and dask when they are installed: 5-10 s that loading a
    Guard never needs (fnguard's network keeps its fitted state as NumPy arrays).
    """

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r} (hidden while importing skops)")


def import_skops() -> Any:
    """``skops.io``, imported without pulling in torch and dask (see :class:`_NotForSkops`)."""
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    hook = _NotForSkops(tuple(n for n in ("torch", "dask") if n not in sys.modules))
    sys.meta_path.insert(0, hook)
    try:
        import skops.io as sio
    finally:
        sys.meta_path.remove(hook)
    return sio


def content_digest(meta: Mapping[str, Any]) -> str:
    """SHA-256 of a ``guard.json`` record without its own ``content_sha256`` field.

    It detects a record edited by hand (a threshold changed, a field removed) or damaged; it
    is not a signature: whoever can write the folder can recompute it.

    Examples
    --------
    >>> a = content_digest({"threshold": 0.5, "content_sha256": "x"})
    >>> a == content_digest({"threshold": 0.5}), a == content_digest({"threshold": 0.4})
    (True, False)
    """
    body = {k: v for k, v in meta.items() if k != "content_sha256"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_meta(folder: Path) -> dict[str, Any]:
    import fnguard

    hint = "(a Guard is the folder written by `fnguard fit --out` or Guard.save)"
    if not folder.exists():
        raise ArtifactError(f"The Guard folder '{folder}' does not exist: check the path {hint}.")
    if not folder.is_dir():
        raise ArtifactError(f"'{folder}' is a file, not a Guard folder: pass the folder {hint}.")
    meta_path = folder / META_FILE
    if not meta_path.is_file():
        raise ArtifactError(
            f"The folder '{folder}' is not a Guard: it has no {META_FILE}. Pass the folder "
            f"written by `fnguard fit --out` or Guard.save."
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise damaged(folder, f"'{META_FILE}' is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise damaged(folder, f"'{META_FILE}' is not the record of a Guard")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise damaged(folder, f"'{META_FILE}' has no format version")
    if version > FORMAT_VERSION:
        raise ArtifactError(
            f"The Guard '{folder}' was saved by fnguard {meta.get('fnguard_version', '?')} in "
            f"format {version}; this fnguard ({fnguard.__version__}) reads formats up to "
            f"{FORMAT_VERSION}. Upgrade fnguard (pip install --upgrade fnguard) to load it."
        )
    files = meta.get("files")
    if not isinstance(files, dict) or MODEL_FILE not in files:
        raise damaged(folder, f"'{META_FILE}' does not list the checksum of '{MODEL_FILE}'")
    return meta


def verify(folder: Path, name: Any, digest: Any) -> None:
    relative = Path(str(name))
    if relative.is_absolute() or ".." in relative.parts or not isinstance(digest, str):
        raise damaged(folder, f"'{META_FILE}' lists a file outside the folder ({name!r})")
    file = folder / relative
    if not file.is_file():
        raise ArtifactError(
            f"The Guard '{folder}' lacks its file '{name}', listed in {META_FILE}: it was "
            "removed or the copy is incomplete. Copy the whole folder again, or save the Guard "
            "again."
        )
    if sha256(file) != digest:
        raise ArtifactError(
            f"The file '{name}' of the Guard '{folder}' does not match its SHA-256 checksum in "
            f"{META_FILE}: it was changed or damaged after saving. Do not use it: restore the "
            "folder from a copy, or fit and save the Guard again."
        )


def damaged(folder: Path, what: str) -> ArtifactError:
    return ArtifactError(
        f"The Guard '{folder}' cannot be read: {what}. It is damaged or not written by fnguard: "
        "restore it from a copy, or fit and save the Guard again."
    )


def trusted(name: str) -> bool:
    """Whether a type named in a skops file may be loaded.

    A name is trusted when it is one of :data:`TRUSTED_TYPES` or :data:`TRUSTED_FUNCTIONS`,
    or when it names a *class* of one of :data:`TRUSTED_MODULES` that is defined there: never
    another function (a function is code to run: ``sklearn.utils._testing.check_output`` is
    ``subprocess.check_output``), and never a name that those modules merely import from
    elsewhere (the file names the module, so an alias would pass a test of the prefix alone).

    Examples
    --------
    >>> trusted("sklearn.tree._tree.Tree"), trusted("fnguard.levers.features.categories_as_text")
    (True, True)
    >>> trusted("sklearn.utils._testing.check_output"), trusted("numpy.full_like")
    (False, False)
    >>> trusted("sklearn.utils._param_validation.Integral")  # numbers.Integral, imported
    False
    """
    if name in TRUSTED_TYPES or name in TRUSTED_FUNCTIONS:
        return True
    if not name.startswith(TRUSTED_MODULES):
        return False
    found = _resolve(name)
    return isinstance(found, type) and str(getattr(found, "__module__", "")).startswith(
        tuple(m.rstrip(".") for m in TRUSTED_MODULES)
    )


def _resolve(name: str) -> Any:
    """The object a dotted name stands for (the longest module prefix that imports, then
    attributes), or None."""
    import importlib

    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        except Exception:  # a module that fails to import is not trusted
            return None
        for attr in parts[cut:]:
            found = getattr(found, attr, None)
            if found is None:
                return None
        return found
    return None


def strip_samplers(estimator: Any) -> tuple[Any, list[str]]:
    """A copy of ``estimator`` whose pipeline samplers are ``"passthrough"``.

    Samplers (steps with ``fit_resample``) act in ``fit`` only; fitted, they may hold their
    training data or neighbour indexes. Every pipeline step that is a sampler, at any depth
    (pipelines inside meta-estimators and ensembles), is replaced; objects that change are
    shallow-copied, so ``estimator`` itself is left as it was and nothing is refitted.

    Parameters
    ----------
    estimator : object
        A fitted estimator.

    Returns
    -------
    stripped : object
        ``estimator`` itself when it holds no sampler, else the copy.
    removed : list of str
        The paths of the replaced steps, e.g. ``["smote"]``.

    Examples
    --------
    >>> from imblearn.over_sampling import RandomOverSampler
    >>> from imblearn.pipeline import Pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> pipe = Pipeline([("over", RandomOverSampler()), ("model", LogisticRegression())])
    >>> stripped, removed = strip_samplers(pipe)
    >>> stripped.steps[0], removed, pipe.steps[0][0]
    (('over', 'passthrough'), ['over'], 'over')
    """
    removed: list[str] = []
    memo: dict[int, Any] = {}
    return _strip(estimator, "", removed, memo), removed


def _strip(obj: Any, path: str, removed: list[str], memo: dict[int, Any]) -> Any:
    if id(obj) in memo:
        return memo[id(obj)]
    memo[id(obj)] = obj  # cycles: an object being stripped stands for itself
    result = obj
    steps = getattr(obj, "steps", None)
    if hasattr(obj, "get_params") and isinstance(steps, list):
        new_steps = []
        for step in steps:
            name, est = step[0], step[1]
            if hasattr(est, "fit_resample"):
                removed.append(f"{path}{name}")
                new_steps.append((name, "passthrough", *step[2:]))
            else:
                new_steps.append((name, _strip(est, f"{path}{name}.", removed, memo), *step[2:]))
        if any(a[1] is not b[1] for a, b in zip(new_steps, steps, strict=True)):
            result = copy.copy(obj)
            result.steps = new_steps
    elif hasattr(obj, "get_params") and hasattr(obj, "__dict__"):
        changed = {}
        for key, value in vars(obj).items():
            new = _strip_value(value, f"{path}{key}.", removed, memo)
            if new is not value:
                changed[key] = new
        if changed:
            result = copy.copy(obj)
            for key, value in changed.items():
                setattr(result, key, value)
    memo[id(obj)] = result
    return result


def _strip_value(value: Any, path: str, removed: list[str], memo: dict[int, Any]) -> Any:
    if hasattr(value, "get_params") and not isinstance(value, type):
        return _strip(value, path, removed, memo)
    if isinstance(value, list | tuple):
        items = [_strip_value(v, f"{path}{i}.", removed, memo) for i, v in enumerate(value)]
        if any(a is not b for a, b in zip(items, value, strict=True)):
            return type(value)(items) if isinstance(value, list) else tuple(items)
    return value


def check_target(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise ArtifactError(
            f"Cannot save the Guard to '{target}': it is an existing file. Choose a folder path."
        )
    if target.is_dir() and any(target.iterdir()) and not (target / META_FILE).is_file():
        raise ArtifactError(
            f"Cannot save the Guard to '{target}': it is a folder with other files and no "
            f"{META_FILE}, so not a Guard to replace. Choose a new or empty folder."
        )
    if target.is_dir():
        own = {META_FILE, MODEL_FILE, HOLDOUT_FILE, REPORT_DIR}
        others = sorted(p.name for p in target.iterdir() if p.name not in own)
        if others:
            shown = format_names(f"'{name}'" for name in others)
            raise ArtifactError(
                f"Cannot save the Guard to '{target}': it holds a Guard and other files "
                f"({shown}), and saving replaces the folder whole, which would delete them. "
                "Move them out of the folder, or choose a new folder."
            )


def check_destination(target: str | os.PathLike[str]) -> None:
    """Check, before any long work, that a Guard can be saved at ``target``: not a file, not
    a folder of other files, and inside a folder that exists or can be created, writable.

    Raises
    ------
    ArtifactError
        Naming the path and what to choose instead.

    Examples
    --------
    >>> check_destination(Path(tempfile.mkdtemp()) / "new" / "guard")
    >>> check_destination(Path(tempfile.mkstemp()[1]))
    Traceback (most recent call last):
    ...
    fnguard.errors.ArtifactError: Cannot save the Guard to '...': it is an existing file. Choose a folder path.
    """  # noqa: E501
    target = Path(target)
    check_target(target)
    existing = target.absolute().parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ArtifactError(
            f"Cannot save the Guard to '{target}': '{existing}' is "
            + ("a file" if existing.exists() and not existing.is_dir() else "not writable")
            + ". Choose a path in a folder you can write to."
        )
    # os.access trusts the permission bits; a read-only or special file system, an ACL or a
    # root-squashed share can still refuse: create a folder there (the save will) and remove it
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".fnguard-check.", dir=existing))
    except OSError as exc:
        raise ArtifactError(
            f"Cannot save the Guard to '{target}': no folder can be created in '{existing}' "
            f"({exc.strerror or exc}). Choose a path in a folder you can write to."
        ) from None


def swap_into_place(tmp: Path, target: Path) -> None:
    """Rename the finished folder onto ``target``; an old Guard there is replaced."""
    if not target.exists():
        os.rename(tmp, target)
        return
    if not any(target.iterdir()):
        os.replace(tmp, target)  # POSIX replaces an empty folder in one rename
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=tmp.parent))
    os.rename(target, old / "guard")
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old / "guard", target)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def float_out(value: Any) -> float | str:
    value = float(value)
    return value if math.isfinite(value) else str(value)  # 'inf', '-inf', 'nan'


def jsonable(value: Any) -> Any:
    """Plain JSON values: NumPy scalars unwrapped, tuples as lists, non-finite floats as None."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset | np.ndarray | pd.Series):
        return [jsonable(v) for v in list(value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime.datetime | datetime.date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def library_versions() -> dict[str, str | None]:
    """The installed versions of Python and the libraries a Guard's model depends on.

    Examples
    --------
    >>> "scikit-learn" in library_versions()
    True
    """
    import platform

    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out
