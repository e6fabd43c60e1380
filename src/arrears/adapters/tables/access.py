"""Who did what, and who may: idempotency keys, the audit log and API tokens."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)

from arrears.adapters.tables.base import metadata

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("command", String(32), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("origin", String(256), nullable=False),
    Column("action", String(48), nullable=False),
    Column("target", String(64), nullable=False),
    Column("details", Text, nullable=False),  # JSON; phone numbers masked, never whole
)

# API tokens (arrears/adapters/tokens_store.py): a role and, for a borrower or an agency, whose data it opens;
# only the SHA-256 of the token is kept.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("borrower_id", ForeignKey("borrowers.id")),
    Column("agency", String(64)),
    Column("label", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

__all__ = ["api_tokens", "audit_log", "idempotency_keys"]
