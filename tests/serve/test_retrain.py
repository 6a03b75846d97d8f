"""Tests of fnguard.serve.retrain: reviewed labels in, a refitted Guard out, compared honestly.

The scenario: US car crashes (NASS CDS). A quarter of the rows is kept apart, with their true
labels, to judge the Guards (nobody fits, chooses or compares on them). In the training table,
80% of the deaths in crashes at 55 km/h or more are recorded as survivals: hidden misses, and
the Guard fitted on it learns that fast crashes are safer than they are. Reviewers audit the
fast crashes; their verdicts are the true labels (or, to test the refusal, the opposite).
"""

from __future__ import annotations

import dataclasses
import json
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fnguard.data import datasets
from fnguard.decide import choose_threshold, evaluate_threshold, review_band
from fnguard.errors import ArtifactError, DataError
from fnguard.guard import Guard, load
from fnguard.levers import build
from fnguard.metrics import confusion_curve
from fnguard.search.fit import fingerprint
from fnguard.search.objective import oof_scores, rank_value
from fnguard.search.split import calibration_split, cv_folds, holdout_split
from fnguard.serve.auth import add_user
from fnguard.serve.compare import _paired_difference, _point, _ranks
from fnguard.serve.leases import case_for, lease_next, submit_verdict
from fnguard.serve.queue import case_keys, enqueue
from fnguard.serve.retrain import retrain
from fnguard.serve.store import ReviewError, StoreError, open_store

pytestmark = pytest.mark.filterwarnings("ignore::fnguard.errors.FnguardWarning")

REQUIRE = "recall>=0.8"


def fit_like(X: pd.DataFrame, y: np.ndarray, data, require: str = REQUIRE, seed: int = 0,
             cv: int = 3, test_size: float = 0.2) -> Guard:
    """A logistic-regression Guard made as fnguard.fit makes its winner: the same seeded
    test split, threshold on out-of-fold scores, the split recorded in info."""
    search, test = holdout_split(y, test_size, seed)
    folds, _ = cv_folds(y[search], cv, seed)
    pipe = build(["logistic"], data.schema, random_state=seed)
    oof, _ = oof_scores(pipe, X.iloc[search], y[search], folds)
    decision = choose_threshold(y[search], oof, require, positive=True, n_boot=0)
    band = review_band(y[search], oof, require, "2%", positive=True)
    pipe.fit(X.iloc[search], y[search])
    return Guard(
        pipe, data.schema, data.target, data.positive, data.negative, require,
        float(decision.threshold), (float(band.lower), float(band.upper)), levers=["logistic"],
        params={}, info={"seed": seed, "cv": cv, "test_size": test_size,
                         "fingerprint": fingerprint(X, y), "created": "before"},
        holdout=pd.DataFrame({"y": y[test], "score": pipe.predict_proba(X.iloc[test])[:, 1]}),
    )


