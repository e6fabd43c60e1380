"""The CLI as a user runs it: a real subprocess, JSON checked against shared/contracts, bad input exits 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from arrears.access import Role
from tests.support.paths import ROOT, SCENARIOS

SCHEDULE = ["schedule", "--principal", "10000", "--daily-rate", "0.0005", "--terms", "10"]
SCHEDULE += ["--method", "equal-installment", "--interest-basis", "period", "--start", "2026-01-15"]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arrears.entrypoints.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def test_schedule_json_follows_the_contract(contract: Any) -> None:
    result = run(*SCHEDULE, "--json")
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    contract("schedule").validate(view)
    assert view["installments"][0] == {
        "number": 1,
        "due_date": "2026-02-15",
        "principal": "934.34",
        "interest": "150.00",
        "payment": "1084.34",
    }
    assert view["total_principal"] == "10000.00"
    assert view["simple_annual_rate_percent"] == "18.25"


def test_schedule_for_people_shows_the_annualised_rate() -> None:
    result = run(*SCHEDULE)
    assert result.returncode == 0, result.stderr
    assert "1084.34" in result.stdout and "年化利率" in result.stdout


def test_simulate_json_follows_the_contract(contract: Any) -> None:
    result = run("simulate", str(SCENARIOS / "cn_late_then_paid.json"), "--as-of", "2026-06-20", "--json")
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    contract("simulate").validate(view)
    assert (view["days_past_due"], view["bucket"], view["overdue"]["total"]) == (5, "M1", "440.72")


def test_payoff_json_follows_the_contract(contract: Any) -> None:
    result = run("payoff", str(SCENARIOS / "cn_payoff_early.json"), "--on", "2026-07-01", "--json")
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    contract("payoff").validate(view)
    assert view == {
        "on": "2026-07-01",
        "overdue_and_due": "0.00",
        "current_interest": "16.00",
        "principal_not_yet_due": "2000.00",
        "total": "2016.00",
    }


def _scenario(tmp_path: Path, document: Any) -> str:
    path = tmp_path / "scenario.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return str(path)


LOAN = {"principal": "2500.00", "daily_rate": "0.0005", "terms": 5, "method": "equal-principal", "start": "2026-05-15"}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--method", "annuity"], "loan.method"),
        (["--principal", "0"], "loan.principal: must be above zero"),
        (["--principal", "-5"], "not a plain amount"),
        (["--principal", "10.001"], "at most two decimals"),
        (["--principal", "1e4"], "not a plain amount"),
        (["--daily-rate", "-0.0005"], "not a plain rate"),
        (["--daily-rate", "NaN"], "not a plain rate"),
        (["--start", "2026-02-30"], "not a calendar date"),
        (["--start", "15/01/2026"], "YYYY-MM-DD"),
        (["--terms", "ten"], "--terms"),
        (["--rounding", "up"], "rounding"),
    ],
)
def test_bad_schedule_input_exits_2_with_one_line(args: list[str], needle: str) -> None:
    options = dict(zip(SCHEDULE[1::2], SCHEDULE[2::2], strict=True))
    options.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = run("schedule", *[item for pair in options.items() for item in pair], "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and needle in result.stderr


@pytest.mark.parametrize(
    ("document", "needle"),
    [
        ({"loan": {**LOAN, "principal": 2500}}, "amounts are strings"),
        ({"loan": {**LOAN, "principal": "2500.5e0"}}, "not a plain amount"),
        ({"loan": {**LOAN, "daily_rate": 0.0005}}, "a float is not a rate"),
        ({"loan": {**LOAN, "terms": "5"}}, "whole number"),
        ({"loan": {**LOAN, "terms": True}}, "whole number"),
        ({"loan": {**LOAN, "method": "bullet"}}, "loan.method"),
        ({"loan": LOAN, "payments": [{"date": "2026-05-14", "amount": "10.00"}]}, "before the loan's start"),
        ({"loan": LOAN, "payments": [{"date": "2026-06-14", "amount": "0.00"}]}, "payment must be above zero"),
        ({"loan": LOAN, "product": {"grace": 1}}, "product.grace: is not a known setting"),
        ({"loan": LOAN, "product": {"grace_days": -1}}, "product.grace_days"),
        ('{"loan": {"principal": NaN}}', "NaN is not allowed"),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_scenario_exits_2_with_one_line(tmp_path: Path, document: Any, needle: str) -> None:
    result = run("simulate", _scenario(tmp_path, document), "--as-of", "2026-06-30", "--json")
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and needle in result.stderr, result.stderr


def test_bad_dates_and_files_exit_2(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, {"loan": LOAN})
    for args in (
        ["simulate", scenario, "--as-of", "2026-13-01"],
        ["simulate", scenario, "--as-of", "2026-05-14"],  # before the start
        ["payoff", scenario, "--on", "yesterday"],
        ["simulate", str(tmp_path / "missing.json"), "--as-of", "2026-06-30"],
        ["demo", "--product", str(tmp_path / "missing.toml")],
    ):
        result = run(*args)
        assert result.returncode == 2, args
        assert result.stdout == "" and result.stderr.count("\n") == 1, args


def test_demo_runs_small_and_persists(tmp_path: Path) -> None:
    product = str(ROOT / "products" / "cn-microcredit.toml")
    args = ["demo", "--product", product, "--borrowers", "60", "--months", "2", "--out", str(tmp_path / "portfolio")]
    env = {**os.environ, "ARREARS_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}
    result = subprocess.run(
        [sys.executable, "-m", "arrears.entrypoints.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for heading in ("Bucket mix", "五级分类", "Roll rates", "balanced", "imported into", "ledger verify"):
        assert heading in result.stdout
    assert "every loan equal to the reference engine" in result.stdout  # the day-end over a dataset, checked
    assert "--lang zh-CN" in result.stdout and "--lang en-US" in result.stdout  # standings in both languages
    assert "WeChat or QQ account" in result.stdout and "微信或QQ账号" in result.stdout  # what is NOT affected
    printed = " ".join(result.stdout.split())  # the console wraps long lines
    assert "arrears collections plan --date" in printed  # a day of collections planned on the store
    assert "collections, day by day" in printed and "arrears report collections --from" in printed
    outbox = [json.loads(line) for line in (tmp_path / "portfolio" / "collections" / "outbox.jsonl").open()]
    assert outbox and {m["channel"] for m in outbox} >= {"sms", "voice_call"}  # five days of messages sent
    assert "<svg" in (tmp_path / "portfolio" / "collections" / "collections.html").read_text(encoding="utf-8")
    assert "refused: a strategy asking to freeze the WeChat account" in printed  # and the article refused
    assert "(rule restriction.outside_product)" in printed
    report = tmp_path / "portfolio" / "report.html"
    assert f"portfolio report: {report}" in result.stdout
    assert "<svg" in report.read_text(encoding="utf-8")
    assert "arrears credit report --month" in printed and "held back" in printed  # the month's bureau file
    assert "arrears serve --port 8000" in printed and printed.count("Authorization: Bearer ") == len(Role)  # one a role
    assert "arrears hardship propose" in printed and "refused: hardship.maker_checker" in printed  # issue 8's demo
    assert "arrears credit dispute open" in printed
    assert "/console/queue" in printed and "/borrower" in printed and "/sign-in" in printed  # issue 10's pages
    assert sorted(p.name for p in (tmp_path / "portfolio").iterdir()) == [
        "collections",
        next(p.name for p in (tmp_path / "portfolio").iterdir() if p.name.startswith("credit-")),
        "dataset",
        "lines.csv",
        "loans.csv",
        "payments.csv",
        "report.html",
    ]
