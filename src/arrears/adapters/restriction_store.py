"""The restrictions registry in the store: ``restrictions`` (each restriction as recorded) and its append-only
history ``restriction_events`` (tables.py says what each column means; arrears/restrictions/registry.py the rules).

Nothing here decides anything: :func:`apply` writes the :class:`arrears.restrictions.registry.Change` s the domain
computed, each with the business date it is recorded on and its cause.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from arrears.adapters import tables as t
from arrears.restrictions.registry import Change, ChangeKind, Recorded

_r = t.restrictions


def _recorded(row: Any) -> Recorded:
    return Recorded(row.id, row.rule, row.since, row.days_past_due, row.limit_minor, row.lifted_on, row.clean_from)


def recorded_of_line(connection: Connection, line_id: int) -> list[Recorded]:
    """Every restriction of the line the registry holds, withdrawn ones left out, oldest first."""
    return recorded_of_lines(connection, [line_id]).get(line_id, [])


def recorded_of_lines(connection: Connection, line_ids: Sequence[int], chunk: int = 5000) -> dict[int, list[Recorded]]:
    """:func:`recorded_of_line` for many lines, by line."""
    found: dict[int, list[Recorded]] = {}
    for start in range(0, len(line_ids), chunk):
        rows = connection.execute(
            select(_r)
            .where(_r.c.line_id.in_(line_ids[start : start + chunk]), _r.c.withdrawn_on.is_(None))
            .order_by(_r.c.line_id, _r.c.since, _r.c.id)
        )
        for row in rows:
            found.setdefault(row.line_id, []).append(_recorded(row))
    return found


def has_in_force(connection: Connection, line_id: int) -> bool:
    """Whether the line has a restriction not lifted (what a posting may lift)."""
    statement = select(_r.c.id).where(_r.c.line_id == line_id, _r.c.lifted_on.is_(None), _r.c.withdrawn_on.is_(None))
    return connection.execute(statement.limit(1)).first() is not None


def in_force(connection: Connection) -> dict[int, list[Recorded]]:
    """Every line's restrictions not lifted, by line (what the day-end carries on)."""
    rows = connection.execute(
        select(_r).where(_r.c.lifted_on.is_(None), _r.c.withdrawn_on.is_(None)).order_by(_r.c.line_id, _r.c.id)
    )
    lines: dict[int, list[Recorded]] = {}
    for row in rows:
        lines.setdefault(row.line_id, []).append(_recorded(row))
    return lines


def history(connection: Connection, line_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The lines' restrictions, each with its events in the order they were recorded."""
    rows = connection.execute(select(_r).where(_r.c.line_id.in_(line_ids)).order_by(_r.c.line_id, _r.c.since, _r.c.id))
    restrictions = {row.id: {**row._mapping, "events": []} for row in rows}
    events = connection.execute(
        select(t.restriction_events)
        .where(t.restriction_events.c.line_id.in_(line_ids))
        .order_by(t.restriction_events.c.id)
    )
    for event in events:
        restrictions[event.restriction_id]["events"].append(dict(event._mapping))
    return list(restrictions.values())


def apply(
    connection: Connection,
    changes: Iterable[tuple[int, Change, str]],
    recorded_on: date,
    now: datetime,
    clean: Mapping[int, date | None] = {},
) -> int:
    """Write ``changes`` (line id, change, cause) recorded on business date ``recorded_on``, and the new
    ``clean_from`` of restrictions in force; returns how many changes were written."""
    changes = list(changes)
    imposed = [(line_id, change, cause) for line_id, change, cause in changes if change.kind is ChangeKind.IMPOSED]
    ids: dict[int, int] = {}  # id() of an imposed Restriction -> its new row id
    if imposed:
        rows = []
        for line_id, change, cause in imposed:
            restriction = change.restriction
            assert restriction is not None  # an imposition carries what it imposes
            rows.append(
                {
                    "line_id": line_id,
                    "rule": restriction.rule.name,
                    "scope": restriction.rule.scope.value,
                    "legal_basis": restriction.rule.legal_basis,
                    "since": restriction.since,
                    "days_past_due": restriction.days_past_due,
                    "limit_minor": restriction.limit,
                    "clean_from": None,
                    "imposed_by": cause,
                    "recorded_on": recorded_on,
                }
            )
        returned = connection.execute(insert(_r).returning(_r.c.id, sort_by_parameter_order=True), rows).scalars()
        ids = {id(change.restriction): row_id for (_, change, _), row_id in zip(imposed, returned, strict=True)}
    events, lifted, reinstated, withdrawn = [], [], [], []
    for line_id, change, cause in changes:
        row_id = ids[id(change.restriction)] if change.recorded is None else change.recorded
        events.append(
            {
                "restriction_id": row_id,
                "line_id": line_id,
                "kind": change.kind.value,
                "effective_on": change.effective_on,
                "recorded_on": recorded_on,
                "cause": cause,
                "created_at": now,
            }
        )
        if change.kind is ChangeKind.LIFTED:
            lifted.append({"row_id": row_id, "on": change.effective_on})
        elif change.kind is ChangeKind.REINSTATED:
            reinstated.append({"row_id": row_id, "on": None})
        elif change.kind is ChangeKind.WITHDRAWN:
            withdrawn.append({"row_id": row_id, "on": recorded_on})
    for column, values in (("lifted_on", lifted), ("lifted_on", reinstated), ("withdrawn_on", withdrawn)):
        if values:
            statement = update(_r).where(_r.c.id == bindparam("row_id")).values({column: bindparam("on")})
            connection.execute(statement, values)
    if clean:
        statement = update(_r).where(_r.c.id == bindparam("row_id")).values(clean_from=bindparam("on"))
        connection.execute(statement, [{"row_id": row_id, "on": day} for row_id, day in clean.items()])
    if events:
        connection.execute(insert(t.restriction_events), events)
    return len(changes)


def start_clean_runs(connection: Connection, clean_from: Mapping[int, date | None]) -> None:
    """Set ``clean_from`` on every restriction still in force of each line (after a reconciliation)."""
    if not clean_from:
        return
    statement = (
        update(_r)
        .where(_r.c.line_id == bindparam("line"), _r.c.lifted_on.is_(None), _r.c.withdrawn_on.is_(None))
        .values(clean_from=bindparam("on"))
    )
    connection.execute(statement, [{"line": line_id, "on": day} for line_id, day in clean_from.items()])


def lines_posted_after(connection: Connection, day: date) -> dict[int, date]:
    """Lines with a transaction or a review posted on a business date after ``day`` (commands ahead of the
    day-end), with the latest such date."""
    tx = t.transactions
    posted = (
        select(t.loans.c.line_id, func.max(tx.c.business_date))
        .join(tx, tx.c.loan_id == t.loans.c.id)
        .where(tx.c.business_date > day)
        .group_by(t.loans.c.line_id)
    )
    reviews = t.line_reviews
    reviewed = (
        select(reviews.c.line_id, func.max(reviews.c.reviewed_on))
        .where(reviews.c.reviewed_on > day)
        .group_by(reviews.c.line_id)
    )
    found: dict[int, date] = {}
    for line_id, last in [*connection.execute(posted), *connection.execute(reviewed)]:
        found[line_id] = max(found.get(line_id, last), last)
    return found
