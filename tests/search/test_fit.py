"""Tests of fnguard.fit: the honest split, the Guard it returns, bad input."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from fnguard.data import load_table
from fnguard.decide import choose_threshold, parse_requirement
from fnguard.errors import DataError, RequirementError
from fnguard.levers import build, registry
from fnguard.levers.prior import PriorCorrectedPipeline
from fnguard.levers.registry import LeverError, register
from fnguard.metrics import summary
from fnguard.search import SearchError, fit
from fnguard.search.split import calibration_split, holdout_split

from .conftest import make_frame

FAST = ["logistic", "random-under", "random-over"]
OPTIONS = {"budget": 120, "levers": FAST, "cv": 3, "jobs": 1, "max_trials": 5}


def _fit(frame: pd.DataFrame, require: str = "recall>=0.8", **kwargs):
    return fit(frame, "y", 1, require, **{**OPTIONS, **kwargs})


def _rows(frame: pd.DataFrame, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return holdout_split(frame["y"].to_numpy() == 1, 0.2, seed)


@pytest.fixture(scope="module")
def guard(frame):
    return _fit(frame)


def test_guard_holds_the_winner(guard) -> None:
    """Check the Guard's fields: the best trial's levers, params and out-of-fold threshold."""
    best = guard.info["best_trial"]
    record = guard.leaderboard[best]
    assert guard.levers == record["levers"] and guard.params == record["params"]
    # the threshold is re-chosen on the winner's out-of-fold scores with the safety margin
    assert guard.info["margin"] == 0.9
    assert guard.info["choice"]["requirement"].endswith("@90%")
    assert guard.threshold == guard.info["choice"]["threshold"]
    assert guard.info["choice"]["metrics"]["recall"]["value"] >= record["recall"]["value"]
    assert guard.target == "y" and guard.positive == 1 and guard.negative == 0
    assert guard.requirement == parse_requirement("recall>=0.8").describe()
    assert guard.info["threshold_from"] == "out-of-fold"
    lower, upper = guard.review_band
    assert lower == guard.threshold and upper >= lower
    json.dumps(guard.info, allow_nan=False)
    json.dumps(guard.leaderboard, allow_nan=False)


def test_pipeline_is_refitted_on_every_search_row(guard, frame) -> None:
    """Check that the pipeline is the winner refitted on all non-test rows, and nothing else."""
    search, _ = _rows(frame)
    d = load_table(frame, "y", positive=1)
    expected = build(guard.levers, d.schema, params=guard.params, random_state=0).fit(
        d.X.iloc[search], d.y[search])
    model = guard.pipeline
    assert guard.info["calibration"]["applied"] == hasattr(model, "calibrator_")
    model = getattr(model, "estimator_", model)  # the pipeline inside a calibrator
    np.testing.assert_allclose(model.predict_proba(d.X)[:, 1], expected.predict_proba(d.X)[:, 1])


def test_scored_once_on_the_test_set(guard, frame) -> None:
    """Check the test metrics: summary() of the held-out rows' scores at the threshold."""
    _, test = _rows(frame)
    d = load_table(frame, "y", positive=1)
    h = guard.holdout
    assert np.array_equal(h["y"].to_numpy(), d.y[test])
    np.testing.assert_allclose(h["score"], guard.pipeline.predict_proba(d.X.iloc[test])[:, 1])
    ref = summary(h["y"], h["score"], guard.threshold, positive=True, n_boot=0)
    for name in ("recall", "precision", "fpr", "ece"):
        assert guard.metrics[name]["value"] == pytest.approx(ref[name].value)
        assert guard.metrics[name]["low"] <= guard.metrics[name]["value"] <= guard.metrics[
            name]["high"]
    assert [guard.metrics[k] for k in ("tp", "fp", "tn", "fn")] == [
        ref[k].value for k in ("tp", "fp", "tn", "fn")]
    assert guard.metrics["n"] == test.size
    assert guard.met == (ref["recall"].value >= 0.8)


