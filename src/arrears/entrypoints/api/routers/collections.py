"""Collections: the day's work queue (an agency sees only the accounts placed with it), and what a collector or
an agency records on an account (a promise to pay, a contact made)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from arrears.access import Permission, Principal, Role, authorize
from arrears.entrypoints.api.deps import Audit, Caller, Id, Json, Key, Svc, agency_of, authorize_on_loan, scoped
from arrears.entrypoints.api.schemas import ContactIn, PromiseIn
from arrears.entrypoints.api.schemas.responses import ContactOut, PromiseOut
from arrears.service_layer.collections import record_contact, record_promise, work_queue
from arrears.service_layer.services import Services
from arrears.validation import IsoDate

router = APIRouter(tags=["collections"])


def working(services: Services, principal: Principal, permission: Permission, loan_id: int) -> str | None:
    """Authorize a collections write on a loan; the agency the caller works for, if one."""
    authorize_on_loan(services, principal, permission, loan_id)
    return agency_of(principal)


@router.post("/loans/{loan_id}/promises", response_model=PromiseOut, status_code=201)
def promise(loan_id: Id, body: PromiseIn, principal: Caller, key: Key, services: Svc) -> Json:
    """Record a promise to pay made today; the day-end judges it kept or broken."""
    agency = working(services, principal, Permission.RECORD_COLLECTIONS, loan_id)
    with services.reading() as connection:
        today = services.business_date(connection)
    with services.acting_as(principal.actor, origin="api"):
        made = record_promise(
            services,
            loan_id=loan_id,
            amount=body.amount,
            due=body.due,
            made_on=today,
            agency=agency,
            key=scoped(principal, key),
        )
    return Json({"promise": made, "loan": loan_id, "due": body.due.isoformat()}, status_code=201)


@router.post("/loans/{loan_id}/contacts", response_model=ContactOut, status_code=201)
def contact(loan_id: Id, body: ContactIn, principal: Caller, key: Key, services: Svc) -> Json:
    """Record a contact made (a call, a text): it counts toward the day's and the week's caps."""
    agency = working(services, principal, Permission.RECORD_COLLECTIONS, loan_id)
    with services.acting_as(principal.actor, origin="api"):
        made = record_contact(
            services,
            loan_id=loan_id,
            channel=body.channel,
            at=body.at,
            agency=agency,
            outcome=body.outcome,
            key=scoped(principal, key),
        )
    return Json({"contact": made, "loan": loan_id}, status_code=201)


@router.get("/collections/queue", response_model=dict[str, Any])
def queue(
    principal: Caller,
    on: Annotated[IsoDate, Query(alias="date", description="YYYY-MM-DD")],
    services: Svc,
    audit: Audit,
) -> Json:
    """The day's work: an agency sees only the accounts placed with it."""
    if principal.role is Role.AGENCY:
        authorize(principal, Permission.READ_QUEUE, placed_with={principal.agency or ""})
    else:
        authorize(principal, Permission.READ_QUEUE)
    view = work_queue(services, on, agency_of(principal))
    audit.read(principal.actor, "collections.queue", f"day:{on}")
    return Json(view)
