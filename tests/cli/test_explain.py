"""Tests of ``fnguard diagnose --target``: the table mode that explains the misses."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

from fnguard.cli import main


class Custom(LogisticRegression):
    """A classifier from outside the trusted libraries."""


@pytest.fixture(scope="module")
def table_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Features and labels; region 'north' hides its positives, two rows conflict."""
    rng = np.random.default_rng(0)
    n = 1500
    region = rng.choice(["north", "south", "east"], n)
    y = rng.random(n) < 0.2
    x = np.where(y & (region != "north"), rng.normal(2, 1, n), rng.normal(0, 1, n))
    frame = pd.DataFrame({"x": x.round(3), "z": rng.normal(size=n).round(3), "region": region,
                          "y": np.where(y, "bad", "good")})
    frame.loc[1, ["x", "z", "region"]] = frame.loc[0, ["x", "z", "region"]].to_numpy()
    frame.loc[0, "y"], frame.loc[1, "y"] = "bad", "good"
    path = tmp_path_factory.mktemp("table") / "loans.csv"
    frame.to_csv(path, index=False)
    return path


FAST = ["--cv", "3", "--n-boot", "50", "--budget", "10s"]


def _run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_carries_the_explanation(
    table_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Check the JSON contract: findings with code/kind/evidence, recommendations, files."""
    out = tmp_path / "report"
    code, stdout, err = _run(["diagnose", str(table_csv), "--target", "y", "--positive", "bad",
                              "--out", str(out), "--json", *FAST], capsys)
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["input"]["positive"] == "bad" and doc["input"]["n_rows"] == 1500
    exp = doc["explain"]
    assert 0 < len(exp["findings"]) <= 10
    for f in exp["findings"]:
        assert set(f) >= {"code", "kind", "severity", "message", "evidence", "misses_at_stake",
                          "levers"}
        assert re.fullmatch(r"FNG1\d\d", f["code"])
    kinds = {f["kind"] for f in exp["findings"]}
    assert {"slice", "duplicates"} <= kinds
    dup = next(f for f in exp["findings"] if f["kind"] == "duplicates")
    assert [0, 1] in dup["evidence"]["group_rows"]
    recs = exp["recommendations"]
    assert recs and all({"lever", "finding", "effect"} <= set(r) for r in recs)
    assert any(r["effect"] and r["effect"]["status"] == "measured" for r in recs)
    issues = pd.read_csv(out / "label_issues.csv")
    assert issues["row"].tolist() == exp["label_issues"]["rows"][: len(issues)]
    html = (out / "index.html").read_text()
    assert "Why are positives missed?" in html and 'id="explain-recommendations"' in html
    assert Path(doc["report"]) == out / "index.html"


def test_terminal_output_and_no_explain(
    table_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Check the Rich output, and that --no-explain keeps only the diagnosis."""
    code, stdout, err = _run(["diagnose", str(table_csv), "--target", "y", "--positive", "bad",
                              "--out", str(tmp_path / "a"), "--no-quick-check", *FAST], capsys)
    assert code == 0, err
    assert "Why are positives missed?" in stdout and "What to try" in stdout
    code, stdout, err = _run(["diagnose", str(table_csv), "--target", "y", "--positive", "bad",
                              "--out", str(tmp_path / "b"), "--no-explain", "--json", *FAST],
                             capsys)
    assert code == 0, err
    doc = json.loads(stdout)
    assert "explain" not in doc and doc["misses"]["count"] == doc["metrics"]["fn"]["value"]
    assert not (tmp_path / "b" / "label_issues.csv").exists()
    assert "Why are positives missed?" not in (tmp_path / "b" / "index.html").read_text()


def test_require_in_table_mode(
    table_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Check that a requirement chooses a threshold on the table's scores (exit 0 or 1)."""
    code, stdout, err = _run(["diagnose", str(table_csv), "--target", "y", "--positive", "bad",
                              "--out", str(tmp_path / "r"), "--no-explain", "--json",
                              "--require", "recall>=0.5", *FAST], capsys)
    assert code == 0, err
    (dec,) = json.loads(stdout)["decisions"]
    assert dec["met"] is True


def test_guard_and_trusted_model_files(
    table_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Check --model with a Guard folder and with a trusted skops file."""
    from fnguard.data import load_table
    from fnguard.guard import Guard
    from fnguard.levers import build

    data = load_table(table_csv, "y", positive="bad")
    pipe = build(["logistic"], data.schema).fit(data.X, data.y)
    Guard(pipe, data.schema, "y", "bad", "good", "recall>=0.8", threshold=0.25,
          levers=["logistic"]).save(tmp_path / "guard", report=False)
    code, stdout, err = _run(["diagnose", str(table_csv), "--target", "y", "--positive", "bad",
                              "--model", str(tmp_path / "guard"), "--out", str(tmp_path / "g"),
                              "--review-db", str(tmp_path / "review.sqlite"),
                              "--json", "--no-quick-check", *FAST], capsys)
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["threshold"] == 0.25 and doc["explain"]["scores"] == "model"
    assert doc["explain"]["model"].startswith("the Guard")
    queued = doc["explain"]["review_queue"]
    assert queued["enqueued"] + queued["duplicates"] == doc["explain"]["label_issues"]["count"]
    frame = pd.read_csv(table_csv)
    model = LogisticRegression().fit(frame[["x", "z"]], frame["y"])
    sio.dump(model, tmp_path / "m.skops")
    code, stdout, err = _run(["diagnose", str(table_csv), "--target", "y", "--positive", "bad",
                              "--model", str(tmp_path / "m.skops"), "--out", str(tmp_path / "m"),
                              "--json", "--no-quick-check", *FAST], capsys)
    assert code == 0, err
    doc = json.loads(stdout)
    expected = model.predict_proba(frame[["x", "z"]])[:, 0] >= 0.5  # classes: bad, good
    assert doc["metrics"]["fn"]["value"] == int(((frame["y"] == "bad") & ~expected).sum())


def _bad_cases(tmp: Path, table_csv: Path) -> dict[str, tuple[list[str], str]]:
    frame = pd.read_csv(table_csv)
    custom = tmp / "custom.skops"
    sio.dump(Custom().fit(frame[["x", "z"]], frame["y"]), custom)
    pickled = tmp / "model.pkl"
    pickled.write_bytes(pickle.dumps(LogisticRegression().fit(frame[["x", "z"]], frame["y"])))
    other = tmp / "other.skops"
    sio.dump(LogisticRegression().fit(frame[["x", "z"]].rename(columns={"z": "w"}),
                                      frame["y"]), other)
    small = tmp / "small.csv"
    pd.DataFrame({"x": range(10), "y": [1] + [0] * 9}).to_csv(small, index=False)
    t = str(table_csv)
    head = ["--target", "y", "--positive", "bad"]
    from fnguard.data import load_table
    from fnguard.guard import Guard
    from fnguard.levers import build

    data = load_table(table_csv, "y", positive="bad")
    pipe = build(["logistic"], data.schema).fit(data.X, data.y)
    guard = Guard(pipe, data.schema, "y", "bad", "good", "recall>=0.8", threshold=0.25,
                  levers=["logistic"]).save(tmp / "guard", report=False)
    return {
        "untrusted model": ([t, *head, "--model", str(custom)], r"does not trust.*--trust-model"),
        "pickle": ([t, *head, "--model", str(pickled)], "not a skops file"),
        "mismatched features": ([t, *head, "--model", str(other)], r"lacks w"),
        "too small": ([str(small), "--target", "y", "--positive", "1"],
                      "cross-validating needs at least 2"),
        "both modes": ([t, "--target", "y", "--label", "y", "--score", "x"], "not both"),
        "neither mode": ([t], "Say what the table holds"),
        "label without score": ([t, "--label", "y"], "--score is missing"),
        "model in scores mode": ([t, "--label", "y", "--score", "x", "--model", str(other)],
                                 "table mode"),
        "missing target": ([t, "--target", "nope"], "nope"),
        "explain options in scores mode": (
            [t, "--label", "y", "--score", "x", "--cv", "3", "--no-explain"],
            "--explain/--no-explain and --cv and --budget belong to"),
        "review db without a Guard": ([t, *head, "--review-db", str(tmp / "r.sqlite")],
                                      "Guard folder with --model"),
        "review db in a missing folder": (
            [t, *head, "--model", str(guard), "--review-db", str(tmp / "no" / "r.sqlite")],
            "cannot be created: its folder does not exist"),
    }


CASES = ["untrusted model", "pickle", "mismatched features", "too small", "both modes",
         "neither mode", "label without score", "model in scores mode", "missing target",
         "review db without a Guard", "review db in a missing folder",
         "explain options in scores mode"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input(
    case: str, table_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Check that each bad input exits 2 with one clear line and writes no report."""
    argv, match = _bad_cases(tmp_path, table_csv)[case]
    out = tmp_path / "report"
    code, _, err = _run(["diagnose", *argv, "--out", str(out), *FAST], capsys)
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert re.search(match, lines[0]), lines[0]
    assert not out.exists()


def test_trust_model_flag_loads_it(
    table_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Check that --trust-model loads a model whose types the user trusts."""
    argv, _ = _bad_cases(tmp_path, table_csv)["untrusted model"]
    code, stdout, err = _run(["diagnose", *argv, "--trust-model", "--out", str(tmp_path / "t"),
                              "--json", "--no-quick-check", *FAST], capsys)
    assert code == 0, err
    assert json.loads(stdout)["explain"]["model"] == "Custom"


def test_recommended_diagnose_commands_run(
    table_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Check that the recommended `fnguard diagnose` commands parse and run."""
    import shlex

    code, stdout, err = _run(["diagnose", str(table_csv), "--target", "y", "--positive", "bad",
                              "--out", str(tmp_path / "a"), "--json", "--no-quick-check",
                              *FAST], capsys)
    assert code == 0, err
    commands = [r["command"] for r in json.loads(stdout)["explain"]["recommendations"]
                if r["command"] and r["command"].startswith("fnguard diagnose")]
    assert commands
    for i, command in enumerate(commands):
        argv = shlex.split(command)[1:]
        code, _, err = _run([*argv, "--no-explain", "--out", str(tmp_path / f"c{i}"), *FAST],
                            capsys)
        assert code in (0, 1), err  # 1: the requirement cannot be met on these scores


def test_a_guard_on_its_own_training_table_is_noted(
    table_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Check that diagnosing a Guard on the table it was fitted on (same fingerprint) says
    that the figures are optimistic, on the terminal (notes were only in the JSON)."""
    from fnguard.data import load_table
    from fnguard.guard import Guard
    from fnguard.levers import build
    from fnguard.search.fit import fingerprint

    data = load_table(table_csv, "y", positive="bad")
    pipe = build(["logistic"], data.schema).fit(data.X, data.y)
    guard = Guard(pipe, data.schema, "y", "bad", "good", "recall>=0.8", threshold=0.25,
                  levers=["logistic"])
    guard.info["fingerprint"] = fingerprint(data.X, data.y)
    guard.save(tmp_path / "guard", report=False)
    argv = ["diagnose", str(table_csv), "--target", "y", "--positive", "bad", "--model",
            str(tmp_path / "guard"), "--no-quick-check", *FAST]
    code, _, err = _run([*argv, "--out", str(tmp_path / "a")], capsys)
    assert code == 0, err
    assert "the table the Guard was fitted on" in " ".join(err.split())
    other = tmp_path / "other.csv"
    pd.read_csv(table_csv).iloc[::2].to_csv(other, index=False)
    argv[1] = str(other)
    code, _, err = _run([*argv, "--out", str(tmp_path / "b")], capsys)
    assert code == 0, err
    assert "the table the Guard was fitted on" not in " ".join(err.split())


def test_budget_reads_units_as_fit_does(
    table_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Check that diagnose --budget takes '10s', '2m' like fit --budget (a number only was
    taken), and that an unreadable budget is bad input before any work."""
    code, _, err = _run(["diagnose", str(table_csv), "--target", "y", "--positive", "1",
                         "--budget", "2 minutes", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "The budget '2 minutes' cannot be read" in " ".join(err.split())
    assert not (tmp_path / "r").exists()
