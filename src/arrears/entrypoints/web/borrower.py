"""The borrower's page (mobile first): where they stand and the way back (解封), in one screen.

What is restricted, why, what is NOT affected (their WeChat/QQ account, their contacts, their bank accounts),
exactly what to pay by when (:meth:`Services.standing`); each loan's schedule (:meth:`Services.loan_state`) and
the computation of every interest, penalty and compound amount (:meth:`Services.explain_loan`); and three forms:
pay (pre-filled with the amount the standing names for the loan, posted once per form render by its idempotency
key), ask for a hardship plan (协商还款), dispute a credit-bureau record (异议). The value date of a payment and
the day a dispute is received are the business date. A collector or supervisor may open the same page from an
account; an agency may not (it reads only the loans placed with it, not the borrower's standing).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from arrears.access import Permission, Role, authorize, role_may
from arrears.bounds import MAX_AMOUNT  # no figure past 1,000,000,000.00 reaches the store (arrears.bounds)
from arrears.entrypoints.web.session import Site, Visit, redirect, web_route
from arrears.errors import InputRejected
from arrears.money import format_minor, parse_amount
from arrears.service_layer import console, hardship
from arrears.service_layer.credit_reporting import jurisdiction_of, open_dispute

Id = Annotated[int, Path(ge=1, le=2**31 - 1, description="A stored id")]


def business_date(site: Site) -> date:
    with site.services.reading() as connection:
        return site.services.business_date(connection)


def owner_of(site: Site, loan_id: int) -> console.LoanRecord:
    return console.loan(site.services, loan_id)


def allowed(visit: Visit, permission: Permission, borrower: int) -> bool:
    try:
        authorize(visit.principal, permission, borrower=borrower)
    except PermissionError:
        return False
    return True


def router(site: Site) -> APIRouter:
    r = APIRouter(route_class=web_route(site), include_in_schema=False)

    @r.get("/borrower", response_class=HTMLResponse)
    def own(request: Request) -> Response:
        """A borrower's own page; anyone else opens a borrower from an account in the console."""
        visit = site.visit(request)
        if visit.principal.role is not Role.BORROWER or visit.principal.borrower is None:
            raise InputRejected("open a borrower's page from an account in the console (/console/queue)")
        return redirect(f"/borrower/{visit.principal.borrower}")

    @r.get("/borrower/{borrower_id}", response_class=HTMLResponse)
    def page(request: Request, borrower_id: Id) -> HTMLResponse:
        """The standing, the way back, each loan's schedule and explanation, and the forms."""
        visit = site.visit(request)
        authorize(visit.principal, Permission.READ_STANDING, borrower=borrower_id)
        day = business_date(site)
        standing = site.services.standing(borrower_id, day, visit.lang)
        visit.audit_read("borrower.standing", f"borrower:{borrower_id}")
        loans: list[dict[str, Any]] = []
        for entry in standing["loans"]:
            loan_id = entry["loan_id"]
            loans.append(
                {
                    "id": loan_id,
                    "overdue": entry["overdue"],
                    "state": site.services.loan_state(loan_id, day),
                    "explanation": site.services.explain_loan(loan_id, day, visit.lang),
                }
            )
            visit.audit_read("loan.read", f"loan:{loan_id}")
            visit.audit_read("loan.explanation", f"loan:{loan_id}")
        return visit.render(
            "borrower.html.j2",
            s=standing,
            loans=loans,
            day=day,
            can_pay=allowed(visit, Permission.REPAY, borrower_id),
            can_request=allowed(visit, Permission.REQUEST_HARDSHIP, borrower_id),
            can_dispute=allowed(visit, Permission.OPEN_DISPUTE, borrower_id),
        )

    @r.post("/borrower/loans/{loan_id}/repayments")
    async def pay(request: Request, loan_id: Id) -> Response:
        """Pay on a loan on the business date; a second submission of the same form posts nothing more."""
        visit = site.visit(request)
        fields = await visit.form()
        return await run_in_threadpool(_pay, site, visit, loan_id, fields)

    @r.post("/borrower/loans/{loan_id}/hardship-requests")
    async def ask(request: Request, loan_id: Id) -> Response:
        """The borrower asks for a plan, in their own words; a collector answers it with a proposal."""
        visit = site.visit(request)
        fields = await visit.form()
        return await run_in_threadpool(_ask, site, visit, loan_id, fields)

    @r.post("/borrower/loans/{loan_id}/disputes")
    async def dispute(request: Request, loan_id: Id) -> Response:
        """Dispute what was reported of the loan for a month: answered within 20 days (cn) or 30 (us)."""
        visit = site.visit(request)
        fields = await visit.form()
        return await run_in_threadpool(_dispute, site, visit, loan_id, fields)

    return r


