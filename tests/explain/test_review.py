"""Tests of fnguard.explain.review: suspected label errors into a Guard's review queue."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from fnguard.errors import DataError
from fnguard.explain.labels import find_label_issues
from fnguard.explain.review import enqueue_label_issues

pytest.importorskip("fnguard.serve.queue")


def test_every_suspect_is_enqueued_once(noisy_digits, tmp_path: Path) -> None:
    """Check that each suspected row becomes one case, and a second run adds none."""
    from fnguard.guard import Guard
    from fnguard.levers import build
    from fnguard.serve.store import cases, open_store

    data, _, _ = noisy_digits
    pipe = build(["scale:standard", "logistic"], data.schema).fit(data.X, data.y)
    guard = Guard(pipe, data.schema, "is_9", True, False, "recall>=0.9", threshold=0.5)
    scores = guard.score(data.X)
    issues = find_label_issues(data.y, np.clip(scores, 0, 1))
    assert len(issues) > 0
    db = tmp_path / "review.sqlite"
    first = enqueue_label_issues(db, guard, data.X, issues, explain=False)
    assert first["enqueued"] == len(issues) and first["duplicates"] == 0
    again = enqueue_label_issues(db, guard, data.X, issues, explain=False)
    assert again["enqueued"] == 0 and again["duplicates"] == len(issues)
    with open_store(db).connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(cases)).scalar() == len(issues)


def test_needs_a_guard(noisy_digits, tmp_path: Path) -> None:
    """Check that a plain model or rows outside the table are refused."""
    data, _, _ = noisy_digits
    issues = find_label_issues(data.y, np.where(data.y, 0.9, 0.1))
    with pytest.raises(DataError, match="holds cases of a Guard"):
        enqueue_label_issues(tmp_path / "db.sqlite", object(), data.X, issues)
