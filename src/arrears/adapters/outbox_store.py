"""The outbox in the store: claiming due messages for a dispatcher, what each needs to be written, and how each
attempt ended (arrears.collections.outbox has the rules, arrears.service_layer.dispatch the loop)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

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
    planned_at: datetime  # UTC: when the day was planned (a payment since makes the text's amount stale)
    action: str  # the plan's action (a contact, or credit_report_pre_notice)
    reclaimed: bool  # an earlier attempt's outcome is unknown (its dispatcher stopped): it may have gone out


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
    chosen_rows = connection.execute(ids.add_columns(o.status)).all()
    chosen = [row.id for row in chosen_rows]
    if not chosen:
        return []
    reclaimed = {row.id for row in chosen_rows if row.status == OutboxStatus.SENDING}
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
            days.planned_at,
            p.action,
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
            planned_at=_utc(row.planned_at),
            action=row.action,
            reclaimed=row.id in reclaimed,
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class SendContext:
    """What the dispatcher checks a message against just before it goes: the flags and open complaints in
    force for the borrower on the day (loan or None, kind), the borrower's contacts of the last seven local
    days (loan, channel, local day), the first day the loan was contacted, whether the loan is still open, and
    whether a repayment was posted to it since the day was planned."""

    flags: list[tuple[int | None, str, date]]
    contacts: list[tuple[int, str, date]]
    first_contact: date | None
    loan_open: bool
    paid_since_plan: bool


def send_context(connection: Connection, claimed: Claimed, day: date) -> SendContext:
    f, k, c, x = t.account_flags.c, t.complaints.c, t.contacts.c, t.transactions.c
    flags = [
        (row.loan_id, row.kind, row.since)
        for row in connection.execute(
            select(f.loan_id, f.kind, f.since).where(
                f.borrower_id == claimed.borrower, f.since <= day, or_(f.until.is_(None), f.until > day)
            )
        )
    ]
    flags += [
        (row.loan_id, "open_complaint", row.received_on)
        for row in connection.execute(
            select(k.loan_id, k.received_on).where(
                k.borrower_id == claimed.borrower,
                k.received_on <= day,
                or_(k.resolved_on.is_(None), k.resolved_on > day),
            )
        )
    ]
    contacts = [
        (row.loan_id, row.channel, row.local_day)
        for row in connection.execute(
            select(c.loan_id, c.channel, c.local_day).where(
                c.borrower_id == claimed.borrower, c.local_day > day - timedelta(days=7), c.local_day <= day
            )
        )
    ]
    first = connection.execute(select(func.min(c.local_day)).where(c.loan_id == claimed.loan)).scalar_one()
    status = connection.execute(select(t.loans.c.status).where(t.loans.c.id == claimed.loan)).scalar_one()
    paid = connection.execute(
        select(x.id).where(x.loan_id == claimed.loan, x.kind == "repayment", x.created_at > claimed.planned_at).limit(1)
    ).first()
    return SendContext(flags, contacts, first, status == "open", paid is not None)


def add_flag(connection: Connection, values: dict[str, Any]) -> None:
    connection.execute(insert(t.account_flags).values(**values))


def record_pre_notice(connection: Connection, values: dict[str, Any]) -> None:
    """A credit-report pre-notice that went out (arrears.bureau.pre_notice)."""
    connection.execute(insert(t.credit_pre_notices).values(**values))


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
