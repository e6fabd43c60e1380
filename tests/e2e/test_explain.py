"""``explain``: every amount owed broken down line by line, adding up exactly to what ``loan show`` shows."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.day_end.reference import DayEndPolicy
from arrears.domain.engine import LoanEvent, Payment, replay, replay_events
from arrears.domain.explain import explain
from arrears.domain.scenario import load_scenario
from arrears.domain.terms import Component, LoanTerms
from arrears.errors import InputRejected
from arrears.money import parse_amount
from tests.support.cli import store_with_a_loan
from tests.support.hypothesis_strategies import event_histories
from tests.support.paths import SCENARIOS

AGEING = SCENARIOS / "cn_ageing.json"  # 2,500.00, 5 x equal principal, d 0.0005, from 2026-05-15, never paid


def test_why_do_i_owe_1_90_of_penalty() -> None:
    """After day-end 06-20 the ageing loan owes 1.90 of penalty: five day-ends (06-16..06-20), each on the unpaid
    principal 500.00 at 0.0005 x 1.5 = 0.00075 a day: 0.375, rounded half up to 0.38 (the engine's docstring)."""
    scenario = load_scenario(AGEING)
    view = explain(scenario.terms, scenario.payments, date(2026, 6, 20), loan="ageing", lang="en-US")
    first = view["installments"][0]
    penalty = first["penalty"]
    assert (penalty["charged"], penalty["paid_or_waived"], penalty["owed"]) == ("1.90", "0.00", "1.90")
    assert [(line["day"], line["base"], line["rate"], line["exact"], line["charged"]) for line in penalty["lines"]] == [
        (f"2026-06-{day}", "500.00", "0.00075", "0.375", "0.38") for day in range(16, 21)
    ]
    assert penalty["lines"][0]["rule"] == "penalty.rate" and "251" in penalty["lines"][0]["source"]
    assert first["compound"]["owed"] == "0.15"  # 5 x round(38.75 x 0.00075 = 0.0290625) = 5 x 0.03
    assert first["interest"]["lines"][0]["exact"] == "38.75"  # 2,500.00 x 0.0005 x 31 days
    assert view["owed"] == {"interest": "38.75", "penalty": "1.90", "compound": "0.15"}
    chinese = explain(scenario.terms, scenario.payments, date(2026, 6, 20), loan="ageing", lang="zh-CN")
    assert chinese["installments"][0]["penalty"]["lines"][0]["text"].startswith("2026-06-16日终：逾期本金500.00")


def test_grace_charges_are_shown_held_then_dropped_or_charged() -> None:
    """Grace of 3 days: day-ends due+1..due+3 hold the charges back. Paid in full within grace: dropped. Not paid:
    charged at the grace end, then day by day."""
    terms = replace(load_scenario(AGEING).terms, grace_days=3)
    unpaid = explain(terms, [], date(2026, 6, 20), loan="x", lang="en-US")["installments"][0]["penalty"]
    kinds = [line["kind"] for line in unpaid["lines"]]
    assert kinds == ["held_in_grace"] * 3 + ["released_at_grace_end", "daily_charge", "daily_charge"]
    assert unpaid["charged"] == unpaid["owed"] == "1.90"  # 3 x 0.38 held, charged at 06-18; 06-19, 06-20 daily
    paid = explain(terms, [Payment(date(2026, 6, 17), 53875)], date(2026, 6, 20), loan="x", lang="en-US")
    lines = paid["installments"][0]["penalty"]["lines"]
    assert [line["kind"] for line in lines] == ["held_in_grace", "dropped_in_grace"]  # day-end 06-16, paid 06-17
    assert paid["installments"][0]["penalty"]["charged"] == "0.00" and paid["owed"]["penalty"] == "0.00"


def test_an_early_settlement_shows_the_interest_for_the_actual_days() -> None:
    terms = load_scenario(AGEING).terms
    view = explain(terms, [Payment(date(2026, 5, 25), 300_000)], date(2026, 6, 30), loan="x", lang="en-US")
    (installment,) = view["installments"]
    (line,) = installment["interest"]["lines"]
    assert line["kind"] == "early_settlement" and line["rule"] == "interest.early_settlement"
    assert (line["base"], line["exact"], line["charged"]) == ("2500.00", "12.5", "12.50")  # 2,500 x 0.0005 x 10


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=event_histories(), extra=st.integers(0, 200))
def test_the_lines_add_up_to_what_loan_show_shows(
    history: tuple[LoanTerms, list[LoanEvent], DayEndPolicy], extra: int
) -> None:
    """For random loans, payments, waivers and write-offs: each installment's lines add up to its charged amount,
    what it owes is what the engine's state shows, and across installments the charges and what was paid or
    waived agree with the engine's own totals (an independent check: those come from allocation, not from the
    lines)."""
    terms, events, _ = history
    as_of = max([terms.start, *(event.value_date for event in events)]) + timedelta(days=extra)
    view = explain(terms, events, as_of, loan="x", lang="en-US")
    state = replay(terms, events, as_of)
    loan = replay_events(terms, events, as_of)
    loan.close_through(as_of)
    totals = loan.totals(as_of)
    by_number = {row.number: row for row in state.installments}
    charged = dict.fromkeys(("interest", "penalty", "compound"), 0)
    settled = dict.fromkeys(("interest", "penalty", "compound"), 0)
    for installment in view["installments"]:
        row = by_number[installment["number"]]
        for component in ("interest", "penalty", "compound"):
            part = installment.get(component)
            if part is None:
                assert getattr(row, component) == 0 or component == "interest"
                continue
            assert sum(parse_amount(line["charged"], field="x") for line in part["lines"]) == parse_amount(
                part["charged"], field="x"
            )
            assert parse_amount(part["owed"], field="x") == getattr(row, component)
            assert parse_amount(part["paid_or_waived"], field="x") >= 0
            charged[component] += parse_amount(part["charged"], field="x")
            settled[component] += parse_amount(part["paid_or_waived"], field="x")
    assert charged["penalty"] == totals.charged[Component.PENALTY]
    assert charged["compound"] == totals.charged[Component.COMPOUND]
    assert charged["interest"] == totals.charged[Component.INTEREST]
    for component in (Component.PENALTY, Component.COMPOUND, Component.INTEREST):
        assert settled[component.value] == totals.allocated[component] + totals.waived[component]
    for line in (
        line for i in view["installments"] for p in ("penalty", "compound") for line in i.get(p, {}).get("lines", [])
    ):
        if line["kind"] in ("daily_charge", "held_in_grace"):
            assert Decimal(line["exact"]) == Decimal(line["base"]) * Decimal(line["rate"])  # the exact product


def test_bad_input_is_refused() -> None:
    terms = load_scenario(AGEING).terms
    with pytest.raises(InputRejected, match="--lang"):
        explain(terms, [], date(2026, 6, 20), loan="x", lang="fr")
    with pytest.raises(InputRejected, match="before the loan started"):
        explain(terms, [], date(2026, 5, 1), loan="x")


def test_the_cli_explains_a_stored_loan(tmp_path: Path) -> None:
    _, arrears = store_with_a_loan(tmp_path)
    done = arrears("explain", "1", "--date", "2026-06-20", "--json", "--lang", "en-US", on="2026-06-21")
    assert done.returncode == 0, done.stderr
    view = json.loads(done.stdout)
    shown = json.loads(arrears("loan", "show", "1", "--as-of", "2026-06-20", "--json", on="2026-06-21").stdout)
    assert view["owed"]["penalty"] == shown["overdue"]["penalty"] != "0.00"
    refused = arrears("explain", "7", "--date", "2026-06-20", on="2026-06-21")
    assert refused.returncode == 2 and "no loan 7" in refused.stderr
