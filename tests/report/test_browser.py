"""Tests of the report in a real headless Chromium: offline, no XSS, a working slider."""

from __future__ import annotations

import math
import shutil

import pytest

from fnguard.metrics import threshold_metrics
from fnguard.report import write_report

pytestmark = pytest.mark.browser

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

SET_SLIDER = """(el, v) => {
  el.value = String(v);
  el.dispatchEvent(new Event("input", { bubbles: true }));
}"""


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("chromium is not installed: run `make browser` (Debian's chromium package)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def opened(browser, hostile, tmp_path_factory):
    """The hostile report opened in a page, with every network request, error and dialog."""
    index = write_report(hostile, tmp_path_factory.mktemp("browser") / "report")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen = {"requests": [], "errors": [], "dialogs": []}

    def route(r):
        url = r.request.url
        if url.startswith(("file:", "data:", "blob:")):
            r.continue_()
        else:
            seen["requests"].append(url)
            r.abort()

    page.route("**/*", route)
    page.on(
        "request",
        lambda req: (
            None
            if req.url.startswith(("file:", "data:", "blob:"))
            else seen["requests"].append(req.url)
        ),
    )
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))

    def on_dialog(d):
        seen["dialogs"].append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    page.goto(index.as_uri(), wait_until="load")
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 5")
    yield page, seen, index
    page.close()


def _shown_threshold(page) -> float:
    raw = page.get_attribute("#threshold-value", "data-value")
    return math.inf if raw == "inf" else float(raw)


def _counts(page) -> tuple[int, ...]:
    return tuple(
        int(page.get_attribute(f"#cm-{k}", "data-value")) for k in ("tp", "fp", "tn", "fn")
    )


def test_page_is_offline_and_quiet(opened):
    """Check that the page makes no network request, logs no error and opens no dialog."""
    page, seen, _ = opened
    assert page.locator(".js-plotly-plot").count() >= 5
    assert seen["requests"] == []
    assert seen["errors"] == []
    assert seen["dialogs"] == []
    assert page.evaluate("document.querySelectorAll('img').length") == 0


def test_slider_starts_at_operating_threshold(opened, hostile):
    """Check that the slider opens on the operating threshold's counts."""
    page, _, _ = opened
    assert _counts(page) == hostile.curve.counts_at(hostile.threshold)
    assert "operating threshold" in page.text_content("#threshold-value")


def test_slider_recomputes_counts_and_metrics(opened, hostile, tmp_path):
    """Check that moving the slider gives Python's counts and metrics at the shown threshold."""
    page, seen, _ = opened
    n = int(page.get_attribute("#threshold-slider", "max")) + 1
    for i in sorted({0, 1, n // 4, n // 2, (3 * n) // 4, n - 1}):
        page.eval_on_selector("#threshold-slider", SET_SLIDER, i)
        t = _shown_threshold(page)
        counts = hostile.curve.counts_at(t)
        assert _counts(page) == counts, i
        expected = {k: float(v) for k, v in threshold_metrics(*counts).items()}
        for name in ("recall", "precision", "fnr", "fpr", "f1", "mcc"):
            shown = float(page.get_attribute(f"#m-{name}", "data-value"))
            assert shown == pytest.approx(expected[name], abs=1e-9), (i, name)
            assert page.text_content(f"#m-{name}") == f"{expected[name]:.4f}"
        if i == 0:
            assert page.text_content("#threshold-value") == "above every score"
        # The PR and ROC markers follow (charts update on the next animation frame).
        page.wait_for_function(
            "([x]) => Math.abs(document.getElementById('chart-roc').data[3].x[0] - x) < 1e-12",
            arg=[expected["fpr"]],
        )
        if i > 0:
            pr_x = page.evaluate("document.getElementById('chart-pr').data[2].x[0]")
            assert pr_x == pytest.approx(expected["recall"], abs=1e-12)
            line_x = page.evaluate("document.getElementById('chart-metrics').layout.shapes[1].x0")
            assert line_x == pytest.approx(t)
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert seen["errors"] == [] and seen["dialogs"] == []


def test_reset_button_returns_to_operating_threshold(opened, hostile):
    """Check that the reset button puts the slider back on the operating threshold."""
    page, _, _ = opened
    page.eval_on_selector("#threshold-slider", SET_SLIDER, 0)
    page.click("#threshold-reset")
    assert _counts(page) == hostile.curve.counts_at(hostile.threshold)
