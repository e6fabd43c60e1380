"""Borrowers, their credit lines, loans and their schedules, and the books: transactions, ledger entries,
postings and domain events.

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
    Index,
    Integer,
    String,
    Table,
    Text,
)

from arrears.adapters.tables.base import metadata

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

__all__ = [
    "borrowers",
    "credit_lines",
    "domain_events",
    "installments",
    "ledger_entries",
    "loans",
    "postings",
    "transactions",
]
