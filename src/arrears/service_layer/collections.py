"""Collections over the store: plan a day once (``arrears collections plan``), record contacts and flags.

**Planning day D** reads every account with something overdue after the store's day-end of D-1, the flags in
force during D and the last seven days of contacts (the caps' reach), runs the columnar planner
(:func:`arrears.collections.planning.plan_batch`, held equal to the scalar reference by tests) and writes, in
one transaction, the day's mark, every planned action (allowed or refused, with the rule) and an outbox row for
each allowed contact. A day is planned once: planning it again returns the stored plan and writes nothing; two
planners racing for a day cannot both write it (the day is the mark's primary key).

Not built yet (issue 6): dispatching the outbox through channels, templates, promises to pay, agencies'
placements, segments.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from arrears.adapters import collections_store as cs
from arrears.adapters import day_end_store as des
from arrears.adapters import store
from arrears.classification import Bucket, bucket_for
from arrears.collections.planning import arms_batch, plan_batch
from arrears.collections.policy import Channel, Status
from arrears.collections.strategy import load_strategy
from arrears.dayend import LoanDayEnds
from arrears.errors import InputRejected
from arrears.service_layer.services import Services


class PlanRefused(InputRejected):
    pass


def plan_day(services: Services, day: date, strategy_path: Path) -> dict[str, Any]:
    """Plan ``day`` with the strategy in ``strategy_path`` (module docstring); returns the plan."""
    strategy = load_strategy(strategy_path)
    name = strategy.rules.strategy.name
    with services.transaction() as connection:
        already = cs.planned(connection, day)
        if already is not None:
            return _view(day, already, cs.plan_of(connection, day), again=True)
        closed = day - timedelta(days=1)
        last, _ = des.last_day_end(connection)
        if last is None or last < closed:
            raise PlanRefused(
                f"planning {day} needs the day-end of {closed}; the store's last day-end is "
                f"{last or 'none'}: run arrears eod run --through {closed} first"
            )
        if last > closed:  # the state is kept for the last day-end only
            raise PlanRefused(f"{day} can no longer be planned: the store has run the day-end of {last} since")
        table = _overdue_accounts(services, connection, closed)
        if des.last_day_end(connection)[0] != last:  # a day-end committed while this read: the read may mix days
            raise PlanRefused(f"the day-end of {day} ran while planning it; plan {day + timedelta(days=1)} instead")
        accounts = cs.accounts_of(connection, table, day)
        plan = plan_batch(strategy, accounts, day, cs.history(connection, day))
        zones = table.column("timezone").to_pylist()
        arm_names = [arm.name for arm in strategy.rules.arms]
        arms = arms_batch(strategy, accounts.loan).tolist()
        rows = []
        for s, a, r in zip(plan.step.tolist(), plan.account.tolist(), plan.refused.tolist(), strict=True):
            step = plan.steps[s]
            at = None if step.local is None else datetime.combine(day, step.local, tzinfo=ZoneInfo(zones[a]))
            rule = plan.rules[r] if r >= 0 else None
            rows.append(
                {
                    "timezone": zones[a],
                    "loan_id": int(accounts.loan[a]),
                    "borrower_id": int(accounts.borrower[a]),
                    "action": step.step.action.value,
                    "channel": step.channel.value if step.channel else None,
                    "scheduled": None if at is None else at.astimezone(UTC),  # stored in UTC, shown local
                    "template": step.step.template,
                    "arm": arm_names[arms[a]] if arms[a] >= 0 else None,
                    "strategy_rule": step.rule_name,
                    "decision": "refused" if rule else "allowed",
                    "rule": rule.name if rule else None,
                    "reason": rule.text if rule else None,
                }
            )
        cs.write_plan(connection, day, name, rows, services.clock())
        return _view(day, name, rows, again=False)


def _overdue_accounts(services: Services, connection: Any, closed: date) -> pa.Table:
    """Every account with something overdue after the day-end of ``closed``: from the day-end's state, and, for
    the few loans a command changed the past of since (their state is forgotten until the next day-end), from
    their events by the reference."""
    table = cs.delinquent(connection, closed)
    extra = []
    missing = cs.forgotten(connection, closed)
    events = des.loans_to_rebuild(connection, [loan for loan, _, _ in missing])
    for loan, borrower, zone in missing:
        terms, loan_events = events[loan]
        try:
            ends = LoanDayEnds(terms, loan_events, services.policy)
            ends.run_through(closed)
        except InputRejected:  # the day-end quarantines it, with the reason; it is not planned either
            continue
        overdue = ends.replay.due_total(closed)
        if overdue > 0:
            dpd = ends.replay.days_past_due()
            row = (loan, borrower, dpd, list(Bucket).index(bucket_for(dpd)), overdue, zone)
            extra.append(dict(zip(table.column_names, row, strict=True)))
    if not extra:
        return table
    merged = pa.concat_tables([table, pa.Table.from_pylist(extra, table.schema)])
    return merged.sort_by("loan_id")


def _view(day: date, strategy: str, rows: Sequence[dict[str, Any]], again: bool) -> dict[str, Any]:
    actions = [
        {
            "loan": row["loan_id"],
            "borrower": row["borrower_id"],
            "action": row["action"],
            "channel": row["channel"],
            "scheduled": _local(row["scheduled"], row["timezone"]),
            "template": row["template"],
            "arm": row["arm"],
            "strategy_rule": row["strategy_rule"],
            "decision": row["decision"],
            "rule": row["rule"],
            "reason": row["reason"],
        }
        for row in rows
    ]
    refused = sum(1 for a in actions if a["decision"] == "refused")
    return {
        "day": day.isoformat(),
        "strategy": strategy,
        "already_planned": again,
        "allowed": len(actions) - refused,
        "refused": refused,
        "actions": actions,
    }


def _local(moment: datetime | None, zone: str) -> str | None:
    """A stored moment in the borrower's zone, with its offset (SQLite gives it back without one: UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(zone)).isoformat()


