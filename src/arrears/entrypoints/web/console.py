"""The operations console (1280 px): collectors, supervisors and compliance officers at work.

- **Today's work** (``/console/queue``): the planned day's accounts (:func:`work_queue`), each allowed action with
  the strategy rule that asked for it and its template; record a contact's outcome and a promise to pay in place.
  An agency sees only the accounts placed with it.
- **Account** (``/console/loans/{id}``): schedule, explanation, contact history, promises, restrictions (the
  registry's history), court orders, hardship plans and legal cases, each shown only to roles that may read it;
  propose a hardship plan.
- **Approvals** (``/console/approvals``): plans waiting for a checker; approve (once per form, within the role's
  limit; the maker is refused) or reject with the reason the borrower is told.
- **Strategy check** (``/console/strategy``): paste a strategy TOML, see each violation with its rule and source.
- **Compliance log** (``/console/compliance``): refused actions with their rule, cancelled messages, the audit log.
- **Portfolio** (``/console/dashboard``): bucket mix and classification over month-ends, roll rates, from the
  store's day-end snapshots (:func:`store_snapshots`), drawn by :mod:`arrears.analytics.html`'s offline SVG charts.

Recording contacts and promises is the API's ``collections.record`` permission (:data:`WORKS_ACCOUNTS`), an agency
only on the accounts placed with it. Waivers are proposed on the account page and approved by someone else on the
approvals page (:mod:`arrears.service_layer.approvals`), like hardship plans.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from arrears.access import GRANTS, Forbidden, Permission, Principal, Role, authorize
from arrears.analytics.html import charts
from arrears.analytics.portfolio import BUCKETS, REPAID, portfolio_report
from arrears.collections.policy import Channel
from arrears.collections.strategy import check_document
from arrears.entrypoints.web.borrower import Id, business_date, parse_day
from arrears.entrypoints.web.session import Site, Visit, redirect, web_route
from arrears.errors import InputRejected
from arrears.hardship.plans import PlanTerms
from arrears.legal.court_orders import order_view
from arrears.money import parse_amount
from arrears.service_layer import approvals as commands
from arrears.service_layer import console as queries
from arrears.service_layer import hardship, legal
from arrears.service_layer.collections import record_contact, record_promise, work_queue
from arrears.service_layer.day_end_store import store_snapshots

R = Role
WORKS_ACCOUNTS = GRANTS[Permission.RECORD_COLLECTIONS]
"""Who records contacts and promises to pay (compliance reads, never writes): the API's own grant."""
READS_COMPLIANCE = frozenset({R.COMPLIANCE, R.SUPERVISOR, R.ADMIN})
STAFF = frozenset({R.COLLECTOR, R.SUPERVISOR, R.COMPLIANCE, R.ADMIN})
"""The lender's own people: the strategy check and the portfolio dashboard."""
CONSOLE = WORKS_ACCOUNTS | READS_COMPLIANCE
"""Who opens an account in the console (a borrower has their own page)."""
OUTCOMES = ("connected", "no_answer", "promise", "refused", "wrong_number", "left_message")
MAX_STRATEGY_CHARS = 100_000


def require(principal: Principal, roles: frozenset[Role], what: str) -> None:
    if principal.role not in roles:
        raise Forbidden(f"the {principal.role} role may not {what}")


def placed(site: Site, loan_id: int) -> set[str]:
    return queries.placed_with(site.services, loan_id)


def may(principal: Principal, permission: Permission, **scope: Any) -> bool:
    try:
        authorize(principal, permission, **scope)
    except Forbidden:
        return False
    return True


def works(site: Site, visit: Visit, loan_id: int) -> queries.LoanRecord:
    """The loan, if the caller may record work on it."""
    require(visit.principal, WORKS_ACCOUNTS, "record collection work")
    loan = queries.loan(site.services, loan_id)
    # an agency, on a loan not placed with it, is told what it is told of a loan that is not there
    authorize(
        visit.principal, Permission.RECORD_COLLECTIONS, borrower=loan.borrower_id, placed_with=placed(site, loan_id)
    )
    return loan


def router(site: Site) -> APIRouter:
    """The console's pages and forms, in the order they were always registered."""
    r = APIRouter(prefix="/console", route_class=web_route(site), include_in_schema=False)
    for add in (_queue_routes, _work_routes, _account_routes, _command_routes, _plan_routes, _tool_routes):
        add(r, site)
    return r


