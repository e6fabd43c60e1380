"""The store's side of the day-end: its columnar state, the day's inputs and its outputs, in bulk.

The state after the last day-end lives in ``day_end_state`` (one row per loan) and ``day_end_installments`` (one
per installment); with the terms in ``loans`` they make the rows of :data:`arrears.day_end.columns.SCHEMA` (loan ids
as text there, integers here). Everything goes through :mod:`arrears.adapters.bulk` (COPY on PostgreSQL).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from fractions import Fraction
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, bindparam, func, insert, select, update

from arrears.adapters import bulk
from arrears.adapters import tables as t
from arrears.adapters.store import EVENT_KINDS, GENESIS_HASH, PLAN_KINDS, event_of, terms_of
from arrears.bounds import MAX_AMOUNT, MAX_GRACE_DAYS, MAX_TERMS
from arrears.day_end.columns import INSTALLMENT_COLUMNS, SCHEMA, SNAPSHOT_SCHEMA
from arrears.domain.engine import LoanEvent
from arrears.domain.ledger import Account
from arrears.domain.terms import LoanTerms

_STATE_COLUMNS = [c.name for c in t.day_end_state.columns if c.name not in ("loan_id", "closed_through")]
_TERMS_READ = pa.schema(
    [
        pa.field("loan_id", pa.int64()),
        pa.field("start", pa.date32()),
        pa.field("principal", pa.int64()),
        pa.field("daily_rate", pa.string()),
        pa.field("penalty_multiplier", pa.string()),
        pa.field("terms", pa.int16()),
        pa.field("method", pa.string()),
        pa.field("interest_basis", pa.string()),
        pa.field("rounding", pa.string()),
        pa.field("compound", pa.bool_()),
        pa.field("grace_days", pa.int32()),
        pa.field("allocation", pa.string()),
        pa.field("currency", pa.string()),
    ]
)
_STATE_READ = pa.schema([*_TERMS_READ, *(SCHEMA.field(name) for name in _STATE_COLUMNS)])
_INSTALLMENTS_READ = pa.schema(
    [pa.field("loan_id", pa.int64()), pa.field("due", pa.date32())]
    + [pa.field(name, pa.int64()) for name in INSTALLMENT_COLUMNS]
)
_LOAN_TERMS_SQL = (
    "l.start_date, l.principal, l.daily_rate, l.penalty_multiplier, l.terms, l.method, l.interest_basis, "
    "l.rounding, l.compound_overdue_interest, l.grace_days, l.allocation, l.currency"
)
POSTINGS = pa.schema(
    [pa.field("loan_id", pa.int64()), pa.field("account", pa.string()), pa.field("amount", pa.int64())]
)
"""Per-loan postings (or balances) as the day-end handles them."""


def lock(connection: Connection) -> None:
    """Hold off commands and other day-ends until this transaction ends. PostgreSQL: taken after the day-end lock
    (step 2 of the lock order in :meth:`arrears.service_layer.services.Services.transaction`), so no command is in
    flight; first the state tables the day-end rewrites (ACCESS EXCLUSIVE, as its TRUNCATE needs; the order in
    which a query joining them locks them too), then an EXCLUSIVE lock on ``loans``, for any writer outside that
    order. Taken here, by a transaction holding nothing else yet, they wait only for the reads in flight, which
    wait for nothing the day-end holds. Queries of the state wait too; plain reads of the other tables go on.
    (Taken first and alone, as before the day-end lock, they deadlocked: a command's statement locks its ``loans``
    row, then waits for ``day_end_state``, while the day-end holds that and waits for ``loans``.) SQLite: the
    writing transaction already holds the database's write lock."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("LOCK TABLE day_end_state, day_end_installments IN ACCESS EXCLUSIVE MODE")
        connection.exec_driver_sql("LOCK TABLE loans IN EXCLUSIVE MODE")


