"""Products: TOML files that set a credit product's rules, validated on load.

A product file is the lender's configuration of everything shared/RULES.md tags S or G (not verified law):
limits, drawdown rules, rates and terms, overdue rules, and a reference cap on the annualised overdue cost.
Errors name the file, the field and the fix, and a product that does not validate is never half-loaded.

Amounts and rates are TOML strings (``daily_rate = "0.0005"``), because a TOML float has already lost the
author's decimals; a float is refused with the fix spelled out.

Reference cap on overdue cost. Overdue principal costs daily rate x penalty multiplier x 365 a year. Courts
tend to reduce overdue charges above a 24% annualised all-in cost for licensed lenders' consumer loans
(shared/RULES.md, tag G: a reference, not a statute). A product names the cap and a mode:

- ``warn``: load, and say plainly that courts may reduce charges above it (the sample product does this: its
  0.0005 x 1.5 x 365 = 27.375% is real market practice, and the warning tells the lender what it risks);
- ``refuse``: the product (or a loan priced above the cap) is refused;
- ``clamp``: the penalty multiplier is lowered, visibly, so that the overdue cost is at most the cap.

Bounds. Every field is also held within :mod:`arrears.bounds` (amounts, rates, terms, grace and restriction days),
the same bounds ``line open``, the import, the API and scenario files check: a daily rate above 36% a year, or an
overdue cost above it after the cap's clamp, is refused in every mode, never warned about.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    model_validator,
)

from arrears.bounds import (
    BoundedAmount,
    DailyRate,
    GraceDays,
    OpenLoans,
    PenaltyMultiplier,
    ReferenceCapRate,
    RuleDays,
    StandingDays,
    Terms,
    overdue_cost_problem,
)
from arrears.domain.terms import DEFAULT_ALLOCATION, Component, InterestBasis, LoanTerms, Method, Prepayment
from arrears.errors import InputRejected
from arrears.files import PRODUCT_FILE_CAP, FileRefused, read_text_capped
from arrears.money import RoundingMode, format_minor
from arrears.validation import describe_errors

DAYS_PER_YEAR = 365
_MULTIPLIER_PLACES = Decimal("0.00000001")


class ProductError(InputRejected):
    """A product file that cannot be used; the message names the file, the field and the fix."""


class CapMode(StrEnum):
    WARN = "warn"
    REFUSE = "refuse"
    CLAMP = "clamp"


_STRICT = ConfigDict(extra="forbid", frozen=True)  # strictness is per field: Strict* types, amount parsers


class ProductInfo(BaseModel):
    model_config = _STRICT
    code: StrictStr = Field(min_length=1)
    name: StrictStr = Field(min_length=1)
    currency: StrictStr = Field(pattern=r"^[A-Z]{3}$")
    jurisdiction: Literal["cn", "us"]
    """The law its loans are collected and reported under: one of the policy packs and bureaus we ship
    (arrears.collections.policy.PACKS, arrears.bureau.pre_notice.PRE_NOTICE; a test keeps the three equal)."""
    timezone: StrictStr = "Asia/Shanghai"


class LineRules(BaseModel):
    model_config = _STRICT
    min_limit: BoundedAmount
    max_limit: BoundedAmount

    @model_validator(mode="after")
    def _ordered(self) -> LineRules:
        if self.min_limit > self.max_limit:
            raise ValueError("min_limit is above max_limit; swap them")
        return self


class DrawdownRules(BaseModel):
    model_config = _STRICT
    minimum: BoundedAmount
    multiple: BoundedAmount
    max_open_loans: OpenLoans

    @model_validator(mode="after")
    def _positive(self) -> DrawdownRules:
        if self.minimum <= 0 or self.multiple <= 0:
            raise ValueError("minimum and multiple must be above zero")
        return self


class Pricing(BaseModel):
    model_config = _STRICT
    daily_rate: DailyRate
    min_daily_rate: DailyRate
    max_daily_rate: DailyRate
    terms: tuple[Terms, ...] = Field(min_length=1)
    method: Method
    interest_basis: InterestBasis = InterestBasis.ACTUAL
    rounding: RoundingMode = RoundingMode.HALF_UP

    @model_validator(mode="after")
    def _in_range(self) -> Pricing:
        if not self.min_daily_rate <= self.daily_rate <= self.max_daily_rate:
            raise ValueError("daily_rate must lie between min_daily_rate and max_daily_rate")
        if any(term < 1 for term in self.terms):
            raise ValueError("terms are whole numbers of months, 1 or more")
        return self


class ReferenceCap(BaseModel):
    model_config = _STRICT
    annual_rate: ReferenceCapRate
    mode: CapMode


class OverdueRules(BaseModel):
    model_config = _STRICT
    grace_days: GraceDays = 0
    penalty_multiplier: PenaltyMultiplier = Decimal("1.5")
    compound_overdue_interest: StrictBool = True
    allocation: tuple[Component, ...] = DEFAULT_ALLOCATION
    reference_cap: ReferenceCap | None = None

    @model_validator(mode="after")
    def _allocation_complete(self) -> OverdueRules:
        if sorted(self.allocation) != sorted(Component):
            raise ValueError("allocation must list penalty, compound, interest and principal, each once")
        return self


class RepaymentRules(BaseModel):
    model_config = _STRICT
    prepayment: Prepayment = Prepayment.HOLD


class RestrictionScope(StrEnum):
    """What a lender may restrict: its own product, nothing else (:mod:`arrears.restrictions.registry`)."""

    DRAWDOWN = "drawdown"
    LIMIT = "limit"
    LINE = "line"
    AUTO_DEBIT = "auto_debit"


class LiftCondition(StrEnum):
    NOTHING_OVERDUE = "nothing_overdue"  # lifted as soon as nothing is overdue (at posting time)
    GOOD_STANDING = "good_standing"  # after good_standing_days consecutive day-ends with nothing overdue
    REVIEW_AFTER_FULL_REPAYMENT = "review_after_full_repayment"  # the lender's review, once everything is repaid


class RestrictionTrigger(StrEnum):
    """What puts a restriction on: the day-end itself once the threshold is reached (``day_end``), or a
    collections decision (a strategy's ``suspend_drawdown`` / ``reduce_limit`` / ``close_line`` in the day's
    plan) taken once the contract allows it (``decision``)."""

    DAY_END = "day_end"
    DECISION = "decision"


class RestrictionRule(BaseModel):
    """``[[restrictions]]``: a restriction the product puts on a line once its days past due reach a threshold
    (``trigger = "day_end"``, the default), or that a collections decision may put on from then
    (``trigger = "decision"``); ``legal_basis`` is the contract clause that allows it."""

    model_config = _STRICT
    name: StrictStr = Field(min_length=1)
    scope: RestrictionScope
    trigger: RestrictionTrigger = RestrictionTrigger.DAY_END
    dpd_at_least: RuleDays
    lift: LiftCondition
    good_standing_days: StandingDays = 0
    legal_basis: StrictStr = Field(min_length=1)

    @model_validator(mode="after")
    def _days_for_good_standing(self) -> RestrictionRule:
        if (self.lift is LiftCondition.GOOD_STANDING) != (self.good_standing_days > 0):
            raise ValueError('good_standing_days (above 0) goes with lift = "good_standing", and only with it')
        return self


class ProductFile(BaseModel):
    """The whole TOML document; each table is one section of rules."""

    model_config = _STRICT
    product: ProductInfo
    line: LineRules
    drawdown: DrawdownRules
    pricing: Pricing
    overdue: OverdueRules = OverdueRules()
    repayment: RepaymentRules = RepaymentRules()
    restrictions: tuple[RestrictionRule, ...] = ()

    @model_validator(mode="after")
    def _unique_restrictions(self) -> ProductFile:
        names = [rule.name for rule in self.restrictions]
        if len(names) != len(set(names)):
            raise ValueError("each [[restrictions]] rule needs its own name")
        return self


@dataclass(frozen=True, slots=True)
class Product:
    """A validated product and the notices its load produced (cap warnings, clamps)."""

    source: str
    rules: ProductFile
    notices: tuple[str, ...]
    document: dict[str, Any]
    """The document as written (parsed TOML): what a credit line stores as its snapshot of the product."""

    @property
    def code(self) -> str:
        return self.rules.product.code

    @property
    def currency(self) -> str:
        return self.rules.product.currency

    def penalty_multiplier_for(self, daily_rate: Decimal) -> tuple[Decimal, str | None]:
        """The multiplier a loan at ``daily_rate`` gets, and a notice when the reference cap changed or
        flagged it; a :class:`ProductError` in ``refuse`` mode."""
        overdue = self.rules.overdue
        return apply_reference_cap(daily_rate, overdue.penalty_multiplier, overdue.reference_cap, self.source)

    def loan_terms(
        self,
        *,
        principal: int,
        terms: int,
        start: date,
        daily_rate: Decimal | None = None,
        method: Method | None = None,
        interest_basis: InterestBasis | None = None,
    ) -> LoanTerms:
        """The snapshot of terms a drawdown gets, checked against the product's rate range and term set."""
        pricing, overdue = self.rules.pricing, self.rules.overdue
        rate = pricing.daily_rate if daily_rate is None else daily_rate
        if not pricing.min_daily_rate <= rate <= pricing.max_daily_rate:
            raise ProductError(
                f"{self.source}: daily rate {rate} is outside the product's range "
                f"{pricing.min_daily_rate}..{pricing.max_daily_rate}; pick a rate inside it"
            )
        if terms not in pricing.terms:
            allowed = ", ".join(str(t) for t in pricing.terms)
            raise ProductError(f"{self.source}: {terms} terms is not offered; choose one of {allowed}")
        multiplier, _ = self.penalty_multiplier_for(rate)
        return LoanTerms(
            principal=principal,
            daily_rate=rate,
            terms=terms,
            method=method or pricing.method,
            start=start,
            interest_basis=interest_basis or pricing.interest_basis,
            penalty_multiplier=multiplier,
            compound_overdue_interest=overdue.compound_overdue_interest,
            grace_days=overdue.grace_days,
            rounding=pricing.rounding,
            allocation=overdue.allocation,
            prepayment=self.rules.repayment.prepayment,
            currency=self.currency,
        )


