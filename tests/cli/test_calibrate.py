"""Tests of `fnguard diagnose --calibrate`: before/after figures of a cross-fitted calibration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fnguard.cli import main
from fnguard.decide.calibration import cross_calibrate


@pytest.fixture(scope="module")
def saturated_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An over-confident model: logits 40 times too large, so most scores print 0 or 1."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=3000)
    y = rng.random(3000) < 1 / (1 + np.exp(-(z - 2)))
    p = 1 / (1 + np.exp(-40 * (z - 2)))
    path = tmp_path_factory.mktemp("sat") / "sat.csv"
    pd.DataFrame({"y": y.astype(int), "p": p}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("method", ["temperature", "platt", "isotonic", "beta"])
def test_calibrate_unsaturates(
    saturated_csv: Path, method: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Check that each method lowers the ECE and makes the threshold move decisions again."""
    code = main(["diagnose", str(saturated_csv), "--label", "y", "--score", "p", "--positive",
                 "1", "--calibrate", method, "--out", str(tmp_path / "r"), "--json",
                 "--n-boot", "20"])
    assert code == 0
    fix = json.loads(capsys.readouterr().out)["calibration_fix"]
    assert fix["method"] == method
    assert fix["before"]["saturated"] is True
    assert fix["after"]["ece"] < fix["before"]["ece"]
    assert fix["after"]["flip_fraction"] > 10 * fix["before"]["flip_fraction"]
    if method == "temperature":
        assert fix["after"]["saturated"] is False
    assert 'id="calibration-fix"' in (tmp_path / "r" / "index.html").read_text("utf-8")


def test_cross_calibrate_is_out_of_fold(saturated_csv: Path) -> None:
    """Check that every row is calibrated by a model fitted without it (the folds differ)."""
    frame = pd.read_csv(saturated_csv)
    a = cross_calibrate(frame["p"], frame["y"], "isotonic", random_state=0)
    b = cross_calibrate(frame["p"], frame["y"], "isotonic", random_state=1)
    assert a.shape == (len(frame),) and ((a >= 0) & (a <= 1)).all()
    assert not np.allclose(a, b)  # other folds, other calibrators: not an in-sample fit


def test_unknown_method_exits_2(saturated_csv: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture) -> None:
    """Check that an unknown method is bad input, named with the valid ones."""
    code = main(["diagnose", str(saturated_csv), "--label", "y", "--score", "p",
                 "--calibrate", "magic", "--out", str(tmp_path / "r")])
    assert code == 2
    err = capsys.readouterr().err
    assert "temperature" in err and "magic" in err
    assert not (tmp_path / "r").exists()
