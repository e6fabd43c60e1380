"""Credit reporting in the store: consents, the months reported and their records, new-delinquency events,
disputes and pre-notices (``credit_*`` tables): the rows :mod:`arrears.service_layer.credit_reporting` reads and
writes. Every function takes the caller's connection and never commits. A month or a delinquency is claimed by
a unique key inside a savepoint, so of two runs racing the second learns it lost and writes nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from arrears.adapters import tables as t
from arrears.inputs import max_length

CONSENT_DOCUMENT_MAX = max_length(t.credit_consents.c.document)
"""The most characters a consent's document reference keeps."""


class LoanOfProduct(NamedTuple):
    """A loan, its borrower and its line's product snapshot (JSON)."""

    id: int
    borrower_id: int
    product_document: str


class EmittedRecord(NamedTuple):
    """A record emitted to the bureau: the loan, the month, the month it corrects (if any) and its JSON."""

    loan_id: int
    period: date
    corrects: date | None
    payload: str


class MonthRecord(NamedTuple):
    """A record stored with a month's report, emitted or held back (with the reason)."""

    loan_id: int
    borrower_id: int
    emitted: bool
    held_reason: str | None
    payload: str
    corrects: date | None


@dataclass(frozen=True, slots=True)
class DisputeRecord:
    """A borrower's dispute of a reported month, and its answer once given."""

    id: int
    loan_id: int
    borrower_id: int
    jurisdiction: str
    period: date
    received_on: date
    answer_by: date
    claim: str
    flag_id: int | None
    outcome: str | None
    resolved_on: date | None
    resolution: str | None
    recorded_at: datetime


def add_consent(connection: Connection, *, borrower_id: int, signed_on: date, document: str, now: datetime) -> int:
    """Record one borrower's consent; its id."""
    inserted = connection.execute(
        insert(t.credit_consents).values(
            borrower_id=borrower_id, signed_on=signed_on, document=document, recorded_at=now
        )
    )
    return int(inserted.inserted_primary_key[0])  # type: ignore[index]


def borrowers_without_consent(connection: Connection) -> list[int]:
    """Every borrower with no consent on file, in the store's order."""
    known = set(connection.execute(select(t.credit_consents.c.borrower_id)).scalars())
    return [b for b in connection.execute(select(t.borrowers.c.id)).scalars() if b not in known]


def add_consents(connection: Connection, borrowers: list[int], signed_on: date, document: str, now: datetime) -> None:
    """Record one consent per borrower, in one statement."""
    connection.execute(
        insert(t.credit_consents),
        [{"borrower_id": b, "signed_on": signed_on, "document": document, "recorded_at": now} for b in borrowers],
    )


def consented_by(connection: Connection, day: date) -> set[int]:
    """The borrowers with a consent signed on or before ``day``."""
    c = t.credit_consents.c
    return set(connection.execute(select(c.borrower_id).where(c.signed_on <= day)).scalars())


def pre_notices(connection: Connection) -> dict[int, list[date]]:
    """Every pre-notice sent, by loan: the days sent."""
    p = t.credit_pre_notices.c
    found: dict[int, list[date]] = {}
    for row in connection.execute(select(p.loan_id, p.sent_on)):
        found.setdefault(row.loan_id, []).append(row.sent_on)
    return found


def loans_started_by(connection: Connection, day: date) -> list[LoanOfProduct]:
    """Loans started on or before ``day``, by id, each with its line's product snapshot."""
    rows = connection.execute(
        select(t.loans.c.id, t.loans.c.borrower_id, t.credit_lines.c.product_document)
        .join(t.credit_lines, t.credit_lines.c.id == t.loans.c.line_id)
        .where(t.loans.c.start_date <= day)
        .order_by(t.loans.c.id)
    )
    return [LoanOfProduct(row.id, row.borrower_id, row.product_document) for row in rows]


def line_product_document(connection: Connection, line_id: int) -> str:
    """The product snapshot (JSON) of line ``line_id``."""
    document: str = connection.execute(
        select(t.credit_lines.c.product_document).where(t.credit_lines.c.id == line_id)
    ).scalar_one()
    return document


def emitted_records(connection: Connection, jurisdiction: str) -> list[EmittedRecord]:
    """Every record emitted in ``jurisdiction``, in the order stored."""
    r = t.credit_records.c
    rows = connection.execute(
        select(r.loan_id, r.period, r.corrects, r.payload)
        .where(r.jurisdiction == jurisdiction, r.emitted.is_(True))
        .order_by(r.id)
    )
    return [EmittedRecord(row.loan_id, row.period, row.corrects, row.payload) for row in rows]


