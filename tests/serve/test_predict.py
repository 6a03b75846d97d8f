"""Tests of fnguard.serve.predict: chunked batch prediction of CSV and Parquet tables."""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fnguard.data import datasets, read_frame
from fnguard.errors import DataError, FnguardWarning, OutputError
from fnguard.guard import Guard
from fnguard.levers import build
from fnguard.serve import predict_file, predict_frame


@pytest.fixture(scope="module")
def loans_guard() -> tuple[Guard, pd.DataFrame]:
    """A small LightGBM Guard fitted on 1,500 loans, and 700 other loans with an id column."""
    data = datasets.load_lending_club()
    rows = np.random.default_rng(1).permutation(data.n_rows)
    train, new = rows[:1500], rows[1500:2200]
    pipe = build(["lightgbm"], data.schema, params={"lightgbm": {"n_estimators": 15}})
    pipe.fit(data.X.iloc[train], data.y[train])
    guard = Guard(pipe, data.schema, data.target, data.positive, data.negative,
                  "recall>=0.9", threshold=0.06, review_band=(0.06, 0.12))
    frame = data.X.iloc[new].reset_index(drop=True)
    frame.insert(0, "loan_id", [f"L{i:05d}" for i in new])
    return guard, frame


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.name.endswith((".parquet", ".pq")):
        frame.to_parquet(path, index=False)
    elif path.name.startswith("semicolons"):
        frame.to_csv(path, index=False, sep=";")
    else:
        frame.to_csv(path, index=False)
    return path


def _read(path: Path) -> pd.DataFrame:
    if path.suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    return pd.read_csv(path)


def _reference(guard: Guard, source: Path) -> pd.DataFrame:
    """Guard.predict on the whole input, read in one piece."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FnguardWarning)
        return guard.predict(read_frame(source))


@pytest.mark.parametrize(
    ("source_name", "out_name", "chunk_size"),
    [
        ("new.csv", "out.parquet", 64),
        ("new.csv", "out.csv", 1000),
        ("new.parquet", "out.csv", 100),
        ("new.parquet", "out.pq", 7),
        ("new.csv.gz", "out.csv.gz", 250),
        ("semicolons.csv", "out.csv", 300),
    ],
)
def test_chunked_output_equals_whole_frame_predict(
    source_name: str, out_name: str, chunk_size: int, loans_guard, tmp_path: Path
) -> None:
    """Check that chunked output equals Guard.predict on the whole table, in any format pair."""
    guard, frame = loans_guard
    source = _write(frame, tmp_path / source_name)
    out = tmp_path / out_name
    summary = predict_file(guard, source, out, chunk_size=chunk_size, keep=["loan_id"])
    got = _read(out)
    want = _reference(guard, source)
    assert got.columns.tolist() == ["row", "loan_id", "score", "decision", "label", "review"]
    np.testing.assert_array_equal(got["row"], np.arange(len(frame)))
    assert got["loan_id"].tolist() == frame["loan_id"].tolist()
    np.testing.assert_allclose(got["score"], want["score"], rtol=1e-12, atol=0)
    for column in ("decision", "label", "review"):
        assert got[column].tolist() == want[column].tolist(), column
    assert summary["rows"] == len(frame) and summary["output"] == str(out)
    assert summary["chunks"] == math.ceil(len(frame) / chunk_size)
    assert summary["positives"] == int(want["decision"].sum()) > 0
    assert summary["reviews"] == int(want["review"].sum()) > 0
    assert summary["seconds"] > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_parquet_folder_is_read_file_by_file(loans_guard, tmp_path: Path) -> None:
    """Check that a folder of Parquet files is scored in file order, rows numbered throughout."""
    guard, frame = loans_guard
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(frame)), 12)):  # part.2 < part.10
        frame.iloc[part].to_parquet(folder / f"part.{i}.parquet", index=False)
    predict_file(guard, folder, tmp_path / "out.parquet", chunk_size=100, keep="loan_id")
    got = pd.read_parquet(tmp_path / "out.parquet")
    assert got["loan_id"].tolist() == frame["loan_id"].tolist()
    np.testing.assert_array_equal(got["row"], np.arange(len(frame)))
    np.testing.assert_allclose(got["score"], guard.score(frame.drop(columns="loan_id")),
                               rtol=1e-12)


def test_hive_partitioned_folder_is_read_as_fit_reads_it(loans_guard, tmp_path: Path) -> None:
    """Check that a feature written as Hive partitions (term=.../) is a column for predict, as
    it is for fit's read_frame, with the rows in the same order."""
    guard, frame = loans_guard
    frame.to_parquet(tmp_path / "hive", partition_cols=["term"], index=False)
    read = read_frame(tmp_path / "hive")
    predict_file(guard, tmp_path / "hive", tmp_path / "out.parquet", chunk_size=64,
                 keep="loan_id")
    got = pd.read_parquet(tmp_path / "out.parquet")
    assert got["loan_id"].tolist() == read["loan_id"].tolist()
    assert sorted(got["loan_id"]) == sorted(frame["loan_id"])
    np.testing.assert_allclose(got["score"], guard.score(read.drop(columns="loan_id")),
                               rtol=1e-12)
    by_id = frame.set_index("loan_id")
    np.testing.assert_allclose(got["score"], guard.score(by_id.loc[got["loan_id"]]), rtol=1e-12)


