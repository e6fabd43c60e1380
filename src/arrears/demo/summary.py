"""The simulated portfolio's figures as the demo prints them: volumes, the behaviour mix, the bucket mix at each
month-end, the five-category classification (五级分类), roll rates (迁徙率) and the money check."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from arrears.demo.portfolio import DemoResult
from arrears.domain.classification import Bucket, Classification
from arrears.money import format_minor


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"  # a display ratio, never money


def print_summary(console: Console, result: DemoResult) -> None:
    """The run's figures; exits 1 when the money does not balance (collected = allocated + unapplied credit)."""
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
    console.print(_roll_rates(result))
    balanced = result.allocated + result.unapplied == result.collected
    verdict = "[green]balanced[/]" if balanced else "[red]NOT BALANCED[/]"
    console.print(
        f"money check: collected {format_minor(result.collected)} = allocated {format_minor(result.allocated)} "
        f"+ unapplied credit {format_minor(result.unapplied)}: {verdict}"
    )
    if not balanced:
        raise SystemExit(1)


def _roll_rates(result: DemoResult) -> Table:
    """Roll rates: of the principal in each bucket at a month-end, the share in each bucket a month later."""
    rolls = Table(title="Roll rates (迁徙率): share of principal in each bucket that is in each bucket a month later")
    rolls.add_column("from \\ to")
    for bucket in Bucket:
        rolls.add_column(str(bucket), justify="right")
    for source, row in result.roll_matrix().items():
        total = sum(row.values())
        if total:
            rolls.add_row(str(source), *(_percent(row[target], total) for target in Bucket))
    return rolls
