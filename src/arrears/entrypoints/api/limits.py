"""What a request may cost before anyone has said who is asking: bounded bodies, the token before the body.

A server that reads a body before it knows the caller can be made to hold any amount of memory by anyone who can
reach its port: three 150 MB POSTs to ``/sign-in`` once grew a server process from 194 MB to 986 MB, and the JSON
API parsed a 150 MB body sent without a token (answering 422 where 401 was due). So, before any route runs:

1. **By Content-Length**: a request that announces more than its cap is refused with 413 at once, unread.
2. **The token first** (JSON API only): a request with a body must carry ``Authorization: Bearer <token>`` of a
   live token, looked up as every route looks it up (the same per-process cache); otherwise 401, unread. The web
   pages check their session cookie themselves before they read a form, and ``/sign-in`` carries the token in its
   body, so it gets only the cap.
3. **By a streamed cap**: a body sent without a length (chunked) is read at most one byte past its cap; more is 413.
   What was read is handed to the route unchanged, so routes still read the body the usual way.

Caps: :data:`API_BODY_BYTES` for JSON (the largest lawful request, a hardship plan or a court order, is a few
kilobytes even in four-byte characters), :data:`arrears.entrypoints.web.session.MAX_FORM_BYTES` for the pages' forms (a
pasted strategy file). A refusal says what the cap is and how to stay within it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio.to_thread
import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

API_BODY_BYTES = 64 * 1024
"""The most a JSON API request's body may hold."""
WEB_SECTIONS = frozenset({"", "sign-in", "sign-out", "borrower", "console", "static"})
"""First path segments of the server-rendered pages (``arrears.entrypoints.web``); every other path is the JSON
API's."""


def is_web(path: str) -> bool:
    """Whether ``path`` is one of the pages (``/borrower/7``, ``/console/queue``) rather than the JSON API
    (``/borrowers/7/standing``): segments are compared whole."""
    return path.lstrip("/").split("/", 1)[0] in WEB_SECTIONS


class BodyLimit:
    """ASGI middleware enforcing the module's three rules. ``authenticate(authorization_header)`` returns None
    for a live token, else the message of the 401 (it runs on a worker thread: it may read the store)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticate: Callable[[str | None], str | None],
        api_bytes: int = API_BODY_BYTES,
        web_bytes: int,
    ) -> None:
        self.app, self.authenticate = app, authenticate
        self.api_bytes, self.web_bytes = api_bytes, web_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        web = is_web(scope["path"])
        cap = self.web_bytes if web else self.api_bytes
        announced = _header(scope, b"content-length")
        if announced is not None:
            if not announced.isdigit():
                await _refuse(send, 400, "the Content-Length header is not a whole number of bytes", web)
                return
            if int(announced) > cap:
                await _refuse(send, 413, _too_large(cap, web), web)
                return
        if not web:
            authorization = _header(scope, b"authorization")
            problem = await anyio.to_thread.run_sync(self.authenticate, authorization)
            if problem is not None:
                await _refuse(send, 401, problem, web, {"WWW-Authenticate": "Bearer"})
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away: nothing to answer, nothing was run
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                await _refuse(send, 413, _too_large(cap, web), web)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)


def _has_body(scope: Scope) -> bool:
    """A request carries a body when it says so: a non-zero Content-Length or a chunked transfer."""
    length = _header(scope, b"content-length")
    return (length is not None and length != "0") or _header(scope, b"transfer-encoding") is not None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1").strip()
    return None


def _too_large(cap: int, web: bool) -> str:
    what = "a form" if web else "a request body"
    return f"{what} may hold at most {cap:,} bytes; send less (one record per request)"


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the route the body already read, then waits on the client as before (for a
    disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _refuse(send: Send, status: int, message: str, web: bool, extra: dict[str, str] | None = None) -> None:
    """Answer ``status`` with the reason: JSON ``{"error": ...}`` for the API, a line of text for the pages; the
    connection is closed, since the rest of the body is never read."""
    if web:
        body, kind = (message + "\n").encode(), b"text/plain; charset=utf-8"
    else:
        body, kind = orjson.dumps({"error": message}), b"application/json"
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    headers += [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
