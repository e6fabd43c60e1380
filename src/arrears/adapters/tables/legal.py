"""Court orders, court cases, hardship plans and maker-checker approvals: the decisions about one loan that
people make and record.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)

from arrears.adapters.tables.base import metadata

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

__all__ = ["approvals", "court_orders", "hardship_plans", "legal_cases"]
