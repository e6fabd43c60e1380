"""The store: reading and writing loans, lines, transactions and ledger entries over one SQL connection.

Every function here takes the connection of the caller's transaction and never commits: the unit of work in
:mod:`arrears.service_layer.services` decides when a command is done. Row locks (``FOR UPDATE``) are taken on
PostgreSQL; on SQLite the transaction already holds the database's write lock (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    RowMapping,
    Select,
    bindparam,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    union_all,
    update,
)

from arrears.adapters import tables as t
from arrears.domain.engine import (
    Acceleration,
    ChargeFreeze,
    LoanEvent,
    Payment,
    Reschedule,
    Settlement,
    Waiver,
    WriteOff,
)
from arrears.domain.ledger import Account, Balances
from arrears.domain.product import Product, parse_product
from arrears.domain.schedule import Schedule
from arrears.domain.terms import Component, InterestBasis, LoanTerms, Method, Prepayment
from arrears.errors import InputRejected
from arrears.legal.court_orders import CourtOrder, OrderKind
from arrears.money import RoundingMode

GENESIS_HASH = "0" * 64


class NotFound(InputRejected):
    """An id that names nothing (or something closed); the message says which and how to list what exists."""

    public = False
    """Whether anyone may be told it does not exist (a product's code). Otherwise a borrower or an agency asking
    is answered as for a record not theirs (:func:`arrears.access.refusal_for_missing`)."""


class ConcurrencyConflict(RuntimeError):
    """A row changed under a command despite its lock: a bug or a misconfigured database, never bad input."""


@dataclass(frozen=True, slots=True)
class LoanRecord:
    id: int
    line_id: int
    borrower_id: int
    terms: LoanTerms
    status: str
    outstanding_principal: int
    posted_through: date
    last_entry_hash: str
    version: int
    closed_through: date | None = None
    """The store's last completed day-end, read with the row (a command must post after it)."""
    day_end: tuple[date, bool, int, int] | None = None
    """The day-end's state of the loan, read with the row: the day it was closed through, and the loan's
    non-accrual flag and suspended interest and penalty then (None when the day-end has no state for it)."""

    def accrual_status(self, closed_through: date) -> tuple[bool, int, int] | None:
        """Non-accrual, suspended interest and penalty after day-end ``closed_through``, if stored as of it."""
        if self.day_end is None or self.day_end[0] != closed_through:
            return None
        return self.day_end[1:]


def _for_update(connection: Connection, statement: Any) -> Any:
    return statement.with_for_update() if connection.dialect.name == "postgresql" else statement


_TERMS_COLUMNS = (
    "principal",
    "daily_rate",
    "terms",
    "method",
    "start_date",
    "interest_basis",
    "penalty_multiplier",
    "compound_overdue_interest",
    "grace_days",
    "rounding",
    "allocation",
    "prepayment",
    "currency",
)


def terms_of(row: Row[Any] | Mapping[Any, Any]) -> LoanTerms:
    """The snapshot of terms stored with a loan."""
    values = row._mapping if isinstance(row, Row) else row
    return _terms(*(values[column] for column in _TERMS_COLUMNS))


@lru_cache(maxsize=65536)
def _terms(
    principal: int,
    daily_rate: str,
    terms: int,
    method: str,
    start: date,
    interest_basis: str,
    penalty_multiplier: str,
    compound_overdue_interest: bool,
    grace_days: int,
    rounding: str,
    allocation: str,
    prepayment: str,
    currency: str,
) -> LoanTerms:
    # Memoised: the same loan's terms are read on every command, and LoanTerms is a frozen value.
    return LoanTerms(
        principal=principal,
        daily_rate=Decimal(daily_rate),
        terms=terms,
        method=Method(method),
        start=start,
        interest_basis=InterestBasis(interest_basis),
        penalty_multiplier=Decimal(penalty_multiplier),
        compound_overdue_interest=compound_overdue_interest,
        grace_days=grace_days,
        rounding=RoundingMode(rounding),
        allocation=tuple(Component(part) for part in allocation.split(",")),
        prepayment=Prepayment(prepayment),
        currency=currency,
    )


def terms_columns(terms: LoanTerms) -> dict[str, Any]:
    return {
        "currency": terms.currency,
        "principal": terms.principal,
        "daily_rate": str(terms.daily_rate),
        "terms": terms.terms,
        "method": str(terms.method),
        "interest_basis": str(terms.interest_basis),
        "penalty_multiplier": str(terms.penalty_multiplier),
        "compound_overdue_interest": terms.compound_overdue_interest,
        "grace_days": terms.grace_days,
        "rounding": str(terms.rounding),
        "allocation": ",".join(str(c) for c in terms.allocation),
        "prepayment": str(terms.prepayment),
        "start_date": terms.start,
    }


# The hot path's queries, built once (SQLAlchemy then reuses their compiled form); FOR UPDATE renders nothing on
# SQLite, whose writers already hold the database's write lock.
EVENT_KINDS = ("repayment", "waiver", "write_off", "reschedule", "freeze", "settlement", "acceleration")
"""The transaction kinds that are loan events (a reversal is not: it takes its repayment out)."""
PLAN_KINDS = ("reschedule", "freeze", "settlement", "acceleration")
"""Events that change a loan's terms: the day-end's kernel does not run such a loan (the reference does)."""
_tx = t.transactions
_state = t.day_end_state.c
# The loan row with its day-end accrual status and the store's last day-end in one round trip (a command needs
# all three); only the loan row is locked (FOR UPDATE OF loans: the outer-joined state row may be missing).
_LOAN_ROWS = select(
    t.loans,
    _state.closed_through.label("day_end_closed_through"),
    _state.non_accrual.label("day_end_non_accrual"),
    _state.suspended_interest.label("day_end_suspended_interest"),
    _state.suspended_penalty.label("day_end_suspended_penalty"),
    select(func.max(t.day_ends.c.business_date)).scalar_subquery().label("store_closed_through"),
).outerjoin(t.day_end_state, _state.loan_id == t.loans.c.id)
_LOAN = _LOAN_ROWS.where(t.loans.c.id == bindparam("loan_id"))
_LOAN_FOR_UPDATE = _LOAN.with_for_update(of=t.loans)
_LOAN_EVENTS = (
    select(_tx.c.kind, _tx.c.value_date, _tx.c.amount, _tx.c.component, _tx.c.detail)
    # The kinds bound one by one: a plain IN list is an "expanding" parameter, rendered anew on every execution.
    .where(
        _tx.c.loan_id == bindparam("loan_id"),
        _tx.c.kind.in_([literal(k) for k in EVENT_KINDS]),
    )
    .where(
        _tx.c.id.not_in(
            select(_tx.c.reverses_id).where(_tx.c.loan_id == bindparam("loan_id"), _tx.c.reverses_id.is_not(None))
        )
    )
    .order_by(_tx.c.value_date, _tx.c.id)
)
_LOAN_EVENTS_EXCEPT = _LOAN_EVENTS.where(_tx.c.id != bindparam("excluding"))
_BOOKS = union_all(
    select(t.postings.c.account, t.postings.c.amount).where(t.postings.c.loan_id == bindparam("loan_id")),
    select(t.day_end_postings.c.account, t.day_end_postings.c.amount).where(
        t.day_end_postings.c.loan_id == bindparam("loan_id")
    ),
).subquery()
_LEDGER_BALANCES = select(_BOOKS.c.account, func.sum(_BOOKS.c.amount)).group_by(_BOOKS.c.account)
"""A loan's books: its entries' postings plus what day-ends posted to it."""
# The hot path's writes, built once too: building an insert() or update() per call costs more Python than
# executing it (statement construction and a fresh cache key each time).
_INSERT_TRANSACTION = insert(t.transactions)
_INSERT_ENTRY = insert(t.ledger_entries)
_INSERT_POSTINGS = insert(t.postings)
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
# PostgreSQL takes an entry and its postings in one statement, one round trip instead of two (SQLite cannot
# insert inside a WITH); the postings keep the order of the arrays, as the two statements' would.
_INSERT_ENTRY_AND_POSTINGS = text(
    "WITH entry AS ("
    "INSERT INTO ledger_entries "
    "(loan_id, transaction_id, kind, business_date, value_date, created_at, prev_hash, hash) "
    "VALUES (:loan_id, :transaction_id, :kind, :business_date, :value_date, :created_at, :prev_hash, :hash) "
    "RETURNING id) "
    "INSERT INTO postings (entry_id, loan_id, account, amount) "
    "SELECT entry.id, :loan_id, line.account, line.amount FROM entry, "
    "unnest(CAST(:accounts AS varchar[]), CAST(:amounts AS bigint[])) WITH ORDINALITY AS line(account, amount, n) "
    "ORDER BY line.n"
)
# SET takes the columns the parameters name; the WHERE parameters are named apart from the columns.
_SAVE_LOAN = update(t.loans).where(t.loans.c.id == bindparam("loan_id"), t.loans.c.version == bindparam("seen_version"))


def schedule_rows(loan_id: int, schedule: Schedule) -> list[dict[str, Any]]:
    """The ``installments`` rows of a loan's contractual schedule."""
    return [
        {
            "loan_id": loan_id,
            "number": row.number,
            "due_date": row.due_date,
            "principal": row.principal,
            "interest": row.interest,
        }
        for row in schedule
    ]


def get_loan(connection: Connection, loan_id: int, *, lock: bool = False) -> LoanRecord:
    row = connection.execute(_LOAN_FOR_UPDATE if lock else _LOAN, {"loan_id": loan_id}).first()
    if row is None:
        raise NotFound(f"no loan {loan_id}; check the id (arrears draw prints it)")
    return _record(row)


def _record(row: Row[Any]) -> LoanRecord:
    values = row._mapping
    return LoanRecord(
        id=values["id"],
        line_id=values["line_id"],
        borrower_id=values["borrower_id"],
        terms=terms_of(row),
        status=values["status"],
        outstanding_principal=values["outstanding_principal"],
        posted_through=values["posted_through"],
        last_entry_hash=values["last_entry_hash"],
        version=values["version"],
        closed_through=values.get("store_closed_through"),
        day_end=None
        if values.get("day_end_closed_through") is None
        else (
            values["day_end_closed_through"],
            bool(values["day_end_non_accrual"]),
            int(values["day_end_suspended_interest"]),
            int(values["day_end_suspended_penalty"]),
        ),
    )


def product_snapshot(document: Mapping[str, Any]) -> dict[str, str]:
    """The columns a credit line keeps of its product: the validated document as JSON, and its digest (lines
    on the same rules share it, so the day-end reads each set of rules once)."""
    text = json.dumps(document, ensure_ascii=False)
    return {"product_document": text, "product_digest": hashlib.sha256(text.encode()).hexdigest()}


@lru_cache(maxsize=64)
def line_product(document: str, where: str = "a line's product snapshot") -> Product:
    """A line's product from its stored snapshot (validated again: a snapshot is data from the store)."""
    return parse_product(json.loads(document), where)


def product_digests(connection: Connection, line_ids: Sequence[int], chunk: int = 5000) -> dict[int, str]:
    """Each line's product digest (see :func:`product_snapshot`)."""
    lines = t.credit_lines
    digests: dict[int, str] = {}
    for start in range(0, len(line_ids), chunk):
        statement = select(lines.c.id, lines.c.product_digest).where(lines.c.id.in_(line_ids[start : start + chunk]))
        digests.update({row.id: row.product_digest for row in connection.execute(statement)})
    return digests


def product_documents(connection: Connection, digests: set[str]) -> dict[str, str]:
    """One product snapshot for each digest."""
    lines = t.credit_lines
    first = (
        select(func.min(lines.c.id)).where(lines.c.product_digest.in_(sorted(digests))).group_by(lines.c.product_digest)
    )
    statement = select(lines.c.product_digest, lines.c.product_document).where(lines.c.id.in_(first))
    return {row.product_digest: row.product_document for row in connection.execute(statement)}


def get_line(connection: Connection, line_id: int, *, lock: bool = False) -> RowMapping:
    statement = select(t.credit_lines).where(t.credit_lines.c.id == line_id)
    row = connection.execute(_for_update(connection, statement) if lock else statement).first()
    if row is None:
        raise NotFound(f"no credit line {line_id}; check the id (arrears line open prints it)")
    return row._mapping


def get_borrower(connection: Connection, borrower_id: int) -> RowMapping:
    row = connection.execute(select(t.borrowers).where(t.borrowers.c.id == borrower_id)).first()
    if row is None:
        raise NotFound(f"no borrower {borrower_id}; check the id (arrears borrower add prints it)")
    return row._mapping


def add_court_order(connection: Connection, values: Mapping[str, Any]) -> int:
    return int(connection.execute(insert(t.court_orders).values(**values)).inserted_primary_key[0])  # type: ignore[index]


def get_court_order(connection: Connection, order_id: int, *, lock: bool = False) -> CourtOrder:
    statement = select(t.court_orders).where(t.court_orders.c.id == order_id)
    row = connection.execute(_for_update(connection, statement) if lock else statement).first()
    if row is None:
        raise NotFound(f"no court order {order_id}; check the id (court-order record prints it)")
    return _court_order(row._mapping)


def court_orders_of(connection: Connection, borrower_id: int) -> list[CourtOrder]:
    statement = select(t.court_orders).where(t.court_orders.c.borrower_id == borrower_id).order_by(t.court_orders.c.id)
    return [_court_order(row._mapping) for row in connection.execute(statement)]


def _court_order(values: RowMapping) -> CourtOrder:
    return CourtOrder(
        id=values["id"],
        borrower_id=values["borrower_id"],
        loan_id=values["loan_id"],
        court=values["court"],
        case_number=values["case_number"],
        document_ref=values["document_ref"],
        kind=OrderKind(values["kind"]),
        amount=values["amount"],
        issued_on=values["issued_on"],
        lifted_on=values["lifted_on"],
        lift_document_ref=values["lift_document_ref"],
    )


def line_reviews_of(connection: Connection, line_id: int) -> list[date]:
    statement = select(t.line_reviews.c.reviewed_on).where(t.line_reviews.c.line_id == line_id)
    return sorted(row[0] for row in connection.execute(statement))


def lines_of_loans(connection: Connection, loan_ids: Sequence[int], chunk: int = 5000) -> dict[int, int]:
    """Each loan's line."""
    found: dict[int, int] = {}
    for start in range(0, len(loan_ids), chunk):
        statement = select(t.loans.c.id, t.loans.c.line_id).where(t.loans.c.id.in_(loan_ids[start : start + chunk]))
        found.update({row.id: row.line_id for row in connection.execute(statement)})
    return found


def line_decisions_of(connection: Connection, line_id: int) -> frozenset[tuple[date, str]]:
    """The collections decisions taken on a line: (day, restriction rule)
    (arrears.restrictions.registry.line_history)."""
    d = t.restriction_decisions.c
    return frozenset(
        (row.decided_on, row.rule)
        for row in connection.execute(select(d.decided_on, d.rule).where(d.line_id == line_id))
    )


def line_decisions_of_lines(
    connection: Connection, line_ids: Sequence[int], chunk: int = 5000
) -> dict[int, frozenset[tuple[date, str]]]:
    """:func:`line_decisions_of` for many lines (lines without any left out)."""
    d = t.restriction_decisions.c
    found: dict[int, set[tuple[date, str]]] = {}
    for start in range(0, len(line_ids), chunk):
        statement = select(d.line_id, d.decided_on, d.rule).where(d.line_id.in_(line_ids[start : start + chunk]))
        for row in connection.execute(statement):
            found.setdefault(row.line_id, set()).add((row.decided_on, row.rule))
    return {line: frozenset(decisions) for line, decisions in found.items()}


def decisions_on(connection: Connection, day: date) -> dict[int, set[str]]:
    """The restriction rules collections decided to put on each line on ``day``."""
    d = t.restriction_decisions.c
    found: dict[int, set[str]] = {}
    for row in connection.execute(select(d.line_id, d.rule).where(d.decided_on == day)):
        found.setdefault(row.line_id, set()).add(row.rule)
    return found


def loans_of_line(connection: Connection, line_id: int) -> list[LoanRecord]:
    return [
        _record(row)
        for row in connection.execute(_LOAN_ROWS.where(t.loans.c.line_id == line_id).order_by(t.loans.c.id))
    ]


def loans_of_lines(connection: Connection, line_ids: Sequence[int], chunk: int = 5000) -> dict[int, list[int]]:
    """The ids of each line's loans, by line, in id order."""
    found: dict[int, list[int]] = {}
    for start in range(0, len(line_ids), chunk):
        statement = (
            select(t.loans.c.line_id, t.loans.c.id)
            .where(t.loans.c.line_id.in_(line_ids[start : start + chunk]))
            .order_by(t.loans.c.id)
        )
        for row in connection.execute(statement):
            found.setdefault(row.line_id, []).append(row.id)
    return found


def line_reviews_of_lines(connection: Connection, line_ids: Sequence[int], chunk: int = 5000) -> dict[int, list[date]]:
    """The days each line was reviewed, by line (lines never reviewed left out)."""
    reviews = t.line_reviews
    found: dict[int, list[date]] = {}
    for start in range(0, len(line_ids), chunk):
        statement = select(reviews.c.line_id, reviews.c.reviewed_on).where(
            reviews.c.line_id.in_(line_ids[start : start + chunk])
        )
        for row in connection.execute(statement.order_by(reviews.c.reviewed_on)):
            found.setdefault(row.line_id, []).append(row.reviewed_on)
    return found


def lines_of_borrower(connection: Connection, borrower_id: int) -> list[RowMapping]:
    statement = select(t.credit_lines).where(t.credit_lines.c.borrower_id == borrower_id).order_by(t.credit_lines.c.id)
    return [row._mapping for row in connection.execute(statement)]


def principal_forgiven_on_line(connection: Connection, line_id: int) -> int:
    """Principal that settlements at a discount forgave on the line's loans, from the books (``principal_forgiven``
    in the entries' postings and the day-ends')."""
    members = select(t.loans.c.id).where(t.loans.c.line_id == line_id)
    total = 0
    for table in (t.postings, t.day_end_postings):
        total += connection.execute(
            select(func.coalesce(func.sum(table.c.amount), 0)).where(
                table.c.loan_id.in_(members), table.c.account == Account.PRINCIPAL_FORGIVEN.value
            )
        ).scalar_one()
    return int(total)


def open_loans_outstanding(connection: Connection, line_id: int) -> list[int]:
    statement = select(t.loans.c.outstanding_principal).where(t.loans.c.line_id == line_id, t.loans.c.status == "open")
    return [row[0] for row in connection.execute(statement)]


def event_of(row: RowMapping) -> LoanEvent:
    kind, on = row["kind"], row["value_date"]
    if kind == "repayment":
        return Payment(on, row["amount"])
    if kind == "waiver":
        return Waiver(on, Component(row["component"]), row["amount"])
    if kind == "write_off":
        return WriteOff(on)
    detail = json.loads(row["detail"] or "{}")
    if kind == "reschedule":
        return Reschedule(on, tuple(date.fromisoformat(d) for d in detail["due_dates"]))
    if kind == "freeze":
        return ChargeFreeze(on, date.fromisoformat(detail["until"]))
    if kind == "settlement":
        return Settlement(on, row["amount"], date.fromisoformat(detail["pay_by"]))
    if kind == "acceleration":
        return Acceleration(on)
    raise ValueError(f"transaction kind {kind!r} is not a loan event")


def event_row(event: LoanEvent) -> tuple[str, int, str | None, str | None]:
    """How a loan event is kept in ``transactions``: kind, amount, component and detail (JSON)."""
    if isinstance(event, Payment):
        return "repayment", event.amount, None, None
    if isinstance(event, Waiver):
        return "waiver", event.amount, str(event.component), None
    if isinstance(event, WriteOff):
        return "write_off", 0, None, None
    if isinstance(event, Reschedule):
        return "reschedule", 0, None, json.dumps({"due_dates": [d.isoformat() for d in event.due_dates]})
    if isinstance(event, ChargeFreeze):
        return "freeze", 0, None, json.dumps({"until": event.until.isoformat()})
    if isinstance(event, Settlement):
        return "settlement", event.amount, None, json.dumps({"pay_by": event.pay_by.isoformat()})
    return "acceleration", 0, None, None


def loan_events(connection: Connection, loan_id: int, *, excluding: int | None = None) -> list[LoanEvent]:
    """The loan's effective events in value-date, then recorded, order: reversed repayments left out, and the
    transaction ``excluding`` too (the one a reversal takes out: by id, never by equal date and amount)."""
    if excluding is not None:
        rows = connection.execute(_LOAN_EVENTS_EXCEPT, {"loan_id": loan_id, "excluding": excluding})
        return [event_of(row._mapping) for row in rows]
    return [event_of(row._mapping) for row in connection.execute(_LOAN_EVENTS, {"loan_id": loan_id})]


@dataclass(frozen=True, slots=True)
class BorrowerLines:
    """What a borrower's standing reads of the store (:func:`borrower_lines`): each line's row (id, limit,
    product document), its loans with their terms and effective events, its reviews and collections decisions;
    the borrower's court orders; the last credit-report pre-notice sent to the borrower by the day, and the first
    month-end a negative record of theirs was reported (arrears.service_layer.credit_reporting)."""

    lines: list[dict[str, Any]]
    loans: dict[int, list[tuple[int, LoanTerms, list[LoanEvent]]]]
    reviews: dict[int, list[date]]
    decisions: dict[int, frozenset[tuple[date, str]]]
    orders: list[CourtOrder]
    credit: tuple[date | None, date | None]


_cl, _pn, _cr = t.credit_lines.c, t.credit_pre_notices.c, t.credit_records.c
_BORROWER_LINE_IDS = select(_cl.id).where(_cl.borrower_id == bindparam("borrower_id"))
_BORROWER_LOAN_IDS = select(t.loans.c.id).where(t.loans.c.line_id.in_(_BORROWER_LINE_IDS))


def _json_rows(dialect: str, columns: Mapping[str, Any]) -> Any:
    """An aggregate of the rows selected as a JSON array of objects with ``columns``: ``json_agg`` of
    ``json_build_object`` on PostgreSQL, ``json_group_array`` of ``json_object`` on SQLite. Each becomes a column
    of its own (SQLite keeps a value's JSON type only within an expression, not through a subquery)."""
    pairs: list[Any] = []
    for name, column in columns.items():
        pairs += [literal_column(f"'{name}'"), column]
    if dialect == "postgresql":
        return func.json_agg(func.json_build_object(*pairs))
    return func.json_group_array(func.json_object(*pairs))


@lru_cache(maxsize=4)
def _borrower_read(dialect: str) -> Select[Any]:
    """:func:`borrower_lines`'s one statement for ``dialect`` (built once per dialect)."""
    loans, orders, tx = t.loans.c, t.court_orders.c, _tx.c
    reviews, decisions = t.line_reviews.c, t.restriction_decisions.c

    def rows(columns: Mapping[str, Any], *where: Any) -> Any:
        return select(_json_rows(dialect, columns)).where(*where).scalar_subquery()

    return select(
        t.borrowers.c.id,
        rows({"id": _cl.id, "limit_minor": _cl.limit_minor, "product_document": _cl.product_document},
             _cl.borrower_id == bindparam("borrower_id")).label("lines"),
        rows({"id": loans.id, "line_id": loans.line_id, **{c: loans[c] for c in _TERMS_COLUMNS}},
             loans.line_id.in_(_BORROWER_LINE_IDS)).label("loans"),
        rows(
            {c: tx[c] for c in ("id", "loan_id", "kind", "value_date", "amount", "component", "detail")},
            tx.loan_id.in_(_BORROWER_LOAN_IDS),
            tx.kind.in_([literal(k) for k in EVENT_KINDS]),
            tx.id.not_in(select(tx.reverses_id).where(tx.loan_id.in_(_BORROWER_LOAN_IDS), tx.reverses_id.is_not(None))),
        ).label("events"),
        rows({"line_id": reviews.line_id, "day": reviews.reviewed_on},
             reviews.line_id.in_(_BORROWER_LINE_IDS)).label("reviews"),
        rows({"line_id": decisions.line_id, "day": decisions.decided_on, "rule": decisions.rule},
             decisions.line_id.in_(_BORROWER_LINE_IDS)).label("decisions"),
        rows({c.name: c for c in t.court_orders.c if c.name != "recorded_at"},
             orders.borrower_id == bindparam("borrower_id")).label("orders"),
        select(func.max(_pn.sent_on))
        .where(_pn.borrower_id == bindparam("borrower_id"), _pn.sent_on <= bindparam("day"))
        .scalar_subquery()
        .label("pre_notice_sent"),
        select(func.min(_cr.period))
        .where(
            _cr.borrower_id == bindparam("borrower_id"),
            _cr.negative.is_(True),
            _cr.emitted.is_(True),
            _cr.period <= bindparam("day"),
        )
        .scalar_subquery()
        .label("first_negative"),
    ).where(t.borrowers.c.id == bindparam("borrower_id"))  # fmt: skip


def _parsed(value: Any) -> list[dict[str, Any]]:
    """A :func:`_json_rows` column as Python: psycopg parses JSON itself, SQLite gives text; PostgreSQL's
    ``json_agg`` of no rows is NULL, SQLite's ``json_group_array`` is ``[]``."""
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str) else list(value)


