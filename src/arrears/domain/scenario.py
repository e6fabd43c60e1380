"""Scenario files: a loan, its payments, and (in tests) the state expected on dates.

The format is pinned by shared/contracts/scenario.schema.json and read by ``arrears simulate`` and
``arrears payoff``::

    {"loan": {"principal": "2500.00", "daily_rate": "0.0005", "terms": 5, "method": "equal-principal",
              "interest_basis": "actual", "start": "2026-05-15"},
     "product": {"grace_days": 1},
     "payments": [{"date": "2026-06-16", "amount": "538.75"}]}

Amounts and rates are JSON strings of plain decimals (amounts with at most two decimals, rates with at most
eight); exponents, NaN, underscores and JSON numbers are refused for them. Terms and grace days are JSON
integers. Without product overrides a scenario gets penalty multiplier 1.5, compounding on, grace 0, half-up
rounding and the default allocation (penalty, compound, interest, principal).
Every term is held within :mod:`arrears.bounds` (rates up to 36% a year, 1..360 terms, grace 0..30 days, ...),
as a product's are.

Test scenarios may add ``"expect"`` (a list of states) and ``"expect_payoff"``; the CLI ignores nothing else:
an unknown key is an error, so a typo never silently changes a result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictBool, ValidationError, field_validator

from arrears.bounds import BoundedAmount, DailyRate, GraceDays, PenaltyMultiplier, Terms
from arrears.domain.events import Payment
from arrears.domain.terms import DEFAULT_ALLOCATION, Component, InterestBasis, LoanTerms, Method
from arrears.errors import InputRejected
from arrears.files import SCENARIO_FILE_CAP, FileRefused, read_text_capped
from arrears.money import RoundingMode
from arrears.validation import Amount, IsoDate, describe_errors

_FORBID = ConfigDict(extra="forbid", frozen=True)


class ScenarioError(InputRejected):
    """A scenario file that cannot be run; the message names the file, the field and the fix."""


class LoanInput(BaseModel):
    model_config = _FORBID
    principal: BoundedAmount
    daily_rate: DailyRate
    terms: Terms
    method: Method
    interest_basis: InterestBasis = InterestBasis.ACTUAL
    start: IsoDate


class ProductOverrides(BaseModel):
    model_config = _FORBID
    penalty_multiplier: PenaltyMultiplier = Decimal("1.5")
    compound_overdue_interest: StrictBool = True
    grace_days: GraceDays = 0
    rounding: RoundingMode = RoundingMode.HALF_UP
    allocation: tuple[Component, ...] = DEFAULT_ALLOCATION

    @field_validator("allocation")
    @classmethod
    def _complete(cls, value: tuple[Component, ...]) -> tuple[Component, ...]:
        if sorted(value) != sorted(Component):
            raise ValueError("allocation must list penalty, compound, interest and principal, each once")
        return value


class PaymentInput(BaseModel):
    model_config = _FORBID
    date: IsoDate
    amount: Amount

    @field_validator("amount")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("a payment must be above zero")
        return value


class ScenarioInput(BaseModel):
    model_config = _FORBID
    loan: LoanInput
    product: ProductOverrides = ProductOverrides()
    payments: tuple[PaymentInput, ...] = ()
    description: str = ""
    expect: tuple[dict[str, Any], ...] = ()
    """Expected states (tests only): each is the ``simulate --json`` output, or a subset of it."""
    expect_payoff: tuple[dict[str, Any], ...] = ()
    """Expected payoffs (tests only): each is the ``payoff --json`` output."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario: the loan's terms and its payments."""

    terms: LoanTerms
    payments: tuple[Payment, ...]
    source: ScenarioInput


def parse_scenario(document: object, source: str) -> Scenario:
    """Validate a parsed JSON document; :class:`ScenarioError` says what is wrong, where, and the fix."""
    try:
        raw = ScenarioInput.model_validate(document)
    except ValidationError as error:
        raise ScenarioError(describe_errors(error, source)) from None
    loan, product = raw.loan, raw.product
    for number, payment in enumerate(raw.payments):
        if payment.date < loan.start:
            raise ScenarioError(
                f"{source}: payments.{number}.date: {payment.date} is before the loan's start {loan.start}; "
                "a payment cannot precede the disbursement"
            )
    terms = LoanTerms(
        principal=loan.principal,
        daily_rate=loan.daily_rate,
        terms=loan.terms,
        method=loan.method,
        start=loan.start,
        interest_basis=loan.interest_basis,
        penalty_multiplier=product.penalty_multiplier,
        compound_overdue_interest=product.compound_overdue_interest,
        grace_days=product.grace_days,
        rounding=product.rounding,
        allocation=product.allocation,
    )
    payments = tuple(Payment(p.date, p.amount) for p in raw.payments)
    return Scenario(terms=terms, payments=payments, source=raw)


def _refuse_constant(token: str) -> object:
    raise ValueError(f'{token} is not allowed in a scenario; write amounts as strings such as "560.50"')


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario JSON file."""
    path = Path(path)
    try:
        text = read_text_capped(path, what="scenario file", cap=SCENARIO_FILE_CAP)
    except FileRefused as error:
        raise ScenarioError(str(error)) from None
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise ScenarioError(f"{path}: not valid JSON ({error}); fix the syntax there") from None
    except ValueError as error:
        raise ScenarioError(f"{path}: {error}") from None
    return parse_scenario(document, str(path))
