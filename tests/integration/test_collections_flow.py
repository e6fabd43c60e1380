"""Collections across days over the store (SQLite and PostgreSQL): promises to pay judged by the day-end and acted on
by the plan, agencies placed once and recalled, an agency's view of only its accounts, complaints that pause
collection until resolved."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from arrears.adapters import collections_store
from arrears.adapters import tables as t
from arrears.errors import InputRejected
from arrears.service_layer.collections import (
    open_complaint,
    plan_day,
    record_promise,
    resolve_complaint,
    work_queue,
)
from arrears.service_layer.day_end_store import run_store
from arrears.service_layer.services import Services
from tests.support.paths import SAMPLE_PRODUCT, STRATEGY
from tests.support.stores import one_loan
from tests.support.stores import services_on as _on
from tests.support.stores import two_loans_day_ended as _store


def _promises(services: Services) -> list[tuple[int, str, int]]:
    with services.reading() as connection:
        rows = connection.execute(select(t.promises).order_by(t.promises.c.id))
        return [(row.loan_id, row.status, row.paid) for row in rows]


def _actions(plan: dict[str, Any], loan: int) -> list[tuple[str, str | None]]:
    return [
        (a["action"], a["scheduled"][11:16] if a["scheduled"] else None) for a in plan["actions"] if a["loan"] == loan
    ]


def test_promises_are_judged_at_day_end_pause_reminders_and_a_broken_one_escalates(
    new_database: Callable[[], str],
) -> None:
    """On 06-25 (9 days past due) the borrower promises 300.00 on loan 1 and 200.00 on loan 2 by 06-28. Loan 1
    pays 300.00 on 06-27: kept at that day-end. Loan 2 pays 100.00: broken at the day-end of 06-28, and the plan
    of 06-29 calls it in the evening too (rule broken-promise). While live, texts and calls pause (promise_pauses) and a
    follow-up is planned. The other 100.00, dated 06-28 and posted late on 06-30, turns the broken promise kept."""
    url = new_database()
    services, _, first = _store(url)
    second = first + 1
    day = date(2026, 6, 25)
    for loan, amount in ((first, 30_000), (second, 20_000)):
        record_promise(services, loan_id=loan, amount=amount, due=date(2026, 6, 28), made_on=day, agency=None)
    with pytest.raises(InputRejected, match="hardship plan"):
        record_promise(services, loan_id=first, amount=100, due=day + timedelta(days=31), made_on=day, agency=None)
    with pytest.raises(InputRejected, match="above zero"):
        record_promise(services, loan_id=first, amount=0, due=day, made_on=day, agency=None)
    run_store(services, through=day)
    live = plan_day(services, date(2026, 6, 26), STRATEGY)
    assert sorted({action for action, _ in _actions(live, first)}) == ["email", "promise_to_pay_followup"]
    _on(url, date(2026, 6, 27)).repay(loan_id=first, amount=30_000, value_date=date(2026, 6, 27), key="p1")
    _on(url, date(2026, 6, 27)).repay(loan_id=second, amount=10_000, value_date=date(2026, 6, 27), key="p2")
    run_store(services, through=date(2026, 6, 27))
    assert _promises(services) == [(first, "kept", 30_000), (second, "live", 10_000)]
    run_store(services, through=date(2026, 6, 28))
    assert _promises(services) == [(first, "kept", 30_000), (second, "broken", 10_000)]
    broken = plan_day(services, date(2026, 6, 29), STRATEGY)
    assert ("voice_call", "18:30") in _actions(broken, second)
    assert ("voice_call", "18:30") not in _actions(broken, first)
    _on(url, date(2026, 6, 30)).repay(loan_id=second, amount=10_000, value_date=date(2026, 6, 28), key="late")
    run_store(services, through=date(2026, 6, 30))
    assert _promises(services)[1] == (second, "kept", 20_000)


def test_agencies_place_once_see_only_their_accounts_and_recall(new_database: Callable[[], str]) -> None:
    """At 61 days past due both loans are placed (cn-default: 60/40 across two agencies, by loan hash), once;
    an agency's queue holds only its accounts; 30 days later they are recalled (rule agency-recall); a loan
    paid up while placed is recalled as cured."""
    url = new_database()
    services, _, first = _store(url)
    run_store(services, through=date(2026, 8, 15))
    plan = plan_day(services, date(2026, 8, 16), STRATEGY)
    placements = {a["loan"]: a["agency"] for a in plan["actions"] if a["action"] == "agency_placement"}
    assert set(placements) == {first, first + 1}
    for loan, agency in placements.items():
        view = work_queue(services, date(2026, 8, 16), agency)
        mine = {account["loan"] for account in view["accounts"]}
        assert loan in mine and mine == {k for k, v in placements.items() if v == agency}
        assert all(account["actions"] == [] for account in view["accounts"])  # the lender's plan is not theirs
        assert view["accounts"][0]["calls_left"] == 3 and view["accounts"][0]["stopped_by"] is None
    assert work_queue(services, date(2026, 8, 16), "someone-else")["accounts"] == []
    run_store(services, through=date(2026, 8, 16))
    again = plan_day(services, date(2026, 8, 17), STRATEGY)
    assert not [a for a in again["actions"] if a["action"] == "agency_placement"]
    # loan 2 is paid up on 08-20: recalled as cured at the next plan
    paid_up = _on(url, date(2026, 8, 20)).repay(
        loan_id=first + 1, amount=200_000, value_date=date(2026, 8, 20), key="all"
    )
    assert paid_up["outstanding_principal"] == "0.00", paid_up
    run_store(services, through=date(2026, 8, 20))
    plan_day(services, date(2026, 8, 21), STRATEGY)
    run_store(services, through=date(2026, 9, 14))
    recall = plan_day(services, date(2026, 9, 15), STRATEGY)
    recalled = [(a["loan"], a["agency"]) for a in recall["actions"] if a["action"] == "agency_recall"]
    assert recalled == [(first, placements[first])]
    with services.reading() as connection:
        rows = connection.execute(select(t.placements).order_by(t.placements.c.loan_id)).all()
    assert [(r.loan_id, r.recalled_on, r.recall_reason) for r in rows] == [
        (first, date(2026, 9, 15), "strategy"),
        (first + 1, date(2026, 8, 21), "cured"),
    ]
    assert {r.commission_bp for r in rows} <= {1800, 2200}


def test_a_complaint_pauses_collection_until_resolved(new_database: Callable[[], str]) -> None:
    services, borrower, first = _store(new_database())
    complaint = open_complaint(
        services, borrower_id=borrower, loan_id=first, received_on=date(2026, 6, 25), category="conduct", summary="x"
    )
    with pytest.raises(InputRejected, match="unknown category"):
        open_complaint(
            services, borrower_id=borrower, loan_id=None, received_on=date(2026, 6, 25), category="a", summary="x"
        )
    paused = plan_day(services, date(2026, 6, 25), STRATEGY)
    assert {a["rule"] for a in paused["actions"] if a["loan"] == first} == {"cn.open_complaint"}
    assert {a["decision"] for a in paused["actions"] if a["loan"] == first + 1} == {"allowed"}  # only that loan
    with pytest.raises(InputRejected, match="received on 2026-06-25"):
        resolve_complaint(services, complaint_id=complaint, on=date(2026, 6, 24), resolution="called back")
    resolve_complaint(services, complaint_id=complaint, on=date(2026, 6, 26), resolution="apologised; calls reduced")
    with pytest.raises(InputRejected, match="already resolved"):
        resolve_complaint(services, complaint_id=complaint, on=date(2026, 6, 26), resolution="again")
    run_store(services, through=date(2026, 6, 25))
    resumed = plan_day(services, date(2026, 6, 26), STRATEGY)
    assert {a["decision"] for a in resumed["actions"] if a["loan"] == first} == {"allowed"}


def test_a_reversed_payment_neither_keeps_a_promise_nor_restarts_the_limitation(
    new_database: Callable[[], str],
) -> None:
    """A promise kept by a payment whose reversal comes later is broken at the next day-end; and the reversed
    payment is no payment for the limitation period (民法典 art. 195 needs a real one)."""
    url = new_database()
    services, _, first = _store(url)
    day = date(2026, 6, 25)
    record_promise(services, loan_id=first, amount=10_000, due=date(2026, 6, 28), made_on=day, agency=None)
    paid = _on(url, day).repay(loan_id=first, amount=10_000, value_date=day, key="p")
    run_store(services, through=day)
    assert _promises(services) == [(first, "kept", 10_000)]
    _on(url, date(2026, 6, 26)).reverse(transaction_id=paid["transaction_id"], key="back")
    run_store(services, through=date(2026, 6, 28))
    assert _promises(services) == [(first, "broken", 0)]
    with services.reading() as connection:
        accounts = collections_store.delinquent(connection, date(2026, 6, 28)).to_pylist()
    assert {a["loan_id"]: a["last_paid"] for a in accounts}[first] is None


def test_segments_in_the_store_drive_a_strategys_when_segment(new_database: Callable[[], str], tmp_path: Path) -> None:
    url = new_database()
    services, borrower, first = _store(url)
    strategy = tmp_path / "segments.toml"
    strategy.write_text(
        '[strategy]\nname = "segments"\njurisdiction = "cn"\n\n'
        '[[rules]]\nwhen = { dpd_min = 1, segment = "salaried" }\n'
        'actions = [ { action = "sms", template = "reminder", at = "12:00" } ]\n\n'
        '[[rules]]\nwhen = { dpd_min = 1 }\nactions = [ { action = "email", template = "reminder", at = "10:00" } ]\n',
        encoding="utf-8",
    )
    with pytest.raises(InputRejected, match="not a segment name"):
        services.set_segment(borrower_id=borrower, segment="Salaried People")
    services.set_segment(borrower_id=borrower, segment="salaried")
    plan = plan_day(services, date(2026, 6, 25), strategy)
    assert sorted({a["action"] for a in plan["actions"] if a["loan"] == first}) == ["email", "sms"]
    services.set_segment(borrower_id=borrower, segment="")
    run_store(services, through=date(2026, 6, 25))
    plan = plan_day(services, date(2026, 6, 26), strategy)
    assert sorted({a["action"] for a in plan["actions"] if a["loan"] == first}) == ["email"]


def test_a_strategys_restriction_goes_through_the_registry_as_the_contract_allows(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    """A product whose contract lets the lender lower the limit from 5 days past due when collections decide it
    (trigger = "decision"): the plan of 06-25 decides it, the day-end of 06-25 imposes it in the registry, and
    the borrower's standing names it. The sample product has no such clause: the same action is refused with
    restriction.no_contract_basis, and nothing reaches the registry."""
    product = tmp_path / "decided.toml"
    product.write_text(
        SAMPLE_PRODUCT.read_text(encoding="utf-8")
        + '\n[[restrictions]]\nname = "lower_by_decision"\nscope = "limit"\ntrigger = "decision"\n'
        'dpd_at_least = 5\nlift = "good_standing"\ngood_standing_days = 30\n'
        'legal_basis = "loan contract clause 8.4: collections may lower the limit after 5 days overdue"\n',
        encoding="utf-8",
    )
    strategy = tmp_path / "restrict.toml"
    strategy.write_text(
        '[strategy]\nname = "restrict"\njurisdiction = "cn"\n\n'
        '[[rules]]\nwhen = { dpd_min = 5 }\nactions = [ { action = "reduce_limit" }, { action = "close_line" } ]\n',
        encoding="utf-8",
    )
    url = new_database()
    store = one_loan(url, product, name="李四", phone="13900139000")
    services, borrower, line, loan = store.services, store.borrower, store.line, store.loan
    run_store(services, through=date(2026, 6, 24))
    plan = plan_day(services, date(2026, 6, 25), strategy)
    decisions = {a["action"]: (a["decision"], a["rule"]) for a in plan["actions"] if a["loan"] == loan}
    assert decisions == {"reduce_limit": ("allowed", None), "close_line": ("refused", "restriction.no_contract_basis")}
    run_store(services, through=date(2026, 6, 25))
    history = _on(url, date(2026, 6, 26)).restriction_history(line)
    decided = [r for r in history["restrictions"] if r["rule"] == "lower_by_decision"]
    assert len(decided) == 1 and decided[0]["since"] == "2026-06-25"
    standing = _on(url, date(2026, 6, 26)).standing(borrower, date(2026, 6, 26), "en-US")
    assert "clause 8.4" in json.dumps(standing["restrictions"], ensure_ascii=False)
    # the sample product: no contract basis, refused, the registry untouched
    other = _store(new_database())
    refused = plan_day(other[0], date(2026, 6, 25), strategy)
    assert {a["rule"] for a in refused["actions"]} == {"restriction.no_contract_basis"}
