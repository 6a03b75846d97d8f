"""The requirement grammar: "recall>=0.95", "cost:fn=50,fp=1", "recall>=0.95 @95% per region".

::

    requirement := [CLASS ":"] body [guarantee] [per]
    body        := METRIC OP TARGET [("maximize" | "minimize") METRIC]
                 | "fbeta:" BETA | "f1" | "f2" | "youden" | "cost:" COSTS
    METRIC OP   := recall>= | fnr<= | fpr<= | precision>= | specificity>=
                                            (or > and <: strict; ≥ and ≤ read as >= and <=)
    guarantee   := "@" PERCENT "%"          (e.g. @95%; the target holds on new data with
                                             at least that probability)
    per         := "per" COLUMN             (the guarantee within each group of a column)
    COSTS       := fn=N,fp=N[,tp=N][,tn=N]  (costs of each outcome, >= 0)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from fnguard.errors import RequirementError

GRAMMAR = (
    "A requirement is one of: 'recall>=0.95', 'fnr<=0.05', 'fpr<=0.01', 'precision>=0.5', "
    "'specificity>=0.99' (optionally followed by 'maximize precision' or another metric), "
    "'fbeta:2', 'f1', 'f2', 'youden', 'cost:fn=50,fp=1' (tp= and tn= optional); a constraint "
    "may add a guarantee '@95%' and 'per COLUMN', and a class prefix 'malignant: ...' for "
    "multiclass scores. Example: 'recall>=0.95 maximize precision @95%'."
)

#: Constraint metrics with the only direction that makes sense for each.
CONSTRAINTS = {
    "recall": ">=",
    "fnr": "<=",
    "fpr": "<=",
    "precision": ">=",
    "specificity": ">=",
}
#: Metrics a constraint's secondary objective may name, with their natural direction.
OBJECTIVES = {
    "precision": "max",
    "recall": "max",
    "specificity": "max",
    "f1": "max",
    "f2": "max",
    "mcc": "max",
    "balanced_accuracy": "max",
    "fpr": "min",
    "fnr": "min",
}
_DEFAULT_SECONDARY = {
    "recall": "precision",
    "fnr": "precision",
    "fpr": "recall",
    "specificity": "recall",
    "precision": "recall",
}
#: Metrics whose guarantee is taken over the positives (recall, fnr) or negatives (fpr, ...).
GUARANTEED = ("recall", "fnr", "fpr", "specificity")

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"


@dataclass(frozen=True)
class Requirement:
    """A parsed requirement.

    Attributes
    ----------
    text : str
        The requirement as written.
    kind : str
        ``"constraint"``, ``"fbeta"``, ``"youden"`` or ``"cost"``.
    metric, op : str or None
        The constrained metric and its direction (constraints only).
    target : float or None
        The bound of a constraint, in (0, 1).
    secondary : str or None
        The metric optimised among the thresholds that meet the constraint.
    beta : float or None
        Beta of an F-beta requirement.
    costs : dict of str to float
        ``fn fp tp tn`` costs of a cost requirement.
    confidence : float or None
        Probability that the constraint holds on new data (a guarantee), or None.
    per : str or None
        Column within whose groups the guarantee must hold.
    label : str or None
        Class the requirement is about, for multiclass scores.
    """

    text: str = field(compare=False)
    kind: str
    metric: str | None = None
    op: str | None = None
    target: float | None = None
    secondary: str | None = None
    beta: float | None = None
    costs: dict[str, float] = field(default_factory=dict)
    confidence: float | None = None
    per: str | None = None
    label: str | None = None

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        """Canonical text of the requirement (parses back to an equal requirement)."""
        if self.kind == "constraint":
            way = "minimize" if OBJECTIVES.get(self.secondary or "") == "min" else "maximize"
            body = f"{self.metric}{self.op}{_num(self.target)} {way} {self.secondary}"
        elif self.kind == "fbeta":
            body = f"fbeta:{_num(self.beta)}"
        elif self.kind == "youden":
            body = "youden"
        else:
            body = "cost:" + ",".join(f"{k}={_num(v)}" for k, v in self.costs.items())
        if self.confidence is not None:
            percent = _num(self.confidence * 100)
            exact = _from_percent(percent) == self.confidence
            body += f" @{percent}%" if exact else f" @{self.confidence!r}"
        if self.per:
            body += f" per {self.per}"
        return f"{self.label}: {body}" if self.label else body

    @property
    def guaranteed(self) -> bool:
        """Whether a statistical guarantee is asked for."""
        return self.confidence is not None

    @property
    def at_least(self) -> bool:
        """Whether the constraint bounds its metric from below (``>=`` or ``>``)."""
        return (self.op or CONSTRAINTS.get(self.metric or "", ">="))[0] == ">"

    def meets(self, value: Any) -> Any:
        """Whether values (a number or an array) of the constrained metric meet the
        constraint: ``>`` and ``<`` are strict, all four within ``1e-12`` of rounding."""
        if self.kind != "constraint" or self.target is None:
            return np.ones(np.shape(value), dtype=bool) if np.ndim(value) else True
        t = self.target
        return {
            ">=": lambda v: v >= t - 1e-12,
            ">": lambda v: v > t + 1e-12,
            "<=": lambda v: v <= t + 1e-12,
            "<": lambda v: v < t - 1e-12,
        }[self.op or ">="](value)

    def is_met(self, value: float) -> bool:
        """Whether a value of the constrained metric meets the constraint."""
        return bool(self.meets(value))


def _num(value: float | None) -> str:
    """Shortest text of a number that parses back to the same float."""
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))  # type: ignore[arg-type]


def _from_percent(raw: str) -> float:
    """The fraction a percentage stands for, rounded once: '99.9' gives 0.999 (99.9 / 100 in
    floats is 0.9990000000000001)."""
    return float(Decimal(raw) / 100)


#: Comparison signs typed or pasted as one character, and what they mean.
_SIGNS = {"≥": ">=", "⩾": ">=", "≤": "<=", "⩽": "<="}


def _fail(text: str, why: str) -> RequirementError:
    return RequirementError(f"The requirement {text!r} cannot be parsed: {why}. {GRAMMAR}")


def _number(text: str, raw: str, what: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise _fail(text, f"{what} {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise _fail(text, f"{what} must be finite")
    return value


def parse_requirement(text: str | Requirement) -> Requirement:
    """Parse a requirement string.

    Parameters
    ----------
    text : str or Requirement
        For instance ``"recall>=0.95"``, ``"recall>=0.95 maximize precision @95%"``,
        ``"fpr<=0.01"``, ``"fbeta:2"``, ``"youden"``, ``"cost:fn=50,fp=1"`` or
        ``"malignant: recall>=0.98"``. ``≥`` and ``≤`` are read as ``>=`` and ``<=``. A
        Requirement passes through.

    Returns
    -------
    Requirement

    Raises
    ------
    RequirementError
        With the grammar and an example, when the text does not parse, a target is outside
        (0, 1), a cost is negative or a guarantee is asked of a metric that cannot carry one.

    Examples
    --------
    >>> r = parse_requirement("recall>=0.95 @95%")
    >>> r.metric, r.target, r.secondary, r.confidence
    ('recall', 0.95, 'precision', 0.95)
    >>> parse_requirement("cost:fn=50,fp=1").costs
    {'fn': 50.0, 'fp': 1.0, 'tp': 0.0, 'tn': 0.0}
    """
    if isinstance(text, Requirement):
        return text
    if text is None or (isinstance(text, str) and not text.strip()):
        raise RequirementError(f"The requirement is empty. {GRAMMAR}")
    if not isinstance(text, str):
        raise RequirementError(
            f"The requirement must be text (or a Requirement). Got {type(text).__name__} "
            f"{text!r} instead. {GRAMMAR}"
        )
    original = text
    s = " ".join(text.strip().split())
    for sign, ascii_sign in _SIGNS.items():
        s = s.replace(sign, ascii_sign)
    label = None
    m = re.match(r"^([^:@<>=\s][^:@<>=]*?)\s*:\s*(.+)$", s)
    if m and m.group(1).lower() not in ("fbeta", "cost"):
        label, s = m.group(1).strip(), m.group(2)
    per = None
    if re.search(r"(?:^|\s)per\s*(?:@|$)", s, flags=re.IGNORECASE):
        raise _fail(original, "'per' needs a column name, as in 'recall>=0.95 @95% per region'")
    m = re.search(r"\s+per\s+(\S.*)$", s, flags=re.IGNORECASE)
    if m:
        per, s = m.group(1).strip(), s[: m.start()]
        # what may follow the column in any order: the guarantee and the objective
        while True:
            tail = re.search(
                r"\s+(@\s*" + _NUMBER + r"\s*%?|(?:maximi[sz]e|minimi[sz]e|max|min)\s+\S+)$",
                per, flags=re.IGNORECASE,
            )
            if not tail:
                break
            s, per = f"{s} {tail.group(1)}", per[: tail.start()].strip()
    confidence = None
    at = re.findall(r"@\s*(" + _NUMBER + r")\s*(%?)", s)
    if len(at) > 1:
        raise _fail(original, "give one guarantee '@95%', not several")
    m = re.search(r"\s*@\s*(" + _NUMBER + r")\s*(%?)(?=\s|$)", s)
    if m:
        value = _number(original, m.group(1), "the guarantee")
        confidence = _from_percent(m.group(1)) if m.group(2) else value
        if not m.group(2) and 1 < value < 100:
            raise _fail(
                original,
                f"the guarantee is a percentage with a % sign: write '@{m.group(1)}%' (or the "
                f"fraction '@{_num(_from_percent(m.group(1)))}'), not '@{m.group(1)}'",
            )
        if not 0 < confidence < 1:
            raise _fail(original, f"the guarantee must be between 0% and 100%, got {m.group(0)!r}")
        s = (s[: m.start()] + " " + s[m.end():]).strip()
        s = " ".join(s.split())
    elif "@" in s:
        raise _fail(original, "a guarantee is written '@95%'")
    if per and confidence is None:
        raise _fail(
            original, "'per COLUMN' goes with a guarantee, as in 'recall>=0.95 @95% per region'"
        )
    s = s.strip()
    low = s.lower()

    if low in ("youden", "youden_j", "youden-j"):
        req = Requirement(original, "youden")
    elif low in ("f1", "f2"):
        req = Requirement(original, "fbeta", beta=float(low[1]))
    elif low.startswith("fbeta"):
        m = re.fullmatch(r"fbeta\s*[:=]\s*(" + _NUMBER + r")", low)
        if not m:
            raise _fail(original, "an F-beta requirement is written 'fbeta:2'")
        beta = _number(original, m.group(1), "beta")
        if beta <= 0:
            raise _fail(original, f"beta must be positive, got {beta:g}")
        req = Requirement(original, "fbeta", beta=beta)
    elif low.startswith("cost"):
        req = Requirement(original, "cost", costs=_costs(original, s))
    else:
        req = _constraint(original, s)
    if confidence is not None and (req.kind != "constraint" or req.metric not in GUARANTEED):
        raise _fail(
            original,
            "a guarantee '@...%' applies to recall>=, fnr<=, fpr<= and specificity>= "
            "constraints only",
        )
    return Requirement(
        original,
        req.kind,
        metric=req.metric,
        op=req.op,
        target=req.target,
        secondary=req.secondary,
        beta=req.beta,
        costs=req.costs,
        confidence=confidence,
        per=per,
        label=label,
    )


def _costs(text: str, s: str) -> dict[str, float]:
    m = re.fullmatch(r"cost\s*[:=]\s*(.+)", s, flags=re.IGNORECASE)
    if not m:
        raise _fail(text, "a cost requirement is written 'cost:fn=50,fp=1'")
    costs = {"fn": None, "fp": None, "tp": 0.0, "tn": 0.0}
    given: set[str] = set()
    for part in re.split(r"\s*[,;]\s*|\s+", m.group(1).strip()):
        kv = re.fullmatch(r"(fn|fp|tp|tn)\s*=\s*(\S+)", part, flags=re.IGNORECASE)
        if not kv:
            raise _fail(text, f"{part!r} is not one of fn=, fp=, tp=, tn=")
        value = _number(text, kv.group(2), f"the cost {kv.group(1)}")
        if value < 0:
            raise _fail(text, f"costs must be >= 0, got {kv.group(1)}={value:g}")
        key = kv.group(1).lower()
        if key in given:
            raise _fail(text, f"the cost {key}= is given twice; give each cost once")
        given.add(key)
        costs[key] = value
    if costs["fn"] is None or costs["fp"] is None:
        raise _fail(text, "a cost requirement needs both fn= and fp=")
    out = {k: float(v) for k, v in costs.items()}  # type: ignore[arg-type]
    if out["fn"] <= out["tp"] or out["fp"] <= out["tn"]:
        raise _fail(
            text,
            "a miss must cost more than a catch (fn > tp) and a false alarm more than a "
            "correct rejection (fp > tn)",
        )
    return out


def _constraint(text: str, s: str) -> Requirement:
    m = re.fullmatch(
        r"([a-z_]+)\s*(>=|<=|=>|=<|>|<)\s*(" + _NUMBER + r")\s*(%?)"
        r"(?:\s+(maximi[sz]e|minimi[sz]e|max|min)\s+([a-z_0-9]+))?",
        s,
        flags=re.IGNORECASE,
    )
    if not m:
        raise _fail(text, "expected a constraint such as 'recall>=0.95'")
    metric = m.group(1).lower()
    metric = {"tpr": "recall", "sensitivity": "recall", "tnr": "specificity"}.get(metric, metric)
    if metric not in CONSTRAINTS:
        raise _fail(
            text, f"{m.group(1)!r} cannot be constrained; use one of {', '.join(CONSTRAINTS)}"
        )
    op = {"=>": ">=", "=<": "<="}.get(m.group(2), m.group(2))
    if op[0] != CONSTRAINTS[metric][0]:
        raise _fail(
            text,
            f"{metric} is bounded with {CONSTRAINTS[metric]} (a bound in the other direction "
            "is met by doing nothing)",
        )
    target = _number(text, m.group(3), "the target")
    if m.group(4):
        target = _from_percent(m.group(3))
    if not 0 < target < 1:
        raise _fail(
            text, f"the target of {metric} must be strictly between 0 and 1, got {target:g}"
        )
    secondary = _DEFAULT_SECONDARY[metric]
    if m.group(5):
        secondary = m.group(6).lower()
        if secondary not in OBJECTIVES:
            raise _fail(text, f"cannot optimise {secondary!r}; use one of {', '.join(OBJECTIVES)}")
        wants = "max" if m.group(5).lower().startswith("max") else "min"
        if wants != OBJECTIVES[secondary]:
            raise _fail(text, f"{secondary} is to be {OBJECTIVES[secondary]}imized")
    return Requirement(text, "constraint", metric=metric, op=op, target=target, secondary=secondary)
