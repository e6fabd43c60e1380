"""The SQL of what the console and the API read beside the handlers: whose a loan or a line is, where a loan is
placed, an account's records (transactions, books, credit records, contacts, promises, restrictions), the
strategy rule behind each planned action, the compliance log, and the read audit's batched insert.

Read-only (but for :func:`write_audit`), one snapshot each; every function returns typed records with money as
integer minor units: formatting is the door's (the API's schemas, the pages' ``money`` filter). The service layer
reaches these through :mod:`arrears.service_layer.console`; entry points never import this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from arrears.adapters import collections_store as cs
from arrears.adapters import store
from arrears.adapters import tables as t
from arrears.inputs import max_length
from arrears.legal.court_orders import CourtOrder

LATEST = 200
"""The compliance log shows this many of the latest rows of each kind."""

TEXT_LIMITS: dict[str, int] = {
    "hardship.reason": max_length(t.hardship_plans.c.reason),
    "dispute.claim": max_length(t.credit_disputes.c.claim),
    "court_order.court": max_length(t.court_orders.c.court),
    "court_order.case_number": max_length(t.court_orders.c.case_number),
    "court_order.document_ref": max_length(t.court_orders.c.document_ref),
    "court_order.kind": max_length(t.court_orders.c.kind),
    "contact.channel": max_length(t.contacts.c.channel),
    "contact.outcome": max_length(t.contacts.c.outcome),
    "borrower.name": max_length(t.borrowers.c.name),
    "borrower.phone": max_length(t.borrowers.c.phone),
    "borrower.timezone": max_length(t.borrowers.c.timezone),
    "line.product": max_length(t.credit_lines.c.product_code),
}
"""The most characters each stored text field keeps (:func:`arrears.inputs.max_length` of its column), by a name
the API's request schemas use: a body is refused with a 422 before it could overflow a column."""


@dataclass(frozen=True, slots=True)
class TransactionRow:
    id: int
    kind: str
    value_date: date
    amount: int
    component: str | None
    reverses_id: int | None
    business_date: date
    source: str | None


@dataclass(frozen=True, slots=True)
class BookRow:
    """One ledger account's balance for a loan (accounts with a zero balance are left out)."""

    account: str
    balance: int


@dataclass(frozen=True, slots=True)
class CreditRow:
    period: date
    jurisdiction: str
    status: str
    negative: bool
    emitted: bool
    held_reason: str | None
    corrects: int | None


@dataclass(frozen=True, slots=True)
class ContactRow:
    at: datetime
    channel: str
    agency: str | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class PromiseRow:
    id: int
    amount: int
    made_on: date
    due: date
    agency: str | None
    status: str
    paid: int


@dataclass(frozen=True, slots=True)
class RestrictionRow:
    rule: str
    scope: str
    since: date
    days_past_due: int
    lifted_on: date | None
    withdrawn_on: date | None
    legal_basis: str


@dataclass(frozen=True, slots=True)
class AccountRecords:
    """Everything stored of one loan that the account page shows beside its replayed state."""

    transactions: tuple[TransactionRow, ...]
    books: tuple[BookRow, ...]
    credit: tuple[CreditRow, ...]
    contacts: tuple[ContactRow, ...]
    promises: tuple[PromiseRow, ...]
    restrictions: tuple[RestrictionRow, ...]


@dataclass(frozen=True, slots=True)
class RefusedAction:
    day: date
    loan_id: int
    action: str
    channel: str | None
    rule: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class CancelledMessage:
    id: int
    loan_id: int
    channel: str
    status: str
    last_error: str | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    origin: str
    action: str
    target: str


@dataclass(frozen=True, slots=True)
class ComplianceLog:
    refused: tuple[RefusedAction, ...]
    cancelled: tuple[CancelledMessage, ...]
    audit: tuple[AuditEntry, ...]


def loan(connection: Connection, loan_id: int) -> store.LoanRecord:
    """The stored loan (:class:`arrears.adapters.store.NotFound` when there is none)."""
    return store.get_loan(connection, loan_id)


def line_owner(connection: Connection, line_id: int) -> int:
    """The borrower whose credit line this is (:class:`~arrears.adapters.store.NotFound` when there is none)."""
    return int(store.get_line(connection, line_id).borrower_id)


def placed_with(connection: Connection, loan_id: int) -> set[str]:
    """The agency the loan is placed with now, as a set of none or one."""
    placement = cs.open_placements(connection).get(loan_id)
    return {placement.agency} if placement is not None else set()


