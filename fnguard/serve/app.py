"""The review web app: sign in, take the next case, give a verdict, watch the dashboard.

:func:`create_app` builds a FastAPI application over a review store. Pages are Jinja2
templates with autoescaping (every value from the data is escaped); the only script is
``static/review.js`` (keyboard shortcuts), so the Content-Security-Policy forbids inline
script and style. Every page and API call needs a session; every form and API write needs the
session's CSRF token (``csrf`` field, or ``X-CSRF-Token`` header). Admins also see every case,
every verdict and the adjudication page.

Pages: ``/login``, ``/queue``, ``/case/{id}``, ``/dashboard``, ``/adjudicate`` (admins).
JSON API: ``GET /api/status``, ``POST /api/next``, ``GET /api/cases/{id}``,
``POST /api/cases/{id}/verdict`` (body ``{"verdict": ..., "comment": ..., "next": bool}``).
"""

from __future__ import annotations

import json
import math
import secrets
from pathlib import Path
from typing import Any

from fnguard.serve import leases
from fnguard.serve.auth import (
    SESSION_SECONDS,
    LoginError,
    User,
    authenticate,
    check_csrf,
    end_session,
    session_user,
    start_session,
)
from fnguard.serve.queue import check_guard
from fnguard.serve.status import review_status
from fnguard.serve.store import ReviewError, StoreError, guards, open_store, read, write

try:
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
    from fastapi.staticfiles import StaticFiles
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException as StarletteHTTPException
except ImportError:  # pragma: no cover - the 'review' extra is not installed
    FastAPI = None  # type: ignore[assignment,misc]

__all__ = ["SESSION_COOKIE", "create_app"]

SESSION_COOKIE = "fnguard_session"
LOGIN_COOKIE = "fnguard_login"
HERE = Path(__file__).parent
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]
KIND_TITLES = {
    "numeric": "Numbers",
    "categorical": "Categories",
    "boolean": "Yes / no",
    "datetime": "Dates",
    "other": "Other columns (not read by the model)",
}


def _require_web() -> None:
    if FastAPI is None:
        raise StoreError(
            "The review web app needs FastAPI, uvicorn and python-multipart: "
            "pip install 'fnguard[review]'."
        )