def overdue_annual_cost(daily_rate: Decimal, multiplier: Decimal) -> Decimal:
    """Annualised cost of overdue principal: daily rate x multiplier x 365 (0.0005 x 1.5 x 365 = 0.27375)."""
    return daily_rate * multiplier * DAYS_PER_YEAR


def apply_reference_cap(
    daily_rate: Decimal, multiplier: Decimal, cap: ReferenceCap | None, source: str
) -> tuple[Decimal, str | None]:
    """Check daily rate x multiplier x 365 against the cap: (multiplier to use, notice or None)."""
    if cap is None:
        return multiplier, None
    cost = overdue_annual_cost(daily_rate, multiplier)
    if cost <= cap.annual_rate:
        return multiplier, None
    cost_text, cap_text = _percent(cost), _percent(cap.annual_rate)
    if cap.mode is CapMode.REFUSE:
        raise ProductError(
            f"{source}: [overdue] penalty_multiplier {multiplier} at daily rate {daily_rate} gives an annualised "
            f"overdue cost of {cost_text}, above the reference cap of {cap_text} (mode refuse); lower the "
            "multiplier or the rate, or set reference_cap.mode to warn or clamp"
        )
    if cap.mode is CapMode.WARN:
        return multiplier, (
            f"warning: {source}: overdue principal costs {cost_text} a year at daily rate {daily_rate} "
            f"(x {multiplier} x 365), above the {cap_text} reference cap; courts may reduce overdue charges "
            "above it (a judicial reference, not a statute: shared/RULES.md)"
        )
    clamped = (cap.annual_rate / DAYS_PER_YEAR / daily_rate).quantize(_MULTIPLIER_PLACES, rounding=ROUND_DOWN)
    return clamped, (
        f"notice: {source}: penalty multiplier clamped from {multiplier} to {clamped} at daily rate {daily_rate} "
        f"so that overdue cost ({_percent(overdue_annual_cost(daily_rate, clamped))}) stays within the "
        f"{cap_text} reference cap"
    )


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).quantize(Decimal('0.001')).normalize():f}%"


