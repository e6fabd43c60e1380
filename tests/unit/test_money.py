"""Money: integer minor units, exact parsing, one rounding door, floats refused."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from arrears.money import (
    FloatRefused,
    InvalidAmount,
    Money,
    RoundingMode,
    format_minor,
    parse_amount,
    parse_rate,
    round_to_minor,
)


@pytest.mark.parametrize(
    ("text", "minor"),
    [("0", 0), ("1", 100), ("0.01", 1), ("0.1", 10), ("1084.34", 108434), ("200000.00", 20000000)],
)
def test_parse_amount(text: str, minor: int) -> None:
    assert parse_amount(text, field="amount") == minor


@pytest.mark.parametrize("text", ["-1", "1e3", "1_000", "NaN", "1.001", ".5", "5.", " 5", "1,000", "", "+5"])
def test_malformed_amounts_are_refused_with_the_fix(text: str) -> None:
    with pytest.raises(InvalidAmount, match="at most two decimals"):
        parse_amount(text, field="amount")


@pytest.mark.parametrize("value", [5, None, Decimal("5")])
def test_amounts_must_be_text(value: object) -> None:
    with pytest.raises(InvalidAmount, match="strings"):
        parse_amount(value, field="amount")


def test_floats_are_refused_everywhere() -> None:
    with pytest.raises(FloatRefused):
        parse_amount(0.1, field="amount")
    with pytest.raises(FloatRefused):
        parse_rate(0.0005, field="rate")
    with pytest.raises(FloatRefused):
        round_to_minor(2.5, RoundingMode.HALF_UP)  # type: ignore[arg-type]
    with pytest.raises(FloatRefused):
        Money(1.0, "CNY")  # type: ignore[arg-type]


def test_rates_keep_their_digits() -> None:
    assert parse_rate("0.0005", field="rate") == Decimal("0.0005")
    assert parse_rate("0.00012345", field="rate") == Decimal("0.00012345")
    with pytest.raises(InvalidAmount, match="8 decimals"):
        parse_rate("0.000000001", field="rate")
    with pytest.raises(InvalidAmount):
        parse_rate("5E-4", field="rate")


@pytest.mark.parametrize(
    ("value", "half_up", "half_even"),
    [
        (Fraction(5, 2), 3, 2),
        (Fraction(7, 2), 4, 4),
        (Fraction(-5, 2), -3, -2),
        (Fraction(2249, 100), 22, 22),
        (Fraction(2251, 100), 23, 23),
        (Fraction(45, 2), 23, 22),  # 22.5: the penalty tie in tests/scenarios/cn_rounding_half_even.json
        (Fraction(0), 0, 0),
    ],
)
def test_rounding_modes(value: Fraction, half_up: int, half_even: int) -> None:
    assert round_to_minor(value, RoundingMode.HALF_UP) == half_up
    assert round_to_minor(value, RoundingMode.HALF_EVEN) == half_even


def test_format_minor() -> None:
    assert [format_minor(m) for m in (0, 1, 10, 108434, -5)] == ["0.00", "0.01", "0.10", "1084.34", "-0.05"]


def test_money_refuses_mixed_currencies() -> None:
    assert Money.parse("1.50", "CNY") + Money(50, "CNY") == Money(200, "CNY")
    with pytest.raises(TypeError, match="CNY with USD"):
        _ = Money(1, "CNY") + Money(1, "USD")
    with pytest.raises(ValueError, match="ISO 4217"):
        Money(1, "yuan")
    assert str(Money(108434, "CNY")) == "1084.34 CNY"