def _dated(row: dict[str, Any], *columns: str) -> dict[str, Any]:
    """``row`` with ``columns`` (ISO dates in JSON, or null) as dates."""
    return {**row, **{c: None if row[c] is None else date.fromisoformat(row[c]) for c in columns}}


def borrower_lines(connection: Connection, borrower_id: int, day: date) -> BorrowerLines:
    """Everything a standing during ``day`` reads, in one statement whatever the number of lines and loans: the
    hot read of the REST API (bench/api.py). One statement is one round trip, and one consistent snapshot even
    outside a transaction (:meth:`arrears.service_layer.services.Services.snapshot`). The same rows as
    :func:`lines_of_borrower`, :func:`loans_of_line` with :func:`loan_events`, :func:`line_reviews_of`,
    :func:`line_decisions_of` and :func:`court_orders_of`, and the credit-reporting dates (the last pre-notice
    sent by ``day``, the first month-end a negative record was reported) (tests/test_store.py holds them equal)."""
    head = connection.execute(_borrower_read(connection.dialect.name), {"borrower_id": borrower_id, "day": day}).first()
    if head is None:
        raise NotFound(f"no borrower {borrower_id}; check the id (arrears borrower add prints it)")
    lines = sorted(_parsed(head.lines), key=lambda line: int(line["id"]))
    events: dict[int, list[dict[str, Any]]] = {}
    for event in _parsed(head.events):
        events.setdefault(event["loan_id"], []).append(_dated(event, "value_date"))
    loans: dict[int, list[tuple[int, LoanTerms, list[LoanEvent]]]] = {line["id"]: [] for line in lines}
    for loan in sorted(_parsed(head.loans), key=lambda loan: int(loan["id"])):
        terms = terms_of(
            _dated(loan, "start_date") | {"compound_overdue_interest": bool(loan["compound_overdue_interest"])}
        )
        ordered = sorted(events.get(loan["id"], []), key=lambda event: (event["value_date"], event["id"]))
        loans[loan["line_id"]].append((loan["id"], terms, [event_of(event) for event in ordered]))  # type: ignore[arg-type]
    reviews: dict[int, list[date]] = {}
    for review in _parsed(head.reviews):
        reviews.setdefault(review["line_id"], []).append(date.fromisoformat(review["day"]))
    decisions: dict[int, set[tuple[date, str]]] = {}
    for decision in _parsed(head.decisions):
        decisions.setdefault(decision["line_id"], set()).add((date.fromisoformat(decision["day"]), decision["rule"]))
    orders = sorted(_parsed(head.orders), key=lambda order: int(order["id"]))
    return BorrowerLines(
        lines=lines,
        loans=loans,
        reviews={line: sorted(days) for line, days in reviews.items()},
        decisions={line: frozenset(made) for line, made in decisions.items()},
        orders=[_court_order(_dated(order, "issued_on", "lifted_on")) for order in orders],  # type: ignore[arg-type]
        credit=(head.pre_notice_sent, head.first_negative),
    )


