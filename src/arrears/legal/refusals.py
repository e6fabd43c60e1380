"""What the legal rules refuse: :class:`LegalRefused`, and the check every amount and count of them passes."""

from __future__ import annotations

from arrears.errors import InputRejected
from arrears.money import FloatRefused


class LegalRefused(InputRejected):
    """Input this module refuses: the message says what was wrong and how to fix it."""


def check_count(value: object, name: str) -> int:
    """An ``int`` (not a bool, not a float) at least zero."""
    if isinstance(value, float):
        raise FloatRefused(f"{name}: a float is not an amount or a count; use an int (minor units for money)")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise LegalRefused(f"{name} must be a whole number at least 0, got {value!r}")
    return value