def _queue_routes(r: APIRouter, site: Site) -> None:
    """Today's work."""

    @r.get("/queue", response_class=HTMLResponse)
    def queue(request: Request, on: str = "") -> HTMLResponse:
        """Today's work: accounts and their allowed actions, with the forms to record what happened."""
        visit = site.visit(request)
        agency = visit.principal.agency if visit.principal.role is Role.AGENCY else None
        if agency is not None:
            authorize(visit.principal, Permission.READ_QUEUE, placed_with={agency})
        else:
            authorize(visit.principal, Permission.READ_QUEUE)
        day = parse_day(on, "on") if on else business_date(site)
        try:
            view: dict[str, Any] | None = work_queue(site.services, day, agency)
            problem = None
        except InputRejected as error:
            view, problem = None, str(error)
        reasons = queries.strategy_rules(site.services, day) if view else {}
        visit.audit_read("collections.queue", f"day:{day}")
        return visit.render(
            "queue.html.j2",
            day=day,
            view=view,
            problem=problem,
            reasons=reasons,
            outcomes=OUTCOMES,
            channels=[c.value for c in Channel],
            promise_by=day + timedelta(days=3),
            can_work=visit.principal.role in WORKS_ACCOUNTS,
        )


def _work_routes(r: APIRouter, site: Site) -> None:
    """Recording collection work on an account: a contact, a promise to pay."""

    @r.post("/loans/{loan_id}/contacts")
    async def contact(request: Request, loan_id: Id) -> Response:
        """A contact made now, with its outcome: it counts toward the caps from then on."""
        visit = site.visit(request)
        fields = await visit.form()

        def run() -> Response:
            works(site, visit, loan_id)

            def post(key: str) -> object:
                return record_contact(
                    site.services,
                    loan_id=loan_id,
                    channel=fields.get("channel", ""),
                    at=datetime.now(UTC),
                    agency=visit.principal.agency,
                    outcome=(fields.get("outcome") or None),
                    key=key,
                )

            return visit.write(fields, post, f"{_back(fields)}?notice=contact")

        return await run_in_threadpool(run)

    @r.post("/loans/{loan_id}/promises")
    async def promise(request: Request, loan_id: Id) -> Response:
        """A promise to pay an amount by a day, made today; the day-end judges it kept or broken."""
        visit = site.visit(request)
        fields = await visit.form()

        def run() -> Response:
            works(site, visit, loan_id)
            amount = parse_amount(fields.get("amount", ""), field="amount")
            due = parse_day(fields.get("by", ""), "by")

            def post(key: str) -> object:
                return record_promise(
                    site.services,
                    loan_id=loan_id,
                    amount=amount,
                    due=due,
                    made_on=business_date(site),
                    agency=visit.principal.agency,
                    key=key,
                )

            return visit.write(fields, post, f"{_back(fields)}?notice=promise")

        return await run_in_threadpool(run)


def _account_routes(r: APIRouter, site: Site) -> None:
    """One account, and proposing a hardship plan on it."""

    @r.get("/loans/{loan_id}", response_class=HTMLResponse)
    def account(request: Request, loan_id: Id) -> HTMLResponse:
        """One account: everything known of the loan, each part only for the roles that may read it."""
        visit = site.visit(request)
        principal = visit.principal
        require(principal, CONSOLE, "open the console (a borrower's own page is /borrower)")
        loan, orders = queries.loan_and_orders(site.services, loan_id)
        authorize(principal, Permission.READ_LOAN, borrower=loan.borrower_id, placed_with=placed(site, loan_id))
        day = business_date(site)
        state = site.services.loan_state(loan_id, day)
        explanation = site.services.explain_loan(loan_id, day, visit.lang)
        visit.audit_read("loan.read", f"loan:{loan_id}")
        visit.audit_read("loan.explanation", f"loan:{loan_id}")
        agency = principal.agency if principal.role is Role.AGENCY else None
        records = queries.account_records(site.services, loan_id, loan.line_id, agency)
        visit.audit_read("collections.account", f"loan:{loan_id}")
        plans = cases = None
        if may(principal, Permission.READ_HARDSHIP, borrower=loan.borrower_id):
            plans = hardship.plans(site.services, loan_id=loan_id)
            visit.audit_read("hardship.read", f"loan:{loan_id}")
        if may(principal, Permission.READ_LEGAL):
            cases = legal.cases(site.services, loan_id=loan_id)
            visit.audit_read("legal.read", f"loan:{loan_id}")
        show_orders = may(principal, Permission.READ_STANDING, borrower=loan.borrower_id)
        return visit.render(
            "account.html.j2",
            loan=loan,
            day=day,
            state=state,
            explanation=explanation,
            records=records,
            plans=plans,
            cases=cases,
            orders=[order_view(o, False, visit.lang) for o in orders if o.issued_on <= day] if show_orders else None,
            can_propose=may(principal, Permission.PROPOSE_HARDSHIP),
            can_waive=may(principal, Permission.PROPOSE_COMMAND),
            can_work=principal.role in WORKS_ACCOUNTS,
            borrower_page=show_orders,
            outcomes=OUTCOMES,
            channels=[c.value for c in Channel],
            promise_by=day + timedelta(days=3),
        )

    @r.post("/loans/{loan_id}/hardship-plans")
    async def propose(request: Request, loan_id: Id) -> Response:
        """Propose a plan (the caller is its maker and cannot approve it), checked against the loan today."""
        visit = site.visit(request)
        fields = await visit.form()

        def run() -> Response:
            authorize(visit.principal, Permission.PROPOSE_HARDSHIP)
            terms = PlanTerms(
                installments=_count(fields.get("installments", ""), "installments"),
                first_due=parse_day(fields["first_due"], "first_due") if fields.get("first_due") else None,
                waive_penalty=fields.get("waive_penalty") == "on",
                freeze_days=_count(fields.get("freeze_days", ""), "freeze_days"),
            )
            answers = _count(fields.get("request", ""), "request")

            def post(key: str) -> object:
                maker = visit.principal.actor
                return hardship.propose(
                    site.services, loan_id=loan_id, terms=terms, maker=maker, plan_id=answers, key=key
                )

            return visit.write(fields, post, f"/console/loans/{loan_id}?notice=proposed")

        return await run_in_threadpool(run)


