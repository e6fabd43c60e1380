"""Channel adapters: the webhook against a real HTTP server on 127.0.0.1 (no fakes of httpx), the console, the
JSON-lines file, signatures and ``open_sender``."""

from __future__ import annotations

import base64
import io
import json
import os
import pickle
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from arrears.adapters.channels import (
    ConsoleSender,
    DeliveryFailed,
    JsonLinesSender,
    Message,
    Receipt,
    WebhookSender,
    open_sender,
    sign,
    verify_signature,
)
from arrears.errors import InputRejected
from tests.support.channels import SECRET, Answer, Provider
from tests.support.channels import provider as provider  # the fixture: a real HTTP server on 127.0.0.1

ZH_TEXT = "张三您好：您在微粒贷的借款（编号7）已逾期3天，逾期金额¥1,084.34，请于2026年1月8日前还款。回复TD退订短信。"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


def sms(key: str = "outbox-17", text: str = ZH_TEXT) -> Message:
    return Message(
        key=key,
        channel="sms",
        borrower=42,
        loan=7,
        template="reminder",
        language="zh-CN",
        text=text,
        scheduled="2026-01-05T10:00:00+08:00",
    )


def letter(key: str = "outbox-18") -> Message:
    return Message(
        key=key,
        channel="letter",
        borrower=43,
        loan=8,
        template="validation_notice",
        language="en-US",
        text="Dear Jane Doe,\nyou owe $120.00 on loan 8.",
        scheduled="2026-01-05T09:00:00-05:00",
        attachment=PDF,
    )


def call_task() -> Message:
    return Message(
        key="outbox-19",
        channel="voice_call",
        borrower=44,
        loan=9,
        template=None,
        language="en-US",
        text=None,
        scheduled="2026-01-05T14:00:00-08:00",
    )


@pytest.fixture
def webhook(provider: Provider) -> Iterator[WebhookSender]:
    with WebhookSender(provider.url, SECRET, timeout=5.0) as sender:
        yield sender


def failure(send: Callable[[], Receipt]) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as raised:
        send()
    assert SECRET.decode() not in str(raised.value)
    return raised.value


# --- webhook ---------------------------------------------------------------------------------------------------


def test_webhook_signs_the_exact_body_it_sends(provider: Provider, webhook: WebhookSender) -> None:
    message = sms()
    webhook.send(message)
    [request] = provider.received
    assert request.path == "/hooks/arrears"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-arrears-signature"].startswith("sha256=")
    assert verify_signature(
        SECRET,
        request.body,
        request.headers["x-arrears-timestamp"],
        request.headers["x-arrears-signature"],
        now=int(time.time()),
    )
    assert json.loads(request.body) == message.as_json()
    assert json.loads(request.body)["text"] == ZH_TEXT


def test_webhook_sends_the_idempotency_key(provider: Provider, webhook: WebhookSender) -> None:
    webhook.send(sms(key="outbox-123"))
    assert provider.received[0].headers["idempotency-key"] == "outbox-123"


def test_a_retry_sends_the_same_key_and_body(provider: Provider, webhook: WebhookSender) -> None:
    provider.answer = Answer(status=503, body=b"maintenance")
    assert failure(lambda: webhook.send(sms())).retryable
    provider.answer = Answer()
    webhook.send(sms())
    first, second = provider.received
    assert first.body == second.body
    signed = {"x-arrears-timestamp", "x-arrears-signature"}
    assert {k: v for k, v in first.headers.items() if k not in signed} == {
        k: v for k, v in second.headers.items() if k not in signed
    }
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == "outbox-17"


def test_a_letter_travels_as_base64(provider: Provider, webhook: WebhookSender) -> None:
    webhook.send(letter())
    sent = json.loads(provider.received[0].body)
    assert base64.b64decode(sent["attachment_pdf_base64"]) == PDF
    assert sms().as_json()["attachment_pdf_base64"] is None


def test_2xx_gives_the_providers_id(provider: Provider, webhook: WebhookSender) -> None:
    assert webhook.send(sms()) == Receipt(channel_id="abc", detail="HTTP 202")


