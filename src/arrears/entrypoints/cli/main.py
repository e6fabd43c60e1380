"""The ``arrears`` command line: thin, like every entry point.

Each command turns its options into domain calls and prints the result, as a Rich table for people or, with
``--json``, in the shapes of shared/contracts/. Bad input of any kind (a malformed amount or date, an unknown
method, an unreadable file, a payment before the start) exits with status 2 and one line on stderr, and
nothing else is printed.
"""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from arrears.day_end.reference import DayEndPolicy
from arrears.demo import negotiation as demo_negotiation
from arrears.demo.portfolio import DemoResult, run_demo, write_portfolio
from arrears.domain.classification import Bucket, Classification
from arrears.domain.disclosure import disclose
from arrears.domain.engine import replay
from arrears.domain.payoff import payoff
from arrears.domain.product import load_product
from arrears.domain.scenario import load_scenario, parse_scenario
from arrears.domain.schedule import build_schedule
from arrears.domain.terms import InterestBasis, Method
from arrears.domain.views import payoff_view, schedule_view, state_view
from arrears.entrypoints.bootstrap import open_services
from arrears.entrypoints.cli.approvals import approvals_app
from arrears.entrypoints.cli.credit import credit_app
from arrears.entrypoints.cli.day_end import eod_app
from arrears.entrypoints.cli.hardship import hardship_app
from arrears.entrypoints.cli.legal import legal_app
from arrears.entrypoints.cli.portfolio import portfolio_app
from arrears.entrypoints.cli.report import report_app
from arrears.entrypoints.cli.serve import serve, token_app
from arrears.entrypoints.cli.strategy import collections_app, outbox_app, strategy_app
from arrears.errors import Busy, InputRejected
from arrears.inputs import check_arguments
from arrears.money import format_minor, parse_amount, parse_rate
from arrears.restrictions.registry import refuse_outside_product
from arrears.service_layer.day_end import dataset_loan_state
from arrears.validation import date_option, parse_choice

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
    state = replay(scenario.terms, scenario.payments, date_option(as_of, "--as-of"))
    view = state_view(state)
    if as_json:
        _print_json(view)
        return
    _print_state(view)


def _print_state(view: dict[str, Any]) -> None:
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
    view = payoff_view(payoff(scenario.terms, scenario.payments, date_option(on, "--on")))
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
    out: Annotated[Path, typer.Option(help="Where to write the simulated portfolio as CSV.")] = Path("demo-portfolio"),
    persist: Annotated[bool, typer.Option(help="Import the portfolio into the store and verify the ledger.")] = True,
) -> None:
    """Synthetic borrowers on the sample product, run day by day: bucket mix, classes, roll rates; then the
    portfolio is written as CSV, imported into the store (ARREARS_DATABASE_URL, default ./arrears.db) in one
    transaction, and the ledger verified."""
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
    if persist:
        _persist_demo(console, result, product_file, out)
        _demo_standing(console, result.end + timedelta(days=1))
        _demo_collections(console, result.end + timedelta(days=2), out, seed)
        month = _demo_credit(console, result, out)
        demo_negotiation.show(console, month)
        _demo_day_end(console, result, out)
        _demo_api(console)


def _persist_demo(console: Console, result: DemoResult, product_file: Path, out: Path) -> None:
    """Write the demo portfolio as CSV, import it as of the day after the run, verify the books."""
    from arrears.service_layer.portfolio import import_portfolio

    directory = write_portfolio(result, product_file, out)
    services = open_services(business_date=result.end + timedelta(days=1))
    report = import_portfolio(services, directory)
    where = services.engine.url.render_as_string(hide_password=True)
    verb = "was already in" if report.already_imported else "imported into"
    console.print(
        f"\nportfolio written to {directory}/ (lines, loans, payments .csv) and {verb} {where}: "
        f"{report.loans} loans, {report.payments} payments, business date {report.business_date}"
    )
    problems = services.verify_ledger()
    for problem in problems:
        console.print(f"[red]{problem}[/]")
    if problems:
        raise SystemExit(1)
    console.print("ledger verify: trial balance 0.00, every entry balanced, every loan equal to its replay")


