"""Legal: a loan's court cases (with the delay interest a judgment debtor owes today) and the court orders
recorded against a borrower (recorded, never executed: :mod:`arrears.legal`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from arrears.access import Permission, authorize
from arrears.entrypoints.api.deps import Audit, Caller, Id, Json, Svc
from arrears.service_layer import console, legal

router = APIRouter(tags=["legal"])


@router.get("/loans/{loan_id}/cases", response_model=list[dict[str, Any]])
def cases(loan_id: Id, principal: Caller, services: Svc, audit: Audit) -> Json:
    """The loan's court cases, with the delay interest a judgment debtor owes today and the court orders."""
    authorize(principal, Permission.READ_LEGAL)
    console.loan(services, loan_id)  # 404 for a loan that does not exist
    view = legal.cases(services, loan_id=loan_id)
    audit.read(principal.actor, "legal.read", f"loan:{loan_id}")
    return Json(view)


@router.get("/borrowers/{borrower_id}/court-orders", response_model=list[dict[str, Any]])
def court_orders(
    borrower_id: Id,
    principal: Caller,
    services: Svc,
    audit: Audit,
    lang: Annotated[str, Query(pattern="^(zh-CN|en-US)$")] = "zh-CN",
) -> Json:
    """The court orders recorded against the borrower (recorded, never executed), with what each means."""
    authorize(principal, Permission.READ_LEGAL, borrower=borrower_id)
    view = legal.court_orders(services, borrower_id=borrower_id, lang=lang)
    audit.read(principal.actor, "legal.court_orders", f"borrower:{borrower_id}")
    return Json(view)
