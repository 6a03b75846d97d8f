"""Tests of fnguard.explain.report: the report's "Why are positives missed?" section."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fnguard.data import load_table
from fnguard.explain import explain
from fnguard.explain.report import render_explained_report, write_explained_report
from fnguard.report.html import render_report

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def hostile():
    """An explanation whose feature names, levels and labels are XSS payloads."""
    rng = np.random.default_rng(0)
    n = 1200
    level = rng.choice([SCRIPT, "b", "c"], n)
    y = rng.random(n) < 0.25
    x = np.where(y & (level != SCRIPT), rng.normal(2, 1, n), rng.normal(0, 1, n))
    frame = pd.DataFrame({IMG: level, SCRIPT: x, "y": np.where(y, IMG, "neg</script>")})
    frame.loc[1, [IMG, SCRIPT]] = frame.loc[0, [IMG, SCRIPT]].to_numpy()
    frame.loc[0, "y"], frame.loc[1, "y"] = IMG, "neg</script>"
    data = load_table(frame, "y", positive=IMG)
    return explain(data, cv=3, quick_check=False, n_boot=0)


def test_every_value_is_escaped(hostile) -> None:
    """Check that no payload reaches the page raw, and that the section shows them escaped."""
    page = render_explained_report(hostile.diagnosis, hostile)
    start = page.index('<section id="explain"')
    section = page[start: page.index("</section>", start)]
    for payload in (SCRIPT, IMG):
        assert payload not in section
    assert html.escape(SCRIPT, quote=True) in section or "&lt;script&gt;" in section
    assert page.count("<script>alert(1)") == 0
    for f in hostile.findings:
        assert f'data-code="{f.code}"' in section
    assert "Why are positives missed?" in section


def test_plain_report_is_unchanged(hostile) -> None:
    """Check that render_report without an explanation has no explanation section."""
    page = render_report(hostile.diagnosis)
    assert 'id="explain"' not in page


def test_files_written(hostile, tmp_path: Path) -> None:
    """Check the folder: index.html, misses.csv and label_issues.csv of every suspect."""
    index = write_explained_report(hostile.diagnosis, hostile, tmp_path / "r")
    names = sorted(p.name for p in index.parent.iterdir())
    assert names == ["index.html", "label_issues.csv", "misses.csv"]
    issues = pd.read_csv(tmp_path / "r" / "label_issues.csv")
    assert issues["row"].tolist() == hostile.label_issues.rows.tolist()
