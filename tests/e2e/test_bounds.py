"""Bounds on what enters (issue 19, items 4 and 5, and the date and day-count crashes of item 6): absurd terms
refused at every door with the field and the bound named; a loan stored with terms the kernel cannot run is
quarantined by the store day-end while the others close; far-future dates refused in one line; input files
read with a size cap, never endlessly."""

from __future__ import annotations

import copy
import json
import os
import shutil
import sqlite3
import tomllib
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from arrears import files
from arrears.adapters import tables as t
from arrears.adapters.database import make_engine, upgrade
from arrears.bounds import MAX_DAILY_RATE, MAX_GRACE_DAYS, MAX_TERMS
from arrears.collections.strategy import check_strategy
from arrears.config import Settings
from arrears.domain.product import ProductError, load_product, parse_product
from arrears.domain.scenario import ScenarioError, load_scenario
from arrears.domain.terms import LoanTerms, Method
from arrears.entrypoints.cli.main import main
from arrears.errors import InputRejected
from arrears.files import FileRefused, read_capped
from arrears.service_layer.day_end_store import run_store
from arrears.service_layer.portfolio import PortfolioRejected, check_portfolio
from arrears.service_layer.services import Services
from tests.support.cli import run_cli
from tests.support.paths import SAMPLE_PRODUCT, SCENARIOS


@pytest.fixture
def document() -> dict[str, Any]:
    return tomllib.loads(SAMPLE_PRODUCT.read_text(encoding="utf-8"))


# -- item 4: every product field within its bound, refused (never warned) with the field and the bound named -------


@pytest.mark.parametrize(
    ("table", "field", "value", "message"),
    [
        ("pricing", "max_daily_rate", "5", r"max_daily_rate: 5 a day is 182500% a year; .* at most 0.0009863"),
        ("pricing", "daily_rate", "0.001", r"\[pricing\] daily_rate: 0.001 a day is 36.5% a year"),
        ("pricing", "min_daily_rate", "2", r"\[pricing\] min_daily_rate: 2 a day"),
        ("pricing", "terms", [5, 361], r"361 is outside 1..360 monthly terms"),
        ("pricing", "terms", [0], r"0 is outside 1..360 monthly terms"),
        ("overdue", "grace_days", 99999999999999, r"\[overdue\] grace_days: 99999999999999 is outside 0..30 days"),
        ("overdue", "grace_days", 31, r"\[overdue\] grace_days: 31 is outside 0..30 days"),
        ("overdue", "penalty_multiplier", "1.6", r"\[overdue\] penalty_multiplier: 1.6 is outside 0..1.5"),
        ("line", "max_limit", "1000000000.01", r"max_limit: 1000000000.01 is above the bound of 1000000000.00"),
        ("line", "min_limit", "0", r"\[line\] min_limit: must be above zero"),
        ("drawdown", "multiple", "99999999999999", r"\[drawdown\] multiple: .* is above the bound"),
        ("drawdown", "max_open_loans", 101, r"\[drawdown\] max_open_loans: 101 is outside 1..100 loans"),
    ],
)  # fmt: skip
def test_a_product_field_outside_its_bound_is_refused(
    document: dict[str, Any], table: str, field: str, value: object, message: str
) -> None:
    broken = copy.deepcopy(document)
    broken[table][field] = value
    with pytest.raises(ProductError, match=message) as raised:
        parse_product(broken, "products/absurd.toml")
    assert str(raised.value).startswith("products/absurd.toml: ")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["overdue"]["reference_cap"].update(annual_rate="5"), r"reference_cap\] annual_rate: 5 is outside"),
        (lambda d: d["restrictions"][0].update(dpd_at_least=99999999999999), r"dpd_at_least: 99999999999999 is out"),
        (lambda d: d["restrictions"][1].update(good_standing_days=4000), r"good_standing_days: 4000 is outside"),
    ],
)  # fmt: skip
def test_nested_product_fields_are_bounded_too(document: dict[str, Any], change: Any, message: str) -> None:
    broken = copy.deepcopy(document)
    change(broken)
    with pytest.raises(ProductError, match=message):
        parse_product(broken, "p.toml")


