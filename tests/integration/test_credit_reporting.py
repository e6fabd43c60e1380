"""Credit reporting: monthly records in cn and us codes checked by hand, the Metro 2 style base segment written and
read back, and over the store (SQLite and PostgreSQL) nothing without consent (cn), nothing negative without a
pre-notice, a month reported once."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from arrears.adapters import store
from arrears.adapters import tables as t
from arrears.adapters.database import make_engine
from arrears.bureau import metro2
from arrears.bureau.records import account_record, month_ends
from arrears.config import Settings
from arrears.domain.engine import LoanReplay, Payment
from arrears.domain.scenario import load_scenario
from arrears.errors import InputRejected
from arrears.service_layer.credit_reporting import (
    open_dispute,
    record_consent,
    report_month,
    resolve_dispute,
    write_jsonl,
    write_metro2,
)
from arrears.service_layer.day_end_store import run_store
from arrears.service_layer.services import Services
from tests.support.cli import store_with_a_loan
from tests.support.paths import SAMPLE_PRODUCT, SCENARIOS
from tests.support.stores import one_loan

TERMS = load_scenario(SCENARIOS / "cn_ageing.json").terms  # 2,500.00 over 5 terms from 2026-05-15, due the 15th


def test_records_month_by_month_in_cn_and_us_codes() -> None:
    """Unpaid from the first due date (06-15): at 06-30 15 days past due, at 07-31 46, at 08-31 77. The 24-month
    history lists the month-ends before, newest first, and what came before the loan opened."""
    history = month_ends(TERMS, [], date(2026, 8, 31))
    assert [(m.day, m.days_past_due) for m in history] == [
        (date(2026, 5, 31), 0),
        (date(2026, 6, 30), 15),
        (date(2026, 7, 31), 46),
        (date(2026, 8, 31), 77),
    ]
    cn = account_record("cn", 1, 1, TERMS, history, grace_days=1)
    assert (cn.status, cn.negative, cn.payment_history) == ("overdue", True, "21N" + "/" * 21)
    assert cn.first_delinquency == date(2026, 6, 16)
    us = account_record("us", 1, 1, TERMS, history, grace_days=1)
    assert (us.status, us.negative, us.payment_history) == ("78", True, "100" + "B" * 21)
    assert us.amount_past_due == history[-1].overdue
    assert us.balance == history[-1].principal + history[-1].overdue - history[-1].overdue_principal


def test_paying_within_the_grace_day_emits_nothing_negative() -> None:
    """Everything due 06-15 paid on 06-16 (the grace day): the month-end of June is normal, no delinquency."""
    owed = _owed_on(date(2026, 6, 16))
    history = month_ends(TERMS, [Payment(date(2026, 6, 16), owed)], date(2026, 6, 30))
    record = account_record("cn", 1, 1, TERMS, history, grace_days=1)
    assert (record.status, record.negative, record.first_delinquency) == ("normal", False, None)
    late = month_ends(TERMS, [Payment(date(2026, 6, 17), _owed_on(date(2026, 6, 17)) - 1)], date(2026, 6, 30))
    assert account_record("cn", 1, 1, TERMS, late, grace_days=1).negative


def _owed_on(day: date) -> int:
    replay = LoanReplay(TERMS)
    replay.begin_day(day)
    return replay.due_total(day)


def test_the_metro2_base_segment_is_426_bytes_and_reads_back() -> None:
    history = month_ends(TERMS, [], date(2026, 8, 31))
    record = account_record("us", 17, 3, TERMS, history, grace_days=1)
    values = metro2.record_values(
        record, furnisher="LENDER01", name="Jane Q Roe", terms=5, reported_at=datetime(2026, 9, 1, 2, 0)
    )
    segment = metro2.base_segment(values)
    assert len(segment) == 426
    fields = metro2.read_base_segment(segment)
    assert fields["record_descriptor_word"] == "0426"
    assert fields["consumer_account_number"].rstrip() == "17"
    assert fields["account_status"] == "78" and fields["payment_history_profile"] == "100" + "B" * 21
    assert fields["date_opened"] == "05152026" and fields["date_of_account_information"] == "08312026"
    assert fields["date_of_first_delinquency"] == "06162026" and fields["date_closed"] == "00000000"
    assert int(fields["highest_credit"]) == 2500 and int(fields["amount_past_due"]) == record.amount_past_due // 100
    assert fields["surname"].rstrip() == "ROE" and fields["first_name"].rstrip() == "JANE Q"
    assert metro2.dollars(123_499) == 1234  # cents truncated, never rounded up
    with pytest.raises(ValueError, match="426 bytes"):
        metro2.read_base_segment(segment[:-1])
    with pytest.raises(ValueError, match="not digits"):
        metro2.read_base_segment(segment[:154] + b"12345678X" + segment[163:])


def _us_product(tmp_path: Path) -> Path:
    text = SAMPLE_PRODUCT.read_text(encoding="utf-8")
    text = text.replace('jurisdiction = "cn"', 'jurisdiction = "us"').replace('currency = "CNY"', 'currency = "USD"')
    path = tmp_path / "us.toml"
    path.write_text(text.replace('timezone = "Asia/Shanghai"', 'timezone = "America/New_York"'), encoding="utf-8")
    return path


def _store(url: str, product: Path, *, name: str = "张三") -> tuple[Services, int, int]:
    made = one_loan(url, product, name=name)
    return made.services, made.borrower, made.loan


def _consented_and_noticed(services: Services, borrower: int, loan: int, sent_on: date) -> None:
    """The borrower's consent on file, and a pre-notice that went out on ``sent_on``."""
    record_consent(services, borrower_id=borrower, signed_on=date(2026, 5, 15), document="A-1")
    with services.transaction() as connection:
        connection.execute(
            t.credit_pre_notices.insert().values(
                loan_id=loan, borrower_id=borrower, sent_on=sent_on, channel="sms", recorded_at=datetime.now()
            )
        )


