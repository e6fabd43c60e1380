"""CPU of one borrower's standing read, in process, on SQLite: what a REST standing read costs the server before
HTTP (bench/api.py measures the whole request).

    .venv/bin/python bench/standing.py                      # this tree
    PYTHONPATH=/tmp/old/src:/tmp/old .venv/bin/python bench/standing.py   # another checkout, side by side

A store with one borrower and one 2,500.00 loan (tests.support.stores.one_loan), day-ended through 2026-07-20 (the loan
35 days past due, a restriction in force); 20 warm-up reads, then 300 timed by process CPU.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.stores import one_loan

from arrears.adapters.database import make_engine, upgrade
from arrears.service_layer.day_end_store import run_store

READS = 300


def main() -> None:
    url = f"sqlite:///{tempfile.mkdtemp()}/standing.db"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    made = one_loan(url)
    run_store(made.services, through=date(2026, 7, 20))
    for _ in range(20):
        made.services.standing(made.borrower, date(2026, 7, 21), "en-US")
    started = time.process_time()
    for _ in range(READS):
        made.services.standing(made.borrower, date(2026, 7, 21), "en-US")
    per_read = (time.process_time() - started) / READS * 1000  # a timing, not money
    print(f"standing read, in process on SQLite: {per_read:.2f} ms of CPU each ({READS} reads)")


if __name__ == "__main__":
    main()
