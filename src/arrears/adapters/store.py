"""The store: credit lines and their products, reviews and collections decisions over one SQL connection; and,
re-exported, the store's modules by aggregate, so that ``store.X`` names one place for the doors and the day-end:

* :mod:`arrears.adapters.loan_store`: loans, their events, entries and postings;
* :mod:`arrears.adapters.borrower_store`: borrowers and everything a standing reads;
* :mod:`arrears.adapters.court_order_store`: court orders as recorded;
* :mod:`arrears.adapters.command_store`: idempotency keys, audit rows, domain events, the day-end lock;
* :mod:`arrears.adapters.ledger_store`: what ``ledger verify`` reads;
* :mod:`arrears.adapters.store_errors`: :class:`NotFound` and :class:`ConcurrencyConflict`.

Every function here takes the connection of the caller's transaction and never commits: the unit of work in
:mod:`arrears.service_layer.unit_of_work` decides when a command is done. Row locks (``FOR UPDATE``) are taken on
PostgreSQL; on SQLite the transaction already holds the database's write lock (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, func, insert, select

from arrears.adapters import tables as t
from arrears.adapters.borrower_store import (
    NAME_MAX,
    BorrowerLines,
    BorrowerRecord,
    LineRecord,
    LoanSummary,
    add_borrower,
    borrower_lines,
    get_borrower,
    lines_of_borrower,
    loans_of_borrower,
    mask_phone,
    set_segment,
)
from arrears.adapters.command_store import (
    DAY_END_LOCK,
    INSERT_AUDIT,
    StoredResponse,
    audit,
    audit_row,
    hold_off,
    insert_audit,
    last_day_end,
    record_event,
    save_response,
    stored_response,
)
from arrears.adapters.court_order_store import add_court_order, court_orders_of, get_court_order, lift_court_order
from arrears.adapters.ledger_store import (
    ChainEntry,
    books_by_loan,
    entry_chains,
    loan_ids,
    loans_day_ended,
    stray_day_end_loans,
    trial_balance,
    unbalanced_day_ends,
    unbalanced_entries,
)
from arrears.adapters.loan_store import (
    EVENT_KINDS,
    GENESIS_HASH,
    PLAN_KINDS,
    LoanRecord,
    TransactionRecord,
    add_loan,
    add_transaction,
    entry_hash,
    event_of,
    event_row,
    forget_state,
    get_loan,
    get_transaction,
    ledger_balances,
    loan_events,
    loans_of_line,
    open_loan_ids,
    open_loans_outstanding,
    post_entry,
    reversal_of,
    save_loan_position,
    schedule_rows,
    terms_columns,
    terms_of,
)
from arrears.adapters.store_errors import ConcurrencyConflict, NotFound, for_update
from arrears.domain.ledger import Account
from arrears.domain.product import Product, parse_product

__all__ = [
    "DAY_END_LOCK",
    "EVENT_KINDS",
    "GENESIS_HASH",
    "INSERT_AUDIT",
    "NAME_MAX",
    "PLAN_KINDS",
    "BorrowerLines",
    "BorrowerRecord",
    "ChainEntry",
    "ConcurrencyConflict",
    "LineRecord",
    "LoanRecord",
    "LoanSummary",
    "NotFound",
    "StoredResponse",
    "TransactionRecord",
    "add_borrower",
    "add_court_order",
    "add_line",
    "add_line_review",
    "add_loan",
    "add_transaction",
    "audit",
    "audit_row",
    "books_by_loan",
    "borrower_lines",
    "court_orders_of",
    "decisions_on",
    "entry_chains",
    "entry_hash",
    "event_of",
    "event_row",
    "forget_state",
    "get_borrower",
    "get_court_order",
    "get_line",
    "get_loan",
    "get_transaction",
    "hold_off",
    "insert_audit",
    "last_day_end",
    "ledger_balances",
    "lift_court_order",
    "line_decisions_of",
    "line_decisions_of_lines",
    "line_product",
    "line_reviews_of",
    "line_reviews_of_lines",
    "lines_of_borrower",
    "lines_of_loans",
    "loan_events",
    "loan_ids",
    "loans_day_ended",
    "loans_of_borrower",
    "loans_of_line",
    "loans_of_lines",
    "mask_phone",
    "open_loan_ids",
    "open_loans_outstanding",
    "post_entry",
    "principal_forgiven_on_line",
    "product_digests",
    "product_documents",
    "product_snapshot",
    "record_event",
    "reversal_of",
    "save_loan_position",
    "save_response",
    "schedule_rows",
    "set_segment",
    "stored_response",
    "stray_day_end_loans",
    "terms_columns",
    "terms_of",
    "trial_balance",
    "unbalanced_day_ends",
    "unbalanced_entries",
]


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


def get_line(connection: Connection, line_id: int, *, lock: bool = False) -> LineRecord:
    statement = select(t.credit_lines).where(t.credit_lines.c.id == line_id)
    row = connection.execute(for_update(connection, statement) if lock else statement).first()
    if row is None:
        raise NotFound(f"no credit line {line_id}; check the id (arrears line open prints it)")
    return LineRecord(**row._mapping)


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


def add_line(
    connection: Connection,
    *,
    borrower_id: int,
    product_code: str,
    product_document: Mapping[str, Any],
    currency: str,
    limit: int,
    daily_rate: Decimal,
    opened_on: date,
) -> int:
    """Insert an open credit line with its product's snapshot (:func:`product_snapshot`); returns its id."""
    line_id = connection.execute(
        insert(t.credit_lines).values(
            borrower_id=borrower_id,
            product_code=product_code,
            **product_snapshot(product_document),
            currency=currency,
            limit_minor=limit,
            daily_rate=str(daily_rate),
            status="open",
            opened_on=opened_on,
            version=0,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    return int(line_id)


def add_line_review(
    connection: Connection, *, line_id: int, reviewed_on: date, reviewer: str, note: str, recorded_at: datetime
) -> None:
    connection.execute(
        insert(t.line_reviews).values(
            line_id=line_id, reviewed_on=reviewed_on, reviewer=reviewer, note=note, recorded_at=recorded_at
        )
    )
