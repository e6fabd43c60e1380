"""Product files: the sample loads with its cap warning; every error names the file, the field and the fix."""

from __future__ import annotations

import copy
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arrears.domain.product import ProductError, load_product, parse_product
from arrears.domain.terms import InterestBasis, Method
from tests.support.paths import SAMPLE_PRODUCT


@pytest.fixture
def document() -> dict[str, Any]:
    return tomllib.loads(SAMPLE_PRODUCT.read_text(encoding="utf-8"))


def test_sample_product_has_the_rules_defaults() -> None:
    product = load_product(SAMPLE_PRODUCT)
    rules = product.rules
    assert product.code == "cn-microcredit" and product.currency == "CNY"
    assert (rules.line.min_limit, rules.line.max_limit) == (50000, 20000000)
    assert (rules.drawdown.minimum, rules.drawdown.multiple, rules.drawdown.max_open_loans) == (10000, 10000, 20)
    assert rules.pricing.daily_rate == Decimal("0.0005") and rules.pricing.terms == (5, 10, 20)
    assert rules.pricing.method is Method.EQUAL_PRINCIPAL and rules.pricing.interest_basis is InterestBasis.ACTUAL
    assert rules.overdue.grace_days == 1 and rules.overdue.penalty_multiplier == Decimal("1.5")
    assert rules.overdue.compound_overdue_interest


def test_sample_product_warns_about_the_reference_cap() -> None:
    (notice,) = load_product(SAMPLE_PRODUCT).notices
    assert "27.375%" in notice and "24%" in notice and "courts may reduce" in notice


def test_loan_terms_snapshot(document: dict[str, Any]) -> None:
    product = parse_product(document, "p.toml")
    terms = product.loan_terms(principal=500000, terms=10, start=date(2026, 1, 15))
    assert (terms.principal, terms.terms, terms.grace_days, terms.penalty_multiplier) == (500000, 10, 1, Decimal("1.5"))
    with pytest.raises(ProductError, match="7 terms is not offered; choose one of 5, 10, 20"):
        product.loan_terms(principal=500000, terms=7, start=date(2026, 1, 15))
    with pytest.raises(ProductError, match=r"outside the product's range 0.0002..0.0005"):
        product.loan_terms(principal=500000, terms=5, start=date(2026, 1, 15), daily_rate=Decimal("0.001"))


def test_refuse_mode_refuses_the_product(document: dict[str, Any]) -> None:
    document["overdue"]["reference_cap"]["mode"] = "refuse"
    with pytest.raises(ProductError, match=r"27.375%, above the reference cap of 24% \(mode refuse\)"):
        parse_product(document, "p.toml")


def test_clamp_mode_lowers_the_multiplier_visibly(document: dict[str, Any]) -> None:
    document["overdue"]["reference_cap"]["mode"] = "clamp"
    product = parse_product(document, "p.toml")
    (notice,) = product.notices
    assert "clamped from 1.5 to 1.31506849" in notice
    terms = product.loan_terms(principal=500000, terms=5, start=date(2026, 1, 15))
    assert terms.penalty_multiplier == Decimal("1.31506849")
    assert terms.daily_rate * terms.penalty_multiplier * 365 <= Decimal("0.24")
    # a loan priced lower is under the cap and keeps the product's multiplier
    cheap = product.loan_terms(principal=500000, terms=5, start=date(2026, 1, 15), daily_rate=Decimal("0.0004"))
    assert cheap.penalty_multiplier == Decimal("1.5")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["pricing"].update(daily_rate=0.0005), r"\[pricing\] daily_rate: a float is not a rate"),
        (lambda d: d["overdue"].update(grace_days="1"), r"\[overdue\] grace_days: must be a whole number"),
        (lambda d: d["pricing"].update(method="annuity"), r"\[pricing\] method: Input should be 'equal-principal'"),
        (lambda d: d["line"].pop("min_limit"), r"\[line\] min_limit: is missing; add it"),
        (lambda d: d["line"].update(maximum="1"), r"\[line\] maximum: is not a known setting"),
        (lambda d: d["drawdown"].update(minimum="-5"), r"\[drawdown\] minimum: '-5' is not a plain amount"),
        (lambda d: d["line"].update(min_limit="300000.00"), r"min_limit is above max_limit"),
        (lambda d: d["overdue"].update(allocation=["penalty"]), r"allocation must list penalty, compound"),
        (lambda d: d["pricing"].update(daily_rate="0.0009"), r"daily_rate must lie between"),
        (lambda d: d["overdue"].update(compound_overdue_interest="yes"), r"must be true or false"),
    ],
)
def test_errors_name_the_file_the_field_and_the_fix(document: dict[str, Any], change: Any, message: str) -> None:
    broken = copy.deepcopy(document)
    change(broken)
    with pytest.raises(ProductError, match=message) as raised:
        parse_product(broken, "products/broken.toml")
    assert str(raised.value).startswith("products/broken.toml: ")


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ProductError, match="cannot read the product file"):
        load_product(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[product\n", encoding="utf-8")
    with pytest.raises(ProductError, match="not valid TOML"):
        load_product(bad)
