"""Tests of the dashboard numbers: progress, misses caught, the audit estimate, the warning."""

from __future__ import annotations

import pytest

from fnguard.metrics.intervals import wilson_interval
from fnguard.serve.auth import add_user
from fnguard.serve.leases import case_for, lease_next, submit_verdict
from fnguard.serve.queue import enqueue
from fnguard.serve.status import VERIFICATION_BIAS, review_status
from fnguard.serve.store import open_store


def test_verification_bias_warning_without_audit(guard, batch):
    """Check that a queue without audit says that misses among auto-negatives go unseen."""
    frame, pred = batch
    engine = open_store("sqlite://", create=True)
    enqueue(engine, guard, frame, pred, capacity=5, explain=False)
    status = review_status(engine)
    assert status["warnings"] == [VERIFICATION_BIAS]
    assert status["audit"]["miss_rate"] is None
    assert (status["cases"], status["open"], status["reviewed"]) == (5, 5, 0)


def test_counts_and_audit_estimate(queued):
    """Check the counts and that the audit's miss rate is k/n with the Wilson interval."""
    ann = add_user(queued, "ann", "password-ann")
    said = {"positive": 0, "negative": 0}
    band_positive = 0
    for i in range(20):
        case = lease_next(queued, ann)
        audit = case_for(queued, ann, case)["audit"]
        verdict = ("positive", "negative", "negative", "unsure")[i % 4]
        submit_verdict(queued, ann, case, verdict)
        if audit and verdict != "unsure":
            said[verdict] += 1
        band_positive += (not audit) and verdict == "positive"
    status = review_status(queued)
    assert status["reviewed"] == 20 and status["open"] == 30 and status["verdicts"] == 20
    audit = status["audit"]
    assert audit["cases"] == 10 and audit["reviewed"] == 10
    k, n = said["positive"], said["positive"] + said["negative"]
    low, high = wilson_interval(k, n)
    assert audit["miss_rate"] == pytest.approx(k / n)
    assert audit["low"] == pytest.approx(low, abs=1e-6)
    assert audit["high"] == pytest.approx(high, abs=1e-6)
    assert audit["expected_misses"] == pytest.approx(k / n * audit["auto_negative"])
    assert status["misses_caught"] == k + band_positive
    assert status["band"]["positive"] == band_positive
    assert status["warnings"] == []
    assert status["reviewers"] == {"ann": 20}
