"""Shared test setup."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def _one_blas_thread() -> Iterator[None]:
    """Run numerical libraries on one thread: pytest-xdist already uses both cores, and BLAS
    threads fighting over them make small fits many times slower."""
    with threadpool_limits(1):
        yield
