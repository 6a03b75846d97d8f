"""Tests of Cohen's and Fleiss' kappa against scikit-learn, a textbook table and brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from fnguard.errors import DataError
from fnguard.serve.agreement import agreement, cohen_kappa, fleiss_kappa
from fnguard.serve.auth import add_user
from fnguard.serve.leases import lease_next, submit_verdict

#: Fleiss (1971), as tabulated on Wikipedia: 10 subjects, 14 raters, 5 categories.
FLEISS_1971 = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


@pytest.mark.parametrize("seed", range(5))
def test_cohen_kappa_matches_sklearn(seed):
    """Check that Cohen's kappa equals scikit-learn's cohen_kappa_score on random raters."""
    rng = np.random.default_rng(seed)
    a = rng.choice(["positive", "negative", "unsure"], 60)
    b = np.where(rng.random(60) < 0.6, a, rng.choice(["positive", "negative", "unsure"], 60))
    assert cohen_kappa(list(a), list(b)) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


def test_cohen_kappa_undefined_and_mismatched():
    """Check that kappa is NaN when both raters use one label, and refuses unequal lengths."""
    assert math.isnan(cohen_kappa(["y", "y"], ["y", "y"]))
    assert math.isnan(cohen_kappa([], []))
    with pytest.raises(DataError, match="pairs"):
        cohen_kappa(["y"], ["y", "n"])


def test_fleiss_kappa_textbook_example():
    """Check that Fleiss' kappa of the 1971 example is 0.210."""
    assert fleiss_kappa(FLEISS_1971) == pytest.approx(0.20993, abs=1e-5)


def _brute_fleiss(table):
    """Fleiss' kappa from its definition: agreeing pairs of ratings per case."""
    table = np.asarray(table)
    m = table[0].sum()
    per_case = []
    for row in table:
        ratings = np.repeat(np.arange(len(row)), row)
        pairs = list(itertools.combinations(ratings, 2))
        per_case.append(np.mean([x == y for x, y in pairs]))
    p = table.sum(axis=0) / (len(table) * m)
    return (np.mean(per_case) - (p**2).sum()) / (1 - (p**2).sum())


@pytest.mark.parametrize("seed", range(5))
def test_fleiss_kappa_matches_brute_force(seed):
    """Check that Fleiss' kappa equals the mean agreeing-pair share beyond chance."""
    rng = np.random.default_rng(seed)
    table = np.array([rng.multinomial(3, [0.5, 0.3, 0.2]) for _ in range(40)])
    assert fleiss_kappa(table) == pytest.approx(_brute_fleiss(table), abs=1e-12)


def test_fleiss_kappa_two_raters_is_scotts_pi():
    """Check that with two ratings per case Fleiss' kappa equals Scott's pi computed by hand."""
    a = ["p", "p", "n", "n", "p", "n"]
    b = ["p", "n", "n", "n", "p", "p"]
    table = [[(x == "p") + (y == "p"), (x == "n") + (y == "n")] for x, y in zip(a, b, strict=True)]
    p_o = np.mean([x == y for x, y in zip(a, b, strict=True)])
    share_p = (a + b).count("p") / 12
    p_e = share_p**2 + (1 - share_p) ** 2
    assert fleiss_kappa(table) == pytest.approx((p_o - p_e) / (1 - p_e))


def test_fleiss_kappa_refuses_uneven_rows():
    """Check that rows with different numbers of ratings are refused."""
    with pytest.raises(DataError, match="same number"):
        fleiss_kappa([[2, 0], [1, 0]])


def test_agreement_from_the_store(queued):
    """Check that the store's agreement equals Fleiss' and Cohen's kappa of the verdicts."""
    engine = queued
    ann = add_user(engine, "ann", "password-ann")
    bob = add_user(engine, "bob", "password-bob")
    pairs = [("positive", "positive"), ("negative", "positive"), ("negative", "negative"),
             ("unsure", "negative"), ("positive", "positive")]
    for x, y in pairs:
        case = lease_next(engine, ann, reviews_per_case=2)
        assert lease_next(engine, bob, reviews_per_case=2) == case
        submit_verdict(engine, ann, case, x, reviews_per_case=2)
        submit_verdict(engine, bob, case, y, reviews_per_case=2)
    got = agreement(engine, reviews_per_case=2)
    a, b = zip(*pairs, strict=True)
    table = [[(x == c) + (y == c) for c in ("positive", "negative", "unsure")] for x, y in pairs]
    assert got["cases"] == 5
    assert got["fleiss_kappa"] == pytest.approx(fleiss_kappa(table), abs=1e-4)
    assert got["pairs"][0]["cohen_kappa"] == pytest.approx(cohen_kappa_score(a, b), abs=1e-4)
    assert got["raw"] == pytest.approx(3 / 5)
