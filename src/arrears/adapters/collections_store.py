"""The store's side of collections: delinquent accounts after a day-end, their flags and contact history as the
columnar planner's arrays, and the plan with its outbox written back (tables.py says what each table holds)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import Connection, insert, select

from arrears.adapters import bulk
from arrears.adapters import tables as t
from arrears.collections.planning import CHANNEL_CODES, PROMISES, STATUS_BITS, Accounts, History
from arrears.collections.policy import Channel, Status

_ACCOUNTS = pa.schema(
    [
        pa.field("loan_id", pa.int64()),
        pa.field("borrower_id", pa.int64()),
        pa.field("days_past_due", pa.int32()),
        pa.field("bucket", pa.int8()),
        pa.field("overdue", pa.int64()),
        pa.field("timezone", pa.string()),
    ]
)


def delinquent(connection: Connection, closed: date) -> pa.Table:
    """Every account with something overdue after day-end ``closed`` (unpaid on installments due by then, less
    held credit), by loan: its borrower, days past due, bucket code, amount overdue and the borrower's zone."""
    day = closed.isoformat()
    owed = "i.principal_due + i.interest_due + i.penalty_due + i.compound_due"
    query = (
        "SELECT s.loan_id, l.borrower_id, s.days_past_due, s.bucket, "
        f"SUM({owed}) - s.unapplied AS overdue, b.timezone "
        "FROM day_end_state s JOIN loans l ON l.id = s.loan_id JOIN borrowers b ON b.id = l.borrower_id "
        f"JOIN day_end_installments i ON i.loan_id = s.loan_id AND i.due <= '{day}' "
        f"WHERE s.closed_through = '{day}' "
        "GROUP BY s.loan_id, l.borrower_id, s.days_past_due, s.bucket, s.unapplied, b.timezone "
        f"HAVING SUM({owed}) - s.unapplied > 0 ORDER BY s.loan_id"
    )
    return bulk.read(connection, query, _ACCOUNTS)


def forgotten(connection: Connection, closed: date) -> list[tuple[int, int, str]]:
    """Open loans started by ``closed`` without a day-end state as of it (a command changed their past and the
    next day-end rebuilds them): (loan, borrower, the borrower's zone)."""
    day = closed.isoformat()
    rows = connection.exec_driver_sql(
        "SELECT l.id, l.borrower_id, b.timezone FROM loans l JOIN borrowers b ON b.id = l.borrower_id "
        f"LEFT JOIN day_end_state s ON s.loan_id = l.id AND s.closed_through = '{day}' "
        f"WHERE s.loan_id IS NULL AND l.status = 'open' AND l.start_date <= '{day}' ORDER BY l.id"
    )
    return [(row[0], row[1], row[2]) for row in rows]


def accounts_of(connection: Connection, table: pa.Table, day: date) -> Accounts:
    """The planner's arrays for ``table``'s accounts, with the flags in force during ``day``."""
    count = table.num_rows
    loans = table.column("loan_id").to_numpy()
    borrowers = table.column("borrower_id").to_numpy()
    statuses = np.zeros(count, np.int32)
    opted_out = np.zeros(count, np.int32)
    consent = np.zeros(count, bool)
    validation = np.full(count, -1, np.int32)
    flags = t.account_flags
    rows = connection.execute(
        select(flags.c.borrower_id, flags.c.loan_id, flags.c.kind, flags.c.since).where(
            flags.c.since <= day, (flags.c.until.is_(None)) | (flags.c.until > day)
        )
    )
    by_borrower: dict[int, list[Any]] = {}
    for row in rows:
        by_borrower.setdefault(row.borrower_id, []).append(row)
    for i in np.flatnonzero(np.isin(borrowers, list(by_borrower))):
        for flag in by_borrower[int(borrowers[i])]:
            if flag.loan_id is not None and flag.loan_id != int(loans[i]):
                continue
            kind = flag.kind
            if kind in Status.__members__.values():
                statuses[i] |= STATUS_BITS[Status(kind)]
            elif kind.startswith("opted_out:"):
                opted_out[i] |= 1 << CHANNEL_CODES[Channel(kind.removeprefix("opted_out:"))]
            elif kind == "automated_consent":
                consent[i] = True
            elif kind == "validation_notice":
                validation[i] = flag.since.toordinal()
    first = _first_contacts(connection, loans)
    return Accounts(
        loan=loans.astype(np.int64),
        borrower=borrowers.astype(np.int64),
        days_past_due=table.column("days_past_due").to_numpy().astype(np.int32),
        bucket=table.column("bucket").to_numpy().astype(np.int8),
        overdue=table.column("overdue").to_numpy().astype(np.int64),
        segment=np.zeros(count, np.int32),  # segments are not modelled in the store yet: every account in ""
        segments=("",),
        promise=np.full(count, PROMISES.index("none"), np.int8),  # promises to pay: not built yet
        statuses=statuses,
        opted_out=opted_out,
        automated_consent=consent,
        first_contact=first,
        validation_notice_sent=validation,
    )


