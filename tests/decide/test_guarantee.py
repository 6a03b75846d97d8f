"""Tests for fnguard.decide.guarantee: the binomial rule, and its coverage in simulation."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from fnguard.decide import (
    allowed_false_alarms,
    allowed_misses,
    choose_threshold,
    min_positives,
)
from fnguard.errors import RequirementError

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_guarantee.py"
LEVELS = [(0.95, 0.95), (0.9, 0.9), (0.99, 0.95), (0.8, 0.99), (0.5, 0.5), (0.999, 0.9)]


def brute_allowed(n: int, rate: float, confidence: float) -> int | None:
    """Largest a with P(Binomial(n, rate) >= a + 1) >= confidence, by trying every a."""
    ok = [a for a in range(n + 1) if stats.binom.sf(a, n, rate) >= confidence]
    return max(ok) if ok else None


@pytest.mark.parametrize(("target", "confidence"), LEVELS)
def test_min_positives_brute_force(target: float, confidence: float) -> None:
    """Check min_positives is the smallest n with P(at least one miss) = 1 - target**n >= c."""
    n = 1
    while stats.binom.sf(0, n, 1 - target) < confidence:
        n += 1
    assert min_positives(target, confidence) == n
    allowed_misses(n, target, confidence)  # enough positives: no error
    with pytest.raises(RequirementError):
        allowed_misses(n - 1, target, confidence)


def test_min_positives_documented_value() -> None:
    """Check the documented count: 59 positives for recall >= 0.95 at 95%."""
    assert min_positives(0.95, 0.95) == 59


@pytest.mark.parametrize(("target", "confidence"), LEVELS)
@pytest.mark.parametrize("n", [1, 5, 22, 59, 60, 100, 437, 1000])
def test_allowed_misses_and_false_alarms_brute_force(n: int, target: float,
                                                     confidence: float) -> None:
    """Check allowed_misses and allowed_false_alarms against scipy's binomial, count by count."""
    expected = brute_allowed(n, 1 - target, confidence)
    if expected is None:
        with pytest.raises(RequirementError, match="needs at least"):
            allowed_misses(n, target, confidence)
    else:
        assert allowed_misses(n, target, confidence) == expected
        # The order-statistic form: P(Beta(k, n - k + 1) <= 1 - r) = P(Bin(n, 1 - r) >= k).
        k = expected + 1
        assert stats.beta.cdf(1 - target, k, n - k + 1) == pytest.approx(
            stats.binom.sf(k - 1, n, 1 - target)
        )
        assert stats.beta.cdf(1 - target, k, n - k + 1) >= confidence - 1e-12
        if k < n:
            assert stats.beta.cdf(1 - target, k + 1, n - k) < confidence
    rate = 1 - target  # as an FPR bound
    expected = brute_allowed(n, rate, confidence)
    if expected is None:
        with pytest.raises(RequirementError, match="negatives"):
            allowed_false_alarms(n, rate, confidence)
    else:
        assert allowed_false_alarms(n, rate, confidence) == expected


def test_documented_examples() -> None:
    """Check the docstring values of allowed_misses and allowed_false_alarms."""
    assert allowed_misses(59, 0.95, 0.95) == 0
    assert allowed_misses(1000, 0.95, 0.95) == 38
    assert allowed_false_alarms(1000, 0.01, 0.95) == 4


def test_too_few_positives_names_the_count() -> None:
    """Check that too few positives for the guarantee says how many are needed (59)."""
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(58, dtype=bool), np.zeros(500, dtype=bool)]
    s = rng.random(y.size) + y
    with pytest.raises(RequirementError, match=r"needs at least 59 positives.*there are 58"):
        choose_threshold(y, s, "recall>=0.95 @95%", n_boot=0)
    with pytest.raises(RequirementError, match=r"needs at least 59 positives"):
        allowed_misses(0, 0.95, 0.95)
    y[0] = False
    with pytest.raises(RequirementError, match="needs at least 299 negatives"):
        choose_threshold(~y[:400], s[:400], "fpr<=0.01 @95%", n_boot=0)
    ok = np.r_[np.ones(59, dtype=bool), np.zeros(500, dtype=bool)]
    d = choose_threshold(ok, rng.random(ok.size) + ok, "recall>=0.95 @95%", n_boot=0)
    assert d.allowed == 0 and d.metrics["recall"].value == 1.0


