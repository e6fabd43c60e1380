"""Credit lines: drawdowns refused by the named rule; the available amount restored as principal is repaid."""

from __future__ import annotations

from datetime import date

from arrears.domain.credit_line import DrawdownLimits, available, check_drawdown
from arrears.domain.engine import LoanReplay
from arrears.domain.product import load_product
from tests.support.paths import SAMPLE_PRODUCT

RULES = DrawdownLimits(minimum=10000, multiple=10000, max_open_loans=20)


def test_each_rule_refuses_by_name() -> None:
    assert check_drawdown(RULES, limit=2000000, outstanding=(), amount=9900).rule == "drawdown.minimum"  # type: ignore[union-attr]
    assert check_drawdown(RULES, limit=2000000, outstanding=(), amount=15000).rule == "drawdown.multiple"  # type: ignore[union-attr]
    full = (10000,) * 20
    assert check_drawdown(RULES, limit=2000000, outstanding=full, amount=10000).rule == "drawdown.max_open_loans"  # type: ignore[union-attr]
    refused = check_drawdown(RULES, limit=2000000, outstanding=(1500000,), amount=600000)
    assert refused is not None and refused.rule == "line.available"
    assert "only 5000.00 of the 20000.00 limit is available" in refused.reason


def test_a_drawdown_within_the_rules_goes_ahead() -> None:
    assert check_drawdown(RULES, limit=2000000, outstanding=(1500000,), amount=500000) is None
    # repaid loans (no principal left) do not count as open
    assert check_drawdown(RULES, limit=2000000, outstanding=(0,) * 25, amount=10000) is None


def test_available_is_restored_as_principal_is_repaid() -> None:
    product = load_product(SAMPLE_PRODUCT)
    loan = LoanReplay(product.loan_terms(principal=1000000, terms=5, start=date(2026, 1, 10)))
    limit = 2000000
    assert available(limit, [loan.outstanding_principal()]) == 1000000
    loan.pay(date(2026, 2, 10), loan.due_total(date(2026, 2, 10)))  # installment 1: 2,000.00 of principal
    loan.close_through(date(2026, 2, 10))
    assert available(limit, [loan.outstanding_principal()]) == 1200000
    assert available(100000, [loan.outstanding_principal()]) == 0  # a lowered limit never goes negative
