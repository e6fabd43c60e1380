"""``arrears approvals``: maker-checker for waivers, write-offs, reversals and court-order records."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from arrears.entrypoints.bootstrap import open_services
from arrears.entrypoints.cli.output import print_json
from arrears.money import parse_amount
from arrears.service_layer import approvals
from arrears.validation import date_option

approvals_app = typer.Typer(
    help="Maker-checker: propose a waiver, write-off, reversal or court order; another person approves it.",
    no_args_is_help=True,
)
propose_app = typer.Typer(help="Propose a command for someone else to approve.", no_args_is_help=True)
approvals_app.add_typer(propose_app, name="propose")

Maker = Annotated[str, typer.Option(help="Who proposes it (they cannot approve it).")]


def _propose(command: str, arguments: dict[str, Any], maker: str) -> None:
    print_json(approvals.propose(open_services(), command=command, arguments=arguments, maker=maker))


@propose_app.command("waive")
def propose_waive(
    loan: Annotated[int, typer.Argument(help="The loan.")],
    component: Annotated[str, typer.Option(help="penalty, compound or interest.")],
    amount: Annotated[str, typer.Option(help="How much, e.g. 12.50.")],
    on: Annotated[str, typer.Option("--date", help="Value date, YYYY-MM-DD.")],
    maker: Maker,
) -> None:
    """A waiver (减免) of penalty, compound or interest."""
    arguments = {
        "loan": loan,
        "component": component,
        "amount": parse_amount(amount, field="--amount"),
        "date": date_option(on, "--date").isoformat(),
    }
    _propose("waive", arguments, maker)


@propose_app.command("write-off")
def propose_write_off(
    loan: Annotated[int, typer.Argument(help="The loan.")],
    on: Annotated[str, typer.Option("--date", help="Value date, YYYY-MM-DD.")],
    maker: Maker,
) -> None:
    """A write-off (核销): an accounting act; the borrower still owes."""
    _propose("write_off", {"loan": loan, "date": date_option(on, "--date").isoformat()}, maker)


@propose_app.command("reverse")
def propose_reverse(
    transaction: Annotated[int, typer.Argument(help="The repayment's transaction id.")],
    maker: Maker,
) -> None:
    """A reversal of a repayment (returned or mistaken money)."""
    _propose("reverse", {"transaction": transaction}, maker)


@propose_app.command("court-order")
def propose_court_order(
    borrower: Annotated[int, typer.Argument(help="The borrower the order is against.")],
    court: Annotated[str, typer.Option(help="The court.")],
    case_number: Annotated[str, typer.Option("--case-number", help="The case number.")],
    document_ref: Annotated[str, typer.Option("--document", help="The order's document reference.")],
    kind: Annotated[str, typer.Option(help="freeze, transfer, consumption_restriction, ...")],
    issued_on: Annotated[str, typer.Option("--issued-on", help="YYYY-MM-DD.")],
    maker: Maker,
    loan: Annotated[int | None, typer.Option(help="The loan it concerns, if one.")] = None,
    amount: Annotated[str | None, typer.Option(help="The amount it names, if any.")] = None,
) -> None:
    """A court order to record (never executed: arrears.legal.court_orders)."""
    arguments = {
        "borrower": borrower,
        "court": court,
        "case_number": case_number,
        "document_ref": document_ref,
        "kind": kind,
        "issued_on": date_option(issued_on, "--issued-on").isoformat(),
        "loan": loan,
        "amount": parse_amount(amount, field="--amount") if amount is not None else None,
    }
    _propose("court_order", arguments, maker)


@approvals_app.command("approve")
def approvals_approve(
    approval: Annotated[int, typer.Argument(help="The request.")],
    checker: Annotated[str, typer.Option(help="Who approves (not the maker).")],
    role: Annotated[str, typer.Option(help="The approver's role: its limit applies.")],
) -> None:
    """Approve a request and run its command, exactly once."""
    print_json(approvals.approve(open_services(), approval_id=approval, checker=checker, role=role))


@approvals_app.command("reject")
def approvals_reject(
    approval: Annotated[int, typer.Argument(help="The request.")],
    checker: Annotated[str, typer.Option(help="Who rejects it (not the maker).")],
    note: Annotated[str, typer.Option(help="Why.")],
) -> None:
    """Reject a pending request."""
    print_json(approvals.reject(open_services(), approval_id=approval, checker=checker, note=note))


@approvals_app.command("list")
def approvals_list(status: Annotated[str | None, typer.Option(help="pending, approved, rejected ...")] = None) -> None:
    """The requests, newest first, as JSON."""
    print_json(approvals.approvals(open_services(), status=status))
