"""Each finding fires on data built to have it and stays quiet on data that does not."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from fnguard.metrics import diagnose


def _codes(y, s, **kw) -> list[str]:
    return [f.code for f in diagnose(y, s, n_boot=50, **kw).findings]


def _good(n: int = 2000, prevalence: float = 0.2, seed: int = 0):
    """Well-separated, well-calibrated-ish scores that a 0.5 threshold handles."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < prevalence
    s = np.clip(np.where(y, rng.beta(6, 2, n), rng.beta(2, 6, n)), 0, 1)
    return y.astype(int), s


def test_fng001_saturated_fires() -> None:
    """Check that FNG001 fires on a sigmoid that prints 1.0 or 2.7e-15 for everything."""
    rng = np.random.default_rng(1)
    y = (rng.random(400) < 0.3).astype(int)
    s = np.where(rng.random(400) < 0.85, y, 1 - y).astype(float)
    s = np.where(s > 0.5, 1.0, 2.7e-15)
    assert "FNG001" in _codes(y, s)


def test_fng001_quiet_on_spread_scores() -> None:
    """Check that FNG001 stays quiet on spread-out scores."""
    assert "FNG001" not in _codes(*_good())


def test_fng002_planted_slice() -> None:
    """Check that FNG002 fires on a planted weak slice and not without it."""
    rng = np.random.default_rng(3)
    n = 4000
    y, s = _good(n, seed=3)
    region = rng.choice(["a", "b", "c", "d"], n)
    weak = (region == "c") & (y == 1)
    s_weak = np.where(weak, s * 0.4, s)
    features = pd.DataFrame({"region": region})
    assert "FNG002" in _codes(y, s_weak, features=features)
    assert "FNG002" not in _codes(y, s, features=features)


def test_fng003_margins() -> None:
    """Check that FNG003 fires on margins outside [0, 1] and not on probabilities."""
    y, s = _good()
    assert "FNG003" in _codes(y, (s - 0.5) * 10)
    assert "FNG003" not in _codes(y, s)


def test_fng004_miscalibrated() -> None:
    """Check that FNG004 fires when scores overstate the positive rate."""
    rng = np.random.default_rng(4)
    p = rng.random(3000)
    y = (rng.random(3000) < p).astype(int)
    assert "FNG004" not in _codes(y, p)
    assert "FNG004" in _codes(y, np.sqrt(p))


def test_fng005_few_positives() -> None:
    """Check that FNG005 fires below 50 positives only."""
    y, s = _good(2000, prevalence=0.01, seed=5)
    assert y.sum() < 50
    assert "FNG005" in _codes(y, s)
    assert "FNG005" not in _codes(*_good())


def test_fng006_threshold_too_high() -> None:
    """Check that FNG006 fires when 0.5 misses most positives that the ranking separates."""
    rng = np.random.default_rng(6)
    n = 3000
    y = (rng.random(n) < 0.05).astype(int)
    s = np.clip(np.where(y == 1, rng.beta(2, 8, n) + 0.1, rng.beta(1, 12, n)), 0, 1)
    findings = diagnose(y, s, n_boot=50).findings
    f = next(f for f in findings if f.code == "FNG006")
    assert re.search(r"recall reaches (8\d|9\d|100)%", f.message)
    assert "FNG006" not in _codes(*_good())


def test_fng007_scores_of_the_other_class() -> None:
    """Check that FNG007 fires on the score of the other class (1 - score), names both
    labels, and stays quiet on good scores and on scores without signal."""
    y, s = _good()
    d = diagnose(y, 1 - s, n_boot=50)
    f = next(f for f in d.findings if f.code == "FNG007")
    assert "other class (0)" in f.message and "positives (1)" in f.message
    assert d.findings[0].code == "FNG007"  # listed first: the other findings follow from it
    assert "FNG007" not in _codes(y, s)
    rng = np.random.default_rng(12345)  # not _good's stream: unrelated to the labels
    assert "FNG007" not in _codes(y, rng.random(len(y)))


def test_fng007_without_bootstrap_and_for_a_class_of_multiclass_scores() -> None:
    """Check that FNG007 fires with n_boot=0 (Hanley-McNeil's error instead of the bootstrap
    interval) and that, for one class of multiclass scores, it points at the columns rather
    than at --positive."""
    from fnguard.metrics.findings import find

    y, s = _good()
    d = diagnose(y, 1 - s, n_boot=0)
    assert any(f.code == "FNG007" for f in d.findings)
    d.negative = "not 1"  # as fnguard.metrics.multiclass names the rest of a class
    f = next(f for f in find(d) if f.code == "FNG007")
    assert "--score CLASS=COLUMN" in f.message and "--positive" not in f.message


def test_fng001_quiet_without_misses() -> None:
    """Check that saturated scores that miss nothing raise no finding (nothing at stake)."""
    y = np.r_[np.ones(50, int), np.zeros(350, int)]
    s = np.where(y == 1, 1.0, 2.7e-15)
    assert "FNG001" not in _codes(y, s)


@pytest.mark.parametrize(
    "code", ["FNG001", "FNG002", "FNG003", "FNG004", "FNG005", "FNG006", "FNG007"]
)
def test_codes_are_stable(code: str) -> None:
    """Check that every documented code has a check."""
    from fnguard.metrics.findings import CHECKS

    docs = " ".join(check.__doc__ or "" for check in CHECKS)
    assert code in docs
