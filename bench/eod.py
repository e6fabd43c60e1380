"""Benchmark: the portfolio day-end (日终), each runner beside the floor or baseline it is judged against.

    .venv/bin/python bench/eod.py [--loans 1000000] [--big 10000000] [--orm-loans 10000] [--work DIR]

A synthetic portfolio (arrears.day_end.synthetic: product mix, vintages, 10..20% delinquent) of ``--loans`` loans is
generated and seasoned through 2026-11-28 once (untimed; kept in ``--work`` and reused by later runs). Then,
side by side in this one run, the day-end of 2026-11-29:

1. **in-memory pipeline** (arrears.day_end.kernel.day_end over the whole portfolio as one batch, with events
   and postings built) against the **floor**: one numpy pass that reads every input array of the batch and
   writes every output array of the same size. Target: at most 10x the floor.
2. **streaming Parquet day-end** (``arrears eod run --dataset DIR --date 2026-11-29`` in a child process) over
   ``--big`` loans (the seasoned portfolio tiled with fresh loan ids) against a bare pyarrow read of every
   state and payments part plus a write of the same tables (also in a child process). Target: at most 2x,
   and peak memory (max RSS of the child) within 3 GB.
3. **per-loan engines on ``--orm-loans`` loans**: the reference engine (arrears.day_end.reference.LoanDayEnds, one
   day-end per loan, brought to the day before untimed), and an ORM loop the way peers run their day-end
   (SQLAlchemy ORM on SQLite: load each loan with its installments, charge penalty, accrue, age, save, commit
   per 500 loans). As loans per second, beside the pipeline's. Target: the pipeline at least 1,000x the ORM.

With ``--engine spark`` it also runs (5.) the same one-day Parquet day-end through the Spark runner on
``local[2]`` and in-process, side by side, for ``--loans`` and ``--big`` loans: Spark's start-up seconds and
loans per second after start-up (issue 5).

3. **PostgreSQL-stored day-end** (``arrears eod run`` over the store, :mod:`arrears.service_layer.day_end_store`) of
   the ``--loans`` portfolio loaded into a fresh PostgreSQL database at ``--pg-url``, against a bare COPY out
   plus COPY in of the same state rows (bench/pg_day_end.py says exactly what is loaded and timed). Target: at
   most 3x. ``--no-pg`` skips it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import fields
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import ForeignKey, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, selectinload

import pg_day_end  # bench/pg_day_end.py, beside this file
from arrears.adapters.dataset import Dataset, create
from arrears.day_end.columns import LoanBatch, day_number, from_arrow, terms_of
from arrears.day_end.kernel import day_end
from arrears.day_end.reference import DayEndPolicy, LoanDayEnds
from arrears.domain.engine import Payment
from arrears.service_layer.datasets import generate_dataset

ROOT = Path(__file__).resolve().parents[1]
SEASONED = date(2026, 11, 28)
DAY = SEASONED + timedelta(days=1)
POLICY = DayEndPolicy()


def seasoned(work: Path, loans: int) -> Path:
    """The seasoned synthetic dataset of ``loans`` loans (generated once, then reused)."""
    out = work / f"seasoned-{loans}"
    if not (out / "dataset.json").exists():
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        generate_dataset(out, loans, seed=7, as_of=SEASONED, history_days=360, part_size=250_000)
        print(f"  (generated and seasoned {loans:,} loans in {time.perf_counter() - started:.0f} s: {out})")
    return out


def load(dataset: Path) -> tuple[pa.Table, pa.Table]:
    manifest = Dataset(dataset).manifest()
    state = pa.concat_tables(Dataset(dataset).iter_parts(manifest.generation, manifest.parts))
    payments = pa.concat_tables(pq.read_table(Dataset(dataset).payments_path(p)) for p in range(manifest.parts))
    return state, payments


def todays_payments(state: pa.Table, payments: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    today = payments.filter(pc.equal(payments.column("value_date"), pa.scalar(DAY, pa.date32())))
    index = pc.index_in(today.column("loan_id"), value_set=state.column("loan_id").combine_chunks())
    return index.to_numpy().astype(np.int64), today.column("amount").to_numpy().astype(np.int64)


def best_of(runs: int, action: object) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


# -- 1. in memory ------------------------------------------------------------------------------------------------


def arrays(batch: LoanBatch) -> list[np.ndarray]:
    return [getattr(batch, f.name) for f in fields(batch) if isinstance(getattr(batch, f.name), np.ndarray)]


def in_memory(dataset: Path) -> tuple[float, float, int]:
    state, payments = load(dataset)
    index, amount = todays_payments(state, payments)
    pristine = from_arrow(state)
    outputs = [np.empty_like(a) for a in arrays(pristine)]

    def floor() -> None:
        for source, target in zip(arrays(pristine), outputs, strict=True):
            np.copyto(target, source)  # read every input array, write every output array

    def pipeline() -> None:
        batch = LoanBatch(**{f.name: getattr(pristine, f.name) for f in fields(pristine)}).copy()
        started = time.perf_counter()
        day_end(batch, day_number(DAY), index, amount, POLICY)
        pipeline.elapsed = min(getattr(pipeline, "elapsed", 1e9), time.perf_counter() - started)  # type: ignore[attr-defined]

    floor_seconds = best_of(3, floor)
    for _ in range(3):
        pipeline()  # the copy of the batch (so each run starts from the same day) is not timed
    return pipeline.elapsed, floor_seconds, state.num_rows  # type: ignore[attr-defined]


# -- 2. streaming Parquet ----------------------------------------------------------------------------------------


def tiled(work: Path, source: Path, copies: int) -> Path:
    """``copies`` copies of the seasoned dataset's loans with fresh ids, as one dataset (built once)."""
    out = work / f"tiled-{copies}x-{source.name}"
    if (out / "dataset.json").exists():
        return out
    shutil.rmtree(out, ignore_errors=True)
    manifest = Dataset(source).manifest()

    def parts() -> Iterator[tuple[pa.Table, pa.Table]]:
        for copy in range(copies):
            for part in range(manifest.parts):
                state = Dataset(source).read_state(manifest.generation, part)
                payments = pq.read_table(Dataset(source).payments_path(part))
                prefix = f"C{copy:02d}"
                state = state.set_column(0, "loan_id", pc.binary_join_element_wise(prefix, state["loan_id"], ""))
                payments = payments.set_column(
                    0, "loan_id", pc.binary_join_element_wise(prefix, payments["loan_id"], "")
                )
                yield state, payments

    create(out, parts(), manifest.non_accrual_dpd, closed_through=manifest.closed_through)
    return out


