"""Tests of fnguard.levers.build: pipelines from lever names, threshold and review levers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import SMOTE, SMOTEN, SMOTENC
from imblearn.pipeline import Pipeline
from sklearn.base import clone
from sklearn.compose import ColumnTransformer

from fnguard.data.datasets import load_lending_club
from fnguard.data.schema import infer_schema
from fnguard.decide import ReviewBand, ThresholdTuner
from fnguard.levers import LeverError, build, registry
from fnguard.levers.registry import register


@pytest.fixture
def smote_levers() -> Iterator[None]:
    """'smote', 'smote-nc' and 'smoten', registered here if the samplers module has not."""
    added = []
    for name, cls in (("smote", SMOTE), ("smote-nc", SMOTENC), ("smoten", SMOTEN)):
        if name not in registry:
            register(name, "resampling", "sampler", "Test stand-in.", "Test stand-in.")(cls)
            added.append(name)
    yield
    for name in added:
        registry._levers.pop(name)


@pytest.fixture(scope="module")
def lending() -> tuple[pd.DataFrame, np.ndarray, object]:
    """1,500 Lending Club loans: numeric and categorical columns."""
    data = load_lending_club()
    rows = np.random.default_rng(0).choice(data.n_rows, 1500, replace=False)
    return data.X.iloc[rows].reset_index(drop=True), data.y[rows], data.schema


def test_steps_in_order_and_named_by_lever(lending) -> None:
    """Check the order features, transformers, samplers, classifier, each named by its lever."""
    X, y, schema = lending
    pipe = build(["lightgbm", "select:mutual-info", "pca"], schema,
                 params={"lightgbm": {"n_estimators": 10}, "select:mutual-info": {"k": 12}})
    assert isinstance(pipe, Pipeline)
    assert list(pipe.named_steps) == ["features", "select:mutual-info", "pca", "lightgbm"]
    assert pipe.named_steps["lightgbm"].n_estimators == 10
    assert pipe.named_steps["lightgbm"].random_state == 0
    proba = pipe.fit(X, y).predict_proba(X)
    assert pipe.named_steps["pca"].n_features_in_ == 12
    assert ((proba >= 0) & (proba <= 1)).all()


def test_default_classifier_is_noted() -> None:
    """Check that logistic ends a pipeline without a classifier, and the note says so."""
    pipe = build("scale:standard")
    assert list(pipe.named_steps) == ["scale:standard", "logistic"]
    assert any("'logistic'" in note for note in pipe.fnguard_notes_)


def test_schema_levers_configure_the_feature_step(lending) -> None:
    """Check that scale:* and encode:* with a schema set the feature step's options."""
    X, y, schema = lending
    pipe = build(["scale:quantile", "encode:target", "tree"], schema,
                 params={"encode:target": {"smooth": 5.0}, "scale:quantile": {"n_quantiles": 50}})
    assert list(pipe.named_steps) == ["features", "tree"]
    parts = {name: part for name, part, _ in pipe.named_steps["features"].transformers}
    assert type(parts["categorical"]["encode"]).__name__ == "TargetEncoder"
    assert parts["categorical"]["encode"].smooth == 5.0
    assert parts["numeric"]["scale"].n_quantiles == 50
    pipe.fit(X, y)
    assert pipe.named_steps["tree"].n_features_in_ == len(schema)


def test_smote_becomes_smote_nc_with_categories(lending, smote_levers) -> None:
    """Check that smote is replaced by SMOTE-NC on the categorical codes, then encoded."""
    X, y, schema = lending
    pipe = build(["smote", "logistic"], schema, params={"smote": {"k_neighbors": 3}})
    assert list(pipe.named_steps) == ["features", "smote-nc", "encode", "logistic"]
    sampler = pipe.named_steps["smote-nc"]
    assert isinstance(sampler, SMOTENC) and sampler.k_neighbors == 3
    n_cat = len(schema.categorical())
    assert list(sampler.categorical_features) == list(range(n_cat))
    assert any("'smote-nc' replaces 'smote'" in note for note in pipe.fnguard_notes_)
    pipe.fit(X, y)
    coded = pipe.named_steps["features"].transform(X)
    # The codes are whole numbers: no synthetic row can hold a fraction of a category.
    resampled, y_res = sampler.fit_resample(coded, y)
    assert y_res.sum() > y.sum()
    np.testing.assert_array_equal(resampled[:, :n_cat], np.round(resampled[:, :n_cat]))
    assert isinstance(pipe.named_steps["encode"], ColumnTransformer)


