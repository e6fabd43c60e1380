"""The demo's own reads of the store (``arrears demo``): which borrowers and loans it picks to show a command on.

Nothing here is a rule of servicing: these pick examples. They read only; each returns plain ids.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, func, select

from arrears.adapters import tables as t


def borrower_ids(connection: Connection, limit: int) -> list[int]:
    """The first ``limit`` borrowers by id: the demo looks among them for one restricted and one not."""
    statement = select(t.borrowers.c.id).order_by(t.borrowers.c.id).limit(limit)
    return [row.id for row in connection.execute(statement)]


def first_borrower(connection: Connection) -> int | None:
    """The borrower with the smallest id (the demo issues that borrower's API token), or None in an empty store."""
    found: int | None = connection.execute(select(func.min(t.borrowers.c.id))).scalar_one()
    return found


def open_loans_past_due(connection: Connection, least: int, most: int, limit: int) -> list[int]:
    """Up to ``limit`` open loans, by id, whose last day-end left them ``least`` to ``most`` days past due: the
    candidates for the demo's hardship plan."""
    state, loans = t.day_end_state, t.loans
    statement = (
        select(state.c.loan_id)
        .join(loans, loans.c.id == state.c.loan_id)
        .where(loans.c.status == "open", state.c.days_past_due.between(least, most))
        .order_by(state.c.loan_id)
        .limit(limit)
    )
    return [row.loan_id for row in connection.execute(statement)]


def reported_loan(connection: Connection, month: date) -> int | None:
    """The smallest id of a loan whose record went into the credit file of ``month`` (the month's last day), or
    None: the loan the demo's borrower disputes."""
    records = t.credit_records
    statement = (
        select(records.c.loan_id)
        .where(records.c.period == month, records.c.emitted)
        .order_by(records.c.loan_id)
        .limit(1)
    )
    found: int | None = connection.execute(statement).scalar()
    return found