def child(code: str) -> tuple[float, int]:
    """Run Python ``code`` in a child process; its wall seconds and its own peak RSS in bytes."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code + PEAK], check=True, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    return seconds, int(done.stdout.split()[-1]) * 1024


# The child's own high-water mark: VmHWM belongs to the process image and starts afresh at exec, unlike
# getrusage's ru_maxrss, which a child inherits from the parent that forked it (here, gigabytes).
PEAK = "\nprint(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))\n"
BARE = """
import pyarrow.parquet as pq, sys
from pathlib import Path
from arrears.adapters.dataset import Dataset
d = Dataset(Path({root!r})); m = d.manifest(); out = Path({out!r})
out.mkdir(parents=True, exist_ok=True)
for p in range(m.parts):
    state = d.read_state(m.generation, p); payments = pq.read_table(d.payments_path(p))
    pq.write_table(state, out / f"state-{{p}}.parquet", compression="zstd")
    pq.write_table(payments, out / f"payments-{{p}}.parquet", compression="zstd")
"""
RUN = """
from datetime import date
from pathlib import Path
from arrears.service_layer.day_end import run_dataset
run_dataset(Path({root!r}), day=date.fromisoformat({day!r}))
"""
SPARK = """
import time
from datetime import date
from pathlib import Path
started = time.perf_counter()
from arrears.service_layer.day_end_spark import spark_session
spark_session("local[2]")
startup = time.perf_counter() - started
from arrears.service_layer.day_end import run_dataset
run_dataset(Path({root!r}), day=date.fromisoformat({day!r}), engine="spark", master="local[2]")
print(startup)
"""


def engines(work: Path, dataset: Path) -> tuple[float, float, float, int]:
    """One day-end of ``dataset`` in-process and on Spark local[2] (child processes, fresh copies); seconds of
    each, Spark's start-up seconds, loans."""
    loans = Dataset(dataset).manifest().loans
    trial = work / "trial"
    shutil.rmtree(trial, ignore_errors=True)
    shutil.copytree(dataset, trial)
    local_seconds = child(RUN.format(root=str(trial), day=DAY.isoformat()))[0]
    shutil.rmtree(trial)
    shutil.copytree(dataset, trial)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", SPARK.format(root=str(trial), day=DAY.isoformat())],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    spark_seconds = time.perf_counter() - started
    shutil.rmtree(trial)
    return local_seconds, spark_seconds, float(done.stdout.split()[-1]), loans


