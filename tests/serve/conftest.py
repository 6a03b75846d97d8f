"""Shared setup of the review tests: a small Guard fitted on a bundled dataset, and a batch."""

from __future__ import annotations

import numpy as np
import pytest

from fnguard.data.datasets import load_lending_club
from fnguard.guard import Guard
from fnguard.levers import build

#: Strings that would run script if written raw into a page.
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


@pytest.fixture(scope="session")
def lending():
    """The Lending Club loans (9,857 rows, 22 features)."""
    return load_lending_club()


def make_guard(data, rows=3000) -> Guard:
    """A logistic-regression Guard fitted by hand on the first rows, with a review band."""
    pipe = build(["logistic"], data.schema)
    pipe.fit(data.X.iloc[:rows], data.y[:rows])
    score = pipe.predict_proba(data.X.iloc[:rows])[:, 1]
    threshold = float(np.quantile(score, 0.80))
    upper = float(np.quantile(score, 0.97))
    return Guard(
        pipeline=pipe,
        schema=data.schema,
        target=data.target,
        positive=data.positive,
        negative=data.negative,
        requirement="recall>=0.8",
        threshold=threshold,
        review_band=(threshold, upper),
    )


@pytest.fixture(scope="session")
def guard(lending) -> Guard:
    """A logistic-regression Guard fitted on 3,000 loans."""
    return make_guard(lending)


@pytest.fixture(scope="session")
def batch(lending, guard):
    """3,000 loans the Guard did not train on (no target), and Guard.predict's output."""
    new = lending.X.iloc[3000:6000].reset_index(drop=True)
    return new, guard.predict(new)


@pytest.fixture
def queued(guard, batch):
    """An in-memory review store holding 40 band cases and 10 audit cases of the batch."""
    from fnguard.serve.queue import enqueue
    from fnguard.serve.store import open_store

    engine = open_store("sqlite://", create=True)
    frame, predictions = batch
    enqueue(engine, guard, frame, predictions, capacity=40, audit=10, explain=False)
    return engine


def csrf_of(html: str) -> str:
    """The CSRF token of the first form in a page."""
    import re

    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def sign_in(client, name: str, password: str):
    """Sign ``client`` in through the login form; return the response and the CSRF token."""
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"username": name, "password": password, "csrf": token},
        follow_redirects=False,
    )
    page = client.get("/queue", follow_redirects=False)
    return response, (csrf_of(page.text) if page.status_code == 200 else None)


def hostile_frame(frame):
    """The batch with hostile strings in a feature's values and in an extra column."""
    bad = frame.copy()
    bad["emp_length"] = np.where(np.arange(len(bad)) % 2 == 0, SCRIPT, IMG)
    bad[IMG] = SCRIPT
    return bad


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def serve_in_thread():
    """Start apps with uvicorn in a background thread; yield a function returning the URL."""
    import threading
    import time

    uvicorn = pytest.importorskip("uvicorn")
    servers = []

    def start(app) -> str:
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the review app did not start within 20 s")
            time.sleep(0.02)
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)
