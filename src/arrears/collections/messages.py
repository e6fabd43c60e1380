"""Collection messages: the strategy's templates in Chinese and English (Jinja2, ``templates/messages/``), amounts
and dates formatted for the borrower's language by Babel, and the opt-out every text and e-mail carries where the
pack requires one (us: Reg F 1006.6(e)).

A message goes to the borrower only (the templates say so in the reminder) and names exactly what is owed and by
when: the caller gives the amount overdue and the date (for a reminder, the day paying lifts the restrictions and
avoids the next step: ``lift_by`` of :mod:`arrears.restrictions.standing`; for a pre-notice, the day before the first
negative
report). Templates never compute money: they format what they are given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency
from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateNotFound

from arrears.collections.policy import Channel, PolicyPack
from arrears.errors import InputRejected

LANGUAGES = {"zh": "zh-CN", "zh-CN": "zh-CN", "en": "en-US", "en-US": "en-US"}
_LOCALES = {"zh-CN": "zh_CN", "en-US": "en_US"}
OPT_OUT = {
    "zh-CN": "回复TD退订短信，回复TDYJ退订邮件。",
    "en-US": "Reply STOP to stop texts; to stop e-mails, reply UNSUBSCRIBE.",
}
"""The opt-out line (Reg F 1006.6(e): a reasonable and simple method to opt out, in every e-mail and text)."""

_ENVIRONMENT = Environment(
    loader=PackageLoader("arrears", "templates/messages"),
    autoescape=False,  # plain text for texts, e-mails and letters; nothing here is HTML
    undefined=StrictUndefined,  # a template naming a value it is not given fails, never prints blank
    keep_trailing_newline=False,
)


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What a message says: the lender, the borrower's name, the loan, days past due, what is overdue (minor
    units, in ``currency``), the date to pay by, and (validation notices) the last day to dispute."""

    lender: str
    name: str
    loan: int
    days_past_due: int
    overdue: int
    currency: str
    pay_by: date
    dispute_by: date | None = None


def render(template: str, language: str, channel: Channel, pack: PolicyPack, facts: MessageFacts) -> str:
    """The text of ``template`` for a borrower who reads ``language`` (zh, zh-CN, en or en-US)."""
    lang = LANGUAGES.get(language)
    if lang is None:
        raise InputRejected(f"no messages in {language!r}; use one of zh-CN, en-US")
    if template not in pack.templates:
        raise InputRejected(f"template {template!r} is not used under the {pack.jurisdiction} pack")
    locale = _LOCALES[lang]
    amount = format_currency(Decimal(facts.overdue).scaleb(-2), facts.currency, locale=locale)
    try:
        body = _ENVIRONMENT.get_template(f"{template}.{lang}.j2")
    except TemplateNotFound:
        raise InputRejected(
            f"no {lang} text for template {template!r}; add templates/messages/{template}.{lang}.j2"
        ) from None
    text = body.render(
        lender=facts.lender,
        name=facts.name,
        loan=facts.loan,
        days=facts.days_past_due,
        overdue=amount,
        pay_by=format_date(facts.pay_by, format="long", locale=locale),
        dispute_by=format_date(facts.dispute_by, format="long", locale=locale) if facts.dispute_by else "",
    ).strip()
    if pack.opt_out is not None and channel in (Channel.SMS, Channel.EMAIL):
        text = f"{text} {OPT_OUT[lang]}"
    return text
