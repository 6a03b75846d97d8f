"""Tests of the three-way review band."""

from __future__ import annotations

import numpy as np
import pytest

from fnguard.decide import choose_threshold
from fnguard.decide.review import AUTO_NEGATIVE, AUTO_POSITIVE, REVIEW, parse_capacity, review_band
from fnguard.errors import DataError, RequirementError


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    n = 4000
    y = rng.random(n) < 0.1
    s = np.round(np.clip(np.where(y, rng.beta(4, 2, n), rng.beta(2, 4, n)), 0, 1), 3)
    return y, s


@pytest.mark.parametrize("capacity", [0, 1, 50, 300, "5%", 0.5, 10_000])
def test_band_brute_force(data, capacity) -> None:
    """Check that the band keeps the requirement's lower edge and is the widest that fits."""
    y, s = data
    band = review_band(y, s, "recall>=0.95", capacity)
    assert band.lower == choose_threshold(y, s, "recall>=0.95", n_boot=0).threshold
    cap = parse_capacity(capacity, len(s))
    in_band = (s >= band.lower) & (s < band.upper)
    assert in_band.sum() == band.n_review <= cap
    # No higher upper edge (a larger band) would still fit.
    higher = np.unique(s[s >= band.upper])
    if higher.size > 1:
        next_upper = higher[1]
        assert ((s >= band.lower) & (s < next_upper)).sum() > cap
    assert band.positives_in_review == int((in_band & y).sum())
    assert band.misses_auto_negative == int(((s < band.lower) & y).sum())
    labels = band.assign(s)
    assert (labels == REVIEW).sum() == band.n_review
    assert (labels == AUTO_POSITIVE).sum() == band.n_auto_positive
    assert (labels == AUTO_NEGATIVE).sum() == band.n_auto_negative


def test_band_with_guarantee(data) -> None:
    """Check that a guaranteed lower edge bounds the misses among auto-negatives."""
    y, s = data
    band = review_band(y, s, "fnr<=0.02 @95%", "10%")
    assert band.miss_rate <= 0.02
    assert band.to_dict()["requirement"].endswith("@95%")


@pytest.mark.parametrize(
    ("capacity", "expected"), [("2%", 20), (0.05, 50), ("150", 150), (7, 7), (1.0, 1000)]
)
def test_parse_capacity(capacity, expected) -> None:
    """Check that counts and shares are read as documented."""
    assert parse_capacity(capacity, 1000) == expected


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"capacity": "lots"}, DataError, "count of cases"),
        ({"capacity": 1.5}, DataError, "count of cases"),
        ({"capacity": -3}, DataError, ">= 0"),
        ({"capacity": "150%"}, DataError, "count of cases"),
        ({"capacity": True}, DataError, "count of cases"),
        ({"capacity": 10, "requirement": "recall>=0.999 @99%"}, RequirementError, "needs at least"),
        ({"capacity": 10, "requirement": "recall>=2"}, RequirementError, "between 0 and 1"),
    ],
)
def test_bad_input(data, kwargs, error, match) -> None:
    """Check that bad capacities and requirements get clear errors."""
    y, s = data
    kwargs = {"requirement": "recall>=0.9", **kwargs}
    with pytest.raises(error, match=match):
        review_band(y, s, **kwargs)
