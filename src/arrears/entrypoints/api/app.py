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

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from arrears.access import Forbidden, refusal_for_missing
from arrears.entrypoints.api.audit import AuditBacklog, ReadAudit
from arrears.entrypoints.api.deps import TOKEN_SECONDS, Horizon, Json, Principals, Unauthorized
from arrears.entrypoints.api.failures import logged
from arrears.entrypoints.api.limits import BodyLimit
from arrears.entrypoints.api.routers import ROUTERS
from arrears.entrypoints.api.schemas import BorrowerIn, ContactIn, Problem
from arrears.errors import Busy, InputRejected
from arrears.service_layer.catalogue import load_catalogue
from arrears.service_layer.console import NotFound
from arrears.service_layer.services import IdempotencyConflict, Services
from arrears.validation import error_detail

__all__ = ["THREADS", "TOKEN_SECONDS", "BorrowerIn", "ContactIn", "Json", "Principals", "create_app"]

LANGS = ("zh-CN", "en-US")
THREADS = 16
"""Requests one process serves at once (each runs its handler on a thread of its own; the rest wait their turn)."""


def create_app(services: Services) -> FastAPI:
    """The API over ``services`` (one store); see the module docstring. Its parts live on ``app.state`` for the
    routes' dependencies (:mod:`arrears.entrypoints.api.deps`); the routes are one router per resource
    (:mod:`arrears.entrypoints.api.routers`); the pages are mounted beside them (:mod:`arrears.entrypoints.web`)."""
    audit = ReadAudit(services)
    principals = Principals(services)

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
    app.state.services = services
    app.state.read_audit = audit
    app.state.principals = principals
    app.state.catalogue = load_catalogue(services.settings.products_dir)  # a broken product file stops the start
    app.state.horizon = Horizon(services)
    _answer_errors(app, principals)
    for router in ROUTERS:
        app.include_router(router)

    # the console and the borrower page (imported here: arrears.entrypoints.web itself imports the API's parts)
    from arrears.entrypoints.web import mount_web
    from arrears.entrypoints.web.session import MAX_FORM_BYTES

    mount_web(app, services, audit, principals)
    app.add_middleware(BodyLimit, authenticate=principals.authenticate, web_bytes=MAX_FORM_BYTES)
    return app


def _answer_errors(app: FastAPI, principals: Principals) -> None:
    """Every refusal as ``{"error": "..."}`` with its status (module docstring); a bug as a 500 with a reference."""

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