def test_smote_becomes_smoten_when_all_categorical(smote_levers) -> None:
    """Check that smote is replaced by SMOTEN when every column is categorical."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.choice(list("xyz"), 300), "b": rng.choice(list("pq"), 300)})
    y = (X["a"] == "x").to_numpy() & (rng.random(300) < 0.3)
    pipe = build(["smote", "logistic"], infer_schema(X))
    assert isinstance(pipe.named_steps["smoten"], SMOTEN)
    assert pipe.fit(X, y).predict_proba(X).shape == (300, 2)


def test_smote_kept_without_categories(smote_levers) -> None:
    """Check that numeric data keep plain SMOTE, with nothing noted about it."""
    X = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0) ** 2})
    pipe = build(["smote", "logistic"], infer_schema(X))
    assert list(pipe.named_steps) == ["features", "smote", "logistic"]
    assert pipe.fnguard_notes_ == []


@pytest.mark.parametrize(
    ("levers", "kwargs", "match"),
    [
        (["tree", "knn"], {}, "Only one classifier"),
        (["lightgbn"], {}, "Did you mean 'lightgbm'"),
        (["tree", "tree"], {}, "more than once"),
        (["tree"], {"params": {"knn": {"n_neighbors": 3}}}, "not among the levers"),
        (["tree", "threshold"], {}, "act on a fitted model"),
        (["tree"], {"params": {"tree": {"depth": 3}}}, "'tree' does not take"),
        (["scale:standard", "scale:quantile"], {"schema": "lending"}, "keep one"),
        (["encode:target"], {"schema": "lending", "params": {"encode:target": {"x": 1}}},
         "'encode:target' does not take"),
        # arguments of the wrong type
        (None, {}, r"levers must be a list of lever names, such as \['smote', 'lightgbm'\], "
         r"or one name; got NoneType \(None\)"),
        ([1, "tree"], {}, r"must be lever names \(str\); got 1 \(int\)"),
        (" , ", {}, "name no lever"),
        (["tree"], {"params": {"tree": 3}}, r"parameters of the lever 'tree' must be a dict "
         r"of keyword arguments; got int \(3\)\. Name each one, e\.g\. params="),
        (["tree"], {"params": [("tree", {})]}, "'params' must map lever names"),
        (["tree"], {"schema": pd.DataFrame({"a": [1.0]})}, r"'schema' must be a Schema .*; "
         r"got DataFrame\. To build for a table, pass its schema: schema=fnguard\.data\."
         r"infer_schema"),
        (["tree"], {"schema": ["a"]}, r"'schema' must be a Schema .*; got list\. Pass "
         "Dataset.schema"),
    ],
)
def test_bad_levers(levers: Any, kwargs: dict, match: str, lending) -> None:
    """Check that bad lever lists and arguments are LeverErrors that say what to do."""
    if isinstance(kwargs.get("schema"), str):  # the lending schema, from the fixture
        kwargs = {**kwargs, "schema": lending[2]}
    with pytest.raises(LeverError, match=match):
        build(levers, **kwargs)


def test_comma_separated_levers() -> None:
    """Check that one string of comma-separated names is read as `fnguard fit --levers`
    reads it (it was one unknown lever 'scale:standard,tree')."""
    pipe = build("scale:standard, tree")
    assert list(pipe.named_steps) == ["scale:standard", "tree"]
    assert list(build("tree").named_steps) == ["tree"]


def test_random_state_reaches_nested_estimators() -> None:
    """Check that random_state seeds nested members and never overrides a given one."""
    pipe = build(["voting"], params={"voting": {"estimators": ["tree", "random-forest"]}},
                 random_state=7)
    vote = pipe.named_steps["voting"]
    assert [m.random_state for _, m in vote.estimators] == [7, 7]
    pipe = build(["tree"], params={"tree": {"random_state": 3}}, random_state=7)
    assert pipe.named_steps["tree"].random_state == 3


def test_threshold_lever_wraps_an_estimator() -> None:
    """Check that the threshold lever makes a ThresholdTuner around any estimator."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=400, weights=[0.9], random_state=0)
    tuner = registry["threshold"].make(estimator=build("random-forest"),
                                       requirement="recall>=0.9", n_boot=0, random_state=0)
    assert isinstance(tuner, ThresholdTuner) and tuner.requirement == "recall>=0.9"
    assert "random-forest" in tuner.estimator.named_steps
    assert tuner.fit(X, y).decision_.met
    plain = registry["threshold"].make()  # an unfitted estimator, as every lever's make()
    assert isinstance(plain, ThresholdTuner) and "logistic" in plain.estimator.named_steps
    assert clone(plain).fit(X, y).predict(X).shape == (400,)
    with pytest.raises(LeverError, match="does not take"):
        registry["threshold"].make(requirment="recall>=0.9")


