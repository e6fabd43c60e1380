"""The day-end's tables: each day-end run, its postings, the columnar state it reads next and the month-end
snapshots. The column names of the state are :mod:`arrears.day_end.column_names`' (one list for the Arrow
schema and for these tables).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    SmallInteger,
    String,
    Table,
)

from arrears.adapters.tables.base import metadata
from arrears.day_end.column_names import INSTALLMENT_COLUMNS, LOAN_AMOUNT_COLUMNS

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
    *(Column(name, BigInteger, nullable=False) for name in LOAN_AMOUNT_COLUMNS),
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
    *(Column(name, BigInteger, nullable=False) for name in INSTALLMENT_COLUMNS),
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

__all__ = ["day_end_installments", "day_end_postings", "day_end_snapshots", "day_end_state", "day_ends"]
