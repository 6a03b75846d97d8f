"""Tests of the review web app in-process: sessions, roles, CSRF, escaping, bad posts."""

from __future__ import annotations

import json
import re

import pytest

from fnguard.serve.app import create_app
from fnguard.serve.auth import MAX_FAILURES, add_user
from fnguard.serve.queue import enqueue
from fnguard.serve.store import ReviewError, open_store

from .conftest import IMG, SCRIPT, hostile_frame, make_guard, sign_in

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")
TestClient = pytest.importorskip("fastapi.testclient").TestClient

PAGES = ["/", "/queue", "/dashboard", "/adjudicate", "/case/1"]
APIS = ["/api/status", "/api/cases/1"]
POSTS = ["/next", "/logout", "/case/1/verdict", "/case/1/adjudicate", "/api/next",
         "/api/cases/1/verdict"]


@pytest.fixture
def app(queued, guard):
    add_user(queued, "ann", "password-ann")
    add_user(queued, "bob", "password-bob")
    add_user(queued, "root", "password-root", role="admin")
    return create_app(queued, guard)


def client(app, name=None):
    c = TestClient(app)
    token = None
    if name:
        _, token = sign_in(c, name, f"password-{name}")
    return c, token


def take(c, token):
    r = c.post("/next", data={"csrf": token}, follow_redirects=False)
    return int(r.headers["location"].rsplit("/", 1)[1])


@pytest.mark.parametrize("path", PAGES + APIS)
def test_every_page_needs_a_session(app, path):
    """Check that every page sends to the login page and every API answers 401 unsigned."""
    c, _ = client(app)
    r = c.get(path, follow_redirects=False)
    if path.startswith("/api/"):
        assert r.status_code == 401
    else:
        assert r.status_code == 303 and r.headers["location"] == "/login"


@pytest.mark.parametrize("path", POSTS)
def test_every_post_needs_a_session(app, path):
    """Check that no write is accepted without a session."""
    c, _ = client(app)
    r = c.post(path, data={"csrf": "x", "verdict": "positive"}, follow_redirects=False)
    assert r.status_code in (303, 401)
    assert r.status_code == 401 or r.headers["location"] == "/login"


def test_session_cookie_flags_and_headers(app):
    """Check that the session cookie is HttpOnly and SameSite, and pages carry a strict CSP."""
    c = TestClient(app)
    response, _ = sign_in(c, "ann", "password-ann")
    cookie = next(h for h in response.headers.get_list("set-cookie") if "fnguard_session=" in h)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    page = c.get("/queue")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY"


def test_wrong_password_and_rate_limit(app):
    """Check that a wrong password is refused and repeated failures get 429 with Retry-After."""
    c = TestClient(app)
    for _ in range(MAX_FAILURES):
        r, token = sign_in(c, "ann", "wrong-password")
        assert r.status_code == 401 and token is None
    r, token = sign_in(c, "ann", "password-ann")
    assert r.status_code == 429 and token is None
    assert int(r.headers["retry-after"]) > 0


def test_login_needs_its_csrf_token(app):
    """Check that a login post without the login form's token is refused."""
    c = TestClient(app)
    r = c.post("/login", data={"username": "ann", "password": "password-ann", "csrf": "forged"},
               follow_redirects=False)
    assert r.status_code == 403


def test_csrf_required_on_forms_and_api(app):
    """Check that forms and API writes without the session's token are refused, changing nothing."""
    c, token = client(app, "ann")
    assert c.post("/next", data={}, follow_redirects=False).status_code == 403
    assert c.post("/next", data={"csrf": token + "x"}, follow_redirects=False).status_code == 403
    assert c.post("/api/next").status_code == 403
    assert c.post("/api/next", headers={"x-csrf-token": "nope"}).status_code == 403
    case = take(c, token)
    r = c.post(f"/case/{case}/verdict", data={"verdict": "positive"}, follow_redirects=False)
    assert r.status_code == 403
    assert c.get("/api/status").json()["verdicts"] == 0


