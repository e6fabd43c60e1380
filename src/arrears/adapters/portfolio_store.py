"""The store's side of a portfolio import and of statements: the bulk inserts an import makes (borrowers, lines,
loans, installments, transactions, its idempotency key) and the transactions a statement lists. Every function
takes the caller's connection and never commits: the import is one transaction, all or nothing
(:mod:`arrears.service_layer.portfolio_import`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, insert, select

from arrears.adapters import tables as t
from arrears.inputs import max_length

BORROWER_NAME_MAX = max_length(t.borrowers.c.name)
"""The most characters a borrower's name keeps."""
BORROWER_PHONE_MAX = max_length(t.borrowers.c.phone)
"""The most characters a borrower's phone keeps."""


@dataclass(frozen=True, slots=True)
class TransactionRecord:
    """One transaction as stored (tables.py says what each column means)."""

    id: int
    loan_id: int
    kind: str
    value_date: date
    amount: int
    component: str | None
    reverses_id: int | None
    business_date: date
    backdated: bool
    created_at: datetime
    source: str | None
    detail: str | None


def _insert_returning_ids(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert many rows in batches, returning their ids in the order given."""
    if not rows:
        return []
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return [int(row[0]) for row in connection.execute(statement, rows)]


def add_borrowers(connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert borrowers; their ids in the order given."""
    return _insert_returning_ids(connection, t.borrowers, rows)


def add_lines(connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert credit lines; their ids in the order given."""
    return _insert_returning_ids(connection, t.credit_lines, rows)


def add_loans(connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert loans; their ids in the order given."""
    return _insert_returning_ids(connection, t.loans, rows)


def add_installments(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert schedule rows, in one statement."""
    connection.execute(insert(t.installments), rows)


def add_transactions(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert transactions, in one statement (in the order given: the order loan_events reads them back in)."""
    connection.execute(insert(t.transactions), rows)


def stored_response(connection: Connection, key: str) -> str | None:
    """The response stored under idempotency key ``key`` (None when the key is not there)."""
    row = connection.execute(select(t.idempotency_keys).where(t.idempotency_keys.c.key == key)).first()
    return None if row is None else str(row.response)


def add_key(
    connection: Connection, *, key: str, command: str, request_hash: str, response: str, created_at: datetime
) -> None:
    """Store an idempotency key with its response (a concurrent insert of the same key raises IntegrityError)."""
    connection.execute(
        insert(t.idempotency_keys).values(
            key=key, command=command, request_hash=request_hash, response=response, created_at=created_at
        )
    )


def loan_ids(connection: Connection) -> list[int]:
    """Every loan's id, in order."""
    return [int(row[0]) for row in connection.execute(select(t.loans.c.id).order_by(t.loans.c.id))]


def reversed_of_loan(connection: Connection, loan_id: int) -> set[int]:
    """The ids of the loan's transactions a reversal undid."""
    tx = t.transactions
    return set(
        connection.execute(
            select(tx.c.reverses_id).where(tx.c.loan_id == loan_id, tx.c.reverses_id.is_not(None))
        ).scalars()
    )


def reversed_ids(connection: Connection) -> set[int]:
    """The ids of every transaction a reversal undid."""
    return {
        int(row[0])
        for row in connection.execute(
            select(t.transactions.c.reverses_id).where(t.transactions.c.reverses_id.is_not(None))
        )
    }


def transactions_through(connection: Connection, loan_id: int, as_of: date) -> list[TransactionRecord]:
    """The loan's transactions dated on or before ``as_of``, in value-date then recorded order."""
    tx = t.transactions
    rows = connection.execute(
        select(tx).where(tx.c.loan_id == loan_id, tx.c.value_date <= as_of).order_by(tx.c.value_date, tx.c.id)
    )
    return [TransactionRecord(**row._mapping) for row in rows]
