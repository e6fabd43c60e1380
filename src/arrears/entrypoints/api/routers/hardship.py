"""Hardship plans (协商还款): the borrower's request, a collector's proposal, a checker's approval (which posts the
plan's events) or rejection (:mod:`arrears.service_layer.hardship`)."""

from __future__ import annotations

from fastapi import APIRouter

from arrears.access import Permission, authorize
from arrears.entrypoints.api.deps import Audit, Caller, Id, Json, Key, RawKey, Svc, authorize_on_loan, scoped
from arrears.entrypoints.api.schemas import DecisionIn, HardshipRequestIn, PlanIn, Problem
from arrears.entrypoints.api.schemas.responses import (
    PlanApprovedOut,
    PlanOut,
    PlanProposedOut,
    PlanRejectedOut,
    PlanRequestedOut,
)
from arrears.hardship.plans import PlanTerms
from arrears.service_layer import hardship

router = APIRouter(tags=["hardship"])


@router.post("/loans/{loan_id}/hardship-requests", response_model=PlanRequestedOut, status_code=201)
def hardship_request(loan_id: Id, body: HardshipRequestIn, principal: Caller, key: Key, services: Svc) -> Json:
    """The borrower asks for a plan (协商还款); a collector answers it with a proposal."""
    authorize_on_loan(services, principal, Permission.REQUEST_HARDSHIP, loan_id)
    with services.acting_as(principal.actor, origin="api"):
        view = hardship.request(services, loan_id=loan_id, reason=body.reason, key=scoped(principal, key))
    return Json(view, status_code=201)


@router.get("/loans/{loan_id}/hardship-plans", response_model=list[PlanOut])
def hardship_plans(loan_id: Id, principal: Caller, services: Svc, audit: Audit) -> Json:
    """The loan's requests and plans, newest first."""
    authorize_on_loan(services, principal, Permission.READ_HARDSHIP, loan_id)
    view = hardship.plans(services, loan_id=loan_id)
    audit.read(principal.actor, "hardship.read", f"loan:{loan_id}")
    return Json(view)


@router.post("/loans/{loan_id}/hardship-plans", response_model=PlanProposedOut, status_code=201)
def hardship_propose(loan_id: Id, body: PlanIn, principal: Caller, key: Key, services: Svc) -> Json:
    """Propose a plan (the caller is its maker, who cannot approve it); checked against the loan today."""
    authorize(principal, Permission.PROPOSE_HARDSHIP)
    terms = PlanTerms(
        installments=body.installments,
        first_due=body.first_due,
        waive_penalty=body.waive_penalty,
        freeze_days=body.freeze_days,
        settlement_amount=body.settlement_amount,
        settlement_days=body.settlement_days,
    )
    with services.acting_as(principal.actor, origin="api"):
        view = hardship.propose(
            services,
            loan_id=loan_id,
            terms=terms,
            maker=principal.actor,
            plan_id=body.request,
            key=scoped(principal, key),
        )
    return Json(view, status_code=201)


@router.post(
    "/hardship-plans/{plan_id}/approval",
    response_model=PlanApprovedOut,
    status_code=201,
    responses={409: {"model": Problem}},
)
def hardship_approve(plan_id: Id, body: DecisionIn, principal: Caller, idempotency_key: RawKey, services: Svc) -> Json:
    """Approve a plan made by another token, within this role's limit; posts its events, once per key."""
    authorize(principal, Permission.DECIDE_HARDSHIP)
    key = scoped(principal, idempotency_key)
    with services.acting_as(principal.actor, origin="api"):
        view = hardship.approve(
            services, plan_id=plan_id, checker=principal.actor, role=principal.role.value, note=body.note, key=key
        )
    return Json(view, status_code=201)


@router.post("/hardship-plans/{plan_id}/rejection", response_model=PlanRejectedOut, status_code=201)
def hardship_reject(plan_id: Id, body: DecisionIn, principal: Caller, key: Key, services: Svc) -> Json:
    """Reject a request or a plan made by another token, saying why."""
    authorize(principal, Permission.DECIDE_HARDSHIP)
    with services.acting_as(principal.actor, origin="api"):
        view = hardship.reject(
            services, plan_id=plan_id, checker=principal.actor, note=body.note, key=scoped(principal, key)
        )
    return Json(view, status_code=201)