def _demo_standing(console: Console, day: date) -> None:
    """Two borrowers' standing on the store (one restricted, one not), in Chinese and English, and where the
    restricted one's penalty comes from: what `arrears standing` and `arrears explain` print."""
    services = open_services(business_date=day)
    with services.reading() as connection:
        borrowers = [row[0] for row in connection.exec_driver_sql("SELECT id FROM borrowers ORDER BY id LIMIT 300")]
    views = {borrower: services.standing(borrower, day, "zh-CN") for borrower in borrowers}
    restricted = next((b for b, v in views.items() if v["restrictions"]), None)
    clean = next((b for b, v in views.items() if not v["restrictions"]), None)
    for borrower, lang in ((restricted, "zh-CN"), (restricted, "en-US"), (clean, "en-US")):
        if borrower is None:
            continue
        view = services.standing(borrower, day, lang)
        console.print(
            f"\n[bold]arrears standing {borrower} --date {day} --lang {lang}[/]: overdue {view['overdue_total']}"
        )
        for restriction in view["restrictions"]:
            console.print(f"  {restriction['what']} ({restriction['reason']})")
            console.print(
                f"    {restriction['lift_condition']}"
                + (f"; by {restriction['lift_by']}" if restriction["lift_by"] else "")
            )
        if not view["restrictions"]:
            console.print("  no restrictions" if lang == "en-US" else "  无限制")
        console.print(f"  {view['not_affected'][0]}")
    if restricted is not None:
        loan = next(entry["loan_id"] for entry in views[restricted]["loans"] if entry["overdue"] != "0.00")
        explained = services.explain_loan(loan, day - timedelta(days=1), "en-US")
        owing = [i["penalty"] for i in explained["installments"] if i.get("penalty", {}).get("owed", "0.00") != "0.00"]
        penalty = owing[0] if owing else None
        if penalty is not None:
            console.print(
                f"\n[bold]arrears explain {loan} --date {day - timedelta(days=1)}[/]: penalty owed {penalty['owed']}"
            )
            for line in penalty["lines"][:3]:
                console.print(f"  {line['text']}")
            if len(penalty["lines"]) > 3:
                console.print(f"  ... {len(penalty['lines']) - 3} more lines")


def _demo_collections(console: Console, day: date, out: Path, seed: int) -> None:
    """Five business days of collections on the store (arrears.demo.collections): each day's plan, borrowers'
    promises and payments, the outbox sent, then the arms compared; one refused action of the first day for each
    rule that refused any; and a strategy asking for the seed article's measures, refused when it is loaded."""
    from arrears.collections.strategy import check_document
    from arrears.demo.collections import run_days
    from arrears.entrypoints.cli.strategy import DEFAULT_STRATEGY
    from arrears.service_layer.collections import plan_day

    run_days(console, day, 5, DEFAULT_STRATEGY, out / "collections", seed)
    plan = plan_day(open_services(), day, DEFAULT_STRATEGY)  # the stored plan of the first day
    by_rule: dict[str, dict[str, Any]] = {}
    for action in plan["actions"]:
        if action["rule"]:
            by_rule.setdefault(action["rule"], action)
    console.print(f"\n[bold]arrears collections plan --date {day}[/]: each rule that refused an action, once")
    for action in by_rule.values():
        where = f"loan {action['loan']}: {action['action']} at {action['scheduled']}"
        console.print(f"  {where}: refused by {action['rule']}")
    unlawful = {
        "strategy": {"name": "seed-article", "jurisdiction": "cn"},
        "rules": [{"when": {"dpd_min": 30}, "actions": [{"action": "freeze_messaging_account"}]}],
    }
    _, violations = check_document(unlawful, "a strategy asking to freeze the WeChat account")
    for violation in violations:
        console.print(f"  [red]refused[/]: {violation.where}: {violation.message} (rule {violation.rule})")


