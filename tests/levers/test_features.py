"""Tests of fnguard.levers.features: the schema's feature step and the feature levers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fnguard.data.datasets import load_caravan, load_lending_club
from fnguard.data.schema import infer_schema
from fnguard.levers import LeverError, features_from_schema, registry


@pytest.fixture(scope="module")
def lending() -> tuple[pd.DataFrame, np.ndarray, object]:
    """2,000 Lending Club loans: numeric and categorical columns, 5 % positive."""
    data = load_lending_club()
    rows = np.random.default_rng(0).choice(data.n_rows, 2000, replace=False)
    return data.X.iloc[rows].reset_index(drop=True), data.y[rows], data.schema


@pytest.fixture(scope="module")
def caravan() -> tuple[np.ndarray, np.ndarray]:
    """2,000 Caravan customers, 85 numeric features, 6 % positive."""
    data = load_caravan()
    rows = np.random.default_rng(0).choice(data.n_rows, 2000, replace=False)
    return data.X.astype(float).to_numpy()[rows], data.y[rows]


def test_onehot_from_schema(lending) -> None:
    """Check that one-hot encoding gives one column per numeric and per frequent level."""
    X, y, schema = lending
    out = features_from_schema(schema).fit_transform(X, y)
    assert out.shape[0] == len(X) and np.isfinite(out).all()
    levels = sum(min(X[c].nunique(), (X[c].value_counts() >= 5).sum() + 1) for c in
                 schema.categorical())
    assert len(schema.numeric()) < out.shape[1] <= len(schema.numeric()) + levels
    numeric = out[:, : len(schema.numeric())]
    np.testing.assert_allclose(numeric.mean(axis=0), 0, atol=1e-9)


def test_target_encoding_is_cross_fitted(lending) -> None:
    """Check that fit_transform encodes rows out of fold, unlike fit().transform()."""
    X, y, schema = lending
    ct = features_from_schema(schema, categorical="target", random_state=0)
    crossed = ct.fit_transform(X, y)
    plain = ct.transform(X)
    n_num = len(schema.numeric())
    assert crossed.shape == plain.shape == (len(X), n_num + len(schema.categorical()))
    np.testing.assert_allclose(crossed[:, :n_num], plain[:, :n_num])
    assert not np.allclose(crossed[:, n_num:], plain[:, n_num:])
    # In-sample encoding of a level equals its (smoothed) positive rate: one value per level.
    grade = X["sub_grade"].astype(str).to_numpy()
    col = n_num + schema.categorical().index("sub_grade")
    for level in np.unique(grade)[:5]:
        assert np.unique(plain[grade == level, col]).size == 1


def test_quantile_scaling_and_no_imputation() -> None:
    """Check quantile scaling of numeric columns, and that impute=False leaves gaps to the model."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"amount": rng.lognormal(0, 2, 1500), "flag": rng.random(1500) < 0.3})
    frame.loc[:9, "amount"] = np.nan
    schema = infer_schema(frame)
    out = features_from_schema(schema, numeric="quantile").fit_transform(frame)
    assert out.shape == (1500, 1 + 1 + 2)  # value, missing indicator, two levels of the boolean
    assert abs(np.median(out[:, 0])) < 0.1 and np.isfinite(out).all()
    raw = features_from_schema(schema, numeric=None, impute=False).fit_transform(frame)
    assert np.isnan(raw[:10, 0]).all() and raw.shape == (1500, 3)


