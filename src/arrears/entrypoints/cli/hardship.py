"""``arrears hardship``: negotiated repayment (协商还款): requests, proposals, approvals (maker-checker)."""

from __future__ import annotations

from typing import Annotated

import typer

from arrears.entrypoints.bootstrap import open_services
from arrears.entrypoints.cli.output import print_json
from arrears.hardship.plans import PlanTerms
from arrears.money import parse_amount
from arrears.service_layer import hardship
from arrears.validation import date_option

hardship_app = typer.Typer(help="Hardship plans (协商还款): request, propose, approve, reject.", no_args_is_help=True)


@hardship_app.command("request")
def hardship_request(
    loan: Annotated[int, typer.Argument(help="The loan.")],
    reason: Annotated[str, typer.Option(help="The borrower's reason, in their own words.")],
) -> None:
    """Record a borrower's request for help, for a collector to answer with a plan."""
    print_json(hardship.request(open_services(), loan_id=loan, reason=reason))


@hardship_app.command("propose")
def hardship_propose(
    loan: Annotated[int, typer.Argument(help="The loan.")],
    maker: Annotated[str, typer.Option(help="Who proposes the plan (they cannot approve it).")],
    request: Annotated[int | None, typer.Option(help="The request this plan answers.")] = None,
    installments: Annotated[
        int | None, typer.Option(min=1, max=600, help="Reschedule what is overdue into N monthly installments.")
    ] = None,
    first_due: Annotated[str | None, typer.Option("--first-due", help="The first new installment's due date.")] = None,
    waive_penalty: Annotated[
        bool, typer.Option("--waive-penalty", help="Forgive the penalty and compound owed.")
    ] = False,
    freeze_days: Annotated[  # the API's bounds (PlanIn)
        int | None, typer.Option("--freeze-days", min=1, max=10_000, help="No penalty or compound for N days.")
    ] = None,
    settle_for: Annotated[
        str | None, typer.Option("--settle-for", help="Settle at a discount for this amount.")
    ] = None,
    settle_within: Annotated[int | None, typer.Option("--settle-within", help="Days to pay the settlement.")] = None,
) -> None:
    """Propose a plan (checked against the loan today); someone else approves it."""
    terms = PlanTerms(
        installments=installments,
        first_due=date_option(first_due, "--first-due") if first_due else None,
        waive_penalty=waive_penalty,
        freeze_days=freeze_days,
        settlement_amount=parse_amount(settle_for, field="--settle-for") if settle_for is not None else None,
        settlement_days=settle_within,
    )
    print_json(hardship.propose(open_services(), loan_id=loan, terms=terms, maker=maker, plan_id=request))


@hardship_app.command("approve")
def hardship_approve(
    plan: Annotated[int, typer.Argument(help="The proposed plan.")],
    checker: Annotated[str, typer.Option(help="Who approves (not the maker).")],
    role: Annotated[str, typer.Option(help="The approver's role: supervisor or admin (their amount limit).")],
    key: Annotated[str, typer.Option("--key", help="Idempotency key: a retry with the same key posts once.")],
    note: Annotated[str, typer.Option(help="Why it is approved.")] = "",
) -> None:
    """Approve a plan and post its events on the loan, dated today."""
    print_json(hardship.approve(open_services(), plan_id=plan, checker=checker, role=role, note=note, key=key))


@hardship_app.command("reject")
def hardship_reject(
    plan: Annotated[int, typer.Argument(help="The request or proposal.")],
    checker: Annotated[str, typer.Option(help="Who rejects it (not the maker).")],
    note: Annotated[str, typer.Option(help="The reason the borrower is told.")],
) -> None:
    """Reject a request or a proposal."""
    print_json(hardship.reject(open_services(), plan_id=plan, checker=checker, note=note))


@hardship_app.command("list")
def hardship_list(
    loan: Annotated[int | None, typer.Option(help="Only this loan's plans.")] = None,
    status: Annotated[str | None, typer.Option(help="requested, proposed, approved or rejected.")] = None,
) -> None:
    """The plans, newest first, as JSON."""
    print_json(hardship.plans(open_services(), loan_id=loan, status=status))
