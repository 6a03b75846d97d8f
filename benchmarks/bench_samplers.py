"""Benchmark fnguard's resampling levers against imbalanced-learn's defaults.

Usage::

    python benchmarks/bench_samplers.py [--quick] [--only=smote,enn] [--n=1000000] [--cleaning-1m]

On ``make_classification(n_samples=N, n_features=30, weights=[0.99], random_state=0)``, split
75/25 (stratified, seeded), each sampler resamples the training part, once as imbalanced-learn
0.14's class with its defaults and once as fnguard's lever with the same parameters. Each run
is a separate Python process with a time limit, so a run that takes many minutes is recorded as
``> T s (stopped)`` and one that runs out of memory does not stop the benchmark.

- time: ``time.perf_counter`` around ``fit_resample`` (one run);
- peak MB: the process's peak resident memory (``ru_maxrss``) during ``fit_resample`` above
  its resident memory just before it (data, libraries and interpreter not counted);
- PR-AUC: average precision of ``LGBMClassifier(n_estimators=100)`` fitted on the resampled
  training part, on the held-out 25%; ``diff`` is fnguard's minus imbalanced-learn's.

The cleaning samplers (Tomek links, ENN, SMOTE-Tomek, SMOTE-ENN) have their target at 100,000
rows, the others at 1,000,000.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

# sampler label -> (imbalanced-learn class path, fnguard lever name, parameters)
SAMPLERS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "random-under": ("under_sampling.RandomUnderSampler", "random-under", {}),
    "random-over": ("over_sampling.RandomOverSampler", "random-over", {}),
    "smote": ("over_sampling.SMOTE", "smote", {}),
    "borderline-smote-1": ("over_sampling.BorderlineSMOTE", "borderline-smote-1", {}),
    "borderline-smote-2": (
        "over_sampling.BorderlineSMOTE",
        "borderline-smote-2",
        {"kind": "borderline-2"},
    ),
    "adasyn": ("over_sampling.ADASYN", "adasyn", {}),
    "nearmiss-1": ("under_sampling.NearMiss", "nearmiss-1", {"version": 1}),
    "nearmiss-2": ("under_sampling.NearMiss", "nearmiss-2", {"version": 2}),
    "nearmiss-3": ("under_sampling.NearMiss", "nearmiss-3", {"version": 3}),
    "tomek": ("under_sampling.TomekLinks", "tomek", {}),
    "enn": ("under_sampling.EditedNearestNeighbours", "enn", {}),
    "smote-tomek": ("combine.SMOTETomek", "smote-tomek", {}),
    "smote-enn": ("combine.SMOTEENN", "smote-enn", {}),
}
CLEANING = ("tomek", "enn", "smote-tomek", "smote-enn")
RANDOM = {
    "random-under",
    "random-over",
    "smote",
    "borderline-smote-1",
    "borderline-smote-2",
    "adasyn",
    "smote-tomek",
    "smote-enn",
}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _reset_peak() -> None:
    """Reset the process's peak resident memory (Linux: VmHWM), so that the peak measured
    after ``fit_resample`` is its own and not the data generation's."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_mb() -> float:
    """Peak resident memory since the last reset (VmHWM), else the lifetime peak."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _one(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one sampler in this process (the child)."""
    import importlib

    from lightgbm import LGBMClassifier
    from sklearn.datasets import make_classification
    from sklearn.metrics import average_precision_score
    from sklearn.model_selection import train_test_split

    X, y = make_classification(n_samples=spec["n"], n_features=30, weights=[0.99], random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    path, lever, params = SAMPLERS[spec["sampler"]]
    params = dict(params)
    if spec["sampler"] in RANDOM:
        params["random_state"] = 0
    if spec["impl"] == "imblearn":
        module, name = path.rsplit(".", 1)
        sampler = getattr(importlib.import_module(f"imblearn.{module}"), name)(**params)
    else:
        from fnguard.levers import samplers  # noqa: F401 - registers the levers
        from fnguard.levers.registry import registry

        params.pop("version", None)
        params.pop("kind", None)
        sampler = registry[lever].make(**params)
        _watch_recall(sampler)
        _watch_selection(sampler)
    before = _rss_mb()
    _reset_peak()
    start = time.perf_counter()
    X_res, y_res = sampler.fit_resample(X_tr, y_tr)
    seconds = time.perf_counter() - start - _excluded[0]
    peak = _peak_mb() - before
    if seconds < FAST:  # short runs are noisy on a shared machine: best of three
        from sklearn.base import clone

        for _ in range(2):
            again = clone(sampler)
            _excluded[0] = 0.0
            start = time.perf_counter()
            again.fit_resample(X_tr, y_tr)
            seconds = min(seconds, time.perf_counter() - start - _excluded[0])
    recalls = [r for r in getattr(sampler, "_recalls", []) if r is not None]
    recalls += [_selection_recall(*call) for call in getattr(sampler, "_selections", [])]
    model = LGBMClassifier(n_estimators=100, random_state=0, verbose=-1)
    model.fit(X_res, y_res)
    ap = average_precision_score(y_te, model.predict_proba(X_te)[:, 1])
    return {
        "seconds": seconds,
        "peak_mb": max(peak, 0.0),
        "pr_auc": float(ap),
        "rows": len(y_res),
        "recall": min(recalls) if recalls else None,
    }


def _watch_recall(sampler: Any) -> None:
    """Record the neighbour recall of every approximate search the sampler runs (the lowest
    is reported): FaissNeighbors.kneighbors is wrapped for this run only."""
    from fnguard.levers.neighbors import FaissNeighbors

    found: list[float | None] = []
    search = FaissNeighbors.kneighbors

    def kneighbors(self: Any, *args: Any, **kwargs: Any) -> Any:
        out = search(self, *args, **kwargs)
        # a fixed probe is ENN's bounding search (its rows are then decided exactly): not counted
        if self.approximate_ and self.probe is None:
            start = time.perf_counter()
            found.append(self.recall())
            _excluded[0] += time.perf_counter() - start
        return out

    FaissNeighbors.kneighbors = kneighbors  # type: ignore[method-assign]
    sampler._recalls = found


def _watch_selection(sampler: Any) -> None:
    """Record the arguments and result of every screened NearMiss-1 choice, to compare it
    with the exact choice after the timing (:func:`_selection_recall`)."""
    from fnguard.levers import nearmiss

    calls: list[tuple[Any, Any]] = []
    screened = nearmiss.screened_selection

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        out = screened(*args, **kwargs)
        calls.append((args, out))
        return out

    nearmiss.screened_selection = wrapped
    sampler._selections = calls


def _selection_recall(args: tuple[Any, ...], chosen: Any) -> float:
    """Share of the exact NearMiss-1 choice (every row scored) that the screened one found."""
    import numpy as np

    from fnguard.levers.knn import nearest_selection

    X, Y, k, n_keep, exact, n_jobs = args[:6]
    truth = nearest_selection(X, Y, k, n_keep, exact, n_jobs)
    return len(np.intersect1d(truth, chosen)) / max(len(truth), 1)


#: Runs shorter than this many seconds are timed three times (best of three).
FAST = 2.0
#: Seconds spent measuring recall inside fit_resample, taken out of its time.
_excluded = [0.0]


def _run(sampler: str, impl: str, n: int, timeout: float) -> dict[str, Any]:
    spec = json.dumps({"sampler": sampler, "impl": impl, "n": n})
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--one", spec],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"stopped": timeout}
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["killed"])[-1]
        return {
            "failed": "out of memory" if "MemoryError" in tail or done.returncode < 0 else tail[:60]
        }
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cell(result: dict[str, Any], key: str, fmt: str) -> str:
    if "stopped" in result:
        return f"> {result['stopped']:.0f} s (stopped)" if key == "seconds" else "-"
    if "failed" in result:
        return result["failed"] if key == "seconds" else "-"
    return format(result[key], fmt)


