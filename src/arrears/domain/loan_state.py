"""What a replay tells: a loan's state after a day-end (:class:`LoanState`, its installments and what is overdue)
and the cumulative totals the ledger books from (:class:`LoanTotals`), as frozen records.

Made by :class:`arrears.domain.engine.LoanReplay` (:meth:`~arrears.domain.engine.LoanReplay.state`,
:meth:`~arrears.domain.engine.LoanReplay.totals`); read by the ledger (:mod:`arrears.domain.ledger`), the views and
the day-end's columns (:mod:`arrears.day_end.columns`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from arrears.domain.classification import Bucket, Classification
from arrears.domain.terms import Component


class InstallmentStatus(StrEnum):
    PAID = "paid"  # settled: principal, interest, penalty and compound all zero
    OVERDUE = "overdue"  # due before the as-of date and not settled (grace days included)
    DUE = "due"  # due on the as-of date and not settled; nothing charged yet
    FUTURE = "future"  # due after the as-of date


@dataclass(frozen=True, slots=True)
class LoanTotals:
    """Cumulative amounts of one loan at a position in its replay: what the ledger books from.

    ``charged`` holds interest billed (installments due on or before the position's day, and interest charged
    at an early settlement), penalty charged and compound charged; principal is "charged" at disbursement.
    """

    principal: int
    received: int
    allocated: dict[Component, int]
    unapplied: int
    waived: dict[Component, int]
    charged: dict[Component, int]

    def unpaid(self, component: Component) -> int:
        """Charged and neither paid nor waived (for principal: disbursed and not repaid)."""
        charged = self.principal if component is Component.PRINCIPAL else self.charged[component]
        return charged - self.allocated[component] - self.waived[component]


@dataclass(frozen=True, slots=True)
class WriteOffRecord:
    """A write-off: its date, the loan's totals at that moment, and the payments received since."""

    on: date
    totals: LoanTotals
    recovered: int


@dataclass(frozen=True, slots=True)
class InstallmentState:
    """What remains unpaid on one installment after day-end of the as-of date."""

    number: int
    due_date: date
    status: InstallmentStatus
    principal: int
    interest: int
    penalty: int
    compound: int
    carried: bool = False
    """Made by a hardship plan's reschedule (:class:`Reschedule`): it carries older debt."""

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.penalty + self.compound


@dataclass(frozen=True, slots=True)
class Overdue:
    """Unpaid amounts of installments due before the as-of date."""

    principal: int
    interest: int
    penalty: int
    compound: int

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.penalty + self.compound


@dataclass(frozen=True, slots=True)
class LoanState:
    """A loan's exact state after day-end of ``as_of``."""

    as_of: date
    days_past_due: int
    bucket: Bucket
    classification: Classification
    outstanding_principal: int
    overdue: Overdue
    installments: tuple[InstallmentState, ...]
    unapplied: int
    """Money received that found nothing due (held credit; suspense in the ledger)."""
    allocated: dict[Component, int]
    """Everything applied so far, by component: with ``unapplied`` it adds up to every payment received."""
    settled_on: date | None
    """The day the last amount owed was paid, by regular payments or early settlement; None while any is owed."""
    waived: dict[Component, int]
    """Everything forgiven so far, by component."""
    written_off_on: date | None
    """The write-off date, if the loan was written off."""
    restructured_on: date | None = None
    """The date of the last hardship plan event that changed the terms (reschedule, freeze, settlement)."""
    accelerated_on: date | None = None
    """The date every installment was made due (宣布提前到期), if the loan was accelerated."""
