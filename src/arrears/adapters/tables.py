"""The relational schema (SQLAlchemy Core), the one definition Alembic migrations are checked against.

Money is BIGINT minor units; rates are TEXT holding the exact decimal (never FLOAT); dates are DATE. Loans keep
a snapshot of the terms they were drawn on, so a changed product file never changes an existing loan.
Postings are append-only: the initial migration installs triggers that refuse UPDATE and DELETE on
``ledger_entries`` and ``postings`` (SQLite and PostgreSQL); corrections are new entries.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

borrowers = Table(
    "borrowers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, info={"max_length": 200}),  # checked where it enters (arrears.inputs)
    Column("phone", String(32), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("language", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("segment", String(40)),  # the lender's collections segment (a strategy's when.segment); None: ""
)

credit_lines = Table(
    "credit_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("borrower_id", ForeignKey("borrowers.id"), nullable=False, index=True),
    Column("product_code", String(64), nullable=False),
    Column("product_document", Text, nullable=False),  # the validated product rules as JSON: a snapshot
    Column("product_digest", String(64)),  # sha256 of product_document: lines on the same rules, read cheaply
    Column("currency", String(3), nullable=False),
    Column("limit_minor", BigInteger, nullable=False),
    Column("daily_rate", String(20), nullable=False),
    Column("status", String(16), nullable=False),
    Column("opened_on", Date, nullable=False),
    Column("version", Integer, nullable=False),
)

loans = Table(
    "loans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("line_id", ForeignKey("credit_lines.id"), nullable=False, index=True),
    Column("borrower_id", ForeignKey("borrowers.id"), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("principal", BigInteger, nullable=False),
    Column("daily_rate", String(20), nullable=False),
    Column("terms", Integer, nullable=False),
    Column("method", String(32), nullable=False),
    Column("interest_basis", String(16), nullable=False),
    Column("penalty_multiplier", String(20), nullable=False),
    Column("compound_overdue_interest", Boolean, nullable=False),
    Column("grace_days", Integer, nullable=False),
    Column("rounding", String(16), nullable=False),
    Column("allocation", String(64), nullable=False),
    Column("prepayment", String(16), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("status", String(16), nullable=False),  # open | settled | written_off
    Column("outstanding_principal", BigInteger, nullable=False),  # as of posted_through; for line availability
    Column("posted_through", Date, nullable=False),  # the business date its books were last brought up to
    Column("last_entry_hash", String(64), nullable=False),
    Column("version", Integer, nullable=False),
)

installments = Table(
    "installments",
    metadata,
    Column("loan_id", ForeignKey("loans.id"), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("due_date", Date, nullable=False),
    Column("principal", BigInteger, nullable=False),
    Column("interest", BigInteger, nullable=False),
)

transactions = Table(
    "transactions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("loan_id", ForeignKey("loans.id"), nullable=False),
    # disbursement | repayment | reversal | waiver | write_off; a plan's: reschedule | freeze | settlement;
    # a decision's: acceleration
    Column("kind", String(16), nullable=False),
    Column("value_date", Date, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("component", String(16)),  # waivers: penalty | compound | interest
    Column("reverses_id", ForeignKey("transactions.id"), unique=True),
    Column("business_date", Date, nullable=False),
    Column("backdated", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("source", String(200)),  # where money came from when not the borrower: "court order 3 (case ...)"
    Column("detail", Text),  # JSON, for the events of a plan: reschedule dates, freeze end, settlement terms
    Index("ix_transactions_loan", "loan_id", "value_date", "id"),
    Index("ix_transactions_value_date", "value_date"),  # the day-end reads each day's repayments
    Index("ix_transactions_business_date", "business_date"),
    Index("ix_transactions_kind", "kind", "loan_id"),  # each day-end finds the loans with plan events (0013)
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("loan_id", ForeignKey("loans.id"), nullable=False, index=True),
    Column("transaction_id", ForeignKey("transactions.id")),
    Column("kind", String(24), nullable=False),  # disbursement | recognition | repayment | reversal | ...
    Column("business_date", Date, nullable=False, index=True),  # the day-end sums each day's command postings
    Column("value_date", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

postings = Table(
    "postings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entry_id", ForeignKey("ledger_entries.id"), nullable=False, index=True),
    Column("loan_id", ForeignKey("loans.id"), nullable=False, index=True),
    Column("account", String(32), nullable=False),
    Column("amount", BigInteger, nullable=False),  # debit positive, credit negative
)

domain_events = Table(
    "domain_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("loan_id", ForeignKey("loans.id"), index=True),
    Column("kind", String(48), nullable=False),
    Column("payload", Text, nullable=False),
    Column("business_date", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("command", String(32), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("origin", String(256), nullable=False),
    Column("action", String(48), nullable=False),
    Column("target", String(64), nullable=False),
    Column("details", Text, nullable=False),  # JSON; phone numbers masked, never whole
)

day_ends = Table(
    "day_ends",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("completed_at", DateTime(timezone=True), nullable=False),
    Column("loans", Integer, nullable=False, server_default="0"),
    Column("events", Integer, nullable=False, server_default="0"),
    Column("postings", Integer, nullable=False, server_default="0"),
    Column("quarantined", Integer, nullable=False, server_default="0"),
    Column("rebuilt", Integer, nullable=False, server_default="0"),  # loans day-ended by the reference
    # the day-end's postings are one entry for the whole book, chained day to day like a loan's entries
    Column("prev_hash", String(64), nullable=False, server_default="0" * 64),
    Column("hash", String(64), nullable=False, server_default="0" * 64),
)

# The day-end's postings: one row per loan and account that moved, append-only like ``postings``; a loan's
# books are its postings plus these. The day-end tables have no foreign keys: PostgreSQL checks one with a
# trigger per row, which for millions of rows a night cost more than the day-end itself; the runner writes
# rows only for loans it read from ``loans``, and ``ledger verify`` checks that every posting names a loan.
day_end_postings = Table(
    "day_end_postings",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("loan_id", Integer, primary_key=True, index=True),
    Column("account", String(32), primary_key=True),
    Column("amount", BigInteger, nullable=False),
)

# Court orders are recorded, never executed: courts freeze, seize and restrict through their own systems with the
# bank or payment institution (arrears/legal/court_orders.py). Lifted only when the court's lifting is recorded.
court_orders = Table(
    "court_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("borrower_id", ForeignKey("borrowers.id"), nullable=False, index=True),
    Column("loan_id", ForeignKey("loans.id")),
    Column("court", Text, nullable=False, info={"max_length": 200}),
    Column("case_number", String(100), nullable=False),
    Column("document_ref", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("amount", BigInteger),
    Column("issued_on", Date, nullable=False),
    Column("lifted_on", Date),
    Column("lift_document_ref", String(200)),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# The lender's reviews of a closed line (a ``review_after_full_repayment`` restriction lifts only by one).
line_reviews = Table(
    "line_reviews",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("line_id", ForeignKey("credit_lines.id"), nullable=False, index=True),
    Column("reviewed_on", Date, nullable=False),
    Column("reviewer", String(128), nullable=False),
    Column("note", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# The restrictions registry (arrears/restrictions/registry.py): each restriction a product rule put on a line, as the
# events gave it when it was recorded. ``restriction_events`` is the append-only history: what changed, effective
# when, recorded on which business date, and why (a day-end, a transaction, a review); a correction (a backdated
# payment) is a new event, never an edit of an old one. ``clean_from`` is the day-end's memory for lifts by good
# standing: the first day-end of the line's current run with nothing past due.
restrictions = Table(
    "restrictions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("line_id", ForeignKey("credit_lines.id"), nullable=False, index=True),
    Column("rule", String(64), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("legal_basis", Text, nullable=False),
    Column("since", Date, nullable=False),  # the day-end that put it on (in force from the next day)
    Column("days_past_due", Integer, nullable=False),
    Column("limit_minor", BigInteger),  # a ``limit`` restriction: the limit while it lasts
    Column("lifted_on", Date),  # the first day it no longer applies
    Column("withdrawn_on", Date),  # the business date the events stopped giving it at all
    Column("clean_from", Date),
    Column("imposed_by", Text, nullable=False),
    Column("recorded_on", Date, nullable=False),
)
Index("ix_restrictions_in_force", restrictions.c.lifted_on, restrictions.c.withdrawn_on)

restriction_events = Table(
    "restriction_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("restriction_id", ForeignKey("restrictions.id"), nullable=False, index=True),
    Column("line_id", Integer, nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # imposed | lifted | reinstated | withdrawn
    Column("effective_on", Date, nullable=False),
    Column("recorded_on", Date, nullable=False),  # the business date it was recorded on
    Column("cause", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

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

# Collections decisions that put a product's ``trigger = "decision"`` restriction rule on a line: written with
# the day's plan (a strategy's suspend_drawdown / reduce_limit / close_line, allowed), read by the registry's
# replay and the store's day-end, which impose the rule at the day-end of ``decided_on``
# (arrears/restrictions/registry.py).
restriction_decisions = Table(
    "restriction_decisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("line_id", ForeignKey("credit_lines.id"), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("decided_on", Date, nullable=False, index=True),
    Column("plan_id", Integer),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("line_id", "rule", "decided_on"),
)

# Credit-report pre-notices that went out (arrears/bureau/pre_notice.py): sent by collections through the
# outbox, read by credit reporting before the first negative record.
credit_pre_notices = Table(
    "credit_pre_notices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("loan_id", ForeignKey("loans.id"), nullable=False, index=True),
    Column("borrower_id", Integer, nullable=False),
    Column("sent_on", Date, nullable=False),  # the borrower's local day it went out
    Column("channel", String(16), nullable=False),
    Column("outbox_id", Integer),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# Credit reporting (arrears/service_layer/credit_reporting.py): borrowers' written consents (征信授权; cn:
# nothing is reported without one), each month reported once per jurisdiction, and each account's record of it,
# emitted or held back with the reason (no consent, no pre-notice, past retention).
credit_consents = Table(
    "credit_consents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("borrower_id", ForeignKey("borrowers.id"), nullable=False, index=True),
    Column("signed_on", Date, nullable=False),
    Column("document", String(200), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

credit_reports = Table(
    "credit_reports",
    metadata,
    Column("period", Date, primary_key=True),  # the month-end
    Column("jurisdiction", String(8), primary_key=True),
    Column("reported_at", DateTime(timezone=True), nullable=False),
)

credit_records = Table(
    "credit_records",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("period", Date, nullable=False),
    Column("jurisdiction", String(8), nullable=False),
    Column("loan_id", Integer, nullable=False, index=True),
    Column("borrower_id", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("negative", Boolean, nullable=False),
    Column("emitted", Boolean, nullable=False),
    Column("held_reason", Text),
    Column("payload", Text, nullable=False),  # the record as JSON (arrears.bureau.records.AccountRecord)
    Column("corrects", Date),  # a correction, sent with the month ``period``, of the record of this month-end
    ForeignKeyConstraint(["period", "jurisdiction"], ["credit_reports.period", "credit_reports.jurisdiction"]),
)

# Disputes (异议) of a reported record: answered by ``answer_by`` (cn 20 days, us 30), the record marked disputed
# and collection of the loan paused meanwhile (the ``disputed`` account flag ``flag_id``); resolved by correcting
# the record (a correction goes with the next month's file) or confirming it.
credit_disputes = Table(
    "credit_disputes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("loan_id", ForeignKey("loans.id"), nullable=False, index=True),
    Column("borrower_id", Integer, nullable=False),
    Column("jurisdiction", String(8), nullable=False),
    Column("period", Date, nullable=False),  # the month-end of the disputed record
    Column("received_on", Date, nullable=False),
    Column("answer_by", Date, nullable=False),
    Column("claim", Text, nullable=False),
    Column("flag_id", Integer),
    Column("outcome", String(16)),  # corrected | confirmed
    Column("resolved_on", Date),
    Column("resolution", Text),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# Hardship plans (arrears/hardship/plans.py, arrears/service_layer/hardship.py): a borrower's request, a plan proposed
# by one person and approved or rejected by another; approval posts the plan's events on the loan.
hardship_plans = Table(
    "hardship_plans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("loan_id", ForeignKey("loans.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),  # requested | proposed | approved | rejected
    Column("requested_on", Date),
    Column("reason", Text),  # the borrower's own words, when they asked
    Column("terms", Text),  # JSON: arrears.hardship.plans.PlanTerms
    Column("maker", String(100)),
    Column("proposed_on", Date),
    Column("concession", BigInteger),  # what it forgives at most, in minor units, as proposed
    Column("checker", String(100)),
    Column("checker_role", String(16)),
    Column("decided_on", Date),
    Column("decision_note", Text),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# Court cases (arrears/legal/escalation.py, arrears/service_layer/legal.py): a loan referred to court and the steps of
# its case.
legal_cases = Table(
    "legal_cases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("loan_id", ForeignKey("loans.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),  # referred | filed | judgment | enforcement | closed | withdrawn
    Column("referred_on", Date, nullable=False),
    Column("court", Text),
    Column("case_number", String(100)),
    Column("filed_on", Date),
    Column("judgment_date", Date),
    Column("judgment_principal", BigInteger),
    Column("judgment_interest", BigInteger),
    Column("judgment_penalty", BigInteger),
    Column("judgment_costs", BigInteger),
    Column("pay_by", Date),
    Column("enforcement_case_number", String(100)),
    Column("enforcement_on", Date),
    Column("closed_on", Date),
    Column("withdrawn_on", Date),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# Event records (arrears/service_layer/credit_reporting.py): each new delinquency told to the bureau once.
credit_events = Table(
    "credit_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("loan_id", Integer, nullable=False),
    Column("borrower_id", Integer, nullable=False),
    Column("jurisdiction", String(8), nullable=False),
    Column("day", Date, nullable=False),
    Column("first_delinquency", Date, nullable=False),
    Column("payload", Text, nullable=False),  # the record as JSON (arrears.bureau.records.AccountRecord)
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("loan_id", "jurisdiction", "first_delinquency", name="uq_credit_events_delinquency"),
)

# Maker-checker (arrears/service_layer/approvals.py): a waiver, write-off, reversal or court-order record proposed
# by one person, run only once another approves it within their role's limit.
approvals = Table(
    "approvals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("command", String(16), nullable=False),  # waive | write_off | reverse | court_order
    Column("loan_id", Integer, index=True),
    Column("arguments", Text, nullable=False),  # JSON: what the command is run with
    Column("amount", BigInteger, nullable=False),  # what the role limits compare, minor units
    Column("maker", String(100), nullable=False),
    Column("status", String(16), nullable=False),  # pending | approving | approved | rejected
    Column("proposed_on", Date, nullable=False),
    Column("checker", String(100)),
    Column("checker_role", String(16)),
    Column("decided_on", Date),
    Column("note", Text),
    Column("result", Text),  # JSON: the command's answer
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# API tokens (arrears/adapters/tokens_store.py): a role and, for a borrower or an agency, whose data it opens;
# only the SHA-256 of the token is kept.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("borrower_id", ForeignKey("borrowers.id")),
    Column("agency", String(64)),
    Column("label", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
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

# The day-end's columnar state (arrears.day_end.columns.SCHEMA) after the last day-end, one row per loan in it and
# one per installment: what the next day-end reads in bulk. Terms come from ``loans``. A command that changes a
# loan's past (backdated, reversal, waiver, write-off) deletes its rows; the next day-end rebuilds them from the
# loan's events with the reference (arrears.day_end.reference). Derived data: never the books, always rebuildable.
day_end_state = Table(
    "day_end_state",
    metadata,
    Column("loan_id", Integer, primary_key=True),
    Column("closed_through", Date, nullable=False),
    Column("first_open", Integer, nullable=False),
    Column("billed", Integer, nullable=False),
    *(
        Column(name, BigInteger, nullable=False)
        for name in (
            "unapplied",
            "received",
            "paid_penalty",
            "paid_compound",
            "paid_interest",
            "paid_principal",
            "interest_billed",
            "penalty_charged",
            "compound_charged",
            "accrued",
            "suspended_interest",
            "suspended_penalty",
        )
    ),
    Column("days_past_due", Integer, nullable=False),
    Column("bucket", SmallInteger, nullable=False),
    Column("classification", SmallInteger, nullable=False),
    Column("non_accrual", Boolean, nullable=False),
    Column("settled_on", Date),
)

day_end_installments = Table(
    "day_end_installments",
    metadata,
    Column("loan_id", Integer, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("due", Date, nullable=False),
    *(
        Column(name, BigInteger, nullable=False)
        for name in ("principal_due", "interest_due", "penalty_due", "compound_due", "held_penalty", "held_compound")
    ),
)

# Month-end snapshots (arrears.day_end.columns.SNAPSHOT_SCHEMA): what portfolio reports are computed from.
day_end_snapshots = Table(
    "day_end_snapshots",
    metadata,
    Column("day", Date, primary_key=True),
    Column("loan_id", Integer, primary_key=True),
    Column("start", Date, nullable=False),
    Column("principal", BigInteger, nullable=False),
    Column("outstanding_principal", BigInteger, nullable=False),
    Column("days_past_due", Integer, nullable=False),
    Column("bucket", SmallInteger, nullable=False),
    Column("classification", SmallInteger, nullable=False),
    Column("non_accrual", Boolean, nullable=False),
    Column("first_installment_open", Boolean, nullable=False),
    Column("first_due", Date, nullable=False),
    Column("settled", Boolean, nullable=False),
)

__all__ = [
    "account_flags",
    "api_tokens",
    "audit_log",
    "borrowers",
    "collection_days",
    "collection_plans",
    "complaints",
    "contacts",
    "court_orders",
    "credit_consents",
    "credit_disputes",
    "credit_lines",
    "credit_pre_notices",
    "credit_records",
    "credit_reports",
    "day_end_installments",
    "day_end_postings",
    "day_end_snapshots",
    "day_end_state",
    "day_ends",
    "domain_events",
    "idempotency_keys",
    "installments",
    "ledger_entries",
    "line_reviews",
    "loans",
    "metadata",
    "outbox",
    "placements",
    "postings",
    "promises",
    "restriction_decisions",
    "restriction_events",
    "restrictions",
    "transactions",
]
