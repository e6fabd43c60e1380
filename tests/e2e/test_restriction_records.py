"""The restrictions registry as recorded: what the day-ends and the commands record equals, every day, the history
the line's events give (arrears.restrictions.registry.line_history); a backdated payment lifts as of its value date
with the
history kept; a reversal reinstates; facts that never warranted a restriction withdraw it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from arrears.domain.engine import LoanEvent, Payment
from arrears.domain.product import LiftCondition, RestrictionRule, RestrictionScope, load_product
from arrears.domain.scenario import load_scenario
from arrears.money import format_minor
from arrears.restrictions.registry import (
    Change,
    ChangeKind,
    Recorded,
    Restriction,
    clean_from,
    day_end_changes,
    line_history,
    reconcile,
)
from tests.support.cli import store_with_a_loan
from tests.support.paths import SAMPLE_PRODUCT, SCENARIOS

TERMS = load_scenario(SCENARIOS / "cn_ageing.json").terms  # 2,500.00, 5 terms from 2026-05-15, first due 06-15
FIRST_DUE = date(2026, 6, 15)
# the sample product's rules with small thresholds, so a few weeks exercise every one of them
RULES = (
    RestrictionRule(name="suspend", scope="drawdown", dpd_at_least=2, lift="nothing_overdue", legal_basis="c 8.1"),
    RestrictionRule(
        name="lower", scope="limit", dpd_at_least=5, lift="good_standing", good_standing_days=4, legal_basis="c 8.2"
    ),
    RestrictionRule(
        name="close", scope="line", dpd_at_least=12, lift="review_after_full_repayment", legal_basis="c 8.3"
    ),
    RestrictionRule(  # put on only when collections decide it (a strategy's suspend_drawdown), from 3 days
        name="decided",
        scope="drawdown",
        trigger="decision",
        dpd_at_least=3,
        lift="nothing_overdue",
        legal_basis="c 8.4",
    ),
)


class Registry:
    """What the store's tables hold, in memory: restrictions by id, withdrawn ones left out."""

    def __init__(self) -> None:
        self.rows: dict[int, Recorded] = {}
        self.log: list[tuple[ChangeKind, date, date]] = []  # kind, effective, recorded on

    def apply(self, changes: list[Change], recorded_on: date, clean: dict[int, date | None]) -> None:
        new: dict[int, int] = {}
        for change in changes:
            self.log.append((change.kind, change.effective_on, recorded_on))
            if change.kind is ChangeKind.IMPOSED:
                r = change.restriction
                assert r is not None
                row_id = len(self.log)
                new[id(r)] = row_id
                self.rows[row_id] = Recorded(row_id, r.rule.name, r.since, r.days_past_due, r.limit, None)
                continue
            row_id = new[id(change.restriction)] if change.recorded is None else change.recorded
            if change.kind is ChangeKind.WITHDRAWN:
                del self.rows[row_id]
            else:
                lifted = change.effective_on if change.kind is ChangeKind.LIFTED else None
                self.rows[row_id] = replace(self.rows[row_id], lifted_on=lifted)
        for row_id, day in clean.items():
            self.rows[row_id] = replace(self.rows[row_id], clean_from=day)

    def in_force(self) -> list[Recorded]:
        return [r for r in self.rows.values() if r.lifted_on is None]

    def reconciled(self, derived: Any, recorded_on: date) -> None:
        self.apply(reconcile(list(self.rows.values()), derived.history), recorded_on, {})
        since = clean_from(derived)
        self.apply([], recorded_on, {r.id: since for r in self.in_force()})

    def view(self) -> list[tuple[str, date, int, int | None, date | None]]:
        return sorted((r.rule, r.since, r.days_past_due, r.limit, r.lifted_on) for r in self.rows.values())


def view(history: tuple[Restriction, ...]) -> list[tuple[str, date, int, int | None, date | None]]:
    return sorted((r.rule.name, r.since, r.days_past_due, r.limit, r.lifted_on) for r in history)


# a payment: (loan, value date offset from the first due date, days late it is posted, amount)
payments = st.lists(
    st.tuples(
        st.integers(0, 1),
        st.integers(-10, 40),
        st.sampled_from([0, 0, 0, 1, 3, 9]),
        st.one_of(st.integers(1, 60_000), st.sampled_from([150_000, 300_000, 700_000])),
    ),
    max_size=8,
)


