"""Resampling levers: imbalanced-learn's samplers, with a fast neighbour search on large data.

Each neighbour-based sampler is imbalanced-learn's class with two changes:

- ``fit_resample`` raises :class:`~fnguard.errors.DataError` when a class has too few rows for
  the neighbours asked for, saying how many there are and which samplers still work;
- on more than :data:`~fnguard.levers.sampler_base.LARGE` rows and
  :data:`~fnguard.levers.sampler_base.TREE_COLUMNS` columns (below, scikit-learn's k-d tree is
  exact and faster, and every sampler keeps imbalanced-learn's own searches), the neighbour
  searches imbalanced-learn would run on scikit-learn's brute force go to
  :class:`~fnguard.levers.neighbors.FaissNeighbors`, which is exact unless one search would
  compute more than :data:`~fnguard.levers.neighbors.AUTO_APPROXIMATE_WORK` distances (then a
  cell index, :class:`~fnguard.levers.cells.CellIndex`). A neighbour object passed by the user
  is kept as it is.

The samplers live in modules named after what they hold:

- :mod:`fnguard.levers.oversamplers`: SMOTE, Borderline-SMOTE, ADASYN, SMOTE-NC, SMOTEN
  (SMOTE and Borderline-SMOTE build their synthetic rows in place: the same rows, bit for
  bit, with fewer temporary copies);
- :mod:`fnguard.levers.cleaning`: Tomek links and Edited Nearest Neighbours, which search
  exactly only the rows their bounds cannot decide;
- :mod:`fnguard.levers.nearmiss`: NearMiss 1, 2 and 3;
- :mod:`fnguard.levers.combined`: SMOTE-Tomek and SMOTE-ENN, whose cleaning reads where SMOTE
  drew each new row;
- :mod:`fnguard.levers.sampler_base`: what they share (size rules, exact search, checks).

This module registers them, with their search spaces, as the levers ``random-under``,
``random-over``, ``tomek``, ``nearmiss-1/2/3``, ``enn``, ``smote``, ``borderline-smote-1/2``,
``adasyn``, ``smote-tomek``, ``smote-enn``, ``smote-nc`` and ``smoten``, and re-exports the
classes.
"""

from __future__ import annotations

from typing import Any

from imblearn.over_sampling import RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler

from fnguard.levers.cleaning import FastEditedNearestNeighbours, FastTomekLinks
from fnguard.levers.combined import FastSMOTEENN, FastSMOTETomek
from fnguard.levers.nearmiss import FastNearMiss
from fnguard.levers.oversamplers import (
    FastADASYN,
    FastBorderlineSMOTE,
    FastSMOTE,
    FastSMOTEN,
    FastSMOTENC,
)
from fnguard.levers.registry import register
from fnguard.levers.sampler_base import LARGE

__all__ = [
    "LARGE",
    "FastADASYN",
    "FastBorderlineSMOTE",
    "FastEditedNearestNeighbours",
    "FastNearMiss",
    "FastSMOTE",
    "FastSMOTEENN",
    "FastSMOTEN",
    "FastSMOTENC",
    "FastSMOTETomek",
    "FastTomekLinks",
]


#: Smallest ratio of minority to majority rows a resampling lever's search asks for.
RATIO_LOW = 0.25
#: Least change a searched ratio asks of the data: 10% more minority rows (over-sampling) or
#: about 9% fewer majority rows (under-sampling), so that there is something to generate.
RATIO_STEP = 0.1


def _ratio(trial: Any, name: str) -> float:
    """Minority rows per majority row after resampling.

    imbalanced-learn refuses a ratio at or below the data's own (over-sampling would have to
    remove minority rows or generate none): when the search says what the data's ratio is
    (the trial's ``class_ratio``, the largest over its training folds), the range starts
    :data:`RATIO_STEP` above it.
    """
    data = float(getattr(trial, "class_ratio", 0.0) or 0.0)
    low = min(1.0, max(RATIO_LOW, data * (1.0 + RATIO_STEP)))
    return trial.suggest_float(f"{name}.sampling_strategy", low, 1.0)


def _ratio_space(name: str) -> Any:
    return lambda trial: {"sampling_strategy": _ratio(trial, name)}


def _k_range(trial: Any, low: int, high: int) -> tuple[int, int]:
    """Neighbours a search may ask for: at most the minority rows less one (the trial's
    ``minority_rows``, the fewest over its training folds, when the search says it)."""
    rows = getattr(trial, "minority_rows", None)
    if rows:
        high = max(1, min(high, int(rows) - 1))
        low = min(low, high)
    return low, high


def _k_space(name: str, param: str, low: int, high: int) -> Any:
    def space(trial: Any) -> dict[str, Any]:
        return {
            "sampling_strategy": _ratio(trial, name),
            param: trial.suggest_int(f"{name}.{param}", *_k_range(trial, low, high)),
        }

    return space


