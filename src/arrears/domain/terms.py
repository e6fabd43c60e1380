"""The terms a loan is drawn on: one frozen record that the engine replays from.

A loan keeps a snapshot of these terms for its whole life, so changing a product file never changes a loan
that was already drawn (see the ledger issue). Everything the engine needs is here and nothing else:

- principal (minor units), daily rate (日利率), number of monthly terms, start (disbursement) date;
- repayment method: equal principal (等额本金), equal instalment (等额本息), interest-first (先息后本);
- interest basis: ``actual`` (daily rate x actual days in the period) or ``period`` (daily rate x 30);
- overdue rules: penalty multiplier on the contract rate (罚息, 银发〔2003〕251号: +30%..50%), compound interest
  on unpaid interest (复利), grace days (宽限期), the allocation order of a payment within an installment;
- rounding mode, and what happens to money paid ahead of time (:class:`Prepayment`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from arrears.bounds import check_terms
from arrears.errors import InputRejected
from arrears.money import RoundingMode


class Method(StrEnum):
    """How principal is spread over the installments."""

    EQUAL_PRINCIPAL = "equal-principal"  # 等额本金
    EQUAL_INSTALLMENT = "equal-installment"  # 等额本息
    INTEREST_FIRST = "interest-first"  # 先息后本


class InterestBasis(StrEnum):
    """How a period's interest is counted."""

    ACTUAL = "actual"  # daily rate x actual days from the previous due date
    PERIOD = "period"  # daily rate x 30, whatever the month's length


class Component(StrEnum):
    """The parts of an installment a payment can settle."""

    PENALTY = "penalty"  # 罚息: on overdue principal
    COMPOUND = "compound"  # 复利: on overdue interest
    INTEREST = "interest"
    PRINCIPAL = "principal"


WAIVABLE = frozenset({Component.PENALTY, Component.COMPOUND, Component.INTEREST})
"""What a waiver (减免) may forgive: charges, never principal (forgiving principal is a settlement or a write-off)."""


DEFAULT_ALLOCATION: tuple[Component, ...] = (
    Component.PENALTY,
    Component.COMPOUND,
    Component.INTEREST,
    Component.PRINCIPAL,
)


class Prepayment(StrEnum):
    """What the engine does with money that finds nothing due (a payment ahead of the due date).

    ``hold``: keep it as unapplied credit and apply it, oldest first, to each installment on the day it falls
    due, so a borrower who pays a few days early is never overdue; and whenever the credit covers the payoff
    amount (see :mod:`arrears.domain.payoff`) the loan is settled at once, with interest for the actual days only
    (民法典 art. 677). This is what borrowers of 微粒贷-like products expect from "还本期" paid early and from
    "提前结清", and it never changes the schedule behind their back.
    """

    HOLD = "hold"


@dataclass(frozen=True, slots=True)
class LoanTerms:
    """Everything the engine needs to replay one loan. Build it through a product or the scenario reader,
    which validate; this record itself only refuses what would make the arithmetic meaningless."""

    principal: int
    daily_rate: Decimal
    terms: int
    method: Method
    start: date
    interest_basis: InterestBasis = InterestBasis.ACTUAL
    penalty_multiplier: Decimal = Decimal("1.5")
    compound_overdue_interest: bool = True
    grace_days: int = 0
    rounding: RoundingMode = RoundingMode.HALF_UP
    allocation: tuple[Component, ...] = field(default=DEFAULT_ALLOCATION)
    prepayment: Prepayment = Prepayment.HOLD
    currency: str = "CNY"

    def __post_init__(self) -> None:
        if isinstance(self.principal, bool) or not isinstance(self.principal, int):
            raise InputRejected(f"principal must be a whole number of minor units, got {self.principal!r}")
        if not isinstance(self.daily_rate, Decimal) or not self.daily_rate.is_finite():
            raise InputRejected(f"daily rate must be a Decimal, got {self.daily_rate!r}")
        if not isinstance(self.penalty_multiplier, Decimal) or not self.penalty_multiplier.is_finite():
            raise InputRejected(f"penalty multiplier must be a Decimal, got {self.penalty_multiplier!r}")
        for name in ("terms", "grace_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InputRejected(f"{name.replace('_', ' ')} must be a whole number, got {value!r}")
        check_terms(  # the bounds every door checks (arrears.bounds): a loan outside them never reaches the kernel
            principal=self.principal,
            daily_rate=self.daily_rate,
            penalty_multiplier=self.penalty_multiplier,
            terms=self.terms,
            grace_days=self.grace_days,
        )
        if sorted(self.allocation) != sorted(Component):
            raise InputRejected(
                "allocation must name each of penalty, compound, interest, principal exactly once, "
                f"got {[str(c) for c in self.allocation]}"
            )

    @property
    def penalty_daily_rate(self) -> Decimal:
        """Daily rate charged on overdue principal (and, when compounding, on overdue interest)."""
        return self.daily_rate * self.penalty_multiplier
