"""``arrears strategy``: collection strategies, checked against their jurisdiction's policy pack before use."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from arrears.collections.outbox import MAX_ATTEMPTS
from arrears.collections.policy import PACKS
from arrears.collections.strategy import StrategyRefused, check_strategy
from arrears.entrypoints.bootstrap import open_sender, open_services
from arrears.errors import InputRejected
from arrears.money import parse_amount
from arrears.service_layer.collections import (
    COMPLAINT_CATEGORIES,
    add_flag,
    open_complaint,
    plan_day,
    record_contact,
    record_promise,
    resolve_complaint,
    work_queue,
)
from arrears.service_layer.dispatch import dispatch
from arrears.validation import date_option

collections_app = typer.Typer(help="Collections (催收): the day's plan, contacts made, flags.", no_args_is_help=True)
DEFAULT_STRATEGY = Path(__file__).resolve().parents[4] / "strategies" / "cn-default.toml"

strategy_app = typer.Typer(
    help="Collection strategies (催收策略) and the policy packs they run under.", no_args_is_help=True
)


@strategy_app.command("check")
def strategy_check(
    path: Annotated[Path, typer.Argument(help="A strategy TOML file (see strategies/).")],
    as_json: Annotated[bool, typer.Option("--json", help="shared/contracts/strategy-check.schema.json")] = False,
) -> None:
    """Check a strategy: well-formed, and nothing its jurisdiction forbids (an action outside the lender's
    product or past the borrower, a time outside the contact window, more attempts than a cap). Exits 2 with
    every violation (rule, source, where, message), 0 for a lawful file."""
    strategy, violations = check_strategy(path)
    if as_json:
        view = {"ok": True} if strategy is not None else {"ok": False, "violations": [v.as_json() for v in violations]}
        sys.stdout.write(json.dumps(view, ensure_ascii=False, indent=2) + "\n")
    elif strategy is not None:
        rules = strategy.rules
        sys.stdout.write(
            f"{path}: lawful under the {strategy.pack.jurisdiction} pack ({strategy.pack.title}): "
            f"{len(rules.rules)} rules, {len(rules.arms)} arms\n"
        )
    else:
        for v in violations:
            sys.stdout.write(f"{v.where}: {v.message}\n    rule {v.rule} ({v.source})\n")
    if strategy is None:
        raise SystemExit(2)


@strategy_app.command("policy")
def strategy_policy(
    jurisdiction: Annotated[str, typer.Argument(help="cn or us.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the pack's rules as JSON.")] = False,
) -> None:
    """List a policy pack's rules: each with its name, what it requires, its source, and whom it binds by law
    and whom by the lender's own policy."""
    pack = PACKS.get(jurisdiction)
    if pack is None:
        raise InputRejected(f"no policy pack {jurisdiction!r}; use one of {', '.join(sorted(PACKS))}")
    rules = [
        {"name": r.name, "text": r.text, "source": r.source, "lender": str(r.lender), "agency": str(r.agency)}
        for r in pack.all_rules()
    ]
    if as_json:
        sys.stdout.write(json.dumps({"jurisdiction": pack.jurisdiction, "rules": rules}, ensure_ascii=False) + "\n")
        return
    for r in rules:
        sys.stdout.write(
            f"{r['name']}: {r['text']}\n    {r['source']}; lender: {r['lender']}, agencies: {r['agency']}\n"
        )


@collections_app.command("plan")
def collections_plan(
    on: Annotated[str, typer.Option("--date", help="The day to plan, YYYY-MM-DD (after the day-end before it).")],
    strategy: Annotated[
        Path | None, typer.Option("--strategy", help="Strategy TOML (default: ARREARS_STRATEGY, else the sample).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print every planned action as JSON.")] = False,
) -> None:
    """Plan day D for every account with something overdue after the day-end of D-1: each action of the strategy,
    allowed or refused with the rule, written with its outbox in one transaction. A day is planned once."""
    path = strategy or Path(os.environ.get("ARREARS_STRATEGY", str(DEFAULT_STRATEGY)))
    try:
        view = plan_day(open_services(), date_option(on, "--date"), path)
    except StrategyRefused as error:
        raise InputRejected(f"{path}: the strategy is refused: {error}") from None
    if as_json:
        sys.stdout.write(json.dumps(view, ensure_ascii=False, indent=2) + "\n")
        return
    again = " (already planned: the stored plan)" if view["already_planned"] else ""
    sys.stdout.write(
        f"{view['day']} with {view['strategy']}{again}: {view['allowed']} actions allowed, {view['refused']} refused\n"
    )
    for action in view["actions"]:
        if action["decision"] == "refused":
            sys.stdout.write(
                f"  refused: loan {action['loan']} {action['action']} at {action['scheduled']}: rule {action['rule']}\n"
            )


