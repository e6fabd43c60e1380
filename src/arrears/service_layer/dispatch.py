"""``arrears outbox dispatch``: send the day's planned messages through a channel, never twice in effect, never
lost, never late (the rules: :mod:`arrears.collections.outbox`).

One run claims the messages due, a few at a time. For each it checks, just before sending, that the message
may still go out (its planned local day, before the window closes; the pack's run-time check against what is in
force now: statuses, opt-outs, caps reached by contacts made since the plan; the loan still open and not paid
since the plan): otherwise it is expired or cancelled with the reason (:mod:`arrears.collections.outbox`). It
renders the text in the borrower's language (:mod:`arrears.collections.messages`; a letter as a PDF,
:mod:`arrears.collections.letters`), sends it once through the channel (:mod:`arrears.adapters.channels`) and
records how that went in its own transaction: sent with the channel's receipt, and the text kept in the contact
history (``contacts``), which planning counts toward the caps from then on (a validation notice sent is also
recorded as the account's ``validation_notice`` flag, a credit-report pre-notice in ``credit_pre_notices`` for
credit reporting, :mod:`arrears.bureau.pre_notice`); or a retry with backoff; or dead.

**Nothing lost, nothing doubled.** A message is claimed (committed) before it is sent and marked after; a crash
between the two leaves it claimed, and a later run claims it again once the lease has run out and sends it
under the same idempotency key (``outbox-<id>``): the receiver keeps one. The contact is written with the mark,
and the mark only lands for the dispatcher holding the claim, so the history never counts one message twice.

Voice calls go out as call tasks for the dialler (no text); each counts as an attempt in the contact history.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from typing import Any
from zoneinfo import ZoneInfo

from arrears.adapters import outbox_store as ob
from arrears.adapters import store
from arrears.adapters.channels import DeliveryFailed, Message, Receipt, Sender
from arrears.bureau.pre_notice import PRE_NOTICE
from arrears.collections.letters import letter_pdf
from arrears.collections.messages import LANGUAGES, MessageFacts, render
from arrears.collections.outbox import MAX_ATTEMPTS, OutboxStatus, backoff, too_late
from arrears.collections.policy import (
    PACKS,
    VALIDATION_NOTICE,
    Channel,
    Contact,
    ContactFacts,
    PolicyPack,
    Status,
    check_contact,
)
from arrears.collections.strategy import Action
from arrears.domain.engine import replay_events
from arrears.errors import InputRejected
from arrears.service_layer.services import Services

PAY_WITHIN_DAYS = 3
"""Lender policy: a reminder or notice asks for the overdue amount within this many days of the day it goes out
(the date it names). A pre-notice names the first day a negative record may go (its rule's lead days)."""
BATCH = 10
"""Messages claimed at a time: a few, so a slow channel never holds many claims past their lease."""


@dataclass
class Dispatched:
    """What one run did, by outcome, and each message's line (id, outcome, detail)."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    expired: int = 0
    cancelled: int = 0
    unconfirmed: int = 0
    lost: int = 0  # claims another dispatcher took over (its lease ran out): that one records them
    lines: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "retried": self.retried,
            "dead": self.dead,
            "expired": self.expired,
            "cancelled": self.cancelled,
            "unconfirmed": self.unconfirmed,
            "lost": self.lost,
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
    """Send what is due, at most ``limit`` messages (module docstring). ``now``: the moment the run starts in
    simulated time (the demo, tests); the run's clock then moves on with the real one, so a slow channel's
    late sends are judged at the moment they really go."""
    if max_attempts < 1:
        raise InputRejected("--max-attempts must be at least 1")
    clock = _clock(services, now)
    done = Dispatched()
    left = limit
    while left is None or left > 0:
        size = BATCH if left is None else min(BATCH, left)
        with services.transaction() as connection:
            claimed = ob.claim(connection, clock(), size)
        if not claimed:
            break
        for message in claimed:
            _one(services, sender, message, clock, max_attempts, done)
        if left is not None:
            left -= len(claimed)
    return done


def _clock(services: Services, start: datetime | None) -> Callable[[], datetime]:
    if start is None:
        return lambda: services.clock().astimezone(UTC)
    began = time.monotonic()
    return lambda: start.astimezone(UTC) + timedelta(seconds=time.monotonic() - began)


def _one(
    services: Services,
    sender: Sender,
    claimed: ob.Claimed,
    clock: Callable[[], datetime],
    max_attempts: int,
    done: Dispatched,
) -> None:
    pack = PACKS[claimed.jurisdiction]
    zone = ZoneInfo(claimed.timezone)
    local_due = claimed.due_at.astimezone(zone)
    local_now = clock().astimezone(zone)
    late = too_late(pack, local_due.replace(tzinfo=None), local_now.replace(tzinfo=None))
    if late is not None:
        if claimed.reclaimed:  # an earlier attempt may have gone out: count it, never call it expired
            why = f"an earlier attempt's outcome is unknown (its dispatcher stopped), and now {late}"
            contact = _contact(services, claimed, local_now, None, "unconfirmed")
            _finish(services, claimed, done, OutboxStatus.UNCONFIRMED, why, contact, last_error=why)
        else:
            _finish(services, claimed, done, OutboxStatus.EXPIRED, late, last_error=late)
        return
    with services.reading() as connection:
        context = ob.send_context(connection, claimed, local_now.date())
        if context.paid_since_plan and context.loan_open:  # the amount the plan saw is stale: as it is now
            loan = store.get_loan(connection, claimed.loan)
            now_loan = replay_events(loan.terms, store.loan_events(connection, claimed.loan), local_now.date())
            claimed = replace(claimed, overdue=now_loan.due_total(claimed.plan_day - timedelta(days=1)))
    cancelled = _cancelled(pack, claimed, context, local_now)
    if cancelled is not None:
        _finish(services, claimed, done, OutboxStatus.CANCELLED, cancelled, last_error=cancelled)
        return
    try:
        message = _message(claimed, local_due)
    except InputRejected as error:  # a template the pack does not have in that language: an operator must fix it
        _finish(services, claimed, done, OutboxStatus.DEAD, str(error), last_error=str(error))
        return
    started = clock().astimezone(zone)  # rendering and the checks took time: the window may have closed since
    late = too_late(pack, local_due.replace(tzinfo=None), started.replace(tzinfo=None))
    if late is not None:
        _finish(services, claimed, done, OutboxStatus.EXPIRED, late, last_error=late)
        return
    try:
        receipt = sender.send(message)
    except Exception as error:
        _failed(services, claimed, done, error, clock, max_attempts)
        return
    _sent(services, sender, claimed, done, message, receipt, started, clock())


def _failed(
    services: Services,
    claimed: ob.Claimed,
    done: Dispatched,
    error: Exception,
    clock: Callable[[], datetime],
    max_attempts: int,
) -> None:
    """A send that raised: tried again after the backoff while it may be, dead otherwise."""
    retryable = error.retryable if isinstance(error, DeliveryFailed) else True
    text = str(error) if isinstance(error, DeliveryFailed) else f"{type(error).__name__}: {error}"
    if retryable and claimed.attempts < max_attempts:
        wait = backoff(claimed.attempts)
        detail = f"retry in {wait}: {text}"
        _finish(services, claimed, done, OutboxStatus.PENDING, detail, next_attempt_at=clock() + wait, last_error=text)
    else:
        why = text if not retryable else f"{claimed.attempts} attempts: {text}"
        _finish(services, claimed, done, OutboxStatus.DEAD, why, last_error=why)


def _sent(
    services: Services,
    sender: Sender,
    claimed: ob.Claimed,
    done: Dispatched,
    message: Message,
    receipt: Receipt,
    started: datetime,
    sent: datetime,
) -> None:
    """A message that went out at ``sent`` (its contact made at ``started``): recorded with what it unlocks."""
    contact = _contact(services, claimed, started, message.text, "sent")  # the contact is when it was made
    flag = None
    if claimed.template == VALIDATION_NOTICE:  # Reg F 1006.34: planning lets collection go on once it is sent
        flag = {
            "borrower_id": claimed.borrower,
            "loan_id": claimed.loan,
            "kind": "validation_notice",
            "since": started.date(),
            "note": f"sent as outbox-{claimed.id} ({receipt.channel_id})",
            "recorded_at": services.clock(),
        }
    pre_notice = None
    if claimed.action == Action.CREDIT_REPORT_PRE_NOTICE:  # credit reporting may now report negatively, later
        pre_notice = {
            "loan_id": claimed.loan,
            "borrower_id": claimed.borrower,
            "sent_on": started.date(),
            "channel": claimed.channel,
            "outbox_id": claimed.id,
            "recorded_at": services.clock(),
        }
    _finish(
        services,
        claimed,
        done,
        OutboxStatus.SENT,
        receipt.detail,
        contact,
        flag,
        pre_notice,
        sent_at=sent,
        sender=sender.name,
        receipt=receipt.channel_id[:128],
        last_error=None,
    )


def _cancelled(pack: PolicyPack, claimed: ob.Claimed, context: ob.SendContext, local_now: datetime) -> str | None:
    """Why the message may no longer go out (checked just before sending), or None: the loan is no longer open;
    repayments posted since the plan left nothing overdue (when something still is, the message names what is
    overdue now, not what the plan saw); or the
    pack's run-time check of the contact against what is in force now (a status, an opt-out, a cap that calls
    made since the plan have reached, the validation notice), the same check planning made."""
    if not context.loan_open:
        return "the loan is no longer open (settled or written off since the plan)"
    if context.paid_since_plan and claimed.overdue <= 0:
        return "nothing is overdue any more: a repayment was posted since the plan"
    mine = [(kind, since) for loan, kind, since in context.flags if loan is None or loan == claimed.loan]
    kinds = {kind for kind, _ in mine}
    validation = [since for kind, since in mine if kind == "validation_notice"]
    account = ContactFacts(
        statuses=frozenset(Status(kind) for kind in kinds if kind in set(Status)),
        opted_out=frozenset(Channel(k.removeprefix("opted_out:")) for k in kinds if k.startswith("opted_out:")),
        automated_consent="automated_consent" in kinds,
        validation_notice_sent=min(validation) if validation else None,
        first_contact=context.first_contact,
    )
    history = [
        Contact(Channel(channel), datetime.combine(day, time_of_day.min), loan)
        for loan, channel, day in context.contacts
    ]
    contact = Contact(
        Channel(claimed.channel),
        local_now.replace(tzinfo=None),
        claimed.loan,
        automated=claimed.channel == Channel.SMS,  # texts are sent by the system (planning's AUTOMATED_BY_DEFAULT)
        template=claimed.template,
    )
    refused = check_contact(pack, contact, account, history)
    if refused is None:
        return None
    return f"{refused.message}: {refused.rule.name} ({refused.rule.source})"


def _contact(
    services: Services, claimed: ob.Claimed, local_at: datetime, text: str | None, outcome: str
) -> dict[str, Any]:
    """The contact history's row for a message that went out (or may have)."""
    return {
        "borrower_id": claimed.borrower,
        "loan_id": claimed.loan,
        "channel": claimed.channel,
        "agency": None,
        "at": local_at.astimezone(UTC),
        "local_day": local_at.date(),
        "outcome": outcome if claimed.channel != Channel.VOICE_CALL or outcome != "sent" else "call_task",
        "text": text,
        "recorded_at": services.clock(),
    }