def record_contact(
    services: Services,
    *,
    loan_id: int,
    channel: str,
    at: datetime,
    agency: str | None,
    outcome: str | None,
) -> int:
    """A contact made with a borrower (by a collector or an agency): it counts toward the caps from then on."""
    try:
        via = Channel(channel)
    except ValueError:
        raise InputRejected(f"unknown channel {channel!r}; use one of {', '.join(c.value for c in Channel)}") from None
    with services.transaction() as connection:
        loan = store.get_loan(connection, loan_id)
        zone = ZoneInfo(store.get_borrower(connection, loan.borrower_id)["timezone"])
        if at.tzinfo is None:
            raise InputRejected("give the contact's time with its offset, e.g. 2026-06-20T14:00+08:00")
        return cs.record_contact(
            connection,
            {
                "borrower_id": loan.borrower_id,
                "loan_id": loan_id,
                "channel": via.value,
                "agency": agency,
                "at": at,
                "local_day": at.astimezone(zone).date(),
                "outcome": outcome,
                "recorded_at": services.clock(),
            },
        )


FLAG_KINDS = (
    *(s.value for s in Status),
    *(f"opted_out:{c.value}" for c in Channel),
    "automated_consent",
    "validation_notice",
)


def add_flag(services: Services, *, borrower_id: int, loan_id: int | None, kind: str, since: date, note: str) -> int:
    """A flag planning must respect (a special status, an opt-out, consent, a validation notice sent)."""
    if kind not in FLAG_KINDS:
        raise InputRejected(f"unknown flag {kind!r}; use one of {', '.join(FLAG_KINDS)}")
    if not note.strip():
        raise InputRejected("a flag needs a note saying where it comes from (the letter, the call, the court)")
    with services.transaction() as connection:
        store.get_borrower(connection, borrower_id)
        if loan_id is not None and store.get_loan(connection, loan_id).borrower_id != borrower_id:
            raise InputRejected(f"loan {loan_id} is not borrower {borrower_id}'s")
        return cs.add_flag(
            connection,
            {
                "borrower_id": borrower_id,
                "loan_id": loan_id,
                "kind": kind,
                "since": since,
                "note": note.strip(),
                "recorded_at": services.clock(),
            },
        )
