"""Issue 19, items 6-8: inputs checked against the store's columns at every door, refused with the fix, and
nothing written when a command fails. (The sweep over every command is tests/e2e/test_bad_input.py.)"""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from arrears.adapters import tables as t
from arrears.adapters.database import make_engine
from arrears.bureau.pre_notice import PRE_NOTICE
from arrears.collections.policy import PACKS
from arrears.config import Settings
from arrears.domain.product import ProductError, load_product
from arrears.entrypoints.api.app import BorrowerIn, ContactIn
from arrears.errors import InputRejected
from arrears.inputs import ID_MAX, check_text, max_length
from arrears.money import InvalidAmount, parse_amount, parse_rate
from arrears.service_layer import approvals
from arrears.service_layer.collections import record_contact
from arrears.service_layer.credit_reporting import record_consent
from arrears.service_layer.services import Services
from arrears.validation import parse_date
from tests.support.paths import SAMPLE_PRODUCT
from tests.support.stores import one_loan

# -- one rule for amounts, rates, dates: ASCII digits, the whole text ---------------------------------------------


@pytest.mark.parametrize("text", ["100\n", "１００", "100 ", "1e3", "-0", "٣"])
def test_an_amount_is_ascii_digits_and_nothing_else(text: str) -> None:
    with pytest.raises(InvalidAmount):
        parse_amount(text, field="amount")


@pytest.mark.parametrize("text", ["０.０005", "0.0005\n", "0.0005 ", "1e-3", "٠.٠٠٠٥"])
def test_a_rate_is_ascii_digits_and_nothing_else(text: str) -> None:
    with pytest.raises(InvalidAmount):
        parse_rate(text, field="daily_rate")
    assert parse_rate("0.0005", field="daily_rate") == Decimal("0.0005")


