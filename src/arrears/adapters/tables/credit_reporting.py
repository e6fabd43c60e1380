"""Credit reporting: consents, pre-notices, monthly reports and their records, disputes and delinquency events."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from arrears.adapters.tables.base import metadata

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

__all__ = [
    "credit_consents",
    "credit_disputes",
    "credit_events",
    "credit_pre_notices",
    "credit_records",
    "credit_reports",
]
