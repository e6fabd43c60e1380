"""``arrears eod``: run day-ends (日终) over the store or a Parquet dataset, with a progress bar or a JSON summary."""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from arrears.cli_services import open_services
from arrears.errors import InputRejected
from arrears.service_layer.eod import RunReport, run_dataset
from arrears.service_layer.eod_store import run_store
from arrears.service_layer.services import Services
from arrears.validation import date_option

eod_app = typer.Typer(
    help="Day-end (日终): accrue, bill, penalise, age, classify, post; exactly once.", no_args_is_help=True
)


@eod_app.command("run")
def run_command(
    dataset: Annotated[
        Path | None, typer.Option("--dataset", help="A Parquet dataset folder (default: the store).")
    ] = None,
    through: Annotated[str | None, typer.Option("--through", help="Run every missing day-end up to this date.")] = None,
    on: Annotated[str | None, typer.Option("--date", help="Run exactly this day-end; it must be the next one.")] = None,
    engine: Annotated[str, typer.Option("--engine", help="local (in-process) or spark.")] = "local",
    master: Annotated[
        str | None, typer.Option("--master", help="Spark master URL (default local[2]); with --engine spark.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a machine-readable summary.")] = False,
) -> None:
    """Run missing day-ends. Running a day again changes nothing; a killed run resumes where it stopped."""
    through_day = date_option(through, "--through") if through is not None else None
    on_day = date_option(on, "--date") if on is not None else None
    if master is not None and engine != "spark":
        raise InputRejected("--master goes with --engine spark")
    if dataset is None:
        if engine != "local":
            raise InputRejected("--engine spark runs over a dataset: give --dataset DIR")
        services = open_services()
        if as_json or not sys.stderr.isatty():
            report = run_store(services, through=through_day, day=on_day)
        else:
            report = _store_with_progress(services, through_day, on_day)
        where = "the store"
    elif as_json or engine != "local" or not sys.stderr.isatty():
        report = run_dataset(dataset, through=through_day, day=on_day, engine=engine, master=master)
        where = "the dataset"
    else:
        report = _with_progress(dataset, through_day, on_day)
        where = "the dataset"
    for problem in report.quarantined:
        sys.stderr.write(f"quarantined loan {problem['loan_id']}: {problem['code']}: {problem['message']}\n")
    if as_json:
        sys.stdout.write(json.dumps(report.as_json(), indent=2) + "\n")
        return
    if report.days == 0:
        sys.stdout.write(f"nothing to do: {where} is already closed through {report.through}\n")
        return
    rate = report.as_json()["loan_days_per_second"]
    sys.stdout.write(
        f"closed {report.first} .. {report.through} ({report.days} days) for {report.loans} loans in "
        f"{report.seconds:.2f} s ({rate} loan-days/s): {report.events} events, {report.postings} postings, "
        f"{len(report.quarantined)} quarantined\n"
    )


def _with_progress(dataset: Path, through: date | None, on: date | None) -> RunReport:
    columns = (
        TextColumn("day-end"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loan-days  {task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        from arrears.adapters.dataset import Dataset

        manifest = Dataset(dataset).manifest()
        target = through or on
        days = max(0, (target - manifest.closed_through).days) if target else 0
        task = progress.add_task("eod", total=manifest.loans * days, rate="")

        def advance(loan_days: int) -> None:
            progress.advance(task, loan_days)
            elapsed = progress.tasks[task].elapsed or 0
            done = progress.tasks[task].completed
            progress.update(task, rate=f"{done / elapsed:,.0f}/s" if elapsed else "")

        return run_dataset(dataset, through=through, day=on, progress=advance)


def _store_with_progress(services: Services, through: date | None, on: date | None) -> RunReport:
    """The store's day-ends with a bar of days and the loans a second they take."""
    columns = (TextColumn("day-end"), BarColumn(), MofNCompleteColumn(), TextColumn("days  {task.fields[rate]}"))
    with Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("eod", total=None, rate="")
        started, loans_done = time.perf_counter(), 0

        def advance(loans: int) -> None:
            nonlocal loans_done
            loans_done += loans
            progress.advance(task, 1)
            progress.update(task, rate=f"{loans_done / (time.perf_counter() - started):,.0f} loans/s")

        return run_store(services, through=through, day=on, progress=advance)
