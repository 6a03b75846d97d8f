"""Tests of enqueueing: which cases, stable ids, no duplicates, audit sample, contributions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from fnguard.errors import DataError
from fnguard.serve.queue import case_keys, check_guard, contributions, enqueue
from fnguard.serve.store import ReviewError, cases, open_store, read

from .conftest import make_guard


def _cases(engine):
    with read(engine) as conn:
        return pd.DataFrame([dict(r._mapping) for r in conn.execute(sa.select(cases))])


def test_the_same_rows_keyed_another_way_are_refused(guard, batch):
    """Check that rows queued before keyed by an id column are refused when queued again
    keyed by a hash of each row (and the reverse): every case was queued twice."""
    frame, pred = batch
    with_ids = frame.assign(case=[f"C{i}" for i in range(len(frame))])
    engine = open_store("sqlite://", create=True)
    enqueue(engine, guard, with_ids, pred, capacity=25, id_column="case", explain=False,
            digest="the same file")
    with pytest.raises(ReviewError, match=r"keyed by an id column, and now by a hash of each "
                       r"row.*with the same --id-column"):
        enqueue(engine, guard, with_ids, pred, capacity=25, explain=False, digest="the same file")
    assert len(_cases(engine)) == 25
    again = enqueue(engine, guard, with_ids, pred, capacity=25, id_column="case",
                    explain=False, digest="the same file")
    assert again["enqueued"] == 0


def test_band_by_score_up_to_capacity(guard, batch):
    """Check that the enqueued band cases are the highest-scoring band rows, up to capacity."""
    frame, pred = batch
    engine = open_store("sqlite://", create=True)
    out = enqueue(engine, guard, frame, pred, capacity="1%", explain=False)
    band = pred.index[pred["review"]]
    top = pred.loc[band, "score"].sort_values(ascending=False).index[:30]
    expected = set(case_keys(frame.loc[top]))
    got = _cases(engine)
    assert out["capacity"] == 30 and out["review"] == 30 and out["band"] == len(band)
    assert set(got["key"]) == expected
    assert got["priority"].tolist() == got["score"].tolist()
    assert (got["decision"] == "review").all()


def test_rerun_adds_no_duplicates(guard, batch):
    """Check that enqueueing the same batch twice adds nothing and records one batch."""
    frame, pred = batch
    engine = open_store("sqlite://", create=True)
    first = enqueue(engine, guard, frame, pred, capacity=25, audit=5, explain=False)
    again = enqueue(engine, guard, frame, pred, capacity=25, audit=5, explain=False)
    assert first["enqueued"] == 30 and again["enqueued"] == 0 and again["duplicates"] == 30
    assert len(_cases(engine)) == 30
    # The same rows in another column order and index are the same cases.
    shuffled = frame[frame.columns[::-1]].set_index(frame.index + 1000)
    third = enqueue(engine, guard, shuffled, pred.set_index(shuffled.index), capacity=25,
                    explain=False)
    assert third["enqueued"] == 0


def test_id_column(guard, batch):
    """Check that an id column keys the cases, and that repeated or missing ids are refused."""
    frame, pred = batch
    frame = frame.assign(loan=[f"L{i}" for i in range(len(frame))])
    engine = open_store("sqlite://", create=True)
    enqueue(engine, guard, frame, pred, capacity=5, id_column="loan", explain=False)
    keys = set(_cases(engine)["key"])
    top = pred["score"].where(pred["review"]).sort_values(ascending=False).index[:5]
    assert keys == {f"id:L{i}" for i in top}
    repeated = frame.assign(loan="same")
    with pytest.raises(DataError, match="repeats ids"):
        enqueue(engine, guard, repeated, pred, capacity=5, id_column="loan")
    with pytest.raises(DataError, match="not in the data"):
        enqueue(engine, guard, frame, pred, capacity=5, id_column="nope")
    missing = frame.assign(loan=[None, *frame["loan"][1:]])
    with pytest.raises(DataError, match="missing values"):
        enqueue(engine, guard, missing, pred, capacity=5, id_column="loan")


def test_audit_is_random_auto_negatives_first_in_queue(guard, batch):
    """Check that the audit sample holds only auto-negatives and comes first, in random order."""
    frame, pred = batch
    engine = open_store("sqlite://", create=True)
    out = enqueue(engine, guard, frame, pred, capacity=10, audit="1%", explain=False, seed=3)
    got = _cases(engine)
    audit = got[got["audit"]]
    assert out["audit"] == len(audit) == 30
    assert (audit["score"] < guard.threshold).all()
    assert (audit["decision"] == "auto_negative").all()
    from fnguard.serve.leases import queue_rows

    order = queue_rows(engine, limit=40)
    assert [r["audit"] for r in order] == [True] * 30 + [False] * 10
    audit_scores = [r["score"] for r in order[:30]]
    assert audit_scores != sorted(audit_scores, reverse=True)  # not by score
    # Another seed draws another sample.
    other = open_store("sqlite://", create=True)
    enqueue(other, guard, frame, pred, capacity=10, audit="1%", explain=False, seed=4)
    assert set(_cases(other)["key"]) != set(got["key"])


def test_contributions_are_occlusion(guard, batch):
    """Check that each stored contribution is the score change with the feature at its median."""
    frame, _ = batch
    rows = np.array([3, 50])
    got = contributions(guard, frame, rows)
    X = guard.schema.check(frame)
    for i, row in zip(rows, got, strict=True):
        base = guard.score(X.iloc[[i]])[0]
        for name in ("int_rate", "annual_inc"):
            changed = X.iloc[[i]].copy()
            changed[name] = X[name].median()
            assert row[name] == pytest.approx(base - guard.score(changed)[0], abs=1e-6)
        # A categorical column goes to its most frequent training level.
        changed = X.iloc[[i]].copy()
        changed["term"] = guard.schema["term"].categories[0]
        assert row["term"] == pytest.approx(base - guard.score(changed)[0], abs=1e-6)


def test_values_kept_as_json(guard, batch):
    """Check that every column of the row is stored, missing values as null."""
    frame, pred = batch
    frame = frame.assign(note="hello")
    frame.loc[:, "annual_inc"] = np.nan
    engine = open_store("sqlite://", create=True)
    enqueue(engine, guard, frame, pred, capacity=2)
    import json

    values = json.loads(_cases(engine)["values"].iloc[0])
    assert values["note"] == "hello" and values["annual_inc"] is None
    assert set(values) == set(frame.columns)


@pytest.mark.filterwarnings("ignore::fnguard.errors.FnguardWarning")
def test_other_schema_refused(guard, lending, batch):
    """Check that a Guard with other columns is refused by a queue of another Guard's cases."""
    frame, pred = batch
    engine = open_store("sqlite://", create=True)
    enqueue(engine, guard, frame, pred, capacity=3, explain=False)
    data = lending
    narrow = data.__class__(**{**data.__dict__, "X": data.X.drop(columns=["int_rate"]),
                               "schema": type(data.schema)(
                                   tuple(c for c in data.schema.columns if c.name != "int_rate"),
                                   data.schema.target, data.schema.positive,
                                   data.schema.negative)})
    other = make_guard(narrow, rows=500)
    with pytest.raises(ReviewError, match=r"does not match.*int_rate"):
        check_guard(engine, other)
    with pytest.raises(ReviewError, match="does not match"):
        enqueue(engine, other, frame, other.predict(frame), capacity=3)
    # A Guard refitted on the same columns may serve the queue.
    assert check_guard(engine, make_guard(data, rows=800))


