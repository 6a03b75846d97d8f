"""Benchmark: choose_threshold on large score sets against the scikit-learn way.

The scikit-learn way to honour "recall >= r, then the best precision" is
``precision_recall_curve`` followed by a mask and an argmax; fnguard's ``choose_threshold`` does
the same from one sort and adds the metrics with intervals and the threshold's own bootstrap
interval. Both must pick the same threshold.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from sklearn.metrics import precision_recall_curve

from fnguard.decide import choose_threshold


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.05
    margin = rng.normal(np.where(y, 1.5, 0.0), 1.0)
    return y, 1 / (1 + np.exp(-margin))


def _sklearn_threshold(y: np.ndarray, s: np.ndarray, target: float) -> float:
    precision, recall, thresholds = precision_recall_curve(y, s)
    ok = recall[:-1] >= target
    # Highest precision; ties to the higher threshold, as fnguard does.
    p = np.where(ok, precision[:-1], -1.0)
    best = np.flatnonzero(p == p.max())[-1]
    return float(thresholds[best])


def _best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def section(quick: bool = False) -> str:
    """Markdown section: time of choose_threshold at 1M and 10M scores."""
    sizes = (100_000,) if quick else (1_000_000, 10_000_000)
    repeat = 1 if quick else 3
    lines = [
        "## Decide: `choose_threshold` against the scikit-learn way",
        "",
        "Requirement `recall>=0.95` (maximise precision). scikit-learn: `precision_recall_curve`"
        " + mask + argmax. fnguard: `choose_threshold(..., n_boot=0)` (threshold and every "
        "metric with Wilson intervals) and with `n_boot=200` (adds bootstrap intervals of the "
        "metrics and of the threshold). Best of "
        f"{repeat}; ratio = scikit-learn s / fnguard s.",
        "",
        "| n | scikit-learn s | fnguard n_boot=0 s | ratio | fnguard n_boot=200 s "
        "| same threshold |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for n in sizes:
        y, s = _data(n)
        t_sk, thr_sk = _best(lambda y=y, s=s: _sklearn_threshold(y, s, 0.95), repeat)
        t_fg, dec = _best(lambda y=y, s=s: choose_threshold(y, s, "recall>=0.95", n_boot=0),
                          repeat)
        t_fb, _ = _best(lambda y=y, s=s: choose_threshold(y, s, "recall>=0.95", n_boot=200), 1)
        same = "yes" if dec.threshold == thr_sk else f"no ({dec.threshold} vs {thr_sk})"
        lines.append(
            f"| {n:,} | {t_sk:.3f} | {t_fg:.3f} | {t_sk / t_fg:.2f} | {t_fb:.3f} | {same} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(section("--quick" in sys.argv))
