"""Tests of the Guard report: right numbers, escaped values, offline, and quiet in a browser."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from html import unescape
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape
from sklearn.metrics import confusion_matrix, precision_score, recall_score
from sklearn.model_selection import cross_val_predict, train_test_split

from fnguard.data import datasets
from fnguard.errors import OutputError
from fnguard.guard import Guard
from fnguard.levers import build
from fnguard.metrics import summary
from fnguard.report import render_guard_report, write_guard_report
from fnguard.report.guard_context import EVIDENCE

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
REQUIREMENT = "recall>=0.8"


def _counts(y: np.ndarray, predicted: np.ndarray) -> dict[str, int]:
    tn, fp, fn, tp = confusion_matrix(y, predicted, labels=[False, True]).ravel()
    return {"tp": int(tp), "fp": int(fp), "tn": int(tn), "fn": int(fn)}


def _record(trial, levers, state, y=None, s=None, t=None, **extra):
    """A leaderboard record in the search's format; metrics from scores when given."""
    rec = {
        "trial": trial, "levers": levers, "params": extra.pop("params", {}), "state": state,
        "objective": None, "met": False, "threshold": None,
        "recall": {"value": None, "low": None, "high": None},
        "precision": {"value": None, "low": None, "high": None},
        "fpr": {"value": None, "low": None, "high": None},
        "ece": None, "misses": 0, "false_alarms": 0, "seconds": 0.5, "baseline": False,
        "error": None,
    }
    if y is not None:
        m = summary(y, s, t, positive=True, n_boot=50)
        rec.update(
            objective=m["precision"].value, met=m["recall"].value >= 0.8, threshold=float(t),
            recall=m["recall"].to_dict(), precision=m["precision"].to_dict(),
            fpr=m["fpr"].to_dict(), ece=m["ece"].value, misses=int(m["fn"].value),
            false_alarms=int(m["fp"].value),
        )
    rec.update(extra)
    return rec


def _tuned(y: np.ndarray, s: np.ndarray, recall: float = 0.8) -> float:
    """The highest threshold whose recall on (y, s) reaches ``recall``."""
    pos = np.sort(s[y])[::-1]
    return float(pos[int(np.ceil(recall * pos.size)) - 1])


def make_guard() -> Guard:
    """A real Guard: a pipeline from the levers fitted on Lending Club, scored on a holdout."""
    data = datasets.load("lending_club")
    X_train, X_test, y_train, y_test = train_test_split(
        data.X, data.y, test_size=0.3, stratify=data.y, random_state=0
    )
    levers = ["random-under", "logistic"]
    pipe = build(levers, data.schema, random_state=0)
    oof = cross_val_predict(pipe, X_train, y_train, cv=3, method="predict_proba")[:, 1]
    threshold = _tuned(y_train, oof)
    pipe.fit(X_train, y_train)
    score = pipe.predict_proba(X_test)[:, 1]

    metrics = {k: v.to_dict() for k, v in summary(y_test, score, threshold, n_boot=200).items()}
    counts = _counts(y_test, score >= threshold)
    metrics.update(n=int(y_test.size), n_positive=int(y_test.sum()), **counts)

    plain = build(["logistic"], data.schema, random_state=0)
    plain_oof = cross_val_predict(plain, X_train, y_train, cv=3, method="predict_proba")[:, 1]
    plain_t = _tuned(y_train, plain_oof)
    plain_score = plain.fit(X_train, y_train).predict_proba(X_test)[:, 1]
    reference = {}
    for name, t in (("threshold_0.5", 0.5), ("tuned", plain_t)):
        p = plain_score >= t
        reference[name] = {
            "threshold": t, **_counts(y_test, p),
            "recall": recall_score(y_test, p), "precision": precision_score(y_test, p),
        }

    board = [
        _record(0, ["logistic"], "complete", y_test, plain_score, plain_t, baseline=True),
        _record(1, levers, "complete", y_test, score, threshold,
                params={"logistic": {"C": 1.0, "note": SCRIPT}}),
        _record(2, ["smote", "lightgbm"], "pruned", seconds=0.2),
        _record(3, ["adasyn", "knn"], "failed", error=f"neighbours {IMG}", seconds=0.1),
    ]
    info = {
        "budget": 120.0, "elapsed": 83.4, "cv": 3, "test_size": 0.3,
        "split": {"train": int(y_train.size), "test": int(y_test.size)}, "seed": 0,
        "notes": [f"note {SCRIPT}", IMG],
        "reference": reference,
        "contributions": [
            {"lever": "random-under", "trials": 1, "best_trial": 1, "against": ["logistic"],
             "misses_removed": reference["tuned"]["fn"] - counts["fn"],
             "false_alarms_removed": reference["tuned"]["fp"] - counts["fp"],
             "delta_ece": 0.0312, "delta_objective": -0.01},
            {"lever": SCRIPT, "trials": 0, "best_trial": None, "misses_removed": 0,
             "false_alarms_removed": 0, "delta_ece": None, "delta_objective": None},
        ],
        "versions": {"fnguard": "0.1.0", "scikit-learn": "x", "comment": IMG},
        "created": "2026-11-23T00:00:00+00:00",
        "comment": SCRIPT,
    }
    return Guard(
        pipeline=pipe, schema=data.schema, target=data.target, positive=data.positive,
        negative=data.negative, requirement=REQUIREMENT, threshold=threshold,
        review_band=(threshold, float(np.quantile(score, 0.9))), levers=levers,
        params={"logistic": {"C": 1.0, "note": SCRIPT}}, metrics=metrics,
        met=bool(metrics["recall"]["value"] >= 0.8), leaderboard=board, info=info,
        holdout=pd.DataFrame({"y": y_test.astype(bool), "score": score}),
    )


