"""Tests of ``fnguard predict --review-db``: what is enqueued, ids, duplicates, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from fnguard.cli import main
from fnguard.data import datasets
from fnguard.decide.review import parse_capacity
from fnguard.guard import Guard
from fnguard.levers import build
from fnguard.serve.queue import case_keys
from fnguard.serve.status import review_status
from fnguard.serve.store import batches, cases, open_store, read

pytestmark = pytest.mark.filterwarnings("ignore::fnguard.errors.FnguardWarning")


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Guard]:
    """A Guard folder (logistic regression on 1,000 loans) and 3,000 new loans as CSV."""
    data = datasets.load_lending_club()
    pipe = build(["logistic"], data.schema).fit(data.X.iloc[:1000], data.y[:1000])
    guard = Guard(pipe, data.schema, data.target, data.positive, data.negative,
                  "recall>=0.9", threshold=0.07, review_band=(0.07, 0.1))
    folder = tmp_path_factory.mktemp("predict-review")
    guard.save(folder / "guard", report=False)
    new = data.X.iloc[1000:4000].reset_index(drop=True)
    new.insert(0, "loan", [f"L{i}" for i in range(1000, 4000)])
    new.to_csv(folder / "new.csv", index=False)
    return folder / "guard", folder / "new.csv", guard


def _run(capsys, *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _cases(db: Path) -> pd.DataFrame:
    with read(open_store(db)) as conn:
        return pd.DataFrame([dict(r._mapping) for r in conn.execute(sa.select(cases))])


@pytest.mark.parametrize("capacity", ["40", "2%"])
def test_band_up_to_capacity_by_score(capacity: str, saved, tmp_path: Path, capsys) -> None:
    """Check that the enqueued band cases are the highest band scores of the written file, as
    many as the capacity (a count, or a share of the rows), and the JSON counts say so."""
    guard_dir, data, _ = saved
    db, out = tmp_path / "review.sqlite", tmp_path / "p.parquet"
    code, stdout, err = _run(capsys, "predict", guard_dir, data, "--out", out, "--review-db", db,
                             "--review-capacity", capacity, "--id-column", "loan",
                             "--keep", "loan", "--chunk-size", "400", "--json")
    assert code == 0, err
    queue = json.loads(stdout)["queue"]
    written = pd.read_parquet(out)
    band = written[written["review"]].sort_values("score", ascending=False, kind="stable")
    cap = parse_capacity(capacity, len(written))
    assert cap < len(band)
    got = _cases(db)
    assert set(got["key"]) == {f"id:{loan}" for loan in band["loan"].iloc[:cap]}
    assert queue["enqueued"] == queue["review"] == cap == queue["capacity"]
    assert queue["band"] == len(band) and queue["left_out"] == len(band) - cap
    assert queue["audit"] == 0 and queue["audit_asked"] is None and queue["duplicates"] == 0
    assert (got["decision"] == "review").all() and not got["audit"].any()


def test_audit_size_and_only_confident_negatives(saved, tmp_path: Path, capsys) -> None:
    """Check that --audit 1% enqueues 1% of the rows, all auto-negatives, and that the batch
    records the file's rows and auto-negatives (the base of the miss-rate estimate)."""
    guard_dir, data, guard = saved
    db, out = tmp_path / "review.sqlite", tmp_path / "p.csv"
    code, stdout, err = _run(capsys, "predict", guard_dir, data, "--out", out, "--review-db", db,
                             "--review-capacity", "10", "--audit", "1%", "--chunk-size", "256",
                             "--json")
    assert code == 0, err
    queue = json.loads(stdout)["queue"]
    written = pd.read_csv(out)
    negatives = int(((written["decision"] == 0) & ~written["review"]).sum())
    got = _cases(db)
    audit = got[got["audit"]]
    assert len(audit) == queue["audit"] == queue["audit_asked"] == 30  # 1% of 3,000
    assert (audit["decision"] == "auto_negative").all()
    assert (audit["score"] < guard.threshold).all()
    assert len(got) - len(audit) == 10
    status = review_status(db)
    assert status["audit"]["auto_negative"] == negatives == queue["auto_negative"]
    assert status["batches"][0]["rows"] == 3000 and status["batches"][0]["name"] == "new.csv"
    with read(open_store(db)) as conn:
        assert conn.execute(sa.select(batches.c.n_rows)).scalar() == 3000