def _command_routes(r: APIRouter, site: Site) -> None:
    """Maker-checker commands: the approvals page, proposing a waiver, approving or rejecting a command."""

    @r.get("/approvals", response_class=HTMLResponse)
    def approvals(request: Request) -> HTMLResponse:
        """Plans waiting for a checker, and requests waiting for a proposal."""
        visit = site.visit(request)
        authorize(visit.principal, Permission.DECIDE_HARDSHIP)
        proposed = hardship.plans(site.services, status="proposed")
        requested = hardship.plans(site.services, status="requested")
        waiting = commands.approvals(site.services, status="pending")
        visit.audit_read("hardship.read", "plans:open")
        return visit.render("approvals.html.j2", proposed=proposed, requested=requested, waiting=waiting)

    @r.post("/loans/{loan_id}/waivers")
    async def waiver(request: Request, loan_id: Id) -> Response:
        """Propose a waiver dated today; it is posted only when someone else approves it."""
        visit = site.visit(request)
        fields = await visit.form()

        def run() -> Response:
            authorize(visit.principal, Permission.PROPOSE_COMMAND)
            arguments = {
                "loan": loan_id,
                "component": fields.get("component", ""),
                "amount": parse_amount(fields.get("amount", ""), field="amount"),
                "date": business_date(site).isoformat(),
            }

            def post(key: str) -> object:
                maker = visit.principal.actor
                return commands.propose(site.services, command="waive", arguments=arguments, maker=maker, key=key)

            return visit.write(fields, post, f"/console/loans/{loan_id}?notice=proposed")

        return await run_in_threadpool(run)

    @r.post("/approvals/{approval_id}/approval")
    async def approve_command(request: Request, approval_id: Id) -> Response:
        """Approve a waiver, write-off, reversal or court order someone else proposed; it runs exactly once."""
        visit = site.visit(request)
        await visit.form()

        def run() -> Response:
            authorize(visit.principal, Permission.DECIDE_COMMAND)
            with site.services.acting_as(visit.principal.actor, origin="web"):
                commands.approve(
                    site.services,
                    approval_id=approval_id,
                    checker=visit.principal.actor,
                    role=visit.principal.role.value,
                )
            return redirect("/console/approvals?notice=approved")

        return await run_in_threadpool(run)

    @r.post("/approvals/{approval_id}/rejection")
    async def reject_command(request: Request, approval_id: Id) -> Response:
        """Reject a command someone else proposed, saying why."""
        visit = site.visit(request)
        fields = await visit.form()

        def run() -> Response:
            authorize(visit.principal, Permission.DECIDE_COMMAND)
            with site.services.acting_as(visit.principal.actor, origin="web"):
                commands.reject(
                    site.services,
                    approval_id=approval_id,
                    checker=visit.principal.actor,
                    note=fields.get("note", ""),
                    key=visit.form_key(fields),
                )
            return redirect("/console/approvals?notice=rejected")

        return await run_in_threadpool(run)