@settings(max_examples=80, deadline=None)
@given(
    payments=payments,
    second_start=st.one_of(st.none(), st.integers(0, 25)),
    decided_days=st.sets(st.integers(0, 40), max_size=4),
)
def test_the_day_end_and_the_commands_record_what_the_events_give(
    payments: list[tuple[int, int, int, int]], second_start: int | None, decided_days: set[int]
) -> None:
    """Two loans on a line, payments posted on the day or days late, collections decisions on some days; each
    business day the commands reconcile the line when they may change it (something in force, or a backdated
    payment), each day-end applies the rules from the line's days past due alone and the day's decisions (what
    the store's day-end does); after every day-end the registry equals :func:`line_history` of the events and
    decisions known by then."""
    decisions = frozenset((FIRST_DUE + timedelta(days=d), "decided") for d in decided_days)
    terms = {0: TERMS}
    if second_start is not None:
        terms[1] = replace(TERMS, start=TERMS.start + timedelta(days=second_start))
    payments = [p for p in payments if p[0] in terms]
    known: list[tuple[date, int, LoanEvent]] = sorted(
        [
            (FIRST_DUE + timedelta(days=offset + late), loan, Payment(FIRST_DUE + timedelta(days=offset), amount))
            for loan, offset, late, amount in payments
        ],
        key=lambda known_event: known_event[0],
    )
    registry = Registry()
    day = TERMS.start
    while day <= FIRST_DUE + timedelta(days=60):

        def loans(by: date) -> list[tuple[int, Any, list[LoanEvent]]]:
            return [(i, terms[i], [e for posted, loan, e in known if loan == i and posted <= by]) for i in terms]

        posted = [e for at, _, e in known if at == day]
        known_decisions = frozenset((on, rule) for on, rule in decisions if on <= day)
        if posted and (registry.in_force() or any(e.value_date < day for e in posted)):
            registry.reconciled(line_history(RULES, loans(day), day, (), known_decisions), day)
        after = line_history(RULES, loans(day), day + timedelta(days=1), (), known_decisions)  # day-end ``day``
        today = {rule for on, rule in decisions if on == day}
        changes, clean = day_end_changes(
            RULES, registry.in_force(), day, after.days_past_due, after.outstanding_principal, today
        )
        registry.apply(changes, day, clean)
        assert registry.view() == view(after.history), f"after day-end {day}"
        day += timedelta(days=1)
    event(f"changes recorded: {sorted({kind.value for kind, _, _ in registry.log})}")
    event(f"decided restriction imposed: {any(rule == 'decided' for rule, *_ in registry.view())}")


def test_a_backdated_payment_lifts_as_of_its_value_date_and_keeps_the_history() -> None:
    """Unpaid, drawdowns are suspended from the day-end of 06-17 and the limit lowered from that of 06-20. A
    payment of everything due, dated 06-20 but posted on 06-25: the suspension is lifted effective 06-20,
    recorded on 06-25, its imposition kept; the lower limit, which that payment would have prevented, is
    withdrawn (recorded, not erased)."""
    registry = Registry()
    day = FIRST_DUE
    while day < date(2026, 6, 25):
        after = line_history(RULES, [(1, TERMS, [])], day + timedelta(days=1))
        found, clean = day_end_changes(
            RULES, registry.in_force(), day, after.days_past_due, after.outstanding_principal
        )
        registry.apply(found, day, clean)
        day += timedelta(days=1)
    assert registry.view() == [
        ("lower", date(2026, 6, 20), 5, 250_000, None),
        ("suspend", date(2026, 6, 17), 2, None, None),
    ]
    owed = line_history(RULES, [(1, TERMS, [])], date(2026, 6, 20)).overdue[1]
    late = [Payment(date(2026, 6, 20), owed)]
    registry.reconciled(line_history(RULES, [(1, TERMS, late)], day), day)
    assert registry.view() == [("suspend", date(2026, 6, 17), 2, None, date(2026, 6, 20))]
    assert registry.log == [
        (ChangeKind.IMPOSED, date(2026, 6, 17), date(2026, 6, 17)),
        (ChangeKind.IMPOSED, date(2026, 6, 20), date(2026, 6, 20)),
        (ChangeKind.LIFTED, date(2026, 6, 20), date(2026, 6, 25)),
        (ChangeKind.WITHDRAWN, date(2026, 6, 20), date(2026, 6, 25)),
    ]


def test_reconcile_reinstates_a_reversed_lift_and_withdraws_what_the_events_no_longer_give() -> None:
    rule = RULES[0]
    imposed = Restriction(rule, date(2026, 6, 17), None, 2, None)
    lifted = Restriction(rule, date(2026, 6, 17), date(2026, 6, 20), 2, None)
    recorded_lifted = Recorded(7, "suspend", date(2026, 6, 17), 2, None, date(2026, 6, 20))
    assert reconcile([recorded_lifted], [imposed]) == [Change(ChangeKind.REINSTATED, date(2026, 6, 17), recorded=7)]
    assert reconcile([recorded_lifted], [lifted]) == []
    assert reconcile([recorded_lifted], []) == [Change(ChangeKind.WITHDRAWN, date(2026, 6, 17), recorded=7)]
    later = Restriction(rule, date(2026, 6, 18), None, 2, None)  # a different day-end: another restriction
    assert [c.kind for c in reconcile([recorded_lifted], [later])] == [ChangeKind.IMPOSED, ChangeKind.WITHDRAWN]
    assert [c.kind for c in reconcile([], [lifted])] == [ChangeKind.IMPOSED, ChangeKind.LIFTED]


