"""What the demo (``arrears demo``, :mod:`arrears.demo`) reads and writes beyond the handlers every door shares:
the borrowers and loans it picks to show a command on, the accounts of a collections day, a loan's installments
after a plan, and the Parquet dataset it builds from its simulated portfolio to check the vectorized day-end.

The SQL is in :mod:`arrears.adapters.demo_store`; the demo itself imports no adapter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from arrears.adapters import collections_store, demo_store, store
from arrears.adapters.dataset import PAYMENT_SCHEMA, Dataset, create
from arrears.day_end.columns import from_arrow, loan_state, opening_state
from arrears.day_end.reference import DayEndPolicy
from arrears.domain.engine import InstallmentState, LoanState
from arrears.domain.terms import LoanTerms
from arrears.service_layer.services import Services


def borrower_ids(services: Services, limit: int) -> list[int]:
    """The first ``limit`` borrowers by id."""
    with services.reading() as connection:
        return demo_store.borrower_ids(connection, limit)


def first_borrower(services: Services) -> int | None:
    """The borrower with the smallest id, or None in an empty store."""
    with services.reading() as connection:
        return demo_store.first_borrower(connection)


def hardship_candidates(services: Services) -> tuple[date, list[int]]:
    """The business date and up to 20 open loans 5 to 60 days past due at the last day-end, by id: a hardship
    plan (:mod:`arrears.hardship.plans`) is for a borrower in early arrears, not one long gone."""
    with services.reading() as connection:
        return services.business_date(connection), demo_store.open_loans_past_due(connection, 5, 60, 20)


def reported_loan(services: Services, month: date) -> tuple[date, int | None]:
    """The business date and the first loan whose record went into ``month``'s credit file, if any."""
    with services.reading() as connection:
        return services.business_date(connection), demo_store.reported_loan(connection, month)


def installments_on(services: Services, loan_id: int, on: date) -> list[InstallmentState]:
    """The loan's installments during ``on``, every event on or before it applied (a plan's carried ones too)."""
    with services.reading() as connection:
        record = store.get_loan(connection, loan_id)
        events = store.loan_events(connection, loan_id)
    return list(services.position(record, events, on).replay.state().installments)


def collections_accounts(services: Services, day: date) -> tuple[bool, list[dict[str, Any]]]:
    """Whether ``day`` is not planned yet, and the accounts delinquent after the day-end before it (loan,
    borrower, days past due, overdue in minor units, time zone, ...)."""
    with services.reading() as connection:
        fresh = collections_store.planned(connection, day) is None
        accounts = collections_store.delinquent(connection, day - timedelta(days=1)).to_pylist()
    return fresh, accounts


def write_dataset(
    path: Path, loans: Sequence[tuple[str, LoanTerms, Sequence[tuple[date, int]]]], policy: DayEndPolicy
) -> None:
    """A new Parquet dataset at ``path`` of freshly disbursed loans (id, terms, payments as (value date, minor
    units)), in the given id order, before their first day-end."""
    ids = [loan_id for loan_id, _, _ in loans]
    state = pa.Table.from_batches([opening_state(ids, [terms for _, terms, _ in loans])])
    payments = pa.table(
        {
            "loan_id": [loan_id for loan_id, _, paid in loans for _ in paid],
            "value_date": [day for _, _, paid in loans for day, _ in paid],
            "amount": [amount for _, _, paid in loans for _, amount in paid],
        },
        schema=PAYMENT_SCHEMA,
    )
    create(path, [(state, payments)], policy.non_accrual_dpd)


def dataset_states(path: Path, closed_through: date) -> dict[str, LoanState]:
    """Every loan's state in the dataset at ``path`` after its day-end of ``closed_through``, by loan id."""
    dataset = Dataset(path)
    manifest = dataset.manifest()
    table = pa.concat_tables(dataset.iter_parts(manifest.generation, manifest.parts))
    batch = from_arrow(table)
    return {
        loan_id: loan_state(batch, n, closed_through) for n, loan_id in enumerate(table.column("loan_id").to_pylist())
    }
