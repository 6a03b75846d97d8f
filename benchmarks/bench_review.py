"""Benchmark: verdicts per second through the review app, 16 concurrent reviewers on loopback.

A logistic-regression Guard is fitted on the bundled Lending Club loans and its review band
of the other loans is enqueued in a SQLite review database (WAL). ``fnguard review serve`` runs
as a real subprocess (one uvicorn process); 16 client threads, each signed in as its own
reviewer with ``httpx``, loop: ``POST /api/cases/{id}/verdict`` with ``"next": true`` (store
the verdict and lease the next case in one request). Each request's latency is timed by the
client. Afterwards the database is read directly: every acknowledged verdict must be there,
once, and no case may have been given to two reviewers.

Target (issue 6): 300 verdicts/s on 2 cores with p99 under 100 ms, none lost.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

N_CLIENTS = 16


def _guard():
    from fnguard.data.datasets import load_lending_club
    from fnguard.guard import Guard
    from fnguard.levers import build

    data = load_lending_club()
    pipe = build(["logistic"], data.schema).fit(data.X.iloc[:3000], data.y[:3000])
    score = pipe.predict_proba(data.X.iloc[:3000])[:, 1]
    lower = float(np.quantile(score, 0.4))
    guard = Guard(pipe, data.schema, data.target, data.positive, data.negative,
                  "recall>=0.9", lower, (lower, float("inf")))
    return guard, data.X.iloc[3000:].reset_index(drop=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _client(url: str, name: str):
    import httpx

    http = httpx.Client(base_url=url, timeout=30, follow_redirects=True)
    token = _csrf(http.get("/login").text)
    page = http.post("/login", data={"username": name, "password": f"password-{name}",
                                     "csrf": token})
    return http, _csrf(page.text)


def _run(folder: Path, n_cases: int, budget: float) -> dict:
    from fnguard.serve.auth import add_user
    from fnguard.serve.queue import enqueue
    from fnguard.serve.store import open_store

    guard, frame = _guard()
    guard.save(folder / "guard", report=False)
    db = folder / "review.sqlite"
    pred = guard.predict(frame)
    enqueue(db, guard, frame, pred, capacity=n_cases, explain=False)
    engine = open_store(db)
    names = [f"r{i}" for i in range(N_CLIENTS)]
    for name in names:
        add_user(engine, name, f"password-{name}")
    engine.dispose()
    with sqlite3.connect(db) as raw:
        queued = raw.execute("SELECT count(*) FROM cases").fetchone()[0]

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    code = "import sys; from fnguard.cli import entry; sys.argv[0] = 'fnguard'; entry()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "review", "serve", str(folder / "guard"), "--db", str(db),
         "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        import httpx

        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/login", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the review server did not start")
            time.sleep(0.1)
        clients = [_client(url, name) for name in names]
        latencies: list[list[float]] = [[] for _ in names]
        given: list[list[int]] = [[] for _ in names]
        errors: list[str] = []
        start_line = threading.Barrier(N_CLIENTS + 1)
        stop_at = [0.0]

        def work(i: int) -> None:
            http, csrf = clients[i]
            headers = {"x-csrf-token": csrf}
            start_line.wait()
            case = http.post("/api/next", headers=headers).json()["case"]
            while case is not None and time.perf_counter() < stop_at[0]:
                verdict = "positive" if case % 7 == 0 else "negative"
                t = time.perf_counter()
                r = http.post(f"/api/cases/{case}/verdict", headers=headers,
                              json={"verdict": verdict, "next": True})
                latencies[i].append(time.perf_counter() - t)
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text[:100]}")
                    return
                given[i].append(case)
                case = r.json()["next"]

        threads = [threading.Thread(target=work, args=(i,)) for i in range(N_CLIENTS)]
        for t in threads:
            t.start()
        stop_at[0] = time.perf_counter() + budget
        t0 = time.perf_counter()
        start_line.wait()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        for http, _ in clients:
            http.close()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    acked = [c for g in given for c in g]
    with sqlite3.connect(db) as raw:
        stored = raw.execute("SELECT count(*) FROM verdicts").fetchone()[0]
        distinct = raw.execute("SELECT count(DISTINCT case_id) FROM verdicts").fetchone()[0]
        done = raw.execute("SELECT count(*) FROM cases WHERE status = 'done'").fetchone()[0]
        ok = raw.execute("PRAGMA integrity_check").fetchone()[0]
    lat = np.array([x for xs in latencies for x in xs]) * 1000
    twice = sum(1 for k in Counter(acked).values() if k > 1)
    return {
        "queued": queued,
        "acked": len(acked),
        "stored": stored,
        "distinct": distinct,
        "done": done,
        "given_twice": twice,
        "integrity": ok,
        "errors": errors,
        "wall": wall,
        "rate": len(acked) / wall,
        "p50": float(np.percentile(lat, 50)) if len(lat) else float("nan"),
        "p99": float(np.percentile(lat, 99)) if len(lat) else float("nan"),
    }


def section(quick: bool = False) -> str:
    """Markdown section: verdicts/s and latency with 16 concurrent reviewers on loopback."""
    n_cases, budget = (600, 5.0) if quick else (3000, 20.0)
    with tempfile.TemporaryDirectory(prefix="fnguard-bench-review-") as tmp:
        r = _run(Path(tmp), n_cases, budget)
    lost = r["acked"] - r["stored"]
    sane = (lost == 0 and r["distinct"] == r["stored"] == r["done"] and r["given_twice"] == 0
            and r["integrity"] == "ok" and not r["errors"])
    lines = [
        "## Review app: verdicts per second, 16 concurrent reviewers",
        "",
        f"`fnguard review serve` as a subprocess (one uvicorn process, SQLite WAL) on loopback; "
        f"{N_CLIENTS} client threads (httpx), each its own reviewer, loop on `POST "
        "/api/cases/{id}/verdict` with `next: true` (store the verdict, lease the next case). "
        f"Up to {r['queued']:,} queued cases, {budget:.0f} s budget; {os.cpu_count()} CPU cores "
        "shared by server and clients. Afterwards the database is read directly. Target: 300 "
        "verdicts/s with p99 under 100 ms, none lost.",
        "",
        "| verdicts | seconds | verdicts/s | p50 ms | p99 ms | stored | lost | cases given "
        "twice | integrity |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        f"| {r['acked']:,} | {r['wall']:.1f} | {r['rate']:.0f} | {r['p50']:.1f} | "
        f"{r['p99']:.1f} | {r['stored']:,} | {lost:,} | {r['given_twice']} | {r['integrity']} |",
        "",
        "All checks hold." if sane else f"CHECK FAILED: {r}",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(section("--quick" in sys.argv))
