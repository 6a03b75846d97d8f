"""Shared data for the explain tests: the bundled digits with planted label noise."""

from __future__ import annotations

import numpy as np
import pytest

from fnguard.data import Dataset, datasets


@pytest.fixture(scope="session")
def digits() -> Dataset:
    """The bundled digits (9 against the rest): real, small, well separated."""
    return datasets.load("digits")


@pytest.fixture(scope="session")
def noisy_digits(digits: Dataset) -> tuple[Dataset, np.ndarray, np.ndarray]:
    """Digits with 15 positives relabelled negative and 25 negatives relabelled positive."""
    import dataclasses

    rng = np.random.default_rng(0)
    y = digits.y.copy()
    hidden = rng.choice(np.flatnonzero(y), 15, replace=False)
    fake = rng.choice(np.flatnonzero(~y), 25, replace=False)
    y[hidden], y[fake] = False, True
    return dataclasses.replace(digits, y=y), hidden, fake