def last_day_end(connection: Connection) -> tuple[date | None, str]:
    """The last completed day-end and its hash (the head of the day-end chain)."""
    row = connection.execute(
        select(t.day_ends.c.business_date, t.day_ends.c.hash).order_by(t.day_ends.c.business_date.desc()).limit(1)
    ).first()
    return (None, GENESIS_HASH) if row is None else (row.business_date, row.hash)


def latest_business_date(connection: Connection) -> date | None:
    """The latest business date any command posted on (a day-end must not close an earlier day)."""
    value: date | None = connection.execute(select(func.max(t.transactions.c.business_date))).scalar()
    return value


def loans_in_day_end(connection: Connection, day: date) -> pa.Table:
    """Every loan the day-end of ``day`` takes: started by then and not written off, with its line and what the
    loans table caches about it (status, outstanding principal, the business date its books were last posted on)."""
    query = (
        "SELECT id, line_id, status, outstanding_principal, posted_through FROM loans "
        f"WHERE status <> 'written_off' AND start_date <= '{day.isoformat()}' ORDER BY id"
    )
    schema = pa.schema(
        [
            pa.field("loan_id", pa.int64()),
            pa.field("line_id", pa.int64()),
            pa.field("status", pa.string()),
            pa.field("outstanding_principal", pa.int64()),
            pa.field("posted_through", pa.date32()),
        ]
    )
    return bulk.read(connection, query, schema)


def lines_with_written_off_loans(connection: Connection) -> set[int]:
    rows = connection.exec_driver_sql("SELECT DISTINCT line_id FROM loans WHERE status = 'written_off'")
    return {row[0] for row in rows}


def read_state(connection: Connection, closed_through: date) -> pa.Table:
    """The :data:`SCHEMA` rows of every loan whose stored state is as of ``closed_through``, by loan id. A loan
    whose installment rows do not match its state row is left out (the runner rebuilds it)."""
    day = closed_through.isoformat()
    loans = bulk.read(
        connection,
        f"SELECT s.loan_id, {_LOAN_TERMS_SQL}, {', '.join('s.' + c for c in _STATE_COLUMNS)} "
        f"FROM day_end_state s JOIN loans l ON l.id = s.loan_id WHERE s.closed_through = '{day}' {_KERNEL_FITS} "
        "ORDER BY s.loan_id",
        _STATE_READ,
    )
    rows = bulk.read(
        connection,
        f"SELECT i.loan_id, i.due, {', '.join('i.' + c for c in INSTALLMENT_COLUMNS)} FROM day_end_installments i "
        f"JOIN day_end_state s ON s.loan_id = i.loan_id WHERE s.closed_through = '{day}' ORDER BY i.loan_id, i.number",
        _INSTALLMENTS_READ,
    )
    ids = loans.column("loan_id").to_numpy()
    owners, counts = np.unique(rows.column("loan_id").to_numpy(), return_counts=True)
    per_loan = np.zeros(len(ids), dtype=np.int64)
    found = np.searchsorted(ids, owners)
    known = (found < len(ids)) & (ids[np.minimum(found, len(ids) - 1)] == owners) if len(ids) else found < 0
    per_loan[found[known]] = counts[known]
    keep = per_loan > 0  # a state row without installments is broken: rebuilt from the events
    rows = rows.filter(pc.is_in(rows.column("loan_id"), value_set=loans.column("loan_id").filter(pa.array(keep))))
    loans = loans.filter(pa.array(keep))
    offsets = pa.array(np.concatenate([[0], np.cumsum(per_loan[keep])]).astype(np.int32))
    return _schema_rows(loans, rows, offsets)


_KERNEL_FITS = (
    f"AND l.grace_days BETWEEN 0 AND {MAX_GRACE_DAYS} AND l.terms BETWEEN 1 AND {MAX_TERMS} "
    f"AND l.principal BETWEEN 1 AND {MAX_AMOUNT}"
)
"""Loans whose terms are within the bounds (and so the kernel's columns): any other was stored before the bounds
were checked, and is left to the rebuild, which quarantines it (its terms are refused) instead of failing the read."""