def test_reference_logistic(guard, frame) -> None:
    """Check the reference: a plain logistic regression on the same rows, at 0.5 and tuned."""
    search, test = _rows(frame)
    d = load_table(frame, "y", positive=1)
    model = build(["logistic"], d.schema, random_state=0).fit(d.X.iloc[search], d.y[search])
    s = model.predict_proba(d.X.iloc[test])[:, 1]
    ref = guard.info["reference"]
    at_half = summary(d.y[test], s, 0.5, positive=True, n_boot=0)
    assert [ref["logistic_at_0.5"][k] for k in ("tp", "fp", "tn", "fn")] == [
        at_half[k].value for k in ("tp", "fp", "tn", "fn")]
    tuned = ref["logistic_tuned"]
    baseline = guard.leaderboard[0]
    assert baseline["levers"] == ["logistic"] and tuned["threshold"] == baseline["threshold"]


def test_info_records_the_search(guard, frame) -> None:
    """Check the provenance: budget, trials by state, folds, split sizes, versions, notes."""
    info = guard.info
    assert info["budget"] == 120.0 and info["cv"] == 3 and info["test_size"] == 0.2
    assert sum(info["trials"].values()) == len(guard.leaderboard) == 5
    split = info["split"]
    assert split["rows"] == 500 and split["test_rows"] == 100 and split["search_rows"] == 400
    assert split["positives"] == split["search_positives"] + split["test_positives"]
    assert info["baseline_trials"] == [0] and info["seed"] == 0
    assert info["fingerprint"].startswith("sha256:") and "scikit-learn" in info["versions"]
    assert info["created"].endswith("+00:00") and isinstance(info["notes"], list)
    # logistic, the only plain baseline here, has no other plain algorithm to be compared with
    tried = {n for row in guard.leaderboard for n in row["levers"]} - {"logistic"}
    assert tried and {c["lever"] for c in info["contributions"]} <= tried
    assert info["contributions"] and all(c["against"] == ["logistic"]
                                         for c in info["contributions"])


def _poisoned(frame: pd.DataFrame) -> pd.DataFrame:
    """The same table with the test rows' features replaced by garbage (labels kept, so the
    stratified split is the same)."""
    _, test = _rows(frame)
    bad = frame.copy()
    rng = np.random.default_rng(99)
    for col in ("x1", "x2", "x3"):
        bad.loc[test, col] = rng.normal(size=test.size) * 1000.0
    bad.loc[test, "cat"] = "never-seen"
    return bad


def test_test_rows_influence_no_choice(guard, frame) -> None:
    """Check that garbage in the test rows changes no choice: levers, params, threshold, band,
    every trial's out-of-fold result, the contributions; only the test metrics move."""
    poisoned = _fit(_poisoned(frame))
    assert poisoned.levers == guard.levers and poisoned.params == guard.params
    assert poisoned.threshold == guard.threshold and poisoned.review_band == guard.review_band
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in guard.leaderboard]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in poisoned.leaderboard] == strip
    assert poisoned.info["contributions"] == guard.info["contributions"]
    assert poisoned.info["reference"]["logistic_tuned"]["threshold"] == guard.info["reference"][
        "logistic_tuned"]["threshold"]
    assert not np.allclose(poisoned.holdout["score"], guard.holdout["score"])


@pytest.fixture
def spies(monkeypatch) -> Iterator[dict[str, list]]:
    """Record the row index of every pipeline fit and score, and the size of every threshold
    choice, by wrapping the real methods."""
    seen: dict[str, list] = {"fit": [], "score": [], "threshold": []}
    real_fit, real_proba = PriorCorrectedPipeline.fit, PriorCorrectedPipeline.predict_proba

    def spy_fit(self, X, y=None, **kw):
        seen["fit"].append(np.asarray(X.index))
        return real_fit(self, X, y, **kw)

    def spy_proba(self, X, **kw):
        seen["score"].append(np.asarray(X.index))
        return real_proba(self, X, **kw)

    monkeypatch.setattr(PriorCorrectedPipeline, "fit", spy_fit)
    monkeypatch.setattr(PriorCorrectedPipeline, "predict_proba", spy_proba)
    import importlib

    # fnguard.search.fit is also the function's name: import the module by its full name.
    for name in ("fnguard.search.fit", "fnguard.search.objective"):
        module = importlib.import_module(name)
        real = module.choose_threshold

        def spy_threshold(y, scores, *args, _real=real, **kw):
            seen["threshold"].append(len(y))
            return _real(y, scores, *args, **kw)

        monkeypatch.setattr(module, "choose_threshold", spy_threshold)
    yield seen


