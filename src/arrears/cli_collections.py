"""``arrears strategy``: collection strategies, checked against their jurisdiction's policy pack before use."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from arrears.collections.policy import PACKS
from arrears.collections.strategy import check_strategy
from arrears.errors import InputRejected

strategy_app = typer.Typer(
    help="Collection strategies (催收策略) and the policy packs they run under.", no_args_is_help=True
)


@strategy_app.command("check")
def strategy_check(
    path: Annotated[Path, typer.Argument(help="A strategy TOML file (see strategies/).")],
    as_json: Annotated[bool, typer.Option("--json", help="shared/contracts/strategy-check.schema.json")] = False,
) -> None:
    """Check a strategy: well-formed, and nothing its jurisdiction forbids (an action outside the lender's
    product or past the borrower, a time outside the contact window, more attempts than a cap). Exits 2 with
    every violation (rule, source, where, message), 0 for a lawful file."""
    strategy, violations = check_strategy(path)
    if as_json:
        view = {"ok": True} if strategy is not None else {"ok": False, "violations": [v.as_json() for v in violations]}
        sys.stdout.write(json.dumps(view, ensure_ascii=False, indent=2) + "\n")
    elif strategy is not None:
        rules = strategy.rules
        sys.stdout.write(
            f"{path}: lawful under the {strategy.pack.jurisdiction} pack ({strategy.pack.title}): "
            f"{len(rules.rules)} rules, {len(rules.arms)} arms\n"
        )
    else:
        for v in violations:
            sys.stdout.write(f"{v.where}: {v.message}\n    rule {v.rule} ({v.source})\n")
    if strategy is None:
        raise SystemExit(2)


@strategy_app.command("policy")
def strategy_policy(
    jurisdiction: Annotated[str, typer.Argument(help="cn or us.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the pack's rules as JSON.")] = False,
) -> None:
    """List a policy pack's rules: each with its name, what it requires, its source, and whom it binds by law
    and whom by the lender's own policy."""
    pack = PACKS.get(jurisdiction)
    if pack is None:
        raise InputRejected(f"no policy pack {jurisdiction!r}; use one of {', '.join(sorted(PACKS))}")
    rules = [
        {"name": r.name, "text": r.text, "source": r.source, "lender": str(r.lender), "agency": str(r.agency)}
        for r in pack.all_rules()
    ]
    if as_json:
        sys.stdout.write(json.dumps({"jurisdiction": pack.jurisdiction, "rules": rules}, ensure_ascii=False) + "\n")
        return
    for r in rules:
        sys.stdout.write(
            f"{r['name']}: {r['text']}\n    {r['source']}; lender: {r['lender']}, agencies: {r['agency']}\n"
        )
