"""``arrears eod``: run day-ends (日终) over the store or a Parquet dataset, with a progress bar or a JSON summary."""

from __future__ import annotations

import json
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from arrears.entrypoints.bootstrap import load_settings, open_services
from arrears.errors import InputRejected
from arrears.validation import date_option

if TYPE_CHECKING:
    from arrears.config import Settings
    from arrears.service_layer.day_end import RunReport
    from arrears.service_layer.services import Services

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
    long_run: Annotated[
        bool,
        typer.Option("--long-run", help="Confirm closing days more than ARREARS_EOD_CONFIRM_DAYS (31) ahead of today."),
    ] = False,
) -> None:
    """Run missing day-ends. Running a day again changes nothing; a killed run resumes where it stopped."""
    from arrears.service_layer.day_end import run_dataset
    from arrears.service_layer.day_end_store import run_store
    from arrears.service_layer.reads import dataset_manifest

    through_day = date_option(through, "--through") if through is not None else None
    on_day = date_option(on, "--date") if on is not None else None
    if master is not None and engine != "spark":
        raise InputRejected("--master goes with --engine spark")
    target = through_day or on_day
    if dataset is None:
        if engine != "local":
            raise InputRejected("--engine spark runs over a dataset: give --dataset DIR")
        services = open_services()
        if target is not None:
            with services.reading() as connection:
                business = services.business_date(connection)
            refuse_far_ahead(services.settings, business, target, long_run)
        if as_json or not sys.stderr.isatty():
            report = run_store(services, through=through_day, day=on_day)
        else:
            report = _store_with_progress(services, through_day, on_day)
        where = "the store"
    else:
        if target is not None:
            closed = dataset_manifest(dataset).closed_through  # a folder that is no dataset: the error says so
            refuse_far_ahead(load_settings(), closed + timedelta(days=1), target, long_run)
        if as_json or engine != "local" or not sys.stderr.isatty():
            report = run_dataset(dataset, through=through_day, day=on_day, engine=engine, master=master)
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


def refuse_far_ahead(settings: Settings, business: date, target: date, long_run: bool) -> None:
    """A day-end's last day, against today (or the business date, if later): more than ARREARS_HORIZON_DAYS ahead is
    refused, more than ARREARS_EOD_CONFIRM_DAYS ahead needs ``--long-run``. Each day is committed on its own, so a
    mistyped year (``--through 9999-12-31``) would otherwise close the store day after day into a future nobody
    asked for, and a killed run keeps what it closed."""
    from arrears.service_layer.day_end import DayEndRefused

    today = datetime.now(ZoneInfo(settings.timezone)).date()
    reference = max(today, business)
    latest = reference + timedelta(days=settings.horizon_days)
    if target > latest:
        raise DayEndRefused(
            f"day-end {target} is more than {settings.horizon_days} days after {reference} (ARREARS_HORIZON_DAYS): "
            f"refused; close at most up to {latest}"
        )
    ahead = (target - reference).days
    if ahead > settings.eod_confirm_days and not long_run:
        raise DayEndRefused(
            f"day-end {target} is {ahead} days after {reference}, more than ARREARS_EOD_CONFIRM_DAYS "
            f"({settings.eod_confirm_days}); check the date, and add --long-run if you mean it"
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
        from arrears.service_layer.day_end import run_dataset
        from arrears.service_layer.reads import dataset_manifest

        manifest = dataset_manifest(dataset)
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
    from arrears.service_layer.day_end_store import run_store

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
