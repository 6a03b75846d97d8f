"""Tests of a final test set given as its own table: fnguard.fit(test=...)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fnguard.data import load_table
from fnguard.errors import DataError, FnguardWarning
from fnguard.metrics import summary
from fnguard.search import SearchError, fit
from fnguard.search.split import holdout_split
from fnguard.search.test_table import read_test_table

from .conftest import make_frame

OPTIONS = {"budget": 120, "levers": ["logistic", "random-under"], "cv": 3, "jobs": 1,
           "max_trials": 4}


def _parts(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The default fit's search rows and test rows, as two tables."""
    search, test = holdout_split(frame["y"].to_numpy() == 1, 0.2, 0)
    return frame.iloc[search].reset_index(drop=True), frame.iloc[test].reset_index(drop=True)


@pytest.fixture(scope="module")
def both(frame):
    """The default fit (20% held out) and the fit of its search rows with its test rows as
    the test table."""
    train, test = _parts(frame)
    return fit(frame, "y", 1, "recall>=0.8", **OPTIONS), fit(
        train, "y", 1, "recall>=0.8", test=test, **OPTIONS)


def test_a_test_table_is_the_held_out_split_given_apart(both) -> None:
    """Check that a test table made of the default split's test rows gives the same Guard as
    the default fit: same search, threshold, band and test figures (the split is the only
    difference, and it holds the same rows)."""
    held, given = both
    assert given.levers == held.levers and given.params == held.params
    assert given.threshold == held.threshold and given.review_band == held.review_band
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in held.leaderboard]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in given.leaderboard] == strip
    np.testing.assert_allclose(given.holdout["score"], held.holdout["score"])
    assert np.array_equal(given.holdout["y"], held.holdout["y"])
    for name in ("recall", "precision", "fpr", "tp", "fp", "tn", "fn"):
        assert given.metrics[name] == held.metrics[name]
    assert given.met == held.met
    assert given.info["reference"] == held.info["reference"]


def test_the_guard_records_its_test_table(both, frame) -> None:
    """Check the record: the test table's name, no test size, the sizes of both tables."""
    held, given = both
    assert held.info["test_size"] == 0.2 and "test_table" not in held.info
    assert given.info["test_size"] is None and given.info["test_table"] == "the test DataFrame"
    assert given.info["split"] == held.info["split"]
    assert given.info["split"]["rows"] == len(frame)
    # the fingerprint is the training table's: the one retrain and diagnose are given
    train, _ = _parts(frame)
    from fnguard.search.fit import fingerprint

    d = load_table(train, "y", positive=1)
    assert given.info["fingerprint"] == fingerprint(d.X, d.y)


def test_test_table_features_change_no_choice(both, frame) -> None:
    """Check that garbage in the test table's features changes nothing chosen, only the
    test figures, which are those of the Guard's own scores of the table."""
    _, given = both
    train, test = _parts(frame)
    rng = np.random.default_rng(7)
    bad = test.assign(x1=rng.normal(size=len(test)) * 50, x2=rng.normal(size=len(test)) * 50)
    poisoned = fit(train, "y", 1, "recall>=0.8", test=bad, **OPTIONS)
    assert poisoned.levers == given.levers and poisoned.threshold == given.threshold
    assert poisoned.leaderboard[0]["threshold"] == given.leaderboard[0]["threshold"]
    with pytest.warns(FnguardWarning, match="far outside the training range"):
        scores = poisoned.score(bad)
    np.testing.assert_allclose(poisoned.holdout["score"], scores)
    ref = summary(bad["y"].to_numpy() == 1, scores, poisoned.threshold, positive=True, n_boot=0)
    assert poisoned.metrics["recall"]["value"] == pytest.approx(ref["recall"].value)
    assert poisoned.metrics["tp"] == ref["tp"].value


