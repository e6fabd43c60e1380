"""Credit reporting over the store: borrowers' consents, and the month's bureau records (``arrears credit``).

**A month is reported once**, after the store's day-end of its last day: every loan on a product of the
jurisdiction that was open at some point of the month (a loan settled or written off in it gets its final
record), one record each (:mod:`arrears.bureau.records`), all kept (``credit_records``) with what was emitted
and what was held back and why. Reporting it again returns the stored records and writes nothing.

**Held back, never emitted wrongly**:

- without the borrower's written consent on file by the month-end (China: 征信业管理条例 art. 29; the us pack
  furnishes under FCRA without one), nothing about the borrower;
- a negative record without a pre-notice sent during the current delinquency at least its lead days before the
  month-end (:func:`arrears.bureau.pre_notice.negative_allowed`; 征信业管理条例 art. 15, FCRA 623(a)(7));
- a negative record past its retention (:func:`arrears.bureau.records.retained`).

**Corrections, never a silent rewrite**: each run compares what was last told of every earlier month of a loan
(its record or latest correction) with what the events now give, and sends the difference as a correction with
the month's file. **Disputes** (异议): :func:`open_dispute`, :func:`resolve_dispute`.

**Event records** (:func:`report_new_delinquencies`): between monthly files, each new delinquency is told once,
under the same rules. **Hardship plans** show from their month on as the record's special comment
(:data:`arrears.bureau.records.SPECIAL_COMMENTS`). Not built: withdrawing a consent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from arrears.adapters import collections_store as cs
from arrears.adapters import credit_store as crs
from arrears.adapters import day_end_store as des
from arrears.adapters import store
from arrears.bureau import metro2
from arrears.bureau.pre_notice import PRE_NOTICE, negative_allowed
from arrears.bureau.records import AccountRecord, account_record, month_ends, retained
from arrears.errors import InputRejected
from arrears.inputs import check_text
from arrears.service_layer.services import Services

CONSENT_REQUIRED = {"cn": "征信业管理条例 art. 29 (V): reporting loan data needs the borrower's prior written consent"}
"""Jurisdictions where nothing is furnished without a stored written consent, and why."""


class ReportRefused(InputRejected):
    pass


def record_consent(services: Services, *, borrower_id: int, signed_on: date, document: str) -> int:
    """The borrower's written consent to credit reporting (征信授权), with the signed document's reference."""
    if not document.strip():
        raise InputRejected("a consent needs the reference of the signed document (--document)")
    check_text(document, field="the document reference", limit=crs.CONSENT_DOCUMENT_MAX)
    with services.transaction() as connection:
        today = services.business_date(connection)
        if signed_on > today:
            raise InputRejected(
                f"a consent signed on {signed_on} is after the business date {today}; record it once it is signed"
            )
        store.get_borrower(connection, borrower_id)
        return crs.add_consent(
            connection, borrower_id=borrower_id, signed_on=signed_on, document=document.strip(), now=services.clock()
        )


def record_consents(services: Services, *, signed_on: date, document: str) -> int:
    """Every borrower without a consent on file signed one on ``signed_on`` (an onboarding that collected them
    all, as the demo's does); returns how many were recorded. One transaction."""
    with services.transaction() as connection:
        borrowers = crs.borrowers_without_consent(connection)
        if borrowers:
            crs.add_consents(connection, borrowers, signed_on, document, services.clock())
        return len(borrowers)


@dataclass
class MonthReport:
    period: date
    jurisdiction: str
    records: list[AccountRecord] = field(default_factory=list)  # emitted
    corrections: list[AccountRecord] = field(default_factory=list)  # emitted: earlier months as the events now say
    held: list[dict[str, Any]] = field(default_factory=list)  # loan, borrower, reason
    already: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "period": self.period.isoformat(),
            "jurisdiction": self.jurisdiction,
            "already_reported": self.already,
            "emitted": len(self.records),
            "negative": sum(1 for r in self.records if r.negative),
            "corrections": [{"loan": r.loan, "period": r.period.isoformat()} for r in self.corrections],
            "held": self.held,
        }


