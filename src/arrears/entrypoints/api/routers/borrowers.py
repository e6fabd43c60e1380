"""Borrowers: where one stands (the borrower-facing standing), their profile, and onboarding (a borrower added,
a credit line opened on an offered product)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from arrears.access import Permission, authorize
from arrears.bounds import MAX_AMOUNT  # 1,000,000,000.00: the bound of every amount entering (arrears.bounds)
from arrears.entrypoints.api.deps import Audit, Caller, Id, Json, Key, Near, Products, Svc, scoped
from arrears.entrypoints.api.schemas import BorrowerIn, LineIn
from arrears.entrypoints.api.schemas.responses import BorrowerAddedOut, LineOpenedOut, StandingOut
from arrears.errors import InputRejected
from arrears.money import format_minor
from arrears.validation import IsoDate

router = APIRouter(tags=["borrowers"])


@router.get("/borrowers/{borrower_id}/standing", response_model=StandingOut)
def standing(
    borrower_id: Id,
    principal: Caller,
    on: Annotated[IsoDate, Query(alias="date", description="YYYY-MM-DD")],
    services: Svc,
    audit: Audit,
    horizon: Near,
    lang: Annotated[str, Query(pattern="^(zh-CN|en-US)$")] = "zh-CN",
) -> Json:
    """Where the borrower stands: what is restricted, why, what is not affected, what to pay by when."""
    authorize(principal, Permission.READ_STANDING, borrower=borrower_id)
    horizon.near(on)
    view = services.standing(borrower_id, on, lang)
    audit.read(principal.actor, "borrower.standing", f"borrower:{borrower_id}")
    return Json(view)


@router.get("/borrowers/{borrower_id}", response_model=dict[str, Any])
def borrower(borrower_id: Id, principal: Caller, services: Svc, audit: Audit) -> Json:
    """The borrower's profile (phone masked), lines and loans."""
    authorize(principal, Permission.READ_STANDING, borrower=borrower_id)
    view = services.borrower_profile(borrower_id)
    audit.read(principal.actor, "borrower.read", f"borrower:{borrower_id}")
    return Json(view)


@router.post("/borrowers", response_model=BorrowerAddedOut, status_code=201)
def borrower_add(body: BorrowerIn, principal: Caller, key: Key, services: Svc) -> Json:
    """Add a borrower (the lender's onboarding), once per Idempotency-Key; lines are opened on them next."""
    authorize(principal, Permission.ADD_BORROWER)
    with services.acting_as(principal.actor, origin="api"):
        added = services.add_borrower(
            name=body.name,
            phone=body.phone,
            timezone=body.timezone,
            language=body.language,
            key=scoped(principal, key),
        )
    return Json({"borrower": added}, status_code=201)


@router.post("/borrowers/{borrower_id}/lines", response_model=LineOpenedOut, status_code=201)
def line_open(borrower_id: Id, body: LineIn, principal: Caller, key: Key, services: Svc, catalogue: Products) -> Json:
    """Open a credit line for the borrower on an offered product, once per Idempotency-Key; refused with the
    rule when the limit or the rate is outside the product's range."""
    authorize(principal, Permission.OPEN_LINE)
    offered = catalogue.offered(body.product)
    if body.limit > MAX_AMOUNT:
        raise InputRejected(f"a limit above {format_minor(MAX_AMOUNT)} is not a credit line; check the figure")
    with services.acting_as(principal.actor, origin="api"):
        opened = services.open_line(
            borrower_id=borrower_id,
            product=offered,
            limit=body.limit,
            daily_rate=body.daily_rate,
            key=scoped(principal, key),
        )
    return Json({"line": opened, "borrower": borrower_id, "product": offered.code}, status_code=201)