def test_good_standing_counts_consecutive_clean_day_ends_from_the_last_dirty_one() -> None:
    rule = RULES[1]
    assert rule.lift is LiftCondition.GOOD_STANDING and rule.scope is RestrictionScope.LIMIT
    active = [Recorded(1, "lower", date(2026, 6, 20), 5, 250_000, None, clean_from=None)]
    changes, clean = day_end_changes(RULES, active, date(2026, 7, 1), 0, 0)
    assert (changes, clean) == ([], {1: date(2026, 7, 1)})  # the first clean day-end
    active = [replace(active[0], clean_from=date(2026, 7, 1))]
    assert day_end_changes(RULES, active, date(2026, 7, 3), 0, 0) == ([], {})  # three clean: not yet four
    changes, _ = day_end_changes(RULES, active, date(2026, 7, 4), 0, 0)
    assert changes == [Change(ChangeKind.LIFTED, date(2026, 7, 5), recorded=1)]  # four: lifted from the next day
    assert day_end_changes(RULES, active, date(2026, 7, 4), 1, 0) == ([], {1: None})  # past due again: run broken


def test_the_store_records_what_day_ends_and_corrections_did(tmp_path: Path) -> None:
    """Over the store and its CLI: day-ends suspend drawdowns from the day-end of 06-17; a payment of everything
    due dated 06-20 and posted on 06-25 lifts it effective 06-20 (recorded 06-25, the imposition kept);
    reversing that payment on 06-26 reinstates it (recorded 06-26). Each event names its cause."""
    _, arrears = store_with_a_loan(tmp_path)
    done = arrears("eod", "run", "--through", "2026-06-24", on="2026-06-25")
    assert done.returncode == 0, done.stderr

    def recorded() -> list[dict[str, Any]]:
        shown = arrears("line", "restrictions", "1", "--json", on="2026-06-26")
        assert shown.returncode == 0, shown.stderr
        return json.loads(shown.stdout)["restrictions"]  # type: ignore[no-any-return]

    [suspended] = recorded()
    assert (suspended["rule"], suspended["since"], suspended["lifted_on"]) == ("suspend_drawdown", "2026-06-17", None)
    assert [(e["kind"], e["effective_on"], e["recorded_on"]) for e in suspended["events"]] == [
        ("imposed", "2026-06-17", "2026-06-17")
    ]
    assert suspended["events"][0]["cause"].startswith("day-end 2026-06-17")
    sample = load_product(SAMPLE_PRODUCT).rules.restrictions
    owed = line_history(sample, [(1, TERMS, [])], date(2026, 6, 20)).overdue[1]
    paid = arrears(
        "repay", "1", "--amount", format_minor(owed), "--date", "2026-06-20", "--key", "late", "--json", on="2026-06-25"
    )
    assert paid.returncode == 0, paid.stderr
    [suspended] = recorded()
    assert suspended["lifted_on"] == "2026-06-20"
    assert [(e["kind"], e["effective_on"], e["recorded_on"]) for e in suspended["events"]] == [
        ("imposed", "2026-06-17", "2026-06-17"),
        ("lifted", "2026-06-20", "2026-06-25"),
    ]
    transaction = json.loads(paid.stdout)["transaction_id"]
    assert f"transaction {transaction}" in suspended["events"][1]["cause"]
    reversed_ = arrears("reverse", str(transaction), "--key", "undo", on="2026-06-26")
    assert reversed_.returncode == 0, reversed_.stderr
    [suspended] = recorded()
    assert suspended["lifted_on"] is None
    assert [(e["kind"], e["recorded_on"]) for e in suspended["events"]][-1] == ("reinstated", "2026-06-26")
    unknown = arrears("line", "restrictions", "9", on="2026-06-26")
    assert unknown.returncode == 2 and "no credit line 9" in unknown.stderr


def test_commands_ahead_of_the_day_end_are_never_taken_back_by_it(tmp_path: Path) -> None:
    """Day-ends through 06-16 only; a payment of everything due, dated 06-19, posted on business date 06-22: the
    command records what it knows (suspended from the day-end of 06-17, lifted 06-19). The day-ends catching up
    to 06-22 then record nothing new: no withdrawal, no reinstatement, no date recorded before the command's."""
    _, arrears = store_with_a_loan(tmp_path)
    assert arrears("eod", "run", "--through", "2026-06-16", on="2026-06-17").returncode == 0
    sample = load_product(SAMPLE_PRODUCT).rules.restrictions
    owed = line_history(sample, [(1, TERMS, [])], date(2026, 6, 19)).overdue[1]
    paid = arrears("repay", "1", "--amount", format_minor(owed), "--date", "2026-06-19", "--key", "p", on="2026-06-22")
    assert paid.returncode == 0, paid.stderr
    assert arrears("eod", "run", "--through", "2026-06-22", on="2026-06-22").returncode == 0
    shown = arrears("line", "restrictions", "1", "--json", on="2026-06-23")
    [suspended] = json.loads(shown.stdout)["restrictions"]
    events = [(e["kind"], e["effective_on"], e["recorded_on"]) for e in suspended["events"]]
    assert events == [("imposed", "2026-06-17", "2026-06-22"), ("lifted", "2026-06-19", "2026-06-22")]
