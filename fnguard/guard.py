"""The Guard: a fitted pipeline with its operating threshold, review band, schema and record.

A :class:`Guard` scores new rows (:meth:`Guard.score`), decides (:meth:`Guard.predict`:
score, decision, label, review flag), and is saved as a folder (:meth:`Guard.save`) that
:func:`load` reads back:

- ``model.skops``: the fitted pipeline, saved with skops (never pickle), its samplers replaced
  by ``"passthrough"`` (they act in ``fit`` only);
- ``guard.json``: format version, every other field, the schema, library versions, the
  SHA-256 of every other file of the folder (the report excepted: it is derived, and
  ``fnguard report`` rewrites it) and of its own content;
- ``holdout.parquet``: the final test set's labels and scores, when kept;
- ``report/index.html``: the HTML report (``report=True``).

The folder appears whole or not at all. :func:`load` refuses a folder that is not a Guard, a
newer format, a file whose checksum changed, and a model file holding types outside
scikit-learn, imbalanced-learn, LightGBM, NumPy, SciPy, pandas and fnguard.

The ``Guard`` fields are the contract the search (:func:`fnguard.fit`) fills.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fnguard.data.names import format_names
from fnguard.data.schema import Drift, Schema
from fnguard.data.target import to_python
from fnguard.errors import ArtifactError, DataError
from fnguard.guard_files import (
    FORMAT,
    FORMAT_VERSION,
    HOLDOUT_FILE,
    META_FILE,
    MODEL_FILE,
    REPORT_DIR,
    TRUSTED_MODULES,
    check_target,
    content_digest,
    damaged,
    float_out,
    import_skops,
    jsonable,
    library_versions,
    read_meta,
    sha256,
    strip_samplers,
    swap_into_place,
    trusted,
    verify,
)

__all__ = ["FORMAT_VERSION", "TRUSTED_MODULES", "Guard", "load", "strip_samplers"]

@dataclasses.dataclass
class Guard:
    """A fitted model that decides: positive, negative, or review.

    Parameters
    ----------
    pipeline : estimator
        Fitted; ``pipeline.predict_proba(X)[:, 1]`` is the probability of the positive class,
        where ``X`` is the feature frame returned by ``schema.check(frame)``.
    schema : Schema
        The feature columns the pipeline was fitted on.
    target : str
        The label column's name in the training data.
    positive, negative : scalar
        The positive and negative labels (plain Python scalars).
    requirement : str
        The requirement text, e.g. ``"recall>=0.95"`` (``parse_requirement`` reads it).
    threshold : float
        Scores ``>=`` it are positive.
    review_band : tuple of float or None
        ``(lower, upper)``: scores in ``[lower, upper)`` go to review (``lower`` equals
        ``threshold``; ``upper`` may be ``inf``); ``None`` when no band was placed.
    levers : list of str
        The winning trial's lever names (registry names), in pipeline order.
    params : dict
        Lever name to the keyword arguments given to its ``make``.
    metrics : dict
        Final test-set estimate at ``threshold``: metric name to ``Estimate.to_dict()``
        (``value``, ``low``, ``high`` ...), plus ``"n"``, ``"n_positive"``, ``"tp"``, ``"fp"``,
        ``"tn"``, ``"fn"`` counts.
    met : bool
        Whether the requirement holds on the final test set.
    leaderboard : list of dict
        One JSON-ready record per search trial (see ``fnguard.search.leaderboard``).
    info : dict
        JSON-ready record of the search and provenance: budget, trials, cv folds, test size,
        split sizes, seed, baseline comparison, lever contributions, notes, data fingerprint,
        library versions, creation time.
    holdout : DataFrame or None
        The final test set's ``y`` (bool, True = positive) and ``score`` columns, kept for the
        report and to compare Guards on the same held-out rows.
    samplers_removed : list of str
        The pipeline's samplers that saving replaced by ``"passthrough"`` (they act only in
        ``fit``), as :func:`load` read them from ``guard.json``; saved again with the Guard.

    Examples
    --------
    >>> from fnguard.data import load_table
    >>> from fnguard.levers import build
    >>> frame = pd.DataFrame({"x": [0.1, 0.4, 0.35, 0.8, 0.9, 0.2] * 5,
    ...                       "y": ["no", "no", "yes", "yes", "yes", "no"] * 5})
    >>> data = load_table(frame, "y", positive="yes")
    >>> pipe = build(["logistic"], data.schema).fit(data.X, data.y)
    >>> guard = Guard(pipe, data.schema, "y", "yes", "no", "recall>=0.9", threshold=0.5,
    ...               review_band=(0.5, 0.7))
    >>> guard.predict(pd.DataFrame({"x": [0.05, 0.95]}))[["decision", "label"]]
       decision label
    0         0    no
    1         1   yes
    """

    pipeline: Any
    schema: Schema
    target: str
    positive: Any
    negative: Any
    requirement: str
    threshold: float
    review_band: tuple[float, float] | None = None
    levers: list[str] = dataclasses.field(default_factory=list)
    params: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    met: bool = True
    leaderboard: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    info: dict[str, Any] = dataclasses.field(default_factory=dict)
    holdout: pd.DataFrame | None = None
    samplers_removed: list[str] = dataclasses.field(default_factory=list, repr=False)

    def __repr__(self) -> str:
        """A one-line summary: what it guards and how; the fields hold the rest (the pipeline,
        the leaderboard and the held-out rows made the dataclass repr ~12,000 characters)."""
        levers = "+".join(self.levers) if self.levers else type(self.pipeline).__name__
        band = "" if self.review_band is None else (
            f", review_band=({self.review_band[0]:.6g}, {self.review_band[1]:.6g})"
        )
        return (
            f"Guard(target={self.target!r}, positive={self.positive!r}, "
            f"requirement={self.requirement!r}, threshold={self.threshold:.6g}{band}, "
            f"levers={levers!r}, features={len(self.schema)}, met={self.met})"
        )

    # ------------------------------------------------------------------------------ predict
    def features(
        self, frame: pd.DataFrame, *, source: str = "the DataFrame", drift: Drift | None = None
    ) -> pd.DataFrame:
        """The feature columns of ``frame`` checked against the schema (see :meth:`score`).

        With ``drift=None``, drift is warned about at once; otherwise it is recorded in
        ``drift`` (for chunks: warn once at the end with ``drift.warn()``).
        """
        if not isinstance(frame, pd.DataFrame):
            raise DataError(
                f"A Guard scores a pandas DataFrame. Got {type(frame).__name__} instead: read "
                "the table first (fnguard.data.read_frame) or use fnguard.serve.predict_file."
            )
        own = drift is None
        if own:
            drift = Drift(self.schema, source=source, ignore=self.not_features)
        X = self.schema.check(frame, source=source, drift=drift)
        if own:
            drift.warn(stacklevel=3)
        return X

    def score(
        self, frame: pd.DataFrame, *, source: str = "the DataFrame", drift: Drift | None = None
    ) -> np.ndarray:
        """The probability of the positive class for each row of ``frame``.

        Parameters
        ----------
        frame : DataFrame
            New rows holding the schema's columns (by name; others, and the target, are
            ignored).
        source : str, default="the DataFrame"
            The table, for messages.
        drift : Drift, optional
            Record drift there instead of warning (see :class:`~fnguard.data.schema.Drift`).

        Returns
        -------
        ndarray of float64, shape (n_rows,)

        Raises
        ------
        DataError
            If a trained column is missing or holds values that cannot be read as its type.

        Warns
        -----
        FnguardWarning
            Once per kind of drift: extra columns, changed types, unseen categories, columns
            without values, numbers far outside the training range.
        """
        X = self.features(frame, source=source, drift=drift)
        if len(X) == 0:
            return np.empty(0, dtype=np.float64)
        proba = np.asarray(self.pipeline.predict_proba(X), dtype=np.float64)
        return proba[:, 1].copy()

    def decide(self, scores: Any, index: Any = None) -> pd.DataFrame:
        """The decision table of given scores: ``score``, ``decision``, ``label``, ``review``.

        Parameters
        ----------
        scores : array-like of float
            Probabilities of the positive class (:meth:`score`).
        index : Index, optional
            The index of the result.

        Returns
        -------
        DataFrame
            ``score`` (float), ``decision`` (int 0/1: ``score >= threshold``), ``label`` (the
            positive or negative label), ``review`` (bool: ``score`` in the review band).

        Examples
        --------
        >>> guard = Guard(None, Schema(()), "y", "bad", "good", "recall>=0.9", 0.3, (0.3, 0.5))
        >>> guard.decide([0.1, 0.4, 0.6])
           score  decision label  review
        0    0.1         0  good   False
        1    0.4         1   bad    True
        2    0.6         1   bad   False
        """
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        decision = scores >= float(self.threshold)
        labels = np.array([self.negative, self.positive], dtype=object)[decision.astype(np.intp)]
        if self.review_band is None:
            review = np.zeros(scores.shape, dtype=bool)
        else:
            lower, upper = (float(v) for v in self.review_band)
            review = (scores >= lower) & (scores < upper)
        out = pd.DataFrame(
            {
                "score": scores,
                "decision": decision.astype(np.int64),
                "label": pd.Series(labels).infer_objects().to_numpy(),
                "review": review,
            }
        )
        if index is not None:
            out.index = index
        return out

    def predict(self, frame: pd.DataFrame, *, source: str = "the DataFrame") -> pd.DataFrame:
        """Score and decide each row of ``frame``.

        Parameters
        ----------
        frame : DataFrame
            New rows (see :meth:`score`).
        source : str, default="the DataFrame"
            The table, for messages.

        Returns
        -------
        DataFrame
            With ``frame``'s index: ``score``, ``decision`` (0/1), ``label`` and ``review``
            (see :meth:`decide`).
        """
        return self.decide(self.score(frame, source=source), index=frame.index)

    @property
    def not_features(self) -> list[str]:
        """Columns new data may hold that are not features, so not drift: the target and the
        columns left out at fit (``--drop`` and identifier columns)."""
        return [self.target, *((self.info or {}).get("dropped") or [])]

    @property
    def classes_(self) -> np.ndarray:
        """The two labels, negative then positive: the columns of :meth:`predict_proba`."""
        return np.array([self.negative, self.positive], dtype=object)

    def predict_proba(self, frame: pd.DataFrame, *, source: str = "the DataFrame") -> np.ndarray:
        """Probabilities of both classes, as scikit-learn's ``predict_proba``.

        Parameters
        ----------
        frame : DataFrame
            New rows (see :meth:`score`).
        source : str, default="the DataFrame"
            The table, for messages.

        Returns
        -------
        ndarray of float64, shape (n_rows, 2)
            Column 0 for the negative label, column 1 for the positive one (see
            :attr:`classes_`); column 1 is :meth:`score`. The Guard's decision is column 1
            at or above :attr:`threshold`, not 0.5.
        """
        positive = self.score(frame, source=source)
        return np.column_stack([1.0 - positive, positive])

    # ------------------------------------------------------------------------------ save
    def save(self, path: str | os.PathLike[str], *, report: bool = True) -> Path:
        """Save the Guard as a folder; it appears whole or not at all.

        The folder is built beside ``path`` under a temporary name and renamed into place. An
        existing Guard folder at ``path`` is replaced; any other non-empty folder is refused.

        Parameters
        ----------
        path : str or PathLike
            The Guard folder.
        report : bool, default=True
            Also write the HTML report, ``report/index.html``.

        Returns
        -------
        Path
            The folder.

        Raises
        ------
        ArtifactError
            If ``path`` is a file or a non-empty folder that is not a Guard, or a part of the
            Guard cannot be written (the folder is then left as it was).

        Examples
        --------
        >>> import tempfile
        >>> from fnguard.levers import build
        >>> frame = pd.DataFrame({"x": [0.1, 0.4, 0.35, 0.8, 0.9, 0.2] * 5})
        >>> y = np.array([0, 0, 1, 1, 1, 0] * 5)
        >>> from fnguard.data import infer_schema
        >>> schema = infer_schema(frame)
        >>> guard = Guard(build(["logistic"], schema).fit(frame, y), schema, "y", 1, 0,
        ...               "recall>=0.9", 0.5)
        >>> folder = guard.save(Path(tempfile.mkdtemp()) / "guard", report=False)
        >>> sorted(p.name for p in folder.iterdir())
        ['guard.json', 'model.skops']
        >>> load(folder).predict(frame.head(2))["score"].equals(guard.predict(frame.head(2))["score"])
        True
        """  # noqa: E501
        from fnguard._atomic import prepare_dir

        target = Path(path)
        check_target(target)
        parent, _ = prepare_dir(target.absolute().parent, what="folder of the Guard")
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
        try:
            # mkdtemp makes the folder private (0700): give it the mode a plain mkdir would,
            # so that the accounts that may read the files inside (predict, the review app)
            # can open it
            umask = os.umask(0)
            os.umask(umask)
            tmp.chmod(0o777 & ~umask)
            self._write(tmp, report=report)
            swap_into_place(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    def _write(self, folder: Path, *, report: bool) -> None:
        sio = import_skops()

        model, stripped = strip_samplers(self.pipeline)
        try:
            sio.dump(model, folder / MODEL_FILE, compression=zipfile.ZIP_DEFLATED)
        except Exception as exc:
            raise ArtifactError(
                f"The Guard's pipeline ({type(self.pipeline).__name__}) cannot be saved with "
                f"skops ({type(exc).__name__}: {exc}): every step must be a scikit-learn "
                "compatible object whose fitted state is made of arrays and plain values."
            ) from exc
        if self.holdout is not None:
            try:
                pd.DataFrame(self.holdout).to_parquet(folder / HOLDOUT_FILE, index=False)
            except Exception as exc:
                raise ArtifactError(
                    f"The Guard's holdout table cannot be saved as Parquet "
                    f"({type(exc).__name__}: {exc}): it must hold a bool 'y' and a float "
                    "'score' column."
                ) from exc
        if report:
            from fnguard.report.guard import write_guard_report

            write_guard_report(self, folder / REPORT_DIR)
        # The report is derived from the rest and rewritten by `fnguard report`: not checksummed.
        files = {
            file.relative_to(folder).as_posix(): sha256(file)
            for file in sorted(folder.rglob("*"))
            if file.is_file() and file.relative_to(folder).parts[0] != REPORT_DIR
        }
        meta = self._meta(files, stripped or list(self.samplers_removed))
        meta["content_sha256"] = content_digest(meta)
        text = json.dumps(meta, indent=2, allow_nan=False, ensure_ascii=False)
        (folder / META_FILE).write_text(text + "\n", encoding="utf-8")

    def _meta(self, files: dict[str, str], stripped: list[str]) -> dict[str, Any]:
        import fnguard

        band = None
        if self.review_band is not None:
            band = [float_out(v) for v in self.review_band]
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "fnguard_version": fnguard.__version__,
            "saved": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "target": str(self.target),
            "positive": to_python(self.positive),
            "negative": to_python(self.negative),
            "requirement": str(self.requirement),
            "threshold": float_out(self.threshold),
            "review_band": band,
            "levers": [str(name) for name in self.levers],
            "params": jsonable(self.params),
            "metrics": jsonable(self.metrics),
            "met": bool(self.met),
            "leaderboard": jsonable(self.leaderboard),
            "info": jsonable(self.info),
            "schema": self.schema.to_dict(),
            "pipeline": f"{type(self.pipeline).__module__}.{type(self.pipeline).__qualname__}",
            "samplers_removed": stripped,
            "libraries": library_versions(),
            "files": files,
        }


# ------------------------------------------------------------------------------ load
def load(path: str | os.PathLike[str]) -> Guard:
    """Load a Guard saved by :meth:`Guard.save`, after checking it.

    Parameters
    ----------
    path : str or PathLike
        The Guard folder.

    Returns
    -------
    Guard

    Raises
    ------
    ArtifactError
        If the folder does not exist or is not a Guard (no ``guard.json``), ``guard.json``
        cannot be read, the Guard is of a newer format than this fnguard reads, a file's
        SHA-256 differs from the one recorded (changed or damaged since saving), or
        ``model.skops`` holds types from other modules than :data:`TRUSTED_MODULES`.

    Examples
    --------
    >>> load("nowhere")
    Traceback (most recent call last):
    ...
    fnguard.errors.ArtifactError: The Guard folder 'nowhere' does not exist: check the path (a Guard is the folder written by `fnguard fit --out` or Guard.save).
    """  # noqa: E501
    folder = Path(path)
    meta = read_meta(folder)
    recorded = meta.get("content_sha256")
    if recorded is None:  # every Guard saved in this format has one: removed by hand
        raise damaged(folder, f"'{META_FILE}' has no checksum of its own content")
    if recorded != content_digest(meta):
        raise ArtifactError(
            f"The record '{META_FILE}' of the Guard '{folder}' does not match its own checksum: "
            "it was edited or damaged after saving. Do not use it: restore the folder from a "
            "copy, or fit and save the Guard again."
        )
    sio = import_skops()
    files = meta["files"]
    for name, digest in files.items():
        verify(folder, name, digest)
    model = folder / MODEL_FILE
    try:
        untrusted = sio.get_untrusted_types(file=model)
    except Exception as exc:
        what = f"'{MODEL_FILE}' cannot be read ({type(exc).__name__}: {exc})"
        raise damaged(folder, what) from None
    refused = [t for t in untrusted if not trusted(t)]
    if refused:
        shown = ", ".join(f"'{t}'" for t in refused)
        raise ArtifactError(
            f"The model file '{model}' holds types fnguard does not trust: {shown}. Loading it "
            "could run their code. Only classes defined in "
            f"{', '.join(m.rstrip('.') for m in TRUSTED_MODULES)} are loaded (and no function "
            "but fnguard's own and scikit-learn's feature scores). If you trust "
            f"where the Guard came from, inspect the file with skops.io.visualize('{model}') "
            f"and load the pipeline yourself with skops.io.load('{model}', trusted=[...])."
        )
    try:
        pipeline = sio.load(model, trusted=untrusted)
    except Exception as exc:
        saved = meta.get("libraries") or {}
        shown = ", ".join(f"{k} {v}" for k, v in saved.items() if v)
        raise ArtifactError(
            f"The model file '{model}' cannot be loaded ({type(exc).__name__}: {exc}). It was "
            f"saved with {shown or 'unknown library versions'}: install those versions, or "
            "fit the Guard again with these."
        ) from exc
    holdout = None
    if HOLDOUT_FILE in files:
        try:
            holdout = pd.read_parquet(folder / HOLDOUT_FILE)
        except Exception as exc:
            raise damaged(
                folder, f"'{HOLDOUT_FILE}' cannot be read ({type(exc).__name__}: {exc})"
            ) from exc
    try:
        band = meta["review_band"]
        guard = Guard(
            pipeline=pipeline,
            schema=Schema.from_dict(meta["schema"]),
            target=meta["target"],
            positive=meta["positive"],
            negative=meta["negative"],
            requirement=meta["requirement"],
            threshold=float(meta["threshold"]),
            review_band=None if band is None else (float(band[0]), float(band[1])),
            levers=list(meta.get("levers", [])),
            params=dict(meta.get("params", {})),
            metrics=dict(meta.get("metrics", {})),
            met=bool(meta.get("met", True)),
            leaderboard=list(meta.get("leaderboard", [])),
            info=dict(meta.get("info", {})),
            holdout=holdout,
        )
    except ArtifactError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise damaged(folder, f"'{META_FILE}' lacks or garbles a field ({exc!r})") from None
    _check_consistent(guard, folder)
    guard.samplers_removed = [str(n) for n in meta.get("samplers_removed") or []]
    return guard


def _check_consistent(guard: Guard, folder: Path) -> None:
    """Refuse a record that contradicts itself or its model (each part passed its checksum,
    so it was written that way): no feature column, a column listed twice, one label for both
    classes, columns the model uses that the schema lacks, a review band whose edges are out
    of order."""
    listed = [spec.name for spec in guard.schema.columns]
    names = set(listed)
    if not names:
        raise damaged(folder, f"the schema in '{META_FILE}' lists no feature column")
    if len(names) < len(listed):
        twice = sorted({n for n in listed if listed.count(n) > 1})
        shown = format_names(repr(n) for n in twice)
        raise damaged(folder, f"the schema in '{META_FILE}' lists {shown} twice")
    if to_python(guard.positive) == to_python(guard.negative):
        raise damaged(
            folder, f"'{META_FILE}' gives the same label ({guard.positive!r}) to both classes"
        )
    used = getattr(guard.pipeline, "feature_names_in_", None)
    lacking = [] if used is None else [str(c) for c in used if str(c) not in names]
    if lacking:
        shown = format_names(f"'{c}'" for c in lacking)
        raise damaged(
            folder, f"the model uses {shown}, which the schema in '{META_FILE}' lacks"
        )
    band = guard.review_band
    if band is not None and not band[0] <= band[1]:
        raise damaged(
            folder, f"the review band in '{META_FILE}' ends before it starts ({band[0]!r}, "
            f"{band[1]!r})"
        )