def _pay(site: Site, visit: Visit, loan_id: int, fields: dict[str, str]) -> Response:
    role_may(visit.principal, Permission.REPAY)  # before the lookup: a role that may not learns nothing
    loan = owner_of(site, loan_id)
    authorize(visit.principal, Permission.REPAY, borrower=loan.borrower_id)
    amount = parse_amount(fields.get("amount", ""), field="amount")
    if visit.principal.role is Role.BORROWER and amount > loan.terms.principal:
        raise InputRejected(
            f"the app takes a payment of at most the loan's principal ({format_minor(loan.terms.principal)}); "
            "a larger sum goes through the lender's service desk"
        )
    if amount > MAX_AMOUNT:
        raise InputRejected(f"an amount above {format_minor(MAX_AMOUNT)} is not a repayment; check the figure")
    key = visit.form_key(fields)
    with site.services.acting_as(visit.principal.actor, origin="web"):
        site.services.repay(loan_id=loan_id, amount=amount, value_date=business_date(site), key=key)
    return redirect(f"/borrower/{loan.borrower_id}?notice=paid")


def _ask(site: Site, visit: Visit, loan_id: int, fields: dict[str, str]) -> Response:
    role_may(visit.principal, Permission.REQUEST_HARDSHIP)  # before the lookup: a role that may not learns nothing
    loan = owner_of(site, loan_id)
    authorize(visit.principal, Permission.REQUEST_HARDSHIP, borrower=loan.borrower_id)
    reason = fields.get("reason", "")[:2000]

    def post(key: str) -> object:
        return hardship.request(site.services, loan_id=loan_id, reason=reason, key=key)

    return visit.write(fields, post, f"/borrower/{loan.borrower_id}?notice=requested")


def _dispute(site: Site, visit: Visit, loan_id: int, fields: dict[str, str]) -> Response:
    role_may(visit.principal, Permission.OPEN_DISPUTE)  # before the lookup: a role that may not learns nothing
    loan = owner_of(site, loan_id)
    authorize(visit.principal, Permission.OPEN_DISPUTE, borrower=loan.borrower_id)
    month = parse_day(fields.get("month", ""), "month")
    claim = fields.get("claim", "")[:2000]

    def post(key: str) -> object:
        jurisdiction = jurisdiction_of(site.services, loan_id)
        return open_dispute(
            site.services,
            loan_id=loan_id,
            month=month,
            jurisdiction=jurisdiction,
            received_on=business_date(site),
            claim=claim,
            key=key,
        )

    return visit.write(fields, post, f"/borrower/{loan.borrower_id}?notice=disputed")


def parse_day(text: str, field: str) -> date:
    """A date a person typed: between 1900 and 2999 (a page works with days near today; nothing else)."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InputRejected(f"{field}: {text[:40]!r} is not a date; write it like 2026-06-25") from None
    if not date(1900, 1, 1) <= day <= date(2999, 12, 31):
        raise InputRejected(f"{field}: {day} is too far from today; check the year")
    return day
