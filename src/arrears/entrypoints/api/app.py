"""The REST API (issue 9, first part): what the borrower's app and the collectors' tools call.

**Who is calling.** Every request carries ``Authorization: Bearer <token>`` (``arrears token create``); the token
stands for a role and, for a borrower or an agency, whose data it may see (:mod:`arrears.access`). Unknown or
revoked: 401; a role that may not, or data that is not theirs: 403 with the reason. What a token stands for is
kept by each server process for :data:`TOKEN_SECONDS` (:class:`Principals`): a revoked token opens nothing at the
latest that many seconds after ``arrears token revoke``; an unknown token is looked up every time.

**Writes** need an ``Idempotency-Key`` header: the same key and body post once, however often the client
retries (the service layer keeps the key with the result); the same key with another body is refused (409). Keys
belong to the token that sent them: another caller's key never replays or blocks this one's.
Every write is audited by the service layer with the caller as actor; every read of personal data (a standing,
a loan) is audited here, in batches written at least every second (:mod:`arrears.entrypoints.api.audit`).

**Errors** are 4xx with ``{"error": "..."}`` saying what was wrong and how to fix it, never a 500 for bad input.
A borrower or an agency asking for a record that does not exist gets the 403 of one not theirs (ids cannot be
probed). A fault of the server's is a 500 whose body names a reference; the log has the traceback under it.
"""

import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

import anyio.to_thread
import orjson
from fastapi import Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from arrears.access import Forbidden, Permission, Principal, Role, authorize, refusal_for_missing, role_may
from arrears.adapters import collections_store as cs
from arrears.adapters import store, tokens_store
from arrears.adapters import tables as t
from arrears.adapters.store import NotFound
from arrears.analytics.portfolio import portfolio_report, with_decimal_amounts
from arrears.bounds import MAX_AMOUNT  # 1,000,000,000.00: the bound of every amount entering (arrears.bounds)
from arrears.entrypoints.api.audit import AuditBacklog, ReadAudit
from arrears.entrypoints.api.failures import logged
from arrears.entrypoints.api.limits import BodyLimit
from arrears.errors import Busy, InputRejected
from arrears.hardship.plans import PlanTerms
from arrears.inputs import FREE_TEXT_MAX, PRINTABLE, TEXT, max_length
from arrears.money import format_minor
from arrears.service_layer import approvals, hardship, legal
from arrears.service_layer.catalogue import load_catalogue, product_view
from arrears.service_layer.collections import record_contact, record_promise, work_queue
from arrears.service_layer.credit_reporting import jurisdiction_of, open_dispute
from arrears.service_layer.day_end_store import store_snapshots
from arrears.service_layer.portfolio import loan_statement
from arrears.service_layer.services import IdempotencyConflict, Services
from arrears.validation import Amount, IsoDate, Rate, error_detail

LANGS = ("zh-CN", "en-US")
THREADS = 16
"""Requests one process serves at once (each runs its handler on a thread of its own; the rest wait their turn)."""
REPORT_DAYS = 731
"""The longest range a portfolio report over HTTP covers (two years of month-ends: 24 roll rates, vintages to 24
months on book); a longer one is the CLI's (``arrears report portfolio``), which may run for minutes."""
Id = Annotated[int, Path(ge=1, le=2**31 - 1, description="A stored id (the store's integers are 32-bit)")]


class Problem(BaseModel):
    error: str


class RepaymentIn(BaseModel):
    """A repayment as the borrower's app or a collector posts it: amount as a decimal string, value date."""

    model_config = ConfigDict(extra="forbid")
    amount: Amount = Field(description='Decimal string in the loan\'s currency, e.g. "300.00"')
    value_date: IsoDate = Field(description="YYYY-MM-DD: the day the money was paid")


