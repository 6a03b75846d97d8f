"""Search: the levers against the user's requirement, honestly, into a Guard.

:func:`fit` splits off a final test set, searches lever combinations by cross-validation on
the rest (Optuna, seeded, pruned, within a time budget), refits the winner, and scores it once
on the test set. The pieces: :mod:`~fnguard.search.split` (honest splits),
:mod:`~fnguard.search.space` (what a trial may try), :mod:`~fnguard.search.objective` (a
trial's out-of-fold score), :mod:`~fnguard.search.runner` (the loop),
:mod:`~fnguard.search.leaderboard` (its record) and :mod:`~fnguard.search.contributions`
(what each lever added beyond the plain model).
"""

from fnguard.search.budget import MIN_BUDGET, SearchError, parse_budget
from fnguard.search.contributions import contributions
from fnguard.search.fit import fit
from fnguard.search.leaderboard import record
from fnguard.search.objective import rank_value
from fnguard.search.runner import Progress, SearchResult, run_search
from fnguard.search.space import DEFAULT_POOL, Plan, Pool, first_plans, resolve_pool
from fnguard.search.split import calibration_split, cv_folds, holdout_split

__all__ = [
    "DEFAULT_POOL",
    "MIN_BUDGET",
    "Plan",
    "Pool",
    "Progress",
    "SearchError",
    "SearchResult",
    "calibration_split",
    "contributions",
    "cv_folds",
    "first_plans",
    "fit",
    "holdout_split",
    "parse_budget",
    "rank_value",
    "record",
    "resolve_pool",
    "run_search",
]
