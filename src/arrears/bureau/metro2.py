"""A Metro 2 style base segment: the 426-byte fixed-width character record a US furnisher sends for each account
(shared/RULES.md: Metro 2, V), written from an :class:`arrears.bureau.records.AccountRecord` and read back.

Layout (0-based start, length; the Credit Reporting Resource Guide's base segment, character format): numeric
fields right-justified and zero-filled, alphanumeric left-justified, blank-filled and upper-case, dates
``MMDDYYYY`` (zeros when none), money in whole dollars with the cents truncated (the guide's rule: 1,234.56 is
reported as 1234). The store keeps no address, date of birth or SSN for a borrower: those fields are left
blank or zero, which is why this is "Metro 2 style", not a file a bureau would accept as it is.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise

from arrears.bureau.records import AccountRecord

LENGTH = 426


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    start: int
    length: int
    kind: str  # N numeric, A alphanumeric, D date (MMDDYYYY), T timestamp (MMDDYYYYHHMMSS)


FIELDS = (
    Field("record_descriptor_word", 0, 4, "N"),
    Field("processing_indicator", 4, 1, "N"),
    Field("time_stamp", 5, 14, "T"),
    Field("correction_indicator", 19, 1, "N"),
    Field("identification_number", 20, 20, "A"),
    Field("cycle_identifier", 40, 2, "A"),
    Field("consumer_account_number", 42, 30, "A"),
    Field("portfolio_type", 72, 1, "A"),
    Field("account_type", 73, 2, "A"),
    Field("date_opened", 75, 8, "D"),
    Field("credit_limit", 83, 9, "N"),
    Field("highest_credit", 92, 9, "N"),
    Field("terms_duration", 101, 3, "A"),
    Field("terms_frequency", 104, 1, "A"),
    Field("scheduled_monthly_payment", 105, 9, "N"),
    Field("actual_payment", 114, 9, "N"),
    Field("account_status", 123, 2, "A"),
    Field("payment_rating", 125, 1, "A"),
    Field("payment_history_profile", 126, 24, "A"),
    Field("special_comment", 150, 2, "A"),
    Field("compliance_condition_code", 152, 2, "A"),
    Field("current_balance", 154, 9, "N"),
    Field("amount_past_due", 163, 9, "N"),
    Field("original_charge_off_amount", 172, 9, "N"),
    Field("date_of_account_information", 181, 8, "D"),
    Field("date_of_first_delinquency", 189, 8, "D"),
    Field("date_closed", 197, 8, "D"),
    Field("date_of_last_payment", 205, 8, "D"),
    Field("interest_type_indicator", 213, 1, "A"),
    Field("reserved", 214, 17, "A"),
    Field("surname", 231, 25, "A"),
    Field("first_name", 256, 20, "A"),
    Field("middle_name", 276, 20, "A"),
    Field("generation_code", 296, 1, "A"),
    Field("social_security_number", 297, 9, "N"),
    Field("date_of_birth", 306, 8, "D"),
    Field("telephone_number", 314, 10, "N"),
    Field("ecoa_code", 324, 1, "A"),
    Field("consumer_information_indicator", 325, 2, "A"),
    Field("country_code", 327, 2, "A"),
    Field("first_line_of_address", 329, 32, "A"),
    Field("second_line_of_address", 361, 32, "A"),
    Field("city", 393, 20, "A"),
    Field("state", 413, 2, "A"),
    Field("zip_code", 415, 9, "A"),
    Field("address_indicator", 424, 1, "A"),
    Field("residence_code", 425, 1, "A"),
)
assert sum(f.length for f in FIELDS) == LENGTH and all(a.start + a.length == b.start for a, b in pairwise(FIELDS))


def dollars(minor: int) -> int:
    """Whole dollars, the cents truncated (never rounded up).

    >>> [dollars(n) for n in (0, 99, 100, 123_456)]
    [0, 0, 1, 1234]
    """
    return max(minor, 0) // 100


def base_segment(values: dict[str, str | int | date | datetime | None]) -> bytes:
    """The 426 bytes of a base segment from field values by name (missing fields blank or zero)."""
    out = []
    for field in FIELDS:
        value = values.get(field.name)
        out.append(_encode(field, value))
    data = "".join(out).encode("ascii")
    assert len(data) == LENGTH
    return data


def _encode(field: Field, value: str | int | date | datetime | None) -> str:
    if field.kind == "N":
        text = "" if value is None else str(value)
        if not text.isdigit() or len(text) > field.length:
            if value is None:
                return "0" * field.length
            raise ValueError(f"{field.name}: {value!r} does not fit {field.length} digits")
        return text.rjust(field.length, "0")
    if field.kind == "D":
        return "0" * 8 if value is None else f"{value:%m%d%Y}"
    if field.kind == "T":
        return "0" * 14 if value is None else f"{value:%m%d%Y%H%M%S}"
    text = "" if value is None else str(value).upper()
    if not text.isascii() or len(text) > field.length:
        raise ValueError(f"{field.name}: {value!r} is not ASCII within {field.length} characters")
    return text.ljust(field.length)


def read_base_segment(data: bytes) -> dict[str, str]:
    """The fields of a base segment, as the text in each (a reader for tests and for checking a file): refuses a
    record of the wrong length or a numeric or date field that is not digits."""
    if len(data) != LENGTH:
        raise ValueError(f"a base segment is {LENGTH} bytes, not {len(data)}")
    text = data.decode("ascii")
    fields = {}
    for field in FIELDS:
        value = text[field.start : field.start + field.length]
        if field.kind in "NDT" and not value.isdigit():
            raise ValueError(f"{field.name} at {field.start + 1}: {value!r} is not digits")
        fields[field.name] = value
    return fields


def latin_name(name: str) -> tuple[str, str] | None:
    """(surname, first names) in the letters Metro 2 takes, accents dropped and cut to the fields' widths; None
    for a name with no Latin form (a Chinese name needs its romanized form recorded: it is not guessed).

    >>> latin_name("José Núñez"), latin_name("李四")
    (('NUNEZ', 'JOSE'), None)
    """
    folded = unicodedata.normalize("NFKD", name)
    kept = "".join(ch for ch in folded if ch.isascii() and (ch.isalpha() or ch in " -'"))
    words = kept.upper().split()
    if not words or len(kept.strip()) < len(name.strip()) / 2:  # mostly letters it cannot write: not this name
        return None
    return words[-1][:25], " ".join(words[:-1])[:20]


def record_values(
    record: AccountRecord, *, furnisher: str, name: str, terms: int, reported_at: datetime
) -> dict[str, str | int | date | datetime | None]:
    """The base segment's values for one account record of an installment loan (portfolio type I, account type
    01 unsecured, monthly terms); ValueError for a name with no Latin form (:func:`latin_name`)."""
    parts = latin_name(name)
    if parts is None:
        raise ValueError(f"{name!r} has no Latin form: record the borrower's romanized name")
    last, first = parts
    return {
        "record_descriptor_word": LENGTH,
        "processing_indicator": 1,
        "time_stamp": reported_at,
        "identification_number": furnisher,
        "consumer_account_number": str(record.loan),
        "portfolio_type": "I",
        "account_type": "01",
        "date_opened": record.opened,
        "highest_credit": dollars(record.original_amount),
        "terms_duration": str(terms).rjust(3, "0"),
        "terms_frequency": "M",
        "account_status": record.status,
        "payment_history_profile": record.payment_history,
        "special_comment": record.special_comment,
        "current_balance": dollars(record.balance),
        "amount_past_due": dollars(record.amount_past_due),
        "original_charge_off_amount": dollars(record.balance) if record.status == "97" else 0,
        "date_of_account_information": record.period,
        "date_of_first_delinquency": record.first_delinquency,
        "date_closed": record.closed,
        "date_of_last_payment": record.last_payment,
        "surname": last,
        "first_name": first,
        "ecoa_code": "1",
    }