def test_nothing_without_consent_nothing_negative_without_a_pre_notice(new_database: Callable[[], str]) -> None:
    """cn: June is reported after its last day-end; without consent the borrower is held back; with consent but
    no pre-notice, the negative record is held; with a pre-notice sent 06-20 (10 days before the month-end) it
    is emitted. A month is reported once."""
    url = new_database()
    services, borrower, loan = _store(url, SAMPLE_PRODUCT)
    with pytest.raises(InputRejected, match="run arrears eod run --through 2026-06-30"):
        report_month(services, date(2026, 6, 1), "cn")
    run_store(services, through=date(2026, 6, 30))
    held = report_month(services, date(2026, 6, 1), "cn")
    assert held.records == [] and "no written consent" in held.held[0]["reason"]
    again = report_month(services, date(2026, 6, 15), "cn")
    assert again.already and again.held == held.held
    record_consent(services, borrower_id=borrower, signed_on=date(2026, 5, 15), document="授权书 2026-0515-1")
    run_store(services, through=date(2026, 7, 31))
    no_notice = report_month(services, date(2026, 7, 1), "cn")
    assert no_notice.records == [] and "no pre-notice" in no_notice.held[0]["reason"]
    with services.transaction() as connection:
        connection.execute(
            t.credit_pre_notices.insert().values(
                loan_id=loan, borrower_id=borrower, sent_on=date(2026, 8, 20), channel="sms", recorded_at=datetime.now()
            )
        )
    run_store(services, through=date(2026, 8, 31))
    august = report_month(services, date(2026, 8, 1), "cn")
    assert [(r.loan, r.status, r.negative) for r in august.records] == [(loan, "overdue", True)]
    lines = [json.loads(line) for line in write_jsonl(august).splitlines()]
    assert (
        lines[0]["payment_history"].startswith("21N")
        and lines[0]["amount_past_due"] == august.records[0].as_json()["amount_past_due"]
    )


def test_the_us_file_is_metro2_and_needs_no_consent(new_database: Callable[[], str], tmp_path: Path) -> None:
    url = new_database()
    services, _, _ = _store(url, _us_product(tmp_path), name="Jane Roe")
    run_store(services, through=date(2026, 6, 30))
    june = report_month(services, date(2026, 6, 1), "us")
    assert [(r.status, r.negative) for r in june.records] == [("11", False)]  # 15 days: current in Metro 2
    assert report_month(services, date(2026, 6, 1), "cn").records == []  # not a cn product
    data, skipped = write_metro2(services, june, "LENDER01")
    assert skipped == []
    segments = data.splitlines()
    assert len(segments) == 1 and len(segments[0]) == 426
    assert metro2.read_base_segment(segments[0])["account_status"] == "11"
    with pytest.raises(InputRejected, match="Metro 2"):
        write_metro2(services, report_month(services, date(2026, 6, 1), "cn"), "X")