def _schema_rows(loans: pa.Table, installments: pa.Table, offsets: pa.Array) -> pa.Table:
    daily = loans.column("daily_rate").combine_chunks().dictionary_encode()
    pair = pc.binary_join_element_wise(loans.column("daily_rate"), loans.column("penalty_multiplier"), "|")
    pairs = pair.combine_chunks().dictionary_encode()
    daily_fractions = [Fraction(text.as_py()) for text in daily.dictionary]
    penalty_fractions = [
        Fraction(rate) * Fraction(multiplier)
        for rate, multiplier in (text.as_py().split("|") for text in pairs.dictionary)
    ]
    columns: dict[str, Any] = {name: loans.column(name) for name in _STATE_READ.names if name in SCHEMA.names}
    columns["loan_id"] = loans.column("loan_id").cast(pa.string())
    for name, encoded, fractions in (("rate", daily, daily_fractions), ("penalty", pairs, penalty_fractions)):
        indices = encoded.indices
        columns[f"{name}_num"] = pa.array([f.numerator for f in fractions], pa.int64()).take(indices)
        columns[f"{name}_den"] = pa.array([f.denominator for f in fractions], pa.int64()).take(indices)
    for name in ("due", *INSTALLMENT_COLUMNS):
        columns[name] = pa.ListArray.from_arrays(offsets, installments.column(name).combine_chunks())
    return pa.table([columns[f.name] for f in SCHEMA], schema=SCHEMA)


def write_state(connection: Connection, state: pa.Table, closed_through: date) -> None:
    """Replace the stored state with ``state`` (:data:`SCHEMA` rows), as of ``closed_through``."""
    bulk.empty(connection, "day_end_installments", "day_end_state")
    ids = state.column("loan_id").cast(pa.int64())
    loans = {"loan_id": ids, "closed_through": pa.array([closed_through] * state.num_rows, pa.date32())}
    loans |= {name: state.column(name) for name in _STATE_COLUMNS}
    bulk.write(connection, "day_end_state", pa.table(loans))
    due = state.column("due").combine_chunks()
    parents = pc.list_parent_indices(due)
    offsets = due.offsets.to_numpy()
    positions = np.arange(len(parents)) - (offsets[parents.to_numpy()] - offsets[0])  # 0-based within each loan
    rows = {
        "loan_id": ids.combine_chunks().take(parents),
        "number": pa.array(positions + 1, pa.int32()),
        "due": pc.list_flatten(due),
    }
    rows |= {name: pc.list_flatten(state.column(name).combine_chunks()) for name in INSTALLMENT_COLUMNS}
    bulk.write(connection, "day_end_installments", pa.table(rows))


def payments_on(connection: Connection, day: date) -> pa.Table:
    """Repayments dated ``day`` and not reversed: (loan_id, amount), in the order they were recorded."""
    query = (
        "SELECT t.loan_id, t.amount FROM transactions t WHERE t.kind = 'repayment' "
        f"AND t.value_date = '{day.isoformat()}' "
        "AND NOT EXISTS (SELECT 1 FROM transactions r WHERE r.reverses_id = t.id) ORDER BY t.id"
    )
    return bulk.read(connection, query, pa.schema([pa.field("loan_id", pa.int64()), pa.field("amount", pa.int64())]))


def command_postings_on(connection: Connection, day: date) -> pa.Table:
    """What commands posted to each loan with business date ``day``, summed by loan and account."""
    query = (
        "SELECT p.loan_id, p.account, SUM(p.amount) FROM postings p JOIN ledger_entries e ON e.id = p.entry_id "
        f"WHERE e.business_date = '{day.isoformat()}' GROUP BY p.loan_id, p.account"
    )
    return bulk.read(connection, query, POSTINGS)


