"""Connect to a Dask cluster, or start one on this machine for the length of a ``with`` block.

Dask is an optional extra (``pip install 'fnguard[dask]'``): it is imported only here, inside
the functions, so ``import fnguard`` stays fast and works without it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from fnguard.errors import FnguardError

__all__ = [
    "INSTALL", "ClusterError", "check_address", "connect", "dashboard_link", "require_dask"
]

#: What to run when Dask is missing.
INSTALL = "pip install 'fnguard[dask]'"


class ClusterError(FnguardError):
    """Dask is missing, or the cluster cannot be reached or started."""


def require_dask() -> Any:
    """Return the ``distributed`` module, or raise a :class:`ClusterError` saying how to install it.

    Examples
    --------
    >>> require_dask().__name__
    'distributed'
    """
    try:
        import dask  # noqa: F401
        import distributed
    except ImportError:
        raise ClusterError(
            "The Dask engine needs dask and distributed, which are not installed. Install them "
            f"with: {INSTALL}"
        ) from None
    return distributed


def _positive_int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ClusterError(f"'{name}' must be an integer >= 1. Got {value!r} instead.")
    return int(value)


def dashboard_link(client: Any) -> str | None:
    """The URL of the Dask dashboard of ``client``'s cluster, or None when it has none."""
    try:
        return client.dashboard_link or None
    except (AttributeError, KeyError):
        return None


@contextlib.contextmanager
def connect(
    cluster: str | None = None,
    workers: int | None = None,
    memory_limit: str | int | None = None,
    *,
    threads_per_worker: int = 1,
    processes: bool = True,
    timeout: float = 5.0,
    worker_timeout: float = 30.0,
    quiet: bool = False,
    option: str | None = None,
) -> Iterator[Any]:
    """A ``distributed.Client`` on a scheduler, or on a cluster started for this block.

    Without ``cluster``, a :class:`distributed.LocalCluster` of worker **processes** is
    started on this machine and shut down when the block ends (even on error). With
    ``cluster``, the client connects to that scheduler and leaves it running.

    Parameters
    ----------
    cluster : str, optional
        The scheduler's address, e.g. ``"tcp://10.0.0.5:8786"``. Omitted: start a local
        cluster.
    workers : int, optional
        Worker processes of the local cluster (default: one per core, at most 4). Ignored
        with ``cluster``.
    memory_limit : str or int, optional
        Memory limit of each local worker (``"2GB"`` or bytes; default: the machine's memory
        shared between the workers). A worker above it is restarted and its tasks run again.
        Ignored with ``cluster``.
    threads_per_worker : int, default=1
        Threads of each local worker; one, since the partitions are processed in NumPy and
        pandas code that holds the GIL often.
    processes : bool, default=True
        Local workers as processes (the default: no shared GIL, and a worker can be killed
        alone) or as threads of this process (starts in a second; for small jobs and tests).
    timeout : float, default=5.0
        Seconds to wait for the scheduler to answer.
    worker_timeout : float, default=30.0
        With ``cluster``: seconds to wait for the scheduler to have a worker.
    quiet : bool, default=False
        Silence the ``distributed`` logs of this process and of the local workers (worker
        tracebacks of failed tasks, heartbeat failures at shutdown) while the block runs; the
        errors still reach the caller. The command line sets it.
    option : str, optional
        The name of the ``workers`` option in error messages (``"--workers"`` on the command
        line).

    Yields
    ------
    distributed.Client
        Its dashboard URL is :func:`dashboard_link` (``client.dashboard_link``).

    Raises
    ------
    ClusterError
        When Dask is not installed, the address is malformed, the scheduler does not answer
        within ``timeout`` or has no worker within ``worker_timeout``, or the local cluster
        cannot start.

    Examples
    --------
    >>> with connect(workers=1, processes=False) as client:
    ...     print(client.submit(sum, [1, 2, 3]).result())
    6
    """
    distributed = require_dask()
    workers = _positive_int(workers, option or "workers")
    threads = _positive_int(threads_per_worker, "threads_per_worker")
    if cluster is not None:
        address = check_address(cluster)
        try:
            with _quiet_logs(quiet):
                client = distributed.Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError, RuntimeError) as exc:
            raise ClusterError(
                f"The Dask scheduler at '{address}' did not answer within {timeout:g} s "
                f"({type(exc).__name__}: {exc}). Check the address and that the scheduler is "
                "running (`dask scheduler`), or leave out the address to start a cluster on "
                "this machine."
            ) from None
        with _quiet_logs(quiet):
            try:
                _wait_for_a_worker(client, address, worker_timeout)
                yield client
            finally:
                client.close()
        return
    n = workers or max(1, min(4, os.cpu_count() or 1))
    with _quiet_logs(quiet):
        try:
            local = distributed.LocalCluster(
                n_workers=n,
                threads_per_worker=threads,
                processes=bool(processes),
                memory_limit=memory_limit if memory_limit is not None else "auto",
                dashboard_address=":0",
            )
        except (OSError, ValueError, TypeError, TimeoutError, RuntimeError) as exc:
            # RuntimeError: "Nanny failed to start" (a worker process could not start)
            raise ClusterError(
                f"A local Dask cluster of {n} workers could not start ({exc}): check "
                "'memory_limit' and the free memory, or connect to a running scheduler "
                "instead."
            ) from None
        try:
            client = distributed.Client(local, set_as_default=False)
            try:
                yield client
            finally:
                client.close()
        finally:
            local.close()


