"""Reports over HTTP: the portfolio report of the day-ends' month-end snapshots."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from arrears.access import Permission, authorize
from arrears.analytics.portfolio import portfolio_report, with_decimal_amounts
from arrears.entrypoints.api.deps import Caller, Json, Svc
from arrears.errors import InputRejected
from arrears.service_layer.day_end_store import store_snapshots
from arrears.validation import IsoDate

router = APIRouter(tags=["reports"])
REPORT_DAYS = 731
"""The longest range a portfolio report over HTTP covers (two years of month-ends: 24 roll rates, vintages to 24
months on book); a longer one is the CLI's (``arrears report portfolio``), which may run for minutes."""


@router.get("/reports/portfolio", response_model=dict[str, Any])
def portfolio(
    principal: Caller,
    first: Annotated[IsoDate, Query(alias="from", description="First snapshot day, YYYY-MM-DD")],
    last: Annotated[IsoDate, Query(alias="to", description="Last snapshot day, YYYY-MM-DD")],
    services: Svc,
) -> Json:
    """``arrears report portfolio --json`` over HTTP, amounts as decimal strings: bucket mix, roll rates, cure
    rate, classification mix, non-accrual balance, vintages and first-payment default, from the month-end
    snapshots of the day-ends between ``from`` and ``to`` (:mod:`arrears.analytics.portfolio`)."""
    authorize(principal, Permission.READ_REPORTS)
    if last < first:
        raise InputRejected(f"to {last} is before from {first}; swap them")
    if (last - first).days > REPORT_DAYS:
        raise InputRejected(
            f"a report over HTTP covers at most {REPORT_DAYS} days; ask for a shorter range, or run "
            "arrears report portfolio for a longer one"
        )
    report = portfolio_report(store_snapshots(services, first, last).to_pylist(), first, last)
    return Json(with_decimal_amounts(report))
