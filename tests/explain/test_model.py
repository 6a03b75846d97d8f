"""Tests of fnguard.explain.model: loading, matching and scoring the model explained."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from fnguard.data import load_table
from fnguard.errors import ArtifactError, DataError
from fnguard.explain.model import (
    fold_count,
    folds,
    load_model,
    out_of_fold,
    resolve_model,
    score_fitted,
)


class Custom(LogisticRegression):
    """A classifier from outside the trusted libraries."""


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 300
    a, b = rng.normal(size=n), rng.normal(size=n)
    y = (a + 0.5 * b + rng.normal(0, 0.8, n)) > 0.8
    return pd.DataFrame({"a": a, "b": b, "y": np.where(y, "yes", "no")})


def test_out_of_fold_matches_cross_val_predict(table: pd.DataFrame) -> None:
    """Check out-of-fold scores against scikit-learn's cross_val_predict on the same folds."""
    data = load_table(table, "y", positive="yes")
    splits = folds(data.y, 4, 0)
    ours = out_of_fold(lambda: LogisticRegression(), data.X, data.y, splits)
    ref = cross_val_predict(LogisticRegression(), data.X, data.y,
                            cv=StratifiedKFold(4, shuffle=True, random_state=0),
                            method="predict_proba")[:, 1]
    assert np.allclose(ours, ref)
    assert fold_count(data.y, 5) == 5
    assert fold_count(np.array([True, False, False]), 5) == 1


def test_fitted_model_scores_its_positive_column(table: pd.DataFrame) -> None:
    """Check that a model trained on the original labels scores the positive class."""
    data = load_table(table, "y", positive="yes")
    model = LogisticRegression().fit(table[["a", "b"]], table["y"])
    m = resolve_model(model, data)
    assert m.fitted is model
    expected = model.predict_proba(table[["a", "b"]])[:, list(model.classes_).index("yes")]
    assert np.allclose(score_fitted(m, data.positive), expected)


def test_mismatched_columns(table: pd.DataFrame) -> None:
    """Check that a model fitted on other columns is refused, naming them."""
    data = load_table(table, "y", positive="yes")
    other = table.rename(columns={"b": "c"})
    model = LogisticRegression().fit(other[["a", "c"]], other["y"])
    with pytest.raises(DataError, match=r"lacks c .*feature columns: a, b"):
        resolve_model(model, data)
    bare = LogisticRegression().fit(np.c_[table["a"], table["b"], table["a"]], table["y"])
    with pytest.raises(DataError, match="takes 3 feature columns"):
        resolve_model(bare, data)


def test_load_model(table: pd.DataFrame, tmp_path: Path) -> None:
    """Check skops files load, untrusted types and pickles are refused, with the fix."""
    model = LogisticRegression().fit(table[["a", "b"]], table["y"])
    good = tmp_path / "model.skops"
    sio.dump(model, good)
    assert isinstance(load_model(good), LogisticRegression)
    bad = tmp_path / "custom.skops"
    sio.dump(Custom().fit(table[["a", "b"]], table["y"]), bad)
    with pytest.raises(ArtifactError, match=r"does not trust: .*Custom.*--trust-model"):
        load_model(bad)
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps(model))
    with pytest.raises(ArtifactError, match="not a skops file"):
        load_model(pickled)
    with pytest.raises(ArtifactError, match="does not exist"):
        load_model(tmp_path / "missing.skops")
    # scikit-learn's feature scores load without --trust-model; other functions do not
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    scored = tmp_path / "select.skops"
    sio.dump(make_pipeline(SelectKBest(f_classif, k=1), LogisticRegression()).fit(
        table[["a", "b"]], table["y"]), scored)
    assert load_model(scored).predict(table[["a", "b"]]).shape == (len(table),)
    logged = tmp_path / "log.skops"
    sio.dump(make_pipeline(FunctionTransformer(np.nan_to_num), LogisticRegression()).fit(
        table[["a", "b"]], table["y"]), logged)
    with pytest.raises(ArtifactError, match=r"does not trust: .*nan_to_num"):
        load_model(logged)


def test_guard_folder(table: pd.DataFrame, tmp_path: Path) -> None:
    """Check that a Guard folder loads as a Guard, with its threshold and levers."""
    from fnguard.guard import Guard
    from fnguard.levers import build

    data = load_table(table, "y", positive="yes")
    pipe = build(["logistic"], data.schema).fit(data.X, data.y)
    Guard(pipe, data.schema, "y", "yes", "no", "recall>=0.9", threshold=0.3,
          levers=["logistic"]).save(tmp_path / "guard", report=False)
    guard = load_model(tmp_path / "guard")
    m = resolve_model(guard, data)
    assert m.threshold == 0.3 and m.levers == ["logistic"]
    assert np.allclose(score_fitted(m, data.positive), guard.score(table))
    wrong = load_table(table, "y", positive="no")
    with pytest.raises(DataError, match="--positive yes"):
        resolve_model(guard, wrong)
    # other labels altogether: passing the Guard's label could not work, recoding does
    recoded = load_table(table.assign(y=table["y"].map({"yes": 1, "no": 0})), "y", positive=1)
    with pytest.raises(DataError, match=r"recode the target column to the Guard's labels "
                       r"\('yes' for a positive, 'no' for a negative\)"):
        resolve_model(guard, recoded)