def _demo_credit(console: Console, result: DemoResult, out: Path) -> date:
    """The month's credit-reporting file: the last whole month of the run, every borrower having signed a
    consent at onboarding; negative records only where a pre-notice went out in time (none had, that month: they
    are held back, with the reason)."""
    from arrears.service_layer.credit_reporting import record_consents, report_month, write_jsonl

    services = open_services()
    record_consents(services, signed_on=result.start, document="demo onboarding: 征信授权书")
    following = result.end + timedelta(days=1)
    month = following - timedelta(days=1) if following.day == 1 else result.end.replace(day=1) - timedelta(days=1)
    report = report_month(services, month, "cn")
    path = out / f"credit-{month:%Y-%m}.jsonl"
    path.write_text(write_jsonl(report), encoding="utf-8")
    view = report.as_json()
    reasons: dict[str, int] = {}
    for held in view["held"]:
        key = held["reason"].split(" (", 1)[0]
        reasons[key] = reasons.get(key, 0) + 1
    console.print(
        f"\n[bold]arrears credit report --month {month:%Y-%m} --jurisdiction cn[/] ({path}): {view['emitted']} "
        f"records ({view['negative']} negative), {len(view['held'])} held back"
    )
    for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
        console.print(f"  held: {count} x {reason}")
    return month


def _demo_api(console: Console) -> None:
    """A token for each role on the demo store, and how to serve the API with them (the demo does not block on
    a server: start it with the command printed)."""
    from arrears.access import Role
    from arrears.adapters import tokens_store

    services = open_services()
    with services.transaction() as connection:
        borrower = connection.exec_driver_sql("SELECT MIN(id) FROM borrowers").scalar_one()
        made = []
        for role in Role:
            whose = borrower if role is Role.BORROWER else None
            agency = "huaxia-collect" if role is Role.AGENCY else None
            _, token = tokens_store.create(
                connection, role=role, borrower=whose, agency=agency, label="demo", now=services.clock()
            )
            made.append((role, whose or agency or "", token))
    console.print(
        "\n[bold]arrears serve --port 8000[/] (http://127.0.0.1:8000/openapi.json), with one of these tokens:"
    )
    for role, scope, token in made:
        console.print(f"  {role:<10} {scope!s:<15} Authorization: Bearer {token}")
    console.print(
        "the console: http://127.0.0.1:8000/console/queue and the borrower page: http://127.0.0.1:8000/borrower "
        "(sign in at http://127.0.0.1:8000/sign-in with a token above: a collector's or a supervisor's for the "
        "console, the borrower's for their page)",
        soft_wrap=True,
    )


def _demo_day_end(console: Console, result: DemoResult, out: Path) -> None:
    """The same loans through the vectorized day-end over a Parquet dataset (checked against the demo's own
    reference replays, loan by loan), then the portfolio report from its month-end snapshots."""
    import shutil

    import pyarrow as pa

    from arrears.adapters.dataset import PAYMENT_SCHEMA, Dataset, create
    from arrears.analytics.html import render
    from arrears.analytics.portfolio import portfolio_report
    from arrears.day_end.columns import from_arrow, loan_state, opening_state
    from arrears.service_layer.day_end import run_dataset

    dataset = out / "dataset"
    shutil.rmtree(dataset, ignore_errors=True)
    ids = [f"B{b.number:06d}" for b in result.portfolio]
    state = pa.Table.from_batches([opening_state(ids, [b.loan.terms for b in result.portfolio])])
    payments = pa.table(
        {
            "loan_id": [i for i, b in zip(ids, result.portfolio, strict=True) for _ in b.payments],
            "value_date": [day for b in result.portfolio for day, _ in b.payments],
            "amount": [amount for b in result.portfolio for _, amount in b.payments],
        },
        schema=PAYMENT_SCHEMA,
    )
    create(dataset, [(state, payments)], DayEndPolicy().non_accrual_dpd)
    run = run_dataset(dataset, through=result.end)
    manifest = Dataset(dataset).manifest()
    table = pa.concat_tables(Dataset(dataset).iter_parts(manifest.generation, manifest.parts))
    batch, position = from_arrow(table), {loan_id: n for n, loan_id in enumerate(table.column("loan_id").to_pylist())}
    differ = [
        loan_id
        for loan_id, borrower in zip(ids, result.portfolio, strict=True)
        if state_view(loan_state(batch, position[loan_id], result.end)) != state_view(borrower.loan.state())
    ]
    if differ:
        console.print(f"[red]day-end differs from the reference engine for {len(differ)} loans, e.g. {differ[0]}[/]")
        raise SystemExit(1)
    report_file = out / "report.html"
    report = portfolio_report(
        Dataset(dataset).snapshots(result.start, result.end).to_pylist(), result.start, result.end
    )
    report_file.write_text(render(report, "zh"), encoding="utf-8")
    console.print(
        f"day-end over a Parquet dataset ({dataset}/): {run.days} days x {run.loans} loans in {run.seconds:.1f} s, "
        f"{run.events} events, {run.postings} postings; every loan equal to the reference engine\n"
        f"portfolio report: {report_file.resolve()}",
        soft_wrap=True,  # a path people copy: never folded
    )


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


