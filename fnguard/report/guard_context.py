"""What the Guard report shows, as plain values for its template.

:func:`guard_context` turns a :class:`~fnguard.guard.Guard` and the diagnosis of its test-set
scores into the dictionary that ``templates/guard.html.j2`` renders: the verdict, counts,
metrics, before/after against the reference model, the leaderboard, the contributions of the
levers and the facts of the search. :mod:`fnguard.report.guard` renders and writes it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from fnguard.report.html import _context, _fmt

if TYPE_CHECKING:
    from fnguard.guard import Guard
    from fnguard.metrics.diagnosis import Diagnosis

__all__ = ["HOLDOUT_DIR", "INDEX", "guard_context", "holdout_diagnosis"]

#: File written by :func:`write_guard_report`.
INDEX = "index.html"
#: Sub-folder holding the full diagnosis report of the test-set scores.
HOLDOUT_DIR = "holdout"

#: Test-set metrics in display order (any other recorded metric follows).
_METRIC_ORDER = (
    ("recall", "Recall"),
    ("fnr", "FNR (share of positives missed)"),
    ("precision", "Precision"),
    ("fpr", "FPR"),
    ("specificity", "Specificity"),
    ("npv", "NPV"),
    ("f1", "F1"),
    ("f2", "F2"),
    ("mcc", "MCC"),
    ("balanced_accuracy", "Balanced accuracy"),
    ("accuracy", "Accuracy"),
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
    ("brier", "Brier score"),
    ("ece", "ECE"),
    ("log_loss", "Log-loss"),
)
_COUNTS = ("n", "n_positive", "tp", "fp", "tn", "fn")
_STATES = ("complete", "pruned", "failed")
#: info keys shown in their own sections, not in the search facts.
_OWN_SECTION = {"reference", "contributions", "notes"}
_FACTS = (
    ("budget", "Budget"),
    ("elapsed", "Elapsed"),
    ("cv", "Cross-validation folds"),
    ("test_size", "Test size"),
    ("test_table", "Test table"),
    ("split", "Split sizes"),
    ("seed", "Seed"),
    ("created", "Created"),
    ("fingerprint", "Data fingerprint"),
    ("versions", "Library versions"),
)

EVIDENCE = (
    "Published benchmarks find that once the decision threshold is tuned, resampling "
    "(SMOTE and its variants, random over- or under-sampling) often adds nothing to strong "
    "learners such as gradient boosting, and can hurt calibration (Elor & Averbuch-Elor 2022, "
    "\u201cTo SMOTE, or not to SMOTE?\u201d; CLIMB 2025, a benchmark of class-imbalanced "
    "learning on tabular data). That is why the plain model with only its threshold tuned is "
    "always a trial, and each lever is credited only with what it adds beyond it."
)


def _value(x: Any) -> Any:
    """The number in a metric record: a plain number, or the ``value`` of a dict."""
    if isinstance(x, Mapping):
        return x.get("value")
    return x


def _num(x: Any) -> float | None:
    """A finite float, or None."""
    x = _value(x)
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _count(x: Any) -> int | None:
    v = _num(x)
    return None if v is None else round(v)


def _estimate(x: Any, digits: int = 4) -> tuple[str, str]:
    """``(value, interval)`` texts of a metric record."""
    v = _num(x)
    text = "n/a" if v is None else f"{v:.{digits}f}"
    interval = ""
    if isinstance(x, Mapping):
        low, high = _num(x.get("low")), _num(x.get("high"))
        if low is not None and high is not None:
            interval = f"[{low:.{digits}f}, {high:.{digits}f}]"
    return text, interval


def _signed(v: Any, digits: int = 0) -> str:
    x = _num(v)
    if x is None:
        return "n/a"
    return f"{x:+,.{digits}f}" if digits else f"{round(x):+,}"


def _seconds(v: Any) -> str:
    x = _num(v)
    if x is None:
        return "" if v is None else str(v)
    if x < 60:
        return f"{x:.1f} s"
    minutes, secs = divmod(round(x), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _plain_text(v: Any) -> str:
    """Any JSON-ready value as one line of text (escaped later by the template)."""
    if isinstance(v, Mapping):
        return ", ".join(f"{k}: {_plain_text(x)}" for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return ", ".join(_plain_text(x) for x in v)
    if isinstance(v, float):
        return _fmt(v)
    return _fmt(v) if isinstance(v, (int, bool)) or v is None else str(v)


def _params_text(params: Any) -> str:
    if not params:
        return ""
    try:
        return json.dumps(params, sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(params)


def holdout_diagnosis(guard: Guard, n_boot: int, seed: int) -> Diagnosis | None:
    """A diagnosis of the test-set scores at the Guard's threshold, or None without them."""
    from fnguard.metrics import diagnose

    h = guard.holdout
    if h is None or len(h) == 0 or "y" not in h or "score" not in h:
        return None
    y = np.asarray(h["y"], dtype=bool)
    d = diagnose(
        y,
        np.asarray(h["score"], dtype=float),
        threshold=float(guard.threshold),
        positive=True,
        negative=False,
        n_boot=n_boot,
        random_state=seed,
        label=str(guard.target),
        score="score",
        source="the Guard's final test set",
    )
    if guard.positive != guard.negative:  # show the user's labels, not True/False
        d.positive, d.negative = guard.positive, guard.negative
    return d