def _finish(
    services: Services,
    claimed: ob.Claimed,
    done: Dispatched,
    outcome: OutboxStatus,
    detail: str,
    contact: dict[str, Any] | None = None,
    flag: dict[str, Any] | None = None,
    pre_notice: dict[str, Any] | None = None,
    **values: Any,
) -> None:
    """Record the attempt's outcome (with the contact and the flag it brings) if the claim is still this run's."""
    with services.transaction() as connection:
        if not ob.finish(connection, claimed, {"status": outcome, **values}):
            outcome_name = "lost_claim"  # its lease ran out and another dispatcher has it: that one records it
        else:
            outcome_name = outcome.value
            if contact is not None:
                ob.record_contact(connection, contact)
            if flag is not None:
                ob.add_flag(connection, flag)
            if pre_notice is not None:
                ob.record_pre_notice(connection, pre_notice)
    counter = {
        "sent": "sent",
        "pending": "retried",
        "dead": "dead",
        "expired": "expired",
        "cancelled": "cancelled",
        "unconfirmed": "unconfirmed",
        "lost_claim": "lost",
    }[outcome_name]
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
        if claimed.action == Action.CREDIT_REPORT_PRE_NOTICE:  # the day before which no negative record goes
            pay_by = claimed.plan_day + timedelta(days=PRE_NOTICE[claimed.jurisdiction].lead_days)
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
