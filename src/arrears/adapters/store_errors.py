"""The store's two errors: an id that names nothing (:class:`NotFound`) and a row changed under a lock
(:class:`ConcurrencyConflict`). Every store module raises these; :mod:`arrears.adapters.store` re-exports them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from arrears.errors import InputRejected


class NotFound(InputRejected):
    """An id that names nothing (or something closed); the message says which and how to list what exists."""

    public = False
    """Whether anyone may be told it does not exist (a product's code). Otherwise a borrower or an agency asking
    is answered as for a record not theirs (:func:`arrears.access.refusal_for_missing`)."""


class ConcurrencyConflict(RuntimeError):
    """A row changed under a command despite its lock: a bug or a misconfigured database, never bad input."""


def for_update(connection: Connection, statement: Any) -> Any:
    """``statement`` locking the rows it reads on PostgreSQL (SQLite's writer already holds the write lock)."""
    return statement.with_for_update() if connection.dialect.name == "postgresql" else statement
