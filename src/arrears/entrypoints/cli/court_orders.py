"""``arrears court-order`` (record, lift): courts' orders, recorded and never executed by the system."""

from __future__ import annotations

from typing import Annotated

import typer

from arrears.entrypoints.bootstrap import open_services
from arrears.entrypoints.cli.output import JsonFlag, KeyOption, emit, minor_units
from arrears.validation import date_option

court_app = typer.Typer(help="Court orders: recorded, never executed.", no_args_is_help=True)


@court_app.command("record")
def court_order_record(
    borrower_id: Annotated[int, typer.Option("--borrower", help="The borrower the order is against.")],
    court: Annotated[str, typer.Option(help="The court, as on the document.")],
    case_number: Annotated[str, typer.Option("--case", help="The case number (案号).")],
    document_ref: Annotated[str, typer.Option("--document", help="The document's reference.")],
    kind: Annotated[str, typer.Option(help="preservation, freeze, seizure, transfer, consumption_restriction, ...")],
    on: Annotated[str, typer.Option("--date", help="The order's date, YYYY-MM-DD.")],
    key: KeyOption,
    loan_id: Annotated[int | None, typer.Option("--loan", help="The loan it concerns, if one.")] = None,
    amount: Annotated[str | None, typer.Option(help="The amount it names, if any.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Record a court's order. The system never executes one: courts act through the bank or payment
    institution; money a court transfers is posted with `repay --court-order ID`."""
    order_id = open_services().record_court_order(
        borrower_id=borrower_id,
        court=court,
        case_number=case_number,
        document_ref=document_ref,
        kind=kind,
        issued_on=date_option(on, "--date"),
        key=key,
        loan_id=loan_id,
        amount=None if amount is None else minor_units(amount, "--amount"),
    )
    emit({"court_order_id": order_id}, as_json)


@court_app.command("lift")
def court_order_lift(
    order_id: Annotated[int, typer.Argument(help="The recorded order.")],
    document_ref: Annotated[str, typer.Option("--document", help="The court's lifting document.")],
    on: Annotated[str, typer.Option("--date", help="The lifting's date, YYYY-MM-DD.")],
    key: KeyOption,
    as_json: JsonFlag = False,
) -> None:
    """Record that the court lifted an order (the only way an order is lifted)."""
    result = open_services().lift_court_order(
        order_id=order_id, document_ref=document_ref, lifted_on=date_option(on, "--date"), key=key
    )
    emit(result, as_json)
