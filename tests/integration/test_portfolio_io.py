"""Portfolio import (CSV and Parquet) and statement export, on SQLite and PostgreSQL.

An import is all or nothing: a portfolio with bad rows reports every one of them and writes nothing, and a
process killed in the middle of writing leaves every table empty (a real subprocess, killed with SIGKILL).
"""

from __future__ import annotations

import csv
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from arrears.adapters import tables as t
from arrears.adapters.database import make_engine
from arrears.config import Settings
from arrears.domain.dates import add_months
from arrears.domain.engine import Payment, replay
from arrears.domain.product import load_product
from arrears.domain.terms import InterestBasis, Method
from arrears.domain.views import state_view
from arrears.errors import InputRejected
from arrears.money import parse_amount
from arrears.service_layer.portfolio import PortfolioRejected, export_statements, import_portfolio, loan_statement
from arrears.service_layer.services import Services
from tests.support.cli import run_cli
from tests.support.paths import SAMPLE_PRODUCT

BUSINESS_DATE = date(2026, 6, 30)
PRODUCT = "products/cn-microcredit.toml"  # relative to the portfolio directory

LINES = [
    ["line_ref", "borrower_name", "phone", "product", "limit", "daily_rate"],
    ["L1", "张三", "13800138000", PRODUCT, "20000", ""],
    ["L2", "李四", "13900139000", PRODUCT, "10000", "0.0004"],
    ["L3", "张三", "13800138000", PRODUCT, "5000", ""],  # the same borrower as L1
]
LOANS = [
    ["loan_ref", "line_ref", "amount", "terms", "start", "method", "interest_basis"],
    ["A", "L1", "5000", "10", "2026-01-15", "", ""],
    ["B", "L1", "15000", "5", "2026-02-01", "equal-installment", ""],  # exactly the rest of L1's limit
    ["C", "L2", "10000", "20", "2026-03-10", "", "period"],
    ["D", "L3", "5000", "5", "2026-06-30", "", ""],  # starts on the business date: not backdated
]
PAYMENTS = [
    ["loan_ref", "date", "amount"],
    ["A", "2026-02-15", "560.50"],
    ["A", "2026-03-20", "560.50"],  # five days late
    ["C", "2026-04-10", "700"],
    ["C", "2026-05-01", "20000"],  # more than the payoff: settles the loan, the rest is held
]


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def portfolio(directory: Path, lines: list[list[str]], loans: list[list[str]], payments: list[list[str]]) -> Path:
    (directory / "products").mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLE_PRODUCT, directory / PRODUCT)
    write_csv(directory / "lines.csv", lines)
    write_csv(directory / "loans.csv", loans)
    write_csv(directory / "payments.csv", payments)
    return directory


def services_on(url: str, day: date = BUSINESS_DATE) -> Services:
    return Services(make_engine(url), Settings(database_url=url, business_date=day), origin="test")


def row_counts(services: Services) -> dict[str, int]:
    with services.engine.connect() as connection:
        return {
            table.name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
            for table in t.metadata.sorted_tables
        }


def expected_state(ref: str, as_of: date) -> dict[str, Any]:
    """The loan's state replayed by the engine straight from the portfolio's rows, without any database."""
    loan = next(row for row in LOANS[1:] if row[0] == ref)
    line = next(row for row in LINES[1:] if row[0] == loan[1])
    terms = load_product(SAMPLE_PRODUCT).loan_terms(
        principal=int(loan[2]) * 100,
        terms=int(loan[3]),
        start=date.fromisoformat(loan[4]),
        daily_rate=Decimal(line[5]) if line[5] else None,
        method=Method(loan[5]) if loan[5] else None,
        interest_basis=InterestBasis(loan[6]) if loan[6] else None,
    )
    payments = [
        Payment(date.fromisoformat(day), parse_amount(amount, field="amount"))
        for loan_ref, day, amount in PAYMENTS[1:]
        if loan_ref == ref
    ]
    return state_view(replay(terms, payments, as_of))


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return portfolio(tmp_path / "portfolio", LINES, LOANS, PAYMENTS)


