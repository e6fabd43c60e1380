"""A borrower's rows: the borrower, their lines and loans at a glance, and everything a standing reads in one
statement (:func:`borrower_lines`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    bindparam,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)

from arrears.adapters import tables as t
from arrears.adapters.court_order_store import _court_order
from arrears.adapters.loan_store import _TERMS_COLUMNS, EVENT_KINDS, event_of, terms_of
from arrears.adapters.store_errors import NotFound
from arrears.domain.engine import (
    LoanEvent,
)
from arrears.domain.terms import LoanTerms
from arrears.inputs import max_length
from arrears.legal.court_orders import CourtOrder

_tx = t.transactions
NAME_MAX = max_length(t.borrowers.c.name)
"""The longest borrower name the store keeps."""


@dataclass(frozen=True, slots=True)
class LineRecord:
    """A credit line as stored (the ``credit_lines`` row): its product is the JSON snapshot taken when it opened."""

    id: int
    borrower_id: int
    product_code: str
    product_document: str
    product_digest: str | None
    currency: str
    limit_minor: int
    daily_rate: str
    status: str
    opened_on: date
    version: int


@dataclass(frozen=True, slots=True)
class BorrowerRecord:
    """A borrower as stored (the ``borrowers`` row)."""

    id: int
    name: str
    phone: str
    timezone: str
    language: str
    created_at: datetime
    segment: str | None


def get_borrower(connection: Connection, borrower_id: int) -> BorrowerRecord:
    row = connection.execute(select(t.borrowers).where(t.borrowers.c.id == borrower_id)).first()
    if row is None:
        raise NotFound(f"no borrower {borrower_id}; check the id (arrears borrower add prints it)")
    return BorrowerRecord(**row._mapping)


def lines_of_borrower(connection: Connection, borrower_id: int) -> list[LineRecord]:
    statement = select(t.credit_lines).where(t.credit_lines.c.borrower_id == borrower_id).order_by(t.credit_lines.c.id)
    return [LineRecord(**row._mapping) for row in connection.execute(statement)]


def mask_phone(phone: str) -> str:
    """A phone number for logs: the first 3 and last 4 digits only (138****5678)."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


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
    sent by ``day``, the first month-end a negative record was reported) (tests/integration/test_store.py holds them
    equal)."""
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


def add_borrower(
    connection: Connection, *, name: str, phone: str, timezone: str, language: str, segment: str, now: datetime
) -> int:
    """Insert a borrower; returns their id."""
    borrower_id = connection.execute(
        insert(t.borrowers).values(
            name=name, phone=phone, timezone=timezone, language=language, created_at=now, segment=segment or None
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    return int(borrower_id)


def set_segment(connection: Connection, borrower_id: int, segment: str) -> None:
    connection.execute(update(t.borrowers).where(t.borrowers.c.id == borrower_id).values(segment=segment or None))


@dataclass(frozen=True, slots=True)
class LoanSummary:
    """A borrower's loan at a glance (their profile)."""

    id: int
    line_id: int
    status: str
    outstanding_principal: int


def loans_of_borrower(connection: Connection, borrower_id: int) -> list[LoanSummary]:
    loans = t.loans.c
    statement = (
        select(loans.id, loans.line_id, loans.status, loans.outstanding_principal)
        .where(loans.borrower_id == borrower_id)
        .order_by(loans.id)
    )
    return [LoanSummary(*row) for row in connection.execute(statement)]
