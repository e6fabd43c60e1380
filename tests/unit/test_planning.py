"""Daily collection planning: the columnar planner equals the scalar reference action by action; caps hold across
rules, attempts, a borrower's loans and the agencies' contacts; stops and opt-outs refuse with their rule."""

from __future__ import annotations

import tomllib
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

from arrears.collections.planning import (
    BUCKETS,
    CHANNEL_CODES,
    PROMISES,
    STATUS_BITS,
    Accounts,
    AccountView,
    History,
    agencies_batch,
    agency_of,
    arm_of,
    arms_batch,
    plan_accounts,
    plan_batch,
)
from arrears.collections.policy import Channel, Contact, ContactFacts, Status
from arrears.collections.strategy import Action, ActionStep, Strategy, check_document, load_strategy
from tests.support.paths import ROOT

DAY = date(2026, 6, 20)
CN = load_strategy(ROOT / "strategies" / "cn-default.toml")
US = load_strategy(ROOT / "strategies" / "us-default.toml")


def strategy_of(text: str) -> Strategy:
    loaded, violations = check_document(tomllib.loads(text), "test strategy")
    assert loaded is not None, violations
    return loaded


# as many calls as the cn cap allows, from two rules that overlap
CROWDED = strategy_of(
    '[strategy]\nname = "crowded"\njurisdiction = "cn"\n\n'
    '[[rules]]\nwhen = { dpd_min = 1 }\nactions = [ { action = "voice_call", at = "09:00", times_per_day = 2 } ]\n\n'
    "[[rules]]\nwhen = { dpd_min = 3 }\n"
    'actions = [ { action = "voice_call", at = "10:00", times_per_day = 2 },\n'
    '            { action = "sms", template = "reminder", at = "20:30" } ]\n'
)
# texts (automated: TCPA consent) and three calls on one day, against Reg F's 7 in 7 days
TIGHT = strategy_of(
    '[strategy]\nname = "tight"\njurisdiction = "us"\n\n'
    '[[rules]]\nwhen = { dpd_min = 0 }\nactions = [ { action = "sms", template = "reminder", at = "08:00" } ]\n\n'
    "[[rules]]\nwhen = { dpd_min = 5, dpd_max = 5 }\n"
    'actions = [ { action = "voice_call", at = "16:00", times_per_day = 3 } ]\n'
)


def arrays(views: list[AccountView]) -> Accounts:
    views = sorted(views, key=lambda v: v.loan)
    segments = tuple(sorted({v.segment for v in views}))

    def days(value: date | None) -> int:
        return value.toordinal() if value else -1

    return Accounts(
        loan=np.array([v.loan for v in views], np.int64),
        borrower=np.array([v.borrower for v in views], np.int64),
        days_past_due=np.array([v.days_past_due for v in views], np.int32),
        bucket=np.array([BUCKETS.index(v.bucket) for v in views], np.int8),
        overdue=np.array([v.overdue for v in views], np.int64),
        segment=np.array([segments.index(v.segment) for v in views], np.int32),
        segments=segments,
        promise=np.array([PROMISES.index(v.promise) for v in views], np.int8),
        statuses=np.array([sum(STATUS_BITS[s] for s in v.account.statuses) for v in views], np.int32),
        opted_out=np.array([sum(1 << CHANNEL_CODES[c] for c in v.account.opted_out) for v in views], np.int32),
        automated_consent=np.array([v.account.automated_consent for v in views], bool),
        first_contact=np.array([days(v.account.first_contact) for v in views], np.int32),
        validation_notice_sent=np.array([days(v.account.validation_notice_sent) for v in views], np.int32),
        placed_on=np.array([days(v.placed_on) for v in views], np.int32),
        limitation_from=np.array([days(v.account.limitation_from) for v in views], np.int32),
        recalled=np.array([v.recalled for v in views], bool),
    )


def history_arrays(history: dict[int, list[Contact]]) -> History:
    rows = [(b, c.loan, CHANNEL_CODES[c.channel], c.at.date().toordinal()) for b, cs in history.items() for c in cs]
    columns = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    return History(*(np.array(column, np.int64) for column in columns))