def test_reviewer_kept_from_admin_pages_and_others_leases(app):
    """Check that a reviewer gets 403 on admin pages and on another reviewer's leased case."""
    ann, ann_token = client(app, "ann")
    bob, bob_token = client(app, "bob")
    assert ann.get("/adjudicate").status_code == 403
    case = take(bob, bob_token)
    assert ann.get(f"/case/{case}").status_code == 403
    assert ann.get(f"/api/cases/{case}").status_code == 403
    r = ann.post(f"/case/{case}/verdict", data={"csrf": ann_token, "verdict": "negative"},
                 follow_redirects=False)
    assert r.status_code == 409
    r = ann.post(f"/case/{case}/adjudicate", data={"csrf": ann_token, "label": "negative"})
    assert r.status_code == 403
    assert bob.get(f"/case/{case}").status_code == 200
    root, _ = client(app, "root")
    assert root.get(f"/case/{case}").status_code == 200
    assert root.get("/adjudicate").status_code == 200


def test_label_flow_and_dashboard(app):
    """Check that a verdict through the form shows as saved and on the dashboard."""
    c, token = client(app, "ann")
    case = take(c, token)
    r = c.post(f"/case/{case}/verdict", data={"csrf": token, "verdict": "positive",
                                             "comment": "clear"})
    assert r.status_code == 200 and 'id="saved"' in r.text
    assert c.get("/api/status").json()["reviewed"] == 1
    dash = c.get("/dashboard").text
    assert re.search(r'id="d-reviewed">1<', dash)


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"--zz\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}",
         {"content-type": "multipart/form-data; boundary=zz"}, 403),
        (b"--zz\r\ngarbage", {"content-type": "multipart/form-data"}, 400),
        (b"verdict=maybe&csrf={token}", {"content-type": "application/x-www-form-urlencoded"},
         400),
        (b"csrf={token}", {"content-type": "application/x-www-form-urlencoded"}, 400),
        (b"\xff\xfe" * 10, {"content-type": "application/x-www-form-urlencoded"}, 403),
    ],
)
def test_malformed_form_posts_are_400(app, body, headers, status):
    """Check that a broken, incomplete or wrong verdict form is a 4xx page, not a 500."""
    c, token = client(app, "ann")
    case = take(c, token)
    r = c.post(f"/case/{case}/verdict", content=body.replace(b"{token}", token.encode()),
               headers=headers, follow_redirects=False)
    assert r.status_code == status


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"not json", 400), (b"[1, 2]", 400), (b'{"verdict": 3}', 400),
     (b'{"verdict": "maybe"}', 400), (b'{"verdict": "positive", "comment": 5}', 400),
     (b"[" * 100_000, 400)],  # nested too deep for Python's JSON parser: was a 500
)
def test_malformed_api_posts_are_400(app, body, status):
    """Check that bad JSON bodies are 400 answers."""
    c, token = client(app, "ann")
    case = c.post("/api/next", headers={"x-csrf-token": token}).json()["case"]
    r = c.post(f"/api/cases/{case}/verdict", content=body,
               headers={"x-csrf-token": token, "content-type": "application/json"})
    assert r.status_code == status


def test_unknown_case_is_404(app):
    """Check that an unknown or non-numeric case is a 404 page."""
    c, _ = client(app, "root")
    assert c.get("/case/999999").status_code == 404
    assert c.get("/case/abc").status_code == 404
    # numbers past what the database holds are no case either (were 500: OverflowError)
    huge = "9" * 25
    assert c.get(f"/case/{huge}").status_code == 404
    assert c.get(f"/api/cases/{huge}").status_code == 404


def test_empty_queue_said_kindly(guard):
    """Check that an empty queue shows a kind message rather than an error."""
    engine = open_store("sqlite://", create=True)
    add_user(engine, "ann", "password-ann")
    c = TestClient(create_app(engine, guard))
    _, token = sign_in(c, "ann", "password-ann")
    assert "The queue is empty" in c.get("/queue").text
    r = c.post("/next", data={"csrf": token})
    assert r.status_code == 200 and 'id="empty"' in r.text


