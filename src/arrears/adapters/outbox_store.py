"""The outbox in the store: claiming due messages for a dispatcher, what each needs to be written, and how each
attempt ended (arrears.collections.outbox has the rules, arrears.service_layer.dispatch the loop)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from arrears.adapters import tables as t
from arrears.collections.outbox import LEASE, OutboxStatus


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message claimed for one attempt, with what its text needs."""

    id: int
    plan_day: date
    jurisdiction: str
    borrower: int
    loan: int
    channel: str
    template: str | None
    due_at: datetime  # UTC
    claimed_at: datetime
    attempts: int  # this attempt's number
    name: str
    language: str
    timezone: str
    days_past_due: int
    overdue: int
    product_document: str


def claim(connection: Connection, now: datetime, limit: int) -> list[Claimed]:
    """Claim up to ``limit`` messages due by ``now``: pending ones whose next attempt is due, and ones a
    dispatcher claimed more than :data:`LEASE` ago without saying how it went (it crashed: sending again under
    the same key is safe, the receiver drops the copy). On PostgreSQL two dispatchers never claim the same row
    (``FOR UPDATE SKIP LOCKED``); SQLite has one writer at a time."""
    now = now.astimezone(UTC)  # moments are stored in UTC (SQLite keeps no offset: compare like with like)
    o = t.outbox.c
    due = or_(
        and_(o.status == OutboxStatus.PENDING, or_(o.next_attempt_at.is_(None), o.next_attempt_at <= now)),
        and_(o.status == OutboxStatus.SENDING, o.claimed_at <= now - LEASE),
    )
    ids = select(o.id).where(o.due_at <= now, due).order_by(o.due_at, o.id).limit(limit)
    if connection.dialect.name == "postgresql":
        ids = ids.with_for_update(skip_locked=True)
    chosen = [row.id for row in connection.execute(ids)]
    if not chosen:
        return []
    connection.execute(
        update(t.outbox)
        .where(o.id.in_(chosen))
        .values(status=OutboxStatus.SENDING, claimed_at=now, attempts=o.attempts + 1)
    )
    p, b, days = t.collection_plans.c, t.borrowers.c, t.collection_days.c
    rows = connection.execute(
        select(
            o.id,
            p.day.label("plan_day"),
            days.jurisdiction,
            o.borrower_id,
            o.loan_id,
            o.channel,
            o.template,
            o.due_at,
            o.claimed_at,
            o.attempts,
            b.name,
            b.language,
            b.timezone,
            p.days_past_due,
            p.overdue,
            t.credit_lines.c.product_document,
        )
        .join(t.collection_plans, p.id == o.plan_id)
        .join(t.collection_days, days.day == p.day)
        .join(t.borrowers, b.id == o.borrower_id)
        .join(t.loans, t.loans.c.id == o.loan_id)
        .join(t.credit_lines, t.credit_lines.c.id == t.loans.c.line_id)
        .where(o.id.in_(chosen))
        .order_by(o.due_at, o.id)
    )
    return [
        Claimed(
            id=row.id,
            plan_day=row.plan_day,
            jurisdiction=row.jurisdiction or "cn",  # days planned before the column existed ran the cn pack
            borrower=row.borrower_id,
            loan=row.loan_id,
            channel=row.channel,
            template=row.template,
            due_at=_utc(row.due_at),
            claimed_at=_utc(row.claimed_at),
            attempts=row.attempts,
            name=row.name,
            language=row.language,
            timezone=row.timezone,
            days_past_due=row.days_past_due or 0,
            overdue=row.overdue or 0,
            product_document=row.product_document,
        )
        for row in rows
    ]


def statuses_in_force(
    connection: Connection, borrowers: Sequence[int], day: date
) -> dict[int, list[tuple[int | None, str]]]:
    """For each borrower: the (loan or None for every loan, status) flags and open complaints in force on ``day``."""
    if not borrowers:
        return {}
    f, c = t.account_flags.c, t.complaints.c
    found: dict[int, list[tuple[int | None, str]]] = {}
    flags = connection.execute(
        select(f.borrower_id, f.loan_id, f.kind).where(
            f.borrower_id.in_(borrowers), f.since <= day, or_(f.until.is_(None), f.until > day)
        )
    )
    for row in flags:
        found.setdefault(row.borrower_id, []).append((row.loan_id, row.kind))
    complaints = connection.execute(
        select(c.borrower_id, c.loan_id).where(
            c.borrower_id.in_(borrowers), c.received_on <= day, or_(c.resolved_on.is_(None), c.resolved_on > day)
        )
    )
    for complaint in complaints:
        found.setdefault(complaint.borrower_id, []).append((complaint.loan_id, "open_complaint"))
    return found


def finish(connection: Connection, claimed: Claimed, values: dict[str, Any]) -> bool:
    """Record how the attempt ended, if the claim is still this dispatcher's (a lease that ran out may have
    passed the message to another): True when it was."""
    o = t.outbox.c
    result = connection.execute(
        update(t.outbox)
        .where(o.id == claimed.id, o.status == OutboxStatus.SENDING, o.claimed_at == claimed.claimed_at)
        .values(**values)
    )
    return result.rowcount == 1


def record_contact(connection: Connection, values: dict[str, Any]) -> None:
    connection.execute(insert(t.contacts).values(**values))


def counts(connection: Connection) -> dict[str, int]:
    """How many messages are in each status."""
    o = t.outbox.c
    rows = connection.execute(select(o.status, o.id).order_by(o.id))
    found: dict[str, int] = {}
    for row in rows:
        found[row.status] = found.get(row.status, 0) + 1
    return found


def _utc(moment: datetime) -> datetime:
    """SQLite gives stored moments back without their zone: they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
