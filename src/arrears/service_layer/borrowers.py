"""Handlers of a borrower: add one, put them in a collections segment, their profile, their standing (what is
restricted on their lines, why, and how to lift it) and the explanation of one of their loans."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from arrears.adapters import store
from arrears.domain.explain import explain
from arrears.errors import InputRejected
from arrears.inputs import check_text
from arrears.money import format_minor
from arrears.restrictions.standing import LineInput
from arrears.restrictions.standing import standing as standing_of
from arrears.service_layer.unit_of_work import UnitOfWork

BORROWER_LANGUAGES = ("zh", "en")
"""The languages a borrower's messages are written in (arrears.collections.messages)."""

_SEGMENT = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def check_segment(segment: str) -> None:
    """A segment is a short lowercase name (a strategy's ``when.segment`` names it), or "" for none."""
    if segment and not _SEGMENT.fullmatch(segment):
        raise InputRejected(
            f"{segment!r} is not a segment name: lowercase letters, digits, - and _, at most 40, e.g. salaried"
        )


def _check_borrower(name: str, phone: str, timezone: str, language: str, segment: str) -> None:
    """Refuse a borrower's details the store and the messages cannot take, naming the field."""
    if not name.strip():
        raise InputRejected("a borrower needs a name")
    check_text(name, field="the name", limit=store.NAME_MAX)
    if language not in BORROWER_LANGUAGES:
        raise InputRejected(f"the language must be one of {', '.join(BORROWER_LANGUAGES)}; e.g. zh")
    check_segment(segment)
    if not 5 <= sum(ch.isdigit() for ch in phone) <= 20 or any(ch not in "+-() 0123456789" for ch in phone):
        raise InputRejected(f"{store.mask_phone(phone)} is not a phone number; give digits, e.g. 13800138000")
    try:
        ZoneInfo(timezone)
    except (KeyError, ValueError, OSError):  # OSError: a folder of zones, such as "America"
        raise InputRejected(f"{timezone!r} is not a time zone; use an IANA name such as Asia/Shanghai") from None


def add_borrower(
    uow: UnitOfWork,
    *,
    name: str,
    phone: str,
    timezone: str = "Asia/Shanghai",
    language: str = "zh",
    segment: str = "",
    key: str | None = None,
) -> int:
    """Add a borrower; with ``key``, once per key (a client retrying gets the first borrower's id)."""
    _check_borrower(name, phone, timezone, language, segment)
    payload = {"name": name, "phone": phone, "timezone": timezone, "language": language, "segment": segment}

    def work(connection: Connection, business_date: date) -> int:
        del business_date  # a borrower is not dated by the business day; created_at is the clock's
        borrower_id = store.add_borrower(
            connection,
            name=name,
            phone=phone,
            timezone=timezone,
            language=language,
            segment=segment,
            now=uow.clock(),
        )
        uow.audit(
            connection,
            "borrower.add",
            f"borrower:{borrower_id}",
            {"name": name, "phone": store.mask_phone(phone), "timezone": timezone, "language": language},
        )
        return borrower_id

    return int(uow.idempotent("borrower.add", key, payload, work))


def set_segment(uow: UnitOfWork, *, borrower_id: int, segment: str) -> None:
    """Put a borrower in a collections segment ("" for none): the strategies' ``when.segment`` matches it
    from the next plan on."""
    check_segment(segment)
    with uow.transaction() as connection:
        store.get_borrower(connection, borrower_id)
        store.set_segment(connection, borrower_id, segment)
        uow.audit(connection, "borrower.segment", f"borrower:{borrower_id}", {"segment": segment})


def borrower_profile(uow: UnitOfWork, borrower_id: int) -> dict[str, Any]:
    """A borrower as their app or a collector sees them: name, phone masked, lines and loans."""
    with uow.reading() as connection:
        row = store.get_borrower(connection, borrower_id)
        lines = store.lines_of_borrower(connection, borrower_id)
        loans = store.loans_of_borrower(connection, borrower_id)
    return {
        "borrower": borrower_id,
        "name": row.name,
        "phone": store.mask_phone(row.phone),
        "timezone": row.timezone,
        "language": row.language,
        "lines": [{"line": line.id, "limit": format_minor(line.limit_minor)} for line in lines],
        "loans": [
            {
                "loan": loan.id,
                "line": loan.line_id,
                "status": loan.status,
                "outstanding_principal": format_minor(loan.outstanding_principal),
            }
            for loan in loans
        ],
    }


def standing(uow: UnitOfWork, borrower_id: int, day: date, lang: str) -> dict[str, Any]:
    """``standing``: what is restricted on the borrower's lines during ``day``, why, and how to lift it."""
    with uow.snapshot() as connection:
        uow.refuse_beyond_horizon(connection, day, "date")
        records = store.borrower_lines(connection, borrower_id, day)
    lines = []
    for line in records.lines:
        line_id = line["id"]
        rules = store.line_product(line["product_document"], f"line {line_id} product snapshot").rules.restrictions
        loans = tuple((i, terms, tuple(events)) for i, terms, events in records.loans[line_id])
        reviews = tuple(records.reviews.get(line_id, ()))
        decisions = records.decisions.get(line_id, frozenset())
        lines.append(LineInput(line_id, line["limit_minor"], rules, loans, reviews, decisions))
    return standing_of(borrower_id, lines, day, lang, records.orders, records.credit)


def explain_loan(uow: UnitOfWork, loan_id: int, as_of: date, lang: str) -> dict[str, Any]:
    """``explain``: every interest, penalty and compound amount of a stored loan, line by line."""
    with uow.reading() as connection:
        uow.refuse_beyond_horizon(connection, as_of, "date")
        loan = store.get_loan(connection, loan_id)
        events = store.loan_events(connection, loan_id)
    return explain(loan.terms, events, as_of, loan=str(loan_id), lang=lang)
