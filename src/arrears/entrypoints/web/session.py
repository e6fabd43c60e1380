"""Signing in and what every page shares: the session cookie, the language, CSRF, forms, error pages.

**The session** is the API token itself, kept in an HttpOnly, SameSite=Strict cookie (never readable by a
script, never sent by another site's form) and checked on every request by the API's own lookup, so a revoked
token opens nothing within :data:`arrears.entrypoints.api.app.TOKEN_SECONDS`. **CSRF**: every form carries
:meth:`Site.csrf_of` the session (an HMAC keyed by the token: the same in every server process, unknowable to
another site), and a POST whose ``Origin`` names another host is refused as well.

**Errors** are pages, never a 500 for anything a person can type: not signed in redirects to the sign-in page;
a role that may not, or someone else's data, is a 403 page saying why (:class:`arrears.access.Forbidden`); an
unknown record 404; a refused input 422 with the service layer's own explanation. Anything else is a bug: a 500
that is still the site's page, with a reference whose traceback is in the log (:mod:`arrears.entrypoints.api.failures`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from importlib.resources import files
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from arrears.access import Forbidden, Principal, Role, refusal_for_missing
from arrears.entrypoints.api.audit import AuditBacklog, ReadAudit
from arrears.entrypoints.api.failures import logged
from arrears.entrypoints.web.i18n import LANGS, labels
from arrears.errors import Busy, InputRejected
from arrears.money import format_minor
from arrears.service_layer.console import NotFound
from arrears.service_layer.services import IdempotencyConflict, Services
from arrears.validation import error_detail

COOKIE = "arrears_session"
LANG_COOKIE = "arrears_lang"
MAX_FORM_BYTES = 200_000  # a pasted strategy is a few kilobytes
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # PostgreSQL refuses NUL in text; logs mangle the rest
FORMS_REMEMBERED = 10_000
HOME = {Role.BORROWER: "/borrower", Role.AGENCY: "/console/queue", Role.COMPLIANCE: "/console/compliance"}
"""Where each role lands after signing in (the others: the day's queue)."""


class TokenLookup(Protocol):
    """What a token stands for (:class:`arrears.entrypoints.api.app.Principals`): None when unknown or revoked."""

    def of(self, token: str) -> Principal | None: ...


class NotSignedIn(Exception):
    """No session cookie, or its token is unknown or revoked: the person signs in again."""


def language(request: Request) -> str:
    """``?lang=`` when it names one, else the cookie, else zh-CN."""
    for said in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if said in LANGS:
            return said
    return LANGS[0]


class Site:
    """The pages' shared parts over one store: templates, token lookup, read audit, forms already handled."""

    def __init__(self, services: Services, audit: ReadAudit, principals: TokenLookup) -> None:
        self.services, self.audit, self.principals = services, audit, principals
        self.templates = Environment(
            loader=PackageLoader("arrears", "entrypoints/web/templates"), autoescape=select_autoescape(default=True)
        )
        self.templates.filters["money"] = format_minor  # amounts reach the pages in minor units: formatted here
        self._handled: dict[str, str] = {}  # form key -> where its first submission went
        self._lock = threading.Lock()
        self._writing = threading.Lock()

    @staticmethod
    def csrf_of(token: str) -> str:
        return hmac.new(token.encode(), b"arrears web csrf", hashlib.sha256).hexdigest()

    def visit(self, request: Request) -> Visit:
        """The signed-in caller of ``request`` (:class:`NotSignedIn` otherwise)."""
        token = request.cookies.get(COOKIE, "")
        principal = self.principals.of(token) if token else None
        if principal is None:
            raise NotSignedIn()
        return Visit(self, request, principal, language(request), self.csrf_of(token))

    def render(
        self, request: Request, name: str, *, principal: Principal | None, status: int = 200, **values: Any
    ) -> HTMLResponse:
        lang = language(request)
        page = self.templates.get_template(name).render(
            t=labels(lang), lang=lang, principal=principal, path=request.url.path, **values
        )
        response = HTMLResponse(page, status_code=status)
        if request.query_params.get("lang") in LANGS:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="strict", httponly=True)
        return response

    def once(self, key: str, work: Callable[[], str]) -> str:
        """Run a form's write once per form render (``key``) in this process: a double submit goes where the
        first went. Kept for the last :data:`FORMS_REMEMBERED` forms. The write itself passes the form's key to
        the service layer (:meth:`Visit.form_key`), which posts once per key across processes; this only spares
        the second submit a replay (or, for a contact, whose time is the moment it is sent, a 409)."""
        if key.endswith(":") or len(key) > 200:
            raise InputRejected("the form has no key: reload the page and send it again")
        with self._writing:  # one form write at a time, so a double click cannot slip between check and record
            with self._lock:
                done = self._handled.get(key)
            if done is not None:
                return done
            where = work()
            with self._lock:
                self._handled[key] = where
                if len(self._handled) > FORMS_REMEMBERED:
                    del self._handled[next(iter(self._handled))]
            return where


