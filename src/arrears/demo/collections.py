"""The demo's collections days: after the portfolio is imported into the store, the store runs on for a few
business days, and each day does what a lender's collections does: the day-end, the day's plan (every action
allowed or refused with its rule), borrowers answering (promises to pay, payments), the outbox sent (to a
JSON-lines file, each text kept in the contact history), then the champion/challenger report over the days.

Borrowers' behaviour is drawn from a seeded generator, so two runs print the same; a day already planned (the
demo run again on the same store) is not acted on twice: its plan is read back and nothing more is posted.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from arrears.access import Role
from arrears.analytics.html import render_collections
from arrears.entrypoints.bootstrap import open_sender, open_services
from arrears.money import format_minor
from arrears.service_layer import tokens
from arrears.service_layer.collections import open_complaint, plan_day, record_contact, record_promise
from arrears.service_layer.day_end_store import run_store
from arrears.service_layer.demo_queries import collections_accounts
from arrears.service_layer.dispatch import dispatch
from arrears.service_layer.reads import collections_figures

PROMISE_SHARE = 0.06  # of the accounts planned, those who promise to pay that day
KEEP_SHARE = 0.6  # of the promises, those kept
PAY_SHARE = 0.04  # of the accounts planned, those who simply pay what is overdue


def run_days(console: Console, first: date, days: int, strategy: Path, out: Path, seed: int) -> None:
    """Collections over ``days`` business days from ``first`` (module docstring)."""
    out.mkdir(parents=True, exist_ok=True)
    sender = open_sender(f"jsonl:{out / 'outbox.jsonl'}", secret=None)
    rng = random.Random(seed)
    table = Table(title="collections, day by day (arrears collections plan / outbox dispatch)")
    for column in ("day", "accounts", "allowed", "refused", "refused by", "sent", "cancelled", "promises", "paid"):
        table.add_column(column, justify="left" if column in ("day", "refused by") else "right")
    promised: list[tuple[date, int, int]] = []  # (by, loan, amount): kept ones are paid on their day
    for offset in range(days):
        day = first + timedelta(days=offset)
        services = open_services(business_date=day)
        run_store(services, through=day - timedelta(days=1))
        fresh, accounts = collections_accounts(services, day)
        if fresh and offset == 0:
            _first_morning(console, services, day, accounts)
        plan = plan_day(services, day, strategy)
        refusals = Counter(a["rule"] for a in plan["actions"] if a["rule"])
        promises = paid = 0
        if fresh:  # borrowers answer: some promise, some pay; promises kept are paid on their day
            for account in accounts:
                draw = rng.random()
                if draw < PROMISE_SHARE:
                    by = day + timedelta(days=rng.randint(1, 3))
                    record_promise(
                        services,
                        loan_id=account["loan_id"],
                        amount=account["overdue"],
                        due=by,
                        made_on=day,
                        agency=None,
                    )
                    promises += 1
                    if rng.random() < KEEP_SHARE:
                        promised.append((by, account["loan_id"], account["overdue"]))
                elif draw < PROMISE_SHARE + PAY_SHARE:
                    services.repay(
                        loan_id=account["loan_id"],
                        amount=account["overdue"],
                        value_date=day,
                        key=f"demo-pay-{day}-{account['loan_id']}",
                    )
                    paid += 1
            for _, loan, amount in [p for p in promised if p[0] == day]:
                services.repay(loan_id=loan, amount=amount, value_date=day, key=f"demo-promise-{day}-{loan}")
                paid += 1
        done = dispatch(services, sender, now=datetime.combine(day, time(20, 55), tzinfo=ZoneInfo("Asia/Shanghai")))
        table.add_row(
            day.isoformat(),
            str(len({a["loan"] for a in plan["actions"]})),
            str(plan["allowed"]),
            str(plan["refused"]),
            ", ".join(f"{rule} {n}" for rule, n in refusals.most_common(3)),
            str(done.sent),
            str(done.cancelled),
            str(promises),
            str(paid),
        )
    console.print()
    console.print(table)
    console.print(f"every message sent is in {out / 'outbox.jsonl'} and in the contact history (contacts)")
    last = first + timedelta(days=days - 1)
    services = open_services(business_date=last)
    run_store(services, through=last)
    report = collections_figures(services, first, last)
    (out / "collections.html").write_text(render_collections(report, "zh"), encoding="utf-8")
    console.print(f"\n[bold]arrears report collections --from {first} --to {last}[/] ({out / 'collections.html'})")
    for arm, figures in report["arms"].items():
        console.print(
            f"  {arm}: {figures['accounts']} accounts, cured {figures['cure_rate']['percent']}%, "
            f"rolled {figures['roll_rate']['percent']}%, recovered {format_minor(figures['recovered'])}, "
            f"contacts per cure {figures['contacts_per_cure'] or '-'}, "
            f"refused {figures['refusals_per_planned_action']['percent']}% of planned actions"
        )
    for agency, figures in report["agencies"].items():
        console.print(
            f"  agency {agency}: {figures['accounts']} accounts placed, "
            f"recovered {format_minor(figures['recovered'])}, commission {format_minor(figures['commission'])}"
        )


def _first_morning(console: Console, services: Any, day: date, accounts: list[dict[str, Any]]) -> None:
    """An agency called one account twice this morning; another borrower complained: the plan must respect
    both (the call cap counts the agency's calls; a complaint pauses collection)."""
    late = sorted((a for a in accounts if a["days_past_due"] >= 8), key=lambda a: a["loan_id"])
    if len(late) < 2:
        return
    called, complained = late[0], late[1]
    zone = ZoneInfo(called["timezone"])
    # the lender works with the agency: it holds a token
    tokens.issue(services, role=Role.AGENCY, borrower=None, agency="huaxia-collect", label="demo")
    for hour in (9, 11):
        at = datetime.combine(day, time(hour), tzinfo=zone)
        record_contact(
            services,
            loan_id=called["loan_id"],
            channel="voice_call",
            at=at,
            agency="huaxia-collect",
            outcome="no_answer",
        )
    open_complaint(
        services,
        borrower_id=complained["borrower_id"],
        loan_id=None,
        received_on=day,
        category="contact_frequency",
        summary="demo: too many calls",
    )
    console.print(
        f"\n{day}: huaxia-collect called loan {called['loan_id']} twice this morning; "
        f"borrower {complained['borrower_id']} has an open complaint"
    )