@pytest.fixture(scope="module")
def guard() -> Guard:
    return make_guard()


@pytest.fixture(scope="module")
def written(guard, tmp_path_factory):
    return write_guard_report(guard, tmp_path_factory.mktemp("guard") / "report", n_boot=100)


@pytest.fixture(scope="module")
def html(written) -> str:
    return written.read_text("utf-8")


class _Refs(HTMLParser):
    """Every tag, and every attribute that loads or links a resource."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[tuple[str, str, str]] = []
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "script":
            self.scripts.append(dict(attrs))
        for name, value in attrs:
            if name in ("src", "href", "srcset", "poster", "data", "action", "formaction"):
                self.refs.append((tag, name, value or ""))


def _text(html: str, element_id: str) -> str:
    """The text of the element with this id, tags stripped and whitespace collapsed."""
    m = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert m, element_id
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", m.group(2))).split())


def test_page_is_self_contained(html, written):
    """Check that the page loads nothing: no external URL, scripts inline, only local links."""
    parser = _Refs()
    parser.feed(html)
    assert "link" not in parser.tags and "iframe" not in parser.tags
    assert all("src" not in s for s in parser.scripts)
    for tag, name, value in parser.refs:
        assert value.startswith("#") or value == "holdout/index.html", (tag, name, value)
    assert "default-src 'none'" in html
    body = html.split("<script", 1)[0]  # Plotly's bundle names URLs in comments and code
    assert not re.search(r"https?://", body)
    assert (written.parent / "holdout" / "index.html").is_file()
    assert (written.parent / "holdout" / "misses.csv").is_file()


def test_holdout_page_says_how_to_slice_the_misses(written):
    """Check that the test-set page, which has scores and labels only, points to diagnose
    with the Guard to slice the misses (it told the user to pass feature columns, which
    nothing there takes)."""
    page = (written.parent / "holdout" / "index.html").read_text()
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", page.split("<script", 1)[0])).split())
    assert "The Guard keeps its test rows as labels and scores only" in text
    assert "--model GUARD_FOLDER" in text and "Pass the feature columns" not in text


def test_verdict_shows_requirement_threshold_and_recall(guard, html):
    """Check that the verdict states the requirement, whether it is met, and sklearn's recall."""
    y, s = guard.holdout["y"].to_numpy(), guard.holdout["score"].to_numpy()
    recall = recall_score(y, s >= guard.threshold)
    status = _text(html, "verdict-status")
    assert status == ("Requirement met on the test set" if recall >= 0.8
                      else "Requirement NOT met on the test set")
    assert "recall>=0.8" in _text(html, "requirement-text")
    assert f"recall = {recall:.4f}" in _text(html, "verdict-metric")
    assert _text(html, "operating-threshold") == f"{guard.threshold:.6g}"


def test_not_met_is_said(guard):
    """Check that a Guard that misses its requirement says so in the verdict."""
    page = render_guard_report(dataclasses.replace(guard, met=False), n_boot=50)
    assert _text(page, "verdict-status") == "Requirement NOT met on the test set"
    assert "verdict-not-met" in page


def test_counts_and_metrics_match_sklearn(guard, html):
    """Check that the cards and metrics table hold scikit-learn's counts and metrics."""
    y, s = guard.holdout["y"].to_numpy(), guard.holdout["score"].to_numpy()
    c = _counts(y, s >= guard.threshold)
    for k in ("tp", "fp", "tn", "fn"):
        assert _text(html, f"count-{k}") == f"{c[k]:,}"
    row = _text(html, "metric-precision")
    assert f"{precision_score(y, s >= guard.threshold):.4f}" in row
    m = guard.metrics["precision"]
    assert f"[{m['low']:.4f}, {m['high']:.4f}]" in row
    assert "counts-mismatch" not in html


