"""``arrears line`` (open, review, restrictions) and ``arrears restrict``: credit lines (授信额度) and what limits
them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from arrears.entrypoints.bootstrap import open_services
from arrears.entrypoints.cli.output import JsonFlag, KeyOption, emit, minor_units, print_json
from arrears.errors import InputRejected

line_app = typer.Typer(help="Credit lines (授信额度).", no_args_is_help=True)


@line_app.command("open")
def line_open(
    borrower: Annotated[int, typer.Option(help="Borrower id.")],
    product: Annotated[Path, typer.Option(help="Product TOML file.")],
    limit: Annotated[str, typer.Option(help="Credit limit, e.g. 20000.")],
    daily_rate: Annotated[str | None, typer.Option(help="Daily rate for this line; default the product's.")] = None,
    key: Annotated[str | None, typer.Option("--key", help="Optional idempotency key.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Open a credit line on a product for a borrower."""
    from arrears.domain.product import load_product
    from arrears.money import parse_rate

    loaded = load_product(product)
    rate = parse_rate(daily_rate, field="--daily-rate") if daily_rate is not None else None
    line_id = open_services().open_line(
        borrower_id=borrower, product=loaded, limit=minor_units(limit, "--limit"), daily_rate=rate, key=key
    )
    for notice in loaded.notices:
        sys.stderr.write(notice + "\n")
    emit({"line_id": line_id}, as_json)


@line_app.command("review")
def line_review(
    line_id: Annotated[int, typer.Argument(help="The credit line.")],
    note: Annotated[str, typer.Option(help="What was reviewed and decided.")],
    key: KeyOption,
    as_json: JsonFlag = False,
) -> None:
    """The lender's review of a closed line: once everything on it is repaid, it re-opens."""
    emit(open_services().review_line(line_id=line_id, note=note, key=key), as_json)


@line_app.command("restrictions")
def line_restrictions(
    line_id: Annotated[int, typer.Argument(help="The credit line.")],
    as_json: JsonFlag = False,
) -> None:
    """The line's restrictions as recorded: what the day-ends put on and lifted, and what later corrections
    (a backdated payment, a reversal) changed, each with the business date it was recorded on and why."""
    view = open_services().restriction_history(line_id)
    if as_json:
        print_json(view)
        return
    if not view["restrictions"]:
        sys.stdout.write(f"line {line_id}: no restriction recorded\n")
    for r in view["restrictions"]:
        state = "withdrawn" if r["withdrawn_on"] else ("lifted " + r["lifted_on"] if r["lifted_on"] else "in force")
        sys.stdout.write(f"{r['rule']} ({r['scope']}) since day-end {r['since']}: {state}\n")
        for e in r["events"]:
            sys.stdout.write(
                f"    {e['kind']} effective {e['effective_on']}, recorded {e['recorded_on']}: {e['cause']}\n"
            )


def restrict_command(
    line_id: Annotated[int, typer.Option("--line", help="The credit line.")],
    scope: Annotated[str, typer.Option("--scope", help="What to restrict: drawdown, limit, line or auto_debit.")],
) -> None:
    """Ask for a restriction by hand. Anything outside the lender's own product (a messaging account, the
    borrower's contacts, another company's service) is refused with the rule and its source."""
    from arrears.restrictions.registry import refuse_outside_product

    allowed = refuse_outside_product(scope)
    raise InputRejected(
        f"restrictions on {allowed} of line {line_id} come from the product's rules at day-end and lift themselves "
        "(see `arrears standing`); restrictions set by hand arrive with the collections issue and are not built yet"
    )