def test_a_portfolio_imports_with_books_that_verify_and_states_equal_to_the_engine(
    database_url: str, good: Path
) -> None:
    services = services_on(database_url)
    report = import_portfolio(services, good)
    assert (report.borrowers, report.lines, report.loans, report.payments) == (2, 3, 4, 4)
    assert report.business_date == BUSINESS_DATE and not report.already_imported
    assert services.verify_ledger() == []
    for ref in "ABCD":
        for as_of in (BUSINESS_DATE, date(2026, 9, 30)):
            assert services.loan_state(report.loan_ids[ref], as_of) == expected_state(ref, as_of), (ref, as_of)

    counts = row_counts(services)
    assert counts["borrowers"] == 2 and counts["credit_lines"] == 3 and counts["loans"] == 4
    assert counts["transactions"] == 4 + 4  # a disbursement per loan and every payment
    assert counts["ledger_entries"] == 4  # one import entry per loan
    assert counts["audit_log"] == 1 and counts["idempotency_keys"] == 1
    with services.engine.connect() as connection:
        loans = {row.id: row for row in connection.execute(select(t.loans))}
        assert loans[report.loan_ids["C"]].status == "settled"
        assert loans[report.loan_ids["A"]].status == "open"
        assert {row.kind for row in connection.execute(select(t.ledger_entries))} == {"import"}
        backdated = {
            (row.loan_id, row.kind, row.value_date): row.backdated for row in connection.execute(select(t.transactions))
        }
        assert backdated[(report.loan_ids["A"], "repayment", date(2026, 3, 20))] is True
        assert backdated[(report.loan_ids["D"], "disbursement", BUSINESS_DATE)] is False
        lines = {row.id: row for row in connection.execute(select(t.credit_lines))}
        assert lines[report.line_ids["L2"]].daily_rate == "0.0004"
        assert lines[report.line_ids["L1"]].opened_on == date(2026, 1, 15)  # its first loan's start
        audit = connection.execute(select(t.audit_log)).one()
    details = json.loads(audit.details)
    assert audit.action == "portfolio.import" and details["loans"] == 4 and details["loan_ids"] == report.loan_ids
    assert "13800138000" not in audit.details

    again = import_portfolio(services, good)  # the same files: answered from the first import, nothing written
    assert again.already_imported and again.loan_ids == report.loan_ids
    assert row_counts(services) == counts
    services.engine.dispose()


def test_imported_books_equal_the_books_of_the_same_history_posted_by_commands(database_url: str, good: Path) -> None:
    services = services_on(database_url)
    report = import_portfolio(services, good)
    borrower = services.add_borrower(name="王五", phone="13700137000")
    line = services.open_line(borrower_id=borrower, product=load_product(SAMPLE_PRODUCT), limit=2_000_000)
    live = services.draw(line_id=line, amount=500_000, terms=10, start=date(2026, 1, 15), key="live")
    services.repay(loan_id=live, amount=56050, value_date=date(2026, 2, 15), key="p1")
    services.repay(loan_id=live, amount=56050, value_date=date(2026, 3, 20), key="p2")

    def balances(loan_id: int) -> dict[str, int]:
        with services.engine.connect() as connection:
            rows = connection.execute(
                select(t.postings.c.account, func.sum(t.postings.c.amount))
                .where(t.postings.c.loan_id == loan_id)
                .group_by(t.postings.c.account)
            )
            return {account: int(total) for account, total in rows if total}

    imported = report.loan_ids["A"]
    assert balances(imported) == balances(live)
    assert services.loan_state(imported, BUSINESS_DATE) == services.loan_state(live, BUSINESS_DATE)
    assert services.verify_ledger() == []
    services.engine.dispose()


