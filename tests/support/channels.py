"""A message provider for the channel tests: a real HTTP server on 127.0.0.1 (no fakes of httpx) that records what it
receives and answers as each test tells it (the ``provider`` fixture)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

SECRET = b"test-secret-7f3a9c"
"""The webhook's shared secret in the tests."""


@dataclass
class Answer:
    """How the provider answers: status, body, headers, and how long it holds the answer back."""

    status: int = 202
    body: bytes = b'{"id": "abc"}'
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay: float = 0.0  # seconds to hold the answer back (cut short when the test ends)


@dataclass
class Received:
    """One request the provider received."""

    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


@dataclass
class Provider:
    """The provider's URL, its answer (a test may change it), what it received, and the release of slow answers."""

    url: str = ""
    answer: Answer = field(default_factory=Answer)
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, provider: Provider) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.provider = provider

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):  # a client that timed out and hung up: expected
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        provider = self.server.provider  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with provider.lock:
            provider.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            answer = provider.answer
        if answer.delay:
            provider.release.wait(answer.delay)  # the slow provider; released at teardown
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def provider() -> Iterator[Provider]:
    """The provider served in a thread for one test; slow answers released and the server closed at its end."""
    provider = Provider()
    server = _Server(provider)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    provider.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/arrears"
    try:
        yield provider
    finally:
        provider.release.set()
        server.shutdown()
        server.server_close()
        thread.join()