@pytest.mark.parametrize(
    ("status", "body"), [(200, b"OK"), (204, b""), (201, b'{"status": "queued"}'), (200, b'["abc"]')]
)
def test_2xx_without_an_id_gives_the_key(provider: Provider, webhook: WebhookSender, status: int, body: bytes) -> None:
    provider.answer = Answer(status=status, body=body)
    assert webhook.send(sms()) == Receipt(channel_id="outbox-17", detail=f"HTTP {status}")


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408, 425])
def test_busy_or_broken_receivers_are_retried(provider: Provider, webhook: WebhookSender, status: int) -> None:
    provider.answer = Answer(status=status, body=b"try later")
    failed = failure(lambda: webhook.send(sms()))
    assert failed.retryable
    assert provider.url in str(failed)
    assert str(status) in str(failed)


def test_retry_after_is_passed_on(provider: Provider, webhook: WebhookSender) -> None:
    provider.answer = Answer(status=429, body=b"slow down", headers={"Retry-After": "120"})
    assert "Retry-After 120" in str(failure(lambda: webhook.send(sms())))


@pytest.mark.parametrize("status", [400, 404, 410, 422, 301])
def test_refusals_are_not_retried(provider: Provider, webhook: WebhookSender, status: int) -> None:
    provider.answer = Answer(status=status, body=b"unknown template 'reminder'", headers={"Location": "/elsewhere"})
    failed = failure(lambda: webhook.send(sms()))
    assert not failed.retryable
    assert str(status) in str(failed)
    assert "unknown template 'reminder'" in str(failed)
    assert len(provider.received) == 1  # a redirect is not followed


def test_a_refusal_quotes_only_the_first_200_characters(provider: Provider, webhook: WebhookSender) -> None:
    provider.answer = Answer(status=400, body=b"e" * 200 + b"f" * 300)
    failed = failure(lambda: webhook.send(sms()))
    assert "e" * 200 in str(failed)
    assert "f" not in str(failed).split("HTTP 400")[1]


def test_a_timeout_is_retried(provider: Provider) -> None:
    provider.answer = Answer(delay=30.0)
    with WebhookSender(provider.url, SECRET, timeout=0.3) as sender:
        failed = failure(lambda: sender.send(sms()))
    assert failed.retryable
    assert provider.url in str(failed)


def test_a_refused_connection_is_retried() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))  # bound and never listening: a connection is refused at once
        url = f"http://127.0.0.1:{held.getsockname()[1]}/hook"
        with WebhookSender(url, SECRET, timeout=2.0) as sender:
            failed = failure(lambda: sender.send(sms()))
    assert failed.retryable
    assert url in str(failed)


def test_the_secret_stays_out_of_reprs_and_errors(provider: Provider) -> None:
    url = provider.url.replace("http://", "http://ops:hunter2@")
    sender = WebhookSender(url, SECRET)
    assert SECRET.decode() not in repr(sender)
    assert "hunter2" not in repr(sender)
    provider.answer = Answer(status=400, body=b"no")
    assert "hunter2" not in str(failure(lambda: sender.send(sms())))
    sender.close()


def test_a_client_passed_in_stays_open(provider: Provider) -> None:
    with httpx.Client() as client:
        sender = WebhookSender(provider.url, SECRET, client=client)
        sender.send(sms())
        sender.close()
        assert not client.is_closed


def test_a_closed_sender_can_send_again(provider: Provider, webhook: WebhookSender) -> None:
    webhook.send(sms())
    webhook.close()
    webhook.send(sms())
    assert len(provider.received) == 2


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "example.com/hook", "https://", "http://h:99999/", "http://a b/"]
)
def test_bad_webhook_urls_are_refused(url: str) -> None:
    with pytest.raises(InputRejected, match="http://HOST/PATH"):
        WebhookSender(url, SECRET)


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(InputRejected, match="ARREARS_WEBHOOK_SECRET"):
        WebhookSender("https://example.com/hook", b"")


def test_delivery_failed_survives_pickling() -> None:
    copy = pickle.loads(pickle.dumps(DeliveryFailed("HTTP 503", retryable=True)))
    assert (str(copy), copy.retryable) == ("HTTP 503", True)


# --- signatures ------------------------------------------------------------------------------------------------