def test_overdue_cost_above_36_percent_is_refused_in_warn_mode_and_clamped_in_clamp_mode(
    document: dict[str, Any],
) -> None:
    """At the daily-rate bound, x 1.5 costs 54% a year overdue: refused even though the cap's mode is warn; with
    mode clamp the multiplier is lowered under the lender's 24% cap, and the product loads."""
    dear = copy.deepcopy(document)
    dear["pricing"].update(daily_rate=str(MAX_DAILY_RATE), max_daily_rate=str(MAX_DAILY_RATE))
    with pytest.raises(
        ProductError, match=r"penalty_multiplier: overdue principal would cost 54% a year at daily rate 0.0009863"
    ):
        parse_product(dear, "p.toml")
    dear["overdue"]["reference_cap"]["mode"] = "clamp"
    product = parse_product(dear, "p.toml")
    terms = product.loan_terms(principal=100_00, terms=5, start=date(2026, 1, 15))
    assert terms.daily_rate * terms.penalty_multiplier * 365 <= Decimal("0.24")


def test_the_bounds_themselves_are_accepted(document: dict[str, Any]) -> None:
    edge = copy.deepcopy(document)
    edge["overdue"].update(grace_days=MAX_GRACE_DAYS)
    edge["pricing"].update(terms=[1, MAX_TERMS])
    edge["line"].update(max_limit="1000000000.00")
    rules = parse_product(edge, "p.toml").rules
    assert (rules.overdue.grace_days, rules.pricing.terms, rules.line.max_limit) == (30, (1, 360), 100_000_000_000)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"daily_rate": Decimal("2")}, "daily rate: 2 a day is 73000% a year"),
        ({"grace_days": 99999999999999}, "grace days: 99999999999999 is outside 0..30"),
        ({"terms": 361}, "terms: 361 is outside 1..360"),
        ({"principal": 10**15}, "principal: .* is above the bound"),
        ({"penalty_multiplier": Decimal("3")}, "penalty multiplier: 3 is outside 0..1.5"),
    ],
)
def test_loan_terms_however_built_are_held_to_the_same_bounds(change: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {
        "principal": 100_000,
        "daily_rate": Decimal("0.0005"),
        "terms": 5,
        "method": Method.EQUAL_PRINCIPAL,
        "start": date(2026, 1, 15),
    }
    with pytest.raises(InputRejected, match=message):
        LoanTerms(**{**values, **change})


def _dump(db: Path) -> list[str]:
    with sqlite3.connect(db) as connection:
        return list(connection.iterdump())


@pytest.fixture(scope="module")
def overdue_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store: borrower 1, line 1 on the sample product, loan 1 (2,500.00 over 5 terms from 2026-05-15),
    its first installment (due 2026-06-15) unpaid, day-ends run through 2026-06-20. Each test copies it."""
    db = tmp_path_factory.mktemp("overdue") / "store.db"
    url = f"sqlite:///{db}"
    migrating = make_engine(url)
    upgrade(migrating)
    migrating.dispose()
    setup = Services(make_engine(url), Settings(database_url=url, business_date=date(2026, 5, 15)), origin="test")
    borrower = setup.add_borrower(name="张三", phone="13800138000", timezone="Asia/Shanghai", language="zh")
    line = setup.open_line(borrower_id=borrower, product=load_product(SAMPLE_PRODUCT), limit=2_000_000)
    setup.draw(line_id=line, amount=250_000, terms=5, start=date(2026, 5, 15), key="d-1")
    setup.engine.dispose()
    services = Services(make_engine(url), Settings(database_url=url), origin="test")
    run_store(services, through=date(2026, 6, 20))
    services.engine.dispose()
    with sqlite3.connect(db) as connection:  # everything in the main file, so that a copy of it is the store
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert connection.execute("SELECT count(*) FROM loans").fetchone() == (1,)
    return db


@pytest.fixture
def cli(
    overdue_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Any:
    """A copy of the overdue store, and ``cli(*args, business_date=D, **env)``: the CLI in-process on it
    (exit status, stdout, stderr)."""
    db = tmp_path / "store.db"
    shutil.copy(overdue_template, db)

    def run(*args: str, business_date: str = "2026-06-21", **env: str) -> tuple[int, str, str]:
        monkeypatch.setenv("ARREARS_DATABASE_URL", f"sqlite:///{db}")
        monkeypatch.setenv("ARREARS_BUSINESS_DATE", business_date)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        with pytest.raises(SystemExit) as exit_info:
            main(list(args))
        out, err = capsys.readouterr()
        return int(exit_info.value.code or 0), out, err

    run.db = db  # type: ignore[attr-defined]
    return run


def test_line_open_on_an_absurd_product_exits_2_and_changes_nothing(cli: Any, tmp_path: Path) -> None:
    """The issue's product (max_daily_rate "5") and a line at 2 a day: refused by line open, not opened with a
    warning; and a rate over the bound given on the command line is refused with the bound."""
    absurd = tmp_path / "absurd.toml"
    text = SAMPLE_PRODUCT.read_text(encoding="utf-8").replace('max_daily_rate = "0.0005"', 'max_daily_rate = "5"')
    absurd.write_text(text, encoding="utf-8")
    before = _dump(cli.db)
    status, out, err = cli("line", "open", "--borrower", "1", "--product", str(absurd), "--limit", "1000")
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "[pricing] max_daily_rate: 5 a day" in err
    status, _, err = cli(
        "line", "open", "--borrower", "1", "--product", str(SAMPLE_PRODUCT), "--limit", "1000", "--daily-rate", "2"
    )
    assert status == 2 and err.count("\n") == 1 and "0.0002..0.0005" in err
    assert _dump(cli.db) == before


# -- item 4: the store day-end quarantines a loan it cannot run and closes the others ----------------------------


def test_a_loan_stored_with_absurd_terms_is_quarantined_and_the_others_close(database_url: str) -> None:
    """Two loans; the first's grace is then set to 2^31 - 1 days, as a store written before the bounds could hold
    (the issue's product file put 99999999999999 there: the reference overflowed, every day-end failed). The
    day-end quarantines it with its reason, every day, and closes the other loan."""
    setup = Services(
        make_engine(database_url), Settings(database_url=database_url, business_date=date(2026, 5, 15)), origin="test"
    )
    borrower = setup.add_borrower(name="张三", phone="13800138000", timezone="Asia/Shanghai", language="zh")
    line = setup.open_line(borrower_id=borrower, product=load_product(SAMPLE_PRODUCT), limit=2_000_000)
    bad = setup.draw(line_id=line, amount=100_000, terms=5, start=date(2026, 5, 15), key="a")
    good = setup.draw(line_id=line, amount=100_000, terms=5, start=date(2026, 5, 15), key="b")
    setup.engine.dispose()
    services = Services(make_engine(database_url), Settings(database_url=database_url), origin="test")
    run_store(services, through=date(2026, 5, 16))  # both in the kernel's state
    with services.transaction() as connection:
        connection.execute(update(t.loans).where(t.loans.c.id == bad).values(grace_days=2**31 - 1))
    report = run_store(services, through=date(2026, 6, 20))  # past the first due date
    assert report.days == 35
    assert {(q["loan_id"], q["code"]) for q in report.quarantined} == {(str(bad), "terms_out_of_bounds")}
    assert (
        len(report.quarantined) == 35 and "grace days: 2147483647 is outside 0..30" in report.quarantined[0]["message"]
    )
    with services.reading() as connection:
        closed = connection.execute(select(t.day_ends.c.business_date).order_by(t.day_ends.c.business_date)).all()
        state = connection.execute(select(t.day_end_state.c.loan_id, t.day_end_state.c.closed_through)).all()
        events = connection.execute(
            select(t.domain_events.c.loan_id, t.domain_events.c.payload).where(
                t.domain_events.c.kind == "day_end_quarantined"
            )
        ).all()
    assert closed[-1][0] == date(2026, 6, 20) and len(closed) == 37
    assert [tuple(row) for row in state] == [(good, date(2026, 6, 20))]
    assert len(events) == 35 and {row.loan_id for row in events} == {bad}
    assert "terms_out_of_bounds" in events[0].payload
    services.engine.dispose()


# -- item 5 and item 6: far-future dates, date overflow, endless day counts ----------------------------------------


@pytest.mark.parametrize(
    ("args", "business_date", "message"),
    [
        (("eod", "run", "--through", "9999-12-31"), "2026-06-21", "--through: 9999-12-31 is outside 1900-01-01 .."),
        (("eod", "run", "--through", "2199-12-31"), "2026-06-21", "(ARREARS_HORIZON_DAYS): refused"),
        (("standing", "1", "--date", "9999-12-31"), "2026-06-21", "--date: 9999-12-31 is outside"),
        (("standing", "1", "--date", "2199-12-31"), "2026-06-21", "more than 366 days after the business date"),
        (("explain", "1", "--date", "2199-12-31"), "2026-06-21", "more than 366 days after the business date"),
        (("loan", "show", "1", "--as-of", "2199-12-31"), "2026-06-21", "--as-of 2199-12-31 is more than 366 days"),
        (("repay", "1", "--amount", "10", "--date", "2026-06-21", "--key", "r"), "9999-12-31", "ARREARS_BUSINESS_DATE"),
        (("schedule", "--principal", "1000", "--daily-rate", "0.0005", "--terms", "5", "--start", "9999-12-31"),
         "2026-06-21", "loan.start: 9999-12-31 is outside"),
        (("credit", "report", "--month", "9999-12", "--out", "/nonexistent/report.txt"), "2026-06-21",
         "--month: 9999-12-01 is outside"),
        (("hardship", "propose", "1", "--maker", "li", "--settle-for", "2000", "--settle-within", "99999999999999"),
         "2026-06-21", "hardship.settlement_days: a settlement is paid within 1 to 90 days"),
        (("portfolio", "generate", "--out", "/nonexistent/ds", "--history-days", "99999999999999"), "2026-06-21",
         "--history-days must be from 0 to 3650"),
    ],
)  # fmt: skip
def test_far_dates_and_endless_day_counts_exit_2_with_one_line_and_change_nothing(
    cli: Any, args: tuple[str, ...], business_date: str, message: str
) -> None:
    before = _dump(cli.db)
    status, out, err = cli(*args, business_date=business_date)
    assert status == 2, err
    assert out == "" and err.count("\n") == 1 and message in err
    assert _dump(cli.db) == before


def test_a_day_end_far_ahead_of_today_needs_long_run(tmp_path: Path) -> None:
    """A store whose business date is today: closing more than ARREARS_EOD_CONFIRM_DAYS ahead is refused until
    --long-run confirms it (here with the setting lowered to 3 days, to keep the run short)."""
    db = tmp_path / "store.db"
    today = date.today().isoformat()
    through = (date.today() + timedelta(days=5)).isoformat()
    env = {"ARREARS_EOD_CONFIRM_DAYS": "3"}
    assert run_cli("db", "upgrade", db=db, business_date=today).returncode == 0
    before = _dump(db)
    refused = run_cli("eod", "run", "--through", through, db=db, business_date=today, **env)
    assert refused.returncode == 2 and "add --long-run if you mean it" in refused.stderr
    assert _dump(db) == before
    confirmed = run_cli("eod", "run", "--through", through, "--long-run", db=db, business_date=today, **env)
    assert confirmed.returncode == 0, confirmed.stderr
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT max(business_date) FROM day_ends").fetchone() == (through,)


# -- item 5: every input file read with a cap, refused at once -----------------------------------------------------


@pytest.fixture
def counted_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of every os.read the file reader makes (to show a refused file is not read)."""
    sizes: list[int] = []
    real = os.read

    def read(descriptor: int, size: int) -> bytes:
        sizes.append(size)
        return real(descriptor, size)

    monkeypatch.setattr(os, "read", read)  # arrears.files reads through os
    return sizes


def test_a_file_over_its_cap_is_refused_from_its_size_without_reading_it(
    tmp_path: Path, counted_reads: list[int]
) -> None:
    big = tmp_path / "big.toml"
    with big.open("wb") as handle:
        handle.truncate(files.PRODUCT_FILE_CAP + 1)  # sparse: no data written
    with pytest.raises(ProductError, match=r"the product file is larger than 1 MiB, its cap"):
        load_product(big)
    assert counted_reads == []


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "folder"])
def test_devices_pipes_and_folders_are_refused_without_reading(
    tmp_path: Path, special: str, counted_reads: list[int]
) -> None:
    """/dev/zero would never end, a FIFO without a writer would block the open: both refused at once."""
    if special == "fifo":
        path = tmp_path / "scenario.json"
        os.mkfifo(path)
    elif special == "folder":
        path = tmp_path
    else:
        path = Path(special)
    with pytest.raises(ScenarioError, match="the scenario file is not a regular file"):
        load_scenario(path)
    with pytest.raises(ProductError, match="the product file is not a regular file"):
        load_product(path)
    assert counted_reads == []


