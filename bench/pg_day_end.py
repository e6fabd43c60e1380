"""The PostgreSQL-stored day-end of bench/eod.py (line 3), beside a bare COPY out plus COPY in of the same rows.

Set-up, untimed: a fresh database ``arrears_bench_eod_<pid>`` (dropped at the end), migrated; the seasoned
portfolio's loans loaded with COPY as the store holds them after its day-end of SEASONED: ``loans`` rows (one
borrower and one credit line hold them all: the day-end never reads those), the columnar state
(``day_end_state``, ``day_end_installments``) as of SEASONED, that ``day_ends`` row, and the portfolio's
repayments dated DAY as ``transactions``, as commands would have recorded them during the day (without their
ledger entries: a day with no command postings to net, the common case for most loans). The scheduled
``installments`` rows are not loaded: the day-end does not read them.

Timed: ``run_store(services, day=DAY)``, the code ``arrears eod run`` runs (lock, COPY state and terms out,
repayments, checks, kernel, postings, state COPY in, events, loans whose status or outstanding principal moved,
the day-end row), in-process on one connection. The baseline: ``COPY (SELECT * FROM day_end_state) TO STDOUT``
and the same for ``day_end_installments`` into memory, then TRUNCATE and ``COPY ... FROM STDIN`` of those bytes
into two scratch tables created ``LIKE`` them (with their primary keys), in one transaction; measured before
and after the day-end, and the mean taken. Target (issue): at most 3x.
"""

from __future__ import annotations

import io
import os
import time
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import create_engine, text

from arrears.adapters import bulk
from arrears.adapters import day_end_store as des
from arrears.adapters.database import make_engine, upgrade
from arrears.adapters.store import GENESIS_HASH
from arrears.config import Settings
from arrears.service_layer.eod_store import run_store
from arrears.service_layer.services import Services

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _load(url: str, state: pa.Table, payments: pa.Table, seasoned: date, day: date) -> None:
    engine = make_engine(url)
    upgrade(engine)
    count = state.num_rows
    ids = pa.array(np.arange(1, count + 1, dtype=np.int64))
    now = datetime.now(UTC)
    flat = pc.list_flatten(state.column("principal_due").combine_chunks()).to_numpy()
    offsets = state.column("principal_due").combine_chunks().offsets.to_numpy()
    outstanding = np.add.reduceat(flat, offsets[:-1]) if count else np.zeros(0, np.int64)
    settled = state.column("settled_on").is_valid()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO borrowers (id, name, phone, timezone, language, created_at) "
                "VALUES (1, 'bench', '13800000000', 'Asia/Shanghai', 'zh', :now)"
            ),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO credit_lines (id, borrower_id, product_code, product_document, currency, limit_minor, "
                "daily_rate, status, opened_on, version) VALUES (1, 1, 'bench', '{}', 'CNY', 9000000000000000, "
                "'0.0005', 'open', :opened, 0)"
            ),
            {"opened": seasoned},
        )
        loans = pa.table(
            {
                "id": ids,
                "line_id": pa.array(np.ones(count, np.int64)),
                "borrower_id": pa.array(np.ones(count, np.int64)),
                "currency": state.column("currency"),
                "principal": state.column("principal"),
                "daily_rate": state.column("daily_rate"),
                "terms": state.column("terms"),
                "method": state.column("method"),
                "interest_basis": state.column("interest_basis"),
                "penalty_multiplier": state.column("penalty_multiplier"),
                "compound_overdue_interest": state.column("compound"),
                "grace_days": state.column("grace_days"),
                "rounding": state.column("rounding"),
                "allocation": state.column("allocation"),
                "prepayment": pa.array(["hold"] * count),
                "start_date": state.column("start"),
                "status": pc.if_else(settled, "settled", "open"),
                "outstanding_principal": pa.array(outstanding.astype(np.int64)),
                "posted_through": pa.array([seasoned] * count, pa.date32()),
                "last_entry_hash": pa.array([GENESIS_HASH] * count),
                "version": pa.array(np.zeros(count, np.int64)),
            }
        )
        bulk.write(connection, "loans", loans)
        stored = state.set_column(0, "loan_id", ids.cast(pa.string()))
        des.write_state(connection, stored, seasoned)
        connection.execute(
            text("INSERT INTO day_ends (business_date, completed_at, loans) VALUES (:day, :now, :loans)"),
            {"day": seasoned, "now": now, "loans": count},
        )
        today = payments.filter(pc.equal(payments.column("value_date"), pa.scalar(day, pa.date32())))
        position = pc.index_in(today.column("loan_id"), value_set=state.column("loan_id").combine_chunks())
        today = today.filter(pc.is_valid(position))
        position = position.drop_null().to_numpy() + 1
        bulk.write(
            connection,
            "transactions",
            pa.table(
                {
                    "loan_id": pa.array(position.astype(np.int64)),
                    "kind": pa.array(["repayment"] * today.num_rows),
                    "value_date": today.column("value_date"),
                    "amount": today.column("amount"),
                    "business_date": today.column("value_date"),
                    "backdated": pa.array([False] * today.num_rows),
                    "created_at": pa.array([now] * today.num_rows, pa.timestamp("us", tz="UTC")),
                }
            ),
        )
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()


def _bare(url: str) -> float:
    """COPY the two state tables out into memory and back into scratch copies: the floor of the day-end's I/O."""
    engine = make_engine(url)
    with engine.begin() as connection:
        for name in ("day_end_state", "day_end_installments"):
            connection.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS bare_{name} (LIKE {name} INCLUDING ALL)")
    started = time.perf_counter()
    with engine.begin() as connection:
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        for name in ("day_end_state", "day_end_installments"):
            buffer = io.BytesIO()
            with cursor.copy(f"COPY (SELECT * FROM {name}) TO STDOUT (FORMAT csv)") as copy:
                for chunk in copy:
                    buffer.write(chunk)
            connection.exec_driver_sql(f"TRUNCATE bare_{name}")
            with cursor.copy(f"COPY bare_{name} FROM STDIN (FORMAT csv)") as copy:
                copy.write(buffer.getvalue())
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def measure(state: pa.Table, payments: pa.Table, seasoned: date, day: date, admin_url: str) -> tuple[float, float]:
    """(the day-end's seconds, the bare COPY baseline's seconds) on PostgreSQL for the seasoned portfolio."""
    name = f"arrears_bench_eod_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        started = time.perf_counter()
        _load(url, state, payments, seasoned, day)
        print(f"  (loaded {state.num_rows:,} loans into PostgreSQL in {time.perf_counter() - started:.0f} s)")
        before = _bare(url)
        services = Services(make_engine(url), Settings(database_url=url), origin="bench")
        started = time.perf_counter()
        report = run_store(services, day=day)
        ours = time.perf_counter() - started
        services.engine.dispose()
        assert report.days == 1 and report.loans == state.num_rows, report
        after = _bare(url)
        print(f"  (bare COPY out+in: {before:.1f} s before the day-end, {after:.1f} s after)")
        return ours, (before + after) / 2
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