class _Headers:
    """ASGI middleware adding the security headers to every HTTP response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add(message: Any) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    h for h in HEADERS if h[0] not in names
                ]
            await send(message)

        await self.app(scope, receive, add)


#: Bytes a request body may hold: a verdict's comment (5,000 characters, escaped in JSON)
#: and the forms are far smaller; a larger body is refused before it is read into memory.
MAX_BODY = 256 * 1024


class _TooLarge(Exception):
    pass


class _BodyLimit:
    """ASGI middleware refusing request bodies above :data:`MAX_BODY` bytes with 413, by their
    Content-Length or as they arrive, before any route reads them (a body is read before the
    session is looked up: without a limit, anyone could make the server hold gigabytes)."""

    def __init__(self, app: Any, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length", b"0")
        try:
            declared = int(length)
        except ValueError:
            declared = 0
        if declared > self.limit:
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def tracked(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        body = json.dumps({"detail": f"The request body is over {self.limit:,} bytes."})
        await send({
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), *HEADERS],
        })
        await send({"type": "http.response.body", "body": body.encode()})


#: Case numbers the database can hold (SQLite integers); others are no case at all.
_MAX_CASE = 2**63 - 1


def _check_case(case_id: int) -> None:
    if not 0 < case_id <= _MAX_CASE:
        raise _Denied(404, f"There is no case {case_id} in the review queue.")


class _Denied(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _group(values: dict[str, Any], schema: dict | None, notes: dict | None) -> list[dict]:
    kinds = {c["name"]: c["kind"] for c in (schema or {}).get("columns", [])}
    groups: dict[str, list[dict]] = {k: [] for k in KIND_TITLES}
    for name, value in values.items():
        groups[kinds.get(name, "other")].append(
            {"name": name, "value": "" if value is None else value, "missing": value is None,
             "push": None if notes is None else notes.get(name)}
        )
    return [{"title": KIND_TITLES[k], "rows": rows} for k, rows in groups.items() if rows]


def _top_pushes(notes: dict | None, k: int = 5) -> list[dict]:
    if not notes:
        return []
    ranked = sorted(notes.items(), key=lambda kv: -abs(kv[1]))[:k]
    biggest = max((abs(v) for _, v in ranked), default=0.0)
    return [
        {"name": n, "push": v, "share": abs(v) / biggest if biggest else 0.0}
        for n, v in ranked
        if v != 0
    ]


def create_app(
    db: Any,
    guard: Any = None,
    *,
    reviews_per_case: int = 1,
    lease_seconds: float = leases.LEASE_SECONDS,
    secure_cookies: bool = False,
) -> Any:
    """The review web app over the review database ``db``.

    Parameters
    ----------
    db : str, PathLike or Engine
        The review database (it must exist).
    guard : Guard, optional
        The Guard that enqueued the cases; refused if its schema does not match theirs.
    reviews_per_case : int, default=1
        Independent verdicts each case needs; disagreements go to an admin.
    lease_seconds : float, default=900
        How long a case stays reserved for the reviewer who took it.
    secure_cookies : bool, default=False
        Mark cookies ``Secure`` (serve behind HTTPS).

    Returns
    -------
    FastAPI
        Serve it with uvicorn (``fnguard review serve``).

    Raises
    ------
    StoreError
        If the database does not exist or is of another version, or the extra is missing.
    ReviewError
        If ``guard`` does not match the queued cases.
    """
    _require_web()
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    engine = open_store(db)
    if guard is not None:
        check_guard(engine, guard)
    leases._check_n(reviews_per_case)
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda x: "–" if x is None else f"{100 * x:.1f}%"
    env.filters["num"] = lambda x: "–" if x is None or (
        isinstance(x, float) and not math.isfinite(x)) else f"{x:.3f}"
    env.filters["signed"] = lambda x: "" if x is None or abs(x) < 5e-4 else f"{x:+.3f}"
    schemas: dict[str, dict] = {}

    app = FastAPI(title="fnguard review", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(_BodyLimit)
    app.add_middleware(_Headers)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.state.engine = engine

    def page(request: Any, name: str, user: User | None, status: int = 200, **ctx: Any) -> Any:
        html = env.get_template(name).render(
            user=user, csrf=user.csrf if user else "", path=request.url.path,
            guard=guard, reviews_per_case=reviews_per_case, **ctx,
        )
        return HTMLResponse(html, status_code=status)

    def wants_json(request: Any) -> bool:
        return request.url.path.startswith("/api/")

    @app.exception_handler(_Denied)
    async def _denied(request: Request, exc: _Denied) -> Response:
        if wants_json(request):
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        if exc.status == 401:
            return RedirectResponse("/login", status_code=303)
        user = await run_in_threadpool(session_user, engine, request.cookies.get(SESSION_COOKIE))
        return page(request, "message.html.j2", user, status=exc.status,
                    title="Not possible", message=exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if wants_json(request):
            return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)
        return page(request, "message.html.j2", None, status=exc.status_code,
                    title="Not found" if exc.status_code == 404 else "Error",
                    message=str(exc.detail))

    def who(request: Request, *, admin: bool = False) -> User:
        user = session_user(engine, request.cookies.get(SESSION_COOKIE))
        if user is None:
            raise _Denied(401, "Sign in first.")
        if admin and not user.is_admin:
            raise _Denied(403, "This page is for admins.")
        return user

    async def current(request: Request, *, admin: bool = False) -> User:
        return await run_in_threadpool(lambda: who(request, admin=admin))

    async def form_of(request: Request, user: User | None, *, login: str = "") -> dict:
        try:
            form = await request.form(max_files=0, max_fields=20)
        except Exception:
            raise _Denied(400, "The form could not be read: send it again from the page.") from None
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        expected = user.csrf if user is not None else login
        if not check_csrf(expected, fields.get("csrf")):
            raise _Denied(403, "The form's security token is missing or stale: reload the page.")
        return fields

    def json_of(request: Request, user: User, raw: bytes) -> dict:
        if not check_csrf(user.csrf, request.headers.get("x-csrf-token")):
            raise _Denied(403, "Missing or wrong X-CSRF-Token header.")
        try:
            body = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError):  # also nested 100,000 deep
            raise _Denied(400, "The body is not JSON.") from None
        if not isinstance(body, dict):
            raise _Denied(400, "The body must be a JSON object.")
        return body

    async def body_of(request: Request, user: User) -> dict:
        return json_of(request, user, await request.body())

    def schema_of(fingerprint: str) -> dict | None:
        if fingerprint not in schemas:
            with read(engine) as conn:
                text = conn.execute(
                    guards.select().with_only_columns(guards.c.schema)
                    .where(guards.c.fingerprint == fingerprint)
                ).scalar()
            schemas[fingerprint] = json.loads(text) if text else None
        return schemas[fingerprint]

    def load_case(user: User, case_id: int) -> dict:
        _check_case(case_id)
        try:
            case = leases.case_for(engine, user, case_id)
        except leases.LeaseError as exc:
            raise _Denied(403, str(exc)) from None
        except ReviewError as exc:
            raise _Denied(404, str(exc)) from None
        values = json.loads(case["values"])
        notes = json.loads(case["contributions"]) if case["contributions"] else None
        case["groups"] = _group(values, schema_of(case["guard"]), notes)
        case["pushes"] = _top_pushes(notes)
        return case

    def set_cookie(response: Any, name: str, value: str, max_age: int) -> None:
        response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict",
                            secure=secure_cookies, path="/")

    # ----------------------------------------------------------------------------- sign in
    @app.get("/login")
    async def login_page(request: Request) -> Response:
        token = secrets.token_urlsafe(32)
        response = page(request, "login.html.j2", None, login_csrf=token, error=None)
        set_cookie(response, LOGIN_COOKIE, token, 3600)
        return response

    @app.post("/login")
    async def login(request: Request) -> Response:
        fields = await form_of(request, None, login=request.cookies.get(LOGIN_COOKIE, ""))
        name, password = fields.get("username", ""), fields.get("password", "")
        address = request.client.host if request.client else ""
        try:
            user = await run_in_threadpool(authenticate, engine, name, password, address=address)
        except LoginError as exc:
            token = secrets.token_urlsafe(32)
            status = 429 if exc.retry_after else 401
            response = page(request, "login.html.j2", None, status=status, login_csrf=token,
                            error=str(exc))
            if exc.retry_after:
                response.headers["retry-after"] = str(int(exc.retry_after) + 1)
            set_cookie(response, LOGIN_COOKIE, token, 3600)
            return response
        session = await run_in_threadpool(start_session, engine, user)
        response = RedirectResponse("/queue", status_code=303)
        set_cookie(response, SESSION_COOKIE, session, int(SESSION_SECONDS))
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        user = await current(request)
        await form_of(request, user)
        await run_in_threadpool(end_session, engine, request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # ----------------------------------------------------------------------------- pages
    @app.get("/")
    async def home(request: Request) -> Response:
        await current(request)
        return RedirectResponse("/queue", status_code=303)

    @app.get("/queue")
    async def queue_page(request: Request) -> Response:
        user = await current(request)
        status = await run_in_threadpool(review_status, engine,
                                         reviews_per_case=reviews_per_case)
        rows = await run_in_threadpool(leases.queue_rows, engine, limit=50)
        return page(request, "queue.html.j2", user, status=200, stats=status, rows=rows,
                    nothing=request.query_params.get("empty") == "1")

    @app.post("/next")
    async def next_case(request: Request) -> Response:
        user = await current(request)
        fields = await form_of(request, user)
        skip = fields.get("skip") or None
        if skip is not None and not (skip.isascii() and skip.isdigit() and len(skip) <= 18):
            raise _Denied(400, "The case to skip must be a case number.")
        case_id = await run_in_threadpool(
            leases.lease_next, engine, user, reviews_per_case=reviews_per_case,
            lease_seconds=lease_seconds, skip=None if skip is None else int(skip),
        )
        target = "/queue?empty=1" if case_id is None else f"/case/{case_id}"
        return RedirectResponse(target, status_code=303)

    @app.get("/case/{case_id:int}")
    async def case_page(request: Request, case_id: int) -> Response:
        user = await current(request)
        case = await run_in_threadpool(load_case, user, case_id)
        return page(request, "case.html.j2", user, case=case,
                    saved=request.query_params.get("saved") == "1")

    @app.post("/case/{case_id:int}/verdict")
    async def verdict_form(request: Request, case_id: int) -> Response:
        user = await current(request)
        fields = await form_of(request, user)
        await _submit(user, case_id, fields.get("verdict"), fields.get("comment", ""))
        return RedirectResponse(f"/case/{case_id}?saved=1", status_code=303)

    def submit(user: User, case_id: int, verdict: Any, comment: Any, then_next: bool = False
               ) -> dict:
        _check_case(case_id)
        if not isinstance(verdict, str) or not isinstance(comment, str):
            raise _Denied(400, "A verdict (positive, negative or unsure) is required.")
        try:
            return leases.submit_verdict(
                engine, user, case_id, verdict, comment, reviews_per_case=reviews_per_case,
                then_next=then_next, lease_seconds=lease_seconds,
            )
        except leases.LeaseError as exc:
            raise _Denied(409, str(exc)) from None
        except leases.CaseNotFound as exc:
            raise _Denied(404, str(exc)) from None
        except ReviewError as exc:
            raise _Denied(400, str(exc)) from None

    async def _submit(user: User, case_id: int, verdict: Any, comment: Any) -> dict:
        return await run_in_threadpool(submit, user, case_id, verdict, comment)

    @app.get("/adjudicate")
    async def adjudicate_page(request: Request) -> Response:
        user = await current(request, admin=True)

        def disputed() -> list[dict]:
            rows = leases.queue_rows(engine, status="disputed", limit=200)
            return [leases.case_for(engine, user, r["id"]) for r in rows]

        return page(request, "adjudicate.html.j2", user, cases=await run_in_threadpool(disputed))

    @app.post("/case/{case_id:int}/adjudicate")
    async def adjudicate(request: Request, case_id: int) -> Response:
        user = await current(request, admin=True)
        fields = await form_of(request, user)
        _check_case(case_id)
        try:
            await run_in_threadpool(leases.adjudicate, engine, user, case_id,
                                    fields.get("label", ""))
        except ReviewError as exc:
            raise _Denied(400, str(exc)) from None
        return RedirectResponse("/adjudicate", status_code=303)

    @app.get("/dashboard")
    async def dashboard(request: Request) -> Response:
        user = await current(request)
        status = await run_in_threadpool(review_status, engine,
                                         reviews_per_case=reviews_per_case)
        return page(request, "dashboard.html.j2", user, stats=status)

    # ----------------------------------------------------------------------------- JSON API
    @app.get("/api/status")
    async def api_status(request: Request) -> Response:
        await current(request)
        return JSONResponse(await run_in_threadpool(review_status, engine,
                                                    reviews_per_case=reviews_per_case))

    @app.post("/api/next")
    async def api_next(request: Request) -> Response:
        user = await current(request)
        await body_of(request, user)
        case_id = await run_in_threadpool(
            leases.lease_next, engine, user, reviews_per_case=reviews_per_case,
            lease_seconds=lease_seconds,
        )
        return JSONResponse({"case": case_id})

    @app.get("/api/cases/{case_id:int}")
    async def api_case(request: Request, case_id: int) -> Response:
        user = await current(request)
        case = await run_in_threadpool(load_case, user, case_id)
        keep = ("id", "key", "score", "threshold", "priority", "audit", "decision", "status",
                "final", "verdicts", "my_verdict")
        return JSONResponse(json.loads(json.dumps({k: case[k] for k in keep}, default=str)))

    @app.post("/api/cases/{case_id:int}/verdict")
    async def api_verdict(request: Request, case_id: int) -> Response:
        raw = await request.body()

        def work() -> dict:  # one thread, one transaction: session, verdict, next lease
            with write(engine) as conn:
                user = session_user(conn, request.cookies.get(SESSION_COOKIE))
                if user is None:
                    raise _Denied(401, "Sign in first.")
                _check_case(case_id)
                body = json_of(request, user, raw)
                verdict, comment = body.get("verdict"), body.get("comment", "")
                if not isinstance(verdict, str) or not isinstance(comment, str):
                    raise _Denied(400, "A verdict (positive, negative or unsure) is required.")
                try:
                    comment = leases._check_verdict(verdict, comment)
                    return leases._verdict_in(
                        conn, user, case_id, verdict, comment, reviews_per_case,
                        bool(body.get("next")), lease_seconds,
                    )
                except leases.LeaseError as exc:
                    raise _Denied(409, str(exc)) from None
                except leases.CaseNotFound as exc:
                    raise _Denied(404, str(exc)) from None
                except ReviewError as exc:
                    raise _Denied(400, str(exc)) from None

        return JSONResponse(await run_in_threadpool(work))

    return app
