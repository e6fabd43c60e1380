"""The store's side of collections: delinquent accounts after a day-end, their flags and contact history as the
columnar planner's arrays, and the plan with its outbox written back (tables.py says what each table holds)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
from sqlalchemy import Connection, case, func, insert, select, update

from arrears.adapters import bulk
from arrears.adapters import tables as t
from arrears.analytics.collections import Outcome, Placed, PlannedAccount
from arrears.collections.planning import CHANNEL_CODES, PROMISES, STATUS_BITS, Accounts, History
from arrears.collections.policy import Channel, Status
from arrears.collections.promises import judge
from arrears.inputs import max_length

_ACCOUNTS = pa.schema(
    [
        pa.field("loan_id", pa.int64()),
        pa.field("borrower_id", pa.int64()),
        pa.field("days_past_due", pa.int32()),
        pa.field("bucket", pa.int8()),
        pa.field("overdue", pa.int64()),
        pa.field("timezone", pa.string()),
        pa.field("last_due", pa.date32()),
        pa.field("last_paid", pa.date32()),
    ]
)


def delinquent(connection: Connection, closed: date) -> pa.Table:
    """Every account with something overdue after day-end ``closed`` (unpaid on installments due by then, less
    held credit), by loan: its borrower, days past due, bucket code, amount overdue, the borrower's zone, the
    last installment's due date and the last repayment's value date (the limitation period runs from the
    later, arrears.collections.policy.time_barred_on)."""
    day = closed.isoformat()
    owed = f"CASE WHEN i.due <= '{day}' THEN i.principal_due + i.interest_due + i.penalty_due + i.compound_due END"
    query = (
        "SELECT s.loan_id, l.borrower_id, s.days_past_due, s.bucket, "
        f"SUM({owed}) - s.unapplied AS overdue, b.timezone, MAX(i.due) AS last_due, "
        "(SELECT MAX(x.value_date) FROM transactions x WHERE x.loan_id = s.loan_id AND x.kind = 'repayment' "
        "AND NOT EXISTS (SELECT 1 FROM transactions r WHERE r.reverses_id = x.id)) AS last_paid "  # reversed: not paid
        "FROM day_end_state s JOIN loans l ON l.id = s.loan_id JOIN borrowers b ON b.id = l.borrower_id "
        "JOIN day_end_installments i ON i.loan_id = s.loan_id "
        f"WHERE s.closed_through = '{day}' "  # nothing due yet: the SUM is NULL and HAVING leaves the loan out
        "GROUP BY s.loan_id, l.borrower_id, s.days_past_due, s.bucket, s.unapplied, b.timezone "
        f"HAVING SUM({owed}) - s.unapplied > 0 ORDER BY s.loan_id"
    )
    return bulk.read(connection, query, _ACCOUNTS)


def day_ended(connection: Connection, closed: date, loans: Sequence[int]) -> set[int]:
    """Of ``loans``, those the day-end of ``closed`` ran (a state as of it) or that are settled."""
    if not loans:
        return set()
    s, loan = t.day_end_state.c, t.loans.c
    stated = connection.execute(select(s.loan_id).where(s.loan_id.in_(loans), s.closed_through == closed)).scalars()
    settled = connection.execute(select(loan.id).where(loan.id.in_(loans), loan.status == "settled")).scalars()
    return set(stated) | set(settled)


def forgotten(connection: Connection, closed: date) -> list[tuple[int, int, str]]:
    """Open loans started by ``closed`` without a day-end state as of it (a command changed their past and the
    next day-end rebuilds them): (loan, borrower, the borrower's zone)."""
    day = closed.isoformat()
    rows = connection.exec_driver_sql(
        "SELECT l.id, l.borrower_id, b.timezone FROM loans l JOIN borrowers b ON b.id = l.borrower_id "
        f"LEFT JOIN day_end_state s ON s.loan_id = l.id AND s.closed_through = '{day}' "
        f"WHERE s.loan_id IS NULL AND l.status = 'open' AND l.start_date <= '{day}' ORDER BY l.id"
    )
    return [(row[0], row[1], row[2]) for row in rows]


@dataclass(frozen=True, slots=True)
class Placement:
    id: int
    agency: str
    placed_on: date


def open_placements(connection: Connection) -> dict[int, Placement]:
    """Accounts placed with an agency and not recalled: by loan."""
    p = t.placements.c
    rows = connection.execute(select(p.id, p.loan_id, p.agency, p.placed_on).where(p.recalled_on.is_(None)))
    return {row.loan_id: Placement(row.id, row.agency, row.placed_on) for row in rows}


def agencies_of_borrower(connection: Connection, borrower: int) -> set[str]:
    """The agencies the borrower's accounts are placed with now."""
    p = t.placements.c
    rows = connection.execute(select(p.agency).where(p.borrower_id == borrower, p.recalled_on.is_(None)))
    return set(rows.scalars())


def recalled_by_strategy(connection: Connection) -> set[int]:
    """Loans the strategy recalled from an agency before (never placed again by it; a cured recall does not count)."""
    p = t.placements.c
    return set(connection.execute(select(p.loan_id).where(p.recall_reason == "strategy").distinct()).scalars())


def promise_states(connection: Connection, day: date, days: int = 30) -> dict[int, str]:
    """Each loan's latest promise to pay made in the ``days`` days before ``day``: its status as the last
    day-end judged it (live, kept, broken); a loan without one is "none"."""
    p = t.promises.c
    rows = connection.execute(
        select(p.loan_id, p.status)
        .where(p.made_on < day, p.made_on >= day - timedelta(days=days))
        .order_by(p.loan_id, p.made_on, p.id)
    )
    return {row.loan_id: row.status for row in rows}  # the last one per loan wins


def accounts_of(
    connection: Connection, table: pa.Table, day: date, placed: dict[int, Placement] | None = None
) -> Accounts:
    """The planner's arrays for ``table``'s accounts, with the flags and complaints in force during ``day``,
    promises to pay as the last day-end judged them, and agency placements (``placed``; read if not given)."""
    count = table.num_rows
    loans = table.column("loan_id").to_numpy()
    borrowers = table.column("borrower_id").to_numpy()
    statuses = np.zeros(count, np.int32)
    opted_out = np.zeros(count, np.int32)
    consent = np.zeros(count, bool)
    validation = np.full(count, -1, np.int32)
    flags = t.account_flags
    rows = connection.execute(
        select(flags.c.borrower_id, flags.c.loan_id, flags.c.kind, flags.c.since).where(
            flags.c.since <= day, (flags.c.until.is_(None)) | (flags.c.until > day)
        )
    )
    by_borrower: dict[int, list[Any]] = {}
    for row in rows:
        by_borrower.setdefault(row.borrower_id, []).append(row)
    c = t.complaints.c
    complaints = connection.execute(
        select(c.borrower_id, c.loan_id, c.received_on.label("since")).where(
            c.received_on <= day, (c.resolved_on.is_(None)) | (c.resolved_on > day)
        )
    )
    for complaint in complaints:  # an open complaint is a status the pack pauses collection under
        by_borrower.setdefault(complaint.borrower_id, []).append(
            _Flag(complaint.loan_id, Status.OPEN_COMPLAINT.value, complaint.since)
        )
    for i in np.flatnonzero(np.isin(borrowers, list(by_borrower))):
        for flag in by_borrower[int(borrowers[i])]:
            if flag.loan_id is not None and flag.loan_id != int(loans[i]):
                continue
            kind = flag.kind
            if kind in Status.__members__.values():
                statuses[i] |= STATUS_BITS[Status(kind)]
            elif kind.startswith("opted_out:"):
                opted_out[i] |= 1 << CHANNEL_CODES[Channel(kind.removeprefix("opted_out:"))]
            elif kind == "automated_consent":
                consent[i] = True
            elif kind == "validation_notice":
                validation[i] = flag.since.toordinal()
    first = _first_contacts(connection, loans)
    b = t.borrowers.c
    segment_of = dict(connection.execute(select(b.id, b.segment).where(b.segment.is_not(None))).all())
    segments = tuple(sorted({"", *segment_of.values()}))
    placed = open_placements(connection) if placed is None else placed
    promises = promise_states(connection, day)
    limitation = np.maximum(_ordinals(table.column("last_due")), _ordinals(table.column("last_paid")))
    return Accounts(
        loan=loans.astype(np.int64),
        borrower=borrowers.astype(np.int64),
        days_past_due=table.column("days_past_due").to_numpy().astype(np.int32),
        bucket=table.column("bucket").to_numpy().astype(np.int8),
        overdue=table.column("overdue").to_numpy().astype(np.int64),
        segment=np.searchsorted(segments, [segment_of.get(int(b), "") for b in borrowers]).astype(np.int32),
        segments=segments,
        promise=np.array([PROMISES.index(promises.get(int(loan), "none")) for loan in loans], np.int8),
        statuses=statuses,
        opted_out=opted_out,
        automated_consent=consent,
        first_contact=first,
        validation_notice_sent=validation,
        placed_on=np.array(
            [placed[loan].placed_on.toordinal() if loan in placed else -1 for loan in loans.tolist()], np.int32
        ),
        limitation_from=limitation.astype(np.int32),
        recalled=np.isin(loans, np.array(sorted(recalled_by_strategy(connection)), np.int64)),
    )


@dataclass(frozen=True, slots=True)
class _Contact:
    borrower_id: int
    loan_id: int
    channel: str
    local_day: date


@dataclass(frozen=True, slots=True)
class _Flag:
    loan_id: int | None
    kind: str
    since: date


def _ordinals(column: pa.ChunkedArray) -> np.ndarray:
    """Date32 days as ordinals (``date.toordinal``), -1 for none."""
    days: np.ndarray = column.cast(pa.int32()).fill_null(-1 - _EPOCH).to_numpy(zero_copy_only=False)
    return days.astype(np.int64) + _EPOCH


_EPOCH = date(1970, 1, 1).toordinal()


def _first_contacts(connection: Connection, loans: np.ndarray) -> np.ndarray:
    c = t.contacts.c
    first = np.full(len(loans), -1, np.int32)
    rows = connection.execute(select(c.loan_id, c.local_day).group_by(c.loan_id, c.local_day).order_by(c.local_day))
    seen: dict[int, int] = {}
    for row in rows:
        seen.setdefault(row.loan_id, row.local_day.toordinal())
    at = np.searchsorted(loans, np.array(list(seen), np.int64))
    for position, (loan, day) in zip(at.tolist(), seen.items(), strict=True):
        if position < len(loans) and loans[position] == loan:
            first[position] = day
    return first


def history(connection: Connection, day: date, days: int = 7) -> History:
    """Contacts in the ``days`` days up to ``day`` (local days): made, by the lender and every agency, and
    planned but not sent yet (waiting in the outbox: a borrower whose day is not over when the next day is
    planned still gets them, so they count toward the caps like the ones made)."""
    c = t.contacts.c
    rows: list[Any] = list(
        connection.execute(
            select(c.borrower_id, c.loan_id, c.channel, c.local_day).where(
                c.local_day > day - timedelta(days=days), c.local_day <= day
            )
        ).all()
    )
    o, b = t.outbox.c, t.borrowers.c
    waiting = connection.execute(
        select(o.borrower_id, o.loan_id, o.channel, o.due_at, b.timezone)
        .join(t.borrowers, b.id == o.borrower_id)
        .where(
            o.status.in_(("pending", "sending")),
            o.due_at > datetime.combine(day - timedelta(days=days + 1), time.min, tzinfo=UTC),
        )
    )
    for row in waiting:
        moment = row.due_at if row.due_at.tzinfo is not None else row.due_at.replace(tzinfo=UTC)
        local = moment.astimezone(ZoneInfo(row.timezone)).date()
        if day - timedelta(days=days) < local <= day:
            rows.append(_Contact(row.borrower_id, row.loan_id, row.channel, local))
    return History(
        np.array([r.borrower_id for r in rows], np.int64),
        np.array([r.loan_id for r in rows], np.int64),
        np.array([CHANNEL_CODES[Channel(r.channel)] for r in rows], np.int8),
        np.array([r.local_day.toordinal() for r in rows], np.int32),
    )


def planned(connection: Connection, day: date) -> str | None:
    """The strategy that planned ``day``, if it was planned."""
    row = connection.execute(select(t.collection_days.c.strategy).where(t.collection_days.c.day == day)).first()
    return None if row is None else str(row.strategy)


def limitation_dates(connection: Connection, loans: Sequence[int]) -> dict[int, tuple[date | None, date | None]]:
    """For a few loans: the last installment's due date and the last repayment's value date."""
    if not loans:
        return {}
    i, x = t.installments.c, t.transactions.c
    reversal = t.transactions.alias("reversal")
    reversed_ = select(reversal.c.id).where(reversal.c.reverses_id == x.id).exists()
    due = dict(
        connection.execute(
            select(i.loan_id, func.max(i.due_date)).where(i.loan_id.in_(loans)).group_by(i.loan_id)
        ).all()
    )
    paid = dict(
        connection.execute(
            select(x.loan_id, func.max(x.value_date))
            .where(x.loan_id.in_(loans), x.kind == "repayment", ~reversed_)
            .group_by(x.loan_id)
        ).all()
    )
    return {loan: (due.get(loan), paid.get(loan)) for loan in loans}


def write_plan(
    connection: Connection,
    day: date,
    strategy: str,
    rows: Sequence[dict[str, Any]],
    now: datetime,
    *,
    jurisdiction: str,
    commissions: dict[str, int],
    placed: dict[int, Placement],
    cured: Sequence[int],
    decisions: Sequence[tuple[int, int, str]] = (),
) -> None:
    """The day's plan in one transaction with the day's mark: every action; an outbox row for each allowed
    contact; a placement for each allowed ``agency_placement`` (at the agency's ``commissions`` rate, basis
    points); the recall of each allowed ``agency_recall`` and of each placed loan in ``cured`` (nothing
    overdue any more); each restriction decision ``(row, line, rule)`` (arrears.restrictions.registry)."""
    mark = {"day": day, "strategy": strategy, "planned_at": now, "jurisdiction": jurisdiction}
    connection.execute(insert(t.collection_days).values(**mark))
    p = t.placements
    for loan in cured:
        recall = update(p).where(p.c.id == placed[loan].id).values(recalled_on=day, recall_reason="cured")
        connection.execute(recall)
    if not rows:
        return
    ids = list(
        connection.execute(
            insert(t.collection_plans).returning(t.collection_plans.c.id, sort_by_parameter_order=True),
            [{"day": day, **{k: v for k, v in row.items() if k != "timezone"}} for row in rows],
        ).scalars()
    )
    placements = []
    for plan_id, row in zip(ids, rows, strict=True):
        if row["decision"] != "allowed":
            continue
        if row["action"] == "agency_placement":
            placements.append(
                {
                    "loan_id": row["loan_id"],
                    "borrower_id": row["borrower_id"],
                    "agency": row["agency"],
                    "commission_bp": commissions[row["agency"]],
                    "placed_on": day,
                    "plan_id": plan_id,
                }
            )
        elif row["action"] == "agency_recall":
            placement = placed[row["loan_id"]].id
            connection.execute(update(p).where(p.c.id == placement).values(recalled_on=day, recall_reason="strategy"))
    if placements:
        connection.execute(insert(p), placements)
    if decisions:  # (row, line, rule): the registry imposes them at the day-end of ``day``
        connection.execute(
            insert(t.restriction_decisions),
            [
                {"line_id": line, "rule": rule, "decided_on": day, "plan_id": ids[row], "recorded_at": now}
                for row, line, rule in decisions
            ],
        )
    outbox = [
        {
            "plan_id": plan_id,
            "borrower_id": row["borrower_id"],
            "loan_id": row["loan_id"],
            "channel": row["channel"],
            "template": row["template"],
            "due_at": row["scheduled"],
            "status": "pending",
            "attempts": 0,
            "created_at": now,
        }
        for plan_id, row in zip(ids, rows, strict=True)
        if row["decision"] == "allowed" and row["channel"] is not None
    ]
    if outbox:
        connection.execute(insert(t.outbox), outbox)


def plan_of(connection: Connection, day: date) -> list[dict[str, Any]]:
    """The stored plan of ``day``, each action with its borrower's zone (``timezone``)."""
    p = t.collection_plans
    statement = (
        select(p, t.borrowers.c.timezone)
        .join(t.borrowers, t.borrowers.c.id == p.c.borrower_id)
        .where(p.c.day == day)
        .order_by(p.c.id)
    )
    return [dict(row._mapping) for row in connection.execute(statement)]


def record_contact(connection: Connection, values: dict[str, Any]) -> int:
    return int(connection.execute(insert(t.contacts).values(**values)).inserted_primary_key[0])  # type: ignore[index]


def add_flag(connection: Connection, values: dict[str, Any]) -> int:
    return int(connection.execute(insert(t.account_flags).values(**values)).inserted_primary_key[0])  # type: ignore[index]


CONTACT_OUTCOME_MAX = max_length(t.contacts.c.outcome)
"""The most characters a contact's outcome keeps."""


def known_agency(connection: Connection, agency: str) -> bool:
    """Whether ``agency`` holds a token or has had an account placed with it."""
    for column in (t.api_tokens.c.agency, t.placements.c.agency):
        if connection.execute(select(column).where(column == agency).limit(1)).first() is not None:
            return True
    return False


class ComplaintDates(NamedTuple):
    """When a complaint was received, and resolved (None while open)."""

    received_on: date
    resolved_on: date | None


def complaint_dates(connection: Connection, complaint_id: int) -> ComplaintDates | None:
    """The dates of complaint ``complaint_id`` (None when there is none)."""
    c = t.complaints
    row = connection.execute(select(c).where(c.c.id == complaint_id)).first()
    return None if row is None else ComplaintDates(row.received_on, row.resolved_on)


def resolve_complaint(connection: Connection, complaint_id: int, on: date, resolution: str) -> None:
    """Record a complaint resolved on ``on`` with what was done."""
    c = t.complaints
    connection.execute(update(c).where(c.c.id == complaint_id).values(resolved_on=on, resolution=resolution))


def judge_promises(connection: Connection, day: date) -> int:
    """After the day-end of ``day``: judge every live promise, and again every judged one of the last
    :data:`PROMISE_LOOKBACK` days (a payment posted late into its days keeps a broken one; a reversal of the
    payment that kept one breaks it) (arrears.collections.promises.judge); returns how many changed status."""
    p, x = t.promises.c, t.transactions
    open_ = connection.execute(
        select(p.id, p.loan_id, p.amount, p.made_on, p.due, p.status, p.paid).where(
            (p.status == "live") | ((p.status != "live") & (p.due >= day - timedelta(days=PROMISE_LOOKBACK)))
        )
    ).all()
    if not open_:
        return 0
    reversal = x.alias("reversal")
    changed = 0
    for promise in open_:
        received = connection.execute(
            select(func.coalesce(func.sum(x.c.amount), 0))
            .select_from(x.outerjoin(reversal, reversal.c.reverses_id == x.c.id))
            .where(
                x.c.loan_id == promise.loan_id,
                x.c.kind == "repayment",
                x.c.value_date >= promise.made_on,
                x.c.value_date <= min(promise.due, day),
                reversal.c.id.is_(None),
            )
        ).scalar_one()
        status = judge(amount=promise.amount, due=promise.due, paid=int(received), day=day)
        if status != promise.status or int(received) != promise.paid:
            connection.execute(
                update(t.promises)
                .where(p.id == promise.id)
                .values(status=status.value, paid=int(received), judged_on=day)
            )
            changed += status != promise.status
    return changed


PROMISE_LOOKBACK = 30
"""Days after its date a judged promise is still judged again (a late-posted payment, a reversal)."""


def record_promise(connection: Connection, values: dict[str, Any]) -> int:
    return int(connection.execute(insert(t.promises).values(**values)).inserted_primary_key[0])  # type: ignore[index]


def record_complaint(connection: Connection, values: dict[str, Any]) -> int:
    return int(connection.execute(insert(t.complaints).values(**values)).inserted_primary_key[0])  # type: ignore[index]


def planned_jurisdiction(connection: Connection, day: date) -> str | None:
    """The policy pack the day was planned under, if it was planned (days planned before it was kept: cn)."""
    row = connection.execute(select(t.collection_days.c.jurisdiction).where(t.collection_days.c.day == day)).first()
    return None if row is None else str(row.jurisdiction or "cn")


def placed_on_day(connection: Connection, day: date) -> dict[int, str]:
    """The agency each loan is placed with during ``day`` (placed by then, not recalled by then)."""
    p = t.placements.c
    rows = connection.execute(
        select(p.loan_id, p.agency).where(p.placed_on <= day, (p.recalled_on.is_(None)) | (p.recalled_on > day))
    )
    return {row.loan_id: row.agency for row in rows}


def calls_waiting(connection: Connection, day: date) -> dict[int, int]:
    """The lender's voice calls planned for ``day`` and not made yet (waiting in the outbox), by borrower."""
    o, p = t.outbox.c, t.collection_plans.c
    rows = connection.execute(
        select(o.borrower_id, func.count())
        .join(t.collection_plans, p.id == o.plan_id)
        .where(p.day == day, o.channel == Channel.VOICE_CALL.value, o.status.in_(("pending", "sending")))
        .group_by(o.borrower_id)
    )
    return {row[0]: int(row[1]) for row in rows}


def calls_on(connection: Connection, day: date) -> dict[int, int]:
    """Voice calls each borrower had on local ``day``, from the lender and every agency."""
    c = t.contacts.c
    rows = connection.execute(
        select(c.borrower_id, func.count())
        .where(c.local_day == day, c.channel == Channel.VOICE_CALL.value)
        .group_by(c.borrower_id)
    )
    return {row[0]: int(row[1]) for row in rows}


def report_inputs(connection: Connection, first: date, last: date) -> dict[str, Any]:
    """What ``arrears report collections`` computes from (arrears.analytics.collections): the accounts planned from
    ``first`` to ``last``, where each is at the store's last day-end, repayments (reversals netted), contacts and
    complaints in the period, and agency placements with what was repaid while placed."""
    p = t.collection_plans.c
    in_period = p.day.between(first, last)
    refused = func.sum(case((p.decision == "refused", 1), else_=0))
    grouped = connection.execute(
        select(p.loan_id, func.min(p.borrower_id), func.min(p.arm), func.min(p.day), func.count(), refused)
        .where(in_period)
        .group_by(p.loan_id)
    ).all()
    first_days = {row[0]: row[3] for row in grouped}
    first_dpd: dict[int, int] = {}
    for row in connection.execute(select(p.loan_id, p.day, p.days_past_due).where(in_period)):
        if row.day == first_days[row.loan_id]:
            first_dpd[row.loan_id] = max(first_dpd.get(row.loan_id, 0), row.days_past_due or 0)
    accounts = [
        PlannedAccount(loan, borrower, arm or "", first_dpd.get(loan, 0), int(planned), int(refusals or 0))
        for loan, borrower, arm, _, planned, refusals in grouped
    ]
    loans = t.loans.c
    state = t.day_end_state.c
    outcomes = {
        row.id: Outcome(int(row.days_past_due or 0), row.status)
        for row in connection.execute(
            select(loans.id, loans.status, state.days_past_due)
            .select_from(t.loans.outerjoin(t.day_end_state, state.loan_id == loans.id))
            .where(loans.id.in_(select(p.loan_id).where(in_period)))
        )
    }
    x, reversal = t.transactions, t.transactions.alias("reversal")
    paid = (
        select(x.c.loan_id, x.c.value_date, x.c.amount)
        .select_from(x.outerjoin(reversal, reversal.c.reverses_id == x.c.id))
        .where(x.c.kind == "repayment", reversal.c.id.is_(None), x.c.value_date.between(first, last))
    )
    repayments = connection.execute(paid).all()
    recovered: dict[int, int] = {}
    for row in repayments:
        recovered[row.loan_id] = recovered.get(row.loan_id, 0) + int(row.amount)
    c = t.contacts.c
    contacts = {
        row[0]: int(row[1])
        for row in connection.execute(
            select(c.loan_id, func.count()).where(c.local_day.between(first, last)).group_by(c.loan_id)
        )
    }
    k = t.complaints.c
    complaints = {
        row[0]: int(row[1])
        for row in connection.execute(
            select(k.borrower_id, func.count()).where(k.received_on.between(first, last)).group_by(k.borrower_id)
        )
    }
    pl = t.placements.c
    by_loan: dict[int, list[Any]] = {}
    for row in repayments:
        by_loan.setdefault(row.loan_id, []).append(row)
    placements = []
    for placement in connection.execute(
        select(pl.agency, pl.loan_id, pl.commission_bp, pl.placed_on, pl.recalled_on)
        .where(pl.placed_on <= last, (pl.recalled_on.is_(None)) | (pl.recalled_on > first))
        .order_by(pl.id)
    ):
        end = placement.recalled_on  # the first day no longer placed
        while_placed = sum(
            int(r.amount)
            for r in by_loan.get(placement.loan_id, ())
            if r.value_date >= placement.placed_on and (end is None or r.value_date < end)
        )
        placements.append(Placed(placement.agency, placement.loan_id, placement.commission_bp, while_placed))
    return {
        "accounts": accounts,
        "outcomes": outcomes,
        "recovered": recovered,
        "contacts": contacts,
        "complaints": complaints,
        "placements": placements,
    }
