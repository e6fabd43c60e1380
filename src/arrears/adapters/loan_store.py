"""A loan's rows: the loan row with its terms and day-end status, its events (``transactions``), its
ledger entries and postings (hash-chained), and the writes a command makes to them.

Every function takes the connection of the caller's transaction and never commits: the unit of work
(:mod:`arrears.service_layer.unit_of_work`) decides when a command is done. Row locks (``FOR UPDATE``) are taken
on PostgreSQL; on SQLite the transaction already holds the database's write lock (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    RowMapping,
    bindparam,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
    update,
)

from arrears.adapters import tables as t
from arrears.adapters.store_errors import ConcurrencyConflict, NotFound
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
from arrears.domain.schedule import Schedule
from arrears.domain.terms import Component, InterestBasis, LoanTerms, Method, Prepayment
from arrears.money import RoundingMode

GENESIS_HASH = "0" * 64


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


def loans_of_line(connection: Connection, line_id: int) -> list[LoanRecord]:
    return [
        _record(row)
        for row in connection.execute(_LOAN_ROWS.where(t.loans.c.line_id == line_id).order_by(t.loans.c.id))
    ]


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


def add_transaction(connection: Connection, values: Mapping[str, Any]) -> int:
    """Insert one ``transactions`` row; returns its id."""
    return int(connection.execute(_INSERT_TRANSACTION, values).inserted_primary_key[0])  # type: ignore[index]


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


def forget_state(connection: Connection, loan_id: int) -> None:
    """A command changed the loan's past: the next day-end rebuilds its state from its events."""
    connection.execute(t.day_end_installments.delete().where(t.day_end_installments.c.loan_id == loan_id))
    connection.execute(t.day_end_state.delete().where(t.day_end_state.c.loan_id == loan_id))


@dataclass(frozen=True, slots=True)
class TransactionRecord:
    """One ``transactions`` row, as a reversal reads the repayment it takes out."""

    id: int
    loan_id: int
    kind: str
    value_date: date
    amount: int


def get_transaction(connection: Connection, transaction_id: int) -> TransactionRecord | None:
    row = connection.execute(
        select(_tx.c.id, _tx.c.loan_id, _tx.c.kind, _tx.c.value_date, _tx.c.amount).where(_tx.c.id == transaction_id)
    ).first()
    return None if row is None else TransactionRecord(row.id, row.loan_id, row.kind, row.value_date, row.amount)


def reversal_of(connection: Connection, transaction_id: int) -> int | None:
    """The transaction that reversed ``transaction_id``, if one did."""
    row = connection.execute(select(_tx.c.id).where(_tx.c.reverses_id == transaction_id)).first()
    return None if row is None else int(row.id)


def add_loan(
    connection: Connection,
    *,
    line_id: int,
    borrower_id: int,
    terms: LoanTerms,
    schedule: Schedule,
    business_date: date,
) -> int:
    """Insert a drawn loan (open, its whole principal outstanding, no entries yet) and its contractual
    schedule; returns its id."""
    loan_id = int(
        connection.execute(
            insert(t.loans).values(
                line_id=line_id,
                borrower_id=borrower_id,
                status="open",
                outstanding_principal=terms.principal,
                posted_through=business_date,
                last_entry_hash=GENESIS_HASH,
                version=0,
                **terms_columns(terms),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    )
    connection.execute(insert(t.installments), schedule_rows(loan_id, schedule))
    return loan_id


def open_loan_ids(connection: Connection) -> list[int]:
    return [row[0] for row in connection.execute(select(t.loans.c.id).where(t.loans.c.status == "open"))]