def report_month(
    services: Services, month: date, jurisdiction: str, deliver: Callable[[MonthReport], None] | None = None
) -> MonthReport:
    """The bureau records of the month containing ``month`` (module docstring). ``deliver`` (writing the bureau
    file) runs before the month is committed as reported: if it raises, nothing is recorded (arrears.outputs)."""
    if jurisdiction not in PRE_NOTICE:
        raise InputRejected(f"no credit reporting for {jurisdiction!r}; use one of {', '.join(sorted(PRE_NOTICE))}")
    period = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    previous = month.replace(day=1) - timedelta(days=1)
    with services.transaction() as connection:
        stored = _stored(connection, period, jurisdiction)
        if stored is not None:
            if deliver is not None:
                deliver(stored)
            return stored
        last, _ = des.last_day_end(connection)
        if last is None or last < period:
            raise ReportRefused(
                f"{period:%Y-%m} is reported after the day-end of {period}; the store's last day-end is "
                f"{last or 'none'}: run arrears eod run --through {period} first"
            )
        loans = _loans_of(connection, period, jurisdiction)
        events = des.loans_to_rebuild(connection, [loan for loan, _ in loans])
        consents = _consents(connection, period)
        notices = _pre_notices(connection, [loan for loan, _ in loans])
        reported = _reported(connection, jurisdiction)
        report = MonthReport(period, jurisdiction)
        rows = []
        for loan, borrower in loans:
            terms, loan_events = events[loan]
            history = month_ends(terms, loan_events, period)
            if not history or history[-1].day != period:
                continue
            before = history[-2] if len(history) > 1 else None
            if before is not None and before.day == previous and before.settled:
                continue  # settled before the month: its final record went then (a written-off loan still owes)
            for k, month_end in enumerate(history[:-1]):  # what was reported of earlier months, as the events now say
                told = reported.get((loan, month_end.day))
                if told is None:
                    continue
                now = account_record(jurisdiction, loan, borrower, terms, history[: k + 1], terms.grace_days)
                if now.as_json() != told:
                    reason = _held(jurisdiction, now, borrower in consents, notices.get(loan, []))
                    if reason is None:
                        report.corrections.append(now)
                    rows.append(_row(period, now, reason, corrects=month_end.day))
            record = account_record(jurisdiction, loan, borrower, terms, history, terms.grace_days)
            reason = _held(jurisdiction, record, borrower in consents, notices.get(loan, []))
            if reason is None:
                report.records.append(record)
            else:
                report.held.append({"loan": loan, "borrower": borrower, "reason": reason})
            rows.append(_row(period, record, reason))
        # another run of the same month committed first: its records stand
        raced = not crs.claim_month(connection, period, jurisdiction, services.clock())
        if not raced:
            if rows:
                crs.add_month_records(connection, rows)
            if deliver is not None:
                deliver(report)
    if raced:
        with services.reading() as connection:
            stored = _stored(connection, period, jurisdiction)
        assert stored is not None
        if deliver is not None:
            deliver(stored)
        return stored
    return report


def _row(period: date, record: AccountRecord, reason: str | None, corrects: date | None = None) -> dict[str, Any]:
    return {
        "period": period,
        "jurisdiction": record.jurisdiction,
        "loan_id": record.loan,
        "borrower_id": record.borrower,
        "status": record.status,
        "negative": record.negative,
        "emitted": reason is None,
        "held_reason": reason,
        "payload": json.dumps(record.as_json(), ensure_ascii=False),
        "corrects": corrects,
    }


def _reported(connection: Connection, jurisdiction: str) -> dict[tuple[int, date], dict[str, Any]]:
    """What the bureau was last told of each (loan, month-end): the month's record or its latest correction."""
    told: dict[tuple[int, date], dict[str, Any]] = {}
    for row in crs.emitted_records(connection, jurisdiction):
        told[(row.loan_id, row.corrects or row.period)] = json.loads(row.payload)
    return told


def _held(jurisdiction: str, record: AccountRecord, consented: bool, notices: list[date]) -> str | None:
    if jurisdiction in CONSENT_REQUIRED and not consented:
        return f"no written consent on file by {record.period} ({CONSENT_REQUIRED[jurisdiction]})"
    if not record.negative:
        return None
    if not retained(jurisdiction, record):
        return "past the retention period for negative information: not reported"
    start = record.first_delinquency
    sent = min(  # the first pre-notice of this delinquency sent by the month-end (an earlier one's does not count)
        (d for d in notices if d <= record.period and (start is None or d >= start - timedelta(days=1))), default=None
    )
    return negative_allowed(PRE_NOTICE[jurisdiction], sent, record.period)


