"""Leases and verdicts: who reviews which case, and what they said.

A case needs ``reviews_per_case`` independent verdicts, from different reviewers. Each verdict
has a slot (``0 .. reviews_per_case - 1``) in the ``assignments`` table, whose primary key is
``(case, slot)`` and which holds at most one row per ``(case, user)``: the database itself
refuses to give one slot to two reviewers, or one case twice to the same reviewer, on SQLite
as on any other server. A slot is leased for ``lease_seconds``; once the lease has expired,
another reviewer may take the slot over, and the first one's late verdict is refused.

A verdict is stored once per ``(case, reviewer)``: sending it again changes nothing (the same
verdict) or replaces it (another verdict, before the case is adjudicated). Once every slot
holds a verdict, the case is decided: positive or negative when the verdicts that are not
"unsure" agree, unsure when all are, and *disputed* otherwise, for an admin to adjudicate.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from fnguard.serve.auth import User
from fnguard.serve.store import (
    ReviewError,
    assignments,
    cases,
    now,
    read,
    users,
    verdicts,
    write,
)

__all__ = [
    "LEASE_SECONDS",
    "VERDICTS",
    "CaseNotFound",
    "LeaseError",
    "adjudicate",
    "case_for",
    "decide",
    "lease_next",
    "release",
    "submit_verdict",
]

VERDICTS = ("positive", "negative", "unsure")
LEASE_SECONDS = 900.0
_CANDIDATES = 20


class CaseNotFound(ReviewError):
    """A case number that is not in the review queue."""


class LeaseError(ReviewError):
    """The case is not leased to this reviewer (expired and taken, or never theirs)."""


def decide(votes: list[str]) -> str:
    """The final label of a case from its verdicts: a label, ``"unsure"`` or ``"disputed"``.

    Examples
    --------
    >>> decide(["positive", "unsure"]), decide(["unsure"]), decide(["positive", "negative"])
    ('positive', 'unsure', 'disputed')
    """
    sure = {v for v in votes if v != "unsure"}
    if not sure:
        return "unsure"
    return sure.pop() if len(sure) == 1 else "disputed"


def _check_n(reviews_per_case: int) -> int:
    if isinstance(reviews_per_case, bool) or not isinstance(reviews_per_case, int) or (
        reviews_per_case < 1
    ):
        raise ReviewError(
            f"reviews_per_case must be a whole number >= 1. Got {reviews_per_case!r} instead."
        )
    return reviews_per_case


B = sa.bindparam
# The hot statements, built once: building SQLAlchemy expressions costs more than running them.
_SLOTS = sa.select(assignments.c.slot, assignments.c.state, assignments.c.lease_until).where(
    assignments.c.case_id == B("c_id")
)
_TAKE_OVER = (
    assignments.update()
    .where(
        assignments.c.case_id == B("c_id"),
        assignments.c.slot == B("s_id"),
        assignments.c.state == "leased",
        assignments.c.lease_until <= B("t"),
    )
    .values(user_id=B("u_id"), lease_until=B("until"))
)
_DROP_LEASE = assignments.delete().where(
    assignments.c.case_id == B("c_id"),
    assignments.c.user_id == B("u_id"),
    assignments.c.state == "leased",
)
_HELD = (
    sa.select(assignments.c.case_id)
    .join(cases, cases.c.id == assignments.c.case_id)
    .where(
        assignments.c.user_id == B("u_id"),
        assignments.c.state == "leased",
        cases.c.status == "open",
        cases.c.id != B("skip"),
    )
    .order_by(cases.c.audit.desc(), cases.c.sort_key.desc())
    .limit(1)
)
_RENEW = (
    assignments.update()
    .where(assignments.c.case_id == B("c_id"), assignments.c.user_id == B("u_id"))
    .values(lease_until=B("until"))
)
_CANDIDATES_Q = (
    sa.select(cases.c.id)
    .where(
        cases.c.status == "open",
        cases.c.id != B("skip"),
        ~sa.exists().where(
            assignments.c.case_id == cases.c.id, assignments.c.user_id == B("u_id")
        ),
        sa.select(sa.func.count())
        .where(
            assignments.c.case_id == cases.c.id,
            sa.or_(assignments.c.state == "done", assignments.c.lease_until > B("t")),
        )
        .scalar_subquery()
        < B("n"),
    )
    .order_by(cases.c.audit.desc(), cases.c.sort_key.desc(), cases.c.id)
    .limit(_CANDIDATES)
)
_MINE = (
    sa.select(assignments.c.state, verdicts.c.id, verdicts.c.verdict, verdicts.c.comment)
    .outerjoin(
        verdicts,
        sa.and_(verdicts.c.case_id == assignments.c.case_id,
                verdicts.c.user_id == assignments.c.user_id),
    )
    .where(assignments.c.case_id == B("c_id"), assignments.c.user_id == B("u_id"))
)
_STATUS = sa.select(cases.c.status, cases.c.adjudicated_by).where(cases.c.id == B("c_id"))
_CHANGE_VERDICT = (
    verdicts.update()
    .where(verdicts.c.id == B("v_id"))
    .values(verdict=B("v"), comment=B("note"), updated=B("t"))
)
_DONE = (
    assignments.update()
    .where(assignments.c.case_id == B("c_id"), assignments.c.user_id == B("u_id"))
    .values(state="done")
)
_VOTES = sa.select(verdicts.c.verdict).where(verdicts.c.case_id == B("c_id"))
_SET_CASE = (
    cases.update()
    .where(cases.c.id == B("c_id"))
    .values(status=B("st"), final=B("fin"), decided=B("dec"))
)


def _claim(conn: Connection, case_id: int, user: User, n: int, t: float, until: float) -> bool:
    rows = conn.execute(_SLOTS, {"c_id": case_id}).all()
    taken = {r.slot for r in rows}
    free = [s for s in range(n) if s not in taken]
    if free:
        values = {"case_id": case_id, "slot": free[0], "user_id": user.id, "state": "leased",
                  "lease_until": until}
        if conn.dialect.name == "sqlite":  # BEGIN IMMEDIATE: no other writer can race us
            conn.execute(assignments.insert(), values)
            return True
        try:
            with conn.begin_nested():
                conn.execute(assignments.insert(), values)
            return True
        except sa.exc.IntegrityError:  # another server process took it first
            return False
    for r in rows:
        if r.state == "leased" and r.lease_until <= t and r.slot < n:
            done = conn.execute(_TAKE_OVER, {"c_id": case_id, "s_id": r.slot, "t": t,
                                             "u_id": user.id, "until": until})
            if done.rowcount == 1:
                return True
    return False


def lease_next(
    engine: Engine,
    user: User,
    *,
    reviews_per_case: int = 1,
    lease_seconds: float = LEASE_SECONDS,
    skip: int | None = None,
) -> int | None:
    """Lease the next case to ``user``; None when the queue holds nothing for them.

    A live lease the user already holds on an open case is returned again (one case at a
    time), unless it is ``skip``: that lease is released and the next case is taken.

    Parameters
    ----------
    engine : Engine
    user : User
    reviews_per_case : int, default=1
        Independent verdicts each case needs.
    lease_seconds : float, default=900
        How long the case stays reserved for the user.
    skip : int, optional
        A case the user passes over (it goes back to the queue for others).

    Returns
    -------
    int or None
        The case id.

    Examples
    --------
    >>> from fnguard.serve.auth import add_user
    >>> from fnguard.serve.store import open_store
    >>> engine = open_store("sqlite://", create=True)
    >>> lease_next(engine, add_user(engine, "ann", "password-ann")) is None  # empty queue
    True
    """
    n = _check_n(reviews_per_case)
    with write(engine) as conn:
        return _lease(conn, user, n, lease_seconds, skip)


def _lease(
    conn: Connection, user: User, n: int, lease_seconds: float, skip: int | None
) -> int | None:
    t = now()
    until = t + lease_seconds
    skip_id = -1 if skip is None else int(skip)
    if skip is not None:
        conn.execute(_DROP_LEASE, {"c_id": skip_id, "u_id": user.id})
    held = conn.execute(_HELD, {"u_id": user.id, "skip": skip_id}).scalar()
    if held is not None:
        conn.execute(_RENEW, {"c_id": held, "u_id": user.id, "until": until})
        return int(held)
    found = conn.execute(
        _CANDIDATES_Q, {"skip": skip_id, "u_id": user.id, "t": t, "n": n}
    ).scalars().all()
    for case_id in found:
        if _claim(conn, case_id, user, n, t, until):
            return int(case_id)
    return None


def release(engine: Engine, user: User, case_id: int) -> bool:
    """Give a leased case back to the queue without a verdict; whether a lease was held."""
    with write(engine) as conn:
        done = conn.execute(
            assignments.delete().where(
                assignments.c.case_id == case_id,
                assignments.c.user_id == user.id,
                assignments.c.state == "leased",
            )
        )
    return done.rowcount > 0


def _settle(conn: Connection, case_id: int, n: int, t: float) -> str:
    """Decide the case once it holds ``n`` verdicts; return its status."""
    row = conn.execute(_STATUS, {"c_id": case_id}).first()
    if row.adjudicated_by is not None:
        return row.status
    votes = conn.execute(_VOTES, {"c_id": case_id}).scalars().all()
    if len(votes) < n:
        status, final = "open", None
    else:
        final = decide(list(votes))
        status = "disputed" if final == "disputed" else "done"
        final = None if final == "disputed" else final
    conn.execute(_SET_CASE, {"c_id": case_id, "st": status, "fin": final,
                             "dec": t if final else None})
    return status


def submit_verdict(
    engine: Engine,
    user: User,
    case_id: int,
    verdict: str,
    comment: str = "",
    *,
    reviews_per_case: int = 1,
    then_next: bool = False,
    lease_seconds: float = LEASE_SECONDS,
) -> dict[str, Any]:
    """Record ``user``'s verdict on a case they hold a lease on.

    With ``then_next``, the next case is leased in the same transaction (one round trip per
    case for API clients).

    Returns
    -------
    dict
        ``stored`` (True for a new verdict, False for a repeat of the same one), ``changed``
        (an earlier, different verdict was replaced), ``status`` of the case, and with
        ``then_next`` the ``next`` case id (None when the queue holds nothing more).

    Raises
    ------
    ReviewError
        For a verdict not in :data:`VERDICTS` or a comment over 5000 characters.
    LeaseError
        If the case is not leased to the user (never, or expired and taken over).

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
    >>> from fnguard.serve.auth import add_user
    >>> from fnguard.serve.queue import enqueue
    >>> _ = enqueue(engine, guard, frame, guard.predict(frame), capacity=2)
    >>> ann = add_user(engine, "ann", "password-ann")
    >>> case = lease_next(engine, ann)
    >>> submit_verdict(engine, ann, case, "positive", then_next=True)
    {'stored': True, 'changed': False, 'status': 'done', 'next': 2}
    >>> submit_verdict(engine, ann, case, "positive")  # sent twice: stored once
    {'stored': False, 'changed': False, 'status': 'done'}
    """
    n = _check_n(reviews_per_case)
    comment = _check_verdict(verdict, comment)
    with write(engine) as conn:
        return _verdict_in(conn, user, case_id, verdict, comment, n, then_next, lease_seconds)


def _check_verdict(verdict: Any, comment: Any) -> str:
    if verdict not in VERDICTS:
        raise ReviewError(
            f"A verdict must be one of {', '.join(VERDICTS)}. Got {verdict!r} instead."
        )
    comment = (comment or "").strip()
    if len(comment) > 5000:
        raise ReviewError(f"The comment has {len(comment)} characters: keep it under 5000.")
    return comment


def _verdict_in(
    conn: Connection, user: User, case_id: int, verdict: str, comment: str, n: int,
    then_next: bool, lease_seconds: float,
) -> dict[str, Any]:
    out = _verdict(conn, user, case_id, verdict, comment, n)
    if then_next:
        out["next"] = _lease(conn, user, n, lease_seconds, None)
    return out


def _verdict(
    conn: Connection, user: User, case_id: int, verdict: str, comment: str, n: int
) -> dict[str, Any]:
    t = now()
    case = conn.execute(_STATUS, {"c_id": case_id}).first()
    if case is None:
        raise CaseNotFound(f"There is no case {case_id} in the review queue.")
    mine = conn.execute(_MINE, {"c_id": case_id, "u_id": user.id}).first()
    if case.adjudicated_by is not None and not (
        mine is not None and mine.id is not None and mine.verdict == verdict
        and mine.comment == comment
    ):
        raise LeaseError(
            f"Case {case_id} was decided by an admin: its verdicts can no longer change. "
            "Take the next case from the queue."
        )
    if mine is None:
        raise LeaseError(
            f"Case {case_id} is not leased to {user.name}: its lease expired and another "
            "reviewer took it, or it was never yours. Take the next case from the queue."
        )
    if mine.id is not None and mine.verdict == verdict and mine.comment == comment:
        status = conn.execute(_STATUS, {"c_id": case_id}).first().status
        return {"stored": False, "changed": False, "status": status}
    if case.status == "disputed" and mine.id is not None:
        # the reviewers disagreed: an admin decides (a reviewer who changed sides settled it)
        raise LeaseError(
            f"Case {case_id} is disputed: its verdicts can no longer change, an admin decides "
            "it. Take the next case from the queue."
        )
    if mine.id is None:
        conn.execute(verdicts.insert(), {"case_id": case_id, "user_id": user.id,
                                         "verdict": verdict, "comment": comment,
                                         "created": t, "updated": t})
    else:
        conn.execute(_CHANGE_VERDICT, {"v_id": mine.id, "v": verdict, "note": comment, "t": t})
    if mine.state != "done":
        conn.execute(_DONE, {"c_id": case_id, "u_id": user.id})
    status = _settle(conn, case_id, n, t)
    return {"stored": mine.id is None, "changed": mine.id is not None, "status": status}


def adjudicate(engine: Engine, admin: User, case_id: int, label: str) -> None:
    """An admin's final label for a case (disputed or not); it overrides the verdicts."""
    if not admin.is_admin:
        raise ReviewError(f"{admin.name} is not an admin: only admins adjudicate.")
    if label not in VERDICTS:
        raise ReviewError(f"A label must be one of {', '.join(VERDICTS)}. Got {label!r} instead.")
    with write(engine) as conn:
        done = conn.execute(
            cases.update()
            .where(cases.c.id == case_id)
            .values(status="done", final=label, adjudicated_by=admin.id, decided=now())
        )
    if done.rowcount == 0:
        raise ReviewError(f"There is no case {case_id} in the review queue.")