def _first_contacts(connection: Connection, loans: np.ndarray) -> np.ndarray:
    c = t.contacts.c
    first = np.full(len(loans), -1, np.int32)
    rows = connection.execute(select(c.loan_id, c.local_day).group_by(c.loan_id, c.local_day).order_by(c.local_day))
    seen: dict[int, int] = {}
    for row in rows:
        seen.setdefault(row.loan_id, row.local_day.toordinal())
    at = np.searchsorted(loans, np.array(list(seen), np.int64))
    for position, (loan, day) in zip(at.tolist(), seen.items(), strict=True):
        if position < len(loans) and loans[position] == loan:
            first[position] = day
    return first


def history(connection: Connection, day: date, days: int = 7) -> History:
    """Contacts made in the ``days`` days up to ``day`` (local days), by the lender and every agency."""
    c = t.contacts.c
    rows = connection.execute(
        select(c.borrower_id, c.loan_id, c.channel, c.local_day).where(
            c.local_day > day - timedelta(days=days), c.local_day <= day
        )
    ).all()
    return History(
        np.array([r.borrower_id for r in rows], np.int64),
        np.array([r.loan_id for r in rows], np.int64),
        np.array([CHANNEL_CODES[Channel(r.channel)] for r in rows], np.int8),
        np.array([r.local_day.toordinal() for r in rows], np.int32),
    )


def planned(connection: Connection, day: date) -> str | None:
    """The strategy that planned ``day``, if it was planned."""
    row = connection.execute(select(t.collection_days.c.strategy).where(t.collection_days.c.day == day)).first()
    return None if row is None else str(row.strategy)


def write_plan(connection: Connection, day: date, strategy: str, rows: Sequence[dict[str, Any]], now: datetime) -> None:
    """The day's plan and, for each allowed contact, an outbox row: one transaction with the day's mark."""
    connection.execute(insert(t.collection_days).values(day=day, strategy=strategy, planned_at=now))
    if not rows:
        return
    ids = connection.execute(
        insert(t.collection_plans).returning(t.collection_plans.c.id, sort_by_parameter_order=True),
        [{"day": day, **{k: v for k, v in row.items() if k != "timezone"}} for row in rows],
    ).scalars()
    outbox = [
        {
            "plan_id": plan_id,
            "borrower_id": row["borrower_id"],
            "loan_id": row["loan_id"],
            "channel": row["channel"],
            "template": row["template"],
            "due_at": row["scheduled"],
            "status": "pending",
            "attempts": 0,
            "created_at": now,
        }
        for plan_id, row in zip(ids, rows, strict=True)
        if row["decision"] == "allowed" and row["channel"] is not None
    ]
    if outbox:
        connection.execute(insert(t.outbox), outbox)


def plan_of(connection: Connection, day: date) -> list[dict[str, Any]]:
    """The stored plan of ``day``, each action with its borrower's zone (``timezone``)."""
    p = t.collection_plans
    statement = (
        select(p, t.borrowers.c.timezone)
        .join(t.borrowers, t.borrowers.c.id == p.c.borrower_id)
        .where(p.c.day == day)
        .order_by(p.c.id)
    )
    return [dict(row._mapping) for row in connection.execute(statement)]


def record_contact(connection: Connection, values: dict[str, Any]) -> int:
    return int(connection.execute(insert(t.contacts).values(**values)).inserted_primary_key[0])  # type: ignore[index]


def add_flag(connection: Connection, values: dict[str, Any]) -> int:
    return int(connection.execute(insert(t.account_flags).values(**values)).inserted_primary_key[0])  # type: ignore[index]
