"""Benchmark: repayments posted through the real commands on PostgreSQL, against a floor measured in the same run.

    .venv/bin/python bench/repayments.py [--loans 10000] [--repayments 100000] [--workers 4] [--mode process]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--sqlite/--no-sqlite]
        [--sqlite-repayments 20000] [--rounds 10] [--seed 7]

What is measured. A fresh PostgreSQL database (``arrears_bench_<pid>``, dropped at the end) is migrated with
``arrears.adapters.database.upgrade``; untimed, borrowers, credit lines (20 loans a line, the product's
``max_open_loans``) and loans (1,000.00..9,000.00 in multiples of 100.00, 5/10/20 terms, drawn on 2026-01-15)
are set up through :class:`Services` on the sample product. Then, timed, ``--workers`` workers post
``--repayments`` repayments with ``Services.repay`` (a unique idempotency key each, amounts 1.00..50.00 so every
loan stays open), value date = business date = 2026-02-15, the first due date: each payment is allocated to the
billed installment (or held, once it is paid), and the first payment on a loan of the day also brings its books
up to date (a ``recognition`` entry). Loans are dealt to workers by position, so two workers never wait on one
loan's row lock; each worker cycles through its loans. Each worker has its own engine (``make_engine``, one
pooled connection, opened before the clock starts). Printed: repayments per second (wall time from the common
start to the last worker's end), p50/p99/max latency of one ``repay`` call, the CPU time per transaction of the
workers (Python: arrears, SQLAlchemy, psycopg) and of their PostgreSQL backends (from /proc, so only when the
server runs on this machine), and the rows a repayment writes on average (table row deltas across the timed
run; loan-row updates counted from the loans' ``version``).

The floor: the same number of transactions, by the same number of workers, on the same server, through the
same driver and engine settings (SQLAlchemy Core on psycopg 3, ``make_engine``), each committing the same
number of rows a repayment writes (row INSERTs into a scratch table of BIGINT/TEXT/TIMESTAMPTZ columns padded to
the repayment rows' average width, one statement a row, plus the loan-row UPDATEs on a scratch table of as many
rows as there are loans, in the same order); no reads, no logic, no foreign keys. The ratio is repayment wall
time / floor wall time. Targets (issue): >= 1,000 repayments/s (stretch 2,000) and <= 3x the floor.

The machine is shared, so the two are interleaved: the repayments run in ``--rounds`` rounds (each worker's
next slice), each followed by its floor (the rows that round wrote, spread evenly over its transactions), so a
burst of someone else's load hits both alike; the times are the sums over the rounds, and the ratio's range
over the rounds is printed too.

Workers are processes by default (``--mode process``): a repayment spends most of its time in Python
(SQLAlchemy, psycopg, the replay), so threads serialise on the GIL (commit 2e10148, 10,000 repayments over 1,000
loans: 4 threads 459/s, 4 processes 597/s; the floor, mostly waiting, 1,600/s and 1,475/s); ``--mode thread``
measures threads. SQLite: the same benchmark on a
fresh SQLite file (``--sqlite-repayments``, default 20,000, over proportionally fewer loans: 10 payments a loan
as on PostgreSQL), same worker count; SQLite serialises writers (``BEGIN IMMEDIATE``; a waiting writer polls
with the busy timeout, so its max latency shows lock waits that p99 hides).

Afterwards (untimed) ``Services.verify_ledger()`` must return ``[]`` and the store must hold exactly as many
repayment transactions as were posted. Exit status 1 if any repayment failed or a check did not hold; a missed
target is reported, not a failure.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    create_engine,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url

from arrears.adapters import tables as t
from arrears.adapters.database import make_engine, normalise_url, upgrade
from arrears.config import Settings
from arrears.domain.product import load_product
from arrears.service_layer.services import Services

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ROOT / "products" / "cn-microcredit.toml"
DRAWN_ON = date(2026, 1, 15)
BUSINESS_DATE = date(2026, 2, 15)  # the first due date of every loan
LOANS_PER_LINE = 20  # the product's drawdown.max_open_loans
LINE_LIMIT = 20_000_000  # 200,000.00: room for 20 loans of at most 9,000.00
INSERTED = (t.transactions, t.ledger_entries, t.postings, t.idempotency_keys, t.audit_log, t.domain_events)
BARRIER_TIMEOUT = 120.0

# -- workers: threads or processes released together by a barrier ------------------------------------------------

_gate: Any = None  # the start barrier, installed in each worker process (or once, for threads)


def _install_gate(gate: Any) -> None:
    global _gate
    _gate = gate


def backend_cpu(pid: int | None) -> float:
    """CPU seconds a local PostgreSQL backend has used (from /proc); NaN when the server is not on this machine."""
    try:
        if pid is None or not Path(f"/proc/{pid}/comm").read_text().startswith("postgres"):
            return math.nan
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@dataclass
class Outcome:
    """What one worker did: its start and end on the system-wide monotonic clock, each call's latency, and the
    CPU time its thread and its database backend used meanwhile."""

    began: float = 0.0
    ended: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    first_error: str | None = None
    values: list[int] = field(default_factory=list)
    client_cpu: float = 0.0
    server_cpu: float = math.nan

    @contextmanager
    def timed(self, backend: int | None) -> Iterator[None]:
        """Wait for the other workers at the barrier, then time the block."""
        _gate.wait(BARRIER_TIMEOUT)
        self.began, client, server = time.monotonic(), time.thread_time(), backend_cpu(backend)
        yield
        self.ended = time.monotonic()
        self.client_cpu, self.server_cpu = time.thread_time() - client, backend_cpu(backend) - server

    def call(self, work: Callable[..., Any], **arguments: Any) -> Any:
        before = time.monotonic()
        result = None
        try:
            result = work(**arguments)
        except Exception as error:
            self.failures += 1
            self.first_error = self.first_error or repr(error)
        self.latencies.append(time.monotonic() - before)
        return result


Runner = Callable[[Callable[[Any], Outcome], Sequence[Any]], list[Outcome]]


@contextmanager
def worker_pool(mode: str, size: int) -> Iterator[Runner]:
    """``size`` workers; ``run(task, jobs)`` runs one job on each at once (each task waits at the barrier)."""
    pool: ThreadPoolExecutor | ProcessPoolExecutor
    if mode == "thread":
        _install_gate(threading.Barrier(size))
        pool = ThreadPoolExecutor(size)
    else:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no engine inherited by fork
        gate = context.Barrier(size)
        pool = ProcessPoolExecutor(size, mp_context=context, initializer=_install_gate, initargs=(gate,))

    def run(task: Callable[[Any], Outcome], jobs: Sequence[Any]) -> list[Outcome]:
        assert len(jobs) == size, "one job per worker: the barrier waits for all of them"
        return list(pool.map(task, jobs))

    with pool:
        yield run


@contextmanager
def worker_engine(url: str) -> Iterator[tuple[Engine, int | None]]:
    """An engine with its one connection already open (connecting is not timed), and that connection's backend."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            query = "SELECT pg_backend_pid()" if engine.dialect.name == "postgresql" else "SELECT NULL"
            backend = connection.execute(text(query)).scalar()
        yield engine, backend
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Stats:
    calls: int
    seconds: float
    failures: int
    first_error: str | None
    p50_ms: float
    p99_ms: float
    max_ms: float
    client_cpu_ms: float  # per call: the worker's Python (arrears, SQLAlchemy, psycopg)
    server_cpu_ms: float  # per call: its PostgreSQL backend; NaN on SQLite or a remote server

    @property
    def rate(self) -> float:
        return self.calls / self.seconds


