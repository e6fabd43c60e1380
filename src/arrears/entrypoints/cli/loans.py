"""The commands on a stored loan: the money-moving ones (``draw``, ``repay``, ``reverse``, ``waive``, ``write-off``),
``arrears loan show`` and ``arrears explain``.

Each money-moving one posts through :class:`~arrears.service_layer.services.Services` under an idempotency key
(``--key``): a retry with the same key posts once and prints the first answer again.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from arrears.entrypoints.bootstrap import open_services
from arrears.entrypoints.cli.output import JsonFlag, KeyOption, LangOption, emit, minor_units, print_json
from arrears.entrypoints.cli.scenario import print_state
from arrears.errors import InputRejected
from arrears.validation import date_option

loan_app = typer.Typer(help="Loans.", no_args_is_help=True)


def draw(
    line_id: Annotated[int, typer.Argument(help="Credit line id.")],
    amount: Annotated[str, typer.Option(help="Amount to draw, e.g. 5000.")],
    terms: Annotated[int, typer.Option(help="Monthly installments (one the product offers).")],
    on: Annotated[str, typer.Option("--date", help="Disbursement date YYYY-MM-DD: the loan's start.")],
    key: KeyOption,
    method: Annotated[str | None, typer.Option(help="Override the product's method.")] = None,
    interest_basis: Annotated[str | None, typer.Option(help="actual | period; default the product's.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Draw a loan on a credit line (借款); refusals name the rule."""
    from arrears.domain.terms import InterestBasis, Method

    loan_id = open_services().draw(
        line_id=line_id,
        amount=minor_units(amount, "--amount"),
        terms=terms,
        start=date_option(on, "--date"),
        key=key,
        method=_choice(Method, method, "--method"),
        interest_basis=_choice(InterestBasis, interest_basis, "--interest-basis"),
    )
    emit({"loan_id": loan_id}, as_json)


def _choice(kind: Any, value: str | None, option: str) -> Any:
    """An optional choice among an enum's values (``Method``, ``InterestBasis``); a wrong one names the option."""
    from arrears.validation import parse_choice

    if value is None:
        return None
    try:
        return parse_choice(kind, value)
    except ValueError as error:
        raise InputRejected(f"{option}: {error}") from None


def repay(
    loan_id: Annotated[int, typer.Argument(help="Loan id.")],
    amount: Annotated[str, typer.Option(help="Amount received, e.g. 560.50.")],
    on: Annotated[str, typer.Option("--date", help="Value date YYYY-MM-DD; may be in the past (backdated).")],
    key: KeyOption,
    currency: Annotated[str | None, typer.Option(help="The payment's currency; refused unless the loan's.")] = None,
    court_order: Annotated[
        int | None, typer.Option("--court-order", help="Money a court transferred under this recorded order.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Post a repayment; prints its allocation (for a backdated one, what it changed)."""
    result = open_services().repay(
        loan_id=loan_id,
        amount=minor_units(amount, "--amount"),
        value_date=date_option(on, "--date"),
        key=key,
        currency=currency,
        court_order=court_order,
    )
    emit(result, as_json)


def reverse(
    transaction_id: Annotated[int, typer.Argument(help="The repayment's transaction id.")],
    key: KeyOption,
    as_json: JsonFlag = False,
) -> None:
    """Reverse a repayment (returned or mistaken): the loan is replayed as if it never came."""
    emit(open_services().reverse(transaction_id=transaction_id, key=key), as_json)


def waive(
    loan_id: Annotated[int, typer.Argument(help="Loan id.")],
    component: Annotated[str, typer.Option(help="penalty | compound | interest.")],
    amount: Annotated[str, typer.Option(help="Amount to waive (减免).")],
    on: Annotated[str, typer.Option("--date", help="Value date YYYY-MM-DD.")],
    key: KeyOption,
    as_json: JsonFlag = False,
) -> None:
    """Waive penalty, compound or interest owed on installments due by the date."""
    result = open_services().waive(
        loan_id=loan_id,
        component=component,  # type: ignore[arg-type]  # validated by the service, with a clear error
        amount=minor_units(amount, "--amount"),
        value_date=date_option(on, "--date"),
        key=key,
    )
    emit(result, as_json)


def write_off(
    loan_id: Annotated[int, typer.Argument(help="Loan id.")],
    on: Annotated[str, typer.Option("--date", help="Value date YYYY-MM-DD.")],
    key: KeyOption,
    as_json: JsonFlag = False,
) -> None:
    """Write a loan off the books (核销); later money is booked as recoveries."""
    emit(open_services().write_off(loan_id=loan_id, value_date=date_option(on, "--date"), key=key), as_json)


@loan_app.command("show")
def loan_show(
    loan_id: Annotated[str, typer.Argument(help="Loan id (in a dataset: the scenario file's stem).")],
    as_of: Annotated[str | None, typer.Option(help="State after day-end of this date, YYYY-MM-DD.")] = None,
    dataset: Annotated[Path | None, typer.Option("--dataset", help="Read the loan from a Parquet dataset.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """A loan's state: from the store on any date, or from a dataset after its last day-end; the same JSON as
    ``simulate``."""
    if dataset is not None:
        from arrears.domain.views import state_view
        from arrears.service_layer.day_end import dataset_loan_state

        view = state_view(
            dataset_loan_state(dataset, loan_id, None if as_of is None else date_option(as_of, "--as-of"))
        )
    else:
        if as_of is None:
            raise InputRejected("--as-of is required for a stored loan; e.g. --as-of 2026-06-30")
        if not loan_id.isdigit():
            raise InputRejected(f"a stored loan's id is a number, got {loan_id!r}; for a dataset add --dataset DIR")
        view = open_services().loan_state(int(loan_id), date_option(as_of, "--as-of"))
    if as_json:
        print_json(view)
    else:
        print_state(view)


def explain_command(
    loan_id: Annotated[int, typer.Argument(help="The stored loan's id.")],
    on: Annotated[str, typer.Option("--date", help="Amounts after the day-end of this date, YYYY-MM-DD.")],
    lang: LangOption = "zh-CN",
    as_json: JsonFlag = False,
) -> None:
    """Every interest, penalty and compound amount the loan owes, line by line: the balance or unpaid amount,
    the rate, the exact product, the rounding, the rule and its source; grace charges and what became of them."""
    view = open_services().explain_loan(loan_id, date_option(on, "--date"), lang)
    if as_json:
        print_json(view)
        return
    for installment in view["installments"]:
        for component in ("interest", "penalty", "compound"):
            part = installment.get(component)
            if part is None:
                continue
            sys.stdout.write(
                f"#{installment['number']} {component}: charged {part['charged']}, paid or waived "
                f"{part['paid_or_waived']}, owed {part['owed']}\n"
            )
            for line in part["lines"]:
                sys.stdout.write(f"    {line['text']}\n")
    owed = view["owed"]
    sys.stdout.write(f"owed: interest {owed['interest']}, penalty {owed['penalty']}, compound {owed['compound']}\n")