# --- simulation ----------------------------------------------------------------------------


class Population:
    """A fixed population: binormal scores, positives shifted by ``separation``."""

    def __init__(self, n: int, prevalence: float, separation: float, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.y = rng.random(n) < prevalence
        self.s = rng.normal(size=n) + separation * self.y
        self.pos = np.sort(self.s[self.y])
        self.neg = np.sort(self.s[~self.y])

    def recall(self, t: float) -> float:
        return 1 - np.searchsorted(self.pos, t, side="left") / self.pos.size

    def fpr(self, t: float) -> float:
        return 1 - np.searchsorted(self.neg, t, side="left") / self.neg.size


def coverage_floor(confidence: float, draws: int) -> float:
    """Nominal coverage minus three binomial standard errors over the draws."""
    return confidence - 3 * np.sqrt(confidence * (1 - confidence) / draws)


DRAWS = 1000


@pytest.mark.parametrize(
    ("text", "target", "confidence", "rate"),
    [
        ("recall>=0.9 @90%", 0.9, 0.9, "recall"),
        ("fnr<=0.1 @95%", 0.9, 0.95, "recall"),
        ("fpr<=0.05 @90%", 0.05, 0.9, "fpr"),
        ("specificity>=0.98 @95%", 0.02, 0.95, "fpr"),
    ],
)
def test_guarantee_coverage_simulation(text: str, target: float, confidence: float,
                                       rate: str) -> None:
    """Check that over 1,000 calibration draws the population rate meets the target often enough,
    and that the rule is not needlessly conservative (small median slack)."""
    pop = Population(200_000, 0.05, 2.0, seed=0)
    rng = np.random.default_rng(1)
    realised = np.empty(DRAWS)
    for i in range(DRAWS):
        idx = rng.integers(0, pop.y.size, size=2000)
        t = choose_threshold(pop.y[idx], pop.s[idx], text, n_boot=0).threshold
        realised[i] = pop.recall(t) if rate == "recall" else pop.fpr(t)
    held = realised >= target if rate == "recall" else realised <= target
    slack = np.median(realised - target) if rate == "recall" else np.median(target - realised)
    print(f"{text}: coverage {held.mean():.3f}, median slack {slack:.4f}")
    assert held.mean() >= coverage_floor(confidence, DRAWS)
    assert held.mean() <= 0.995  # a guarantee met every time would be needlessly conservative
    assert 0 < slack < (0.06 if rate == "recall" else 0.01)


@pytest.mark.slow
def test_per_group_coverage_simulation() -> None:
    """Check the Mondrian guarantee: each group's recall at its own threshold and at the common
    threshold meets the target in at least the stated share of draws (up to simulation
    noise)."""
    a = Population(100_000, 0.05, 2.5, seed=2)
    b = Population(100_000, 0.10, 1.0, seed=3)
    y = np.r_[a.y, b.y]
    s = np.r_[a.s, b.s]
    g = np.r_[np.zeros(a.y.size, dtype=int), np.ones(b.y.size, dtype=int)]
    rng = np.random.default_rng(4)
    own = np.empty((DRAWS, 2))
    common = np.empty((DRAWS, 2))
    for i in range(DRAWS):
        idx = rng.integers(0, y.size, size=3000)
        d = choose_threshold(y[idx], s[idx], "recall>=0.9 @90% per group", groups=g[idx],
                             n_boot=0)
        for j, pop in enumerate((a, b)):
            own[i, j] = pop.recall(d.group_thresholds[str(j)])
            common[i, j] = pop.recall(d.threshold)
    floor = coverage_floor(0.9, DRAWS)
    own_cov = (own >= 0.9).mean(axis=0)
    common_cov = (common >= 0.9).mean(axis=0)
    print(f"per group: own-threshold coverage {own_cov}, common-threshold coverage {common_cov}, "
          f"median slack at own threshold {np.median(own - 0.9, axis=0)}")
    assert (own_cov >= floor).all()
    # the common threshold keeps every group's calibration misses within what it allows: the
    # same guarantee (it is the best threshold that does, not the lowest group choice)
    assert (common_cov >= floor).all()
    assert (np.median(own - 0.9, axis=0) < 0.06).all()


def _load_bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("fnguard_bench_guarantee", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_against_mapie() -> None:
    """Check that on the same 300 draws both fnguard and MAPIE keep recall >= 0.9 @90%, and that
    fnguard's median precision at its threshold is at least MAPIE's."""
    pytest.importorskip("mapie")
    bench = _load_bench()
    res = bench.compare(0.9, 0.9, draws=300)
    floor = coverage_floor(0.9, 300)
    for name, outcome in res.items():
        print(f"{name}: coverage {outcome.coverage(0.9):.3f}, "
              f"median precision {np.median(outcome.precision):.4f}")
        assert outcome.coverage(0.9) >= floor, name
    assert np.median(res["fnguard"].precision) >= np.median(res["MAPIE"].precision)


@pytest.mark.parametrize(
    "requirement",
    ["recall>=0.8 maximize f1 @90%", "recall>=0.8 @90%", "fnr<=0.2 maximize mcc @90%",
     "fpr<=0.3 maximize recall @90%", "specificity>=0.7 maximize f1 @90%"],
)
@pytest.mark.parametrize("seed", [3, 4, 5])
def test_guarantee_takes_the_best_objective_on_its_safe_side(requirement, seed) -> None:
    """Check against a brute force over every threshold: among the thresholds that keep the
    guarantee (at most the allowed misses, or false alarms, on the calibration data), the one
    chosen maximises the requirement's objective (precision unless another is named)."""
    from sklearn.metrics import f1_score, matthews_corrcoef, precision_score, recall_score

    rng = np.random.default_rng(seed)
    y = rng.random(400) < 0.3
    s = np.round(rng.normal(size=400) + 1.2 * y, 1)  # ties too
    d = choose_threshold(y, s, requirement, positive=True, n_boot=0)
    req = d.requirement
    on_misses = req.metric in ("recall", "fnr")
    target = req.target if req.metric in ("recall", "fpr") else 1 - req.target
    if on_misses:
        allowed = allowed_misses(int(y.sum()), target, 0.9)
    else:
        allowed = allowed_false_alarms(int((~y).sum()), target, 0.9)
    score = {"precision": precision_score, "f1": f1_score, "mcc": matthews_corrcoef,
             "recall": recall_score}[req.secondary or "precision"]
    best = -np.inf
    for t in np.unique(s):
        flagged = s >= t
        errors = (~flagged & y).sum() if on_misses else (flagged & ~y).sum()
        if errors <= allowed:
            best = max(best, score(y, flagged, zero_division=0.0) if score is not
                       matthews_corrcoef else score(y, flagged))
    flagged = s >= d.threshold
    errors = (~flagged & y).sum() if on_misses else (flagged & ~y).sum()
    assert errors <= allowed
    got = (score(y, flagged, zero_division=0.0) if score is not matthews_corrcoef
           else score(y, flagged))
    assert got == pytest.approx(best, abs=1e-12)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: min_positives(1.0, 0.95), "target of a guarantee must be a number strictly"),
        (lambda: min_positives(0.9, 1.0), "confidence of a guarantee"),
        (lambda: allowed_misses(100, 0.9, 1.5), "confidence of a guarantee"),
        (lambda: allowed_misses(100, 1.5, 0.9), "target of a guarantee"),
        (lambda: allowed_false_alarms(100, "1%", 0.9), "target of a guarantee"),
    ],
)
def test_guarantee_helpers_check_their_rates(call, match) -> None:
    """Check that targets and confidences outside (0, 1) are refused (were ZeroDivisionError,
    a math domain error, or a silent 0)."""
    with pytest.raises(RequirementError, match=match):
        call()