def streaming(work: Path, source: Path, copies: int) -> tuple[float, float, int, int, int]:
    big = tiled(work, source, copies)
    loans = Dataset(big).manifest().loans
    bare_out = work / "bare-out"
    runs = []
    for _ in range(2):  # two rounds, interleaved; the best of each
        trial = work / "trial"
        shutil.rmtree(trial, ignore_errors=True)
        shutil.copytree(big, trial)
        shutil.rmtree(bare_out, ignore_errors=True)
        bare = child(BARE.format(root=str(big), out=str(bare_out)))
        ours = child(RUN.format(root=str(trial), day=DAY.isoformat()))
        runs.append((bare, ours))
    shutil.rmtree(work / "trial", ignore_errors=True)
    shutil.rmtree(bare_out, ignore_errors=True)
    bare_seconds = min(r[0][0] for r in runs)
    our_seconds = min(r[1][0] for r in runs)
    return our_seconds, bare_seconds, max(r[1][1] for r in runs), max(r[0][1] for r in runs), loans


# -- 3. per loan -------------------------------------------------------------------------------------------------


class Base(DeclarativeBase):
    pass


class OrmLoan(Base):
    __tablename__ = "loans"
    id: Mapped[int] = mapped_column(primary_key=True)
    start: Mapped[int]
    penalty_num: Mapped[int]
    penalty_den: Mapped[int]
    days_past_due: Mapped[int]
    accrued: Mapped[int]
    penalty_charged: Mapped[int]
    installments: Mapped[list[OrmInstallment]] = relationship(order_by="OrmInstallment.number")


class OrmInstallment(Base):
    __tablename__ = "installments"
    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    number: Mapped[int]
    due: Mapped[int]
    principal: Mapped[int]
    interest: Mapped[int]
    penalty: Mapped[int]


def orm_loop(batch: LoanBatch, count: int, work: Path) -> float:
    """Loans per second of a peer-style day-end: load each loan and its installments through the ORM, charge
    penalty on overdue principal, accrue the current period, age, save; commit every 500 loans."""
    path = work / "orm.db"
    path.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        for i in range(count):
            first, last = int(batch.offsets[i]), int(batch.offsets[i + 1])
            loan = OrmLoan(
                id=i + 1,
                start=int(batch.start[i]),
                penalty_num=int(batch.penalty_num[i]),
                penalty_den=int(batch.penalty_den[i]),
                days_past_due=int(batch.days_past_due[i]),
                accrued=int(batch.accrued[i]),
                penalty_charged=int(batch.penalty_charged[i]),
            )
            loan.installments = [
                OrmInstallment(
                    number=k + 1,
                    due=int(batch.due[first + k]),
                    principal=int(batch.amounts[3, first + k]),
                    interest=int(batch.amounts[2, first + k]),
                    penalty=int(batch.amounts[0, first + k]),
                )
                for k in range(last - first)
            ]
            session.add(loan)
        session.commit()
    today = day_number(DAY)
    started = time.perf_counter()
    with Session(engine) as session:
        for loan_id in range(1, count + 1):
            loan = session.execute(
                select(OrmLoan).where(OrmLoan.id == loan_id).options(selectinload(OrmLoan.installments))
            ).scalar_one()
            dpd = 0
            for row in loan.installments:
                if row.due < today and (row.principal or row.interest):
                    charge = (row.principal * loan.penalty_num * 2 + loan.penalty_den) // (2 * loan.penalty_den)
                    row.penalty += charge
                    loan.penalty_charged += charge
                    dpd = max(dpd, today - row.due)
                elif row.due >= today and row.interest:
                    loan.accrued += row.interest // 30
                    break
            loan.days_past_due = dpd
            if loan_id % 500 == 0:
                session.commit()
        session.commit()
    return count / (time.perf_counter() - started)


