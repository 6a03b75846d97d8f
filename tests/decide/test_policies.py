"""Tests for fnguard.decide.policies: every requirement kind against a brute-force search."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import (
    balanced_accuracy_score,
    fbeta_score,
    matthews_corrcoef,
    precision_score,
    recall_score,
)

from fnguard.decide import Decision, choose_threshold, parse_requirement
from fnguard.errors import DataError, RequirementError
from fnguard.metrics import summary

REQUIREMENTS = [
    "recall>=0.8",
    "recall>0.8",
    "recall>=0.5 maximize f1",
    "recall>=0.7 maximize mcc",
    "recall>=0.6 maximize balanced_accuracy",
    "recall>=0.6 minimize fpr",
    "fnr<=0.25",
    "fnr<=0.4 maximize specificity",
    "fpr<=0.2",
    "fpr<0.2",
    "fpr<=0.3 maximize precision",
    "fpr<=0.25 minimize fnr",
    "specificity>=0.75",
    "precision>=0.6",
    "precision>=0.5 maximize f2",
    "fbeta:2",
    "fbeta:0.5",
    "f1",
    "youden",
    "cost:fn=50,fp=1",
    "cost:fn=5,fp=2,tp=1,tn=0.5",
    "cost:fn=1,fp=1",
]
#: Float tolerance of a constraint and of a tie in the objective.
TOL = 1e-12


def reference_metric(name: str, tp: int, fp: int, tn: int, fn: int) -> float:
    """A metric from the four counts, by its textbook formula (zero denominators give 0)."""

    def ratio(a: float, b: float) -> float:
        return a / b if b else 0.0

    recall, spec = ratio(tp, tp + fn), ratio(tn, tn + fp)
    if name in ("f1", "f2"):
        b2 = float(name[1]) ** 2
        return ratio((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp)
    if name == "mcc":
        den = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        return ratio(tp * tn - fp * fn, den)
    return {
        "recall": recall,
        "fnr": ratio(fn, tp + fn),
        "precision": ratio(tp, tp + fp),
        "fpr": ratio(fp, fp + tn),
        "specificity": spec,
        "balanced_accuracy": (recall + spec) / 2,
    }[name]


@pytest.mark.parametrize("name", ["recall", "precision", "f1", "f2", "mcc", "balanced_accuracy"])
def test_reference_metric_is_sklearn(name: str) -> None:
    """Check that the brute-force reference formulas equal scikit-learn's metrics."""
    sk = {
        "recall": lambda y, p: recall_score(y, p, zero_division=0),
        "precision": lambda y, p: precision_score(y, p, zero_division=0),
        "f1": lambda y, p: fbeta_score(y, p, beta=1, zero_division=0),
        "f2": lambda y, p: fbeta_score(y, p, beta=2, zero_division=0),
        "mcc": matthews_corrcoef,
        "balanced_accuracy": balanced_accuracy_score,
    }[name]
    for seed in range(10):
        y, s = small_data(seed)
        for t in np.r_[np.inf, np.unique(s)]:
            pred = s >= t
            counts = _counts(y, pred)
            assert reference_metric(name, *counts) == pytest.approx(sk(y, pred), abs=1e-12)


def _counts(y: np.ndarray, pred: np.ndarray) -> tuple[int, int, int, int]:
    return (int(np.sum(pred & y)), int(np.sum(pred & ~y)), int(np.sum(~pred & ~y)),
            int(np.sum(~pred & y)))


