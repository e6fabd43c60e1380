"""``arrears borrower`` (add, segment) and ``arrears standing``: who borrows, and what is restricted for them."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from arrears.entrypoints.bootstrap import open_services
from arrears.entrypoints.cli.output import JsonFlag, LangOption, emit, print_json
from arrears.validation import date_option

borrower_app = typer.Typer(help="Borrowers.", no_args_is_help=True)


@borrower_app.command("add")
def borrower_add(
    name: Annotated[str, typer.Option(help="Full name.")],
    phone: Annotated[str, typer.Option(help="Mobile number; masked in every log.")],
    tz: Annotated[str, typer.Option("--tz", help="The borrower's time zone (contact windows).")] = "Asia/Shanghai",
    language: Annotated[str, typer.Option(help="zh or en.")] = "zh",
    segment: Annotated[str, typer.Option(help="Collections segment (a strategy's when.segment).")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Add a borrower."""
    borrower_id = open_services().add_borrower(name=name, phone=phone, timezone=tz, language=language, segment=segment)
    emit({"borrower_id": borrower_id}, as_json)


@borrower_app.command("segment")
def borrower_segment(
    borrower: Annotated[int, typer.Argument(help="Borrower id.")],
    segment: Annotated[str, typer.Option(help='The segment, or "" for none.')],
) -> None:
    """Put a borrower in a collections segment: strategies' rules with when.segment match it from the next plan."""
    open_services().set_segment(borrower_id=borrower, segment=segment)
    sys.stdout.write(f"borrower {borrower} is in segment {segment or '(none)'}\n")


def standing_command(
    borrower_id: Annotated[int, typer.Argument(help="The borrower's id.")],
    on: Annotated[str, typer.Option("--date", help="The position during this day, YYYY-MM-DD.")],
    lang: LangOption = "zh-CN",
    as_json: JsonFlag = False,
) -> None:
    """What is restricted on the borrower's lines, why, on what basis, what is NOT affected (the messaging
    account, contacts), and what to pay by when to lift it (解封)."""
    view = open_services().standing(borrower_id, date_option(on, "--date"), lang)
    if as_json:
        print_json(view)
        return
    sys.stdout.write(f"overdue: {view['overdue_total']}\n")
    for restriction in view["restrictions"]:
        sys.stdout.write(f"- {restriction['what']}: {restriction['reason']}\n  {restriction['lift_condition']}\n")
        if restriction["lift_by"]:
            sys.stdout.write(f"  pay by {restriction['lift_by']} to avoid the next step\n")
    for sentence in view["not_affected"]:
        sys.stdout.write(f"not affected: {sentence}\n")
