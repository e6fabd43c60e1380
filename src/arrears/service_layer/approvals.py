"""Maker-checker (四眼原则) for the commands that forgive, remove or record on a court's word: waivers, write-offs,
reversals and court-order records. One person proposes (the maker); another approves (the checker), within
their role's limit for that command; only then does the command run. Hardship plans have their own flow with
the same rule (:mod:`arrears.service_layer.hardship`).

**Limits** (:data:`LIMITS`, lender policy [G]: configure them): the largest amount each role may approve for each
command, in minor units, None for no limit; a role not named may not approve that command at all.

**Exactly once.** Approving claims the request (``pending`` -> ``approving``, by this checker) in one
transaction, runs the command under the idempotency key ``approval:<id>`` in its own, then records it ``approved``
with the command's answer. A crash in between leaves it ``approving``: the same checker approving again runs the
command under the same key, which posts nothing twice, and finishes. A command the loan no longer allows (say a
waiver of more than is now owed) is refused with its reason and the request goes back to ``pending``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection

from arrears.adapters import approval_store as aps
from arrears.adapters import store
from arrears.domain.terms import WAIVABLE, Component
from arrears.errors import InputRejected
from arrears.hardship.plans import person
from arrears.legal.court_orders import check_order, checked_kind
from arrears.money import format_minor
from arrears.service_layer.services import Services

COMMANDS = ("waive", "write_off", "reverse", "court_order")
LIMITS: dict[str, dict[str, int | None]] = {
    "waive": {"supervisor": 100_000, "admin": None},  # 1,000.00
    "reverse": {"supervisor": 1_000_000, "admin": None},  # 10,000.00
    "write_off": {"admin": None},
    "court_order": {"supervisor": None, "admin": None},  # the court decided; the checker checks the document
}
"""Who may approve what, up to how much (minor units; None: no limit)."""
_FIELDS = {
    "waive": "loan, component, amount (minor units) and date",
    "write_off": "loan and date",
    "reverse": "transaction",
    "court_order": "borrower, court, case_number, document_ref, kind, issued_on (and loan, amount if any)",
}


class ApprovalRefused(InputRejected):
    """An approval the rules do not allow; the message names the rule."""


@dataclass(frozen=True, slots=True)
class Request:
    """A command waiting for its checker: what it would do, on which loan, for how much."""

    command: str
    loan_id: int | None
    amount: int
    arguments: dict[str, Any]


def _request(services: Services, connection: Connection, command: str, arguments: dict[str, Any]) -> Request:
    """Check a proposed command's arguments against the store now, and what it is worth."""
    if command == "waive":
        loan = store.get_loan(connection, int(arguments["loan"]))
        if arguments["component"] not in WAIVABLE:
            raise InputRejected(
                f"{str(arguments['component'])[:40]!r} cannot be waived; waive penalty, compound or interest"
            )
        component = Component(arguments["component"])
        amount = int(arguments["amount"])
        if amount <= 0:
            raise InputRejected(f"a waiver must be above zero, got {format_minor(amount)}")
        date.fromisoformat(arguments["date"])
        return Request(command, loan.id, amount, {**arguments, "component": component.value})
    if command == "write_off":
        loan = store.get_loan(connection, int(arguments["loan"]))
        date.fromisoformat(arguments["date"])
        return Request(command, loan.id, loan.outstanding_principal, arguments)
    if command == "reverse":
        row = aps.transaction_facts(connection, int(arguments["transaction"]))
        if row is None or row.kind != "repayment":
            raise store.NotFound(f"no repayment {arguments['transaction']} to reverse; only repayments can be")
        return Request(command, row.loan_id, row.amount, arguments)
    if command == "court_order":
        borrower = int(arguments["borrower"])
        store.get_borrower(connection, borrower)
        if (
            arguments.get("loan") is not None
            and store.get_loan(connection, int(arguments["loan"])).borrower_id != borrower
        ):
            raise InputRejected(f"loan {arguments['loan']} is not borrower {borrower}'s; check the ids")
        checked_kind(arguments["kind"])  # only orders a court makes; the seed article's "freeze WeChat" is not one
        issued_on = date.fromisoformat(arguments["issued_on"])
        texts = (arguments["court"], arguments["case_number"], arguments["document_ref"])
        check_order(*texts, issued_on, services.business_date(connection))
        worth = int(arguments.get("amount") or 0)
        return Request(command, arguments.get("loan"), worth, arguments)
    raise InputRejected(f"maker-checker covers {', '.join(COMMANDS)}, not {command!r}")


def propose(
    services: Services, *, command: str, arguments: dict[str, Any], maker: str, key: str | None = None
) -> dict[str, Any]:
    """Record a command for a checker to approve (nothing runs yet), once per ``key``."""
    if not person(maker):
        raise InputRejected("a proposal needs its maker: who proposes it")

    def work(connection: Connection, on: date) -> dict[str, Any]:
        try:
            request = _request(services, connection, command, arguments)
        except InputRejected:
            raise
        except (KeyError, TypeError, ValueError) as error:  # a field missing, or not of its kind
            raise InputRejected(f"a {command} request needs {_FIELDS.get(command, '?')}; {error!r} was wrong") from None
        approval_id = aps.add_approval(
            connection,
            command=command,
            loan_id=request.loan_id,
            arguments=json.dumps(request.arguments, ensure_ascii=False),
            amount=request.amount,
            maker=maker.strip(),
            status="pending",
            proposed_on=on,
            recorded_at=services.clock(),
        )
        services.audit(connection, f"approval.propose.{command}", f"approval:{approval_id}", request.arguments)
        return {
            "approval": int(approval_id),
            "command": command,
            "status": "pending",
            "amount": format_minor(request.amount),
        }

    payload = {"command": command, "arguments": arguments, "maker": maker}
    return services.idempotent(f"approval.propose.{command}", key, payload, work)  # type: ignore[no-any-return]


