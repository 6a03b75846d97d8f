"""Tests for fnguard.data.datasets: the bundled real datasets, loaded offline."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import fnguard.data
from fnguard.data import Dataset, datasets
from fnguard.errors import DataError


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any attempt to open a network connection fail."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a bundled dataset tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize(
    ("loader", "n_rows", "target", "positive", "low", "high", "dropped"),
    [
        (datasets.load_lending_club, 9857, "Class", "bad", 0.04, 0.07, ["rownames"]),
        (
            datasets.load_nass_cds, 26217, "dead", "dead", 0.03, 0.06,
            ["rownames", "injSeverity", "caseid"],
        ),
        (datasets.load_caravan, 5822, "Purchase", "Yes", 0.05, 0.07, ["rownames"]),
        (datasets.load_digits, 1797, "is_9", True, 0.08, 0.12, []),
    ],
)
@pytest.mark.usefixtures("offline")
def test_bundled_dataset_loads_offline(
    loader: Callable[[], Dataset],
    n_rows: int,
    target: str,
    positive: Any,
    low: float,
    high: float,
    dropped: list[str],
) -> None:
    """Check that each bundled dataset loads offline with its documented size and positives."""
    data = loader()
    assert isinstance(data, Dataset)
    assert data.n_rows == n_rows == len(data.X)
    assert (data.target, data.positive) == (target, positive)
    assert low < data.prevalence < high
    assert data.y.dtype == bool
    assert target not in data.X.columns
    assert not set(dropped) & set(data.X.columns)
    assert data.source and data.source != "the DataFrame"
    assert data.schema.names == data.X.columns.tolist()


def test_load_digits_picks_the_digit() -> None:
    """Check that load_digits marks exactly the images of the asked digit."""
    from sklearn.datasets import load_digits

    data = datasets.load_digits(digit=3)
    assert data.target == "is_3"
    assert data.X.columns.tolist() == [f"pixel_{i}" for i in range(64)]
    np.testing.assert_array_equal(data.y, load_digits().target == 3)


@pytest.mark.parametrize("digit", [-1, 10, 2.0, True, "3"])
def test_load_digits_rejects_bad_digit(digit: Any) -> None:
    """Check that a digit outside 0-9 or not an integer is refused."""
    with pytest.raises(DataError, match=r"digit must be an integer from 0 to 9"):
        datasets.load_digits(digit)


def test_load_by_name() -> None:
    """Check that load() finds datasets by name and lists the known names otherwise."""
    assert set(datasets.DATASETS) == {"lending_club", "nass_cds", "caravan", "digits"}
    assert datasets.load("Caravan").target == "Purchase"
    with pytest.raises(DataError, match=r"no bundled dataset 'default': use one of lending_club"):
        datasets.load("default")


def test_datasets_reachable_from_package() -> None:
    """Check that the submodule is reachable as fnguard.data.datasets."""
    assert fnguard.data.datasets.load_lending_club is datasets.load_lending_club