def test_a_file_that_grows_past_its_cap_while_read_is_cut_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The read stops one byte past the cap whatever the size said: a file appended to meanwhile cannot pass."""
    path = tmp_path / "growing.json"
    path.write_bytes(b"x" * 10)
    real_fstat = os.fstat
    monkeypatch.setattr(os, "fstat", lambda fd: os.stat_result((*real_fstat(fd)[:6], 1, *real_fstat(fd)[7:])))
    with pytest.raises(FileRefused, match="larger than 4 bytes"):
        read_capped(path, what="file", cap=4)
    assert read_capped(path, what="file", cap=10) == b"x" * 10


def test_a_scenario_file_within_its_cap_reads_as_before() -> None:
    assert load_scenario(SCENARIOS / "cn_grace_missed.json").terms.grace_days == 3


def test_a_line_whose_stored_product_is_now_out_of_bounds_does_not_stop_the_day_end(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A line opened before the bounds on the issue's product (max_daily_rate "5"; its loan at 0.0005 a day, within
    them): when its loan falls overdue the day-end reads the line's restriction rules from that snapshot, which no
    longer validates. The line keeps what is recorded (logged), and the day-end closes."""
    setup = Services(
        make_engine(database_url), Settings(database_url=database_url, business_date=date(2026, 5, 15)), origin="test"
    )
    borrower = setup.add_borrower(name="张三", phone="13800138000", timezone="Asia/Shanghai", language="zh")
    line = setup.open_line(borrower_id=borrower, product=load_product(SAMPLE_PRODUCT), limit=2_000_000)
    setup.draw(line_id=line, amount=100_000, terms=5, start=date(2026, 5, 15), key="a")
    setup.engine.dispose()
    services = Services(make_engine(database_url), Settings(database_url=database_url), origin="test")
    with services.transaction() as connection:
        snapshot = json.loads(connection.execute(select(t.credit_lines.c.product_document)).scalar_one())
        snapshot["pricing"]["max_daily_rate"] = "5"
        connection.execute(update(t.credit_lines).values(product_document=json.dumps(snapshot)))
    report = run_store(services, through=date(2026, 6, 20))  # 4 days past due on 06-20
    assert report.through == date(2026, 6, 20) and report.quarantined == []
    assert any("left as recorded" in record.getMessage() and "max_daily_rate" in record.getMessage()
               for record in caplog.records)  # fmt: skip
    services.engine.dispose()


def test_an_import_table_over_its_cap_is_refused_unread(tmp_path: Path, counted_reads: list[int]) -> None:
    """A portfolio table larger than 1 GiB (sparse here: nothing written) is one RowError, and is never read."""
    with (tmp_path / "lines.csv").open("wb") as handle:
        handle.truncate(files.IMPORT_FILE_CAP + 1)
    with pytest.raises(PortfolioRejected) as caught:
        check_portfolio(tmp_path, date(2026, 5, 15))
    reasons = {error.file: error.reason for error in caught.value.errors}
    assert reasons["lines.csv"] == "the import table is larger than 1 GiB, its cap (arrears.files); check the file"
    assert counted_reads == []


def test_a_strategy_file_is_read_with_the_same_reader() -> None:
    strategy, violations = check_strategy("/dev/zero")
    assert strategy is None and [v.message for v in violations] == [
        "the strategy file is not a regular file (a folder, device or pipe); give a file"
    ]