def approve(services: Services, *, approval_id: int, checker: str, role: str) -> dict[str, Any]:
    """Approve and run a proposed command, exactly once (see the module docstring)."""
    checker = checker.strip()
    with services.transaction() as connection:
        row = _row(connection, approval_id)
        if row.status == "approved":
            return _view(row)
        mine = row.status == "approving" and row.checker == checker
        if row.status != "pending" and not mine:
            raise ApprovalRefused(f"approval.decided: request {approval_id} is {row.status}")
        if row.maker.casefold() == checker.casefold():
            raise ApprovalRefused(
                f"approval.maker_checker: {checker} proposed request {approval_id} and cannot approve it"
            )
        limits = LIMITS[row.command]
        if role not in limits:
            allowed = ", ".join(sorted(limits))
            raise ApprovalRefused(
                f"approval.role: the {role} role may not approve a {row.command} (roles that may: {allowed})"
            )
        limit = limits[role]
        if limit is not None and row.amount > limit:
            raise ApprovalRefused(
                f"approval.limit: this {row.command} is {format_minor(row.amount)}, above the {role} limit of "
                f"{format_minor(limit)}; ask a role with a higher limit"
            )
        # of two deciders racing, the second finds it taken and is refused
        if not aps.claim(connection, approval_id, checker, role):
            raise ApprovalRefused(f"approval.decided: request {approval_id} was decided by someone else meanwhile")
    try:
        result = _run(services, row.command, json.loads(row.arguments), f"approval:{approval_id}")
    except InputRejected:
        with services.transaction() as connection:  # nothing ran: back to its maker's queue, with the reason raised
            aps.release(connection, approval_id)
        raise
    with services.transaction() as connection:
        on = services.business_date(connection)
        aps.mark_approved(connection, approval_id, on, json.dumps(result, ensure_ascii=False, default=str))
        services.audit(connection, f"approval.approve.{row.command}", f"approval:{approval_id}", {"checker": checker})
        return _view(_row(connection, approval_id))


def reject(services: Services, *, approval_id: int, checker: str, note: str, key: str | None = None) -> dict[str, Any]:
    """Reject a pending request, saying why (once per ``key``)."""
    if not note.strip():
        raise InputRejected("a rejection needs its reason")

    def work(connection: Connection, on: date) -> dict[str, Any]:
        row = _row(connection, approval_id)
        if row.status != "pending":
            raise ApprovalRefused(f"approval.decided: request {approval_id} is {row.status}")
        if not person(checker) or person(row.maker) == person(checker):
            raise ApprovalRefused(
                f"approval.maker_checker: {checker} proposed request {approval_id} and cannot decide it"
            )
        if not aps.mark_rejected(connection, approval_id, checker.strip(), on, note.strip()):
            raise ApprovalRefused(f"approval.decided: request {approval_id} was decided by someone else meanwhile")
        services.audit(connection, f"approval.reject.{row.command}", f"approval:{approval_id}", {"note": note})
        return _view(_row(connection, approval_id))

    payload = {"approval": approval_id, "checker": checker, "note": note}
    return services.idempotent("approval.reject", key, payload, work)  # type: ignore[no-any-return]


STATUSES = ("pending", "approving", "approved", "rejected")
"""The states of a request (tables.approvals.status)."""


def approvals(services: Services, *, status: str | None = None) -> list[dict[str, Any]]:
    """The requests, newest first (optionally in one status)."""
    if status is not None and status not in STATUSES:
        raise InputRejected(f"a request's status is one of {', '.join(STATUSES)}; got {status[:40]!r}")
    with services.reading() as connection:
        return [_view(row) for row in aps.approvals(connection, status)]


def _run(services: Services, command: str, arguments: dict[str, Any], key: str) -> Any:
    if command == "waive":
        return services.waive(
            loan_id=int(arguments["loan"]),
            component=Component(arguments["component"]),
            amount=int(arguments["amount"]),
            value_date=date.fromisoformat(arguments["date"]),
            key=key,
        )
    if command == "write_off":
        return services.write_off(
            loan_id=int(arguments["loan"]), value_date=date.fromisoformat(arguments["date"]), key=key
        )
    if command == "reverse":
        return services.reverse(transaction_id=int(arguments["transaction"]), key=key)
    order = services.record_court_order(
        borrower_id=int(arguments["borrower"]),
        court=arguments["court"],
        case_number=arguments["case_number"],
        document_ref=arguments["document_ref"],
        kind=arguments["kind"],
        issued_on=date.fromisoformat(arguments["issued_on"]),
        key=key,
        loan_id=arguments.get("loan"),
        amount=arguments.get("amount"),
    )
    return {"court_order": order}


def _row(connection: Connection, approval_id: int) -> aps.ApprovalRecord:
    row = aps.approval(connection, approval_id)
    if row is None:
        raise store.NotFound(f"no approval request {approval_id}; `arrears approvals list` shows them")
    return row


def _view(row: aps.ApprovalRecord) -> dict[str, Any]:
    return {
        "approval": row.id,
        "command": row.command,
        "loan": row.loan_id,
        "arguments": json.loads(row.arguments),
        "amount": format_minor(row.amount),
        "status": row.status,
        "maker": row.maker,
        "proposed_on": row.proposed_on.isoformat(),
        "checker": row.checker,
        "checker_role": row.checker_role,
        "decided_on": row.decided_on.isoformat() if row.decided_on else None,
        "note": row.note,
        "result": json.loads(row.result) if row.result else None,
    }