NOW = 1_767_225_600
BODY = b'{"key":"outbox-17","text":"\xe5\xbc\xa0\xe4\xb8\x89"}'


def test_sign_is_hmac_sha256_over_timestamp_dot_body() -> None:
    # openssl: printf '1767225600.{"key":"outbox-17"}' | openssl dgst -sha256 -hmac s3cret
    assert sign(b"s3cret", NOW, b'{"key":"outbox-17"}') == (
        "sha256=343a29596246358aa0de79e926ca1e8057fec21233d3b7891386e1bb55cd6f54"
    )


def test_a_good_signature_verifies() -> None:
    assert verify_signature(SECRET, BODY, str(NOW), sign(SECRET, NOW, BODY), now=NOW)
    assert verify_signature(
        SECRET, BODY, str(NOW), sign(SECRET, NOW, BODY).upper().replace("SHA256", "sha256"), now=NOW
    )


def test_a_tampered_body_fails() -> None:
    signature = sign(SECRET, NOW, BODY)
    assert not verify_signature(SECRET, BODY.replace(b"17", b"18"), str(NOW), signature, now=NOW)
    assert not verify_signature(SECRET, BODY + b" ", str(NOW), signature, now=NOW)


def test_a_wrong_secret_fails() -> None:
    assert not verify_signature(b"another-secret", BODY, str(NOW), sign(SECRET, NOW, BODY), now=NOW)


def test_a_moved_timestamp_fails() -> None:
    # The timestamp is signed: a replayer cannot freshen an old request by changing the header.
    old = NOW - 3600
    assert not verify_signature(SECRET, BODY, str(NOW), sign(SECRET, old, BODY), now=NOW)


@pytest.mark.parametrize(
    ("sent_at", "valid"), [(NOW - 300, True), (NOW + 300, True), (NOW - 301, False), (NOW + 301, False)]
)
def test_stale_and_future_timestamps_fail(sent_at: int, valid: bool) -> None:
    assert verify_signature(SECRET, BODY, str(sent_at), sign(SECRET, sent_at, BODY), now=NOW) is valid


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [
        ("", None),
        ("abc", None),
        (f" {NOW}", None),
        (f"+{NOW}", None),
        ("١٧٦٧٢٢٥٦٠٠", None),  # Arabic-Indic digits: int() would take them
        (str(NOW), ""),
        (str(NOW), "sha256="),
        (str(NOW), "sha1=" + "0" * 40),
        (str(NOW), "sha256=" + "z" * 64),
        (str(NOW), "sha256=" + "0" * 63),
        (str(NOW), "sha256=" + "é" * 64),
    ],
)
def test_malformed_headers_fail(timestamp: str, signature: str | None) -> None:
    good = sign(SECRET, NOW, BODY)
    assert not verify_signature(SECRET, BODY, timestamp, good if signature is None else signature, now=NOW)


# --- console ---------------------------------------------------------------------------------------------------


def test_console_prints_a_line_per_message(capsys: pytest.CaptureFixture[str]) -> None:
    sender = ConsoleSender()
    assert sender.send(sms()).channel_id == "outbox-17"
    sender.send(call_task())
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert "outbox-17" in lines[0]
    assert "sms" in lines[0]
    assert ZH_TEXT in lines[0]
    assert "outbox-19" in lines[1]
    assert "voice_call" in lines[1]


def test_console_shows_a_letters_size_not_its_bytes() -> None:
    stream = io.StringIO()
    ConsoleSender(stream).send(letter())
    [line] = stream.getvalue().splitlines()  # the letter's two lines of text are on one
    assert f"{len(PDF)} bytes" in line
    assert "%PDF" not in line
    assert "Dear Jane Doe, you owe $120.00" in line


def test_console_finds_stdout_when_it_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    sender = ConsoleSender()
    redirected = io.StringIO()
    monkeypatch.setattr(sys, "stdout", redirected)
    sender.send(sms())
    assert "outbox-17" in redirected.getvalue()


def test_console_escapes_control_characters() -> None:
    stream = io.StringIO()
    ConsoleSender(stream).send(sms(text="hello \x1b[2Jworld"))
    assert "\x1b" not in stream.getvalue()
    assert "\\x1b[2Jworld" in stream.getvalue()


