"""Tests for fnguard.data.scores: labels and a model's scores for diagnose."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fnguard.data import ScoredTable, load_scores
from fnguard.errors import DataError, FnguardWarning

CSV = "label,score,age\n0,0.1,30\n1,0.9,40\n0,0.3,50\n1,0.45,60\n"


@pytest.mark.parametrize(
    ("content", "kwargs", "match"),
    [
        (CSV, {"label": "lable", "score": "score"}, r"label column 'lable' .*Did you mean 'label'"),
        (CSV, {"label": "label", "score": "scores"}, r"score column 'scores' .*mean 'score'\?"),
        (CSV, {"label": "label", "score": "label"}, r"label and score columns are both 'label'"),
        (
            "label,score\n0,0.1\n1,high\n0,0.2\n1,low\n",
            {"label": "label", "score": "score"},
            r"score column 'score' .* holds 2 non-numeric values "
            r"\(data rows 2, 4; the first is 'high'\)",
        ),
        (
            "label,score\n0,0.1\n1,\n0,0.2\n1,NaN\n",
            {"label": "label", "score": "score"},
            r"2 missing values \(data rows 2, 4\): drop those rows or fill them",
        ),
        (
            "label,score\n0,0.1\n1,inf\n0,-inf\n",
            {"label": "label", "score": "score"},
            r"2 infinite values \(data rows 2, 3\): drop those rows or fill them",
        ),
        ("label,score\n0,0.1\n,0.9\n", {"label": "label", "score": "score"}, r"1 missing or empty"),
        ("label,score\n1,0.1\n1,0.9\n", {"label": "label", "score": "score"}, r"single value"),
        (CSV, {"label": "label", "score": "score", "positive": "2"}, r"positive label '2' is not"),
        ("label,score\n", {"label": "label", "score": "score"}, r"has no rows"),
    ],
)
def test_load_scores_rejects_bad_input(
    tmp_path: Path, content: str, kwargs: dict[str, Any], match: str
) -> None:
    """Check that each bad scores table raises a DataError that says what to fix."""
    path = tmp_path / "scores.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=match):
        load_scores(path, **kwargs)


def test_load_scores_reads_csv(tmp_path: Path) -> None:
    """Check that labels, float scores and the other columns are read from a CSV file."""
    path = tmp_path / "scores.csv"
    path.write_text(CSV)
    scored = load_scores(path, label="label", score="score", positive="1")
    assert isinstance(scored, ScoredTable)
    assert scored.y_true.tolist() == [False, True, False, True]
    assert scored.y_score.dtype == np.float64
    np.testing.assert_array_equal(scored.y_score, [0.1, 0.9, 0.3, 0.45])
    assert scored.features.columns.tolist() == ["age"]
    assert (scored.positive, scored.negative, scored.n_positive) == (1, 0, 2)
    assert scored.notes == []
    assert "score='score'" in repr(scored)


def test_load_scores_accepts_numeric_text_and_booleans() -> None:
    """Check that scores held as numeric strings or booleans are read as floats."""
    frame = pd.DataFrame({"y": ["a", "b"], "p": pd.Series(["0.3", " 0.7"], dtype=object)})
    scored = load_scores(frame, label="y", score="p", positive="b")
    np.testing.assert_array_equal(scored.y_score, [0.3, 0.7])
    frame = pd.DataFrame({"y": [0, 1], "p": [False, True]})
    np.testing.assert_array_equal(load_scores(frame, label="y", score="p", positive=1).y_score,
                                  [0.0, 1.0])



def test_load_scores_reads_decimal_commas(tmp_path: Path) -> None:
    """Check that a spreadsheet export (';' separators, decimal commas) gives the scores."""
    path = tmp_path / "scores.csv"
    path.write_text("label;score\n0;0,1\n1;0,95\n0;0,3\n1;1\n")
    np.testing.assert_array_equal(load_scores(path, label="label", score="score").y_score,
                                  [0.1, 0.95, 0.3, 1.0])


def test_load_scores_notes_scores_outside_unit_interval() -> None:
    """Check that margins outside [0, 1] are accepted with a note about calibration."""
    frame = pd.DataFrame({"y": [0, 1, 0], "margin": [-2.5, 3.0, 0.5]})
    scored = load_scores(frame, label="y", score="margin", positive=1)
    assert scored.notes == [
        "The scores range from -2.5 to 3, outside [0, 1]: ranking metrics hold, "
        "but calibration needs probabilities."
    ]


def test_load_scores_defaults_to_minority_with_warning() -> None:
    """Check that without a positive label the minority class is used and announced."""
    frame = pd.DataFrame({"y": ["ok", "ok", "fraud"], "p": [0.1, 0.2, 0.9]})
    with pytest.warns(FnguardWarning, match="minority class 'fraud'"):
        scored = load_scores(frame, label="y", score="p")
    assert scored.positive == "fraud"
    assert len(scored.notes) == 1


def test_load_scores_gives_no_warning_with_positive() -> None:
    """Check that an explicit positive label issues no warning."""
    frame = pd.DataFrame({"y": [0, 1], "p": [0.1, 0.9]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_scores(frame, label="y", score="p", positive="1")
