"""Tests of fnguard.distributed.cluster: local clusters, remote schedulers and their errors."""

from __future__ import annotations

import socket
import sys
import time

import pytest

from fnguard.distributed.cluster import ClusterError, connect, dashboard_link, require_dask
from fnguard.errors import FnguardError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_names_the_address() -> None:
    """Check that a scheduler that does not answer is a ClusterError naming its address."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(ClusterError, match=f"scheduler at '{address}' did not answer"):
        with connect(address, timeout=1):
            pass


def test_connects_to_a_running_scheduler(client) -> None:
    """Check that an address connects to that scheduler and leaves it running."""
    with connect(client.scheduler.address) as other:
        assert other.submit(sum, [1, 2]).result() == 3
    assert client.submit(sum, [3, 4]).result() == 7


def test_local_cluster_is_shut_down() -> None:
    """Check that a local cluster starts with its dashboard and stops when the block ends."""
    with connect(workers=1, processes=False) as c:
        assert len(c.scheduler_info()["workers"]) == 1
        link = dashboard_link(c)
        assert link is None or link.startswith("http")
    assert c.status == "closed"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"workers": 0}, "'workers' must be an integer >= 1. Got 0"),
        ({"workers": 1.5}, "'workers' must be an integer >= 1. Got 1.5"),
        ({"threads_per_worker": True}, "'threads_per_worker' must be an integer"),
    ],
)
def test_bad_options(kwargs, match) -> None:
    """Check that bad cluster sizes are refused with the rule and the value."""
    with pytest.raises(ClusterError, match=match):
        with connect(processes=False, **kwargs):
            pass


def test_missing_dask_says_how_to_install(monkeypatch) -> None:
    """Check that without distributed the error is an FnguardError naming the install command."""
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(FnguardError, match=r"pip install 'fnguard\[dask\]'"):
        require_dask()


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("garbage", "missing port number"),
        ("", "missing port number"),
        ("http://127.0.0.1:8786", "unknown protocol 'http://'"),
        ("tcp://127.0.0.1", "missing port number"),
        ("tls://127.0.0.1:8786", "over tcp:// only; tls://"),
        ("inproc://x", "over tcp:// only; inproc://"),
        ("localhost:99999", "port 99999 is outside 1-65535"),
    ],
)
def test_malformed_address_is_refused_at_once(address, why) -> None:
    """Check that a malformed address is refused before any connection, with an example."""
    started = time.monotonic()
    with pytest.raises(ClusterError, match=f"The scheduler address {address!r} is malformed") as e:
        with connect(address, timeout=5):
            pass
    assert time.monotonic() - started < 1
    assert why in str(e.value) and "e.g. tcp://10.0.0.5:8786" in str(e.value)


def test_scheduler_without_workers_is_an_error(capsys: pytest.CaptureFixture) -> None:
    """Check that a scheduler no worker joins is a ClusterError saying how to start one, and
    that the wait is announced on stderr."""
    import distributed

    with distributed.LocalCluster(n_workers=0, dashboard_address=":0") as empty:
        address = empty.scheduler_address
        assert address.startswith("tcp://")
        started = time.monotonic()
        with pytest.raises(ClusterError, match=f"has no workers .* `dask worker {address}`"):
            with connect(address, worker_timeout=1):
                pass
        assert time.monotonic() - started < 10
    assert f"Waiting up to 1 s for a worker to join the Dask scheduler at '{address}'" in (
        capsys.readouterr().err
    )
