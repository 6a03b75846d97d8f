"""Tests of `fnguard diagnose --require`: operating points for the user's requirements."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fnguard.cli import main
from fnguard.decide import choose_threshold


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(3)
    n = 2500
    y = rng.random(n) < 0.1
    p = np.clip(np.where(y, rng.beta(4, 2, n), rng.beta(1, 5, n)), 0, 1)
    frame = pd.DataFrame({"y": y.astype(int), "p": p, "region": rng.choice(["n", "s"], n)})
    # The highest score is a negative: no threshold reaches a precision of 0.999.
    frame.loc[len(frame)] = {"y": 0, "p": 1.0, "region": "n"}
    path = tmp_path_factory.mktemp("req") / "scores.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_requirements_in_json(scores, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Check that each requirement's threshold equals choose_threshold on the same scores."""
    path, frame = scores
    reqs = ["recall>=0.95", "cost:fn=50,fp=1", "fpr<=0.05 @95%", "recall>=0.9 @90% per region"]
    argv = ["diagnose", str(path), "--label", "y", "--score", "p", "--positive", "1",
            "--out", str(tmp_path / "r"), "--json", "--n-boot", "50"]
    for r in reqs:
        argv += ["--require", r]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["decisions"]) == 4
    y, s = frame["y"].to_numpy(), frame["p"].to_numpy()
    for dec, req in zip(doc["decisions"], reqs, strict=True):
        groups = frame["region"].to_numpy() if "per" in req else None
        expected = choose_threshold(y, s, req, groups=groups, n_boot=0)
        assert dec["threshold"] == pytest.approx(expected.threshold)
        assert dec["met"] is True
    assert set(doc["decisions"][3]["group_thresholds"]) == {"n", "s"}
    html = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert 'id="requirements-table"' in html and "cost:fn=50,fp=1" in html


def test_unmet_requirement_exits_1(scores, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Check that a well-formed requirement that cannot be met exits 1 with the best point."""
    path, _ = scores
    argv = ["diagnose", str(path), "--label", "y", "--score", "p", "--positive", "1",
            "--out", str(tmp_path / "r"), "--json", "--n-boot", "50",
            "--require", "precision>=0.999"]
    assert main(argv) == 1
    dec = json.loads(capsys.readouterr().out)["decisions"][0]
    assert dec["met"] is False
    assert dec["best_value"] < 0.999
    assert dec["shortfall"] == pytest.approx(0.999 - dec["best_value"])
    # The report is still written.
    assert (tmp_path / "r" / "index.html").is_file()


def test_terminal_says_whether_met(scores, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Check that the terminal names the requirement and the user's threshold status."""
    path, _ = scores
    argv = ["diagnose", str(path), "--label", "y", "--score", "p", "--positive", "1",
            "--out", str(tmp_path / "r"), "--n-boot", "50", "--require", "recall>=0.95"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "recall>=0.95" in out and "meets it" in out
    assert "At your threshold 0.5" in out


def test_terminal_says_a_guarantee_does_not_hold_at_your_threshold(
    scores, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Check that at a threshold whose recall meets the target but misses more than the
    guarantee allows, the terminal says it is not guaranteed (it said "meets it")."""
    from fnguard.decide.guarantee import allowed_misses

    path, frame = scores
    positives = np.sort(frame.loc[frame["y"] == 1, "p"].to_numpy())
    allowed = allowed_misses(positives.size, 0.9, 0.95)
    threshold = positives[allowed + 1]  # allowed + 1 misses below it
    assert 1 - (allowed + 1) / positives.size >= 0.9
    argv = ["diagnose", str(path), "--label", "y", "--score", "p", "--positive", "1",
            "--out", str(tmp_path / "r"), "--n-boot", "50", "--threshold", str(float(threshold)),
            "--require", "recall>=0.9 @95%"]
    main(argv)
    out = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert f"with {allowed + 1} misses where the guarantee allows {allowed}" in out
    assert "NOT guaranteed at 95%" in out


@pytest.mark.parametrize(
    ("require", "match"),
    [
        ("recall>=1.5", "between 0 and 1"),
        ("banana", "A requirement is one of"),
        ("cost:fn=-5,fp=1", ">= 0"),
        ("recall>=0.999 @99%", "needs at least"),
        ("recall>=0.9 @90% per nowhere", "nowhere"),
    ],
)
def test_bad_requirement_exits_2(
    scores, require: str, match: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Check that a malformed or impossible requirement is bad input: exit 2, one line."""
    path, _ = scores
    argv = ["diagnose", str(path), "--label", "y", "--score", "p", "--positive", "1",
            "--out", str(tmp_path / "r"), "--n-boot", "20", "--require", require]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and match in err
    assert not (tmp_path / "r").exists()


def test_terminal_judges_your_threshold_for_every_constraint(
    scores, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Check that the verdict at the user's threshold is given for FPR and precision
    requirements too (it was given for recall and FNR only), and for a guarantee per group
    (it said "meets it" where a group's guarantee did not hold)."""
    path, frame = scores
    y, p = frame["y"].to_numpy() == 1, frame["p"].to_numpy()
    base = ["diagnose", str(path), "--label", "y", "--score", "p", "--positive", "1",
            "--out", str(tmp_path / "r"), "--n-boot", "20", "--threshold", "0.2"]
    fpr = float(((p >= 0.2) & ~y).sum() / (~y).sum())
    assert fpr > 0.1
    main([*base, "--require", "fpr<=0.1", "--require", "precision>=0.05"])
    out = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert f"At your threshold 0.2: fpr {fpr:.4f}, does NOT meet it." in out
    assert "At your threshold 0.2: precision" in out
    common = choose_threshold(y, p, "recall>=0.8 @90% per region", groups=frame["region"],
                              n_boot=0).threshold
    above = float(np.sort(p[y & (p > common)])[2])  # three positives more missed
    assert ((p >= above) & y).sum() / y.sum() >= 0.8
    main([*base[:-1], str(above), "--require", "recall>=0.8 @90% per region"])
    out = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert "above the threshold" in out and "keeps every group's guarantee" in out
