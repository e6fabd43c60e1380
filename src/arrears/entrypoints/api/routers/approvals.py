"""Maker-checker (:mod:`arrears.service_layer.approvals`): a waiver, a write-off, a reversal or a court order is
proposed by one token and runs only when another approves it, exactly once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from arrears.access import Permission, Principal, authorize
from arrears.entrypoints.api.deps import Audit, Caller, Id, Json, Key, Svc, scoped
from arrears.entrypoints.api.schemas import CourtOrderIn, DecisionIn, WaiverIn, WriteOffIn
from arrears.entrypoints.api.schemas.responses import ApprovalOut, ProposalOut
from arrears.service_layer import approvals
from arrears.service_layer.services import Services

router = APIRouter(tags=["approvals"])


def proposed(services: Services, command: str, arguments: dict[str, Any], principal: Principal, key: str) -> Json:
    authorize(principal, Permission.PROPOSE_COMMAND)
    with services.acting_as(principal.actor, origin="api"):
        view = approvals.propose(
            services, command=command, arguments=arguments, maker=principal.actor, key=scoped(principal, key)
        )
    return Json(view, status_code=201)


@router.post("/loans/{loan_id}/waivers", response_model=ProposalOut, status_code=201)
def waiver(loan_id: Id, body: WaiverIn, principal: Caller, key: Key, services: Svc) -> Json:
    """Propose a waiver; it is posted only when someone else approves it (maker-checker)."""
    arguments = {
        "loan": loan_id,
        "component": body.component,
        "amount": body.amount,
        "date": body.value_date.isoformat(),
    }
    return proposed(services, "waive", arguments, principal, key)


@router.post("/loans/{loan_id}/write-offs", response_model=ProposalOut, status_code=201)
def write_off(loan_id: Id, body: WriteOffIn, principal: Caller, key: Key, services: Svc) -> Json:
    """Propose a write-off (核销); posted only once an admin approves it."""
    return proposed(services, "write_off", {"loan": loan_id, "date": body.value_date.isoformat()}, principal, key)


@router.post("/transactions/{transaction_id}/reversals", response_model=ProposalOut, status_code=201)
def reversal(transaction_id: Id, principal: Caller, key: Key, services: Svc) -> Json:
    """Propose reversing a repayment (returned or mistaken money); reversed only once approved."""
    return proposed(services, "reverse", {"transaction": transaction_id}, principal, key)


@router.post("/borrowers/{borrower_id}/court-orders", response_model=ProposalOut, status_code=201)
def court_order(borrower_id: Id, body: CourtOrderIn, principal: Caller, key: Key, services: Svc) -> Json:
    """Propose recording a court's order (recorded, never executed); recorded only once approved."""
    arguments = {**body.model_dump(), "borrower": borrower_id, "issued_on": body.issued_on.isoformat()}
    return proposed(services, "court_order", arguments, principal, key)


@router.get("/approvals", response_model=list[ApprovalOut])
def approval_list(
    principal: Caller,
    services: Svc,
    audit: Audit,
    status: Annotated[str | None, Query(pattern="^(pending|approving|approved|rejected)$")] = None,
) -> Json:
    """The maker-checker requests, newest first."""
    authorize(principal, Permission.READ_APPROVALS)
    view = approvals.approvals(services, status=status)
    audit.read(principal.actor, "approvals.read", f"approvals:{status or 'all'}")  # court orders name people
    return Json(view)


@router.post("/approvals/{approval_id}/approval", response_model=ApprovalOut, status_code=201)
def approval_approve(approval_id: Id, principal: Caller, key: Key, services: Svc) -> Json:
    """Approve a request someone else made, within this role's limit; its command runs exactly once (the
    request is its own key: approving it again returns the first answer)."""
    authorize(principal, Permission.DECIDE_COMMAND)
    del key  # required like every write's; the request's id is what makes approving it once
    with services.acting_as(principal.actor, origin="api"):
        view = approvals.approve(services, approval_id=approval_id, checker=principal.actor, role=principal.role.value)
    return Json(view, status_code=201)


@router.post("/approvals/{approval_id}/rejection", response_model=ApprovalOut, status_code=201)
def approval_reject(approval_id: Id, body: DecisionIn, principal: Caller, key: Key, services: Svc) -> Json:
    """Reject a request someone else made, saying why."""
    authorize(principal, Permission.DECIDE_COMMAND)
    with services.acting_as(principal.actor, origin="api"):
        view = approvals.reject(
            services, approval_id=approval_id, checker=principal.actor, note=body.note, key=scoped(principal, key)
        )
    return Json(view, status_code=201)
