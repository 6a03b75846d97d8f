"""Benchmark fnguard's metric kernel against scikit-learn and write benchmarks/RESULTS.md.

Usage::

    python benchmarks/run.py [--sizes 1000000 10000000] [--repeat 3] [--output PATH]

For each size, two seeded synthetic data sets with about 5% positives: continuous scores, and
the same scores rounded to 3 decimals (heavy ties). On the same arrays in the same run it times
(best of ``--repeat``, ``time.perf_counter``):

- fnguard, curve + metrics: ``confusion_curve``, ``roc_auc``, ``average_precision``,
  ``curve.roc()``, ``curve.precision_recall()`` and ``threshold_metrics`` at 0.5;
- scikit-learn: ``precision_recall_curve``, ``roc_curve``, ``roc_auc_score`` and
  ``average_precision_score``;
- fnguard ``summary`` with its default bootstrap (1,000 replicates), which scikit-learn has no
  equivalent of: absolute time only.

The peak memory of each fnguard call is measured by ``tracemalloc`` in a separate, untimed run
(numpy reports its array allocations to it), so tracing does not slow the timed runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import scipy
import sklearn
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from fnguard.metrics import (
    average_precision,
    confusion_curve,
    roc_auc,
    summary,
    threshold_metrics,
)

DEFAULT_SIZES = (1_000_000, 10_000_000)
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "RESULTS.md"
#: Results of fnguard and scikit-learn must agree this closely.
TOLERANCE = 1e-9

T = TypeVar("T")


def make_data(n: int, ties: bool, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded labels (about 5% positive) and probability scores, optionally rounded to 3 places."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.05
    scores = 1.0 / (1.0 + np.exp(-(rng.normal(size=n) + 1.5 * y - 2.5)))
    if ties:
        scores = np.round(scores, 3)
    return y, scores


def fnguard_curve_metrics(y: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """The curve, both ranking metrics, both curves and the threshold metrics at 0.5."""
    curve = confusion_curve(y, scores, positive=True)
    auc, ap = roc_auc(curve), average_precision(curve)
    curve.roc()
    curve.precision_recall()
    threshold_metrics(*curve.counts_at(0.5))
    return auc, ap


def sklearn_curve_metrics(y: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """What scikit-learn needs for the same answers: both curves and both scores."""
    precision_recall_curve(y, scores)
    roc_curve(y, scores)
    return float(roc_auc_score(y, scores)), float(average_precision_score(y, scores))


def fnguard_summary(y: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """``summary`` with its default bootstrap."""
    out = summary(y, scores, positive=True)
    return out["roc_auc"].value, out["pr_auc"].value


def best_time(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """Best wall-clock time of ``repeat`` calls, in seconds, and the last call's result."""
    times = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def peak_memory(fn: Callable[[], object]) -> int:
    """Peak bytes traced by tracemalloc during one call."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    dataset: str
    n: int
    fnguard_s: float
    sklearn_s: float | None
    equal: str
    peak_mb: float


def bench_one(n: int, ties: bool, repeat: int) -> list[Row]:
    """Time fnguard and scikit-learn on one data set; check that they agree."""
    y, scores = make_data(n, ties)
    name = "ties (3 decimals)" if ties else "continuous"
    t_f, (auc_f, ap_f) = best_time(lambda: fnguard_curve_metrics(y, scores), repeat)
    t_s, (auc_s, ap_s) = best_time(lambda: sklearn_curve_metrics(y, scores), repeat)
    assert abs(auc_f - auc_s) <= TOLERANCE, (name, n, auc_f, auc_s)
    assert abs(ap_f - ap_s) <= TOLERANCE, (name, n, ap_f, ap_s)
    mem_f = peak_memory(lambda: fnguard_curve_metrics(y, scores))
    t_b, (auc_b, ap_b) = best_time(lambda: fnguard_summary(y, scores), repeat)
    assert abs(auc_b - auc_s) <= TOLERANCE and abs(ap_b - ap_s) <= TOLERANCE, (name, n)
    mem_b = peak_memory(lambda: fnguard_summary(y, scores))
    equal = f"yes (AUC {auc_f:.6f}, AP {ap_f:.6f})"
    return [
        Row(f"{name}: curve + metrics", n, t_f, t_s, equal, mem_f / 1e6),
        Row(f"{name}: summary (1,000 bootstrap)", n, t_b, None, "yes", mem_b / 1e6),
    ]


def machine_facts() -> list[str]:
    """What the numbers were measured on."""
    return [
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f} at the end of the run",
        f"- python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}, scipy {scipy.__version__}",
    ]


#: Further sections, each a module beside this file with ``section(quick) -> str``.
SECTIONS = (
    "bench_decide",
    "bench_guarantee",
    "bench_tuner",
    "bench_samplers",
    "bench_focal",
    "bench_fit",
    "bench_review",
    "bench_dask",
)


def extra_sections(names: Sequence[str], quick: bool) -> list[str]:
    """Run the named benchmark modules and return their markdown sections."""
    import importlib

    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    out = []
    for name in names:
        started = time.perf_counter()
        module = importlib.import_module(name)
        out.append(module.section(quick=quick))
        print(f"{name}: {time.perf_counter() - started:.1f} s", flush=True)
    return out


def render(rows: Sequence[Row], repeat: int, sections: Sequence[str] = ()) -> str:
    """The Markdown report."""
    lines = [
        "# Benchmarks: fnguard against its peers",
        "",
        "Generated by `python benchmarks/run.py` (`make bench`); do not edit by hand.",
        "",
        "- **fnguard: curve + metrics**: `confusion_curve` + `roc_auc` + `average_precision` + "
        "`curve.roc()` + `curve.precision_recall()` + `threshold_metrics` at 0.5.",
        "- **scikit-learn**: `precision_recall_curve` + `roc_curve` + `roc_auc_score` + "
        "`average_precision_score` on the same arrays, in the same run.",
        "- **summary**: `fnguard.metrics.summary` with its default stratified bootstrap "
        "(1,000 replicates); scikit-learn has no equivalent, so only its time is shown.",
        f"- Times are the best of {repeat} runs (`time.perf_counter`). Ratio = scikit-learn s / "
        "fnguard s: above 1 means fnguard is faster.",
        "- Peak memory: the peak traced by `tracemalloc` (numpy array allocations included) "
        "during one separate, untimed call of the fnguard row.",
        "- Results equal: ROC-AUC and average precision of fnguard and scikit-learn agree to "
        f"{TOLERANCE:g} (asserted).",
        "- Data: seeded, about 5% positives; scores are a sigmoid of a binormal margin, "
        "continuous or rounded to 3 decimals (heavy ties).",
        "",
        "| dataset | n | fnguard s | scikit-learn s | ratio | results equal | fnguard peak MB |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        sk = f"{r.sklearn_s:.3f}" if r.sklearn_s is not None else "n/a"
        ratio = f"{r.sklearn_s / r.fnguard_s:.2f}" if r.sklearn_s is not None else "n/a"
        lines.append(
            f"| {r.dataset} | {r.n:,} | {r.fnguard_s:.3f} | {sk} | {ratio} | {r.equal} | "
            f"{r.peak_mb:.0f} |"
        )
    for text in sections:
        lines += ["", text.rstrip()]
    lines += ["", "## Machine", "", *machine_facts(), ""]
    return "\n".join(lines)


def splice(report: str, sections: Sequence[str], names: Sequence[str]) -> str:
    r"""Replace (or add, before "## Machine") each section of ``report`` by its new text.

    A section runs from its "## " heading to the next one. The "## Machine" block gains a
    line saying which sections were measured again, and when.

    Examples
    --------
    >>> old = "# R\n\n## A\n\nold a\n\n## B\n\nb\n\n## Machine\n\n- x\n"
    >>> new = splice(old, ["## A\n\nnew a\n", "## C\n\nc\n"], ["bench_a", "bench_c"])
    >>> [line for line in new.splitlines() if line and not line.startswith("- 2")]
    ['# R', '## A', 'new a', '## B', 'b', '## C', 'c', '## Machine', '- x']
    """
    def blocks(text: str) -> list[str]:
        out, current = [], []
        for line in text.splitlines():
            if line.startswith("## ") and current:
                out.append("\n".join(current).strip("\n"))
                current = []
            current.append(line)
        if current:
            out.append("\n".join(current).strip("\n"))
        return out

    parts = blocks(report) or ["# Benchmarks: fnguard against its peers"]
    heads = [b.splitlines()[0] for b in parts]
    for text in sections:
        head = text.strip("\n").splitlines()[0]
        if head in heads:
            parts[heads.index(head)] = text.strip("\n")
        else:
            at = heads.index("## Machine") if "## Machine" in heads else len(parts)
            parts.insert(at, text.strip("\n"))
            heads.insert(at, head)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    note = (
        f"- {when}: measured again: {', '.join(names)} "
        f"(load average {os.getloadavg()[0]:.2f} at the end)"
    )
    if "## Machine" in heads:
        i = heads.index("## Machine")
        parts[i] = parts[i] + "\n" + note
    else:
        parts.append("## Machine\n\n" + note)
    return "\n\n".join(parts) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it onto ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: Sequence[str] | None = None) -> list[Row]:
    """Run the benchmark and write the report; return its rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--sections", nargs="*", default=list(SECTIONS),
        help="further benchmark modules to run (none: only the metric kernel)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--splice", action="store_true",
        help="run only --sections and replace those sections in the existing report",
    )
    args = parser.parse_args(argv)
    if args.splice:
        sections = extra_sections(args.sections, args.quick)
        old = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        write_atomic(args.output, splice(old, sections, args.sections))
        print(f"updated {args.output}")
        return []
    rows: list[Row] = []
    for n in args.sizes:
        for ties in (False, True):
            new = bench_one(n, ties, args.repeat)
            for r in new:
                ratio = f"  ratio {r.sklearn_s / r.fnguard_s:.2f}" if r.sklearn_s else ""
                print(f"{r.dataset:<40} n={r.n:>11,}  {r.fnguard_s:8.3f} s{ratio}", flush=True)
            rows += new
    sections = extra_sections(args.sections, args.quick)
    write_atomic(args.output, render(rows, args.repeat, sections))
    print(f"wrote {args.output}")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
