"""What clients send: the request bodies of the API's writes, each checked before a handler runs (a 422 that
names the field otherwise). Text fields are bounded by the column that keeps them
(:func:`arrears.service_layer.console.text_limit`) and by :mod:`arrears.inputs`' character classes; amounts are
decimal strings parsed to minor units (:mod:`arrears.validation`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from arrears.inputs import FREE_TEXT_MAX, PRINTABLE, TEXT
from arrears.service_layer.console import text_limit
from arrears.validation import Amount, IsoDate, Rate


class RepaymentIn(BaseModel):
    """A repayment as the borrower's app or a collector posts it: amount as a decimal string, value date."""

    model_config = ConfigDict(extra="forbid")
    amount: Amount = Field(description='Decimal string in the loan\'s currency, e.g. "300.00"')
    value_date: IsoDate = Field(description="YYYY-MM-DD: the day the money was paid")


class HardshipRequestIn(BaseModel):
    """A borrower's request for help, in their own words."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=text_limit("hardship.reason"), pattern=TEXT)


class PlanIn(BaseModel):
    """What a plan offers (arrears.hardship.plans.PlanTerms); the request it answers, if any."""

    model_config = ConfigDict(extra="forbid")
    request: int | None = Field(None, ge=1, le=2**31 - 1, description="The borrower's request it answers")
    installments: int | None = Field(None, ge=1, le=600, description="Reschedule into N monthly installments")
    first_due: IsoDate | None = Field(None, description="YYYY-MM-DD: the first new installment's due date")
    waive_penalty: bool = False
    freeze_days: int | None = Field(None, ge=1, le=10_000, description="No penalty or compound for N days")
    settlement_amount: Amount | None = Field(None, description='Settle at a discount for this, e.g. "2000.00"')
    settlement_days: int | None = Field(None, ge=1, le=10_000, description="Days to pay the settlement")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(
        "", max_length=FREE_TEXT_MAX, pattern=TEXT, description="Why; a rejection's note is what the borrower is told"
    )


class DisputeIn(BaseModel):
    """A dispute (异议) of what the bureau was told of a loan for a month."""

    model_config = ConfigDict(extra="forbid")
    month: IsoDate = Field(description="Any day of the month disputed, YYYY-MM-DD")
    claim: str = Field(
        min_length=1,
        max_length=text_limit("dispute.claim"),
        pattern=TEXT,
        description="What the borrower says is wrong",
    )


class WaiverIn(BaseModel):
    """A waiver (减免) to propose: a checker approves it before it is posted."""

    model_config = ConfigDict(extra="forbid")
    component: Literal["penalty", "compound", "interest"]
    amount: Amount = Field(description='Decimal string, e.g. "12.50"')
    value_date: IsoDate = Field(description="YYYY-MM-DD")


class WriteOffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value_date: IsoDate = Field(description="YYYY-MM-DD")


class CourtOrderIn(BaseModel):
    """A court's order to record (never executed), proposed for a checker to compare with the document."""

    model_config = ConfigDict(extra="forbid")
    court: str = Field(min_length=1, max_length=text_limit("court_order.court"), pattern=PRINTABLE)
    case_number: str = Field(min_length=1, max_length=text_limit("court_order.case_number"), pattern=PRINTABLE)
    document_ref: str = Field(min_length=1, max_length=text_limit("court_order.document_ref"), pattern=PRINTABLE)
    kind: str = Field(
        min_length=1,
        max_length=text_limit("court_order.kind"),
        pattern=PRINTABLE,
        description="freeze, transfer, consumption_restriction, ...",
    )
    issued_on: IsoDate = Field(description="YYYY-MM-DD")
    loan: int | None = Field(None, ge=1, le=2**31 - 1)
    amount: Amount | None = None


class DrawdownIn(BaseModel):
    """A drawdown (借款) on the borrower's line, starting on the business date."""

    model_config = ConfigDict(extra="forbid")
    amount: Amount = Field(description='Decimal string, e.g. "1000.00"')
    terms: int = Field(ge=1, le=600, description="Monthly terms")


class PromiseIn(BaseModel):
    """A borrower's promise to pay (承诺还款), as a collector or an agency heard it today."""

    model_config = ConfigDict(extra="forbid")
    amount: Amount = Field(description='Decimal string, e.g. "300.00"')
    due: IsoDate = Field(description="YYYY-MM-DD: by when")


class ContactIn(BaseModel):
    """A contact made with the borrower: it counts toward the caps from then on."""

    model_config = ConfigDict(extra="forbid")
    channel: str = Field(
        min_length=1,
        max_length=text_limit("contact.channel"),
        pattern=PRINTABLE,
        description="sms, voice_call, in_app_notice, email or letter",
    )
    at: datetime = Field(description="When, with its offset, e.g. 2026-06-25T10:00:00+08:00")
    outcome: str | None = Field(None, max_length=text_limit("contact.outcome"), pattern=PRINTABLE)


class BorrowerIn(BaseModel):
    """A borrower to add (the lender's onboarding): the phone is masked in every log and view."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=text_limit("borrower.name"), pattern=PRINTABLE, description="Full name")
    phone: str = Field(
        min_length=5,
        max_length=text_limit("borrower.phone"),
        pattern=PRINTABLE,
        description="Mobile number, e.g. 13800138000",
    )
    timezone: str = Field(
        "Asia/Shanghai",
        min_length=1,
        max_length=text_limit("borrower.timezone"),
        pattern=PRINTABLE,
        description="IANA zone: contact windows are kept in it",
    )
    language: Literal["zh", "en"] = Field("zh", description="The language of the borrower's messages")


class LineIn(BaseModel):
    """A credit line (授信) to open for the borrower: a product, a limit within its range, and a daily rate within
    its range (the product's own when left out)."""

    model_config = ConfigDict(extra="forbid")
    product: str = Field(
        min_length=1,
        max_length=text_limit("line.product"),
        pattern=PRINTABLE,
        description="A product's code (GET /products)",
    )
    limit: Amount = Field(description='Decimal string in the product\'s currency, e.g. "20000.00"')
    daily_rate: Rate | None = Field(None, description='Decimal string, e.g. "0.0004"; default the product\'s')
