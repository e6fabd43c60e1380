"""The books against the loans: ``ledger verify`` (:func:`verify_ledger`) and ``ledger accrue``
(:func:`accrue`, every loan's books brought up to the business date)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection

from arrears.adapters import store
from arrears.day_end.reference import day_end_state_through
from arrears.domain.ledger import Account, Balances, difference
from arrears.errors import InputRejected
from arrears.money import format_minor
from arrears.service_layer.loans import post_position
from arrears.service_layer.positions import position
from arrears.service_layer.unit_of_work import UnitOfWork


def accrue(uow: UnitOfWork) -> int:
    """Bring every loan's books up to the business date (recognition entries); returns how many moved."""
    with uow.reading() as connection:
        loan_ids = store.open_loan_ids(connection)
    moved = 0
    for loan_id in loan_ids:
        with uow.transaction() as connection:
            loan = store.get_loan(connection, loan_id, lock=True)
            business_date = uow.open_day(uow.business_date(connection), loan.closed_through)
            if loan.posted_through >= business_date:
                continue
            after = position(uow.policy, loan, store.loan_events(connection, loan_id), business_date)
            current = store.ledger_balances(connection, loan_id)
            if difference(current, after.balances):
                moved += 1
            post_position(
                uow, connection, loan, after, current, "recognition", business_date, business_date, None, advance=True
            )
    return moved


def verify_ledger(uow: UnitOfWork) -> list[str]:
    """Every discrepancy between the books and the loans (empty when all is well); see ``ledger verify``.

    Checks: the trial balance is zero; every entry balances (each day-end's postings, loan by loan); each
    loan's sub-ledger (its entries' postings plus the day-ends') equals what its events give: its state
    after the last day-end if that day-end ran it and no command posted since, else its position during
    the business date it was last posted on; the loan row's cached outstanding principal agrees with it;
    each loan's hash chain of entries, and the day-ends' chain, is intact (no posting changed or removed,
    even by someone who dropped the append-only triggers).
    """
    # the day-end's bulk side needs pyarrow: loaded here, not by every process that only posts commands
    from arrears.adapters import day_end_store

    with uow.reading() as connection:
        problems = _balance_problems(connection)
        actual = store.books_by_loan(connection)
        last, _ = day_end_store.last_day_end(connection)
        day_ended = store.loans_day_ended(connection, last)
        chains = store.entry_chains(connection)
        for loan_id in store.loan_ids(connection):
            loan = store.get_loan(connection, loan_id)
            problems += _loan_problems(uow, connection, loan, actual.get(loan.id, {}), last, loan.id in day_ended)
            problems += _chain_problems(loan, chains.get(loan.id, []))
        head = store.GENESIS_HASH
        for day, (prev_hash, digest, postings) in day_end_store.day_end_postings(connection).items():
            if prev_hash != head or digest != day_end_store.day_end_hash(head, day, postings):
                problems.append(f"day-end {day}: its postings were changed (hash chain broken)")
                break
            head = digest
    return problems


def _balance_problems(connection: Connection) -> list[str]:
    """The trial balance, entries and day-ends that do not balance, day-end postings naming no loan."""
    problems: list[str] = []
    total = store.trial_balance(connection)
    if total != 0:
        problems.append(f"trial balance is {format_minor(total)}, not 0.00")
    problems += [
        f"entry {entry} does not balance: {format_minor(off)}" for entry, off in store.unbalanced_entries(connection)
    ]
    problems += [
        f"day-end {day} does not balance for loan {loan}: {format_minor(off)}"
        for day, loan, off in store.unbalanced_day_ends(connection)
    ]
    problems += [
        f"day-end postings name loan {loan}, which does not exist" for loan in store.stray_day_end_loans(connection)
    ]
    return problems


def _loan_problems(
    uow: UnitOfWork,
    connection: Connection,
    loan: store.LoanRecord,
    books: dict[Account, int],
    last: date | None,
    day_ended: bool,
) -> list[str]:
    """A loan's books against what its events give, and its cached outstanding principal against its replay."""
    events = store.loan_events(connection, loan.id)
    expected: Balances
    try:
        if day_ended and last is not None and loan.posted_through <= last:
            state, replayed = day_end_state_through(loan.terms, events, last, uow.policy)
            expected, as_of = state.balances(), f"after day-end {last}"
        else:
            during = position(uow.policy, loan, events, loan.posted_through)
            replayed, expected = during.replay, during.balances
            as_of = f"as of {loan.posted_through}"
    except InputRejected as error:  # inconsistent events (a quarantined loan): say so, check the rest
        return [f"loan {loan.id}: its events cannot be replayed: {error}"]
    problems = [
        f"loan {loan.id} {account}: books {format_minor(books.get(account, 0))}, "
        f"replay {as_of} {format_minor(expected.get(account, 0))}"
        for account in Account
        if books.get(account, 0) != expected.get(account, 0)
    ]
    if loan.outstanding_principal != replayed.outstanding_principal():
        problems.append(f"loan {loan.id}: cached outstanding principal differs from its replay")
    return problems


def _chain_problems(loan: store.LoanRecord, chain: list[store.ChainEntry]) -> list[str]:
    """A loan's hash chain of entries: each entry's hash from the one before, the last the loan row's head."""
    head = store.GENESIS_HASH
    for entry in chain:
        digest = store.entry_hash(head, loan.id, entry.kind, entry.business_date, entry.value_date, entry.postings)
        if entry.prev_hash != head or entry.hash != digest:
            return [f"loan {loan.id}: entry {entry.id} was changed (hash chain broken)"]
        head = digest
    if head != loan.last_entry_hash:
        return [f"loan {loan.id}: its last entries are missing (hash chain short)"]
    return []
