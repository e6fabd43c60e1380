"""The unit of work: one database transaction per command, idempotent, audited, in the store's one lock order.

Every write command runs in one transaction (:meth:`UnitOfWork.transaction`) and, when it carries an
idempotency key, is answered once: the same key with the same payload returns the original result and writes
nothing; the same key with another payload is refused (:class:`IdempotencyConflict`). A crash before commit
leaves nothing; a retry after commit returns the stored answer. So a payment is never posted twice or lost.

The business date is ARREARS_BUSINESS_DATE when set, else the day after the store's last completed day-end,
else today in the lender's time zone. The unit of work also keeps, per process, the replay of each loan it last
posted to (:class:`Replays`), kept only once the command that made it has committed.

The rules here are held by tests/integration/test_concurrency.py, tests/integration/test_day_end_traffic.py and
tests/integration/test_store.py.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from arrears.adapters import store
from arrears.adapters.database import READ_ONLY, bound_lock_waits, is_busy
from arrears.config import Settings
from arrears.day_end.reference import DayEndPolicy
from arrears.errors import Busy, InputRejected
from arrears.service_layer.positions import Position

DAY_END_LOCK = store.DAY_END_LOCK
"""The key of PostgreSQL's advisory lock between commands and the day-end (:meth:`UnitOfWork.transaction`)."""


class IdempotencyConflict(InputRejected):
    """The key was used before with a different payload; use a new key for a new request."""


class ValueDateRefused(InputRejected):
    """A value date in the future, before the loan, or further back than the backdating limit."""


REPLAYS_KEPT = 4096
"""Loans whose replay a :class:`UnitOfWork` keeps: a few tens of MB at most (a replay is a few kB)."""


class Replays:
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


def request_hash(command: str, payload: dict[str, Any]) -> str:
    body = json.dumps([command, payload], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


_HELD_AUDIT = "arrears_held_audit"
"""Connection-info key of the audit rows a keyed command holds back for its idempotency-key statement."""

_ACTING: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("arrears_acting", default=None)
"""(actor, origin) the commands of this context are audited as (the API's caller), else the settings' actor."""


@dataclass(eq=False)
class UnitOfWork:
    """The transaction, idempotency, audit, locks, business date and replay cache of one :class:`Services`
    (:mod:`arrears.service_layer.services`): every handler of the service layer takes one."""

    engine: Engine
    settings: Settings
    origin: str
    clock: Callable[[], datetime]

    def __post_init__(self) -> None:
        self.replays = Replays(REPLAYS_KEPT)
        self.policy = DayEndPolicy(non_accrual_dpd=self.settings.non_accrual_dpd)
        bound_lock_waits(self.engine, self.settings.lock_timeout)

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
        day-end left) belong to the same side of that day-end, never half of each. Reads take no advisory lock:
        they take ACCESS SHARE locks only, the state tables in the day-end's order (state, then installments), so a
        read and a day-end may wait for one another but not both at once.

        SQLite has one writer at a time (``BEGIN IMMEDIATE``, :mod:`arrears.adapters.database`): a day-end's day
        and a command are serialised by the write lock itself, and the advisory lock is not needed.

        Every lock wait is bounded by ARREARS_LOCK_TIMEOUT, except a day-end's wait for the commands in flight; a
        wait past the bound, or a transaction PostgreSQL aborts to break a deadlock, is rolled back whole and
        raised as :class:`arrears.errors.Busy` (retry it; with its idempotency key it posts once).
        """
        with self.busy_as_temporary(), self.engine.begin() as connection:
            store.hold_off(connection, day_end=day_end)
            yield connection

    @contextmanager
    def busy_as_temporary(self) -> Iterator[None]:
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
        with self.busy_as_temporary(), self.engine.connect().execution_options(**options) as connection:
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
        with self.busy_as_temporary(), self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
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

    def open_day(self, business_date: date, closed: date | None) -> date:
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
        """Run ``work(connection, business_date)`` once per key; see the module docstring.

        The key is stored in the command's own transaction, after its work, under a unique constraint. A retry
        of a request that already committed therefore fails (the key collides, or the command is no longer
        valid, say "already written off") and is rolled back whole; only then is the stored answer read and
        returned. The common case, a new key, costs no extra query.
        """
        hashed = request_hash(command, payload)
        self.replays.unstage()
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
                        request_hash=hashed,
                        response=result,
                        now=self.clock(),
                        audit_rows=held,
                    )
            self.replays.keep_staged()  # committed: the replay now describes what the store holds
            return result
        except (IntegrityError, InputRejected):
            if key is None:
                raise
            with self.reading() as connection:
                stored = self._stored_response(connection, key, command, hashed)
            if stored is None:
                raise
            return stored

    @staticmethod
    def _stored_response(connection: Connection, key: str, command: str, hashed: str) -> Any:
        row = store.stored_response(connection, key)
        if row is None:
            return None
        if row.command != command or row.request_hash != hashed:
            raise IdempotencyConflict(
                f"idempotency key {key!r} was already used for a different {row.command} request; "
                "use a new key for a new request"
            )
        return json.loads(row.response)

    def audit(self, connection: Connection, action: str, target: str, details: Any) -> None:
        """Write an audit row in the command's transaction; inside :meth:`idempotent` it is held back and written
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
            store.insert_audit(connection, row)
