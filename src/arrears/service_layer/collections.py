"""Collections over the store: plan a day once (``arrears collections plan``), record contacts and flags.

**Planning day D** reads every account with something overdue after the store's day-end of D-1, the flags in
force during D and the last seven days of contacts (the caps' reach), runs the columnar planner
(:func:`arrears.collections.planning.plan_batch`, held equal to the scalar reference by tests) and writes, in
one transaction, the day's mark, every planned action (allowed or refused, with the rule) and an outbox row for
each allowed contact. A day is planned once: planning it again returns the stored plan and writes nothing; two
planners racing for a day cannot both write it (the day is the mark's primary key).

Placements and recalls are written with the plan (arrears.adapters.collections_store.write_plan); promises
to pay and complaints are recorded here; the outbox is sent by :mod:`arrears.service_layer.dispatch`.
Each borrower's segment (``borrowers.segment``, ``arrears borrower segment``) is what a rule's ``when.segment``
matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
from sqlalchemy import Connection

from arrears.adapters import collections_store as cs
from arrears.adapters import day_end_store as des
from arrears.adapters import store
from arrears.bureau.pre_notice import PRE_NOTICE
from arrears.collections.planning import agencies_batch, arms_batch, plan_batch
from arrears.collections.policy import PACKS, Channel, PolicyPack, Status
from arrears.collections.promises import MAX_PROMISE_DAYS, PromiseStatus, check_promise
from arrears.collections.strategy import ANY_AGENCY, Action, load_strategy
from arrears.day_end.reference import LoanDayEnds
from arrears.domain.classification import Bucket, bucket_for
from arrears.domain.product import RestrictionScope
from arrears.errors import InputRejected
from arrears.inputs import check_text
from arrears.money import format_minor
from arrears.restrictions.registry import RestrictionRefused, decision_rule
from arrears.service_layer.restriction_records import rules_of
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
        table, replayed = _overdue_accounts(services, connection, closed)
        if des.last_day_end(connection)[0] != last:  # a day-end committed while this read: the read may mix days
            raise PlanRefused(f"the day-end of {day} ran while planning it; plan {day + timedelta(days=1)} instead")
        placed = cs.open_placements(connection)
        accounts = cs.accounts_of(connection, table, day, placed)
        plan = plan_batch(strategy, accounts, day, cs.history(connection, day))
        zones = table.column("timezone").to_pylist()
        arm_names = [arm.name for arm in strategy.rules.arms]
        arms = arms_batch(strategy, accounts.loan).tolist()
        firms = [agency.name for agency in strategy.rules.agencies]
        allocated = agencies_batch(strategy, accounts.loan).tolist()
        dpd, overdue = accounts.days_past_due.tolist(), accounts.overdue.tolist()
        rows = []
        for s, a, r in zip(plan.step.tolist(), plan.account.tolist(), plan.refused.tolist(), strict=True):
            step = plan.steps[s]
            at = None if step.local is None else datetime.combine(day, step.local, tzinfo=ZoneInfo(zones[a]))
            rule = plan.rules[r] if r >= 0 else None
            loan = int(accounts.loan[a])
            agency = None
            if step.step.action is Action.AGENCY_PLACEMENT:
                named = step.step.agency not in (None, ANY_AGENCY)
                agency = step.step.agency if named else firms[allocated[a]]
            elif step.step.action is Action.AGENCY_RECALL:
                agency = placed[loan].agency
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
                    "days_past_due": dpd[a],
                    "overdue": overdue[a],
                    "agency": agency,
                }
            )
        _pre_notices(strategy.pack, day, rows)
        decisions = _restriction_decisions(connection, rows)
        delinquent = set(accounts.loan.tolist())
        # cured: placed, and the day-end (or a replay) found nothing overdue; a quarantined loan is not known
        known = cs.day_ended(connection, closed, [loan for loan in placed if loan not in delinquent]) | replayed
        cured = sorted(loan for loan in placed if loan not in delinquent and loan in known)
        commissions = {agency.name: agency.commission_bp for agency in strategy.rules.agencies}
        cs.write_plan(
            connection,
            day,
            name,
            rows,
            services.clock(),
            jurisdiction=strategy.pack.jurisdiction,
            commissions=commissions,
            placed=placed,
            cured=cured,
            decisions=decisions,
        )
        return _view(day, name, rows, again=False)


def _pre_notices(pack: PolicyPack, day: date, rows: list[dict[str, Any]]) -> None:
    """An allowed ``credit_report_pre_notice`` goes out through the outbox like a contact, by the channel credit
    reporting's rule names (arrears.bureau.pre_notice), at its ``at`` or when the contact window opens; the
    dispatcher checks it like any contact before it goes, and records it sent for credit reporting."""
    rule = PRE_NOTICE[pack.jurisdiction]
    for row in rows:
        if row["action"] != Action.CREDIT_REPORT_PRE_NOTICE or row["decision"] != "allowed":
            continue
        row["channel"] = rule.channel.value
        if row["scheduled"] is None:
            opens = datetime.combine(day, pack.window[0], tzinfo=ZoneInfo(row["timezone"]))
            row["scheduled"] = opens.astimezone(UTC)


RESTRICTING = {
    Action.SUSPEND_DRAWDOWN: RestrictionScope.DRAWDOWN,
    Action.REDUCE_LIMIT: RestrictionScope.LIMIT,
    Action.CLOSE_LINE: RestrictionScope.LINE,
}
"""A strategy's restriction actions and the scope each restricts on the lender's own line."""


def _restriction_decisions(connection: Any, rows: list[dict[str, Any]]) -> list[tuple[int, int, str]]:
    """The plan's allowed restriction actions as decisions through the one registry: each applies the line's
    product ``decision`` rule for its scope (arrears.restrictions.registry.decision_rule), imposed at the day-end; one
    the contract gives no basis for (no such rule, or too few days past due) is refused here with that rule.
    Returns (row index, line, rule name), one per line and rule."""
    wanted = [(i, row) for i, row in enumerate(rows) if row["decision"] == "allowed" and row["action"] in RESTRICTING]
    if not wanted:
        return []
    line_of = store.lines_of_loans(connection, sorted({row["loan_id"] for row in rows}))
    rules = rules_of(connection, sorted({line_of[row["loan_id"]] for _, row in wanted}))
    worst: dict[int, int] = {}  # a rule applies from the line's days past due: its worst loan's, as at the day-end
    for row in rows:
        line = line_of[row["loan_id"]]
        worst[line] = max(worst.get(line, 0), row["days_past_due"])
    decided: dict[tuple[int, str], int] = {}
    for i, row in wanted:
        line = line_of[row["loan_id"]]
        try:
            rule = decision_rule(rules.get(line, ()), RESTRICTING[Action(row["action"])], worst[line])
        except RestrictionRefused as refused:
            row.update(decision="refused", rule=refused.rule, reason=f"{refused.reason} ({refused.source})")
            continue
        decided.setdefault((line, rule.name), i)
    return [(i, line, rule) for (line, rule), i in decided.items()]


def _overdue_accounts(services: Services, connection: Any, closed: date) -> tuple[pa.Table, set[int]]:
    """Every account with something overdue after the day-end of ``closed``: from the day-end's state, and, for
    the few loans a command changed the past of since (their state is forgotten until the next day-end), from
    their events by the reference; and the loans replayed that way."""
    table = cs.delinquent(connection, closed)
    extra = []
    replayed: set[int] = set()
    missing = cs.forgotten(connection, closed)
    events = des.loans_to_rebuild(connection, [loan for loan, _, _ in missing])
    limitation = cs.limitation_dates(connection, [loan for loan, _, _ in missing])
    for loan, borrower, zone in missing:
        terms, loan_events = events[loan]
        try:
            ends = LoanDayEnds(terms, loan_events, services.policy)
            ends.run_through(closed)
        except InputRejected:  # the day-end quarantines it, with the reason; it is not planned either
            continue
        replayed.add(loan)
        overdue = ends.replay.due_total(closed)
        if overdue > 0:
            dpd = ends.replay.days_past_due()
            last_due, last_paid = limitation[loan]
            row = (loan, borrower, dpd, list(Bucket).index(bucket_for(dpd)), overdue, zone, last_due, last_paid)
            extra.append(dict(zip(table.column_names, row, strict=True)))
    if not extra:
        return table, replayed
    merged = pa.concat_tables([table, pa.Table.from_pylist(extra, table.schema)])
    return merged.sort_by("loan_id"), replayed


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
            "agency": row["agency"],
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


def check_agency(connection: Connection, agency: str | None) -> None:
    """An agency named on a contact or a promise is one the lender works with: it holds a token (``arrears token
    create --role agency --agency NAME``) or has had an account placed with it. A name neither gives is a typo or
    a stranger, and would count toward the caps under a name nobody answers for."""
    if agency is None:
        return
    if cs.known_agency(connection, agency):
        return
    raise InputRejected(
        f"no agency {agency[:64]!r} is known: give an agency the lender works with (one with a token, "
        "arrears token create --role agency --agency NAME, or accounts placed with it), or leave --agency out"
    )


def record_contact(
    services: Services,
    *,
    loan_id: int,
    channel: str,
    at: datetime,
    agency: str | None,
    outcome: str | None,
    key: str | None = None,
) -> int:
    """A contact made with a borrower (by a collector or an agency): it counts toward the caps from then on. Once
    per ``key``."""
    try:
        via = Channel(channel)
    except ValueError:
        raise InputRejected(f"unknown channel {channel!r}; use one of {', '.join(c.value for c in Channel)}") from None
    if at.tzinfo is None:
        raise InputRejected("give the contact's time with its offset, e.g. 2026-06-20T14:00+08:00")
    try:
        moment = at.astimezone(UTC)
    except OverflowError:
        raise InputRejected(f"{at.isoformat()} is not a time a contact was made; check the date") from None

    if outcome is not None:
        check_text(outcome, field="the outcome", limit=cs.CONTACT_OUTCOME_MAX)

    def work(connection: Connection, on: date) -> int:
        if abs((moment.date() - on).days) > 366:
            raise InputRejected(f"a contact at {at.isoformat()} is more than a year from the business date {on}")
        loan = store.get_loan(connection, loan_id)
        check_agency(connection, agency)
        zone = ZoneInfo(store.get_borrower(connection, loan.borrower_id).timezone)
        contact = cs.record_contact(
            connection,
            {
                "borrower_id": loan.borrower_id,
                "loan_id": loan_id,
                "channel": via.value,
                "agency": agency,
                "at": moment,  # moments are stored in UTC (SQLite keeps no offset)
                "local_day": moment.astimezone(zone).date(),
                "outcome": outcome,
                "recorded_at": services.clock(),
            },
        )
        services.audit(connection, "collections.contact", f"loan:{loan_id}", {"contact": contact, "channel": channel})
        return contact

    payload = {"loan": loan_id, "channel": channel, "at": at.isoformat(), "agency": agency, "outcome": outcome}
    return int(services.idempotent("collections.contact", key, payload, work))


FLAG_KINDS = (
    *(s.value for s in Status if s is not Status.OPEN_COMPLAINT),  # complaints have their own record
    *(f"opted_out:{c.value}" for c in Channel),
    "automated_consent",
    "validation_notice",
)


def _check_owner(connection: Any, borrower_id: int, loan_id: int | None) -> None:
    """The borrower exists and, when a loan is named, the loan is theirs."""
    store.get_borrower(connection, borrower_id)
    if loan_id is not None and store.get_loan(connection, loan_id).borrower_id != borrower_id:
        raise InputRejected(f"loan {loan_id} is not borrower {borrower_id}'s")


def add_flag(services: Services, *, borrower_id: int, loan_id: int | None, kind: str, since: date, note: str) -> int:
    """A flag planning must respect (a special status, an opt-out, consent, a validation notice sent)."""
    if kind == Status.OPEN_COMPLAINT:
        raise InputRejected(
            "record a complaint with arrears collections complaint open: it pauses collection until resolved"
        )
    if kind not in FLAG_KINDS:
        raise InputRejected(f"unknown flag {kind!r}; use one of {', '.join(FLAG_KINDS)}")
    if not note.strip():
        raise InputRejected("a flag needs a note saying where it comes from (the letter, the call, the court)")
    with services.transaction() as connection:
        _check_owner(connection, borrower_id, loan_id)
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


def record_promise(
    services: Services,
    *,
    loan_id: int,
    amount: int,
    due: date,
    made_on: date,
    agency: str | None,
    max_days: int = MAX_PROMISE_DAYS,
    key: str | None = None,
) -> int:
    """A borrower's promise to pay ``amount`` by ``due``, made on ``made_on`` to the lender or an agency; the
    day-end judges it (arrears.collections.promises). Only an open loan with something overdue takes one."""
    check_promise(amount=amount, made_on=made_on, due=due, max_days=max_days)

    def work(connection: Connection, on: date) -> int:
        loan = store.get_loan(connection, loan_id)
        if loan.status != "open":
            raise InputRejected(f"loan {loan_id} is {loan.status}: there is nothing to promise")
        check_agency(connection, agency)
        promise = cs.record_promise(
            connection,
            {
                "borrower_id": loan.borrower_id,
                "loan_id": loan_id,
                "amount": amount,
                "made_on": made_on,
                "due": due,
                "agency": agency,
                "status": PromiseStatus.LIVE.value,
                "paid": 0,
                "recorded_at": services.clock(),
            },
        )
        details = {"promise": promise, "amount": amount, "due": due.isoformat()}
        services.audit(connection, "collections.promise", f"loan:{loan_id}", details)
        return promise

    payload = {"loan": loan_id, "amount": amount, "due": due, "made_on": made_on, "agency": agency}
    return int(services.idempotent("collections.promise", key, payload, work))


COMPLAINT_CATEGORIES = ("conduct", "contact_frequency", "third_party_contact", "amount", "privacy", "other")
"""Complaint categories: how the collector behaved, how often, anyone but the borrower contacted, the amount
claimed, personal data, anything else (the report counts complaints per contact by arm)."""


def open_complaint(
    services: Services, *, borrower_id: int, loan_id: int | None, received_on: date, category: str, summary: str
) -> int:
    """A complaint received: collection pauses for the borrower (or the one loan) from ``received_on`` until it
    is resolved, as the pack's ``open_complaint`` rule says."""
    if category not in COMPLAINT_CATEGORIES:
        raise InputRejected(f"unknown category {category!r}; use one of {', '.join(COMPLAINT_CATEGORIES)}")
    if not summary.strip():
        raise InputRejected("a complaint needs a summary of what the borrower said")
    with services.transaction() as connection:
        _check_owner(connection, borrower_id, loan_id)
        return cs.record_complaint(
            connection,
            {
                "borrower_id": borrower_id,
                "loan_id": loan_id,
                "received_on": received_on,
                "category": category,
                "summary": summary.strip(),
                "recorded_at": services.clock(),
            },
        )