register(
    "random-under",
    "resampling",
    "sampler",
    "Drop majority rows at random until the classes reach the asked ratio.",
    "Random under-sampling throws information away: the majority rows it drops are lost.",
    search=_ratio_space("random-under"),
)(RandomUnderSampler)

register(
    "random-over",
    "resampling",
    "sampler",
    "Repeat minority rows at random until the classes reach the asked ratio.",
    "Repeated rows let flexible models memorise the few positives and overfit them.",
    search=_ratio_space("random-over"),
)(RandomOverSampler)

register(
    "tomek",
    "resampling",
    "sampler",
    "Drop majority rows that form Tomek links (mutual nearest neighbours across classes).",
    "Removes few rows; on heavily overlapping classes it barely changes the balance.",
)(FastTomekLinks)


def _nearmiss(version: int) -> Any:
    def make(**params: Any) -> FastNearMiss:
        return FastNearMiss(version=version, **params)

    return make


_NEARMISS = {
    1: "Keep the majority rows nearest on average to their closest minority rows.",
    2: "Keep the majority rows nearest on average to their farthest minority rows.",
    3: "Keep, for each minority row, its nearest majority rows.",
}
for _version, _summary in _NEARMISS.items():
    register(
        f"nearmiss-{_version}",
        "resampling",
        "sampler",
        _summary,
        "NearMiss keeps the hardest negatives and can distort the distribution.",
        search=_k_space(f"nearmiss-{_version}", "n_neighbors", 1, 10),
    )(_nearmiss(_version))


def _enn_space(trial: Any) -> dict[str, Any]:
    return {
        "n_neighbors": trial.suggest_int("enn.n_neighbors", 2, 7),
        "kind_sel": trial.suggest_categorical("enn.kind_sel", ["all", "mode"]),
    }


register(
    "enn",
    "resampling",
    "sampler",
    "Drop majority rows whose nearest neighbours are not all of their class.",
    "Edited Nearest Neighbours can remove many majority rows near the boundary, raising FPs.",
    search=_enn_space,
)(FastEditedNearestNeighbours)

register(
    "smote",
    "resampling",
    "sampler",
    "Add synthetic minority rows on segments between a minority row and its neighbours.",
    "SMOTE can blur the class boundary: synthetic rows land in majority regions.",
    search=_k_space("smote", "k_neighbors", 2, 10),
)(FastSMOTE)


def _borderline(kind: str) -> Any:
    def make(**params: Any) -> FastBorderlineSMOTE:
        return FastBorderlineSMOTE(kind=kind, **params)

    return make


def _borderline_space(name: str) -> Any:
    def space(trial: Any) -> dict[str, Any]:
        return {
            **_k_space(name, "k_neighbors", 2, 10)(trial),
            "m_neighbors": trial.suggest_int(f"{name}.m_neighbors", 5, 20),
        }

    return space


for _kind in ("borderline-1", "borderline-2"):
    register(
        f"borderline-smote-{_kind[-1]}",
        "resampling",
        "sampler",
        "SMOTE from the minority rows near the boundary only"
        + (" (toward any neighbour)." if _kind.endswith("2") else "."),
        "Borderline-SMOTE amplifies label noise: mislabelled rows look like boundary rows.",
        search=_borderline_space(f"borderline-smote-{_kind[-1]}"),
    )(_borderline(_kind))

register(
    "adasyn",
    "resampling",
    "sampler",
    "Add synthetic minority rows, more where the minority is surrounded by the majority.",
    "ADASYN concentrates synthetic rows on outliers and noise among the positives.",
    search=_k_space("adasyn", "n_neighbors", 2, 10),
)(FastADASYN)

register(
    "smote-tomek",
    "resampling",
    "sampler",
    "SMOTE, then drop both rows of every Tomek link.",
    "SMOTE can blur the class boundary; the Tomek cleaning removes positives too.",
    search=_ratio_space("smote-tomek"),
)(FastSMOTETomek)

register(
    "smote-enn",
    "resampling",
    "sampler",
    "SMOTE, then Edited Nearest Neighbours on both classes.",
    "SMOTE can blur the class boundary; ENN on both classes can remove many positives.",
    search=_ratio_space("smote-enn"),
)(FastSMOTEENN)


def _smote_nc(categorical_features: Any = "auto", **params: Any) -> FastSMOTENC:
    return FastSMOTENC(categorical_features=categorical_features, **params)


register(
    "smote-nc",
    "resampling",
    "sampler",
    "SMOTE for mixed data: numeric columns interpolated, categories from the neighbours.",
    "Needs categorical_features; SMOTE can blur the class boundary.",
    search=_k_space("smote-nc", "k_neighbors", 2, 10),
)(_smote_nc)

register(
    "smoten",
    "resampling",
    "sampler",
    "SMOTE for categorical-only data: each category from the minority neighbours.",
    "Every column must be categorical; synthetic rows can combine rare categories oddly.",
    search=_k_space("smoten", "k_neighbors", 2, 10),
)(FastSMOTEN)