@pytest.mark.parametrize(
    ("change", "kwargs", "match"),
    [
        (lambda p: p.iloc[:-1], {}, "rows but the data has"),
        (lambda p: p.drop(columns=["score"]), {}, "lack a 'score'"),
        (lambda p: p.drop(columns=["review"]), {}, "lack a 'review'"),
        (lambda p: p, {"capacity": "200%"}, "review capacity"),
        (lambda p: p, {"audit": -3}, r"audit sample \(--audit\) must be >= 0"),
    ],
)
def test_bad_input(guard, batch, change, kwargs, match):
    """Check that mismatched predictions and bad capacities are refused before writing."""
    frame, pred = batch
    engine = open_store("sqlite://", create=True)
    with pytest.raises(DataError, match=match):
        enqueue(engine, guard, frame, change(pred), **kwargs)
    assert _cases(engine).empty


def test_creates_a_file_database(guard, batch, tmp_path):
    """Check that enqueue creates the database file when it does not exist."""
    frame, pred = batch
    out = enqueue(tmp_path / "new.sqlite", guard, frame, pred, capacity=3, explain=False)
    assert out["enqueued"] == 3 and (tmp_path / "new.sqlite").exists()


def test_case_keys_do_not_depend_on_whole_numbers_read_as_floats() -> None:
    """Check that a file whose integer column read as floats (one blank elsewhere in it) keys
    the same rows as a file that read them as integers, by id and by row hash (the same
    cases were queued again)."""
    ints = pd.DataFrame({"id": [514, 515, 516], "n": [3, 4, 5], "x": [0.5, 1.5, 2.0]})
    floats = ints.astype({"id": float, "n": float})
    assert case_keys(floats, "id") == case_keys(ints, "id") == ["id:514", "id:515", "id:516"]
    assert case_keys(floats) == case_keys(ints)
    assert case_keys(ints.assign(x=[0.5, 1.5, 2.5])) != case_keys(ints)


def test_columns_the_export_uses_are_refused_when_queueing(guard, batch) -> None:
    """Check that a data column named like an export column ('review_score') is refused when
    the cases are queued (the export refused the whole database later)."""
    frame, pred = batch
    engine = open_store("sqlite://", create=True)
    with pytest.raises(DataError, match=r"'review_score'.*kept for the review export"):
        enqueue(engine, guard, frame.assign(review_score=1.0), pred, capacity=10,
                explain=False)
    assert _cases(engine).empty