def test_logout_ends_the_session(app):
    """Check that after logout the old cookie opens nothing."""
    c, token = client(app, "ann")
    cookie = c.cookies.get("fnguard_session")
    c.post("/logout", data={"csrf": token})
    other = TestClient(app)
    other.cookies.set("fnguard_session", cookie)
    assert other.get("/api/status").status_code == 401


def test_adjudication_through_the_page(queued, guard):
    """Check that an admin settles a disagreement from the adjudication page."""
    for name in ("ann", "bob"):
        add_user(queued, name, f"password-{name}")
    add_user(queued, "root", "password-root", role="admin")
    app = create_app(queued, guard, reviews_per_case=2)
    (ann, at), (bob, bt), (root, rt) = (client(app, n) for n in ("ann", "bob", "root"))
    case = take(ann, at)
    assert take(bob, bt) == case
    ann.post(f"/case/{case}/verdict", data={"csrf": at, "verdict": "positive"})
    bob.post(f"/case/{case}/verdict", data={"csrf": bt, "verdict": "negative"})
    assert f"Case #{case}" in root.get("/adjudicate").text
    root.post(f"/case/{case}/adjudicate", data={"csrf": rt, "label": "positive"})
    assert 'id="empty"' in root.get("/adjudicate").text
    assert root.get(f"/api/cases/{case}").json()["final"] == "positive"


@pytest.mark.filterwarnings("ignore::fnguard.errors.FnguardWarning")
def test_hostile_values_are_escaped(guard, batch):
    """Check that <script> and onerror payloads in values and column names arrive escaped."""
    frame, _ = batch
    bad = hostile_frame(frame)
    engine = open_store("sqlite://", create=True)
    enqueue(engine, guard, bad, guard.predict(bad), capacity=3)
    add_user(engine, "ann", "password-ann")
    c = TestClient(create_app(engine, guard))
    _, token = sign_in(c, "ann", "password-ann")
    page = c.get(f"/case/{take(c, token)}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert SCRIPT not in page and IMG not in page and "<img" not in page
    assert page.count("<script") == 1  # review.js only


def test_guard_of_another_schema_refused(queued, lending):
    """Check that the app refuses a Guard whose columns differ from the queued cases'."""
    data = lending
    X = data.X.drop(columns=["int_rate"])
    schema = type(data.schema)(tuple(c for c in data.schema.columns if c.name != "int_rate"),
                               data.schema.target, data.schema.positive, data.schema.negative)
    other = make_guard(type(data)(**{**data.__dict__, "X": X, "schema": schema}), rows=400)
    with pytest.raises(ReviewError, match="int_rate"):
        create_app(queued, other)


def test_large_bodies_are_refused_before_they_are_read(app):
    """Check that a body over MAX_BODY is 413, with or without a session and whether its size
    is declared or only seen as it arrives (a body was read whole before the session was
    looked up: 4 posts of 250 MB without a cookie held 1.4 GB), and that a verdict with the
    longest comment allowed still passes."""
    from fnguard.serve.app import MAX_BODY

    big = b"x" * (MAX_BODY + 1)
    anonymous = TestClient(app)
    r = anonymous.post("/api/cases/1/verdict", content=big)
    assert r.status_code == 413 and "over" in r.json()["detail"]
    assert r.headers["x-frame-options"] == "DENY"

    def chunks():
        for _ in range(MAX_BODY // 1024 + 2):
            yield b"y" * 1024

    assert anonymous.post("/api/cases/1/verdict", content=chunks()).status_code == 413
    c, token = client(app, "ann")
    case = c.post("/api/next", headers={"x-csrf-token": token}).json()["case"]
    comment = "\U0001f600" * 4999  # 5,000 characters at most, each escaped in JSON
    body = json.dumps({"verdict": "positive", "comment": comment}).encode()
    assert len(body) < MAX_BODY
    r = c.post(f"/api/cases/{case}/verdict", content=body,
               headers={"x-csrf-token": token, "content-type": "application/json"})
    assert r.status_code == 200, r.text
