"""Credit reporting: a borrower's dispute (异议) of what the bureau was told of a loan for a month."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from arrears.access import Permission
from arrears.entrypoints.api.deps import Caller, Id, Json, Key, Svc, authorize_on_loan, scoped
from arrears.entrypoints.api.schemas import DisputeIn
from arrears.service_layer.credit_reporting import jurisdiction_of, open_dispute

router = APIRouter(tags=["credit"])


@router.post("/loans/{loan_id}/disputes", response_model=dict[str, Any], status_code=201)
def dispute(loan_id: Id, body: DisputeIn, principal: Caller, key: Key, services: Svc) -> Json:
    """Dispute what was reported of the loan for a month: answered within 20 days (cn) or 30 (us)."""
    authorize_on_loan(services, principal, Permission.OPEN_DISPUTE, loan_id)
    jurisdiction = jurisdiction_of(services, loan_id)
    with services.reading() as connection:
        on = services.business_date(connection)
    with services.acting_as(principal.actor, origin="api"):
        view = open_dispute(
            services,
            loan_id=loan_id,
            month=body.month,
            jurisdiction=jurisdiction,
            received_on=on,
            claim=body.claim,
            key=scoped(principal, key),
        )
    return Json(view, status_code=201)
