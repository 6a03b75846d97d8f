"""Tests of fnguard.levers.augment: tabular jitter and image augmentation samplers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import RandomOverSampler
from imblearn.utils.estimator_checks import check_param_validation, estimator_checks_generator
from sklearn.base import clone

from fnguard.data.datasets import load_digits
from fnguard.errors import DataError
from fnguard.levers.augment import ImageAugmenter, TabularJitter
from fnguard.levers.registry import LeverError, registry

# imbalanced-learn's checks feed 20 columns, except these, which feed 2 or 3: the image
# sampler gets an image shape with that many pixels for them instead of being skipped.
_CHECK_IMAGE_SHAPES = {
    "check_samplers_fit": (2, 1),
    "check_sampler_get_feature_names_out": (3, 1),
    "check_sampler_get_feature_names_out_pandas": (3, 1),
}


def _sampler_checks():
    for sampler in (TabularJitter(random_state=0), ImageAugmenter((4, 5), random_state=0)):
        for instance, check in estimator_checks_generator(sampler, mark=None):
            name = check.func.__name__  # the generator yields partial(check, name)
            if isinstance(instance, ImageAugmenter) and name in _CHECK_IMAGE_SHAPES:
                instance = clone(instance).set_params(image_shape=_CHECK_IMAGE_SHAPES[name])
            yield pytest.param(instance, check, id=f"{type(instance).__name__}-{name}")


@pytest.mark.parametrize("sampler, check", list(_sampler_checks()))
def test_imblearn_sampler_checks(sampler, check):
    """Check that both samplers pass imbalanced-learn's sampler checks."""
    check(sampler)


@pytest.mark.parametrize("sampler", [TabularJitter(), ImageAugmenter((5, 1))])
def test_param_validation(sampler):
    """Check that every parameter has a constraint that rejects bad types and values."""
    check_param_validation(type(sampler).__name__, sampler)


# --- TabularJitter -------------------------------------------------------------------------


def _mixed_frame(n_neg=600, n_pos=300, seed=0):
    rng = np.random.default_rng(seed)
    n = n_neg + n_pos
    y = np.r_[np.zeros(n_neg, dtype=int), np.ones(n_pos, dtype=int)]
    X = pd.DataFrame(
        {
            "amount": rng.normal(1000.0, 200.0, n) + 500.0 * y,
            "rate": rng.normal(0.1, 0.02, n).astype(np.float32),
            "count": rng.poisson(20, n).astype(np.int64),
            "grade": pd.Categorical(rng.choice(list("ABC"), n)),
            "row_id": [f"r{i}" for i in range(n)],
            "flag": rng.random(n) < 0.3,
        },
        index=np.arange(n) + 1000,
    )
    return X, y


@pytest.mark.parametrize(
    "strategy, expected_pos", [("auto", 600), (0.6, 360), (0.75, 450), ({1: 400}, 400)]
)
def test_jitter_reaches_requested_ratio(strategy, expected_pos):
    """Check that the class counts after resampling are the ones sampling_strategy asks for."""
    X, y = _mixed_frame()
    _, y_res = TabularJitter(sampling_strategy=strategy, random_state=0).fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [600, expected_pos]


def test_jitter_keeps_originals_first_and_frame_shape():
    """Check that original rows come first, unchanged, and the DataFrame keeps its columns
    and dtypes."""
    X, y = _mixed_frame()
    X_res, y_res = TabularJitter(random_state=0).fit_resample(X, y)
    assert isinstance(X_res, pd.DataFrame)
    assert X_res.columns.tolist() == X.columns.tolist()
    assert X_res.dtypes.to_dict() == X.dtypes.to_dict()
    pd.testing.assert_frame_equal(X_res.iloc[: len(X)], X.reset_index(drop=True))
    np.testing.assert_array_equal(y_res[: len(y)], y)


