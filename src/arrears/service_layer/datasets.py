"""Building Parquet datasets: from scenario files (one loan each), or synthetic (:mod:`arrears.day_end.synthetic`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from arrears.adapters.dataset import PAYMENT_SCHEMA, Dataset, Manifest, create
from arrears.day_end.columns import opening_state
from arrears.day_end.reference import DayEndPolicy
from arrears.day_end.synthetic import Part, generate
from arrears.domain.scenario import load_scenario
from arrears.errors import InputRejected
from arrears.service_layer.day_end import Progress, run_dataset


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


MAX_LOANS = 100_000_000
"""A synthetic portfolio's largest size: 100 times the benchmark's million, what one machine seasons in hours."""
MAX_HISTORY_DAYS = 3650


def generate_dataset(
    out: Path,
    loans: int,
    seed: int,
    as_of: date,
    history_days: int = 360,
    part_size: int = 250_000,
    policy: DayEndPolicy | None = None,
    progress: Progress | None = None,
    store_files: Path | None = None,
    product: Path | None = None,
) -> Manifest:
    """A synthetic portfolio (:mod:`arrears.day_end.synthetic`) written as a dataset and seasoned: its day-ends run from
    the first vintage through ``as_of`` (keeping the state only), so the next ``eod run`` starts the day after.

    With ``store_files``, the same portfolio is also written there as ``lines``, ``loans`` and ``payments``
    Parquet files in the format of ``arrears portfolio import DIR`` (one line per loan on ``product``, limit
    = the loan's amount; payments up to ``as_of``), to load it into the store."""
    if not 1 <= loans <= MAX_LOANS:
        raise InputRejected(f"--loans must be from 1 to {MAX_LOANS:,}, got {loans}")
    if not 0 <= history_days <= MAX_HISTORY_DAYS:  # 10^14 days overflowed the date arithmetic
        raise InputRejected(f"--history-days must be from 0 to {MAX_HISTORY_DAYS} (ten years), got {history_days}")
    if not 0 <= seed < 2**63:
        raise InputRejected(f"--seed must be from 0 to 2^63 - 1, got {seed}")
    if part_size < 1:
        raise InputRejected(f"--part-size must be at least 1, got {part_size}")
    generated = generate(loans, seed, as_of, history_days, part_size)
    if store_files is None:
        parts: Iterator[tuple[pa.Table, pa.Table]] = ((part.state, part.payments) for part in generated)
        create(out, parts, (policy or DayEndPolicy()).non_accrual_dpd)
    else:
        with _StoreFiles(store_files, (product or PRODUCT).resolve(), as_of) as writer:
            create(out, (writer.add(part) for part in generated), (policy or DayEndPolicy()).non_accrual_dpd)
    run_dataset(out, through=as_of, progress=progress, outputs=False)
    return Dataset(out).manifest()


PRODUCT = Path(__file__).resolve().parents[3] / "products" / "cn-microcredit.toml"


class _StoreFiles:
    """Writes synthetic parts in the store-import format (arrears.service_layer.portfolio), part by part."""

    def __init__(self, folder: Path, product: Path, as_of: date) -> None:
        if any(
            (folder / f"{name}.{ext}").exists() for name in ("lines", "loans", "payments") for ext in ("csv", "parquet")
        ):
            raise InputRejected(f"{folder} already holds portfolio files; choose an empty folder for --store-files")
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.product, self.as_of = folder, str(product), as_of
        self.writers: dict[str, pq.ParquetWriter] = {}

    def __enter__(self) -> _StoreFiles:
        return self

    def __exit__(self, *_: object) -> None:
        for writer in self.writers.values():
            writer.close()

    def _write(self, name: str, table: pa.Table) -> None:
        if name not in self.writers:
            self.writers[name] = pq.ParquetWriter(self.folder / f"{name}.parquet", table.schema)
        self.writers[name].write_table(table)

    def add(self, part: Part) -> tuple[pa.Table, pa.Table]:
        state, payments = part.state, part.payments
        ids = state.column("loan_id")
        text = _decimal_text(state.column("principal"))
        digits = pc.utf8_slice_codeunits(ids, 2)
        self._write(
            "lines",
            pa.table(
                {
                    "line_ref": ids,
                    "borrower_name": pc.binary_join_element_wise("借款人 ", digits, ""),
                    "phone": pc.binary_join_element_wise("139", digits, ""),
                    "product": pa.array([self.product] * state.num_rows),
                    "limit": text,
                    "daily_rate": state.column("daily_rate"),
                }
            ),
        )
        self._write(
            "loans",
            pa.table(
                {
                    "loan_ref": ids,
                    "line_ref": ids,
                    "amount": text,
                    "terms": pc.cast(state.column("terms"), pa.string()),
                    "start": state.column("start"),
                    "method": state.column("method"),
                    "interest_basis": state.column("interest_basis"),
                }
            ),
        )
        paid = payments.filter(pc.less_equal(payments.column("value_date"), pa.scalar(self.as_of, pa.date32())))
        self._write(
            "payments",
            pa.table(
                {
                    "loan_ref": paid.column("loan_id"),
                    "date": paid.column("value_date"),
                    "amount": _decimal_text(paid.column("amount")),
                }
            ),
        )
        return state, payments


def _decimal_text(minor: pa.ChunkedArray) -> pa.ChunkedArray:
    """Minor units as plain decimal text with two decimals (12345 -> "123.45", 5 -> "0.05"), exactly."""
    digits = pc.utf8_lpad(pc.cast(minor, pa.string()), 3, "0")
    return pc.binary_join_element_wise(pc.utf8_slice_codeunits(digits, 0, -2), pc.utf8_slice_codeunits(digits, -2), ".")
