"""The review store: tables, the engine that opens them, and the schema version check.

One database holds the review queue of one Guard schema: the cases (with their feature values
as JSON, so reviewers see them without the source file), the users, their leases, verdicts
and sessions. Any SQLAlchemy URL works; a plain path means a SQLite file, opened in WAL mode
with a busy timeout and foreign keys on. Writers start with ``BEGIN IMMEDIATE`` on SQLite, so
two writers queue on the busy timeout instead of failing when a read lock is upgraded.

Durability: SQLite runs with ``synchronous=NORMAL`` in WAL mode, so a committed transaction
survives the death of the process (``kill -9``); only a power cut may lose the last commits.
Set ``FNGUARD_REVIEW_SYNC=FULL`` to fsync every commit.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from fnguard.errors import ArtifactError, FnguardError

__all__ = [
    "SCHEMA_VERSION",
    "ReviewError",
    "StoreError",
    "database_url",
    "dumps",
    "now",
    "open_store",
    "read",
    "write",
]

#: Version of the tables below; a database written with another one is refused.
SCHEMA_VERSION = 1

HOW_TO_CREATE = (
    "create one with `fnguard predict GUARD DATA --review-db DB` (enqueues cases) or "
    "`fnguard review add-user NAME --db DB`"
)


class StoreError(ArtifactError):
    """The review database is missing, unreadable, or of another schema version."""


class ReviewError(FnguardError, ValueError):
    """A review request is invalid: unknown user or case, a lease held by someone else."""


metadata = sa.MetaData()

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

guards = sa.Table(
    "guards",
    metadata,
    sa.Column("fingerprint", sa.String(64), primary_key=True),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("positive", sa.Text, nullable=False),  # JSON scalars
    sa.Column("negative", sa.Text, nullable=False),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("review_lower", sa.Float),
    sa.Column("review_upper", sa.Float),
    sa.Column("schema", sa.Text, nullable=False),  # Schema.to_dict() as JSON
    sa.Column("created", sa.Float, nullable=False),
)

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False, unique=True),  # of the batch's rows
    sa.Column("guard", sa.String(64), sa.ForeignKey("guards.fingerprint"), nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("n_rows", sa.Integer, nullable=False),
    sa.Column("n_review", sa.Integer, nullable=False),
    sa.Column("n_audit", sa.Integer, nullable=False),
    sa.Column("n_auto_negative", sa.Integer, nullable=False),
    sa.Column("n_duplicate", sa.Integer, nullable=False),
)

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(200), nullable=False, unique=True),
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.id"), nullable=False),
    sa.Column("guard", sa.String(64), sa.ForeignKey("guards.fingerprint"), nullable=False),
    sa.Column("audit", sa.Boolean, nullable=False),  # a random confident negative
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("threshold", sa.Float, nullable=False),  # the Guard's, when enqueued
    sa.Column("priority", sa.Float, nullable=False),  # likeliness of being a miss
    sa.Column("sort_key", sa.Float, nullable=False),  # queue order within audit / band
    sa.Column("decision", sa.String(20), nullable=False),
    sa.Column("values", sa.Text, nullable=False),  # JSON: column -> value
    sa.Column("contributions", sa.Text),  # JSON: column -> score change
    sa.Column("status", sa.String(10), nullable=False, default="open"),  # open|disputed|done
    sa.Column("final", sa.String(10)),  # positive|negative|unsure
    sa.Column("adjudicated_by", sa.Integer, sa.ForeignKey("users.id")),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("decided", sa.Float),
    sa.Index("ix_cases_queue", "status", "audit", "sort_key"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("role", sa.String(10), nullable=False),  # reviewer|admin
    sa.Column("password", sa.Text, nullable=False),  # scrypt$n$r$p$salt$hash
    sa.Column("created", sa.Float, nullable=False),
)

assignments = sa.Table(
    "assignments",
    metadata,
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), primary_key=True),
    sa.Column("slot", sa.Integer, primary_key=True),  # 0 .. reviews_per_case - 1
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("state", sa.String(10), nullable=False),  # leased|done
    sa.Column("lease_until", sa.Float, nullable=False),
    sa.UniqueConstraint("case_id", "user_id", name="uq_assignment_user"),
    sa.Index("ix_assignments_user", "user_id", "state"),
)

verdicts = sa.Table(
    "verdicts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("verdict", sa.String(10), nullable=False),  # positive|negative|unsure
    sa.Column("comment", sa.Text, nullable=False, default=""),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
    sa.UniqueConstraint("case_id", "user_id", name="uq_verdict_user"),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token", sa.String(64), primary_key=True),  # sha256 of the cookie's token
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("expires", sa.Float, nullable=False),
)

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Index("ix_login_failures_at", "at"),
)


def now() -> float:
    """Seconds since the epoch (the store's clock)."""
    return time.time()


def dumps(value: Any) -> str:
    """Compact JSON (NaN refused: callers turn it into None first)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def database_url(db: str | os.PathLike[str]) -> str:
    """The SQLAlchemy URL of ``db``: a URL as given, a path as ``sqlite:///`` + absolute path.

    Examples
    --------
    >>> database_url("sqlite://")
    'sqlite://'
    >>> database_url("/tmp/review.sqlite")
    'sqlite:////tmp/review.sqlite'
    """
    text = os.fspath(db)
    if "://" in text:
        return text
    return "sqlite:///" + str(Path(text).expanduser().resolve())


def _sqlite_file(url: sa.URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if str(url.database).startswith("file:"):
        return None
    return Path(url.database)


def _configure_sqlite(engine: Engine) -> None:
    sync = os.environ.get("FNGUARD_REVIEW_SYNC", "NORMAL").upper()
    if sync not in ("NORMAL", "FULL"):
        sync = "NORMAL"

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute(f"PRAGMA synchronous = {sync}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("fnguard_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def open_store(db: str | os.PathLike[str] | Engine, *, create: bool = False) -> Engine:
    """Open the review database ``db`` and check its schema version.

    Parameters
    ----------
    db : str, PathLike or Engine
        A SQLAlchemy URL, a path to a SQLite file, or an engine this function returned.
    create : bool, default=False
        Create the database and its tables when they do not exist yet.

    Returns
    -------
    Engine

    Raises
    ------
    StoreError
        If the file does not exist (and ``create`` is false), is not a review database, or
        was written with another schema version.

    Examples
    --------
    >>> engine = open_store("sqlite://", create=True)
    >>> schema_version(engine)
    1
    """
    if isinstance(db, Engine):
        return db
    url = sa.make_url(database_url(db))
    path = _sqlite_file(url)
    if path is not None and path.is_dir():
        raise StoreError(
            f"The review database '{path}' is a folder: pass a file path, such as "
            f"'{path / 'review.sqlite'}'."
        )
    if path is not None and not path.exists():
        if not create:
            raise StoreError(f"The review database '{path}' does not exist: {HOW_TO_CREATE}.")
        _check_creatable(path)
        _create_private(path)
    kwargs: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        if path is None:  # one shared in-memory database for every thread
            kwargs["poolclass"] = sa.pool.StaticPool
            kwargs["connect_args"] = {"check_same_thread": False}
        else:
            kwargs.update(pool_size=8, max_overflow=32, connect_args={"timeout": 30})
    try:
        engine = sa.create_engine(url, **kwargs)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise StoreError(
            f"The review database URL '{url.render_as_string(hide_password=True)}' cannot be "
            f"used ({type(exc).__name__}: {exc}): pass a SQLite file path, or a SQLAlchemy URL "
            "whose database driver is installed (for PostgreSQL: pip install 'psycopg[binary]' "
            "for postgresql://..., or pip install psycopg2-binary and write "
            "postgresql+psycopg2://...)."
        ) from None
    if url.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    try:
        _check_or_create(engine, create=create, where=str(path or url))
    except BaseException:
        engine.dispose()
        raise
    return engine


def _create_private(path: Path) -> None:
    """Create the empty SQLite file readable and writable by its owner only: it holds the
    reviewers' password hashes, their CSRF tokens and every queued case's values (SQLite
    gives its -wal and -shm files the same mode)."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:  # created meanwhile by another process: theirs to set
        pass
    except OSError as exc:
        raise StoreError(
            f"The review database '{path}' cannot be created ({exc.strerror or exc}): choose "
            "a folder you can write to."
        ) from None


def _check_creatable(path: Path) -> None:
    if not path.parent.is_dir():
        raise StoreError(
            f"The review database '{path}' cannot be created: its folder does not exist."
        )
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise StoreError(
            f"The review database '{path}' cannot be created: its folder cannot be written "
            "to. Choose a folder you can write to."
        )


def check_store(db: str | os.PathLike[str] | Engine) -> None:
    """Check, before long work, that ``open_store(db, create=True)`` will succeed: an
    existing database is opened and checked; a SQLite file that does not exist yet is not
    created (its folder is checked); another server's database is opened and set up.

    Raises
    ------
    StoreError
        As :func:`open_store` would.
    """
    if isinstance(db, Engine):
        return
    url = sa.make_url(database_url(db))
    path = _sqlite_file(url)
    if path is not None and not path.exists():
        _check_creatable(path)
        return
    open_store(db, create=url.get_backend_name() != "sqlite" or path is None).dispose()


def _check_or_create(engine: Engine, *, create: bool, where: str) -> None:
    try:
        names = set(sa.inspect(engine).get_table_names())
    except sa.exc.DatabaseError as exc:
        if engine.url.get_backend_name() != "sqlite":  # a server: refused, down, no access
            raise StoreError(
                f"The review database server of '{where}' cannot be reached or read "
                f"({str(exc.orig or exc).strip()}): check that it runs, the host, port, user "
                "and password in the URL, and that the database exists."
            ) from None
        raise StoreError(
            f"The review database '{where}' cannot be read ({exc.orig or exc}): it is not a "
            f"SQLite file or is damaged; {HOW_TO_CREATE}."
        ) from None
    if "meta" not in names:
        if names:
            raise StoreError(
                f"The database '{where}' holds tables but is not an fnguard review database: "
                f"choose another file, or {HOW_TO_CREATE}."
            )
        if not create:
            raise StoreError(f"The review database '{where}' is empty: {HOW_TO_CREATE}.")
        with write(engine) as conn:
            metadata.create_all(conn)
            conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
        return
    version = schema_version(engine)
    if version != SCHEMA_VERSION:
        raise StoreError(
            f"The review database '{where}' has schema version {version}, but this fnguard "
            f"reads version {SCHEMA_VERSION}: use the fnguard version that wrote it, or export "
            "its labels there (`fnguard review export`) and start a new database."
        )


def schema_version(engine: Engine) -> int | None:
    """The schema version recorded in the database (None when not recorded)."""
    with read(engine) as conn:
        value = conn.execute(
            sa.select(meta.c.value).where(meta.c.key == "schema_version")
        ).scalar()
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_WRITERS_LOCK = threading.Lock()


def _writer_lock(engine: Engine) -> contextlib.AbstractContextManager[Any]:
    """One writer at a time per SQLite engine, queued in Python rather than in SQLite.

    SQLite's busy handler sleeps in steps of up to 100 ms while another connection writes;
    queueing the threads of this process on a lock instead keeps the wait to the writer's
    own few hundred microseconds. Other processes still meet the busy timeout.
    """
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    with _WRITERS_LOCK:
        lock = _WRITERS.get(engine)
        if lock is None:
            lock = _WRITERS[engine] = threading.Lock()
    return lock


@contextlib.contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on exit.

    Raises
    ------
    StoreError
        When the database cannot be written: locked by another process past the wait, or
        read-only.
    """
    try:
        with engine.connect() as conn, _writer_lock(engine):
            conn.execution_options(fnguard_write=True)
            with conn.begin():
                yield conn
    except sa.exc.OperationalError as exc:
        raise StoreError(
            f"The review database '{engine.url.render_as_string(hide_password=True)}' cannot be "
            f"written ({exc.orig or exc}): another process may hold it (a review server, an "
            "export; try again when it is done), or the file or its folder is read-only "
            "(check the permissions)."
        ) from None


@contextlib.contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A connection in a read transaction (a consistent snapshot), rolled back on exit."""
    with engine.connect() as conn, conn.begin():
        yield conn