def write_parquet(directory: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def strings(rows: list[list[str]]) -> dict[str, list[str | None]]:
        header, body = rows[0], rows[1:]
        return {name: [row[index] or None for row in body] for index, name in enumerate(header)}

    pq.write_table(pa.table(strings(LINES)), directory / "lines.parquet")
    loans: dict[str, Any] = strings(LOANS)
    loans["terms"] = pa.array([int(value) for value in loans["terms"]], pa.int64())  # whole numbers may be ints
    loans["start"] = pa.array([date.fromisoformat(value) for value in loans["start"]], pa.date32())
    pq.write_table(pa.table(loans), directory / "loans.parquet")
    payments: dict[str, Any] = strings(PAYMENTS)
    payments["loan_ref"] = pa.array(payments["loan_ref"], pa.string()).dictionary_encode()
    pq.write_table(pa.table(payments), directory / "payments.parquet")


def test_the_parquet_portfolio_imports_the_same(database_url: str, tmp_path: Path) -> None:
    directory = tmp_path / "parquet"
    (directory / "products").mkdir(parents=True)
    shutil.copy(SAMPLE_PRODUCT, directory / PRODUCT)
    write_parquet(directory)
    services = services_on(database_url)
    report = import_portfolio(services, directory)
    assert (report.borrowers, report.lines, report.loans, report.payments) == (2, 3, 4, 4)
    assert services.verify_ledger() == []
    for ref in "ABCD":
        assert services.loan_state(report.loan_ids[ref], BUSINESS_DATE) == expected_state(ref, BUSINESS_DATE)
    services.engine.dispose()


def test_a_float_column_in_parquet_is_refused_by_name_and_nothing_is_written(database_url: str, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory = tmp_path / "floats"
    (directory / "products").mkdir(parents=True)
    shutil.copy(SAMPLE_PRODUCT, directory / PRODUCT)
    write_parquet(directory)
    amounts = [float(row[2]) for row in PAYMENTS[1:]]
    refs = [row[0] for row in PAYMENTS[1:]]
    days = [row[1] for row in PAYMENTS[1:]]
    pq.write_table(pa.table({"loan_ref": refs, "date": days, "amount": amounts}), directory / "payments.parquet")
    services = services_on(database_url)
    with pytest.raises(PortfolioRejected) as caught:
        import_portfolio(services, directory)
    assert [(e.file, e.row, e.field) for e in caught.value.errors] == [("payments.parquet", None, "amount")]
    assert "float column" in caught.value.errors[0].reason and "string column" in caught.value.errors[0].reason
    assert set(row_counts(services).values()) == {0}
    services.engine.dispose()


def test_every_bad_row_is_reported_and_nothing_is_written(database_url: str, tmp_path: Path) -> None:
    lines = [
        *LINES,
        ["L1", "王五", "13700137000", PRODUCT, "5000", ""],  # row 5: duplicate ref
        ["L5", "赵六", "139", PRODUCT, "20,000", "0.0009"],  # row 6: phone, limit, rate
        ["L6", "钱七", "13600136000", "missing.toml", "5000", ""],  # row 7: product
    ]
    loans = [
        *LOANS,
        ["E", "L9", "1000", "10", "2026-02-01", "", ""],  # row 6: unknown line
        ["F", "L2", "5,000", "7", "2026-13-01", "equal", ""],  # row 7: amount, terms, start, method
        ["A", "L2", "1000", "10", "2026-02-01", "", ""],  # row 8: duplicate ref
        ["G", "L1", "1000", "10", "2026-03-01", "", ""],  # row 9: L1 has only 483.00 left (A and B)
        ["H", "L2", "1000", "10", "2026-07-01", "", ""],  # row 10: after the business date
        ["I", "L6", "1000", "10", "2026-02-01", "", ""],  # row 11: its line is bad: no extra error
    ]
    payments = [
        *PAYMENTS,
        ["A", "2026-01-01", "100"],  # row 6: before the loan's start
        ["A", "2026-07-01", "100"],  # row 7: after the business date
        ["Z", "2026-03-01", "100"],  # row 8: unknown loan
        ["A", "2026-03-01", "1e3"],  # row 9: not a plain amount
        ["A", "2026-03-01", "0"],  # row 10: zero
        ["", "", ""],  # row 11: blank, skipped
        ["A", "2026-03-01"],  # row 12: a field short
    ]
    directory = portfolio(tmp_path / "bad", lines, loans, payments)
    services = services_on(database_url)
    with pytest.raises(PortfolioRejected) as caught:
        import_portfolio(services, directory)
    where = [(e.file, e.row, e.field) for e in caught.value.errors]
    assert where == [
        ("lines.csv", 5, "line_ref"),
        ("lines.csv", 6, "phone"),
        ("lines.csv", 6, "limit"),
        ("lines.csv", 6, "daily_rate"),
        ("lines.csv", 7, "product"),
        ("loans.csv", 6, "line_ref"),
        ("loans.csv", 7, "amount"),
        ("loans.csv", 7, "terms"),
        ("loans.csv", 7, "start"),
        ("loans.csv", 7, "method"),
        ("loans.csv", 8, "loan_ref"),
        ("loans.csv", 9, "amount"),
        ("loans.csv", 10, "start"),
        ("payments.csv", 6, "date"),
        ("payments.csv", 7, "date"),
        ("payments.csv", 8, "loan_ref"),
        ("payments.csv", 9, "amount"),
        ("payments.csv", 10, "amount"),
        ("payments.csv", 12, None),
    ]
    errors = {(e.file, e.row, e.field): str(e) for e in caught.value.errors}
    assert errors[("loans.csv", 7, "amount")] == (
        "loans.csv row 7 amount: '5,000' is not a plain amount; write at most 15 digits with at most two decimals, "
        'such as "560.50"'
    )
    assert "rule line.available" in errors[("loans.csv", 9, "amount")]
    assert "7 terms is not offered" in errors[("loans.csv", 7, "terms")]
    assert errors[("lines.csv", 6, "phone")].startswith("lines.csv row 6 phone: *** is not a phone number")  # masked
    assert str(caught.value).startswith("19 errors in the portfolio; the first: lines.csv row 5 line_ref:")
    assert isinstance(caught.value, InputRejected)
    assert set(row_counts(services).values()) == {0}
    assert services.verify_ledger() == []
    services.engine.dispose()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: (d / "payments.csv").unlink(), ("payments.csv", None, None, "is missing")),
        (lambda d: (d / "lines.parquet").write_bytes(b"x"), ("lines.csv", None, None, "are both in")),
        (lambda d: write_csv(d / "loans.csv", [["loan_ref", "line", "amount", "terms", "start"]]),
         ("loans.csv", 1, "line", "is not a column of loans")),
        (lambda d: write_csv(d / "payments.csv", [["loan_ref", "date"]]),
         ("payments.csv", 1, "amount", "missing from the header")),
        (lambda d: (d / "lines.csv").write_bytes(b"\xff\xfe not utf-8"), ("lines.csv", None, None, "not UTF-8")),
        (lambda d: (d / "loans.parquet").unlink(missing_ok=True) or (d / "loans.csv").write_text(""),
         ("loans.csv", 1, None, "header row is missing")),
    ],
)  # fmt: skip
def test_file_level_problems_are_reported(tmp_path: Path, change: Any, expected: tuple[Any, ...]) -> None:
    directory = portfolio(tmp_path / "p", LINES, LOANS, PAYMENTS)
    change(directory)
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(PortfolioRejected) as caught:
        import_portfolio(services_on(url), directory)  # refused before the database is touched for writing
    file, row, field, reason = expected
    assert any((e.file, e.row, e.field) == (file, row, field) and reason in e.reason for e in caught.value.errors), (
        caught.value.errors
    )


