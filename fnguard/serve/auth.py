"""Reviewers and admins: scrypt password hashes, server-side sessions, CSRF tokens, login limits.

Passwords are hashed with :func:`hashlib.scrypt` and a random 16-byte salt per user. A session
is a random token given to the browser in an HttpOnly, SameSite cookie; the database keeps only
its SHA-256, the user, an expiry and the session's CSRF token, which every form and API call
must send back. Failed logins are counted per user name and per client address:
:data:`MAX_FAILURES` for one name, or :data:`MAX_ADDRESS_FAILURES` from one address (higher, so
that reviewers who share an address, behind one proxy, do not lock each other out at once),
within :data:`FAILURE_WINDOW` seconds refuse further attempts until the window has passed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from fnguard.serve.store import (
    ReviewError,
    login_failures,
    now,
    read,
    sessions,
    users,
    write,
)

__all__ = [
    "ROLES",
    "LoginError",
    "User",
    "add_user",
    "authenticate",
    "check_csrf",
    "end_session",
    "hash_password",
    "session_user",
    "start_session",
    "verify_password",
]

ROLES = ("reviewer", "admin")
#: scrypt cost: 16 MiB of memory and some 50 ms per hash.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_FAILURES = 5
#: Failures from one client address (any names) that lock that address out.
MAX_ADDRESS_FAILURES = 20
FAILURE_WINDOW = 300.0
SESSION_SECONDS = 12 * 3600.0
MIN_PASSWORD = 8
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,100}$")


class LoginError(ReviewError):
    """Wrong user name or password, or too many failed attempts."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclasses.dataclass(frozen=True)
class User:
    """A signed-in user: id, name, role and the session's CSRF token."""

    id: int
    name: str
    role: str
    csrf: str = ""

    @property
    def is_admin(self) -> bool:
        """Whether the user may adjudicate and see every case."""
        return self.role == "admin"


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """The scrypt hash of ``password`` as ``scrypt$n$r$p$salt$hash`` (hex).

    Examples
    --------
    >>> stored = hash_password("correct horse")
    >>> stored.split("$")[:4]
    ['scrypt', '16384', '8', '1']
    >>> verify_password("correct horse", stored), verify_password("wrong", stored)
    (True, False)
    """
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the stored hash (constant-time comparison)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode("utf-8"),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(digest) // 2,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def check_user(name: str, password: str, role: str = "reviewer") -> None:
    """Raise ReviewError for a user name, password or role :func:`add_user` would refuse."""
    if not _NAME.match(name or ""):
        raise ReviewError(
            f"The user name {name!r} is not allowed: use 1 to 100 letters, digits or _ . @ -."
        )
    if role not in ROLES:
        raise ReviewError(f"The role must be one of {', '.join(ROLES)}. Got {role!r} instead.")
    if len(password) < MIN_PASSWORD:
        raise ReviewError(
            f"The password of {name!r} is too short ({len(password)} characters): use at "
            f"least {MIN_PASSWORD}."
        )


def add_user(engine: Engine, name: str, password: str, *, role: str = "reviewer") -> User:
    """Create a user, or set the password and role of an existing one.

    Parameters
    ----------
    engine : Engine
        The review store (:func:`fnguard.serve.store.open_store`).
    name : str
        Letters, digits and ``_ . @ -``, at most 100 characters.
    password : str
        At least :data:`MIN_PASSWORD` characters.
    role : {"reviewer", "admin"}, default="reviewer"

    Returns
    -------
    User

    Examples
    --------
    >>> from fnguard.serve.store import open_store
    >>> engine = open_store("sqlite://", create=True)
    >>> add_user(engine, "alice", "s3cret-pass", role="admin").role
    'admin'
    """
    check_user(name, password, role)
    stored = hash_password(password)
    with write(engine) as conn:
        uid = conn.execute(sa.select(users.c.id).where(users.c.name == name)).scalar()
        if uid is None:
            uid = conn.execute(
                users.insert().values(name=name, role=role, password=stored, created=now())
            ).inserted_primary_key[0]
        else:
            conn.execute(
                users.update().where(users.c.id == uid).values(role=role, password=stored)
            )
            conn.execute(sessions.delete().where(sessions.c.user_id == uid))
    return User(id=int(uid), name=name, role=role)


def find_user(engine: Engine, name: str) -> User:
    """The user called ``name``; :class:`ReviewError` naming the known users otherwise."""
    with read(engine) as conn:
        row = conn.execute(
            sa.select(users.c.id, users.c.name, users.c.role).where(users.c.name == name)
        ).first()
        if row is None:
            known = conn.execute(sa.select(users.c.name).order_by(users.c.name)).scalars().all()
    if row is None:
        listed = ", ".join(repr(k) for k in known[:20]) or "none yet"
        raise ReviewError(
            f"There is no user {name!r} in the review database (users: {listed}): add one "
            f"with `fnguard review add-user {name} --db DB` (the review database in use)."
        )
    return User(id=row.id, name=row.name, role=row.role)