@pytest.fixture(scope="module")
def crashes() -> types.SimpleNamespace:
    """The scenario of the module docstring, and a pool of other crashes for new rows."""
    data = datasets.load_nass_cds()
    rng = np.random.default_rng(0)
    order = rng.permutation(data.n_rows)
    judge, pool, train = (np.sort(p) for p in np.split(order, [data.n_rows // 4,
                                                               data.n_rows // 4 + 1000]))
    X = data.X.iloc[train].reset_index(drop=True)
    truth = np.asarray(data.y, bool)[train]
    fast = (X["dvcat"] == "55+").to_numpy()
    hidden = rng.choice(np.flatnonzero(truth & fast), int(0.8 * (truth & fast).sum()),
                        replace=False)
    stored = truth.copy()
    stored[hidden] = False
    table = X.assign(dead=np.where(stored, data.positive, data.negative))
    old = fit_like(X, stored, data)
    return types.SimpleNamespace(
        data=data, X=X, truth=truth, stored=stored, table=table, fast=fast, old=old,
        judge_X=data.X.iloc[judge].reset_index(drop=True),
        judge_y=np.asarray(data.y, bool)[judge],
        pool_X=data.X.iloc[pool].reset_index(drop=True), pool_y=np.asarray(data.y, bool)[pool],
        hidden=hidden,
    )


def review(engine, truth: dict[str, bool], *, wrong: bool = False, unsure: int = 0,
           name: str = "alice") -> dict[str, str]:
    """A reviewer who works through the queue: the true label (or its opposite), the first
    ``unsure`` cases unsure. Returns each case key's verdict."""
    user = add_user(engine, name, "a long enough password")
    given: dict[str, str] = {}
    case = lease_next(engine, user)
    while case is not None:
        key = case_for(engine, user, case)["key"]
        verdict = "positive" if truth[key] != wrong else "negative"
        verdict = "unsure" if len(given) < unsure else verdict
        given[key] = verdict
        case = submit_verdict(engine, user, case, verdict, then_next=True)["next"]
    return given


def misses(guard: Guard, crashes) -> tuple[int, float]:
    """Misses and recall on the judging rows at the Guard's threshold."""
    curve = confusion_curve(crashes.judge_y, guard.score(crashes.judge_X), positive=True)
    tp, _, _, fn = curve.counts_at(guard.threshold)
    return fn, tp / (tp + fn)


@pytest.fixture(scope="module")
def fast_reviewed(crashes):
    """A review store holding the fast crashes of the training table (all of the band and an
    audit of 70% of the batch), each reviewed with its true label."""
    batch = crashes.X[crashes.fast]
    engine = open_store("sqlite://", create=True)
    enqueue(engine, crashes.old, batch, crashes.old.predict(batch), capacity=None, audit="70%",
            explain=False)
    truth = dict(zip(case_keys(batch), crashes.truth[crashes.fast], strict=True))
    return engine, review(engine, truth)


def test_reviewed_labels_cut_the_misses(crashes, fast_reviewed, tmp_path: Path) -> None:
    """Check that retraining on the reviewers' true labels is judged better on the old Guard's
    own test rows, and has fewer misses on rows neither Guard nor the comparison ever saw."""
    engine, given = fast_reviewed
    result = retrain(crashes.old, engine, crashes.table, out=tmp_path / "v2", report=False)
    assert result.verdict in ("better", "no worse") and result.accepted and not result.forced
    assert result.holdout["from"].startswith("the old Guard's test rows")
    keys = case_keys(crashes.X)
    stored = dict(zip(keys, crashes.stored, strict=True))
    changed = sum(stored[k] != (v == "positive") for k, v in given.items())
    assert result.labels["labels_changed"] == changed > 50
    assert result.labels["case_keys"] == len(given) and result.labels["rows_added"] == 0
    assert result.new["fn"] < result.old["fn"]
    old_fn, old_recall = misses(crashes.old, crashes)
    new_fn, new_recall = misses(result.guard, crashes)
    assert new_fn <= old_fn - 8 and new_recall >= old_recall + 0.025
    assert new_recall >= 0.8  # the requirement, met on unseen rows
    saved = load(tmp_path / "v2")
    record = saved.info["retrain"]
    assert record["labels"]["case_keys"] == len(given) and record["verdict"] == result.verdict
    assert record["labels"]["verdicts"]["positive"] == sum(v == "positive" for v in given.values())
    assert saved.leaderboard[-1]["retrain"] and saved.info["best_trial"] == \
        saved.leaderboard[-1]["trial"]
    assert saved.metrics["fn"] == result.new["fn"] and len(saved.holdout) == result.holdout["rows"]
    assert saved.info["reference"]["old_guard"]["fn"] == result.old["fn"]
    np.testing.assert_allclose(saved.score(crashes.judge_X), result.guard.score(crashes.judge_X))


def test_refit_matches_a_hand_made_reference(crashes) -> None:
    """Check the new Guard against the same steps done by hand: verdicts override the stored
    labels (unsure ones left out), the old Guard's test rows held out, the model refitted on
    the rest and its threshold chosen on out-of-fold scores."""
    batch = crashes.X[crashes.fast]
    engine = open_store("sqlite://", create=True)
    enqueue(engine, crashes.old, batch, crashes.old.predict(batch), capacity=None, audit=150,
            explain=False)
    truth = dict(zip(case_keys(batch), crashes.truth[crashes.fast], strict=True))
    given = review(engine, truth, unsure=12)
    result = retrain(crashes.old, engine, crashes.table)
    assert result.labels["verdicts"]["unsure"] == result.labels["unsure_left_out"] == 12
    assert result.labels["case_keys"] == len(given) - 12
    y = crashes.stored.copy()
    for i, key in enumerate(case_keys(crashes.X)):
        if given.get(key, "unsure") != "unsure":
            y[i] = given[key] == "positive"
    _, test = holdout_split(crashes.stored, 0.2, 0)
    train = np.setdiff1d(np.arange(y.size), test)
    pipe = build(["logistic"], crashes.data.schema, random_state=0)
    folds, _ = cv_folds(y[train], 3, 0)
    oof, _ = oof_scores(pipe, crashes.X.iloc[train], y[train], folds)
    threshold = choose_threshold(y[train], oof, REQUIRE, positive=True, n_boot=0).threshold
    pipe.fit(crashes.X.iloc[train], y[train])
    assert result.guard.threshold == pytest.approx(threshold, rel=1e-9)
    np.testing.assert_allclose(result.guard.score(crashes.judge_X),
                               pipe.predict_proba(crashes.judge_X)[:, 1], rtol=1e-9)
    assert result.holdout["rows"] == test.size and result.holdout["positives"] == y[test].sum()
    np.testing.assert_array_equal(result.guard.holdout["y"], y[test])


def test_wrong_labels_are_refused_unless_forced(crashes, tmp_path: Path) -> None:
    """Check that a Guard learned from reviewers who are always wrong is judged worse and not
    written, and that force writes it, recorded as forced."""
    batch = crashes.X[crashes.fast]
    engine = open_store("sqlite://", create=True)
    enqueue(engine, crashes.old, batch, crashes.old.predict(batch), capacity=None, audit="70%",
            explain=False)
    review(engine, dict(zip(case_keys(batch), crashes.truth[crashes.fast], strict=True)),
           wrong=True)
    result = retrain(crashes.old, engine, crashes.table, out=tmp_path / "v2", report=False)
    assert result.verdict == "worse" and not result.accepted and result.saved is None
    assert result.reasons and not (tmp_path / "v2").exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary folder left either
    forced = retrain(crashes.old, engine, crashes.table, out=tmp_path / "v2", force=True,
                     report=False)
    assert forced.verdict == "worse" and forced.forced and forced.accepted
    assert load(tmp_path / "v2").info["retrain"]["forced"] is True


def test_cases_missing_from_the_table_are_added_as_rows(crashes) -> None:
    """Check that reviewed cases of another batch (ids not in the training table) are added
    as rows with their stored values, a share of them held out, and that the id column is
    found from the cases."""
    pool = crashes.pool_X.assign(crash=[f"C{i}" for i in range(len(crashes.pool_X))])
    engine = open_store("sqlite://", create=True)
    enqueue(engine, crashes.old, pool, crashes.old.predict(pool.drop(columns="crash")),
            capacity=None, audit=200, id_column="crash", explain=False)
    truth = dict(zip(case_keys(pool, "crash"), crashes.pool_y, strict=True))
    given = review(engine, truth)
    table = crashes.table.assign(crash=[f"T{i}" for i in range(len(crashes.table))])
    result = retrain(crashes.old, engine, table)
    n = len(given)
    assert result.labels["id_column"] == "crash" and result.labels["matched_rows"] == 0
    assert result.labels["rows_added"] == n and result.labels["labels_changed"] == 0
    assert result.holdout["added_rows"] == round(0.2 * n) or result.holdout["added_rows"] == \
        int(np.ceil(0.2 * n))
    total = len(crashes.table) + n
    assert result.holdout["rows"] + result.holdout["train_rows"] == total
    positives = crashes.stored.sum() + sum(v == "positive" for v in given.values())
    assert result.holdout["positives"] + result.holdout["train_positives"] == positives
    # The same cases match the table's rows once it holds them, by id.
    both = pd.concat([table, pool.assign(dead=np.where(crashes.pool_y, "dead", "alive"))],
                     ignore_index=True)
    again = retrain(crashes.old, engine, both)
    assert again.labels["rows_added"] == 0 and again.labels["matched_rows"] == n
    assert "fresh" in again.holdout["from"] and any("fresh split" in m for m in again.notes)


def test_cases_match_rows_whatever_the_number_types(crashes) -> None:
    """Check that cases enqueued from a batch where a column was read as integers match the
    table's rows where it is decimal (missing values elsewhere), and are not added again."""
    batch = crashes.X[crashes.fast & crashes.X["yearVeh"].notna().to_numpy()].iloc[:400]
    batch = batch.assign(yearVeh=batch["yearVeh"].astype("int64"))
    assert crashes.table["yearVeh"].dtype == np.float64
    engine = open_store("sqlite://", create=True)
    enqueue(engine, crashes.old, batch, crashes.old.predict(batch), capacity=None, audit=100,
            explain=False)
    truth = dict(zip(case_keys(batch), crashes.truth[batch.index], strict=True))
    given = review(engine, truth)
    result = retrain(crashes.old, engine, crashes.table)
    assert result.labels["rows_added"] == 0
    assert result.labels["matched_rows"] >= len(given) > 0


def test_guarantee_chooses_on_a_calibration_split(crashes, fast_reviewed) -> None:
    """Check that for a guarantee the threshold is chosen on a calibration split of the
    training rows, as fit does, and equals the same choice made by hand."""
    engine, given = fast_reviewed
    old = dataclasses.replace(crashes.old, requirement="recall>=0.8 @90%")
    result = retrain(old, engine, crashes.table)
    info = result.guard.info
    assert info["threshold_from"] == "calibration" and info["split"]["calibration_rows"] > 0
    y = crashes.stored.copy()
    for i, key in enumerate(case_keys(crashes.X)):
        if key in given:
            y[i] = given[key] == "positive"
    _, test = holdout_split(crashes.stored, 0.2, 0)
    train = np.setdiff1d(np.arange(y.size), test)
    from fnguard.decide import min_positives

    fit_rows, cal = calibration_split(y[train], min_positives(0.8, 0.9), 0)
    pipe = build(["logistic"], crashes.data.schema, random_state=0)
    pipe.fit(crashes.X.iloc[train[fit_rows]], y[train[fit_rows]])
    scores = pipe.predict_proba(crashes.X.iloc[train[cal]])[:, 1]
    want = choose_threshold(y[train[cal]], scores, "recall>=0.8 @90%", positive=True, n_boot=0)
    assert result.guard.threshold == pytest.approx(want.threshold, rel=1e-9)


@pytest.mark.parametrize(
    "require", ["recall>=0.9", "precision>=0.4", "fpr<=0.2", "cost:fn=10,fp=1", "fbeta:2",
                "youden", "recall>=0.99"],
)
def test_rank_of_counts_is_rank_value(require: str) -> None:
    """Check the vectorised rank of the comparison against rank_value of evaluate_threshold,
    at many thresholds, met or not."""
    rng = np.random.default_rng(1)
    y = rng.random(300) < 0.2
    scores = np.clip(0.3 * y + rng.normal(0.4, 0.2, 300), 0, 1)
    curve = confusion_curve(y, scores, positive=True)
    for threshold in np.quantile(scores, [0.05, 0.3, 0.6, 0.8, 0.95]):
        want = rank_value(evaluate_threshold(curve, require, threshold, n_boot=0))
        from fnguard.decide import parse_requirement

        point = _point(parse_requirement(require), y, scores, float(threshold))
        assert point["rank"] == pytest.approx(want, abs=1e-12)


def test_the_same_guard_is_no_worse(crashes, fast_reviewed) -> None:
    """Check that the paired difference of a Guard with itself is zero, interval included."""
    from fnguard.decide import parse_requirement

    rng = np.random.default_rng(2)
    y = rng.random(500) < 0.1
    s = rng.random(500)
    diff = _paired_difference(parse_requirement(REQUIRE), y, (s, 0.3), (s, 0.3), seed=0)
    assert diff == {"rank": 0.0, "low": 0.0, "high": 0.0, "n_boot": 1000}
    assert float(_ranks(parse_requirement(REQUIRE), 8, 2, 80, 2)) == 0.8  # met: precision


def test_an_id_column_that_repeats_or_did_not_key_the_cases_is_refused(crashes) -> None:
    """Check that retrain refuses an id column the cases were not keyed by (a column of
    amounts relabelled every row sharing a reviewed case's amount: thousands of rows), and an
    id column that repeats in the training table, before any fit."""
    pool = crashes.pool_X.assign(crash=[f"C{i}" for i in range(len(crashes.pool_X))])
    engine = open_store("sqlite://", create=True)
    enqueue(engine, crashes.old, pool, crashes.old.predict(pool.drop(columns="crash")),
            capacity=20, audit=0, id_column="crash", explain=False)
    review(engine, dict(zip(case_keys(pool, "crash"), crashes.pool_y, strict=True)))
    table = crashes.table.assign(crash=[f"T{i}" for i in range(len(crashes.table))])
    with pytest.raises(DataError, match=r"not keyed by the column 'ageOFocc'"):
        retrain(crashes.old, engine, table, id_column="ageOFocc")
    repeats = table.assign(crash=[f"T{i % 50}" for i in range(len(table))])
    with pytest.raises(DataError, match=r"The id column 'crash' repeats in the training table"):
        retrain(crashes.old, engine, repeats)


def test_the_new_guard_never_replaces_the_old_one(crashes, fast_reviewed, tmp_path) -> None:
    """Check that retrain refuses to write the new Guard over the Guard it retrains (it did,
    silently: the old one was gone), before any fit."""
    folder = crashes.old.save(tmp_path / "g", report=False)
    before = (folder / "model.skops").read_bytes()
    with pytest.raises(ArtifactError, match="would replace the one it is retrained from"):
        retrain(folder, fast_reviewed[0], crashes.table, out=tmp_path / "g" / "." )
    assert (folder / "model.skops").read_bytes() == before


def _unsure_only(crashes) -> object:
    batch = crashes.X[crashes.fast].iloc[:200]
    engine = open_store("sqlite://", create=True)
    enqueue(engine, crashes.old, batch, crashes.old.predict(batch), capacity=3, explain=False)
    review(engine, dict.fromkeys(case_keys(batch), True), unsure=3)
    return engine


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"guard": None}, ArtifactError, "must be a Guard or its folder"),
        ({"guard": "no-levers"}, ArtifactError, "records no levers"),
        ({"guard": "not-a-folder"}, ArtifactError, "does not exist"),
        ({"db": "missing.sqlite"}, StoreError, "does not exist"),
        ({"db": "other-schema"}, ReviewError, r"does not match the cases.*ageOFocc"),
        ({"db": "unsure-only"}, DataError, r"no positive or negative verdict .*3 of them unsure"),
        ({"data": "no-target"}, DataError, "has no column 'dead'"),
        ({"data": "other-labels"}, DataError,
         r"target 'dead' does not hold the Guard's positive label 'dead' \(its values include"),
        ({"data": "no-features"}, DataError,
         r"The training table lacks \d+ of the Guard's \d+ feature columns: 'ageOFocc'"),
        ({"data": "other-negative"}, DataError, r"labels are 'dead' / 'survived', the Guard's"),
        ({"id_column": "nope"}, DataError, "The id column 'nope' is not in the training table"),
    ],
)
def test_bad_input(change, error, match, crashes, fast_reviewed, tmp_path: Path) -> None:
    """Check that each bad input is refused with a message that names it, before any fit."""
    args = {"guard": crashes.old, "db": fast_reviewed[0], "data": crashes.table}
    args.update({k: v for k, v in change.items() if k != "id_column"})
    tag = {k: v for k, v in change.items() if isinstance(v, str)}
    if tag.get("guard") == "no-levers":
        args["guard"] = dataclasses.replace(crashes.old, levers=[])
    elif tag.get("guard") == "not-a-folder":
        args["guard"] = tmp_path / "nowhere"
    if tag.get("db") == "missing.sqlite":
        args["db"] = tmp_path / "missing.sqlite"
    elif tag.get("db") == "other-schema":
        narrow = crashes.X.drop(columns="ageOFocc")
        schema = type(crashes.data.schema)(
            tuple(c for c in crashes.data.schema.columns if c.name != "ageOFocc"),
            crashes.data.schema.target, crashes.data.schema.positive,
            crashes.data.schema.negative)
        other = Guard(build(["logistic"], schema).fit(narrow.iloc[:2000], crashes.stored[:2000]),
                      schema, "dead", "dead", "alive", REQUIRE, 0.05, (0.05, 0.1))
        args["db"] = open_store("sqlite://", create=True)
        enqueue(args["db"], other, narrow.iloc[:300], other.predict(narrow.iloc[:300]),
                capacity=3, explain=False)
    elif tag.get("db") == "unsure-only":
        args["db"] = _unsure_only(crashes)
    if tag.get("data") == "no-target":
        args["data"] = crashes.X
    elif tag.get("data") == "other-labels":
        args["data"] = crashes.X.assign(dead=crashes.stored.astype(int))
    elif tag.get("data") == "no-features":
        args["data"] = crashes.table.drop(columns="ageOFocc")
    elif tag.get("data") == "other-negative":
        args["data"] = crashes.X.assign(dead=np.where(crashes.stored, "dead", "survived"))
    with pytest.raises(error, match=match):
        retrain(args["guard"], args["db"], args["data"], id_column=change.get("id_column"))


