"""How much reviewers agree: Cohen's kappa for two raters, Fleiss' kappa for many.

With ``reviews_per_case`` of 2 or more, cases are shared among changing reviewers, which is
the setting of Fleiss' kappa (a fixed number of ratings per case, from any raters). Cohen's
kappa is given for each pair of reviewers who rated the same cases.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from fnguard.errors import DataError
from fnguard.serve.store import read, users, verdicts

__all__ = ["CATEGORIES", "agreement", "cohen_kappa", "fleiss_kappa"]

CATEGORIES = ("positive", "negative", "unsure")


def cohen_kappa(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Cohen's kappa of two raters' labels for the same items (NaN when undefined).

    ``(p_o - p_e) / (1 - p_e)``: observed agreement ``p_o`` beyond the agreement ``p_e``
    expected from each rater's label frequencies alone.

    Examples
    --------
    >>> round(cohen_kappa(["y", "y", "n", "n"], ["y", "n", "n", "n"]), 3)
    0.5
    """
    if len(a) != len(b):
        raise DataError(f"The two raters rated {len(a)} and {len(b)} items: pass pairs.")
    if len(a) == 0:
        return math.nan
    labels = sorted(set(a) | set(b), key=str)
    index = {v: i for i, v in enumerate(labels)}
    table = np.zeros((len(labels), len(labels)))
    for x, y in zip(a, b, strict=True):
        table[index[x], index[y]] += 1
    n = table.sum()
    p_o = np.trace(table) / n
    p_e = float(table.sum(axis=1) @ table.sum(axis=0)) / n**2
    return math.nan if p_e == 1 else float((p_o - p_e) / (1 - p_e))


def fleiss_kappa(table: Any) -> float:
    """Fleiss' kappa of a ``(cases, categories)`` table of rating counts (NaN when undefined).

    Every row must hold the same number of ratings ``m >= 2``. With ``p_j`` the share of all
    ratings in category ``j`` and ``P_i = (sum_j n_ij^2 - m) / (m (m - 1))`` the agreement on
    case ``i``: ``kappa = (mean(P_i) - sum_j p_j^2) / (1 - sum_j p_j^2)``.

    Examples
    --------
    >>> round(fleiss_kappa([[2, 0], [0, 2], [1, 1]]), 4)
    0.3333
    """
    counts = np.asarray(table, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] == 0:
        return math.nan
    m = counts.sum(axis=1)
    if not np.all(m == m[0]) or m[0] < 2:
        raise DataError(
            "Fleiss' kappa needs the same number (>= 2) of ratings for every case. Got "
            f"{sorted(set(m.astype(int).tolist()))[:5]} instead."
        )
    m = m[0]
    p = counts.sum(axis=0) / counts.sum()
    P = ((counts**2).sum(axis=1) - m) / (m * (m - 1))
    p_e = float((p**2).sum())
    return math.nan if p_e == 1 else float((P.mean() - p_e) / (1 - p_e))


def _value(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 4)


def agreement(engine: Engine, *, reviews_per_case: int = 1, min_shared: int = 2) -> dict:
    """Reviewers' agreement over cases holding ``reviews_per_case`` (>= 2) verdicts.

    Returns
    -------
    dict
        ``cases`` (rated by that many reviewers), ``fleiss_kappa`` (None when undefined),
        ``raw`` (share of those cases where all verdicts are the same) and ``pairs``: for each
        pair of reviewers with at least ``min_shared`` cases in common, their ``cohen_kappa``.
    """
    with read(engine) as conn:
        rows = conn.execute(
            sa.select(verdicts.c.case_id, users.c.name, verdicts.c.verdict)
            .join(users, users.c.id == verdicts.c.user_id)
            .order_by(verdicts.c.case_id, verdicts.c.created)
        ).all()
    by_case: dict[int, dict[str, str]] = {}
    for case_id, name, verdict in rows:
        by_case.setdefault(case_id, {})[name] = verdict
    out: dict[str, Any] = {"cases": 0, "fleiss_kappa": None, "raw": None, "pairs": []}
    if reviews_per_case < 2:
        return out
    full = [v for v in by_case.values() if len(v) == reviews_per_case]
    out["cases"] = len(full)
    if full:
        table = [[list(v.values()).count(c) for c in CATEGORIES] for v in full]
        out["fleiss_kappa"] = _value(fleiss_kappa(table))
        out["raw"] = round(sum(len(set(v.values())) == 1 for v in full) / len(full), 4)
    shared: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for v in by_case.values():
        for x, y in itertools.combinations(sorted(v), 2):
            shared.setdefault((x, y), []).append((v[x], v[y]))
    for (x, y), pairs in sorted(shared.items()):
        if len(pairs) >= min_shared:
            a, b = zip(*pairs, strict=True)
            out["pairs"].append(
                {"a": x, "b": y, "cases": len(pairs), "cohen_kappa": _value(cohen_kappa(a, b))}
            )
    return out
