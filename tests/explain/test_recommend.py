"""Tests of fnguard.explain.recommend: findings to levers, with the commands that try them."""

from __future__ import annotations

import shlex

import pytest

from fnguard.explain.findings import ExplainFinding
from fnguard.explain.recommend import ACTIONS, attach_levers, levers_for, recommend
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
