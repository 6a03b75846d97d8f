"""Tests of fnguard.distributed.fit: a sampled fit whose probabilities stay calibrated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fnguard.distributed import fit_dask
from fnguard.distributed.fit import MEMORY_SHARE, MEMORY_SHARE_SPREAD, sample_rate
from fnguard.errors import DataError
from fnguard.guard import load

from .conftest import write_parts

SEARCH = {"levers": ["logistic"], "cv": 3, "jobs": 1, "max_trials": 1, "budget": 30}


def population(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows whose true positive probability is a known logistic function of x (about 4%)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z = rng.normal(size=n)
    p = 1 / (1 + np.exp(-(-3.8 + 1.2 * x + 0.3 * z)))
    y = (rng.random(n) < p).astype(int)
    return pd.DataFrame({"x": x, "z": z, "y": y}), p


@pytest.fixture(scope="module")
def fitted(client, tmp_path_factory):
    frame, _ = population(40_000, seed=0)
    folder = tmp_path_factory.mktemp("train")
    pattern = write_parts(frame, folder, [5000] * 8)
    guard = fit_dask(pattern, "y", 1, "recall>=0.8", client=client, sample=0.1, seed=0,
                     **SEARCH)
    return guard, frame


def test_probabilities_stay_calibrated(fitted) -> None:
    """Check that the prior correction undoes the sampling: scores match the true probability."""
    guard, _ = fitted
    fresh, truth = population(40_000, seed=1)
    scores = guard.score(fresh.drop(columns="y"))
    raw = guard.pipeline.estimator.predict_proba(guard.features(fresh.drop(columns="y")))[:, 1]
    assert abs(scores.mean() - truth.mean()) < 0.1 * truth.mean()
    assert np.abs(scores - truth).mean() < 0.01
    assert raw.mean() > 3 * truth.mean()  # what the sample alone would have said
    info = guard.info["dask"]
    assert info["negative_rate"] == 0.1
    assert 0.2 < info["train_rate"] < 0.4 and abs(info["true_rate"] - 0.04) < 0.02


def test_threshold_from_held_out_partitions(fitted) -> None:
    """Check that the threshold and the test use held-out partitions at the real balance."""
    guard, frame = fitted
    info = guard.info["dask"]
    assert len(info["held_out"]) == 2
    assert info["threshold_rows"] + info["test_rows"] == 10_000
    assert guard.metrics["n"] == info["test_rows"] == len(guard.holdout)
    assert abs(guard.holdout["y"].mean() - frame["y"].mean()) < 0.02
    assert guard.info["threshold_from"] == "held-out partitions"
    assert any("Searched on a sample" in n for n in guard.info["notes"])
    # the safety margin of fnguard.fit, applied where the threshold is chosen
    assert guard.info["margin"] == 0.9 and guard.info["oof"]["requirement"].endswith("@90%")
    assert any(n.startswith("Safety margin") for n in guard.info["notes"])
    # the sample fit's own notes on its threshold and test split stay with its figures (one
    # said the requirement was not met on a test set the Guard does not use)
    margins = [n for n in guard.info["notes"] if n.startswith("Safety margin")]
    assert len(margins) == 1 and str(guard.info["split"]["threshold_positives"]) in margins[0]
    assert not any(n.startswith("The threshold met") for n in guard.info["notes"])
    assert any(n.startswith("Safety margin") for n in info["sample_fit"]["notes"])


def test_saved_guard_loads(fitted, tmp_path) -> None:
    """Check that the Guard with its sampled model saves and loads with the same scores."""
    guard, frame = fitted
    loaded = load(guard.save(tmp_path / "g", report=False))
    X = frame.drop(columns="y").head(100)
    np.testing.assert_allclose(loaded.score(X), guard.score(X))


@pytest.mark.parametrize(("spread", "share"), [(True, MEMORY_SHARE_SPREAD), (False, MEMORY_SHARE)])
def test_rate_fits_worker_memory(ready, tmp_path, spread, share) -> None:
    """Check that without a rate, the negatives drawn fit their share of one worker's memory:
    a smaller one when the folds run on the workers (each then holds the sample and a fold's
    copies at once; one thread per worker here)."""
    frame, _ = population(60_000, seed=2)
    pattern = write_parts(frame, tmp_path, [15_000] * 4)
    memory = 4_000_000
    guard = fit_dask(pattern, "y", 1, "recall>=0.8", client=ready, memory_per_worker=memory,
                     spread=spread, **SEARCH)
    info = guard.info["dask"]
    n_train = 45_000
    expected = sample_rate(info["sample_positives"], n_train - info["sample_positives"],
                           info["row_bytes"], share * memory)
    assert info["negative_rate"] == pytest.approx(expected) and expected < 1
    assert info["sample_rows"] * info["row_bytes"] <= 1.1 * share * memory


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"holdout": 1.0}, r"'holdout' must be in \(0, 1\)"),
        ({"sample": 0}, r"'sample' must be a rate in \(0, 1\]"),
        ({"memory_per_worker": "lots"}, "'memory_per_worker' must be bytes"),
        ({"margin": 2}, "margin must be a confidence strictly between 0 and 1"),
    ],
)
def test_bad_options(ready, tmp_path, kwargs, match) -> None:
    """Check that bad options are refused with the rule and the value."""
    frame, _ = population(400, seed=3)
    pattern = write_parts(frame, tmp_path, [200, 200])
    with pytest.raises(DataError, match=match):
        fit_dask(pattern, "y", 1, client=ready, **kwargs)


def test_single_file_is_refused(ready, tmp_path) -> None:
    """Check that one file cannot be split into partitions to hold out."""
    frame, _ = population(400, seed=4)
    pattern = write_parts(frame, tmp_path, [400])
    with pytest.raises(DataError, match="is a single file"):
        fit_dask(pattern, "y", 1, client=ready)


@pytest.mark.parametrize("side", ["held-out", "training"])
def test_hold_out_without_positives_is_refused_up_front(ready, tmp_path, side) -> None:
    """Check that a hold-out leaving one side without positives is refused before the search,
    naming the partitions and their positive counts."""
    held = int(np.random.default_rng(0).choice(4, 1)[0])  # the partition seed 0 holds out
    where = held if side == "training" else (held + 1) % 4
    frame, _ = population(1200, seed=5)
    frame["y"] = 0
    frame.loc[300 * where : 300 * where + 49, "y"] = 1  # all positives in one file
    pattern = write_parts(frame, tmp_path, [300] * 4)
    with pytest.raises(DataError, match=f"The {side} partitions hold no positive row") as e:
        fit_dask(pattern, "y", 1, "recall>=0.8", client=ready, sample=0.5, seed=0, **SEARCH)
    text = str(e.value)
    assert f"'part-{where:03d}.parquet': 50" in text and "'part-" in text
    assert "another seed (--seed)" in text and "spread the positives" in text


def test_prior_correction_ignores_held_out_labels(ready, tmp_path) -> None:
    """Check that the probabilities are corrected to the training partitions' balance (the
    sampling only), and that guard.info describes the held-out test, not the sample's split."""
    frame, _ = population(8000, seed=6)
    held = int(np.random.default_rng(0).choice(4, 1)[0])
    rows = frame.index // 2000 == held
    frame.loc[rows, "y"] = (np.arange(2000) % 3 == 0).astype(int)  # a third positive there
    pattern = write_parts(frame, tmp_path, [2000] * 4)
    guard = fit_dask(pattern, "y", 1, "recall>=0.8", client=ready, sample=0.5, seed=0,
                     **SEARCH)
    info = guard.info["dask"]
    assert info["held_out"] == [str(tmp_path / f"part-{held:03d}.parquet")]
    train = frame[~rows]
    assert guard.pipeline.true_rate == pytest.approx(train["y"].mean())
    assert info["true_rate"] == pytest.approx(train["y"].mean())
    split = guard.info["split"]
    assert split["test_rows"] == info["test_rows"] == guard.metrics["n"]
    assert split["rows"] == 8000 and split["search_rows"] == info["sample_rows"]
    assert guard.info["test_size"] == pytest.approx(info["test_rows"] / 8000)
    assert info["sample_fit"]["split"]["rows"] == info["sample_rows"]
    assert "reference" not in guard.info