def brute_force(y: np.ndarray, s: np.ndarray, text: str) -> tuple[float, float, bool]:
    """Threshold, objective and whether met, by trying every distinct score and +inf."""
    req = parse_requirement(text)
    candidates = np.r_[np.inf, np.unique(s)[::-1]]  # decreasing, like the curve
    objective, feasible, value = [], [], []
    for t in candidates:
        tp, fp, tn, fn = _counts(y, s >= t)
        if req.kind == "constraint":
            v = reference_metric(req.metric, tp, fp, tn, fn)
            ok = {
                ">=": v >= req.target - TOL,
                ">": v > req.target + TOL,
                "<=": v <= req.target + TOL,
                "<": v < req.target - TOL,
            }[req.op]
            if req.metric == "precision":
                ok = ok and tp + fp > 0
            value.append(v)
            feasible.append(ok)
            obj = reference_metric(req.secondary, tp, fp, tn, fn)
            objective.append(-obj if req.secondary in ("fpr", "fnr") else obj)
        elif req.kind == "fbeta":
            b2 = req.beta**2
            objective.append((1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp) if tp else 0.0)
        elif req.kind == "youden":
            objective.append(tp / (tp + fn) - fp / (fp + tn))
        else:
            c = req.costs
            cost = (c["fn"] * fn + c["fp"] * fp + c["tp"] * tp + c["tn"] * tn) / y.size
            objective.append(-cost)
    objective_arr = np.asarray(objective)
    ok = np.asarray(feasible) if feasible else np.ones(candidates.size, dtype=bool)
    if not ok.any():
        # The closest point: max precision (the only constraint that can fail), highest t.
        v = np.where(np.asarray([t < np.inf for t in candidates]), value, -np.inf)
        i = int(np.flatnonzero(v >= v.max() - TOL)[0])
        return float(candidates[i]), float(v[i]), False
    best = objective_arr[ok].max()
    # ties: the most positives caught, then the fewest false alarms
    tied = np.flatnonzero(ok & (objective_arr >= best - TOL))
    caught = [int(np.sum((s >= candidates[j]) & y)) for j in tied]
    alarms = [int(np.sum((s >= candidates[j]) & ~y)) for j in tied]
    i = int(tied[min(range(len(tied)), key=lambda j: (-caught[j], alarms[j]))])
    sign = -1 if req.kind == "cost" or req.secondary in ("fpr", "fnr") else 1
    return float(candidates[i]), sign * float(objective_arr[i]), True


def small_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Small labelled data with heavy ties: at least one row of each class."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(6, 40))
    y = rng.random(n) < rng.uniform(0.2, 0.7)
    y[:2] = [True, False]
    decimals = int(rng.integers(0, 3))
    s = np.round(rng.random(n) * 0.6 + 0.4 * y, decimals)
    return y, s


@pytest.mark.parametrize("text", REQUIREMENTS)
def test_against_brute_force(text: str) -> None:
    """Check threshold, objective and met against a brute-force search on small tied data."""
    for seed in range(120):
        y, s = small_data(seed)
        expected_t, expected_obj, expected_met = brute_force(y, s, text)
        d = choose_threshold(y, s, text, n_boot=0)
        assert d.threshold == expected_t, (seed, text)
        assert d.met is expected_met, (seed, text)
        if expected_met:
            assert d.objective == pytest.approx(expected_obj, abs=1e-12), (seed, text)
            assert d.best_value is None and d.shortfall is None
        else:
            assert d.best_threshold == expected_t
            assert d.best_value == pytest.approx(expected_obj, abs=1e-12)


def test_unmet_precision_reports_best_point() -> None:
    """Check that an unreachable precision gives met False, the best precision and the shortfall."""
    y = np.array([1, 0, 1, 0, 0, 1, 0, 0])
    s = np.array([0.9, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3])
    # Precision at 0.9 is 1/2, at 0.8 is 2/3, at 0.7 is 2/4, ... at 0.5 is 3/6: best 2/3.
    d = choose_threshold(y, s, "precision>=0.9", n_boot=0)
    assert d.met is False
    assert d.threshold == d.best_threshold == 0.8
    assert d.best_value == pytest.approx(2 / 3)
    assert d.shortfall == pytest.approx(0.9 - 2 / 3)
    assert d.value == pytest.approx(2 / 3)
    assert "NOT met" in d.describe()
    assert d.to_dict()["shortfall"] == pytest.approx(0.9 - 2 / 3)
    assert math.isnan(d.threshold_low) and math.isnan(d.threshold_high)


def test_docstring_example_and_flag_nothing() -> None:
    """Check the documented example, and that +inf (flag nothing) can be chosen."""
    d = choose_threshold([0, 0, 1, 1, 0, 1], [0.1, 0.6, 0.7, 0.4, 0.2, 0.9], "recall>=0.9",
                         n_boot=0)
    assert (d.threshold, d.met) == (0.4, True)
    # Misses cost nothing compared with false alarms: flag nothing.
    d = choose_threshold([0, 0, 1, 0], [0.9, 0.8, 0.1, 0.7], "cost:fn=1.01,fp=100", n_boot=0)
    assert d.threshold == math.inf
    assert d.to_dict()["threshold"] is None
    assert "above every score" in d.describe()