def test_review_lever_places_a_band() -> None:
    """Check that the review lever is review_band with its requirement and capacity fixed."""
    y, s = [0, 0, 1, 1, 0, 1, 0, 0], [0.1, 0.2, 0.3, 0.9, 0.4, 0.8, 0.7, 0.05]
    placer = registry["review"].make(requirement="recall>=0.99", capacity=2)
    band = placer(y, s)
    assert isinstance(band, ReviewBand) and band.n_review == 2 and band.lower == 0.3
    fitted = clone(placer).fit(np.array(s)[:, None], y)  # fit/predict, scores as X
    assert fitted.band_ == band
    part = fitted.predict(s)
    assert part.tolist() == [int(v >= band.lower) + int(v >= band.upper) for v in s]
    assert (part == 1).sum() == band.n_review
    from sklearn.model_selection import cross_val_predict
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(fitted)
    y8, s8 = np.array(y * 6), np.array(s * 6) + np.repeat(np.arange(6), 8) * 1e-3
    assert set(cross_val_predict(placer, s8[:, None], y8, cv=3)) <= {0, 1, 2}
    assert placer.set_params(capacity=3).get_params()["capacity"] == 3


def test_jitter_runs_on_raw_columns_before_the_feature_step() -> None:
    """Check that jitter comes before the feature step, so that the one-hot columns of its
    synthetic rows stay 0/1 (it blurred them when it ran on encoded columns)."""
    data = load_lending_club()
    pipe = build(["jitter", "smote", "logistic"], schema=data.schema, correct_prior=False)
    names = [name for name, _ in pipe.steps]
    assert names.index("jitter") < names.index("features") < names.index("smote-nc")
    assert any("run first, on the raw columns" in note for note in pipe.fnguard_notes_)
    jitter = pipe.named_steps["jitter"]
    X = data.X.iloc[:3000]
    X_res, _ = jitter.fit_resample(X, data.y[:3000])
    jittered = set(X.columns[jitter.numeric_columns_])
    assert jittered <= {c.name for c in data.schema.columns if c.kind == "numeric"}
    onehot = build(["jitter", "logistic"], schema=data.schema).named_steps["features"]
    encoded = onehot.fit(X).transform(X_res.iloc[len(X):])
    names_out = onehot.get_feature_names_out()
    binary = [i for i, n in enumerate(names_out) if n.startswith("categorical__")]
    assert binary and np.isin(encoded[:, binary], [0.0, 1.0]).all()


def test_image_augment_sees_raw_pixels() -> None:
    """Check that image augmentation works on the raw pixel values (0..16 on digits), not
    on standardised ones."""
    from fnguard.data.datasets import load_digits

    data = load_digits()
    pipe = build(["image-augment", "logistic"], schema=data.schema).fit(data.X, data.y)
    assert [name for name, _ in pipe.steps][:2] == ["image-augment", "features"]
    assert pipe.named_steps["image-augment"].value_range_ == (0.0, 16.0)


def test_data_the_pipeline_cannot_read_is_a_data_error() -> None:
    """Check that fitting a schema-built pipeline on an array, or a pipeline without a
    feature step on text columns, is a DataError naming the columns and the fix (scikit-learn
    and numpy errors came out), and that what can be read still fits: the schema's pipeline
    with augmentation first, and numbers held in an object column."""
    from fnguard.errors import DataError

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=120), "cat": rng.choice(["x", "y"], 120)})
    y = (X["a"] > 0.3).to_numpy().astype(int)
    schema = infer_schema(X)
    with pytest.raises(DataError, match=r"built from a schema .*'a', 'cat'.*got ndarray"):
        build(["logistic"], schema).fit(X.to_numpy(), y)
    with pytest.raises(DataError, match=r"1 text column\(s\) .*'cat'\. Build it with schema="):
        build(["jitter", "logistic"]).fit(X, y)
    build(["jitter", "logistic"], schema).fit(X, y)
    numbers = X.drop(columns="cat").assign(b=pd.Series(rng.normal(size=120), dtype=object))
    build(["logistic"]).fit(numbers, y)
    # a model of the user's that encodes text itself, after a sampler: not refused
    from imblearn.under_sampling import RandomUnderSampler
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import OneHotEncoder

    from fnguard.levers.prior import PriorCorrectedPipeline

    own = Pipeline([
        ("encode", ColumnTransformer([("cat", OneHotEncoder(), ["cat"])], remainder="passthrough")),
        ("model", LogisticRegression()),
    ])
    PriorCorrectedPipeline([("under", RandomUnderSampler(random_state=0)), ("own", own)]).fit(X, y)
