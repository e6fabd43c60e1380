"""Reads the API and the operations console share beside the handlers: whose a loan or a line is (for the
access check, :func:`arrears.access.authorize`), where a loan is placed, an account's stored records, the strategy
rule behind each planned action, the compliance log, and the read audit's rows.

Each opens one read-only snapshot through :class:`Services` and returns the typed records of
:mod:`arrears.adapters.console_store` (money in integer minor units; the doors format it). Entry points call these
instead of the adapters, so that only :mod:`arrears.entrypoints.bootstrap` reaches the store from a door.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from arrears.adapters import console_store
from arrears.adapters.console_store import AccountRecords, ComplianceLog
from arrears.adapters.store import LoanRecord, NotFound
from arrears.legal.court_orders import CourtOrder
from arrears.service_layer.services import Services

__all__ = [
    "AccountRecords",
    "ComplianceLog",
    "LoanRecord",
    "NotFound",
    "account_records",
    "audit_row",
    "compliance_log",
    "court_orders_of",
    "line_owner",
    "loan",
    "loan_and_orders",
    "placed_with",
    "strategy_rules",
    "text_limit",
    "write_audit",
]


def text_limit(name: str) -> int:
    """The most characters a stored text field keeps, by its name in :data:`console_store.TEXT_LIMITS`."""
    return console_store.TEXT_LIMITS[name]


def loan(services: Services, loan_id: int) -> LoanRecord:
    """The stored loan: its terms, line and borrower (:class:`NotFound` when there is none)."""
    with services.reading() as connection:
        return console_store.loan(connection, loan_id)


def loan_and_orders(services: Services, loan_id: int) -> tuple[LoanRecord, list[CourtOrder]]:
    """The stored loan and the court orders recorded against its borrower, in one snapshot."""
    with services.reading() as connection:
        record = console_store.loan(connection, loan_id)
        return record, console_store.court_orders_of(connection, record.borrower_id)


def court_orders_of(services: Services, borrower_id: int) -> list[CourtOrder]:
    with services.reading() as connection:
        return console_store.court_orders_of(connection, borrower_id)


def line_owner(services: Services, line_id: int) -> int:
    """The borrower whose line this is (:class:`NotFound` when there is none)."""
    with services.reading() as connection:
        return console_store.line_owner(connection, line_id)


def placed_with(services: Services, loan_id: int) -> set[str]:
    """The agency the loan is placed with now (none or one): an agency reads only the loans placed with it."""
    with services.reading() as connection:
        return console_store.placed_with(connection, loan_id)


def account_records(services: Services, loan_id: int, line_id: int, agency: str | None = None) -> AccountRecords:
    """The loan's transactions and books, credit records, contacts and promises, and its line's restrictions
    (:func:`arrears.adapters.console_store.account_records`); an agency's view holds only its own contacts."""
    with services.reading() as connection:
        return console_store.account_records(connection, loan_id, line_id, agency)


def strategy_rules(services: Services, day: date) -> dict[tuple[int, str, str | None], str]:
    """The strategy rule that planned each (loan, action, template) on ``day``: why the queue asks for it."""
    with services.reading() as connection:
        return console_store.strategy_rules(connection, day)


def compliance_log(services: Services) -> ComplianceLog:
    """The latest refused plan actions (each with its rule and reason), messages cancelled before they were
    sent (with why), and audit-log rows (who did what to what; phone numbers are stored masked)."""
    with services.reading() as connection:
        return console_store.compliance_log(connection)


def audit_row(services: Services, *, actor: str, origin: str, action: str, target: str) -> dict[str, Any]:
    """A read's audit row, stamped now by the services' clock, to be written later by :func:`write_audit`."""
    return console_store.audit_row(now=services.clock(), actor=actor, origin=origin, action=action, target=target)


def write_audit(services: Services, rows: Sequence[dict[str, Any]]) -> None:
    """Write queued read-audit rows in one transaction."""
    with services.transaction() as connection:
        console_store.write_audit(connection, rows)
