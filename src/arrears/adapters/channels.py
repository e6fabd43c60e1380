"""Channel adapters: one delivery attempt of a planned collection message, to the console, to a JSON-lines file or
to a signed webhook.

The dispatcher (:mod:`arrears.service_layer`) owns the outbox: it picks the messages that are due, calls ``send``
once per attempt and, on :class:`DeliveryFailed`, retries with backoff or dead-letters by ``retryable``. A sender
therefore never retries, never sleeps and remembers nothing between sends but its connection.

Delivery is at least once, the effect exactly once: every message carries an idempotency key (``outbox-17``) that
stays the same across retries, so a message the receiver took but whose answer was lost (a timeout after the
request was read, a crash before the outbox row was marked sent) arrives again under the same key and the receiver
drops the copy.

A webhook receiver checks the signature before it trusts a body, and refuses an old one (a replay):

>>> body = b'{"key":"outbox-17"}'
>>> signature = sign(b"s3cret", 1767225600, body)
>>> signature
'sha256=343a29596246358aa0de79e926ca1e8057fec21233d3b7891386e1bb55cd6f54'
>>> verify_signature(b"s3cret", body, "1767225600", signature, now=1767225660)
True
>>> verify_signature(b"s3cret", body, "1767225600", signature, now=1767226000)  # 400 s later
False
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
import json
import os
import re
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TextIO

import httpx

from arrears.errors import InputRejected

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
"""An idempotency key travels in an HTTP header and names a letter's PDF file: no spaces, slashes or newlines."""

_RETRYABLE_STATUSES = frozenset({408, 425, 429})
"""Besides every 5xx: request timeout, too early, too many requests. The receiver may take the same request later."""

_READ_LIMIT = 64 * 1024
"""How much of a response body is read: enough for a receipt's JSON or an error's text, never a runaway body."""

_EXCERPT = 200
"""How much of a refusal's body goes into the error: enough to say why, short enough for a log line."""


