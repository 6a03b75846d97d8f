"""Tests of the safety margin on plain constraints (fnguard.decide.with_margin)."""

from __future__ import annotations

import numpy as np
import pytest

from fnguard.decide import (
    check_margin,
    choose_threshold,
    min_positives,
    parse_requirement,
    with_margin,
)


def _draw(rng: np.random.Generator, n_pos: int, n_neg: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores of a fixed model on a fresh sample: positives N(1, 1), negatives N(0, 1)."""
    y = np.r_[np.ones(n_pos, bool), np.zeros(n_neg, bool)]
    s = np.r_[rng.normal(1.0, 1.0, n_pos), rng.normal(0.0, 1.0, n_neg)]
    return y, s


def test_margin_keeps_the_constraint_on_new_data() -> None:
    """Check the point of the margin: a threshold chosen at the edge of recall>=0.9 meets it on
    a fresh sample about half of the time, the margin's threshold at least 85% of the time."""
    rng = np.random.default_rng(0)
    req = parse_requirement("recall>=0.9")
    point_ok, margin_ok = [], []
    for _ in range(300):
        y, s = _draw(rng, 200, 2000)
        t_point = choose_threshold(y, s, req, n_boot=0).threshold
        r, note = with_margin(req, y, 0.9)
        t_margin = choose_threshold(y, s, r, n_boot=0).threshold
        assert note.startswith("Safety margin")
        # fewer misses allowed than the bare target: more of these positives caught
        assert (s[y] >= t_margin).mean() > 0.9
        new = rng.normal(1.0, 1.0, 20_000)  # positives of new data: their recall, nearly exact
        point_ok.append((new >= t_point).mean() >= 0.9)
        margin_ok.append((new >= t_margin).mean() >= 0.9)
    assert 0.3 < np.mean(point_ok) < 0.7
    assert np.mean(margin_ok) >= 0.85


def test_margin_equals_the_guarantee_rule() -> None:
    """Check that the margin's threshold is the threshold of the same requirement with a
    guarantee '@90%' (the exact order-statistic rule), for each constraint that takes one."""
    rng = np.random.default_rng(1)
    y, s = _draw(rng, 300, 3000)
    for text, guaranteed in [
        ("recall>=0.9", "recall>=0.9 @90%"),
        ("fnr<=0.05", "fnr<=0.05 @90%"),
        ("fpr<=0.1", "fpr<=0.1 @90%"),
        ("specificity>=0.95", "specificity>=0.95 @90%"),
    ]:
        r, _ = with_margin(parse_requirement(text), y, 0.9)
        assert r.confidence == 0.9
        got = choose_threshold(y, s, r, n_boot=0).threshold
        assert got == choose_threshold(y, s, guaranteed, n_boot=0).threshold
        # the margin is on the safe side of the point estimate
        point = choose_threshold(y, s, text, n_boot=0).threshold
        metric = parse_requirement(text).metric
        value = {  # the constrained metric at a threshold, on these rows
            "recall": lambda t: (s[y] >= t).mean(),
            "fnr": lambda t: (s[y] < t).mean(),
            "fpr": lambda t: (s[~y] >= t).mean(),
            "specificity": lambda t: (s[~y] < t).mean(),
        }[metric]
        if metric in ("recall", "specificity"):
            assert value(got) >= value(point)
        else:
            assert value(got) <= value(point)


@pytest.mark.parametrize(
    "text", ["f1", "cost:fn=10,fp=1", "precision>=0.5", "recall>=0.9 @95%", "youden"]
)
def test_no_margin_where_none_applies(text: str) -> None:
    """Check that objectives, precision constraints and guarantees are left as they are."""
    req = parse_requirement(text)
    y = np.r_[np.ones(500, bool), np.zeros(500, bool)]
    r, note = with_margin(req, y, 0.9)
    assert r is req and note is None


def test_too_few_positives_keeps_the_point_estimate() -> None:
    """Check that with fewer positives than the rule needs the requirement is unchanged, and
    the note says how many would be needed."""
    req = parse_requirement("recall>=0.95")
    need = min_positives(0.95, 0.9)  # 45
    y = np.r_[np.ones(need - 1, bool), np.zeros(1000, bool)]
    r, note = with_margin(req, y, 0.9)
    assert r is req and f"at least {need}" in note and f"there are {need - 1}" in note
    r, _ = with_margin(req, np.r_[y, True], 0.9)
    assert r.confidence == 0.9
    assert with_margin(req, y, None) == (req, None)


@pytest.mark.parametrize("bad", [1.0, 1.5, -0.1, "0.9", True])
def test_bad_margin(bad) -> None:
    """Check that a margin outside (0, 1) is refused with the valid range."""
    with pytest.raises(ValueError, match="margin"):
        check_margin(bad)
