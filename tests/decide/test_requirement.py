"""Tests for fnguard.decide.requirement: every form of the grammar, round trips and bad strings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fnguard.decide import GRAMMAR, Requirement, parse_requirement
from fnguard.decide.requirement import CONSTRAINTS, GUARANTEED, OBJECTIVES
from fnguard.errors import RequirementError

EXAMPLE = "Example: 'recall>=0.95 maximize precision @95%'"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("recall>=0.95", dict(kind="constraint", metric="recall", op=">=", target=0.95,
                              secondary="precision")),
        ("fnr<=0.05", dict(kind="constraint", metric="fnr", op="<=", target=0.05,
                           secondary="precision")),
        ("fpr<=0.01", dict(kind="constraint", metric="fpr", op="<=", target=0.01,
                           secondary="recall")),
        ("precision>=0.5", dict(kind="constraint", metric="precision", op=">=", target=0.5,
                                secondary="recall")),
        ("specificity>=0.99", dict(kind="constraint", metric="specificity", target=0.99,
                                   secondary="recall")),
        ("recall>=0.95 maximize precision", dict(metric="recall", secondary="precision")),
        ("recall>=0.95 maximize f1", dict(metric="recall", secondary="f1")),
        ("recall>=0.95 minimize fpr", dict(metric="recall", secondary="fpr")),
        ("fpr<=0.1 maximise balanced_accuracy", dict(metric="fpr", secondary="balanced_accuracy")),
        ("recall>=0.9 max mcc", dict(secondary="mcc")),
        ("fbeta:2", dict(kind="fbeta", beta=2.0)),
        ("fbeta=0.5", dict(kind="fbeta", beta=0.5)),
        ("f1", dict(kind="fbeta", beta=1.0)),
        ("f2", dict(kind="fbeta", beta=2.0)),
        ("youden", dict(kind="youden")),
        ("cost:fn=50,fp=1", dict(kind="cost", costs={"fn": 50.0, "fp": 1.0, "tp": 0.0,
                                                     "tn": 0.0})),
        ("cost:fn=50,fp=1,tp=2,tn=0.5", dict(costs={"fn": 50.0, "fp": 1.0, "tp": 2.0,
                                                    "tn": 0.5})),
        ("cost: fp=3, fn=7", dict(costs={"fn": 7.0, "fp": 3.0, "tp": 0.0, "tn": 0.0})),
        ("recall>=0.95 @95%", dict(metric="recall", target=0.95, confidence=0.95,
                                   secondary="precision")),
        ("recall>=0.95 @0.9", dict(confidence=0.9)),
        ("fnr<=0.05 @99%", dict(metric="fnr", confidence=0.99)),
        ("fpr<=0.01 @90%", dict(metric="fpr", confidence=0.9)),
        ("recall>=0.95 @95% per region", dict(confidence=0.95, per="region")),
        ("recall>=0.95 maximize precision @95% per region", dict(secondary="precision",
                                                                 confidence=0.95,
                                                                 per="region")),
        # the guarantee, the objective and 'per' in other orders
        ("recall>=0.9 @95% per region maximize f1", dict(secondary="f1", confidence=0.95,
                                                         per="region")),
        ("recall>=0.95 @95% maximize f1", dict(secondary="f1", confidence=0.95)),
        ("recall>=0.9 per zip code @90%", dict(confidence=0.9, per="zip code")),
        ("malignant: recall>=0.98", dict(label="malignant", metric="recall", target=0.98)),
        ("malignant: recall>=0.98 @95% per site", dict(label="malignant", confidence=0.95,
                                                       per="site")),
        ("benign: fbeta:2", dict(label="benign", kind="fbeta", beta=2.0)),
        ("benign: cost:fn=5,fp=1", dict(label="benign", kind="cost")),
        # the signs people paste, read as >= and <=
        ("recall≥0.95", dict(kind="constraint", metric="recall", op=">=", target=0.95)),
        ("fpr ≤ 0.01 @95%", dict(metric="fpr", op="<=", target=0.01, confidence=0.95)),
        # a percentage is divided by 100 once, without a float's rounding error
        ("recall>=0.9 @99.9%", dict(confidence=0.999)),
        ("recall>=99.9%", dict(target=0.999)),
    ],
)
def test_parse_every_form(text: str, expected: dict) -> None:
    """Check that each documented form parses to the expected fields."""
    req = parse_requirement(text)
    assert req.text == text
    for name, value in expected.items():
        assert getattr(req, name) == value, name
    if "confidence" not in expected:
        assert req.confidence is None and not req.guaranteed
    if "label" not in expected:
        assert req.label is None


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("tpr>=0.9", "recall>=0.9"),
        ("sensitivity>=0.9", "recall>=0.9"),
        ("TNR>=0.9", "specificity>=0.9"),
        ("Recall >= 90%", "recall>=0.9"),
        ("recall=>0.9", "recall>=0.9"),
        ("fpr=<0.1", "fpr<=0.1"),
        ("  recall>=0.9   maximize   precision  ", "recall>=0.9"),
        ("recall>=0.9 maximise precision", "recall>=0.9"),
        ("recall>=0.9 @ 95 %", "recall>=0.9 @95%"),
        ("recall>=0.9 @95% PER region", "recall>=0.9 @95% per region"),
        ("recall ⩾ 0.9", "recall>=0.9"),
        ("fnr≤0.05 @90%", "fnr<=0.05 @90%"),
        ("YOUDEN", "youden"),
        ("youden_j", "youden"),
        ("F1", "fbeta:1"),
        ("cost=fn=50;fp=1", "cost:fn=50,fp=1"),
        ("cost:fn=50 fp=1 tn=0", "cost:fn=50,fp=1"),
    ],
)
def test_aliases(alias: str, canonical: str) -> None:
    """Check that aliases and spacing variants parse to the canonical requirement."""
    assert parse_requirement(alias) == parse_requirement(canonical)


def test_requirement_passes_through() -> None:
    """Check that a parsed Requirement is returned as is."""
    req = parse_requirement("recall>=0.9")
    assert parse_requirement(req) is req


@pytest.mark.parametrize(
    "text",
    [
        "recall>=0.95",
        "fnr<=0.05 @99%",
        "fpr<=0.01 maximize precision",
        "precision>=0.5 maximize f2",
        "specificity>=0.99 @95% per hospital",
        "recall>=0.9 minimize fpr",
        "recall>0.9",
        "fpr<0.1 @95%",
        "fbeta:0.5",
        "f1",
        "youden",
        "cost:fn=50,fp=1",
        "cost:fn=50.5,fp=1.25,tp=0.1,tn=0.05",
        "malignant: recall>=0.98 @95% per site",
        "recall>=0.123456789 @99.9%",
        "fpr<=1e-07 @0.123456789",
    ],
)
def test_describe_round_trip(text: str) -> None:
    """Check that describe() parses back to an equal requirement and is a fixed point."""
    req = parse_requirement(text)
    again = parse_requirement(req.describe())
    assert again == req
    assert again.describe() == req.describe()
    assert str(req) == req.describe()


@settings(max_examples=150, deadline=None)
@given(
    metric=st.sampled_from(sorted(CONSTRAINTS)),
    target=st.floats(1e-6, 1 - 1e-6),
    secondary=st.sampled_from(sorted(OBJECTIVES)),
    confidence=st.one_of(st.none(), st.floats(0.01, 0.999)),
    per=st.one_of(st.none(), st.sampled_from(["region", "site_id"])),
    label=st.one_of(st.none(), st.sampled_from(["malignant", "class 2"])),
)
def test_describe_round_trip_property(
    metric: str,
    target: float,
    secondary: str,
    confidence: float | None,
    per: str | None,
    label: str | None,
) -> None:
    """Check that any constraint survives describe() -> parse_requirement() unchanged."""
    if metric not in GUARANTEED:
        confidence = None
    if confidence is None:
        per = None
    req = Requirement(
        "", "constraint", metric=metric, op=CONSTRAINTS[metric], target=target,
        secondary=secondary, confidence=confidence, per=per, label=label,
    )
    assert parse_requirement(req.describe()) == req


@settings(max_examples=100, deadline=None)
@given(
    costs=st.tuples(*[st.floats(0, 1e6) for _ in range(4)]).filter(
        lambda c: c[0] > c[2] and c[1] > c[3]
    ),
    beta=st.floats(1e-3, 1e3),
)
def test_cost_and_fbeta_round_trip_property(costs: tuple, beta: float) -> None:
    """Check that any valid costs and beta survive describe() -> parse_requirement()."""
    cost = Requirement("", "cost", costs=dict(zip(("fn", "fp", "tp", "tn"), costs, strict=True)))
    assert parse_requirement(cost.describe()) == cost
    fb = Requirement("", "fbeta", beta=beta)
    assert parse_requirement(fb.describe()) == fb


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("recall", "expected a constraint"),
        ("recall>=", "expected a constraint"),
        ("recall>=abc", "expected a constraint"),
        ("recall>=0.9 precision", "expected a constraint"),
        ("auc>=0.9", "cannot be constrained"),
        ("recall<=0.9", "bounded with >="),
        ("fpr>=0.1", "bounded with <="),
        ("recall>=0", "strictly between 0 and 1"),
        ("recall>=1", "strictly between 0 and 1"),
        ("recall>=1.5", "strictly between 0 and 1"),
        ("fpr<=-0.1", "strictly between 0 and 1"),
        ("recall>=150%", "strictly between 0 and 1"),
        ("recall>=0.9 maximize auc", "cannot optimise"),
        ("recall>=0.9 minimize precision", "maximized"),
        ("recall>=0.9 maximize fpr", "minimized"),
        ("recall>=0.9 @150%", "between 0% and 100%"),
        ("recall>=0.9 @0%", "between 0% and 100%"),
        ("recall>=0.9 @abc", "written '@95%'"),
        ("recall>=0.9 @95", r"percentage with a % sign: write '@95%' \(or the fraction "
                            r"'@0\.95'\), not '@95'"),
        ("recall>=0.9 @ 99.5", r"write '@99\.5%' \(or the fraction '@0\.995'\)"),
        ("recall≥0.9 @100", "between 0% and 100%"),
        ("recall>=0.9 per region", "goes with a guarantee"),
        ("recall>=0.9 @95% per", "'per' needs a column name"),
        ("recall>=0.9 per @95%", "'per' needs a column name"),
        ("recall>=0.9 @95% @90%", "one guarantee"),
        ("cost:fn=50,fp=1,fn=3", "fn= is given twice"),
        ("precision>=0.5 @95%", "applies to recall"),
        ("f1 @95%", "applies to recall"),
        ("cost:fn=50,fp=1 @95%", "applies to recall"),
        ("fbeta:", "written 'fbeta:2'"),
        ("fbeta:x", "written 'fbeta:2'"),
        ("fbeta:0", "beta must be positive"),
        ("fbeta:-2", "beta must be positive"),
        ("cost", "written 'cost:fn=50,fp=1'"),
        ("cost:fn=50", "needs both fn= and fp="),
        ("cost:fp=1", "needs both fn= and fp="),
        ("cost:fn=-50,fp=1", "costs must be >= 0"),
        ("cost:fn=50,fp=1,tp=-1", "costs must be >= 0"),
        ("cost:fn=50,fp=1,xx=3", "is not one of fn="),
        ("cost:fn=abc,fp=1", "is not a number"),
        ("cost:fn=inf,fp=1", "must be finite"),
        ("cost:fn=1,fp=1,tp=2", "must cost more than a catch"),
        ("cost:fn=0,fp=1", "must cost more than a catch"),
    ],
)
def test_bad_requirements(text: str, match: str) -> None:
    """Check that bad strings raise RequirementError naming the fault, the grammar, an example."""
    with pytest.raises(RequirementError, match=match) as info:
        parse_requirement(text)
    message = str(info.value)
    assert GRAMMAR in message
    assert EXAMPLE in message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("bad", "said"),
    [(None, "is empty"), (0.95, "must be text .*Got float 0.95"),
     (["recall>=0.9"], "must be text .*Got list")],
)
def test_non_string_requirement(bad: object, said: str) -> None:
    """Check that a requirement that is not a string raises RequirementError saying so (a
    number was said to be empty), with the grammar."""
    with pytest.raises(RequirementError, match=said) as info:
        parse_requirement(bad)  # type: ignore[arg-type]
    assert EXAMPLE in str(info.value)


@pytest.mark.parametrize(
    ("text", "value", "met"),
    [
        ("recall>=0.9", 0.9, True),
        ("recall>=0.9", 0.9 - 1e-9, False),
        ("fpr<=0.1", 0.1, True),
        ("fpr<=0.1", 0.11, False),
        ("recall>0.9", 0.9, False),
        ("recall>0.9", 0.9 + 1e-9, True),
        ("fpr<0.1", 0.1, False),
        ("fpr<0.1", 0.1 - 1e-9, True),
        ("f1", 0.0, True),
    ],
)
def test_is_met(text: str, value: float, met: bool) -> None:
    """Check that is_met applies the bound in its direction, and that objectives always meet."""
    assert parse_requirement(text).is_met(value) is met


@pytest.mark.parametrize(
    ("strict", "loose"), [("recall>0.9", "recall>=0.9"), ("fpr<0.1", "fpr<=0.1")]
)
def test_strict_bounds_are_kept(strict: str, loose: str) -> None:
    """Check that '>' and '<' stay strict: a different requirement, which a value exactly at
    the target does not meet, while the loose bound does."""
    s, lo = parse_requirement(strict), parse_requirement(loose)
    assert s != lo and s.op == strict[len(s.metric)]
    assert s.at_least == lo.at_least
    assert not s.is_met(s.target) and lo.is_met(lo.target)