@collections_app.command("contact")
def collections_contact(
    loan_id: Annotated[int, typer.Argument(help="The loan the contact was about.")],
    channel: Annotated[str, typer.Option(help="sms, voice_call, in_app_notice, email or letter.")],
    at: Annotated[str, typer.Option("--at", help="When, with its offset: 2026-06-20T14:00+08:00.")],
    agency: Annotated[str | None, typer.Option(help="The agency that made it (default: the lender).")] = None,
    outcome: Annotated[str | None, typer.Option(help="connected, no_answer, promise, refused, ...")] = None,
) -> None:
    """Record a contact made (by a collector or an agency): it counts toward the caps from then on."""
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        raise InputRejected(f"--at {at!r} is not a date-time; write it like 2026-06-20T14:00+08:00") from None
    contact = record_contact(
        open_services(), loan_id=loan_id, channel=channel, at=moment, agency=agency, outcome=outcome
    )
    sys.stdout.write(f"contact {contact} recorded\n")


@collections_app.command("flag")
def collections_flag(
    borrower_id: Annotated[int, typer.Argument(help="The borrower.")],
    kind: Annotated[str, typer.Option(help="A status (deceased, bankruptcy, ...), opted_out:CHANNEL, ...")],
    since: Annotated[str, typer.Option(help="From this day, YYYY-MM-DD.")],
    note: Annotated[str, typer.Option(help="Where it comes from (the letter, the call, the court).")],
    loan: Annotated[int | None, typer.Option(help="Only this loan (default: every loan of the borrower).")] = None,
) -> None:
    """Record what planning must respect: a special status that stops collection, an opted-out channel,
    consent to automated contact, a validation notice sent."""
    flag = add_flag(
        open_services(),
        borrower_id=borrower_id,
        loan_id=loan,
        kind=kind,
        since=date_option(since, "--since"),
        note=note,
    )
    sys.stdout.write(f"flag {flag} recorded\n")


outbox_app = typer.Typer(help="The outbox: planned messages, sent through a channel.", no_args_is_help=True)


@outbox_app.command("dispatch")
def outbox_dispatch(
    via: Annotated[
        str,
        typer.Option(help="console, jsonl:PATH, or an http(s):// webhook (signed with ARREARS_WEBHOOK_SECRET)."),
    ] = "console",
    now: Annotated[
        str | None, typer.Option(help="Send what is due by this moment, with its offset (default: the clock).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many messages.")] = None,
    max_attempts: Annotated[int, typer.Option(min=1, help="Dead-letter after this many attempts.")] = MAX_ATTEMPTS,
    as_json: Annotated[bool, typer.Option("--json", help="Print what happened to each message as JSON.")] = False,
) -> None:
    """Send the planned messages that are due: each checked again just before it goes (its day, the window, a
    status since the plan), rendered in the borrower's language, sent once under its idempotency key, kept in
    the contact history; retried with backoff, dead-lettered after --max-attempts."""
    moment = None
    if now is not None:
        try:
            moment = datetime.fromisoformat(now)
        except ValueError:
            raise InputRejected(f"--now {now!r} is not a date-time; write it like 2026-06-25T15:00+08:00") from None
        if moment.tzinfo is None:
            raise InputRejected("--now needs its offset, e.g. 2026-06-25T15:00+08:00")
    sender = open_sender(via, secret=os.environ.get("ARREARS_WEBHOOK_SECRET"))
    try:
        if as_json:  # the console channel writes to stdout: keep the JSON alone there
            with contextlib.redirect_stdout(sys.stderr):
                done = dispatch(open_services(), sender, now=moment, limit=limit, max_attempts=max_attempts)
        else:
            done = dispatch(open_services(), sender, now=moment, limit=limit, max_attempts=max_attempts)
    finally:
        sender.close()
    if as_json:
        sys.stdout.write(json.dumps(done.as_json(), ensure_ascii=False, indent=2) + "\n")
        return
    sys.stdout.write(
        f"sent {done.sent}, retrying {done.retried}, dead {done.dead}, expired {done.expired}, "
        f"cancelled {done.cancelled}\n"
    )
    for line in done.lines:
        if line["outcome"] != "sent":
            sys.stdout.write(
                f"  outbox {line['id']} (loan {line['loan']}, {line['channel']}): {line['outcome']}: {line['detail']}\n"
            )


