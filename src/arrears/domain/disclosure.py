"""Disclosure of the annualised rate (年化利率) beside the simple daily-rate x 365 figure.

Chinese rules require lenders to show borrowers an annualised rate (PBOC announcement 2021 No. 3 [S]), computed
by the internal-rate-of-return method on the loan's cash flows: the rate i per period that makes the present
value of the installments equal the amount lent, annualised as i x 12 for monthly periods. The simple figure
daily rate x 365 overstates the cost of an amortising loan less than it seems and understates it for an
interest-first one; showing both side by side is what the rule is for.

Worked example: 2,500.00 over 5 months at 0.0005 a day, equal principal, actual days (38.75, 30.00, 23.25, 15.50,
7.50 interest): simple rate 0.0005 x 365 = 18.25%; IRR per month 1.5334%, annualised 18.40% (above the
simple figure: the 31-day months charge more than 30 days of interest).

These are display figures, not money: they are computed in ``Decimal`` to 28 digits by bisection and shown
rounded to 0.01%.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from arrears.domain.schedule import Schedule
from arrears.domain.terms import LoanTerms

MONTHS_PER_YEAR = 12
DAYS_PER_YEAR = 365
_PERCENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class RateDisclosure:
    """Annualised rates in percent, rounded to two decimals."""

    annualised_irr_percent: Decimal
    """年化利率 by the IRR method: monthly IRR x 12."""
    simple_annual_percent: Decimal
    """Daily rate x 365, the figure the product's rate card implies."""


def monthly_irr(principal: int, payments: list[int]) -> Decimal:
    """Rate i per period with sum(payment_k / (1+i)^k) = principal, found by bisection to 1e-20.

    The present value falls as i rises, so bisection on [0, 1] (0% to 100% a month) always converges for a
    loan whose payments add up to at least its principal; a loan repaid at a loss has no positive rate (0).
    """
    if sum(payments) <= principal:
        return Decimal(0)
    with localcontext() as context:
        context.prec = 40
        target = Decimal(principal)

        def present_value(rate: Decimal) -> Decimal:
            factor, total = Decimal(1) / (1 + rate), Decimal(0)
            discount = Decimal(1)
            for amount in payments:
                discount *= factor
                total += amount * discount
            return total

        low, high = Decimal(0), Decimal(1)
        while high - low > Decimal("1e-20"):
            middle = (low + high) / 2
            if present_value(middle) > target:
                low = middle
            else:
                high = middle
        return (low + high) / 2


def disclose(terms: LoanTerms, schedule: Schedule) -> RateDisclosure:
    """Both annualised figures for a loan and its schedule."""
    irr = monthly_irr(terms.principal, [row.payment for row in schedule])
    annualised = (irr * MONTHS_PER_YEAR * 100).quantize(_PERCENT, rounding=ROUND_HALF_UP)
    simple = (terms.daily_rate * DAYS_PER_YEAR * 100).quantize(_PERCENT, rounding=ROUND_HALF_UP)
    return RateDisclosure(annualised_irr_percent=annualised, simple_annual_percent=simple)
