"""Event records of new delinquencies over the store (SQLite and PostgreSQL): told once, never without consent or
before the pre-notice's lead has passed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import pytest

from arrears.adapters import tables as t
from arrears.service_layer.credit_reporting import (
    ReportRefused,
    record_consent,
    report_month,
    report_new_delinquencies,
)
from arrears.service_layer.day_end_store import run_store
from tests.support.stores import one_loan


def test_a_new_delinquency_is_told_once_when_the_rules_allow(new_database: Callable[[], str]) -> None:
    """Installment 1 (due 06-15, grace 1 day) unpaid: past due from day-end 06-16 on, first delinquency 06-16."""
    made = one_loan(new_database())
    services, loan, borrower = made.services, made.loan, made.borrower
    run_store(services, through=date(2026, 6, 20))
    with pytest.raises(ReportRefused, match="run arrears eod run --through 2026-06-21"):
        report_new_delinquencies(services, date(2026, 6, 21), "cn")
    no_consent = report_new_delinquencies(services, date(2026, 6, 20), "cn")
    assert no_consent.records == [] and "no written consent" in no_consent.held[0]["reason"]
    record_consent(services, borrower_id=borrower, signed_on=date(2026, 5, 15), document="A-1")
    no_notice = report_new_delinquencies(services, date(2026, 6, 20), "cn")
    assert no_notice.records == [] and "pre-notice" in no_notice.held[0]["reason"]
    with services.transaction() as connection:
        connection.execute(
            t.credit_pre_notices.insert().values(
                loan_id=loan, borrower_id=borrower, sent_on=date(2026, 6, 18), channel="sms", recorded_at=datetime.now()
            )
        )
    too_soon = report_new_delinquencies(services, date(2026, 6, 20), "cn")  # 2 days after, 7 needed
    assert too_soon.records == [] and too_soon.held
    run_store(services, through=date(2026, 6, 25))
    told = report_new_delinquencies(services, date(2026, 6, 25), "cn")  # 06-18 + 7 days
    [record] = told.records
    assert (record.loan, record.period, record.first_delinquency, record.days_past_due) == (
        loan,
        date(2026, 6, 25),
        date(2026, 6, 16),
        10,
    )
    assert record.negative and record.status == "overdue"
    assert report_new_delinquencies(services, date(2026, 6, 25), "cn").records == []  # once
    run_store(services, through=date(2026, 6, 30))
    assert report_month(services, date(2026, 6, 1), "cn").records[0].first_delinquency == date(2026, 6, 16)
    run_store(services, through=date(2026, 7, 2))
    assert report_new_delinquencies(services, date(2026, 7, 2), "cn").records == []  # the month told it too


def test_a_catch_up_run_for_a_past_day_answers_for_that_day(new_database: Callable[[], str]) -> None:
    made = one_loan(new_database())
    services, loan, borrower = made.services, made.loan, made.borrower
    record_consent(services, borrower_id=borrower, signed_on=date(2026, 5, 15), document="A-1")
    with services.transaction() as connection:
        connection.execute(
            t.credit_pre_notices.insert().values(
                loan_id=loan, borrower_id=borrower, sent_on=date(2026, 6, 16), channel="sms", recorded_at=datetime.now()
            )
        )
    run_store(services, through=date(2026, 6, 25))
    services.repay(loan_id=loan, amount=60_000, value_date=date(2026, 6, 26), key="cure")
    run_store(services, through=date(2026, 6, 26))  # current again
    [record] = report_new_delinquencies(services, date(2026, 6, 25), "cn").records  # 10 days past due that day
    assert (record.period, record.days_past_due) == (date(2026, 6, 25), 10)
    assert report_new_delinquencies(services, date(2026, 6, 26), "cn").records == []
