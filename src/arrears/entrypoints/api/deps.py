"""What every route depends on, as FastAPI dependencies over ``app.state`` (set once by
:func:`arrears.entrypoints.api.app.create_app`): the services, the read audit, the product catalogue, the caller
(the principal of the bearer token), the idempotency key scoped to it, the horizon of the dates asked, and the
access checks on a loan.

**Who is calling.** ``Authorization: Bearer <token>``: unknown or revoked is a 401 (:class:`Unauthorized`). What
a token stands for is kept by each process for :data:`TOKEN_SECONDS` (:class:`Principals`), so a revoked token
opens nothing at the latest that many seconds after ``arrears token revoke``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Any

import orjson
from fastapi import Depends, Header, Path, Request
from fastapi.responses import JSONResponse

from arrears.access import Permission, Principal, Role, authorize, role_may
from arrears.entrypoints.api.audit import ReadAudit
from arrears.errors import InputRejected
from arrears.service_layer import console, tokens
from arrears.service_layer.catalogue import Catalogue
from arrears.service_layer.services import Services

TOKEN_SECONDS = 2.0
"""How long a process keeps what a token stands for: the longest a revoked token still opens anything."""
TOKENS_KEPT = 10_000
DATE_SECONDS = 1.0
"""How long a process keeps the business date for the bound on the dates asked (:class:`Horizon`)."""
Id = Annotated[int, Path(ge=1, le=2**31 - 1, description="A stored id (the store's integers are 32-bit)")]


class Unauthorized(Exception):
    """No bearer token, or one unknown or revoked: a 401 with ``WWW-Authenticate: Bearer``."""


class Json(JSONResponse):
    """JSON by orjson: the same bytes as Starlette's (UTF-8, compact), several times faster. Handlers return
    it themselves, so FastAPI neither validates the view against its response model nor re-encodes it: the
    model documents the payload (OpenAPI), the service's view is what is sent."""

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
        key = tokens.digest(token)
        now = self.clock()
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and now - kept[0] < TOKEN_SECONDS:
            return kept[1]
        principal = tokens.principal_of(self.services, token)
        with self._lock:
            self._kept.pop(key, None)
            if principal is not None:
                self._kept[key] = (now, principal)
                if len(self._kept) > TOKENS_KEPT:
                    del self._kept[next(iter(self._kept))]
        return principal

    def caller(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization`` header's bearer token (:class:`Unauthorized` otherwise)."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send Authorization: Bearer <token> (arrears token create prints one)")
        principal = self.of(token.strip())
        if principal is None:
            raise Unauthorized("the token is unknown or revoked; ask for a new one")
        return principal

    def authenticate(self, authorization: str | None) -> str | None:
        """The caller checked before a body is read (:mod:`arrears.entrypoints.api.limits`): None, or why it is a
        401."""
        try:
            self.caller(authorization)
        except Unauthorized as error:
            return str(error)
        return None


class Horizon:
    """A standing or a loan is asked of a day within ``ARREARS_HORIZON_DAYS`` of the business date: a replay to
    the year 2488 answers nothing anyone needs and would hold a worker for minutes. (The business date is read at
    most once every :data:`DATE_SECONDS`: for that long after a day-end the bound stays a day short.)"""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._read: list[tuple[float, date]] = []  # (when read, the business date)

    def near(self, on: date) -> None:
        now = time.monotonic()
        if self._read and now - self._read[0][0] < DATE_SECONDS:
            today = self._read[0][1]
        else:
            with self.services.reading() as connection:
                today = self.services.business_date(connection)
            self._read[:] = [(now, today)]
        horizon = self.services.settings.horizon_days  # ARREARS_HORIZON_DAYS, as the CLI's as-of dates
        if on > today + timedelta(days=horizon):
            raise InputRejected(f"date {on} is more than {horizon} days after the business date {today}")


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def _audit(request: Request) -> ReadAudit:
    return request.app.state.read_audit  # type: ignore[no-any-return]


def _catalogue(request: Request) -> Catalogue:
    return request.app.state.catalogue  # type: ignore[no-any-return]


def _horizon(request: Request) -> Horizon:
    return request.app.state.horizon  # type: ignore[no-any-return]


def _caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    principals: Principals = request.app.state.principals
    return principals.caller(authorization)


Svc = Annotated[Services, Depends(_services)]
Audit = Annotated[ReadAudit, Depends(_audit)]
Products = Annotated[Catalogue, Depends(_catalogue)]
Near = Annotated[Horizon, Depends(_horizon)]
Caller = Annotated[Principal, Depends(_caller)]
Key = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=150)]
"""A write's Idempotency-Key (published as ``Idempotency-Key``)."""
RawKey = Annotated[str, Header(min_length=1, max_length=150)]
"""The same header, as the repayment, drawdown and plan-approval routes have always declared it (published as
``idempotency-key``, the parameter's own name: kept so that their OpenAPI operations do not change)."""


def scoped(principal: Principal, key: str) -> str:
    """A client's key, scoped to its token: another caller's key never replays or blocks this one's."""
    return f"api:{principal.token_id}:{key}"


def authorize_on_loan(services: Services, principal: Principal, permission: Permission, loan_id: int) -> None:
    """:func:`authorize` on a loan: the role first, so a role that may not learns nothing of the loan (not even
    that it exists), then whose it is and where it is placed."""
    role_may(principal, permission)
    owner = console.loan(services, loan_id).borrower_id
    authorize(principal, permission, borrower=owner, placed_with=console.placed_with(services, loan_id))


def agency_of(principal: Principal) -> str | None:
    """The agency the caller works for, if it is an agency."""
    return principal.agency if principal.role is Role.AGENCY else None