def read_statement(path: Path) -> dict[str, list[list[str]]]:
    """A statement's blocks by the first cell of their header row."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    blocks: dict[str, list[list[str]]] = {}
    current: list[list[str]] = []
    for row in [*rows, []]:
        if row:
            current.append(row)
        elif current:
            blocks[current[0][0]] = current[1:]
            current = []
    return blocks


def test_export_writes_one_statement_per_loan(database_url: str, good: Path, tmp_path: Path) -> None:
    services = services_on(database_url)
    report = import_portfolio(services, good)
    ids = report.loan_ids
    tx = t.transactions
    with services.engine.connect() as connection:
        repayments = connection.execute(
            select(tx.c.id).where(tx.c.loan_id == ids["A"], tx.c.kind == "repayment").order_by(tx.c.id)
        ).all()
    second = repayments[1][0]
    reversal = services.reverse(transaction_id=second, key="bounce")  # the late payment bounced

    out = tmp_path / "statements"
    exported = export_statements(services, out, BUSINESS_DATE)
    assert sorted(path.name for path in exported.files) == sorted(f"loan-{ids[ref]}.csv" for ref in "ABCD")
    assert sorted(path.name for path in out.iterdir()) == sorted(path.name for path in exported.files)

    blocks = read_statement(out / f"loan-{ids['A']}.csv")
    terms = dict(blocks["term"])
    assert terms["principal"] == "5000.00" and terms["start"] == "2026-01-15" and terms["method"] == "equal-principal"
    assert [row[:6] for row in blocks["value_date"]] == [
        ["2026-01-15", "disbursement", "5000.00", "", "true", "false"],
        ["2026-02-15", "repayment", "560.50", "", "true", "false"],
        ["2026-03-20", "repayment", "560.50", "", "true", "true"],
        ["2026-03-20", "reversal", "560.50", "", "true", "false"],
    ]
    assert blocks["value_date"][3][6] == str(reversal["transaction_id"])
    state = services.loan_state(ids["A"], BUSINESS_DATE)
    shown = dict(blocks["state"])
    assert shown["days_past_due"] == str(state["days_past_due"])
    assert shown["outstanding_principal"] == state["outstanding_principal"]
    assert shown["overdue_total"] == state["overdue"]["total"] and shown["status"] == "open"
    assert [row[2] for row in blocks["installment"]] == [item["status"] for item in state["installments"]]
    assert dict(read_statement(out / f"loan-{ids['C']}.csv")["state"])["status"] == "settled"
    as_json = loan_statement(services, ids["A"], BUSINESS_DATE)  # the API's statement: the same figures
    assert [(r["amount"], r["reversed"]) for r in as_json["transactions"]] == [
        ("5000.00", False), ("560.50", False), ("560.50", True), ("560.50", False)
    ]  # fmt: skip
    assert {k: "" if v is None else str(v) for k, v in as_json["state"].items()} == shown
    assert [list(map(str, item.values())) for item in as_json["installments"]] == blocks["installment"]
    with pytest.raises(InputRejected, match="after the as-of date"):
        loan_statement(services, ids["D"], date(2026, 3, 31))

    early = export_statements(services, tmp_path / "early", date(2026, 3, 31), [ids["A"], ids["C"]])
    assert [path.name for path in early.files] == [f"loan-{ids['A']}.csv", f"loan-{ids['C']}.csv"]
    assert len(read_statement(early.files[1])["value_date"]) == 1  # C's payments came in April and May
    everything = export_statements(services, tmp_path / "all-early", date(2026, 3, 31))
    assert everything.skipped == (ids["D"],)
    with pytest.raises(InputRejected, match="after the as-of date"):
        export_statements(services, tmp_path / "none", date(2026, 3, 31), [ids["A"], ids["D"]])
    assert not (tmp_path / "none").exists()  # refused before any file is written
    services.engine.dispose()


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("portfolio", *args, db=db, business_date=BUSINESS_DATE.isoformat())


def test_the_cli_prints_every_row_error_then_imports_and_exports(tmp_path: Path, good: Path) -> None:
    db = tmp_path / "cli.db"
    bad = portfolio(tmp_path / "bad", LINES, [*LOANS, ["E", "L9", "1000", "10", "2026-02-01", "", ""]],
                    [*PAYMENTS, ["A", "2026-07-01", "1e3"]])  # fmt: skip
    refused = cli(db, "import", str(bad))
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        "loans.csv row 6 line_ref: no line 'L9' in the lines table; add the line or correct the ref",
        "payments.csv row 6 date: 2026-07-01 is after the business date 2026-06-30; money cannot be posted for a "
        "day not yet come",
        "payments.csv row 6 amount: '1e3' is not a plain amount; write at most 15 digits with at most two decimals, "
        'such as "560.50"',
        "arrears: error: 3 errors in the portfolio; the first: loans.csv row 6 line_ref: no line 'L9' in the lines "
        "table; add the line or correct the ref",
    ]
    imported = cli(db, "import", str(good), "--json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["loans"] == 4
    exported = cli(db, "export", "--out", str(tmp_path / "out"), "--as-of", "2026-06-30", "--loan", "1", "--loan", "2")
    assert exported.returncode == 0, exported.stderr
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["loan-1.csv", "loan-2.csv"]
    wrong = cli(db, "export", "--out", str(tmp_path / "out"), "--as-of", "30/06/2026")
    assert wrong.returncode == 2 and "--as-of" in wrong.stderr


# -- a process killed in the middle of an import --------------------------------------------------------------

KILL_LOANS = 5_000  # five batches of 1,000: killed after the first, with seconds of writing still to go

IMPORTER = (
    "import sys\n"
    "from arrears.entrypoints.bootstrap import open_services\n"
    "from arrears.service_layer.portfolio import import_portfolio\n"
    "import_portfolio(open_services(), sys.argv[1], progress=lambda message: print(message, flush=True))\n"
)


def big_portfolio(directory: Path, loans: int) -> Path:
    start = date(2025, 6, 1)
    lines = [LINES[0]] + [[f"L{i}", f"借款人{i}", f"138{i:08d}", PRODUCT, "20000", ""] for i in range(loans)]
    loan_rows = [LOANS[0][:5]] + [
        [f"A{i}", f"L{i}", "5000", "10", (start + timedelta(days=i % 200)).isoformat()] for i in range(loans)
    ]
    payments = [PAYMENTS[0]] + [
        [f"A{i}", add_months(start + timedelta(days=i % 200), k).isoformat(), "600.00"]
        for i in range(loans)
        for k in (1, 2)
    ]
    return portfolio(directory, lines, loan_rows, payments)


def test_a_process_killed_mid_import_leaves_nothing(database_url: str, tmp_path: Path) -> None:
    directory = big_portfolio(tmp_path / "big", KILL_LOANS)
    env = {**os.environ, "ARREARS_DATABASE_URL": database_url, "ARREARS_BUSINESS_DATE": BUSINESS_DATE.isoformat()}
    stderr = (tmp_path / "stderr.txt").open("w")
    process = subprocess.Popen(
        [sys.executable, "-c", IMPORTER, str(directory)], stdout=subprocess.PIPE, stderr=stderr, text=True, env=env
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: [lines.put(line.rstrip("\n")) for line in stdout], daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + 300
    try:
        while not any(line.startswith("written ") for line in seen):  # rows are in the open transaction
            try:
                seen.append(lines.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                pytest.fail(f"the import never started writing; it printed {seen}")
        wal = Path(database_url.removeprefix("sqlite:///") + "-wal")
        uncommitted = wal.stat().st_size if database_url.startswith("sqlite") else None
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=60)
        stderr.close()
    assert process.returncode == -signal.SIGKILL, (tmp_path / "stderr.txt").read_text()
    assert seen[-1] == f"written 1000 of {KILL_LOANS} loans" and "committed" not in seen
    if uncommitted is not None:  # SQLite: the open transaction had spilled pages to the WAL; recovery drops them
        assert uncommitted > 0

    services = services_on(database_url)
    assert set(row_counts(services).values()) == {0}  # not one row of any table
    assert services.verify_ledger() == []

    report = import_portfolio(services, directory)  # and the import can simply be run again
    assert report.loans == KILL_LOANS and not report.already_imported
    assert row_counts(services)["loans"] == KILL_LOANS
    services.engine.dispose()
