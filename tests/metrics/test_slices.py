"""Tests of the FNR by slice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fnguard.metrics.slices import MISSING, fnr_by_slice


def test_planted_slices_found_with_precision() -> None:
    """Check that planted weak slices are flagged and random ones mostly are not."""
    rng = np.random.default_rng(0)
    n = 20000
    X = pd.DataFrame(
        {
            "region": rng.choice(list("abcdefgh"), n),
            "age": rng.normal(50, 12, n),
            "noise": rng.random(n),
            "flag": rng.random(n) < 0.5,
        }
    )
    y = rng.random(n) < 0.1
    old = X["age"] > X["age"].quantile(0.8)
    p_miss = np.where(X["region"] == "c", 0.5, 0.2) + np.where(old, 0.3, 0.0)
    pred = y & (rng.random(n) > p_miss)
    slices = fnr_by_slice(y, pred, X)
    flagged = {(s.feature, s.level) for s in slices if s.flagged}
    assert ("region", "c") in flagged
    assert any(f == "age" and lvl.endswith(f"{X['age'].max():.4g}]") for f, lvl in flagged)
    false_flags = [f for f in flagged if f[0] in ("noise", "flag")]
    assert len(false_flags) <= 1
    # The counts match a direct groupby.
    c = next(s for s in slices if (s.feature, s.level) == ("region", "c"))
    mask = (X["region"] == "c").to_numpy()
    assert c.n_positive == int((y & mask).sum())
    assert c.fn == int((y & mask & ~pred).sum())
    assert c.low <= c.fnr <= c.high


def test_missing_values_and_identifiers() -> None:
    """Check that missing values form their own slice and identifier columns are skipped."""
    rng = np.random.default_rng(1)
    n = 600
    cat = pd.Series(rng.choice(["x", "y", None], n), dtype=object)
    X = pd.DataFrame({"cat": cat, "id": [f"id{i}" for i in range(n)]})
    y = np.ones(n, dtype=bool)
    pred = rng.random(n) < 0.5
    slices = fnr_by_slice(y, pred, X)
    assert {s.level for s in slices if s.feature == "cat"} == {"x", "y", MISSING}
    assert not [s for s in slices if s.feature == "id"]


def test_no_positives_or_features() -> None:
    """Check that there is nothing to slice without positives or features."""
    X = pd.DataFrame({"a": [1, 2, 3]})
    assert fnr_by_slice(np.zeros(3, bool), np.zeros(3, bool), X) == []
    assert fnr_by_slice(np.ones(3, bool), np.zeros(3, bool), X.iloc[:, :0]) == []


def test_codes_that_differ_past_four_digits_are_their_own_slices() -> None:
    """Check that the codes 1000001, 1000002, 1000003 are three slices named by the codes
    (all three were one slice '1e+06'), and that the planted one is flagged."""
    rng = np.random.default_rng(0)
    code = np.repeat([1000001, 1000002, 1000003], 1000)
    y = rng.random(code.size) < 0.3
    pred = y & ((code != 1000002) & (rng.random(code.size) < 0.9))
    slices = fnr_by_slice(y, pred, pd.DataFrame({"code": code}))
    assert {s.level for s in slices} == {"1000001", "1000002", "1000003"}
    assert [s.level for s in slices if s.flagged] == ["1000002"]


def test_infinite_values_fall_in_end_bins_named_to_reach_them() -> None:
    """Check that +-inf in a numeric feature give finite bin edges, the end bins reaching
    -inf and inf (the quantiles were NaN, and the bins mislabelled), and that a slice of the
    misses among the lowest values is named by its real range."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=2000)
    x[:5], x[5:10] = -np.inf, np.inf
    y = rng.random(2000) < 0.3
    pred = y & (x > np.quantile(x[np.isfinite(x)], 0.2))
    slices = fnr_by_slice(y, pred, pd.DataFrame({"x": x}))
    levels = [s.level for s in slices]
    assert sum(lv.startswith("[-inf, ") for lv in levels) == 1
    assert sum(lv.endswith(", inf]") for lv in levels) == 1
    assert not any("nan" in level for level in levels)
    flagged = [s.level for s in slices if s.flagged]
    assert flagged and flagged[0].startswith("[-inf, ")
    hi = float(flagged[0].split(", ")[1].rstrip("]"))
    assert hi == pytest.approx(np.quantile(x[np.isfinite(x)], 0.2), rel=1e-3)
