"""What clients get: the response bodies of the API's money-moving and borrower-facing routes, as the OpenAPI
document publishes them.

Each model describes the service layer's view exactly as it is sent today (the routes return their JSON
themselves, :class:`arrears.entrypoints.api.deps.Json`, so a model documents and never filters or reorders a
payload). Money is a decimal string in the loan's currency (``"542.44"``: :func:`arrears.money.format_minor`),
dates are ``YYYY-MM-DD``. A field that is always sent is required (``X | None`` when it may be null); a field
sent only sometimes has a default. Sources: :func:`arrears.domain.views.state_view` (a loan),
:func:`arrears.restrictions.standing.standing` (a standing), :func:`arrears.domain.explain.explain` (an
explanation), ``Services._loan_event`` (a posting), :mod:`arrears.service_layer.approvals` and
:mod:`arrears.service_layer.hardship` (their views).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

Money = str
"""A decimal string in the loan's currency, e.g. "542.44" (negative for a reversal's allocation)."""
Day = str
"""An ISO date, YYYY-MM-DD."""


class Problem(BaseModel):
    error: str


# --- a loan as of a day (GET /loans/{id}; shared/contracts/simulate.schema.json) ---


class Overdue(BaseModel):
    principal: Money
    interest: Money
    penalty: Money
    compound: Money
    total: Money


class InstallmentOut(BaseModel):
    number: int
    due_date: Day
    status: str = Field(description="paid, overdue, due, future, ...")
    principal: Money
    interest: Money
    penalty: Money
    compound: Money


class LoanStateOut(BaseModel):
    """A loan as of a day: its schedule, what is overdue, days past due, bucket and five-tier class."""

    as_of: Day
    days_past_due: int
    bucket: str = Field(description="M0, M1, ... M6+ (days past due in 30-day steps)")
    classification: str = Field(description="normal, special-mention, substandard, doubtful or loss")
    outstanding_principal: Money
    overdue: Overdue
    installments: list[InstallmentOut]
    unapplied: Money


# --- a posting (a repayment, and what an approved waiver, write-off or reversal posted) ---


class LoanEventOut(BaseModel):
    """What a posting changed: the allocation by component (the waterfall), unapplied credit, the principal
    left."""

    transaction_id: int
    loan_id: int
    kind: str = Field(description="repayment, waiver, write_off or reversal")
    value_date: Day
    amount: Money
    backdated: bool = Field(description="Posted with a value date before the business date (a replay)")
    allocated: dict[str, Money] = Field(description="By component (penalty, compound, interest, principal)")
    unapplied_change: Money
    outstanding_principal: Money
    business_date: Day
    source: str | None = Field(None, description="Sent only when the posting names where the money came from")


class DrawdownOut(BaseModel):
    loan: int = Field(description="The new loan's id")
    line: int
    start: Day = Field(description="The business date the loan starts on")


# --- the borrower's standing (GET /borrowers/{id}/standing; shared/contracts/standing.schema.json) ---


class StandingLoan(BaseModel):
    loan_id: int
    line_id: int
    overdue: Money


class RestrictionOut(BaseModel):
    """A restriction in force: what, since when, why, on what legal basis, and what lifts it by when."""

    scope: str
    rule: str
    what: str
    since: Day
    reason: str
    legal_basis: str
    lift_condition: str
    amount_to_lift: Money | None
    lift_by: Day | None
    limit: Money | None = Field(None, description="Sent only for a limit restriction: the limit in force")


class CourtOrderOut(BaseModel):
    """A court's order as recorded (never executed by the lender), with what it means."""

    id: int
    loan_id: int | None
    court: str
    case_number: str
    document_ref: str
    kind: str
    amount: Money | None
    issued_on: Day
    lifted_on: Day | None
    lift_document_ref: str | None
    effect: str
    executed_by: str
    prompt: str | None


class CreditReportingOut(BaseModel):
    pre_notice_sent_on: Day | None
    first_negative_report_on: Day | None
    how_to_avoid: str


