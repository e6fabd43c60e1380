"""``arrears schedule``, ``simulate`` and ``payoff``: a loan's figures worked out from its terms or a scenario file,
without a store.

The domain is imported inside each command: ``arrears --help`` need not load the schedule and the engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from arrears.entrypoints.cli.output import JsonFlag, console, print_json
from arrears.validation import date_option


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
    from arrears.domain.disclosure import disclose
    from arrears.domain.scenario import parse_scenario
    from arrears.domain.schedule import build_schedule
    from arrears.domain.views import schedule_view
    from arrears.money import format_minor

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
        print_json(schedule_view(rows, rates))
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
    out = console()
    out.print(table)
    out.print(
        f"Annualised rate (年化利率, IRR method): {rates.annualised_irr_percent}%   "
        f"daily rate x 365: {rates.simple_annual_percent}%"
    )


def simulate(
    scenario_file: Annotated[Path, typer.Argument(metavar="SCENARIO.json", help="A scenario file.")],
    as_of: Annotated[str, typer.Option(help="State after day-end of this date, YYYY-MM-DD.")],
    as_json: JsonFlag = False,
) -> None:
    """A loan's exact state after day-end of a date: DPD, bucket, class, what is overdue, each installment."""
    from arrears.domain.engine import replay
    from arrears.domain.scenario import load_scenario
    from arrears.domain.views import state_view

    scenario = load_scenario(scenario_file)
    state = replay(scenario.terms, scenario.payments, date_option(as_of, "--as-of"))
    view = state_view(state)
    if as_json:
        print_json(view)
        return
    print_state(view)


def print_state(view: dict[str, Any]) -> None:
    """A loan's state (``state_view``) for people: the headline, what is overdue, then each installment."""
    out = console()
    out.print(
        f"[bold]{view['as_of']}[/]  DPD {view['days_past_due']}  {view['bucket']}  {view['classification']}  "
        f"outstanding principal {view['outstanding_principal']}  unapplied {view['unapplied']}"
    )
    overdue = view["overdue"]
    out.print(
        f"overdue: principal {overdue['principal']}, interest {overdue['interest']}, penalty {overdue['penalty']}, "
        f"compound {overdue['compound']}, total [bold]{overdue['total']}[/]"
    )
    table = Table()
    for column in ("#", "due date", "status", "principal", "interest", "penalty", "compound"):
        table.add_column(column, justify="right")
    for row in view["installments"]:
        table.add_row(*(str(row[key]) for key in row))
    out.print(table)


def payoff_command(
    scenario_file: Annotated[Path, typer.Argument(metavar="SCENARIO.json", help="A scenario file.")],
    on: Annotated[str, typer.Option(help="Settlement date YYYY-MM-DD.")],
    as_json: JsonFlag = False,
) -> None:
    """What settles the loan in full on a date (提前结清), and how it is made up."""
    from arrears.domain.payoff import payoff
    from arrears.domain.scenario import load_scenario
    from arrears.domain.views import payoff_view

    scenario = load_scenario(scenario_file)
    view = payoff_view(payoff(scenario.terms, scenario.payments, date_option(on, "--on")))
    if as_json:
        print_json(view)
        return
    out = console()
    out.print(f"Payoff on {view['on']}:")
    out.print(f"  overdue and due        {view['overdue_and_due']:>12}")
    out.print(f"  current interest       {view['current_interest']:>12}")
    out.print(f"  principal not yet due  {view['principal_not_yet_due']:>12}")
    out.print(f"  [bold]total                  {view['total']:>12}[/]")