@dataclass(frozen=True, slots=True)
class Visit:
    """One request by a signed-in person."""

    site: Site
    request: Request
    principal: Principal
    lang: str
    csrf: str

    def render(self, name: str, **values: Any) -> HTMLResponse:
        return self.site.render(
            self.request,
            name,
            principal=self.principal,
            csrf=self.csrf,
            form_key=secrets.token_hex(16),
            notice=self.request.query_params.get("notice"),
            **values,
        )

    def form_key(self, fields: dict[str, str]) -> str:
        """The idempotency key of the form sent (each render carries its own): the service layer posts once per
        key, whichever server process the form reaches (:meth:`Site.once` remembers within one process only)."""
        key = fields.get("key", "")
        if not 1 <= len(key) <= 100:
            raise InputRejected("the form has no key: reload the page and send it again")
        return f"web:{self.principal.token_id}:{key}"

    def write(self, fields: dict[str, str], post: Callable[[str], object], then: str) -> RedirectResponse:
        """A form's write: ``post(key)`` with the form's idempotency key (:meth:`form_key`), as the caller and
        audited from origin ``web``, once per form render (:meth:`Site.once`); then to ``then``."""
        key = self.form_key(fields)

        def work() -> str:
            with self.site.services.acting_as(self.principal.actor, origin="web"):
                post(key)
            return then

        return redirect(self.site.once(f"{self.principal.token_id}:{fields.get('key', '')}", work))

    def audit_read(self, action: str, target: str) -> None:
        self.site.audit.read(self.principal.actor, action, target, origin="web")

    async def form(self) -> dict[str, str]:
        """The POSTed form's fields (the last value of each), after the CSRF and Origin checks."""
        origin = self.request.headers.get("origin")
        sent = urlsplit(origin) if origin else None
        if sent and (sent.netloc != self.request.headers.get("host") or sent.scheme != self.request.url.scheme):
            raise Forbidden("a form sent from another site is refused")
        body = await self.request.body()
        if len(body) > MAX_FORM_BYTES:
            raise InputRejected(f"the form is larger than {MAX_FORM_BYTES} bytes")
        try:
            fields = {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        except UnicodeDecodeError:
            raise InputRejected("the form is not UTF-8 text") from None
        for name, value in fields.items():
            if bad := _CONTROL.search(value):
                raise InputRejected(
                    f"the field {name} holds a control character (U+{ord(bad.group()):04X}); remove it and send again"
                )
        if not hmac.compare_digest(fields.get("csrf", ""), self.csrf):
            raise Forbidden("the form's session check failed: reload the page and send it again")
        return fields


def redirect(where: str) -> RedirectResponse:
    return RedirectResponse(where, status_code=303)


def web_route(site: Site) -> type[APIRoute]:
    """A route class whose errors are HTML pages (module docstring); the API's routes keep their JSON."""

    class WebRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def handle(request: Request) -> Response:
                try:
                    return await handler(request)
                except NotSignedIn:
                    return redirect(f"/sign-in?next={quote(request.url.path)}")
                except Forbidden as error:
                    return await _error(site, request, 403, str(error))
                except NotFound as error:
                    return await _missing(site, request, error)
                except IdempotencyConflict as error:
                    return await _error(site, request, 409, str(error))
                except InputRejected as error:
                    return await _error(site, request, 422, str(error))
                except AuditBacklog as error:
                    return await _error(site, request, 503, str(error))
                except Busy as error:  # a day-end closing a day: nothing was written, the same form may be sent again
                    busy = await _error(site, request, 503, str(error))
                    busy.headers["Retry-After"] = str(error.retry_after)
                    return busy
                except RequestValidationError as error:
                    said = "; ".join(
                        f"{'.'.join(str(p) for p in item['loc'])}: {error_detail(item)}" for item in error.errors()
                    )
                    return await _error(site, request, 422, said or "the request is not valid")
                except HTTPException:
                    raise  # an answer on purpose (a 404 route, a 405): the app's handler words it
                except Exception as error:  # a bug, not the caller's doing: the site's page with a reference
                    return await _failure(site, request, error)

            return handle

    return WebRoute


async def _error(site: Site, request: Request, status: int, message: str) -> HTMLResponse:
    token = request.cookies.get(COOKIE, "")
    principal = await run_in_threadpool(site.principals.of, token) if token else None
    csrf = site.csrf_of(token) if principal is not None else ""  # so sign-out works from an error page too
    return site.render(
        request, "error.html.j2", principal=principal, status=status, code=status, message=message, csrf=csrf
    )


async def _missing(site: Site, request: Request, error: NotFound) -> HTMLResponse:
    """404, except to a borrower or an agency: the 403 of a record not theirs (:func:`refusal_for_missing`)."""
    token = request.cookies.get(COOKIE, "")
    principal = await run_in_threadpool(site.principals.of, token) if token else None
    refusal = refusal_for_missing(principal) if principal is not None and not error.public else None
    if refusal is not None:
        return await _error(site, request, 403, str(refusal))
    return await _error(site, request, 404, str(error))


async def _failure(site: Site, request: Request, error: Exception) -> HTMLResponse:
    """A 500 as the site's own page: the reference to quote, nothing of the failure
    (:mod:`arrears.entrypoints.api.failures`).
    Shown without the caller's name in the header if even that fails (the store unreachable)."""
    reference = logged(request, error)
    lang = language(request)
    message = labels(lang)["failure"]
    try:
        token = request.cookies.get(COOKIE, "")
        principal = await run_in_threadpool(site.principals.of, token) if token else None
    except Exception:  # the failure may be the store itself: the page still renders, signed-out
        principal = None
    csrf = site.csrf_of(request.cookies.get(COOKIE, "")) if principal is not None else ""
    return site.render(
        request,
        "error.html.j2",
        principal=principal,
        status=500,
        code=500,
        message=message,
        reference=reference,
        csrf=csrf,
    )


def session_router(site: Site) -> APIRouter:
    """``/sign-in`` (paste a token), ``/sign-out``, and ``/`` (each role's home)."""
    r = APIRouter(route_class=web_route(site), include_in_schema=False)

    @r.get("/sign-in", response_class=HTMLResponse)
    def sign_in_page(request: Request, next: str = "") -> HTMLResponse:
        """The sign-in form: paste the token ``arrears token create`` printed."""
        return site.render(request, "sign_in.html.j2", principal=None, next=_local(next), message=None)

    @r.post("/sign-in", response_class=HTMLResponse)
    async def sign_in(request: Request) -> Response:
        body = await request.body()
        fields = {k: v[-1] for k, v in parse_qs(body[:MAX_FORM_BYTES].decode(errors="replace")).items()}
        origin = request.headers.get("origin")
        if origin and urlsplit(origin).netloc != request.headers.get("host"):
            raise Forbidden("a sign-in sent from another site is refused")
        token = fields.get("token", "").strip()
        principal = await run_in_threadpool(site.principals.of, token) if token else None
        if principal is None:
            return site.render(
                request,
                "sign_in.html.j2",
                principal=None,
                status=401,
                next=_local(fields.get("next", "")),
                message=labels(language(request))["bad_token"],
            )
        response = redirect(_local(fields.get("next", "")) or HOME.get(principal.role, "/console/queue"))
        secure = request.url.scheme == "https"
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=secure, max_age=12 * 3600)
        return response

    @r.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        visit = site.visit(request)
        await visit.form()
        response = redirect("/sign-in")
        response.delete_cookie(COOKIE)
        return response

    @r.get("/")
    def home(request: Request) -> Response:
        visit = site.visit(request)
        return redirect(HOME.get(visit.principal.role, "/console/queue"))

    css = files("arrears.entrypoints.web").joinpath("static/app.css").read_text(encoding="utf-8")

    @r.get("/static/app.css")
    def stylesheet() -> Response:
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    return r


def _local(path: str) -> str:
    """A redirect target only on this site (a path, never another host)."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else ""
