"""Handlers of a loan: drawdown, repayment, waiver, write-off, reversal, any other loan event (a hardship
plan's, an acceleration), and the loan's state. Each command runs in its unit of work's transaction
(:meth:`arrears.service_layer.unit_of_work.UnitOfWork.idempotent`), once per idempotency key.

A value date after the business date is refused; an earlier one is accepted down to the loan's start (or
ARREARS_MAX_BACKDATE_DAYS) and flagged as backdated in the audit log. A command on a loan first brings the loan's
books up to the business date with the events it already had (a ``recognition`` entry, if anything changed),
then posts the difference its own event makes (one entry of the command's kind): a backdated payment's entry
therefore carries the adjustments that make the books equal "recorded on time" (:mod:`arrears.domain.ledger`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from arrears.adapters import restriction_store, store
from arrears.day_end.reference import balances_during
from arrears.domain.classification import Classification
from arrears.domain.engine import LoanEvent, Payment, PaymentRefused, Waiver, WriteOff, replay_events
from arrears.domain.ledger import Balances, difference
from arrears.domain.schedule import build_schedule
from arrears.domain.terms import WAIVABLE, Component, InterestBasis, Method
from arrears.domain.views import state_view
from arrears.errors import InputRejected
from arrears.money import format_minor
from arrears.service_layer.lines import DrawdownRefused, drawdown_limit
from arrears.service_layer.positions import Position, during, position
from arrears.service_layer.restriction_records import record_line
from arrears.service_layer.unit_of_work import UnitOfWork, ValueDateRefused


def check_value_date(uow: UnitOfWork, value_date: date, business_date: date, start: date, what: str) -> bool:
    """Refuse a value date the rules do not allow; True when it is backdated."""
    if value_date > business_date:
        raise ValueDateRefused(
            f"{what} value date {value_date} is after the business date {business_date}; "
            "money cannot be posted for a day that has not come"
        )
    if value_date < start:
        raise ValueDateRefused(f"{what} value date {value_date} is before the loan's start {start}")
    limit = uow.settings.max_backdate_days
    if limit is not None and value_date < business_date - timedelta(days=limit):
        raise ValueDateRefused(
            f"{what} value date {value_date} is more than {limit} days before the business date "
            f"{business_date} (ARREARS_MAX_BACKDATE_DAYS)"
        )
    return value_date < business_date


# -- drawdowns ----------------------------------------------------------------------------------------------


def draw(
    uow: UnitOfWork,
    *,
    line_id: int,
    amount: int,
    terms: int,
    start: date,
    key: str,
    method: Method | None = None,
    interest_basis: InterestBasis | None = None,
) -> int:
    """Draw a loan on a credit line: the line's status, its product's rules and restrictions and its limit in
    force decide (:func:`arrears.service_layer.lines.drawdown_limit`)."""
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
        business_date = uow.open_day(business_date, store.last_day_end(connection))
        product = drawdown_limit(connection, line_id, line, amount, business_date)
        loan_terms = product.loan_terms(
            principal=amount,
            terms=terms,
            start=start,
            daily_rate=Decimal(line.daily_rate),
            method=method,
            interest_basis=interest_basis,
        )
        backdated = check_value_date(uow, start, business_date, start, "drawdown")
        now = uow.clock()
        loan_id = store.add_loan(
            connection,
            line_id=line_id,
            borrower_id=line.borrower_id,
            terms=loan_terms,
            schedule=build_schedule(loan_terms),
            business_date=business_date,
        )
        transaction_id = insert_transaction(
            connection, loan_id, "disbursement", start, amount, business_date, backdated, now
        )
        loan = store.get_loan(connection, loan_id, lock=True)
        after = position(uow.policy, loan, [], business_date)
        post_position(uow, connection, loan, after, {}, "disbursement", business_date, start, transaction_id)
        uow.audit(connection, "loan.draw", f"loan:{loan_id}", {**payload, "line": line_id, "backdated": backdated})
        event = {"amount": amount, "terms": terms, "start": start}
        store.record_event(
            connection, loan_id=loan_id, kind="loan_drawn", payload=event, business_date=business_date, now=now
        )
        return loan_id

    return int(uow.idempotent("draw", key, payload, work))


# -- events on a loan ---------------------------------------------------------------------------------------


def repay(
    uow: UnitOfWork,
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
    event = Payment(value_date, amount)
    return uow.idempotent(  # type: ignore[no-any-return]
        "repay",
        key,
        payload,
        lambda connection, business_date: loan_event(
            uow, connection, business_date, loan_id, event, "repayment", currency=currency, court_order=court_order
        ),
    )


def waive(
    uow: UnitOfWork, *, loan_id: int, component: Component, amount: int, value_date: date, key: str
) -> dict[str, Any]:
    """Waive part of a loan's penalty, compound or interest."""
    if amount <= 0:
        raise InputRejected(f"a waiver must be above zero, got {format_minor(amount)}")
    if component not in WAIVABLE:
        raise InputRejected(f"{str(component)[:40]!r} cannot be waived; waive penalty, compound or interest")
    component = Component(component)
    payload = {"loan": loan_id, "component": component, "amount": amount, "date": value_date}
    event = Waiver(value_date, component, amount)
    return uow.idempotent(  # type: ignore[no-any-return]
        "waive",
        key,
        payload,
        lambda connection, business_date: loan_event(uow, connection, business_date, loan_id, event, "waiver"),
    )


