"""Machine-readable views of domain results, in the shapes shared/contracts/ pins down.

Amounts are strings with exactly two decimals ("1084.34"), dates ISO ``YYYY-MM-DD``. The CLI prints these
with ``--json``; the REST API (a later issue) returns the same shapes. One place builds each shape.
"""

from __future__ import annotations

from typing import Any

from arrears.domain.disclosure import RateDisclosure
from arrears.domain.loan_state import LoanState
from arrears.domain.payoff import Payoff
from arrears.domain.schedule import Schedule
from arrears.money import format_minor


def schedule_view(schedule: Schedule, disclosure: RateDisclosure | None = None) -> dict[str, Any]:
    """``arrears schedule --json`` (shared/contracts/schedule.schema.json), plus the rate disclosure."""
    view: dict[str, Any] = {
        "installments": [
            {
                "number": row.number,
                "due_date": row.due_date.isoformat(),
                "principal": format_minor(row.principal),
                "interest": format_minor(row.interest),
                "payment": format_minor(row.payment),
            }
            for row in schedule
        ],
        "total_principal": format_minor(schedule.total_principal),
        "total_interest": format_minor(schedule.total_interest),
        "total_payment": format_minor(schedule.total_payment),
    }
    if disclosure is not None:
        view["annualised_rate_irr_percent"] = f"{disclosure.annualised_irr_percent:.2f}"
        view["simple_annual_rate_percent"] = f"{disclosure.simple_annual_percent:.2f}"
    return view


def state_view(state: LoanState) -> dict[str, Any]:
    """``arrears simulate --json`` and ``loan show --json`` (shared/contracts/simulate.schema.json)."""
    overdue = state.overdue
    return {
        "as_of": state.as_of.isoformat(),
        "days_past_due": state.days_past_due,
        "bucket": str(state.bucket),
        "classification": str(state.classification),
        "outstanding_principal": format_minor(state.outstanding_principal),
        "overdue": {
            "principal": format_minor(overdue.principal),
            "interest": format_minor(overdue.interest),
            "penalty": format_minor(overdue.penalty),
            "compound": format_minor(overdue.compound),
            "total": format_minor(overdue.total),
        },
        "installments": [
            {
                "number": row.number,
                "due_date": row.due_date.isoformat(),
                "status": str(row.status),
                "principal": format_minor(row.principal),
                "interest": format_minor(row.interest),
                "penalty": format_minor(row.penalty),
                "compound": format_minor(row.compound),
            }
            for row in state.installments
        ],
        "unapplied": format_minor(state.unapplied),
    }


def payoff_view(payoff: Payoff) -> dict[str, Any]:
    """``arrears payoff --json`` (shared/contracts/payoff.schema.json)."""
    return {
        "on": payoff.on.isoformat(),
        "overdue_and_due": format_minor(payoff.overdue_and_due),
        "current_interest": format_minor(payoff.current_interest),
        "principal_not_yet_due": format_minor(payoff.principal_not_yet_due),
        "total": format_minor(payoff.total),
    }