def test_rerun_adds_no_duplicates(saved, tmp_path: Path, capsys) -> None:
    """Check that running the same batch again, even in other chunks, enqueues nothing and
    reports the cases as duplicates, in JSON and in the Rich table."""
    guard_dir, data, _ = saved
    db = tmp_path / "review.sqlite"
    args = ["predict", guard_dir, data, "--out", tmp_path / "p.parquet", "--review-db", db,
            "--review-capacity", "25", "--audit", "15"]
    code, stdout, err = _run(capsys, *args, "--json")
    assert code == 0, err
    first = json.loads(stdout)["queue"]
    assert first["enqueued"] == 40 and first["review"] == 25 and first["audit"] == 15
    code, stdout, err = _run(capsys, *args, "--chunk-size", "333", "--json")
    again = json.loads(stdout)["queue"]
    assert code == 0 and again["enqueued"] == 0 and again["duplicates"] == 40
    assert len(_cases(db)) == 40 and len(review_status(db)["batches"]) == 1
    code, stdout, err = _run(capsys, *args)
    assert code == 0, err
    text = " ".join(stdout.split())
    for words in ("enqueued for review", "already queued (duplicates)", "audit of auto-negatives",
                  "capacity 25"):
        assert words in text, words
    assert re.search(r"already queued \(duplicates\) . 40", text)


def test_id_column_or_row_hash(saved, tmp_path: Path, capsys) -> None:
    """Check that cases are keyed by --id-column's values, else by queue.case_keys of the row
    as the whole file reads it."""
    guard_dir, data, _ = saved
    whole = pd.read_csv(data)
    for id_column, db in (("loan", tmp_path / "ids.sqlite"), (None, tmp_path / "rows.sqlite")):
        extra = [] if id_column is None else ["--id-column", id_column]
        code, _, err = _run(capsys, "predict", guard_dir, data, "--out", tmp_path / "p.parquet",
                            "--review-db", db, "--review-capacity", "20", "--audit", "5",
                            "--chunk-size", "500", *extra)
        assert code == 0, err
        rows = pd.read_parquet(tmp_path / "p.parquet")
        got = _cases(db)
        values = [json.loads(v) for v in got["values"]]
        positions = whole.index[whole["loan"].isin([v["loan"] for v in values])]
        assert len(positions) == 25
        assert set(got["key"]) == set(case_keys(whole.loc[positions], id_column))
        assert set(got["score"].round(12)) == set(rows.loc[positions, "score"].round(12))
    assert _cases(tmp_path / "ids.sqlite")["key"].str.startswith("id:L").all()
    assert _cases(tmp_path / "rows.sqlite")["key"].str.startswith("row:").all()


def _other_guard(tmp_path: Path) -> Path:
    """A Guard on the loans without 'int_rate', its cases queued in other.sqlite."""
    data = datasets.load_lending_club()
    X = data.X.drop(columns="int_rate").iloc[:600]
    schema = type(data.schema)(tuple(c for c in data.schema.columns if c.name != "int_rate"),
                               data.schema.target, data.schema.positive, data.schema.negative)
    guard = Guard(build(["logistic"], schema).fit(X, data.y[:600]), schema, data.target,
                  data.positive, data.negative, "recall>=0.9", 0.05, (0.05, 0.1))
    from fnguard.serve.queue import enqueue

    enqueue(tmp_path / "other.sqlite", guard, X, guard.predict(X), capacity=5, explain=False)
    return tmp_path / "other.sqlite"


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("audit-without-db", r"--audit and --id-column .* give --review-db"),
        ("bad-capacity", r"review capacity must be a count .* Got 'lots'"),
        ("bad-audit", r"audit sample must be a count .* Got '300%'"),
        ("not-a-database", r"cannot be read .* not a SQLite file"),
        ("no-folder", r"cannot be created: its folder .* does not exist"),
        ("other-schema", r"does not match the cases in the review queue .*int_rate"),
        ("other-version", r"schema version 99"),
        ("no-id-column", r"id column 'loan_no' is not in the input .* Did you mean 'loan'\?"),
    ],
)
def test_bad_input_exits_2(case: str, match: str, saved, tmp_path: Path, capsys) -> None:
    """Check exit 2 with one red line and no traceback, and that a bad database or option
    is refused before any prediction is written."""
    guard_dir, data, _ = saved
    out, db = tmp_path / "p.csv", tmp_path / "review.sqlite"
    extra: list[object] = []
    if case == "audit-without-db":
        args = ["predict", guard_dir, data, "--out", out, "--audit", "1%"]
    else:
        if case == "bad-capacity":
            extra = ["--review-capacity", "lots"]
        elif case == "bad-audit":
            extra = ["--audit", "300%"]
        elif case == "not-a-database":
            db.write_text("not a database\n" * 100)
        elif case == "no-folder":
            db = tmp_path / "absent" / "review.sqlite"
        elif case == "other-schema":
            db = _other_guard(tmp_path)
        elif case == "other-version":
            open_store(db, create=True)
            with sa.create_engine(f"sqlite:///{db}").begin() as conn:
                conn.execute(sa.text("UPDATE meta SET value = '99'"))
        else:
            extra = ["--id-column", "loan_no"]
        args = ["predict", guard_dir, data, "--out", out, "--review-db", db, *extra]
    code, _, err = _run(capsys, *args)
    assert code == 2
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("error:")
    assert re.search(match, " ".join(err.split())), err
    assert not out.exists()
    if case in ("no-folder", "bad-capacity", "bad-audit", "no-id-column"):
        assert not db.exists()
