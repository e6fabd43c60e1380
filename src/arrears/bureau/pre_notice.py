"""The pre-notice before the first negative credit record: one owner for the rule, whoever sends the notice.

China: a lender notifies the borrower in advance before it reports negative information (征信业管理条例 art. 15;
reporting without it is fined, art. 41). The United States: a furnisher notifies the consumer before, or within 30
days after, the first negative report (FCRA 623(a)(7)); as policy the lender notifies before, like in China. How
long before is the lender's policy (shared/RULES.md gives no figure): :attr:`PreNoticeRule.lead_days`.

Collections sends the notice (a strategy's ``credit_report_pre_notice`` action, through the outbox, by the
rule's channel); when it has gone out the store records it (``credit_pre_notices``), and credit reporting asks
:func:`negative_allowed` before it emits a negative record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from arrears.collections.policy import Channel


@dataclass(frozen=True, slots=True)
class PreNoticeRule:
    """A jurisdiction's pre-notice: by which channel it goes, how many days at least before the first negative
    record (lender policy), and the source of the duty."""

    jurisdiction: str
    channel: Channel
    lead_days: int
    name: str
    source: str


PRE_NOTICE = {
    "cn": PreNoticeRule(
        "cn",
        Channel.SMS,
        7,
        "cn.credit_report_pre_notice",
        "征信业管理条例 arts. 15, 41 (V); 7 days ahead: lender policy",
    ),
    "us": PreNoticeRule(
        "us",
        Channel.LETTER,
        7,
        "us.fcra.negative_information_notice",
        "FCRA 623(a)(7) (V: before or within 30 days after); before, 7 days ahead: lender policy",
    ),
}


def negative_allowed(rule: PreNoticeRule, sent_on: date | None, record_day: date) -> str | None:
    """Why a negative record as of ``record_day`` may not be emitted yet (None: it may), given the day the
    pre-notice went out.

    >>> rule = PRE_NOTICE["cn"]
    >>> negative_allowed(rule, date(2026, 6, 20), date(2026, 6, 27)) is None
    True
    >>> negative_allowed(rule, date(2026, 6, 21), date(2026, 6, 27))
    'the pre-notice went out on 2026-06-21, less than 7 days before 2026-06-27 (cn.credit_report_pre_notice)'
    >>> negative_allowed(rule, None, date(2026, 6, 27))
    'no pre-notice was sent before the first negative record (cn.credit_report_pre_notice)'
    """
    if sent_on is None:
        return f"no pre-notice was sent before the first negative record ({rule.name})"
    if sent_on + timedelta(days=rule.lead_days) > record_day:
        return (
            f"the pre-notice went out on {sent_on}, less than {rule.lead_days} days before {record_day} ({rule.name})"
        )
    return None
