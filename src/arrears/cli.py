"""The ``arrears`` command line: thin, like every entry point.

Each command turns its options into domain calls and prints the result, as a Rich table for people or, with
``--json``, in the shapes of shared/contracts/. Bad input of any kind (a malformed amount or date, an unknown
method, an unreadable file, a payment before the start) exits with status 2 and one line on stderr, and
nothing else is printed.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from arrears.classification import Bucket, Classification
from arrears.demo import DemoResult, run_demo
from arrears.disclosure import disclose
from arrears.engine import replay
from arrears.errors import InputRejected
from arrears.money import format_minor
from arrears.payoff import payoff
from arrears.product import load_product
from arrears.scenario import load_scenario, parse_scenario
from arrears.schedule import build_schedule
from arrears.validation import parse_date
from arrears.views import payoff_view, schedule_view, state_view

app = typer.Typer(
    help="arrears: consumer-loan servicing and collections, exact to the cent.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON (shared/contracts/).")]


def _console() -> Console:
    """Rich output; piped output gets 120 columns rather than Rich's 80 so that tables keep their shape."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else 120)


def _print_json(view: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(view, ensure_ascii=False, indent=2) + "\n")


def _parse_date(text: str, option: str) -> date:
    try:
        return parse_date(text)
    except ValueError as error:
        raise InputRejected(f"{option}: {error}") from None


@app.command()
def schedule(
    principal: Annotated[str, typer.Option(help="Amount lent, e.g. 10000 or 2500.00.")],
    daily_rate: Annotated[str, typer.Option(help="Daily rate (日利率), e.g. 0.0005.")],
    terms: Annotated[int, typer.Option(help="Number of monthly installments.")],
    start: Annotated[str, typer.Option(help="Disbursement date YYYY-MM-DD; interest starts that day.")],
    method: Annotated[str, typer.Option(help="equal-principal | equal-installment | interest-first.")] = (
        "equal-principal"
    ),
    interest_basis: Annotated[str, typer.Option(help="actual | period.")] = "actual",
    rounding: Annotated[str, typer.Option(help="half-up | half-even.")] = "half-up",
    as_json: JsonFlag = False,
) -> None:
    """The repayment schedule of a loan, with its annualised rate (年化利率, IRR) beside daily rate x 365."""
    scenario = parse_scenario(
        {
            "loan": {
                "principal": principal,
                "daily_rate": daily_rate,
                "terms": terms,
                "method": method,
                "interest_basis": interest_basis,
                "start": start,
            },
            "product": {"rounding": rounding},
        },
        "options",
    )
    rows = build_schedule(scenario.terms)
    rates = disclose(scenario.terms, rows)
    if as_json:
        _print_json(schedule_view(rows, rates))
        return
    table = Table(title=f"{method} over {terms} months, {interest_basis} interest basis")
    for column in ("#", "due date", "principal", "interest", "payment"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            str(row.number),
            row.due_date.isoformat(),
            format_minor(row.principal),
            format_minor(row.interest),
            format_minor(row.payment),
        )
    table.add_row(
        "",
        "total",
        format_minor(rows.total_principal),
        format_minor(rows.total_interest),
        format_minor(rows.total_payment),
    )
    console = _console()
    console.print(table)
    console.print(
        f"Annualised rate (年化利率, IRR method): {rates.annualised_irr_percent}%   "
        f"daily rate x 365: {rates.simple_annual_percent}%"
    )


@app.command()
def simulate(
    scenario_file: Annotated[Path, typer.Argument(metavar="SCENARIO.json", help="A scenario file.")],
    as_of: Annotated[str, typer.Option(help="State after day-end of this date, YYYY-MM-DD.")],
    as_json: JsonFlag = False,
) -> None:
    """A loan's exact state after day-end of a date: DPD, bucket, class, what is overdue, each installment."""
    scenario = load_scenario(scenario_file)
    state = replay(scenario.terms, scenario.payments, _parse_date(as_of, "--as-of"))
    view = state_view(state)
    if as_json:
        _print_json(view)
        return
    console = _console()
    console.print(
        f"[bold]{view['as_of']}[/]  DPD {view['days_past_due']}  {view['bucket']}  {view['classification']}  "
        f"outstanding principal {view['outstanding_principal']}  unapplied {view['unapplied']}"
    )
    overdue = view["overdue"]
    console.print(
        f"overdue: principal {overdue['principal']}, interest {overdue['interest']}, penalty {overdue['penalty']}, "
        f"compound {overdue['compound']}, total [bold]{overdue['total']}[/]"
    )
    table = Table()
    for column in ("#", "due date", "status", "principal", "interest", "penalty", "compound"):
        table.add_column(column, justify="right")
    for row in view["installments"]:
        table.add_row(*(str(row[key]) for key in row))
    console.print(table)


