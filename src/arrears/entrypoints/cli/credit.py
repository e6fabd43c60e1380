"""``arrears credit``: credit reporting (征信): borrowers' consents and the month's bureau file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from arrears.entrypoints.bootstrap import open_services
from arrears.errors import InputRejected
from arrears.outputs import output_file, staged
from arrears.service_layer.credit_reporting import (
    EventReport,
    MonthReport,
    disputes,
    open_dispute,
    record_consent,
    report_month,
    report_new_delinquencies,
    resolve_dispute,
    write_jsonl,
    write_metro2,
)
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
        raise InputRejected(f"--format must be jsonl or metro2, got {file_format[:40]!r}")
    if file_format == "metro2" and jurisdiction != "us":
        raise InputRejected("Metro 2 is the us bureaus' format; write cn records as --format jsonl")
    day = date_option(f"{month}-01", "--month")
    target = None if out is None else output_file(out, "--out")  # checked before the month is reported
    services = open_services()
    skipped: list[dict[str, Any]] = []
    if target is None:
        report = report_month(services, day, jurisdiction)
    else:
        with staged(target) as temporary:  # written whole before the month commits, renamed in after (outputs)

            def deliver(report: MonthReport) -> None:
                if file_format == "jsonl":
                    temporary.write_text(write_jsonl(report), encoding="utf-8")
                else:
                    data, left_out = write_metro2(services, report, furnisher)
                    temporary.write_bytes(data)
                    skipped.extend(left_out)

            report = report_month(services, day, jurisdiction, deliver)
        for left in skipped:
            sys.stderr.write(f"not in the file: loan {left['loan']}: {left['reason']}\n")
        sys.stderr.write(f"wrote {target}\n")
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


dispute_app = typer.Typer(help="Disputes (异议) of reported records.", no_args_is_help=True)
credit_app.add_typer(dispute_app, name="dispute")


@dispute_app.command("open")
def dispute_open(
    loan: Annotated[int, typer.Argument(help="The loan whose record is disputed.")],
    month: Annotated[str, typer.Option(help="The reported month, YYYY-MM.")],
    received: Annotated[str, typer.Option(help="The day the dispute was received, YYYY-MM-DD.")],
    claim: Annotated[str, typer.Option(help="What the borrower says is wrong.")],
    jurisdiction: Annotated[str, typer.Option(help="cn or us.")] = "cn",
) -> None:
    """Open a dispute: the record is marked disputed, the answer is due in 20 days (cn) or 30 (us), and
    collection of the loan pauses until it is answered."""
    opened = open_dispute(
        open_services(),
        loan_id=loan,
        month=date_option(f"{month}-01", "--month"),
        jurisdiction=jurisdiction,
        received_on=date_option(received, "--received"),
        claim=claim,
    )
    sys.stdout.write(f"dispute {opened['dispute']} opened: answer by {opened['answer_by']} ({opened['source']})\n")


@dispute_app.command("resolve")
def dispute_resolve(
    dispute: Annotated[int, typer.Argument(help="The dispute.")],
    on: Annotated[str, typer.Option("--on", help="The day it is answered, YYYY-MM-DD.")],
    outcome: Annotated[str, typer.Option(help="corrected (the events now give another record) or confirmed.")],
    resolution: Annotated[str, typer.Option(help="The written answer: what was found and done.")],
) -> None:
    """Answer a dispute: corrected (the correction goes with the next month's file) or confirmed."""
    done = resolve_dispute(
        open_services(), dispute_id=dispute, on=date_option(on, "--on"), outcome=outcome, resolution=resolution
    )
    late = " (after its deadline)" if done["late"] else ""
    sys.stdout.write(f"dispute {dispute} answered: {outcome}{late}\n")


@credit_app.command("disputes")
def credit_disputes(
    today: Annotated[str, typer.Option("--date", help="Today, YYYY-MM-DD: which open disputes are overdue.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
) -> None:
    """Every dispute, open ones first, with its deadline and whether it is overdue."""
    found = disputes(open_services(), date_option(today, "--date"))
    if as_json:
        sys.stdout.write(json.dumps(found, ensure_ascii=False, indent=2) + "\n")
        return
    for item in found:
        state = item["outcome"] or ("OVERDUE" if item["overdue"] else "open")
        what = f"loan {item['loan']} {item['month']}, answer by {item['answer_by']}"
        sys.stdout.write(f"  dispute {item['dispute']}: {what}: {state}\n")


@credit_app.command("events")
def credit_events(
    day: Annotated[str, typer.Option("--date", help="The day, YYYY-MM-DD (after its day-end).")],
    jurisdiction: Annotated[str, typer.Option(help="cn or us.")] = "cn",
    out: Annotated[Path | None, typer.Option(help="Write the emitted event records here as JSON Lines.")] = None,
) -> None:
    """Event records of new delinquencies: each told to the bureau once, under the month's rules (consent,
    pre-notice, retention); what is held back today is tried again on the next run. Prints JSON."""
    on = date_option(day, "--date")
    if out is None:
        report = report_new_delinquencies(open_services(), on, jurisdiction)
    else:
        with staged(output_file(out, "--out")) as temporary:  # written whole before the events commit as told

            def deliver(report: EventReport) -> None:
                lines = "".join(json.dumps(r.as_json(), ensure_ascii=False) + "\n" for r in report.records)
                temporary.write_text(lines, "utf-8")

            report = report_new_delinquencies(open_services(), on, jurisdiction, deliver)
    sys.stdout.write(json.dumps(report.as_json(), ensure_ascii=False, indent=2) + "\n")