def _requirement(guard: Guard) -> dict[str, Any]:
    """The requirement, whether it is met, and the constrained metric against its bound."""
    from fnguard.decide import parse_requirement
    from fnguard.errors import FnguardError

    out: dict[str, Any] = {
        "text": str(guard.requirement),
        "met": bool(guard.met),
        "metric": None,
        "caution": None,
    }
    try:
        req = parse_requirement(str(guard.requirement))
    except FnguardError:
        return out
    out["text"] = req.describe()
    if req.kind == "constraint" and req.metric in guard.metrics:
        record = guard.metrics[req.metric]
        value, interval = _estimate(record)
        out["metric"] = {
            "name": req.metric,
            "value": value,
            "interval": interval,
            "bound": f"{req.op} {req.target:g}",
        }
        low = _num(record.get("low")) if isinstance(record, Mapping) else None
        high = _num(record.get("high")) if isinstance(record, Mapping) else None
        if guard.met and req.at_least and low is not None and low < req.target:
            out["caution"] = (
                f"The interval of {req.metric} reaches below {req.target:g} (low end {low:.4f}): "
                "on new data the requirement may not hold. More test positives, or a guarantee "
                "(e.g. '@95%'), would narrow it."
            )
        elif guard.met and not req.at_least and high is not None and high > req.target:
            out["caution"] = (
                f"The interval of {req.metric} reaches above {req.target:g} (high end "
                f"{high:.4f}): on new data the requirement may not hold."
            )
    return out


def _metric_rows(metrics: Mapping[str, Any]) -> list[dict[str, str]]:
    names = dict(_METRIC_ORDER)
    keys = [k for k, _ in _METRIC_ORDER if k in metrics]
    keys += [k for k in metrics if k not in names and k not in _COUNTS and isinstance(
        metrics[k], Mapping)]
    rows = []
    for k in keys:
        value, interval = _estimate(metrics[k])
        method = metrics[k].get("method", "") if isinstance(metrics[k], Mapping) else ""
        rows.append({"key": str(k), "name": names.get(k, str(k)), "value": value,
                     "interval": interval, "method": str(method or "")})
    return rows


def _counts(guard: Guard, d: Diagnosis | None) -> dict[str, int | None]:
    """Confusion counts at the threshold: recorded ones, else recounted from the holdout."""
    recorded = {k: _count(guard.metrics.get(k)) for k in _COUNTS}
    if d is not None:
        tp, fp, tn, fn = d.curve.counts_at(float(guard.threshold))
        recount = {"n": tp + fp + tn + fn, "n_positive": tp + fn, "tp": tp, "fp": fp,
                   "tn": tn, "fn": fn}
        for k, v in recount.items():
            if recorded[k] is None:
                recorded[k] = v
    return recorded


