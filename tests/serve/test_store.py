"""Tests of the review store: creation, the schema version check, SQLite settings."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from fnguard.serve.store import (
    SCHEMA_VERSION,
    StoreError,
    database_url,
    meta,
    open_store,
    schema_version,
    write,
)


def test_unknown_file_says_how_to_create(tmp_path):
    """Check that a missing database file is refused with the commands that create one."""
    with pytest.raises(StoreError, match=r"does not exist.*--review-db.*add-user"):
        open_store(tmp_path / "nope.sqlite")
    assert not (tmp_path / "nope.sqlite").exists()


def test_create_then_reopen(tmp_path):
    """Check that a created database is reopened with its version and in WAL mode."""
    path = tmp_path / "review.sqlite"
    open_store(path, create=True).dispose()
    engine = open_store(str(path))
    assert schema_version(engine) == SCHEMA_VERSION
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    engine.dispose()
    with sqlite3.connect(path) as raw:  # readable by plain sqlite3
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_other_schema_version_is_refused(tmp_path):
    """Check that a database of another schema version is refused, naming both versions."""
    path = tmp_path / "review.sqlite"
    engine = open_store(path, create=True)
    with write(engine) as conn:
        conn.execute(meta.update().where(meta.c.key == "schema_version").values(value="99"))
    engine.dispose()
    with pytest.raises(StoreError, match=rf"schema version 99.*reads version {SCHEMA_VERSION}"):
        open_store(path)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"this is not a database at all, just some text" * 20, "cannot be read"),
        (None, "not an fnguard review database"),
        (b"", "is empty"),
    ],
)
def test_foreign_files_are_refused(tmp_path, content, match):
    """Check that garbage, another application's SQLite file and an empty file are refused."""
    path = tmp_path / "other.sqlite"
    if content is None:
        with sqlite3.connect(path) as raw:
            raw.execute("CREATE TABLE things (x INTEGER)")
    else:
        path.write_bytes(content)
    with pytest.raises(StoreError, match=match):
        open_store(path)


def test_foreign_key_enforced(tmp_path):
    """Check that a verdict for a case that does not exist is refused by the database."""
    from fnguard.serve.store import verdicts

    engine = open_store(tmp_path / "r.sqlite", create=True)
    with pytest.raises(sa.exc.IntegrityError), write(engine) as conn:
        conn.execute(
            verdicts.insert().values(case_id=5, user_id=7, verdict="positive", comment="",
                                     created=0.0, updated=0.0)
        )


def test_database_url():
    """Check that a path becomes a sqlite URL and a URL is kept."""
    assert database_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert database_url("rel.sqlite").startswith("sqlite:////")


def test_a_folder_is_not_a_database(tmp_path) -> None:
    """Check that a folder given as the database is said to be a folder (the message said
    the file was damaged)."""
    from fnguard.serve.store import StoreError, open_store

    with pytest.raises(StoreError, match="is a folder: pass a file path"):
        open_store(tmp_path, create=True)


def test_check_store_creates_nothing_and_refuses_what_open_store_refuses(tmp_path):
    """Check that check_store leaves a new database uncreated, accepts a review database,
    and refuses a folder that does not exist and a file that is not a review database."""
    from fnguard.serve.store import StoreError, check_store, open_store

    new = tmp_path / "new.sqlite"
    check_store(new)
    assert not new.exists()
    open_store(new, create=True).dispose()
    check_store(new)
    with pytest.raises(StoreError, match="its folder does not exist"):
        check_store(tmp_path / "missing" / "r.sqlite")
    other = tmp_path / "other.sqlite"
    other.write_text("not a database")
    with pytest.raises(StoreError):
        check_store(other)


def test_new_database_is_private_to_its_owner(tmp_path) -> None:
    """Check that a new SQLite review database, and its WAL files, can be read by its owner
    only (it holds password hashes, CSRF tokens and case values; it was created 0644)."""
    import stat

    from fnguard.serve.auth import add_user

    engine = open_store(tmp_path / "review.sqlite", create=True)
    add_user(engine, "ann", "password-ann")
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes["review.sqlite"] == 0o600
    assert all(mode == 0o600 for mode in modes.values()), modes


def test_a_postgresql_url_without_its_driver_says_which_to_install() -> None:
    """Check that a PostgreSQL URL whose driver is missing names the driver SQLAlchemy looks
    for (psycopg 3 for postgresql://; the advice named psycopg2, which it does not use)."""
    import importlib.util

    if importlib.util.find_spec("psycopg") is not None:
        pytest.skip("psycopg is installed here")
    with pytest.raises(StoreError, match=r"pip install 'psycopg\[binary\]' for postgresql://"):
        open_store("postgresql://u:p@127.0.0.1:1/x")