def _loans_of(connection: Connection, period: date, jurisdiction: str) -> list[tuple[int, int]]:
    """Loans started by ``period`` on lines whose product is of ``jurisdiction``: (loan, borrower)."""
    found = []
    for row in crs.loans_started_by(connection, period):
        if json.loads(row.product_document)["product"]["jurisdiction"] == jurisdiction:
            found.append((row.id, row.borrower_id))
    return found


def _consents(connection: Connection, period: date) -> set[int]:
    return crs.consented_by(connection, period)


def _pre_notices(connection: Connection, loans: list[int]) -> dict[int, list[date]]:
    return crs.pre_notices(connection)


def _stored(connection: Connection, period: date, jurisdiction: str) -> MonthReport | None:
    if not crs.month_reported(connection, period, jurisdiction):
        return None
    report = MonthReport(period, jurisdiction, already=True)
    for record in crs.month_records(connection, period, jurisdiction):
        if record.emitted:
            kept = report.corrections if record.corrects is not None else report.records
            kept.append(_from_json(json.loads(record.payload)))
        elif record.corrects is None:
            report.held.append({"loan": record.loan_id, "borrower": record.borrower_id, "reason": record.held_reason})
    return report


def _from_json(view: dict[str, Any]) -> AccountRecord:
    def day(key: str) -> date | None:
        return date.fromisoformat(view[key]) if view[key] else None

    def minor(key: str) -> int:
        units, _, cents = view[key].lstrip("-").partition(".")
        value = int(units) * 100 + int(cents.ljust(2, "0"))
        return -value if view[key].startswith("-") else value

    return AccountRecord(
        jurisdiction=view["jurisdiction"],
        period=date.fromisoformat(view["period"]),
        loan=view["loan"],
        borrower=view["borrower"],
        opened=date.fromisoformat(view["opened"]),
        original_amount=minor("original_amount"),
        status=view["status"],
        payment_history=view["payment_history"],
        balance=minor("balance"),
        amount_past_due=minor("amount_past_due"),
        days_past_due=view["days_past_due"],
        first_delinquency=day("first_delinquency"),
        closed=day("closed"),
        last_payment=day("last_payment"),
        negative=view["negative"],
        special_comment=view["special_comment"],
    )


def write_jsonl(report: MonthReport) -> str:
    """The emitted records as JSON Lines, one account a line, then the corrections of earlier months."""
    lines = [{"kind": "monthly", **r.as_json()} for r in report.records]
    lines += [{"kind": "correction", **r.as_json()} for r in report.corrections]
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def write_metro2(services: Services, report: MonthReport, furnisher: str) -> tuple[bytes, list[dict[str, Any]]]:
    """The emitted records as Metro 2 style base segments, one 426-byte record a line (us only), and the records
    left out of the file with the reason (a borrower's name with no Latin form): one bad name never stops the
    file, and the month stays reported (write it again once the name is recorded)."""
    if report.jurisdiction != "us":
        raise InputRejected("Metro 2 is the us bureaus' format; write cn records as --format jsonl")
    lines = []
    skipped = []
    with services.reading() as connection:
        kinds = [(r, False) for r in report.records] + [(r, True) for r in report.corrections]
        for record, correction in kinds:
            borrower = store.get_borrower(connection, record.borrower)
            loan = store.get_loan(connection, record.loan)
            try:
                values = metro2.record_values(
                    record,
                    furnisher=furnisher,
                    name=borrower.name,
                    terms=loan.terms.terms,
                    reported_at=datetime.combine(report.period, datetime.min.time()),
                )
            except ValueError as error:
                skipped.append({"loan": record.loan, "borrower": record.borrower, "reason": str(error)})
                continue
            if correction:  # Metro 2's correction indicator: this replaces what was reported of that month
                values["correction_indicator"] = 1
            lines.append(metro2.base_segment(values))
    return b"".join(line + b"\n" for line in lines), skipped


ANSWER_DAYS = {
    "cn": (20, "征信业管理条例 art. 25 (V): verify and answer in writing within 20 days"),
    "us": (30, "FCRA 611 / 623(b) (S): investigate within 30 days"),
}
"""How long a lender has to answer a dispute of a reported record, and the source."""


