"""Tests of leases and verdicts: one reviewer per slot, expiry, N verdicts, adjudication."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from fnguard.serve.auth import add_user
from fnguard.serve.leases import (
    CaseNotFound,
    LeaseError,
    adjudicate,
    case_for,
    lease_next,
    queue_rows,
    release,
    submit_verdict,
)
from fnguard.serve.store import ReviewError, cases, open_store, read, verdicts


def _people(engine, *names, role="reviewer"):
    return [add_user(engine, n, f"password-{n}", role=role) for n in names]


def test_queue_order_and_one_lease_per_case(queued):
    """Check that cases are leased in queue order and never to two reviewers when N is 1."""
    ann, bob = _people(queued, "ann", "bob")
    order = [r["id"] for r in queue_rows(queued, limit=100)]
    a = lease_next(queued, ann)
    b = lease_next(queued, bob)
    assert (a, b) == (order[0], order[1])
    assert lease_next(queued, ann) == a  # the same live lease again
    with pytest.raises(LeaseError):
        submit_verdict(queued, bob, a, "positive")
    with pytest.raises(LeaseError):
        case_for(queued, bob, a)


def test_expired_lease_is_taken_over(queued):
    """Check that an expired lease goes to another reviewer and the late verdict is refused."""
    ann, bob = _people(queued, "ann", "bob")
    a = lease_next(queued, ann, lease_seconds=-1)
    assert lease_next(queued, bob) == a
    with pytest.raises(LeaseError, match="expired"):
        submit_verdict(queued, ann, a, "negative")
    assert submit_verdict(queued, bob, a, "negative")["status"] == "done"


def test_expired_but_untaken_lease_still_counts(queued):
    """Check that a verdict on an expired lease nobody took over is accepted."""
    (ann,) = _people(queued, "ann")
    a = lease_next(queued, ann, lease_seconds=-1)
    assert submit_verdict(queued, ann, a, "positive")["stored"]


def test_double_submission_stored_once(queued):
    """Check that the same verdict sent twice is one row, and a changed one replaces it."""
    (ann,) = _people(queued, "ann")
    a = lease_next(queued, ann)
    assert submit_verdict(queued, ann, a, "positive", "looks bad")["stored"]
    assert not submit_verdict(queued, ann, a, "positive", "looks bad")["stored"]
    changed = submit_verdict(queued, ann, a, "negative", "no, fine")
    assert changed["changed"] and not changed["stored"]
    with read(queued) as conn:
        rows = conn.execute(sa.select(verdicts)).all()
        final = conn.execute(sa.select(cases.c.final).where(cases.c.id == a)).scalar()
    assert len(rows) == 1 and rows[0].verdict == "negative" and final == "negative"


def test_n_verdicts_from_different_reviewers(queued):
    """Check that with N=2 two reviewers share a case, one reviewer never gets it twice."""
    ann, bob, cid = _people(queued, "ann", "bob", "cid")
    a = lease_next(queued, ann, reviews_per_case=2)
    assert lease_next(queued, bob, reviews_per_case=2) == a
    assert lease_next(queued, cid, reviews_per_case=2) != a  # both slots leased
    assert submit_verdict(queued, ann, a, "positive", reviews_per_case=2)["status"] == "open"
    nxt = lease_next(queued, ann, reviews_per_case=2)
    assert nxt != a
    assert submit_verdict(queued, bob, a, "negative", reviews_per_case=2)["status"] == "disputed"
    assert a in [r["id"] for r in queue_rows(queued, status="disputed")]
    # a disputed case goes to an admin: the second reviewer changing sides used to settle it
    with pytest.raises(LeaseError, match=f"Case {a} is disputed: .* an admin decides it"):
        submit_verdict(queued, bob, a, "positive", reviews_per_case=2)
    assert submit_verdict(queued, bob, a, "negative", reviews_per_case=2)["stored"] is False
    assert a in [r["id"] for r in queue_rows(queued, status="disputed")]


def test_adjudication_by_admin_only(queued):
    """Check that only an admin adjudicates, and that the admin's label is final."""
    ann, bob = _people(queued, "ann", "bob")
    (root,) = _people(queued, "root", role="admin")
    a = lease_next(queued, ann, reviews_per_case=2)
    lease_next(queued, bob, reviews_per_case=2)
    submit_verdict(queued, ann, a, "positive", reviews_per_case=2)
    submit_verdict(queued, bob, a, "negative", reviews_per_case=2)
    with pytest.raises(ReviewError, match="only admins"):
        adjudicate(queued, ann, a, "positive")
    seen = case_for(queued, root, a)
    assert {v["name"] for v in seen["verdicts"]} == {"ann", "bob"}
    assert [v["name"] for v in case_for(queued, ann, a)["verdicts"]] == ["ann"]
    adjudicate(queued, root, a, "positive")
    with read(queued) as conn:
        row = conn.execute(sa.select(cases).where(cases.c.id == a)).first()
    assert (row.status, row.final, row.adjudicated_by) == ("done", "positive", root.id)
    with pytest.raises(ReviewError, match="no case 99999"):
        adjudicate(queued, root, 99999, "negative")
    # the admin's decision is final: a reviewer's verdict cannot change after it
    with pytest.raises(LeaseError, match="was decided by an admin"):
        submit_verdict(queued, bob, a, "positive", reviews_per_case=2)
    assert submit_verdict(queued, bob, a, "negative", reviews_per_case=2)["stored"] is False
    with pytest.raises(CaseNotFound, match="There is no case 99999"):
        submit_verdict(queued, bob, 99999, "negative", reviews_per_case=2)


def test_skip_and_release(queued):
    """Check that skipping hands the next case and puts the skipped one back for others."""
    ann, bob = _people(queued, "ann", "bob")
    a = lease_next(queued, ann)
    b = lease_next(queued, ann, skip=a)
    assert b != a
    assert lease_next(queued, bob) == a
    assert release(queued, ann, b)
    assert not release(queued, ann, b)


def test_bad_verdicts(queued):
    """Check that an unknown verdict, a long comment and a bad N are refused."""
    (ann,) = _people(queued, "ann")
    a = lease_next(queued, ann)
    with pytest.raises(ReviewError, match="must be one of"):
        submit_verdict(queued, ann, a, "maybe")
    with pytest.raises(ReviewError, match="under 5000"):
        submit_verdict(queued, ann, a, "positive", "x" * 5001)
    with pytest.raises(ReviewError, match="reviews_per_case"):
        lease_next(queued, ann, reviews_per_case=0)


def test_empty_queue(guard):
    """Check that an empty queue leases nothing."""
    engine = open_store("sqlite://", create=True)
    (ann,) = _people(engine, "ann")
    assert lease_next(engine, ann) is None


def test_threads_never_share_a_case(guard, batch, tmp_path):
    """Check that 8 threads leasing and judging on a file database never share a case."""
    from fnguard.serve.queue import enqueue

    frame, pred = batch
    path = tmp_path / "r.sqlite"
    enqueue(path, guard, frame, pred, capacity=60, explain=False)
    engine = open_store(path)
    people = _people(engine, *[f"r{i}" for i in range(8)])
    taken: dict[int, list[str]] = {}
    lock = threading.Lock()

    def work(user):
        while (case := lease_next(engine, user)) is not None:
            with lock:
                taken.setdefault(case, []).append(user.name)
            submit_verdict(engine, user, case, "negative")

    threads = [threading.Thread(target=work, args=(u,)) for u in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(taken) == 60 and all(len(v) == 1 for v in taken.values())
    with read(engine) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(verdicts)).scalar() == 60