def month_reported(connection: Connection, period: date, jurisdiction: str) -> bool:
    """Whether the month ending ``period`` was reported in ``jurisdiction``."""
    reports = t.credit_reports.c
    row = connection.execute(
        select(reports.period).where(reports.period == period, reports.jurisdiction == jurisdiction)
    ).first()
    return row is not None


def month_records(connection: Connection, period: date, jurisdiction: str) -> list[MonthRecord]:
    """The records stored with a month's report, by loan, in the order stored."""
    r = t.credit_records.c
    rows = connection.execute(
        select(r.loan_id, r.borrower_id, r.emitted, r.held_reason, r.payload, r.corrects)
        .where(r.period == period, r.jurisdiction == jurisdiction)
        .order_by(r.loan_id, r.id)
    )
    return [MonthRecord(*row) for row in rows]


def claim_month(connection: Connection, period: date, jurisdiction: str, now: datetime) -> bool:
    """Record the month as reported; False when another run of the same month committed first (its records
    stand; the savepoint rolls back only this insert)."""
    try:
        with connection.begin_nested():
            connection.execute(
                insert(t.credit_reports).values(period=period, jurisdiction=jurisdiction, reported_at=now)
            )
    except IntegrityError:
        return False
    return True


def add_month_records(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Store a month's records (emitted and held), in one statement."""
    connection.execute(insert(t.credit_records), rows)


def reported_record(connection: Connection, loan_id: int, jurisdiction: str, period: date) -> int | None:
    """The id of a record emitted of the loan for the month ending ``period`` (the month's or a correction of it)."""
    r = t.credit_records.c
    told = connection.execute(
        select(r.id).where(
            r.loan_id == loan_id,
            r.jurisdiction == jurisdiction,
            r.emitted.is_(True),
            ((r.period == period) & r.corrects.is_(None)) | (r.corrects == period),
        )
    ).first()
    return None if told is None else int(told.id)


def add_dispute(connection: Connection, **values: Any) -> int:
    """Record a dispute; its id."""
    return int(connection.execute(insert(t.credit_disputes).values(**values)).inserted_primary_key[0])  # type: ignore[index]


def dispute(connection: Connection, dispute_id: int) -> DisputeRecord | None:
    """The dispute ``dispute_id`` (None when there is none)."""
    d = t.credit_disputes.c
    row = connection.execute(select(t.credit_disputes).where(d.id == dispute_id)).first()
    return None if row is None else DisputeRecord(**row._mapping)


def resolve_dispute(connection: Connection, dispute_id: int, outcome: str, on: date, resolution: str) -> None:
    """Record a dispute's answer."""
    d = t.credit_disputes.c
    connection.execute(
        t.credit_disputes.update()
        .where(d.id == dispute_id)
        .values(outcome=outcome, resolved_on=on, resolution=resolution)
    )


def end_flag(connection: Connection, flag_id: int, on: date) -> None:
    """End an account flag on ``on``."""
    flags = t.account_flags
    connection.execute(flags.update().where(flags.c.id == flag_id).values(until=on))


def disputes(connection: Connection) -> list[DisputeRecord]:
    """Every dispute, open ones first, then by deadline."""
    d = t.credit_disputes.c
    rows = connection.execute(select(t.credit_disputes).order_by(d.resolved_on.is_not(None), d.answer_by, d.id))
    return [DisputeRecord(**row._mapping) for row in rows]


def past_due_loans(connection: Connection) -> set[int]:
    """The loans past due in the day-end's state."""
    s = t.day_end_state.c
    return set(connection.execute(select(s.loan_id).where(s.days_past_due > 0)).scalars())


def tell_delinquency(connection: Connection, **values: Any) -> bool:
    """Record a new-delinquency event; False when another run told this delinquency first (a unique key)."""
    try:
        with connection.begin_nested():
            connection.execute(insert(t.credit_events).values(**values))
    except IntegrityError:
        return False
    return True


def event_delinquencies(connection: Connection, jurisdiction: str) -> set[tuple[int, date]]:
    """(loan, date of first delinquency) of every event record emitted in ``jurisdiction``."""
    e = t.credit_events.c
    return {
        (row.loan_id, row.first_delinquency)
        for row in connection.execute(select(e.loan_id, e.first_delinquency).where(e.jurisdiction == jurisdiction))
    }


def negative_payloads(connection: Connection, jurisdiction: str) -> list[tuple[int, str]]:
    """(loan, JSON) of every negative monthly record emitted in ``jurisdiction``."""
    r = t.credit_records.c
    rows = connection.execute(
        select(r.loan_id, r.payload).where(r.jurisdiction == jurisdiction, r.emitted.is_(True), r.negative.is_(True))
    )
    return [(row.loan_id, row.payload) for row in rows]
