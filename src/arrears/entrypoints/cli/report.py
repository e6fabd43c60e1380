"""``arrears report``: portfolio analytics with charts, from the day-end snapshots of the store or a dataset."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from arrears.analytics.html import COLLECTIONS_LABELS, LABELS
from arrears.entrypoints.bootstrap import open_services
from arrears.errors import InputRejected
from arrears.outputs import output_file, staged
from arrears.validation import date_option

report_app = typer.Typer(
    help="Reports as charts: the portfolio (bucket mix, roll rates, vintages) and collections (arms, agencies).",
    no_args_is_help=True,
)


@report_app.command("portfolio")
def portfolio_command(
    first: Annotated[str, typer.Option("--from", help="First snapshot day, YYYY-MM-DD.")],
    last: Annotated[str, typer.Option("--to", help="Last snapshot day, YYYY-MM-DD.")],
    dataset: Annotated[Path | None, typer.Option("--dataset", help="A Parquet dataset (default: the store).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the HTML report here.")] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh or en.")] = "zh",
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Bucket mix, roll rates (迁徙率), cure rate, classification, non-accrual, vintages, first-payment default:
    an offline HTML file (no network needed to open it) and/or the same figures as JSON."""
    if lang not in LABELS:
        raise InputRejected(f"--lang must be one of {', '.join(LABELS)}, got {lang!r}")
    if out is None and not as_json:
        raise InputRejected("say where the report goes: --out report.html, or --json for the figures")
    if out is not None:
        output_file(out, "--out")
    start, end = date_option(first, "--from"), date_option(last, "--to")
    if end < start:
        raise InputRejected(f"--to {end} is before --from {start}; swap them")
    from arrears.analytics.html import render
    from arrears.analytics.portfolio import portfolio_report
    from arrears.service_layer.day_end_store import store_snapshots
    from arrears.service_layer.reads import dataset_snapshots

    if dataset is None:
        snapshots = store_snapshots(open_services(), start, end)
    else:
        snapshots = dataset_snapshots(dataset, start, end)
    report = portfolio_report(snapshots.to_pylist(), start, end)
    if out is not None:
        with staged(out) as temporary:
            temporary.write_text(render(report, lang), encoding="utf-8")
        sys.stderr.write(f"wrote {out}\n")
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")


@report_app.command("collections")
def collections_command(
    first: Annotated[str, typer.Option("--from", help="First planned day, YYYY-MM-DD.")],
    last: Annotated[str, typer.Option("--to", help="Last planned day, YYYY-MM-DD.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the HTML report here.")] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh or en.")] = "zh",
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Champion/challenger arms compared (cure rate, roll rate, amount recovered, contacts per cure, refusals per
    planned action, complaints per contact) and each agency's recoveries and commission, as charts and/or JSON."""
    if lang not in COLLECTIONS_LABELS:
        raise InputRejected(f"--lang must be one of {', '.join(COLLECTIONS_LABELS)}, got {lang!r}")
    if out is None and not as_json:
        raise InputRejected("say where the report goes: --out collections.html, or --json for the figures")
    if out is not None:
        output_file(out, "--out")
    start, end = date_option(first, "--from"), date_option(last, "--to")
    if end < start:
        raise InputRejected(f"--to {end} is before --from {start}; swap them")
    from arrears.analytics.html import render_collections
    from arrears.service_layer.reads import collections_figures

    report = collections_figures(open_services(), start, end)
    if out is not None:
        with staged(out) as temporary:
            temporary.write_text(render_collections(report, lang), encoding="utf-8")
        sys.stderr.write(f"wrote {out}\n")
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