def summarise(rounds: list[list[Outcome]]) -> Stats:
    """Stats over rounds of outcomes: the time is the sum of each round's wall time."""
    outcomes = [outcome for round_ in rounds for outcome in round_]
    latencies = sorted(latency for outcome in outcomes for latency in outcome.latencies) or [math.nan]
    errors = [o.first_error for o in outcomes if o.first_error]

    def percentile(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    def per_call(seconds: float) -> float:
        return seconds * 1000 / len(latencies)

    return Stats(
        calls=sum(len(o.latencies) for o in outcomes),
        seconds=sum(max(o.ended for o in round_) - min(o.began for o in round_) for round_ in rounds),
        failures=sum(o.failures for o in outcomes),
        first_error=errors[0] if errors else None,
        p50_ms=percentile(0.5),
        p99_ms=percentile(0.99),
        max_ms=percentile(1),
        client_cpu_ms=per_call(sum(o.client_cpu for o in outcomes)),
        server_cpu_ms=per_call(sum(o.server_cpu for o in outcomes)),
    )


# -- setup (untimed): borrowers, lines, loans through the real commands ------------------------------------------


def services(url: str, engine: Engine, business_date: date) -> Services:
    return Services(engine, Settings(database_url=url, business_date=business_date), origin="bench")


@dataclass(frozen=True)
class DrawJob:
    url: str
    draws: list[tuple[int, int, int, str]]  # line, amount, terms, key


def draw_worker(job: DrawJob) -> Outcome:
    outcome = Outcome()
    with worker_engine(job.url) as (engine, backend):
        commands = services(job.url, engine, DRAWN_ON)
        with outcome.timed(backend):
            for line, amount, terms, key in job.draws:
                loan = outcome.call(commands.draw, line_id=line, amount=amount, terms=terms, start=DRAWN_ON, key=key)
                if loan is not None:
                    outcome.values.append(loan)
    return outcome


def set_up_loans(url: str, loans: int, run: Runner, workers: int, seed: int) -> list[int]:
    """``loans`` loans, 20 a line, one line a borrower; draws run on ``workers`` workers, a line on one worker."""
    rng = random.Random(seed)
    product = load_product(PRODUCT)
    engine = make_engine(url)
    try:
        commands = services(url, engine, DRAWN_ON)
        lines = []
        for number in range(-(-loans // LOANS_PER_LINE)):
            borrower = commands.add_borrower(name=f"借款人 {number}", phone=f"138{number:08d}")
            lines.append(commands.open_line(borrower_id=borrower, product=product, limit=LINE_LIMIT))
    finally:
        engine.dispose()
    draws: list[list[tuple[int, int, int, str]]] = [[] for _ in range(workers)]
    for index in range(loans):
        line = lines[index // LOANS_PER_LINE]
        amount = rng.randrange(100_000, 900_001, 10_000)
        draws[line % workers].append((line, amount, rng.choice((5, 10, 20)), f"bench-draw-{index}"))
    outcomes = run(draw_worker, [DrawJob(url, share) for share in draws])
    stats = summarise([outcomes])
    if stats.failures:
        raise RuntimeError(f"{stats.failures} drawdowns failed during setup, first: {stats.first_error}")
    return sorted(loan for outcome in outcomes for loan in outcome.values)


# -- the timed repayments ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepayJob:
    url: str
    payments: list[tuple[int, int, str]]  # loan, amount in minor units, idempotency key


def repay_worker(job: RepayJob) -> Outcome:
    outcome = Outcome()
    with worker_engine(job.url) as (engine, backend):
        commands = services(job.url, engine, BUSINESS_DATE)
        with outcome.timed(backend):
            for loan, amount, key in job.payments:
                outcome.call(commands.repay, loan_id=loan, amount=amount, value_date=BUSINESS_DATE, key=key)
    return outcome


def deal(loan_ids: list[int], count: int, workers: int) -> list[list[int]]:
    """Payment ``i`` goes to loan ``i mod len(loans)``, on the worker that owns that loan (by position)."""
    shares: list[list[int]] = [[] for _ in range(workers)]
    for index in range(count):
        position = index % len(loan_ids)
        shares[position % workers].append(loan_ids[position])
    return shares


def repayment_jobs(url: str, loan_ids: list[int], count: int, workers: int, seed: int) -> list[RepayJob]:
    rng = random.Random(seed)
    jobs = []
    for worker, loans in enumerate(deal(loan_ids, count, workers)):
        payments = [(loan, rng.randrange(100, 5001), f"bench-repay-{worker}-{n}") for n, loan in enumerate(loans)]
        jobs.append(RepayJob(url, payments))
    return jobs


@dataclass(frozen=True)
class Written:
    """Rows the timed run wrote: inserts per table, and loan-row updates."""

    inserts: dict[str, int]
    updates: int

    @property
    def total(self) -> int:
        return sum(self.inserts.values()) + self.updates


def row_counts(engine: Engine) -> Written:
    with engine.connect() as connection:
        inserts = {
            table.name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
            for table in INSERTED
        }
        updates = int(connection.execute(select(func.coalesce(func.sum(t.loans.c.version), 0))).scalar_one())
    return Written(inserts, updates)


def written_between(before: Written, after: Written) -> Written:
    inserts = {name: after.inserts[name] - before.inserts[name] for name in before.inserts}
    return Written(inserts, after.updates - before.updates)


def last_ids(engine: Engine) -> dict[str, int]:
    """The highest id in each table a repayment inserts into (idempotency keys have none)."""
    with engine.connect() as connection:
        return {
            table.name: int(connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())
            for table in INSERTED
            if "id" in table.c
        }


def average_width(engine: Engine, rows: dict[str, int], after: dict[str, int] | None = None) -> int:
    """The average stored width in bytes (``pg_column_size``) of rows of these tables, weighted by ``rows``;
    with ``after``, of the benchmark's repayment rows only (ids above those, keys of its repayments)."""
    total = 0
    with engine.connect() as connection:
        for name, count in rows.items():
            where = ""
            if after is not None:
                where = f"WHERE r.id > {after[name]}" if name in after else "WHERE r.key LIKE 'bench-repay-%'"
            width = connection.execute(text(f"SELECT avg(pg_column_size(r.*)) FROM {name} AS r {where}")).scalar()
            total += int(width or 0) * count
    return total // max(1, sum(rows.values()))


def add_written(first: Written, second: Written) -> Written:
    inserts = {name: first.inserts.get(name, 0) + rows for name, rows in second.inserts.items()}
    return Written(inserts, first.updates + second.updates)


def run_repayments(engine: Engine, run: Runner, jobs: list[RepayJob]) -> tuple[list[Outcome], Written]:
    before = row_counts(engine)
    outcomes = run(repay_worker, jobs)
    return outcomes, written_between(before, row_counts(engine))


def check_store(url: str, engine: Engine, posted: int) -> list[str]:
    """Untimed: the ledger verifies and holds exactly one repayment transaction per posted repayment."""
    problems = services(url, engine, BUSINESS_DATE).verify_ledger()
    with engine.connect() as connection:
        stored = connection.execute(
            select(func.count()).select_from(t.transactions).where(t.transactions.c.kind == "repayment")
        ).scalar_one()
    print(f"  verify_ledger(): {problems[:5]!r}{' ...' if len(problems) > 5 else ''}")
    print(f"  repayment transactions stored: {stored:,}; posted: {posted:,}")
    if stored != posted:
        problems.append(f"{stored} repayment transactions stored, {posted} posted")
    return problems


# -- the floor: the same transactions writing the same rows, no logic ---------------------------------------------

floor_metadata = MetaData()
floor_rows = Table(
    "bench_floor_rows",
    floor_metadata,
    Column("id", BigInteger, primary_key=True),
    Column("ref", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_bench_floor_rows_ref", "ref"),
)
floor_accounts = Table(
    "bench_floor_accounts",
    floor_metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("balance", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("body", Text, nullable=False),
)


@dataclass(frozen=True)
class FloorJob:
    url: str
    transactions: list[tuple[int, int, int]]  # ref (the loan), rows to insert, rows to update
    body: str


def floor_worker(job: FloorJob) -> Outcome:
    outcome = Outcome()
    add = insert(floor_rows)
    bump = (
        update(floor_accounts)
        .where(floor_accounts.c.id == bindparam("ref"))
        .values(balance=floor_accounts.c.balance + 1, version=floor_accounts.c.version + 1)
    )
    with worker_engine(job.url) as (engine, backend):

        def transaction(ref: int, inserts: int, updates: int) -> None:
            with engine.begin() as connection:
                for _ in range(inserts):
                    row = {"ref": ref, "kind": "repayment", "amount": 100, "body": job.body}
                    connection.execute(add, {**row, "created_at": datetime.now(UTC)})
                for _ in range(updates):
                    connection.execute(bump, {"ref": ref})

        with outcome.timed(backend):
            for ref, inserts, updates in job.transactions:
                outcome.call(transaction, ref=ref, inserts=inserts, updates=updates)
    return outcome


def spread(total: int, parts: int, index: int) -> int:
    """Part ``index`` of ``total`` spread evenly over ``parts`` (the parts add up to ``total`` exactly)."""
    return (index + 1) * total // parts - index * total // parts


def floor_body(engine: Engine, width: int) -> str:
    """Padding that brings a floor row to ``width`` bytes as stored."""
    probe = text("SELECT pg_column_size(ROW(1::bigint, 1::bigint, 'repayment'::text, 1::bigint, ''::text, now()))")
    with engine.connect() as connection:
        base = int(connection.execute(probe).scalar_one())
    return "x" * max(0, width - base)


def prepare_floor(engine: Engine) -> None:
    """The scratch tables; one account row per loan, padded to the width of a loan row."""
    floor_metadata.create_all(engine)
    loan_width = average_width(engine, {"loans": 1})
    with engine.begin() as connection:
        loans = [row[0] for row in connection.execute(select(t.loans.c.id))]
        accounts = [{"id": loan, "balance": 0, "version": 0, "body": "x" * max(0, loan_width - 60)} for loan in loans]
        connection.execute(insert(floor_accounts), accounts)


def floor_jobs(url: str, repayments: list[RepayJob], written: Written, body: str) -> list[FloorJob]:
    """One floor transaction per repayment, on the same worker and loan, the rows written spread evenly."""
    count = sum(len(job.payments) for job in repayments)
    inserts, updates = sum(written.inserts.values()), written.updates
    jobs, index = [], 0
    for job in repayments:
        plan = []
        for loan, _, _ in job.payments:
            plan.append((loan, spread(inserts, count, index), spread(updates, count, index)))
            index += 1
        jobs.append(FloorJob(url, plan, body))
    return jobs


# -- the runs ---------------------------------------------------------------------------------------------------


@dataclass
class Report:
    loans: int
    repayments: Stats
    problems: list[str]
    written: Written | None = None
    floor: Stats | None = None
    ratios: list[float] = field(default_factory=list)  # repayment / floor time, round by round
    widths: tuple[int, int] = (0, 0)  # average stored row of the repayments and of the floor (bytes)


def prepare(url: str, engine: Engine, run: Runner, args: Any, loans: int, repayments: int) -> list[RepayJob]:
    upgrade(engine)
    began = time.perf_counter()
    loan_ids = set_up_loans(url, loans, run, args.workers, args.seed)
    seconds = time.perf_counter() - began
    print(f"  setup: {len(loan_ids):,} loans on {-(-loans // LOANS_PER_LINE):,} lines in {seconds:.1f} s (untimed)")
    return repayment_jobs(url, loan_ids, repayments, args.workers, args.seed)


def slices(jobs: list[RepayJob], rounds: int) -> Iterator[list[RepayJob]]:
    """Each worker's payments cut into ``rounds`` consecutive slices; round by round."""
    for number in range(rounds):
        round_ = []
        for job in jobs:
            size = len(job.payments)
            round_.append(RepayJob(job.url, job.payments[number * size // rounds : (number + 1) * size // rounds]))
        if any(job.payments for job in round_):
            yield round_


def interleaved(url: str, engine: Engine, run: Runner, jobs: list[RepayJob], rounds: int, loans: int) -> Report:
    """The repayments and the floor, round by round (module docstring)."""
    prepare_floor(engine)
    setup_ids = last_ids(engine)
    repaid: list[list[Outcome]] = []
    floored: list[list[Outcome]] = []
    written, ratios = Written({}, 0), []
    for round_ in slices(jobs, rounds):
        before = last_ids(engine)
        outcomes, round_written = run_repayments(engine, run, round_)
        repaid.append(outcomes)
        body = floor_body(engine, average_width(engine, round_written.inserts, before))
        floored.append(run(floor_worker, floor_jobs(url, round_, round_written, body)))
        written = add_written(written, round_written)
        stats, floor = summarise(repaid[-1:]), summarise(floored[-1:])
        ratios.append(stats.seconds / floor.seconds)
        print(f"  round {len(repaid)}: {stats.calls:,} repayments {stats.rate:,.0f}/s, floor {floor.rate:,.0f}/s")
    widths = (average_width(engine, written.inserts, setup_ids), average_width(engine, {floor_rows.name: 1}))
    return Report(loans, summarise(repaid), [], written, summarise(floored), ratios, widths)


def benchmark_postgres(url: str, args: Any) -> Report:
    engine = make_engine(url)
    try:
        with worker_pool(args.mode, args.workers) as run:
            jobs = prepare(url, engine, run, args, args.loans, args.repayments)
            report = interleaved(url, engine, run, jobs, args.rounds, args.loans)
        stats, floor = report.repayments, report.floor
        assert floor is not None
        print(f"  repayments: {stats.calls:,} in {stats.seconds:.1f} s, {stats.rate:,.0f}/s, failures {stats.failures}")
        print(f"  floor: {floor.calls:,} transactions in {floor.seconds:.1f} s, failures {floor.failures}")
        report.problems = check_store(url, engine, stats.calls - stats.failures)
        if floor.failures:
            report.problems.append(f"{floor.failures} floor transactions failed, first: {floor.first_error}")
        return report
    finally:
        engine.dispose()


def benchmark_sqlite(args: Any) -> Report:
    folder = Path(tempfile.mkdtemp(prefix="arrears_bench_"))
    url = f"sqlite:///{folder / 'bench.db'}"
    loans = max(1, args.loans * args.sqlite_repayments // args.repayments)
    engine = make_engine(url)
    try:
        with worker_pool(args.mode, args.workers) as run:
            jobs = prepare(url, engine, run, args, loans, args.sqlite_repayments)
            stats = summarise([run(repay_worker, jobs)])
        print(f"  repayments: {stats.calls:,} in {stats.seconds:.1f} s, {stats.rate:,.0f}/s, failures {stats.failures}")
        return Report(loans, stats, check_store(url, engine, stats.calls - stats.failures))
    finally:
        engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database on the server of ``admin_url``, dropped afterwards whatever happens."""
    name = f"arrears_bench_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    finally:
        admin.dispose()


# -- output -------------------------------------------------------------------------------------------------------


def server_version(admin_url: str) -> str:
    engine = create_engine(admin_url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar_one()).split()[0]
    finally:
        engine.dispose()


def source_revision() -> str:
    """The commit the package was measured at, and whether src/ had uncommitted changes."""
    git = ["git", "-C", str(ROOT)]
    try:
        commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, check=True)
        changes = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no", "--", "src"], capture_output=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "commit unknown"
    return f"commit {commit.stdout.decode().strip()}" + (" + uncommitted src/ changes" if changes.stdout else "")


def rows_line(written: Written, count: int) -> str:
    parts = [f"{name} {rows / count:.2f}" for name, rows in written.inserts.items()]
    return f"{written.total / count:.2f} ({', '.join(parts)}; loan-row updates {written.updates / count:.2f})"


def verdict(value: float, target: float, *, at_most: bool = False) -> str:
    return "met" if (value <= target if at_most else value >= target) else "MISSED"


def print_summary(args: Any, postgres: Report, sqlite: Report | None, versions: str) -> None:
    stats, floor, written = postgres.repayments, postgres.floor, postgres.written
    assert floor is not None and written is not None
    ratio = stats.seconds / floor.seconds
    command = " ".join([".venv/bin/python bench/repayments.py", *sys.argv[1:]])
    workers = f"{args.workers} worker {args.mode}{'es' if args.mode == 'process' else 's'}"
    print()
    print(f"Measured on this {os.cpu_count()}-core machine ({date.today()}, `{command}`), {versions}, {workers}:")
    print()
    print("| Run | Transactions | Time | Per second | p50 | p99 | max | CPU/tx: Python | CPU/tx: PostgreSQL |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, report_stats in (("repayments (PostgreSQL)", stats), ("floor (PostgreSQL)", floor)):
        print(row(name, report_stats))
    if sqlite is not None:
        print(row(f"repayments (SQLite, over {sqlite.loans:,} loans)", sqlite.repayments))
    print()
    print(f"{stats.calls:,} repayments over {postgres.loans:,} loans.")
    print(f"Rows written per repayment: {rows_line(written, stats.calls)}.")
    print(
        f"The floor commits as many transactions, each with {written.total / stats.calls:.2f} rows "
        f"(average row {postgres.widths[1]} B; repayment rows {postgres.widths[0]} B) and no logic."
    )
    print(
        f"Ratio repayments / floor: {ratio:.2f}x (target <= 3x: {verdict(ratio, 3, at_most=True)}; "
        f"{min(postgres.ratios):.2f}x..{max(postgres.ratios):.2f}x over {len(postgres.ratios)} rounds). "
        f"Throughput target >= 1,000/s: {verdict(stats.rate, 1000)}; stretch 2,000/s: {verdict(stats.rate, 2000)}."
    )
    problems = postgres.problems + (sqlite.problems if sqlite else [])
    failures = stats.failures + (sqlite.repayments.failures if sqlite else 0)
    checks = "ok" if not problems else "; ".join(problems[:3])
    print(f"Failed repayments: {failures}. verify_ledger() and repayment counts: {checks}.")


def row(name: str, stats: Stats) -> str:
    return (
        f"| {name} | {stats.calls:,} | {stats.seconds:.1f} s | {stats.rate:,.0f} | "
        f"{stats.p50_ms:.1f} ms | {stats.p99_ms:.1f} ms | {stats.max_ms:.0f} ms | {stats.client_cpu_ms:.2f} ms | "
        + ("-" if math.isnan(stats.server_cpu_ms) else f"{stats.server_cpu_ms:.2f} ms")
        + " |"
    )


def parse_args() -> Any:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--loans", type=int, default=10_000)
    parser.add_argument("--repayments", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--mode", choices=("process", "thread"), default="process")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--sqlite", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--sqlite-repayments", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=10, help="repayment and floor runs, interleaved")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    admin_url = normalise_url(args.pg_url)
    versions = (
        f"PostgreSQL {server_version(admin_url)}, psycopg {psycopg.__version__}, SQLAlchemy {sqlalchemy.__version__}, "
        f"Python {platform.python_version()}, {source_revision()}"
    )
    print(f"PostgreSQL: {args.repayments:,} repayments over {args.loans:,} loans, {args.workers} {args.mode} workers")
    with scratch_database(admin_url) as url:
        postgres = benchmark_postgres(url, args)
    sqlite = None
    if args.sqlite:
        print(f"SQLite: {args.sqlite_repayments:,} repayments, {args.workers} {args.mode} workers")
        sqlite = benchmark_sqlite(args)
    print_summary(args, postgres, sqlite, versions)
    reports = [postgres] if sqlite is None else [postgres, sqlite]
    return 1 if any(report.repayments.failures or report.problems for report in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