def check_address(cluster: Any) -> str:
    """The scheduler address, stripped; a :class:`ClusterError` when it is malformed.

    A missing protocol means ``tcp://``, as ``distributed.Client`` reads it.

    Examples
    --------
    >>> check_address(" tcp://10.0.0.5:8786 ")
    'tcp://10.0.0.5:8786'
    >>> check_address("10.0.0.5")
    Traceback (most recent call last):
    ...
    fnguard.distributed.cluster.ClusterError: The scheduler address '10.0.0.5' is malformed (missing port number in address '10.0.0.5'): give it as tcp://host:port, e.g. tcp://10.0.0.5:8786.
    """  # noqa: E501
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import backends

    address = str(cluster).strip()
    try:
        scheme, location = parse_address(address if "://" in address else f"tcp://{address}")
        if scheme not in backends:
            raise ValueError(
                f"unknown protocol '{scheme}://', expected one of "
                + ", ".join(f"{name}://" for name in sorted(backends))
            )
        if scheme != "tcp":
            raise ValueError(
                f"fnguard connects to a scheduler over tcp:// only; {scheme}:// needs settings "
                "of its own (security, an in-process cluster): connect with "
                "distributed.Client yourself and pass it as client= from Python"
            )
        host, port = parse_host_port(location)
        if not host:
            raise ValueError("no host name")
        if not 0 < int(port) < 65536:
            raise ValueError(f"port {port} is outside 1-65535")
    except ValueError as exc:
        raise ClusterError(
            f"The scheduler address {address!r} is malformed ({exc}): give it as "
            "tcp://host:port, e.g. tcp://10.0.0.5:8786."
        ) from None
    return address


def _wait_for_a_worker(client: Any, address: str, timeout: float) -> None:
    """Return once the scheduler has a worker; a :class:`ClusterError` after ``timeout`` s.

    Says so on stderr when it has to wait (no worker has joined yet), so that a wait of up to
    ``timeout`` seconds is not silent.
    """
    try:
        if not client.scheduler_info().get("workers"):
            print(
                f"Waiting up to {timeout:g} s for a worker to join the Dask scheduler at "
                f"'{address}'.",
                file=sys.stderr,
                flush=True,
            )
        client.wait_for_workers(1, timeout=timeout)
    except (TimeoutError, OSError):
        raise ClusterError(
            f"The Dask scheduler at '{address}' has no workers (none joined within "
            f"{timeout:g} s): start one with `dask worker {address}`, then run the command "
            "again."
        ) from None


#: The loggers ``distributed`` gives a level of their own.
_LOGGERS = ("distributed", "distributed.client", "distributed.gc", "tornado", "tornado.application")
#: The environment variable a worker process reads its ``distributed`` log level from.
_LOG_ENV = "DASK_LOGGING__DISTRIBUTED"


@contextlib.contextmanager
def _quiet_logs(quiet: bool) -> Iterator[None]:
    """Silence ``distributed``'s logs here and in the worker processes started in the block.

    A task that fails on bad input logs its traceback on the worker ("Compute Failed") before
    the error reaches the caller, and a cluster shutting down logs heartbeat failures: noise
    for a command that reports its own errors. Workers read the level from the environment
    when they start, so it is set while they start and restored afterwards.
    """
    if not quiet:
        yield
        return
    import logging

    loggers = [logging.getLogger(name) for name in _LOGGERS]
    levels = [lg.level for lg in loggers]
    before = os.environ.get(_LOG_ENV)
    os.environ[_LOG_ENV] = "critical"
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(_LOG_ENV, None)
        else:
            os.environ[_LOG_ENV] = before
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
