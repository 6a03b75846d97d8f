"""Tests of the honest splits: final test set, folds, calibration split."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold, train_test_split

from fnguard.search.budget import SearchError
from fnguard.search.split import calibration_split, cv_folds, holdout_split


def _labels(n_pos: int, n_neg: int) -> np.ndarray:
    return np.r_[np.ones(n_pos, bool), np.zeros(n_neg, bool)]


def test_holdout_split_matches_scikit_learn() -> None:
    """Check that the test set is scikit-learn's stratified split with the same seed."""
    y = np.random.default_rng(0).random(1000) < 0.07
    search, test = holdout_split(y, 0.2, seed=3)
    _, expected = train_test_split(np.arange(1000), test_size=0.2, stratify=y, random_state=3)
    assert np.array_equal(test, np.sort(expected))
    assert np.intersect1d(search, test).size == 0 and search.size + test.size == 1000
    assert abs(y[test].mean() - y.mean()) < 0.01


@pytest.mark.parametrize(
    ("y", "test_size", "match"),
    [(_labels(10, 90), 0.0, "in \\(0, 0.9\\]"), (_labels(10, 90), 0.95, "in \\(0, 0.9\\]"),
     (_labels(10, 90), "0.2", "in \\(0, 0.9\\]"), (_labels(1, 99), 0.2, "no positive row"),
     (_labels(2, 98), 0.1, "no positive row")],
)
def test_holdout_split_errors(y: np.ndarray, test_size: object, match: str) -> None:
    """Check that an impossible test split is refused with what to change."""
    with pytest.raises(SearchError, match=match):
        holdout_split(y, test_size, seed=0)


def test_cv_folds_are_stratified_k_fold() -> None:
    """Check that enough positives give scikit-learn's stratified folds, with no note."""
    y = _labels(40, 160)
    folds, notes = cv_folds(y, 5, seed=1)
    expected = StratifiedKFold(5, shuffle=True, random_state=1).split(np.zeros(200), y)
    assert notes == []
    for (tr, va), (etr, eva) in zip(folds, expected, strict=True):
        assert np.array_equal(tr, etr) and np.array_equal(va, eva)
        assert y[va].sum() >= 2


@pytest.mark.parametrize(("n_pos", "folds"), [(4, 2), (7, 3), (9, 4), (10, 5), (50, 5)])
def test_cv_folds_fall_back(n_pos: int, folds: int) -> None:
    """Check that too few positives give the most folds with two positives each, and a note."""
    y = _labels(n_pos, 200)
    got, notes = cv_folds(y, 5, seed=0)
    assert len(got) == folds
    assert all(y[va].sum() >= 2 for _, va in got)
    assert bool(notes) == (folds < 5)
    if notes:
        assert f"{folds} folds (of the 5 asked)" in notes[0]


@pytest.mark.parametrize(
    ("y", "cv", "match"),
    [(_labels(3, 100), 5, "Only 3 positive rows.*need at least 4"),
     (_labels(40, 100), 1, "integer >= 2"), (_labels(40, 100), 2.5, "integer >= 2")],
)
def test_cv_folds_errors(y: np.ndarray, cv: object, match: str) -> None:
    """Check that fewer than two folds of two positives, or a bad cv, is refused."""
    with pytest.raises(SearchError, match=match):
        cv_folds(y, cv, seed=0)


def test_calibration_split_holds_enough_positives() -> None:
    """Check that the calibration part grows to hold the positives a guarantee needs."""
    y = _labels(100, 900)
    fit, cal = calibration_split(y, needed=10, seed=0)
    assert cal.size == 250 and y[cal].sum() == 25
    fit, cal = calibration_split(y, needed=45, seed=0)
    assert y[cal].sum() >= 45 and np.intersect1d(fit, cal).size == 0
    with pytest.raises(SearchError, match="needs at least 59 positive rows"):
        calibration_split(y, needed=59, seed=0)


@pytest.mark.parametrize("text", ["recall>=0.9 @95%", "fnr<=0.1 @95%", "recall>=0.99 @99%",
                                  "recall>=0.95 @90%"])
