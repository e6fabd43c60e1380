"""The outbox's rules: when a planned message may still go out, and how long to wait after a failed attempt.

**Sent on its day, inside the window, or never.** A message was checked when it was planned: against the contact
window, the caps and the account's statuses, for the moment in ``due_at`` on the borrower's local day. Sent later
than that day, or after the window has closed, it would be a contact nobody checked (a call at 22:00, a fourth
call tomorrow on top of tomorrow's three), so it is **expired**, never sent late. Just before sending, the
dispatcher checks the contact again with the pack's run-time check against what is in force now, and
**cancels** it if something since the plan forbids it: a status that stops collection (a complaint, a dispute,
a bankruptcy), an opt-out, a cap that contacts made since (an agency's calls) have reached; or if the loan was
settled, or repayments posted since left nothing overdue (when something still is, the text names what is overdue
now). A message whose earlier attempt's
outcome is unknown (its dispatcher stopped mid-send) and whose time has passed is **unconfirmed**: it may have
gone out, so it counts in the contact history, and it is never sent again.

**Retries.** A failure the channel calls retryable waits ``BASE_BACKOFF * 2**(attempts - 1)``, at most
``MAX_BACKOFF``, then tries again under the same idempotency key; after ``MAX_ATTEMPTS`` attempts, or at once for a
failure that will not get better (the receiver refused the message), the message is **dead**: kept with its last
error for an operator, never retried by itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from arrears.collections.policy import PolicyPack

BASE_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=1)
MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=10)
"""A message claimed this long ago whose dispatcher never said how it went (it crashed) is claimed again."""


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting for its time, or for its next attempt
    SENDING = "sending"  # claimed by a dispatcher
    SENT = "sent"
    DEAD = "dead"  # dead letter: attempts exhausted, or refused by the receiver
    EXPIRED = "expired"  # its day or window passed before it could go out
    CANCELLED = "cancelled"  # something since the plan forbids it now (a status, a cap reached, a payment)
    UNCONFIRMED = "unconfirmed"  # a crashed attempt may have sent it and it is too late to try again: counted


def too_late(pack: PolicyPack, due_local: datetime, now_local: datetime) -> str | None:
    """Why a message planned for ``due_local`` may no longer be sent at ``now_local`` (both in the borrower's
    zone), or None.

    >>> from arrears.collections.policy import CN
    >>> too_late(CN, datetime(2026, 6, 25, 14), datetime(2026, 6, 25, 20, 59))
    >>> too_late(CN, datetime(2026, 6, 25, 14), datetime(2026, 6, 25, 21, 1))
    'the contact window closed at 21:00 on 2026-06-25 (borrower local time)'
    >>> too_late(CN, datetime(2026, 6, 25, 14), datetime(2026, 6, 26, 9))
    'planned for 2026-06-25; a message is never sent on another day than the one it was checked for'
    """
    if now_local.date() != due_local.date():
        return f"planned for {due_local.date()}; a message is never sent on another day than the one it was checked for"
    end = pack.window[1]
    if now_local.time() > end:
        return f"the contact window closed at {end:%H:%M} on {due_local.date()} (borrower local time)"
    return None


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt.

    >>> [str(backoff(n)) for n in (1, 2, 3, 7, 8)]
    ['0:01:00', '0:02:00', '0:04:00', '1:00:00', '1:00:00']
    """
    wait: timedelta = BASE_BACKOFF * (1 << max(attempts - 1, 0))
    return min(wait, MAX_BACKOFF)