def case_for(engine: Engine, user: User, case_id: int) -> dict[str, Any]:
    """A case as ``user`` may see it, with its verdicts (all for admins, theirs otherwise).

    Raises
    ------
    ReviewError
        If there is no such case.
    LeaseError
        If a reviewer holds neither a lease on it nor a verdict for it.
    """
    with read(engine) as conn:
        row = conn.execute(sa.select(cases).where(cases.c.id == case_id)).first()
        if row is None:
            raise ReviewError(f"There is no case {case_id} in the review queue.")
        mine = conn.execute(
            sa.select(assignments.c.state, assignments.c.lease_until).where(
                assignments.c.case_id == case_id, assignments.c.user_id == user.id
            )
        ).first()
        if mine is None and not user.is_admin:
            raise LeaseError(f"Case {case_id} is not leased to {user.name}.")
        query = (
            sa.select(verdicts.c.verdict, verdicts.c.comment, verdicts.c.updated, users.c.name)
            .join(users, users.c.id == verdicts.c.user_id)
            .where(verdicts.c.case_id == case_id)
            .order_by(verdicts.c.created)
        )
        if not user.is_admin:
            query = query.where(verdicts.c.user_id == user.id)
        votes = [dict(v._mapping) for v in conn.execute(query)]
    out = dict(row._mapping)
    out["verdicts"] = votes
    out["lease"] = None if mine is None else dict(mine._mapping)
    out["my_verdict"] = next((v for v in votes if v["name"] == user.name), None)
    return out


def summary_votes(conn: Connection) -> dict[int, Counter]:
    """Case id to the count of each verdict (for agreement and the dashboard)."""
    out: dict[int, Counter] = {}
    for case_id, verdict in conn.execute(sa.select(verdicts.c.case_id, verdicts.c.verdict)):
        out.setdefault(case_id, Counter())[verdict] += 1
    return out


def queue_rows(engine: Engine, *, limit: int = 50, status: str = "open") -> list[dict[str, Any]]:
    """The first cases of the queue in the order they are leased (or the disputed ones)."""
    with read(engine) as conn:
        rows = conn.execute(
            sa.select(
                cases.c.id, cases.c.key, cases.c.score, cases.c.priority, cases.c.audit,
                cases.c.status, cases.c.decision,
            )
            .where(cases.c.status == status)
            .order_by(cases.c.audit.desc(), cases.c.sort_key.desc(), cases.c.id)
            .limit(limit)
        ).all()
    return [dict(r._mapping) for r in rows]