# -- the store: borrowers, lines, loans, ledger ---------------------------------------------------------------

db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
borrower_app = typer.Typer(help="Borrowers.", no_args_is_help=True)
line_app = typer.Typer(help="Credit lines (授信额度).", no_args_is_help=True)
loan_app = typer.Typer(help="Loans.", no_args_is_help=True)
ledger_app = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(borrower_app, name="borrower")
app.add_typer(line_app, name="line")
app.add_typer(loan_app, name="loan")
app.add_typer(ledger_app, name="ledger")
app.add_typer(portfolio_app, name="portfolio")
app.add_typer(eod_app, name="eod")
app.add_typer(report_app, name="report")
app.add_typer(strategy_app, name="strategy")
app.add_typer(collections_app, name="collections")
app.add_typer(outbox_app, name="outbox")
app.add_typer(credit_app, name="credit")
app.add_typer(hardship_app, name="hardship")
app.add_typer(legal_app, name="legal")
app.add_typer(approvals_app, name="approvals")
app.add_typer(token_app, name="token")
app.command("serve")(serve)
KeyOption = Annotated[str, typer.Option("--key", help="Idempotency key: a retry with the same key posts once.")]
LangOption = Annotated[str, typer.Option("--lang", help="zh-CN or en-US.")]


def _amount(text: str, option: str) -> int:
    return parse_amount(text, field=option)


