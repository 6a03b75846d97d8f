"""Tests of fnguard.distributed.curve: exact merged confusion curves against confusion_curve."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fnguard.distributed.curve import (
    confusion_curve_dask,
    curve_from_counts,
    merge_counts,
    score_counts,
)
from fnguard.errors import DataError
from fnguard.metrics import confusion_curve

from .conftest import write_parts


def _same(a, b) -> None:
    for name in ("thresholds", "tp", "fp", "tn", "fn"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@pytest.mark.parametrize("seed", range(20))
def test_merge_in_any_order_is_one_sort(seed) -> None:
    """Check that partitions merged in a random order give confusion_curve of all the rows."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    s = rng.integers(0, int(rng.integers(1, 30)), n) / 7.0  # heavy ties, some all-equal
    y = rng.random(n) < rng.random()
    y[0] = True
    cuts = np.sort(rng.integers(0, n + 1, int(rng.integers(0, 6))))
    parts = [
        score_counts(s[a:b], y[a:b]) for a, b in zip([0, *cuts], [*cuts, n], strict=True)
    ]
    rng.shuffle(parts)
    merged = parts[0]
    for p in parts[1:]:
        merged = merge_counts(merged, p) if rng.random() < 0.5 else merge_counts(p, merged)
    _same(curve_from_counts(merged), confusion_curve(y, s))


@pytest.mark.parametrize(
    "scores",
    [
        pytest.param(lambda rng, n: rng.random(n).round(2), id="heavy-ties"),
        pytest.param(lambda rng, n: np.full(n, 0.3), id="all-equal"),
        pytest.param(lambda rng, n: rng.normal(size=n) * 5, id="margins"),
        pytest.param(lambda rng, n: rng.random(n), id="distinct"),
    ],
)
def test_dask_curve_equals_single_machine(ready, tmp_path, scores) -> None:
    """Check that the cluster's curve over uneven partitions equals confusion_curve exactly."""
    rng = np.random.default_rng(1)
    n = 3000
    frame = pd.DataFrame({"y": (rng.random(n) < 0.2).astype(int), "p": scores(rng, n)})
    pattern = write_parts(frame, tmp_path, [1000, 1, 0, 1200, 799])
    curve = confusion_curve_dask(pattern, "y", "p", 1, client=ready)
    _same(curve, confusion_curve(frame["y"], frame["p"], positive=1))


def test_resolution_is_exact_on_the_grid(ready, tmp_path) -> None:
    """Check that with a resolution the counts equal the exact ones at every grid threshold."""
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"y": rng.integers(0, 2, 2000), "p": rng.random(2000)})
    pattern = write_parts(frame, tmp_path, [700, 1300])
    curve = confusion_curve_dask(pattern, "y", "p", 1, client=ready, resolution=0.125)
    exact = confusion_curve(frame["y"], frame["p"])
    assert len(curve) <= 9
    for t in np.arange(0, 1, 0.125):
        assert curve.counts_at(t) == exact.counts_at(t)


def test_minority_is_positive_by_default(ready, tmp_path) -> None:
    """Check that without a positive label the minority class is positive, as load_scores."""
    frame = pd.DataFrame({"y": ["no"] * 8 + ["yes"] * 2, "p": np.linspace(0, 1, 10)})
    pattern = write_parts(frame, tmp_path, [5, 5])
    with pytest.warns(UserWarning, match="minority class 'yes'"):
        curve = confusion_curve_dask(pattern, "y", "p", client=ready)
    assert curve.n_positive == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"resolution": 0}, "'resolution' must be a positive number"),
        ({"resolution": "fine"}, "'resolution' must be a positive number"),
        ({"positive": 3}, "The positive label 3 is not a value"),
    ],
)
def test_bad_options(ready, tmp_path, kwargs, match) -> None:
    """Check that bad options are refused with the rule and the value."""
    frame = pd.DataFrame({"y": [0, 1, 0, 1], "p": [0.1, 0.2, 0.3, 0.4]})
    pattern = write_parts(frame, tmp_path, [2, 2])
    with pytest.raises(DataError, match=match):
        confusion_curve_dask(pattern, "y", "p", client=ready, **kwargs)