def test_review_band_counts(guard, html):
    """Check that the review band's row count is recounted from the holdout scores."""
    s, y = guard.holdout["score"].to_numpy(), guard.holdout["y"].to_numpy()
    lower, upper = guard.review_band
    inside = (s >= lower) & (s < upper)
    text = _text(html, "review-rows")
    assert f"holds {int(inside.sum()):,} rows" in text
    assert f"{int((inside & y).sum()):,} of them positive" in text


def test_before_after_against_reference(guard, html):
    """Check that misses removed and false alarms added are the Guard's against the plain 0.5."""
    y, s = guard.holdout["y"].to_numpy(), guard.holdout["score"].to_numpy()
    mine = _counts(y, s >= guard.threshold)
    ref = guard.info["reference"]["threshold_0.5"]
    removed, added = ref["fn"] - mine["fn"], mine["fp"] - ref["fp"]
    head = _text(html, "headline")
    assert f"misses {ref['fn']:,} → {mine['fn']:,} ( {removed:,} removed)" in head
    assert f"false alarms {ref['fp']:,} → {mine['fp']:,} ( {added:,} added)" in head
    assert removed > 0  # the plain model at 0.5 misses most bad loans
    table = _text(html, "reference-table")
    assert "threshold 0.5" in table and "tuned" in table


def test_leaderboard_has_every_trial_with_its_state(guard, html):
    """Check that every trial is a row, pruned and failed marked, the winner and baseline too."""
    body = html[html.index('id="leaderboard-table"'):]
    body = body[: body.index("</table>")]
    rows = re.findall(r'<tr class="([^"]*)">', body)
    assert len(rows) == len(guard.leaderboard)
    assert rows[0] == "state-complete is-baseline"
    assert rows[1] == "state-complete is-winner"
    assert rows[2] == "state-pruned" and rows[3] == "state-failed"
    assert str(escape(f"neighbours {IMG}")) in body


def test_contributions_and_evidence(guard, html):
    """Check the contributions table, the cited evidence and what this search found."""
    assert str(escape(EVIDENCE)) in html
    assert "Elor &amp; Averbuch-Elor 2022" in html and "CLIMB 2025" in html
    table = _text(html, "contributions-table")
    c = guard.info["contributions"][0]
    assert f"{c['misses_removed']:+,}" in table and "+0.0312" in table
    assert "random-under resampling logistic 1 1" in table
    said = _text(html, "data-said")
    assert "random-under" in said
    assert "The chosen pipeline resamples with random-under." in said
    assert "worsened calibration" in said


def test_contributions_name_the_levers_a_trial_shared(guard):
    """Check that a lever measured only together with another says so, in its row and in
    the sentence naming the lever that removed the most misses."""
    shared = {"lever": "smote", "trials": 2, "best_trial": 3, "against": ["logistic"],
              "shared_with": ["scale:quantile"], "misses_removed": 40,
              "false_alarms_removed": 5, "delta_ece": 0.01, "delta_objective": 0.02}
    info = {**guard.info, "contributions": [*guard.info["contributions"], shared]}
    page = render_guard_report(dataclasses.replace(guard, info=info), n_boot=50)
    assert "smote resampling scale:quantile logistic 2 3 +40" in _text(page, "contributions-table")
    assert ("The lever that removed the most misses was smote (+40), in a trial together with "
            "scale:quantile.") in _text(page, "data-said")


def test_search_facts(guard, html):
    """Check that budget, folds, split sizes, seed and notes are listed."""
    facts = _text(html, "search-facts")
    split = guard.info["split"]
    assert "2 min 00 s" in facts and "Cross-validation folds 3" in facts
    assert f"train: {split['train']:,}, test: {split['test']:,}" in facts
    assert "Trials 4 (2 complete, 1 pruned, 1 failed)" in facts
    assert "Test size 30% of the rows" in facts and "Test table" not in facts


def test_search_facts_name_a_test_table(guard):
    """Check that a Guard tested on a table of its own names it, and shows no test size."""
    info = {**guard.info, "test_size": None, "test_table": "march.parquet"}
    page = render_guard_report(dataclasses.replace(guard, info=info), n_boot=50)
    facts = _text(page, "search-facts")
    assert "Test table march.parquet" in facts and "Test size" not in facts


def test_hostile_strings_appear_only_escaped(html):
    """Check that every hostile string from params, notes, errors and info is escaped."""
    assert SCRIPT not in html and IMG not in html
    assert str(escape(f"note {SCRIPT}")) in html
    assert str(escape(f"neighbours {IMG}")) in html
    assert SCRIPT in _text(html, "chosen-params")  # shown, as text
    assert IMG in _text(html, "search-facts")
    assert html.count("<script") == 4  # the JSON data, Plotly, the explorer, the sorter


