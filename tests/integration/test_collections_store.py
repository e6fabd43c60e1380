"""Planning a day of collections over the store (SQLite and PostgreSQL): the accounts overdue after the day-end,
caps that count the agencies' contacts, flags that stop collection, the plan and its outbox written once."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from arrears.adapters import tables as t
from arrears.adapters.database import make_engine
from arrears.config import Settings
from arrears.errors import InputRejected
from arrears.service_layer.collections import add_flag, open_complaint, plan_day, record_contact
from arrears.service_layer.day_end_store import run_store
from arrears.service_layer.services import Services
from tests.support.cli import store_with_a_loan
from tests.support.paths import STRATEGY
from tests.support.stores import SHANGHAI, known_agency
from tests.support.stores import two_loans_day_ended as _store


def test_a_day_is_planned_once_with_its_outbox_and_caps_that_count_the_agencies(
    new_database: Callable[[], str],
) -> None:
    """After the day-end of 06-24 both loans are 9 days past due: the strategy's "mid" rule asks for a text, an
    e-mail and two calls a loan at 15:00 and 17:00. An agency already called twice on 06-25, so of the four
    calls the borrower's two loans ask for, one is allowed (3 a day) and three are refused by the cap."""
    services, _borrower, first = _store(new_database())
    day = date(2026, 6, 25)
    known_agency(services, "agency-a")
    for hour in (9, 11):
        at = datetime(2026, 6, 25, hour, tzinfo=SHANGHAI)
        record_contact(services, loan_id=first, channel="voice_call", at=at, agency="agency-a", outcome="no_answer")
    plan = plan_day(services, day, STRATEGY)
    assert plan["already_planned"] is False
    calls = [
        (a["loan"], a["scheduled"], a["decision"], a["rule"]) for a in plan["actions"] if a["action"] == "voice_call"
    ]
    assert [decision for _, _, decision, _ in calls] == ["allowed", "refused", "refused", "refused"]
    assert {rule for _, _, _, rule in calls[1:]} == {"cn.voice_calls_per_day"}
    assert calls[0][1] == "2026-06-25T15:00:00+08:00"  # the borrower's local time, with its offset
    assert {a["action"] for a in plan["actions"]} >= {"sms", "email", "voice_call"}
    with services.reading() as connection:
        planned = connection.execute(select(func.count()).select_from(t.collection_plans)).scalar_one()
        outbox = connection.execute(select(func.count()).select_from(t.outbox)).scalar_one()
    assert planned == len(plan["actions"]) and outbox == plan["allowed"]
    again = plan_day(services, day, STRATEGY)
    assert again["already_planned"] is True and again["actions"] == plan["actions"]
    with services.reading() as connection:
        assert connection.execute(select(func.count()).select_from(t.outbox)).scalar_one() == outbox


def test_a_special_status_stops_everything_and_a_day_needs_its_day_end(new_database: Callable[[], str]) -> None:
    services, borrower, first = _store(new_database())
    with pytest.raises(InputRejected, match="needs the day-end of 2026-06-25"):
        plan_day(services, date(2026, 6, 26), STRATEGY)
    with pytest.raises(InputRejected, match="complaint open"):
        add_flag(services, borrower_id=borrower, loan_id=None, kind="open_complaint", since=date(2026, 6, 25), note="x")
    open_complaint(
        services, borrower_id=borrower, loan_id=None, received_on=date(2026, 6, 25), category="conduct", summary="rude"
    )
    plan = plan_day(services, date(2026, 6, 25), STRATEGY)
    assert plan["allowed"] == 0 and {a["rule"] for a in plan["actions"]} == {"cn.open_complaint"}
    with pytest.raises(InputRejected, match="unknown flag"):
        add_flag(services, borrower_id=borrower, loan_id=None, kind="frozen_wechat", since=date(2026, 6, 25), note="x")
    with pytest.raises(InputRejected, match="with its offset"):
        record_contact(services, loan_id=first, channel="sms", at=datetime(2026, 6, 25, 9), agency=None, outcome=None)


def test_the_cli_plans_the_day(tmp_path: Path) -> None:
    _, arrears = store_with_a_loan(tmp_path)
    assert arrears("eod", "run", "--through", "2026-06-24", on="2026-06-25").returncode == 0
    done = arrears("collections", "plan", "--date", "2026-06-25", "--json", on="2026-06-25")
    assert done.returncode == 0, done.stderr
    view = json.loads(done.stdout)
    assert view["day"] == "2026-06-25" and view["allowed"] >= 3
    early = arrears("collections", "plan", "--date", "2026-06-27", on="2026-06-25")
    assert early.returncode == 2 and "run arrears eod run --through 2026-06-26" in early.stderr


def test_a_loan_changed_in_the_past_today_is_still_planned_and_a_replaced_day_is_refused(
    new_database: Callable[[], str],
) -> None:
    """A backdated payment posted on 06-25 forgets loan 2's day-end state (the next day-end rebuilds it): the
    plan of 06-25 still takes it, from its events. Once the day-end of 06-25 has run, 06-25 can no longer be
    planned (its state is gone): refused, nothing written."""
    url = new_database()
    services, _, first = _store(url)
    today = Services(make_engine(url), Settings(database_url=url, business_date=date(2026, 6, 25)), origin="test")
    today.repay(loan_id=first + 1, amount=100, value_date=date(2026, 6, 20), key="late")
    plan = plan_day(services, date(2026, 6, 25), STRATEGY)
    assert sorted({a["loan"] for a in plan["actions"]}) == [first, first + 1]
    run_store(services, through=date(2026, 6, 26))
    with pytest.raises(InputRejected, match="can no longer be planned"):
        plan_day(services, date(2026, 6, 26), STRATEGY)
    with services.reading() as connection:
        days = connection.execute(select(t.collection_days.c.day)).scalars().all()
    assert days == [date(2026, 6, 25)]