def write_off(uow: UnitOfWork, *, loan_id: int, value_date: date, key: str) -> dict[str, Any]:
    """Write a loan off as of ``value_date``."""
    payload = {"loan": loan_id, "date": value_date}
    event = WriteOff(value_date)
    return uow.idempotent(  # type: ignore[no-any-return]
        "write_off",
        key,
        payload,
        lambda connection, business_date: loan_event(uow, connection, business_date, loan_id, event, "write_off"),
    )


def reverse(uow: UnitOfWork, *, transaction_id: int, key: str) -> dict[str, Any]:
    """Reverse a repayment (a returned or mistaken payment): the loan is replayed as if it never came."""
    payload = {"transaction": transaction_id}

    def work(connection: Connection, business_date: date) -> dict[str, Any]:
        original = store.get_transaction(connection, transaction_id)
        if original is None or original.kind != "repayment":
            raise store.NotFound(f"no repayment {transaction_id} to reverse; only repayments can be reversed")
        already = store.reversal_of(connection, transaction_id)
        if already is not None:
            raise InputRejected(f"repayment {transaction_id} was already reversed by transaction {already}")
        return loan_event(uow, connection, business_date, original.loan_id, None, "reversal", reverses=original)

    return uow.idempotent("reverse", key, payload, work)  # type: ignore[no-any-return]


def post_event(
    uow: UnitOfWork, connection: Connection, business_date: date, loan_id: int, event: LoanEvent
) -> dict[str, Any]:
    """Post one loan event inside a command's transaction (a hardship plan's events, an acceleration): as a
    repayment or a waiver is posted, with its books and audit row."""
    return loan_event(uow, connection, business_date, loan_id, event, store.event_row(event)[0])


