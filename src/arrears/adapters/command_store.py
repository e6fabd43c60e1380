"""What every command writes besides its own rows: its idempotency key with its answer, its audit rows, its
domain events; and the advisory lock that orders commands and the day-end (PostgreSQL). The unit of work
(:mod:`arrears.service_layer.unit_of_work`) calls these; it owns when they run."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    func,
    insert,
    select,
    text,
)

from arrears.adapters import tables as t

DAY_END_LOCK = int.from_bytes(b"arrears", "big")
"""The key of PostgreSQL's advisory lock between commands and the day-end
(:meth:`arrears.service_layer.unit_of_work.UnitOfWork.transaction`)."""
_HOLD_OFF_DAY_END = text("SELECT pg_advisory_xact_lock_shared(:key)").bindparams(key=DAY_END_LOCK)
# The day-end lifts the bound for its own transaction (set_config(..., true) is SET LOCAL), in the same statement
# and before the lock: a day-end waits for the commands in flight, however long they take, and never fails on it.
_HOLD_OFF_COMMANDS = text("SELECT pg_advisory_xact_lock(:key) FROM set_config('lock_timeout', '0', true)").bindparams(
    key=DAY_END_LOCK
)
INSERT_AUDIT = insert(t.audit_log)
_INSERT_EVENT = insert(t.domain_events)
_INSERT_KEY = insert(t.idempotency_keys)
_INSERT_AUDIT_AND_KEY = text(  # PostgreSQL: a command's audit row and its idempotency key in one round trip
    "WITH audit AS ("
    "INSERT INTO audit_log (at, actor, origin, action, target, details) "
    "VALUES (:audit_at, :audit_actor, :audit_origin, :audit_action, :audit_target, :audit_details)) "
    "INSERT INTO idempotency_keys (key, command, request_hash, response, created_at) "
    "VALUES (:key, :command, :request_hash, :response, :created_at)"
)


def hold_off(connection: Connection, *, day_end: bool) -> None:
    """Take the day-end lock first of all, shared for a command, exclusive for a day-end (PostgreSQL only:
    SQLite's one writer at a time already serialises them)."""
    if connection.dialect.name == "postgresql":
        connection.execute(_HOLD_OFF_COMMANDS if day_end else _HOLD_OFF_DAY_END)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """An idempotency key's row: the command it answered, its request's hash and its answer (JSON)."""

    command: str
    request_hash: str
    response: str


def stored_response(connection: Connection, key: str) -> StoredResponse | None:
    row = connection.execute(
        select(t.idempotency_keys.c.command, t.idempotency_keys.c.request_hash, t.idempotency_keys.c.response).where(
            t.idempotency_keys.c.key == key
        )
    ).first()
    return None if row is None else StoredResponse(row.command, row.request_hash, row.response)


def save_response(
    connection: Connection,
    *,
    key: str,
    command: str,
    request_hash: str,
    response: Any,
    now: datetime,
    audit_rows: Sequence[dict[str, Any]] = (),
) -> None:
    """Store an idempotency key with the answer its command gave (unique: a second insert of the key fails),
    and the command's audit rows held back for it (:func:`audit_row`). On PostgreSQL one audit row and the key go
    in one statement: one round trip less on every money command."""
    row = {
        "key": key,
        "command": command,
        "request_hash": request_hash,
        "response": json.dumps(response, sort_keys=True),
        "created_at": now,
    }
    if connection.dialect.name == "postgresql" and len(audit_rows) == 1:
        connection.execute(_INSERT_AUDIT_AND_KEY, {**row, **{f"audit_{k}": v for k, v in audit_rows[0].items()}})
        return
    for audit_values in audit_rows:
        connection.execute(INSERT_AUDIT, audit_values)
    connection.execute(_INSERT_KEY, row)


def audit_row(*, now: datetime, actor: str, origin: str, action: str, target: str, details: Any) -> dict[str, Any]:
    """The values of one audit-log row (details as JSON)."""
    return {
        "at": now,
        "actor": actor,
        "origin": origin,
        "action": action,
        "target": target,
        "details": json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
    }


def audit(
    connection: Connection, *, now: datetime, actor: str, origin: str, action: str, target: str, details: Any
) -> None:
    connection.execute(
        INSERT_AUDIT,
        audit_row(now=now, actor=actor, origin=origin, action=action, target=target, details=details),
    )


def record_event(
    connection: Connection, *, loan_id: int | None, kind: str, payload: Any, business_date: date, now: datetime
) -> None:
    connection.execute(
        _INSERT_EVENT,
        {
            "loan_id": loan_id,
            "kind": kind,
            "payload": json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str),
            "business_date": business_date,
            "created_at": now,
        },
    )


def insert_audit(connection: Connection, row: Mapping[str, Any]) -> None:
    """Insert one audit row made by :func:`audit_row`."""
    connection.execute(INSERT_AUDIT, row)


def last_day_end(connection: Connection) -> date | None:
    value: date | None = connection.execute(select(func.max(t.day_ends.c.business_date))).scalar()
    return value
