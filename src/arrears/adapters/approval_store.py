"""Maker-checker requests in the store (``approvals``): the rows :mod:`arrears.service_layer.approvals` reads and
writes. Every function takes the caller's connection and never commits; a claim or a decision changes the row
only in the state it was read in, so of two deciders racing the second changes nothing and is told so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from arrears.adapters import tables as t


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    """One request as stored: the command, its JSON arguments and answer, who proposed and who decided."""

    id: int
    command: str
    loan_id: int | None
    arguments: str
    amount: int
    maker: str
    status: str
    proposed_on: date
    checker: str | None
    checker_role: str | None
    decided_on: date | None
    note: str | None
    result: str | None
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class RepaymentFacts:
    """A transaction as a reversal request needs it: its kind, loan and amount."""

    kind: str
    loan_id: int
    amount: int


def _record(row: Any) -> ApprovalRecord:
    return ApprovalRecord(**row._mapping)


def transaction_facts(connection: Connection, transaction_id: int) -> RepaymentFacts | None:
    """The transaction ``transaction_id`` (None when there is none)."""
    row = connection.execute(select(t.transactions).where(t.transactions.c.id == transaction_id)).first()
    return None if row is None else RepaymentFacts(row.kind, row.loan_id, row.amount)


def add_approval(connection: Connection, **values: Any) -> int:
    """Insert a request; its id."""
    return int(connection.execute(insert(t.approvals).values(**values)).inserted_primary_key[0])  # type: ignore[index]


def approval(connection: Connection, approval_id: int) -> ApprovalRecord | None:
    """The request ``approval_id`` (None when there is none)."""
    row = connection.execute(select(t.approvals).where(t.approvals.c.id == approval_id)).first()
    return None if row is None else _record(row)


def approvals(connection: Connection, status: str | None = None) -> list[ApprovalRecord]:
    """The requests, newest first (optionally in one status)."""
    query = select(t.approvals).order_by(t.approvals.c.id.desc())
    if status is not None:
        query = query.where(t.approvals.c.status == status)
    return [_record(row) for row in connection.execute(query)]


def claim(connection: Connection, approval_id: int, checker: str, role: str) -> bool:
    """Claim a pending request (or one this checker already claimed) for approving; False when it was taken."""
    a = t.approvals.c
    claimed = connection.execute(  # of two deciders racing, the second finds it taken and is refused
        update(t.approvals)
        .where(a.id == approval_id, (a.status == "pending") | ((a.status == "approving") & (a.checker == checker)))
        .values(status="approving", checker=checker, checker_role=role)
    )
    return bool(claimed.rowcount == 1)


def release(connection: Connection, approval_id: int) -> None:
    """Put a claimed request back in its maker's queue (the command it would run was refused)."""
    connection.execute(
        update(t.approvals)
        .where(t.approvals.c.id == approval_id)
        .values(status="pending", checker=None, checker_role=None)
    )


def mark_approved(connection: Connection, approval_id: int, decided_on: date, result: str) -> None:
    """Record a request approved on ``decided_on`` with its command's answer (JSON)."""
    connection.execute(
        update(t.approvals)
        .where(t.approvals.c.id == approval_id)
        .values(status="approved", decided_on=decided_on, result=result)
    )


def mark_rejected(connection: Connection, approval_id: int, checker: str, decided_on: date, note: str) -> bool:
    """Reject a request still pending; False when someone decided it meanwhile."""
    decided = connection.execute(
        update(t.approvals)
        .where(t.approvals.c.id == approval_id, t.approvals.c.status == "pending")
        .values(
            status="rejected",
            checker=checker,
            decided_on=decided_on,
            note=note,
        )
    )
    return bool(decided.rowcount == 1)
