"""Credit lines (授信额度) and drawdowns (借款 / 支用) against them.

A line has a limit; its available amount is the limit minus the principal still outstanding on its loans, so
the available amount is restored as principal is repaid (shared/RULES.md, tag S; some sources say only after a
whole loan is repaid: a product could choose that, this one restores per yuan of principal). A drawdown is
checked against the product's rules and refused with the name of the rule that refused it:

- ``drawdown.minimum``: at least the minimum (100.00 for the sample product);
- ``drawdown.multiple``: a whole multiple of the step (100.00);
- ``drawdown.max_open_loans``: fewer open loans than the maximum (20);
- ``line.available``: no more than the available amount.

Restrictions on the line (suspended drawdowns, a lowered limit, a closed line) belong to the restrictions
registry of a later issue; :func:`check_drawdown` takes the limit in force, whatever set it.

>>> rules = DrawdownLimits(minimum=10000, multiple=10000, max_open_loans=20)
>>> check_drawdown(rules, limit=2000000, outstanding=(500000,), amount=1550000).rule
'line.available'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from arrears.money import format_minor


@dataclass(frozen=True, slots=True)
class DrawdownLimits:
    """The product's drawdown rules in minor units."""

    minimum: int
    multiple: int
    max_open_loans: int


@dataclass(frozen=True, slots=True)
class DrawdownRefused:
    """Why a drawdown was refused: the rule's name and a sentence for the borrower."""

    rule: str
    reason: str


def available(limit: int, outstanding: Sequence[int]) -> int:
    """Limit minus the principal outstanding on the line's open loans (never below zero)."""
    return max(0, limit - sum(outstanding))


def check_drawdown(
    rules: DrawdownLimits, *, limit: int, outstanding: Sequence[int], amount: int
) -> DrawdownRefused | None:
    """None when the drawdown may go ahead, else the first rule that refuses it.

    ``outstanding`` holds the outstanding principal of each open loan on the line.
    """
    if amount < rules.minimum:
        return DrawdownRefused(
            "drawdown.minimum", f"the minimum drawdown is {format_minor(rules.minimum)}; draw at least that"
        )
    if amount % rules.multiple:
        return DrawdownRefused(
            "drawdown.multiple", f"drawdowns are in multiples of {format_minor(rules.multiple)}; round the amount"
        )
    open_loans = sum(1 for principal in outstanding if principal > 0)
    if open_loans >= rules.max_open_loans:
        return DrawdownRefused(
            "drawdown.max_open_loans",
            f"at most {rules.max_open_loans} loans may be open at once; repay one before drawing again",
        )
    room = available(limit, outstanding)
    if amount > room:
        return DrawdownRefused(
            "line.available",
            f"only {format_minor(room)} of the {format_minor(limit)} limit is available; draw at most that",
        )
    return None
