"""Decide: operating thresholds from the user's requirement, with intervals and guarantees.

A score **at or above** the threshold is predicted positive.
"""

from fnguard.decide.calibrated import CalibratedClassifier
from fnguard.decide.calibration import Calibrator, calibrate, calibration_report
from fnguard.decide.guarantee import allowed_false_alarms, allowed_misses, min_positives
from fnguard.decide.margin import DEFAULT_MARGIN, check_margin, with_margin
from fnguard.decide.policies import (
    Decision,
    choose_threshold,
    decide_on_curve,
    evaluate_threshold,
)
from fnguard.decide.prior import correct_prior, prior_shift_logit
from fnguard.decide.requirement import GRAMMAR, Requirement, parse_requirement
from fnguard.decide.review import ReviewBand, review_band
from fnguard.decide.tuner import ThresholdTuner

__all__ = [
    "DEFAULT_MARGIN",
    "GRAMMAR",
    "CalibratedClassifier",
    "Calibrator",
    "Decision",
    "Requirement",
    "ReviewBand",
    "ThresholdTuner",
    "allowed_false_alarms",
    "allowed_misses",
    "calibrate",
    "calibration_report",
    "check_margin",
    "choose_threshold",
    "correct_prior",
    "decide_on_curve",
    "evaluate_threshold",
    "min_positives",
    "parse_requirement",
    "prior_shift_logit",
    "review_band",
    "with_margin",
]