@pytest.mark.parametrize("require", ["recall>=0.8", "recall>=0.7 @90%"])
def test_no_test_row_reaches_a_fit_or_a_threshold(frame, spies, require) -> None:
    """Check that no test row is ever fitted on or used to choose a threshold, and that test
    rows are scored only whole: the winner's and the reference's final scoring."""
    _fit(frame, require, max_trials=4)
    _, test = _rows(frame)
    assert spies["fit"] and all(np.intersect1d(ix, test).size == 0 for ix in spies["fit"])
    with_test = [ix for ix in spies["score"] if np.intersect1d(ix, test).size]
    assert len(with_test) == 2 and all(np.array_equal(np.sort(ix), test) for ix in with_test)
    assert spies["threshold"] and max(spies["threshold"]) <= 500 - test.size


def test_guarantee_thresholds_on_a_calibration_split(frame) -> None:
    """Check that a guarantee refits on the search rows minus a calibration split and chooses
    the threshold on that split, which the model did not train on."""
    req = parse_requirement("recall>=0.7 @90%")
    g = _fit(frame, req.text)
    assert g.info["threshold_from"] == "calibration"
    search, _ = _rows(frame)
    d = load_table(frame, "y", positive=1)
    Xs, ys = d.X.iloc[search], d.y[search]
    fit_rows, cal_rows = calibration_split(ys, 7, seed=0)  # min_positives(0.7, 0.9) == 7
    assert g.info["split"]["calibration_rows"] == cal_rows.size
    model = build(g.levers, d.schema, params=g.params, random_state=0).fit(
        Xs.iloc[fit_rows], ys[fit_rows])
    scores = model.predict_proba(Xs.iloc[cal_rows])[:, 1]
    assert g.threshold == choose_threshold(ys[cal_rows], scores, req, positive=True).threshold
    np.testing.assert_allclose(g.pipeline.predict_proba(d.X)[:, 1],
                               model.predict_proba(d.X)[:, 1])