@pytest.mark.parametrize(
    "text", ["recall>=0.8", "fpr<=0.1 @90%", "f1", "cost:fn=20,fp=1", "youden"]
)
def test_metrics_equal_summary(text: str) -> None:
    """Check that Decision.metrics equal fnguard.metrics.summary at the chosen threshold."""
    rng = np.random.default_rng(1)
    y = rng.random(600) < 0.2
    s = np.round(rng.normal(size=600) + 1.5 * y, 2)
    d = choose_threshold(y, s, text, n_boot=50, random_state=3)
    ref = summary(y, s, threshold=d.threshold, n_boot=50, random_state=3)
    assert list(d.metrics) == list(ref)
    for name, est in ref.items():
        got = d.metrics[name]
        assert got.value == pytest.approx(est.value, nan_ok=True), name
        assert got.low == pytest.approx(est.low, nan_ok=True), name
        assert got.high == pytest.approx(est.high, nan_ok=True), name
    if d.requirement.kind == "constraint":
        assert d.value == pytest.approx(d.metrics[d.requirement.metric].value)


@pytest.mark.parametrize(
    "text", ["recall>=0.9", "fnr<=0.1 @95%", "fpr<=0.05 @90%", "f1", "cost:fn=20,fp=1",
             "precision>=0.5"]
)
def test_threshold_interval_brackets_threshold(text: str) -> None:
    """Check that the bootstrap interval of the threshold holds it and is narrow on big data."""
    rng = np.random.default_rng(2)
    y = rng.random(20_000) < 0.1
    s = rng.normal(size=20_000) + 2 * y
    d = choose_threshold(y, s, text, n_boot=200, random_state=0)
    assert d.threshold_low <= d.threshold <= d.threshold_high
    assert d.threshold_high - d.threshold_low < 0.5
    d0 = choose_threshold(y, s, text, n_boot=0)
    assert d0.threshold == d.threshold
    assert math.isnan(d0.threshold_low) and math.isnan(d0.threshold_high)


def test_guarantee_decision_fields() -> None:
    """Check allowed, met and the description of a guaranteed recall."""
    rng = np.random.default_rng(4)
    y = rng.random(3000) < 0.1
    s = rng.normal(size=3000) + 2 * y
    d = choose_threshold(y, s, "recall>=0.9 @95%", n_boot=0)
    assert isinstance(d, Decision) and d.met
    n_pos = int(y.sum())
    misses = int(np.sum(y & (s < d.threshold)))
    assert misses <= d.allowed
    # The highest such threshold: one score higher misses more than allowed.
    higher = np.unique(s)[np.unique(s) > d.threshold].min()
    assert int(np.sum(y & (s < higher))) > d.allowed
    assert 0 < d.allowed < n_pos
    assert "guaranteed at 95%" in d.describe()


def test_whole_float_groups_are_their_integers() -> None:
    """Check that groups 1.0 and 1 are one group, named '1' (as pandas compares them)."""
    rng = np.random.default_rng(3)
    y = rng.random(600) < 0.5
    s = rng.random(600) * 0.5 + 0.5 * y
    ints = np.repeat([1, 2], 300)
    floats = [1.0 if g == 1 else 2 for g in ints]
    a = choose_threshold(y, s, "recall>=0.8 @80% per g", groups=ints, n_boot=0)
    b = choose_threshold(y, s, "recall>=0.8 @80% per g", groups=floats, n_boot=0)
    assert a.group_thresholds == b.group_thresholds and set(a.group_thresholds) == {"1", "2"}