def _emit(view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _print_json(view)
    else:
        _console().print(" ".join(f"{key}={value}" for key, value in view.items()))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema on ARREARS_DATABASE_URL (default: ./arrears.db)."""
    services = open_services(migrate=True)
    _console().print(f"schema up to date on {services.engine.url.render_as_string(hide_password=True)}")


@borrower_app.command("add")
def borrower_add(
    name: Annotated[str, typer.Option(help="Full name.")],
    phone: Annotated[str, typer.Option(help="Mobile number; masked in every log.")],
    tz: Annotated[str, typer.Option("--tz", help="The borrower's time zone (contact windows).")] = "Asia/Shanghai",
    language: Annotated[str, typer.Option(help="zh or en.")] = "zh",
    segment: Annotated[str, typer.Option(help="Collections segment (a strategy's when.segment).")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Add a borrower."""
    borrower_id = open_services().add_borrower(name=name, phone=phone, timezone=tz, language=language, segment=segment)
    _emit({"borrower_id": borrower_id}, as_json)


@borrower_app.command("segment")
def borrower_segment(
    borrower: Annotated[int, typer.Argument(help="Borrower id.")],
    segment: Annotated[str, typer.Option(help='The segment, or "" for none.')],
) -> None:
    """Put a borrower in a collections segment: strategies' rules with when.segment match it from the next plan."""
    open_services().set_segment(borrower_id=borrower, segment=segment)
    sys.stdout.write(f"borrower {borrower} is in segment {segment or '(none)'}\n")


@line_app.command("open")
def line_open(
    borrower: Annotated[int, typer.Option(help="Borrower id.")],
    product: Annotated[Path, typer.Option(help="Product TOML file.")],
    limit: Annotated[str, typer.Option(help="Credit limit, e.g. 20000.")],
    daily_rate: Annotated[str | None, typer.Option(help="Daily rate for this line; default the product's.")] = None,
    key: Annotated[str | None, typer.Option("--key", help="Optional idempotency key.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Open a credit line on a product for a borrower."""
    loaded = load_product(product)
    rate = parse_rate(daily_rate, field="--daily-rate") if daily_rate is not None else None
    line_id = open_services().open_line(
        borrower_id=borrower, product=loaded, limit=_amount(limit, "--limit"), daily_rate=rate, key=key
    )
    for notice in loaded.notices:
        sys.stderr.write(notice + "\n")
    _emit({"line_id": line_id}, as_json)


@app.command()
def draw(
    line_id: Annotated[int, typer.Argument(help="Credit line id.")],
    amount: Annotated[str, typer.Option(help="Amount to draw, e.g. 5000.")],
    terms: Annotated[int, typer.Option(help="Monthly installments (one the product offers).")],
    on: Annotated[str, typer.Option("--date", help="Disbursement date YYYY-MM-DD: the loan's start.")],
    key: KeyOption,
    method: Annotated[str | None, typer.Option(help="Override the product's method.")] = None,
    interest_basis: Annotated[str | None, typer.Option(help="actual | period; default the product's.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Draw a loan on a credit line (借款); refusals name the rule."""
    loan_id = open_services().draw(
        line_id=line_id,
        amount=_amount(amount, "--amount"),
        terms=terms,
        start=date_option(on, "--date"),
        key=key,
        method=_choice(Method, method, "--method"),
        interest_basis=_choice(InterestBasis, interest_basis, "--interest-basis"),
    )
    _emit({"loan_id": loan_id}, as_json)


def _choice(kind: type[Method] | type[InterestBasis], value: str | None, option: str) -> Any:
    if value is None:
        return None
    try:
        return parse_choice(kind, value)
    except ValueError as error:
        raise InputRejected(f"{option}: {error}") from None


@app.command()
def repay(
    loan_id: Annotated[int, typer.Argument(help="Loan id.")],
    amount: Annotated[str, typer.Option(help="Amount received, e.g. 560.50.")],
    on: Annotated[str, typer.Option("--date", help="Value date YYYY-MM-DD; may be in the past (backdated).")],
    key: KeyOption,
    currency: Annotated[str | None, typer.Option(help="The payment's currency; refused unless the loan's.")] = None,
    court_order: Annotated[
        int | None, typer.Option("--court-order", help="Money a court transferred under this recorded order.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Post a repayment; prints its allocation (for a backdated one, what it changed)."""
    result = open_services().repay(
        loan_id=loan_id,
        amount=_amount(amount, "--amount"),
        value_date=date_option(on, "--date"),
        key=key,
        currency=currency,
        court_order=court_order,
    )
    _emit(result, as_json)


@app.command()
def reverse(
    transaction_id: Annotated[int, typer.Argument(help="The repayment's transaction id.")],
    key: KeyOption,
    as_json: JsonFlag = False,
) -> None:
    """Reverse a repayment (returned or mistaken): the loan is replayed as if it never came."""
    _emit(open_services().reverse(transaction_id=transaction_id, key=key), as_json)


@app.command()
def waive(
    loan_id: Annotated[int, typer.Argument(help="Loan id.")],
    component: Annotated[str, typer.Option(help="penalty | compound | interest.")],
    amount: Annotated[str, typer.Option(help="Amount to waive (减免).")],
    on: Annotated[str, typer.Option("--date", help="Value date YYYY-MM-DD.")],
    key: KeyOption,
    as_json: JsonFlag = False,
) -> None:
    """Waive penalty, compound or interest owed on installments due by the date."""
    result = open_services().waive(
        loan_id=loan_id,
        component=component,  # type: ignore[arg-type]  # validated by the service, with a clear error
        amount=_amount(amount, "--amount"),
        value_date=date_option(on, "--date"),
        key=key,
    )
    _emit(result, as_json)


@app.command(name="write-off")
def write_off(
    loan_id: Annotated[int, typer.Argument(help="Loan id.")],
    on: Annotated[str, typer.Option("--date", help="Value date YYYY-MM-DD.")],
    key: KeyOption,
    as_json: JsonFlag = False,
) -> None:
    """Write a loan off the books (核销); later money is booked as recoveries."""
    _emit(open_services().write_off(loan_id=loan_id, value_date=date_option(on, "--date"), key=key), as_json)


@loan_app.command("show")
def loan_show(
    loan_id: Annotated[str, typer.Argument(help="Loan id (in a dataset: the scenario file's stem).")],
    as_of: Annotated[str | None, typer.Option(help="State after day-end of this date, YYYY-MM-DD.")] = None,
    dataset: Annotated[Path | None, typer.Option("--dataset", help="Read the loan from a Parquet dataset.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """A loan's state: from the store on any date, or from a dataset after its last day-end; the same JSON as
    ``simulate``."""
    if dataset is not None:
        view = state_view(
            dataset_loan_state(dataset, loan_id, None if as_of is None else date_option(as_of, "--as-of"))
        )
    else:
        if as_of is None:
            raise InputRejected("--as-of is required for a stored loan; e.g. --as-of 2026-06-30")
        if not loan_id.isdigit():
            raise InputRejected(f"a stored loan's id is a number, got {loan_id!r}; for a dataset add --dataset DIR")
        view = open_services().loan_state(int(loan_id), date_option(as_of, "--as-of"))
    if as_json:
        _print_json(view)
    else:
        _print_state(view)


court_app = typer.Typer(help="Court orders: recorded, never executed.", no_args_is_help=True)
app.add_typer(court_app, name="court-order")


@court_app.command("record")
def court_order_record(
    borrower_id: Annotated[int, typer.Option("--borrower", help="The borrower the order is against.")],
    court: Annotated[str, typer.Option(help="The court, as on the document.")],
    case_number: Annotated[str, typer.Option("--case", help="The case number (案号).")],
    document_ref: Annotated[str, typer.Option("--document", help="The document's reference.")],
    kind: Annotated[str, typer.Option(help="preservation, freeze, seizure, transfer, consumption_restriction, ...")],
    on: Annotated[str, typer.Option("--date", help="The order's date, YYYY-MM-DD.")],
    key: KeyOption,
    loan_id: Annotated[int | None, typer.Option("--loan", help="The loan it concerns, if one.")] = None,
    amount: Annotated[str | None, typer.Option(help="The amount it names, if any.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Record a court's order. The system never executes one: courts act through the bank or payment
    institution; money a court transfers is posted with `repay --court-order ID`."""
    order_id = open_services().record_court_order(
        borrower_id=borrower_id,
        court=court,
        case_number=case_number,
        document_ref=document_ref,
        kind=kind,
        issued_on=date_option(on, "--date"),
        key=key,
        loan_id=loan_id,
        amount=None if amount is None else _amount(amount, "--amount"),
    )
    _emit({"court_order_id": order_id}, as_json)


@court_app.command("lift")
def court_order_lift(
    order_id: Annotated[int, typer.Argument(help="The recorded order.")],
    document_ref: Annotated[str, typer.Option("--document", help="The court's lifting document.")],
    on: Annotated[str, typer.Option("--date", help="The lifting's date, YYYY-MM-DD.")],
    key: KeyOption,
    as_json: JsonFlag = False,
) -> None:
    """Record that the court lifted an order (the only way an order is lifted)."""
    result = open_services().lift_court_order(
        order_id=order_id, document_ref=document_ref, lifted_on=date_option(on, "--date"), key=key
    )
    _emit(result, as_json)


@app.command("standing")
def standing_command(
    borrower_id: Annotated[int, typer.Argument(help="The borrower's id.")],
    on: Annotated[str, typer.Option("--date", help="The position during this day, YYYY-MM-DD.")],
    lang: LangOption = "zh-CN",
    as_json: JsonFlag = False,
) -> None:
    """What is restricted on the borrower's lines, why, on what basis, what is NOT affected (the messaging
    account, contacts), and what to pay by when to lift it (解封)."""
    view = open_services().standing(borrower_id, date_option(on, "--date"), lang)
    if as_json:
        _print_json(view)
        return
    sys.stdout.write(f"overdue: {view['overdue_total']}\n")
    for restriction in view["restrictions"]:
        sys.stdout.write(f"- {restriction['what']}: {restriction['reason']}\n  {restriction['lift_condition']}\n")
        if restriction["lift_by"]:
            sys.stdout.write(f"  pay by {restriction['lift_by']} to avoid the next step\n")
    for sentence in view["not_affected"]:
        sys.stdout.write(f"not affected: {sentence}\n")


@app.command("restrict")
def restrict_command(
    line_id: Annotated[int, typer.Option("--line", help="The credit line.")],
    scope: Annotated[str, typer.Option("--scope", help="What to restrict: drawdown, limit, line or auto_debit.")],
) -> None:
    """Ask for a restriction by hand. Anything outside the lender's own product (a messaging account, the
    borrower's contacts, another company's service) is refused with the rule and its source."""
    allowed = refuse_outside_product(scope)
    raise InputRejected(
        f"restrictions on {allowed} of line {line_id} come from the product's rules at day-end and lift themselves "
        "(see `arrears standing`); restrictions set by hand arrive with the collections issue and are not built yet"
    )


@app.command("explain")
def explain_command(
    loan_id: Annotated[int, typer.Argument(help="The stored loan's id.")],
    on: Annotated[str, typer.Option("--date", help="Amounts after the day-end of this date, YYYY-MM-DD.")],
    lang: LangOption = "zh-CN",
    as_json: JsonFlag = False,
) -> None:
    """Every interest, penalty and compound amount the loan owes, line by line: the balance or unpaid amount,
    the rate, the exact product, the rounding, the rule and its source; grace charges and what became of them."""
    view = open_services().explain_loan(loan_id, date_option(on, "--date"), lang)
    if as_json:
        _print_json(view)
        return
    for installment in view["installments"]:
        for component in ("interest", "penalty", "compound"):
            part = installment.get(component)
            if part is None:
                continue
            sys.stdout.write(
                f"#{installment['number']} {component}: charged {part['charged']}, paid or waived "
                f"{part['paid_or_waived']}, owed {part['owed']}\n"
            )
            for line in part["lines"]:
                sys.stdout.write(f"    {line['text']}\n")
    owed = view["owed"]
    sys.stdout.write(f"owed: interest {owed['interest']}, penalty {owed['penalty']}, compound {owed['compound']}\n")


@line_app.command("review")
def line_review(
    line_id: Annotated[int, typer.Argument(help="The credit line.")],
    note: Annotated[str, typer.Option(help="What was reviewed and decided.")],
    key: KeyOption,
    as_json: JsonFlag = False,
) -> None:
    """The lender's review of a closed line: once everything on it is repaid, it re-opens."""
    _emit(open_services().review_line(line_id=line_id, note=note, key=key), as_json)


@line_app.command("restrictions")
def line_restrictions(
    line_id: Annotated[int, typer.Argument(help="The credit line.")],
    as_json: JsonFlag = False,
) -> None:
    """The line's restrictions as recorded: what the day-ends put on and lifted, and what later corrections
    (a backdated payment, a reversal) changed, each with the business date it was recorded on and why."""
    view = open_services().restriction_history(line_id)
    if as_json:
        _print_json(view)
        return
    if not view["restrictions"]:
        sys.stdout.write(f"line {line_id}: no restriction recorded\n")
    for r in view["restrictions"]:
        state = "withdrawn" if r["withdrawn_on"] else ("lifted " + r["lifted_on"] if r["lifted_on"] else "in force")
        sys.stdout.write(f"{r['rule']} ({r['scope']}) since day-end {r['since']}: {state}\n")
        for e in r["events"]:
            sys.stdout.write(
                f"    {e['kind']} effective {e['effective_on']}, recorded {e['recorded_on']}: {e['cause']}\n"
            )


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


EX_TEMPFAIL = 75
"""sysexits.h: a temporary failure; the user is invited to retry later (arrears.errors.Busy)."""


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app; bad input of any kind exits 2 with one line on stderr."""
    try:
        check_arguments(sys.argv[1:] if argv is None else argv)
        code = app(args=argv, standalone_mode=False)
    except InputRejected as error:
        _fail(str(error))
    except Busy as error:  # a lock not free in time: nothing written, the same command may be run again
        _fail(str(error), status=EX_TEMPFAIL)
    except ArgumentError as error:  # a malformed ARREARS_DATABASE_URL
        _fail(f"ARREARS_DATABASE_URL is not a database URL ({error}); e.g. sqlite:///./arrears.db")
    except OperationalError as error:  # the database is down or refuses us: not the input's fault
        _fail(f"cannot use the database: {error.orig}", status=1)
    except DBAPIError as error:  # a bug, not the input's: one line, never the statement or its parameters
        _fail(f"the database refused the command ({type(error.orig).__name__}); nothing was changed", status=1)
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
