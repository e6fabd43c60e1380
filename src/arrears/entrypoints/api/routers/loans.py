"""Loans and lines: a loan as of a day (schedule, statement, the explanation of every charge), a repayment, a
credit line and a drawdown on it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from arrears.access import Permission, Role, authorize, role_may
from arrears.bounds import MAX_AMOUNT  # 1,000,000,000.00: the bound of every amount entering (arrears.bounds)
from arrears.entrypoints.api.deps import Audit, Caller, Id, Json, Near, RawKey, Svc, authorize_on_loan, scoped
from arrears.entrypoints.api.schemas import DrawdownIn, Problem, RepaymentIn
from arrears.entrypoints.api.schemas.responses import DrawdownOut, ExplanationOut, LoanEventOut, LoanStateOut
from arrears.errors import InputRejected
from arrears.money import format_minor
from arrears.service_layer import console
from arrears.service_layer.portfolio import loan_statement
from arrears.validation import IsoDate

router = APIRouter(tags=["loans"])
OnDay = Annotated[IsoDate, Query(alias="date", description="YYYY-MM-DD")]


@router.get("/loans/{loan_id}", response_model=LoanStateOut)
def loan(loan_id: Id, principal: Caller, on: OnDay, services: Svc, audit: Audit, horizon: Near) -> Json:
    """A loan as of a day: schedule, what is due and paid, days past due."""
    authorize_on_loan(services, principal, Permission.READ_LOAN, loan_id)
    horizon.near(on)
    view = services.loan_state(loan_id, on)
    audit.read(principal.actor, "loan.read", f"loan:{loan_id}")
    return Json(view)


@router.post(
    "/loans/{loan_id}/repayments", response_model=LoanEventOut, status_code=201, responses={409: {"model": Problem}}
)
def repay(loan_id: Id, body: RepaymentIn, principal: Caller, idempotency_key: RawKey, services: Svc) -> Json:
    """Post a repayment, once per Idempotency-Key."""
    role_may(principal, Permission.REPAY)
    stored = console.loan(services, loan_id)
    authorize(principal, Permission.REPAY, borrower=stored.borrower_id)
    if principal.role is Role.BORROWER and body.amount > stored.terms.principal:
        raise InputRejected(
            f"the app takes a payment of at most the loan's principal ({format_minor(stored.terms.principal)}); "
            "a larger sum goes through the lender's service desk"
        )
    if body.amount > MAX_AMOUNT:
        raise InputRejected(f"an amount above {format_minor(MAX_AMOUNT)} is not a repayment; check the figure")
    with services.acting_as(principal.actor, origin="api"):
        # keys are the caller's own: another token's key never replays or blocks this one
        key = scoped(principal, idempotency_key)
        posted = services.repay(loan_id=loan_id, amount=body.amount, value_date=body.value_date, key=key)
    return Json(posted, status_code=201)


@router.get("/loans/{loan_id}/statement", response_model=dict[str, Any])
def statement(loan_id: Id, principal: Caller, on: OnDay, services: Svc, audit: Audit, horizon: Near) -> Json:
    """The loan's statement as of a day: terms, transactions (backdated, reversed), installments, state; the
    JSON of ``arrears portfolio export``'s CSV statement."""
    authorize_on_loan(services, principal, Permission.READ_LOAN, loan_id)
    horizon.near(on)
    view = loan_statement(services, loan_id, on)
    audit.read(principal.actor, "loan.statement", f"loan:{loan_id}")
    return Json(view)


@router.get("/loans/{loan_id}/explanation", response_model=ExplanationOut)
def explanation(
    loan_id: Id,
    principal: Caller,
    on: OnDay,
    services: Svc,
    audit: Audit,
    horizon: Near,
    lang: Annotated[str, Query(pattern="^(zh-CN|en-US)$")] = "zh-CN",
) -> Json:
    """Every interest, penalty and compound amount of the loan, each with how it was computed and its rule."""
    authorize_on_loan(services, principal, Permission.READ_LOAN, loan_id)
    horizon.near(on)
    view = services.explain_loan(loan_id, on, lang)
    audit.read(principal.actor, "loan.explanation", f"loan:{loan_id}")
    return Json(view)


@router.get("/lines/{line_id}", response_model=dict[str, Any])
def line(
    line_id: Id,
    principal: Caller,
    services: Svc,
    audit: Audit,
    lang: Annotated[str, Query(pattern="^(zh-CN|en-US)$")] = "zh-CN",
) -> Json:
    """The line now (during the business date): its limit and the limit in force, product, loans, and what is
    restricted on it, why and what lifts it (the borrower's standing, for this line)."""
    role_may(principal, Permission.READ_STANDING)
    owner = console.line_owner(services, line_id)
    authorize(principal, Permission.READ_STANDING, borrower=owner)  # an agency never: a line is more than a loan
    view = services.line_view(line_id, lang)
    audit.read(principal.actor, "line.read", f"line:{line_id}")
    return Json(view)


@router.post(
    "/lines/{line_id}/drawdowns", response_model=DrawdownOut, status_code=201, responses={409: {"model": Problem}}
)
def drawdown(line_id: Id, body: DrawdownIn, principal: Caller, idempotency_key: RawKey, services: Svc) -> Json:
    """Draw a loan on the line, from the business date; refused with the rule (a suspended line, the limit)."""
    role_may(principal, Permission.DRAW)
    owner = console.line_owner(services, line_id)
    with services.reading() as connection:
        today = services.business_date(connection)
    authorize(principal, Permission.DRAW, borrower=owner)
    if body.amount > MAX_AMOUNT:
        raise InputRejected(f"an amount above {format_minor(MAX_AMOUNT)} is not a drawdown; check the figure")
    with services.acting_as(principal.actor, origin="api"):
        key = scoped(principal, idempotency_key)
        loan_id = services.draw(line_id=line_id, amount=body.amount, terms=body.terms, start=today, key=key)
    return Json({"loan": loan_id, "line": line_id, "start": today.isoformat()}, status_code=201)
