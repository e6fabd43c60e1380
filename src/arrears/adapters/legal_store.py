"""Court cases in the store (``legal_cases``) and the facts of a loan's repayments the legal rules need: the rows
:mod:`arrears.service_layer.legal` reads and writes. Every function takes the caller's connection and never commits.
"""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import Connection, insert, select, update

from arrears.adapters import tables as t
from arrears.legal.escalation import CaseStatus, LegalCase


class CaseOrder(NamedTuple):
    """A court order recorded under a case's number: its id and kind."""

    id: int
    kind: str


def _case(row: Any) -> LegalCase:
    fields = {k: getattr(row, k) for k in LegalCase.__dataclass_fields__ if k not in ("id", "status")}
    return LegalCase(id=row.id, status=CaseStatus(row.status), **fields)


def _unreversed_repayments(loan_id: int) -> Any:
    """The where-clause of a loan's repayments that no reversal undid."""
    x = t.transactions.c
    reversed_ids = select(x.reverses_id).where(x.reverses_id.is_not(None))
    return (x.loan_id == loan_id, x.kind == "repayment", x.id.not_in(reversed_ids))


def last_repayment_date(connection: Connection, loan_id: int) -> date | None:
    """The value date of the loan's latest repayment not reversed (None when it has none)."""
    x = t.transactions.c
    last: date | None = connection.execute(
        select(x.value_date).where(*_unreversed_repayments(loan_id)).order_by(x.value_date.desc()).limit(1)
    ).scalar()
    return last


def repayments_after(connection: Connection, loan_id: int, after: date) -> list[tuple[date, int]]:
    """The loan's repayments not reversed, valued after ``after``: (value date, amount) each."""
    x = t.transactions.c
    paid = connection.execute(
        select(x.value_date, x.amount).where(*_unreversed_repayments(loan_id), x.value_date > after)
    ).all()
    return [(d, a) for d, a in paid]


def live_case(connection: Connection, loan_id: int) -> int | None:
    """The id of the loan's case neither closed nor withdrawn, if any."""
    c = t.legal_cases.c
    live = connection.execute(
        select(c.id).where(c.loan_id == loan_id, c.status.not_in(("closed", "withdrawn")))
    ).first()
    return None if live is None else int(live.id)


def add_case(connection: Connection, **values: Any) -> int:
    """Insert a case; its id."""
    return int(connection.execute(insert(t.legal_cases).values(**values)).inserted_primary_key[0])  # type: ignore[index]


def save_case(connection: Connection, case_id: int, **values: Any) -> None:
    """Write a case's moved columns."""
    connection.execute(update(t.legal_cases).where(t.legal_cases.c.id == case_id).values(**values))


def case(connection: Connection, case_id: int) -> LegalCase | None:
    """The case ``case_id`` (None when there is none)."""
    row = connection.execute(select(t.legal_cases).where(t.legal_cases.c.id == case_id)).first()
    return None if row is None else _case(row)


def cases(connection: Connection, loan_id: int | None = None) -> list[LegalCase]:
    """Every case (of one loan), newest first."""
    c = t.legal_cases.c
    query = select(t.legal_cases).order_by(c.id.desc())
    if loan_id is not None:
        query = query.where(c.loan_id == loan_id)
    return [_case(row) for row in connection.execute(query)]


def orders_of_cases(connection: Connection, numbers: list[str]) -> list[CaseOrder]:
    """The court orders recorded under any of these case numbers, oldest first."""
    o = t.court_orders.c
    rows = connection.execute(select(o.id, o.kind).where(o.case_number.in_(numbers)).order_by(o.id)).all()
    return [CaseOrder(row.id, row.kind) for row in rows]
