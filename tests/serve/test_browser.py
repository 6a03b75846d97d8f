"""End-to-end test of the review app in a real headless Chromium: sign in, label three cases
with the keyboard, see the dashboard change; hostile values run nothing."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from fnguard.serve.app import create_app
from fnguard.serve.auth import add_user
from fnguard.serve.queue import enqueue
from fnguard.serve.store import open_store, read, verdicts

from .conftest import SCRIPT, hostile_frame

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings(
    "ignore::fnguard.errors.FnguardWarning")]

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


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


def _artifacts() -> Path:
    folder = os.environ.get("FNGUARD_ARTIFACTS")
    path = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="fnguard-review-"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _number(page, selector: str) -> int:
    return int(page.text_content(selector).strip())


def test_label_three_cases_with_the_keyboard(browser, guard, batch, tmp_path, serve_in_thread):
    """Check that a reviewer labels three cases with 1/2/3 and n, and the dashboard shows them."""
    frame, _ = batch
    bad = hostile_frame(frame)
    db = tmp_path / "review.sqlite"
    enqueue(db, guard, bad, guard.predict(bad), capacity=8, audit=2)
    engine = open_store(db)
    add_user(engine, "ann", "password-ann")
    url = serve_in_thread(create_app(engine, guard))

    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    seen = {"dialogs": [], "errors": [], "requests": []}
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: None if r.url.startswith(url) else seen["requests"].append(r.url))

    page.goto(f"{url}/queue")
    assert page.url.endswith("/login")
    page.fill("#username", "ann")
    page.fill("#password", "password-ann")
    page.click("#sign-in")
    page.wait_for_url(re.compile(r".*/queue$"))
    page.goto(f"{url}/dashboard")
    assert _number(page, "#d-reviewed") == 0
    page.goto(f"{url}/queue")

    shown = []
    for key in ("1", "2", "3"):
        page.keyboard.press("n")
        page.wait_for_url(re.compile(r".*/case/\d+$"))
        case = int(page.url.rsplit("/", 1)[1])
        assert case not in shown
        shown.append(case)
        page.keyboard.press(key)
        # wait for the load event too: the keys are bound by a deferred script, and a key
        # pressed once #saved is parsed but before that script ran would be lost
        page.wait_for_url(re.compile(rf".*/case/{case}\?saved=1$"))
        assert page.is_visible("#saved")
    # The hostile values are on the page as text, and ran nothing.
    assert SCRIPT in page.text_content("main")
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 1

    page.goto(f"{url}/dashboard")
    assert _number(page, "#d-reviewed") == 3
    assert _number(page, "#d-verdicts") == 3
    shot = _artifacts() / "review-dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    page.goto(f"{url}/case/{shown[0]}")
    case_shot = shot.with_name("review-case.png")
    page.screenshot(path=str(case_shot), full_page=True)
    print(f"\nscreenshots: {shot} {case_shot}")
    page.close()

    assert seen == {"dialogs": [], "errors": [], "requests": []}
    with read(engine) as conn:
        stored = dict(conn.execute(sa.select(verdicts.c.case_id, verdicts.c.verdict)).all())
    assert stored == dict(zip(shown, ["positive", "negative", "unsure"], strict=True))
    assert shot.stat().st_size > 10_000
