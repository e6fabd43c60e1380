"""Writing a checked portfolio (:mod:`arrears.service_layer.portfolio`): one transaction, all or nothing, under an
idempotency key made of the files' digest, so the same files imported again answer with the first import's report."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from arrears.adapters import portfolio_store as ps
from arrears.adapters import store
from arrears.errors import InputRejected
from arrears.service_layer.portfolio_check import PortfolioPlan, _Loan, check_portfolio
from arrears.service_layer.services import Services

Progress = Callable[[str], None]

CHUNK = 1000
"""Loans written per batch (one progress report each)."""


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import wrote (or, with ``already_imported``, what the earlier import of the same files wrote)."""

    business_date: date
    borrowers: int
    lines: int
    loans: int
    payments: int
    line_ids: dict[str, int]
    loan_ids: dict[str, int]
    digest: str
    """SHA-256 of the three tables' bytes: the import's idempotency key."""
    notices: tuple[str, ...] = ()
    already_imported: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "business_date": self.business_date.isoformat(),
            "borrowers": self.borrowers,
            "lines": self.lines,
            "loans": self.loans,
            "payments": self.payments,
            "line_ids": self.line_ids,
            "loan_ids": self.loan_ids,
            "digest": self.digest,
            "notices": list(self.notices),
            "already_imported": self.already_imported,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, already_imported: bool) -> ImportReport:
        return cls(
            business_date=date.fromisoformat(values["business_date"]),
            borrowers=values["borrowers"],
            lines=values["lines"],
            loans=values["loans"],
            payments=values["payments"],
            line_ids=dict(values["line_ids"]),
            loan_ids=dict(values["loan_ids"]),
            digest=values["digest"],
            notices=tuple(values["notices"]),
            already_imported=already_imported,
        )


def _stored_report(connection: Connection, key: str) -> ImportReport | None:
    response = ps.stored_response(connection, key)
    if response is None:
        return None
    return ImportReport.from_dict(json.loads(response), already_imported=True)


def import_portfolio(services: Services, directory: str | Path, *, progress: Progress | None = None) -> ImportReport:
    """Check the portfolio in ``directory`` and write it in one transaction (module docstring).

    ``progress`` hears ``checked ...`` once the checks pass, ``writing`` as the transaction starts writing,
    ``written N of M loans`` after each batch and ``committed`` at the end (``already imported`` instead of
    the last three when the same files were imported before).
    """
    say = progress or (lambda _message: None)
    with services.reading() as connection:
        business_date = services.business_date(connection)
    plan = check_portfolio(directory, business_date, services.policy)
    say(f"checked {len(plan.lines)} lines, {len(plan.loans)} loans, {plan.payments} payments")
    key = f"portfolio-import:{plan.digest}"
    try:
        report = _write(services, plan, key, say)
    except IntegrityError:
        # The same files were imported by a concurrent process that committed first: answer with its report.
        with services.reading() as connection:
            stored = _stored_report(connection, key)
        if stored is None:
            raise
        return stored
    say("already imported" if report.already_imported else "committed")
    return report


def _write(services: Services, plan: PortfolioPlan, key: str, say: Progress) -> ImportReport:
    """The import's one transaction: borrowers, lines, loans in chunks, then the key and the audit row."""
    with services.transaction() as connection:
        business_date = services.business_date(connection)
        if business_date != plan.business_date:
            raise InputRejected(
                f"the business date moved from {plan.business_date} to {business_date} during the import "
                "(a day-end completed); run the import again"
            )
        stored = _stored_report(connection, key)
        if stored is not None:
            return stored
        say("writing")
        now = services.clock()
        borrower_ids, line_ids = _write_lines(connection, plan, now, business_date)
        loan_ids: dict[str, int] = {}
        for offset in range(0, len(plan.loans), CHUNK):
            chunk = plan.loans[offset : offset + CHUNK]
            loan_ids.update(_write_loans(services, connection, chunk, line_ids, borrower_ids, business_date))
            say(f"written {offset + len(chunk)} of {len(plan.loans)} loans")
        report = ImportReport(
            business_date=business_date,
            borrowers=len(plan.borrowers),
            lines=len(plan.lines),
            loans=len(plan.loans),
            payments=plan.payments,
            line_ids=line_ids,
            loan_ids=loan_ids,
            digest=plan.digest,
            notices=plan.notices,
        )
        _record(services, connection, plan, key, report, now)
        return report


