"""Guaranteed recall: fnguard's exact binomial rule against MAPIE's BinaryClassificationController.

Usage::

    python benchmarks/bench_guarantee.py

From one fixed, seeded population (200,000 rows, 5% positives, binormal scores mapped to
probabilities), it draws calibration sets (2,000 or 5,000 rows) with replacement. On each draw, both
methods choose a threshold for ``recall >= r`` with confidence ``c``:

- fnguard: ``choose_threshold(y, s, "recall>=r @c%", n_boot=0)``;
- MAPIE: ``BinaryClassificationController(risk="recall", target_level=r, confidence_level=c,
  best_predict_param_choice="precision")`` with its default grid of 100 thresholds and its
  default family-wise correction (Bonferroni-Holm over Learn-then-Test p-values).

On the population it reads the recall and precision at each chosen threshold. A method holds its
guarantee when the share of draws whose population recall reaches ``r`` (the coverage) is at
least ``c``, up to binomial noise over the draws.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from fnguard.decide import choose_threshold

#: Rows of the fixed population, its share of positives, rows of a calibration draw.
POPULATION = 200_000
PREVALENCE = 0.05
CALIBRATION = 2_000
#: (target recall, confidence, calibration rows) compared. With 2,000 rows (about 100
#: positives) MAPIE certifies no threshold at all for recall >= 0.95 @95%, hence 5,000 there.
SETTINGS = ((0.9, 0.9, CALIBRATION), (0.95, 0.95, 5_000))


@dataclass
class Population:
    """Labels and scores of the fixed population, with its scores sorted by class."""

    y: np.ndarray
    s: np.ndarray
    pos_sorted: np.ndarray
    neg_sorted: np.ndarray

    def rates(self, threshold: float) -> tuple[float, float, float]:
        """Population recall, FPR and precision when scores ``>= threshold`` are flagged."""
        tp = self.pos_sorted.size - np.searchsorted(self.pos_sorted, threshold, side="left")
        fp = self.neg_sorted.size - np.searchsorted(self.neg_sorted, threshold, side="left")
        precision = tp / (tp + fp) if tp + fp else 0.0
        return tp / self.pos_sorted.size, fp / self.neg_sorted.size, float(precision)


def make_population(
    n: int = POPULATION, prevalence: float = PREVALENCE, separation: float = 2.0, seed: int = 0
) -> Population:
    """A seeded population: binormal scores (``separation`` apart), squashed into (0, 1)."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < prevalence
    s = 1.0 / (1.0 + np.exp(-(rng.normal(size=n) + separation * y - 2.0)))
    return Population(y, s, np.sort(s[y]), np.sort(s[~y]))


@dataclass
class Outcome:
    """Population recall and precision at each draw's threshold, for one method."""

    recall: np.ndarray
    precision: np.ndarray
    seconds: float

    def coverage(self, target: float) -> float:
        """Share of draws whose population recall reaches the target."""
        return float(np.mean(self.recall >= target))

    @property
    def abstained(self) -> float:
        """Share of draws where the method certified no threshold (it flags nothing)."""
        return float(np.mean(self.recall == 0))


def _mapie_threshold(y: np.ndarray, s: np.ndarray, target: float, confidence: float) -> float:
    """MAPIE's chosen threshold on one calibration set (``inf`` when it finds none)."""
    from mapie.risk_control import BinaryClassificationController

    controller = BinaryClassificationController(
        predict_function=lambda x: np.column_stack([1 - x[:, 0], x[:, 0]]),
        risk="recall",
        target_level=float(target),
        confidence_level=float(confidence),
        best_predict_param_choice="precision",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        controller.calibrate(s[:, None], y.astype(int))
    best = controller.best_predict_param
    return float("inf") if best is None else float(best)


def compare(
    target: float,
    confidence: float,
    draws: int,
    population: Population | None = None,
    calibration: int = CALIBRATION,
    seed: int = 1,
    mapie: bool = True,
) -> dict[str, Outcome]:
    """Both methods on the same ``draws`` calibration sets drawn from the population."""
    pop = population or make_population()
    rng = np.random.default_rng(seed)
    samples = [rng.integers(0, pop.y.size, size=calibration) for _ in range(draws)]
    text = f"recall>={target:g} @{confidence * 100:g}%"
    methods = {"fnguard": lambda y, s: choose_threshold(y, s, text, n_boot=0).threshold}
    if mapie:
        methods["MAPIE"] = lambda y, s: _mapie_threshold(y, s, target, confidence)
    out = {}
    for name, choose in methods.items():
        recall, precision = np.empty(draws), np.empty(draws)
        start = time.perf_counter()
        for i, idx in enumerate(samples):
            r, _, p = pop.rates(choose(pop.y[idx], pop.s[idx]))
            recall[i], precision[i] = r, p
        out[name] = Outcome(recall, precision, time.perf_counter() - start)
    return out


def section(quick: bool = False) -> str:
    """Markdown section: coverage, slack and precision of fnguard and MAPIE on the same draws."""
    import mapie

    draws = 200 if quick else 1_000
    pop = make_population()
    lines = [
        "## Guaranteed recall: fnguard against MAPIE",
        "",
        f"Fixed population of {POPULATION:,} rows ({PREVALENCE:.0%} positives, binormal scores "
        f"2 standard deviations apart, squashed into (0, 1)); {draws:,} calibration draws "
        "with replacement; the same draws for both methods. fnguard: "
        "`choose_threshold(..., 'recall>=r @c%')` (exact binomial order statistic). MAPIE "
        f"{mapie.__version__}: `BinaryClassificationController(risk='recall', "
        "best_predict_param_choice='precision')` with its default 100-point grid and "
        "Bonferroni-Holm. Coverage: share of draws whose recall on the population reaches r "
        "(must be at least c, up to noise of about "
        f"{3 * np.sqrt(0.9 * 0.1 / draws):.3f} at 3 standard errors for c = 90%). Slack: "
        "population recall minus r. Precision: on the population, at the chosen threshold. "
        "No threshold: share of draws where the method certified none (it then flags nothing).",
        "",
        "| requirement | calibration rows | method | coverage | median slack | "
        "median precision | precision ratio (fnguard / MAPIE) | no threshold | ms per draw |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for target, confidence, rows in SETTINGS:
        res = compare(target, confidence, draws, population=pop, calibration=rows)
        ratio = float(np.median(res["fnguard"].precision) / np.median(res["MAPIE"].precision))
        for name, o in res.items():
            lines.append(
                f"| recall>={target:g} @{confidence:.0%} | {rows:,} | {name} | "
                f"{o.coverage(target):.3f} | {np.median(o.recall - target):+.4f} | "
                f"{np.median(o.precision):.4f} | {ratio:.3f} | {o.abstained:.3f} | "
                f"{o.seconds / draws * 1000:.2f} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(section())