def _plan_routes(r: APIRouter, site: Site) -> None:
    """Deciding hardship plans."""

    @r.post("/hardship-plans/{plan_id}/approval")
    async def approve(request: Request, plan_id: Id) -> Response:
        """Approve within this role's limit; posts the plan's events once per form (its idempotency key)."""
        visit = site.visit(request)
        fields = await visit.form()

        def run() -> Response:
            authorize(visit.principal, Permission.DECIDE_HARDSHIP)
            key = visit.form_key(fields)
            with site.services.acting_as(visit.principal.actor, origin="web"):
                hardship.approve(
                    site.services,
                    plan_id=plan_id,
                    checker=visit.principal.actor,
                    role=visit.principal.role.value,
                    note=fields.get("note", "")[:2000],
                    key=key,
                )
            return redirect("/console/approvals?notice=approved")

        return await run_in_threadpool(run)

    @r.post("/hardship-plans/{plan_id}/rejection")
    async def reject(request: Request, plan_id: Id) -> Response:
        """Reject with the reason the borrower is told."""
        visit = site.visit(request)
        fields = await visit.form()

        def run() -> Response:
            authorize(visit.principal, Permission.DECIDE_HARDSHIP)

            def post(key: str) -> object:
                checker, note = visit.principal.actor, fields.get("note", "")
                return hardship.reject(site.services, plan_id=plan_id, checker=checker, note=note, key=key)

            return visit.write(fields, post, "/console/approvals?notice=rejected")

        return await run_in_threadpool(run)


def _tool_routes(r: APIRouter, site: Site) -> None:
    """The strategy check, the compliance log and the portfolio dashboard."""

    @r.get("/strategy", response_class=HTMLResponse)
    def strategy_page(request: Request) -> HTMLResponse:
        """The strategy check: paste a TOML and see what its jurisdiction's policy pack says of it."""
        visit = site.visit(request)
        require(visit.principal, STAFF, "check strategies")
        return visit.render("strategy.html.j2", text="", result=None)

    @r.post("/strategy", response_class=HTMLResponse)
    async def strategy_check(request: Request) -> HTMLResponse:
        visit = site.visit(request)
        require(visit.principal, STAFF, "check strategies")
        fields = await visit.form()
        text = fields.get("strategy", "")[:MAX_STRATEGY_CHARS]
        return visit.render("strategy.html.j2", text=text, result=_check(text))

    @r.get("/compliance", response_class=HTMLResponse)
    def compliance(request: Request) -> HTMLResponse:
        """Every refusal with its rule, messages cancelled before they went, and who did what."""
        visit = site.visit(request)
        require(visit.principal, READS_COMPLIANCE, "read the compliance log")
        log = queries.compliance_log(site.services)
        visit.audit_read("compliance.log", "collections")
        return visit.render("compliance.html.j2", log=log)

    @r.get("/dashboard", response_class=HTMLResponse)
    def dashboard(request: Request) -> HTMLResponse:
        """The portfolio at a glance over the last year of month-ends."""
        visit = site.visit(request)
        require(visit.principal, STAFF, "read the portfolio")
        day = business_date(site)
        first = day - timedelta(days=366)
        report = portfolio_report(store_snapshots(site.services, first, day).to_pylist(), first, day)
        return visit.render(
            "dashboard.html.j2",
            report=report,
            charts=charts(report),
            buckets=BUCKETS,
            targets=[*BUCKETS, REPAID],
            day=day,
        )


def _check(text: str) -> dict[str, Any]:
    """What the strategy check says of a pasted document: lawful (with its pack), or every violation."""
    try:
        document = tomllib.loads(text)
    except RecursionError:
        problem = "nested too deeply to be a strategy"
        return {"ok": False, "violations": [{"rule": "schema", "source": "TOML", "where": "", "message": problem}]}
    except tomllib.TOMLDecodeError as error:
        return {"ok": False, "violations": [{"rule": "schema", "source": "TOML", "where": "", "message": str(error)}]}
    strategy, violations = check_document(document, "pasted")
    if strategy is None:
        return {"ok": False, "violations": [v.as_json() for v in violations]}
    return {
        "ok": True,
        "pack": f"{strategy.pack.jurisdiction} ({strategy.pack.title})",
        "rules": len(strategy.rules.rules),
        "arms": len(strategy.rules.arms),
    }


def _count(text: str, field: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 5) or not 1 <= int(text) <= 10_000:
        raise InputRejected(f"{field}: {text!r} is not a whole number from 1 to 10000")
    return int(text)


def _back(fields: dict[str, str]) -> str:
    back = fields.get("back", "")
    return back if back.startswith("/console/") and "//" not in back else "/console/queue"
