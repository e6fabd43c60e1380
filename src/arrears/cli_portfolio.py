"""``arrears portfolio``: import a portfolio (credit lines, loans, payment history) and export statements.

The file formats are described in :mod:`arrears.service_layer.portfolio`. An import with problems prints every
problem on stderr, one line each (file, row, field, reason), then exits 2 with a one-line summary, and writes
nothing.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from arrears.errors import InputRejected
from arrears.service_layer.portfolio import PortfolioRejected, export_statements, import_portfolio
from arrears.validation import parse_date

if TYPE_CHECKING:
    from arrears.service_layer.services import Services

portfolio_app = typer.Typer(
    help="Import a portfolio (lines, loans, payment history) from CSV or Parquet; export loan statements.",
    no_args_is_help=True,
)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _services() -> Services:
    from arrears.cli import _services as build  # lazily: arrears.cli registers this module's app

    return build()


def _date(text: str, option: str) -> date:
    try:
        return parse_date(text)
    except ValueError as error:
        raise InputRejected(f"{option}: {error}") from None


@portfolio_app.command("import")
def import_command(
    directory: Annotated[Path, typer.Argument(help="Folder with lines, loans and payments (.csv or .parquet).")],
    as_json: JsonFlag = False,
) -> None:
    """Check every row, then write the whole portfolio in one transaction (or nothing)."""
    try:
        report = import_portfolio(_services(), directory)
    except PortfolioRejected as error:
        for problem in error.errors:
            sys.stderr.write(f"{problem}\n")
        raise
    for notice in report.notices:
        sys.stderr.write(notice + "\n")
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n")
        return
    if report.already_imported:
        sys.stdout.write(
            f"already imported (same files, digest {report.digest[:16]}): nothing written; "
            f"{report.loans} loans from that import\n"
        )
        return
    sys.stdout.write(
        f"imported {report.borrowers} borrowers, {report.lines} lines, {report.loans} loans and "
        f"{report.payments} payments on business date {report.business_date}; "
        "ref-to-id maps are in --json and in the audit log\n"
    )


@portfolio_app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="Folder to write loan-<id>.csv statements into.")],
    as_of: Annotated[str, typer.Option("--as-of", help="Statement date YYYY-MM-DD (state after its day-end).")],
    loan: Annotated[list[int] | None, typer.Option("--loan", help="Loan id; repeat for several. Default: all.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Write one CSV statement per loan: terms, transactions, installments, state as of the date."""
    report = export_statements(_services(), out, _date(as_of, "--as-of"), loan or None)
    if as_json:
        view = {
            "as_of": report.as_of.isoformat(),
            "files": [str(path) for path in report.files],
            "skipped": list(report.skipped),
        }
        sys.stdout.write(json.dumps(view, indent=2) + "\n")
        return
    line = f"wrote {len(report.files)} statements to {out} as of {report.as_of}"
    if report.skipped:
        line += f"; {len(report.skipped)} loans started after that date and were left out"
    sys.stdout.write(line + "\n")