def resolve_complaint(services: Services, *, complaint_id: int, on: date, resolution: str) -> None:
    """Close a complaint with what was done: collection resumes from ``on``."""
    if not resolution.strip():
        raise InputRejected("say how the complaint was resolved (--resolution)")
    with services.transaction() as connection:
        row = cs.complaint_dates(connection, complaint_id)
        if row is None:
            raise InputRejected(f"no complaint {complaint_id}")
        if row.resolved_on is not None:
            raise InputRejected(f"complaint {complaint_id} was already resolved on {row.resolved_on}")
        if on < row.received_on:
            raise InputRejected(f"complaint {complaint_id} was received on {row.received_on}, after {on}")
        cs.resolve_complaint(connection, complaint_id, on, resolution)


def work_queue(services: Services, day: date, agency: str | None) -> dict[str, Any]:
    """The planned day's accounts and their allowed actions. With ``agency``: only the accounts placed with it
    that day, and for each what the agency must respect: ``stopped_by``, the rule that stops collection of the
    account that day (a status, a complaint: do not contact), and ``calls_left``, the calls the borrower may
    still get that day from anyone (the cap less the calls made by everyone and the lender's calls still
    planned); never another agency's accounts or the lender's plan."""
    with services.reading() as connection:
        jurisdiction = cs.planned_jurisdiction(connection, day)
        if jurisdiction is None:
            raise InputRejected(f"{day} is not planned; run arrears collections plan --date {day} first")
        pack = PACKS[jurisdiction]
        placed = cs.placed_on_day(connection, day)
        plan = cs.plan_of(connection, day)
        calls = cs.calls_on(connection, day)
        waiting = cs.calls_waiting(connection, day)
    cap = pack.daily_caps[Channel.VOICE_CALL][0] if Channel.VOICE_CALL in pack.daily_caps else None
    stops = {rule.name for rule in pack.stops.values()}
    accounts: dict[int, dict[str, Any]] = {}
    for row in plan:
        loan = row["loan_id"]
        if agency is not None and placed.get(loan) != agency:
            continue
        borrower = row["borrower_id"]
        made = calls.get(borrower, 0) + waiting.get(borrower, 0)
        account = accounts.setdefault(
            loan,
            {
                "loan": loan,
                "borrower": borrower,
                "days_past_due": row["days_past_due"],
                "overdue": format_minor(row["overdue"] or 0),
                "agency": placed.get(loan),
                "stopped_by": None,
                "calls_today": calls.get(borrower, 0),
                "calls_left": None if cap is None else max(cap - made, 0),
                "actions": [],
            },
        )
        if row["rule"] in stops:
            account["stopped_by"] = row["rule"]
            account["calls_left"] = 0 if cap is not None else None
        if agency is None and row["decision"] == "allowed":
            account["actions"].append(
                {
                    "action": row["action"],
                    "channel": row["channel"],
                    "scheduled": _local(row["scheduled"], row["timezone"]),
                    "template": row["template"],
                }
            )
    return {"day": day.isoformat(), "agency": agency, "accounts": list(accounts.values())}
