"""Collection messages: every template of each pack renders in Chinese and English with the amount and date
formatted for the language; texts and e-mails under the us pack carry the opt-out; nothing blank slips through."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from arrears.collections.messages import OPT_OUT, MessageFacts, render
from arrears.collections.policy import CN, US, Channel, PolicyPack
from arrears.errors import InputRejected

FACTS = MessageFacts(
    lender="示例银行",
    name="张三",
    loan=23,
    days_past_due=9,
    overdue=139_093,
    currency="CNY",
    pay_by=date(2026, 7, 2),
    dispute_by=date(2026, 7, 31),
)


@pytest.mark.parametrize("pack", [CN, US], ids=["cn", "us"])
@pytest.mark.parametrize("language", ["zh-CN", "en-US"])
def test_every_template_renders_with_exact_amounts_and_dates(pack: PolicyPack, language: str) -> None:
    for template in sorted(pack.templates):
        text = render(template, language, Channel.LETTER, pack, FACTS)
        assert "23" in text and "张三" in text
        assert "1,390.93" in text  # the amount, formatted once for the language
        if template in {"reminder", "pre_notice", "promise_confirmation"}:
            assert ("2026年7月2日" if language == "zh-CN" else "July 2, 2026") in text
        if template == "validation_notice":
            assert ("2026年7月31日" if language == "zh-CN" else "July 31, 2026") in text


def test_texts_and_emails_carry_an_opt_out_under_the_us_pack_only() -> None:
    text = render("reminder", "en", Channel.SMS, US, FACTS)
    assert text.endswith(OPT_OUT["en-US"]) and "CN¥1,390.93" in text
    assert render("reminder", "en", Channel.EMAIL, US, FACTS).endswith(OPT_OUT["en-US"])
    assert OPT_OUT["en-US"] not in render("reminder", "en", Channel.LETTER, US, FACTS)
    chinese = render("reminder", "zh", Channel.SMS, CN, FACTS)
    assert "¥1,390.93" in chinese and OPT_OUT["zh-CN"] not in chinese  # the cn pack has no such rule
    dollars = render("reminder", "en-US", Channel.SMS, US, replace(FACTS, currency="USD"))
    assert "$1,390.93" in dollars


def test_unknown_languages_and_templates_are_refused() -> None:
    with pytest.raises(InputRejected, match="no messages in 'fr'"):
        render("reminder", "fr", Channel.SMS, CN, FACTS)
    with pytest.raises(InputRejected, match="not used under the cn pack"):
        render("validation_notice", "zh", Channel.LETTER, CN, FACTS)