def _recall_cell(result: dict[str, Any]) -> str:
    if result.get("recall") is None:
        return "exact" if "seconds" in result else "-"
    return f"{result['recall']:.3f}"


def section(
    quick: bool = False,
    timeout: float | None = None,
    only: list[str] | None = None,
    cleaning_large: bool = False,
    sizes: list[int] | None = None,
) -> str:
    """The markdown table of the sampler benchmark.

    ``quick`` runs every sampler at 20,000 rows; otherwise the cleaning samplers run at
    100,000 rows (and at 1,000,000 with ``cleaning_large``) and the others at 100,000 and
    1,000,000, each run stopped after ``timeout`` seconds (60 s by default; 120 s at
    1,000,000 rows, 240 s for the cleaning samplers there). ``only`` names the samplers to run,
    ``sizes`` the numbers of rows to keep from that plan.
    """
    names = [name for name in SAMPLERS if only is None or name in only]
    plan = (
        [(name, 20_000) for name in names]
        if quick
        else [
            *((name, 100_000) for name in names),
            *((name, 1_000_000) for name in names if name not in CLEANING or cleaning_large),
        ]
    )
    if sizes is not None:
        plan = [(name, n) for name, n in plan if n in sizes]
    lines = [
        "## Resampling: fnguard's samplers against imbalanced-learn's defaults",
        "",
        "`make_classification(n_samples=N, n_features=30, weights=[0.99], random_state=0)`, "
        "75/25 stratified split; each sampler resamples the training part in its own process "
        "(time limit 60 s, 120 s at 1,000,000 rows); runs under 2 s are timed three times (best "
        "of three). Ratio = imbalanced-learn s / fnguard s. "
        "Peak MB: resident memory reached during `fit_resample` above that just before it "
        "(Linux VmHWM, reset before the call). PR-AUC: LightGBM (100 trees) fitted on the "
        "resampled training part, on the held-out 25%; diff = fnguard - imbalanced-learn. "
        "Cleaning samplers (tomek, enn, smote-tomek, smote-enn) run at 100,000 rows only "
        "unless `--cleaning-1m`. Neighbour recall: where fnguard searched approximately, the "
        "lowest recall of its searches (200 queries of each searched again exactly; that time "
        "is not counted); for NearMiss-1, the share of the exact choice (every majority row "
        "scored, after the timing) that its density screen found; `exact`: every search was "
        "exact (ENN's float32 bounds only decide what an exact count settles, so they count "
        "as exact).",
        "",
        "| sampler | N | imblearn s | fnguard s | ratio | peak MB imblearn | peak MB fnguard "
        "| PR-AUC imblearn | PR-AUC fnguard | diff | neighbour recall |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, n in plan:
        limit = timeout or (60.0 if n < 1_000_000 else 240.0 if name in CLEANING else 120.0)
        theirs = _run(name, "imblearn", n, limit)
        ours = _run(name, "fnguard", n, limit)
        if "seconds" in theirs and "seconds" in ours:
            ratio = f"{theirs['seconds'] / max(ours['seconds'], 1e-9):.1f}x"
            diff = f"{ours['pr_auc'] - theirs['pr_auc']:+.4f}"
        elif "seconds" in ours and "stopped" in theirs:
            ratio, diff = f"> {theirs['stopped'] / max(ours['seconds'], 1e-9):.1f}x", "-"
        elif "seconds" in ours:  # imbalanced-learn failed (out of memory): only ours ran
            ratio, diff = "only fnguard ran", "-"
        else:
            ratio, diff = "-", "-"
        lines.append(
            f"| {name} | {n:,} | {_cell(theirs, 'seconds', '.2f')}"
            f" | {_cell(ours, 'seconds', '.2f')}"
            f" | {ratio} | {_cell(theirs, 'peak_mb', '.0f')} | {_cell(ours, 'peak_mb', '.0f')}"
            f" | {_cell(theirs, 'pr_auc', '.4f')} | {_cell(ours, 'pr_auc', '.4f')} | {diff}"
            f" | {_recall_cell(ours)} |"
        )
        print(lines[-1], file=sys.stderr, flush=True)
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(_one(json.loads(sys.argv[2]))))
    else:
        only = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--only=")]
        sizes = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--n=")]
        print(
            section(
                quick="--quick" in sys.argv,
                only=only[0].split(",") if only else None,
                cleaning_large="--cleaning-1m" in sys.argv,
                sizes=[int(n) for n in sizes[0].split(",")] if sizes else None,
            )
        )