class HardshipRequestIn(BaseModel):
    """A borrower's request for help, in their own words."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=max_length(t.hardship_plans.c.reason), pattern=TEXT)


class PlanIn(BaseModel):
    """What a plan offers (arrears.hardship.plans.PlanTerms); the request it answers, if any."""

    model_config = ConfigDict(extra="forbid")
    request: int | None = Field(None, ge=1, le=2**31 - 1, description="The borrower's request it answers")
    installments: int | None = Field(None, ge=1, le=600, description="Reschedule into N monthly installments")
    first_due: IsoDate | None = Field(None, description="YYYY-MM-DD: the first new installment's due date")
    waive_penalty: bool = False
    freeze_days: int | None = Field(None, ge=1, le=10_000, description="No penalty or compound for N days")
    settlement_amount: Amount | None = Field(None, description='Settle at a discount for this, e.g. "2000.00"')
    settlement_days: int | None = Field(None, ge=1, le=10_000, description="Days to pay the settlement")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(
        "", max_length=FREE_TEXT_MAX, pattern=TEXT, description="Why; a rejection's note is what the borrower is told"
    )


class DisputeIn(BaseModel):
    """A dispute (异议) of what the bureau was told of a loan for a month."""

    model_config = ConfigDict(extra="forbid")
    month: IsoDate = Field(description="Any day of the month disputed, YYYY-MM-DD")
    claim: str = Field(
        min_length=1,
        max_length=max_length(t.credit_disputes.c.claim),
        pattern=TEXT,
        description="What the borrower says is wrong",
    )


class WaiverIn(BaseModel):
    """A waiver (减免) to propose: a checker approves it before it is posted."""

    model_config = ConfigDict(extra="forbid")
    component: Literal["penalty", "compound", "interest"]
    amount: Amount = Field(description='Decimal string, e.g. "12.50"')
    value_date: IsoDate = Field(description="YYYY-MM-DD")


class WriteOffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value_date: IsoDate = Field(description="YYYY-MM-DD")


class CourtOrderIn(BaseModel):
    """A court's order to record (never executed), proposed for a checker to compare with the document."""

    model_config = ConfigDict(extra="forbid")
    court: str = Field(min_length=1, max_length=max_length(t.court_orders.c.court), pattern=PRINTABLE)
    case_number: str = Field(min_length=1, max_length=max_length(t.court_orders.c.case_number), pattern=PRINTABLE)
    document_ref: str = Field(min_length=1, max_length=max_length(t.court_orders.c.document_ref), pattern=PRINTABLE)
    kind: str = Field(
        min_length=1,
        max_length=max_length(t.court_orders.c.kind),
        pattern=PRINTABLE,
        description="freeze, transfer, consumption_restriction, ...",
    )
    issued_on: IsoDate = Field(description="YYYY-MM-DD")
    loan: int | None = Field(None, ge=1, le=2**31 - 1)
    amount: Amount | None = None


class DrawdownIn(BaseModel):
    """A drawdown (借款) on the borrower's line, starting on the business date."""

    model_config = ConfigDict(extra="forbid")
    amount: Amount = Field(description='Decimal string, e.g. "1000.00"')
    terms: int = Field(ge=1, le=600, description="Monthly terms")


class PromiseIn(BaseModel):
    """A borrower's promise to pay (承诺还款), as a collector or an agency heard it today."""

    model_config = ConfigDict(extra="forbid")
    amount: Amount = Field(description='Decimal string, e.g. "300.00"')
    due: IsoDate = Field(description="YYYY-MM-DD: by when")


class ContactIn(BaseModel):
    """A contact made with the borrower: it counts toward the caps from then on."""

    model_config = ConfigDict(extra="forbid")
    channel: str = Field(
        min_length=1,
        max_length=max_length(t.contacts.c.channel),
        pattern=PRINTABLE,
        description="sms, voice_call, in_app_notice, email or letter",
    )
    at: datetime = Field(description="When, with its offset, e.g. 2026-06-25T10:00:00+08:00")
    outcome: str | None = Field(None, max_length=max_length(t.contacts.c.outcome), pattern=PRINTABLE)


