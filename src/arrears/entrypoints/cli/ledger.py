"""``arrears ledger`` (verify, accrue): the double-entry books, checked and brought up to the business date."""

from __future__ import annotations

import sys

import typer

from arrears.entrypoints.bootstrap import open_services

ledger_app = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)


@ledger_app.command("verify")
def ledger_verify() -> None:
    """Trial balance zero, every entry balanced, every loan's sub-ledger equal to its replay, no posting
    changed. Prints each discrepancy; exits 1 when there is any."""
    problems = open_services().verify_ledger()
    for problem in problems:
        sys.stdout.write(problem + "\n")
    if problems:
        raise SystemExit(1)
    sys.stdout.write("ledger verified: trial balance 0.00, every entry balanced, every loan equal to its replay\n")


@ledger_app.command("accrue")
def ledger_accrue() -> None:
    """Bring every open loan's books up to the business date (recognition entries)."""
    moved = open_services().accrue()
    sys.stdout.write(f"{moved} loans had amounts to recognise\n")
