"""Restrictions and the way back (解封): the sample product's rules over a line's history, exact amounts to lift,
refusals of anything outside the lender's product, and the borrower's standing on the store."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from arrears.domain.engine import LoanEvent, Payment
from arrears.domain.product import LiftCondition, RestrictionRule, RestrictionScope, load_product
from arrears.domain.scenario import load_scenario
from arrears.errors import InputRejected
from arrears.money import parse_amount
from arrears.restrictions.registry import OUTSIDE_PRODUCT, RestrictionRefused, line_history, refuse_outside_product
from arrears.restrictions.standing import LineInput, standing
from tests.support.cli import run_cli, store_with_a_loan
from tests.support.paths import SAMPLE_PRODUCT, SCENARIOS

RULES = load_product(SAMPLE_PRODUCT).rules.restrictions
TERMS = load_scenario(SCENARIOS / "cn_ageing.json").terms  # 2,500.00, 5 terms from 2026-05-15, first due 06-15
FIRST_DUE = date(2026, 6, 15)


def during(day: date, events: list[LoanEvent]) -> Any:
    return line_history(RULES, [(1, TERMS, events)], day)


def names(day: date, events: list[LoanEvent]) -> list[str]:
    return [r.rule.name for r in during(day, events).in_force]


def test_the_sample_product_ships_the_three_rules() -> None:
    assert [(r.name, r.scope, r.dpd_at_least, r.lift) for r in RULES] == [
        ("suspend_drawdown", RestrictionScope.DRAWDOWN, 2, LiftCondition.NOTHING_OVERDUE),
        ("reduce_limit", RestrictionScope.LIMIT, 30, LiftCondition.GOOD_STANDING),
        ("close_line", RestrictionScope.LINE, 90, LiftCondition.REVIEW_AFTER_FULL_REPAYMENT),
    ]
    with pytest.raises(ValidationError, match="good_standing_days"):
        RestrictionRule(
            name="x", scope=RestrictionScope.LIMIT, dpd_at_least=3, lift=LiftCondition.GOOD_STANDING, legal_basis="c"
        )


def test_unpaid_the_line_is_restricted_step_by_step() -> None:
    """Grace is 1 day: DPD 1 after day-end 06-16 restricts nothing; DPD 2 after 06-17 suspends drawdowns (from
    06-18); DPD 30 after 07-15 lowers the limit to the principal then outstanding; DPD 90 after 09-13 closes it."""
    assert names(date(2026, 6, 17), []) == []
    assert names(date(2026, 6, 18), []) == ["suspend_drawdown"]
    line = during(date(2026, 7, 16), [])
    assert [r.rule.name for r in line.in_force] == ["suspend_drawdown", "reduce_limit"]
    assert line.in_force[1].since == date(2026, 7, 15) and line.in_force[1].limit == 250_000
    assert line.limit_in_force(2_000_000) == 250_000
    assert names(date(2026, 9, 14), []) == ["suspend_drawdown", "reduce_limit", "close_line"]
    rule, by = during(date(2026, 6, 18), []).next_escalation(RULES)
    assert (rule.name, by) == ("reduce_limit", FIRST_DUE + timedelta(days=30))


def test_paying_the_amount_to_lift_lifts_at_once_and_a_cent_less_does_not() -> None:
    day = date(2026, 6, 25)
    view = standing(1, [LineInput(1, 2_000_000, RULES, ((1, TERMS, ()),))], day, "en-US")
    (restriction,) = view["restrictions"]
    assert restriction["scope"] == "drawdown" and restriction["lift_by"] == "2026-07-15"
    amount = parse_amount(restriction["amount_to_lift"], field="amount_to_lift")
    assert amount == parse_amount(view["overdue_total"], field="overdue_total") > 53_875  # installment + charges
    assert names(day, [Payment(day, amount)]) == []
    assert names(day, [Payment(day, amount - 1)]) == ["suspend_drawdown"]


def test_a_standing_memoised_by_its_inputs_is_the_standing_replayed_and_a_new_event_is_another_key() -> None:
    """standing memoises the line's replay by its inputs (arrears.restrictions.standing.line_during): asked again, it
    answers as a
    fresh replay does; a payment a cent short, then the whole amount, are other inputs and other answers."""
    from arrears.restrictions import standing as module

    day = date(2026, 6, 25)
    module._replayed.cache_clear()

    def view(events: tuple[LoanEvent, ...]) -> dict[str, Any]:
        return standing(1, [LineInput(1, 2_000_000, RULES, ((1, TERMS, events),))], day, "en-US")

    unpaid = view(())
    assert view(()) == unpaid and module._replayed.cache_info().hits == 1
    amount = parse_amount(unpaid["overdue_total"], field="overdue_total")
    short = view((Payment(day, amount - 1),))
    assert short["overdue_total"] == "0.01" and [r["scope"] for r in short["restrictions"]] == ["drawdown"]
    paid = view((Payment(day, amount),))
    assert paid["overdue_total"] == "0.00" and paid["restrictions"] == []
    assert view(()) == unpaid  # the first answer, unchanged by the ones after
    listed = standing(1, [LineInput(1, 2_000_000, RULES, [(1, TERMS, [])])], day, "en-US")  # type: ignore[arg-type]
    assert listed == unpaid  # lists cannot be a key: replayed without the memo


def test_the_limit_comes_back_after_thirty_clean_day_ends() -> None:
    """Paid everything overdue on 07-20 and installment 3 on its due date: the drawdown suspension lifts on 07-20;
    the lowered limit after 30 day-ends in a row with nothing overdue (07-20..08-18), from 08-19."""
    owed = during(date(2026, 7, 20), []).overdue[1]
    events: list[LoanEvent] = [Payment(date(2026, 7, 20), owed), Payment(date(2026, 8, 15), 52_325)]
    assert names(date(2026, 7, 20), events) == ["reduce_limit"]
    assert names(date(2026, 8, 18), events) == ["reduce_limit"]
    assert names(date(2026, 8, 19), events) == []
    history = during(date(2026, 8, 19), events).history
    assert [(r.rule.name, r.since, r.lifted_on) for r in history] == [
        ("suspend_drawdown", date(2026, 6, 17), date(2026, 7, 20)),
        ("reduce_limit", date(2026, 7, 15), date(2026, 8, 19)),
    ]


def test_a_backdated_payment_lifts_as_of_its_value_date() -> None:
    """The history is what the events give: a payment recorded on 06-30 with value date 06-20 shows the suspension
    lifted on 06-20, as if it had arrived on time."""
    owed = during(date(2026, 6, 20), []).overdue[1]
    history = during(date(2026, 6, 30), [Payment(date(2026, 6, 20), owed)]).history
    assert [(r.rule.name, r.lifted_on) for r in history] == [("suspend_drawdown", date(2026, 6, 20))]


@pytest.mark.parametrize("scope", ["messaging_account", "wechat", "qq_account", "contacts", "show_overdue_to_friends"])
def test_anything_outside_the_lenders_product_is_refused_with_its_rule_and_source(scope: str) -> None:
    with pytest.raises(RestrictionRefused) as refused:
        refuse_outside_product(scope)
    assert refused.value.rule == OUTSIDE_PRODUCT
    assert "PIPL" in refused.value.source and "253" in refused.value.source
    assert refuse_outside_product("drawdown") is RestrictionScope.DRAWDOWN


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as connection:
        return int(connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_on_the_store_a_restricted_drawdown_is_refused_and_paying_lifts_it(tmp_path: Path, contract: Any) -> None:
    """A borrower 10 days late: `draw` exits 2 naming the restriction and how to lift it; `standing` (validated
    against the contract) gives the exact amount; paying it that day lifts the suspension and the drawdown goes."""
    _, arrears = store_with_a_loan(tmp_path)
    refused = arrears(
        "draw", "1", "--amount", "1000", "--terms", "5", "--date", "2026-06-25", "--key", "d-2", on="2026-06-25"
    )
    assert refused.returncode == 2
    assert "suspend_drawdown" in refused.stderr and "lifts at once" in refused.stderr
    shown = arrears("standing", "1", "--date", "2026-06-25", "--json", "--lang", "en-US", on="2026-06-25")
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    contract("standing").validate(view)
    (restriction,) = view["restrictions"]
    assert any("WeChat" in sentence for sentence in view["not_affected"])
    paid = arrears(
        "repay", "1", "--amount", restriction["amount_to_lift"], "--date", "2026-06-25", "--key", "r-1", on="2026-06-25"
    )
    assert paid.returncode == 0, paid.stderr
    after = json.loads(arrears("standing", "1", "--date", "2026-06-25", "--json", on="2026-06-25").stdout)
    assert after["restrictions"] == [] and after["overdue_total"] == "0.00"
    drawn = arrears(
        "draw", "1", "--amount", "1000", "--terms", "5", "--date", "2026-06-25", "--key", "d-2", on="2026-06-25"
    )
    assert drawn.returncode == 0, drawn.stderr


def test_the_cli_refuses_a_restriction_outside_the_product_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    assert (
        run_cli(
            "borrower", "add", "--name", "张三", "--phone", "13800138000", db=db, business_date="2026-05-15"
        ).returncode
        == 0
    )
    before = _count(db, "audit_log")
    refused = run_cli("restrict", "--line", "1", "--scope", "messaging_account", db=db, business_date="2026-05-15")
    assert refused.returncode == 2 and OUTSIDE_PRODUCT in refused.stderr and "PIPL" in refused.stderr
    assert _count(db, "audit_log") == before
    with pytest.raises(InputRejected, match="--lang"):
        standing(1, [], date(2026, 6, 1), "fr")


def test_a_closed_line_reopens_only_by_review_after_full_repayment(tmp_path: Path) -> None:
    """Never paid: the line is closed after the day-end of 09-13 (90 days). A review before full repayment is
    refused; paid in full on 09-20, the drawdown suspension lifts at once but the closure stays until the review,
    which then lifts it: the drawdown goes (within the lowered limit, 30 clean day-ends not yet passed)."""
    _, on_the_store = store_with_a_loan(tmp_path)

    def arrears(*args: str, on: str = "2026-09-20") -> Any:
        return on_the_store(*args, on=on)

    early = arrears("line", "review", "1", "--note", "asked by the borrower", "--key", "rv-0")
    assert early.returncode == 2 and "only after full repayment" in early.stderr
    assert arrears("repay", "1", "--amount", "10000", "--date", "2026-09-20", "--key", "r-1").returncode == 0
    closed = arrears("draw", "1", "--amount", "1000", "--terms", "5", "--date", "2026-09-20", "--key", "d-2")
    assert closed.returncode == 2 and "close_line" in closed.stderr and "review" in closed.stderr
    reviewed = arrears("line", "review", "1", "--note", "repaid in full; re-opened", "--key", "rv-1", "--json")
    assert reviewed.returncode == 0, reviewed.stderr
    assert json.loads(reviewed.stdout)["lifted"] == ["close_line"]
    view = json.loads(arrears("standing", "1", "--date", "2026-09-20", "--json", "--lang", "en-US").stdout)
    assert [r["rule"] for r in view["restrictions"]] == ["reduce_limit"]
    drawn = arrears("draw", "1", "--amount", "1000", "--terms", "5", "--date", "2026-09-20", "--key", "d-2")
    assert drawn.returncode == 0, drawn.stderr
    again = arrears("line", "review", "1", "--note", "again", "--key", "rv-2")
    assert again.returncode == 2 and "nothing to re-open" in again.stderr