def test_jitter_noise_matches_within_class_spread():
    """Check that synthetic rows deviate from their source by about noise * the class's std
    per numeric feature, and copy the other columns."""
    X, y = _mixed_frame(n_neg=3000, n_pos=200)
    noise = 0.1
    sampler = TabularJitter(noise=noise, random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    new = X_res.iloc[len(X) :].reset_index(drop=True)
    source = X.iloc[sampler.sample_indices_[len(X) :]].reset_index(drop=True)
    assert (y[sampler.sample_indices_[len(X) :]] == 1).all()
    # the source is the row with the same id: non-numeric columns are copied
    for column in ("row_id", "grade", "flag"):
        pd.testing.assert_series_equal(new[column], source[column])
    positives = X[y == 1]
    for column in ("amount", "rate"):
        deviation = new[column].to_numpy(float) - source[column].to_numpy(float)
        expected = noise * positives[column].std(ddof=0)
        assert abs(deviation.mean()) < 0.1 * expected
        assert deviation.std() == pytest.approx(expected, rel=0.05)
        # within-class spread, not the spread of all rows (amount separates the classes)
        assert expected < noise * X[column].std(ddof=0) or column == "rate"


def test_jitter_rounds_integer_columns():
    """Check that integer columns are jittered, rounded, and stay integers."""
    X, y = _mixed_frame()
    X_res, _ = TabularJitter(noise=0.3, random_state=0).fit_resample(X, y)
    new = X_res["count"].iloc[len(X) :]
    assert new.dtype == np.int64
    assert not np.array_equal(new.to_numpy(), X["count"].iloc[len(X) - len(new) :].to_numpy())


def test_jitter_without_noise_is_random_over_sampling():
    """Check that noise=0 gives exactly imbalanced-learn's RandomOverSampler's rows."""
    X, y = _mixed_frame()
    X_ours, y_ours = TabularJitter(noise=0.0, random_state=3).fit_resample(X, y)
    X_ref, y_ref = RandomOverSampler(random_state=3).fit_resample(X, y)
    pd.testing.assert_frame_equal(X_ours, X_ref.reset_index(drop=True))
    np.testing.assert_array_equal(y_ours, y_ref)


def test_jitter_numeric_columns_restricts_noise():
    """Check that only the listed columns are jittered; the others are copied."""
    X, y = _mixed_frame()
    sampler = TabularJitter(numeric_columns=["rate"], noise=0.2, random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    new = X_res.iloc[len(X) :]
    source = X.iloc[sampler.sample_indices_[len(X) :]]
    np.testing.assert_array_equal(new["amount"].to_numpy(), source["amount"].to_numpy())
    assert not np.array_equal(new["rate"].to_numpy(), source["rate"].to_numpy())
    assert sampler.numeric_columns_.tolist() == [1]


def test_jitter_numpy_arrays_and_missing_values():
    """Check that numpy arrays come back as arrays of the same dtype and NaN stays NaN."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 3)).astype(np.float32)
    X[::7, 0] = np.nan
    y = (np.arange(100) < 20).astype(int)
    sampler = TabularJitter(random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    assert X_res.dtype == np.float32 and X_res.shape == (160, 3)
    source_nan = np.isnan(X[sampler.sample_indices_, 0])
    np.testing.assert_array_equal(np.isnan(X_res[:, 0]), source_nan)


def test_jitter_is_deterministic():
    """Check that the same random_state gives the same rows, another one other rows."""
    X, y = _mixed_frame()
    first, _ = TabularJitter(random_state=7).fit_resample(X, y)
    again, _ = TabularJitter(random_state=7).fit_resample(X, y)
    other, _ = TabularJitter(random_state=8).fit_resample(X, y)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)


# --- ImageAugmenter on the real digits task -----------------------------------------------


@pytest.fixture(scope="module")
def digits():
    data = load_digits(9)
    return data.X.to_numpy(), data.y.astype(int)


def test_images_stay_in_range_and_differ_from_sources(digits):
    """Check that synthetic digits stay in the pixel range, differ from their sources and
    still look like them."""
    X, y = digits
    sampler = ImageAugmenter(random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [np.sum(y == 0)] * 2
    np.testing.assert_array_equal(X_res[: len(X)], X)
    assert sampler.value_range_ == (0.0, 16.0)
    new, source = X_res[len(X) :], X[sampler.sample_indices_[len(X) :]]
    assert new.min() >= 0.0 and new.max() <= 16.0
    assert (np.abs(new - source).max(axis=1) > 0).all()
    similarity = [np.corrcoef(a, b)[0, 1] for a, b in zip(new, source, strict=True)]
    assert np.median(similarity) > 0.7


def test_images_all_off_reproduce_sources(digits):
    """Check that with every transform off the synthetic images are exact copies, the ones
    RandomOverSampler draws."""
    X, y = digits
    off = ImageAugmenter(
        rotation=0, scale=None, brightness=0, contrast=0, noise=0, occlusion=0, random_state=5
    )
    X_res, y_res = off.fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X[off.sample_indices_])
    X_ref, y_ref = RandomOverSampler(random_state=5).fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X_ref)
    np.testing.assert_array_equal(y_res, y_ref)


@pytest.mark.parametrize(
    "transform",
    [
        {"rotation": 20.0},
        {"scale": (0.7, 0.8)},
        {"brightness": 0.2},
        {"contrast": 0.3},
        {"noise": 0.05},
        {"occlusion": 0.3},
    ],
)
def test_each_transform_changes_images(digits, transform):
    """Check that each transform on its own changes the images and keeps them in range."""
    X, y = digits
    off = dict(rotation=0, scale=None, brightness=0, contrast=0, noise=0, occlusion=0)
    sampler = ImageAugmenter(**{**off, **transform}, random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    new, source = X_res[len(X) :], X[sampler.sample_indices_[len(X) :]]
    assert np.mean(np.any(new != source, axis=1)) > 0.5
    assert new.min() >= 0.0 and new.max() <= 16.0


def test_images_deterministic_channels_and_integer_pixels():
    """Check determinism, (H, W, C) images, and uint8 images staying uint8 in range."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(40, 6 * 5 * 3), dtype=np.uint8)
    y = (np.arange(40) < 8).astype(int)
    first, _ = ImageAugmenter((6, 5, 3), random_state=1).fit_resample(X, y)
    again, _ = ImageAugmenter((6, 5, 3), random_state=1).fit_resample(X, y)
    other, _ = ImageAugmenter((6, 5, 3), random_state=2).fit_resample(X, y)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.dtype == np.uint8 and first.shape == (64, 90)
    square, _ = ImageAugmenter(None, random_state=0).fit_resample(X[:, :64], y)
    assert square.shape == (64, 64)


def test_augmentation_keeps_recall_on_digits(digits):
    """Check that LightGBM with ImageAugmenter in an imblearn Pipeline, cross-validated on
    digits (9 against the rest), finds at least as many 9s as without it."""
    from imblearn.pipeline import make_pipeline
    from lightgbm import LGBMClassifier
    from sklearn.metrics import average_precision_score, recall_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    X, y = digits
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    scores = {}
    for name, steps in [("without", []), ("with", [ImageAugmenter(random_state=0)])]:
        model = LGBMClassifier(
            n_estimators=100, num_leaves=15, random_state=0, n_jobs=1, verbose=-1
        )
        score = cross_val_predict(
            make_pipeline(*steps, model), X, y, cv=cv, method="predict_proba"
        )[:, 1]
        scores[name] = (recall_score(y, score >= 0.5), average_precision_score(y, score))
    # measured: without recall 0.894 (AP 0.975), with recall 0.911 (AP 0.984)
    assert scores["with"][0] >= scores["without"][0] - 0.02, scores
    assert scores["with"][1] >= scores["without"][1] - 0.01, scores


# --- bad inputs and the registry -----------------------------------------------------------


def _xy(n_features=64):
    rng = np.random.default_rng(0)
    return rng.uniform(0, 16, size=(30, n_features)), (np.arange(30) < 6).astype(int)


@pytest.mark.parametrize(
    "sampler, X, error, match",
    [
        (ImageAugmenter((8, 8)), _xy(63)[0], DataError, r"holds 64 pixels, but X has 63"),
        (ImageAugmenter(None), _xy(63)[0], DataError, r"63 columns, not a square"),
        (ImageAugmenter((8, 0)), None, LeverError, r"'image_shape' .* positive integers"),
        (ImageAugmenter((64,)), None, LeverError, r"'image_shape' .* Got \(64,\)"),
        (ImageAugmenter(rotation=200.0), None, ValueError, r"'rotation' .* Got 200.0"),
        (ImageAugmenter(rotation=-5.0), None, ValueError, r"'rotation' .* Got -5.0"),
        (ImageAugmenter(noise=-0.1), None, ValueError, r"'noise' .* Got -0.1"),
        (ImageAugmenter(occlusion=1.0), None, ValueError, r"'occlusion' .* Got 1.0"),
        (ImageAugmenter(contrast=1.5), None, ValueError, r"'contrast' .* Got 1.5"),
        (ImageAugmenter(scale=(1.2, 0.8)), None, LeverError, r"0 < low <= high.*\(1.2, 0.8\)"),
        (ImageAugmenter(scale=(0.0, 1.0)), None, LeverError, r"'scale'"),
        (ImageAugmenter(value_range=(16, 0)), None, LeverError, r"low < high.*\(16, 0\)"),
        (ImageAugmenter(value_range=(0, np.inf)), None, LeverError, r"finite.*\(0, inf\)"),
        (ImageAugmenter(value_range=(0, 1)), None, DataError,
         r"\(0, 1\) does not hold the pixels of X, which run from 0.* to 15.*clipped"),
        (ImageAugmenter(scale=(1.0, np.inf)), None, LeverError, r"high <= 10.*\(1.0, inf\)"),
        (ImageAugmenter(), np.zeros((30, 8, 8)), DataError,
         r"shape \(30, 8, 8\). Pass X.reshape\(len\(X\), -1\) with image_shape=\(8, 8\)"),
        (ImageAugmenter(), np.full((30, 64), np.nan), ValueError, "Input X contains NaN"),
        (TabularJitter(noise=-0.05), None, ValueError, r"'noise' .* Got -0.05"),
        (TabularJitter(numeric_columns=[99]), None, DataError, r"position 99.*64 columns"),
        (TabularJitter(numeric_columns=["amount"]), None, DataError, r"'amount'.*not a column"),
    ],
)
def test_bad_inputs(sampler, X, error, match):
    """Check that bad parameters and mismatched data raise errors that say what is wrong."""
    X_default, y = _xy()
    with pytest.raises(error, match=match):
        sampler.fit_resample(X_default if X is None else X, y)


def test_jitter_rejects_non_numeric_and_sparse():
    """Check that jittering a text column or a sparse matrix is refused with the fix."""
    from scipy import sparse

    X, y = _mixed_frame()
    with pytest.raises(DataError, match=r"'grade' has dtype category, not a number"):
        TabularJitter(numeric_columns=["grade"]).fit_resample(X, y)
    with pytest.raises(DataError, match=r"X.toarray\(\)"):
        TabularJitter().fit_resample(sparse.csr_matrix(np.eye(10)), np.r_[[0] * 7, [1] * 3])


def test_levers_registered():
    """Check that both levers are registered as augmentation samplers with a search space."""
    optuna = pytest.importorskip("optuna")
    jitter, image = registry["jitter"], registry["image-augment"]
    assert (jitter.family, jitter.kind) == ("augmentation", "sampler")
    assert (image.family, image.kind) == ("augmentation", "sampler")
    assert "6 can become a 9" in image.risk
    assert isinstance(jitter.make(noise=0.1), TabularJitter)
    assert image.make().image_shape is None
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    params = jitter.space(trial)
    assert 0.01 <= params["noise"] <= 0.3 and 0.1 <= params["sampling_strategy"] <= 1.0
    assert isinstance(image.make(**image.space(trial)), ImageAugmenter)


@pytest.mark.parametrize("name", ["jitter", "image-augment"])
def test_search_asks_for_more_than_the_data_ratio(name):
    """Check that the searched ratio starts above the data's own (imbalanced-learn refuses a
    ratio that would remove minority rows: every such trial failed)."""
    optuna = pytest.importorskip("optuna")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(30):
        trial = study.ask()
        trial.class_ratio = 0.59  # what the search's trials carry
        assert registry[name].space(trial)["sampling_strategy"] >= 0.59 * 1.1 - 1e-12


def test_jitter_moves_small_counts_and_keeps_their_mean():
    """Check that a count with a small spread still moves at the default noise (stochastic
    rounding: rounding to nearest gave back the source every time) and keeps its mean."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"count": rng.integers(0, 10, 400)})
    y = np.r_[np.zeros(300, int), np.ones(100, int)]
    sampler = TabularJitter(random_state=0, sampling_strategy=1.0)
    X_res, _ = sampler.fit_resample(X, y)
    source = X["count"].to_numpy()[sampler.sample_indices_[400:]]
    new = X_res["count"].to_numpy()[400:]
    assert X_res["count"].dtype == np.int64
    moved = new != source
    assert 0.02 < moved.mean() < 0.5
    assert abs((new - source).mean()) < 0.05


def test_jitter_spread_ignores_infinite_values():
    """Check that one infinite value does not turn the noise of its column off."""
    X = pd.DataFrame({"a": np.r_[np.arange(90.0), np.arange(9.0), np.inf]})
    y = np.r_[np.zeros(90, int), np.ones(10, int)]
    sampler = TabularJitter(noise=0.5, random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    assert sampler.scale_[1][0] == pytest.approx(0.5 * np.arange(9.0).std())
    finite = np.isfinite(X_res["a"].to_numpy()[100:])
    assert finite.any() and not np.isin(X_res["a"].to_numpy()[100:][finite], X["a"]).all()
