"""Database engines and migrations: SQLite by default, PostgreSQL in production, one schema for both.

SQLite is opened in WAL mode with foreign keys on, and every writing transaction starts with ``BEGIN
IMMEDIATE``: a writer takes the write lock at the start, so two writers queue instead of deadlocking when both
try to upgrade a read lock (SQLite's "database is locked" on commit). Readers (:data:`READ_ONLY`) begin a
deferred transaction: a consistent snapshot that never blocks a writer. PostgreSQL runs at READ COMMITTED with row
locks (``SELECT ... FOR UPDATE``) taken by the unit of work on the loan or line a command changes.

A pooled PostgreSQL connection that sat idle for :data:`PING_AFTER_IDLE` seconds or more is pinged when it is
checked out, and replaced if the ping fails (a restarted server, a dropped socket): the pessimistic check of
SQLAlchemy's ``pool_pre_ping``, without its round trip on every command of a busy process, whose connections
were in use a moment ago. A connection that breaks within that moment fails its command, which is one
transaction (nothing half-written; a money command's key makes the retry safe); the pool then replaces every
connection it held.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError

from arrears.inputs import guard_engine

MIGRATIONS = Path(__file__).with_name("migrations")
READ_ONLY = "arrears_read_only"
"""Execution option marking a connection that only reads: on SQLite it begins a deferred transaction."""
PING_AFTER_IDLE = 1.0
"""Seconds a pooled PostgreSQL connection may sit idle before its next checkout pings it (module docstring)."""
_IDLE_SINCE = "arrears_idle_since"
_LOCK_BOUND = "arrears_lock_bound"
BUSY_SQLSTATES = frozenset({"55P03", "40P01", "40001"})
"""PostgreSQL's lock_not_available (lock_timeout passed), deadlock_detected and serialization_failure: the
statement's transaction is aborted, nothing it did is kept, and running it again is safe (Appendix A of the
PostgreSQL manual; "Deadlocks" in section 13.3.4)."""


def normalise_url(url: str) -> str:
    """Plain ``postgresql://`` URLs use psycopg 3, the driver we pin."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    return url


def make_engine(url: str, **options: Any) -> Engine:
    """An engine for ``url`` with the pragmas and transaction mode described in the module docstring.

    Its errors never carry the statement's parameters (``hide_parameters``: they hold names and phone numbers),
    and a single-row statement whose parameter does not fit its column is refused before the database sees it
    (:func:`arrears.inputs.guard_engine`)."""
    url = normalise_url(url)
    options.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60, "isolation_level": None}, **options)
        guard_engine(engine)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            # Writers take the write lock up front; readers (connections marked read_only) take a snapshot
            # without blocking writers, which WAL allows.
            read_only = connection.get_execution_options().get(READ_ONLY, False)
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    engine = create_engine(url, **options)
    guard_engine(engine)

    @event.listens_for(engine, "checkin")
    def _idle(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)  # None for a connection just made
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise DisconnectionError("a pooled connection failed its ping; the pool replaces it") from error

    return engine


_LOCK_BOUNDS: WeakKeyDictionary[Engine, int] = WeakKeyDictionary()  # the bound each engine's connections get, ms
_LOCK_BOUNDS_GUARD = threading.Lock()


def bound_lock_waits(engine: Engine, seconds: float) -> None:
    """Bound every lock wait on ``engine``'s connections to ``seconds``: PostgreSQL's ``lock_timeout`` (a
    statement that waited that long for a lock fails with SQLSTATE 55P03), SQLite's ``busy_timeout`` (a writer
    that waited that long for the write lock fails with "database is locked"). Set on each pooled connection at
    its next checkout; a transaction may lift it for itself (``SET LOCAL lock_timeout``: the day-end does).

    One listener per engine, registered by the first call: SQLAlchemy's listener list must not change while
    other threads check connections out (it did, once per ``Services`` made on a shared engine, and a checkout
    in another thread failed with "deque mutated during iteration"). A later call only changes the bound."""
    milliseconds = max(1, round(seconds * 1000))  # 0 would mean "no bound" to both databases
    with _LOCK_BOUNDS_GUARD:
        first = engine not in _LOCK_BOUNDS
        _LOCK_BOUNDS[engine] = milliseconds
    if not first:
        return
    sqlite = engine.dialect.name == "sqlite"

    @event.listens_for(engine, "checkout")
    def _bound(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        bound = _LOCK_BOUNDS.get(engine, milliseconds)
        if record.info.get(_LOCK_BOUND) == bound:
            return
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {bound}" if sqlite else f"SET lock_timeout = {bound}")
        cursor.close()
        if not sqlite:
            dbapi_connection.commit()  # psycopg began a transaction for the SET: end it, keeping the setting
        record.info[_LOCK_BOUND] = bound


def is_busy(error: DBAPIError) -> bool:
    """The database gave up on a lock (a wait past the bound, a deadlock's or a serialization conflict's loser):
    a temporary failure, not a bug, and the whole transaction was rolled back."""
    if getattr(error.orig, "sqlstate", None) in BUSY_SQLSTATES:
        return True
    # SQLITE_BUSY (5) and SQLITE_LOCKED (6), with extended codes in the high bits (https://sqlite.org/rescode.html)
    code = getattr(error.orig, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (5, 6)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or migrate the schema (``arrears db upgrade``). A store already at the head is only read: every CLI
    call on SQLite comes here first, and a writing transaction would queue it behind a day-end for nothing."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if revision == "head":
        with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
        if current == set(ScriptDirectory.from_config(config).get_heads()):
            return
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