@collections_app.command("promise")
def collections_promise(
    loan_id: Annotated[int, typer.Argument(help="The loan the promise is for.")],
    amount: Annotated[str, typer.Option(help="The amount promised, e.g. 300.00.")],
    by: Annotated[str, typer.Option(help="The day it is promised by, YYYY-MM-DD.")],
    made_on: Annotated[str, typer.Option("--made-on", help="The day it was made, YYYY-MM-DD.")],
    agency: Annotated[str | None, typer.Option(help="The agency it was made to (default: the lender).")] = None,
) -> None:
    """Record a promise to pay: the day-end judges it kept (paid since it was made) or broken (its day passed)."""
    promise = record_promise(
        open_services(),
        loan_id=loan_id,
        amount=parse_amount(amount, field="--amount"),
        due=date_option(by, "--by"),
        made_on=date_option(made_on, "--made-on"),
        agency=agency,
    )
    sys.stdout.write(f"promise {promise} recorded\n")


complaint_app = typer.Typer(help="Complaints: intake and resolution (an open one pauses collection).")
collections_app.add_typer(complaint_app, name="complaint")


@complaint_app.command("open")
def complaint_open(
    borrower_id: Annotated[int, typer.Argument(help="The borrower who complained.")],
    category: Annotated[str, typer.Option(help=", ".join(COMPLAINT_CATEGORIES))],
    received: Annotated[str, typer.Option(help="The day it was received, YYYY-MM-DD.")],
    summary: Annotated[str, typer.Option(help="What the borrower said.")],
    loan: Annotated[int | None, typer.Option(help="Only this loan (default: every loan of the borrower).")] = None,
) -> None:
    """Record a complaint: collection pauses for the borrower (or the loan) until it is resolved."""
    complaint = open_complaint(
        open_services(),
        borrower_id=borrower_id,
        loan_id=loan,
        received_on=date_option(received, "--received"),
        category=category,
        summary=summary,
    )
    sys.stdout.write(f"complaint {complaint} opened: collection paused until it is resolved\n")


@complaint_app.command("resolve")
def complaint_resolve(
    complaint_id: Annotated[int, typer.Argument(help="The complaint.")],
    on: Annotated[str, typer.Option("--on", help="The day it was resolved, YYYY-MM-DD.")],
    resolution: Annotated[str, typer.Option(help="What was done.")],
) -> None:
    """Resolve a complaint: collection resumes from that day."""
    resolve_complaint(open_services(), complaint_id=complaint_id, on=date_option(on, "--on"), resolution=resolution)
    sys.stdout.write(f"complaint {complaint_id} resolved\n")


@collections_app.command("queue")
def collections_queue(
    on: Annotated[str, typer.Option("--date", help="The planned day, YYYY-MM-DD.")],
    agency: Annotated[
        str | None, typer.Option(help="An agency's view: only the accounts placed with it (and nothing else).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the queue as JSON.")] = False,
) -> None:
    """The day's work: every allowed action of the plan; with --agency, only the accounts placed with that
    agency on that day, as the agency may see them."""
    view = work_queue(open_services(), date_option(on, "--date"), agency)
    if as_json:
        sys.stdout.write(json.dumps(view, ensure_ascii=False, indent=2, default=str) + "\n")
        return
    who = f"agency {agency}" if agency else "the lender"
    sys.stdout.write(f"{view['day']} for {who}: {len(view['accounts'])} accounts\n")
    for account in view["accounts"]:
        sys.stdout.write(
            f"  loan {account['loan']}: {account['days_past_due']} days past due, overdue {account['overdue']}"
            f"{', placed with ' + account['agency'] if account['agency'] else ''}\n"
        )
