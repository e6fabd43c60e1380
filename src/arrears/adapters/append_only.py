"""The ledger's append-only guard, installed by the migrations: triggers that refuse UPDATE and DELETE (and
TRUNCATE on PostgreSQL) on the posting tables. Corrections are new entries, never edits."""

from __future__ import annotations

from typing import Any  # alembic.op: a module that proxies Operations

APPEND_ONLY = ("ledger_entries", "postings")


def refuse_changes(op: Any, table: str) -> None:
    """Postings are append-only: UPDATE and DELETE (and TRUNCATE on PostgreSQL) fail; corrections are reversals."""
    message = f"arrears: {table} is append-only; post a reversal instead"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION arrears_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'arrears: % is append-only; post a reversal instead', TG_TABLE_NAME; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION arrears_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION arrears_append_only()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )


def allow_changes(op: Any, table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        return
    for action in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