class Recorder:
    """A real pipeline around the Guard's, recording how many rows each call scores."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        self.sizes: list[int] = []

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        self.sizes.append(len(X))
        return self.pipeline.predict_proba(X)


def test_chunks_are_bounded(loans_guard, tmp_path: Path) -> None:
    """Check that no call scores more than chunk_size rows, and every row is scored once."""
    guard, frame = loans_guard
    recorder = Recorder(guard.pipeline)
    recording = Guard(**{**vars(guard), "pipeline": recorder})
    source = _write(frame, tmp_path / "new.csv")
    predict_file(recording, source, tmp_path / "out.csv", chunk_size=96, keep="loan_id")
    assert max(recorder.sizes) == 96 and sum(recorder.sizes) == len(frame)
    assert len(recorder.sizes) == math.ceil(len(frame) / 96)


def test_many_small_chunks_get_a_note(loans_guard, tmp_path: Path) -> None:
    """Check that 70 chunks of 10 rows say that larger chunks are faster, and that 8 chunks
    of 96 rows (or many small files) do not."""
    guard, frame = loans_guard
    source = _write(frame, tmp_path / "new.csv")
    with pytest.warns(FnguardWarning, match=r"700 rows were scored in 70 chunks of at most 10 "
                      r"rows \(.* s\): every chunk pays .* 10,000 to 100,000 rows"):
        summary = predict_file(guard, source, tmp_path / "out.csv", chunk_size=10)
    assert any("small chunks are slow" in m for m in summary["warnings"])
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(frame)), 60)):
        frame.iloc[part].to_parquet(folder / f"part.{i}.parquet", index=False)
    for given, chunk_size in ((source, 96), (folder, 100_000)):
        with warnings.catch_warnings():
            warnings.simplefilter("error", FnguardWarning)
            summary = predict_file(guard, given, tmp_path / "out.csv", chunk_size=chunk_size,
                                   keep="loan_id")
        assert summary["warnings"] == []


def test_predict_frame_matches_predict(loans_guard) -> None:
    """Check that predict_frame is Guard.predict with row numbers and kept columns."""
    guard, frame = loans_guard
    got = predict_frame(guard, frame, keep="loan_id")
    want = guard.predict(frame.drop(columns="loan_id"))
    assert got["loan_id"].tolist() == frame["loan_id"].tolist()
    pd.testing.assert_frame_equal(
        got[["score", "decision", "label", "review"]], want.reset_index(drop=True)
    )


def test_drift_is_warned_once_over_all_chunks(loans_guard, tmp_path: Path) -> None:
    """Check that drift in every chunk gives one warning per kind, with counts over the file."""
    guard, frame = loans_guard
    changed = frame.assign(term="term_99", note="x")
    source = _write(changed, tmp_path / "new.csv")
    with pytest.warns(FnguardWarning) as caught:
        summary = predict_file(guard, source, tmp_path / "out.csv", chunk_size=100)
    messages = [str(w.message) for w in caught if issubclass(w.category, FnguardWarning)]
    assert len(messages) == 2 == len(summary["warnings"])
    assert re.search(r"ignored: 'loan_id', 'note'", messages[0])
    assert re.search(rf"'term': 'term_99' \({len(frame)} rows\)", messages[1])


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_nothing_written_on_error(loans_guard, tmp_path: Path) -> None:
    """Check that an unreadable value in a late chunk leaves no output, and an old one intact."""
    guard, frame = loans_guard
    bad = frame.assign(int_rate=frame["int_rate"].astype(object))
    bad.loc[450, "int_rate"] = "high"
    source = _write(bad, tmp_path / "new.csv")
    with pytest.raises(DataError, match=r"'int_rate' .* e\.g\. 'high' \(data row 451\)"):
        predict_file(guard, source, tmp_path / "out.parquet", chunk_size=100)
    assert _listing(tmp_path) == ["new.csv"]
    (tmp_path / "old.csv").write_text("previous")
    with pytest.raises(DataError):
        predict_file(guard, source, tmp_path / "old.csv", chunk_size=100)
    assert (tmp_path / "old.csv").read_text() == "previous"
    assert _listing(tmp_path) == ["new.csv", "old.csv"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"out": "out.json"}, OutputError, r"unsupported extension \(\.json\): end it with"),
        ({"out": "new.csv"}, OutputError, r"is the input table"),
        ({"keep": ["loan"]}, DataError, r"'loan' to keep is not in .* Did you mean 'loan_id'"),
        ({"keep": ["score"]}, DataError, r"share a name with an output column"),
        ({"chunk_size": 0}, DataError, r"'chunk_size' must be an integer >= 1"),
        ({"source": "absent.csv"}, DataError, r"does not exist"),
        ({"source": "new.xlsx"}, DataError, r"unsupported extension \(\.xlsx\)"),
        ({"source": "header.csv"}, DataError, r"has no rows"),
        ({"drop": ["int_rate"]}, DataError, r"lacks 1 column .*: 'int_rate'"),
    ],
)
def test_bad_input(kwargs: dict[str, Any], error: type, match: str, loans_guard, tmp_path) -> None:
    """Check each bad input raises its error and writes nothing."""
    guard, frame = loans_guard
    frame = frame.drop(columns=kwargs.pop("drop", []))
    _write(frame, tmp_path / "new.csv")
    (tmp_path / "new.xlsx").write_text("x")
    (tmp_path / "header.csv").write_text(",".join(frame.columns) + "\n")
    before = _listing(tmp_path)
    args = {"source": "new.csv", "out": "out.csv", **kwargs}
    with pytest.raises(error, match=match):
        predict_file(guard, tmp_path / args.pop("source"), tmp_path / args.pop("out"), **args)
    assert _listing(tmp_path) == before


# ------------------------------------------------------------------------------ review sample
def _sample(guard: Guard, source: Path, tmp_path: Path, chunk_size: int, **spec: Any):
    from fnguard.serve.predict import ReviewSample

    out = tmp_path / f"out-{chunk_size}.parquet"
    return predict_file(guard, source, out, chunk_size=chunk_size,
                        review=ReviewSample(**spec))["sample"]


@pytest.fixture(scope="module")
def loans_file(loans_guard, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """The 700 loans as CSV, and Guard.predict on them read whole (the reference)."""
    guard, frame = loans_guard
    source = _write(frame, tmp_path_factory.mktemp("sample") / "new.csv")
    return source, _reference(guard, source)


@pytest.mark.parametrize("chunk_size", [37, 250, 5000])
@pytest.mark.parametrize(("capacity", "audit"), [(12, 9), ("5%", "2%"), (None, None)])
def test_review_sample_matches_a_brute_force_reference(
    chunk_size: int, capacity: Any, audit: Any, loans_guard, loans_file, tmp_path: Path
) -> None:
    """Check that the band rows kept are the top scores of the band, and the audit the
    auto-negatives with the smallest row hashes, over the whole file whatever the chunks."""
    from fnguard.decide.review import parse_capacity
    from fnguard.serve.predict import _uniform

    guard, frame = loans_guard
    source, want = loans_file
    sample = _sample(guard, source, tmp_path, chunk_size, capacity=capacity, audit=audit, seed=3,
                     id_column="loan_id")
    n = len(frame)
    band = want.index[want["review"]].to_numpy()
    cap = len(band) if capacity is None else parse_capacity(capacity, n)
    top = band[np.lexsort((band, -want["score"].to_numpy()[band]))][:cap]
    negatives = want.index[(want["decision"] == 0) & ~want["review"]].to_numpy()
    k = 0 if audit is None else parse_capacity(audit, n)
    hashes = {int(r): _uniform(np.array([r]), 3)[0] for r in negatives}  # one row at a time
    drawn = np.sort(sorted(negatives, key=hashes.__getitem__)[:k]).astype(np.int64)
    got = sample.predictions["row"].to_numpy()
    assert got.tolist() == [*top.tolist(), *drawn.tolist()]
    assert sample.rows == n and sample.band == len(band) and sample.capacity == min(cap, len(band))
    assert sample.auto_negative == len(negatives) and sample.audit == (None if audit is None else k)
    whole = read_frame(source).iloc[got].reset_index(drop=True)
    pd.testing.assert_frame_equal(sample.frame, whole)
    np.testing.assert_allclose(sample.predictions["score"], want["score"].to_numpy()[got])


def test_audit_is_uniform_over_the_file(tmp_path: Path) -> None:
    """Check that the audit takes only auto-negatives, spread uniformly over a long file (a
    Kolmogorov-Smirnov test of their positions), after its candidates were pruned."""
    from scipy import stats

    data = datasets.load_nass_cds()
    pipe = build(["logistic"], data.schema).fit(data.X.iloc[:3000], data.y[:3000])
    guard = Guard(pipe, data.schema, data.target, data.positive, data.negative,
                  "recall>=0.9", threshold=0.05, review_band=(0.05, 0.08))
    source = _write(data.X, tmp_path / "crashes.parquet")
    sample = _sample(guard, source, tmp_path, 1000, capacity=10, audit="2%", seed=7)
    audit = sample.predictions.iloc[10:]
    assert len(audit) == int(0.02 * data.n_rows) == sample.audit
    assert (audit["decision"] == 0).all() and not audit["review"].any()
    assert (audit["score"] < guard.threshold).all()
    whole = guard.predict(data.X)
    negatives = np.flatnonzero((whole["decision"] == 0).to_numpy() & ~whole["review"].to_numpy())
    ranks = np.searchsorted(negatives, audit["row"].to_numpy()) / len(negatives)
    assert stats.kstest(ranks, "uniform").pvalue > 0.01
    # Another seed draws another sample of the same size.
    other = _sample(guard, source, tmp_path, 1000, capacity=10, audit="2%", seed=8)
    assert len(other.predictions) == len(sample.predictions)
    assert set(other.predictions["row"]) != set(sample.predictions["row"])


def test_sample_dtypes_do_not_depend_on_the_chunks(loans_guard, tmp_path: Path) -> None:
    """Check that a column read as integers in some chunks and decimals in others gets one
    dtype, so the hashed case ids are the same whatever the chunk size."""
    from fnguard.serve.queue import case_keys

    guard, frame = loans_guard
    order = np.argsort(-guard.score(frame.drop(columns="loan_id")), kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)  # the band first, the lowest scores last
    frame["delinq_2yrs"] = frame["delinq_2yrs"].astype("Int64")
    frame.loc[650:, "delinq_2yrs"] = pd.NA  # only the last chunk sees a missing value
    source = _write(frame, tmp_path / "gaps.csv")
    keys = []
    for chunk_size in (100, 700):
        sample = _sample(guard, source, tmp_path, chunk_size, capacity=10, id_column="loan_id")
        assert sample.predictions["row"].max() < 100
        assert sample.frame["delinq_2yrs"].dtype == np.float64
        keys.append(case_keys(sample.frame))
    assert keys[0] == keys[1]
    assert keys[1] == case_keys(pd.read_csv(source).iloc[sample.predictions["row"]])


def test_queueing_failure_leaves_nothing(loans_guard, tmp_path: Path) -> None:
    """Check that when queueing fails after scoring (repeated ids here), neither the
    predictions file nor a new review database is left, and the error names the file's
    row; an output path that is a folder is refused before any scoring."""
    from fnguard.serve.predict import predict_to_queue

    guard, frame = loans_guard
    frame = frame.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FnguardWarning)
        scores = guard.score(frame.drop(columns="loan_id"))
    top = np.flatnonzero((scores >= 0.06) & (scores < 0.12))[:2]  # two rows in the band
    frame.loc[top[1], "loan_id"] = frame.loc[top[0], "loan_id"]
    source = _write(frame, tmp_path / "new.csv")
    out, db = tmp_path / "out.parquet", tmp_path / "review.sqlite"
    with pytest.raises(DataError, match=rf"repeats ids \(first repeat at data row {top[1] + 1}: "):
        predict_to_queue(guard, source, out, db, capacity=700, id_column="loan_id",
                         explain=False)
    assert _listing(tmp_path) == ["new.csv"]
    (tmp_path / "folder.parquet").mkdir()
    with pytest.raises(OutputError, match="is an existing folder"):
        predict_to_queue(guard, source, tmp_path / "folder.parquet", db, explain=False)
    with pytest.raises(OutputError, match="is an existing folder"):
        predict_file(guard, source, tmp_path / "folder.parquet")
    assert sorted(_listing(tmp_path)) == ["folder.parquet", "new.csv"]


def test_the_same_file_again_is_one_batch(loans_guard, tmp_path: Path) -> None:
    """Check that predicting the same file again with another capacity, audit or chunk size
    keeps one batch whose auto-negatives count once (they were added again, doubling the
    audit's estimate of the misses)."""
    from fnguard.serve.predict import predict_to_queue
    from fnguard.serve.status import review_status

    guard, frame = loans_guard
    source = _write(frame, tmp_path / "new.csv")
    db = tmp_path / "review.sqlite"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FnguardWarning)
        for capacity, chunk in ((200, 100_000), ("2%", 700), (50, 333)):
            predict_to_queue(guard, source, tmp_path / "out.parquet", db, capacity=capacity,
                             audit="0.5%", id_column="loan_id", chunk_size=chunk,
                             explain=False)
    status = review_status(db)
    scored = pd.read_parquet(tmp_path / "out.parquet")
    negatives = int(((scored["decision"] == 0) & ~scored["review"]).sum())
    assert len(status["batches"]) == 1
    assert status["audit"]["auto_negative"] == negatives
    # the cases a larger capacity or audit added are counted in the batch
    from fnguard.serve.store import cases, open_store, read

    engine = open_store(db)
    with read(engine) as conn:
        n_cases = len(conn.execute(cases.select()).all())
    engine.dispose()
    batch = status["batches"][0]
    assert batch["review"] + batch["audit"] == n_cases
