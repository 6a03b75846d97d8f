"""The review dashboard's numbers: progress, misses caught, the audit's miss-rate estimate.

Reviewed labels of the review band say nothing about the cases the Guard auto-negated: they
are never looked at (verification bias). Only an audit, a random sample of auto-negatives,
estimates how many positives slip through. Its estimate is the share of positives among the
reviewed audit cases (the Guard's *false omission rate*), with a Wilson interval, and that
share times the number of auto-negated rows gives the expected number of misses.
"""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa

from fnguard.metrics.intervals import wilson_interval
from fnguard.serve.agreement import agreement
from fnguard.serve.store import batches, cases, open_store, read, users, verdicts

__all__ = ["VERIFICATION_BIAS", "review_status"]

VERIFICATION_BIAS = (
    "No audit sample: reviewers only see the review band, so misses among the auto-negated "
    "cases are never seen (verification bias) and these labels cannot estimate the Guard's "
    "miss rate in production. Enqueue an audit (fnguard predict ... --audit 0.5%) to measure it."
)


def _round(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 6)


def review_status(db: Any, *, reviews_per_case: int = 1, confidence: float = 0.95) -> dict:
    """Progress of the review queue and what the verdicts say, as a JSON-ready dict.

    Parameters
    ----------
    db : str, PathLike or Engine
        The review database.
    reviews_per_case : int, default=1
        Verdicts each case needs (for the agreement figures).
    confidence : float, default=0.95
        Level of the miss-rate interval.

    Returns
    -------
    dict
        ``cases``, ``open`` (pending), ``disputed``, ``reviewed`` (decided), ``verdicts``,
        ``reviewers``, ``batches``, ``band`` (``cases``, ``reviewed``, ``positive``: the misses
        caught by review, ``negative``, ``unsure``), ``audit`` (``cases``, ``reviewed``,
        ``positive``, ``miss_rate``, ``low``, ``high``, ``auto_negative``,
        ``expected_misses``), ``warnings`` and ``agreement``.

    Examples
    --------
    >>> from fnguard.serve.store import open_store
    >>> review_status(open_store("sqlite://", create=True))["cases"]
    0
    """
    engine = open_store(db)
    with read(engine) as conn:
        counts = conn.execute(
            sa.select(cases.c.audit, cases.c.status, cases.c.final, sa.func.count()).group_by(
                cases.c.audit, cases.c.status, cases.c.final
            )
        ).all()
        n_verdicts = conn.execute(sa.select(sa.func.count()).select_from(verdicts)).scalar()
        per_user = conn.execute(
            sa.select(users.c.name, sa.func.count(verdicts.c.id))
            .join(verdicts, verdicts.c.user_id == users.c.id)
            .group_by(users.c.name)
            .order_by(users.c.name)
        ).all()
        batch_rows = conn.execute(sa.select(batches).order_by(batches.c.id)).all()
    part: dict[bool, dict[str, int]] = {
        a: {"cases": 0, "reviewed": 0, "positive": 0, "negative": 0, "unsure": 0, "open": 0,
            "disputed": 0} for a in (False, True)
    }
    for audit, status, final, k in counts:
        p = part[bool(audit)]
        p["cases"] += k
        if status == "done":
            p["reviewed"] += k
            p[final] += k
        else:
            p[status] += k
    band, aud = part[False], part[True]
    n_auto_negative = sum(b.n_auto_negative for b in batch_rows)
    sure = aud["positive"] + aud["negative"]
    if sure:
        low, high = wilson_interval(aud["positive"], sure, confidence)
        rate = aud["positive"] / sure
    else:
        low = high = rate = math.nan
    audit = {
        "cases": aud["cases"],
        "reviewed": aud["reviewed"],
        "positive": aud["positive"],
        "negative": aud["negative"],
        "unsure": aud["unsure"],
        "miss_rate": _round(rate),
        "low": _round(float(low)),
        "high": _round(float(high)),
        "confidence": confidence,
        "auto_negative": n_auto_negative,
        "expected_misses": _round(rate * n_auto_negative) if sure else None,
    }
    warnings = []
    if aud["cases"] == 0:
        warnings.append(VERIFICATION_BIAS)
    elif aud["reviewed"] < aud["cases"]:
        warnings.append(
            f"The audit is {aud['reviewed']} of {aud['cases']} cases reviewed: the miss-rate "
            "estimate sharpens as the rest are."
        )
    total = band["cases"] + aud["cases"]
    return {
        "cases": total,
        "open": band["open"] + aud["open"],
        "disputed": band["disputed"] + aud["disputed"],
        "reviewed": band["reviewed"] + aud["reviewed"],
        "verdicts": int(n_verdicts),
        "reviewers": {name: int(k) for name, k in per_user},
        "batches": [
            {"id": b.id, "name": b.name, "rows": b.n_rows, "review": b.n_review,
             "audit": b.n_audit, "duplicates": b.n_duplicate}
            for b in batch_rows
        ],
        "band": {
            "cases": band["cases"],
            "reviewed": band["reviewed"],
            "positive": band["positive"],
            "negative": band["negative"],
            "unsure": band["unsure"],
        },
        "misses_caught": band["positive"] + aud["positive"],
        "audit": audit,
        "warnings": warnings,
        "agreement": agreement(engine, reviews_per_case=reviews_per_case),
    }
