"""Why positives are missed, and what to try first.

:func:`explain` reads a labelled table and a model (a Guard, a scikit-learn compatible
classifier, or LightGBM fitted on the spot) and returns an :class:`Explanation`: what the
misses share, suspected label errors (cleanlab), over-fitting, conflicting duplicates, at most
ten findings ordered by the misses at stake, and the levers to try with the command that tries
each, the first three measured by a quick cross-validated check.

Examples
--------
>>> from fnguard.explain import cliffs_delta
>>> round(cliffs_delta([1, 2, 3], [2, 3, 4])[0], 4)
-0.5556
"""

from fnguard.explain.check import Check, quick_check
from fnguard.explain.duplicates import ConflictingDuplicates, conflicting_duplicates
from fnguard.explain.explanation import LABEL_ISSUES_CSV, Explanation
from fnguard.explain.findings import ExplainFinding
from fnguard.explain.labels import LabelIssues, find_label_issues
from fnguard.explain.model import load_model, resolve_model
from fnguard.explain.overfit import Overfitting, overfitting
from fnguard.explain.recommend import Recommendation, recommend
from fnguard.explain.review import enqueue_label_issues
from fnguard.explain.run import explain
from fnguard.explain.shared import FeatureEffect, cliffs_delta, feature_effects, share_difference

__all__ = [
    "LABEL_ISSUES_CSV",
    "Check",
    "ConflictingDuplicates",
    "ExplainFinding",
    "Explanation",
    "FeatureEffect",
    "LabelIssues",
    "Overfitting",
    "Recommendation",
    "cliffs_delta",
    "conflicting_duplicates",
    "enqueue_label_issues",
    "explain",
    "feature_effects",
    "find_label_issues",
    "load_model",
    "overfitting",
    "quick_check",
    "recommend",
    "resolve_model",
    "share_difference",
]
