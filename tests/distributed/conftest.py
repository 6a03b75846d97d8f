"""A real two-worker LocalCluster, started once for tests/distributed, and partition writers."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")


@pytest.fixture(scope="session")
def client() -> Iterator[object]:
    """Two worker processes of one thread each, as on a small real cluster."""
    from fnguard.distributed import connect

    with connect(workers=2, memory_limit="1GB") as c:
        yield c


@pytest.fixture
def ready(client):
    """The client, once both workers are up (a test may have killed one)."""
    client.wait_for_workers(2, timeout=60)
    return client


def write_parts(frame: pd.DataFrame, folder: Path, sizes: list[int], fmt: str = "parquet") -> str:
    """Split ``frame`` into consecutive files of ``sizes`` rows; return their glob."""
    assert sum(sizes) == len(frame)
    folder.mkdir(parents=True, exist_ok=True)
    start = 0
    for i, size in enumerate(sizes):
        part = frame.iloc[start : start + size]
        if fmt == "parquet":
            part.to_parquet(folder / f"part-{i:03d}.parquet", index=False)
        else:
            part.to_csv(folder / f"part-{i:03d}.csv", index=False)
        start += size
    return str(folder / f"part-*.{fmt}")


def scores_frame(n: int, seed: int = 0, *, decimals: int | None = 2) -> pd.DataFrame:
    """Labels, scores with heavy ties, and features of every kind the slices handle."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.15).astype(np.int64)
    p = np.clip(np.where(y == 1, rng.beta(3, 2, n), rng.beta(1, 4, n)), 0, 1)
    region = rng.choice([f"r{i:02d}" for i in range(30)], n)
    weak = (y == 1) & (rng.random(n) < 0.2)
    region[weak] = "r07"  # a planted slice whose positives score low
    p[weak] = rng.beta(1, 4, int(weak.sum()))
    if decimals is not None:
        p = p.round(decimals)
    amount = rng.lognormal(3, 1, n).round(1)
    amount[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "y": y,
            "p": p,
            "region": region,
            "amount": amount,
            "level": rng.integers(0, 4, n),
            "flag": rng.random(n) < 0.3,
            "id": [f"id{i}" for i in range(n)],
        }
    )


def kill_a_worker_during(client, task: str, work: Callable[[], object]) -> tuple[object, bool]:
    """Run ``work`` in a thread and SIGKILL the process of a worker busy with a ``task`` task.

    Returns what ``work`` returned and whether the kill landed while it was still running.
    """
    out: dict[str, object] = {}

    def run() -> None:
        try:
            out["value"] = work()
        except BaseException as exc:  # re-raised in the test's thread
            out["error"] = exc

    pids = client.run(os.getpid)
    thread = threading.Thread(target=run)
    thread.start()
    killed = False
    deadline = time.monotonic() + 60
    while thread.is_alive() and time.monotonic() < deadline:
        busy = [w for w, keys in client.processing().items() if any(task in str(k) for k in keys)]
        if busy:
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed = thread.is_alive()
            break
        time.sleep(0.002)
    thread.join(120)
    if "error" in out:
        raise out["error"]  # type: ignore[misc]
    return out.get("value"), killed
