"""The operations console and the borrower page (issue 10): server-rendered HTML from the API's own app.

Who is calling: the person pastes their API token on the sign-in page (``arrears token create``); the server
checks it and keeps it in an HttpOnly, SameSite=Strict cookie, so every page acts as that token's principal under
the API's roles and rules (:mod:`arrears.access`), and a revoked token opens nothing. Writes are POSTed forms
carrying a per-session CSRF token; each goes through the service layer the API uses, audited with the caller as
actor from origin ``web``; reads of personal data are audited like the API's. Every asset is served by the app
itself: no CDN, no script from elsewhere, no build step. zh-CN by default, en-US by ``?lang=en-US``.

Pages: :mod:`arrears.entrypoints.web.borrower` (the borrower's phone), :mod:`arrears.entrypoints.web.console`
(collectors, supervisors,
compliance), :mod:`arrears.entrypoints.web.session` (sign-in, the cookie, CSRF, error pages).
"""

from __future__ import annotations

from fastapi import FastAPI

from arrears.entrypoints.api.audit import ReadAudit
from arrears.entrypoints.web import borrower, console
from arrears.entrypoints.web.session import Site, TokenLookup, session_router
from arrears.service_layer.services import Services


def mount_web(app: FastAPI, services: Services, audit: ReadAudit, principals: TokenLookup) -> None:
    """Add the sign-in page, the borrower page and the console to ``app`` (beside the API's JSON routes)."""
    site = Site(services, audit, principals)
    app.include_router(session_router(site))
    app.include_router(borrower.router(site))
    app.include_router(console.router(site))
