"""Hardship plans in the store (``hardship_plans``): the rows :mod:`arrears.service_layer.hardship` reads and
writes. Every function takes the caller's connection and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from arrears.adapters import tables as t

UNDECIDED = ("requested", "proposed")
"""The states a decision may still change."""


@dataclass(frozen=True, slots=True)
class PlanRecord:
    """One hardship plan as stored: the request, the proposed terms (JSON) and the decision."""

    id: int
    loan_id: int
    status: str
    requested_on: date | None
    reason: str | None
    terms: str | None
    maker: str | None
    proposed_on: date | None
    concession: int | None
    checker: str | None
    checker_role: str | None
    decided_on: date | None
    decision_note: str | None
    recorded_at: datetime


def _record(row: Any) -> PlanRecord:
    return PlanRecord(**row._mapping)


def add_plan(connection: Connection, **values: Any) -> int:
    """Insert a plan; its id."""
    return int(connection.execute(insert(t.hardship_plans).values(**values)).inserted_primary_key[0])  # type: ignore[index]


def plan(connection: Connection, plan_id: int) -> PlanRecord | None:
    """The plan ``plan_id`` (None when there is none)."""
    row = connection.execute(select(t.hardship_plans).where(t.hardship_plans.c.id == plan_id)).first()
    return None if row is None else _record(row)


def update_plan(connection: Connection, plan_id: int, **values: Any) -> None:
    """Change a plan's columns, whatever its state (the caller checked it)."""
    connection.execute(update(t.hardship_plans).where(t.hardship_plans.c.id == plan_id).values(**values))


def decide(connection: Connection, plan_id: int, **values: Any) -> bool:
    """Record a decision only if the plan is still undecided; False when someone decided it meanwhile."""
    p = t.hardship_plans.c
    done = connection.execute(update(t.hardship_plans).where(p.id == plan_id, p.status.in_(UNDECIDED)).values(**values))
    return bool(done.rowcount == 1)


def plans(connection: Connection, loan_id: int | None = None, status: str | None = None) -> list[PlanRecord]:
    """The plans, newest first, optionally of one loan or in one status."""
    p = t.hardship_plans.c
    query = select(t.hardship_plans).order_by(p.id.desc())
    if loan_id is not None:
        query = query.where(p.loan_id == loan_id)
    if status is not None:
        query = query.where(p.status == status)
    return [_record(row) for row in connection.execute(query).all()]