def reference(state: pa.Table, payments: pa.Table, count: int) -> float:
    """Loans per second of the reference engine, one day-end per loan (brought to the day before, untimed)."""
    sample = state.slice(0, count)
    ids = sample.column("loan_id").to_pylist()
    mine = payments.filter(pc.is_in(payments.column("loan_id"), value_set=sample.column("loan_id").combine_chunks()))
    by_loan: dict[str, list[Payment]] = {}
    for row in mine.to_pylist():
        by_loan.setdefault(row["loan_id"], []).append(Payment(row["value_date"], row["amount"]))
    batch = sample.combine_chunks().to_batches()[0]
    loans = []
    for i, loan_id in enumerate(ids):
        terms = terms_of(batch, i)
        loan = LoanDayEnds(terms, by_loan.get(loan_id, []), POLICY)
        day = terms.start
        while day < DAY:  # the per-loan engine has no stored state: bring it to the day before, untimed
            loan.run(day)
            day += timedelta(days=1)
        loans.append(loan)
    started = time.perf_counter()
    for loan in loans:
        loan.run(DAY)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--big", type=int, default=10_000_000, help="loans in the streaming Parquet run (0: skip)")
    parser.add_argument("--orm-loans", type=int, default=10_000)
    parser.add_argument("--work", type=Path, default=ROOT / ".bench")
    parser.add_argument("--engine", choices=("local", "spark"), default="local", help="spark: add the Spark runs")
    parser.add_argument("--pg-url", default=pg_day_end.DEFAULT_URL, help="PostgreSQL server for line 3")
    parser.add_argument("--no-pg", action="store_true", help="skip line 3 (the PostgreSQL-stored day-end)")
    options = parser.parse_args()
    options.work.mkdir(exist_ok=True)
    print(f"day-end of {DAY} on a seasoned synthetic portfolio (bench/eod.py)")
    dataset = seasoned(options.work, options.loans)

    seconds, floor, loans = in_memory(dataset)
    print(
        f"1. in-memory pipeline, {loans:,} loans: {seconds * 1000:.0f} ms per day-end "
        f"({loans / seconds:,.0f} loans/s); floor {floor * 1000:.0f} ms; ratio {seconds / floor:.1f}x (target <= 10x)"
    )
    pipeline_rate = loans / seconds

    if options.big:
        copies = max(1, options.big // options.loans)
        ours, bare, our_peak, bare_peak, big = streaming(options.work, dataset, copies)
        print(
            f"2. streaming Parquet day-end, {big:,} loans: {ours:.1f} s ({big / ours:,.0f} loans/s), peak memory "
            f"{our_peak / 2**30:.2f} GB; bare pyarrow read+write {bare:.1f} s (peak {bare_peak / 2**30:.2f} GB); "
            f"ratio {ours / bare:.2f}x (target <= 2x, peak <= 3 GB)"
        )

    state, payments = load(dataset)
    pg_ratio = None
    if not options.no_pg:
        ours_pg, bare_pg = pg_day_end.measure(state, payments, SEASONED, DAY, options.pg_url)
        pg_ratio = round(ours_pg / bare_pg, 2)
        print(
            f"3. PostgreSQL-stored day-end, {state.num_rows:,} loans: {ours_pg:.1f} s "
            f"({state.num_rows / ours_pg:,.0f} loans/s); bare COPY out+in of the state rows {bare_pg:.1f} s; "
            f"ratio {pg_ratio}x (target <= 3x)"
        )
    batch = from_arrow(state.slice(0, options.orm_loans))
    engine_rate = reference(state, payments, options.orm_loans)
    orm_rate = orm_loop(batch, options.orm_loans, options.work)
    print(
        f"4. per loan, {options.orm_loans:,} loans: reference engine {engine_rate:,.0f} loans/s; ORM loop "
        f"{orm_rate:,.0f} loans/s; pipeline {pipeline_rate:,.0f} loans/s = {pipeline_rate / orm_rate:,.0f}x the "
        f"ORM loop (target >= 1,000x)"
    )
    if options.engine == "spark":
        sizes = [dataset] + (
            [tiled(options.work, dataset, max(1, options.big // options.loans))] if options.big else []
        )
        for target in sizes:
            local_s, spark_s, startup, count = engines(options.work, target)
            print(
                f"5. Parquet day-end, {count:,} loans: in-process {local_s:.1f} s ({count / local_s:,.0f} loans/s); "
                f"Spark local[2] {spark_s:.1f} s, of which start-up {startup:.1f} s "
                f"({count / (spark_s - startup):,.0f} loans/s after start-up)"
            )
    print(
        json.dumps(
            {
                "in_memory_ratio": round(seconds / floor, 2),
                "postgresql_ratio": pg_ratio,
                "pipeline_over_orm": round(pipeline_rate / orm_rate),
            }
        )
    )


if __name__ == "__main__":
    main()