@pytest.fixture
def broken() -> Iterator[None]:
    from sklearn.linear_model import LogisticRegression

    class Failing(LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            raise ValueError("this lever always fails")

    register("test:failing", "algorithm", "classifier", "Fails.", "Fails.")(Failing)
    yield
    registry._levers.pop("test:failing")


def test_every_trial_failed(frame, broken) -> None:
    """Check that a search where every trial fails is an error that quotes the failures."""
    with pytest.raises(SearchError, match=r"Every trial failed.*this lever always fails"):
        _fit(frame, levers=["test:failing"], max_trials=2)


@pytest.fixture
def slow() -> Iterator[None]:
    import time

    from sklearn.linear_model import LogisticRegression

    class Slow(LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            time.sleep(2.2)
            return super().fit(X, y, sample_weight=sample_weight)

    register("test:slow", "algorithm", "classifier", "Slow.", "Slow.")(Slow)
    yield
    registry._levers.pop("test:slow")


def test_first_trial_finishes_past_a_short_budget(frame, slow) -> None:
    """Check that a budget shorter than one trial still returns a model: the first trial
    (3 folds of 2.2 s against 5 s) runs to the end, alone, with a note that says so."""
    g = fit(frame, "y", 1, "recall>=0.8", budget=5, levers=["test:slow"], cv=3, jobs=1)
    assert [r["state"] for r in g.leaderboard] == ["complete"]
    assert any(re.search(r"took [\d.]+ s and ended [\d.]+ s into the budget of 5 s \(which "
                         r"also counts reading and checking the data\); it was let finish", n)
               for n in g.info["notes"])


def test_budget_spent_before_one_trial() -> None:
    """Check the message when the budget runs out before any trial finished."""
    from fnguard.search.fit import _nothing_finished
    from fnguard.search.runner import SearchResult

    empty = SearchResult([], None, {}, {}, {}, {}, [], 5.0)
    with pytest.raises(SearchError, match=r"ran out before one trial finished.*at least 10s"):
        raise _nothing_finished(empty, 5.0)


def with_positives(k: int) -> pd.DataFrame:
    """300 rows of which exactly ``k`` are positive (the largest x1)."""
    small = make_frame(n=300, seed=1)
    small["y"] = 0
    small.loc[small["x1"].nlargest(k).index, "y"] = 1
    return small


def test_few_positives_fall_back_to_fewer_folds() -> None:
    """Check that too few positives for the folds asked fall back, with a note."""
    small = with_positives(9)  # 2 held out, 7 left: 3 folds of at least 2
    g = fit(small, "y", 1, "recall>=0.5", budget=60, levers=["logistic"], cv=5, jobs=1,
            max_trials=1)
    assert g.info["cv"] == 3 and g.info["cv_asked"] == 5
    assert any("folds (of the 5 asked)" in n for n in g.info["notes"])


BAD = [
    ({"budget": "soon"}, SearchError, "budget 'soon' cannot be read"),
    ({"budget": 2}, SearchError, "too short for one trial: give at least 5s"),
    ({"levers": ["smot"]}, LeverError, "no lever 'smot'.*'smote'"),
    ({"require": "recall>>0.9"}, RequirementError, "cannot be parsed"),
    ({"target": "nope"}, DataError, "nope"),
    ({"target": None}, DataError, "No target column"),
    ({"test_size": 0.95}, SearchError, "test size"),
    ({"cv": 1}, SearchError, "integer >= 2"),
    ({"jobs": 0}, SearchError, "jobs"),
    ({"seed": -1}, SearchError, r"'seed' \(--seed\) must be an integer in \[0, 4294967295\]"),
    ({"seed": 2**32}, SearchError, "seed"),
    ({"require": "recall>=0.99 @99%"}, SearchError, "needs at least 459 positive rows"),
    ({"frame": with_positives(4)}, SearchError, "Only 3 positive rows.*at least 4"),
    ({"frame": make_frame(2000, positives=0.3).assign(city=lambda f: [f"c{i % 40}" for i in
                                                                      range(len(f))]),
      "require": "recall>=0.8 @90% per city"},
     SearchError, r"must hold in every group of 'city', but 40 of the 40 groups have too few "
                  r"rows in the calibration split .*'c0' \(\d+ positives, \d+ negatives\).* and "
                  r"35 more; a guarantee of recall needs at least 11 positives per group\. Merge"),
    ({"frame": make_frame().assign(y=lambda f: np.arange(len(f)) % 3)}, DataError, "y"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD)
def test_bad_input(frame, kwargs, error, match) -> None:
    """Check that bad input is refused before any search, with a message that says the fix."""
    kwargs = dict(kwargs)
    data = kwargs.pop("frame", frame)
    target = kwargs.pop("target", "y")
    require = kwargs.pop("require", "recall>=0.8")
    with pytest.raises(error, match=match):
        fit(data, target, 1, require, **{**OPTIONS, **kwargs})


def test_calibrator_keeps_every_decision() -> None:
    """Check that the winner's calibrator, when kept, maps the threshold with the scores: the
    same rows are flagged, and the ECE of the out-of-fold scores drops."""
    from sklearn.linear_model import LogisticRegression

    from fnguard.search.calibration import calibrate_winner

    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 2))
    y = rng.random(3000) < 1 / (1 + np.exp(-(X[:, 0] - 2)))
    model = LogisticRegression().fit(X, y)
    raw = model.predict_proba(X)[:, 1]
    squashed = np.sqrt(raw)  # overstates every probability
    calibrated, t, band, rec = calibrate_winner(model, squashed, y, 0.5, (0.5, 0.7))
    assert rec["applied"] and rec["ece_after"] < rec["ece_before"] - 0.01
    mapped = calibrated.calibrator_.transform(squashed)
    assert np.array_equal(mapped >= t, squashed >= 0.5)
    assert band[0] == t and np.array_equal(mapped >= band[1], squashed >= 0.7)
    _, t2, _, rec2 = calibrate_winner(model, raw, y, 0.5, None)  # already calibrated
    assert not rec2["applied"] and t2 == 0.5


def test_margin_none_keeps_the_point_estimate(frame, guard) -> None:
    """Check that margin=None chooses the winner's threshold at the edge, as its trial did, and
    that the default margin's threshold catches at least as many out-of-fold positives."""
    plain = _fit(frame, margin=None)
    assert plain.info["margin"] is None and "@" not in plain.info["choice"]["requirement"]
    # the edge of the requirement on the kept new fold split (the median of three)
    assert plain.threshold == sorted(plain.info["threshold_splits"]["thresholds"])[1]
    assert not any("Safety margin" in n for n in plain.info["notes"])
    assert any("Safety margin" in n for n in guard.info["notes"])
    assert guard.levers == plain.levers  # the same search, only the final threshold moves
    margin_recall = guard.info["choice"]["metrics"]["recall"]["value"]
    assert margin_recall >= plain.info["choice"]["metrics"]["recall"]["value"]


def test_bad_margin(frame) -> None:
    """Check that a margin outside (0, 1) is refused before any search."""
    with pytest.raises(SearchError, match="margin"):
        _fit(frame, margin=1.5)


def test_many_levels_bring_target_encoding_into_the_default_pool(frame) -> None:
    """Check that a categorical column with more levels than one-hot keeps adds
    'encode:target' to the default pool, with a note, and that its first trial runs it."""
    wide = frame.assign(shop=[f"s{i % 150:03d}" for i in range(len(frame))])
    g = fit(wide, "y", 1, "recall>=0.8", budget=120, cv=3, jobs=1, max_trials=4)
    assert any("'shop'" in n and "'encode:target'" in n for n in g.info["notes"])
    assert [r["levers"] for r in g.leaderboard][3] == ["encode:target", "lightgbm:weighted"]
    narrow = _fit(frame)  # named levers: the pool stays as asked
    assert not any("encode:target" in str(r["levers"]) for r in narrow.leaderboard)


def test_a_column_that_gives_the_label_away_gets_a_note(frame) -> None:
    """Check that fit names a column that alone separates the classes, and how to drop it."""
    leaky = frame.assign(outcome=np.where(frame["y"] == 1, "closed: fraud", "closed: ok"))
    g = _fit(leaky, max_trials=1)
    notes = [n for n in g.info["notes"] if "'outcome' alone separates" in n]
    assert len(notes) == 1 and "--drop outcome" in notes[0]
    assert not any("alone separates" in n for n in _fit(frame, max_trials=1).info["notes"])


def test_columns_left_out_at_fit_are_not_drift_at_predict(frame) -> None:
    """Check that --drop columns, identifier and row-number columns are recorded in the
    Guard, and that new data holding them predicts without a drift warning (an unknown column
    still warns)."""
    import warnings

    from fnguard.errors import FnguardWarning

    table = frame.assign(id=np.arange(len(frame)), ref=[f"r{i:05d}" for i in range(len(frame))],
                         rownames=np.arange(1, len(frame) + 1))
    g = _fit(table, drop="id", max_trials=1)
    assert g.info["dropped"] == ["id", "ref", "rownames"]
    assert any("'ref' (100% distinct)" in n for n in g.info["notes"])
    assert any("numbers the rows" in n and "'rownames'" in n for n in g.info["notes"])
    new = table.drop(columns="y").head(20)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FnguardWarning)
        g.predict(new)
    with pytest.warns(FnguardWarning, match="'extra'"):
        g.predict(new.assign(extra=1))