def parse_product(document: dict[str, Any], source: str) -> Product:
    """Validate a product document (already parsed TOML); ``source`` names it in errors."""
    try:
        rules = ProductFile.model_validate(document)
    except ValidationError as error:
        raise ProductError(describe_errors(error, source, frozenset(ProductFile.model_fields))) from None
    multiplier, notice = apply_reference_cap(
        rules.pricing.max_daily_rate, rules.overdue.penalty_multiplier, rules.overdue.reference_cap, source
    )
    # loans are clamped at their own rate in Product.loan_terms; here the dearest loan the product allows is
    # checked against the all-in bound (arrears.bounds), whatever the lender's reference cap says
    too_dear = overdue_cost_problem(rules.pricing.max_daily_rate, multiplier)
    if too_dear is not None:
        raise ProductError(f"{source}: [overdue] penalty_multiplier: {too_dear}")
    return Product(source=source, rules=rules, notices=(notice,) if notice else (), document=document)


def load_product(path: str | Path) -> Product:
    """Read and validate a product TOML file; :class:`ProductError` names the file, the field and the fix."""
    path = Path(path)
    try:
        text = read_text_capped(path, what="product file", cap=PRODUCT_FILE_CAP)
    except FileRefused as error:
        raise ProductError(str(error)) from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProductError(f"{path}: not valid TOML ({error}); fix the syntax at that line") from None
    return parse_product(document, str(path))


def describe_limits(product: Product) -> str:
    """A one-line summary of the product, for the CLI."""
    line, draw = product.rules.line, product.rules.drawdown
    return (
        f"{product.code}: line {format_minor(line.min_limit)}..{format_minor(line.max_limit)} {product.currency}, "
        f"drawdown min {format_minor(draw.minimum)} in multiples of {format_minor(draw.multiple)}, "
        f"at most {draw.max_open_loans} open loans"
    )
