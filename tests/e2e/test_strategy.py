"""Collection strategies and the policy packs: lawful strategies load, unlawful ones are refused with the rule
and its source, malformed ones say where and how to fix them; the run-time contact checks hold caps across days
and agencies, windows, opt-outs, consent and the statuses that stop collection."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest

from arrears.collections.policy import CN, US, Binding, Channel, Contact, ContactFacts, Status, check_contact
from arrears.collections.strategy import StrategyRefused, check_strategy, load_strategy
from arrears.restrictions.registry import OUTSIDE_PRODUCT
from tests.support.cli import run_cli
from tests.support.paths import ROOT

STRATEGIES = ROOT / "strategies"
HEAD = '[strategy]\nname = "t"\njurisdiction = "{j}"\n\n[[rules]]\n'


def strategy(tmp_path: Path, rules: str, jurisdiction: str = "cn", head: str = HEAD) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(head.format(j=jurisdiction) + rules, encoding="utf-8")
    return path


def violations(path: Path) -> list[tuple[str, str]]:
    """(rule, where without the file) of every violation; the strategy must not load."""
    loaded, found = check_strategy(path)
    assert loaded is None and found
    with pytest.raises(StrategyRefused):
        load_strategy(path)
    return [(v.rule, v.where.split(": ", 1)[1]) for v in found]


@pytest.mark.parametrize("name", ["cn-default.toml", "us-default.toml"])
def test_the_sample_strategies_are_lawful(name: str, tmp_path: Path, contract: Any) -> None:
    loaded = load_strategy(STRATEGIES / name)
    assert loaded.rules.rules and loaded.pack.jurisdiction == name[:2]
    done = run_cli(
        "strategy", "check", str(STRATEGIES / name), "--json", db=tmp_path / "x.db", business_date="2026-06-01"
    )
    assert done.returncode == 0, done.stderr
    view = json.loads(done.stdout)
    contract("strategy-check").validate(view)
    assert view == {"ok": True}


@pytest.mark.parametrize(
    ("action", "rule"),
    [
        ("freeze_messaging_account", OUTSIDE_PRODUCT),
        ("restrict_messaging_functions", OUTSIDE_PRODUCT),
        ("freeze_wechat", OUTSIDE_PRODUCT),
        ("show_overdue_to_contacts", "cn.contact_borrower_only"),
        ("contact_third_party", "cn.contact_borrower_only"),
        ("call_family", "cn.contact_borrower_only"),
        ("notify_employer", "cn.contact_borrower_only"),
        ("disclose_debt", "cn.contact_borrower_only"),
    ],
)
def test_unlawful_actions_are_refused_by_name_with_their_rule(tmp_path: Path, action: str, rule: str) -> None:
    path = strategy(tmp_path, f'when = {{ dpd_min = 1 }}\nactions = [ {{ action = "{action}" }} ]\n')
    loaded, found = check_strategy(path)
    assert loaded is None
    assert [(v.rule, v.where.split(": ", 1)[1]) for v in found] == [(rule, "rules[0].actions[0].action")]
    assert found[0].source and "unlawful" in found[0].message


def test_a_text_to_anyone_but_the_borrower_is_refused(tmp_path: Path) -> None:
    path = strategy(
        tmp_path,
        'when = { dpd_min = 1 }\nactions = [ { action = "sms", template = "reminder", to = "contacts" } ]\n',
        "us",
    )
    assert violations(path) == [("us.no_third_party_communication", "rules[0].actions[0].to")]


def test_the_contact_window_allows_both_ends_and_nothing_outside(tmp_path: Path) -> None:
    def at(clock: str) -> Path:
        return strategy(
            tmp_path,
            f'when = {{ dpd_min = 1 }}\nactions = [ {{ action = "sms", template = "reminder", at = "{clock}" }} ]\n',
        )

    for clock in ("08:00", "21:00", "14:30"):
        assert check_strategy(at(clock))[1] == []
    for clock in ("07:59", "21:01", "23:00"):
        assert violations(at(clock)) == [("cn.contact_window", "rules[0].actions[0].at")]


def test_call_caps_per_day_in_cn_and_per_seven_days_in_us(tmp_path: Path) -> None:
    calls = (
        'when = {{ dpd_min = 1, dpd_max = {high} }}\nactions = [ {{ action = "voice_call", times_per_day = {n} }} ]\n'
    )
    assert check_strategy(strategy(tmp_path, calls.format(high=30, n=3)))[1] == []
    assert violations(strategy(tmp_path, calls.format(high=30, n=4))) == [
        ("cn.voice_calls_per_day", "rules[0].actions[0].times_per_day")
    ]
    # Reg F: 7 attempts in 7 days per debt; once a day over a 7-day range is 7, twice is 14
    assert check_strategy(strategy(tmp_path, calls.format(high=30, n=1), "us"))[1] == []
    assert check_strategy(strategy(tmp_path, calls.format(high=3, n=2), "us"))[1] == []  # 3 days x 2 = 6
    assert violations(strategy(tmp_path, calls.format(high=7, n=2), "us")) == [
        ("us.reg_f.call_frequency", "rules[0].actions[0].times_per_day")
    ]


def test_malformed_strategies_say_where_and_how_to_fix(tmp_path: Path) -> None:
    bad = strategy(
        tmp_path,
        'when = { dpd_min = 9, dpd_max = 2 }\nactions = [ { action = "carrier_pigeon" },\n'
        '  { action = "sms", template = "reminder", at = "9am" },\n'
        '  { action = "email", template = "threat" },\n  { action = "letter" } ]\n',
    )
    found = {where: rule for rule, where in violations(bad)}
    assert set(found.values()) == {"schema"}
    assert set(found) == {
        "rules[0].when",
        "rules[0].actions[0].action",
        "rules[0].actions[1].at",
        "rules[0].actions[2].template",
        "rules[0].actions[3].template",
    }
    _, messages = check_strategy(bad)
    text = " | ".join(v.message for v in messages)
    for fix in ("swap them", "use one of sms", "HH:MM", "unknown template 'threat'", "name its template"):
        assert fix in text
    syntax = tmp_path / "syntax.toml"
    syntax.write_text("[strategy\nname = 1\n", encoding="utf-8")
    assert [v.rule for v in check_strategy(syntax)[1]] == ["syntax"]
    unknown = strategy(tmp_path, 'when = { dpd_min = 1 }\nactions = [ { action = "legal_referral" } ]\n', "mars")
    assert violations(unknown) == [("schema", "[strategy].jurisdiction")]
    empty = tmp_path / "empty.toml"
    empty.write_text('[strategy]\nname = "t"\njurisdiction = "cn"\n', encoding="utf-8")
    assert violations(empty) == [("schema", "rules")]
    arms = strategy(
        tmp_path,
        'when = { dpd_min = 1, arm = "blue" }\nactions = [ { action = "legal_referral" } ]\n',
        head=HEAD.replace("[[rules]]", '[[arms]]\nname = "red"\nshare = 60\n\n[[rules]]'),
    )
    assert violations(arms) == [("schema", "arms"), ("schema", "rules[0].when.arm")]
    # a rule's name that is not a string, a rule without when, [rules] written as one table: said, not crashed
    named = strategy(tmp_path, 'name = 5\nwhen = { dpd_min = 1 }\nactions = [ { action = "legal_referral" } ]\n')
    assert violations(named) == [("schema", "rules[0].name")]
    whenless = strategy(tmp_path, 'actions = [ { action = "legal_referral" } ]\n')
    assert violations(whenless) == [("schema", "rules[0].when")]
    single = strategy(
        tmp_path,
        'when = { dpd_min = 1 }\nactions = [ { action = "legal_referral" } ]\n',
        head=HEAD.replace("[[rules]]", "[rules]"),
    )
    assert violations(single) == [("schema", "rules")]


def test_the_cli_prints_every_violation_as_the_contract_says(tmp_path: Path, contract: Any) -> None:
    path = strategy(
        tmp_path,
        'when = { dpd_min = 1 }\nactions = [ { action = "freeze_messaging_account" },\n'
        '  { action = "sms", template = "reminder", at = "22:00" } ]\n',
    )
    done = run_cli("strategy", "check", str(path), "--json", db=tmp_path / "x.db", business_date="2026-06-01")
    assert done.returncode == 2
    view = json.loads(done.stdout)
    contract("strategy-check").validate(view)
    assert view["ok"] is False
    assert [v["rule"] for v in view["violations"]] == [OUTSIDE_PRODUCT, "cn.contact_window"]
    text = run_cli("strategy", "check", str(path), db=tmp_path / "x.db", business_date="2026-06-01")
    assert text.returncode == 2 and "rule cn.contact_window" in text.stdout


def test_every_rule_says_whom_it_binds_by_law_and_whom_by_policy() -> None:
    reg_f = {r.name: r for r in US.all_rules()}["us.reg_f.call_frequency"]
    assert (reg_f.agency, reg_f.lender) == (Binding.LAW, Binding.POLICY)  # Reg F binds collectors, not creditors
    for pack in (CN, US):
        for rule in pack.all_rules():
            assert rule.name.startswith(pack.jurisdiction + ".") and rule.source and rule.text


# -- run-time checks ---------------------------------------------------------------------------------------------


def call(day: int, hour: int = 10, loan: int = 1, agency: str | None = None) -> Contact:
    return Contact(Channel.VOICE_CALL, datetime(2026, 6, day, hour), loan, agency)


def test_the_cn_daily_cap_counts_the_lender_and_its_agencies_together() -> None:
    history = [call(10, 9), call(10, 11, agency="A"), call(10, 12, agency="B")]
    refusal = check_contact(CN, call(10, 15), ContactFacts(), history)
    assert refusal is not None and refusal.rule.name == "cn.voice_calls_per_day"
    assert check_contact(CN, call(11, 9), ContactFacts(), history) is None  # a new day
    assert check_contact(CN, call(10, 15), ContactFacts(), history[:2]) is None


def test_the_us_rolling_cap_is_per_debt_over_seven_days() -> None:
    history = [call(day) for day in range(1, 8)]  # 7 attempts on loan 1, June 1..7
    refusal = check_contact(US, call(7, 15), ContactFacts(), history)
    assert refusal is not None and refusal.rule.name == "us.reg_f.call_frequency"
    assert check_contact(US, call(8), ContactFacts(), history) is None  # June 2..8 holds 6
    assert check_contact(US, call(7, 15, loan=2), ContactFacts(), history) is None  # another debt


def test_windows_opt_outs_consent_validation_and_stops() -> None:
    assert check_contact(CN, call(10, 7), ContactFacts(), []).rule.name == "cn.contact_window"  # type: ignore[union-attr]
    assert check_contact(CN, Contact(Channel.SMS, datetime(2026, 6, 10, 21, 0), 1), ContactFacts(), []) is None
    text = Contact(Channel.SMS, datetime(2026, 6, 10, 10), 1, automated=True)
    assert check_contact(US, text, ContactFacts(opted_out=frozenset({Channel.SMS})), []).rule.name == "us.reg_f.opt_out"  # type: ignore[union-attr]
    assert check_contact(US, text, ContactFacts(), []).rule.name == "us.tcpa.consent"  # type: ignore[union-attr]
    assert check_contact(US, text, ContactFacts(automated_consent=True), []) is None
    late = ContactFacts(automated_consent=True, first_contact=date(2026, 6, 1))
    assert check_contact(US, text, late, []).rule.name == "us.reg_f.validation_notice"  # type: ignore[union-attr]
    sent = ContactFacts(automated_consent=True, first_contact=date(2026, 6, 1), validation_notice_sent=date(2026, 6, 2))
    assert check_contact(US, text, sent, []) is None
    for pack in (CN, US):
        for status in (Status.DECEASED, Status.BANKRUPTCY, Status.OPEN_COMPLAINT, Status.DISPUTED):
            refusal = check_contact(pack, call(10), ContactFacts(statuses=frozenset({status})), [])
            assert refusal is not None and refusal.rule is pack.stops[status]
    notice = Contact(Channel.LETTER, datetime(2026, 6, 10, 10), 1, template="validation_notice")
    assert check_contact(US, notice, late, []) is None  # the notice itself is never held back by its own rule
    attorney = check_contact(US, call(10), ContactFacts(statuses=frozenset({Status.REPRESENTED_BY_ATTORNEY})), [])
    assert attorney is not None and attorney.rule.name == "us.fdcpa.attorney"
    assert time(8) == CN.window[0] and time(21) == US.window[1]


def test_agencies_must_be_declared_well_and_their_fields_belong_to_placements_and_recalls(tmp_path: Path) -> None:
    head = (
        '[strategy]\nname = "t"\njurisdiction = "{j}"\n\n'
        '[[agencies]]\nname = "any"\nshare = 60\ncommission = "0.18"\n\n'
        '[[agencies]]\nname = "b"\nshare = 30\ncommission = "0.1234"\n\n[[rules]]\n'
    )
    bad = strategy(
        tmp_path,
        'when = { dpd_min = 61 }\nactions = [ { action = "agency_placement", agency = "no-such-agency" },\n'
        '  { action = "agency_recall", after_days = 30, agency = "b" },\n'
        '  { action = "voice_call", at = "10:00", agency = "b" },\n'
        '  { action = "agency_placement", after_days = 3 } ]\n',
        head=head,
    )
    found = violations(bad)
    wheres = {where for _, where in found}
    assert {"agencies", "rules[0].actions[0].agency", "rules[0].actions[1].agency"} <= wheres
    assert {"rules[0].actions[2].agency", "rules[0].actions[3].after_days"} <= wheres
    messages = " ".join(v.message for v in check_strategy(bad)[1])
    assert "reserved" in messages and "shares add up to 90" in messages


def test_a_commission_is_a_rate_in_whole_basis_points(tmp_path: Path) -> None:
    head = '[strategy]\nname = "t"\njurisdiction = "{j}"\n\n[[agencies]]\nname = "a"\nshare = 100\n'
    for commission, fine in (('"0.18"', True), ('"0.123456"', False), ('"1.5"', False), ("0.18", False)):
        path = strategy(tmp_path, 'when = { dpd_min = 61 }\nactions = [ { action = "agency_placement" } ]\n',
                        head=head + f"commission = {commission}\n\n[[rules]]\n")  # fmt: skip
        loaded, found = check_strategy(path)
        assert (loaded is not None) is fine, (commission, found)
        if not fine:
            assert [v.where.split(": ", 1)[1] for v in found] == ["agencies[0].commission"]
