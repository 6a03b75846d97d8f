"""Reliability of the review app as a real server process on loopback: a verdict acknowledged
survives ``kill -9``; sixteen concurrent reviewers lose nothing and never share a case."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from fnguard.serve.auth import add_user
from fnguard.serve.queue import enqueue
from fnguard.serve.store import open_store

from .conftest import csrf_of, free_port

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore::fnguard.errors.FnguardWarning")]
N_REVIEWERS = 16


@pytest.fixture(scope="module")
def guard_dir(guard, tmp_path_factory):
    return guard.save(tmp_path_factory.mktemp("guard") / "guard", report=False)


def make_db(path, guard, batch, *, cases, users):
    frame, pred = batch
    enqueue(path, guard, frame, pred, capacity=cases, explain=False)
    engine = open_store(path)
    for name in users:
        add_user(engine, name, f"password-{name}")
    engine.dispose()


class Server:
    """``fnguard review serve`` in a subprocess on a free loopback port."""

    def __init__(self, guard_dir, db, *extra):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        code = "import sys; from fnguard.cli import entry; sys.argv[0] = 'fnguard'; entry()"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, "review", "serve", str(guard_dir), "--db", str(db),
             "--port", str(self.port), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/login", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                out = self.proc.stdout.read().decode(errors="replace") if self.proc.stdout else ""
                self.stop()
                raise RuntimeError(f"the review server did not start:\n{out}")
            time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Reviewer:
    """One signed-in reviewer talking to the JSON API."""

    def __init__(self, url, name):
        self.name = name
        self.http = httpx.Client(base_url=url, timeout=20, follow_redirects=True)
        token = csrf_of(self.http.get("/login").text)
        r = self.http.post("/login", data={"username": name, "password": f"password-{name}",
                                           "csrf": token})
        assert r.status_code == 200, r.text
        self.csrf = csrf_of(r.text)

    def next(self):
        r = self.http.post("/api/next", headers={"x-csrf-token": self.csrf})
        r.raise_for_status()
        return r.json()["case"]

    def verdict(self, case, verdict, *, next_case=False):
        r = self.http.post(f"/api/cases/{case}/verdict",
                           json={"verdict": verdict, "next": next_case},
                           headers={"x-csrf-token": self.csrf})
        r.raise_for_status()
        return r.json()


def _rows(db, query):
    with sqlite3.connect(db) as raw:
        return raw.execute(query).fetchall()


def test_acknowledged_verdicts_survive_kill_9(guard, batch, guard_dir, tmp_path):
    """Check that every verdict the server acknowledged is on disk after SIGKILL mid-stream."""
    db = tmp_path / "review.sqlite"
    make_db(db, guard, batch, cases=400, users=["ann"])
    server = Server(guard_dir, db)
    acked: list[tuple[int, str]] = []
    stop = threading.Event()

    def work():
        ann = Reviewer(server.url, "ann")
        case = ann.next()
        while case is not None and not stop.is_set():
            verdict = ("positive", "negative", "unsure")[case % 3]
            try:
                out = ann.verdict(case, verdict, next_case=True)
            except httpx.TransportError:
                return
            acked.append((case, verdict))
            case = out["next"]

    thread = threading.Thread(target=work)
    try:
        thread.start()
        deadline = time.monotonic() + 30
        while len(acked) < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(timeout=10)
        stop.set()
        thread.join(timeout=30)
    finally:
        server.stop()
    assert len(acked) >= 40
    assert _rows(db, "PRAGMA integrity_check") == [("ok",)]
    stored = dict(_rows(db, "SELECT case_id, verdict FROM verdicts"))
    assert all(stored.get(case) == verdict for case, verdict in acked)
    # The database opens again, whole.
    from fnguard.serve.status import review_status

    engine = open_store(db)
    assert review_status(engine)["verdicts"] == len(stored) >= len(acked)
    engine.dispose()


def _review_all(url, names, *, double=False, budget=60.0):
    """Each reviewer takes and judges cases until none is left (or the budget runs out)."""
    deadline = time.monotonic() + budget

    def work(name):
        me = Reviewer(url, name)
        got, stored = [], 0
        case = me.next()
        while case is not None and time.monotonic() < deadline:
            got.append(case)
            out = me.verdict(case, "positive" if case % 2 else "negative")
            stored += out["stored"]
            if double:  # the same verdict again, as a double click would send it
                again = me.verdict(case, "positive" if case % 2 else "negative")
                assert not again["stored"]
            case = me.next()
        return name, got, stored

    with ThreadPoolExecutor(len(names)) as pool:
        return list(pool.map(work, names))


def test_sixteen_reviewers_lose_nothing(guard, batch, guard_dir, tmp_path):
    """Check that 16 concurrent reviewers never share a case and every verdict is stored once."""
    db = tmp_path / "review.sqlite"
    names = [f"r{i}" for i in range(N_REVIEWERS)]
    make_db(db, guard, batch, cases=160, users=names)
    server = Server(guard_dir, db)
    try:
        results = _review_all(server.url, names, double=True)
    finally:
        server.stop()
    given = Counter(case for _, got, _ in results for case in got)
    assert len(given) == 160 and set(given.values()) == {1}  # each case to one reviewer
    assert sum(stored for *_, stored in results) == 160
    assert _rows(db, "SELECT count(*) FROM verdicts") == [(160,)]
    assert _rows(db, "SELECT count(DISTINCT case_id) FROM verdicts") == [(160,)]
    assert _rows(db, "SELECT count(*) FROM cases WHERE status = 'done'") == [(160,)]
    assert _rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert sum(len(got) > 0 for _, got, _ in results) >= 8  # the work was shared


def test_two_reviews_per_case_from_different_reviewers(guard, batch, guard_dir, tmp_path):
    """Check that with --reviews-per-case 2 each case gets two verdicts from two reviewers."""
    db = tmp_path / "review.sqlite"
    names = [f"r{i}" for i in range(6)]
    make_db(db, guard, batch, cases=30, users=names)
    server = Server(guard_dir, db, "--reviews-per-case", "2")
    try:
        results = _review_all(server.url, names)
    finally:
        server.stop()
    given = Counter(case for _, got, _ in results for case in got)
    assert len(given) == 30 and set(given.values()) == {2}
    pairs = _rows(db, "SELECT case_id, count(DISTINCT user_id), count(*) FROM verdicts "
                      "GROUP BY case_id")
    assert len(pairs) == 30 and all(distinct == 2 == total for _, distinct, total in pairs)