def test_to_dict_is_json(crashes, fast_reviewed) -> None:
    """Check that the result's summary is plain JSON with the counts the CLI prints."""
    result = retrain(crashes.old, fast_reviewed[0], crashes.table, seed=5)
    doc = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert doc["verdict"] == result.verdict and doc["accepted"] is True
    assert doc["labels"]["database"]["url"] == "sqlite://"
    assert result.guard.info["seed"] == 5


def test_training_table_with_dates_is_recognised() -> None:
    """Check that retrain reads the table fit read (ISO text dates as dates) the way fit did,
    so its fingerprint matches and the old Guard's own test rows are used (a date column made
    the very table look like another one)."""
    from fnguard.data import load_table
    from fnguard.serve.retrain import _table

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "x": rng.normal(size=200),
        "when": pd.date_range("2020-01-01", periods=200).strftime("%Y-%m-%d"),
        "y": (rng.random(200) < 0.2).astype(int),
    })
    fitted = load_table(frame, "y", 1)
    assert fitted.schema["when"].kind == "datetime"
    guard = types.SimpleNamespace(target="y", positive=1, negative=0, schema=fitted.schema)
    _, y, X_fit = _table(guard, frame)
    assert fingerprint(X_fit, y) == fingerprint(fitted.X, fitted.y)


