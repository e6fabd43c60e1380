"""The CLI as a user runs it: ``arrears`` in a real subprocess on a SQLite store, and a store with one loan made
through it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.support.paths import ROOT, SAMPLE_PRODUCT

Arrears = Callable[..., subprocess.CompletedProcess[str]]
"""``arrears(*args, on=DATE)``: a command run on one store at the business date ``on``."""


def run_cli(*args: str, db: Path, business_date: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``arrears ARGS`` in a real subprocess on the SQLite store ``db`` at ``business_date``."""
    environment = {
        **os.environ,
        "ARREARS_DATABASE_URL": f"sqlite:///{db}",
        "ARREARS_BUSINESS_DATE": business_date,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "arrears.entrypoints.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=300,
        check=False,
    )


def store_with_a_loan(tmp_path: Path) -> tuple[Path, Arrears]:
    """A SQLite store holding borrower 1, line 1 on the sample product and loan 1 (2,500.00 over 5 terms from
    2026-05-15: the ageing scenario's terms), and ``arrears(*args, on=DATE)`` to run commands on it."""
    db = tmp_path / "store.db"

    def arrears(*args: str, on: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, db=db, business_date=on)

    for step in (
        ("borrower", "add", "--name", "张三", "--phone", "13800138000"),
        ("line", "open", "--borrower", "1", "--product", str(SAMPLE_PRODUCT), "--limit", "20000"),
        ("draw", "1", "--amount", "2500", "--terms", "5", "--date", "2026-05-15", "--key", "d-1"),
    ):
        done = arrears(*step, on="2026-05-15")
        assert done.returncode == 0, done.stderr
    return db, arrears
