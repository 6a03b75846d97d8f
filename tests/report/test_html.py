"""Tests of the HTML report: self-contained, correct values, escaped data, atomic writes."""

from __future__ import annotations

import errno
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from fnguard.errors import OutputError
from fnguard.metrics import diagnose
from fnguard.report import render_report, write_report
from fnguard.report.html import script_json

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


class _Refs(HTMLParser):
    """Collect every tag and every attribute that loads or links a resource."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[tuple[str, str, str]] = []
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "script":
            self.scripts.append(dict(attrs))
        for name, value in attrs:
            if name in ("src", "href", "srcset", "poster", "data", "action", "formaction"):
                self.refs.append((tag, name, value or ""))


@pytest.fixture(scope="module")
def html(hostile) -> str:
    return render_report(hostile, title=f"Report {SCRIPT}")


def _data(html: str) -> tuple[str, dict]:
    raw = re.search(
        r'<script type="application/json" id="fnguard-data">(.*?)</script>', html, re.S
    ).group(1)
    return raw, json.loads(raw)


def test_report_is_self_contained(html):
    """Check that the page loads nothing from outside: no src/href but data: or local links."""
    parser = _Refs()
    parser.feed(html)
    assert "link" not in parser.tags and "iframe" not in parser.tags
    assert all("src" not in s for s in parser.scripts)
    for tag, name, value in parser.refs:
        assert not re.match(r"^\s*(https?:)?//", value, re.I), (tag, name, value)
        assert value.startswith(("data:", "#")) or value == "misses.csv", (tag, name, value)
    assert "default-src 'none'" in html  # the CSP forbids network loads too
    assert html.startswith("<!DOCTYPE html>")


def test_report_links_misses_csv(html):
    """Check that the page links to misses.csv beside it."""
    assert 'href="misses.csv"' in html


def test_report_shows_summary_values(hostile, html):
    """Check that the cards hold every summary value and its interval, 4 decimals."""
    m = hostile.metrics
    assert f"{int(m['fn'].value):,}" in html
    for name in "fnr recall precision specificity fpr f1 f2 mcc roc_auc pr_auc brier ece".split():
        e = m[name]
        assert f"{e.value:.4f}" in html, name
        assert f"[{e.low:.4f}, {e.high:.4f}]" in html, name
    assert f"{hostile.curve.n:,}" in html
    for finding in hostile.findings:
        assert finding.code in html


def test_hostile_strings_appear_only_escaped(html):
    """Check that script and tag payloads in names, labels and levels never appear raw."""
    assert SCRIPT not in html
    assert IMG not in html
    assert str(escape(SCRIPT)) in html  # in the header, slices and misses tables
    assert str(escape(IMG)) in html
    # Only our three script elements close: the data cannot end one early.
    assert html.count("</script>") == 3
    assert html.lower().count("<script") == 3


def test_embedded_json_is_escaped_and_round_trips(hostile, html):
    """Check that the data JSON has no raw < > & or U+2028 and parses back to the curve."""
    raw, data = _data(html)
    assert not set("<>&\u2028\u2029") & set(raw)
    assert data["curve"] == hostile.curve_points()
    assert data["score_name"] == IMG
    assert data["positive"] == IMG
    thresholds = [np.inf if t is None else t for t in data["curve"]["thresholds"]]
    start = data["start"]
    assert hostile.curve.counts_at(thresholds[start]) == hostile.curve.counts_at(hostile.threshold)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("</script>", '"\\u003c/script\\u003e"'),
        ("a&b", '"a\\u0026b"'),
        ("\u2028\u2029", '"\\u2028\\u2029"'),
        (float("nan"), "null"),
        ([1.5, float("inf")], "[1.5, null]"),
    ],
)
def test_script_json_escapes(value, expected):
    """Check that script_json escapes what could end a script element and drops NaN."""
    assert script_json(value) == expected
    assert json.loads(script_json(value)) == json.loads(expected)


def test_write_report_writes_index_and_all_misses(hostile, tmp_path):
    """Check that write_report writes index.html and a misses.csv with every miss."""
    out = write_report(hostile, tmp_path / "new" / "report")
    assert out == tmp_path / "new" / "report" / "index.html"
    assert sorted(p.name for p in out.parent.iterdir()) == ["index.html", "misses.csv"]
    misses = pd.read_csv(out.parent / "misses.csv")
    assert len(hostile.misses) > 100  # more than the page lists
    assert len(misses) == len(hostile.misses)
    assert list(misses.columns) == [str(c) for c in hostile.misses.columns]
    assert misses["row"].tolist() == hostile.misses["row"].tolist()
    np.testing.assert_allclose(misses["score"], hostile.misses["score"])
    assert out.read_text("utf-8") == render_report(hostile)


def test_write_report_into_existing_folder(hostile, tmp_path):
    """Check that an existing folder is reused and its other files are kept."""
    (tmp_path / "keep.txt").write_text("x")
    write_report(hostile, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html", "keep.txt", "misses.csv"]


def test_write_report_to_existing_file_raises(hostile, tmp_path):
    """Check that a path that is a file raises OutputError and leaves the file alone."""
    target = tmp_path / "report.html"
    target.write_text("mine")
    with pytest.raises(OutputError, match="existing file"):
        write_report(hostile, target)
    assert target.read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_write_report_to_unwritable_path_raises(hostile, tmp_path):
    """Check that a folder that cannot be created raises OutputError, leaving nothing."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError, match="cannot be created"):
        write_report(hostile, blocker / "sub" / "report")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_write_report_to_read_only_folder_raises(hostile, tmp_path):
    """Check that a read-only parent folder raises OutputError and nothing is left in it."""
    import os

    if os.geteuid() == 0:
        pytest.skip("root can write into read-only folders")
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        with pytest.raises(OutputError):
            write_report(hostile, parent / "report")
        assert list(parent.iterdir()) == []
    finally:
        parent.chmod(0o700)


@pytest.mark.parametrize("created", [True, False])
def test_failed_write_leaves_nothing_behind(hostile, tmp_path, monkeypatch, created):
    """Check that a write failing mid-way removes a folder we created and every temp file."""
    folder = tmp_path / "report"
    if not created:
        folder.mkdir()
    real = Path.write_text

    def fail_on_index(self, text, *args, **kwargs):
        if ".index.html." in self.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", fail_on_index)
    with pytest.raises(OutputError, match="cannot be written"):
        write_report(hostile, folder)
    if created:
        assert not folder.exists()
    else:
        assert not any(p.name.startswith(".") for p in folder.iterdir())
        assert not (folder / "index.html").exists()


def test_report_without_features_or_probabilities():
    """Check that margins get a note instead of a reliability chart, and no slices table."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    score = rng.normal(2.0 * y - 1.0, 1.5)
    d = diagnose(y, score, threshold=0.0, n_boot=50)
    html = render_report(d)
    assert 'id="chart-reliability"' not in html
    assert "The scores are not probabilities" in html
    assert 'id="slices-table"' not in html
    assert "No features were given" in html
    assert "FNG003" in html


def test_report_when_nothing_is_missed():
    """Check that a report with no misses renders without a misses table."""
    d = diagnose([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], n_boot=20)
    html = render_report(d, title="All caught")
    assert "<title>All caught</title>" in html
    assert 'id="misses-table"' not in html
    assert "0 positive rows scored below the threshold" in html


def test_import_is_light():
    """Check that importing fnguard.report loads neither plotly nor jinja2."""
    code = (
        "import sys, fnguard.report; "
        "print(any(m.split('.')[0] in ('plotly', 'jinja2') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
