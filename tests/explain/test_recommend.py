"""Tests of fnguard.explain.recommend: findings to levers, with the commands that try them."""

from __future__ import annotations

import shlex

import pytest

from fnguard.explain.findings import ExplainFinding
from fnguard.explain.recommend import (
    ACTIONS,
    attach_levers,
    levers_for,
    rank_by_checks,
    recommend,
)
from fnguard.levers import registry

KINDS = ["saturation", "imbalance", "few_positives", "label_issues", "slice", "overfitting",
         "duplicates", "shared", "threshold"]


def _finding(kind: str, code: str = "FNG100", **evidence) -> ExplainFinding:
    if kind == "slice":
        evidence = {"feature": "region", "level": "north", "slice_kind": "categorical",
                    **evidence}
    return ExplainFinding(code, kind, "warning", "t", "m", evidence=evidence)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_maps_to_known_levers(kind: str) -> None:
    """Check that every kind maps to registry levers or named actions, at least one."""
    levers = [s.lever for s in levers_for(_finding(kind))]
    assert levers
    assert all(lv in registry or lv in ACTIONS for lv in levers), levers


def test_mapping_follows_the_issue() -> None:
    """Check the issue's mapping: saturation, imbalance, few positives, labels, gap."""
    first = {k: [s.lever for s in levers_for(_finding(k))] for k in KINDS}
    assert "calibrate:temperature" in first["saturation"]
    assert {"lightgbm:weighted", "random-under"} <= set(first["imbalance"])
    assert "isolation-forest" in first["few_positives"]
    assert first["label_issues"][0] == "review-labels"
    assert {"lightgbm", "logistic"} <= set(first["overfitting"])
    assert first["threshold"] == ["threshold"]


def test_recommend_orders_dedupes_and_writes_commands() -> None:
    """Check that levers follow the findings' order, appear once, and commands parse."""
    findings = attach_levers([
        _finding("label_issues", "FNG104"),
        _finding("duplicates", "FNG107"),
        _finding("slice", "FNG105"),
    ])
    assert findings[0].levers == ("review-labels", "enn")
    recs = recommend(findings, source="my data.csv", target="is bad", positive="yes",
                     require="recall>=0.9")
    assert [r.rank for r in recs] == list(range(1, len(recs) + 1))
    assert [r.lever for r in recs][:3] == ["review-labels", "enn", "add-feature"]
    assert recs[0].also == ["FNG107"]
    enn = recs[1]
    assert shlex.split(enn.command) == [
        "fnguard", "fit", "my data.csv", "--target", "is bad", "--positive", "yes",
        "--require", "recall>=0.9", "--levers", "enn", "--out", "guard-enn"]
    per = next(r for r in recs if r.lever == "threshold")
    assert shlex.split(per.command)[-1] == "recall>=0.9 @90% per region"
    assert recs[0].command is None and not recs[0].in_registry
    assert enn.to_dict()["in_registry"] is True and enn.to_dict()["effect"] is None


def test_numeric_slice_gets_no_per_threshold() -> None:
    """Check that a numeric slice is not offered a threshold per level."""
    f = _finding("slice", slice_kind="numeric")
    assert [s.lever for s in levers_for(f)] == ["more-data"]


def test_commands_keep_the_dropped_columns_quoted() -> None:
    """Check that the commands leave out the columns the table was read without, quoted
    for the shell, so that following them does not train on an id."""
    findings = attach_levers([_finding("imbalance", "FNG102"), _finding("slice", "FNG105"),
                              _finding("saturation", "FNG101")])
    recs = recommend(findings, source="t.csv", target="y", drop=["id", "worst perimeter"])
    commands = [r.command for r in recs if r.command]
    assert commands and all(" --drop id --drop 'worst perimeter'" in c for c in commands)
    for c in commands:
        words = shlex.split(c)
        assert words[words.index("--drop") + 1] == "id"
        assert words[words.index("--drop", words.index("--drop") + 1) + 1] == "worst perimeter"
    assert all("--drop" not in r.command for r in recommend(findings) if r.command)


def test_parameters_the_command_cannot_take_are_said() -> None:
    """Check that the regularised LightGBM's parameters, used by the quick check but not by
    the plain `--levers lightgbm` command, are named in its reason."""
    (rec, _) = recommend(attach_levers([_finding("overfitting", "FNG106")]))
    assert rec.lever == "lightgbm" and rec.params["num_leaves"] == 7
    assert "num_leaves=7" in rec.reason and "fnguard fit" in rec.reason
    assert rec.command.endswith("--levers lightgbm --out guard-lightgbm")


def _measured(rec, gain, at_requirement=None):
    from fnguard.explain.check import Check

    req = None if at_requirement is None else {"misses_removed": at_requirement}
    rec.check = Check(rec.lever, [rec.lever], "measured", "m", misses_removed=gain,
                      at_requirement=req)
    return rec


def test_rank_by_checks_puts_measured_gains_first_and_losses_last() -> None:
    """Check the digits case: levers measured to add misses move below the unmeasured ones
    with a caveat, measured gains rank by misses removed, ranks are renumbered."""
    findings = attach_levers([_finding("overfitting", "FNG106"),
                              _finding("label_issues", "FNG104")])
    recs = recommend(findings)
    assert [r.lever for r in recs] == ["lightgbm", "logistic", "review-labels", "enn"]
    _measured(recs[0], -7, -5)
    _measured(recs[1], -12)
    _measured(recs[3], 5)
    budget = recs[2]
    ranked = rank_by_checks(recs)
    assert [r.lever for r in ranked] == ["enn", "review-labels", "lightgbm", "logistic"]
    assert [r.rank for r in ranked] == [1, 2, 3, 4]
    assert ranked[0].caveat == "" and budget.caveat == ""
    assert "measured to add 7 misses" in ranked[2].reason and ranked[2].caveat
    assert "measured to add 12 misses" in ranked[3].to_dict()["caveat"]


def test_rank_by_checks_orders_gains_and_reads_the_requirement() -> None:
    """Check that gains rank by size, a gain only at the requirement counts as a gain, and a
    measured zero goes after the unmeasured levers."""
    recs = recommend(attach_levers([_finding("imbalance", "FNG102"),
                                    _finding("few_positives", "FNG103")]))
    assert [r.lever for r in recs] == ["lightgbm:weighted", "random-under", "smote",
                                       "more-positives", "isolation-forest"]
    _measured(recs[0], 0, 0)
    _measured(recs[1], 2)
    _measured(recs[2], 0, 4)
    _measured(recs[4], 3, -2)
    ranked = [r.lever for r in rank_by_checks(recs)]
    assert ranked == ["isolation-forest", "random-under", "smote", "more-positives",
                      "lightgbm:weighted"]
    assert "no misses" in recs[0].caveat
    assert "2 misses at the requirement" in recs[4].caveat