def _mismatch(guard: Guard, d: Diagnosis | None) -> str | None:
    """A warning when the recorded counts disagree with the holdout scores."""
    if d is None:
        return None
    tp, fp, tn, fn = d.curve.counts_at(float(guard.threshold))
    recount = {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
    bad = [
        f"{k} {_count(guard.metrics[k])} recorded, {v} recounted"
        for k, v in recount.items()
        if k in guard.metrics and _count(guard.metrics[k]) != v
    ]
    if not bad:
        return None
    return (
        "The recorded test-set counts do not match the stored test-set scores at the threshold ("
        + "; ".join(bad)
        + "): the Guard's record may have been edited. Refit it, or trust the charts below, "
        "which are recomputed from the scores."
    )


def _review(guard: Guard, d: Diagnosis | None) -> dict[str, Any] | None:
    band = guard.review_band
    if band is None:
        return None
    lower, upper = float(band[0]), float(band[1])
    out: dict[str, Any] = {
        "lower": f"{lower:.6g}",
        "upper": "∞" if math.isinf(upper) else f"{upper:.6g}",
        "rows": None,
    }
    h = guard.holdout
    if d is not None and h is not None:
        s = np.asarray(h["score"], dtype=float)
        y = np.asarray(h["y"], dtype=bool)
        inside = (s >= lower) & (s < upper)
        n = int(inside.sum())
        out["rows"] = f"{n:,}"
        out["share"] = f"{n / s.size:.1%}"
        out["positives"] = f"{int((inside & y).sum()):,}"
    return out


def _reference_rows(info: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """``(name, record)`` pairs of the reference model's operating points."""
    ref = info.get("reference")
    if not isinstance(ref, Mapping):
        return []
    if "fn" in ref:
        return [("reference", ref)]
    rows = [(str(k), v) for k, v in ref.items() if isinstance(v, Mapping) and "fn" in v]
    # The plain model at 0.5 first: it is the "before" of the before/after.
    rows.sort(key=lambda kv: 0 if "0.5" in kv[0] or "default" in kv[0] else 1)
    return rows


def _comparison(guard: Guard, counts: Mapping[str, int | None]) -> dict[str, Any] | None:
    rows = _reference_rows(guard.info)
    if not rows:
        return None
    fn, fp = counts.get("fn"), counts.get("fp")
    table = []
    for name, r in rows:
        rfn, rfp = _count(r.get("fn")), _count(r.get("fp"))
        removed = None if rfn is None or fn is None else rfn - fn
        added = None if rfp is None or fp is None else fp - rfp
        table.append({
            "name": name.replace("_", " "),
            "threshold": "" if _num(r.get("threshold")) is None else f"{_num(r['threshold']):.6g}",
            "tp": _fmt(_count(r.get("tp"))), "fp": _fmt(rfp), "tn": _fmt(_count(r.get("tn"))),
            "fn": _fmt(rfn),
            "recall": _estimate(r.get("recall"))[0], "precision": _estimate(r.get("precision"))[0],
            "removed": _signed(removed), "added": _signed(added),
            "removed_value": removed, "added_value": added,
        })
    head = table[0]
    headline = None
    if head["removed_value"] is not None and head["added_value"] is not None:
        headline = {
            "name": head["name"],
            "before_fn": head["fn"], "after_fn": _fmt(fn),
            "before_fp": head["fp"], "after_fp": _fmt(fp),
            "removed": f"{head['removed_value']:,}", "added": f"{head['added_value']:,}",
        }
    return {"rows": table, "headline": headline, "n": _fmt(counts.get("n"))}


def _winner(guard: Guard) -> int | None:
    best = guard.info.get("best_trial")
    if isinstance(best, int) and not isinstance(best, bool):
        return best
    for rec in guard.leaderboard:
        if (rec.get("state") == "complete" and list(rec.get("levers") or []) == list(guard.levers)
                and (rec.get("params") or {}) == (guard.params or {})):
            return rec.get("trial")
    return None


def _leaderboard(guard: Guard) -> tuple[list[dict[str, Any]], dict[str, int]]:
    winner = _winner(guard)
    rows, states = [], {s: 0 for s in _STATES}
    for rec in sorted(guard.leaderboard, key=lambda r: (_num(r.get("trial")) or 0)):
        state = str(rec.get("state") or "")
        states[state] = states.get(state, 0) + 1
        cells = {}
        for key in ("recall", "precision", "fpr"):
            value, interval = _estimate(rec.get(key))
            cells[key] = {"text": value, "interval": interval, "sort": _num(rec.get(key))}
        met = rec.get("met")
        threshold = _num(rec.get("threshold"))
        rows.append({
            "trial": _fmt(rec.get("trial")),
            "trial_sort": _num(rec.get("trial")),
            "levers": " + ".join(str(x) for x in rec.get("levers") or []) or "(none)",
            "params": _params_text(rec.get("params")),
            "state": state,
            "state_class": state if state in _STATES else "other",
            "objective": _estimate(rec.get("objective"))[0],
            "objective_sort": _num(rec.get("objective")),
            "met": "" if met is None else ("yes" if met else "no"),
            "threshold": "" if threshold is None else f"{threshold:.4g}",
            "threshold_sort": threshold,
            **cells,
            "ece": _estimate(rec.get("ece"))[0], "ece_sort": _num(rec.get("ece")),
            "misses": _fmt(_count(rec.get("misses"))), "misses_sort": _num(rec.get("misses")),
            "false_alarms": _fmt(_count(rec.get("false_alarms"))),
            "false_alarms_sort": _num(rec.get("false_alarms")),
            "seconds": _seconds(rec.get("seconds")), "seconds_sort": _num(rec.get("seconds")),
            "baseline": bool(rec.get("baseline")),
            "winner": winner is not None and rec.get("trial") == winner,
            "error": "" if rec.get("error") is None else str(rec.get("error")),
        })
    return rows, states


def _lever_family(name: str) -> tuple[str, bool]:
    """A lever's family and whether it resamples, from the registry (unknown names: "")."""
    from fnguard.levers import registry

    if name not in registry:
        return "", False
    lever = registry[name]
    return lever.family, lever.kind == "sampler" or lever.family == "resampling"


def _contributions(guard: Guard) -> dict[str, Any] | None:
    items = guard.info.get("contributions")
    if not isinstance(items, list):
        return None
    rows, resampling = [], []
    for c in items:
        if not isinstance(c, Mapping):
            continue
        name = str(c.get("lever", ""))
        family, resamples = _lever_family(name)
        against, shared = c.get("against"), c.get("shared_with")
        row = {
            "lever": name, "family": str(c.get("family") or family),
            "against": " + ".join(map(str, against)) if isinstance(against, list) else "",
            "shared": " + ".join(map(str, shared)) if isinstance(shared, list) else "",
            "trials": _fmt(_count(c.get("trials"))),
            "best_trial": _fmt(_count(c.get("best_trial"))),
            "misses_removed": _signed(c.get("misses_removed")),
            "false_alarms_removed": _signed(c.get("false_alarms_removed")),
            "delta_ece": _signed(c.get("delta_ece"), 4),
            "delta_objective": _signed(c.get("delta_objective"), 4),
            "helped": (_num(c.get("misses_removed")) or 0) > 0,
        }
        rows.append(row)
        if resamples:
            resampling.append((name, _num(c.get("misses_removed")), _num(c.get("delta_ece"))))
    return {"rows": rows, "here": _what_data_said(guard, rows, resampling)}


def _what_data_said(
    guard: Guard, rows: list[dict[str, Any]], resampling: list[tuple[str, Any, Any]]
) -> list[str]:
    """Plain sentences on what this search found, in the terms of the evidence above."""
    said = []
    if not resampling:
        said.append("No resampling lever was tried in this search.")
    else:
        helped = [(n, m) for n, m, _ in resampling if m is not None and m > 0]
        if helped:
            parts = ", ".join(f"{n} ({int(m):,})" for n, m in helped)
            said.append(
                f"Here, {len(helped)} of {len(resampling)} resampling levers tried removed misses "
                f"beyond the tuned plain model: {parts}."
            )
        else:
            which = (
                f"the one resampling lever tried ({resampling[0][0]}) removed no miss"
                if len(resampling) == 1
                else f"none of the {len(resampling)} resampling levers tried removed a miss"
            )
            said.append(f"Here too, {which} beyond the plain model with its threshold tuned.")
        worse = [(n, e) for n, _, e in resampling if e is not None and e > 0]
        if worse:
            parts = ", ".join(f"{n} ({e:+.4f})" for n, e in worse)
            said.append(f"Resampling worsened calibration (ECE rose) with: {parts}.")
    best = max(rows, key=lambda r: _num_signed(r["misses_removed"]), default=None)
    if best is not None and _num_signed(best["misses_removed"]) > 0:
        said.append(
            f"The lever that removed the most misses was {best['lever']} "
            f"({best['misses_removed']})"
            + (f", in a trial together with {best['shared']}." if best["shared"] else ".")
        )
    uses = [n for n in guard.levers if _lever_family(str(n))[1]]
    said.append(
        "The chosen pipeline resamples with " + ", ".join(map(str, uses)) + "."
        if uses else "The chosen pipeline uses no resampling."
    )
    return said


def _num_signed(text: str) -> float:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return -math.inf


def _facts(guard: Guard, states: Mapping[str, int]) -> list[tuple[str, str]]:
    info = guard.info
    facts = []
    for key, label in _FACTS:
        if key not in info:
            continue
        v = info[key]
        if v is None:
            continue
        text = _seconds(v) if key in ("budget", "elapsed") else _plain_text(v)
        if key == "test_size" and isinstance(v, float) and 0 < v < 1:
            text = f"{v:.0%} of the rows"
        facts.append((label, text))
    total = sum(states.values())
    trials = f"{total:,}"
    if total:
        trials += " (" + ", ".join(f"{n:,} {s}" for s, n in states.items() if n) + ")"
    facts.insert(min(2, len(facts)), ("Trials", trials))
    known = {k for k, _ in _FACTS} | _OWN_SECTION | {"best_trial"}
    for key, v in info.items():
        if key in known or isinstance(v, list) or (isinstance(v, Mapping) and len(v) > 12):
            continue
        facts.append((str(key).replace("_", " ").capitalize(), _plain_text(v)))
    return facts


def guard_context(guard: Guard, d: Diagnosis | None, title: str | None,
                   holdout_link: bool) -> dict[str, Any]:
    from fnguard import __version__

    counts = _counts(guard, d)
    board, states = _leaderboard(guard)
    notes = [str(n) for n in guard.info.get("notes") or []] if isinstance(
        guard.info.get("notes"), list) else []
    mismatch = _mismatch(guard, d)
    header = [
        ("Target", str(guard.target)),
        ("Positive label", _plain_text(guard.positive)),
        ("Negative label", _plain_text(guard.negative)),
        ("Levers", " + ".join(map(str, guard.levers)) or "(none)"),
        ("Features", f"{len(getattr(guard.schema, 'columns', []) or []):,}"),
        ("fnguard", __version__),
    ]
    explorer = None
    if d is not None:
        ctx = _context(d, None)
        explorer = {
            "data_json": ctx["data_json"],
            "n_curve_points": ctx["n_curve_points"],
            "threshold_raw": ctx["threshold_raw"],
            "threshold_text": ctx["threshold_text"],
            "probability": ctx["probability"],
            "ece": ctx["ece"],
            "findings": ctx["findings"],
            "saturation": ctx["saturation"],
        }
    return {
        "title": title or f"fnguard Guard: {guard.target} ({guard.requirement})",
        "header": header,
        "requirement": _requirement(guard),
        "threshold": f"{float(guard.threshold):.6g}",
        "review": _review(guard, d),
        "counts": {k: _fmt(v) for k, v in counts.items()},
        "metric_rows": _metric_rows(guard.metrics),
        "mismatch": mismatch,
        "comparison": _comparison(guard, counts),
        "params": _params_text(guard.params),
        "leaderboard": board,
        "contributions": _contributions(guard),
        "evidence": EVIDENCE,
        "facts": _facts(guard, states),
        "notes": notes,
        "explorer": explorer,
        "holdout_link": f"{HOLDOUT_DIR}/{INDEX}" if holdout_link and d is not None else None,
        "known_severities": ("warning", "info", "error"),
        "version": __version__,
    }
