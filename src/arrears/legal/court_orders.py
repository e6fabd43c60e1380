"""Court orders: recorded, never executed.

Courts query, freeze, seize and transfer a debtor's money, restrict consumption (限制消费令) and list judgment
defaulters (失信被执行人) through their own systems, with the bank or payment institution (民事诉讼法 art. 253;
SPC 2013 online enforcement: shared/RULES.md, tag V). A lender's system records an order (court, case number,
document reference, kind, amount, date) and reflects its effects: money a court transfers is posted as a
repayment with the order as its source, and the borrower's standing shows the order. Nothing here freezes,
seizes or restricts anything, and no code path does: there is no executor to call.

When the debt is paid, a consumption restriction or a defaulter listing should be lifted promptly, on the
creditor's application (SPC 2010 provisions on consumption restrictions, art. 9): the standing then prompts the
lender to apply. An order is lifted in the record only when the court's lifting (its document) is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from arrears.errors import InputRejected
from arrears.money import format_minor


class OrderKind(StrEnum):
    PRESERVATION = "preservation"  # 财产保全
    FREEZE = "freeze"  # 冻结
    SEIZURE = "seizure"  # 扣划 / 查封
    TRANSFER = "transfer"  # 划拨: money the court moves to the creditor
    CONSUMPTION_RESTRICTION = "consumption_restriction"  # 限制消费令
    DEFAULTER_LISTING = "judgment_defaulter_listing"  # 失信被执行人名单


PROMPTED = (OrderKind.CONSUMPTION_RESTRICTION, OrderKind.DEFAULTER_LISTING)


@dataclass(frozen=True, slots=True)
class CourtOrder:
    id: int
    borrower_id: int
    loan_id: int | None
    court: str
    case_number: str
    document_ref: str
    kind: OrderKind
    amount: int | None
    issued_on: date
    lifted_on: date | None
    lift_document_ref: str | None


def checked_kind(kind: str) -> OrderKind:
    try:
        return OrderKind(kind)
    except ValueError:
        raise InputRejected(
            f"unknown court order kind {kind!r}; use one of {', '.join(k.value for k in OrderKind)}"
        ) from None


def check_order(court: str, case_number: str, document_ref: str, issued_on: date, business_date: date) -> None:
    """Refuse an order missing what identifies it, or dated in the future: nothing is written."""
    missing = [
        name
        for name, value in (("court", court), ("case number", case_number), ("document reference", document_ref))
        if not value or not value.strip()
    ]
    if missing:
        raise InputRejected(f"a court order needs its {', '.join(missing)}; copy them from the court's document")
    if issued_on > business_date:
        raise InputRejected(f"the order's date {issued_on} is after the business date {business_date}; check the date")


def check_lifting(order: CourtOrder, lifted_on: date, document_ref: str, business_date: date) -> None:
    if order.lifted_on is not None:
        raise InputRejected(f"court order {order.id} was already lifted on {order.lifted_on}")
    if not document_ref or not document_ref.strip():
        raise InputRejected("the court's lifting needs its document reference: an order is lifted only by the court")
    if lifted_on < order.issued_on:
        raise InputRejected(
            f"the lifting date {lifted_on} is before the order's date {order.issued_on}; check the dates"
        )
    if lifted_on > business_date:
        raise InputRejected(f"the lifting date {lifted_on} is after the business date {business_date}; check the date")


_TEXT: dict[str, dict[str, Any]] = {
    "en-US": {
        "effect": {
            OrderKind.PRESERVATION: "The court preserves assets up to the amount; the lender only records it",
            OrderKind.FREEZE: "The court froze funds through the bank or payment institution; the lender records it",
            OrderKind.SEIZURE: "The court seized assets; the lender only records it",
            OrderKind.TRANSFER: "The court transfers money to the lender; it is posted as a repayment with this order "
            "as its source",
            OrderKind.CONSUMPTION_RESTRICTION: "The court restricts high consumption (限制消费令); only it lifts that",
            OrderKind.DEFAULTER_LISTING: "The court listed the borrower as a judgment defaulter; only it removes that",
        },
        "prompt": "The debt is paid: the lender should apply to the court at once to lift this order "
        "(SPC 2010 consumption-restriction provisions, art. 9)",
    },
    "zh-CN": {
        "effect": {
            OrderKind.PRESERVATION: "法院在该金额内保全财产；贷款机构仅作记录",
            OrderKind.FREEZE: "法院已通过银行或支付机构冻结资金；贷款机构仅作记录",
            OrderKind.SEIZURE: "法院已查封或扣划财产；贷款机构仅作记录",
            OrderKind.TRANSFER: "法院将款项划拨给贷款机构；按还款入账，并注明来源为本裁定",
            OrderKind.CONSUMPTION_RESTRICTION: "法院已发出限制消费令；只有法院可以解除",
            OrderKind.DEFAULTER_LISTING: "法院已将借款人纳入失信被执行人名单；只有法院可以删除",
        },
        "prompt": "欠款已还清：贷款机构应立即向法院申请解除该措施（最高法2010年限制消费规定第9条）",
    },
}


def order_view(order: CourtOrder, debt_paid: bool, lang: str) -> dict[str, Any]:
    """An order as the standing shows it: its record, what it means, and a prompt once the debt is paid."""
    text = _TEXT[lang]
    prompt = text["prompt"] if debt_paid and order.kind in PROMPTED and order.lifted_on is None else None
    return {
        "id": order.id,
        "loan_id": order.loan_id,
        "court": order.court,
        "case_number": order.case_number,
        "document_ref": order.document_ref,
        "kind": order.kind.value,
        "amount": None if order.amount is None else format_minor(order.amount),
        "issued_on": order.issued_on.isoformat(),
        "lifted_on": None if order.lifted_on is None else order.lifted_on.isoformat(),
        "lift_document_ref": order.lift_document_ref,
        "effect": text["effect"][order.kind],
        "executed_by": "the court, through the bank or payment institution; never the lender",
        "prompt": prompt,
    }
