"""Requests refused before their bodies are read (arrears.entrypoints.api.limits), over real HTTP: uvicorn on 127.0.0.1
and a
raw socket, so "unread" means the server answered while the client had sent nothing of the body.

Issue 19, item 3: three 150 MB POSTs to /sign-in grew a server from 194 MB to 986 MB, and a 150 MB body sent to the
JSON API without a token got 422 (parsed) instead of 401."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

from arrears.access import Role
from arrears.adapters import tables as t
from arrears.adapters import tokens_store
from arrears.entrypoints.api.limits import API_BODY_BYTES, is_web
from arrears.entrypoints.web.session import MAX_FORM_BYTES
from tests.support.api import running
from tests.support.stores import OneLoan, one_loan

HUGE = 150 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, OneLoan, str]]:
    """A served SQLite store with one loan, and an admin's token."""
    from arrears.adapters.database import make_engine, upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('limits') / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    store = one_loan(url)
    with store.services.transaction() as connection:
        _, token = tokens_store.create(
            connection, role=Role.ADMIN, borrower=None, agency=None, label="admin", now=store.services.clock()
        )
    with running(store.services) as base:
        yield base, store, token


def _raw(base: str, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send ``head`` (request line and headers) and ``body`` on a raw socket; the status and the whole answer."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


def _repayments(store: OneLoan) -> int:
    with store.services.reading() as connection:
        return int(
            connection.execute(
                select(func.count()).select_from(t.transactions).where(t.transactions.c.kind == "repayment")
            ).scalar_one()
        )


def test_a_body_announced_too_large_is_refused_unread(server: tuple[str, OneLoan, str]) -> None:
    """Content-Length over the cap: 413 before a byte of the body is sent, on the API (with or without a token)
    and on the sign-in form."""
    base, store, token = server
    for path, extra, cap in (
        (f"/loans/{store.loan}/repayments", f"Authorization: Bearer {token}\nIdempotency-Key: big\n", API_BODY_BYTES),
        (f"/loans/{store.loan}/repayments", "", API_BODY_BYTES),
        ("/sign-in", "", MAX_FORM_BYTES),
    ):
        status, answer = _raw(base, f"POST {path} HTTP/1.1\nHost: x\n{extra}Content-Length: {HUGE}\n")
        assert status == 413, answer
        assert f"at most {cap:,} bytes".encode() in answer
    assert _repayments(store) == 0


def test_the_token_is_checked_before_the_body(server: tuple[str, OneLoan, str]) -> None:
    """No token, or a wrong one, with a body within the cap that is not even JSON: 401, not 422; the body was
    never parsed."""
    base, store, _ = server
    with httpx.Client(base_url=base) as client:
        for credentials in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
            headers = {**credentials, "Content-Type": "application/json"}
            answer = client.post(f"/loans/{store.loan}/repayments", content=b"{" * 1000, headers=headers)
            assert answer.status_code == 401, answer.text
            assert answer.headers["www-authenticate"] == "Bearer"
            assert "token" in answer.json()["error"]


def test_a_streamed_body_past_the_cap_is_refused(server: tuple[str, OneLoan, str]) -> None:
    """A chunked body (no length announced) is read one byte past its cap, then refused; nothing is posted."""
    base, store, token = server
    head = (
        f"POST /loans/{store.loan}/repayments HTTP/1.1\nHost: x\nAuthorization: Bearer {token}\n"
        "Idempotency-Key: chunked\nContent-Type: application/json\nTransfer-Encoding: chunked\n"
    )
    piece = b"x" * 4096
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(API_BODY_BYTES // len(piece) + 1))
    status, answer = _raw(base, head, chunks)
    assert status == 413, answer
    assert _repayments(store) == 0


def test_a_body_within_the_cap_reaches_the_route_whole(server: tuple[str, OneLoan, str]) -> None:
    """What the middleware read is handed on unchanged: a repayment sent chunked, and one with a length, both
    post (a cent apart, so a mangled body would show)."""
    base, store, token = server
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    before = _repayments(store)
    with httpx.Client(base_url=base) as client:
        sized = client.post(
            f"/loans/{store.loan}/repayments",
            json={"amount": "10.01", "value_date": "2026-05-15"},  # the loan's start: the earliest value date
            headers={**headers, "Idempotency-Key": "sized"},
        )
        streamed = client.post(
            f"/loans/{store.loan}/repayments",
            content=iter([b'{"amount": "10.', b'02", "value_date": "2026-05-15"}']),
            headers={**headers, "Idempotency-Key": "streamed"},
        )
    assert (sized.status_code, streamed.status_code) == (201, 201), (sized.text, streamed.text)
    with store.services.reading() as connection:
        amounts = connection.execute(
            select(t.transactions.c.amount)
            .where(t.transactions.c.kind == "repayment")
            .order_by(t.transactions.c.id.desc())
            .limit(2)
        ).scalars()
        assert sorted(amounts) == [1001, 1002]
    assert _repayments(store) == before + 2


@pytest.mark.parametrize(
    ("path", "web"),
    [
        ("/borrower/7", True),
        ("/borrower", True),
        ("/console/queue", True),
        ("/sign-in", True),
        ("/", True),
        ("/borrowers/7/standing", False),
        ("/borrowers", False),
        ("/loans/1/repayments", False),
        ("/consoles", False),
    ],
)
def test_pages_and_the_api_are_told_apart_by_whole_segments(path: str, web: bool) -> None:
    assert is_web(path) is web