# --- JSON lines ------------------------------------------------------------------------------------------------


def test_jsonl_appends_one_line_per_message_in_order(tmp_path: Path) -> None:
    path = tmp_path / "out" / "today" / "outbox.jsonl"
    sender = JsonLinesSender(path)
    receipts = [sender.send(m) for m in (sms(), letter(), call_task())]
    assert [r.channel_id for r in receipts] == ["outbox-17", "outbox-18", "outbox-19"]
    assert receipts[0].detail == f"written to {path}"
    JsonLinesSender(path).send(sms(key="outbox-20", text="second sender appends"))

    raw = path.read_bytes().decode("utf-8")
    assert ZH_TEXT in raw  # kept as written, not \\u escapes
    lines = raw.splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["key"] for r in records] == ["outbox-17", "outbox-18", "outbox-19", "outbox-20"]
    assert records[0]["text"] == ZH_TEXT
    assert records[2]["text"] is None
    assert {k: v for k, v in records[0].items() if k != "attachment_pdf"} == {
        k: v for k, v in sms().as_json().items() if k != "attachment_pdf_base64"
    }


def test_jsonl_writes_a_letters_pdf_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    JsonLinesSender(path).send(letter())
    [record] = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert record["attachment_pdf"] == "outbox-18.pdf"
    assert "attachment_pdf_base64" not in record
    assert (tmp_path / "outbox-18.pdf").read_bytes() == PDF
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outbox-18.pdf", "outbox.jsonl"]  # no temporary left


def test_jsonl_fsyncs_every_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    sender = JsonLinesSender(tmp_path / "outbox.jsonl")
    sender.send(sms())
    before = len(synced)
    sender.send(sms(key="outbox-20"))
    assert before >= 1
    assert len(synced) > before


def test_jsonl_failure_is_retryable(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a directory")
    failed = failure(lambda: JsonLinesSender(tmp_path / "taken" / "outbox.jsonl").send(sms()))
    assert failed.retryable
    assert "outbox-17" in str(failed)


@pytest.mark.parametrize("key", ["", "../../etc/passwd", "outbox 17", "outbox-17\r\nX-Evil: 1", ".hidden", "k" * 129])
def test_keys_that_cannot_be_a_header_or_a_file_name_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="message key"):
        sms(key=key)


def test_a_messages_repr_leaves_out_the_pdf() -> None:
    assert "PDF" not in repr(letter())


# --- open_sender -----------------------------------------------------------------------------------------------


def test_open_sender_makes_each_kind(tmp_path: Path) -> None:
    assert isinstance(open_sender("console", secret=None), ConsoleSender)
    jsonl = open_sender(f"jsonl:{tmp_path / 'outbox.jsonl'}", secret=None)
    assert isinstance(jsonl, JsonLinesSender)
    assert jsonl.path == tmp_path / "outbox.jsonl"
    hook = open_sender("https://collections.example.com/hooks/arrears", secret="s3cret")
    assert isinstance(hook, WebhookSender)
    assert [s.name for s in (open_sender("console", secret=None), jsonl, hook)] == ["console", "jsonl", "webhook"]
    assert "s3cret" not in repr(hook)


@pytest.mark.parametrize("secret", [None, ""])
def test_a_webhook_needs_a_secret(secret: str | None) -> None:
    with pytest.raises(InputRejected, match="ARREARS_WEBHOOK_SECRET"):
        open_sender("https://collections.example.com/hooks/arrears", secret=secret)


@pytest.mark.parametrize("spec", ["", "stdout", "jsonl", "kafka://broker/topic", "ftp://example.com/x", "CONSOLE"])
def test_unknown_specs_list_the_three_forms(spec: str) -> None:
    with pytest.raises(InputRejected) as refused:
        open_sender(spec, secret="s3cret")
    for form in ("console", "jsonl:PATH", "https://"):
        assert form in str(refused.value)


def test_jsonl_needs_a_path() -> None:
    with pytest.raises(InputRejected, match=r"jsonl:out/outbox\.jsonl"):
        open_sender("jsonl:", secret=None)
