"""Tests of the demo: the main job on the bundled real dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.metrics import confusion_matrix, roc_auc_score

from fnguard.cli import main
from fnguard.demo import run_demo


def test_run_demo_matches_sklearn(tmp_path: Path) -> None:
    """Check that the demo diagnoses the baseline on held-out data, as scikit-learn counts."""
    result = run_demo(out=tmp_path / "report", n_boot=100)
    d = result.diagnosis
    assert result.report is not None and result.report.is_file()
    assert d.curve.n == pytest.approx(0.3 * result.dataset.n_rows, abs=1)
    assert d.positive == "bad"
    # Recompute the held-out scores from the counts: the curve agrees with scikit-learn.
    tp, fp, tn, fn = d.curve.counts_at(0.5)
    assert (tp, fp, tn, fn) == tuple(int(d.metrics[k].value) for k in ("tp", "fp", "tn", "fn"))
    assert 0.6 < d.metrics["roc_auc"].value < 0.95
    # At 0.5 a plain logistic regression on 5% positives misses most bad loans: FNG006 says so.
    assert d.metrics["recall"].value < 0.5
    assert "FNG006" in [f.code for f in d.findings]
    assert len(d.misses) == fn


def test_demo_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Check that `fnguard demo --json` writes the report and prints one document."""
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["input"]["positive"] == "bad"
    assert (out / "index.html").is_file()


def test_demo_model_scores_agree(tmp_path: Path) -> None:
    """Check that the diagnosis counts equal scikit-learn's confusion matrix of the model."""
    from sklearn.model_selection import train_test_split

    from fnguard.demo import _as_model_input

    result = run_demo(out=None, n_boot=0)
    data = result.dataset
    X = _as_model_input(data)
    _, X_test, _, y_test = train_test_split(
        X, data.y, test_size=0.3, stratify=data.y, random_state=0
    )
    proba = result.model.predict_proba(X_test)[:, 1]
    tn, fp, fn, tp = confusion_matrix(y_test, proba >= 0.5, labels=[False, True]).ravel()
    assert result.diagnosis.curve.counts_at(0.5) == (tp, fp, tn, fn)
    assert result.diagnosis.metrics["roc_auc"].value == pytest.approx(roc_auc_score(y_test, proba))


def test_demo_requirement_chosen_out_of_fold(tmp_path: Path) -> None:
    """Check that the demo's requirement threshold comes from training folds, scored on test."""
    from sklearn.model_selection import train_test_split

    from fnguard.decide import ThresholdTuner, choose_threshold
    from fnguard.demo import _as_model_input, baseline_model

    result = run_demo(out=None, n_boot=0, require="recall>=0.8")
    (dec,) = result.diagnosis.decisions
    data = result.dataset
    X_train, _, y_train, _ = train_test_split(
        _as_model_input(data), data.y, test_size=0.3, stratify=data.y, random_state=0
    )
    tuner = ThresholdTuner(baseline_model(data), "recall>=0.8", cv=5, random_state=0, n_boot=0)
    tuner.fit(X_train, y_train)
    assert dec.threshold == tuner.threshold_
    # The threshold is the out-of-fold choice, not one chosen on the test scores.
    assert tuner.decision_.threshold == dec.threshold
    on_test = choose_threshold(
        result.diagnosis.curve.n_positive * [True] + result.diagnosis.curve.n_negative * [False],
        _test_scores(result), "recall>=0.8", n_boot=0,
    )
    assert on_test.threshold != dec.threshold
    tp, _, _, fn = result.diagnosis.curve.counts_at(dec.threshold)
    assert dec.value == pytest.approx(tp / (tp + fn))
    assert dec.met == (dec.value >= 0.8)
    assert "out-of-fold" in dec.notes[0]


def _test_scores(result):
    """Held-out scores ordered positives first, as the labels built beside them."""
    from sklearn.model_selection import train_test_split

    from fnguard.demo import _as_model_input

    data = result.dataset
    _, X_test, _, y_test = train_test_split(
        _as_model_input(data), data.y, test_size=0.3, stratify=data.y, random_state=0
    )
    p = result.model.predict_proba(X_test)[:, 1]
    return list(p[y_test]) + list(p[~y_test])