def _write_lines(
    connection: Connection, plan: PortfolioPlan, now: datetime, business_date: date
) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """Write the borrowers and the credit lines (each opened on its first loan's start, or the business date if
    earlier); their ids by (name, phone) and by line ref."""
    borrower_ids = dict(
        zip(
            plan.borrowers,
            ps.add_borrowers(
                connection,
                [
                    {"name": name, "phone": phone, "timezone": "Asia/Shanghai", "language": "zh", "created_at": now}
                    for name, phone in plan.borrowers
                ],
            ),
            strict=True,
        )
    )
    first_start: dict[str, date] = {}
    for loan in plan.loans:
        ref = loan.line.ref
        first_start[ref] = min(first_start.get(ref, loan.terms.start), loan.terms.start)
    line_rows = [
        {
            "borrower_id": borrower_ids[line.borrower],
            "product_code": line.product.code,
            **store.product_snapshot(line.product.document),
            "currency": line.product.currency,
            "limit_minor": line.limit,
            "daily_rate": str(line.rate),
            "status": "open",
            "opened_on": min(first_start.get(line.ref, business_date), business_date),
            "version": 0,
        }
        for line in plan.lines
    ]
    line_ids = dict(
        zip(
            (line.ref for line in plan.lines),
            ps.add_lines(connection, line_rows),
            strict=True,
        )
    )
    return borrower_ids, line_ids


def _record(
    services: Services, connection: Connection, plan: PortfolioPlan, key: str, report: ImportReport, now: datetime
) -> None:
    """The import's idempotency key (its answer to a replay) and its audit-log row, the refs -> ids map in it."""
    response = json.dumps(report.as_dict(), sort_keys=True)
    ps.add_key(
        connection, key=key, command="portfolio.import", request_hash=plan.digest, response=response, created_at=now
    )
    store.audit(
        connection,
        now=now,
        actor=services.settings.actor,
        origin=services.origin,
        action="portfolio.import",
        target=f"portfolio:{plan.digest[:16]}",
        details={
            "directory": str(plan.directory),
            "digest": plan.digest,
            "business_date": report.business_date,
            "borrowers": report.borrowers,
            "lines": report.lines,
            "loans": report.loans,
            "payments": report.payments,
            "line_ids": report.line_ids,  # refs -> ids: the only place the portfolio's refs are kept
            "loan_ids": report.loan_ids,
        },
    )


def _write_loans(
    services: Services,
    connection: Connection,
    loans: list[_Loan],
    line_ids: dict[str, int],
    borrower_ids: dict[tuple[str, str], int],
    business_date: date,
) -> dict[str, int]:
    now = services.clock()
    rows = [
        {
            "line_id": line_ids[loan.line.ref],
            "borrower_id": borrower_ids[loan.line.borrower],
            "status": "open",
            "outstanding_principal": loan.terms.principal,
            "posted_through": business_date,
            "last_entry_hash": store.GENESIS_HASH,
            "version": 0,
            **store.terms_columns(loan.terms),
        }
        for loan in loans
    ]
    ids = ps.add_loans(connection, rows)
    ps.add_installments(
        connection,
        [row for loan, loan_id in zip(loans, ids, strict=True) for row in store.schedule_rows(loan_id, loan.schedule)],
    )

    def transaction(loan_id: int, kind: str, value_date: date, amount: int) -> dict[str, Any]:
        return {
            "loan_id": loan_id,
            "kind": kind,
            "value_date": value_date,
            "amount": amount,
            "component": None,
            "reverses_id": None,
            "business_date": business_date,
            "backdated": value_date < business_date,
            "created_at": now,
        }

    transactions: list[dict[str, Any]] = []
    for loan, loan_id in zip(loans, ids, strict=True):
        transactions.append(transaction(loan_id, "disbursement", loan.terms.start, loan.terms.principal))
        # Value-date order, file order within a day: the order loan_events reads them back in.
        for payment in sorted(loan.payments, key=lambda item: item.value_date):
            transactions.append(transaction(loan_id, "repayment", payment.value_date, payment.amount))
    ps.add_transactions(connection, transactions)
    for loan, loan_id in zip(loans, ids, strict=True):
        assert loan.position is not None
        record = store.LoanRecord(
            id=loan_id,
            line_id=line_ids[loan.line.ref],
            borrower_id=borrower_ids[loan.line.borrower],
            terms=loan.terms,
            status="open",
            outstanding_principal=loan.terms.principal,
            posted_through=business_date,
            last_entry_hash=store.GENESIS_HASH,
            version=0,
        )
        services.post_position(
            connection, record, loan.position, {}, "import", business_date, business_date, None, advance=True
        )
    return {loan.ref: loan_id for loan, loan_id in zip(loans, ids, strict=True)}
