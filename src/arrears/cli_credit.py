"""``arrears credit``: credit reporting (征信): borrowers' consents and the month's bureau file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from arrears.cli_services import open_services
from arrears.errors import InputRejected
from arrears.service_layer.credit_reporting import record_consent, report_month, write_jsonl, write_metro2
from arrears.validation import date_option

credit_app = typer.Typer(help="Credit reporting (征信): consents and the month's bureau file.", no_args_is_help=True)


@credit_app.command("consent")
def credit_consent(
    borrower: Annotated[int, typer.Argument(help="The borrower who signed.")],
    signed_on: Annotated[str, typer.Option("--signed-on", help="The day it was signed, YYYY-MM-DD.")],
    document: Annotated[str, typer.Option(help="The signed document's reference.")],
) -> None:
    """Record a borrower's written consent to credit reporting (征信业管理条例 art. 29): without one nothing
    about the borrower is reported under the cn pack."""
    consent = record_consent(
        open_services(), borrower_id=borrower, signed_on=date_option(signed_on, "--signed-on"), document=document
    )
    sys.stdout.write(f"consent {consent} recorded\n")


@credit_app.command("report")
def credit_report(
    month: Annotated[str, typer.Option(help="The month, YYYY-MM (after the day-end of its last day).")],
    jurisdiction: Annotated[str, typer.Option(help="cn or us: the bureau, and the loans on its products.")] = "cn",
    out: Annotated[Path | None, typer.Option(help="Write the bureau file here.")] = None,
    file_format: Annotated[str, typer.Option("--format", help="jsonl, or metro2 (us).")] = "jsonl",
    furnisher: Annotated[str, typer.Option(help="The furnisher's identification number (Metro 2).")] = "ARREARS",
    as_json: Annotated[bool, typer.Option("--json", help="Print what was emitted and held as JSON.")] = False,
) -> None:
    """The month's records: one per account open in the month; negative ones only after a pre-notice and never
    without consent (cn); what is held back is listed with the reason. A month is reported once."""
    if file_format not in ("jsonl", "metro2"):
        raise InputRejected(f"--format must be jsonl or metro2, got {file_format!r}")
    day = date_option(f"{month}-01", "--month")
    services = open_services()
    report = report_month(services, day, jurisdiction)
    if out is not None:
        if file_format == "jsonl":
            out.write_text(write_jsonl(report), encoding="utf-8")
        else:
            out.write_bytes(write_metro2(services, report, furnisher))
        sys.stderr.write(f"wrote {out}\n")
    view = report.as_json()
    if as_json:
        sys.stdout.write(json.dumps(view, ensure_ascii=False, indent=2) + "\n")
        return
    again = " (already reported: the stored records)" if view["already_reported"] else ""
    sys.stdout.write(
        f"{view['period'][:7]} ({jurisdiction}){again}: {view['emitted']} records, {view['negative']} negative, "
        f"{len(view['held'])} held back\n"
    )
    for held in view["held"][:20]:
        sys.stdout.write(f"  held: loan {held['loan']}: {held['reason']}\n")