def open_dispute(
    services: Services,
    *,
    loan_id: int,
    month: date,
    jurisdiction: str,
    received_on: date,
    claim: str,
    key: str | None = None,
) -> dict[str, Any]:
    """A borrower disputes (异议) what was reported of a loan for a month: the record is marked disputed, an answer
    is due within the jurisdiction's days, and collection of the loan pauses meanwhile (the ``disputed`` status
    the policy packs stop on). Refused when nothing was reported of that loan for that month."""
    if jurisdiction not in ANSWER_DAYS:
        raise InputRejected(f"no credit reporting for {jurisdiction!r}; use one of {', '.join(sorted(ANSWER_DAYS))}")
    if not claim.strip():
        raise InputRejected("a dispute needs the borrower's claim: what they say is wrong")
    if month > received_on:
        raise InputRejected(
            f"{month:%Y-%m} is after the dispute was received ({received_on}): nothing was reported yet"
        )
    period = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    days, source = ANSWER_DAYS[jurisdiction]

    def work(connection: Connection, on: date) -> dict[str, Any]:
        loan = store.get_loan(connection, loan_id)
        if crs.reported_record(connection, loan_id, jurisdiction, period) is None:
            raise InputRejected(
                f"nothing was reported of loan {loan_id} for {period:%Y-%m} ({jurisdiction}): there is no record to "
                "dispute; check the loan and the month (arrears credit report --month ... --json lists them)"
            )
        flag = cs.add_flag(
            connection,
            {
                "borrower_id": loan.borrower_id,
                "loan_id": loan_id,
                "kind": "disputed",
                "since": received_on,
                "note": f"credit dispute of {period:%Y-%m}: {claim.strip()}",
                "recorded_at": services.clock(),
            },
        )
        answer_by = received_on + timedelta(days=days)
        dispute = crs.add_dispute(
            connection,
            loan_id=loan_id,
            borrower_id=loan.borrower_id,
            jurisdiction=jurisdiction,
            period=period,
            received_on=received_on,
            answer_by=answer_by,
            claim=claim.strip(),
            flag_id=flag,
            recorded_at=services.clock(),
        )
        services.audit(connection, "credit.dispute.open", f"loan:{loan_id}", {"dispute": dispute, "month": str(period)})
        return {"dispute": int(dispute), "answer_by": answer_by.isoformat(), "source": source}

    payload = {"loan": loan_id, "month": month, "jurisdiction": jurisdiction, "received": received_on, "claim": claim}
    return services.idempotent("credit.dispute", key, payload, work)  # type: ignore[no-any-return]


def resolve_dispute(services: Services, *, dispute_id: int, on: date, outcome: str, resolution: str) -> dict[str, Any]:
    """Answer a dispute: ``corrected`` when the events now give another record for that month (post the
    correcting transaction first: the correction goes with the next month's file, never a silent rewrite),
    ``confirmed`` when the record stands. Either way collection of the loan resumes from ``on``."""
    if outcome not in ("corrected", "confirmed"):
        raise InputRejected(f"--outcome must be corrected or confirmed, got {outcome!r}")
    if not resolution.strip():
        raise InputRejected("say what was found and done (--resolution): it is the written answer")
    with services.transaction() as connection:
        row = crs.dispute(connection, dispute_id)
        if row is None:
            raise InputRejected(f"no dispute {dispute_id}")
        if row.resolved_on is not None:
            raise InputRejected(f"dispute {dispute_id} was answered on {row.resolved_on} ({row.outcome})")
        if on < row.received_on:
            raise InputRejected(f"dispute {dispute_id} was received on {row.received_on}, after {on}")
        told = _reported(connection, row.jurisdiction).get((row.loan_id, row.period))
        terms, events = des.loans_to_rebuild(connection, [row.loan_id])[row.loan_id]
        history = month_ends(terms, events, row.period)
        now = account_record(row.jurisdiction, row.loan_id, row.borrower_id, terms, history, terms.grace_days)
        if outcome == "corrected" and now.as_json() == told:
            raise InputRejected(
                f"the events still give the record reported for {row.period:%Y-%m}: post the correcting transaction "
                "first (a backdated payment, a reversal, a waiver), or answer --outcome confirmed"
            )
        if outcome == "confirmed" and now.as_json() != told:
            raise InputRejected(
                f"the events now give another record for {row.period:%Y-%m} than was reported: answer --outcome "
                "corrected (the correction goes with the next month's file)"
            )
        crs.resolve_dispute(connection, dispute_id, outcome, on, resolution.strip())
        if row.flag_id is not None:
            crs.end_flag(connection, row.flag_id, on)
    late = on > row.answer_by
    return {"dispute": dispute_id, "outcome": outcome, "answered_on": on.isoformat(), "late": late}


