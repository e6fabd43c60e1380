"""The products the lender offers: every product TOML file in one folder (``ARREARS_PRODUCTS_DIR``, default
``./products``), validated when the API starts, and what a borrower may see of each.

A product is the lender's configuration (:mod:`arrears.domain.product`); a credit line keeps a snapshot of it when it is
opened, so changing a file changes the lines opened after, never the ones before. The catalogue is read once, by
the entry point that serves it: a file that does not validate stops the server with the file, the field and the
fix (a catalogue that silently lost a product would refuse lines on it with a misleading "not offered"); two files
with one product code are refused for the same reason. A folder that does not exist is an empty catalogue, and a
line asked on it is refused naming the folder.

What a borrower sees of a product (:func:`product_view`) is what the contract tells them: limits, the drawdown
rules, the daily rate with daily rate x 365 beside it, terms, the grace period, penalty and compound interest, and
the restrictions the contract allows with their clauses. The 年化利率 by the IRR method that PBOC announcement
2021 No. 3 requires depends on the loan's own dates and method (:mod:`arrears.domain.disclosure`): it is shown on each
drawdown's schedule, not here. Not shown: the reference cap's mode and notices (the lender's own risk stance).

Worked example (the sample product): daily rate 0.0005 gives ``"simple_annual_rate_percent": "18.25"``; a line
of 500.00..200000.00 CNY; drawdowns from 100.00 in multiples of 100.00; 5, 10 or 20 monthly terms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from arrears.adapters.store import NotFound
from arrears.domain.disclosure import DAYS_PER_YEAR
from arrears.domain.product import Product, ProductError, load_product
from arrears.errors import InputRejected
from arrears.money import format_minor

_PERCENT = Decimal("0.01")


class UnknownProduct(NotFound):
    """A code the catalogue does not offer: the catalogue is published, so anyone may be told so."""

    public = True


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The products in ``folder``, by code, in code order."""

    folder: Path
    products: Mapping[str, Product]

    def product(self, code: str) -> Product:
        """The product with ``code``; :class:`NotFound` (a resource asked by its code) otherwise."""
        found = self.products.get(code)
        if found is None:
            raise UnknownProduct(f"no product {code!r}; {self._offered()}")
        return found

    def offered(self, code: str) -> Product:
        """The product with ``code`` for a new line; :class:`InputRejected` (a field of a request) otherwise."""
        found = self.products.get(code)
        if found is None:
            raise InputRejected(f"product {code!r} is not offered; {self._offered()}")
        return found

    def _offered(self) -> str:
        if not self.products:
            return f"no product is offered: put product TOML files in {self.folder} (ARREARS_PRODUCTS_DIR)"
        return f"the lender offers {', '.join(self.products)} (GET /products)"


def load_catalogue(folder: Path) -> Catalogue:
    """Every ``*.toml`` file of ``folder``, validated (:class:`ProductError` naming the file otherwise)."""
    products: dict[str, Product] = {}
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        product = load_product(path)
        if product.code in products:
            raise ProductError(
                f"{path}: product code {product.code!r} is also {products[product.code].source}'s; "
                "give each product its own code"
            )
        products[product.code] = product
    return Catalogue(folder, dict(sorted(products.items())))


def product_view(product: Product) -> dict[str, Any]:
    """What a borrower may see of ``product`` (module docstring): amounts and rates as decimal strings."""
    info, line, drawdown, pricing, overdue = (
        product.rules.product,
        product.rules.line,
        product.rules.drawdown,
        product.rules.pricing,
        product.rules.overdue,
    )
    simple = (pricing.daily_rate * DAYS_PER_YEAR * 100).quantize(_PERCENT, rounding=ROUND_HALF_UP)
    return {
        "code": info.code,
        "name": info.name,
        "currency": info.currency,
        "jurisdiction": info.jurisdiction,
        "line": {"min_limit": format_minor(line.min_limit), "max_limit": format_minor(line.max_limit)},
        "drawdown": {
            "minimum": format_minor(drawdown.minimum),
            "multiple": format_minor(drawdown.multiple),
            "max_open_loans": drawdown.max_open_loans,
        },
        "daily_rate": str(pricing.daily_rate),
        "daily_rate_range": [str(pricing.min_daily_rate), str(pricing.max_daily_rate)],
        "simple_annual_rate_percent": f"{simple:f}",
        "terms": list(pricing.terms),
        "method": pricing.method.value,
        "interest_basis": pricing.interest_basis.value,
        "grace_days": overdue.grace_days,
        "penalty_multiplier": str(product.penalty_multiplier_for(pricing.daily_rate)[0]),  # clamped, if capped
        "compound_overdue_interest": overdue.compound_overdue_interest,
        "prepayment": product.rules.repayment.prepayment.value,
        "restrictions": [
            {
                "rule": rule.name,
                "scope": rule.scope.value,
                "days_past_due_at_least": rule.dpd_at_least,
                "trigger": rule.trigger.value,
                "lift": rule.lift.value,
                "legal_basis": rule.legal_basis,
            }
            for rule in product.rules.restrictions
        ],
    }