def test_a_guard_that_flags_nearly_everyone_says_so(guard) -> None:
    """On features that carry no signal, recall>=0.95 is reached only by flagging nearly every
    row: the notes say so (and not on the informative frame)."""
    rng = np.random.default_rng(5)
    noise = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400),
                          "y": (rng.random(400) < 0.2).astype(int)})
    g = fit(noise, "y", 1, "recall>=0.95", budget=120, levers=["logistic"], cv=3, jobs=1,
            max_trials=2, margin=None)
    fpr = g.metrics["fpr"]["value"]
    flagged = [n for n in g.info["notes"] if "barely better than flagging everyone" in n]
    assert (fpr >= 0.9) == bool(flagged)
    assert flagged and f"{fpr:.0%}" in flagged[0]
    assert not any("flagging everyone" in n for n in guard.info["notes"])


def test_more_jobs_than_cores_are_capped_with_a_note(frame, monkeypatch) -> None:
    """Check that jobs above the machine's cores fit that many folds at once, and say so
    (99 processes on 2 cores made the first trial about 4 times slower)."""
    import os

    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    g = _fit(frame, jobs=3, max_trials=1)
    assert "jobs=3 (--jobs) is more than this machine's 1 core: 1 fold at once." in (
        g.info["notes"]
    )


