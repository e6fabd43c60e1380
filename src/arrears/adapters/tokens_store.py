"""API tokens in the store: random, kept only as a SHA-256 hash (a leaked table gives no token), revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from arrears.access import Principal, Role
from arrears.adapters import tables as t


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(
    connection: Connection, *, role: Role, borrower: int | None, agency: str | None, label: str, now: datetime
) -> tuple[int, str]:
    """A new token: (its id, the token itself, shown once and never stored)."""
    token = secrets.token_urlsafe(32)
    row = connection.execute(
        insert(t.api_tokens).values(
            token_hash=digest(token),
            role=role.value,
            borrower_id=borrower,
            agency=agency,
            label=label,
            created_at=now,
        )
    )
    return int(row.inserted_primary_key[0]), token  # type: ignore[index]


def principal_of(connection: Connection, token: str) -> Principal | None:
    """The caller a token stands for, or None (unknown or revoked)."""
    a = t.api_tokens.c
    row = connection.execute(
        select(a.id, a.role, a.borrower_id, a.agency).where(a.token_hash == digest(token), a.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    return Principal(row.id, Role(row.role), row.borrower_id, row.agency)


def revoke(connection: Connection, token_id: int, now: datetime) -> bool:
    a = t.api_tokens.c
    done = connection.execute(
        update(t.api_tokens).where(a.id == token_id, a.revoked_at.is_(None)).values(revoked_at=now)
    )
    return done.rowcount == 1
