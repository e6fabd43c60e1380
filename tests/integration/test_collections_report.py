"""``report collections``: arms compared on hand-checked figures, commissions to the cent, and the report over the
store with its HTML (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from arrears.analytics.collections import Outcome, Placed, PlannedAccount, collections_report, commission
from arrears.service_layer.collections import open_complaint, plan_day, record_contact
from arrears.service_layer.day_end_store import run_store
from tests.support.cli import run_cli
from tests.support.paths import STRATEGY
from tests.support.stores import SHANGHAI, known_agency
from tests.support.stores import services_on as _on
from tests.support.stores import two_loans_day_ended as _store


def test_arms_are_compared_on_figures_checked_by_hand() -> None:
    """champion: 3 accounts, one cured (dpd 0), one settled, one rolled from M1 to M2; challenger: 1 account,
    written off (rolled, not cured)."""
    accounts = [
        PlannedAccount(1, 1, "champion", first_dpd=10, planned=4, refused=1),
        PlannedAccount(2, 1, "champion", first_dpd=5, planned=3, refused=0),
        PlannedAccount(3, 2, "champion", first_dpd=20, planned=3, refused=2),
        PlannedAccount(4, 3, "challenger", first_dpd=40, planned=2, refused=0),
    ]
    outcomes = {
        1: Outcome(0, "open"),
        2: Outcome(0, "settled"),
        3: Outcome(45, "open"),
        4: Outcome(200, "written_off"),
    }
    report = collections_report(
        date(2026, 6, 1),
        date(2026, 6, 30),
        accounts,
        outcomes,
        recovered={1: 12_345, 2: 100_000, 4: 1},
        contacts={1: 5, 2: 2, 3: 7, 4: 3},
        complaints={2: 1, 9: 4},
        placements=[Placed("a", 3, 1_800, 12_345), Placed("a", 4, 1_800, 25), Placed("b", 1, 2_200, 0)],
    )
    champion, challenger = report["arms"]["champion"], report["arms"]["challenger"]
    assert champion["cure_rate"] == {"numerator": 2, "denominator": 3, "percent": "66.67"}
    assert champion["roll_rate"] == {"numerator": 1, "denominator": 3, "percent": "33.33"}
    assert champion["recovered"] == 112_345 and champion["contacts"] == 14
    assert champion["contacts_per_cure"] == "7.00"
    assert champion["refusals_per_planned_action"] == {"numerator": 3, "denominator": 10, "percent": "30.00"}
    assert champion["complaints_per_contact"] == {"numerator": 1, "denominator": 14, "percent": "7.14"}
    assert challenger["cure_rate"]["numerator"] == 0 and challenger["roll_rate"]["numerator"] == 1
    assert challenger["contacts_per_cure"] is None
    # 123.45 x 18% = 22.221 -> 22.22; 0.25 x 18% = 0.045 -> 0.05 (half up, per placement)
    assert report["agencies"] == {
        "a": {"accounts": 2, "recovered": 12_370, "commission": 2_222 + 5},
        "b": {"accounts": 1, "recovered": 0, "commission": 0},
    }


def test_commission_rounds_half_up_to_the_cent() -> None:
    assert [commission(n, 1_800) for n in (1, 2, 3, 25, 28)] == [0, 0, 1, 5, 5]
    assert commission(10_000_000_01, 2_250) == 225_000_000  # 10,000,000.01 x 22.5% = 2,250,000.00225
    assert commission(-12_345, 1_800) == -2_222


def test_the_report_over_the_store(new_database: Callable[[], str], tmp_path: Path) -> None:
    """Two loans planned 06-25 and 06-26; one pays 300.00 on 06-25; an agency call and a complaint recorded."""
    url = new_database()
    services, borrower, first = _store(url)
    known_agency(services, "huaxia-collect")
    record_contact(
        services,
        loan_id=first,
        channel="voice_call",
        at=datetime(2026, 6, 25, 9, tzinfo=SHANGHAI),
        agency="huaxia-collect",
        outcome="no_answer",
    )
    open_complaint(
        services, borrower_id=borrower, loan_id=first + 1, received_on=date(2026, 6, 25), category="amount", summary="x"
    )
    plan_day(services, date(2026, 6, 25), STRATEGY)
    _on(url, date(2026, 6, 25)).repay(loan_id=first, amount=30_000, value_date=date(2026, 6, 25), key="r")
    run_store(services, through=date(2026, 6, 25))
    plan_day(services, date(2026, 6, 26), STRATEGY)
    done = run_cli(
        "report",
        "collections",
        "--from",
        "2026-06-25",
        "--to",
        "2026-06-26",
        "--json",
        "--out",
        str(tmp_path / "c.html"),
        "--lang",
        "en",
        db=Path("unused"),
        business_date="2026-06-26",
        ARREARS_DATABASE_URL=url,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    arms = report["arms"]
    assert sum(a["accounts"] for a in arms.values()) == 2
    assert sum(a["recovered"] for a in arms.values()) == 30_000
    assert sum(a["contacts"] for a in arms.values()) == 1
    assert sum(a["complaints_per_contact"]["numerator"] for a in arms.values()) == 1
    html = (tmp_path / "c.html").read_text(encoding="utf-8")
    assert "<svg" in html and "Cure rate" in html and "http" not in html.replace("http://www.w3.org/2000/svg", "")
