"""The replay's journal: one record per amount a day-end or an event moved, kept only when asked for
(:attr:`arrears.domain.engine.LoanReplay.journal`), so that :mod:`arrears.domain.explain` can say where every
minor unit of penalty, compound and interest came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class DailyCharge:
    """One day-end's penalty and compound on one installment, for explanations (:mod:`arrears.domain.explain`):
    charged on the unpaid principal and interest of that day, or held back while the grace period runs."""

    number: int
    day: date
    principal: int
    interest: int
    penalty: int
    compound: int
    held: bool


@dataclass(frozen=True, slots=True)
class GraceOutcome:
    """What became of the charges held in grace on one installment: charged at the grace end (not paid in
    full in time) or dropped (paid in full within grace)."""

    number: int
    day: date
    penalty: int
    compound: int
    charged: bool


@dataclass(frozen=True, slots=True)
class EarlySettlement:
    """提前结清 on ``day``: interest for the actual days since ``since`` on the principal not yet due."""

    day: date
    since: date
    principal: int
    interest: int


@dataclass(frozen=True, slots=True)
class Carried:
    """What a reschedule (:class:`Reschedule`) moved on ``day``: out of installment ``number`` (``into`` False),
    or into the new installment ``number`` (``into`` True), by component."""

    number: int
    day: date
    into: bool
    principal: int
    interest: int
    penalty: int
    compound: int


@dataclass(frozen=True, slots=True)
class Accelerated:
    """Acceleration on ``day``: the current period's interest for the actual days since ``since`` on the principal
    not yet due (:class:`Acceleration`)."""

    day: date
    since: date
    principal: int
    interest: int


JournalEntry = DailyCharge | GraceOutcome | EarlySettlement | Carried | Accelerated
