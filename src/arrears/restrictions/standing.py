"""A borrower's standing (``arrears standing``): what is restricted, why, on what basis, what is not affected,
and exactly what to pay by when to lift it (解封). The JSON follows shared/contracts/standing.schema.json.

The position is the one during day D: charges through day-end D-1, payments dated D applied
(:func:`arrears.restrictions.registry.line_history`). ``amount_to_lift`` is exact where a payment alone lifts a
restriction (``nothing_overdue``: what the line's loans owe on installments due before D; paying it during D
lifts it at once) and null where it does not (``lift_condition`` says what does). ``lift_by`` is the last day on
which paying avoids the next escalation (the next rule's threshold of days past due), or null when none is ahead.

Court orders are listed as recorded (:mod:`arrears.legal.court_orders`), with a prompt to apply for their lifting once
nothing is owed. Not built yet, and shown as such: credit-reporting dates (null: the reporting issue), hardship
plans among the options (a request is possible; the plans engine is the negotiation issue).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from arrears.domain.events import LoanEvent
from arrears.domain.product import LiftCondition, RestrictionRule, RestrictionScope
from arrears.domain.terms import LoanTerms
from arrears.errors import InputRejected
from arrears.legal.court_orders import CourtOrder, order_view
from arrears.money import format_minor
from arrears.restrictions.registry import LineDuring, Restriction, line_history

LANGUAGES = ("zh-CN", "en-US")

_TEXT: dict[str, dict[str, str]] = {
    "en-US": {
        "drawdown": "New drawdowns on line {line} are suspended",
        "limit": "The limit of line {line} is lowered to {limit}",
        "line": "Line {line} is closed",
        "auto_debit": "Automatic debits on line {line} are stopped",
        "reason": "{days} days past due at the day-end of {since} (rule {rule})",
        "nothing_overdue": "Lifted as soon as nothing is overdue: pay {amount} on the line's loans",
        "good_standing": "Restored after {days} consecutive day-ends with nothing overdue",
        "review_after_full_repayment": "Re-opened only by the lender's review after everything is repaid",
        "not_affected_1": "Your WeChat or QQ account: the lender cannot freeze or limit it; it is another company's "
        "service and no lender may act on it",
        "not_affected_2": "Your contacts and friends: the lender may not tell them about the debt or show it to them "
        "(PIPL arts. 23, 25)",
        "not_affected_3": "Your bank accounts and e-wallet: only a court can freeze or transfer money, through the "
        "bank or payment institution (民事诉讼法 art. 253)",
        "how_to_avoid": "Pay the overdue amount by the date shown: nothing negative is reported for a payment "
        "within the grace day, and nothing negative before a pre-notice has told you the date",
        "pay": "Pay {amount} now: nothing overdue lifts the drawdown suspension at once",
        "hardship": "Ask the lender for a repayment plan (协商还款) if you cannot pay in full",
        "contact": "Call the lender's service line; collection contacts happen only 08:00..21:00",
    },
    "zh-CN": {
        "drawdown": "额度{line}暂停借款",
        "limit": "额度{line}的授信额度降至{limit}",
        "line": "额度{line}已关闭",
        "auto_debit": "额度{line}暂停自动扣款",
        "reason": "{since}日终逾期{days}天（规则{rule}）",
        "nothing_overdue": "不再有逾期即自动解除：请为该额度下的借款还款{amount}",
        "good_standing": "连续{days}个日终无逾期后恢复",
        "review_after_full_repayment": "全部还清后经贷款机构审核方可重新开通",
        "not_affected_1": "您的微信或QQ账号：贷款机构无权冻结或限制，那是另一家公司的服务",
        "not_affected_2": "您的联系人和好友：贷款机构不得向其透露或展示您的欠款（个人信息保护法第23、25条）",
        "not_affected_3": "您的银行账户和电子钱包：只有法院能通过银行或支付机构冻结、划拨（民事诉讼法第253条）",
        "how_to_avoid": "在所示日期前还清逾期金额；宽限日内还款不会上报负面信息，上报负面信息前会先通知您日期",
        "pay": "现在还款{amount}：不再逾期，暂停借款立即解除",
        "hardship": "如无法全额还款，可向贷款机构申请协商还款",
        "contact": "致电贷款机构客服；催收联系只在08:00至21:00之间",
    },
}


@dataclass(frozen=True, slots=True)
class LineInput:
    """What the standing needs of one credit line: its id, limit, the product's restriction rules, its loans."""

    line_id: int
    limit: int
    rules: tuple[RestrictionRule, ...]
    loans: tuple[tuple[int, LoanTerms, tuple[LoanEvent, ...]], ...]
    reviews: tuple[date, ...] = ()
    decisions: frozenset[tuple[date, str]] = frozenset()  # collections decisions: (day, restriction rule)


