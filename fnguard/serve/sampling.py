"""What batch prediction keeps for the review queue while it streams a file.

:class:`ReviewSample` says what to keep: the review band (the highest scores first, up to a
capacity) and an audit sample of auto-negatives, drawn uniformly over the whole file whatever
the chunk size (a seeded hash of each row number, the smallest hashes kept).
:class:`SampledRows` is what was kept; :func:`fnguard.serve.predict.predict_file` fills it
chunk by chunk through a private collector.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fnguard.data.names import closest_names
from fnguard.errors import DataError

__all__ = ["ReviewSample", "SampledRows"]


@dataclasses.dataclass(frozen=True)
class ReviewSample:
    """What :func:`predict_file` gathers for the review queue while it streams.

    Parameters
    ----------
    capacity : int, float, str or None, default="2%"
        Most review-band cases to keep, the highest scores first: a count (``200``) or a
        share of the file's rows (``0.02``, ``"2%"``); None keeps the whole band.
    audit : int, float, str or None, default=None
        Auto-negatives to sample uniformly over the file: a count or a share of its rows.
    seed : int, default=0
        Seed of the audit's hash rule.
    id_column : str, optional
        The input column holding stable case ids (not reported as an extra column).

    Examples
    --------
    >>> ReviewSample(capacity=200, audit="0.5%").audit
    '0.5%'
    """

    capacity: int | float | str | None = "2%"
    audit: int | float | str | None = None
    seed: int = 0
    id_column: str | None = None

    def __post_init__(self) -> None:
        for value, what in ((self.capacity, "review capacity"), (self.audit, "audit sample")):
            if value is not None:
                _capacity(value, 1000, what)  # raises DataError for what cannot be read
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer):
            raise DataError(f"The audit seed must be an integer. Got {self.seed!r} instead.")


@dataclasses.dataclass
class SampledRows:
    """The rows :func:`predict_file` gathered for the review queue.

    ``frame`` holds the input rows, every column (band rows by decreasing score, then audit
    rows by row number), cast to the dtypes the whole file has (a column read as integers in
    one chunk and decimals in another is decimal in all, so a row's hash does not depend on
    the chunk size); ``predictions`` their ``row``, ``score``, ``decision``, ``label`` and
    ``review``. ``rows``, ``band`` and ``auto_negative`` count the whole file; ``capacity``
    is the band cases kept, ``audit`` the audit cases asked for (None: no audit).
    """

    frame: pd.DataFrame
    predictions: pd.DataFrame
    rows: int
    band: int
    auto_negative: int
    capacity: int
    audit: int | None
    notes: list[str] = dataclasses.field(default_factory=list)


def _uniform(rows: np.ndarray, seed: int) -> np.ndarray:
    """A number in [0, 1) per row number: SplitMix64 of the row number mixed with the seed."""

    def mix(z: np.ndarray) -> np.ndarray:
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))

    with np.errstate(over="ignore"):
        key = mix(np.array([int(seed) & (2**64 - 1)], dtype=np.uint64))
        z = mix(np.asarray(rows).astype(np.uint64) ^ key)
    return (z >> np.uint64(11)).astype(np.float64) / float(2**53)


def _capacity(value: Any, n: int, what: str = "review capacity") -> int:
    from fnguard.decide.review import parse_capacity

    return int(parse_capacity(value, n, what))


def _count(value: Any) -> int | None:
    """The count a capacity names, or None for a share of the rows (or None)."""
    if value is None or _capacity(value, 0) != _capacity(value, 10**12):
        return None
    return _capacity(value, 0)


def _common_dtype(dtypes: set[Any]) -> Any:
    if len(dtypes) == 1:
        return next(iter(dtypes))
    if all(isinstance(d, np.dtype) and d.kind in "iuf" for d in dtypes):
        return np.result_type(*dtypes)
    return np.dtype(object)


def _concat(parts: list[tuple[pd.DataFrame, pd.DataFrame]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    if len(parts) == 1:
        return parts[0]
    return (pd.concat([f for f, _ in parts], ignore_index=True),
            pd.concat([p for _, p in parts], ignore_index=True))


class _Collector:
    """Keeps the review band's best rows and the audit's candidates, chunk by chunk.

    The audit candidates are the auto-negatives whose hash is below ``tau``; ``tau`` only
    falls (when the candidates outgrow what the audit may need), so at the end they are
    exactly the auto-negatives of the whole file with a hash below ``tau``, and their
    smallest hashes are the whole file's.
    """

    _COLUMNS = ("row", "score", "decision", "label", "review")  # predict_file's columns

    def __init__(self, spec: ReviewSample, source: str) -> None:
        self.spec, self.source = spec, source
        self.band: list[tuple[pd.DataFrame, pd.DataFrame]] = []
        self.audit: list[tuple[pd.DataFrame, pd.DataFrame]] = []
        self.tau, self.pruned = 1.0, False
        self.dtypes: dict[str, set[Any]] = {}
        self.n = self.n_band = self.n_negative = 0

    def add(self, chunk: pd.DataFrame, result: pd.DataFrame) -> None:
        chunk = chunk.copy(deep=False)
        chunk.columns = [str(c) for c in chunk.columns]
        name = self.spec.id_column
        if self.n == 0 and name is not None and name not in chunk.columns:
            hint = closest_names(name, list(chunk.columns), n=1)
            also = f" Did you mean '{hint[0]}'?" if hint else ""
            raise DataError(
                f"The id column '{name}' is not in the input table '{self.source}'.{also} Name "
                "a column of the input, or leave the id column out to key cases by their row."
            )
        for name, dtype in chunk.dtypes.items():
            self.dtypes.setdefault(str(name), set()).add(dtype)
        self.n += len(chunk)
        review = result["review"].to_numpy(dtype=bool)
        negative = (result["decision"].to_numpy() == 0) & ~review
        self.n_band += int(review.sum())
        self.n_negative += int(negative.sum())
        preds = result[list(self._COLUMNS)]
        at = np.flatnonzero(review)
        if at.size:
            self.band.append((chunk.iloc[at], preds.iloc[at]))
            if (count := _count(self.spec.capacity)) is not None:
                self.band = [self._top(self.band, count)]
        if self.spec.audit is None:
            return
        at = np.flatnonzero(negative)
        u = _uniform(preds["row"].to_numpy()[at], self.spec.seed)
        at, u = at[u < self.tau], u[u < self.tau]
        if at.size:
            self.audit.append((chunk.iloc[at], preds.iloc[at].assign(_u=u)))
        size = sum(len(p) for _, p in self.audit)
        limit = _count(self.spec.audit)
        if limit is None:  # a share: its count grows with the rows; keep 4 times today's
            limit = 4 * _capacity(self.spec.audit, self.n) + 1000
            if size <= 2 * limit:
                return
        if size > limit:
            frame, picked = _concat(self.audit)
            order = np.argsort(picked["_u"].to_numpy(), kind="stable")
            self.tau, self.pruned = float(picked["_u"].to_numpy()[order[limit]]), True
            kept = np.sort(order[:limit])
            self.audit = [(frame.iloc[kept], picked.iloc[kept])]

    @staticmethod
    def _top(parts: list[tuple[pd.DataFrame, pd.DataFrame]], k: int) -> tuple[Any, Any]:
        frame, preds = _concat(parts)
        order = np.lexsort((preds["row"].to_numpy(), -preds["score"].to_numpy()))[:k]
        return frame.iloc[order], preds.iloc[order]

    def finish(self, n: int) -> SampledRows:
        spec = self.spec
        cap = self.n_band if spec.capacity is None else _capacity(spec.capacity, n)
        parts, notes, k = [], [], None
        if self.band:
            parts.append(self._top(self.band, cap))
        if spec.audit is not None:
            k, got = _capacity(spec.audit, n), 0
            if self.audit:
                frame, pred = _concat(self.audit)
                order = np.sort(np.argsort(pred["_u"].to_numpy(), kind="stable")[:k])
                parts.append((frame.iloc[order], pred.iloc[order].drop(columns="_u")))
                got = len(order)
            if got < min(k, self.n_negative) and self.pruned:
                notes.append(
                    f"The audit holds {got:,} cases, fewer than the {k:,} asked: the file's "
                    "last rows held far fewer auto-negatives than its first. Give the audit "
                    "as a count (--audit 500) to get exactly that many."
                )
        common = {c: _common_dtype(d) for c, d in self.dtypes.items()}
        if parts:
            frame, pred = _concat(parts) if len(parts) > 1 else (
                parts[0][0].reset_index(drop=True), parts[0][1].reset_index(drop=True))
            changed = {c: d for c, d in common.items() if frame[c].dtype != d}
            frame = frame.astype(changed) if changed else frame
        else:
            frame = pd.DataFrame({c: pd.Series(dtype=d) for c, d in common.items()})
            pred = pd.DataFrame({c: [] for c in self._COLUMNS})
        return SampledRows(frame, pred, rows=n, band=self.n_band,
                           auto_negative=self.n_negative, capacity=min(cap, self.n_band),
                           audit=k, notes=notes)


def file_digest(source: Any) -> str:
    """SHA-256 of the bytes of the input: a file, the files of a folder, or of a glob pattern,
    in name order. It identifies a batch in the review store whatever capacity, audit, chunk
    size or engine read it (the same file predicted again is the same batch).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.csv").write_text("x,y")
    >>> file_digest(folder / "a.csv") == file_digest(folder) == file_digest(folder / "*.csv")
    True
    """
    import glob
    import hashlib
    import os

    text = os.fspath(source)
    path = Path(text)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    elif path.exists():
        files = [path]
    else:
        files = sorted(Path(p) for p in glob.glob(text) if Path(p).is_file())
    h = hashlib.sha256()
    for file in files:
        with open(file, "rb") as handle:
            while block := handle.read(1 << 20):
                h.update(block)
        h.update(b"\x1f")  # file boundary
    return h.hexdigest()
