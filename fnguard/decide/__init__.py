"""Decide: operating thresholds from the user's requirement, with intervals and guarantees.

A score **at or above** the threshold is predicted positive.
"""

from fnguard.decide.guarantee import allowed_false_alarms, allowed_misses, min_positives
from fnguard.decide.policies import Decision, choose_threshold, decide_on_curve
from fnguard.decide.requirement import GRAMMAR, Requirement, parse_requirement

__all__ = [
    "GRAMMAR",
    "Decision",
    "Requirement",
    "allowed_false_alarms",
    "allowed_misses",
    "choose_threshold",
    "decide_on_curve",
    "min_positives",
    "parse_requirement",
]