def _chunks(ids: Sequence[int], size: int = 5000) -> Iterable[str]:
    for first in range(0, len(ids), size):
        yield ", ".join(str(int(i)) for i in ids[first : first + size])


def books_of(connection: Connection, loan_ids: Sequence[int]) -> pa.Table:
    """Each loan's balance in every account (its postings plus its day-end postings), by loan and account."""
    parts = []
    for chunk in _chunks(loan_ids):
        query = (
            "SELECT loan_id, account, SUM(amount) FROM ("
            f"SELECT loan_id, account, amount FROM postings WHERE loan_id IN ({chunk}) UNION ALL "
            f"SELECT loan_id, account, amount FROM day_end_postings WHERE loan_id IN ({chunk})"
            ") b GROUP BY loan_id, account"
        )
        parts.append(bulk.read(connection, query, POSTINGS))
    return pa.concat_tables(parts) if parts else POSTINGS.empty_table()


def loans_to_rebuild(
    connection: Connection, loan_ids: Sequence[int], refused: dict[int, str] | None = None
) -> dict[int, tuple[LoanTerms, list[LoanEvent]]]:
    """Terms and effective events (reversed repayments left out) of each loan, for the reference. With
    ``refused``, a loan whose stored terms are outside :mod:`arrears.bounds` (stored before they were checked) is
    left out and its reason put there, for the day-end to quarantine; without it, the refusal is raised."""
    found: dict[int, tuple[LoanTerms, list[LoanEvent]]] = {}
    tx = t.transactions
    for chunk in _chunks(loan_ids):
        members = [int(i) for i in chunk.split(", ")]
        for row in connection.execute(select(t.loans).where(t.loans.c.id.in_(members))):
            try:
                found[row.id] = (terms_of(row), [])
            except (ValueError, ArithmeticError) as error:  # InputRejected, or a malformed stored value
                if refused is None:
                    raise
                refused[row.id] = str(error)
        members = [member for member in members if member in found]
        reversed_ids = select(tx.c.reverses_id).where(tx.c.reverses_id.is_not(None))
        events = (
            select(tx.c.loan_id, tx.c.kind, tx.c.value_date, tx.c.amount, tx.c.component, tx.c.detail)
            .where(tx.c.loan_id.in_(members), tx.c.kind.in_(EVENT_KINDS))
            .where(tx.c.id.not_in(reversed_ids))
            .order_by(tx.c.loan_id, tx.c.value_date, tx.c.id)
        )
        for row in connection.execute(events):
            found[row.loan_id][1].append(event_of(row._mapping))
    return found


def loans_with_plans(connection: Connection) -> pa.Array:
    """Loans with an event that changed their terms (a hardship plan, an acceleration), reversed or not: the
    kernel takes payments only, so the reference day-ends them from their events, every day."""
    kinds = ", ".join(f"'{kind}'" for kind in PLAN_KINDS)
    rows = connection.exec_driver_sql(f"SELECT DISTINCT loan_id FROM transactions WHERE kind IN ({kinds})")
    return pa.array(sorted(row[0] for row in rows), pa.int64())


def postings_digest(postings: pa.Table) -> str:
    """A digest of a day's postings in (loan, account) order: what the day-end chain's hashes cover."""
    ordered = postings.sort_by([("loan_id", "ascending"), ("account", "ascending")])
    accounts = pc.index_in(ordered.column("account"), value_set=_ACCOUNT_NAMES)  # chart order; unknown: null
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(ordered.column("loan_id").to_numpy(), dtype="<i8").tobytes())
    digest.update(np.ascontiguousarray(accounts.fill_null(-1).to_numpy(), dtype="<i1").tobytes())
    digest.update(np.ascontiguousarray(ordered.column("amount").to_numpy(), dtype="<i8").tobytes())
    return digest.hexdigest()


_ACCOUNT_NAMES = pa.array([account.value for account in Account])


