"""Tests of fnguard.explain.shared: effect sizes between missed and caught positives."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.stats.contingency import association

from fnguard.explain.shared import cliffs_delta, feature_effects, share_difference


def _brute_delta(a: np.ndarray, b: np.ndarray) -> float:
    greater = sum(x > y for x, y in itertools.product(a, b))
    less = sum(x < y for x, y in itertools.product(a, b))
    return (greater - less) / (a.size * b.size)


def _brute_delong_se(a: np.ndarray, b: np.ndarray) -> float:
    """DeLong's standard error of the AUC from its definition (placements), times 2."""
    psi = (a[:, None] > b[None, :]) + 0.5 * (a[:, None] == b[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return 2 * np.sqrt(v10.var(ddof=1) / a.size + v01.var(ddof=1) / b.size)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cliffs_delta_matches_mann_whitney_and_brute_force(seed: int) -> None:
    """Check that Cliff's delta equals 2U/(mn) - 1 (scipy) and the pairwise count, with ties."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 8, 37).astype(float)
    b = rng.integers(1, 9, 23).astype(float)
    d, low, high, p = cliffs_delta(a, b)
    u = stats.mannwhitneyu(a, b, alternative="two-sided").statistic
    assert d == pytest.approx(2 * u / (a.size * b.size) - 1, abs=1e-12)
    assert d == pytest.approx(_brute_delta(a, b), abs=1e-12)
    se = _brute_delong_se(a, b)
    z = stats.norm.ppf(0.975)
    assert low == pytest.approx(max(-1, d - z * se), abs=1e-12)
    assert high == pytest.approx(min(1, d + z * se), abs=1e-12)
    assert p == pytest.approx(stats.mannwhitneyu(a, b).pvalue, rel=1e-12)


def test_cliffs_delta_interval_covers() -> None:
    """Check that the 95% interval covers the true delta about 95% of the time."""
    rng = np.random.default_rng(5)
    true = 2 * stats.norm.cdf(0.5 / np.sqrt(2)) - 1  # P(A>B) - P(A<B) for a 0.5 shift
    hits = 0
    reps = 400
    for _ in range(reps):
        a, b = rng.normal(0.5, 1, 60), rng.normal(0, 1, 80)
        _, low, high, _ = cliffs_delta(a, b)
        hits += low <= true <= high
    assert 0.91 <= hits / reps <= 0.98


def test_cliffs_delta_edge_cases() -> None:
    """Check that empty samples give NaN and single values give no interval."""
    assert np.isnan(cliffs_delta([], [1.0, 2.0])[0])
    d, low, _, p = cliffs_delta([3.0], [1.0, 2.0])
    assert d == 1.0 and np.isnan(low) and p == 1.0
    assert cliffs_delta([1.0, np.nan, 2.0], [0.0, 0.5])[0] == 1.0


def test_share_difference_matches_newcombe() -> None:
    """Check Newcombe's published examples (1998, table II, method 10)."""
    cases = [
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
    ]
    for (k1, n1, k2, n2), (low, high) in cases:
        d, lo, hi = share_difference(k1, n1, k2, n2)
        assert d == pytest.approx(k1 / n1 - k2 / n2)
        assert (round(lo, 4), round(hi, 4)) == (low, high)


def test_share_difference_from_scipy_wilson() -> None:
    """Check the hybrid interval against one built from scipy's Wilson intervals."""
    k1, n1, k2, n2 = 17, 40, 30, 120
    w1 = stats.binomtest(k1, n1).proportion_ci(method="wilson")
    w2 = stats.binomtest(k2, n2).proportion_ci(method="wilson")
    p1, p2 = k1 / n1, k2 / n2
    low = p1 - p2 - np.hypot(p1 - w1.low, w2.high - p2)
    high = p1 - p2 + np.hypot(w1.high - p1, p2 - w2.low)
    _, lo, hi = share_difference(k1, n1, k2, n2)
    assert (lo, hi) == pytest.approx((low, high), abs=1e-12)


def _planted(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Positives whose misses have larger 'amount' and come from region 'north'."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    region = rng.choice(["north", "south", "east"], n)
    amount = rng.gamma(2.0, 50.0, n)
    noise = rng.normal(size=n)
    p_miss = 0.1 + 0.4 * (region == "north") + 0.3 * (amount > 120)
    missed = y & (rng.random(n) < p_miss)
    X = pd.DataFrame({"region": region, "amount": amount, "noise": noise,
                      "flag": rng.random(n) < 0.5})
    return X, y, y & ~missed


def test_feature_effects_find_planted_features() -> None:
    """Check that planted numeric and categorical differences are flagged, noise is not."""
    X, y, pred = _planted()
    effects = {e.feature: e for e in feature_effects(X, y, pred)}
    assert effects["region"].flagged and effects["region"].level == "north"
    assert effects["region"].effect > 0
    assert effects["amount"].flagged and effects["amount"].effect > 0
    assert not effects["noise"].flagged
    assert not effects["flag"].flagged
    order = [e.feature for e in feature_effects(X, y, pred)]
    assert order.index("noise") > order.index("amount")


def test_feature_effects_values_match_references() -> None:
    """Check each effect against scipy: Mann-Whitney, Cramér's V and the raw shares."""
    X, y, pred = _planted(n=1500, seed=3)
    missed, caught = y & ~pred, y & pred
    by_name = {e.feature: e for e in feature_effects(X, y, pred)}
    a, b = X["amount"][missed].to_numpy(), X["amount"][caught].to_numpy()
    u = stats.mannwhitneyu(a, b).statistic
    assert by_name["amount"].effect == pytest.approx(2 * u / (a.size * b.size) - 1)
    assert by_name["amount"].miss_value == pytest.approx(np.median(a))
    table = pd.crosstab(X["region"][missed | caught], missed[missed | caught]).to_numpy()
    assert by_name["region"].cramers_v == pytest.approx(association(table, method="cramer"))
    level = by_name["region"].level
    share_miss = (X["region"][missed] == level).mean()
    share_caught = (X["region"][caught] == level).mean()
    assert by_name["region"].effect == pytest.approx(share_miss - share_caught)
    diffs = [abs((X["region"][missed] == v).mean() - (X["region"][caught] == v).mean())
             for v in ("north", "south", "east")]
    assert abs(by_name["region"].effect) == pytest.approx(max(diffs))


def test_feature_effects_without_a_difference() -> None:
    """Check that misses drawn at random share nothing."""
    rng = np.random.default_rng(11)
    n = 3000
    X = pd.DataFrame({"a": rng.normal(size=n), "c": rng.choice(list("xyz"), n)})
    y = rng.random(n) < 0.3
    pred = y & (rng.random(n) < 0.6)
    assert not any(e.flagged for e in feature_effects(X, y, pred))


def test_feature_effects_skip_identifiers_and_empty_groups() -> None:
    """Check that ids and constant columns are skipped, and no misses gives nothing."""
    n = 200
    X = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "const": 1.0,
                      "x": np.arange(n, dtype=float)})
    y = np.arange(n) % 2 == 0
    pred = y & (np.arange(n) < 100)
    names = [e.feature for e in feature_effects(X, y, pred)]
    assert names == ["x"]
    assert feature_effects(X, y, y) == []


def test_feature_effects_missing_and_datetime() -> None:
    """Check that missing categories form a level and datetimes are compared as numbers."""
    rng = np.random.default_rng(2)
    n = 1000
    y = np.ones(n, dtype=bool)
    pred = rng.random(n) < 0.5
    cat = np.where(~pred & (rng.random(n) < 0.8), None, "seen")
    when = pd.to_datetime("2020-01-01") + pd.to_timedelta(np.where(pred, 0, 30), unit="D")
    X = pd.DataFrame({"cat": cat, "when": when})
    by_name = {e.feature: e for e in feature_effects(X, y, pred)}
    assert by_name["cat"].level in ("(missing)", "seen") and by_name["cat"].flagged
    assert by_name["when"].kind == "numeric" and by_name["when"].effect == 1.0


@pytest.mark.parametrize("n_caught", [2, 3, 5, 40])
def test_cliffs_delta_p_value_is_mann_whitneys(n_caught: int) -> None:
    """Check that the p-value is scipy's Mann-Whitney one (exact for a small sample without
    ties), not DeLong's normal approximation, which is far too small for a few values."""
    rng = np.random.default_rng(n_caught)
    a, b = rng.normal(size=70), rng.normal(0.3, 1, n_caught)
    assert cliffs_delta(a, b)[3] == pytest.approx(stats.mannwhitneyu(a, b).pvalue, rel=1e-12)
    a, b = np.round(a), np.round(b)  # ties: the normal approximation with the tie correction
    expected = stats.mannwhitneyu(a, b, method="asymptotic").pvalue
    assert cliffs_delta(a, b)[3] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("n_caught", [3, 5])
def test_numeric_p_values_hold_their_level_with_few_caught(n_caught: int) -> None:
    """Check that on null data (70 misses, a few caught positives, continuous and tied values)
    p < 0.05 happens in at most about 5% of 400 tables."""
    rng = np.random.default_rng(100 + n_caught)
    reps = 400
    for draw in (lambda size: rng.normal(size=size), lambda size: rng.poisson(1.0, size)):
        rejected = sum(cliffs_delta(draw(70), draw(n_caught))[3] < 0.05 for _ in range(reps))
        assert rejected / reps <= 0.07


@pytest.mark.parametrize("n_caught", [3, 5])
def test_categorical_p_values_hold_their_level_on_sparse_tables(n_caught: int) -> None:
    """Check that a 20-level column independent of the misses gives p < 0.05 in at most
    about 5% of 300 null tables with a few caught positives (the chi-square p-value gave
    10%)."""
    rng = np.random.default_rng(200 + n_caught)
    reps, n = 300, 70 + n_caught
    y = np.ones(n, dtype=bool)
    pred = np.arange(n) < n_caught
    rejected = 0
    for _ in range(reps):
        X = pd.DataFrame({"c": rng.choice([f"L{i}" for i in range(20)], n)})
        (e,) = feature_effects(X, y, pred, min_group=1)
        rejected += e.p_value < 0.05
    assert rejected / reps <= 0.07


def test_sparse_table_p_value_matches_exact_permutation() -> None:
    """Check the Monte-Carlo permutation p-value of a sparse table against the exact one,
    by enumerating every way to pick the caught rows; a dense table keeps chi-square's."""
    levels = np.array(list("aaabbbbccddd"))
    y = np.ones(levels.size, dtype=bool)
    pred = np.isin(np.arange(levels.size), [0, 1, 4])

    def chi2(caught: np.ndarray) -> float:
        table = pd.crosstab(levels, caught).to_numpy()
        return stats.chi2_contingency(table, correction=False)[0]

    observed = chi2(pred)
    null = [chi2(np.isin(np.arange(levels.size), c))
            for c in itertools.combinations(range(levels.size), 3)]
    exact = np.mean(np.array(null) >= observed - 1e-9)
    (e,) = feature_effects(pd.DataFrame({"c": levels}), y, pred, min_group=1)
    assert e.p_value == pytest.approx(exact, abs=0.015)
    X, y, pred = _planted(n=1500, seed=3)
    by_name = {e.feature: e for e in feature_effects(X, y, pred)}
    missed = y & ~pred
    table = pd.crosstab(X["region"][y], missed[y]).to_numpy()
    expected = stats.chi2_contingency(table, correction=False).pvalue
    assert by_name["region"].p_value == pytest.approx(expected, rel=1e-9)


def test_nothing_is_flagged_with_few_caught_positives() -> None:
    """Check that with 3 caught positives even a large difference is measured but not
    flagged, and that a planted difference with enough of each group is flagged on a sparse
    20-level table."""
    rng = np.random.default_rng(7)
    n = 73
    y = np.ones(n, dtype=bool)
    pred = np.arange(n) < 3
    X = pd.DataFrame({"x": np.where(pred, 10.0, 0.0) + rng.normal(size=n)})
    (e,) = feature_effects(X, y, pred)
    assert e.effect == -1.0 and e.p_value < 0.01 and not e.flagged
    n = 90
    pred = np.arange(n) < 15
    level = np.where(pred, rng.choice([f"L{i}" for i in range(1, 20)], n), "L0")
    level[15:30] = rng.choice([f"L{i}" for i in range(20)], 15)
    X = pd.DataFrame({"c": level, "noise": rng.normal(size=n)})
    by_name = {e.feature: e for e in feature_effects(X, np.ones(n, dtype=bool), pred)}
    assert by_name["c"].flagged and by_name["c"].level == "L0"
    assert not by_name["noise"].flagged