def disputes(services: Services, today: date) -> list[dict[str, Any]]:
    """Every dispute, open ones first, each with its deadline and whether it is overdue."""
    with services.reading() as connection:
        rows = crs.disputes(connection)
        return [
            {
                "dispute": row.id,
                "loan": row.loan_id,
                "month": f"{row.period:%Y-%m}",
                "received_on": row.received_on.isoformat(),
                "answer_by": row.answer_by.isoformat(),
                "overdue": row.resolved_on is None and today > row.answer_by,
                "outcome": row.outcome,
                "claim": row.claim,
            }
            for row in rows
        ]


@dataclass
class EventReport:
    """The new-delinquency event records of one day: emitted, and held back with the reason."""

    day: date
    jurisdiction: str
    records: list[AccountRecord] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "jurisdiction": self.jurisdiction,
            "emitted": len(self.records),
            "records": [record.as_json() for record in self.records],
            "held": self.held,
        }


def report_new_delinquencies(
    services: Services, day: date, jurisdiction: str, deliver: Callable[[EventReport], None] | None = None
) -> EventReport:
    """Event records (between monthly files) for delinquencies the bureau has not been told of: a loan whose record
    on ``day`` is negative, for a delinquency (its date of first delinquency) no record emitted yet, monthly or
    event. The same rules hold as for the month: consent, the pre-notice's lead days before ``day``, retention;
    a record held back today is tried again on the next run, and goes once the pre-notice's lead has passed. Each
    delinquency is told once (a unique key on loan, jurisdiction and date of first delinquency), so runs may be
    repeated or raced."""
    if jurisdiction not in PRE_NOTICE:
        raise InputRejected(f"no credit reporting for {jurisdiction!r}; use one of {', '.join(sorted(PRE_NOTICE))}")
    report = EventReport(day, jurisdiction)
    with services.transaction() as connection:
        last, _ = des.last_day_end(connection)
        if last is None or last < day:
            raise ReportRefused(
                f"event records of {day} come after its day-end; the store's last day-end is {last or 'none'}: "
                f"run arrears eod run --through {day} first"
            )
        loans = _loans_of(connection, day, jurisdiction)
        if last == day:  # the day-end's state is as of ``day``: only loans past due then can be negative
            overdue = crs.past_due_loans(connection)
            loans = [(loan, borrower) for loan, borrower in loans if loan in overdue]
        events = des.loans_to_rebuild(connection, [loan for loan, _ in loans])
        consents = _consents(connection, day)
        notices = _pre_notices(connection, [loan for loan, _ in loans])
        told = _told_delinquencies(connection, jurisdiction)
        for loan, borrower in loans:
            terms, loan_events = events[loan]
            history = month_ends(terms, loan_events, day, ending_on=True)
            record = account_record(jurisdiction, loan, borrower, terms, history, terms.grace_days)
            if not record.negative or record.first_delinquency is None:
                continue
            if (loan, record.first_delinquency) in told:
                continue
            reason = _held(jurisdiction, record, borrower in consents, notices.get(loan, []))
            if reason is not None:
                report.held.append({"loan": loan, "borrower": borrower, "reason": reason})
                continue
            told_now = crs.tell_delinquency(
                connection,
                loan_id=loan,
                borrower_id=borrower,
                jurisdiction=jurisdiction,
                day=day,
                first_delinquency=record.first_delinquency,
                payload=json.dumps(record.as_json(), ensure_ascii=False),
                recorded_at=services.clock(),
            )
            if not told_now:
                continue  # another run told this delinquency first
            report.records.append(record)
        if deliver is not None:  # the file is written before the records count as told (arrears.outputs)
            deliver(report)
    return report


def _told_delinquencies(connection: Connection, jurisdiction: str) -> set[tuple[int, date]]:
    """(loan, date of first delinquency) of every negative record emitted: event records and monthly ones."""
    told = crs.event_delinquencies(connection, jurisdiction)
    for loan_id, payload in crs.negative_payloads(connection, jurisdiction):
        first = json.loads(payload)["first_delinquency"]
        if first:
            told.add((loan_id, date.fromisoformat(first)))
    return told


def jurisdiction_of(services: Services, loan_id: int) -> str:
    """The jurisdiction of the product a loan was drawn on: which bureau its records go to."""
    with services.reading() as connection:
        loan = store.get_loan(connection, loan_id)
        document = crs.line_product_document(connection, loan.line_id)
    return str(json.loads(document)["product"]["jurisdiction"])
