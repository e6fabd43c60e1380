"""Collections: contacts, account flags, the day's plans and their outbox, promises to pay, agency placements
and complaints.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from arrears.adapters.tables.base import metadata

# Collections (arrears/collections/). ``contacts`` is the contact history (催收记录), append-only: every contact
# made with a borrower, by the lender or an agency, what was sent and the outcome; the caps count it across days
# and agencies. ``account_flags``: what planning must know beyond the loans (a special status, an opted-out
# channel, consent to automated contact, a validation notice sent), from ``since`` until ``until`` (None: still).
# ``collection_days`` holds one row per planned day (a day is planned once); ``collection_plans`` its actions,
# allowed or refused with the rule; ``outbox`` the allowed contacts, written with the plan, waiting for dispatch.
contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("borrower_id", ForeignKey("borrowers.id"), nullable=False, index=True),
    Column("loan_id", ForeignKey("loans.id"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("agency", String(64)),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("local_day", Date, nullable=False, index=True),  # the day in the borrower's zone
    Column("outcome", String(24)),
    Column("text", Text),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

account_flags = Table(
    "account_flags",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("borrower_id", ForeignKey("borrowers.id"), nullable=False, index=True),
    Column("loan_id", ForeignKey("loans.id")),  # None: every loan of the borrower
    Column("kind", String(40), nullable=False),  # a status, opted_out:<channel>, automated_consent, validation_notice
    Column("since", Date, nullable=False),
    Column("until", Date),
    Column("note", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

collection_days = Table(
    "collection_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("strategy", String(64), nullable=False),
    Column("planned_at", DateTime(timezone=True), nullable=False),
    Column("jurisdiction", String(8)),  # the strategy's policy pack: the dispatcher checks the window with it
)

collection_plans = Table(
    "collection_plans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("day", Date, nullable=False, index=True),
    Column("loan_id", Integer, nullable=False),
    Column("borrower_id", Integer, nullable=False),
    Column("action", String(32), nullable=False),
    Column("channel", String(16)),
    Column("scheduled", DateTime(timezone=True)),
    Column("template", String(40)),
    Column("arm", String(40)),
    Column("strategy_rule", String(64), nullable=False),
    Column("decision", String(8), nullable=False),  # allowed | refused
    Column("rule", String(64)),
    Column("reason", Text),
    Column("days_past_due", Integer),  # what the account was when planned (reports compare arms on it)
    Column("overdue", BigInteger),
    Column("agency", String(64)),  # placements: the agency the account goes to
    Index("ix_collection_plans_loan_id", "loan_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("plan_id", ForeignKey("collection_plans.id"), nullable=False, unique=True),
    Column("borrower_id", Integer, nullable=False),
    Column("loan_id", Integer, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("template", String(40)),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),  # arrears.service_layer.dispatch.STATUSES
    Column("attempts", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True)),  # after a retryable failure: not before then
    Column("claimed_at", DateTime(timezone=True)),  # a dispatcher is sending it (a crash leaves it claimed)
    Column("sent_at", DateTime(timezone=True)),
    Column("sender", String(16)),  # console | jsonl | webhook
    Column("receipt", String(128)),  # the channel's delivery id
    Column("last_error", Text),  # why the last attempt failed, or why it was not sent
    Index("ix_outbox_status", "status", "due_at"),
)

# Promises to pay (承诺还款): an amount by a date, made to the lender or an agency. The day-end judges each
# live promise (arrears.collections.promises): kept once the payments since it was made reach the amount,
# broken when its date has passed without; a payment posted late (backdated into the promise's days) turns a
# broken promise kept at the next day-end.
promises = Table(
    "promises",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("borrower_id", ForeignKey("borrowers.id"), nullable=False),
    Column("loan_id", ForeignKey("loans.id"), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("made_on", Date, nullable=False),
    Column("due", Date, nullable=False),
    Column("agency", String(64)),  # None: made to the lender
    Column("status", String(8), nullable=False, index=True),  # live | kept | broken
    Column("paid", BigInteger, nullable=False),  # paid toward it, as of the last judgement
    Column("judged_on", Date),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# Agency placements (委外): an account placed with a collection agency by the day's plan, and its recall
# (by the strategy after N days, or because the account cured). The agency sees only its placed accounts;
# its commission (basis points of what is recovered while placed) is the rate agreed at placement.
placements = Table(
    "placements",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("loan_id", ForeignKey("loans.id"), nullable=False, index=True),
    Column("borrower_id", Integer, nullable=False),
    Column("agency", String(64), nullable=False, index=True),
    Column("commission_bp", Integer, nullable=False),
    Column("placed_on", Date, nullable=False),
    Column("recalled_on", Date),  # the first day it is no longer placed
    Column("recall_reason", String(24)),  # strategy | cured
    Column("plan_id", Integer),
    Index(  # a loan is placed with one agency at a time
        "ux_placements_open",
        "loan_id",
        unique=True,
        sqlite_where=text("recalled_on IS NULL"),
        postgresql_where=text("recalled_on IS NULL"),
    ),
)

# Complaints (投诉): intake, category, resolution. An open complaint pauses collection as the pack says
# (Status.OPEN_COMPLAINT) from the day it was received until the day it is resolved.
complaints = Table(
    "complaints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("borrower_id", ForeignKey("borrowers.id"), nullable=False, index=True),
    Column("loan_id", ForeignKey("loans.id")),
    Column("received_on", Date, nullable=False),
    Column("category", String(32), nullable=False),
    Column("summary", Text, nullable=False),
    Column("resolved_on", Date),
    Column("resolution", Text),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

__all__ = [
    "account_flags",
    "collection_days",
    "collection_plans",
    "complaints",
    "contacts",
    "outbox",
    "placements",
    "promises",
]
