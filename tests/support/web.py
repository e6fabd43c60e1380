"""The pages as a client without a browser meets them: signing in, and a form's CSRF token and idempotency key."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


@contextmanager
def signed_in(base: str, token: str) -> Iterator[httpx.Client]:
    """A client signed in with ``token`` at the app served at ``base``; the session cookie is HttpOnly and
    SameSite=Strict (asserted)."""
    with httpx.Client(base_url=base) as client:
        response = client.post("/sign-in", data={"token": token})
        assert response.status_code == 303, response.text
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        yield client


def csrf_and_key(html: str) -> tuple[str, str]:
    """The CSRF token and the idempotency key of the (first) form in ``html``."""
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    key = re.search(r'name="key" value="([^"]+)"', html)
    assert csrf and key
    return csrf.group(1), key.group(1)
