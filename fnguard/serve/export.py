"""Reviewed labels out of the store (a training table) and back in (labels decided elsewhere).

The export is a table ready to train on: every column each case arrived with, the target
column holding the reviewed label (empty for "unsure"), and ``review_*`` columns saying where
the label came from. ``fnguard retrain`` reads it through :func:`reviewed_labels`.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from fnguard._atomic import atomic_path
from fnguard.errors import DataError
from fnguard.serve.auth import find_user
from fnguard.serve.leases import VERDICTS
from fnguard.serve.store import (
    ReviewError,
    batches,
    cases,
    guards,
    now,
    open_store,
    read,
    users,
    verdicts,
    write,
)

__all__ = ["REVIEW_COLUMNS", "export_labels", "import_labels", "reviewed_labels"]

REVIEW_COLUMNS = (
    "review_case_id", "review_verdict", "review_source", "review_score", "review_batch",
    "review_reviewers", "review_adjudicated_by", "review_decided",
)


def reviewed_labels(db: Any, *, include_unsure: bool = True) -> pd.DataFrame:
    """The decided cases as a table: their values, the reviewed label, and where it came from.

    Parameters
    ----------
    db : str, PathLike or Engine
        The review database.
    include_unsure : bool, default=True
        Keep cases decided "unsure" (their target is empty).

    Returns
    -------
    DataFrame
        ``review_case_id`` (the stable case id), ``review_verdict`` (``"positive"``,
        ``"negative"`` or ``"unsure"``), ``review_source`` (``"band"`` or ``"audit"``),
        ``review_score``, ``review_batch``, ``review_reviewers`` (names, ``;``-separated),
        ``review_adjudicated_by``, ``review_decided`` (ISO time, UTC), then the Guard's target
        column with the reviewed label in the Guard's terms (None for unsure), then every
        column the case arrived with. A value the case carried in the target column is kept
        as ``review_stored_label``.

    Examples
    --------
    >>> from fnguard.serve.store import open_store
    >>> reviewed_labels(open_store("sqlite://", create=True)).shape
    (0, 8)
    """
    engine = open_store(db)
    adjudicator = users.alias("adjudicator")
    with read(engine) as conn:
        rows = conn.execute(
            sa.select(
                cases.c.id, cases.c.key, cases.c.final, cases.c.audit, cases.c.score,
                cases.c["values"], cases.c.decided, batches.c.name.label("batch"),
                guards.c.target, guards.c.positive, guards.c.negative,
                adjudicator.c.name.label("adjudicated_by"),
            )
            .join(batches, batches.c.id == cases.c.batch_id)
            .join(guards, guards.c.fingerprint == cases.c.guard)
            .outerjoin(adjudicator, adjudicator.c.id == cases.c.adjudicated_by)
            .where(cases.c.status == "done")
            .order_by(cases.c.id)
        ).all()
        names: dict[int, list[str]] = {}
        for case_id, name in conn.execute(
            sa.select(verdicts.c.case_id, users.c.name)
            .join(users, users.c.id == verdicts.c.user_id)
            .order_by(verdicts.c.case_id, verdicts.c.created)
        ):
            names.setdefault(case_id, []).append(name)
    records = []
    for r in rows:
        if r.final == "unsure" and not include_unsure:
            continue
        values = json.loads(r.values)
        label = {"positive": json.loads(r.positive), "negative": json.loads(r.negative)}.get(
            r.final
        )
        record = {
            "review_case_id": r.key,
            "review_verdict": r.final,
            "review_source": "audit" if r.audit else "band",
            "review_score": r.score,
            "review_batch": r.batch,
            "review_reviewers": ";".join(names.get(r.id, [])),
            "review_adjudicated_by": r.adjudicated_by,
            "review_decided": None if r.decided is None else datetime.datetime.fromtimestamp(
                r.decided, datetime.UTC).isoformat(timespec="seconds"),
        }
        clash = [c for c in values if c in record]
        if clash:
            raise DataError(
                f"The queued cases have a column named {clash[0]!r}, which the export uses "
                "for itself: rename that column in the data before enqueueing."
            )
        if r.target in values:
            record["review_stored_label"] = values.pop(r.target)
        record[r.target] = label
        record.update(values)
        records.append(record)
    if not records:
        return pd.DataFrame(columns=list(REVIEW_COLUMNS))
    return pd.DataFrame.from_records(records)


def export_labels(db: Any, out: str | os.PathLike[str], **kwargs: Any) -> dict[str, Any]:
    """Write :func:`reviewed_labels` to ``out`` (whole or not at all): CSV (``.csv``,
    ``.csv.gz``) or Parquet (``.parquet``, ``.pq``), by its suffix.

    Returns
    -------
    dict
        ``path``, ``rows`` and the count of each verdict.

    Raises
    ------
    OutputError
        When ``out`` has another suffix, or cannot be written.
    """
    from fnguard.serve.predict import _output_format

    fmt = _output_format(Path(out))  # the suffixes predict writes, or an OutputError
    table = reviewed_labels(db, **kwargs)
    with atomic_path(out, what="labels file") as tmp:
        if fmt == "parquet":
            table.to_parquet(tmp, index=False)
        else:
            gz = Path(out).name.lower().endswith(".gz")
            table.to_csv(tmp, index=False, compression="gzip" if gz else None)
    counts = table["review_verdict"].value_counts().to_dict() if len(table) else {}
    return {"path": os.fspath(out), "rows": len(table),
            **{v: int(counts.get(v, 0)) for v in VERDICTS}}


def import_labels(db: Any, path: str | os.PathLike[str], *, user: str) -> dict[str, Any]:
    """Set the final label of cases from a CSV of ``review_case_id`` and ``review_verdict``.

    The labels count as an admin's adjudication: they override the reviewers' verdicts.

    Parameters
    ----------
    db : str, PathLike or Engine
        The review database.
    path : str or PathLike
        A CSV with the columns ``review_case_id`` (as exported) and ``review_verdict``
        (``positive``, ``negative`` or ``unsure``).
    user : str
        The admin the labels are recorded under.

    Returns
    -------
    dict
        ``labels`` set.

    Raises
    ------
    ReviewError
        For an unknown user or one who is not an admin.
    DataError
        For a missing column, an unknown verdict, a case given two verdicts or case ids not in
        the queue (all refused).
    """
    engine = open_store(db)
    admin = find_user(engine, user)
    if not admin.is_admin:
        raise ReviewError(f"{user} is not an admin: only admins import labels.")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"The labels CSV '{path}' cannot be read ({exc}).") from None
    missing = [c for c in ("review_case_id", "review_verdict") if c not in table.columns]
    if missing:
        raise DataError(
            f"The labels CSV '{path}' lacks the column(s) {', '.join(missing)}: use the file "
            "`fnguard review export` writes, or add them."
        )
    bad = sorted(set(table["review_verdict"]) - set(VERDICTS))
    if bad:
        raise DataError(
            f"The labels CSV '{path}' has verdicts {bad[:5]}: use one of {', '.join(VERDICTS)}."
        )
    table = table.drop_duplicates(["review_case_id", "review_verdict"])
    twice = table["review_case_id"][table["review_case_id"].duplicated()]
    if len(twice):
        raise DataError(
            f"The labels CSV '{path}' gives {twice.nunique():,} case(s) more than one verdict "
            f"(e.g. {twice.iloc[0]!r}): keep one verdict per case."
        )
    keys = table["review_case_id"].tolist()
    with read(engine) as conn:
        known = {}
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            known.update(conn.execute(
                sa.select(cases.c.key, cases.c.id).where(cases.c.key.in_(part))
            ).all())
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise DataError(
            f"The labels CSV '{path}' names {len(unknown)} case id(s) not in the review queue, "
            f"e.g. {', '.join(repr(k) for k in unknown[:5])}: use ids from this database's "
            "export; nothing was imported."
        )
    t = now()
    with write(engine) as conn:
        for key, verdict in zip(keys, table["review_verdict"], strict=True):
            conn.execute(
                cases.update()
                .where(cases.c.id == known[key])
                .values(status="done", final=verdict, adjudicated_by=admin.id, decided=t)
            )
    return {"labels": len(keys)}