def day_end_hash(prev_hash: str, day: date, postings: pa.Table) -> str:
    body = json.dumps([prev_hash, day.isoformat(), postings_digest(postings)], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def record_day_end(
    connection: Connection,
    day: date,
    *,
    now: datetime,
    prev_hash: str,
    postings: pa.Table,
    counts: dict[str, int],
) -> str:
    """The day-end's row (its completion: the business date moves on when this commits) and its postings."""
    digest = day_end_hash(prev_hash, day, postings)
    connection.execute(
        insert(t.day_ends).values(business_date=day, completed_at=now, prev_hash=prev_hash, hash=digest, **counts)
    )
    rows = postings.append_column("business_date", pa.array([day] * postings.num_rows, pa.date32()))
    bulk.write(connection, "day_end_postings", rows.select(["business_date", "loan_id", "account", "amount"]))
    return digest


def day_end_postings(connection: Connection) -> dict[date, tuple[str, str, pa.Table]]:
    """Every day-end's prev hash, hash and postings (for ``ledger verify``)."""
    days: dict[date, tuple[str, str]] = {
        row.business_date: (row.prev_hash, row.hash)
        for row in connection.execute(select(t.day_ends).order_by(t.day_ends.c.business_date))
    }
    postings = bulk.read(
        connection,
        "SELECT business_date, loan_id, account, amount FROM day_end_postings",
        pa.schema([pa.field("business_date", pa.date32()), *POSTINGS]),
    )
    result = {}
    for day, (prev_hash, digest) in days.items():
        mine = postings.filter(pc.equal(postings.column("business_date"), pa.scalar(day, pa.date32())))
        result[day] = (prev_hash, digest, mine.select(["loan_id", "account", "amount"]))
    return result


def write_events(connection: Connection, day: date, now: datetime, events: Sequence[dict[str, Any]]) -> None:
    """Domain events of the day-end (transitions, quarantines): ``loan_id``, ``kind``, ``payload``."""
    if events:
        connection.execute(
            insert(t.domain_events),
            [
                {
                    "loan_id": event["loan_id"],
                    "kind": event["kind"],
                    "payload": json.dumps(event["payload"], ensure_ascii=False, sort_keys=True),
                    "business_date": day,
                    "created_at": now,
                }
                for event in events
            ],
        )


def write_snapshots(connection: Connection, snapshot: pa.Table) -> None:
    """Month-end snapshot rows (:data:`SNAPSHOT_SCHEMA`, loan ids as text)."""
    rows = snapshot.set_column(0, "loan_id", snapshot.column("loan_id").cast(pa.int64()))
    bulk.write(connection, "day_end_snapshots", rows)


def read_snapshots(connection: Connection, first: date, last: date) -> pa.Table:
    """Snapshot rows of days ``first`` .. ``last`` (loan ids as text, as :data:`SNAPSHOT_SCHEMA` has them)."""
    schema = pa.schema([pa.field("loan_id", pa.int64()), *SNAPSHOT_SCHEMA.remove(0)])
    query = (
        f"SELECT {', '.join(schema.names)} FROM day_end_snapshots "
        f"WHERE day >= '{first.isoformat()}' AND day <= '{last.isoformat()}' ORDER BY day, loan_id"
    )
    rows = bulk.read(connection, query, schema)
    return rows.set_column(0, "loan_id", rows.column("loan_id").cast(pa.string())).cast(SNAPSHOT_SCHEMA)


def update_loans(connection: Connection, changes: Sequence[dict[str, Any]]) -> None:
    """Status and outstanding principal the day-end changed (a due date's held credit, a settlement)."""
    if changes:
        loans = t.loans.c
        connection.execute(
            update(t.loans)
            .where(loans.id == bindparam("loan_id"))
            .values(
                status=bindparam("status"), outstanding_principal=bindparam("outstanding"), version=loans.version + 1
            ),
            list(changes),
        )
