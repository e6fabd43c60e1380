"""The store commands as a user runs them: the CLI contract of the ledger issue, on the embedded SQLite default."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from arrears.adapters import tables as t
from arrears.adapters.database import make_engine
from tests.support.cli import run_cli
from tests.support.paths import SAMPLE_PRODUCT


def run(db: Path, business_date: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, db=db, business_date=business_date, ARREARS_ACTOR="ops-test")


def ok(db: Path, business_date: str, *args: str) -> Any:
    result = run(db, business_date, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_cli_contract_end_to_end(tmp_path: Path, contract: Any) -> None:
    db = tmp_path / "arrears.db"
    assert run(db, "2026-01-15", "db", "upgrade").returncode == 0
    borrower = ok(db, "2026-01-15", "borrower", "add", "--name", "张三", "--phone", "13800138000")["borrower_id"]
    line = ok(
        db, "2026-01-15", "line", "open", "--borrower", str(borrower), "--product", str(SAMPLE_PRODUCT),
        "--limit", "20000", "--daily-rate", "0.0005",
    )["line_id"]  # fmt: skip
    loan = ok(db, "2026-01-15", "draw", str(line), "--amount", "5000", "--terms", "10", "--date", "2026-01-15",
              "--key", "d1")["loan_id"]  # fmt: skip
    allocation = ok(db, "2026-02-20", "repay", str(loan), "--amount", "560.50", "--date", "2026-02-15", "--key", "r1")
    assert allocation["allocated"]["interest"] == "77.50" and allocation["backdated"] is True
    again = ok(db, "2026-02-20", "repay", str(loan), "--amount", "560.50", "--date", "2026-02-15", "--key", "r1")
    assert again == allocation
    shown = ok(db, "2026-02-20", "loan", "show", str(loan), "--as-of", "2026-06-30")
    contract("simulate").validate(shown)
    assert shown["days_past_due"] == 135 and shown["outstanding_principal"] == "4517.00"
    verified = run(db, "2026-02-20", "ledger", "verify")
    assert verified.returncode == 0 and "ledger verified" in verified.stdout

    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        audit = connection.execute(select(t.audit_log.c.action, t.audit_log.c.actor, t.audit_log.c.details)).all()
    engine.dispose()
    assert [row.action for row in audit] == ["borrower.add", "line.open", "loan.draw", "loan.repayment"]
    assert all(row.actor == "ops-test" for row in audit)
    assert "13800138000" not in str(audit) and "138****8000" in str(audit)  # phone numbers masked in logs
    assert json.loads(audit[-1].details)["backdated"] is True  # backdated postings are flagged


def test_store_commands_refuse_bad_input_with_one_line(tmp_path: Path) -> None:
    db = tmp_path / "arrears.db"
    ok(db, "2026-01-15", "borrower", "add", "--name", "张三", "--phone", "13800138000")
    ok(db, "2026-01-15", "line", "open", "--borrower", "1", "--product", str(SAMPLE_PRODUCT), "--limit", "20000")
    ok(db, "2026-01-15", "draw", "1", "--amount", "5000", "--terms", "10", "--date", "2026-01-15", "--key", "d1")
    cases = [
        (["repay", "1", "--amount", "0", "--date", "2026-01-15", "--key", "k"], "above zero"),
        (["repay", "1", "--amount", "-5", "--date", "2026-01-15", "--key", "k"], "not a plain amount"),
        (["repay", "1", "--amount", "5.001", "--date", "2026-01-15", "--key", "k"], "at most two decimals"),
        (["repay", "1", "--amount", "5", "--date", "2026-01-16", "--key", "k"], "after the business date"),
        (["repay", "1", "--amount", "5", "--date", "2026-01-14", "--key", "k"], "before the loan's start"),
        (["repay", "7", "--amount", "5", "--date", "2026-01-15", "--key", "k"], "no loan 7"),
        (["repay", "1", "--amount", "5", "--date", "2026-01-15", "--key", "k", "--currency", "USD"], "is in CNY"),
        (["draw", "1", "--amount", "50", "--terms", "10", "--date", "2026-01-15", "--key", "k"], "drawdown.minimum"),
        (["draw", "1", "--amount", "16000", "--terms", "10", "--date", "2026-01-15", "--key", "k"], "line.available"),
        (["line", "open", "--borrower", "9", "--product", str(SAMPLE_PRODUCT), "--limit", "20000"], "no borrower 9"),
        (["line", "open", "--borrower", "1", "--product", str(SAMPLE_PRODUCT), "--limit", "300000"], "outside it"),
        (["borrower", "add", "--name", "x", "--phone", "abc"], "not a phone number"),
    ]
    for args, needle in cases:
        result = run(db, "2026-01-15", *args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stdout == "" and result.stderr.count("\n") == 1 and needle in result.stderr, (args, result.stderr)
    assert ok(db, "2026-01-15", "loan", "show", "1", "--as-of", "2026-01-15")["outstanding_principal"] == "5000.00"


def test_ledger_verify_exits_1_and_names_each_discrepancy(tmp_path: Path) -> None:
    db = tmp_path / "arrears.db"
    ok(db, "2026-01-15", "borrower", "add", "--name", "张三", "--phone", "13800138000")
    ok(db, "2026-01-15", "line", "open", "--borrower", "1", "--product", str(SAMPLE_PRODUCT), "--limit", "20000")
    ok(db, "2026-01-15", "draw", "1", "--amount", "5000", "--terms", "10", "--date", "2026-01-15", "--key", "d1")
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER postings_no_update"))
        connection.execute(text("UPDATE postings SET amount = amount + 100 WHERE account = 'principal_receivable'"))
    engine.dispose()
    result = run(db, "2026-01-15", "ledger", "verify")
    assert result.returncode == 1
    assert "trial balance is 1.00, not 0.00" in result.stdout
    assert "principal_receivable: books 5001.00, replay as of 2026-01-15 5000.00" in result.stdout
    assert "hash chain broken" in result.stdout