def court_orders_of(connection: Connection, borrower_id: int) -> list[CourtOrder]:
    return store.court_orders_of(connection, borrower_id)


def account_records(connection: Connection, loan_id: int, line_id: int, agency: str | None) -> AccountRecords:
    """The loan's transactions (oldest first) and books, its credit records, contacts and promises (newest
    first), and its line's restrictions, lifted or not. An agency sees only its own contacts, and no
    restrictions (they are the line's: about the borrower's other loans too)."""
    c, p, r = t.contacts.c, t.promises.c, t.restrictions.c
    mine = select(c.at, c.channel, c.agency, c.outcome).where(c.loan_id == loan_id)
    if agency is not None:
        mine = mine.where(c.agency == agency)
    contacts = connection.execute(mine.order_by(c.at.desc(), c.id.desc())).all()
    promises = connection.execute(
        select(p.id, p.amount, p.made_on, p.due, p.agency, p.status, p.paid)
        .where(p.loan_id == loan_id)
        .order_by(p.id.desc())
    ).all()
    restrictions: Sequence[Any] = (
        connection.execute(
            select(r.rule, r.scope, r.since, r.days_past_due, r.lifted_on, r.withdrawn_on, r.legal_basis)
            .where(r.line_id == line_id)
            .order_by(r.id.desc())
        ).all()
        if agency is None
        else []
    )
    x, k = t.transactions.c, t.credit_records.c
    transactions = connection.execute(
        select(x.id, x.kind, x.value_date, x.amount, x.component, x.reverses_id, x.business_date, x.source)
        .where(x.loan_id == loan_id)
        .order_by(x.id)
    ).all()
    books = store.ledger_balances(connection, loan_id)
    credit = connection.execute(
        select(k.period, k.jurisdiction, k.status, k.negative, k.emitted, k.held_reason, k.corrects)
        .where(k.loan_id == loan_id)
        .order_by(k.period.desc(), k.id.desc())
    ).all()
    return AccountRecords(
        transactions=tuple(TransactionRow(**row._mapping) for row in transactions),
        books=tuple(BookRow(str(account), amount) for account, amount in books.items() if amount),
        credit=tuple(CreditRow(**row._mapping) for row in credit),
        contacts=tuple(ContactRow(**row._mapping) for row in contacts),
        promises=tuple(PromiseRow(**row._mapping) for row in promises),
        restrictions=tuple(RestrictionRow(**row._mapping) for row in restrictions),
    )


def strategy_rules(connection: Connection, day: date) -> dict[tuple[int, str, str | None], str]:
    """The strategy rule that planned each (loan, action, template) on ``day``."""
    return {
        (row["loan_id"], row["action"], row["template"]): row["strategy_rule"] for row in cs.plan_of(connection, day)
    }


def compliance_log(connection: Connection) -> ComplianceLog:
    """The latest :data:`LATEST` refused plan actions, messages cancelled (or expired, or dead) before they were
    sent, and audit-log rows, newest first."""
    plans, outbox, audit = t.collection_plans.c, t.outbox.c, t.audit_log.c
    refused = connection.execute(
        select(plans.day, plans.loan_id, plans.action, plans.channel, plans.rule, plans.reason)
        .where(plans.decision == "refused")
        .order_by(plans.day.desc(), plans.id.desc())
        .limit(LATEST)
    ).all()
    cancelled = connection.execute(
        select(outbox.id, outbox.loan_id, outbox.channel, outbox.status, outbox.last_error)
        .where(outbox.status.in_(("cancelled", "expired", "dead")))
        .order_by(outbox.id.desc())
        .limit(LATEST)
    ).all()
    trail = connection.execute(
        select(audit.at, audit.actor, audit.origin, audit.action, audit.target).order_by(audit.id.desc()).limit(LATEST)
    ).all()
    return ComplianceLog(
        refused=tuple(RefusedAction(**row._mapping) for row in refused),
        cancelled=tuple(CancelledMessage(**row._mapping) for row in cancelled),
        audit=tuple(AuditEntry(**row._mapping) for row in trail),
    )


def audit_row(*, now: datetime, actor: str, origin: str, action: str, target: str) -> dict[str, Any]:
    """One read's audit-log row (no details: a read changes nothing)."""
    return store.audit_row(now=now, actor=actor, origin=origin, action=action, target=target, details={})


def write_audit(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert queued audit rows (:func:`audit_row`) in one statement."""
    connection.execute(store.INSERT_AUDIT, list(rows))
