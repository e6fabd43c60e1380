"""The outbox dispatched over the store (SQLite and PostgreSQL): sent once on its day inside the window, kept in the
contact history with its text, retried with backoff through a real signed webhook, dead-lettered, expired when
its day has passed, cancelled by a complaint since the plan, and never doubled by a crash."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_currency
from pypdf import PdfReader
from sqlalchemy import select

from arrears.adapters import collections_store, outbox_store
from arrears.adapters import tables as t
from arrears.adapters.channels import JsonLinesSender, WebhookSender, verify_signature
from arrears.adapters.database import make_engine
from arrears.bureau.pre_notice import PRE_NOTICE, negative_allowed
from arrears.config import Settings
from arrears.service_layer.collections import open_complaint, plan_day, record_contact
from arrears.service_layer.day_end_store import run_store
from arrears.service_layer.dispatch import dispatch
from arrears.service_layer.services import Services
from tests.support.channels import SECRET, Answer, Provider
from tests.support.channels import provider as provider  # the fixture: a real HTTP server on 127.0.0.1
from tests.support.cli import store_with_a_loan
from tests.support.paths import ROOT, STRATEGY
from tests.support.stores import known_agency, one_loan
from tests.support.stores import two_loans_day_ended as _store

DAY = date(2026, 6, 25)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def _planned(url: str) -> tuple[Services, int, int]:
    services, borrower, first = _store(url)
    plan_day(services, DAY, STRATEGY)
    return services, borrower, first


def _outbox(services: Services) -> list[dict[str, Any]]:
    with services.reading() as connection:
        rows = connection.execute(select(t.outbox).order_by(t.outbox.c.id))
        return [dict(row._mapping) for row in rows]


def _contacts(services: Services) -> list[dict[str, Any]]:
    with services.reading() as connection:
        rows = connection.execute(select(t.contacts).order_by(t.contacts.c.id))
        return [dict(row._mapping) for row in rows]


def test_messages_go_out_on_their_day_once_and_join_the_contact_history(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    """Both loans are 9 days past due on 06-25: at 10:00 each gets a text (final_notice), at 10:30 an e-mail
    (hardship_offer); calls at 15:00 and 17:00 (the cap allows three). Dispatching at 10:05 sends the texts
    only; again at 10:05, nothing; at 21:30 the rest has expired (the window closed at 21:00), never sent."""
    services, _, first = _planned(new_database())
    sender = JsonLinesSender(tmp_path / "out.jsonl")
    done = dispatch(services, sender, now=at(10, 5))
    assert (done.sent, done.retried, done.dead, done.expired) == (2, 0, 0, 0)
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(m["channel"], m["loan"], m["template"]) for m in lines] == [
        ("sms", first, "final_notice"),
        ("sms", first + 1, "final_notice"),
    ]
    assert "张三" in lines[0]["text"] and "逾期9天" in lines[0]["text"]
    assert lines[0]["scheduled"] == "2026-06-25T10:00:00+08:00"
    contacts = _contacts(services)
    assert [(c["loan_id"], c["channel"], c["local_day"], c["text"]) for c in contacts] == [
        (m["loan"], "sms", DAY, m["text"]) for m in lines
    ]
    sent = [row for row in _outbox(services) if row["status"] == "sent"]
    assert [row["receipt"] for row in sent] == [m["key"] for m in lines] and {r["sender"] for r in sent} == {"jsonl"}
    assert dispatch(services, sender, now=at(10, 5)).sent == 0  # nothing twice
    late = dispatch(services, sender, now=at(21, 30))
    assert late.sent == 0 and late.expired == len(_outbox(services)) - 2
    reasons = {row["last_error"] for row in _outbox(services) if row["status"] == "expired"}
    assert reasons == {"the contact window closed at 21:00 on 2026-06-25 (borrower local time)"}


def test_a_complaint_since_the_plan_cancels_what_has_not_gone_out(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    services, borrower, _ = _planned(new_database())
    open_complaint(services, borrower_id=borrower, loan_id=None, received_on=DAY, category="conduct", summary="rude")
    done = dispatch(services, JsonLinesSender(tmp_path / "out.jsonl"), now=at(10, 5))
    assert done.sent == 0 and done.cancelled == 2
    assert {row["last_error"] for row in _outbox(services) if row["status"] == "cancelled"} == {
        "the account is marked open_complaint: collection pauses while a complaint is open: "
        "cn.open_complaint (lender policy (2018 公约 S))"
    }
    assert _contacts(services) == []


def test_the_webhook_is_signed_retried_with_backoff_and_dead_lettered(
    new_database: Callable[[], str], provider: Provider
) -> None:
    """503: retried one minute later under the same key; then 202 with the provider's id as the receipt. A
    message the provider refuses (400) is dead at once; one that keeps failing is dead after its attempts."""
    services, _, first = _planned(new_database())
    with WebhookSender(provider.url, SECRET, timeout=5.0) as webhook:
        provider.answer = Answer(status=503, body=b"busy")
        done = dispatch(services, webhook, now=at(10, 5), limit=1)
        assert (done.sent, done.retried) == (0, 1)
        row = _outbox(services)[0]
        assert row["status"] == "pending" and row["attempts"] == 1 and "503" in row["last_error"]
        provider.answer = Answer(status=202, body=b'{"id": "prov-1"}')
        before = dispatch(services, webhook, now=at(10, 5) + timedelta(seconds=30))  # its retry is not due yet
        assert [line["id"] for line in before.lines] == [row["id"] + 1]
        done = dispatch(services, webhook, now=at(10, 6) + timedelta(seconds=30))
        assert [line["id"] for line in done.lines] == [row["id"]] and done.sent == 1
        assert _outbox(services)[0]["receipt"] == "prov-1"
    first_try, *_, retry = [r for r in provider.received if json.loads(r.body)["key"] == f"outbox-{row['id']}"]
    assert first_try.headers["idempotency-key"] == retry.headers["idempotency-key"] == f"outbox-{row['id']}"
    assert json.loads(first_try.body) == json.loads(retry.body)
    stamp, signature = retry.headers["x-arrears-timestamp"], retry.headers["x-arrears-signature"]
    assert verify_signature(SECRET, retry.body, stamp, signature, now=int(stamp))
    assert json.loads(retry.body)["loan"] in (first, first + 1)


def test_refused_and_exhausted_messages_are_dead(new_database: Callable[[], str], provider: Provider) -> None:
    services, _, _ = _planned(new_database())
    with WebhookSender(provider.url, SECRET, timeout=5.0) as webhook:
        provider.answer = Answer(status=400, body=b"unknown borrower")
        done = dispatch(services, webhook, now=at(10, 5), limit=1)
        assert done.dead == 1 and "unknown borrower" in _outbox(services)[0]["last_error"]
        provider.answer = Answer(status=500, body=b"down")
        moment = at(10, 5)
        for attempt in range(1, 4):
            done = dispatch(services, webhook, now=moment, limit=1, max_attempts=3)
            moment += timedelta(minutes=2 ** (attempt - 1), seconds=30)  # the backoff: 1, 2, 4 minutes
        assert done.dead == 1
    second = _outbox(services)[1]
    assert second["status"] == "dead" and second["attempts"] == 3 and second["last_error"].startswith("3 attempts")
    assert _contacts(services) == []


def test_a_crash_after_claiming_neither_loses_nor_doubles_a_message(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    """A dispatcher claims the 10:00 texts and dies before sending. Another run at 10:06 leaves them (the claim
    is fresh); at 10:16 the lease has run out and they go out once each, under their keys."""
    services, _, _ = _planned(new_database())
    with services.transaction() as connection:
        assert len(outbox_store.claim(connection, at(10, 5), 10)) == 2
    sender = JsonLinesSender(tmp_path / "out.jsonl")
    assert dispatch(services, sender, now=at(10, 6)).sent == 0
    done = dispatch(services, sender, now=at(10, 16))
    assert done.sent == 2
    assert len(_contacts(services)) == 2 and {r["attempts"] for r in _outbox(services) if r["status"] == "sent"} == {2}


def test_a_letter_goes_out_as_a_pdf(new_database: Callable[[], str], tmp_path: Path) -> None:
    """The cn strategy writes a final notice letter to accounts 61..90 days past due."""
    url = new_database()
    services, _, _ = _store(url)
    run_store(services, through=date(2026, 8, 15))  # 61 days past due
    plan = plan_day(services, date(2026, 8, 16), STRATEGY)
    assert any(a["action"] == "letter" and a["decision"] == "allowed" for a in plan["actions"])
    done = dispatch(services, JsonLinesSender(tmp_path / "out.jsonl"), now=at(9, 0, date(2026, 8, 16)))
    letters = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    letters = [m for m in letters if m["channel"] == "letter"]
    assert done.sent >= 2 and len(letters) == 2
    pdf = PdfReader(tmp_path / letters[0]["attachment_pdf"])
    assert "张三" in pdf.pages[0].extract_text()


def test_the_cli_dispatches_records_promises_and_complaints(tmp_path: Path) -> None:
    """The commands as an operator types them: plan, dispatch (JSON to stdout while the console channel writes
    elsewhere), a promise, a complaint opened and resolved, the lender's queue; bad input is refused, nothing
    written."""
    _, arrears = store_with_a_loan(tmp_path)
    assert arrears("eod", "run", "--through", "2026-06-24", on="2026-06-25").returncode == 0
    assert arrears("collections", "plan", "--date", "2026-06-25", on="2026-06-25").returncode == 0
    sent = arrears("outbox", "dispatch", "--now", "2026-06-25T10:05+08:00", "--json", on="2026-06-25")
    assert sent.returncode == 0, sent.stderr
    view = json.loads(sent.stdout)
    assert view["sent"] == 1 and view["messages"][0]["outcome"] == "sent"
    assert "sms" in sent.stderr and "outbox-" in sent.stderr  # the console channel's line, kept off the JSON
    again = arrears("outbox", "dispatch", "--now", "2026-06-25T10:05+08:00", on="2026-06-25")
    assert again.returncode == 0 and "sent 0," in again.stdout
    naive = arrears("outbox", "dispatch", "--now", "2026-06-25T10:05", on="2026-06-25")
    assert naive.returncode == 2 and "offset" in naive.stderr
    unknown = arrears("outbox", "dispatch", "--via", "carrier-pigeon", on="2026-06-25")
    assert unknown.returncode == 2 and "jsonl:PATH" in " ".join(unknown.stderr.split())
    promise = arrears(
        "collections", "promise", "1", "--amount", "300.00", "--by", "2026-06-28", "--made-on", "2026-06-25",
        on="2026-06-25",
    )  # fmt: skip
    assert promise.returncode == 0 and "promise 1 recorded" in promise.stdout
    bad = arrears(
        "collections", "promise", "1", "--amount", "300.001", "--by", "2026-06-28", "--made-on", "2026-06-25",
        on="2026-06-25",
    )  # fmt: skip
    assert bad.returncode == 2
    opened = arrears(
        "collections", "complaint", "open", "1", "--category", "conduct", "--received", "2026-06-25",
        "--summary", "rude caller", on="2026-06-25",
    )  # fmt: skip
    assert opened.returncode == 0 and "complaint 1 opened" in opened.stdout
    resolved = arrears(
        "collections", "complaint", "resolve", "1", "--on", "2026-06-26", "--resolution", "apologised",
        on="2026-06-26",
    )  # fmt: skip
    assert resolved.returncode == 0
    queue = arrears("collections", "queue", "--date", "2026-06-25", "--json", on="2026-06-25")
    assert queue.returncode == 0 and json.loads(queue.stdout)["accounts"][0]["loan"] == 1
    unplanned = arrears("collections", "queue", "--date", "2026-06-26", on="2026-06-26")
    assert unplanned.returncode == 2 and "is not planned" in unplanned.stderr


class _Steps:
    """A clock that moves on two minutes each time it is read: a slow channel, without sleeping."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=2)
        return self.now


