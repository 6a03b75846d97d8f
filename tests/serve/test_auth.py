"""Tests of users, password hashes, sessions, CSRF tokens and the failed-login limit."""

from __future__ import annotations

import hashlib

import pytest

from fnguard.serve import auth
from fnguard.serve.auth import (
    LoginError,
    add_user,
    authenticate,
    check_csrf,
    end_session,
    find_user,
    hash_password,
    session_user,
    start_session,
    verify_password,
)
from fnguard.serve.store import ReviewError, open_store, read, sessions, users


@pytest.fixture
def engine():
    return open_store("sqlite://", create=True)


def test_hash_is_scrypt_with_own_salt():
    """Check that the hash is hashlib.scrypt of the password with a per-hash random salt."""
    a, b = hash_password("hunter22"), hash_password("hunter22")
    assert a != b
    _, n, r, p, salt, digest = a.split("$")
    ref = hashlib.scrypt(b"hunter22", salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                         dklen=32)
    assert ref.hex() == digest
    assert verify_password("hunter22", b) and not verify_password("hunter23", b)
    assert not verify_password("x", "md5$garbage")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "bad name!", "password": "long enough"}, "not allowed"),
        ({"name": "ann", "password": "short"}, "too short"),
        ({"name": "ann", "password": "long enough", "role": "root"}, "role must be one of"),
    ],
)
def test_add_user_bad_input(engine, kwargs, match):
    """Check that a bad name, a short password and an unknown role are refused."""
    with pytest.raises(ReviewError, match=match):
        add_user(engine, **kwargs)


def test_add_user_stores_no_plain_password(engine):
    """Check that the stored password is a hash, and that adding again changes it."""
    add_user(engine, "ann", "first-password")
    add_user(engine, "ann", "second-password", role="admin")
    with read(engine) as conn:
        rows = conn.execute(users.select()).all()
    assert len(rows) == 1 and rows[0].role == "admin"
    assert "second-password" not in rows[0].password
    assert authenticate(engine, "ann", "second-password").role == "admin"
    with pytest.raises(LoginError):
        authenticate(engine, "ann", "first-password")


def test_unknown_user_named(engine):
    """Check that an unknown user is refused with the known users and the add-user command."""
    add_user(engine, "ann", "password-ann")
    with pytest.raises(ReviewError, match=r"no user 'zed'.*'ann'.*add-user zed"):
        find_user(engine, "zed")


def test_failed_logins_are_limited(engine):
    """Check that after MAX_FAILURES failures even the right password is refused."""
    add_user(engine, "ann", "password-ann")
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(LoginError, match="Wrong"):
            authenticate(engine, "ann", "nope", address="10.0.0.1")
    with pytest.raises(LoginError, match="Too many") as info:
        authenticate(engine, "ann", "password-ann", address="10.0.0.2")
    assert 0 < info.value.retry_after <= auth.FAILURE_WINDOW
    # Another user from another address is not locked out.
    add_user(engine, "bob", "password-bob")
    assert authenticate(engine, "bob", "password-bob", address="10.0.0.3").name == "bob"


def test_parallel_guesses_check_no_more_passwords_than_the_limit(tmp_path):
    """Check that sign-ins sent at once check at most MAX_FAILURES passwords per name (the
    limit was read before the slow hash and the failure written after it: 37 of 60 parallel
    guesses were checked), and that a right password among them then gets no further."""
    from concurrent.futures import ThreadPoolExecutor

    engine = open_store(tmp_path / "review.sqlite", create=True)
    add_user(engine, "ann", "password-ann")
    guesses = ["nope"] * 24 + ["password-ann"]

    def attempt(password: str) -> str:
        try:
            authenticate(engine, "ann", password, address=f"10.0.0.{len(password)}")
        except LoginError as exc:
            return "limited" if exc.retry_after else "wrong"
        return "in"

    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(attempt, guesses))
    checked = outcomes.count("wrong") + outcomes.count("in")
    assert checked <= auth.MAX_FAILURES, outcomes
    assert outcomes.count("limited") >= len(guesses) - auth.MAX_FAILURES


def test_session_round_trip(engine):
    """Check that a session token finds its user, is stored hashed, and ends at logout."""
    user = add_user(engine, "ann", "password-ann")
    token = start_session(engine, user)
    found = session_user(engine, token)
    assert found.name == "ann" and len(found.csrf) >= 32
    with read(engine) as conn:
        stored = conn.execute(sessions.select()).first()
    assert stored.token == hashlib.sha256(token.encode()).hexdigest() != token
    assert session_user(engine, token + "x") is None
    assert session_user(engine, None) is None
    end_session(engine, token)
    assert session_user(engine, token) is None


def test_expired_session(engine):
    """Check that an expired session finds no user."""
    user = add_user(engine, "ann", "password-ann")
    token = start_session(engine, user, seconds=-1)
    assert session_user(engine, token) is None


def test_check_csrf():
    """Check that the CSRF check needs the exact token."""
    assert check_csrf("tok", "tok")
    assert not check_csrf("tok", "")
    assert not check_csrf("", "")
    assert not check_csrf("tok", ["tok"])


def test_one_address_locks_out_after_more_failures_than_one_name(engine):
    """Check that reviewers sharing an address (one proxy) are not all locked out by five
    failures under other names, while many failures from one address still are."""
    add_user(engine, "ann", "password-ann")
    for i in range(auth.MAX_FAILURES):
        with pytest.raises(LoginError, match="Wrong"):
            authenticate(engine, f"guess{i}", "nope", address="10.0.0.9")
    assert authenticate(engine, "ann", "password-ann", address="10.0.0.9").name == "ann"
    for i in range(auth.MAX_ADDRESS_FAILURES - auth.MAX_FAILURES):
        with pytest.raises(LoginError, match="Wrong"):
            authenticate(engine, f"other{i}", "nope", address="10.0.0.9")
    with pytest.raises(LoginError, match="Too many"):
        authenticate(engine, "ann", "password-ann", address="10.0.0.9")