def _limited(conn: Any, name: str, address: str, t: float) -> float | None:
    since = t - FAILURE_WINDOW
    for column, value, most in (
        (login_failures.c.name, name, MAX_FAILURES),
        (login_failures.c.address, address, MAX_ADDRESS_FAILURES),
    ):
        rows = conn.execute(
            sa.select(sa.func.count(), sa.func.min(login_failures.c.at)).where(
                column == value, login_failures.c.at > since
            )
        ).first()
        if rows[0] >= most:
            return max(1.0, rows[1] + FAILURE_WINDOW - t)
    return None


def authenticate(engine: Engine, name: str, password: str, *, address: str = "") -> User:
    """The user whose name and password these are; :class:`LoginError` otherwise.

    After :data:`MAX_FAILURES` failures within :data:`FAILURE_WINDOW` seconds for the name, or
    :data:`MAX_ADDRESS_FAILURES` from the address, every attempt is refused (even a right
    one) until the window has passed.
    """
    t = now()
    # The check of the limit and a provisional failure are one write transaction: attempts
    # sent at once each see those before them, so no more than the limit are checked (read
    # first and recorded after the slow hash, 37 of 60 parallel guesses were checked).
    with write(engine) as conn:
        conn.execute(login_failures.delete().where(login_failures.c.at < t - 86400))
        wait = _limited(conn, name[:100], address[:64], t)
        attempt = None
        if wait is None:
            attempt = conn.execute(
                login_failures.insert().values(name=name[:100], address=address[:64], at=t)
            ).inserted_primary_key[0]
        row = conn.execute(
            sa.select(users.c.id, users.c.name, users.c.role, users.c.password).where(
                users.c.name == name
            )
        ).first()
    if wait is not None:
        raise LoginError(
            f"Too many failed sign-ins: try again in {int(wait) + 1} seconds.", retry_after=wait
        )
    # Hash even for an unknown name, so that timing does not tell which names exist.
    stored = row.password if row is not None else hash_password("", salt=b"0" * 16)
    if row is None or not verify_password(password, stored):  # the failure stays recorded
        raise LoginError("Wrong user name or password.")
    with write(engine) as conn:
        conn.execute(login_failures.delete().where(login_failures.c.id == attempt))
    return User(id=row.id, name=row.name, role=row.role)


_SESSION = (
    sa.select(users.c.id, users.c.name, users.c.role, sessions.c.csrf)
    .join(users, users.c.id == sessions.c.user_id)
    .where(sessions.c.token == sa.bindparam("token"), sessions.c.expires > sa.bindparam("t"))
)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(engine: Engine, user: User, *, seconds: float = SESSION_SECONDS) -> str:
    """Open a session for ``user``; return the token for the cookie (stored only hashed)."""
    token = secrets.token_urlsafe(32)
    t = now()
    with write(engine) as conn:
        conn.execute(sessions.delete().where(sessions.c.expires < t))
        conn.execute(
            sessions.insert().values(
                token=_digest(token),
                user_id=user.id,
                csrf=secrets.token_urlsafe(32),
                created=t,
                expires=t + seconds,
            )
        )
    return token


def session_user(engine: Engine | Connection, token: str | None) -> User | None:
    """The user of a live session, with its CSRF token; None for a missing or stale token.

    ``engine`` may be a connection, to look the session up inside its transaction.
    """
    if not token or len(token) > 200:
        return None
    if isinstance(engine, Connection):  # inside the caller's transaction
        row = engine.execute(_SESSION, {"token": _digest(token), "t": now()}).first()
    else:
        with read(engine) as conn:
            row = conn.execute(_SESSION, {"token": _digest(token), "t": now()}).first()
    return None if row is None else User(id=row.id, name=row.name, role=row.role, csrf=row.csrf)


def end_session(engine: Engine, token: str | None) -> None:
    """Forget the session (logout)."""
    if token:
        with write(engine) as conn:
            conn.execute(sessions.delete().where(sessions.c.token == _digest(token)))


def check_csrf(expected: str, given: Any) -> bool:
    """Whether the CSRF token sent with a request is the session's (constant time).

    Examples
    --------
    >>> check_csrf("abc", "abc"), check_csrf("abc", None), check_csrf("abc", "abd")
    (True, False, False)
    """
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))