@app.command(name="payoff")
def payoff_command(
    scenario_file: Annotated[Path, typer.Argument(metavar="SCENARIO.json", help="A scenario file.")],
    on: Annotated[str, typer.Option(help="Settlement date YYYY-MM-DD.")],
    as_json: JsonFlag = False,
) -> None:
    """What settles the loan in full on a date (提前结清), and how it is made up."""
    scenario = load_scenario(scenario_file)
    view = payoff_view(payoff(scenario.terms, scenario.payments, _parse_date(on, "--on")))
    if as_json:
        _print_json(view)
        return
    console = _console()
    console.print(f"Payoff on {view['on']}:")
    console.print(f"  overdue and due        {view['overdue_and_due']:>12}")
    console.print(f"  current interest       {view['current_interest']:>12}")
    console.print(f"  principal not yet due  {view['principal_not_yet_due']:>12}")
    console.print(f"  [bold]total                  {view['total']:>12}[/]")


@app.command()
def demo(
    product_file: Annotated[Path, typer.Option("--product", help="Product TOML file.")] = Path(
        "products/cn-microcredit.toml"
    ),
    borrowers: Annotated[int, typer.Option(min=1, help="Number of synthetic borrowers.")] = 3000,
    months: Annotated[int, typer.Option(min=1, max=24, help="Months to run, day by day.")] = 6,
    seed: Annotated[int, typer.Option(help="Random seed for behaviour and dates.")] = 20261129,
) -> None:
    """Synthetic borrowers on the sample product, run day by day: bucket mix, classes, roll rates."""
    product = load_product(product_file)
    console = _console()
    for notice in product.notices:
        console.print(f"[yellow]{notice}[/]")
    days = months * 31
    with Progress(
        TextColumn("day-ends"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("day-ends", total=days)
        result = run_demo(
            product, borrowers=borrowers, months=months, seed=seed, on_day=lambda _: progress.advance(task)
        )
        progress.update(task, total=progress.tasks[0].completed)
    _print_demo(console, result)


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"  # a display ratio, never money


def _print_demo(console: Console, result: DemoResult) -> None:
    console.print(
        f"\n{result.borrowers} borrowers, {result.start} .. {result.end}: {result.loan_days} loan-days, "
        f"{result.payments} payments; disbursed {format_minor(result.disbursed)}, "
        f"collected {format_minor(result.collected)} CNY"
    )
    behaviours = ", ".join(f"{b}: {n}" for b, n in result.behaviours.most_common())
    console.print(f"behaviour mix: {behaviours}")
    mix = Table(title="Bucket mix at month-ends (loans)")
    mix.add_column("month-end")
    for bucket in Bucket:
        mix.add_column(str(bucket), justify="right")
    for month in result.month_ends:
        counts = [sum(1 for b in month.buckets.values() if b is bucket) for bucket in Bucket]
        mix.add_row(month.day.isoformat(), *(str(c) for c in counts))
    console.print(mix)
    classes = Table(title=f"Five-category classification (五级分类) on {result.end}")
    for column in ("class", "loans", "outstanding principal"):
        classes.add_column(column, justify="right")
    for classification in Classification:
        classes.add_row(
            str(classification),
            str(result.classifications[classification]),
            format_minor(result.classification_principal[classification]),
        )
    console.print(classes)
    matrix = result.roll_matrix()
    rolls = Table(title="Roll rates (迁徙率): share of principal in each bucket that is in each bucket a month later")
    rolls.add_column("from \\ to")
    for bucket in Bucket:
        rolls.add_column(str(bucket), justify="right")
    for source, row in matrix.items():
        total = sum(row.values())
        if total:
            rolls.add_row(str(source), *(_percent(row[target], total) for target in Bucket))
    console.print(rolls)
    balanced = result.allocated + result.unapplied == result.collected
    verdict = "[green]balanced[/]" if balanced else "[red]NOT BALANCED[/]"
    console.print(
        f"money check: collected {format_minor(result.collected)} = allocated {format_minor(result.allocated)} "
        f"+ unapplied credit {format_minor(result.unapplied)}: {verdict}"
    )
    if not balanced:
        raise SystemExit(1)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app; bad input of any kind exits 2 with one line on stderr."""
    try:
        code = app(args=argv, standalone_mode=False)
    except InputRejected as error:
        _fail(str(error))
    except typer.Abort:
        _fail("aborted", status=130)
    except typer.TyperException as error:  # usage errors: unknown option, "x" for a number, ...
        _fail(error.format_message())
    except typer.Exit as error:
        raise SystemExit(error.exit_code) from None
    raise SystemExit(code if isinstance(code, int) else 0)


def _fail(message: str, status: int = 2) -> None:
    if message.strip():  # a bare "arrears" has already printed its help and has nothing to add
        sys.stderr.write("arrears: error: " + " ".join(message.split()) + "\n")
    raise SystemExit(status)


if __name__ == "__main__":  # pragma: no cover
    main()
