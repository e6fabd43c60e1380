"""Portfolio analytics: figures on a hand-made portfolio whose roll rates are known, and the offline HTML report."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from arrears.analytics.portfolio import portfolio_report, with_decimal_amounts
from arrears.entrypoints.cli.main import main
from tests.support.paths import SCENARIOS

JAN, FEB, MAR = date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)
BUCKET = {"M0": 0, "M1": 1, "M2": 2, "M3": 3, "M4": 4}


def snap(loan: str, day: date, start: date, first_due: date, bucket: str, dpd: int, **more: Any) -> dict[str, Any]:
    row = {
        "loan_id": loan,
        "day": day,
        "start": start,
        "principal": 500_000,
        "outstanding_principal": more.pop("outstanding", 300_000),
        "days_past_due": dpd,
        "bucket": BUCKET[bucket],
        "classification": 0 if dpd == 0 else 1 if dpd <= 90 else 2,
        "non_accrual": dpd > 90,
        "first_installment_open": more.pop("first_open", False),
        "first_due": first_due,
        "settled": more.pop("settled", False),
    }
    assert not more
    return row


# A: never pays (first due 01-10); B: late in February, cured in March; C: repaid in March; D: never pays
# (first due 2025-12-20), non-accrual by March.
A = dict(start=date(2025, 12, 10), first_due=date(2026, 1, 10))
B = dict(start=date(2025, 12, 15), first_due=date(2026, 1, 15))
C = dict(start=date(2026, 1, 5), first_due=date(2026, 2, 5))
D = dict(start=date(2025, 11, 20), first_due=date(2025, 12, 20))
ROWS = [
    snap("A", JAN, **A, bucket="M1", dpd=21, first_open=True),
    snap("A", FEB, **A, bucket="M2", dpd=49, first_open=True),
    snap("A", MAR, **A, bucket="M3", dpd=80, first_open=True),
    snap("B", JAN, **B, bucket="M0", dpd=0),
    snap("B", FEB, **B, bucket="M1", dpd=13),
    snap("B", MAR, **B, bucket="M0", dpd=0),
    snap("C", JAN, **C, bucket="M0", dpd=0, first_open=True),
    snap("C", FEB, **C, bucket="M0", dpd=0),
    snap("C", MAR, **C, bucket="M0", dpd=0, settled=True, outstanding=0),
    snap("D", JAN, **D, bucket="M2", dpd=42, first_open=True),
    snap("D", FEB, **D, bucket="M3", dpd=70, first_open=True),
    snap("D", MAR, **D, bucket="M4", dpd=101, first_open=True, outstanding=250_000),
]


def rate(report_rate: dict[str, Any]) -> tuple[int, int, str]:
    return report_rate["numerator"], report_rate["denominator"], report_rate["percent"]


def test_roll_rates_of_a_hand_made_portfolio() -> None:
    """January -> February: A M1->M2, B M0->M1, C M0->M0, D M2->M3; February -> March: A M2->M3, B M1->M0,
    C M0->repaid, D M3->M4. So from M0: 1/3 stay, 1/3 roll to M1, 1/3 repaid; from M1: 1/2 to M2, 1/2 cured;
    from M2: 2/2 to M3; from M3: 1/1 to M4."""
    report = portfolio_report(ROWS, JAN, MAR)
    rolls = report["roll_rates"]
    assert rate(rolls["M0"]["M0"]) == rate(rolls["M0"]["M1"]) == rate(rolls["M0"]["repaid"]) == (1, 3, "33.33")
    assert rate(rolls["M1"]["M2"]) == rate(rolls["M1"]["M0"]) == (1, 2, "50.00")
    assert rate(rolls["M2"]["M3"]) == (2, 2, "100.00")
    assert rate(rolls["M3"]["M4"]) == (1, 1, "100.00")
    assert rate(rolls["M4"]["M4"]) == (0, 0, "-")  # nobody started a month in M4


def test_cure_rate_fpd_mix_and_non_accrual_by_hand() -> None:
    """Overdue on a month-end: A, D in January (neither cured), A, B, D in February (B cured): 1 of 5.
    FPD30 judged at the first month-end 30+ days after the first due date: A (Feb, unpaid, 49 DPD) and D (Jan,
    42 DPD) defaulted; B (Feb) had paid installment 1, C (Mar) was repaid: 2 of 4."""
    report = portfolio_report(ROWS, JAN, MAR)
    assert rate(report["cure_rate"]) == (1, 5, "20.00")
    assert rate(report["first_payment_default"]) == (2, 4, "50.00")
    march = report["bucket_mix"][-1]
    assert march["day"] == "2026-03-31"
    assert {k: v for k, v in march["count"].items() if v} == {"M0": 1, "M3": 1, "M4": 1}  # C repaid: not open
    assert report["non_accrual_balance"][-1] == {"day": "2026-03-31", "balance": 250_000}
    assert report["classification_mix"][-1]["count"]["substandard"] == 1


def test_vintage_curves_by_hand() -> None:
    """Vintage 2025-12 (A, B): 30+ at months on book 1, 2, 3 = 0/2, 1/2, 1/2; vintage 2025-11 (D) 90+ only at
    month 4 (101 DPD); vintage 2026-01 (C) is counted from month 1 (February), repaid loans included."""
    vintages = portfolio_report(ROWS, JAN, MAR)["vintages"]
    december = vintages["2025-12"]
    assert december["months_on_book"] == [1, 2, 3]
    assert [rate(r)[:2] for r in december["dpd30_plus"]] == [(0, 2), (1, 2), (1, 2)]
    assert [rate(r)[:2] for r in vintages["2025-11"]["dpd90_plus"]] == [(0, 1), (0, 1), (1, 1)]
    assert vintages["2026-01"]["months_on_book"] == [1, 2]


def test_the_range_limits_the_snapshots() -> None:
    report = portfolio_report(ROWS, FEB, MAR)
    assert report["snapshot_days"] == ["2026-02-28", "2026-03-31"]
    assert rate(report["roll_rates"]["M2"]["M3"]) == (1, 1, "100.00")  # only A's February -> March


def test_report_command_writes_an_offline_html_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Over a dataset after its day-ends: HTML that needs no network (no script, no external link, no import),
    with charts, and the same figures as --json."""
    dataset = tmp_path / "ds"
    files = [str(path) for path in sorted(SCENARIOS.glob("*.json"))]
    for argv in (
        ["portfolio", "import", *files, "--out", str(dataset)],
        ["eod", "run", "--dataset", str(dataset), "--through", "2026-09-30"],
    ):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code in (0, None)
    capsys.readouterr()
    out = tmp_path / "report.html"
    with pytest.raises(SystemExit) as done:
        main(
            [
                "report",
                "portfolio",
                "--dataset",
                str(dataset),
                "--from",
                "2026-01-01",
                "--to",
                "2026-09-30",
                "--out",
                str(out),
                "--lang",
                "en",
                "--json",
            ]
        )
    assert done.value.code in (0, None)
    figures = json.loads(capsys.readouterr().out)
    html = out.read_text(encoding="utf-8")
    assert html.count("<svg") == 5 and "Roll rates" in html
    assert not re.search(r"<script|<link|@import|url\(|src=|href=", html)
    assert set(re.findall(r"https?://[^\"' ]+", html)) == {"http://www.w3.org/2000/svg"}  # a namespace, not a fetch
    assert figures["snapshot_days"][-1] == "2026-09-30"
    september = figures["bucket_mix"][-1]
    assert sum(september["count"].values()) == 12 - _repaid_by(dataset)  # every open loan in some bucket
    assert figures["cure_rate"]["denominator"] > 0


