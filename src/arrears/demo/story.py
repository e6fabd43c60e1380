"""``arrears demo``: the whole house in one run, on synthetic borrowers and the sample product.

The story, in order: the portfolio simulated day by day (:mod:`arrears.demo.portfolio`) and its figures; the
portfolio written as CSV, imported into the store in one transaction and the ledger verified; two borrowers'
standing and where a penalty comes from; five business days of collections (:mod:`arrears.demo.collections`); the
month's credit file; a hardship plan and a dispute (:mod:`arrears.demo.negotiation`); the vectorized day-end checked
against the reference (:mod:`arrears.demo.day_end`); and the API's tokens. Each step prints the command that does
the same by hand.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from arrears.demo import negotiation
from arrears.demo.day_end import check_day_end
from arrears.demo.portfolio import DemoResult, run_demo, write_portfolio
from arrears.demo.summary import print_summary
from arrears.domain.product import load_product
from arrears.entrypoints.bootstrap import open_services


def tell(
    console: Console,
    product_file: Path,
    *,
    borrowers: int,
    months: int,
    seed: int,
    out: Path,
    persist: bool,
    strategy: Path,
) -> None:
    """Run the demo (module docstring); with ``persist`` False, only the simulation and its figures."""
    product = load_product(product_file)
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
    print_summary(console, result)
    if persist:
        _persist(console, result, product_file, out)
        _standing(console, result.end + timedelta(days=1))
        _collections(console, result.end + timedelta(days=2), out, seed, strategy)
        month = _credit(console, result, out)
        negotiation.show(console, month)
        check_day_end(console, result, out)
        _api(console)


def _persist(console: Console, result: DemoResult, product_file: Path, out: Path) -> None:
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


def _standing(console: Console, day: date) -> None:
    """Two borrowers' standing on the store (one restricted, one not), in Chinese and English, and where the
    restricted one's penalty comes from: what `arrears standing` and `arrears explain` print."""
    from arrears.service_layer.demo_queries import borrower_ids

    services = open_services(business_date=day)
    views = {borrower: services.standing(borrower, day, "zh-CN") for borrower in borrower_ids(services, 300)}
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
        _penalty(console, services.explain_loan(loan, day - timedelta(days=1), "en-US"), loan, day)


def _penalty(console: Console, explained: dict[str, Any], loan: int, day: date) -> None:
    """The first penalty the loan still owes, as `arrears explain` gives it: its first three lines."""
    owing = [i["penalty"] for i in explained["installments"] if i.get("penalty", {}).get("owed", "0.00") != "0.00"]
    penalty = owing[0] if owing else None
    if penalty is None:
        return
    console.print(f"\n[bold]arrears explain {loan} --date {day - timedelta(days=1)}[/]: penalty owed {penalty['owed']}")
    for line in penalty["lines"][:3]:
        console.print(f"  {line['text']}")
    if len(penalty["lines"]) > 3:
        console.print(f"  ... {len(penalty['lines']) - 3} more lines")


def _collections(console: Console, day: date, out: Path, seed: int, strategy: Path) -> None:
    """Five business days of collections on the store (arrears.demo.collections): each day's plan, borrowers'
    promises and payments, the outbox sent, then the arms compared; one refused action of the first day for each
    rule that refused any; and a strategy asking for the seed article's measures, refused when it is loaded."""
    from arrears.collections.strategy import check_document
    from arrears.demo.collections import run_days
    from arrears.service_layer.collections import plan_day

    run_days(console, day, 5, strategy, out / "collections", seed)
    plan = plan_day(open_services(), day, strategy)  # the stored plan of the first day
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


def _credit(console: Console, result: DemoResult, out: Path) -> date:
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


def _api(console: Console) -> None:
    """A token for each role on the demo store, and how to serve the API with them (the demo does not block on
    a server: start it with the command printed)."""
    from arrears.access import Role
    from arrears.service_layer import tokens
    from arrears.service_layer.demo_queries import first_borrower

    services = open_services()
    borrower = first_borrower(services)
    made = []
    for role in Role:
        whose = borrower if role is Role.BORROWER else None
        agency = "huaxia-collect" if role is Role.AGENCY else None
        _, token = tokens.issue(services, role=role, borrower=whose, agency=agency, label="demo")
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
