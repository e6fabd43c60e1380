"""What checking the books reads (``ledger verify``,
:func:`arrears.service_layer.ledger_check.verify_ledger`): the trial balance, entries and day-ends that do not
balance, each loan's books by account, and each loan's chain of entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, func, select

from arrears.adapters import tables as t
from arrears.domain.ledger import Account


def trial_balance(connection: Connection) -> int:
    """The sum of every posting, the entries' and the day-ends' (zero when the books balance)."""
    return int(
        sum(
            connection.execute(select(func.coalesce(func.sum(table.c.amount), 0))).scalar_one()
            for table in (t.postings, t.day_end_postings)
        )
    )


def unbalanced_entries(connection: Connection) -> list[tuple[int, int]]:
    """(entry, what it is off by) for every entry whose postings do not sum to zero."""
    statement = (
        select(t.postings.c.entry_id, func.sum(t.postings.c.amount))
        .group_by(t.postings.c.entry_id)
        .having(func.sum(t.postings.c.amount) != 0)
    )
    return [(entry, int(off)) for entry, off in connection.execute(statement)]


def unbalanced_day_ends(connection: Connection) -> list[tuple[date, int, int]]:
    """(day, loan, what it is off by) for every day-end whose postings to a loan do not sum to zero."""
    d = t.day_end_postings.c
    statement = (
        select(d.business_date, d.loan_id, func.sum(d.amount))
        .group_by(d.business_date, d.loan_id)
        .having(func.sum(d.amount) != 0)
    )
    return [(day, loan, int(off)) for day, loan, off in connection.execute(statement)]


def stray_day_end_loans(connection: Connection) -> list[int]:
    """Loans named by day-end postings that do not exist."""
    d = t.day_end_postings.c
    statement = select(d.loan_id).distinct().where(d.loan_id.not_in(select(t.loans.c.id))).order_by(d.loan_id)
    return list(connection.execute(statement).scalars())


def books_by_loan(connection: Connection) -> dict[int, dict[Account, int]]:
    """Each loan's books: its entries' postings plus the day-ends', by account."""
    actual: dict[int, dict[Account, int]] = {}
    for table in (t.postings, t.day_end_postings):
        for loan_id, account, amount in connection.execute(
            select(table.c.loan_id, table.c.account, func.sum(table.c.amount)).group_by(
                table.c.loan_id, table.c.account
            )
        ):
            books = actual.setdefault(loan_id, {})
            books[Account(account)] = books.get(Account(account), 0) + int(amount)
    return actual


def loans_day_ended(connection: Connection, closed_through: date | None) -> set[int]:
    """The loans whose day-end state is as of ``closed_through``."""
    state = t.day_end_state.c
    return {
        row.loan_id for row in connection.execute(select(state.loan_id).where(state.closed_through == closed_through))
    }


def loan_ids(connection: Connection) -> list[int]:
    """Every loan, in id order."""
    return list(connection.execute(select(t.loans.c.id).order_by(t.loans.c.id)).scalars())


@dataclass(frozen=True, slots=True)
class ChainEntry:
    """One ledger entry as its loan's hash chain holds it."""

    id: int
    kind: str
    business_date: date
    value_date: date
    prev_hash: str
    hash: str
    postings: dict[Account, int]


def entry_chains(connection: Connection) -> dict[int, list[ChainEntry]]:
    """Each loan's entries in id order, with their postings."""
    postings: dict[int, dict[Account, int]] = {}
    for entry_id, account, amount in connection.execute(
        select(t.postings.c.entry_id, t.postings.c.account, t.postings.c.amount)
    ):
        postings.setdefault(entry_id, {})[Account(account)] = amount
    chains: dict[int, list[ChainEntry]] = {}
    e = t.ledger_entries.c
    statement = select(e.id, e.loan_id, e.kind, e.business_date, e.value_date, e.prev_hash, e.hash).order_by(e.id)
    for entry in connection.execute(statement):
        chains.setdefault(entry.loan_id, []).append(
            ChainEntry(
                entry.id,
                entry.kind,
                entry.business_date,
                entry.value_date,
                entry.prev_hash,
                entry.hash,
                postings.get(entry.id, {}),
            )
        )
    return chains