def test_read_as_new_data_with_notes(frame) -> None:
    """Check that the test table is read by the training schema (text numbers, its own column
    order, extra columns) and that drift and rows shared with training get notes."""
    train, test = _parts(frame)
    d = load_table(train, "y", positive=1)
    odd = test.assign(x1=test["x1"].map(str), cat=test["cat"].where(test.index % 9 != 0, "zzz"),
                      note="free text")[["y", "note", "cat", "x3", "x2", "x1"]]
    odd = pd.concat([odd, train.head(3)], ignore_index=True)
    held = read_test_table(odd, d)
    assert list(held.X.columns) == d.schema.names
    assert held.X["x1"].dtype == np.float64
    np.testing.assert_allclose(held.X["x1"].to_numpy()[: len(test)], test["x1"])
    assert held.y.tolist() == (odd["y"] == 1).tolist()
    text = " ".join(held.notes)
    assert "'zzz'" in text and "'note'" in text
    assert "3 rows of the test DataFrame (2.9%)" in text
    assert "If they are the same cases" in text


def test_shared_values_of_few_distinct_rows_are_only_a_note() -> None:
    """Check that a test table drawn apart from the training table, on features with few
    values (so every test row repeats some training row's values), is accepted with a note
    that says why, and that only the training table itself is refused."""
    rng = np.random.default_rng(3)

    def draw(n: int) -> pd.DataFrame:
        a, b = rng.integers(0, 3, size=(2, n))
        return pd.DataFrame({"a": a, "b": b, "y": (a + b + rng.integers(0, 3, n) > 4) * 1})

    train, test = draw(600), draw(150)
    d = load_table(train, "y", positive=1)
    held = read_test_table(test, d)
    text = " ".join(held.notes)
    assert "150 rows of the test DataFrame (100.0%)" in text
    assert "only 9 distinct feature rows in 600" in text
    shuffled = train.sample(frac=1.0, random_state=0)
    with pytest.raises(DataError, match="holds the same rows and labels as the training DataFrame"):
        read_test_table(shuffled, d)
    relabelled = shuffled.assign(y=1 - shuffled["y"])
    assert read_test_table(relabelled, d).notes  # other labels: another table, a note only


@pytest.mark.parametrize(
    ("train_y", "test_y"),
    [([1, 0], [1.0, 0.0]), ([1.0, 0.0], [1, 0]), ([True, False], [1, 0]),
     ([1, 0], ["1", "0"]), (["Yes", "No"], ["yes", "no"]), ([True, False], ["true", "false"]),
     ([1.0, 0.0], ["1", "0"]), ([1, 0], ["1.0", "0.0"]), ([True, False], ["yes", "no"]),
     (["1", "0"], [1, 0])],
)
def test_the_same_labels_written_otherwise(frame, train_y, test_y) -> None:
    """Check that labels equal by the command line's rules (1 and 1.0, True and 1, Yes and
    yes) are the same labels in the two tables."""
    train, test = _parts(frame)
    pos = train_y[0]
    train = train.assign(y=np.where(train["y"] == 1, train_y[0], train_y[1]).tolist())
    test = test.assign(y=np.where(test["y"] == 1, test_y[0], test_y[1]).tolist())
    d = load_table(train, "y", positive=pos)
    assert read_test_table(test, d).y.tolist() == (test["y"] == test_y[0]).tolist()


def test_test_table_as_a_dataset(frame) -> None:
    """Check that a Dataset is accepted as the test table, and its labels checked."""
    train, test = _parts(frame)
    d = load_table(train, "y", positive=1)
    held = read_test_table(load_table(test, "y", positive=1), d)
    assert held.y.tolist() == (test["y"] == 1).tolist()
    with pytest.raises(DataError, match="labels 0 and 1"):
        read_test_table(load_table(test, "y", positive=0), d)


def test_a_test_dataset_without_a_training_column_says_why() -> None:
    """Check that a test Dataset whose load left out a column as an identifier (decided table
    by table) is refused with the reason and the fix, and that its frame is accepted."""
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"shop": rng.choice([f"s{i}" for i in range(2000)], 3000),
                          "x": rng.normal(size=3000), "y": rng.integers(0, 2, 3000)})
    test = pd.DataFrame({"shop": [f"t{i}" for i in range(120)], "x": rng.normal(size=120),
                         "y": rng.integers(0, 2, 120)})
    d = load_table(train, "y", positive=1)
    assert "shop" in d.schema.names
    loaded = load_table(test, "y", positive=1)
    assert "shop" in loaded.dropped and any("'shop'" in n for n in loaded.notes)
    with pytest.raises(DataError, match="left out 1 column that the training table keeps: 'shop'"):
        read_test_table(loaded, d)
    assert len(read_test_table(test, d).X) == 120