def test_per_group_threshold_is_min_of_groups() -> None:
    """Check that per-group recall guarantees give group thresholds and their minimum."""
    rng = np.random.default_rng(5)
    g = np.repeat(["a", "b"], 2000)
    y = rng.random(4000) < 0.1
    s = rng.normal(size=4000) + np.where(g == "a", 2.5, 1.0) * y
    d = choose_threshold(y, s, "recall>=0.9 @90% per site", groups=g, n_boot=0)
    assert set(d.group_thresholds) == {"a", "b"}
    for name in ("a", "b"):
        alone = choose_threshold(y[g == name], s[g == name], "recall>=0.9 @90%", n_boot=0)
        assert d.group_thresholds[name] == alone.threshold
    assert d.threshold == min(d.group_thresholds.values())
    fpr = choose_threshold(y, s, "fpr<=0.1 @90% per site", groups=g, n_boot=0)
    assert fpr.threshold == max(fpr.group_thresholds.values())
    low = choose_threshold(y, s, "recall>=0.9 minimize fpr @90% per site", groups=g, n_boot=0)
    assert low.objective == pytest.approx(low.metrics["fpr"].value)


def _kw(**kw: object) -> dict:
    base: dict = dict(y_true=[0, 1, 0, 1], y_score=[0.1, 0.9, 0.3, 0.6], requirement="f1")
    return base | kw


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (_kw(y_true=[0, 0, 0, 0]), DataError, "only negative rows: a threshold needs both"),
        (_kw(y_true=["a", "b", "a", "b"]), DataError, "positive label 1 does not occur"),
        (_kw(y_true=[0, 0, 0, 0], positive=0), DataError, "only positive"),
        (_kw(y_true=[1, 1, 1, 1]), DataError, "only positive"),
        (_kw(y_score=[0.1, np.nan, 0.3, 0.6]), DataError, "NaN"),
        (_kw(y_score=[0.1, np.inf, 0.3, 0.6]), DataError, "infinite"),
        (_kw(y_score=[0.1, 0.2]), DataError, "pass one score per label"),
        (_kw(y_true=[0, 1, 2, 1]), DataError, "two classes"),
        (_kw(requirement="recall>=0.9 @95% per site"), RequirementError, "no groups"),
        (_kw(requirement="recall>=0.9 @95%"), RequirementError, "needs at least 29 positives"),
        (_kw(requirement="recall>=2"), RequirementError, "strictly between"),
        (_kw(requirement="recall>=0.9 @90% per site", groups=["a", "b"]), DataError,
         "'groups' has 2 rows"),
        (_kw(requirement="recall>=0.9 @90% per site", groups=["a", "a", "b", "b"]),
         RequirementError, "In group site = 'a'.*needs at least 22 positives"),
        (_kw(groups=["a", "b"]), DataError, "'groups' has 2 rows"),
        (_kw(requirement="recall>=0.9 @90% per site", groups=["a", None, "b", "b"]),
         DataError, r"'groups' holds 1 missing value\(s\) \(first at row 1\)"),
        (_kw(requirement="recall>=0.9 @90% per site", groups=[["a"], ["a"], ["b"], ["b"]]),
         DataError, "'groups' must be one-dimensional"),
        (_kw(requirement="recall>=0.9 @90% per site", groups=[1, "1", 2, 2]),
         DataError, "'groups' holds both 1 and '1', which would be one group '1'"),
    ],
)
def test_bad_inputs(kwargs: dict, error: type, match: str) -> None:
    """Check that bad inputs raise the documented error with a helpful message."""
    with pytest.raises(error, match=match):
        choose_threshold(**kwargs)


def test_groups_without_a_guarantee_per_column_are_ignored_with_a_warning() -> None:
    """Check that groups given with a requirement that has no 'per COLUMN' are not applied
    silently (a guarantee without 'per' used to become per group): same threshold, a
    warning; and that a review band refuses a guarantee per column it cannot place."""
    from fnguard.decide import review_band
    from fnguard.errors import FnguardWarning

    rng = np.random.default_rng(0)
    y = rng.random(2000) < 0.3
    s = rng.normal(size=2000) + 1.5 * y
    g = np.where(rng.random(2000) < 0.5, "a", "b")
    plain = choose_threshold(y, s, "recall>=0.9 @90%", positive=True, n_boot=0)
    with pytest.warns(FnguardWarning, match="used only by a guarantee per column"):
        given = choose_threshold(y, s, "recall>=0.9 @90%", positive=True, groups=g, n_boot=0)
    assert given.threshold == plain.threshold and not given.group_thresholds
    with pytest.raises(RequirementError, match="which a review band cannot place"):
        review_band(y, s, "recall>=0.9 @90% per site", capacity=10, positive=True)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda y, s: choose_threshold(y, s, "f1", n_boot=10.5), DataError,
         "'n_boot' parameter must be >= 0. Got 10.5"),
        (lambda y, s: choose_threshold(y, s, "f1", random_state="a"), DataError,
         "'random_state' parameter must be None"),
        (lambda y, s: choose_threshold(y, s, 0.9), RequirementError,
         r"must be text \(or a Requirement\)\. Got float 0\.9 instead\. A requirement is"),
        (lambda y, s: choose_threshold(y, s.astype("datetime64[s]"), "f1"), DataError,
         "must hold real numbers"),
        (lambda y, s: choose_threshold(y, s + 0j, "f1"), DataError, "must hold real numbers"),
        (lambda y, s: summary(y, s, 0.5, confidence="95%"), DataError,
         "'confidence' parameter must be in"),
    ],
)
def test_bad_options(call, error, match) -> None:
    """Check that bad options are fnguard errors naming the option (were raw numpy
    TypeErrors, or silent: datetime and complex scores were accepted)."""
    y = np.array([0, 1, 0, 1, 1, 0] * 5)
    s = np.linspace(0, 1, 30)
    with pytest.raises(error, match=match):
        call(y, s)


