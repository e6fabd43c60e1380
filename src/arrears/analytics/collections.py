"""``arrears report collections``: champion/challenger arms compared, and what each agency recovered and earned.

Every account planned in the period belongs to one arm (fixed by a hash of the loan, arrears.collections.planning
.arm_of). For each arm, over the accounts it planned:

- **cure rate**: the share with nothing past due at the end (the store's last day-end in the period), or repaid;
  a written-off loan is not cured;
- **roll rate**: the share in a worse bucket at the end than on the first day it was planned in the period;
- **amount recovered**: repayments with a value date in the period, reversals netted (minor units);
- **contacts per cure**: contacts made in the period (lender and agencies) per cured account;
- **refusals per planned action**: actions the policy pack refused, per action planned;
- **complaints per contact**: complaints received in the period from the arm's borrowers, per contact.

For each agency: accounts placed with it during the period, what was repaid while placed (value dates from the
placement to the recall), and its commission at the rate agreed at placement, rounded half up to the minor unit
per placement (:func:`commission`).

Rates are exact numerator/denominator pairs with a percentage for people (:class:`arrears.analytics.portfolio.Rate`);
money is
integer minor units.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from arrears.analytics.portfolio import Rate
from arrears.domain.classification import Bucket, bucket_for

NO_ARM = "(no arm)"
_ORDER = list(Bucket)


@dataclass(frozen=True, slots=True)
class PlannedAccount:
    """One account as the period's plans saw it: its arm, borrower, days past due on the first day it was
    planned, and how many actions were planned and refused for it."""

    loan: int
    borrower: int
    arm: str
    first_dpd: int
    planned: int
    refused: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where the account is at the end: days past due at the last day-end and the loan's status."""

    days_past_due: int
    status: str  # open | settled | written_off


@dataclass(frozen=True, slots=True)
class Placed:
    agency: str
    loan: int
    commission_bp: int
    recovered: int  # repaid while placed, within the period


def commission(recovered: int, basis_points: int) -> int:
    """The agency's commission on ``recovered`` minor units at ``basis_points``, rounded half up.

    >>> commission(12_345, 1_800)  # 123.45 x 18% = 22.221
    2222
    >>> commission(25, 2_000)  # 0.25 x 20% = 0.05
    5
    >>> commission(-500, 1_800)  # reversals netted to below zero: the agency owes it back
    -90
    """
    numerator = recovered * basis_points
    sign = -1 if numerator < 0 else 1
    return sign * ((abs(numerator) * 2 + 10_000) // 20_000)


def collections_report(
    first: date,
    last: date,
    accounts: Iterable[PlannedAccount],
    outcomes: Mapping[int, Outcome],
    recovered: Mapping[int, int],
    contacts: Mapping[int, int],
    complaints: Mapping[int, int],
    placements: Iterable[Placed],
) -> dict[str, Any]:
    """The report as JSON-ready data (module docstring). ``recovered`` and ``contacts`` by loan, ``complaints``
    by borrower, all within the period."""
    by_arm: dict[str, list[PlannedAccount]] = defaultdict(list)
    for account in accounts:
        by_arm[account.arm or NO_ARM].append(account)
    arms = {}
    for arm, members in sorted(by_arm.items()):
        cured = [a for a in members if _cured(outcomes.get(a.loan))]
        rolled = [a for a in members if _rolled(a, outcomes.get(a.loan))]
        made = sum(contacts.get(a.loan, 0) for a in members)
        borrowers = {a.borrower for a in members}
        arms[arm] = {
            "accounts": len(members),
            "cure_rate": Rate(len(cured), len(members)).as_json(),
            "roll_rate": Rate(len(rolled), len(members)).as_json(),
            "recovered": sum(recovered.get(a.loan, 0) for a in members),
            "contacts": made,
            "contacts_per_cure": _ratio(made, len(cured)),
            "refusals_per_planned_action": Rate(
                sum(a.refused for a in members), sum(a.planned for a in members)
            ).as_json(),
            "complaints_per_contact": Rate(sum(complaints.get(b, 0) for b in borrowers), made).as_json(),
        }
    agencies: dict[str, dict[str, Any]] = {}
    for placed in placements:
        entry = agencies.setdefault(placed.agency, {"accounts": 0, "recovered": 0, "commission": 0})
        entry["accounts"] += 1
        entry["recovered"] += placed.recovered
        entry["commission"] += commission(placed.recovered, placed.commission_bp)
    return {"from": first.isoformat(), "to": last.isoformat(), "arms": arms, "agencies": dict(sorted(agencies.items()))}


def _cured(outcome: Outcome | None) -> bool:
    if outcome is None:
        return False
    return outcome.status == "settled" or (outcome.status == "open" and outcome.days_past_due == 0)


def _rolled(account: PlannedAccount, outcome: Outcome | None) -> bool:
    if outcome is None or outcome.status == "settled":
        return False
    if outcome.status == "written_off":
        return True
    return _ORDER.index(bucket_for(outcome.days_past_due)) > _ORDER.index(bucket_for(account.first_dpd))


def _ratio(numerator: int, denominator: int) -> str | None:
    """``numerator / denominator`` to two decimals, half up (None when nothing to divide by)."""
    if not denominator:
        return None
    hundredths = (numerator * 200 + denominator) // (2 * denominator)
    return f"{hundredths // 100}.{hundredths % 100:02d}"
