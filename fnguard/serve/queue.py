"""Put a batch's borderline cases, and an audit sample of confident negatives, in the review queue.

The review band (cases a Guard sends to review) is enqueued by likeliness of being a miss: the
model's score. When the band holds more cases than reviewers can handle (``capacity``), the
cases with the highest scores go in. An audit (``audit``) adds a random sample of auto-negative
cases: reviewing it estimates how many positives the Guard lets through in production, where
no labels exist. Audit cases come first in the queue, in random order, so that a partly
reviewed audit is still a random sample; the band follows by score.

Each case is keyed by a stable id: the value of ``id_column``, else a hash of the whole row. A
batch enqueued twice adds nothing the second time.

The case page shows which values push the score most. That is measured by occlusion, for any
model: each feature in turn is set to a reference value (the batch median for numeric and
datetime columns, the most frequent training level for categorical ones, the batch's most
frequent value for booleans) and the case is scored again; the change in score is the
feature's contribution. It costs one prediction per feature per enqueued case, at enqueue time.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from fnguard.data.names import capitalized
from fnguard.data.target import to_python, whole_number
from fnguard.decide.review import parse_capacity
from fnguard.errors import DataError, FnguardWarning
from fnguard.serve.store import (
    ReviewError,
    batches,
    cases,
    dumps,
    guards,
    now,
    open_store,
    read,
    write,
)

__all__ = ["case_keys", "check_guard", "enqueue", "json_value", "schema_fingerprint"]

_CHUNK = 500
_OCCLUSION_ROWS = 50_000


def schema_fingerprint(guard: Any) -> str:
    """SHA-256 of the Guard's schema, target and labels: the identity its cases carry.

    Two Guards with the same fingerprint read the same columns and labels, so a retrained
    Guard can serve the queue of the one it replaces.
    """
    doc = {
        "schema": guard.schema.to_dict(),
        "target": guard.target,
        "positive": to_python(guard.positive),
        "negative": to_python(guard.negative),
    }
    text = json.dumps(doc, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def json_value(value: Any) -> Any:
    """A value as JSON can hold it: None for missing, ISO text for dates, text for the rest.

    Examples
    --------
    >>> json_value(np.float64("nan")), json_value(np.int64(3)), json_value(pd.Timestamp(0))
    (None, 3, '1970-01-01T00:00:00')
    """
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | np.datetime64):
        return pd.Timestamp(value).isoformat()
    value = to_python(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bool | int | str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _key_value(value: Any) -> Any:
    """:func:`json_value`, with whole numbers stored as floats read as integers: a column of
    integers with one blank reads as floats (514.0), and must key its rows as 514."""
    return whole_number(json_value(value))


def case_keys(frame: pd.DataFrame, id_column: str | None = None) -> list[str]:
    """Stable case ids: ``id:`` + the id column's value, else ``row:`` + a hash of the row.

    The hash reads every column, by name (their order does not matter), so the same row in a
    later batch gets the same id. Whole numbers key alike whether the file read them as
    integers or as floats (``514`` and ``514.0``).

    Examples
    --------
    >>> a = case_keys(pd.DataFrame({"x": [1.0, 2.0], "y": ["u", "v"]}))
    >>> a == case_keys(pd.DataFrame({"y": ["u", "v"], "x": [1.0, 2.0]}))
    True
    >>> case_keys(pd.DataFrame({"id": [7, 8], "x": [1, 1]}), id_column="id")
    ['id:7', 'id:8']
    >>> whole = pd.DataFrame({"id": [7.0, 8.0]})
    >>> case_keys(whole, "id") == case_keys(whole.astype(int), "id")
    True
    """
    if id_column is not None:
        if id_column not in frame.columns:
            raise DataError(
                f"The id column {id_column!r} is not in the data (columns: "
                f"{', '.join(map(str, list(frame.columns)[:20]))}): name one of them."
            )
        values = frame[id_column]
        if values.isna().any():
            row = int(np.flatnonzero(values.isna().to_numpy())[0]) + 1
            raise DataError(
                f"The id column {id_column!r} has missing values (first at data row {row}): "
                "every case needs an id; fill them or leave out --id-column to hash rows."
            )
        keys = ["id:" + str(_key_value(v)) for v in values]
        if any(len(k) > 200 for k in keys):
            raise DataError(f"The id column {id_column!r} holds ids over 197 characters.")
        return keys
    names = sorted(map(str, frame.columns))
    ordered = frame.copy(deep=False)
    ordered.columns = [str(c) for c in frame.columns]
    out = []
    for row in ordered[names].itertuples(index=False, name=None):
        text = json.dumps([_key_value(v) for v in row], separators=(",", ":"), default=str)
        out.append("row:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40])
    return out


def _stored_fingerprints(conn: Any) -> list[Any]:
    used = sa.select(cases.c.guard).distinct().scalar_subquery()
    return list(conn.execute(sa.select(guards).where(guards.c.fingerprint.in_(used))))


def _schema_names(schema_json: str) -> list[str]:
    try:
        return [str(c["name"]) for c in json.loads(schema_json)["columns"]]
    except (ValueError, KeyError, TypeError):
        return []


def check_guard(db: Any, guard: Any, *, source: str = "the Guard") -> str:
    """Check that ``guard`` reads the columns and labels of the cases queued in ``db``.

    Returns
    -------
    str
        The Guard's schema fingerprint.

    Raises
    ------
    ReviewError
        If the queue holds cases of a Guard with another schema, target or labels.
    """
    engine = open_store(db)
    mine = schema_fingerprint(guard)
    with read(engine) as conn:
        others = [g for g in _stored_fingerprints(conn) if g.fingerprint != mine]
    if others:
        theirs = _schema_names(others[0].schema)
        ours = guard.schema.names
        missing = [c for c in theirs if c not in ours]
        extra = [c for c in ours if c not in theirs]
        detail = []
        if missing:
            detail.append(f"the queued cases have columns it lacks: {', '.join(missing[:10])}")
        if extra:
            detail.append(f"it reads columns the cases lack: {', '.join(extra[:10])}")
        if not detail:
            detail.append(
                f"the cases were enqueued for target {others[0].target!r} with labels "
                f"{others[0].positive} / {others[0].negative}, or columns of other kinds"
            )
        raise ReviewError(
            f"{capitalized(source)} does not match the cases in the review queue "
            f"({'; '.join(detail)}): use the Guard that enqueued them, or a new database."
        )
    return mine


def _score(guard: Any, frame: pd.DataFrame) -> np.ndarray:
    if callable(getattr(guard, "score", None)):
        return np.asarray(guard.score(frame), dtype=np.float64)
    X = guard.schema.check(frame)
    return np.asarray(guard.pipeline.predict_proba(X)[:, 1], dtype=np.float64)


def _references(guard: Any, X: pd.DataFrame) -> dict[str, Any]:
    refs: dict[str, Any] = {}
    for spec in guard.schema.columns:
        values = X[spec.name]
        if spec.kind in ("numeric", "datetime"):
            ref = values.median()
            ref = np.nan if ref is None or pd.isna(ref) else ref
        elif spec.kind == "categorical" and spec.categories:
            ref = spec.categories[0]
        else:
            mode = values.mode(dropna=True)
            ref = mode.iloc[0] if len(mode) else None
        refs[spec.name] = ref
    return refs


def contributions(guard: Any, frame: pd.DataFrame, rows: np.ndarray) -> list[dict[str, float]]:
    """Score change when each feature of each chosen row is set to its reference value.

    Parameters
    ----------
    guard : Guard
    frame : DataFrame
        The batch (the references are its medians and modes).
    rows : ndarray of int
        Positions of the rows to explain.

    Returns
    -------
    list of dict
        Per row, feature name to ``score - score with the feature at its reference``.
    """
    if len(rows) == 0 or len(guard.schema) == 0:
        return [{} for _ in rows]
    X = guard.schema.check(frame)
    refs = _references(guard, X)
    names = guard.schema.names
    chosen = X.iloc[rows].reset_index(drop=True)
    out = np.empty((len(rows), len(names)))
    per_chunk = max(1, _OCCLUSION_ROWS // len(names))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FnguardWarning)  # drift: the caller heard it already
        base = _score(guard, chosen)
        for start in range(0, len(rows), per_chunk):
            part = chosen.iloc[start : start + per_chunk]
            blocks = []
            for name in names:
                block = part.copy()
                block[name] = refs[name]
                blocks.append(block)
            big = pd.concat(blocks, ignore_index=True)
            scores = _score(guard, big).reshape(len(names), len(part)).T
            out[start : start + len(part)] = base[start : start + len(part), None] - scores
    return [
        {name: round(float(v), 6) for name, v in zip(names, row, strict=True)} for row in out
    ]


def _kinds(guard: Any, predictions: pd.DataFrame, n: int) -> np.ndarray:
    """Each row's part: ``"review"``, ``"auto_negative"`` or ``"auto_positive"``."""
    if len(predictions) != n:
        raise DataError(
            f"The predictions have {len(predictions):,} rows but the data has {n:,}: pass "
            "what Guard.predict returned for this very frame."
        )
    if "score" not in predictions.columns:
        raise DataError("The predictions lack a 'score' column: pass Guard.predict's output.")
    score = predictions["score"].to_numpy(dtype=np.float64)
    decision = predictions["decision"] if "decision" in predictions.columns else None
    if "review" in predictions.columns:
        band = predictions["review"].fillna(False).to_numpy(dtype=bool)
    elif decision is not None and decision.dtype == object:
        band = decision.astype(str).to_numpy() == "review"
    else:
        raise DataError(
            "The predictions lack a 'review' column: pass Guard.predict's output."
        )
    if decision is not None and pd.api.types.is_numeric_dtype(decision.dtype):
        negative = decision.to_numpy() == 0  # Guard.predict: 1 where score >= threshold
    elif decision is not None:
        negative = np.isin(decision.astype(str).to_numpy(), ["auto_negative", "negative"])
    else:
        negative = score < float(guard.threshold)
    return np.where(band, "review", np.where(negative, "auto_negative", "auto_positive"))


