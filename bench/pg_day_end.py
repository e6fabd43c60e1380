"""The PostgreSQL-stored day-end of bench/eod.py (line 3), beside a bare COPY out plus COPY in of the same rows.

Set-up, untimed: a fresh database ``arrears_bench_eod_<pid>`` (dropped at the end), migrated; the seasoned
portfolio's loans loaded with COPY as the store holds them after its day-end of SEASONED: ``loans`` rows, each on
a credit line of its own on the sample product (products/cn-microcredit.toml: its restriction rules run at the
day-end), one borrower for all; the columnar state (``day_end_state``, ``day_end_installments``) as of SEASONED,
that ``day_ends`` row; the registry's restrictions in force after SEASONED (each rule a line's days past due
reached, put on the day-end it reached it, as the day-ends before would have left them; no lifts pending); and
the portfolio's repayments dated DAY as ``transactions``, as commands would have recorded them during the day
(without their ledger entries: a day with no command postings to net, the common case for most loans). The
scheduled ``installments`` rows are not loaded: the day-end does not read them.

Timed: ``run_store(services, day=DAY)``, the code ``arrears eod run`` runs (lock, COPY state and terms out,
repayments, checks, kernel, postings, state COPY in, events, loans whose status or outstanding principal moved,
the restrictions registry, the day-end row), in-process on one connection. The baseline:
``COPY (SELECT * FROM day_end_state) TO STDOUT`` and the same for ``day_end_installments`` into memory, then
TRUNCATE and ``COPY ... FROM STDIN`` of those bytes into two scratch tables created ``LIKE`` them (with their
primary keys), in one transaction; measured before and after the day-end, and the mean taken.
Target (issue): at most 3x.
"""

from __future__ import annotations

import io
import os
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import create_engine, text

from arrears.adapters import bulk
from arrears.adapters import day_end_store as des
from arrears.adapters.database import make_engine, upgrade
from arrears.adapters.store import GENESIS_HASH, product_snapshot
from arrears.config import Settings
from arrears.domain.product import load_product
from arrears.service_layer.day_end_store import run_store
from arrears.service_layer.services import Services

SAMPLE_PRODUCT = Path(__file__).resolve().parents[1] / "products" / "cn-microcredit.toml"
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
        product = load_product(SAMPLE_PRODUCT)
        snapshot = product_snapshot(product.document)
        bulk.write(
            connection,
            "credit_lines",
            pa.table(
                {
                    "id": ids,
                    "borrower_id": pa.array(np.ones(count, np.int64)),
                    "product_code": pa.array([product.code] * count),
                    "product_document": pa.array([snapshot["product_document"]] * count),
                    "product_digest": pa.array([snapshot["product_digest"]] * count),
                    "currency": state.column("currency"),
                    "limit_minor": pa.array(np.full(count, 2_000_000, np.int64)),
                    "daily_rate": state.column("daily_rate"),
                    "status": pa.array(["open"] * count),
                    "opened_on": state.column("start"),
                    "version": pa.array(np.zeros(count, np.int64)),
                }
            ),
        )
        dpd = state.column("days_past_due").to_numpy()
        for rule in product.rules.restrictions:
            reached = np.flatnonzero(dpd >= rule.dpd_at_least)
            since = pa.array([seasoned - timedelta(days=int(d) - rule.dpd_at_least) for d in dpd[reached]], pa.date32())
            bulk.write(
                connection,
                "restrictions",
                pa.table(
                    {
                        "line_id": pa.array(reached + 1),
                        "rule": pa.array([rule.name] * len(reached)),
                        "scope": pa.array([rule.scope.value] * len(reached)),
                        "legal_basis": pa.array([rule.legal_basis] * len(reached)),
                        "since": since,
                        "days_past_due": pa.array(np.full(len(reached), rule.dpd_at_least, np.int64)),
                        "limit_minor": pa.array(
                            outstanding[reached] if rule.scope.value == "limit" else [None] * len(reached), pa.int64()
                        ),
                        "imposed_by": pa.array(["bench load"] * len(reached)),
                        "recorded_on": since,
                    }
                ),
            )
        loans = pa.table(
            {
                "id": ids,
                "line_id": ids,
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