@pytest.mark.parametrize("text", ["2026-06-19\n", "２０２６-06-19"])
def test_a_date_is_ascii_digits_and_nothing_else(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_date(text)


# -- text: limits from the columns, control characters and invalid UTF-8 refused, never echoed ------------------


def test_limits_come_from_the_columns() -> None:
    assert max_length(t.contacts.c.outcome) == 24  # String(24)
    assert max_length(t.borrowers.c.name) == 200  # Text, info["max_length"]
    assert ID_MAX == 2**31 - 1
    # the API's models say the same: an outcome the store cannot keep is a 422, not PostgreSQL's DataError
    at = datetime(2026, 6, 19, 10, tzinfo=UTC)
    with pytest.raises(ValidationError):
        ContactIn(channel="sms", at=at, outcome="x" * 25)
    with pytest.raises(ValidationError):
        BorrowerIn(name="x" * 201, phone="13800138000")


@pytest.mark.parametrize(
    ("text", "said"),
    [("a\x1b[31mb", r"U\+001B"), ("a\x07", r"U\+0007"), ("a\udcffb", "not valid UTF-8"), ("x" * 201, "at most 200")],
)
def test_text_is_refused_with_the_reason_and_without_the_text(text: str, said: str) -> None:
    with pytest.raises(InputRejected, match=said) as refused:
        check_text(text, field="the name", column=t.borrowers.c.name)
    assert text not in str(refused.value)


# -- the engine: nothing out of a column's range reaches the database (SQLite's OverflowError, PostgreSQL's
# DataError), and no database error carries the statement's parameters ------------------------------------------


def test_out_of_range_values_are_refused_before_the_database_sees_them(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            for loan_id in (2**31, 10**20, -(2**31) - 1):
                with pytest.raises(InputRejected, match="outside the stored range"):
                    connection.execute(select(t.loans).where(t.loans.c.id == loan_id))
            assert connection.execute(select(t.loans).where(t.loans.c.id == ID_MAX)).first() is None
            row = {
                "key": "k" * 201,
                "command": "c",
                "request_hash": "h",
                "response": "{}",
                "created_at": datetime.now(UTC),
            }
            with pytest.raises(InputRejected, match="at most 200"):
                connection.execute(insert(t.idempotency_keys).values(**row))
    finally:
        engine.dispose()


def test_a_database_error_never_carries_the_parameters(database_url: str) -> None:
    store = one_loan(database_url, name="王小明", phone="13912345678")
    row = {"id": store.borrower, "name": "王小明", "phone": "13912345678", "timezone": "Asia/Shanghai"}
    row |= {"language": "zh", "created_at": datetime.now(UTC)}
    with pytest.raises(IntegrityError) as failed, store.services.engine.begin() as connection:
        connection.execute(insert(t.borrowers).values(**row))  # the same id again
    assert "13912345678" not in str(failed.value) and "王小明" not in str(failed.value)


def test_the_cli_prints_an_unexpected_database_error_in_one_line_without_parameters(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from arrears.entrypoints.cli import main as cli

    def broken(self: Services, **_: Any) -> int:
        raise DBAPIError("INSERT INTO borrowers ...", {"phone": "13912345678"}, Exception("boom"), hide_parameters=True)

    monkeypatch.setenv("ARREARS_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setattr(Services, "add_borrower", broken)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exited:
        cli.main(["borrower", "add", "--name", "王小明", "--phone", "13912345678"])
    assert exited.value.code == 1
    assert err.getvalue().count("\n") == 1 and "13912345678" not in err.getvalue() and "INSERT" not in err.getvalue()


# -- what the issue found accepted silently --------------------------------------------------------------------


def services_on(url: str, day: date) -> Services:
    return Services(make_engine(url), Settings(database_url=url, business_date=day), origin="test")


def test_a_borrower_is_refused_an_unknown_language_a_control_character_and_a_huge_name(database_url: str) -> None:
    services = services_on(database_url, date(2026, 6, 20))
    for name, language, said in [
        ("王小明", "klingon", "language"),
        ("王\x1b[2J小明", "zh", r"U\+001B"),
        ("王\x07", "zh", r"U\+0007"),
        ("x" * 120_000, "zh", "at most 200"),
    ]:
        with pytest.raises(InputRejected, match=said):
            services.add_borrower(name=name, phone="13912345678", language=language)
    with services.reading() as connection:
        assert connection.execute(select(t.borrowers)).first() is None


def test_a_contact_outcome_longer_than_the_column_is_refused(database_url: str) -> None:
    store = one_loan(database_url)
    at = datetime(2026, 6, 19, 10, tzinfo=UTC)
    with pytest.raises(InputRejected, match="at most 24"):
        record_contact(store.services, loan_id=store.loan, channel="sms", at=at, agency=None, outcome="x" * 25)
    assert record_contact(store.services, loan_id=store.loan, channel="sms", at=at, agency=None, outcome="x" * 24)


def test_a_consent_cannot_be_signed_after_the_business_date(database_url: str) -> None:
    store = one_loan(database_url)
    services = services_on(database_url, date(2026, 6, 20))
    with pytest.raises(InputRejected, match="after the business date"):
        record_consent(services, borrower_id=store.borrower, signed_on=date(2099, 1, 1), document="form")
    assert record_consent(services, borrower_id=store.borrower, signed_on=date(2026, 6, 20), document="form")


def test_principal_cannot_be_waived_directly_or_by_proposal(database_url: str) -> None:
    store = one_loan(database_url)
    services = services_on(database_url, date(2026, 6, 20))
    with pytest.raises(InputRejected, match="cannot be waived"):
        services.waive(loan_id=store.loan, component="principal", amount=100, value_date=date(2026, 6, 19), key="w")  # type: ignore[arg-type]
    arguments = {"loan": store.loan, "component": "principal", "amount": 100, "date": "2026-06-19"}
    with pytest.raises(InputRejected, match="cannot be waived"):
        approvals.propose(services, command="waive", arguments=arguments, maker="alice")
    with services.reading() as connection:
        assert connection.execute(select(t.approvals)).first() is None


def test_a_product_names_a_jurisdiction_we_ship_and_is_utf8(tmp_path: Path) -> None:
    assert set(PACKS) == set(PRE_NOTICE) == {"cn", "us"}  # product.ProductInfo.jurisdiction lists the same
    text = SAMPLE_PRODUCT.read_text(encoding="utf-8")
    unknown = tmp_path / "xx.toml"
    unknown.write_text(text.replace('jurisdiction = "cn"', 'jurisdiction = "xx"'), encoding="utf-8")
    with pytest.raises(ProductError, match="jurisdiction"):
        load_product(unknown)
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(text.replace('name = "', 'name = "caf\xe9 ', 1).encode("latin-1", errors="replace"))
    with pytest.raises(ProductError, match="not UTF-8"):
        load_product(latin1)


# -- item 8: a failed credit report records nothing; the retry works ----------------------------------------------


def cli(*argv: str) -> tuple[int, str]:
    """``arrears ARGV`` in-process: the exit status and stderr."""
    from arrears.entrypoints.cli.main import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), pytest.raises(SystemExit) as done:
        main(list(argv))
    return int(done.value.code or 0), err.getvalue()


@pytest.fixture
def reported_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A SQLite store with a loan drawn 2026-05-15 and day-ends through 2026-05-31: May can be reported."""
    db = tmp_path / "store.db"
    monkeypatch.setenv("ARREARS_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("ARREARS_BUSINESS_DATE", "2026-05-15")
    for argv in (
        ["borrower", "add", "--name", "王小明", "--phone", "13912345678"],
        ["line", "open", "--borrower", "1", "--product", str(SAMPLE_PRODUCT), "--limit", "20000"],
        ["draw", "1", "--amount", "2500", "--terms", "5", "--date", "2026-05-15", "--key", "d-1"],
        ["credit", "consent", "1", "--signed-on", "2026-05-15", "--document", "form"],
    ):
        assert cli(*argv)[0] == 0, argv
    monkeypatch.setenv("ARREARS_BUSINESS_DATE", "2026-06-01")
    assert cli("eod", "run", "--through", "2026-05-31", "--json")[0] == 0
    return db


def reported_months(db: Path) -> list[Any]:
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(
                    select(t.credit_reports.c.period, t.credit_records.c.loan_id).join(
                        t.credit_records, t.credit_records.c.period == t.credit_reports.c.period, isouter=True
                    )
                )
            )
    finally:
        engine.dispose()


def test_a_credit_report_that_cannot_be_written_records_nothing_and_the_retry_works(
    reported_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "may.jsonl"
    for argv, said in [
        (["--out", str(tmp_path / "missing" / "may.jsonl")], "does not exist"),  # an unwritable --out
        (["--out", str(tmp_path)], "is a folder"),
        (["--format", "metro2", "--out", str(good)], "Metro 2"),  # metro2 for cn
    ]:
        code, err = cli("credit", "report", "--month", "2026-05", *argv)
        assert code == 2 and err.count("\n") == 1 and said in err, err
        assert reported_months(reported_store) == []
        assert not good.exists()

    def full_disk(*_: Any) -> str:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:  # the file fails while it is written: the month stays unreported
        patch.setattr("arrears.entrypoints.cli.credit.write_jsonl", full_disk)
        with pytest.raises(OSError, match="No space"):
            cli("credit", "report", "--month", "2026-05", "--out", str(good))
    assert reported_months(reported_store) == []
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".may")) == []  # no partial file left

    code, err = cli("credit", "events", "--date", "2026-05-31", "--out", str(tmp_path / "missing" / "events.jsonl"))
    assert code == 2 and "does not exist" in err, err

    code, err = cli("credit", "report", "--month", "2026-05", "--out", str(good))
    assert code == 0, err
    assert [row.loan_id for row in reported_months(reported_store)] == [1]
    written = [json.loads(line) for line in good.read_text(encoding="utf-8").splitlines()]
    assert [line["kind"] for line in written] == ["monthly"]  # the one loan's record, complete


ORDER = ["--kind", "freeze", "--date", "2026-06-01", "--key", "co"]


@pytest.mark.parametrize(
    "argv",
    [
        ["repay", "2147483648", "--amount", "10", "--date", "2026-06-19", "--key", "r"],
        ["explain", "99999999999999999999", "--date", "2026-06-19"],
        ["collections", "contact", "1", "--channel", "sms", "--at", "2026-06-19T10:00:00+08:00", "--outcome", "x" * 25],
        ["court-order", "record", "--borrower", "1", "--court", "c", "--case", "k" * 101, "--document", "d", *ORDER],
        ["token", "create", "--role", "agency", "--agency", "a" * 65],
        ["credit", "consent", "1", "--signed-on", "2026-05-15", "--document", "d" * 201],
        ["borrower", "add", "--name", "王小明", "--phone", "13912345678", "--tz", "Z" * 65],
        ["approvals", "propose", "write-off", "1", "--date", "2026-06-19", "--maker", "m" * 101],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_ids_and_text_beyond_the_columns_exit_2_on_either_database(
    argv: list[str], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What PostgreSQL refused with a DataError (and a traceback printing the parameters) is refused first."""
    one_loan(database_url, name="王小明", phone="13912345678")
    monkeypatch.setenv("ARREARS_DATABASE_URL", database_url)
    monkeypatch.setenv("ARREARS_BUSINESS_DATE", "2026-06-20")
    code, err = cli(*argv)
    assert code == 2 and err.count("\n") == 1 and err.startswith("arrears: error: "), err
    assert "13912345678" not in err and "王小明" not in err