def test_one_score_column_is_the_positive_score() -> None:
    """Check that a (n, 1) score array (Keras' sigmoid output) is the positive class's
    score, not a one-column multiclass matrix."""
    y = np.array([0, 1, 0, 1, 1, 0] * 5)
    s = np.linspace(0, 1, 30)
    assert choose_threshold(y, s[:, None], "f1", n_boot=0).threshold == choose_threshold(
        y, s, "f1", n_boot=0).threshold


@pytest.mark.parametrize(
    "text",
    ["recall>=0.8", "recall>=0.8 @90%", "fnr<=0.2", "fpr<=0.05", "fpr<=0.05 @90%",
     "precision>=0.9", "cost:fn=10,fp=1", "f2"],
)
def test_ties_never_give_up_catches_or_add_false_alarms(text: str) -> None:
    """Check that on separable scores (the objective ties over a range of thresholds) every
    requirement catches every positive without a false alarm: a precision tie is broken
    towards more recall, a recall tie towards fewer false alarms, also for guarantees."""
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(50, dtype=bool), np.zeros(200, dtype=bool)]
    s = np.r_[rng.uniform(0.9, 1.0, 50), rng.uniform(0.0, 0.1, 200)]
    d = choose_threshold(y, s, text, n_boot=0)
    assert d.threshold == s[:50].min()
    assert (d.metrics["recall"].value, d.metrics["fpr"].value) == (1.0, 0.0)


@pytest.mark.parametrize("text", ["fpr<=0.05 @95% per region", "recall>=0.8 @90% per region"])
def test_one_threshold_for_all_groups_gives_up_no_catch_on_ties(text: str) -> None:
    """Check that a guarantee per group on separable scores catches every positive without a
    false alarm: the common threshold was the highest of the groups' own choices, which each
    sat at its own group's lowest positive score, so the other groups lost catches; and that
    every group's guarantee still holds at it."""
    from fnguard.decide.guarantee import allowed_false_alarms, allowed_misses

    rng = np.random.default_rng(0)
    n = 3000
    y = rng.random(n) < 0.2
    s = np.where(y, rng.uniform(0.6, 1.0, n), rng.uniform(0.0, 0.4, n))
    region = rng.choice(["n", "s", "e"], n)
    d = choose_threshold(y, s, text, groups=region, n_boot=0)
    assert d.threshold == s[y].min()
    assert (d.metrics["recall"].value, d.metrics["fpr"].value) == (1.0, 0.0)
    # on scores that overlap, every group keeps its guarantee at the common threshold
    s = np.where(y, rng.beta(4, 2, n), rng.beta(2, 4, n))
    d = choose_threshold(y, s, text, groups=region, n_boot=0)
    for g in ("n", "s", "e"):
        m = region == g
        if text.startswith("fpr"):
            assert ((s >= d.threshold) & m & ~y).sum() <= allowed_false_alarms(
                int((m & ~y).sum()), 0.05, 0.95)
        else:
            assert ((s < d.threshold) & m & y).sum() <= allowed_misses(int((m & y).sum()), 0.8,
                                                                        0.9)