def test_a_slow_run_never_sends_after_the_window_closes(new_database: Callable[[], str], tmp_path: Path) -> None:
    """A run starting at 20:50 whose every step takes two minutes: what is not out by 21:00 expires; every
    contact recorded is at the moment it went, inside the window."""
    url = new_database()
    _planned(url)
    slow = Services(make_engine(url), Settings(database_url=url), origin="test", clock=_Steps(at(20, 50)))
    done = dispatch(slow, JsonLinesSender(tmp_path / "out.jsonl"))
    assert done.sent >= 1 and done.expired >= 1
    contacts = _contacts(slow)
    assert len(contacts) == done.sent
    local = [_utc(c["at"]).astimezone(SHANGHAI) for c in contacts]
    assert all(moment.time() <= time(21, 0) for moment in local), local


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def test_calls_an_agency_made_since_the_plan_count_at_dispatch(new_database: Callable[[], str], tmp_path: Path) -> None:
    """The plan allowed three calls for the borrower (15:00 and 17:00); an agency then called twice in the
    morning: one lender call goes out, the rest are cancelled by the cap."""
    services, _, first = _planned(new_database())
    known_agency(services, "a")
    for hour in (9, 11):
        record_contact(services, loan_id=first, channel="voice_call", at=at(hour), agency="a", outcome="no_answer")
    sender = JsonLinesSender(tmp_path / "out.jsonl")
    dispatch(services, sender, now=at(15, 5))
    done = dispatch(services, sender, now=at(17, 5))
    calls = [c for c in _contacts(services) if c["channel"] == "voice_call"]
    assert len(calls) == 3  # two by the agency, one by the lender
    cancelled = [r for r in _outbox(services) if r["channel"] == "voice_call" and r["status"] == "cancelled"]
    assert len(cancelled) == 2 and all("cn.voice_calls_per_day" in r["last_error"] for r in cancelled)
    assert done.cancelled >= 1


