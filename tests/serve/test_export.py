"""Tests of the labels export and import: values, reviewed label, refusals."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sqlalchemy as sa

from fnguard.errors import DataError, OutputError
from fnguard.serve.auth import add_user
from fnguard.serve.export import export_labels, import_labels, reviewed_labels
from fnguard.serve.leases import case_for, lease_next, submit_verdict
from fnguard.serve.queue import enqueue
from fnguard.serve.store import ReviewError, cases, open_store, read


def test_export_holds_values_and_reviewed_label(guard, batch, lending, tmp_path):
    """Check that each exported row is the case's values with the reviewed label as target."""
    frame, pred = batch
    frame = frame.assign(Class=lending.y[3000:6000])  # a stored label the review overrides
    engine = open_store("sqlite://", create=True)
    enqueue(engine, guard, frame, pred, capacity=10, explain=False)
    ann = add_user(engine, "ann", "password-ann")
    said = {}
    for verdict in ("positive", "negative", "unsure", "negative"):
        case = lease_next(engine, ann)
        submit_verdict(engine, ann, case, verdict)
        said[case_for(engine, ann, case)["key"]] = verdict
    table = reviewed_labels(engine)
    assert dict(zip(table["review_case_id"], table["review_verdict"], strict=True)) == said
    labels = {"positive": "bad", "negative": "good", "unsure": None}
    got = [None if pd.isna(v) else v for v in table["Class"]]
    assert got == [labels[v] for v in table["review_verdict"]]
    with read(engine) as conn:
        stored = {r.key: json.loads(r.values) for r in conn.execute(sa.select(cases))}
    for _, row in table.iterrows():
        values = stored[row["review_case_id"]]
        assert row["review_stored_label"] == values["Class"]
        assert row["int_rate"] == values["int_rate"] and row["term"] == values["term"]
    assert len(reviewed_labels(engine, include_unsure=False)) == 3
    doc = export_labels(engine, tmp_path / "labels.csv")
    assert doc["rows"] == 4 and doc["negative"] == 2
    assert len(pd.read_csv(tmp_path / "labels.csv")) == 4
    # the format follows the suffix (a .parquet name held CSV text)
    export_labels(engine, tmp_path / "labels.parquet")
    as_parquet = pd.read_parquet(tmp_path / "labels.parquet")
    assert as_parquet["review_case_id"].tolist() == table["review_case_id"].tolist()
    with pytest.raises(OutputError, match=r"unsupported extension \(\.xlsx\): end it with "
                       r"\.parquet, \.pq, \.csv, \.csv\.gz"):
        export_labels(engine, tmp_path / "labels.xlsx")


def test_import_refuses_unknown_ids_and_non_admins(queued, tmp_path):
    """Check that an import with an unknown case id, or by a reviewer, changes nothing."""
    add_user(queued, "ann", "password-ann")
    add_user(queued, "root", "password-root", role="admin")
    with read(queued) as conn:
        keys = conn.execute(sa.select(cases.c.key).limit(2)).scalars().all()
    path = tmp_path / "labels.csv"
    pd.DataFrame({"review_case_id": [*keys, "row:nope"],
                  "review_verdict": ["positive", "negative", "negative"]}).to_csv(path)
    with pytest.raises(DataError, match=r"1 case id.*'row:nope'"):
        import_labels(queued, path, user="root")
    with pytest.raises(ReviewError, match="not an admin"):
        import_labels(queued, path, user="ann")
    assert reviewed_labels(queued).empty
    pd.DataFrame({"review_case_id": keys, "review_verdict": ["positive", "maybe"]}).to_csv(path)
    with pytest.raises(DataError, match="maybe"):
        import_labels(queued, path, user="root")
    twice = {"review_case_id": [keys[0], keys[0]], "review_verdict": ["positive", "negative"]}
    pd.DataFrame(twice).to_csv(path)
    with pytest.raises(DataError, match=r"gives 1 case\(s\) more than one verdict"):
        import_labels(queued, path, user="root")
    assert reviewed_labels(queued).empty
    pd.DataFrame({"review_case_id": keys, "review_verdict": ["positive", "unsure"]}).to_csv(path)
    assert import_labels(queued, path, user="root") == {"labels": 2}
    assert sorted(reviewed_labels(queued)["review_verdict"]) == ["positive", "unsure"]