def _repaid_by(dataset: Path) -> int:
    state = pq.read_table(next(dataset.glob("state/g*/part-00000.parquet")), columns=["settled_on"])
    return sum(1 for value in state.column("settled_on").to_pylist() if value is not None)


def test_figures_do_not_depend_on_how_the_runs_were_split() -> None:
    """A run that ended mid-month leaves a snapshot there; the report reads month-ends only, so the figures are
    those of nightly, monthly or one-off runs alike."""
    mid_month = snap("A", date(2026, 2, 14), **A, bucket="M2", dpd=35, first_open=True)
    assert portfolio_report([*ROWS, mid_month], JAN, MAR) == portfolio_report(ROWS, JAN, MAR)


def test_amounts_are_decimal_strings_to_the_cent() -> None:
    """What the API returns: 1 minor unit is "0.01", never 0.01 as a float nor 1 as a bare integer."""
    rows = [
        snap("a", JAN, date(2025, 12, 1), date(2026, 1, 1), "M0", 0, outstanding=1),
        snap("b", JAN, date(2025, 12, 1), date(2026, 1, 1), "M1", 20, outstanding=123_456_789),
        snap("c", JAN, date(2025, 12, 1), date(2026, 1, 1), "M4", 100, outstanding=99),
    ]
    report = with_decimal_amounts(portfolio_report(rows, JAN, JAN))
    [mix] = report["bucket_mix"]
    assert mix["balance"]["M0"] == "0.01" and mix["balance"]["M1"] == "1234567.89" and mix["balance"]["M2"] == "0.00"
    assert mix["count"]["M1"] == 1  # counts stay counts
    assert report["non_accrual_balance"] == [{"day": "2026-01-31", "balance": "0.99"}]
