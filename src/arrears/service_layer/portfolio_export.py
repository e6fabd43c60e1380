"""Statements (:mod:`arrears.service_layer.portfolio` describes the CSV): one loan's as of a day, as JSON for the API
or as ``loan-<id>.csv`` files written atomically."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from arrears.adapters import portfolio_store as ps
from arrears.adapters import store
from arrears.domain.engine import LoanState
from arrears.domain.engine import replay as replay_loan
from arrears.domain.terms import Component
from arrears.domain.views import state_view
from arrears.errors import InputRejected
from arrears.money import format_minor
from arrears.service_layer.services import Services


@dataclass(frozen=True, slots=True)
class ExportReport:
    as_of: date
    files: tuple[Path, ...]
    skipped: tuple[int, ...] = ()
    """Loans left out because they started after the as-of date (only when no loan ids were given)."""


def _yes(value: bool) -> str:
    return "true" if value else "false"


def _status(state: LoanState) -> str:
    if state.written_off_on is not None:
        return "written_off"
    return "settled" if state.settled_on is not None else "open"


def statement_of(
    loan: store.LoanRecord,
    state: LoanState,
    transactions: Iterable[ps.TransactionRecord],
    reversed_ids: Collection[int],
) -> dict[str, Any]:
    """A loan's statement as of a day: its terms, its transactions to that day (each marked backdated or
    reversed), its installments and its state; amounts as decimal strings. The one source of the CSV statement
    (:func:`export_statements`) and the API's ``GET /loans/{id}/statement``."""
    terms = loan.terms
    view = state_view(state)
    overdue = view["overdue"]
    return {
        "terms": {
            "loan_id": loan.id,
            "line_id": loan.line_id,
            "borrower_id": loan.borrower_id,
            "currency": terms.currency,
            "principal": format_minor(terms.principal),
            "daily_rate": str(terms.daily_rate),
            "terms": terms.terms,
            "method": str(terms.method),
            "interest_basis": str(terms.interest_basis),
            "start": terms.start.isoformat(),
        },
        "transactions": [
            {
                "value_date": row.value_date.isoformat(),
                "kind": row.kind,
                "amount": format_minor(row.amount),
                "component": row.component,
                "backdated": bool(row.backdated),
                "reversed": row.id in reversed_ids,
                "transaction_id": row.id,
            }
            for row in transactions
        ],
        "installments": [
            {key: item[key] for key in ("number", "due_date", "status", "principal", "interest", "penalty", "compound")}
            for item in view["installments"]
        ],
        "state": {
            "as_of": view["as_of"],
            "status": _status(state),
            "days_past_due": view["days_past_due"],
            "bucket": view["bucket"],
            "classification": view["classification"],
            "outstanding_principal": view["outstanding_principal"],
            **{f"overdue_{part}": overdue[part] for part in ("principal", "interest", "penalty", "compound", "total")},
            "unapplied": view["unapplied"],
            **{
                f"paid_{part}": format_minor(state.allocated[Component(part)])
                for part in ("principal", "interest", "penalty", "compound")
            },
            "settled_on": state.settled_on.isoformat() if state.settled_on else None,
            "written_off_on": state.written_off_on.isoformat() if state.written_off_on else None,
        },
    }


def _cell(value: Any) -> str:
    """A statement value as its CSV cell: booleans as true/false, none as empty."""
    if isinstance(value, bool):
        return _yes(value)
    return "" if value is None else str(value)


def _statement(
    loan: store.LoanRecord,
    state: LoanState,
    transactions: Iterable[ps.TransactionRecord],
    reversed_ids: Collection[int],
) -> list[list[str]]:
    """:func:`statement_of` as the rows of ``loan-<id>.csv``: terms, transactions, installments, state."""
    made = statement_of(loan, state, transactions, reversed_ids)
    rows: list[list[str]] = [["term", "value"], *([key, _cell(value)] for key, value in made["terms"].items()), []]
    for part in ("transactions", "installments"):
        header = {
            "transactions": ["value_date", "kind", "amount", "component", "backdated", "reversed", "transaction_id"],
            "installments": ["installment", "due_date", "status", "principal", "interest", "penalty", "compound"],
        }[part]
        rows += [header, *([_cell(value) for value in item.values()] for item in made[part]), []]
    rows += [["state", "value"], *([key, _cell(value)] for key, value in made["state"].items())]
    return rows


def loan_statement(services: Services, loan_id: int, as_of: date) -> dict[str, Any]:
    """One loan's statement as of ``as_of`` (:func:`statement_of`), read in one snapshot (``Services.reading``)."""
    with services.reading() as connection:
        loan = store.get_loan(connection, loan_id)
        if loan.terms.start > as_of:
            raise InputRejected(
                f"loan {loan_id} started on {loan.terms.start}, after the as-of date {as_of}; pick a later date"
            )
        reversed_ids = ps.reversed_of_loan(connection, loan_id)
        state = replay_loan(loan.terms, store.loan_events(connection, loan_id), as_of)
        transactions = ps.transactions_through(connection, loan_id, as_of)
    return {"loan": loan_id, **statement_of(loan, state, transactions, reversed_ids)}


def _write_atomically(path: Path, rows: list[list[str]]) -> None:
    """Write beside ``path`` under a temporary name, then rename: readers see the old file or the whole new one."""
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(rows)  # no fsync: a statement can be written again from the books
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def export_statements(
    services: Services, out_dir: str | Path, as_of: date, loan_ids: Sequence[int] | None = None
) -> ExportReport:
    """Write ``loan-<id>.csv`` for each loan (all loans started by ``as_of`` when ``loan_ids`` is None)."""
    out = Path(out_dir)
    with services.reading() as connection:
        skipped: list[int] = []
        candidates = ps.loan_ids(connection) if loan_ids is None else list(dict.fromkeys(loan_ids))
        loans: list[store.LoanRecord] = []
        for loan_id in candidates:  # every named loan is checked before any file is written
            loan = store.get_loan(connection, loan_id)
            if loan.terms.start > as_of:
                if loan_ids is None:
                    skipped.append(loan_id)
                    continue
                raise InputRejected(
                    f"loan {loan_id} started on {loan.terms.start}, after the as-of date {as_of}; pick a later date"
                )
            loans.append(loan)
        reversed_ids = ps.reversed_ids(connection)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InputRejected(f"cannot create {out} ({error.strerror}); choose another --out") from None
        files: list[Path] = []
        for loan in loans:
            state = replay_loan(loan.terms, store.loan_events(connection, loan.id), as_of)
            transactions = ps.transactions_through(connection, loan.id, as_of)
            path = out / f"loan-{loan.id}.csv"
            _write_atomically(path, _statement(loan, state, transactions, reversed_ids))
            files.append(path)
    return ExportReport(as_of=as_of, files=tuple(files), skipped=tuple(skipped))
