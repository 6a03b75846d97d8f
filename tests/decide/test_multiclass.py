"""Multiclass scores, one-vs-rest: loading, diagnosis per class, per-class requirements."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score, roc_auc_score
from sklearn.model_selection import cross_val_predict

from fnguard.cli import main
from fnguard.data import load_class_scores
from fnguard.decide import choose_threshold
from fnguard.errors import DataError, RequirementError


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """Out-of-fold probabilities of a real model on the iris flowers, one column per class."""
    data = load_iris(as_frame=True)
    names = np.asarray(data.target_names)[data.target]
    proba = cross_val_predict(LogisticRegression(max_iter=200, C=0.05), data.data, names, cv=5,
                              method="predict_proba")
    frame = pd.DataFrame(proba, columns=[f"p_{c}" for c in sorted(set(names))])
    frame["species"] = names
    frame["petal_length"] = data.data["petal length (cm)"]
    path = tmp_path_factory.mktemp("iris") / "iris.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_load_and_one_vs_rest(iris) -> None:
    """Check that score columns are tied to their classes and each binary view is right."""
    path, frame = iris
    cs = load_class_scores(path, label="species", scores=["p_setosa", "p_versicolor",
                                                            "virginica=p_virginica"])
    assert cs.classes == ["setosa", "versicolor", "virginica"]
    view = cs.one_vs_rest("versicolor")
    assert view.y_true.sum() == 50
    np.testing.assert_array_equal(view.y_score, frame["p_versicolor"].to_numpy())
    assert list(cs.features.columns) == ["petal_length"]


def test_choose_threshold_per_class(iris) -> None:
    """Check that a class-named requirement thresholds that class's column."""
    _, frame = iris
    y = frame["species"].to_numpy()
    scores = frame[["p_setosa", "p_versicolor", "p_virginica"]].to_numpy()
    d = choose_threshold(y, scores, "versicolor: recall>=0.9", n_boot=0)
    binary = choose_threshold(y == "versicolor", frame["p_versicolor"], "recall>=0.9", n_boot=0)
    assert d.threshold == binary.threshold
    assert recall_score(y == "versicolor", frame["p_versicolor"] >= d.threshold) >= 0.9


@pytest.mark.parametrize(
    ("requirement", "columns", "error", "match"),
    [
        ("recall>=0.9", 3, RequirementError, "must name its class"),
        ("tulip: recall>=0.9", 3, RequirementError, "not one of"),
        ("setosa: recall>=0.9", 2, DataError, "wrong number|2 columns but there are 3"),
    ],
)
def test_bad_multiclass(iris, requirement, columns, error, match) -> None:
    """Check that unnamed classes, unknown classes and missing columns get clear errors."""
    _, frame = iris
    scores = frame[["p_setosa", "p_versicolor", "p_virginica"]].to_numpy()[:, :columns]
    with pytest.raises(error, match=match):
        choose_threshold(frame["species"], scores, requirement, n_boot=0)


def test_cli_per_class_table(iris, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Check the multiclass CLI: per-class misses, a per-class requirement, one report each."""
    path, frame = iris
    out = tmp_path / "r"
    code = main(["diagnose", str(path), "--label", "species", "--score", "p_setosa",
                 "--score", "p_versicolor", "--score", "p_virginica", "--require",
                 "virginica: recall>=0.95", "--out", str(out), "--json", "--n-boot", "50"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["multiclass"] is True
    per = {row["class"]: row for row in doc["per_class"]}
    y = frame["species"].to_numpy()
    for cls in ("setosa", "versicolor", "virginica"):
        s = frame[f"p_{cls}"].to_numpy()
        assert per[cls]["misses"] == int(((y == cls) & (s < 0.5)).sum())
        assert per[cls]["roc_auc"] == pytest.approx(roc_auc_score(y == cls, s))
    virginica = next(c for c in doc["classes"] if c["class"] == "virginica")
    assert virginica["decisions"][0]["met"] is True
    for cls in ("setosa", "versicolor", "virginica"):
        assert (out / cls / "index.html").is_file()
    assert "virginica" in (out / "index.html").read_text(encoding="utf-8")
    # its own overview is replaced when run again into the same folder
    code = main(["diagnose", str(path), "--label", "species", "--score", "p_setosa",
                 "--score", "p_versicolor", "--out", str(out), "--n-boot", "20"])
    assert code == 0, capsys.readouterr().err


def test_cli_requirement_must_name_class(iris, tmp_path: Path,
                                         capsys: pytest.CaptureFixture) -> None:
    """Check that an unnamed requirement with several score columns exits 2."""
    path, _ = iris
    code = main(["diagnose", str(path), "--label", "species", "--score", "p_setosa",
                 "--score", "p_versicolor", "--require", "recall>=0.9", "--out",
                 str(tmp_path / "r"), "--n-boot", "20"])
    assert code == 2
    assert "must name its class" in capsys.readouterr().err


def test_numeric_classes_take_scikit_learns_column_order() -> None:
    """Check that without 'classes' the score columns are the classes in scikit-learn's
    classes_ order (2 before 10), so the requirement reads its own class's column (the order
    used to be textual: '10' before '2')."""
    from sklearn.linear_model import LogisticRegression

    from fnguard.decide import choose_threshold

    rng = np.random.default_rng(0)
    y = np.repeat([2, 10, 30], 300)
    X = rng.normal(size=(900, 2)) + np.c_[y == 10, y == 30] * 3.0
    model = LogisticRegression().fit(X, y)
    assert model.classes_.tolist() == [2, 10, 30]
    P = model.predict_proba(X)
    got = choose_threshold(y, P, "10: recall>=0.9", n_boot=0)
    want = choose_threshold(y == 10, P[:, 1], "recall>=0.9", positive=True, n_boot=0)
    assert got.threshold == want.threshold
    assert got.metrics["roc_auc"].value == pytest.approx(want.metrics["roc_auc"].value)
    assert got.metrics["roc_auc"].value > 0.95