def test_a_requirement_met_on_few_test_cases_gets_a_note(guard) -> None:
    """Check that meeting the requirement on a test set of few positives says that its
    interval cannot confirm it (precision>=0.99 was called met on 2 true positives, interval
    [0.34, 1], without a word), and that the note counts the cases behind the metric."""
    assert guard.met and guard.metrics["tp"] + guard.metrics["fn"] < 20
    recall = guard.metrics["recall"]
    notes = [n for n in guard.info["notes"] if "can hardly confirm it" in n]
    assert notes == [
        f"recall met recall>=0.8 on the test set ({recall['value']:.4f}), but from "
        f"{guard.metrics['tp'] + guard.metrics['fn']} cases only (95% interval "
        f"[{recall['low']:.4f}, {recall['high']:.4f}]): the test set can hardly confirm it. "
        "More data would, or a guarantee on a calibration split ('recall>=0.8 maximize "
        "precision @95%')."
    ]
    big = _fit(make_frame(2000), max_trials=1)
    assert not any("can hardly confirm it" in n for n in big.info["notes"])


def test_a_precision_requirement_missed_gets_the_right_advice() -> None:
    """Check, on caravan, a precision target that the search's trial met out of fold by a few
    flagged rows, that no new fold split of it meets, and that the test set misses with a
    threshold that flags no row: the notes say so (no --margin advice: precision carries
    none; no note on the few rows behind a choice that did not meet it), and that the test
    precision is undefined (it was shown as 0 [0, 0])."""
    from fnguard.data.datasets import load

    d = load("caravan")
    g = fit(d.X.assign(Purchase=d.y), "Purchase", True, "precision>=0.8", budget=60,
            levers=["logistic"], max_trials=1, jobs=1)
    assert not g.met and g.metrics["tp"] + g.metrics["fp"] == 0
    notes = " ".join(g.info["notes"])
    assert g.leaderboard[g.info["best_trial"]]["met"] and not g.info["choice"]["met"]
    assert "met the requirement on the search's folds but not on new fold splits" in notes
    assert "--margin" not in notes and "a choice resting on so few cases" not in notes
    assert "The threshold flags no row of the test set: its precision is undefined" in notes


def test_an_empty_review_band_says_why() -> None:
    """Check that a band left empty by a tie at the threshold larger than the capacity (120
    rows share the score 0.5; 2% of 500 is 10) gets a note; a band with cases gets none."""
    from fnguard.decide import parse_requirement
    from fnguard.search.fit import operating_point

    y = np.r_[np.ones(50, bool), np.zeros(450, bool)]
    tied = np.r_[np.full(30, 0.9), np.full(20, 0.5), np.full(100, 0.5), np.full(350, 0.1)]
    p = operating_point(y, tied, parse_requirement("recall>=0.8"), margin=None)
    assert p["band"] == (0.5, 0.5) and p["review"]["n_review"] == 0
    assert any("The review band is empty: the 120 rows at the threshold share one score "
               "(3 distinct scores in all), more than the review capacity (2% of the rows, 10)"
               in n for n in p["notes"])
    fine = np.r_[np.linspace(0.3, 1, 50), np.linspace(0, 0.7, 450)]
    p = operating_point(y, fine, parse_requirement("recall>=0.8"), margin=None)
    assert p["review"]["n_review"] > 0 and not any("band is empty" in n for n in p["notes"])


def test_few_test_cases_note_suggests_no_second_guarantee() -> None:
    """Check that a guaranteed requirement met on few test positives is not told to add a
    guarantee ('recall>=0.7 @90% @95%' does not parse)."""
    g = fit(make_frame(500, seed=1), "y", 1, "recall>=0.7 @90%", budget=60, levers=["logistic"],
            max_trials=1, cv=3, jobs=1)
    notes = [n for n in g.info["notes"] if "can hardly confirm it" in n]
    assert g.met and len(notes) == 1
    assert notes[0].endswith("the test set can hardly confirm it. More data would.")