def loan_event(
    uow: UnitOfWork,
    connection: Connection,
    business_date: date,
    loan_id: int,
    event: LoanEvent | None,
    kind: str,
    reverses: store.TransactionRecord | None = None,
    currency: str | None = None,
    court_order: int | None = None,
) -> dict[str, Any]:
    """Post ``event`` (or, with ``reverses``, take that repayment out) to a loan, in named steps: lock the loan
    and check the command against it; the position before (bringing the books up to the business date); the
    position after; the transaction and its entry; the audit row, the registry of restrictions, the replay
    kept for the next command and the loan's transition."""
    loan, business_date, source = _locked_loan(uow, connection, loan_id, business_date, currency, court_order)
    value_date = event.value_date if event is not None else reverses.value_date  # type: ignore[union-attr]
    backdated = check_value_date(uow, value_date, business_date, loan.terms.start, kind)
    # An event of today goes after everything the loan already holds, so it needs only the loan's replay as
    # this process left it, if the row (read under the lock) shows that nothing changed since.
    today = event is not None and event.value_date == business_date
    before, events = _position_before(uow, connection, loan, business_date, today)
    current = _books_now(connection, loan, before, business_date)
    now = uow.clock()
    loan = post_position(uow, connection, loan, before, current, "recognition", business_date, business_date, None)
    allocated_before, unapplied_before = dict(before.replay.allocated), before.replay.unapplied
    after = _position_after(uow, connection, loan, before, events, event, reverses, business_date, today)
    lapsed = [why for lapsed_event, why in after.replay.lapsed if lapsed_event == event]
    if lapsed:  # a plan event is a condition (engine.PlanEvent): posted, it must hold
        raise PaymentRefused(f"the {kind} of {value_date} would have no effect: {lapsed[0]}; nothing was posted")
    if not (today and isinstance(event, Payment)):
        # the day-end's kernel takes only payments of the day: this loan's past changed, so the next day-end
        # rebuilds its state from its events
        store.forget_state(connection, loan_id)
    if event is not None:
        _, amount, component, detail = store.event_row(event)
    else:
        amount, component, detail = reverses.amount, None, None  # type: ignore[union-attr]
    transaction_id = insert_transaction(
        connection,
        loan_id,
        kind,
        value_date,
        amount,
        business_date,
        backdated,
        now,
        component=component,
        reverses_id=reverses.id if reverses is not None else None,
        source=source,
        detail=detail,
    )
    status_before = loan.status
    loan = post_position(uow, connection, loan, after, before.balances, kind, business_date, value_date, transaction_id)
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
    uow.audit(connection, f"loan.{kind}", f"loan:{loan_id}", result)
    cause = f"{kind} (transaction {transaction_id}, value date {value_date})"
    _record_restrictions(connection, loan, event, after, today, business_date, cause, now)
    uow.replays.stage(loan, business_date, after)
    _record_transition(connection, loan, status_before, kind, transaction_id, business_date, now)
    return result


def _locked_loan(
    uow: UnitOfWork,
    connection: Connection,
    loan_id: int,
    business_date: date,
    currency: str | None,
    court_order: int | None,
) -> tuple[store.LoanRecord, date, str | None]:
    """The loan, locked, the business date it posts on (:meth:`UnitOfWork.open_day`), and the money's source
    (a court order's transfer, else None); refused if the order, the currency or the loan's books disagree."""
    loan = store.get_loan(connection, loan_id, lock=True)
    source = None
    if court_order is not None:  # money a court transferred: a repayment whose source is the order
        order = store.get_court_order(connection, court_order)
        if order.borrower_id != loan.borrower_id:
            raise InputRejected(f"court order {court_order} is against another borrower, not loan {loan_id}'s")
        source = f"court order {order.id} ({order.court}, case {order.case_number})"
    business_date = uow.open_day(business_date, loan.closed_through)
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
    return loan, business_date, source


def _position_before(
    uow: UnitOfWork, connection: Connection, loan: store.LoanRecord, business_date: date, today: bool
) -> tuple[Position, list[LoanEvent]]:
    """The loan during the business date before the command, and its events (empty when a kept replay of
    this process stands for them: :class:`arrears.service_layer.unit_of_work.Replays`)."""
    kept = uow.replays.take(loan, business_date) if today else None
    if kept is not None:
        return during(kept.replay, kept.state, business_date), []  # position(), without reading or replaying
    # Read the events only once the row lock is held, in a statement of their own: under READ COMMITTED
    # a query joined to the locked row would return the events of the snapshot taken before it waited
    # for the lock, and lose a racing payment (tests/integration/test_concurrency.py catches exactly that).
    events = store.loan_events(connection, loan.id)
    return position(uow.policy, loan, events, business_date, day_ended=True), events


def _books_now(connection: Connection, loan: store.LoanRecord, before: Position, business_date: date) -> Balances:
    """The loan's books as they stand. Books posted through today already equal today's position (every posting
    leaves them so; verify checks it); a loan the day-end ran last night and no command touched since has its
    day-end state's books; only another loan last posted on an earlier day needs its balances read."""
    if loan.posted_through == business_date:
        return before.balances
    if before.day_ended:
        return before.state.balances()
    return store.ledger_balances(connection, loan.id)