class BorrowerIn(BaseModel):
    """A borrower to add (the lender's onboarding): the phone is masked in every log and view."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(
        min_length=1, max_length=max_length(t.borrowers.c.name), pattern=PRINTABLE, description="Full name"
    )
    phone: str = Field(
        min_length=5,
        max_length=max_length(t.borrowers.c.phone),
        pattern=PRINTABLE,
        description="Mobile number, e.g. 13800138000",
    )
    timezone: str = Field(
        "Asia/Shanghai",
        min_length=1,
        max_length=max_length(t.borrowers.c.timezone),
        pattern=PRINTABLE,
        description="IANA zone: contact windows are kept in it",
    )
    language: Literal["zh", "en"] = Field("zh", description="The language of the borrower's messages")


class LineIn(BaseModel):
    """A credit line (授信) to open for the borrower: a product, a limit within its range, and a daily rate within
    its range (the product's own when left out)."""

    model_config = ConfigDict(extra="forbid")
    product: str = Field(
        min_length=1,
        max_length=max_length(t.credit_lines.c.product_code),
        pattern=PRINTABLE,
        description="A product's code (GET /products)",
    )
    limit: Amount = Field(description='Decimal string in the product\'s currency, e.g. "20000.00"')
    daily_rate: Rate | None = Field(None, description='Decimal string, e.g. "0.0004"; default the product\'s')


class Unauthorized(Exception):
    pass


TOKEN_SECONDS = 2.0
"""How long a process keeps what a token stands for: the longest a revoked token still opens anything."""
TOKENS_KEPT = 10_000
DATE_SECONDS = 1.0
"""How long a process keeps the business date for the one-year bound on the dates asked (:func:`create_app`)."""


class Json(JSONResponse):
    """JSON by orjson: the same bytes as Starlette's (UTF-8, compact), several times faster. Handlers return
    it themselves, so FastAPI neither validates the view against ``dict[str, Any]`` nor re-encodes it."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class Principals:
    """What each token stands for, kept :data:`TOKEN_SECONDS` after it was read from the store (by the token's
    SHA-256, never the token itself; at most :data:`TOKENS_KEPT`, the oldest dropped first). Only tokens found
    live are kept: an unknown or revoked one is looked up again on every request."""

    def __init__(self, services: Services, clock: Callable[[], float] = time.monotonic) -> None:
        self.services, self.clock = services, clock
        self._kept: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def of(self, token: str) -> Principal | None:
        key = tokens_store.digest(token)
        now = self.clock()
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and now - kept[0] < TOKEN_SECONDS:
            return kept[1]
        with self.services.reading() as connection:
            principal = tokens_store.principal_of(connection, token)
        with self._lock:
            self._kept.pop(key, None)
            if principal is not None:
                self._kept[key] = (now, principal)
                if len(self._kept) > TOKENS_KEPT:
                    del self._kept[next(iter(self._kept))]
        return principal


def create_app(services: Services) -> FastAPI:
    """The API over ``services`` (one store); see the module docstring."""
    audit = ReadAudit(services)
    principals = Principals(services)
    catalogue = load_catalogue(services.settings.products_dir)  # a broken product file stops the start, named
    business_day: list[tuple[float, date]] = []  # (when read, the business date), for near()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        audit.start()
        try:
            yield
        finally:
            audit.close()  # nothing queued is lost at shutdown

    app = FastAPI(
        lifespan=lifespan,
        docs_url=None,  # FastAPI's documentation pages load their scripts from a CDN: none here
        redoc_url=None,
        title="arrears",
        version="0.1.0",
        description="Consumer-loan servicing and collections: lawful by construction.",
        responses={  # 409: an Idempotency-Key reused with another body (writes)
            401: {"model": Problem},
            403: {"model": Problem},
            404: {"model": Problem},
            409: {"model": Problem},
            413: {"model": Problem},  # a body over its cap (arrears.entrypoints.api.limits)
            422: {"model": Problem},
            503: {"model": Problem},  # busy (a day-end closing a day): retry after Retry-After, with the same key
        },
    )
    app.state.read_audit = audit
    app.state.principals = principals

    def caller(authorization: Annotated[str | None, Header()] = None) -> Principal:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send Authorization: Bearer <token> (arrears token create prints one)")
        principal = principals.of(token.strip())
        if principal is None:
            raise Unauthorized("the token is unknown or revoked; ask for a new one")
        return principal

    def authenticate(authorization: str | None) -> str | None:
        """The caller checked before a body is read (:mod:`arrears.entrypoints.api.limits`): None, or why it is a
        401."""
        try:
            caller(authorization)
        except Unauthorized as error:
            return str(error)
        return None

    Caller = Annotated[Principal, Depends(caller)]
    Key = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=150)]

    def scoped(principal: Principal, key: str) -> str:
        """A client's key, scoped to its token: another caller's key never replays or blocks this one's."""
        return f"api:{principal.token_id}:{key}"

    @app.exception_handler(RequestValidationError)
    def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        said = "; ".join(f"{'.'.join(str(p) for p in item['loc'])}: {error_detail(item)}" for item in error.errors())
        return JSONResponse({"error": said or "the request is not valid"}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(error.detail)}, status_code=error.status_code)

    @app.exception_handler(AuditBacklog)
    def _backlog(_: Request, error: AuditBacklog) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(Busy)
    def _busy(_: Request, error: Busy) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=503, headers={"Retry-After": str(error.retry_after)})

    @app.exception_handler(Unauthorized)
    def _unauthorized(_: Request, error: Unauthorized) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=401, headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(Forbidden)
    def _forbidden(_: Request, error: Forbidden) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=403)

    @app.exception_handler(NotFound)
    def _not_found(request: Request, error: NotFound) -> JSONResponse:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        principal = principals.of(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        refusal = refusal_for_missing(principal) if principal is not None and not error.public else None
        if refusal is not None:  # a borrower or an agency: the same answer as for another's record
            return JSONResponse({"error": str(refusal)}, status_code=403)
        return JSONResponse({"error": str(error)}, status_code=404)

    @app.exception_handler(IdempotencyConflict)
    def _conflict(_: Request, error: IdempotencyConflict) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=409)

    @app.exception_handler(InputRejected)
    def _rejected(_: Request, error: InputRejected) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=422)

    @app.exception_handler(Exception)
    def _failure(request: Request, error: Exception) -> JSONResponse:
        """A bug, never the caller's doing: a reference to quote, the traceback in the log under it."""
        reference = logged(request, error)
        said = (
            f"the server failed (a fault on our side, not in the request): retry it (a write with the same "
            f"Idempotency-Key posts once), or quote reference {reference}"
        )
        return JSONResponse({"error": said, "reference": reference}, status_code=500)

    def near(on: date) -> None:
        """A standing or a loan is asked of a day within a year of the business date: a replay to the year 2488
        answers nothing anyone needs and would hold a worker for minutes. (The business date is read at most once
        every :data:`DATE_SECONDS`: for that long after a day-end the bound stays a day short.)"""
        now = time.monotonic()
        if business_day and now - business_day[0][0] < DATE_SECONDS:
            today = business_day[0][1]
        else:
            with services.reading() as connection:
                today = services.business_date(connection)
            business_day[:] = [(now, today)]
        horizon = services.settings.horizon_days  # ARREARS_HORIZON_DAYS, as the CLI's as-of dates
        if on > today + timedelta(days=horizon):
            raise InputRejected(f"date {on} is more than {horizon} days after the business date {today}")

    @app.get("/borrowers/{borrower_id}/standing", response_model=dict[str, Any], tags=["borrowers"])
    def standing(
        borrower_id: Id,
        principal: Caller,
        on: Annotated[IsoDate, Query(alias="date", description="YYYY-MM-DD")],
        lang: Annotated[str, Query(pattern="^(zh-CN|en-US)$")] = "zh-CN",
    ) -> Json:
        """Where the borrower stands: what is restricted, why, what is not affected, what to pay by when."""
        authorize(principal, Permission.READ_STANDING, borrower=borrower_id)
        near(on)
        view = services.standing(borrower_id, on, lang)
        audit.read(principal.actor, "borrower.standing", f"borrower:{borrower_id}")
        return Json(view)

    def owner_of(loan_id: int) -> int:
        with services.reading() as connection:
            return store.get_loan(connection, loan_id).borrower_id

    def placed(loan_id: int) -> set[str]:
        with services.reading() as connection:
            placement = cs.open_placements(connection).get(loan_id)
        return {placement.agency} if placement is not None else set()

    def authorize_on_loan(principal: Principal, permission: Permission, loan_id: int) -> None:
        """:func:`authorize` on a loan: the role first, so a role that may not learns nothing of the loan (not even
        that it exists), then whose it is and where it is placed."""
        role_may(principal, permission)
        authorize(principal, permission, borrower=owner_of(loan_id), placed_with=placed(loan_id))

    @app.get("/loans/{loan_id}", response_model=dict[str, Any], tags=["loans"])
    def loan(
        loan_id: Id, principal: Caller, on: Annotated[IsoDate, Query(alias="date", description="YYYY-MM-DD")]
    ) -> Json:
        """A loan as of a day: schedule, what is due and paid, days past due."""
        authorize_on_loan(principal, Permission.READ_LOAN, loan_id)
        near(on)
        view = services.loan_state(loan_id, on)
        audit.read(principal.actor, "loan.read", f"loan:{loan_id}")
        return Json(view)

    @app.post(
        "/loans/{loan_id}/repayments",
        response_model=dict[str, Any],
        status_code=201,
        tags=["loans"],
        responses={409: {"model": Problem}},
    )
    def repay(
        loan_id: Id,
        body: RepaymentIn,
        principal: Caller,
        idempotency_key: Annotated[str, Header(min_length=1, max_length=150)],
    ) -> Json:
        """Post a repayment, once per Idempotency-Key."""
        role_may(principal, Permission.REPAY)
        with services.reading() as connection:
            stored = store.get_loan(connection, loan_id)
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
            key = f"api:{principal.token_id}:{idempotency_key}"
            posted = services.repay(loan_id=loan_id, amount=body.amount, value_date=body.value_date, key=key)
        return Json(posted, status_code=201)

    @app.get("/loans/{loan_id}/statement", response_model=dict[str, Any], tags=["loans"])
    def statement(
        loan_id: Id, principal: Caller, on: Annotated[IsoDate, Query(alias="date", description="YYYY-MM-DD")]
    ) -> Json:
        """The loan's statement as of a day: terms, transactions (backdated, reversed), installments, state; the
        JSON of ``arrears portfolio export``'s CSV statement."""
        authorize_on_loan(principal, Permission.READ_LOAN, loan_id)
        near(on)
        view = loan_statement(services, loan_id, on)
        audit.read(principal.actor, "loan.statement", f"loan:{loan_id}")
        return Json(view)

    @app.get("/loans/{loan_id}/explanation", response_model=dict[str, Any], tags=["loans"])
    def explanation(
        loan_id: Id,
        principal: Caller,
        on: Annotated[IsoDate, Query(alias="date", description="YYYY-MM-DD")],
        lang: Annotated[str, Query(pattern="^(zh-CN|en-US)$")] = "zh-CN",
    ) -> Json:
        """Every interest, penalty and compound amount of the loan, each with how it was computed and its rule."""
        authorize_on_loan(principal, Permission.READ_LOAN, loan_id)
        near(on)
        view = services.explain_loan(loan_id, on, lang)
        audit.read(principal.actor, "loan.explanation", f"loan:{loan_id}")
        return Json(view)

    @app.post("/loans/{loan_id}/hardship-requests", response_model=dict[str, Any], status_code=201, tags=["hardship"])
    def hardship_request(loan_id: Id, body: HardshipRequestIn, principal: Caller, key: Key) -> Json:
        """The borrower asks for a plan (协商还款); a collector answers it with a proposal."""
        authorize_on_loan(principal, Permission.REQUEST_HARDSHIP, loan_id)
        with services.acting_as(principal.actor, origin="api"):
            view = hardship.request(services, loan_id=loan_id, reason=body.reason, key=scoped(principal, key))
        return Json(view, status_code=201)

    @app.get("/loans/{loan_id}/hardship-plans", response_model=list[dict[str, Any]], tags=["hardship"])
    def hardship_plans(loan_id: Id, principal: Caller) -> Json:
        """The loan's requests and plans, newest first."""
        authorize_on_loan(principal, Permission.READ_HARDSHIP, loan_id)
        view = hardship.plans(services, loan_id=loan_id)
        audit.read(principal.actor, "hardship.read", f"loan:{loan_id}")
        return Json(view)

    @app.post("/loans/{loan_id}/hardship-plans", response_model=dict[str, Any], status_code=201, tags=["hardship"])
    def hardship_propose(loan_id: Id, body: PlanIn, principal: Caller, key: Key) -> Json:
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

    @app.post(
        "/hardship-plans/{plan_id}/approval",
        response_model=dict[str, Any],
        status_code=201,
        tags=["hardship"],
        responses={409: {"model": Problem}},
    )
    def hardship_approve(
        plan_id: Id,
        body: DecisionIn,
        principal: Caller,
        idempotency_key: Annotated[str, Header(min_length=1, max_length=150)],
    ) -> Json:
        """Approve a plan made by another token, within this role's limit; posts its events, once per key."""
        authorize(principal, Permission.DECIDE_HARDSHIP)
        key = f"api:{principal.token_id}:{idempotency_key}"
        with services.acting_as(principal.actor, origin="api"):
            view = hardship.approve(
                services, plan_id=plan_id, checker=principal.actor, role=principal.role.value, note=body.note, key=key
            )
        return Json(view, status_code=201)

    @app.post("/hardship-plans/{plan_id}/rejection", response_model=dict[str, Any], status_code=201, tags=["hardship"])
    def hardship_reject(plan_id: Id, body: DecisionIn, principal: Caller, key: Key) -> Json:
        """Reject a request or a plan made by another token, saying why."""
        authorize(principal, Permission.DECIDE_HARDSHIP)
        with services.acting_as(principal.actor, origin="api"):
            view = hardship.reject(
                services, plan_id=plan_id, checker=principal.actor, note=body.note, key=scoped(principal, key)
            )
        return Json(view, status_code=201)

    @app.post("/loans/{loan_id}/disputes", response_model=dict[str, Any], status_code=201, tags=["credit"])
    def dispute(loan_id: Id, body: DisputeIn, principal: Caller, key: Key) -> Json:
        """Dispute what was reported of the loan for a month: answered within 20 days (cn) or 30 (us)."""
        authorize_on_loan(principal, Permission.OPEN_DISPUTE, loan_id)
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

    @app.get("/loans/{loan_id}/cases", response_model=list[dict[str, Any]], tags=["legal"])
    def cases(loan_id: Id, principal: Caller) -> Json:
        """The loan's court cases, with the delay interest a judgment debtor owes today and the court orders."""
        authorize(principal, Permission.READ_LEGAL)
        owner_of(loan_id)  # 404 for a loan that does not exist
        view = legal.cases(services, loan_id=loan_id)
        audit.read(principal.actor, "legal.read", f"loan:{loan_id}")
        return Json(view)

    def proposed(command: str, arguments: dict[str, Any], principal: Principal, key: str) -> Json:
        authorize(principal, Permission.PROPOSE_COMMAND)
        with services.acting_as(principal.actor, origin="api"):
            view = approvals.propose(
                services, command=command, arguments=arguments, maker=principal.actor, key=scoped(principal, key)
            )
        return Json(view, status_code=201)

    @app.post("/loans/{loan_id}/waivers", response_model=dict[str, Any], status_code=201, tags=["approvals"])
    def waiver(loan_id: Id, body: WaiverIn, principal: Caller, key: Key) -> Json:
        """Propose a waiver; it is posted only when someone else approves it (maker-checker)."""
        arguments = {
            "loan": loan_id,
            "component": body.component,
            "amount": body.amount,
            "date": body.value_date.isoformat(),
        }
        return proposed("waive", arguments, principal, key)

    @app.post("/loans/{loan_id}/write-offs", response_model=dict[str, Any], status_code=201, tags=["approvals"])
    def write_off(loan_id: Id, body: WriteOffIn, principal: Caller, key: Key) -> Json:
        """Propose a write-off (核销); posted only once an admin approves it."""
        return proposed("write_off", {"loan": loan_id, "date": body.value_date.isoformat()}, principal, key)

    @app.post(
        "/transactions/{transaction_id}/reversals", response_model=dict[str, Any], status_code=201, tags=["approvals"]
    )
    def reversal(transaction_id: Id, principal: Caller, key: Key) -> Json:
        """Propose reversing a repayment (returned or mistaken money); reversed only once approved."""
        return proposed("reverse", {"transaction": transaction_id}, principal, key)

    @app.post(
        "/borrowers/{borrower_id}/court-orders", response_model=dict[str, Any], status_code=201, tags=["approvals"]
    )
    def court_order(borrower_id: Id, body: CourtOrderIn, principal: Caller, key: Key) -> Json:
        """Propose recording a court's order (recorded, never executed); recorded only once approved."""
        arguments = {**body.model_dump(), "borrower": borrower_id, "issued_on": body.issued_on.isoformat()}
        return proposed("court_order", arguments, principal, key)

    @app.get("/approvals", response_model=list[dict[str, Any]], tags=["approvals"])
    def approval_list(
        principal: Caller,
        status: Annotated[str | None, Query(pattern="^(pending|approving|approved|rejected)$")] = None,
    ) -> Json:
        """The maker-checker requests, newest first."""
        authorize(principal, Permission.READ_APPROVALS)
        view = approvals.approvals(services, status=status)
        audit.read(principal.actor, "approvals.read", f"approvals:{status or 'all'}")  # court orders name people
        return Json(view)

    @app.post("/approvals/{approval_id}/approval", response_model=dict[str, Any], status_code=201, tags=["approvals"])
    def approval_approve(approval_id: Id, principal: Caller, key: Key) -> Json:
        """Approve a request someone else made, within this role's limit; its command runs exactly once (the
        request is its own key: approving it again returns the first answer)."""
        authorize(principal, Permission.DECIDE_COMMAND)
        del key  # required like every write's; the request's id is what makes approving it once
        with services.acting_as(principal.actor, origin="api"):
            view = approvals.approve(
                services, approval_id=approval_id, checker=principal.actor, role=principal.role.value
            )
        return Json(view, status_code=201)

    @app.post("/approvals/{approval_id}/rejection", response_model=dict[str, Any], status_code=201, tags=["approvals"])
    def approval_reject(approval_id: Id, body: DecisionIn, principal: Caller, key: Key) -> Json:
        """Reject a request someone else made, saying why."""
        authorize(principal, Permission.DECIDE_COMMAND)
        with services.acting_as(principal.actor, origin="api"):
            view = approvals.reject(
                services, approval_id=approval_id, checker=principal.actor, note=body.note, key=scoped(principal, key)
            )
        return Json(view, status_code=201)

    @app.get("/borrowers/{borrower_id}", response_model=dict[str, Any], tags=["borrowers"])
    def borrower(borrower_id: Id, principal: Caller) -> Json:
        """The borrower's profile (phone masked), lines and loans."""
        authorize(principal, Permission.READ_STANDING, borrower=borrower_id)
        view = services.borrower_profile(borrower_id)
        audit.read(principal.actor, "borrower.read", f"borrower:{borrower_id}")
        return Json(view)

    @app.post("/borrowers", response_model=dict[str, Any], status_code=201, tags=["borrowers"])
    def borrower_add(body: BorrowerIn, principal: Caller, key: Key) -> Json:
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

    def published(principal: Principal, permission: Permission) -> None:
        """Authorize a read of what belongs to no borrower (the product terms): the role alone decides, so a
        borrower's and an agency's scope are their own."""
        authorize(principal, permission, borrower=principal.borrower, placed_with={principal.agency or ""})

    @app.get("/products", response_model=list[dict[str, Any]], tags=["products"])
    def products(principal: Caller) -> Json:
        """The products the lender offers, as a borrower is shown them: limits, drawdown rules, rates, terms, the
        grace period, penalty and compound interest, and the restrictions the contract allows."""
        published(principal, Permission.READ_PRODUCTS)
        return Json([product_view(product) for product in catalogue.products.values()])

    @app.get("/products/{code}", response_model=dict[str, Any], tags=["products"])
    def product(code: Annotated[str, Path(min_length=1, max_length=64)], principal: Caller) -> Json:
        """One product the lender offers, by its code."""
        published(principal, Permission.READ_PRODUCTS)
        return Json(product_view(catalogue.product(code)))

    @app.post("/borrowers/{borrower_id}/lines", response_model=dict[str, Any], status_code=201, tags=["borrowers"])
    def line_open(borrower_id: Id, body: LineIn, principal: Caller, key: Key) -> Json:
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

    @app.get("/lines/{line_id}", response_model=dict[str, Any], tags=["loans"])
    def line(line_id: Id, principal: Caller, lang: Annotated[str, Query(pattern="^(zh-CN|en-US)$")] = "zh-CN") -> Json:
        """The line now (during the business date): its limit and the limit in force, product, loans, and what is
        restricted on it, why and what lifts it (the borrower's standing, for this line)."""
        role_may(principal, Permission.READ_STANDING)
        with services.reading() as connection:
            owner = store.get_line(connection, line_id)["borrower_id"]
        authorize(principal, Permission.READ_STANDING, borrower=owner)  # an agency never: a line is more than a loan
        view = services.line_view(line_id, lang)
        audit.read(principal.actor, "line.read", f"line:{line_id}")
        return Json(view)

    @app.get("/borrowers/{borrower_id}/court-orders", response_model=list[dict[str, Any]], tags=["legal"])
    def court_orders(
        borrower_id: Id, principal: Caller, lang: Annotated[str, Query(pattern="^(zh-CN|en-US)$")] = "zh-CN"
    ) -> Json:
        """The court orders recorded against the borrower (recorded, never executed), with what each means."""
        authorize(principal, Permission.READ_LEGAL, borrower=borrower_id)
        view = legal.court_orders(services, borrower_id=borrower_id, lang=lang)
        audit.read(principal.actor, "legal.court_orders", f"borrower:{borrower_id}")
        return Json(view)

    @app.get("/reports/portfolio", response_model=dict[str, Any], tags=["reports"])
    def portfolio(
        principal: Caller,
        first: Annotated[IsoDate, Query(alias="from", description="First snapshot day, YYYY-MM-DD")],
        last: Annotated[IsoDate, Query(alias="to", description="Last snapshot day, YYYY-MM-DD")],
    ) -> Json:
        """``arrears report portfolio --json`` over HTTP, amounts as decimal strings: bucket mix, roll rates, cure
        rate, classification mix, non-accrual balance, vintages and first-payment default, from the month-end
        snapshots of the day-ends between ``from`` and ``to`` (:mod:`arrears.analytics.portfolio`)."""
        authorize(principal, Permission.READ_REPORTS)
        if last < first:
            raise InputRejected(f"to {last} is before from {first}; swap them")
        if (last - first).days > REPORT_DAYS:
            raise InputRejected(
                f"a report over HTTP covers at most {REPORT_DAYS} days; ask for a shorter range, or run "
                "arrears report portfolio for a longer one"
            )
        report = portfolio_report(store_snapshots(services, first, last).to_pylist(), first, last)
        return Json(with_decimal_amounts(report))

    @app.post(
        "/lines/{line_id}/drawdowns",
        response_model=dict[str, Any],
        status_code=201,
        tags=["loans"],
        responses={409: {"model": Problem}},
    )
    def drawdown(
        line_id: Id,
        body: DrawdownIn,
        principal: Caller,
        idempotency_key: Annotated[str, Header(min_length=1, max_length=150)],
    ) -> Json:
        """Draw a loan on the line, from the business date; refused with the rule (a suspended line, the limit)."""
        role_may(principal, Permission.DRAW)
        with services.reading() as connection:
            owner = store.get_line(connection, line_id)["borrower_id"]
            today = services.business_date(connection)
        authorize(principal, Permission.DRAW, borrower=owner)
        if body.amount > MAX_AMOUNT:
            raise InputRejected(f"an amount above {format_minor(MAX_AMOUNT)} is not a drawdown; check the figure")
        with services.acting_as(principal.actor, origin="api"):
            key = f"api:{principal.token_id}:{idempotency_key}"
            loan_id = services.draw(line_id=line_id, amount=body.amount, terms=body.terms, start=today, key=key)
        return Json({"loan": loan_id, "line": line_id, "start": today.isoformat()}, status_code=201)

    def working(principal: Principal, permission: Permission, loan_id: int) -> str | None:
        """Authorize a collections write on a loan; the agency the caller works for, if one."""
        authorize_on_loan(principal, permission, loan_id)
        return principal.agency if principal.role is Role.AGENCY else None

    @app.post("/loans/{loan_id}/promises", response_model=dict[str, Any], status_code=201, tags=["collections"])
    def promise(loan_id: Id, body: PromiseIn, principal: Caller, key: Key) -> Json:
        """Record a promise to pay made today; the day-end judges it kept or broken."""
        agency = working(principal, Permission.RECORD_COLLECTIONS, loan_id)
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

    @app.post("/loans/{loan_id}/contacts", response_model=dict[str, Any], status_code=201, tags=["collections"])
    def contact(loan_id: Id, body: ContactIn, principal: Caller, key: Key) -> Json:
        """Record a contact made (a call, a text): it counts toward the day's and the week's caps."""
        agency = working(principal, Permission.RECORD_COLLECTIONS, loan_id)
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

    @app.get("/collections/queue", response_model=dict[str, Any], tags=["collections"])
    def queue(principal: Caller, on: Annotated[IsoDate, Query(alias="date", description="YYYY-MM-DD")]) -> Json:
        """The day's work: an agency sees only the accounts placed with it."""
        if principal.role is Role.AGENCY:
            authorize(principal, Permission.READ_QUEUE, placed_with={principal.agency or ""})
        else:
            authorize(principal, Permission.READ_QUEUE)
        view = work_queue(services, on, principal.agency if principal.role is Role.AGENCY else None)
        audit.read(principal.actor, "collections.queue", f"day:{on}")
        return Json(view)

    # the console and the borrower page (imported here: arrears.entrypoints.web itself imports the API's parts)
    from arrears.entrypoints.web import mount_web
    from arrears.entrypoints.web.session import MAX_FORM_BYTES

    mount_web(app, services, audit, principals)
    app.add_middleware(BodyLimit, authenticate=authenticate, web_bytes=MAX_FORM_BYTES)
    return app
