"""Acceleration, referral and a court case over the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from arrears.adapters import store
from arrears.domain.engine import Acceleration, replay
from arrears.hardship.plans import PlanTerms
from arrears.legal.escalation import CaseRefused, LegalRefused
from arrears.service_layer import hardship, legal
from arrears.service_layer.day_end_store import run_store
from tests.support.stores import one_loan


def test_accelerate_refer_judge_and_owe_delay_interest(new_database: Callable[[], str]) -> None:
    """2,500.00 drawn 05-15, never paid: installment 1 due 06-15."""
    made = one_loan(new_database())
    services, loan = made.services, made.loan
    run_store(services, through=date(2026, 7, 19))  # business date 07-20: 35 days past due
    with pytest.raises(LegalRefused, match=r"legal\.acceleration_not_due"):
        legal.accelerate(services, loan_id=loan, by="rule", reason="clause 12", key="acc0")
    with pytest.raises(LegalRefused, match=r"legal\.dpd_below_threshold"):
        legal.refer(services, loan_id=loan)
    assert legal.cases(services) == []  # a refusal writes nothing

    run_store(services, through=date(2026, 9, 19))  # business date 09-20: 97 days past due
    accelerated = legal.accelerate(services, loan_id=loan, by="rule", reason="clause 12: 90 days", key="acc1")
    assert accelerated["accelerated_on"] == "2026-09-20"
    assert legal.accelerate(services, loan_id=loan, by="rule", reason="clause 12: 90 days", key="acc1") == accelerated
    with services.reading() as connection:
        record = store.get_loan(connection, loan)
        events = store.loan_events(connection, loan)
    assert [e for e in events if isinstance(e, Acceleration)] == [Acceleration(date(2026, 9, 20))]
    after = replay(record.terms, events, date(2026, 9, 21))
    assert after.overdue.principal == 250_000  # everything is due; penalty now runs on all of it
    run_store(services, through=date(2026, 9, 21))
    assert services.verify_ledger() == []

    case = legal.refer(services, loan_id=loan, court="深圳市南山区人民法院")
    with pytest.raises(LegalRefused, match=r"legal\.case_open"):
        legal.refer(services, loan_id=loan)
    on = date(2026, 9, 22)
    legal.step(services, case_id=case["case"], to="filed", on=on, details={"case_number": "(2026)粤0305民初123号"})
    with pytest.raises(CaseRefused):
        legal.step(services, case_id=case["case"], to="enforcement", on=on, details={})
    judged = legal.step(
        services,
        case_id=case["case"],
        to="judgment",
        on=on,
        details={
            "principal": 250_000,
            "interest": 5_000,
            "penalty": 2_000,
            "costs": 10_000,
            "pay_by": date(2026, 9, 30),
        },
    )
    assert judged["delay_interest"]["total"] == "0.00"  # nothing accrues on or before the deadline
    run_store(services, through=date(2026, 10, 10))  # business date 10-11
    [view] = legal.cases(services, loan_id=loan)
    # 2,500.00 principal + 100.00 costs = 2,600.00 x 0.000175 x 11 days (10-01..10-11) = 5.005 -> 5.01 (half up)
    assert view["delay_interest"] == {"base": "2600.00", "total": "5.01", "outstanding": "5.01", "as_of": "2026-10-11"}


def test_a_live_hardship_plan_stands_in_the_way_of_a_referral(new_database: Callable[[], str]) -> None:
    made = one_loan(new_database())
    services, loan = made.services, made.loan
    run_store(services, through=date(2026, 9, 19))
    proposed = hardship.propose(services, loan_id=loan, terms=PlanTerms(freeze_days=30), maker="李")
    hardship.approve(services, plan_id=proposed["plan"], checker="王", role="supervisor", note="", key="p")
    with pytest.raises(LegalRefused, match=r"legal\.live_hardship_plan"):
        legal.refer(services, loan_id=loan)