def test_the_cli_reports_a_month_to_a_file(tmp_path: Path) -> None:
    _, arrears = store_with_a_loan(tmp_path)
    early = arrears("credit", "report", "--month", "2026-06", on="2026-07-01")
    assert early.returncode == 2 and "eod run --through 2026-06-30" in early.stderr
    assert (
        arrears("credit", "consent", "1", "--signed-on", "2026-05-15", "--document", "A-1", on="2026-05-15").returncode
        == 0
    )
    assert arrears("eod", "run", "--through", "2026-06-30", on="2026-07-01").returncode == 0
    out = tmp_path / "june.jsonl"
    done = arrears("credit", "report", "--month", "2026-06", "--out", str(out), "--json", on="2026-07-01")
    assert done.returncode == 0, done.stderr
    view = json.loads(done.stdout)
    assert view["emitted"] == 0 and "no pre-notice" in view["held"][0]["reason"]  # 15 days past due, no notice
    assert out.read_text(encoding="utf-8") == ""
    bad = arrears("credit", "report", "--month", "2026-06", "--format", "xml", on="2026-07-01")
    assert bad.returncode == 2 and "--format must be jsonl or metro2" in bad.stderr


def test_a_backdated_payment_corrects_a_reported_month_and_a_dispute_is_answered(
    new_database: Callable[[], str],
) -> None:
    """June is reported negative (15 days past due, a pre-notice sent 06-20). The borrower disputes it on 07-02:
    the answer is due 07-22 (20 days, cn) and collection of the loan pauses. A payment dated 06-16 (within the
    grace day) turns up and is posted on 07-05: July's file carries a correction of June (normal now), never a
    silent rewrite; the dispute can only be answered "corrected", and collection resumes. July's own record is
    negative again (the 07-15 installment is unpaid) and held back: June's pre-notice was for another
    delinquency."""
    url = new_database()
    services, borrower, loan = _store(url, SAMPLE_PRODUCT)
    _consented_and_noticed(services, borrower, loan, date(2026, 6, 20))
    run_store(services, through=date(2026, 6, 30))
    june = report_month(services, date(2026, 6, 1), "cn")
    assert [(r.status, r.negative) for r in june.records] == [("overdue", True)]
    with pytest.raises(InputRejected, match="nothing was reported of loan"):
        open_dispute(
            services, loan_id=loan, month=date(2026, 5, 1), jurisdiction="cn", received_on=date(2026, 7, 2), claim="x"
        )
    opened = open_dispute(
        services, loan_id=loan, month=date(2026, 6, 1), jurisdiction="cn", received_on=date(2026, 7, 2), claim="paid"
    )
    assert opened["answer_by"] == "2026-07-22"
    with services.reading() as connection:
        flags = connection.execute(select(t.account_flags.c.kind, t.account_flags.c.loan_id)).all()
    assert [(f.kind, f.loan_id) for f in flags] == [("disputed", loan)]
    with pytest.raises(InputRejected, match="post the correcting transaction first"):
        resolve_dispute(
            services, dispute_id=opened["dispute"], on=date(2026, 7, 3), outcome="corrected", resolution="x"
        )
    late = Services(make_engine(url), Settings(database_url=url, business_date=date(2026, 7, 5)), origin="test")
    late.repay(loan_id=loan, amount=_owed_of(services, loan, date(2026, 6, 16)), value_date=date(2026, 6, 16), key="k")
    with pytest.raises(InputRejected, match="answer --outcome corrected"):
        resolve_dispute(
            services, dispute_id=opened["dispute"], on=date(2026, 7, 6), outcome="confirmed", resolution="x"
        )
    answered = resolve_dispute(
        services, dispute_id=opened["dispute"], on=date(2026, 7, 6), outcome="corrected", resolution="payment found"
    )
    assert answered["late"] is False
    run_store(services, through=date(2026, 7, 31))
    july = report_month(services, date(2026, 7, 1), "cn")
    assert [(r.period, r.status, r.negative) for r in july.corrections] == [(date(2026, 6, 30), "normal", False)]
    lines = [json.loads(line) for line in write_jsonl(july).splitlines()]
    assert [line["kind"] for line in lines] == ["correction"]
    # July itself: the installment due 07-15 is unpaid, a new delinquency June's pre-notice does not cover
    assert "no pre-notice" in july.held[0]["reason"]
    assert report_month(services, date(2026, 7, 1), "cn").corrections == july.corrections  # stored, once
    with services.reading() as connection:
        until = connection.execute(select(t.account_flags.c.until)).scalar_one()
    assert until == date(2026, 7, 6)


