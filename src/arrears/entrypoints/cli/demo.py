"""``arrears demo``: the door to the demo's story (:mod:`arrears.demo.story`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from arrears.entrypoints.cli.output import console


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
    from arrears.demo.story import tell
    from arrears.entrypoints.cli.strategy import DEFAULT_STRATEGY

    tell(
        console(),
        product_file,
        borrowers=borrowers,
        months=months,
        seed=seed,
        out=out,
        persist=persist,
        strategy=DEFAULT_STRATEGY,
    )