@pytest.mark.parametrize("n_pos", [9, 27, 60])
def test_too_few_calibration_positives_name_guarantees_within_reach(text, n_pos) -> None:
    """Check that the error's suggested guarantees are ones the calibration positives can
    hold (min_positives at most that many), and the tightest such (a step further needs
    more): it suggested '@90%' where that needed 45 positives and 13 were there."""
    import re

    from fnguard.decide import parse_requirement
    from fnguard.decide.guarantee import min_positives, positives_needed

    req = parse_requirement(text)
    y = np.r_[np.ones(n_pos, bool), np.zeros(400, bool)]
    if n_pos // 2 >= positives_needed(req):
        return
    with pytest.raises(SearchError) as caught:
        calibration_split(y, positives_needed(req), 0, requirement=req)
    n = n_pos // 2
    found = re.findall(r"'(recall>=|fnr<=)([\d.]+) @(\d+)%'", str(caught.value))
    assert found and f"with {n} positives" in str(caught.value)
    for op, target, pct in found:
        r = float(target) if op == "recall>=" else 1 - float(target)
        c = int(pct) / 100
        assert min_positives(round(r, 2), c) <= n
        tighter = (round(r + 0.01, 2), c) if c == req.confidence else (r, c + 0.01)
        assert min_positives(*tighter) > n


def test_too_few_calibration_negatives_are_refused_before_the_search() -> None:
    """Check that an FPR guarantee with too few negatives for any calibration split is
    refused by the split, naming guarantees within reach (it was found after the search,
    once per failed trial), and that the split holds enough negatives when it can."""
    from fnguard.decide import parse_requirement
    from fnguard.decide.guarantee import min_positives, negatives_needed, positives_needed

    req = parse_requirement("fpr<=0.01 @95%")
    need = negatives_needed(req)
    assert need == 299 == min_positives(0.99, 0.95)
    y = np.r_[np.ones(60, bool), np.zeros(546, bool)]
    with pytest.raises(SearchError, match=r"needs at least 299 negative rows .*at most half, "
                       r"273, can calibrate.* \(with 273 negatives: 'fpr<=0\.02 @95%' or "
                       r"'fpr<=0\.01 @93%'\)"):
        calibration_split(y, positives_needed(req), 0, requirement=req, needed_negatives=need)
    y = np.r_[np.ones(60, bool), np.zeros(700, bool)]
    _, cal = calibration_split(y, positives_needed(req), 0, requirement=req,
                               needed_negatives=need)
    assert int((~y[cal]).sum()) >= need


@pytest.mark.parametrize(
    ("text", "counts"),
    [("recall>=0.9", (36, 100)), ("fnr<=0.05", (51, 700)), ("fpr<=0.01", (50, 200)),
     ("recall>=0.9", (400, 1000))],
)
def test_guarantee_advice_names_only_guarantees_the_table_can_calibrate(text, counts) -> None:
    """Check that fit's advice to ask for a guarantee names '@95%' only when the search rows
    can calibrate it (it suggested 'recall>=0.9 @95%', which needs 29 calibration positives,
    on a table of 36 positives, and the fit it advised was refused), and otherwise names
    guarantees that its rows hold, each accepted by the calibration split."""
    import re

    from fnguard.decide import parse_requirement
    from fnguard.search.fit import _guarantee_advice, _guarantee_fits
    from fnguard.search.split import guarantee_split

    req = parse_requirement(text)
    advice = _guarantee_advice(req, counts)
    y = np.r_[np.ones(counts[0], bool), np.zeros(counts[1], bool)]
    suggested = re.findall(r"'([a-z]+[<>]=[\d.]+(?: maximize [a-z]+)? @\d+%)'", advice)
    assert suggested
    if _guarantee_fits(req, counts):
        assert advice.startswith("Ask for a guarantee")
    else:
        assert "needs" in advice and f"spare {counts[0 if 'fpr' not in text else 1] // 2}" in advice
        suggested = suggested[1:]  # the first is the one asked about, out of reach
        assert suggested
    for guarantee in suggested:
        guarantee_split(y, parse_requirement(guarantee), 0)  # accepted


@pytest.mark.parametrize(("text", "counts"), [("recall>=0.9", (25, 500)),
                                               ("recall>=0.9", (400, 5000)),
                                               ("fpr<=0.05", (40, 5000))])
def test_margin_advice_names_only_a_margin_the_rows_can_keep(text, counts) -> None:
    """Check that the advice to raise the margin names one the search rows can keep (with 25
    positives, '--margin 0.95' needs 29 and fell back to the point estimate)."""
    import re

    from fnguard.decide import parse_requirement
    from fnguard.decide.margin import with_margin
    from fnguard.search.fit import _margin_advice

    req = parse_requirement(text)
    advice = _margin_advice(req, 0.9, counts)
    y = np.r_[np.ones(counts[0], bool), np.zeros(counts[1], bool)]
    found = re.findall(r"--margin ([\d.]+)", advice)
    if counts[0] < 29:
        assert not found and "more data" in advice
    for margin in found:
        kept, note = with_margin(req, y, float(margin))
        assert kept.confidence == float(margin) and note.startswith("Safety margin")
