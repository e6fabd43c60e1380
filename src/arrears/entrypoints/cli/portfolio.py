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

from arrears.domain.product import load_product
from arrears.entrypoints.bootstrap import open_services
from arrears.errors import InputRejected
from arrears.outputs import output_folder
from arrears.service_layer.datasets import dataset_from_scenarios, generate_dataset
from arrears.service_layer.portfolio import PortfolioRejected, export_statements, import_portfolio
from arrears.validation import date_option

if TYPE_CHECKING:
    pass

portfolio_app = typer.Typer(
    help="Import a portfolio (lines, loans, payment history) from CSV or Parquet; export loan statements.",
    no_args_is_help=True,
)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@portfolio_app.command("import")
def import_command(
    sources: Annotated[
        list[Path],
        typer.Argument(
            metavar="DIR | SCENARIO.json...",
            help="Into the store: one folder with lines, loans and payments (.csv or .parquet). "
            "With --out: scenario files, one loan each.",
        ),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Build a Parquet dataset in this folder from scenario files.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check every row, then write the whole portfolio in one transaction (or nothing); with --out, build a
    Parquet dataset for ``arrears eod run --dataset`` (loan id = the file's stem)."""
    if out is not None:
        manifest = dataset_from_scenarios(sources, output_folder(out, "--out"))
        view = {"dataset": str(out), "loans": manifest.loans, "closed_through": manifest.closed_through.isoformat()}
        if as_json:
            sys.stdout.write(json.dumps(view, indent=2) + "\n")
        else:
            sys.stdout.write(
                f"wrote a dataset of {manifest.loans} loans to {out}; "
                f"run `arrears eod run --dataset {out} --through D`\n"
            )
        return
    if len(sources) != 1 or not sources[0].is_dir():
        raise InputRejected(
            "importing into the store takes one folder; to build a dataset from scenario files add --out DIR"
        )
    directory = sources[0]
    try:
        report = import_portfolio(open_services(), directory)
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
    on = date_option(as_of, "--as-of")
    report = export_statements(open_services(), output_folder(out, "--out"), on, loan or None)
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


@portfolio_app.command("generate")
def generate_command(
    out: Annotated[Path, typer.Option("--out", help="Folder for the new Parquet dataset.")],
    loans: Annotated[int, typer.Option("--loans", min=1, max=100_000_000, help="How many loans.")] = 10_000,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="Random seed: the same seed gives the same portfolio.")
    ] = 1,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Last day-end to season to (default: today).")] = None,
    history_days: Annotated[
        int,
        typer.Option(
            "--history-days", help="Vintages spread over this many days (0..3650, arrears.day_end.synthetic)."
        ),
    ] = 360,
    part_size: Annotated[int, typer.Option("--part-size", min=1, max=10_000_000, help="Loans per Parquet part.")] = (
        250_000
    ),
    store_files: Annotated[
        Path | None,
        typer.Option("--store-files", help="Also write lines/loans/payments here for `arrears portfolio import DIR`."),
    ] = None,
    product: Annotated[
        Path | None, typer.Option("--product", help="Product file the store files name (default: the sample).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """A realistic synthetic portfolio (product mix, vintages, 10..20% delinquent, payment behaviour) as a
    Parquet dataset, seasoned through --as-of; see arrears.day_end.synthetic for the mix."""
    day = date_option(as_of, "--as-of") if as_of is not None else date.today()
    if product is not None:
        load_product(product)  # a wrong path is refused even when no store files name it
    manifest = generate_dataset(
        output_folder(out, "--out"),
        loans,
        seed,
        day,
        history_days,
        part_size,
        store_files=None if store_files is None else output_folder(store_files, "--store-files"),
        product=product,
    )
    view = {"dataset": str(out), "loans": manifest.loans, "parts": manifest.parts}
    view["closed_through"] = manifest.closed_through.isoformat()
    if as_json:
        sys.stdout.write(json.dumps(view, indent=2) + "\n")
        return
    sys.stdout.write(
        f"wrote {manifest.loans} loans in {manifest.parts} parts to {out}, closed through {manifest.closed_through}\n"
    )
