"""Tests of fnguard.explain.findings: each fires on data built to have it, and only there."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fnguard.explain import findings as F
from fnguard.explain.duplicates import conflicting_duplicates
from fnguard.explain.labels import find_label_issues
from fnguard.explain.overfit import overfitting
from fnguard.explain.shared import feature_effects
from fnguard.metrics import diagnose


def _scores(n: int, prevalence: float, seed: int = 0, *, shift: float = 0.35):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < prevalence
    s = np.clip(rng.normal(0.3 + shift * y, 0.15), 0, 1)
    return y, s


def test_saturation() -> None:
    """Check FNG101 on scores at 0 and 1, and not on spread scores."""
    y, s = _scores(2000, 0.2)
    assert F.saturation_finding(diagnose(y, s, n_boot=0)) == []
    sat = np.where(s >= 0.5, 1.0, 0.0)
    (f,) = F.saturation_finding(diagnose(y, sat, n_boot=0))
    assert f.code == "FNG101" and f.kind == "saturation"
    assert f.misses_at_stake == int((y & (sat < 0.5)).sum())


def test_imbalance() -> None:
    """Check FNG102 above 20 negatives per positive; at stake, misses above the base rate."""
    y, s = _scores(4000, 0.3)
    assert F.imbalance_finding(diagnose(y, s, n_boot=0), s, y) == []
    y, s = _scores(8000, 0.03)
    d = diagnose(y, s, n_boot=0)
    (f,) = F.imbalance_finding(d, s, y)
    prevalence = y.mean()
    assert f.misses_at_stake == int((y & (s < 0.5) & (s >= prevalence)).sum())
    assert f.evidence["imbalance_ratio"] > 20


def test_few_positives() -> None:
    """Check FNG103 below 50 positives only."""
    y, s = _scores(400, 0.08, seed=1)
    assert y.sum() < 50
    (f,) = F.few_positives_finding(diagnose(y, s, n_boot=0))
    assert f.kind == "few_positives" and f.misses_at_stake == int((y & (s < 0.5)).sum())
    y, s = _scores(2000, 0.2)
    assert F.few_positives_finding(diagnose(y, s, n_boot=0)) == []


def test_label_issues() -> None:
    """Check FNG104 with suspects (rows best first) and without."""
    y, s = _scores(1000, 0.2, seed=2, shift=0.6)
    s = np.clip(s, 0.001, 0.999)
    neg = np.flatnonzero(~y)
    flipped = neg[np.argsort(s[neg])[:5]]  # the surest negatives, labelled positive
    y2 = y.copy()
    y2[flipped] = True
    issues = find_label_issues(y2, s)
    (f,) = F.label_issues_finding(issues, y2 & (s < 0.5))
    assert f.evidence["rows"] == issues.rows.tolist()
    assert set(flipped.tolist()) <= set(f.evidence["not_positive_rows"])
    assert F.label_issues_finding(None, y) == []


def test_slice() -> None:
    """Check FNG105 on a planted weak slice, naming it, and nothing without one."""
    rng = np.random.default_rng(7)
    n = 4000
    region = rng.choice(["north", "south", "east"], n)
    y = rng.random(n) < 0.2
    s = np.clip(np.where(y, rng.beta(5, 2, n) - 0.3 * (region == "north"), rng.beta(1, 6, n)),
                0, 1)
    d = diagnose(y, s, features=pd.DataFrame({"region": region}), n_boot=0)
    found = F.slice_findings(d)
    assert found[0].evidence["feature"] == "region" and found[0].evidence["level"] == "north"
    s_north = next(x for x in d.slices if x.level == "north")
    assert found[0].misses_at_stake == round(s_north.excess_misses, 1)
    even = np.clip(np.where(y, rng.beta(5, 2, n), rng.beta(1, 6, n)), 0, 1)
    d = diagnose(y, even, features=pd.DataFrame({"region": region}), n_boot=0)
    assert F.slice_findings(d) == []


def test_overfitting_duplicates_shared() -> None:
    """Check FNG106, FNG107 and FNG108 fire on their planted cases and not otherwise."""
    y = np.array([True] * 20 + [False] * 80)
    memorised = np.where(y, 1.0, 0.0)
    cv = np.where(np.arange(100) < 12, 0.9, 0.1)
    (f,) = F.overfitting_finding(overfitting(y, memorised, cv))
    assert f.misses_at_stake == 8
    assert F.overfitting_finding(overfitting(y, cv, cv)) == []
    X = pd.DataFrame({"a": np.arange(100) % 50})
    (f,) = F.duplicates_finding(conflicting_duplicates(X, y))
    assert f.misses_at_stake == 20
    assert F.duplicates_finding(conflicting_duplicates(pd.DataFrame({"a": range(100)}), y)) == []
    X = pd.DataFrame({"x": np.r_[np.arange(20.0), np.zeros(80)]})
    pred = np.r_[np.arange(20) >= 10, np.zeros(80, dtype=bool)]
    effects = feature_effects(X, y, pred)
    (f,) = F.shared_finding(effects)
    assert f.misses_at_stake == round(10 * 1.0 * 0.5, 1)
    assert F.shared_finding([]) == []


def test_threshold() -> None:
    """Check FNG109: at stake, the positives caught by the threshold reaching recall 0.8."""
    rng = np.random.default_rng(3)
    y = rng.random(3000) < 0.1
    s = np.clip(rng.normal(0.1 + 0.25 * y, 0.08), 0, 1)
    d = diagnose(y, s, n_boot=0)
    (f,) = F.threshold_finding(d)
    t = f.evidence["suggested_threshold"]
    assert f.misses_at_stake == int((y & (s >= t)).sum() - (y & (s >= 0.5)).sum())
    assert ((y & (s >= t)).sum() >= 0.8 * y.sum())
    y, s = _scores(2000, 0.2)
    assert F.threshold_finding(diagnose(y, s, n_boot=0)) == []


def test_rank_keeps_ten_by_misses_at_stake() -> None:
    """Check that ranking keeps the ten largest, largest first, warnings first among ties."""
    many = [F.ExplainFinding(f"FNG{i:03d}", "slice", "info" if i % 2 else "warning", "t", "m",
                             misses_at_stake=float(i % 7)) for i in range(15)]
    ranked = F.rank_findings(many)
    assert len(ranked) == 10
    stakes = [f.misses_at_stake for f in ranked]
    assert stakes == sorted(stakes, reverse=True)
    assert stakes[0] == 6.0
    ties = [f for f in ranked if f.misses_at_stake == 6.0]
    assert [f.severity for f in ties] == sorted((f.severity for f in ties), key="warning".__ne__)
    doc = ranked[0].to_dict()
    assert set(doc) >= {"code", "kind", "severity", "message", "evidence", "misses_at_stake",
                        "levers"}
