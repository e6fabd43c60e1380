"""An unexpected failure (a bug, a database gone away): the person is told a reference, the log keeps the
traceback under it.

What the caller sees carries nothing of the failure itself (an exception's text can hold SQL parameters: a name,
a phone number), only a reference to quote; the server's log has the request's method and path and the full
traceback under the same reference, so whoever reads the log finds the one failure a person reports. Used by the
pages (:func:`arrears.entrypoints.web.session.web_route`: the site's own error page) and the JSON API (a JSON body).
"""

from __future__ import annotations

import logging
import secrets

from starlette.requests import Request

log = logging.getLogger("arrears.failures")


def logged(request: Request, error: BaseException) -> str:
    """Log ``error`` with its traceback under a new reference, and return the reference (12 hex digits)."""
    reference = secrets.token_hex(6)
    log.error("unexpected failure %s on %s %s", reference, request.method, request.url.path, exc_info=error)
    return reference
