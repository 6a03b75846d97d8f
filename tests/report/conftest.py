"""Shared diagnoses for the report tests: one planted with hostile strings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fnguard.metrics import diagnose

#: Strings that would run script if written raw into the page.
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


def make_hostile(n: int = 3000, seed: int = 0):
    """A diagnosis whose names, labels and categories are XSS payloads."""
    rng = np.random.default_rng(seed)
    is_pos = rng.random(n) < 0.15
    score = np.clip(rng.normal(0.3 + 0.3 * is_pos, 0.17), 0, 1).round(4)  # ties on purpose
    y = np.where(is_pos, IMG, "neg</script>")
    features = pd.DataFrame(
        {
            IMG: rng.choice(["a", SCRIPT, "c"], n),
            SCRIPT: rng.normal(size=n),
            "plain": rng.integers(0, 3, n),
        }
    )
    return diagnose(
        y,
        score,
        positive=IMG,
        negative="neg</script>",
        features=features,
        n_boot=100,
        label=SCRIPT,
        score=IMG,
        source=f"data/{SCRIPT}.csv",
        notes=[f"note {IMG} \u2028 {SCRIPT}"],
    )


@pytest.fixture(scope="session")
def hostile():
    """A diagnosis planted with hostile strings everywhere the data reaches the page."""
    return make_hostile()