def test_verdict_explains_a_rank_difference_beyond_one() -> None:
    """Check that a difference interval reaching past 1 (an unmet constraint ranks 2 below)
    says that only one Guard meets the requirement in some resamples (it printed
    '[-0.0072, +2.0780]' with nothing to read it by)."""
    from fnguard.decide import parse_requirement
    from fnguard.serve.compare import verdict

    req = parse_requirement("recall>=0.9")
    point = {"met": True, "value": 0.91, "rank": 0.5}
    both = {"old": point, "new": point,
            "difference": {"rank": -0.005, "low": -0.0072, "high": 2.078}}
    _, reasons = verdict(req, both, None)
    text = " ".join(reasons)
    assert "[-0.0072, +2.0780]; beyond 1 either way: in some resamples only one of the two " \
        "Guards meets recall>=0.9" in text
    narrow = {**both, "difference": {"rank": 0.08, "low": 0.02, "high": 0.15}}
    assert "only one of the two" not in " ".join(verdict(req, narrow, None)[1])


def test_a_guard_tested_on_its_own_table_gets_a_fresh_split(crashes, fast_reviewed) -> None:
    """Check that a Guard fitted with a test table of its own (fit(test=...)) is compared on a
    fresh split of the training table, with the note that says why, even though the
    training table is the one it was fitted on."""
    shared = "12 rows of the test table 'judge.csv' (1.0%) have the same feature values"
    old = dataclasses.replace(crashes.old, info={
        **crashes.old.info, "test_table": "judge.csv", "test_size": None,
        "test_notes": [shared], "notes": ["a note of the fit", shared]})
    result = retrain(old, fast_reviewed[0], crashes.table)
    assert result.holdout["from"] == "a fresh stratified split of the training table"
    text = " ".join(result.notes)
    assert "tested on a table of its own ('judge.csv')" in text
    assert "is not the one the old Guard was fitted on" not in text
    # the new Guard was scored on the fresh split, not on the old test table
    assert "test_table" not in result.guard.info and result.guard.info["test_size"] == 0.2
    # the notes about the old test table stay behind; the fit's own notes are kept
    kept = result.guard.info["notes"]
    assert "a note of the fit" in kept and shared not in kept
    assert any("a table of its own" in n for n in kept)
    # the next generation does not repeat this retrain's notes as its own
    again = retrain(result.guard, fast_reviewed[0], crashes.table)
    assert not any("a table of its own" in n for n in again.guard.info["notes"])
    assert "a note of the fit" in again.guard.info["notes"]
    same = retrain(crashes.old, fast_reviewed[0], crashes.table)
    assert same.holdout["from"].startswith("the old Guard's test rows")


def test_a_refusal_within_noise_says_so() -> None:
    """Check that a new Guard refused for falling short where the old one met the
    requirement, by a difference within noise, says that the refit alone can cause it (the
    message blamed the reviewers' labels after one correct label), and names the score it
    compares in words (it said "rank difference")."""
    from fnguard.decide import parse_requirement
    from fnguard.serve.compare import verdict

    req = parse_requirement("recall>=0.8")
    both = {"old": {"met": True, "value": 0.805, "rank": 0.2},
            "new": {"met": False, "value": 0.79, "rank": -1.8},
            "difference": {"rank": -2.0, "low": -2.1, "high": 2.1}}
    _, reasons = verdict(req, both, None)
    text = " ".join(reasons)
    assert "within noise" in text and "reviewing more cases" in text
    assert "rank difference" not in text and "new minus old score" in text
    both["difference"].update(low=-2.2, high=-1.9)
    assert "within noise" not in " ".join(verdict(req, both, None)[1])