_replayed = lru_cache(maxsize=4096)(line_history)


def line_during(line: LineInput, day: date) -> LineDuring:
    """:func:`arrears.restrictions.registry.line_history` of the line during ``day``, memoised by its inputs. The
    replay is
    a pure function of them, and they are values read afresh from the store for every standing (terms, every
    event, reviews, decisions): a line unchanged since a standing of the same day skips the replay, and any
    change is another key, so the answer is never stale. Inputs given as lists are replayed without the memo."""
    try:
        return _replayed(line.rules, line.loans, day, line.reviews, line.decisions)
    except TypeError:  # unhashable: a caller's lists rather than tuples
        return line_history(line.rules, line.loans, day, line.reviews, line.decisions)


def standing(
    borrower: int,
    lines: Sequence[LineInput],
    day: date,
    lang: str = "zh-CN",
    court_orders: Sequence[CourtOrder] = (),
    credit_reporting: tuple[date | None, date | None] = (None, None),
) -> dict[str, Any]:
    """The borrower's standing during ``day`` (module docstring); ``court_orders`` as recorded
    (:mod:`arrears.legal.court_orders`), with a prompt to apply for lifting once everything is paid;
    ``credit_reporting``: the last pre-notice sent by ``day`` and the first month a negative record was reported
    (arrears.service_layer.credit_reporting), None for none."""
    if lang not in LANGUAGES:
        raise InputRejected(f"--lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    text = _TEXT[lang]
    loans, restrictions = [], []
    overdue_total = 0
    drawdown_suspended = 0
    owing = 0
    for line in lines:
        during = line_during(line, day)
        owing += during.outstanding_principal + sum(during.overdue.values())
        for loan_id, owed in sorted(during.overdue.items()):
            loans.append({"loan_id": loan_id, "line_id": line.line_id, "overdue": format_minor(owed)})
            overdue_total += owed
        escalation = during.next_escalation(line.rules)
        for restriction in during.in_force:
            restrictions.append(_restriction(restriction, line, during, escalation, text))
        if any(r.rule.lift is LiftCondition.NOTHING_OVERDUE for r in during.in_force):  # once per line
            drawdown_suspended += sum(during.overdue.values())
    options = [text["hardship"], text["contact"]]
    if drawdown_suspended:
        options.insert(0, text["pay"].format(amount=format_minor(drawdown_suspended)))
    return {
        "borrower": borrower,
        "as_of": day.isoformat(),
        "lang": lang,
        "loans": loans,
        "overdue_total": format_minor(overdue_total),
        "restrictions": restrictions,
        "court_orders": [order_view(order, owing == 0, lang) for order in court_orders if order.issued_on <= day],
        "not_affected": [text["not_affected_1"], text["not_affected_2"], text["not_affected_3"]],
        "credit_reporting": {
            "pre_notice_sent_on": credit_reporting[0].isoformat() if credit_reporting[0] else None,
            "first_negative_report_on": credit_reporting[1].isoformat() if credit_reporting[1] else None,
            "how_to_avoid": text["how_to_avoid"],
        },
        "options": options,
    }


def _restriction(
    restriction: Restriction,
    line: LineInput,
    during: LineDuring,
    escalation: tuple[RestrictionRule, date] | None,
    text: dict[str, str],
) -> dict[str, Any]:
    rule = restriction.rule
    owed = sum(during.overdue.values())
    if rule.lift is LiftCondition.NOTHING_OVERDUE:
        condition, amount = text["nothing_overdue"].format(amount=format_minor(owed)), format_minor(owed)
    elif rule.lift is LiftCondition.GOOD_STANDING:
        condition, amount = text["good_standing"].format(days=rule.good_standing_days), None
    else:
        condition, amount = text["review_after_full_repayment"], None
    limit = restriction.limit if restriction.limit is not None else line.limit
    return {
        "scope": rule.scope.value,
        "rule": rule.name,
        "what": text[rule.scope.value].format(line=line.line_id, limit=format_minor(limit)),
        "since": restriction.since.isoformat(),
        "reason": text["reason"].format(days=restriction.days_past_due, since=restriction.since, rule=rule.name),
        "legal_basis": rule.legal_basis,
        "lift_condition": condition,
        "amount_to_lift": amount,
        "lift_by": escalation[1].isoformat() if escalation is not None and owed else None,
        **({"limit": format_minor(limit)} if rule.scope is RestrictionScope.LIMIT else {}),
    }