class StandingOut(BaseModel):
    """Where the borrower stands: what is restricted, why, what is not affected, what to pay by when."""

    borrower: int
    as_of: Day
    lang: str
    loans: list[StandingLoan]
    overdue_total: Money
    restrictions: list[RestrictionOut]
    court_orders: list[CourtOrderOut]
    not_affected: list[str]
    credit_reporting: CreditReportingOut
    options: list[str]


# --- the explanation of every charge (GET /loans/{id}/explanation) ---


class ExplanationLine(BaseModel):
    """One computed amount: the figures, the rule and its source, and the sentence a person reads."""

    kind: str = Field(description="period_interest, daily_charge, held_in_grace, released_at_grace_end, ...")
    day: Day
    base: Money | None = Field(None, description="Sent for a computed charge: the balance it was charged on")
    rate: str | None = Field(None, description="Sent for a computed charge: the daily rate, every digit")
    exact: str | None = Field(None, description="Sent for a computed charge: the exact product before rounding")
    amount: Money
    charged: Money
    rule: str
    source: str
    text: str


class ExplainedComponent(BaseModel):
    lines: list[ExplanationLine]
    charged: Money
    paid_or_waived: Money
    owed: Money


class ExplainedInstallment(BaseModel):
    """An installment with at least one charge; each component is sent only when it has lines."""

    number: int
    due_date: Day
    interest: ExplainedComponent | None = None
    penalty: ExplainedComponent | None = None
    compound: ExplainedComponent | None = None


class Owed(BaseModel):
    interest: Money
    penalty: Money
    compound: Money


class ExplanationOut(BaseModel):
    loan: str
    as_of: Day
    lang: str
    installments: list[ExplainedInstallment]
    owed: Owed
    waived: dict[str, Money] = Field(description="By component, only those waived")


# --- maker-checker (waivers, write-offs, reversals, court orders) ---


class ProposalOut(BaseModel):
    """A command proposed: it runs only when someone else approves it."""

    approval: int
    command: str = Field(description="waive, write_off, reverse or court_order")
    status: str = Field(description="pending")
    amount: Money


class ApprovalOut(BaseModel):
    """A maker-checker request; ``result`` is what its command returned once approved (a posting's
    :class:`LoanEventOut`, or ``{"court_order": id}``)."""

    approval: int
    command: str
    loan: int | None
    arguments: dict[str, Any]
    amount: Money
    status: str = Field(description="pending, approving, approved or rejected")
    maker: str
    proposed_on: Day
    checker: str | None
    checker_role: str | None
    decided_on: Day | None
    note: str | None
    result: dict[str, Any] | None


# --- hardship plans ---


class PlanTermsOut(BaseModel):
    installments: int | None
    first_due: Day | None
    waive_penalty: bool
    freeze_days: int | None
    settlement_amount: Money | None
    settlement_days: int | None


class PlanRequestedOut(BaseModel):
    plan: int
    loan: int
    status: str = Field(description="requested")
    requested_on: Day


class PlanProposedOut(BaseModel):
    plan: int
    loan: int
    status: str = Field(description="proposed")
    terms: PlanTermsOut
    concession: Money = Field(description="What the plan forgoes")
    overdue: Money


class PlanApprovedOut(BaseModel):
    plan: int
    loan: int
    status: str = Field(description="approved")
    effective_on: Day
    concession: Money
    transactions: list[int] = Field(description="The postings the plan made")


class PlanRejectedOut(BaseModel):
    plan: int
    loan: int
    status: str = Field(description="rejected")
    decided_on: Day


class PlanOut(BaseModel):
    plan: int
    loan: int
    status: str
    requested_on: Day | None
    reason: str | None
    terms: PlanTermsOut | None
    maker: str | None
    proposed_on: Day | None
    concession: Money | None
    checker: str | None
    checker_role: str | None
    decided_on: Day | None
    decision_note: str | None


# --- the other writes ---


class BorrowerAddedOut(BaseModel):
    borrower: int


class LineOpenedOut(BaseModel):
    line: int
    borrower: int
    product: str


class PromiseOut(BaseModel):
    promise: int
    loan: int
    due: Day


class ContactOut(BaseModel):
    contact: int
    loan: int