def _position_after(
    uow: UnitOfWork,
    connection: Connection,
    loan: store.LoanRecord,
    before: Position,
    events: list[LoanEvent],
    event: LoanEvent | None,
    reverses: store.TransactionRecord | None,
    business_date: date,
    today: bool,
) -> Position:
    """The loan during the business date with the command's change in place."""
    if today and event is not None:
        # The common case, an event of today: it goes after everything the replay already holds, so apply it
        # to that replay rather than replaying the loan again (same result, half the work).
        replayed = before.replay
        replayed.apply(event)
        return Position(
            replayed, before.state, balances_during(before.state, replayed, business_date), before.day_ended
        )
    # backdated, or a reversal: replay from the start with the change in place (events were read before)
    if event is not None:
        after_events = sorted([*events, event], key=lambda e: e.value_date)  # stable: recorded order
    else:  # the reversed repayment out by its id (another of the same date and amount stays)
        after_events = store.loan_events(connection, loan.id, excluding=reverses.id)  # type: ignore[union-attr]
    return position(uow.policy, loan, after_events, business_date)


def _record_restrictions(
    connection: Connection,
    loan: store.LoanRecord,
    event: LoanEvent | None,
    after: Position,
    today: bool,
    business_date: date,
    cause: str,
    now: datetime,
) -> None:
    """The registry of restrictions: a posting of today can only lift what is in force; a change to the past
    may change any day-end since (arrears/service_layer/restriction_records.py)."""
    changed_past = not today or event is None or isinstance(event, WriteOff) or loan.status == "written_off"
    # A payment of today that leaves this loan overdue lifts nothing: every lift condition needs the line's
    # loans current (nothing overdue; a run of clean day-ends; a review after full repayment).
    still_overdue = isinstance(event, Payment) and after.replay.days_past_due() > 0
    if changed_past or (not still_overdue and restriction_store.has_in_force(connection, loan.line_id)):
        record_line(connection, loan.line_id, business_date, business_date, cause, now)


def _record_transition(
    connection: Connection,
    loan: store.LoanRecord,
    status_before: str,
    kind: str,
    transaction_id: int,
    business_date: date,
    now: datetime,
) -> None:
    """Domain events mark transitions (settled, written off, reopened); the transaction is its own record."""
    if loan.status == status_before:
        return
    transition = {"settled": "loan_settled", "written_off": "loan_written_off"}.get(loan.status, "loan_reopened")
    store.record_event(
        connection,
        loan_id=loan.id,
        kind=transition,
        payload={"from": status_before, "to": loan.status, "by": kind, "transaction_id": transaction_id},
        business_date=business_date,
        now=now,
    )


def insert_transaction(
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
    """Insert one ``transactions`` row; returns its id."""
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
    uow: UnitOfWork,
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
            now=uow.clock(),
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


# -- queries --------------------------------------------------------------------------------------------------


def loan_state(uow: UnitOfWork, loan_id: int, as_of: date) -> dict[str, Any]:
    """``loan show``: the same JSON as ``simulate`` for a stored loan, replayed from its events."""
    with uow.reading() as connection:
        uow.refuse_beyond_horizon(connection, as_of, "--as-of")
        loan = store.get_loan(connection, loan_id)
        events = store.loan_events(connection, loan_id)
    if as_of < loan.terms.start:
        raise InputRejected(f"as-of date {as_of} is before the loan started on {loan.terms.start}; pick a later date")
    replayed = replay_events(loan.terms, events, as_of)
    replayed.close_through(as_of)
    state = replayed.state()
    # a hardship plan's observation period holds the class (arrears.day_end.reference.DayEndPolicy.floor)
    floor = uow.policy.floor(replayed)
    return state_view(replace(state, classification=max(state.classification, floor, key=list(Classification).index)))


__all__ = ["DrawdownRefused", "ValueDateRefused"]
