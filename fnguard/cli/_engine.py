"""The ``--engine``, ``--cluster`` and ``--workers`` options shared by diagnose, predict and fit.

``--engine local`` (the default) runs on this machine. ``--engine dask`` runs on a Dask cluster
(:mod:`fnguard.distributed`): the user's scheduler with ``--cluster``, otherwise a
``distributed.LocalCluster`` of ``--workers`` processes started for the command and shut down
at its end. The dashboard link is printed on stderr.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.console import Console

from fnguard.errors import FnguardError

ENGINES = ("local", "dask")

EngineOption = Annotated[
    str,
    typer.Option(
        "--engine",
        # Rich reads [dask] as markup: escaped, the install command shows whole
        help="local (this machine) or dask (a Dask cluster: pip install 'fnguard\\[dask]').",
    ),
]
ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="With --engine dask: the scheduler's address (tcp://host:8786); without it a "
        "local cluster is started for the command.",
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers", min=1,
        help="With --engine dask and no --cluster: worker processes to start.",
    ),
]


class EngineError(FnguardError, ValueError):
    """An unknown engine, or cluster options without ``--engine dask``."""


def check_engine(engine: str, cluster: str | None, workers: int | None) -> str:
    """The engine name, lower-cased; an error for an unknown one or misplaced options.

    Examples
    --------
    >>> check_engine("Dask", None, 2)
    'dask'
    >>> check_engine("local", "tcp://h:8786", None)
    Traceback (most recent call last):
    ...
    fnguard.cli._engine.EngineError: --cluster and --workers need --engine dask (the local engine runs on this machine): add --engine dask or drop them.
    >>> check_engine("dask", "tcp://h:8786", 2)
    Traceback (most recent call last):
    ...
    fnguard.cli._engine.EngineError: --workers sizes the local cluster that fnguard starts; with --cluster the scheduler's own workers run the tasks: drop --workers (start more workers on the cluster instead) or drop --cluster.
    """  # noqa: E501
    name = str(engine).strip().lower()
    if name not in ENGINES:
        raise EngineError(f"The engine must be one of {', '.join(ENGINES)}. Got {engine!r}.")
    if name == "local" and (cluster is not None or workers is not None):
        raise EngineError(
            "--cluster and --workers need --engine dask (the local engine runs on this "
            "machine): add --engine dask or drop them."
        )
    if cluster is not None and workers is not None:
        raise EngineError(
            "--workers sizes the local cluster that fnguard starts; with --cluster the "
            "scheduler's own workers run the tasks: drop --workers (start more workers on the "
            "cluster instead) or drop --cluster."
        )
    return name


@contextlib.contextmanager
def dask_client(cluster: str | None, workers: int | None, console: Console) -> Iterator[Any]:
    """A Dask client (see :func:`fnguard.distributed.connect`); prints the dashboard link."""
    from rich.markup import escape

    from fnguard.distributed import connect, dashboard_link

    # quiet: worker tracebacks and shutdown noise would bury the one-line error
    with connect(cluster, workers, quiet=True, option="--workers") as client:
        link = dashboard_link(client)
        where = f"the scheduler {cluster}" if cluster else "a local cluster"
        console.print(
            f"Dask: running on {escape(where)}"
            + (f"; dashboard: {escape(link)}" if link else ""),
            soft_wrap=True,
        )
        yield client
