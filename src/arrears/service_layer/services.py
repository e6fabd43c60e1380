"""Commands and their handlers: one database transaction each, idempotent, audited.

Every write command runs in one transaction (:meth:`Services.transaction`) and, when it carries an
idempotency key, is answered once: the same key with the same payload returns the original result and writes
nothing; the same key with another payload is refused (:class:`IdempotencyConflict`). A crash before commit
leaves nothing; a retry after commit returns the stored answer. So a payment is never posted twice or lost.

The business date is ARREARS_BUSINESS_DATE when set, else the day after the store's last completed day-end,
else today in the lender's time zone. A value date after it is refused; an earlier one is accepted down to the
loan's start (or ARREARS_MAX_BACKDATE_DAYS) and flagged as backdated in the audit log.

Posting follows :mod:`arrears.domain.ledger`, on the day-end's accrual basis
(:func:`arrears.day_end.reference.balances_during`):
a command on a loan first brings the loan's books up to the business date with the events it already had (a
``recognition`` entry, if anything changed), then posts the difference its own event makes (one entry of the
command's kind). A backdated payment's entry therefore carries the adjustments (penalty that would never have
been charged, interest that would have stayed in accrual, say) that make the books equal "recorded on time".
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import math
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from arrears.adapters import restriction_store, store
from arrears.adapters import tables as t
from arrears.adapters.database import READ_ONLY, bound_lock_waits, is_busy
from arrears.config import Settings
from arrears.day_end.reference import (
    DayEndPolicy,
    DayEndState,
    balances_during,
    day_end_state_from,
    day_end_state_through,
)
from arrears.domain.classification import Classification
from arrears.domain.credit_line import DrawdownLimits, check_drawdown
from arrears.domain.engine import LoanEvent, LoanReplay, Payment, PaymentRefused, Waiver, WriteOff, replay_events
from arrears.domain.explain import explain
from arrears.domain.ledger import Account, Balances, difference
from arrears.domain.product import LiftCondition, Product, RestrictionScope
from arrears.domain.schedule import build_schedule
from arrears.domain.terms import WAIVABLE, Component, InterestBasis, LoanTerms, Method
from arrears.domain.views import state_view
from arrears.errors import Busy, InputRejected
from arrears.inputs import check_text
from arrears.legal.court_orders import check_lifting, check_order, checked_kind
from arrears.money import format_minor
from arrears.restrictions.registry import LineDuring, Restriction, line_history
from arrears.restrictions.standing import LineInput, line_during, standing
from arrears.service_layer.restriction_records import record_line


class IdempotencyConflict(InputRejected):
    """The key was used before with a different payload; use a new key for a new request."""


class DrawdownRefused(InputRejected):
    """A drawdown a product rule refuses; the message names the rule."""


class ValueDateRefused(InputRejected):
    """A value date in the future, before the loan, or further back than the backdating limit."""


@dataclass(frozen=True, slots=True)
class Position:
    """A loan during the business date: its standing after the day-end before it, and its replay with every
    event so far applied; ``balances`` are its books (:func:`arrears.day_end.reference.balances_during`)."""

    replay: LoanReplay
    standing: DayEndState
    balances: Balances
    day_ended: bool = False
    """The standing is the store's day-end's (the loan's books are its balances until a command posts)."""


def _during(replayed: LoanReplay, standing: DayEndState, business_date: date, day_ended: bool = False) -> Position:
    """A replay holding the loan's events brought into ``business_date``: the day-ends before it run, held
    credit applied to what falls due on it (again, harmlessly, if an event of that day already did)."""
    if business_date >= replayed.terms.start:
        replayed.begin_day(business_date)
    return Position(replayed, standing, balances_during(standing, replayed, business_date), day_ended)


def position_of(terms: LoanTerms, events: list[LoanEvent], business_date: date, policy: DayEndPolicy) -> Position:
    """The loan during ``business_date``: day-ends through the day before run by the reference
    (:func:`arrears.day_end.reference.day_end_state_through`), then the events of that day applied in recorded order."""
    standing, replayed = day_end_state_through(terms, events, business_date - timedelta(days=1), policy)
    _apply_day(replayed, events, business_date)
    return _during(replayed, standing, business_date)


def _apply_day(replayed: LoanReplay, events: list[LoanEvent], business_date: date) -> None:
    for event in sorted(events, key=lambda e: e.value_date):
        if event.value_date == business_date:
            replayed.apply(event)


def position_after_day_end(
    terms: LoanTerms,
    events: list[LoanEvent],
    business_date: date,
    status: tuple[bool, int, int],
    policy: DayEndPolicy | None = None,
) -> Position:
    """As :func:`position_of` for a loan the store's day-end ran through the day before, from the accrual
    status it stored (non-accrual, suspended interest, suspended penalty): one replay, no day-by-day reference."""
    closed = business_date - timedelta(days=1)
    replayed = replay_events(terms, events, closed)
    if closed >= terms.start:
        replayed.close_through(closed)
    standing = day_end_state_from(replayed, *status, policy)
    _apply_day(replayed, events, business_date)
    return _during(replayed, standing, business_date, day_ended=True)


REPLAYS_KEPT = 4096
"""Loans whose replay a :class:`Services` keeps: a few tens of MB at most (a replay is a few kB)."""


class _Replays:
    """The replay of each loan this process last posted to, so that the next event of the same day on that loan
    needs neither to read the loan's events nor to replay them.

    A kept replay is used only if the loan row, read under its lock, still has the version and ledger head it
    had when the replay was kept, on the same business date: every command that adds an event to a loan (or
    posts to it) saves the row with a new version, so a match proves that no other process or thread changed
    the loan since. A replay is staged by the command that made it and kept only once that command's
    transaction has committed; taking one removes it (the command that takes it changes it), so a command that
    fails or rolls back leaves nothing behind.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._kept: dict[int, tuple[int, str, date, Position]] = {}
        self._lock = threading.Lock()
        self._staged = threading.local()  # commands of one Services may run on several threads at once

    def take(self, loan: store.LoanRecord, business_date: date) -> Position | None:
        with self._lock:
            kept = self._kept.pop(loan.id, None)
        if kept is None or kept[:3] != (loan.version, loan.last_entry_hash, business_date):
            return None
        return kept[3]

    def stage(self, loan: store.LoanRecord, business_date: date, replayed: Position) -> None:
        self._staged.entry = (loan.id, (loan.version, loan.last_entry_hash, business_date, replayed))

    def unstage(self) -> None:
        self._staged.entry = None

    def keep_staged(self) -> None:
        entry = getattr(self._staged, "entry", None)
        self._staged.entry = None
        if entry is None:
            return
        loan_id, kept = entry
        with self._lock:
            self._kept.pop(loan_id, None)
            self._kept[loan_id] = kept
            if len(self._kept) > self._size:  # drop the loan posted to longest ago
                del self._kept[next(iter(self._kept))]


def _restriction_refusal(restriction: Restriction, line_id: int, during: LineDuring) -> str:
    """Why a restriction refuses a drawdown, and how to lift it, in one line."""
    rule = restriction.rule
    overdue = format_minor(sum(during.overdue.values()))
    how = {
        LiftCondition.NOTHING_OVERDUE: f"pay the {overdue} overdue and it lifts at once",
        LiftCondition.GOOD_STANDING: f"it lifts after {rule.good_standing_days} day-ends in a row with nothing overdue",
        LiftCondition.REVIEW_AFTER_FULL_REPAYMENT: "it re-opens only by the lender's review after full repayment",
    }[rule.lift]
    return (
        f"drawdown refused by restriction {rule.name} ({rule.scope.value}) on line {line_id} since the day-end of "
        f"{restriction.since} ({restriction.days_past_due} days past due; {rule.legal_basis}): {how}"
    )


def _request_hash(command: str, payload: dict[str, Any]) -> str:
    body = json.dumps([command, payload], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


_HELD_AUDIT = "arrears_held_audit"
"""Connection-info key of the audit rows a keyed command holds back for its idempotency-key statement."""


_ACTING: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("arrears_acting", default=None)
"""(actor, origin) the commands of this context are audited as (the API's caller), else the settings' actor."""

_SEGMENT = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


DAY_END_LOCK = int.from_bytes(b"arrears", "big")
"""The key of PostgreSQL's advisory lock between commands and the day-end (:meth:`Services.transaction`)."""
_HOLD_OFF_DAY_END = text("SELECT pg_advisory_xact_lock_shared(:key)").bindparams(key=DAY_END_LOCK)
# The day-end lifts the bound for its own transaction (set_config(..., true) is SET LOCAL), in the same statement
# and before the lock: a day-end waits for the commands in flight, however long they take, and never fails on it.
_HOLD_OFF_COMMANDS = text("SELECT pg_advisory_xact_lock(:key) FROM set_config('lock_timeout', '0', true)").bindparams(
    key=DAY_END_LOCK
)

BORROWER_LANGUAGES = ("zh", "en")
"""The languages a borrower's messages are written in (arrears.collections.messages)."""


def check_segment(segment: str) -> None:
    """A segment is a short lowercase name (a strategy's ``when.segment`` names it), or "" for none."""
    if segment and not _SEGMENT.fullmatch(segment):
        raise InputRejected(
            f"{segment!r} is not a segment name: lowercase letters, digits, - and _, at most 40, e.g. salaried"
        )


class Services:
    """The application's commands and queries over one database."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        origin: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.origin = origin or f"cli@{socket.gethostname()}"
        self.clock = clock
        self._replays = _Replays(REPLAYS_KEPT)
        self.policy = DayEndPolicy(non_accrual_dpd=settings.non_accrual_dpd)
        bound_lock_waits(engine, settings.lock_timeout)

    # -- plumbing ---------------------------------------------------------------------------------------------

    @contextmanager
    def acting_as(self, actor: str, *, origin: str) -> Iterator[None]:
        """Commands inside are audited as ``actor`` from ``origin`` (the API's caller), not the process's user."""
        token = _ACTING.set((actor, origin))
        try:
            yield
        finally:
            _ACTING.reset(token)

    @contextmanager
    def transaction(self, *, day_end: bool = False) -> Iterator[Connection]:
        """One writing transaction, in the store's one lock order, so that no two of them deadlock.

        Lock order (PostgreSQL; every writer takes its locks in this order, and only in it):

        1. the day-end lock (:data:`DAY_END_LOCK`, a transaction-scoped advisory lock), first of all: every command
           takes it shared (``pg_advisory_xact_lock_shared``), a day-end closing a day takes it exclusive
           (``pg_advisory_xact_lock``, ``day_end=True``). Commands run side by side; a day-end waits for the
           commands in flight and holds off the next ones (PostgreSQL queues a shared request behind a waiting
           exclusive one, so traffic does not starve the day-end);
        2. a day-end then locks the state tables (``day_end_state``, ``day_end_installments``) and ``loans``
           (:func:`arrears.adapters.day_end_store.lock`). It holds the day-end lock exclusive by then, so no command
           is in flight to hold a row it waits for, and the cycle this order replaces (a command holding its loan
           row and waiting for ``day_end_state``, the day-end holding ``day_end_state`` and waiting for ``loans``:
           issue 19) cannot form;
        3. a command then locks its rows: a credit line before a loan (a drawdown locks its line, then the loan
           it creates), a loan row (``FOR UPDATE``) before it reads the loan's events and state.

        So a command runs wholly before a day-end's day or wholly after it: the business date it reads (after the
        lock) and the balances it posts from (:func:`arrears.day_end.reference.balances_during`, from the state the
        day-end
        left) belong to the same side of that day-end, never half of each. Reads take no advisory lock: they take
        ACCESS SHARE locks only, the state tables in the day-end's order (state, then installments), so a read
        and a day-end may wait for one another but not both at once.

        SQLite has one writer at a time (``BEGIN IMMEDIATE``, :mod:`arrears.adapters.database`): a day-end's day
        and a command are serialised by the write lock itself, and the advisory lock is not needed.

        Every lock wait is bounded by ARREARS_LOCK_TIMEOUT, except a day-end's wait for the commands in flight; a
        wait past the bound, or a transaction PostgreSQL aborts to break a deadlock, is rolled back whole and
        raised as :class:`arrears.errors.Busy` (retry it; with its idempotency key it posts once).
        """
        with self._busy_as_temporary(), self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(_HOLD_OFF_COMMANDS if day_end else _HOLD_OFF_DAY_END)
            yield connection

    @contextmanager
    def _busy_as_temporary(self) -> Iterator[None]:
        """A lock the database gave up on becomes :class:`Busy`, in one line (no SQL, no parameters)."""
        try:
            yield
        except DBAPIError as error:
            if not is_busy(error):
                raise
            bound = self.settings.lock_timeout
            raise Busy(
                f"the store is busy (a day-end is closing a day, or another command holds the same loan): a lock "
                f"was not free within {bound:g} s (ARREARS_LOCK_TIMEOUT) and nothing was written; try again (a "
                "write sent again with the same idempotency key posts once)",
                retry_after=max(1, math.ceil(bound)),
            ) from None

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only connection: one consistent snapshot, never blocking writers. On SQLite a deferred read
        transaction (WAL); on PostgreSQL REPEATABLE READ, so every statement of the read sees the same moment (at
        READ COMMITTED each would see its own: a loan's row and its events could disagree)."""
        options: dict[str, Any] = {READ_ONLY: True}
        if self.engine.dialect.name == "postgresql":
            options["isolation_level"] = "REPEATABLE READ"
        with self._busy_as_temporary(), self.engine.connect().execution_options(**options) as connection:
            yield connection

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A connection for a read made in one statement, which is by itself one consistent snapshot: on
        PostgreSQL no transaction is begun around it (two round trips fewer, BEGIN and ROLLBACK, on the API's
        hot read); on SQLite it is :meth:`reading`."""
        if self.engine.dialect.name != "postgresql":
            with self.reading() as connection:
                yield connection
            return
        with self._busy_as_temporary(), self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            yield c

    def business_date(self, connection: Connection) -> date:
        if self.settings.business_date is not None:
            return self.settings.business_date
        last = store.last_day_end(connection)
        if last is not None:
            return last + timedelta(days=1)
        return datetime.now(ZoneInfo(self.settings.timezone)).date()

    def refuse_beyond_horizon(self, connection: Connection, day: date, what: str) -> None:
        """Refuse ``day`` (an as-of date, a day-end's last day) more than ARREARS_HORIZON_DAYS after the business
        date: a year answers every question about a loan's next due dates, and a replay to 9999-12-31 answers
        none and runs for hours."""
        business = self.business_date(connection)
        latest = business + timedelta(days=self.settings.horizon_days)
        if day > latest:
            raise InputRejected(
                f"{what} {day} is more than {self.settings.horizon_days} days after the business date {business} "
                f"(ARREARS_HORIZON_DAYS); pick a date up to {latest}"
            )

    def _open_day(self, business_date: date, closed: date | None) -> date:
        """The business date a command posts on, checked against the last day-end as read under the command's
        lock: a day-end that committed while the command waited moves it on; a date set by ARREARS_BUSINESS_DATE
        on or before a closed day is refused (its postings would fall outside every day-end)."""
        if closed is None or business_date > closed:
            return business_date
        if self.settings.business_date is None:
            return closed + timedelta(days=1)
        raise ValueDateRefused(
            f"business date {business_date} is closed: the store's last day-end was {closed}; "
            f"set ARREARS_BUSINESS_DATE after it (or unset it to follow the day-ends)"
        )

    def idempotent(self, command: str, key: str | None, payload: dict[str, Any], work: Callable[..., Any]) -> Any:
        """Run a command module's ``work(connection, business_date)`` in one transaction, once per key when one is
        given (:meth:`_idempotent`)."""
        return self._idempotent(command, key, payload, work)

    def _idempotent(self, command: str, key: str | None, payload: dict[str, Any], work: Callable[..., Any]) -> Any:
        """Run ``work(connection, business_date)`` once per key; see the module docstring.

        The key is stored in the command's own transaction, after its work, under a unique constraint. A retry
        of a request that already committed therefore fails (the key collides, or the command is no longer
        valid, say "already written off") and is rolled back whole; only then is the stored answer read and
        returned. The common case, a new key, costs no extra query.
        """
        request_hash = _request_hash(command, payload)
        self._replays.unstage()
        try:
            with self.transaction() as connection:
                held: list[dict[str, Any]] = []
                if key is not None:  # the command's audit rows go in with its key (one statement on PostgreSQL)
                    connection.info[_HELD_AUDIT] = held
                try:
                    result = work(connection, self.business_date(connection))
                finally:
                    connection.info.pop(_HELD_AUDIT, None)  # the info dict outlives this checkout: never leave it
                if key is not None:
                    store.save_response(
                        connection,
                        key=key,
                        command=command,
                        request_hash=request_hash,
                        response=result,
                        now=self.clock(),
                        audit_rows=held,
                    )
            self._replays.keep_staged()  # committed: the replay now describes what the store holds
            return result
        except (IntegrityError, InputRejected):
            if key is None:
                raise
            with self.reading() as connection:
                stored = self._stored_response(connection, key, command, request_hash)
            if stored is None:
                raise
            return stored

    @staticmethod
    def _stored_response(connection: Connection, key: str, command: str, request_hash: str) -> Any:
        row = connection.execute(select(t.idempotency_keys).where(t.idempotency_keys.c.key == key)).first()
        if row is None:
            return None
        if row.command != command or row.request_hash != request_hash:
            raise IdempotencyConflict(
                f"idempotency key {key!r} was already used for a different {row.command} request; "
                "use a new key for a new request"
            )
        return json.loads(row.response)

    def audit(self, connection: Connection, action: str, target: str, details: Any) -> None:
        """Audit a command's write, for command modules outside this class (hardship, legal)."""
        self._audit(connection, action, target, details)

    def _audit(self, connection: Connection, action: str, target: str, details: Any) -> None:
        """Write an audit row in the command's transaction; inside :meth:`_idempotent` it is held back and written
        with the idempotency key, still in the same transaction, so it commits or rolls back with the command."""
        acting = _ACTING.get()
        row = store.audit_row(
            now=self.clock(),
            actor=acting[0] if acting else self.settings.actor,
            origin=acting[1] if acting else self.origin,
            action=action,
            target=target,
            details=details,
        )
        held = connection.info.get(_HELD_AUDIT)
        if held is not None:
            held.append(row)
        else:
            connection.execute(store.INSERT_AUDIT, row)

    def _check_value_date(self, value_date: date, business_date: date, start: date, what: str) -> bool:
        """Refuse a value date the rules do not allow; True when it is backdated."""
        if value_date > business_date:
            raise ValueDateRefused(
                f"{what} value date {value_date} is after the business date {business_date}; "
                "money cannot be posted for a day that has not come"
            )
        if value_date < start:
            raise ValueDateRefused(f"{what} value date {value_date} is before the loan's start {start}")
        limit = self.settings.max_backdate_days
        if limit is not None and value_date < business_date - timedelta(days=limit):
            raise ValueDateRefused(
                f"{what} value date {value_date} is more than {limit} days before the business date "
                f"{business_date} (ARREARS_MAX_BACKDATE_DAYS)"
            )
        return value_date < business_date

    def position(
        self, loan: store.LoanRecord, events: list[LoanEvent], business_date: date, *, day_ended: bool = False
    ) -> Position:
        """The loan during ``business_date``: events on or before it applied, day-ends through the day before
        (with ``day_ended``, from the day-end's state read with the loan row, when it is as of the day before)."""
        status = loan.accrual_status(business_date - timedelta(days=1)) if day_ended else None
        if status is not None:
            return position_after_day_end(loan.terms, events, business_date, status, self.policy)
        return position_of(loan.terms, events, business_date, self.policy)

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
        if not name.strip():
            raise InputRejected("a borrower needs a name")
        check_text(name, field="the name", column=t.borrowers.c.name)
        if language not in BORROWER_LANGUAGES:
            raise InputRejected(f"the language must be one of {', '.join(BORROWER_LANGUAGES)}; e.g. zh")
        check_segment(segment)
        if not 5 <= sum(ch.isdigit() for ch in phone) <= 20 or any(ch not in "+-() 0123456789" for ch in phone):
            raise InputRejected(f"{store.mask_phone(phone)} is not a phone number; give digits, e.g. 13800138000")
        try:
            ZoneInfo(timezone)
        except (KeyError, ValueError, OSError):  # OSError: a folder of zones, such as "America"
            raise InputRejected(f"{timezone!r} is not a time zone; use an IANA name such as Asia/Shanghai") from None
        payload = {"name": name, "phone": phone, "timezone": timezone, "language": language, "segment": segment}

        def work(connection: Connection, business_date: date) -> int:
            del business_date  # a borrower is not dated by the business day; created_at is the clock's
            borrower_id = connection.execute(
                insert(t.borrowers).values(
                    name=name,
                    phone=phone,
                    timezone=timezone,
                    language=language,
                    created_at=self.clock(),
                    segment=segment or None,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            self._audit(
                connection,
                "borrower.add",
                f"borrower:{borrower_id}",
                {"name": name, "phone": store.mask_phone(phone), "timezone": timezone, "language": language},
            )
            return int(borrower_id)

        return int(self._idempotent("borrower.add", key, payload, work))

    def set_segment(self, *, borrower_id: int, segment: str) -> None:
        """Put a borrower in a collections segment ("" for none): the strategies' ``when.segment`` matches it
        from the next plan on."""
        check_segment(segment)
        with self.transaction() as connection:
            store.get_borrower(connection, borrower_id)
            connection.execute(
                update(t.borrowers).where(t.borrowers.c.id == borrower_id).values(segment=segment or None)
            )
            self._audit(connection, "borrower.segment", f"borrower:{borrower_id}", {"segment": segment})

    def open_line(
        self,
        *,
        borrower_id: int,
        product: Product,
        limit: int,
        daily_rate: Decimal | None = None,
        key: str | None = None,
    ) -> int:
        rules = product.rules
        rate = rules.pricing.daily_rate if daily_rate is None else daily_rate
        payload = {"borrower": borrower_id, "product": product.code, "limit": limit, "rate": str(rate)}

        def work(connection: Connection, business_date: date) -> int:
            store.get_borrower(connection, borrower_id)
            if not rules.line.min_limit <= limit <= rules.line.max_limit:
                raise InputRejected(
                    f"a {product.code} line is {format_minor(rules.line.min_limit)}.."
                    f"{format_minor(rules.line.max_limit)} {product.currency}; {format_minor(limit)} is outside it"
                )
            # Checks the rate against the product's range and reference cap now, not at the first drawdown.
            product.loan_terms(
                principal=rules.drawdown.minimum, terms=rules.pricing.terms[0], start=business_date, daily_rate=rate
            )
            line_id = connection.execute(
                insert(t.credit_lines).values(
                    borrower_id=borrower_id,
                    product_code=product.code,
                    **store.product_snapshot(product.document),
                    currency=product.currency,
                    limit_minor=limit,
                    daily_rate=str(rate),
                    status="open",
                    opened_on=business_date,
                    version=0,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            self._audit(connection, "line.open", f"line:{line_id}", payload)
            return int(line_id)

        return int(self._idempotent("line.open", key, payload, work))

    # -- drawdowns ----------------------------------------------------------------------------------------

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
        payload = {
            "line": line_id,
            "amount": amount,
            "terms": terms,
            "start": start,
            "method": method,
            "basis": interest_basis,
        }

        def work(connection: Connection, business_date: date) -> int:
            line = store.get_line(connection, line_id, lock=True)  # serialises drawdowns racing for one limit
            business_date = self._open_day(business_date, store.last_day_end(connection))
            if line["status"] != "open":
                raise DrawdownRefused(f"line {line_id} is {line['status']}; drawdowns are refused (rule line.status)")
            forgiven = store.principal_forgiven_on_line(connection, line_id)
            if forgiven:  # forgiven principal is not repaid: the limit it used is not restored (shared/RULES.md)
                raise DrawdownRefused(
                    f"line {line_id} had {format_minor(forgiven)} of principal forgiven by a settlement at a discount; "
                    "it takes no new drawdowns (rule line.settled_for_less)"
                )
            product = store.line_product(line["product_document"], f"line {line_id} product snapshot")
            rules = product.rules.drawdown
            limits = DrawdownLimits(rules.minimum, rules.multiple, rules.max_open_loans)
            limit = line["limit_minor"]
            if product.rules.restrictions:  # the product's rules on the line during the business date
                during = line_history(
                    product.rules.restrictions,
                    self._line_loans(connection, line_id),
                    business_date,
                    store.line_reviews_of(connection, line_id),
                    store.line_decisions_of(connection, line_id),
                )
                for restriction in during.in_force:
                    if restriction.rule.scope in (RestrictionScope.DRAWDOWN, RestrictionScope.LINE):
                        raise DrawdownRefused(_restriction_refusal(restriction, line_id, during))
                limit = during.limit_in_force(limit)
            refusal = check_drawdown(
                limits,
                limit=limit,
                outstanding=store.open_loans_outstanding(connection, line_id),
                amount=amount,
            )
            if refusal is not None:
                raise DrawdownRefused(f"drawdown refused by rule {refusal.rule}: {refusal.reason}")
            loan_terms = product.loan_terms(
                principal=amount,
                terms=terms,
                start=start,
                daily_rate=Decimal(line["daily_rate"]),
                method=method,
                interest_basis=interest_basis,
            )
            backdated = self._check_value_date(start, business_date, start, "drawdown")
            schedule = build_schedule(loan_terms)
            now = self.clock()
            loan_id = int(
                connection.execute(
                    insert(t.loans).values(
                        line_id=line_id,
                        borrower_id=line["borrower_id"],
                        status="open",
                        outstanding_principal=amount,
                        posted_through=business_date,
                        last_entry_hash=store.GENESIS_HASH,
                        version=0,
                        **store.terms_columns(loan_terms),
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
            )
            connection.execute(insert(t.installments), store.schedule_rows(loan_id, schedule))
            transaction_id = self.insert_transaction(
                connection, loan_id, "disbursement", start, amount, business_date, backdated, now
            )
            loan = store.get_loan(connection, loan_id, lock=True)
            after = self.position(loan, [], business_date)
            self.post_position(connection, loan, after, {}, "disbursement", business_date, start, transaction_id)
            self._audit(
                connection, "loan.draw", f"loan:{loan_id}", {**payload, "line": line_id, "backdated": backdated}
            )
            store.record_event(
                connection,
                loan_id=loan_id,
                kind="loan_drawn",
                payload={"amount": amount, "terms": terms, "start": start},
                business_date=business_date,
                now=now,
            )
            return loan_id

        return int(self._idempotent("draw", key, payload, work))

    # -- events on a loan ---------------------------------------------------------------------------------

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
        """Post a repayment; returns what it changed (allocation by component, unapplied credit). A payment
        that names its currency must be in the loan's: money is never converted silently. ``court_order``: the
        money came from a court's transfer under that recorded order (:mod:`arrears.legal.court_orders`)."""
        if amount <= 0:
            raise InputRejected(f"a repayment must be above zero, got {format_minor(amount)}")
        payload = {"loan": loan_id, "amount": amount, "date": value_date, "currency": currency}
        if court_order is not None:
            payload["court_order"] = court_order
        return self._idempotent(  # type: ignore[no-any-return]
            "repay",
            key,
            payload,
            lambda connection, business_date: self._loan_event(
                connection,
                business_date,
                loan_id,
                Payment(value_date, amount),
                "repayment",
                currency=currency,
                court_order=court_order,
            ),
        )

    def waive(self, *, loan_id: int, component: Component, amount: int, value_date: date, key: str) -> dict[str, Any]:
        if amount <= 0:
            raise InputRejected(f"a waiver must be above zero, got {format_minor(amount)}")
        if component not in WAIVABLE:
            raise InputRejected(f"{str(component)[:40]!r} cannot be waived; waive penalty, compound or interest")
        component = Component(component)
        payload = {"loan": loan_id, "component": component, "amount": amount, "date": value_date}
        return self._idempotent(  # type: ignore[no-any-return]
            "waive",
            key,
            payload,
            lambda connection, business_date: self._loan_event(
                connection, business_date, loan_id, Waiver(value_date, component, amount), "waiver"
            ),
        )

    def write_off(self, *, loan_id: int, value_date: date, key: str) -> dict[str, Any]:
        payload = {"loan": loan_id, "date": value_date}
        return self._idempotent(  # type: ignore[no-any-return]
            "write_off",
            key,
            payload,
            lambda connection, business_date: self._loan_event(
                connection, business_date, loan_id, WriteOff(value_date), "write_off"
            ),
        )

    def reverse(self, *, transaction_id: int, key: str) -> dict[str, Any]:
        """Reverse a repayment (a returned or mistaken payment): the loan is replayed as if it never came."""
        payload = {"transaction": transaction_id}

        def work(connection: Connection, business_date: date) -> dict[str, Any]:
            original = connection.execute(select(t.transactions).where(t.transactions.c.id == transaction_id)).first()
            if original is None or original.kind != "repayment":
                raise store.NotFound(f"no repayment {transaction_id} to reverse; only repayments can be reversed")
            already = connection.execute(
                select(t.transactions.c.id).where(t.transactions.c.reverses_id == transaction_id)
            ).first()
            if already is not None:
                raise InputRejected(f"repayment {transaction_id} was already reversed by transaction {already.id}")
            return self._loan_event(
                connection, business_date, original.loan_id, None, "reversal", reverses=original._mapping
            )

        return self._idempotent("reverse", key, payload, work)  # type: ignore[no-any-return]

    def post_event(self, connection: Connection, business_date: date, loan_id: int, event: LoanEvent) -> dict[str, Any]:
        """Post one loan event inside a command's transaction (a hardship plan's events, an acceleration): as a
        repayment or a waiver is posted, with its books and audit row."""
        return self._loan_event(connection, business_date, loan_id, event, store.event_row(event)[0])

    def _loan_event(
        self,
        connection: Connection,
        business_date: date,
        loan_id: int,
        event: LoanEvent | None,
        kind: str,
        reverses: Any = None,
        currency: str | None = None,
        court_order: int | None = None,
    ) -> dict[str, Any]:
        loan = store.get_loan(connection, loan_id, lock=True)
        source = None
        if court_order is not None:  # money a court transferred: a repayment whose source is the order
            order = store.get_court_order(connection, court_order)
            if order.borrower_id != loan.borrower_id:
                raise InputRejected(f"court order {court_order} is against another borrower, not loan {loan_id}'s")
            source = f"court order {order.id} ({order.court}, case {order.case_number})"
        business_date = self._open_day(business_date, loan.closed_through)
        if currency is not None and currency != loan.terms.currency:
            raise InputRejected(
                f"loan {loan_id} is in {loan.terms.currency}; a {currency} amount cannot be posted to it "
                f"(convert it to {loan.terms.currency} first)"
            )
        if business_date < loan.posted_through:
            raise ValueDateRefused(
                f"business date {business_date} is before loan {loan_id}'s books (posted through "
                f"{loan.posted_through}); check ARREARS_BUSINESS_DATE"
            )
        value_date = event.value_date if event is not None else reverses["value_date"]
        backdated = self._check_value_date(value_date, business_date, loan.terms.start, kind)
        # An event of today goes after everything the loan already holds, so it needs only the loan's replay as
        # this process left it, if the row (read under the lock) shows that nothing changed since.
        today = event is not None and event.value_date == business_date
        kept = self._replays.take(loan, business_date) if today else None
        events: list[LoanEvent] = []  # read below unless a kept replay stands for them
        if kept is not None:
            before = _during(kept.replay, kept.standing, business_date)  # position(), without reading or replaying
        else:
            # Read the events only once the row lock is held, in a statement of their own: under READ COMMITTED
            # a query joined to the locked row would return the events of the snapshot taken before it waited
            # for the lock, and lose a racing payment (tests/test_concurrency.py catches exactly that).
            events = store.loan_events(connection, loan_id)
            before = self.position(loan, events, business_date, day_ended=True)
        # Books posted through today already equal today's position (every posting leaves them so; verify
        # checks it); a loan the day-end ran last night and no command touched since has its standing's books;
        # only another loan last posted on an earlier day needs its balances read to catch up.
        if loan.posted_through == business_date:
            current = before.balances
        elif before.day_ended:
            current = before.standing.balances()
        else:
            current = store.ledger_balances(connection, loan_id)
        now = self.clock()
        loan = self.post_position(connection, loan, before, current, "recognition", business_date, business_date, None)
        detail = None
        if event is not None:
            _, amount, component, detail = store.event_row(event)
        else:
            amount, component = reverses["amount"], None
        allocated_before, unapplied_before = dict(before.replay.allocated), before.replay.unapplied
        if today and event is not None:
            # The common case, an event of today: it goes after everything the replay already holds, so apply it
            # to that replay rather than replaying the loan again (same result, half the work).
            replayed = before.replay
            replayed.apply(event)
            after = Position(
                replayed, before.standing, balances_during(before.standing, replayed, business_date), before.day_ended
            )
        else:  # backdated, or a reversal: replay from the start with the change in place (events were read above)
            if event is not None:
                after_events = sorted([*events, event], key=lambda e: e.value_date)  # stable: recorded order
            else:  # the reversed repayment out by its id (another of the same date and amount stays)
                after_events = store.loan_events(connection, loan_id, excluding=reverses["id"])
            after = self.position(loan, after_events, business_date)
        lapsed = [why for lapsed_event, why in after.replay.lapsed if lapsed_event == event]
        if lapsed:  # a plan event is a condition (engine.PlanEvent): posted, it must hold
            raise PaymentRefused(f"the {kind} of {value_date} would have no effect: {lapsed[0]}; nothing was posted")
        if not (today and isinstance(event, Payment)):
            # the day-end's kernel takes only payments of the day: this loan's past changed, so the next day-end
            # rebuilds its state from its events
            store.forget_state(connection, loan_id)
        transaction_id = self.insert_transaction(
            connection,
            loan_id,
            kind,
            value_date,
            amount,
            business_date,
            backdated,
            now,
            component=component,
            reverses_id=reverses["id"] if reverses is not None else None,
            source=source,
            detail=detail,
        )
        status_before = loan.status
        loan = self.post_position(
            connection, loan, after, before.balances, kind, business_date, value_date, transaction_id
        )
        changed = {str(c): after.replay.allocated[c] - allocated_before[c] for c in loan.terms.allocation}
        result = {
            "transaction_id": transaction_id,
            "loan_id": loan_id,
            "kind": kind,
            "value_date": value_date.isoformat(),
            "amount": format_minor(amount),
            "backdated": backdated,
            "allocated": {c: format_minor(v) for c, v in changed.items()},
            "unapplied_change": format_minor(after.replay.unapplied - unapplied_before),
            "outstanding_principal": format_minor(after.replay.outstanding_principal()),
            "business_date": business_date.isoformat(),
            **({"source": source} if source is not None else {}),
        }
        self._audit(connection, f"loan.{kind}", f"loan:{loan_id}", result)
        # The registry of restrictions: a posting of today can only lift what is in force; a change to the past
        # may change any day-end since (arrears/service_layer/restriction_records.py).
        changed_past = not today or event is None or isinstance(event, WriteOff) or loan.status == "written_off"
        # A payment of today that leaves this loan overdue lifts nothing: every lift condition needs the line's
        # loans current (nothing overdue; a run of clean day-ends; a review after full repayment).
        still_overdue = isinstance(event, Payment) and after.replay.days_past_due() > 0
        if changed_past or (not still_overdue and restriction_store.has_in_force(connection, loan.line_id)):
            cause = f"{kind} (transaction {transaction_id}, value date {value_date})"
            record_line(connection, loan.line_id, business_date, business_date, cause, now)
        self._replays.stage(loan, business_date, after)
        if loan.status != status_before:  # domain events mark transitions; the transaction itself is its own record
            transition = {"settled": "loan_settled", "written_off": "loan_written_off"}.get(
                loan.status, "loan_reopened"
            )
            store.record_event(
                connection,
                loan_id=loan_id,
                kind=transition,
                payload={"from": status_before, "to": loan.status, "by": kind, "transaction_id": transaction_id},
                business_date=business_date,
                now=now,
            )
        return result

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
        return store.add_transaction(
            connection,
            {
                "loan_id": loan_id,
                "kind": kind,
                "value_date": value_date,
                "amount": amount,
                "component": component,
                "reverses_id": reverses_id,
                "business_date": business_date,
                "backdated": backdated,
                "created_at": now,
                "source": source,
                "detail": detail,
            },
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
        """Post the entry taking ``current`` to ``target`` and save the loan's position (always after a
        transaction or with ``advance``; else only if something moved). Returns the loan as it now stands."""
        postings = difference(current, target.balances)
        replayed = target.replay
        status = "written_off" if replayed.write_off else "settled" if replayed.settled_on else "open"
        head = loan.last_entry_hash
        if postings:
            head = store.post_entry(
                connection,
                loan_id=loan.id,
                prev_hash=head,
                kind=kind,
                business_date=business_date,
                value_date=value_date,
                postings=postings,
                transaction_id=transaction_id,
                now=self.clock(),
            )
        if postings or transaction_id is not None or advance:
            return store.save_loan_position(
                connection,
                loan,
                status=status,
                outstanding_principal=replayed.outstanding_principal(),
                posted_through=business_date,
                last_entry_hash=head,
            )
        return loan

    # -- queries ----------------------------------------------------------------------------------------------

    def loan_state(self, loan_id: int, as_of: date) -> dict[str, Any]:
        """``loan show``: the same JSON as ``simulate`` for a stored loan, replayed from its events."""
        with self.reading() as connection:
            self.refuse_beyond_horizon(connection, as_of, "--as-of")
            loan = store.get_loan(connection, loan_id)
            events = store.loan_events(connection, loan_id)
        if as_of < loan.terms.start:
            raise InputRejected(
                f"as-of date {as_of} is before the loan started on {loan.terms.start}; pick a later date"
            )
        replayed = replay_events(loan.terms, events, as_of)
        replayed.close_through(as_of)
        state = replayed.state()
        # a hardship plan's observation period holds the class (arrears.day_end.reference.DayEndPolicy.floor)
        floor = self.policy.floor(replayed)
        return state_view(
            replace(state, classification=max(state.classification, floor, key=list(Classification).index))
        )

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
        order_kind = checked_kind(kind)
        if amount is not None and amount <= 0:
            raise InputRejected(f"an order's amount must be above zero, got {format_minor(amount)}")
        payload = {
            "borrower": borrower_id,
            "loan": loan_id,
            "court": court,
            "case": case_number,
            "document": document_ref,
            "kind": order_kind,
            "amount": amount,
            "date": issued_on,
        }

        def work(connection: Connection, business_date: date) -> int:
            check_order(court, case_number, document_ref, issued_on, business_date)
            store.get_borrower(connection, borrower_id)
            if loan_id is not None and store.get_loan(connection, loan_id).borrower_id != borrower_id:
                raise InputRejected(f"loan {loan_id} is not borrower {borrower_id}'s; check the ids")
            order_id = store.add_court_order(
                connection,
                {
                    "borrower_id": borrower_id,
                    "loan_id": loan_id,
                    "court": court.strip(),
                    "case_number": case_number.strip(),
                    "document_ref": document_ref.strip(),
                    "kind": order_kind.value,
                    "amount": amount,
                    "issued_on": issued_on,
                    "recorded_at": self.clock(),
                },
            )
            self._audit(connection, "court_order.record", f"court_order:{order_id}", payload)
            store.record_event(
                connection,
                loan_id=loan_id,
                kind="court_order_recorded",
                payload={"order": order_id, **payload},
                business_date=business_date,
                now=self.clock(),
            )
            return order_id

        return int(self._idempotent("court_order", key, payload, work))

    def lift_court_order(self, *, order_id: int, document_ref: str, lifted_on: date, key: str) -> dict[str, Any]:
        """Record the court's lifting of an order: the only way an order is lifted."""
        payload = {"order": order_id, "document": document_ref, "date": lifted_on}

        def work(connection: Connection, business_date: date) -> dict[str, Any]:
            order = store.get_court_order(connection, order_id, lock=True)
            check_lifting(order, lifted_on, document_ref, business_date)
            connection.execute(
                t.court_orders.update()
                .where(t.court_orders.c.id == order_id)
                .values(lifted_on=lifted_on, lift_document_ref=document_ref.strip())
            )
            self._audit(connection, "court_order.lift", f"court_order:{order_id}", payload)
            return {"order": order_id, "lifted_on": lifted_on.isoformat(), "lift_document_ref": document_ref.strip()}

        return self._idempotent("court_order_lift", key, payload, work)  # type: ignore[no-any-return]

    def review_line(self, *, line_id: int, note: str, key: str) -> dict[str, Any]:
        """The lender's review of a closed line: allowed once everything on it is repaid; it lifts the
        restrictions that wait for a review (the sample product's ``close_line``) as of the business date."""
        if not note or not note.strip():
            raise InputRejected("a review needs a note saying what was reviewed and decided")
        payload = {"line": line_id, "note": note}

        def work(connection: Connection, business_date: date) -> dict[str, Any]:
            line = store.get_line(connection, line_id, lock=True)
            product = store.line_product(line["product_document"], f"line {line_id} product snapshot")
            loans = self._line_loans(connection, line_id)
            reviews = store.line_reviews_of(connection, line_id)
            decisions = store.line_decisions_of(connection, line_id)
            before = line_history(product.rules.restrictions, loans, business_date, reviews, decisions)
            waiting = [r.rule.name for r in before.in_force if r.rule.lift is LiftCondition.REVIEW_AFTER_FULL_REPAYMENT]
            if not waiting:
                raise InputRejected(f"line {line_id} has no restriction waiting for a review; nothing to re-open")
            after = line_history(product.rules.restrictions, loans, business_date, [*reviews, business_date], decisions)
            still = [r.rule.name for r in after.in_force if r.rule.lift is LiftCondition.REVIEW_AFTER_FULL_REPAYMENT]
            if still:
                owed = format_minor(after.outstanding_principal + sum(after.overdue.values()))
                raise InputRejected(
                    f"line {line_id} re-opens only after full repayment: {owed} is still owed on its loans"
                )
            connection.execute(
                insert(t.line_reviews).values(
                    line_id=line_id,
                    reviewed_on=business_date,
                    reviewer=self.settings.actor,
                    note=note.strip(),
                    recorded_at=self.clock(),
                )
            )
            record_line(connection, line_id, business_date, business_date, f"review of line {line_id}", self.clock())
            result = {"line": line_id, "reviewed_on": business_date.isoformat(), "lifted": waiting}
            self._audit(connection, "line.review", f"line:{line_id}", result)
            return result

        return self._idempotent("review", key, payload, work)  # type: ignore[no-any-return]

    def restriction_history(self, line_id: int) -> dict[str, Any]:
        """The registry's record of the line's restrictions: each with every change, effective when and
        recorded on which business date, and why (a correction is a later event, never an edit)."""
        with self.reading() as connection:
            store.get_line(connection, line_id)
            rows = restriction_store.history(connection, [line_id])
        return {
            "line": line_id,
            "restrictions": [
                {
                    "id": row["id"],
                    "rule": row["rule"],
                    "scope": row["scope"],
                    "legal_basis": row["legal_basis"],
                    "since": row["since"].isoformat(),
                    "days_past_due": row["days_past_due"],
                    "limit": None if row["limit_minor"] is None else format_minor(row["limit_minor"]),
                    "lifted_on": row["lifted_on"] and row["lifted_on"].isoformat(),
                    "withdrawn_on": row["withdrawn_on"] and row["withdrawn_on"].isoformat(),
                    "events": [
                        {
                            "kind": e["kind"],
                            "effective_on": e["effective_on"].isoformat(),
                            "recorded_on": e["recorded_on"].isoformat(),
                            "cause": e["cause"],
                        }
                        for e in row["events"]
                    ],
                }
                for row in rows
            ],
        }

    def _line_loans(self, connection: Connection, line_id: int) -> list[tuple[int, LoanTerms, list[LoanEvent]]]:
        return [
            (loan.id, loan.terms, store.loan_events(connection, loan.id))
            for loan in store.loans_of_line(connection, line_id)
        ]

    def borrower_profile(self, borrower_id: int) -> dict[str, Any]:
        """A borrower as their app or a collector sees them: name, phone masked, lines and loans."""
        with self.reading() as connection:
            row = store.get_borrower(connection, borrower_id)
            lines = store.lines_of_borrower(connection, borrower_id)
            loans = connection.execute(
                select(t.loans.c.id, t.loans.c.line_id, t.loans.c.status, t.loans.c.outstanding_principal)
                .where(t.loans.c.borrower_id == borrower_id)
                .order_by(t.loans.c.id)
            ).all()
        return {
            "borrower": borrower_id,
            "name": row["name"],
            "phone": store.mask_phone(row["phone"]),
            "timezone": row["timezone"],
            "language": row["language"],
            "lines": [{"line": line["id"], "limit": format_minor(line["limit_minor"])} for line in lines],
            "loans": [
                {
                    "loan": loan.id,
                    "line": loan.line_id,
                    "status": loan.status,
                    "outstanding_principal": format_minor(loan.outstanding_principal),
                }
                for loan in loans
            ],
        }

    def standing(self, borrower_id: int, day: date, lang: str) -> dict[str, Any]:
        """``standing``: what is restricted on the borrower's lines during ``day``, why, and how to lift it."""
        with self.snapshot() as connection:
            self.refuse_beyond_horizon(connection, day, "date")
            records = store.borrower_lines(connection, borrower_id, day)
        lines = []
        for line in records.lines:
            line_id = line["id"]
            rules = store.line_product(line["product_document"], f"line {line_id} product snapshot").rules.restrictions
            loans = tuple((i, terms, tuple(events)) for i, terms, events in records.loans[line_id])
            reviews = tuple(records.reviews.get(line_id, ()))
            decisions = records.decisions.get(line_id, frozenset())
            lines.append(LineInput(line_id, line["limit_minor"], rules, loans, reviews, decisions))
        return standing(borrower_id, lines, day, lang, records.orders, records.credit)

    def explain_loan(self, loan_id: int, as_of: date, lang: str) -> dict[str, Any]:
        """``explain``: every interest, penalty and compound amount of a stored loan, line by line."""
        with self.reading() as connection:
            self.refuse_beyond_horizon(connection, as_of, "date")
            loan = store.get_loan(connection, loan_id)
            events = store.loan_events(connection, loan_id)
        return explain(loan.terms, events, as_of, loan=str(loan_id), lang=lang)

    def accrue(self) -> int:
        """Bring every loan's books up to the business date (recognition entries); returns how many moved."""
        with self.reading() as connection:
            loan_ids = [row[0] for row in connection.execute(select(t.loans.c.id).where(t.loans.c.status == "open"))]
        moved = 0
        for loan_id in loan_ids:
            with self.transaction() as connection:
                loan = store.get_loan(connection, loan_id, lock=True)
                business_date = self._open_day(self.business_date(connection), loan.closed_through)
                if loan.posted_through >= business_date:
                    continue
                position = self.position(loan, store.loan_events(connection, loan_id), business_date)
                current = store.ledger_balances(connection, loan_id)
                if difference(current, position.balances):
                    moved += 1
                self.post_position(
                    connection, loan, position, current, "recognition", business_date, business_date, None, advance=True
                )
        return moved

    def verify_ledger(self) -> list[str]:
        """Every discrepancy between the books and the loans (empty when all is well); see ``ledger verify``.

        Checks: the trial balance is zero; every entry balances (each day-end's postings, loan by loan); each
        loan's sub-ledger (its entries' postings plus the day-ends') equals what its events give: its standing
        after the last day-end if that day-end ran it and no command posted since, else its position during
        the business date it was last posted on; the loan row's cached outstanding principal agrees with it;
        each loan's hash chain of entries, and the day-ends' chain, is intact (no posting changed or removed,
        even by someone who dropped the append-only triggers).
        """
        # the day-end's bulk side needs pyarrow: loaded here, not by every process that only posts commands
        from arrears.adapters import day_end_store

        problems: list[str] = []
        with self.reading() as connection:
            totals = [
                connection.execute(select(func.coalesce(func.sum(table.c.amount), 0))).scalar_one()
                for table in (t.postings, t.day_end_postings)
            ]
            if sum(totals) != 0:
                problems.append(f"trial balance is {format_minor(int(sum(totals)))}, not 0.00")
            unbalanced = connection.execute(
                select(t.postings.c.entry_id, func.sum(t.postings.c.amount))
                .group_by(t.postings.c.entry_id)
                .having(func.sum(t.postings.c.amount) != 0)
            ).all()
            problems += [f"entry {entry} does not balance: {format_minor(int(off))}" for entry, off in unbalanced]
            d = t.day_end_postings.c
            off_days = connection.execute(
                select(d.business_date, d.loan_id, func.sum(d.amount))
                .group_by(d.business_date, d.loan_id)
                .having(func.sum(d.amount) != 0)
            ).all()
            problems += [
                f"day-end {day} does not balance for loan {loan}: {format_minor(int(off))}"
                for day, loan, off in off_days
            ]
            strays = connection.execute(
                select(d.loan_id).distinct().where(d.loan_id.not_in(select(t.loans.c.id))).order_by(d.loan_id)
            ).scalars()
            problems += [f"day-end postings name loan {loan}, which does not exist" for loan in strays]
            actual: dict[int, dict[Account, int]] = {}
            for table in (t.postings, t.day_end_postings):
                for loan_id, account, amount in connection.execute(
                    select(table.c.loan_id, table.c.account, func.sum(table.c.amount)).group_by(
                        table.c.loan_id, table.c.account
                    )
                ):
                    books = actual.setdefault(loan_id, {})
                    books[Account(account)] = books.get(Account(account), 0) + int(amount)
            last, _ = day_end_store.last_day_end(connection)
            day_ended = {
                row.loan_id
                for row in connection.execute(
                    select(t.day_end_state.c.loan_id).where(t.day_end_state.c.closed_through == last)
                )
            }
            chains = self._entry_chains(connection)
            for row in connection.execute(select(t.loans).order_by(t.loans.c.id)):
                loan = store.get_loan(connection, row.id)
                events = store.loan_events(connection, loan.id)
                try:
                    if loan.id in day_ended and last is not None and loan.posted_through <= last:
                        standing, replayed = day_end_state_through(loan.terms, events, last, self.policy)
                        expected, as_of = standing.balances(), f"after day-end {last}"
                    else:
                        position = self.position(loan, events, loan.posted_through)
                        replayed, expected = position.replay, position.balances
                        as_of = f"as of {loan.posted_through}"
                except InputRejected as error:  # inconsistent events (a quarantined loan): say so, check the rest
                    problems.append(f"loan {loan.id}: its events cannot be replayed: {error}")
                    continue
                books = actual.get(loan.id, {})
                for account in Account:
                    if books.get(account, 0) != expected.get(account, 0):
                        problems.append(
                            f"loan {loan.id} {account}: books {format_minor(books.get(account, 0))}, "
                            f"replay {as_of} {format_minor(expected.get(account, 0))}"
                        )
                if loan.outstanding_principal != replayed.outstanding_principal():
                    problems.append(f"loan {loan.id}: cached outstanding principal differs from its replay")
                head = store.GENESIS_HASH
                for entry in chains.get(loan.id, []):
                    digest = store.entry_hash(
                        head, loan.id, entry["kind"], entry["business_date"], entry["value_date"], entry["postings"]
                    )
                    if entry["prev_hash"] != head or entry["hash"] != digest:
                        problems.append(f"loan {loan.id}: entry {entry['id']} was changed (hash chain broken)")
                        break
                    head = digest
                else:
                    if head != loan.last_entry_hash:
                        problems.append(f"loan {loan.id}: its last entries are missing (hash chain short)")
            head = store.GENESIS_HASH
            for day, (prev_hash, digest, postings) in day_end_store.day_end_postings(connection).items():
                if prev_hash != head or digest != day_end_store.day_end_hash(head, day, postings):
                    problems.append(f"day-end {day}: its postings were changed (hash chain broken)")
                    break
                head = digest
        return problems

    @staticmethod
    def _entry_chains(connection: Connection) -> dict[int, list[dict[str, Any]]]:
        postings: dict[int, dict[Account, int]] = {}
        for entry_id, account, amount in connection.execute(
            select(t.postings.c.entry_id, t.postings.c.account, t.postings.c.amount)
        ):
            postings.setdefault(entry_id, {})[Account(account)] = amount
        chains: dict[int, list[dict[str, Any]]] = {}
        for entry in connection.execute(select(t.ledger_entries).order_by(t.ledger_entries.c.id)):
            chains.setdefault(entry.loan_id, []).append({**entry._mapping, "postings": postings.get(entry.id, {})})
        return chains

    # -- a credit line as its borrower sees it (the API's GET /lines/{id}) ------------------------------------

    def line_view(self, line_id: int, lang: str) -> dict[str, Any]:
        """A credit line during the business date: its limit and the limit in force, product, status, loans (as
        posted) and what is restricted on it now, why, and what lifts it. The restrictions are the standing's
        own (:func:`arrears.restrictions.standing.standing` over this one line, from the same inputs as
        :meth:`standing`),
        so the line and the borrower's standing never disagree."""
        with self.reading() as connection:
            line = store.get_line(connection, line_id)
            day = self.business_date(connection)
            records = store.loans_of_line(connection, line_id)
            loans = tuple((r.id, r.terms, tuple(store.loan_events(connection, r.id))) for r in records)
            reviews = tuple(store.line_reviews_of(connection, line_id))
            decisions = store.line_decisions_of(connection, line_id)
        product = store.line_product(line["product_document"], f"line {line_id} product snapshot")
        limit = line["limit_minor"]
        inputs = LineInput(line_id, limit, product.rules.restrictions, loans, reviews, decisions)
        in_force = line_during(inputs, day).limit_in_force(limit)
        during = standing(line["borrower_id"], [inputs], day, lang)  # the same replay, from the memo
        overdue = {entry["loan_id"]: entry["overdue"] for entry in during["loans"]}
        return {
            "line": line_id,
            "borrower": line["borrower_id"],
            "as_of": day.isoformat(),
            "product": {"code": product.code, "name": product.rules.product.name},
            "currency": line["currency"],
            "status": line["status"],
            "opened_on": line["opened_on"].isoformat(),
            "daily_rate": line["daily_rate"],
            "limit": format_minor(limit),
            "limit_in_force": format_minor(in_force),
            "outstanding_principal": format_minor(sum(loan.outstanding_principal for loan in records)),
            "overdue_total": during["overdue_total"],
            "loans": [
                {
                    "loan": loan.id,
                    "principal": format_minor(loan.terms.principal),
                    "terms": loan.terms.terms,
                    "start": loan.terms.start.isoformat(),
                    "status": loan.status,
                    "outstanding_principal": format_minor(loan.outstanding_principal),
                    "overdue": overdue.get(loan.id, format_minor(0)),
                }
                for loan in records
            ],
            "restrictions": during["restrictions"],
        }