@dataclass(frozen=True, slots=True)
class Message:
    """One planned message for one borrower, as the outbox hands it to a channel.

    ``key`` is the idempotency key (``outbox-17``): stable per outbox row, so a retry carries the same key and the
    receiver de-duplicates on it. It goes into a header and a file name, hence letters, digits, ``.``, ``_`` and
    ``-`` only. ``channel`` is one of :class:`arrears.collections.policy.Channel`'s values; ``text`` is None for a
    voice call (a call task for a dialler, not a script). ``scheduled`` is ISO 8601 with the borrower's offset:
    contact hours are the borrower's local time. ``attachment`` is a letter's PDF (left out of the repr).
    """

    key: str
    channel: str
    borrower: int
    loan: int
    template: str | None
    language: str
    text: str | None
    scheduled: str
    attachment: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not _KEY.fullmatch(self.key):
            # The dispatcher builds keys from outbox ids: a bad one is a bug, not input.
            raise ValueError(
                f"message key {self.key!r} must be 1 to 128 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )

    def as_json(self) -> dict[str, object]:
        """The JSON body: every field by name, a letter's PDF as base64 in ``attachment_pdf_base64`` (else None)."""
        pdf = None if self.attachment is None else base64.b64encode(self.attachment).decode("ascii")
        return {
            "key": self.key,
            "channel": self.channel,
            "borrower": self.borrower,
            "loan": self.loan,
            "template": self.template,
            "language": self.language,
            "text": self.text,
            "scheduled": self.scheduled,
            "attachment_pdf_base64": pdf,
        }


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof of one delivery: the provider's id for it (the key when the provider gives none) and what happened."""

    channel_id: str
    detail: str


class DeliveryFailed(Exception):
    """One delivery attempt failed; ``retryable`` says whether another attempt may succeed.

    Retryable: the receiver or the road to it is busy or down (a timeout, refused connection, 429, 503, a full
    disk); the dispatcher tries again later with the same key. Not retryable: the receiver understood and refused
    (400 malformed, 404 wrong URL, 410 gone); the same bytes would be refused again, so the message is
    dead-lettered for a person at once instead of burning attempts.
    """

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception pickles as cls(*args), which would drop the keyword-only flag (a worker process's failure).
        return (functools.partial(DeliveryFailed, retryable=self.retryable), (str(self),))


class Sender(Protocol):
    """A channel adapter: ``send`` makes exactly one delivery attempt and returns a :class:`Receipt` or raises
    :class:`DeliveryFailed`. Retries, backoff and dead letters are the dispatcher's, recorded in the database."""

    name: str

    def send(self, message: Message) -> Receipt: ...

    def close(self) -> None: ...


class ConsoleSender:
    """One readable line per message, for a demo or a dry run where a person reads what would go out.

    The stream defaults to ``sys.stdout`` looked up at each send, so stdout redirected after the sender was made
    (a test's capture, a CLI's ``--quiet``) is honoured. A letter shows its PDF's size, never its bytes.
    """

    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, message: Message) -> Receipt:
        """Print ``message`` on one line."""
        stream = sys.stdout if self._stream is None else self._stream
        try:
            stream.write(_console_line(message) + "\n")
            stream.flush()
        except OSError as error:  # a closed pipe (``| head``) does not come back: do not retry into it
            raise DeliveryFailed(f"could not print {message.key}: {error}", retryable=False) from error
        return Receipt(channel_id=message.key, detail="printed")

    def close(self) -> None:
        """Nothing to release (the stream is the caller's); here so every sender closes alike."""

    def __repr__(self) -> str:
        return "ConsoleSender()" if self._stream is None else f"ConsoleSender(stream={self._stream!r})"


class JsonLinesSender:
    """Appends one JSON object per message to ``path`` (UTF-8, Chinese kept as written): an outbox a file-drop
    integration or a test can read back, one ``json.loads`` per line, in send order.

    Each line is flushed and ``os.fsync``-ed before ``send`` returns: the dispatcher marks the row sent once
    ``send`` returns, so a record still in a buffer when the machine crashes would be lost for good. A letter's
    PDF is written durably first, beside the file as ``{key}.pdf``, and the line names that file: a line never
    points at a PDF that is not there. A retry after a crash may append the same key twice; readers keep the
    first line per key. One process writes a file; threads within it take turns.
    """

    name = "jsonl"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def send(self, message: Message) -> Receipt:
        """Append ``message`` as one line, durably."""
        record = message.as_json()
        del record["attachment_pdf_base64"]
        record["attachment_pdf"] = None
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                if message.attachment is not None:
                    pdf = self.path.with_name(f"{message.key}.pdf")
                    _replace_durably(pdf, message.attachment)
                    record["attachment_pdf"] = pdf.name
                _append_durably(self.path, (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
        except OSError as error:  # a full disk or a permission is fixed by a person; the dispatcher caps attempts
            raise DeliveryFailed(
                f"could not write {message.key} to {self.path}: {error.strerror or error}", retryable=True
            ) from error
        return Receipt(channel_id=message.key, detail=f"written to {self.path}")

    def close(self) -> None:
        """Nothing to release: the file is opened and closed on each send."""

    def __repr__(self) -> str:
        return f"JsonLinesSender(path={str(self.path)!r})"


class WebhookSender:
    """POSTs each message as JSON to ``url``, signed, with the key in ``Idempotency-Key``.

    The signature (:func:`sign`) lets the receiver check that the body came from us unchanged; the timestamp it
    covers lets the receiver refuse a captured request replayed later (:func:`verify_signature`). The signature
    guards integrity, not secrecy: use https outside a test. ``timeout`` applies to every attempt, even through a
    ``client`` you pass; a client made here is made at the first send and released by :meth:`close` (or by
    leaving a ``with`` block); a client you pass stays yours to close. Redirects are not followed: a 3xx is a
    misconfigured URL, not a delivery. The secret never appears in a message or the repr.
    """

    name = "webhook"

    def __init__(self, url: str, secret: bytes, *, timeout: float = 5.0, client: httpx.Client | None = None) -> None:
        _check_url(url)
        if not secret:
            raise InputRejected("the webhook secret is empty; set ARREARS_WEBHOOK_SECRET to a long random value")
        if not timeout > 0:
            raise InputRejected(f"the webhook timeout must be positive seconds, not {timeout!r}")
        self.url = url
        self.timeout = timeout
        self._shown = _redact(url)
        self._secret = secret
        self._client = client
        self._owns_client = client is None
        self._lock = threading.Lock()

    def send(self, message: Message) -> Receipt:
        """POST ``message`` once: a receipt on 2xx, else :class:`DeliveryFailed` saying whether to retry."""
        body = json.dumps(message.as_json(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": message.key,
            "X-Arrears-Timestamp": str(timestamp),
            "X-Arrears-Signature": sign(self._secret, timestamp, body),  # over exactly the bytes sent
            "User-Agent": "arrears",
        }
        try:
            with self._http().stream("POST", self.url, content=body, headers=headers, timeout=self.timeout) as answer:
                status = answer.status_code
                retry_after = answer.headers.get("Retry-After")
                try:
                    head = _read_head(answer)
                except httpx.HTTPError:  # the status line is the answer; a body that breaks off changes nothing
                    head = b""
        except httpx.TimeoutException as error:
            # The receiver may have taken it; the retry's same key makes that harmless.
            raise DeliveryFailed(
                f"{self._shown} did not answer {message.key} within {self.timeout:g} s ({type(error).__name__})",
                retryable=True,
            ) from error
        except httpx.TransportError as error:
            raise DeliveryFailed(
                f"could not reach {self._shown} for {message.key}: {type(error).__name__}: {error}", retryable=True
            ) from error
        if 200 <= status < 300:
            return Receipt(channel_id=_receipt_id(head) or message.key, detail=f"HTTP {status}")
        excerpt = _printable(head.decode("utf-8", errors="replace"))[:_EXCERPT]
        if status in _RETRYABLE_STATUSES or 500 <= status < 600:
            wait = f", Retry-After {_printable(retry_after)[:40]}" if retry_after else ""
            raise DeliveryFailed(
                f"{self._shown} answered HTTP {status}{wait} to {message.key}: {excerpt}", retryable=True
            )
        raise DeliveryFailed(f"{self._shown} refused {message.key} with HTTP {status}: {excerpt}", retryable=False)

    def close(self) -> None:
        """Release the connection pool if this sender made it; the next send would make a new one."""
        with self._lock:
            if self._owns_client and self._client is not None:
                self._client.close()
                self._client = None

    def __enter__(self) -> WebhookSender:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"WebhookSender(url={self._shown!r}, timeout={self.timeout!r})"

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout, follow_redirects=False)
            return self._client


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``"{timestamp}." + body`` under ``secret``.

    An HMAC over the body alone would prove who wrote it but not when: a captured request could be replayed
    forever. Covering the timestamp binds the signature to a moment, so the receiver can refuse anything older
    than a few minutes; the ``.`` keeps timestamp and body from running into each other.
    """
    mac = hmac.new(secret, f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"sha256=[0-9a-fA-F]{64}")


def verify_signature(
    secret: bytes, body: bytes, timestamp: str, signature: str, *, now: int, tolerance: int = 300
) -> bool:
    """Whether ``signature`` (the ``X-Arrears-Signature`` header) signs ``body`` at ``timestamp`` (the
    ``X-Arrears-Timestamp`` header) under ``secret``, and ``timestamp`` is within ``tolerance`` seconds of
    ``now``, either side (a future one is a clock skew or a forgery).

    For receivers and tests. Malformed headers are False, never an exception. The comparison takes the same time
    however many leading characters match (:func:`hmac.compare_digest`), so timing does not leak the signature.
    """
    if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
        return False
    sent_at = int(timestamp)
    if abs(now - sent_at) > tolerance:
        return False
    expected = sign(secret, sent_at, body)
    return hmac.compare_digest(expected.encode("ascii"), signature.lower().encode("ascii"))


def open_sender(spec: str, *, secret: str | None) -> Sender:
    """The sender a configuration names: ``console``, ``jsonl:PATH`` or an ``http://`` / ``https://`` webhook URL
    (signed with ``secret``, the ARREARS_WEBHOOK_SECRET setting)."""
    text = spec.strip()
    if text == "console":
        return ConsoleSender()
    if text.startswith("jsonl:"):
        path = text.removeprefix("jsonl:").strip()
        if not path:
            raise InputRejected("jsonl: needs a file to append to, e.g. jsonl:out/outbox.jsonl")
        return JsonLinesSender(Path(path).expanduser())
    if text.lower().startswith(("http://", "https://")):
        if not secret:
            raise InputRejected(f"the webhook {_redact(text)} needs a signing secret: set ARREARS_WEBHOOK_SECRET")
        return WebhookSender(text, secret.encode("utf-8"))
    raise InputRejected(
        f"no channel sender {_redact(spec)!r}; use one of: console, jsonl:PATH, "
        "https://HOST/PATH (a webhook, with ARREARS_WEBHOOK_SECRET set)"
    )


def _console_line(message: Message) -> str:
    template = message.template or "no template"
    what = "call task" if message.text is None else _printable(message.text)
    if message.attachment is not None:
        what = f"{what} [PDF, {len(message.attachment):,} bytes]"
    return (
        f"{message.key} {message.channel} to borrower {message.borrower} loan {message.loan} "
        f"at {message.scheduled} ({template}, {message.language}): {what}"
    )


def _printable(text: str) -> str:
    """``text`` on one line with control characters escaped: a borrower's name cannot drive the terminal."""
    flat = " ".join(text.split())
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in flat)


def _append_durably(path: Path, data: bytes) -> None:
    """Append ``data`` in one go and fsync it; on failure cut the file back so no torn line joins the next one."""
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # collection texts are personal data
    try:
        start = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            raise
    finally:
        os.close(fd)
    if created:
        _fsync_directory(path.parent)  # the new file's name is durable only once its directory is


def _replace_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all: a temporary file, fsync-ed, renamed over ``path``."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(temporary, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    if os.name != "posix":  # Windows cannot open a directory; NTFS journals the name itself
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_url(url: str) -> None:
    try:
        parts = urllib.parse.urlsplit(url)
        valid = (
            parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and (parts.port is None or parts.port > 0)  # .port raises ValueError when out of range
            and not any(c.isspace() for c in url)
        )
    except ValueError:
        valid = False
    if not valid:
        raise InputRejected(f"the webhook URL {_redact(url)!r} must be http://HOST/PATH or https://HOST/PATH")


def _redact(url: str) -> str:
    """``url`` without a ``user:password@`` part, for messages and reprs."""
    return re.sub(r"//[^/@\s]*@", "//***@", url)


def _read_head(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= _READ_LIMIT:
            break
    return b"".join(chunks)[:_READ_LIMIT]


def _receipt_id(body: bytes) -> str | None:
    """The ``id`` of a JSON object body, if it has one (a string or an integer)."""
    try:
        answer = json.loads(body)
    except ValueError:  # not JSON, not UTF-8, or cut at the read limit
        return None
    if not isinstance(answer, dict):
        return None
    found = answer.get("id")
    if isinstance(found, bool) or not isinstance(found, str | int):
        return None
    return str(found) or None
