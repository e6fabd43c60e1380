"""``arrears outbox dispatch``: send the day's planned messages through a channel, never twice in effect, never
lost, never late (the rules: :mod:`arrears.collections.outbox`).

One run claims the messages due by ``now`` in batches. For each it checks, just before sending, that the
message may still go out (its planned local day, inside the window, no status that stops collection since it
was planned): otherwise it is expired or cancelled with the reason. It renders the text in the borrower's
language (:mod:`arrears.collections.messages`; a letter as a PDF, :mod:`arrears.collections.letters`), sends it
once through the channel (:mod:`arrears.adapters.channels`) and records how that went in its own transaction:
sent with the channel's receipt, and the text kept in the contact history (``contacts``), which planning counts
toward the caps from then on; or a retry with backoff; or dead.

**Nothing lost, nothing doubled.** A message is claimed (committed) before it is sent and marked after; a crash
between the two leaves it claimed, and a later run claims it again once the lease has run out and sends it
under the same idempotency key (``outbox-<id>``): the receiver keeps one. The contact is written with the mark,
and the mark only lands for the dispatcher holding the claim, so the history never counts one message twice.

Voice calls go out as call tasks for the dialler (no text); each counts as an attempt in the contact history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from arrears.adapters import outbox_store as ob
from arrears.adapters import store
from arrears.adapters.channels import DeliveryFailed, Message, Sender
from arrears.collections.letters import letter_pdf
from arrears.collections.messages import LANGUAGES, MessageFacts, render
from arrears.collections.outbox import MAX_ATTEMPTS, OutboxStatus, backoff, too_late
from arrears.collections.policy import PACKS, Channel, PolicyPack, Status
from arrears.errors import InputRejected
from arrears.service_layer.services import Services

PAY_WITHIN_DAYS = 3
"""Lender policy: a reminder or notice asks for the overdue amount within this many days of the day it goes out
(the date it names; a pre-notice's date is the last day before the negative report)."""
BATCH = 200


@dataclass
class Dispatched:
    """What one run did, by outcome, and each message's line (id, outcome, detail)."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    expired: int = 0
    cancelled: int = 0
    lines: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "retried": self.retried,
            "dead": self.dead,
            "expired": self.expired,
            "cancelled": self.cancelled,
            "messages": self.lines,
        }


def dispatch(
    services: Services,
    sender: Sender,
    *,
    now: datetime | None = None,
    limit: int | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> Dispatched:
    """Send what is due by ``now`` (default: the clock), at most ``limit`` messages (module docstring)."""
    moment = (now or services.clock()).astimezone(UTC)
    if max_attempts < 1:
        raise InputRejected("--max-attempts must be at least 1")
    done = Dispatched()
    left = limit
    while left is None or left > 0:
        size = BATCH if left is None else min(BATCH, left)
        with services.transaction() as connection:
            claimed = ob.claim(connection, moment, size)
            if not claimed:
                break
            stops = {  # what is in force on each message's day (the only day it may go out)
                day: ob.statuses_in_force(connection, sorted({c.borrower for c in claimed if c.plan_day == day}), day)
                for day in {c.plan_day for c in claimed}
            }
        for message in claimed:
            in_force = stops[message.plan_day].get(message.borrower, [])
            _one(services, sender, message, moment, in_force, max_attempts, done)
        if left is not None:
            left -= len(claimed)
    return done


def _one(
    services: Services,
    sender: Sender,
    claimed: ob.Claimed,
    now: datetime,
    stops: list[tuple[int | None, str]],
    max_attempts: int,
    done: Dispatched,
) -> None:
    pack = PACKS[claimed.jurisdiction]
    zone = ZoneInfo(claimed.timezone)
    local_now, local_due = now.astimezone(zone), claimed.due_at.astimezone(zone)
    late = too_late(pack, local_due.replace(tzinfo=None), local_now.replace(tzinfo=None))
    if late is not None:
        _finish(services, claimed, done, OutboxStatus.EXPIRED, late, last_error=late)
        return
    stopped = _stopped(pack, claimed, stops)
    if stopped is not None:
        _finish(services, claimed, done, OutboxStatus.CANCELLED, stopped, last_error=stopped)
        return
    try:
        message = _message(claimed, local_due)
    except InputRejected as error:  # a template the pack does not have in that language: an operator must fix it
        _finish(services, claimed, done, OutboxStatus.DEAD, str(error), last_error=str(error))
        return
    try:
        receipt = sender.send(message)
    except DeliveryFailed as error:
        if error.retryable and claimed.attempts < max_attempts:
            wait = backoff(claimed.attempts)
            detail = f"retry in {wait}: {error}"
            _finish(
                services, claimed, done, OutboxStatus.PENDING, detail, next_attempt_at=now + wait, last_error=str(error)
            )
        else:
            why = str(error) if not error.retryable else f"{claimed.attempts} attempts: {error}"
            _finish(services, claimed, done, OutboxStatus.DEAD, why, last_error=why)
        return
    contact = {
        "borrower_id": claimed.borrower,
        "loan_id": claimed.loan,
        "channel": claimed.channel,
        "agency": None,
        "at": now,
        "local_day": local_now.date(),
        "outcome": "sent" if claimed.channel != Channel.VOICE_CALL else "call_task",
        "text": message.text,
        "recorded_at": services.clock(),
    }
    _finish(
        services,
        claimed,
        done,
        OutboxStatus.SENT,
        receipt.detail,
        contact,
        sent_at=now,
        sender=sender.name,
        receipt=receipt.channel_id[:128],
        last_error=None,
    )


def _stopped(pack: PolicyPack, claimed: ob.Claimed, stops: list[tuple[int | None, str]]) -> str | None:
    """Why the account may no longer be contacted this way (a status or an opt-out since the plan), or None."""
    mine = sorted(kind for loan, kind in stops if loan is None or loan == claimed.loan)
    for kind in mine:
        if kind in set(Status) and Status(kind) in pack.stops:
            rule = pack.stops[Status(kind)]
            return f"marked {kind} since it was planned: {rule.name} ({rule.source})"
    if pack.opt_out is not None and f"opted_out:{claimed.channel}" in mine:
        return f"opted out of {claimed.channel} since it was planned: {pack.opt_out.name} ({pack.opt_out.source})"
    return None


def _finish(
    services: Services,
    claimed: ob.Claimed,
    done: Dispatched,
    outcome: OutboxStatus,
    detail: str,
    contact: dict[str, Any] | None = None,
    **values: Any,
) -> None:
    """Record the attempt's outcome (and, when sent, the contact) if the claim is still this run's."""
    with services.transaction() as connection:
        if not ob.finish(connection, claimed, {"status": outcome, **values}):
            outcome_name = "lost_claim"  # its lease ran out and another dispatcher has it: that one records it
        else:
            outcome_name = outcome.value
            if contact is not None:
                ob.record_contact(connection, contact)
    counter = {
        "sent": "sent",
        "pending": "retried",
        "dead": "dead",
        "expired": "expired",
        "cancelled": "cancelled",
    }.get(outcome_name)
    if counter is not None:
        setattr(done, counter, getattr(done, counter) + 1)
    done.lines.append(
        {"id": claimed.id, "loan": claimed.loan, "channel": claimed.channel, "outcome": outcome_name, "detail": detail}
    )


def _message(claimed: ob.Claimed, local_due: datetime) -> Message:
    """The message as the channel sends it: the text in the borrower's language, a letter as a PDF."""
    product = store.line_product(claimed.product_document)
    language = LANGUAGES.get(claimed.language, "zh-CN")
    text = None
    attachment = None
    if claimed.template is not None:
        pack = PACKS[claimed.jurisdiction]
        pay_by = claimed.plan_day + timedelta(days=PAY_WITHIN_DAYS)
        facts = MessageFacts(
            lender=product.rules.product.name,
            name=claimed.name,
            loan=claimed.loan,
            days_past_due=claimed.days_past_due,
            overdue=claimed.overdue,
            currency=product.currency,
            pay_by=pay_by,
            dispute_by=claimed.plan_day + timedelta(days=30) if pack.validation_notice else None,
        )
        text = render(claimed.template, language, Channel(claimed.channel), pack, facts)
        if claimed.channel == Channel.LETTER:
            attachment = letter_pdf(
                text=text,
                language=language,
                lender=product.rules.product.name,
                recipient=claimed.name,
                on=claimed.plan_day,
                reference=f"Loan {claimed.loan} · outbox-{claimed.id}",
            )
    return Message(
        key=f"outbox-{claimed.id}",
        channel=claimed.channel,
        borrower=claimed.borrower,
        loan=claimed.loan,
        template=claimed.template,
        language=language,
        text=text,
        scheduled=local_due.isoformat(),
        attachment=attachment,
    )