def same(strategy: Strategy, views: list[AccountView], history: dict[int, list[Contact]]) -> list[tuple[Any, ...]]:
    """Both planners on the same input; asserts they agree and returns the plan as tuples."""
    reference = plan_accounts(strategy, views, DAY, history)
    accounts = arrays(views)
    batch = plan_batch(strategy, accounts, DAY, history_arrays(history))
    allocated = agencies_batch(strategy, accounts.loan)
    placed_with = {v.loan: v.placed_with for v in views}

    def agency(step: ActionStep, a: int) -> str | None:
        if step.action is Action.AGENCY_RECALL:
            return placed_with[int(accounts.loan[a])]
        if step.action is not Action.AGENCY_PLACEMENT:
            return None
        named = step.agency not in (None, "any")
        return step.agency if named else strategy.rules.agencies[allocated[a]].name

    rows = [
        (
            int(accounts.loan[a]),
            batch.steps[s].step.action.value,
            batch.steps[s].local,
            batch.rules[r].name if r >= 0 else None,
            agency(batch.steps[s].step, a),
        )
        for s, a, r in zip(batch.step.tolist(), batch.account.tolist(), batch.refused.tolist(), strict=True)
    ]
    expected = [
        (p.loan, p.action.value, p.at.time() if p.at else None, p.refused_by.name if p.refused_by else None, p.agency)
        for p in reference
    ]
    assert rows == expected
    return expected