@pytest.mark.parametrize(
    ("make_test", "match"),
    [
        (lambda t: t.assign(y=np.where(t["y"] == 1, "yes", "no")),
         r"holds the labels 'no' and 'yes'; the training table's are 1 \(positive\) and 0"),
        (lambda t: t.drop(columns="x2"), "lacks 1 column the model was trained on: 'x2'"),
        (lambda t: t.drop(columns="y"),
         r"no target column 'y': .* X_test.assign\(\*\*\{'y': y_test\}\)"),
        (lambda t: t.assign(y=0), "holds only 0: recall and precision need both"),
        (lambda t: "  ", "path is empty"),
        (lambda t: (t.drop(columns="y"), t["y"]), "put the labels in the frame"),
        (lambda t: t.assign(x1="abc"), "'x1'"),
        (lambda t: [1, 2, 3], "must be a path to a CSV or Parquet file, a DataFrame or a Dataset"),
    ],
)
def test_bad_test_tables(frame, make_test, match) -> None:
    """Check the errors for test tables that cannot serve: before any search."""
    train, test = _parts(frame)
    with pytest.raises(DataError, match=match):
        fit(train, "y", 1, "recall>=0.8", test=make_test(test), **OPTIONS)


def test_the_training_table_as_test_table_is_refused(frame) -> None:
    """Check that the training table given again as the test table is refused, and a part of
    it when its rows are distinct."""
    train, _ = _parts(frame)
    with pytest.raises(DataError, match="holds the same rows and labels as the training"):
        fit(train, "y", 1, test=train, **OPTIONS)
    # a part of a training table of distinct rows is refused too
    with pytest.raises(DataError, match=r"Every row of the test DataFrame is also a row of the "
                                        r"training DataFrame \(the same feature values\)"):
        fit(train, "y", 1, test=train.head(50), **OPTIONS)


def test_test_table_and_test_size_together_are_refused(frame) -> None:
    """Check that a test table and a test size are not both accepted."""
    train, test = _parts(frame)
    with pytest.raises(SearchError, match=r"Both a test table and a test size \(0.3\)"):
        fit(train, "y", 1, test=test, test_size=0.3, **OPTIONS)


def test_default_test_size_is_a_fifth() -> None:
    """Check that test_size=None holds out 20%, as before."""
    guard = fit(make_frame(200), "y", 1, "recall>=0.6", **OPTIONS)
    assert guard.info["test_size"] == 0.2 and guard.info["split"]["test_rows"] == 40


def test_missing_test_labels_are_named_as_such_when_written_otherwise(frame) -> None:
    """Check that labels written otherwise (1.0 in training, "1" here) with a missing one get
    the missing-label error, not a mismatch of labels."""
    train, test = _parts(frame)
    d = load_table(train.assign(y=train["y"].astype(float)), "y", positive=1.0)
    labels = test["y"].map(str).where(test.index != 3, None)
    with pytest.raises(DataError, match="missing or empty value"):
        read_test_table(test.assign(y=labels), d)


def test_a_test_dataset_of_one_class_is_refused(frame) -> None:
    """Check that a test Dataset whose labels hold one class (built by hand: load_table
    refuses one) is refused: recall and precision need both."""
    import dataclasses

    train, test = _parts(frame)
    d = load_table(train, "y", positive=1)
    loaded = load_table(test, "y", positive=1)
    one = dataclasses.replace(loaded, y=np.zeros(len(loaded.y), dtype=bool))
    with pytest.raises(DataError, match="holds only negative rows"):
        read_test_table(one, d)


def test_too_few_positives_for_a_guarantee_name_the_training_table(frame) -> None:
    """Check that with a test table (nothing split off), a guarantee with too few positives
    for its calibration split speaks of the training table, not of a test split there was
    not."""
    train, test = _parts(frame)
    with pytest.raises(SearchError) as caught:
        fit(train, "y", 1, "recall>=0.999 @99%", test=test, **OPTIONS)
    message = " ".join(str(caught.value).split())
    assert "positives are in the training table" in message
    assert "test split" not in message
