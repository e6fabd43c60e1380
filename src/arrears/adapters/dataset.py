"""A portfolio as a Parquet dataset on disk: the columnar loan state, its payments, and the day-end outputs.

Layout of a dataset folder::

    dataset.json                      the manifest: format, closed_through, generation, policy, run history
    payments/part-00000.parquet       loan_id, value_date, amount: the payment events (inputs; never rewritten)
    state/g<k>/part-00000.parquet     the loan state (arrears.day_end.columns.SCHEMA) after day-end closed_through
    runs/g<k>/events-part-00000.parquet, postings-part-00000.parquet, quarantine-part-00000.parquet
    runs/g<k>/general-ledger.json     the general ledger's movement per day and account for that run

Loans are partitioned by loan id (sorted, cut into parts); payments part i holds the payments of the loans in
state part i, so a part is processed with nothing but its own two files and memory stays flat however large
the portfolio grows.

Exactly once: a run from generation k writes generation k+1 part by part, each file to a temporary name then
renamed (atomic on POSIX), the state file of a part last; the manifest is replaced atomically only when every
part is done. A run that is killed leaves the manifest at generation k (the dataset is exactly as before);
the re-run skips the parts whose state file of generation k+1 exists, and recomputes the rest (if it asks for
the same days: ``runs/g<k+1>/plan.json`` records them, and a different plan starts generation k+1 afresh).
Nothing reads a generation the manifest does not name.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from arrears.day_end.columns import SCHEMA
from arrears.errors import InputRejected

FORMAT = "arrears-dataset"
VERSION = 1
MANIFEST = "dataset.json"
PAYMENT_SCHEMA = pa.schema(
    [
        pa.field("loan_id", pa.string(), nullable=False),
        pa.field("value_date", pa.date32(), nullable=False),
        pa.field("amount", pa.int64(), nullable=False),
    ]
)


class DatasetError(InputRejected):
    """A folder that is not a dataset, or one this version cannot read; the message says what to do."""


@dataclass
class Manifest:
    """What ``dataset.json`` holds."""

    closed_through: date
    generation: int
    parts: int
    loans: int
    non_accrual_dpd: int
    runs: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "closed_through": self.closed_through.isoformat(),
            "generation": self.generation,
            "parts": self.parts,
            "loans": self.loans,
            "non_accrual_dpd": self.non_accrual_dpd,
            "runs": self.runs,
        }


def _temporary(path: Path) -> Path:
    """A temporary name of this process's own (two writers of one file never truncate each other's)."""
    return path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def _settle(temporary: Path, path: Path) -> None:
    """Rename into place, then fsync the folder so that the rename itself survives a power loss."""
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def write_bytes(path: Path, data: bytes) -> None:
    temporary = _temporary(path)
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    _settle(temporary, path)


def write_table(path: Path, table: pa.Table) -> None:
    """Write a Parquet file under a temporary name, then rename it into place (all or nothing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary(path)
    pq.write_table(table, temporary, compression="zstd")
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    _settle(temporary, path)


class Dataset:
    """A dataset folder (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # -- manifest ---------------------------------------------------------------------------------------------

    def manifest(self) -> Manifest:
        path = self.root / MANIFEST
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):  # no folder, or a file where the folder should be
            raise DatasetError(
                f"{self.root} is not a dataset (no {MANIFEST}); build one with `arrears portfolio import "
                "SCENARIO.json... --out DIR` or `arrears portfolio generate --out DIR`"
            ) from None
        if document.get("format") != FORMAT or document.get("version") != VERSION:
            raise DatasetError(f"{path}: not an {FORMAT} version {VERSION} manifest; rebuild the dataset")
        return Manifest(
            closed_through=date.fromisoformat(document["closed_through"]),
            generation=document["generation"],
            parts=document["parts"],
            loans=document["loans"],
            non_accrual_dpd=document["non_accrual_dpd"],
            runs=document["runs"],
        )

    def commit(self, manifest: Manifest) -> None:
        """Replace the manifest atomically, then remove state generations it no longer names."""
        data = json.dumps(manifest.as_json(), indent=2).encode() + b"\n"
        write_bytes(self.root / MANIFEST, data)
        for folder in (self.root / "state").glob("g*"):
            if folder.name != f"g{manifest.generation}":
                shutil.rmtree(folder, ignore_errors=True)

    def begin(self, generation: int, plan: dict[str, Any]) -> None:
        """Start (or resume) writing ``generation`` for ``plan``. Parts left by a killed run are kept only if
        that run had the same plan; otherwise the half-written generation is removed first."""
        pending = self.run_path(generation, "plan.json")
        if pending.exists() and json.loads(pending.read_text(encoding="utf-8")) != plan:
            for stale in (self.root / "state" / f"g{generation}", pending.parent):
                if stale.exists():
                    shutil.rmtree(stale)  # an error here must stop the run: stale parts would pass as done
        pending.parent.mkdir(parents=True, exist_ok=True)
        if not pending.exists():
            write_bytes(pending, json.dumps(plan).encode())

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the dataset for one run: a second run at the same time is refused, never interleaved."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise DatasetError(f"another run holds {self.root}; wait for it to finish") from None
            yield

    # -- files ------------------------------------------------------------------------------------------------

    def state_path(self, generation: int, part: int) -> Path:
        return self.root / "state" / f"g{generation}" / f"part-{part:05d}.parquet"

    def payments_path(self, part: int) -> Path:
        return self.root / "payments" / f"part-{part:05d}.parquet"

    def run_path(self, generation: int, kind: str, part: int | None = None) -> Path:
        name = f"{kind}-part-{part:05d}.parquet" if part is not None else kind
        return self.root / "runs" / f"g{generation}" / name

    def read_state(self, generation: int, part: int) -> pa.Table:
        return pq.read_table(self.state_path(generation, part), schema=SCHEMA)

    def read_payments(self, part: int, after: date, through: date) -> pa.Table:
        """Payments of the part's loans dated after ``after`` up to and including ``through``."""
        table = pq.read_table(
            self.payments_path(part),
            schema=PAYMENT_SCHEMA,
            filters=[("value_date", ">", after), ("value_date", "<=", through)],
        )
        return table

    def find_loan(self, generation: int, parts: int, loan_id: str) -> pa.Table | None:
        """The state row of one loan, or None (parts are sorted by loan id, so most are skipped by statistics)."""
        for part in range(parts):
            table = pq.read_table(self.state_path(generation, part), filters=[("loan_id", "=", loan_id)])
            if table.num_rows:
                return table.cast(SCHEMA)
        return None

    def snapshots(self, first: date, last: date) -> pa.Table:
        """The day-end snapshots (arrears.day_end.columns.SNAPSHOT_SCHEMA) dated ``first`` .. ``last``, from every
        run the manifest lists (runs never overlap, and a run the manifest does not list never counts)."""
        from arrears.day_end.columns import SNAPSHOT_SCHEMA

        tables = [SNAPSHOT_SCHEMA.empty_table()]
        for run in self.manifest().runs:
            for path in sorted(
                self.run_path(run["generation"], "snapshots", 0).parent.glob("snapshots-part-*.parquet")
            ):
                tables.append(
                    pq.read_table(path, schema=SNAPSHOT_SCHEMA, filters=[("day", ">=", first), ("day", "<=", last)])
                )
        return pa.concat_tables(tables)

    def iter_parts(self, generation: int, parts: int) -> Iterator[pa.Table]:
        for part in range(parts):
            yield self.read_state(generation, part)


def create(
    root: Path,
    parts: Iterable[tuple[pa.Table, pa.Table]],
    non_accrual_dpd: int,
    closed_through: date | None = None,
) -> Manifest:
    """Write a new dataset from parts of (loan state, their payments), in loan-id order: each part's loans
    sorted by id and after the previous part's. The state is as of ``closed_through`` (default: opening
    states, the day before the first loan starts). Refuses to overwrite a folder that already holds a dataset."""
    if (root / MANIFEST).exists():
        raise DatasetError(f"{root} already holds a dataset; choose another --out folder or remove it first")
    root.mkdir(parents=True, exist_ok=True)
    dataset = Dataset(root)
    count = loans = 0
    first_start: date | None = None
    last_id: str | None = None
    for state, payments in parts:
        if not state.num_rows:
            continue
        state = state.cast(SCHEMA).sort_by("loan_id")
        ids = state.column("loan_id")
        if last_id is not None and state.num_rows and ids[0].as_py() <= last_id:
            raise ValueError("dataset parts must come in increasing loan-id order")
        unknown = pc.invert(pc.is_in(payments.column("loan_id"), value_set=ids.combine_chunks()))
        if pc.any(unknown).as_py():
            raise ValueError("a part's payments must belong to that part's loans")
        payments = payments.cast(PAYMENT_SCHEMA).sort_by([("loan_id", "ascending"), ("value_date", "ascending")])
        write_table(dataset.state_path(0, count), state)
        write_table(dataset.payments_path(count), payments)
        earliest = pc.min(state.column("start")).as_py()
        first_start = earliest if first_start is None else min(first_start, earliest)
        last_id = ids[-1].as_py()
        loans += state.num_rows
        count += 1
    if first_start is None:
        raise DatasetError("no loans to write")
    manifest = Manifest(
        closed_through=closed_through or date.fromordinal(first_start.toordinal() - 1),
        generation=0,
        parts=count,
        loans=loans,
        non_accrual_dpd=non_accrual_dpd,
    )
    dataset.commit(manifest)
    return manifest
