"""What the console reads that the service layer has no query for yet: an account's contacts, promises and
restriction history, and the compliance log (refused actions, cancelled messages, the audit log's latest rows).
Read-only, one snapshot each; shown as they are stored (amounts as ``format_minor`` strings)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from arrears.adapters import collections_store as cs
from arrears.adapters import store
from arrears.adapters import tables as t
from arrears.money import format_minor
from arrears.service_layer.services import Services

LATEST = 200


def account_records(
    services: Services, loan_id: int, line_id: int, agency: str | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The loan's transactions and its books (the ledger, account by account), what the bureau was told of it
    month by month, its contacts and promises, newest first, and its line's restrictions (lifted or not)."""
    c, p, r = t.contacts.c, t.promises.c, t.restrictions.c
    with services.reading() as connection:
        mine = select(c.at, c.channel, c.agency, c.outcome).where(c.loan_id == loan_id)
        if agency is not None:  # an agency sees only its own contacts
            mine = mine.where(c.agency == agency)
        contacts = connection.execute(mine.order_by(c.at.desc(), c.id.desc())).all()
        promises = connection.execute(
            select(p.id, p.amount, p.made_on, p.due, p.agency, p.status, p.paid)
            .where(p.loan_id == loan_id)
            .order_by(p.id.desc())
        ).all()
        restrictions = (  # the line's: about the borrower's other loans too, so not an agency's to see
            connection.execute(
                select(r.rule, r.scope, r.since, r.days_past_due, r.lifted_on, r.withdrawn_on, r.legal_basis)
                .where(r.line_id == line_id)
                .order_by(r.id.desc())
            ).all()
            if agency is None
            else []
        )
        x = t.transactions.c
        transactions = connection.execute(
            select(x.id, x.kind, x.value_date, x.amount, x.component, x.reverses_id, x.business_date, x.source)
            .where(x.loan_id == loan_id)
            .order_by(x.id)
        ).all()
        books = store.ledger_balances(connection, loan_id)
        k = t.credit_records.c
        credit = connection.execute(
            select(k.period, k.jurisdiction, k.status, k.negative, k.emitted, k.held_reason, k.corrects)
            .where(k.loan_id == loan_id)
            .order_by(k.period.desc(), k.id.desc())
        ).all()
    return {
        "transactions": [{**row._mapping, "amount": format_minor(row.amount)} for row in transactions],
        "books": [
            {"account": str(account), "balance": format_minor(amount)} for account, amount in books.items() if amount
        ],
        "credit": [dict(row._mapping) for row in credit],
        "contacts": [dict(row._mapping) for row in contacts],
        "promises": [
            {**row._mapping, "amount": format_minor(row.amount), "paid": format_minor(row.paid)} for row in promises
        ],
        "restrictions": [dict(row._mapping) for row in restrictions],
    }


def strategy_rules(services: Services, day: date) -> dict[tuple[int, str, str | None], str]:
    """The strategy rule that planned each (loan, action, template) on ``day``: why the queue asks for it."""
    with services.reading() as connection:
        rows = cs.plan_of(connection, day)
    return {(row["loan_id"], row["action"], row["template"]): row["strategy_rule"] for row in rows}


def compliance_log(services: Services) -> dict[str, list[dict[str, Any]]]:
    """The latest refused plan actions (each with its rule and reason), messages cancelled before they were
    sent (with why), and audit-log rows (who did what to what; phone numbers are stored masked)."""
    plans, outbox, audit = t.collection_plans.c, t.outbox.c, t.audit_log.c
    with services.reading() as connection:
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
            select(audit.at, audit.actor, audit.origin, audit.action, audit.target)
            .order_by(audit.id.desc())
            .limit(LATEST)
        ).all()
    return {
        "refused": [dict(row._mapping) for row in refused],
        "cancelled": [dict(row._mapping) for row in cancelled],
        "audit": [dict(row._mapping) for row in trail],
    }
