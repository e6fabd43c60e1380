"""The demo's last check: the same loans through the vectorized day-end over a Parquet dataset, loan by loan equal
to the demo's own reference replays, then the portfolio report from the dataset's month-end snapshots."""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console

from arrears.day_end.reference import DayEndPolicy
from arrears.demo.portfolio import DemoResult


def check_day_end(console: Console, result: DemoResult, out: Path) -> None:
    """Build ``out/dataset`` from the portfolio, run its day-ends through the run's last day, compare every loan
    with the reference engine (exit 1 on a difference) and write ``out/report.html``."""
    from arrears.analytics.html import render
    from arrears.analytics.portfolio import portfolio_report
    from arrears.domain.views import state_view
    from arrears.service_layer.day_end import run_dataset
    from arrears.service_layer.demo_queries import dataset_states, write_dataset
    from arrears.service_layer.reads import dataset_snapshots

    dataset = out / "dataset"
    shutil.rmtree(dataset, ignore_errors=True)
    ids = [f"B{b.number:06d}" for b in result.portfolio]
    write_dataset(
        dataset,
        [(i, b.loan.terms, b.payments) for i, b in zip(ids, result.portfolio, strict=True)],
        DayEndPolicy(),
    )
    run = run_dataset(dataset, through=result.end)
    states = dataset_states(dataset, result.end)
    differ = [
        loan_id
        for loan_id, borrower in zip(ids, result.portfolio, strict=True)
        if state_view(states[loan_id]) != state_view(borrower.loan.state())
    ]
    if differ:
        console.print(f"[red]day-end differs from the reference engine for {len(differ)} loans, e.g. {differ[0]}[/]")
        raise SystemExit(1)
    report_file = out / "report.html"
    report = portfolio_report(
        dataset_snapshots(dataset, result.start, result.end).to_pylist(), result.start, result.end
    )
    report_file.write_text(render(report, "zh"), encoding="utf-8")
    console.print(
        f"day-end over a Parquet dataset ({dataset}/): {run.days} days x {run.loans} loans in {run.seconds:.1f} s, "
        f"{run.events} events, {run.postings} postings; every loan equal to the reference engine\n"
        f"portfolio report: {report_file.resolve()}",
        soft_wrap=True,  # a path people copy: never folded
    )
