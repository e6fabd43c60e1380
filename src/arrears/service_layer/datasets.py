"""Building Parquet datasets: from scenario files (one loan each), or synthetic (:mod:`arrears.synthetic`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pyarrow as pa

from arrears.adapters.dataset import PAYMENT_SCHEMA, Dataset, Manifest, create
from arrears.batch.state import opening_state
from arrears.dayend import DayEndPolicy
from arrears.errors import InputRejected
from arrears.scenario import load_scenario
from arrears.service_layer.eod import Progress, run_dataset
from arrears.synthetic import generate


def dataset_from_scenarios(paths: Sequence[Path], out: Path, policy: DayEndPolicy | None = None) -> Manifest:
    """One loan per scenario file, its id the file's stem, its payments the dataset's payment events."""
    if not paths:
        raise InputRejected("name at least one scenario file")
    ids = [path.stem for path in paths]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InputRejected(f"two scenario files share the loan id {duplicates[0]!r} (the file's stem); rename one")
    scenarios = [load_scenario(path) for path in paths]  # every file checked before anything is written
    state = pa.Table.from_batches([opening_state(ids, [s.terms for s in scenarios])])
    payments = pa.table(
        {
            "loan_id": [loan_id for loan_id, s in zip(ids, scenarios, strict=True) for _ in s.payments],
            "value_date": [p.value_date for s in scenarios for p in s.payments],
            "amount": [p.amount for s in scenarios for p in s.payments],
        },
        schema=PAYMENT_SCHEMA,
    )
    return create(out, [(state, payments)], (policy or DayEndPolicy()).non_accrual_dpd)


def generate_dataset(
    out: Path,
    loans: int,
    seed: int,
    as_of: date,
    history_days: int = 360,
    part_size: int = 250_000,
    policy: DayEndPolicy | None = None,
    progress: Progress | None = None,
) -> Manifest:
    """A synthetic portfolio (:mod:`arrears.synthetic`) written as a dataset and seasoned: its day-ends run from
    the first vintage through ``as_of`` (keeping the state only), so the next ``eod run`` starts the day after."""
    if loans < 1:
        raise InputRejected(f"--loans must be at least 1, got {loans}")
    if history_days < 0:
        raise InputRejected(f"the history must be 0 days or more, got {history_days}")
    if part_size < 1:
        raise InputRejected(f"--part-size must be at least 1, got {part_size}")
    parts = ((part.state, part.payments) for part in generate(loans, seed, as_of, history_days, part_size))
    create(out, parts, (policy or DayEndPolicy()).non_accrual_dpd)
    run_dataset(out, through=as_of, progress=progress, outputs=False)
    return Dataset(out).manifest()