def _owed_of(services: Services, loan: int, day: date) -> int:
    with services.reading() as connection:
        stored = store.get_loan(connection, loan)
    replay = LoanReplay(stored.terms)
    replay.begin_day(day)
    return replay.due_total(day)


def test_a_partial_payment_does_not_re_age_the_first_delinquency() -> None:
    """06-15, 07-15 and 08-15 unpaid; installment 1 alone paid on 08-20: the delinquency that began 06-16 goes
    on (the account never came current), so the date of first delinquency stays 06-16 (FCRA 623(a)(5))."""
    first = _owed_on(date(2026, 6, 15))
    history = month_ends(TERMS, [Payment(date(2026, 8, 20), first)], date(2026, 8, 31))
    assert history[-1].days_past_due > 0 and history[-1].first_delinquency == date(2026, 6, 16)
    cured = month_ends(TERMS, [Payment(date(2026, 6, 20), _owed_on(date(2026, 6, 20)))], date(2026, 7, 31))
    assert cured[1].first_delinquency is None  # paid up on 06-20: current at the June month-end
    assert cured[2].first_delinquency == date(2026, 7, 16)  # a new delinquency, from the July installment


def test_closed_on_the_day_it_was_settled_and_an_installment_due_on_the_month_end_is_not_past_due() -> None:
    payoff = month_ends(TERMS, [Payment(date(2026, 6, 3), 400_000)], date(2026, 6, 30))
    record = account_record("us", 1, 1, TERMS, payoff, grace_days=1)
    assert (record.status, record.closed, record.balance) == ("13", date(2026, 6, 3), 0)
    on_due = replace(TERMS, start=date(2026, 3, 31))  # first due 04-30 (the 31st clipped), a month-end
    april = month_ends(on_due, [], date(2026, 4, 30))[-1]
    assert (april.days_past_due, april.overdue) == (0, 0)
    assert month_ends(on_due, [], date(2026, 5, 31))[-1].overdue > 0  # a month later it is past due


def test_a_name_with_no_latin_form_is_left_out_of_the_metro2_file_not_the_whole_file(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    url = new_database()
    services, _, _ = _store(url, _us_product(tmp_path), name="李四")
    run_store(services, through=date(2026, 6, 30))
    june = report_month(services, date(2026, 6, 1), "us")
    data, skipped = write_metro2(services, june, "LENDER01")
    assert data == b"" and "romanized name" in skipped[0]["reason"]
    assert metro2.latin_name("José Núñez") == ("NUNEZ", "JOSE")


def test_a_written_off_loan_is_reported_every_month_while_it_still_owes(new_database: Callable[[], str]) -> None:
    url = new_database()
    services, borrower, loan = _store(url, SAMPLE_PRODUCT)
    _consented_and_noticed(services, borrower, loan, date(2026, 6, 19))
    Services(make_engine(url), Settings(database_url=url, business_date=date(2026, 6, 28)), origin="test").write_off(
        loan_id=loan, value_date=date(2026, 6, 28), key="wo"
    )
    run_store(services, through=date(2026, 8, 31))
    statuses = [
        [(r.status, r.closed) for r in report_month(services, date(2026, m, 1), "cn").records] for m in (6, 7, 8)
    ]
    assert statuses == [[("written_off", date(2026, 6, 28))]] * 3


def test_the_borrowers_standing_names_the_pre_notice_and_the_first_negative_month(
    new_database: Callable[[], str],
) -> None:
    url = new_database()
    services, borrower, loan = _store(url, SAMPLE_PRODUCT)
    _consented_and_noticed(services, borrower, loan, date(2026, 6, 19))
    run_store(services, through=date(2026, 6, 30))
    before = services.standing(borrower, date(2026, 6, 25), "en-US")["credit_reporting"]
    assert (before["pre_notice_sent_on"], before["first_negative_report_on"]) == ("2026-06-19", None)
    report_month(services, date(2026, 6, 1), "cn")
    after = services.standing(borrower, date(2026, 7, 1), "zh-CN")["credit_reporting"]
    assert after["first_negative_report_on"] == "2026-06-30"