def add_transaction(connection: Connection, values: Mapping[str, Any]) -> int:
    """Insert one ``transactions`` row; returns its id."""
    return int(connection.execute(_INSERT_TRANSACTION, values).inserted_primary_key[0])  # type: ignore[index]


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


def ledger_balances(connection: Connection, loan_id: int) -> Balances:
    return {
        Account(account): int(total) for account, total in connection.execute(_LEDGER_BALANCES, {"loan_id": loan_id})
    }


def entry_hash(
    prev_hash: str, loan_id: int, kind: str, business_date: date, value_date: date, postings: Mapping[Account, int]
) -> str:
    """The hash chaining one loan's entries: a changed or removed posting breaks every hash after it."""
    body = json.dumps(
        [prev_hash, loan_id, kind, business_date.isoformat(), value_date.isoformat(), sorted(postings.items())],
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def post_entry(
    connection: Connection,
    *,
    loan_id: int,
    prev_hash: str,
    kind: str,
    business_date: date,
    value_date: date,
    postings: Mapping[Account, int],
    transaction_id: int | None,
    now: datetime,
) -> str:
    """Insert one balanced entry and its postings; returns the entry's hash (the loan's new chain head)."""
    digest = entry_hash(prev_hash, loan_id, kind, business_date, value_date, postings)
    entry = {
        "loan_id": loan_id,
        "transaction_id": transaction_id,
        "kind": kind,
        "business_date": business_date,
        "value_date": value_date,
        "created_at": now,
        "prev_hash": prev_hash,
        "hash": digest,
    }
    lines = sorted(postings.items())
    if connection.dialect.name == "postgresql":
        accounts, amounts = [str(account) for account, _ in lines], [amount for _, amount in lines]
        connection.execute(_INSERT_ENTRY_AND_POSTINGS, {**entry, "accounts": accounts, "amounts": amounts})
        return digest
    entry_id = connection.execute(_INSERT_ENTRY, entry).inserted_primary_key[0]  # type: ignore[index]
    connection.execute(
        _INSERT_POSTINGS,
        [
            {"entry_id": entry_id, "loan_id": loan_id, "account": str(account), "amount": amount}
            for account, amount in lines
        ],
    )
    return digest


def save_loan_position(
    connection: Connection,
    loan: LoanRecord,
    *,
    status: str,
    outstanding_principal: int,
    posted_through: date,
    last_entry_hash: str,
) -> LoanRecord:
    """Update the loan row under optimistic concurrency (version check, on top of the row lock); returns the
    record as it now stands, so the caller need not read it again."""
    result = connection.execute(
        _SAVE_LOAN,
        {
            "loan_id": loan.id,
            "seen_version": loan.version,
            "status": status,
            "outstanding_principal": outstanding_principal,
            "posted_through": posted_through,
            "last_entry_hash": last_entry_hash,
            "version": loan.version + 1,
        },
    )
    if result.rowcount != 1:
        raise ConcurrencyConflict(f"loan {loan.id} changed under a locked command (version {loan.version})")
    return replace(
        loan,
        status=status,
        outstanding_principal=outstanding_principal,
        posted_through=posted_through,
        last_entry_hash=last_entry_hash,
        version=loan.version + 1,
    )


def mask_phone(phone: str) -> str:
    """A phone number for logs: the first 3 and last 4 digits only (138****5678)."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


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


def last_day_end(connection: Connection) -> date | None:
    value: date | None = connection.execute(select(func.max(t.day_ends.c.business_date))).scalar()
    return value


# -- what commands need of the day-end's state (the runner itself is in arrears.adapters.day_end_store) --------


def forget_state(connection: Connection, loan_id: int) -> None:
    """A command changed the loan's past: the next day-end rebuilds its state from its events."""
    connection.execute(t.day_end_installments.delete().where(t.day_end_installments.c.loan_id == loan_id))
    connection.execute(t.day_end_state.delete().where(t.day_end_state.c.loan_id == loan_id))
