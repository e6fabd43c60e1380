"""The door's one object: :class:`Services`, the application's commands and queries over one database.

Every door (the CLI, the REST API, the web pages), the command modules of the service layer, the tests and the
benches call one :class:`Services`; it owns nothing itself and delegates:

* the transaction, the idempotency key, the audit row, the locks (the day-end lock, the lock-wait bound,
  :class:`arrears.errors.Busy`), the business date and the replay cache to its unit of work
  (:mod:`arrears.service_layer.unit_of_work`);
* commands and queries to the handlers, by aggregate: :mod:`~arrears.service_layer.loans` (drawdown,
  repayment, waiver, write-off, reversal, any loan event, a loan's state), :mod:`~arrears.service_layer.lines`
  (open, review, restriction history, line view), :mod:`~arrears.service_layer.borrowers` (add, segment,
  profile, standing, explain), :mod:`~arrears.service_layer.court_orders` (record, lift) and
  :mod:`~arrears.service_layer.ledger_check` (verify, accrue);
* a loan during the business date to :mod:`arrears.service_layer.positions`.

Every write command runs in one transaction and, when it carries an idempotency key, is answered once: the same
key with the same payload returns the original result and writes nothing; the same key with another payload is
refused (:class:`IdempotencyConflict`). The business date is ARREARS_BUSINESS_DATE when set, else the day after
the store's last completed day-end, else today in the lender's time zone.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine

from arrears.adapters import store
from arrears.config import Settings
from arrears.day_end.reference import DayEndPolicy
from arrears.domain.engine import LoanEvent
from arrears.domain.ledger import Balances
from arrears.domain.product import Product
from arrears.domain.terms import Component, InterestBasis, Method
from arrears.restrictions.registry import line_history
from arrears.service_layer import borrowers, court_orders, ledger_check, lines, loans
from arrears.service_layer.borrowers import BORROWER_LANGUAGES, check_segment
from arrears.service_layer.lines import DrawdownRefused
from arrears.service_layer.positions import Position, position, position_after_day_end, position_of
from arrears.service_layer.unit_of_work import (
    DAY_END_LOCK,
    REPLAYS_KEPT,
    IdempotencyConflict,
    UnitOfWork,
    ValueDateRefused,
)

__all__ = [
    "BORROWER_LANGUAGES",
    "DAY_END_LOCK",
    "REPLAYS_KEPT",
    "DrawdownRefused",
    "IdempotencyConflict",
    "Position",
    "Services",
    "ValueDateRefused",
    "check_segment",
    "line_history",
    "position_after_day_end",
    "position_of",
]


class Services:
    """The application's commands and queries over one database: a facade over the unit of work and the
    handlers (see the module docstring); every method keeps the signature and answer it always had."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        origin: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.uow = UnitOfWork(engine, settings, origin or f"cli@{socket.gethostname()}", clock)

    # -- the unit of work's state, read and set through the facade ------------------------------------------

    @property
    def engine(self) -> Engine:
        return self.uow.engine

    @property
    def settings(self) -> Settings:
        return self.uow.settings

    @property
    def origin(self) -> str:
        return self.uow.origin

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.uow.clock

    @clock.setter
    def clock(self, clock: Callable[[], datetime]) -> None:
        self.uow.clock = clock

    @property
    def policy(self) -> DayEndPolicy:
        return self.uow.policy

    # -- plumbing: the unit of work ---------------------------------------------------------------------------

    @contextmanager
    def acting_as(self, actor: str, *, origin: str) -> Iterator[None]:
        """Commands inside are audited as ``actor`` from ``origin`` (the API's caller), not the process's user."""
        with self.uow.acting_as(actor, origin=origin):
            yield

    @contextmanager
    def transaction(self, *, day_end: bool = False) -> Iterator[Connection]:
        """One writing transaction in the store's one lock order (:meth:`UnitOfWork.transaction`)."""
        with self.uow.transaction(day_end=day_end) as connection:
            yield connection

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only connection, one consistent snapshot (:meth:`UnitOfWork.reading`)."""
        with self.uow.reading() as connection:
            yield connection

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A connection for a read made in one statement (:meth:`UnitOfWork.snapshot`)."""
        with self.uow.snapshot() as connection:
            yield connection

    def business_date(self, connection: Connection) -> date:
        return self.uow.business_date(connection)

    def refuse_beyond_horizon(self, connection: Connection, day: date, what: str) -> None:
        self.uow.refuse_beyond_horizon(connection, day, what)

    def idempotent(self, command: str, key: str | None, payload: dict[str, Any], work: Callable[..., Any]) -> Any:
        """Run a command module's ``work(connection, business_date)`` in one transaction, once per key when one is
        given (:meth:`UnitOfWork.idempotent`)."""
        return self.uow.idempotent(command, key, payload, work)

    def audit(self, connection: Connection, action: str, target: str, details: Any) -> None:
        """Audit a command's write, for command modules outside this class (hardship, legal)."""
        self.uow.audit(connection, action, target, details)

    def position(
        self, loan: store.LoanRecord, events: list[LoanEvent], business_date: date, *, day_ended: bool = False
    ) -> Position:
        """The loan during ``business_date`` (:func:`arrears.service_layer.positions.position`)."""
        return position(self.policy, loan, events, business_date, day_ended=day_ended)

    # -- borrowers and lines ----------------------------------------------------------------------------------

    def add_borrower(
        self,
        *,
        name: str,
        phone: str,
        timezone: str = "Asia/Shanghai",
        language: str = "zh",
        segment: str = "",
        key: str | None = None,
    ) -> int:
        """Add a borrower; with ``key``, once per key (a client retrying gets the first borrower's id)."""
        return borrowers.add_borrower(
            self.uow, name=name, phone=phone, timezone=timezone, language=language, segment=segment, key=key
        )

    def set_segment(self, *, borrower_id: int, segment: str) -> None:
        """Put a borrower in a collections segment ("" for none)."""
        borrowers.set_segment(self.uow, borrower_id=borrower_id, segment=segment)

    def open_line(
        self,
        *,
        borrower_id: int,
        product: Product,
        limit: int,
        daily_rate: Decimal | None = None,
        key: str | None = None,
    ) -> int:
        return lines.open_line(
            self.uow, borrower_id=borrower_id, product=product, limit=limit, daily_rate=daily_rate, key=key
        )

    def review_line(self, *, line_id: int, note: str, key: str) -> dict[str, Any]:
        """The lender's review of a closed line (:func:`arrears.service_layer.lines.review_line`)."""
        return lines.review_line(self.uow, line_id=line_id, note=note, key=key)

    def restriction_history(self, line_id: int) -> dict[str, Any]:
        """The registry's record of the line's restrictions."""
        return lines.restriction_history(self.uow, line_id)

    def line_view(self, line_id: int, lang: str) -> dict[str, Any]:
        """A credit line during the business date (:func:`arrears.service_layer.lines.line_view`)."""
        return lines.line_view(self.uow, line_id, lang)

    # -- loans --------------------------------------------------------------------------------------------------

    def draw(
        self,
        *,
        line_id: int,
        amount: int,
        terms: int,
        start: date,
        key: str,
        method: Method | None = None,
        interest_basis: InterestBasis | None = None,
    ) -> int:
        return loans.draw(
            self.uow,
            line_id=line_id,
            amount=amount,
            terms=terms,
            start=start,
            key=key,
            method=method,
            interest_basis=interest_basis,
        )

    def repay(
        self,
        *,
        loan_id: int,
        amount: int,
        value_date: date,
        key: str,
        currency: str | None = None,
        court_order: int | None = None,
    ) -> dict[str, Any]:
        """Post a repayment (:func:`arrears.service_layer.loans.repay`)."""
        return loans.repay(
            self.uow,
            loan_id=loan_id,
            amount=amount,
            value_date=value_date,
            key=key,
            currency=currency,
            court_order=court_order,
        )

    def waive(self, *, loan_id: int, component: Component, amount: int, value_date: date, key: str) -> dict[str, Any]:
        return loans.waive(
            self.uow, loan_id=loan_id, component=component, amount=amount, value_date=value_date, key=key
        )

    def write_off(self, *, loan_id: int, value_date: date, key: str) -> dict[str, Any]:
        return loans.write_off(self.uow, loan_id=loan_id, value_date=value_date, key=key)

    def reverse(self, *, transaction_id: int, key: str) -> dict[str, Any]:
        """Reverse a repayment (a returned or mistaken payment): the loan is replayed as if it never came."""
        return loans.reverse(self.uow, transaction_id=transaction_id, key=key)

    def post_event(self, connection: Connection, business_date: date, loan_id: int, event: LoanEvent) -> dict[str, Any]:
        """Post one loan event inside a command's transaction (a hardship plan's events, an acceleration)."""
        return loans.post_event(self.uow, connection, business_date, loan_id, event)

    def insert_transaction(
        self,
        connection: Connection,
        loan_id: int,
        kind: str,
        value_date: date,
        amount: int,
        business_date: date,
        backdated: bool,
        now: datetime,
        *,
        component: str | None = None,
        reverses_id: int | None = None,
        source: str | None = None,
        detail: str | None = None,
    ) -> int:
        return loans.insert_transaction(
            connection,
            loan_id,
            kind,
            value_date,
            amount,
            business_date,
            backdated,
            now,
            component=component,
            reverses_id=reverses_id,
            source=source,
            detail=detail,
        )

    def post_position(
        self,
        connection: Connection,
        loan: store.LoanRecord,
        target: Position,
        current: Balances,
        kind: str,
        business_date: date,
        value_date: date,
        transaction_id: int | None,
        *,
        advance: bool = False,
    ) -> store.LoanRecord:
        """Post the entry taking ``current`` to ``target`` (:func:`arrears.service_layer.loans.post_position`)."""
        return loans.post_position(
            self.uow,
            connection,
            loan,
            target,
            current,
            kind,
            business_date,
            value_date,
            transaction_id,
            advance=advance,
        )

    def loan_state(self, loan_id: int, as_of: date) -> dict[str, Any]:
        """``loan show``: the same JSON as ``simulate`` for a stored loan, replayed from its events."""
        return loans.loan_state(self.uow, loan_id, as_of)

    # -- court orders -----------------------------------------------------------------------------------------

    def record_court_order(
        self,
        *,
        borrower_id: int,
        court: str,
        case_number: str,
        document_ref: str,
        kind: str,
        issued_on: date,
        key: str,
        loan_id: int | None = None,
        amount: int | None = None,
    ) -> int:
        """Record a court's order against a borrower (never execute it: :mod:`arrears.legal.court_orders`)."""
        return court_orders.record_court_order(
            self.uow,
            borrower_id=borrower_id,
            court=court,
            case_number=case_number,
            document_ref=document_ref,
            kind=kind,
            issued_on=issued_on,
            key=key,
            loan_id=loan_id,
            amount=amount,
        )

    def lift_court_order(self, *, order_id: int, document_ref: str, lifted_on: date, key: str) -> dict[str, Any]:
        """Record the court's lifting of an order: the only way an order is lifted."""
        return court_orders.lift_court_order(
            self.uow, order_id=order_id, document_ref=document_ref, lifted_on=lifted_on, key=key
        )

    # -- a borrower's views ---------------------------------------------------------------------------------

    def borrower_profile(self, borrower_id: int) -> dict[str, Any]:
        """A borrower as their app or a collector sees them: name, phone masked, lines and loans."""
        return borrowers.borrower_profile(self.uow, borrower_id)

    def standing(self, borrower_id: int, day: date, lang: str) -> dict[str, Any]:
        """``standing``: what is restricted on the borrower's lines during ``day``, why, and how to lift it."""
        return borrowers.standing(self.uow, borrower_id, day, lang)

    def explain_loan(self, loan_id: int, as_of: date, lang: str) -> dict[str, Any]:
        """``explain``: every interest, penalty and compound amount of a stored loan, line by line."""
        return borrowers.explain_loan(self.uow, loan_id, as_of, lang)

    # -- the books ------------------------------------------------------------------------------------------

    def accrue(self) -> int:
        """Bring every loan's books up to the business date (recognition entries); returns how many moved."""
        return ledger_check.accrue(self.uow)

    def verify_ledger(self) -> list[str]:
        """Every discrepancy between the books and the loans (empty when all is well); see ``ledger verify``."""
        return ledger_check.verify_ledger(self.uow)
