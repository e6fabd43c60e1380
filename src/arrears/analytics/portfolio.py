"""Portfolio analytics from day-end snapshots: bucket mix, roll rates (迁徙率), cure rate, classification mix,
non-accrual balance, vintage curves and first-payment default.

Input: the snapshot rows (:data:`arrears.day_end.columns.SNAPSHOT_SCHEMA`) the day-end writes at each month-end (rows
of other days, should any be given, are ignored, so figures never depend on how the day-ends were split into runs).
Rows are plain dicts or an Arrow table's. Every figure is a count of loans or a sum of outstanding principal in
minor units (exact integers); rates are given as numerator and denominator and, for people, as a percentage with
two decimals.

Definitions (shared/RULES.md "Buckets and metrics" for the buckets):

- **bucket mix** on a snapshot day: open loans (not settled) per M-bucket, by count and outstanding principal;
- **roll rate** from bucket i to bucket j: among loans open and in bucket i on one snapshot day, the share in
  bucket j on the next snapshot day, or ``repaid`` if settled by then; counts summed over every pair of
  consecutive snapshot days in the range;
- **cure rate**: among loans overdue (M1 or worse) on one snapshot day, the share current (M0) or repaid on the
  next;
- **classification mix**: open loans per five-category class; **non-accrual balance**: outstanding principal of
  open non-accrual loans;
- **vintage curve** (DPD30+ / DPD90+): for loans drawn in one calendar month (the vintage), the share of them
  30+ (90+) days past due on the month-end that is ``k`` months after the vintage month (months on book, k >= 1);
- **first-payment default** (FPD30): among loans whose first due date is at least 30 days before a snapshot day in
  the range, the share whose first installment was still unpaid and 30+ days past due on the first such snapshot.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

from arrears.domain.classification import Bucket, Classification
from arrears.money import format_minor

BUCKETS = [bucket.value for bucket in Bucket]
CLASSES = [c.value for c in Classification]
REPAID = "repaid"


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def percent(self) -> str:
        if not self.denominator:
            return "-"
        hundredths = (self.numerator * 10_000 * 2 + self.denominator) // (2 * self.denominator)  # half-up
        return f"{hundredths // 100}.{hundredths % 100:02d}"

    def as_json(self) -> dict[str, Any]:
        return {"numerator": self.numerator, "denominator": self.denominator, "percent": self.percent}


def _months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def portfolio_report(rows: Iterable[Mapping[str, Any]], first: date, last: date) -> dict[str, Any]:
    """Every figure of the module docstring for snapshot days from ``first`` to ``last``, as JSON-ready data."""
    by_day: dict[date, dict[str, Mapping[str, Any]]] = defaultdict(dict)
    for row in rows:
        if first <= row["day"] <= last and (row["day"] + timedelta(days=1)).day == 1:
            by_day[row["day"]][row["loan_id"]] = row  # month-ends only, however the runs were split
    days = sorted(by_day)
    mix, classes, non_accrual = [], [], []
    for day in days:
        loans = [row for row in by_day[day].values() if not row["settled"]]
        counts, balances = [0] * len(BUCKETS), [0] * len(BUCKETS)
        class_counts = [0] * len(CLASSES)
        for row in loans:
            counts[row["bucket"]] += 1
            balances[row["bucket"]] += row["outstanding_principal"]
            class_counts[row["classification"]] += 1
        mix.append(
            {
                "day": day.isoformat(),
                "count": dict(zip(BUCKETS, counts, strict=True)),
                "balance": dict(zip(BUCKETS, balances, strict=True)),
            }
        )
        classes.append({"day": day.isoformat(), "count": dict(zip(CLASSES, class_counts, strict=True))})
        non_accrual.append(
            {"day": day.isoformat(), "balance": sum(r["outstanding_principal"] for r in loans if r["non_accrual"])}
        )
    targets = [*BUCKETS, REPAID]
    roll = {source: dict.fromkeys(targets, 0) for source in BUCKETS}
    cured = overdue = 0
    for before_day, after_day in pairwise(days):
        after = by_day[after_day]
        for loan_id, row in by_day[before_day].items():
            if row["settled"] or loan_id not in after:
                continue
            then = after[loan_id]
            target = REPAID if then["settled"] else BUCKETS[then["bucket"]]
            roll[BUCKETS[row["bucket"]]][target] += 1
            if row["bucket"] > 0:
                overdue += 1
                cured += target in (REPAID, BUCKETS[0])
    roll_rates = {
        source: {target: Rate(n, sum(row.values())).as_json() for target, n in row.items()}
        for source, row in roll.items()
    }
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "snapshot_days": [day.isoformat() for day in days],
        "bucket_mix": mix,
        "roll_rates": roll_rates,
        "roll_counts": roll,
        "cure_rate": Rate(cured, overdue).as_json(),
        "classification_mix": classes,
        "non_accrual_balance": non_accrual,
        "vintages": _vintages(by_day, days),
        "first_payment_default": _first_payment_default(by_day, days).as_json(),
    }


def with_decimal_amounts(report: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`portfolio_report` with its amounts (the bucket mix's and the non-accrual balances, sums of outstanding
    principal in minor units) as decimal strings, the way every client of the API reads money: 350000 becomes
    ``"3500.00"``. Counts and rates are left as they are. (Snapshots carry no currency: the figures assume a
    portfolio in one currency, as the report itself does.)"""
    return {
        **report,
        "bucket_mix": [
            {**day, "balance": {bucket: format_minor(minor) for bucket, minor in day["balance"].items()}}
            for day in report["bucket_mix"]
        ],
        "non_accrual_balance": [
            {**day, "balance": format_minor(day["balance"])} for day in report["non_accrual_balance"]
        ],
    }


def _vintages(by_day: Mapping[date, Mapping[str, Mapping[str, Any]]], days: list[date]) -> dict[str, Any]:
    curves: dict[str, dict[int, list[int]]] = defaultdict(dict)
    for day in days:
        for row in by_day[day].values():
            mob = _months_between(row["start"], day)
            if mob < 1:
                continue
            cell = curves[f"{row['start']:%Y-%m}"].setdefault(mob, [0, 0, 0])
            cell[0] += 1
            cell[1] += row["days_past_due"] >= 30
            cell[2] += row["days_past_due"] >= 90
    return {
        vintage: {
            "months_on_book": sorted(cells),
            "dpd30_plus": [Rate(cells[m][1], cells[m][0]).as_json() for m in sorted(cells)],
            "dpd90_plus": [Rate(cells[m][2], cells[m][0]).as_json() for m in sorted(cells)],
        }
        for vintage, cells in sorted(curves.items())
    }


def _first_payment_default(by_day: Mapping[date, Mapping[str, Mapping[str, Any]]], days: list[date]) -> Rate:
    judged: dict[str, bool] = {}
    for day in days:
        for loan_id, row in by_day[day].items():
            if loan_id in judged or (day - row["first_due"]).days < 30:
                continue
            judged[loan_id] = bool(row["first_installment_open"]) and row["days_past_due"] >= 30
    return Rate(sum(judged.values()), len(judged))