accounts_strategy = st.lists(
    st.builds(
        lambda loan, borrower, dpd, overdue, segment, promise, statuses, opted, consent, first, sent, placed, barred: (
            AccountView(
                loan=loan,
                borrower=borrower,
                days_past_due=dpd,
                bucket=BUCKETS[min(7, (dpd + 29) // 30)],
                overdue=overdue,
                segment=segment,
                promise=promise,
                account=ContactFacts(
                    statuses=frozenset(statuses),
                    opted_out=frozenset(opted),
                    automated_consent=consent,
                    first_contact=DAY - timedelta(days=first) if first is not None else None,
                    validation_notice_sent=DAY - timedelta(days=sent) if sent is not None else None,
                    limitation_from=DAY - timedelta(days=barred) if barred is not None else None,
                ),
                placed_with="agency-x" if placed is not None else None,
                placed_on=DAY - timedelta(days=placed) if placed is not None else None,
                recalled=placed is None and loan % 5 == 0,  # a fifth of the unplaced were recalled before
            )
        ),
        st.integers(1, 10_000),
        st.integers(1, 4),
        st.integers(0, 120),
        st.integers(0, 500_000),
        st.sampled_from(["", "young", "salaried"]),
        st.sampled_from(PROMISES),
        st.sets(st.sampled_from(list(Status)), max_size=1),
        st.sets(st.sampled_from([Channel.SMS, Channel.EMAIL]), max_size=1),
        st.booleans(),
        st.one_of(st.none(), st.integers(0, 20)),
        st.one_of(st.none(), st.integers(0, 20)),
        st.one_of(st.none(), st.integers(0, 70)),  # placed that many days ago
        st.one_of(st.none(), st.integers(900, 1_200)),  # the limitation runs from that many days ago (3 years)
    ),
    max_size=12,
    unique_by=lambda v: v.loan,
)
histories = st.lists(
    st.tuples(st.integers(1, 4), st.integers(0, 9), st.sampled_from([Channel.VOICE_CALL, Channel.SMS])),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(views=accounts_strategy, made=histories, strategy=st.sampled_from([CN, US, CROWDED, TIGHT]))
def test_the_columnar_planner_equals_the_reference(
    views: list[AccountView], made: list[tuple[int, int, Channel]], strategy: Strategy
) -> None:
    """Any accounts (several loans per borrower, every status, opt-outs, consent, validation notices) and any
    recent history (today's and the last days' calls by borrower): the same actions, decisions and rules."""
    loans_of: dict[int, list[int]] = {}
    for view in views:
        loans_of.setdefault(view.borrower, []).append(view.loan)
    history: dict[int, list[Contact]] = {}
    for borrower, back, channel in made:
        loan = loans_of.get(borrower, [99_999])[back % len(loans_of.get(borrower, [0]))]
        at = datetime.combine(DAY - timedelta(days=back % 8), time(9 + back))
        history.setdefault(borrower, []).append(Contact(channel, at, loan, agency="A" if back % 2 else None))
    for rule in {rule for *_, rule, _ in same(strategy, views, history)}:
        event(f"decision: {rule or 'allowed'}")


def test_the_cn_cap_holds_across_rules_attempts_loans_and_agencies() -> None:
    """A borrower with two loans, one agency call already today: the crowded strategy asks for 2 + 2 calls per
    loan; only 2 more are allowed in all (3 a day, the agency's counting), the rest refused by the cap."""
    strategy = CROWDED
    views = [AccountView(1, 7, 5, "M1", 50_000), AccountView(2, 7, 5, "M1", 50_000)]
    history = {7: [Contact(Channel.VOICE_CALL, datetime.combine(DAY, time(8, 30)), 1, agency="A")]}
    plan = same(strategy, views, history)
    calls = [(loan, at, rule) for loan, action, at, rule, _ in plan if action == "voice_call"]
    assert [rule for _, _, rule in calls].count(None) == 2
    assert calls[:2] == [(1, time(9), None), (2, time(9), None)]  # the first step, both loans
    assert {rule for _, _, rule in calls[2:]} == {"cn.voice_calls_per_day"}
    texts = [rule for _, action, _, rule, _ in plan if action == "sms"]
    assert texts == [None, None]  # texts are not calls: no cap


def test_stops_and_opt_outs_refuse_with_their_rule() -> None:
    views = [
        AccountView(1, 1, 5, "M1", 50_000, account=ContactFacts(statuses=frozenset({Status.OPEN_COMPLAINT}))),
        AccountView(2, 2, 5, "M1", 50_000, account=ContactFacts(opted_out=frozenset({Channel.EMAIL}))),
        AccountView(3, 3, 100, "M4", 200_000, account=ContactFacts(statuses=frozenset({Status.BANKRUPTCY}))),
    ]
    plan = same(US, views, {})
    assert {rule for loan, _, _, rule, _ in plan if loan == 1} == {"us.open_complaint"}
    assert ("email", "us.reg_f.opt_out") in {(action, rule) for loan, action, _, rule, _ in plan if loan == 2}
    assert {rule for loan, _, _, rule, _ in plan if loan == 3} == {"us.bankruptcy.automatic_stay"}  # placement too


def test_arms_are_fixed_by_the_loan_and_split_by_share() -> None:
    loans = np.arange(1, 20_001, dtype=np.int64)
    batch = arms_batch(CN, loans)
    names = [arm.name for arm in CN.rules.arms]
    assert [names[i] for i in batch[:50]] == [arm_of(CN, int(loan)) for loan in loans[:50]]
    share = np.count_nonzero(batch == names.index("challenger")) / len(loans)
    assert 0.18 < share < 0.22  # 20% declared


def test_reg_f_counts_seven_days_per_debt_with_the_days_plan() -> None:
    """Five calls on loan 1 in the last six days: TIGHT's three calls today allow two (7 in 7 days), the third
    is refused; loan 2 of the same borrower has its own count."""
    views = [
        AccountView(1, 1, 5, "M1", 50_000, account=ContactFacts(automated_consent=True)),
        AccountView(2, 1, 5, "M1", 50_000, account=ContactFacts(automated_consent=True)),
    ]
    history = {
        1: [Contact(Channel.VOICE_CALL, datetime.combine(DAY - timedelta(days=d), time(12)), 1) for d in range(1, 6)]
    }
    plan = same(TIGHT, views, history)
    calls = [(loan, rule) for loan, action, _, rule, _ in plan if action == "voice_call"]
    assert calls == [(1, None), (2, None), (1, None), (2, None), (1, "us.reg_f.call_frequency"), (2, None)]


def _plan(strategy: Strategy, *views: AccountView) -> list[tuple[Any, ...]]:
    return same(strategy, list(views), {})


def test_agencies_place_once_recall_after_their_days_and_split_by_share() -> None:
    """cn-default places 61+ accounts with its two agencies (60/40) and recalls them after 30 days placed: an
    account already placed is not placed again, and is recalled from the agency it is with."""
    fresh = AccountView(loan=1, borrower=1, days_past_due=61, bucket="M3", overdue=50_000)
    week = AccountView(
        loan=2, borrower=2, days_past_due=68, bucket="M3", overdue=50_000, placed_with="A", placed_on=DAY - timedelta(7)
    )
    month = AccountView(
        loan=3,
        borrower=3,
        days_past_due=90,
        bucket="M3",
        overdue=50_000,
        placed_with="B",
        placed_on=DAY - timedelta(30),
    )
    plan = _plan(CN, fresh, week, month)
    agency_actions = [(loan, action, agency) for loan, action, _, _, agency in plan if action.startswith("agency")]
    assert agency_actions == [(1, "agency_placement", arm_agency(1)), (3, "agency_recall", "B")]
    shares = Counter(arm_agency(loan) for loan in range(1, 20_001))
    assert abs(shares["huaxia-collect"] / 20_000 - 0.60) < 0.02  # declared shares 60 / 40
    assert set(shares) == {"huaxia-collect", "pearl-river-recovery"}


def arm_agency(loan: int) -> str:
    step = next(a for rule in CN.rules.rules for a in rule.actions if a.action is Action.AGENCY_PLACEMENT)
    return agency_of(CN, step, loan)


def test_a_live_promise_pauses_reminders_and_a_broken_one_escalates() -> None:
    """cn-default: promise_pauses = sms and voice_call; a live promise gets its follow-up instead, a broken one
    an extra evening call (rule broken-promise)."""
    base = {"borrower": 1, "days_past_due": 10, "bucket": "M1", "overdue": 30_000}
    none, live, broken = (AccountView(loan=n, **base, promise=p) for n, p in ((1, "none"), (2, "live"), (3, "broken")))
    actions = {
        promise.loan: sorted({action for loan, action, *_ in _plan(CN, promise) if loan == promise.loan})
        for promise in (none, live, broken)
    }
    assert "sms" in actions[1] and "voice_call" in actions[1]
    assert actions[2] == ["email", "promise_to_pay_followup"]
    broken_calls = [at for _, action, at, _, _ in _plan(CN, broken) if action == "voice_call"]
    assert time(18, 30) in broken_calls


def test_a_time_barred_debt_is_never_referred() -> None:
    """cn: three years from the later of the last installment's due date and the last payment (民法典 arts.
    188, 189, 195): the day before, the referral is allowed; on the day, refused with cn.time_barred."""

    def referral(since: date) -> str | None:
        view = AccountView(
            loan=1, borrower=1, days_past_due=400, bucket="M7", overdue=500_000,
            account=ContactFacts(limitation_from=since),
        )  # fmt: skip
        return next(rule for _, action, _, rule, _ in _plan(CN, view) if action == "legal_referral")

    assert referral(date(2023, 6, 21)) is None
    assert referral(date(2023, 6, 20)) == "cn.time_barred"


def test_one_placement_a_day_a_stop_never_keeps_an_account_placed_and_a_recall_is_final() -> None:
    """Two placement rules name two agencies: the first step wins, once. A bankrupt account placed 30 days ago
    is still recalled (the stop refuses contacts, never the recall). An account the strategy recalled before is
    not placed again."""
    two = strategy_of(
        '[strategy]\nname = "two"\njurisdiction = "cn"\n\n'
        '[[agencies]]\nname = "a"\nshare = 50\ncommission = "0.1"\n\n'
        '[[agencies]]\nname = "b"\nshare = 50\ncommission = "0.2"\n\n'
        '[[rules]]\nwhen = { dpd_min = 61 }\nactions = [ { action = "agency_placement", agency = "a" } ]\n\n'
        '[[rules]]\nwhen = { dpd_min = 61 }\nactions = [ { action = "agency_placement", agency = "b" },\n'
        '  { action = "agency_recall", after_days = 30 } ]\n'
    )
    fresh = AccountView(loan=1, borrower=1, days_past_due=70, bucket="M3", overdue=1)
    bankrupt = AccountView(
        loan=2, borrower=2, days_past_due=95, bucket="M4", overdue=1, placed_with="b",
        placed_on=DAY - timedelta(30), account=ContactFacts(statuses=frozenset({Status.BANKRUPTCY})),
    )  # fmt: skip
    recalled = AccountView(loan=3, borrower=3, days_past_due=100, bucket="M4", overdue=1, recalled=True)
    plan = _plan(two, fresh, bankrupt, recalled)
    assert [(loan, action, rule, agency) for loan, action, _, rule, agency in plan] == [
        (1, "agency_placement", None, "a"),
        (2, "agency_recall", None, "b"),
    ]
