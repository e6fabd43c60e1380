"""The restrictions registry: restrictions on credit lines, their history, the decisions that impose them, and
the lender's reviews of closed lines.
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
    UniqueConstraint,
)

from arrears.adapters.tables.base import metadata

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

__all__ = ["line_reviews", "restriction_decisions", "restriction_events", "restrictions"]
