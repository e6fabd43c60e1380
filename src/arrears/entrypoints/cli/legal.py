"""``arrears legal``: acceleration and legal escalation (宣布提前到期, 移交诉讼): cases and their steps."""

from __future__ import annotations

from typing import Annotated

import typer

from arrears.entrypoints.bootstrap import open_services
from arrears.entrypoints.cli.output import print_json
from arrears.money import parse_amount
from arrears.service_layer import legal
from arrears.validation import date_option

legal_app = typer.Typer(help="Acceleration and court cases: accelerate, refer, step, cases.", no_args_is_help=True)


@legal_app.command("accelerate")
def legal_accelerate(
    loan: Annotated[int, typer.Argument(help="The loan.")],
    reason: Annotated[str, typer.Option(help="The contract clause, or who decided and why.")],
    key: Annotated[str, typer.Option("--key", help="Idempotency key: a retry with the same key posts once.")],
    by: Annotated[str, typer.Option(help="rule (only when the product's rule says so) or decision.")] = "rule",
) -> None:
    """Make every installment due today (宣布提前到期); the loan must be in default."""
    print_json(legal.accelerate(open_services(), loan_id=loan, by=by, reason=reason, key=key))


@legal_app.command("refer")
def legal_refer(
    loan: Annotated[int, typer.Argument(help="The loan.")],
    court: Annotated[str | None, typer.Option(help="The court, if known.")] = None,
) -> None:
    """Refer a loan to court: refused, with every rule that stands against it, unless it may be."""
    print_json(legal.refer(open_services(), loan_id=loan, court=court))


@legal_app.command("step")
def legal_step(
    case: Annotated[int, typer.Argument(help="The case.")],
    to: Annotated[str, typer.Option(help="filed, judgment, enforcement, closed or withdrawn.")],
    on: Annotated[str, typer.Option(help="The day it happened, YYYY-MM-DD.")],
    case_number: Annotated[str | None, typer.Option("--case-number", help="Filed: the court's number.")] = None,
    court: Annotated[str | None, typer.Option(help="Filed: the court.")] = None,
    principal: Annotated[str | None, typer.Option(help="Judgment: principal ordered.")] = None,
    interest: Annotated[str | None, typer.Option(help="Judgment: interest ordered.")] = None,
    penalty: Annotated[str | None, typer.Option(help="Judgment: penalty ordered.")] = None,
    costs: Annotated[str | None, typer.Option(help="Judgment: court costs ordered.")] = None,
    pay_by: Annotated[str | None, typer.Option("--pay-by", help="Judgment: the performance deadline.")] = None,
    enforcement_case_number: Annotated[
        str | None, typer.Option("--enforcement-case-number", help="Enforcement: its number.")
    ] = None,
) -> None:
    """Record a step of a case (never backwards; a judgment needs its amounts and deadline)."""
    details: dict[str, object] = {}
    for name, value in (("case_number", case_number), ("court", court)):
        if value is not None:
            details[name] = value
    for name, value in (("principal", principal), ("interest", interest), ("penalty", penalty), ("costs", costs)):
        if value is not None:
            details[name] = parse_amount(value, field=f"--{name}")
    if pay_by is not None:
        details["pay_by"] = date_option(pay_by, "--pay-by")
    if enforcement_case_number is not None:
        details["enforcement_case_number"] = enforcement_case_number
    print_json(legal.step(open_services(), case_id=case, to=to, on=date_option(on, "--on"), details=details))


@legal_app.command("cases")
def legal_cases(loan: Annotated[int | None, typer.Option(help="Only this loan's cases.")] = None) -> None:
    """The cases, newest first, with the delay interest a judgment debtor owes today."""
    print_json(legal.cases(open_services(), loan_id=loan))