def test_a_payment_since_the_plan_changes_the_amount_named_or_cancels_when_nothing_is_overdue(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    """Loan 1 pays 10.00 in the morning: its text names what is overdue now (10.00 less than planned); loan 2
    pays everything: its text is cancelled."""
    url = new_database()
    services, _, first = _planned(url)
    planned = {r["loan_id"]: r["overdue"] for r in _plans(services) if r["action"] == "sms"}
    morning = Services(make_engine(url), Settings(database_url=url, business_date=DAY), origin="test")
    morning.repay(loan_id=first, amount=1_000, value_date=DAY, key="morning")
    morning.repay(loan_id=first + 1, amount=planned[first + 1], value_date=DAY, key="all")
    done = dispatch(services, JsonLinesSender(tmp_path / "out.jsonl"), now=at(10, 5))
    sent = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert done.sent == 1 and [m["loan"] for m in sent] == [first]
    assert format_currency(Decimal(planned[first] - 1_000).scaleb(-2), "CNY", locale="zh_CN") in sent[0]["text"]
    reasons = {r["loan_id"]: r["last_error"] for r in _outbox(services) if r["status"] == "cancelled"}
    assert set(reasons) == {first + 1} and "nothing is overdue any more" in reasons[first + 1]


def _plans(services: Services) -> list[dict[str, Any]]:
    with services.reading() as connection:
        return [dict(row._mapping) for row in connection.execute(select(t.collection_plans))]


def test_a_crashed_attempt_found_too_late_is_unconfirmed_and_counted(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    """A dispatcher claims the 10:00 texts and dies mid-send; at 21:10 they may have gone out: unconfirmed and
    kept in the contact history (the caps count them), never sent again; what was never claimed expired."""
    services, _, _ = _planned(new_database())
    with services.transaction() as connection:
        crashed = {c.id for c in outbox_store.claim(connection, at(10, 5), 10)}
    done = dispatch(services, JsonLinesSender(tmp_path / "out.jsonl"), now=at(21, 10))
    assert done.unconfirmed == len(crashed) == 2 and done.sent == 0
    rows = {r["id"]: r["status"] for r in _outbox(services)}
    assert {rows[i] for i in crashed} == {"unconfirmed"}
    assert {s for i, s in rows.items() if i not in crashed} == {"expired"}
    assert [c["outcome"] for c in _contacts(services)] == ["unconfirmed", "unconfirmed"]


def test_pending_messages_count_in_the_next_plans_history(new_database: Callable[[], str]) -> None:
    """A day planned but not yet dispatched: its calls count toward the caps of what is planned next."""
    services, _, _ = _planned(new_database())
    with services.reading() as connection:
        waiting = collections_store.history(connection, DAY)
    assert len(waiting.loan) == len(_outbox(services))


def test_a_validation_notice_sent_is_recorded_so_collection_goes_on(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    """us-default sends the validation notice as a letter at 1 day past due; once it is out, the account's
    validation_notice flag says so (Reg F 1006.34: collection may go on)."""
    services = one_loan(
        new_database(), amount=100_000, name="Jane Roe", phone="2125550100", timezone="America/New_York", language="en"
    ).services
    run_store(services, through=date(2026, 6, 16))
    plan_day(services, date(2026, 6, 17), ROOT / "strategies" / "us-default.toml")
    new_york = ZoneInfo("America/New_York")
    dispatch(services, JsonLinesSender(tmp_path / "out.jsonl"), now=datetime(2026, 6, 17, 9, tzinfo=new_york))
    with services.reading() as connection:
        flags = connection.execute(select(t.account_flags.c.kind, t.account_flags.c.since)).all()
    assert [(f.kind, f.since) for f in flags] == [("validation_notice", date(2026, 6, 17))]


def test_the_credit_report_pre_notice_goes_out_and_is_recorded_for_credit_reporting(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    """cn-default sends the pre-notice at 3 days past due (征信业管理条例 art. 15): by text, through the outbox
    and its checks; once it is out, credit reporting finds it and allows a negative record 7 days later, not
    before."""
    store = one_loan(new_database(), amount=100_000, name="王五", phone="13700137000")
    services, loan = store.services, store.loan
    run_store(services, through=date(2026, 6, 18))
    plan = plan_day(services, date(2026, 6, 19), STRATEGY)
    notice = [a for a in plan["actions"] if a["action"] == "credit_report_pre_notice"]
    assert [(a["channel"], a["template"], a["decision"]) for a in notice] == [("sms", "pre_notice", "allowed")]
    dispatch(services, JsonLinesSender(tmp_path / "out.jsonl"), now=at(10, 5, date(2026, 6, 19)))
    sent = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    pre = [m["text"] for m in sent if m["template"] == "pre_notice"]
    assert len(pre) == 1 and "征信" in pre[0] and "2026年6月26日" in pre[0]  # no negative record before 7 days
    with services.reading() as connection:
        rows = connection.execute(select(t.credit_pre_notices.c.loan_id, t.credit_pre_notices.c.sent_on)).all()
    assert [(r.loan_id, r.sent_on) for r in rows] == [(loan, date(2026, 6, 19))]
    rule = PRE_NOTICE["cn"]
    assert negative_allowed(rule, rows[0].sent_on, date(2026, 6, 26)) is None
    assert negative_allowed(rule, rows[0].sent_on, date(2026, 6, 25)) is not None