def enqueue(
    db: Any,
    guard: Any,
    frame: pd.DataFrame,
    predictions: pd.DataFrame,
    *,
    capacity: int | float | str | None = "2%",
    audit: int | float | str | None = None,
    id_column: str | None = None,
    batch: str | None = None,
    seed: int = 0,
    explain: bool = True,
    digest: str | None = None,
) -> dict[str, Any]:
    """Enqueue a batch's review band (up to ``capacity``) and an audit sample for review.

    Parameters
    ----------
    db : str, PathLike or Engine
        The review database (a path or SQLAlchemy URL); created when it does not exist.
    guard : Guard
        The Guard that scored the batch.
    frame : DataFrame
        The batch as read (every column is kept with the case and shown to reviewers).
    predictions : DataFrame
        ``guard.predict(frame)``, row for row: ``score``, ``review`` (bool: in the review
        band) and ``decision`` (1 where ``score >= threshold``; without it, the threshold
        decides which rows are auto-negative).
    capacity : int, float, str or None, default="2%"
        Most band cases to enqueue: a count (``200``) or a share of the batch (``0.02``,
        ``"2%"``); None for the whole band. The highest scores go first.
    audit : int, float, str or None, default=None
        Random auto-negative cases to add: a count or a share of the batch. None: no audit,
        and the dashboard warns that misses among auto-negatives are never seen.
    id_column : str, optional
        Column holding a stable case id; by default a hash of the whole row.
    batch : str, optional
        Name of the batch (e.g. the file name); a timestamp by default.
    seed : int, default=0
        Seed of the audit sample and of its order.
    explain : bool, default=True
        Store each case's per-feature contributions (occlusion, see the module docstring).
    digest : str, optional
        The batch's identity: a batch already stored under it is the same batch (its counts
        are not added again). By default the digest of ``frame``; ``predict_to_queue`` gives
        the whole file's, so that another capacity or audit of the same file is one batch.

    Returns
    -------
    dict
        ``batch`` (its id), ``enqueued``, ``review``, ``audit``, ``duplicates`` (already queued),
        ``band`` (cases in the band), ``capacity`` (the count it allowed), ``left_out`` (band
        cases over capacity), ``auto_negative``. A batch enqueued again is recorded once.

    Raises
    ------
    ReviewError
        If the database holds cases of a Guard with another schema.
    DataError
        For predictions that do not match the frame, a bad capacity, a bad id column.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from fnguard.data import infer_schema
    >>> from fnguard.guard import Guard
    >>> from fnguard.levers import build
    >>> from fnguard.serve.store import open_store
    >>> frame = pd.DataFrame({"x": np.linspace(0, 1, 40)})
    >>> schema = infer_schema(frame)
    >>> model = build(["logistic"], schema).fit(frame, frame["x"] > 0.6)
    >>> guard = Guard(model, schema, "y", 1, 0, "recall>=0.9", 0.3, (0.3, 0.7))
    >>> engine = open_store("sqlite://", create=True)
    >>> out = enqueue(engine, guard, frame, guard.predict(frame), capacity=5, audit=2)
    >>> out["band"], out["review"], out["audit"], out["left_out"]
    (8, 5, 2, 3)
    >>> enqueue(engine, guard, frame, guard.predict(frame), capacity=5, audit=2)["duplicates"]
    7
    """
    reserved = [str(c) for c in frame.columns if str(c).startswith("review_")]
    if reserved:
        raise DataError(
            f"The data has column(s) named {', '.join(map(repr, reserved[:5]))}: names "
            "starting with 'review_' are kept for the review export's own columns. Rename them "
            "before queueing the cases."
        )
    n = len(frame)
    decision = _kinds(guard, predictions, n)
    band, negative = decision == "review", decision == "auto_negative"
    score = predictions["score"].to_numpy(dtype=np.float64)
    cap = int(band.sum()) if capacity is None else parse_capacity(capacity, n)
    band_rows = np.flatnonzero(band)
    band_rows = band_rows[np.argsort(-score[band_rows], kind="stable")][:cap]
    rng = np.random.default_rng(seed)
    audit_rows = np.array([], dtype=np.int64)
    if audit is not None:
        pool = np.flatnonzero(negative)
        k = min(parse_capacity(audit, n, "audit sample (--audit)"), len(pool))
        audit_rows = np.sort(rng.choice(pool, size=k, replace=False)) if k else audit_rows
    rows = np.concatenate([band_rows, audit_rows]).astype(np.int64)
    is_audit = np.concatenate([np.zeros(len(band_rows), bool), np.ones(len(audit_rows), bool)])
    keys = case_keys(frame.iloc[rows], id_column) if len(rows) else []
    if id_column is not None and n:
        all_keys = case_keys(frame, id_column)
        if len(set(all_keys)) != n:
            dup = pd.Series(all_keys).duplicated()
            at = int(np.flatnonzero(dup.to_numpy())[0])
            # the file's row when the predictions say it (a sample gathered from a file)
            if "row" in predictions.columns:
                where = f"data row {int(predictions['row'].iloc[at]) + 1}"
            else:
                where = f"data row {at + 1}"
            raise DataError(
                f"The id column {id_column!r} repeats ids (first repeat at {where}: "
                f"{all_keys[at][3:]!r}): ids must be unique."
            )

    engine = open_store(db, create=True)
    fingerprint = check_guard(engine, guard)
    digest = digest or _batch_digest(frame)
    with read(engine) as conn:
        seen_batch = conn.execute(
            sa.select(batches.c.id).where(batches.c.digest == digest)
        ).scalar()
        if seen_batch is not None and keys:
            before = conn.execute(
                sa.select(cases.c.key).where(cases.c.batch_id == seen_batch).limit(1)
            ).scalar()
            if before is not None and before.split(":", 1)[0] != keys[0].split(":", 1)[0]:
                was = "an id column" if before.startswith("id:") else "a hash of each row"
                now_ = "an id column" if keys[0].startswith("id:") else "a hash of each row"
                raise ReviewError(
                    f"These rows were queued before with their cases keyed by {was}, and now "
                    f"by {now_}: every case would be queued twice. Queue them the same way as "
                    "before (" + ("with the same --id-column" if before.startswith("id:")
                                  else "without --id-column") + ")."
                )
        existing: set[str] = set()
        for start in range(0, len(keys), _CHUNK):
            part = keys[start : start + _CHUNK]
            existing.update(
                conn.execute(sa.select(cases.c.key).where(cases.c.key.in_(part))).scalars()
            )
    fresh, seen = [], set(existing)
    for i, key in enumerate(keys):
        if key not in seen:
            seen.add(key)
            fresh.append(i)
    fresh_rows = rows[fresh]
    notes = (
        contributions(guard, frame, fresh_rows) if explain and len(fresh_rows) else None
    )
    audit_order = rng.random(len(rows))
    columns = [str(c) for c in frame.columns]
    t = now()
    lower, upper = guard.review_band if guard.review_band is not None else (None, None)
    with write(engine) as conn:
        if conn.execute(
            sa.select(guards.c.fingerprint).where(guards.c.fingerprint == fingerprint)
        ).first() is None:
            conn.execute(
                guards.insert().values(
                    fingerprint=fingerprint,
                    target=str(guard.target),
                    positive=dumps(json_value(guard.positive)),
                    negative=dumps(json_value(guard.negative)),
                    threshold=float(guard.threshold),
                    review_lower=None if lower is None else _finite(lower),
                    review_upper=None if upper is None else _finite(upper),
                    schema=dumps(guard.schema.to_dict()),
                    created=t,
                )
            )
        batch_id = seen_batch if seen_batch is not None else conn.execute(
            batches.insert().values(
                digest=digest,
                name=str(batch) if batch else f"batch {pd.Timestamp.now():%Y-%m-%d %H:%M:%S}",
                guard=fingerprint,
                created=t,
                n_rows=n,
                n_review=int(sum(1 for i in fresh if not is_audit[i])),
                n_audit=int(sum(1 for i in fresh if is_audit[i])),
                n_auto_negative=int(negative.sum()),
                n_duplicate=len(keys) - len(fresh),
            )
        ).inserted_primary_key[0]
        if seen_batch is not None:  # the same rows again: count them once, add the new cases
            conn.execute(
                batches.update()
                .where(batches.c.id == seen_batch)
                .values(
                    n_duplicate=batches.c.n_duplicate + len(keys) - len(fresh),
                    n_review=batches.c.n_review + sum(1 for i in fresh if not is_audit[i]),
                    n_audit=batches.c.n_audit + sum(1 for i in fresh if is_audit[i]),
                )
            )
        records = []
        for j, i in enumerate(fresh):
            r = int(rows[i])
            values = {c: json_value(v) for c, v in zip(columns, frame.iloc[r], strict=True)}
            records.append(
                {
                    "key": keys[i],
                    "batch_id": batch_id,
                    "guard": fingerprint,
                    "audit": bool(is_audit[i]),
                    "score": float(score[r]),
                    "threshold": float(guard.threshold),
                    "priority": float(score[r]),
                    "sort_key": float(audit_order[i]) if is_audit[i] else float(score[r]),
                    "decision": str(decision[r]),
                    "values": dumps(values),
                    "contributions": None if notes is None else dumps(notes[j]),
                    "status": "open",
                    "created": t,
                }
            )
        if records:
            conn.execute(cases.insert(), records)
    n_review = sum(1 for i in fresh if not is_audit[i])
    return {
        "batch": int(batch_id),
        "enqueued": len(fresh),
        "review": n_review,
        "audit": len(fresh) - n_review,
        "duplicates": len(keys) - len(fresh),
        "band": int(band.sum()),
        "capacity": cap,
        "left_out": max(0, int(band.sum()) - cap),
        "auto_negative": int(negative.sum()),
        "database": str(engine.url) if not isinstance(db, str | os.PathLike) else os.fspath(db),
    }


def _batch_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of the rows and column names, whatever the column order."""
    ordered = frame.copy(deep=False)
    ordered.columns = [str(c) for c in frame.columns]
    ordered = ordered[sorted(ordered.columns)]
    h = hashlib.sha256(dumps(list(ordered.columns)).encode("utf-8"))
    try:
        h.update(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    except TypeError:  # unhashable cells (lists, bytes that are not text): hash their repr
        as_text = ordered.map(repr)
        h.update(pd.util.hash_pandas_object(as_text, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(float(x)) else None
