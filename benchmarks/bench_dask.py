"""Benchmark: the Dask engine against one machine, for diagnose, predict and fit.

Usage::

    python benchmarks/bench_dask.py [--quick] [--fit-only]

Data is generated on disk in a temporary folder (never in the repository):

- scores: 20M rows (quick: 2M) in 40 Parquet files (quick: 8): label ``y`` (about 5%
  positives), score ``p`` (6 decimals, so about 1M distinct values, many ties) and a
  categorical ``region``;
- training: 5M rows x 30 features (quick: 200k) in 20 Parquet files, plus a 200k-row test file.

Each measurement runs in a fresh Python process, so peak resident memory (``ru_maxrss``) is
its own: for the Dask runs, the client process and each worker process of a 2-worker
``LocalCluster`` (2 GB memory limit each) are reported. Times exclude the cluster's start, which
is reported apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

N_FEATURES = 30


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------ data
def make_scores(folder: Path, n: int, files: int, seed: int = 0) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    per = n // files
    regions = np.array([f"r{i:02d}" for i in range(20)])
    for i in range(files):
        y = (rng.random(per) < 0.05).astype(np.int8)
        margin = rng.normal(np.where(y == 1, 1.5, 0.0), 1.0)
        p = np.round(1 / (1 + np.exp(-(margin - 2.0))), 6)
        frame = pd.DataFrame({"y": y, "p": p, "region": regions[rng.integers(0, 20, per)]})
        frame.to_parquet(folder / f"scores-{i:03d}.parquet", index=False)
    return str(folder / "*.parquet")


def _table(rng: np.random.Generator, n: int) -> pd.DataFrame:
    X = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    w = np.linspace(1.0, 0.0, N_FEATURES)
    logit = -4.2 + X @ w * 0.6 + 0.5 * X[:, 0] * X[:, 1]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    frame = pd.DataFrame(X, columns=[f"x{j:02d}" for j in range(N_FEATURES)])
    frame["y"] = y
    return frame


def make_training(folder: Path, n: int, files: int, seed: int = 1) -> tuple[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    per = n // files
    for i in range(files):
        _table(rng, per).to_parquet(folder / f"train-{i:03d}.parquet", index=False)
    test = folder.parent / "test.parquet"
    _table(rng, 200_000).to_parquet(test, index=False)
    return str(folder / "train-*.parquet"), test


# ------------------------------------------------------------------------------ runs
def run_task(task: str, args: dict) -> dict:
    """One measurement, in this process (called in a fresh subprocess by :func:`_measure`)."""
    import warnings

    warnings.simplefilter("ignore")
    out: dict = {}
    if task.endswith("_dask"):
        from fnguard.distributed import connect

        t = time.perf_counter()
        with connect(workers=2, memory_limit="2GB") as client:
            out["start_s"] = time.perf_counter() - t
            t = time.perf_counter()
            out.update(_dask_task(task, args, client))
            out["seconds"] = time.perf_counter() - t
            out["worker_peak_mb"] = sorted(client.run(_peak_mb).values())
    else:
        t = time.perf_counter()
        out.update(_local_task(task, args))
        out["seconds"] = time.perf_counter() - t
    out["client_peak_mb"] = _peak_mb()
    return out


def _local_task(task: str, args: dict) -> dict:
    if task == "diagnose":
        from fnguard.data import load_scores
        from fnguard.metrics.diagnosis import diagnose_table

        d = diagnose_table(load_scores(args["folder"], label="y", score="p", positive=1))
        return {"tp": d.curve.tp.tolist()[-1], "digest": _digest(d.curve)}
    if task == "predict":
        from fnguard.guard import load
        from fnguard.serve.predict import predict_file

        s = predict_file(load(args["guard"]), args["folder"], args["out"], chunk_size=500_000)
        return {"rows": s["rows"]}
    if task == "fit":
        import fnguard

        frame = pd.concat(
            [pd.read_parquet(f) for f in sorted(Path(args["folder"]).glob("train-*.parquet"))],
            ignore_index=True,
        ).head(args["subset"])
        guard = fnguard.fit(frame, "y", 1, args["require"], budget=args["budget"], seed=0)
        out = _test(guard, args["test"])
        out["trials"] = guard.info.get("n_trials")
        return out
    raise ValueError(task)


def _dask_task(task: str, args: dict, client: object) -> dict:
    if task == "diagnose_dask":
        from fnguard.distributed import diagnose_dask

        d = diagnose_dask(args["pattern"], "y", "p", 1, client=client)
        return {"tp": d.curve.tp.tolist()[-1], "digest": _digest(d.curve)}
    if task == "predict_dask":
        from fnguard.distributed import predict_dask

        s = predict_dask(args["guard"], args["pattern"], args["out"], client=client,
                         chunk_size=500_000)
        return {"rows": s["rows"]}
    if task == "fit_dask":
        from fnguard.distributed import fit_dask

        guard = fit_dask(args["pattern"], "y", 1, args["require"], client=client,
                         budget=args["budget"], seed=0)
        out = _test(guard, args["test"])
        info = guard.info["dask"]
        out["sample_rows"] = info["sample_rows"]
        out["negative_rate"] = info["negative_rate"]
        out["on_workers"] = bool(info.get("search_on_workers"))
        out["refit"] = info.get("refit", "sample")
        out["trials"] = guard.info.get("n_trials")
        return out
    raise ValueError(task)


def _digest(curve: object) -> str:
    import hashlib

    h = hashlib.sha256()
    for name in ("thresholds", "tp", "fp"):
        h.update(np.ascontiguousarray(getattr(curve, name)).tobytes())
    return h.hexdigest()[:16]


def _test(guard: object, test: str) -> dict:
    from fnguard.metrics import summary

    frame = pd.read_parquet(test)
    scores = guard.score(frame.drop(columns="y"))
    s = summary(frame["y"].to_numpy(), scores, guard.threshold, positive=1, n_boot=0)
    return {
        "recall": s["recall"].value,
        "precision": s["precision"].value,
        "levers": list(guard.levers),
        "threshold": guard.threshold,
    }


def _measure(task: str, args: dict) -> dict:
    here = str(Path(__file__).resolve().parent)
    code = (
        f"import json, sys; sys.path.insert(0, {here!r}); import bench_dask; "
        f"print('RESULT', json.dumps(bench_dask.run_task({task!r}, json.loads(sys.argv[1]))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{task} failed:\n{done.stderr[-3000:]}")


def _guard(folder: Path, pattern_folder: Path) -> str:
    """A logistic Guard fitted on 100k training rows, saved for both predict runs."""
    from fnguard.data import load_table
    from fnguard.guard import Guard
    from fnguard.levers import build

    frame = pd.read_parquet(sorted(pattern_folder.glob("train-*.parquet"))[0]).head(100_000)
    data = load_table(frame, "y", positive=1)
    pipe = build(["logistic"], data.schema).fit(data.X, data.y)
    guard = Guard(pipe, data.schema, "y", 1, 0, "recall>=0.9", threshold=0.05,
                  review_band=(0.05, 0.1))
    return str(guard.save(folder / "guard", report=False))


# ------------------------------------------------------------------------------ section
def _mem(r: dict) -> str:
    workers = ", ".join(f"{m:,.0f}" for m in r.get("worker_peak_mb", []))
    return f"{r['client_peak_mb']:,.0f}" + (f" (workers {workers})" if workers else "")


def _fit_table(
    root: Path, train_pattern: str, test: Path, n_train: int, subset: int, budget: str,
    require: str,
) -> list[str]:
    """The fit rows: one machine on the first ``subset`` rows against the sampled Dask fit."""
    fit = _measure("fit", {"folder": str(root / "train"), "subset": subset,
                           "budget": budget, "require": require, "test": str(test)})
    fit_d = _measure("fit_dask", {"pattern": train_pattern, "budget": budget,
                                  "require": require, "test": str(test)})
    where = "the 2 workers" if fit_d.get("on_workers") else "the client"
    model = (
        "refitted on all rows with DaskLGBMClassifier"
        if str(fit_d.get("refit", "")).startswith("full") else "fitted on the sample"
    )
    return [
        f"Fit, `{require}`, search budget {budget}, precision and recall on the 200,000 test "
        "rows at each Guard's threshold (the threshold with the default 0.9 safety margin). "
        f"Dask: the search's folds ran on {where}; the winner was {model}.",
        "",
        "| fit | wall s | trials | peak MB | levers | test recall | test precision |",
        "|---|---:|---:|---|---|---:|---:|",
        f"| one machine, first {subset:,} rows | {fit['seconds']:.0f} | {fit.get('trials')} | "
        f"{_mem(fit)} | {', '.join(fit['levers'])} | {fit['recall']:.3f} | "
        f"{fit['precision']:.3f} |",
        f"| Dask, all {n_train:,} rows: positives + {fit_d['negative_rate']:.1%} of negatives "
        f"({fit_d['sample_rows']:,} rows) | {fit_d['seconds']:.0f} | {fit_d.get('trials')} | "
        f"{_mem(fit_d)} | {', '.join(fit_d['levers'])} | {fit_d['recall']:.3f} | "
        f"{fit_d['precision']:.3f} |",
    ]


def fit_only(quick: bool = False) -> str:
    """Only the fit rows (``--fit-only``): to measure them again without diagnose and predict."""
    n_train, train_files = (200_000, 8) if quick else (5_000_000, 20)
    subset = 100_000 if quick else 1_000_000
    budget = "30s" if quick else "3m"
    with tempfile.TemporaryDirectory(prefix="fnguard-bench-dask-") as tmp:
        root = Path(tmp)
        train_pattern, test = make_training(root / "train", n_train, train_files)
        lines = _fit_table(root, train_pattern, test, n_train, subset, budget, "recall>=0.8")
    return "\n".join(lines) + "\n"


def section(quick: bool = False) -> str:
    """Markdown section: diagnose, predict and fit, one machine against a 2-worker cluster."""
    n_scores, score_files = (2_000_000, 8) if quick else (20_000_000, 40)
    n_train, train_files = (200_000, 8) if quick else (5_000_000, 20)
    subset = 100_000 if quick else 1_000_000
    budget = "30s" if quick else "3m"
    require = "recall>=0.8"
    with tempfile.TemporaryDirectory(prefix="fnguard-bench-dask-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        pattern = make_scores(root / "scores", n_scores, score_files)
        train_pattern, test = make_training(root / "train", n_train, train_files)
        gen = time.perf_counter() - t
        guard = _guard(root, root / "train")
        diag = _measure("diagnose", {"folder": str(root / "scores")})
        diag_d = _measure("diagnose_dask", {"pattern": pattern})
        pred = _measure("predict", {"guard": guard, "folder": str(root / "train"),
                                    "out": str(root / "pred.parquet")})
        pred_d = _measure("predict_dask", {"guard": guard, "pattern": train_pattern,
                                           "out": str(root / "pred")})
        fit_lines = _fit_table(root, train_pattern, test, n_train, subset, budget, require)

    ratio = diag_d["seconds"] / diag["seconds"]
    lines = [
        "## Dask engine: one machine against a 2-worker LocalCluster",
        "",
        f"{os.cpu_count()} cores. Data generated in {gen:.0f} s: {n_scores:,} scored rows in "
        f"{score_files} Parquet files; {n_train:,} x {N_FEATURES} training rows in "
        f"{train_files} files, 200,000 test rows. Peak memory is each process's resident "
        "peak (MB); Dask times exclude the cluster's start "
        f"({diag_d['start_s']:.1f} s).",
        "",
        "| task | one machine s | Dask s | ratio | one machine peak MB | Dask peak MB "
        "(client, workers) | same result |",
        "|---|---:|---:|---:|---:|---|---|",
        f"| diagnose {n_scores:,} rows | {diag['seconds']:.1f} | {diag_d['seconds']:.1f} | "
        f"{ratio:.2f} | {_mem(diag)} | {_mem(diag_d)} | "
        f"{'yes' if diag['digest'] == diag_d['digest'] else 'NO'} (curve digest) |",
        f"| predict {n_train:,} rows | {pred['seconds']:.1f} "
        f"({pred['rows'] / pred['seconds']:,.0f} rows/s) | {pred_d['seconds']:.1f} "
        f"({pred_d['rows'] / pred_d['seconds']:,.0f} rows/s) | "
        f"{pred_d['seconds'] / pred['seconds']:.2f} | {_mem(pred)} | {_mem(pred_d)} | "
        f"{'yes' if pred['rows'] == pred_d['rows'] else 'NO'} (rows) |",
        "",
        *fit_lines,
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    if "--fit-only" in sys.argv:
        print(fit_only(quick="--quick" in sys.argv))
    else:
        print(section(quick="--quick" in sys.argv))
