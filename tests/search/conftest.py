"""Small labelled tables for the search tests: a few hundred rows, so trials take milliseconds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_frame(n: int = 500, seed: int = 0, positives: float = 0.15) -> pd.DataFrame:
    """Three numeric columns (one with missing values), one categorical, a 0/1 label ``y``."""
    rng = np.random.default_rng(seed)
    x1, x2, x3 = rng.normal(size=(3, n))
    cat = rng.choice(["a", "b", "c"], size=n)
    logit = 1.5 * x1 - 1.0 * x2 + np.where(cat == "c", 1.0, 0.0)
    cut = np.quantile(logit + rng.logistic(size=n), 1 - positives)
    y = (logit + rng.logistic(size=n) >= cut).astype(int)
    x3[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "cat": cat, "y": y})


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    """500 rows, about 15% positives."""
    return make_frame()