def test_embedded_data_matches_holdout(guard, html):
    """Check that the explorer's data starts at the operating threshold's exact counts."""
    raw = re.search(
        r'<script type="application/json" id="fnguard-data">(.*?)</script>', html, re.S
    ).group(1)
    data = json.loads(raw)
    y, s = guard.holdout["y"].to_numpy(), guard.holdout["score"].to_numpy()
    c = _counts(y, s >= guard.threshold)
    i = data["start"]
    assert (data["curve"]["tp"][i], data["curve"]["fp"][i]) == (c["tp"], c["fp"])
    assert data["positive"] == guard.positive and data["negative"] == guard.negative


def test_tampered_counts_are_flagged(guard):
    """Check that recorded counts that disagree with the holdout scores raise a warning."""
    metrics = {**guard.metrics, "fn": guard.metrics["fn"] + 5}
    page = render_guard_report(dataclasses.replace(guard, metrics=metrics), n_boot=50)
    assert "recorded, " in _text(page, "counts-mismatch")


def test_minimal_guard_renders_what_is_there(guard):
    """Check that a Guard without holdout, leaderboard or info still renders, without charts."""
    bare = dataclasses.replace(
        guard, holdout=None, leaderboard=[], info={}, metrics={}, review_band=None,
        requirement="cost:fn=50,fp=1",
    )
    page = render_guard_report(bare)
    assert "This Guard holds no leaderboard." in page
    assert "does not hold its test-set scores" in page
    assert 'id="fnguard-data"' not in page and "Plotly" not in page
    assert "cost:fn=50,fp=1" in page


def test_write_to_file_raises(guard, tmp_path):
    """Check that writing into a path that is a file raises OutputError and leaves it."""
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(OutputError, match="existing file"):
        write_guard_report(guard, target, n_boot=50)
    assert target.read_text() == "x"


def test_failed_write_leaves_nothing(guard, tmp_path, monkeypatch):
    """Check that a failed write removes the folder this call created."""
    import fnguard.report.guard as mod

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(mod, "write_text_atomic", boom)
    with pytest.raises(OSError):
        write_guard_report(guard, tmp_path / "new", n_boot=50)
    assert not (tmp_path / "new").exists()


@pytest.mark.browser
def test_page_in_headless_chromium(written, guard):
    """Check that the page runs offline in Chromium: no request, error or dialog; sorting works."""
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("chromium is not installed: run `make browser` (Debian's chromium package)")
    seen = {"requests": [], "errors": [], "dialogs": []}
    local = ("file:", "data:", "blob:")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                                              "--disable-background-networking"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        def route(r):
            if r.request.url.startswith(local):
                r.continue_()
            else:
                seen["requests"].append(r.request.url)
                r.abort()

        def on_dialog(d):
            seen["dialogs"].append(d.message)
            d.dismiss()

        page.route("**/*", route)
        page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: seen["errors"].append(str(e)))
        page.on("dialog", on_dialog)
        page.goto(written.as_uri(), wait_until="load")
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 5")
        y, s = guard.holdout["y"].to_numpy(), guard.holdout["score"].to_numpy()
        c = _counts(y, s >= guard.threshold)
        shown = {k: int(page.get_attribute(f"#cm-{k}", "data-value")) for k in c}
        assert shown == c
        # Sort the leaderboard by misses, descending on the second click.
        page.click("#leaderboard-table th:nth-child(11)")
        page.click("#leaderboard-table th:nth-child(11)")
        first = page.text_content("#leaderboard-table tbody tr:first-child td:first-child")
        worst = max(guard.leaderboard, key=lambda r: r["misses"])
        assert first.strip() == str(worst["trial"])
        assert page.evaluate("document.querySelectorAll('img').length") == 0
        browser.close()
    assert seen == {"requests": [], "errors": [], "dialogs": []}


def test_a_page_fnguard_did_not_write_is_not_replaced(guard, tmp_path):
    """Check that the Guard report refuses a folder whose index.html is the user's own page
    (it was replaced silently) and replaces its own report there."""
    (tmp_path / "index.html").write_text("<h1>my own page</h1>")
    with pytest.raises(OutputError, match=r"holds an index\.html that fnguard did not write"):
        write_guard_report(guard, tmp_path)
    assert (tmp_path / "index.html").read_text() == "<h1>my own page</h1>"
    ours = tmp_path / "ours"
    write_guard_report(guard, ours)
    write_guard_report(guard, ours)
    # a misses.csv of the user's, where no report of fnguard's is, is not replaced either
    mine = tmp_path / "mine" / "holdout"
    mine.mkdir(parents=True)
    (mine / "misses.csv").write_text("mine\n")
    with pytest.raises(OutputError, match=r"holds 'misses\.csv' but no report of fnguard's"):
        write_guard_report(guard, mine.parent)
    assert (mine / "misses.csv").read_text() == "mine\n"
    assert sorted(p.name for p in mine.parent.rglob("*")) == ["holdout", "misses.csv"]
