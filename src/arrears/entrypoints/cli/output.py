"""What every command shares: the common options (``--json``, ``--key``, ``--lang``) and how an answer is printed.

Money arrives as text (``"5000"``, ``"560.50"``) and leaves the parser as integer minor units
(:func:`arrears.money.parse_amount`); a bad amount is refused in one line naming the option.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from arrears.money import parse_amount

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON (shared/contracts/).")]
KeyOption = Annotated[str, typer.Option("--key", help="Idempotency key: a retry with the same key posts once.")]
LangOption = Annotated[str, typer.Option("--lang", help="zh-CN or en-US.")]


def console() -> Console:
    """Rich output; piped output gets 120 columns rather than Rich's 80 so that tables keep their shape."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else 120)


def print_json(result: object) -> None:
    """A command's answer on stdout as indented JSON, Chinese kept readable."""
    sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


def emit(view: dict[str, Any], as_json: bool) -> None:
    """A command's small answer: as JSON with ``--json``, else ``key=value`` pairs on one line."""
    if as_json:
        print_json(view)
    else:
        console().print(" ".join(f"{key}={value}" for key, value in view.items()))


def minor_units(text: str, option: str) -> int:
    """An amount option in minor units; a malformed one is refused naming ``option``."""
    return parse_amount(text, field=option)
