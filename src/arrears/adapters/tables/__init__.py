"""The relational schema (SQLAlchemy Core), the one definition Alembic migrations are checked against.

Money is BIGINT minor units; rates are TEXT holding the exact decimal (never FLOAT); dates are DATE. Loans keep
a snapshot of the terms they were drawn on, so a changed product file never changes an existing loan.
Postings are append-only: the initial migration installs triggers that refuse UPDATE and DELETE on
``ledger_entries`` and ``postings`` (SQLite and PostgreSQL); corrections are new entries.

One module per area; this package re-exports every table and the shared ``metadata`` (what Alembic's autogenerate
compares with the migrations), so ``from arrears.adapters import tables as t`` and ``t.loans`` work as before.
"""

from __future__ import annotations

from arrears.adapters.tables.access import api_tokens, audit_log, idempotency_keys
from arrears.adapters.tables.base import metadata
from arrears.adapters.tables.collections import (
    account_flags,
    collection_days,
    collection_plans,
    complaints,
    contacts,
    outbox,
    placements,
    promises,
)
from arrears.adapters.tables.credit_reporting import (
    credit_consents,
    credit_disputes,
    credit_events,
    credit_pre_notices,
    credit_records,
    credit_reports,
)
from arrears.adapters.tables.day_end import (
    day_end_installments,
    day_end_postings,
    day_end_snapshots,
    day_end_state,
    day_ends,
)
from arrears.adapters.tables.legal import approvals, court_orders, hardship_plans, legal_cases
from arrears.adapters.tables.loans import (
    borrowers,
    credit_lines,
    domain_events,
    installments,
    ledger_entries,
    loans,
    postings,
    transactions,
)
from arrears.adapters.tables.restrictions import line_reviews, restriction_decisions, restriction_events, restrictions

__all__ = [
    "account_flags",
    "api_tokens",
    "approvals",
    "audit_log",
    "borrowers",
    "collection_days",
    "collection_plans",
    "complaints",
    "contacts",
    "court_orders",
    "credit_consents",
    "credit_disputes",
    "credit_events",
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
    "hardship_plans",
    "idempotency_keys",
    "installments",
    "ledger_entries",
    "legal_cases",
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