def test_mixed_booleans_and_dates() -> None:
    """Check that a boolean column with blanks and a date column are encoded, not dropped."""
    frame = pd.DataFrame({
        "ok": [True, None, False, True],
        "day": pd.to_datetime(["2020-01-01", "2020-01-03", None, "2020-01-02"]),
    })
    ct = features_from_schema(infer_schema(frame), numeric=None, categorical="ordinal")
    out = ct.fit_transform(frame)
    days = (pd.Timestamp("2020-01-01") - pd.Timestamp(0)).days
    np.testing.assert_allclose(out[:, 0], [days, days + 2, days + 1, days + 1])
    assert out[2, 1] == 1  # missing date indicator
    assert out.shape == (4, 3)
    assert len(set(out[:, 2])) == 3  # levels True, False and (missing)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"numeric": "robust"}, "'numeric' must be one of"),
        ({"categorical": "hash"}, "'categorical' must be one of"),
    ],
)
def test_bad_options(kwargs: dict, match: str) -> None:
    """Check that an unknown option is a LeverError naming the allowed values."""
    schema = infer_schema(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(LeverError, match=match):
        features_from_schema(schema, **kwargs)


def test_mutual_info_keeps_k(caravan) -> None:
    """Check that select:mutual-info keeps exactly k features."""
    X, y = caravan
    assert registry["select:mutual-info"].make(k=7).fit_transform(X, y).shape == (len(X), 7)


def test_l1_selection_keeps_nonzero_weights(caravan) -> None:
    """Check that select:l1 keeps the features with non-zero L1 weights, fewer than all."""
    X, y = caravan
    X = (X - X.mean(0)) / (X.std(0) + 1e-9)
    selector = registry["select:l1"].make(C=0.01).fit(X, y)
    kept = selector.get_support()
    assert 0 < kept.sum() < X.shape[1]
    np.testing.assert_array_equal(kept, np.abs(selector.estimator_.coef_.ravel()) > 1e-5)


def test_importance_selection(caravan) -> None:
    """Check that select:importance keeps the features above the mean importance."""
    X, y = caravan
    selector = registry["select:importance"].make(n_estimators=20, random_state=0).fit(X, y)
    importances = selector.estimator_.feature_importances_
    np.testing.assert_array_equal(selector.get_support(), importances >= importances.mean())


def test_engineering_levers(caravan) -> None:
    """Check the shapes poly, pca and the scalers promise."""
    X, _y = caravan
    X = X[:, :6]
    assert registry["poly"].make().fit_transform(X).shape[1] == 6 + 15
    assert registry["poly"].make(interaction_only=False).fit_transform(X).shape[1] == 6 + 21
    pca = registry["pca"].make(n_components=0.9).fit(X)
    assert pca.explained_variance_ratio_.sum() >= 0.9 and pca.n_components_ <= 6
    np.testing.assert_allclose(
        registry["scale:standard"].make().fit_transform(X).std(0), 1, atol=1e-6
    )
    q = registry["scale:quantile"].make(n_quantiles=100).fit_transform(X)
    assert np.isfinite(q).all()


def test_encoding_levers_on_their_own(lending) -> None:
    """Check encode:onehot and encode:target as plain steps on categorical columns."""
    X, y, _schema = lending
    cats = X[["sub_grade", "term"]].astype(str)
    onehot = registry["encode:onehot"].make(min_frequency=1).fit_transform(cats)
    assert onehot.shape[1] == cats["sub_grade"].nunique() + cats["term"].nunique()
    target = registry["encode:target"].make(random_state=0)
    assert target.fit_transform(cats, y).shape == (len(X), 2)


def test_onehot_keeps_at_most_the_cap_of_levels() -> None:
    """Check that one-hot encoding of a 300-level column makes ONEHOT_MAX_LEVELS columns (the
    rarer levels share the last), and that many_levels names it."""
    import pandas as pd

    from fnguard.data.schema import infer_schema
    from fnguard.levers.features import ONEHOT_MAX_LEVELS, features_from_schema, many_levels

    levels = np.repeat([f"l{i:03d}" for i in range(300)], np.arange(300) % 7 + 5)
    frame = pd.DataFrame({"zip": levels, "small": np.resize(["a", "b", "c"], len(levels))})
    schema = infer_schema(frame)
    out = features_from_schema(schema, numeric=None).fit_transform(frame)
    assert out.shape == (len(frame), ONEHOT_MAX_LEVELS + 3)
    assert many_levels(schema) == ["zip"]
    assert registry["encode:onehot"].make().max_categories == ONEHOT_MAX_LEVELS