def test_pyarrow_backed_frames_fit_and_predict_as_plain_ones() -> None:
    """Check that a frame of pyarrow-backed columns (dtype_backend="pyarrow": floats, ints
    with nulls, strings, bools, timestamps, and the label) fits and predicts as the same frame
    with plain dtypes (every trial failed on the timestamps: 'Integer value ... not in
    range')."""
    import pyarrow as pa

    plain = make_frame(400, seed=2).assign(
        when=pd.date_range("2024-01-01", periods=400, freq="h"),
        flag=lambda f: f["x1"] > 0,
    )
    arrow = plain.convert_dtypes(dtype_backend="pyarrow")
    arrow["when"] = arrow["when"].astype(pd.ArrowDtype(pa.timestamp("ns")))
    assert all(isinstance(t, pd.ArrowDtype) for t in arrow.dtypes)
    kw = {"budget": 60, "levers": ["logistic"], "max_trials": 1, "cv": 3, "jobs": 1}
    a, b = fit(arrow, "y", 1, "recall>=0.8", **kw), fit(plain, "y", 1, "recall>=0.8", **kw)
    assert a.threshold == b.threshold and a.metrics["fn"] == b.metrics["fn"]
    new = arrow.drop(columns="y").head(50)
    same = plain.drop(columns="y").head(50)
    np.testing.assert_allclose(a.predict(new)["score"], b.predict(same)["score"])


def test_threshold_comes_from_new_fold_splits(guard, frame) -> None:
    """Check that the winner's threshold is chosen on its out-of-fold scores from three new
    fold splits (not the search's own, which picked it and flatter it): each split's threshold
    recomputed here equals the recorded one, and the median is the Guard's."""
    from fnguard.search.fit import operating_point
    from fnguard.search.objective import oof_scores
    from fnguard.search.split import cv_folds

    search, _ = _rows(frame)
    d = load_table(frame, "y", positive=1)
    X, y = d.X.iloc[search], np.asarray(d.y, bool)[search]
    got = guard.info["threshold_splits"]
    assert got["splits"] == 3 and guard.info["threshold_from"] == "out-of-fold"
    expected = []
    for r in range(3):
        folds, _ = cv_folds(y, guard.info["cv"], 0 + 1 + r)
        model = build(guard.levers, d.schema, params=guard.params, random_state=0)
        oof, _ = oof_scores(model, X, y, folds)
        point = operating_point(y, oof, parse_requirement("recall>=0.8"), margin=0.9)
        expected.append(point["decision"].threshold)
    np.testing.assert_allclose(got["thresholds"], expected, rtol=1e-9)
    assert guard.info["choice"]["threshold"] == sorted(expected)[1]
    assert any(n.startswith("The threshold was chosen on the winner's out-of-fold scores from "
                            "3 new fold splits") for n in guard.info["notes"])


def test_no_time_for_new_fold_splits_keeps_the_search_scores() -> None:
    """Check that with the budget spent, the threshold is chosen on the search's own scores of
    the winner, with a note saying so and how to avoid it."""
    import time
    import types

    from fnguard.search.fit import _fresh_threshold, operating_point

    rng = np.random.default_rng(0)
    y = np.r_[np.ones(60, bool), np.zeros(540, bool)]
    s = np.where(y, rng.normal(1, 1, y.size), rng.normal(0, 1, y.size))
    result = types.SimpleNamespace(best=0, oof={0: s}, fold_seconds={0: [1.0, 1.0, 1.0]})
    req = parse_requirement("recall>=0.8")
    scores, point, record, note = _fresh_threshold(
        None, None, None, y, None, req, result, 0, 0.9,
        {"folds": 3, "jobs": 1, "deadline": time.monotonic() - 1.0})
    assert scores is s and record == {"splits": 0, "thresholds": []}
    assert point["decision"].threshold == operating_point(y, s, req, margin=0.9)[
        "decision"].threshold
    assert "search's own out-of-fold scores" in note and "--budget" in note
