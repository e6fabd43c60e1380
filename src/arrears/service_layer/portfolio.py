"""Portfolio import (credit lines, loans and their payment history) and statement export.

Import
======

A portfolio is a directory with three tables, each as CSV (``lines.csv``) or Parquet (``lines.parquet``);
formats may be mixed, but one table must not be there in both::

    lines     line_ref, borrower_name, phone, product, limit[, daily_rate]
    loans     loan_ref, line_ref, amount, terms, start[, method][, interest_basis]
    payments  loan_ref, date, amount

- ``line_ref`` / ``loan_ref``: the portfolio's own names for its lines and loans, unique within their table;
  a loan names its line, a payment its loan. They are not stored on the rows; the import's report and its
  audit-log entry keep the ref -> id map.
- ``borrower_name``, ``phone``: one borrower per distinct (name, phone) pair; phones are masked in every
  message and log. Borrowers get the defaults of ``borrower add`` (Asia/Shanghai, zh).
- ``product``: path of a product TOML file, relative to the portfolio directory or absolute. The line keeps a
  snapshot of it, as ``line open`` does.
- ``limit``, ``amount``: plain decimal strings (``"20000"``, ``"560.50"``); ``daily_rate``: a plain decimal
  string (``"0.0004"``), empty for the product's rate.
- ``terms``: a whole number of months the product offers; ``start``, ``date``: ``YYYY-MM-DD``.
- ``method`` (equal-principal | equal-installment | interest-first), ``interest_basis`` (actual | period):
  empty for the product's.

CSV: UTF-8 (a byte-order mark is allowed), a header row naming the columns (any order; optional columns may be
left out), one record per row; surrounding spaces are trimmed and blank rows skipped. Parquet: string columns
(``large_string`` and dictionary-encoded strings too; nulls read as empty). Refs and ``terms`` may also be
integer columns and dates ``date32`` columns; a float column is refused, since a float has already lost the
exact decimals, and so is any other type. Row numbers count as a person reads a spreadsheet: the header is
row 1, the first record row 2 (for Parquet too, so a converted file keeps its numbers).

Every row is checked before anything is written, and every problem is reported, each as a
:class:`RowError` (file, row, field, reason with the fix), e.g.
``loans.csv row 7 amount: '5,000' is not a plain amount; write digits with at most two decimals``:
required fields and formats; unknown columns; duplicate refs; unknown refs; a line's limit and rate against
its product; a loan's terms against its product and its schedule; drawdown rules (minimum, multiple, open
loans, available limit), checked on each line in drawdown order (start date, then file order) against the
principal the line's earlier loans still had outstanding on that day, their payments applied; a loan that
starts, or a payment dated, after the business date; a payment before its loan's start. Any problem raises
:class:`PortfolioRejected` (an :class:`~arrears.errors.InputRejected`) carrying them all, and nothing is
written. ARREARS_MAX_BACKDATE_DAYS does not apply: history is what an import brings.

Writing is one database transaction: borrowers, credit lines (opened on their first loan's start, or the
business date if earlier), loans with their schedules, transactions (the disbursement and each payment as a
repayment, backdated when dated before the business date), one ledger entry of kind ``import`` per loan taking
its books from nothing to its replayed balances on the business date (so ``ledger verify`` holds at once), an
idempotency key and one audit-log row. A crash or a kill at any point leaves nothing; importing the same files
again (same bytes) writes nothing and answers with the first import's report.

Export
======

:func:`export_statements` writes one statement per loan, ``loan-<id>.csv``: UTF-8 CSV in four blocks separated
by an empty row, each starting with its own header row (so the first cell names the block)::

    term,value                          loan_id, line_id, borrower_id, currency, principal, daily_rate, terms,
                                        method, interest_basis, start
    value_date,kind,amount,component,backdated,reversed,transaction_id
                                        every transaction dated on or before the as-of date, in value-date
                                        then recorded order; backdated/reversed are true or false
    installment,due_date,status,principal,interest,penalty,compound
                                        what remains unpaid on each installment after day-end of as-of
    state,value                         as_of, status, days_past_due, bucket, classification,
                                        outstanding_principal, overdue_principal, overdue_interest,
                                        overdue_penalty, overdue_compound, overdue_total, unapplied,
                                        paid_principal, paid_interest, paid_penalty, paid_compound,
                                        settled_on, written_off_on

Amounts have two decimals; the state is that of ``loan show`` (:meth:`Services.loan_state`). Each file is
written to a temporary name and renamed, so a killed export never leaves a half-written statement.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, insert, select
from sqlalchemy.exc import IntegrityError

from arrears.adapters import store
from arrears.adapters import tables as t
from arrears.day_end.reference import DayEndPolicy
from arrears.domain.credit_line import DrawdownLimits, check_drawdown
from arrears.domain.engine import LoanEvent, LoanState, Payment, replay_events
from arrears.domain.engine import replay as replay_loan
from arrears.domain.product import Product, load_product
from arrears.domain.schedule import Schedule, build_schedule
from arrears.domain.terms import Component, InterestBasis, LoanTerms, Method
from arrears.domain.views import state_view
from arrears.errors import InputRejected
from arrears.files import IMPORT_FILE_CAP, FileRefused, read_capped
from arrears.inputs import FREE_TEXT_MAX, max_length, text_problem
from arrears.money import format_minor, parse_amount, parse_rate
from arrears.service_layer.services import Position, Services, position_of
from arrears.validation import parse_choice, parse_date

Progress = Callable[[str], None]

TABLES: dict[str, tuple[tuple[str, bool, str], ...]] = {
    # table: (column, required, kind); a required column must be in the header and filled on every row
    "lines": (
        ("line_ref", True, "ref"),
        ("borrower_name", True, "text"),
        ("phone", True, "text"),
        ("product", True, "text"),
        ("limit", True, "amount"),
        ("daily_rate", False, "rate"),
    ),
    "loans": (
        ("loan_ref", True, "ref"),
        ("line_ref", True, "ref"),
        ("amount", True, "amount"),
        ("terms", True, "int"),
        ("start", True, "date"),
        ("method", False, "text"),
        ("interest_basis", False, "text"),
    ),
    "payments": (
        ("loan_ref", True, "ref"),
        ("date", True, "date"),
        ("amount", True, "amount"),
    ),
}
CHUNK = 1000
"""Loans written per batch (one progress report each)."""
_COLUMNS = {"borrower_name": t.borrowers.c.name, "phone": t.borrowers.c.phone}
"""The import's fields stored as typed, with the column that bounds them."""
_WHOLE = re.compile(r"[0-9]{1,4}")  # ASCII digits, matched whole (fullmatch: no trailing newline)
_PHONE_CHARS = frozenset("+-() 0123456789")


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in a portfolio: where (file, row as a spreadsheet counts it, field) and what to do."""

    file: str
    row: int | None
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.field:
            where += f" {self.field}"
        return f"{where}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "row": self.row, "field": self.field, "reason": self.reason}


class PortfolioRejected(InputRejected):
    """A portfolio with problems; ``errors`` holds every one of them, and nothing was written."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = tuple(errors)
        count = len(self.errors)
        if count == 1:
            summary = f"1 error in the portfolio: {self.errors[0]}"
        else:
            summary = f"{count} errors in the portfolio; the first: {self.errors[0]}"
        super().__init__(summary)


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import wrote (or, with ``already_imported``, what the earlier import of the same files wrote)."""

    business_date: date
    borrowers: int
    lines: int
    loans: int
    payments: int
    line_ids: dict[str, int]
    loan_ids: dict[str, int]
    digest: str
    """SHA-256 of the three tables' bytes: the import's idempotency key."""
    notices: tuple[str, ...] = ()
    already_imported: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "business_date": self.business_date.isoformat(),
            "borrowers": self.borrowers,
            "lines": self.lines,
            "loans": self.loans,
            "payments": self.payments,
            "line_ids": self.line_ids,
            "loan_ids": self.loan_ids,
            "digest": self.digest,
            "notices": list(self.notices),
            "already_imported": self.already_imported,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, already_imported: bool) -> ImportReport:
        return cls(
            business_date=date.fromisoformat(values["business_date"]),
            borrowers=values["borrowers"],
            lines=values["lines"],
            loans=values["loans"],
            payments=values["payments"],
            line_ids=dict(values["line_ids"]),
            loan_ids=dict(values["loan_ids"]),
            digest=values["digest"],
            notices=tuple(values["notices"]),
            already_imported=already_imported,
        )


@dataclass(frozen=True, slots=True)
class ExportReport:
    as_of: date
    files: tuple[Path, ...]
    skipped: tuple[int, ...] = ()
    """Loans left out because they started after the as-of date (only when no loan ids were given)."""


# -- reading ------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Table:
    file: str
    rows: list[tuple[int, dict[str, str]]]


def _check_header(file: str, table: str, names: Sequence[str], errors: list[RowError]) -> bool:
    spec = TABLES[table]
    known = [column for column, _, _ in spec]
    ok = True
    seen: set[str] = set()
    for name in names:
        if name in seen:
            errors.append(RowError(file, 1, name, "appears twice in the header; keep one column of that name"))
            ok = False
        seen.add(name)
        if name not in known:
            shown = name or "(an empty column name)"
            errors.append(
                RowError(
                    file,
                    1,
                    shown,
                    f"is not a column of {table}; the columns are {', '.join(known)}: remove it or check its spelling",
                )
            )
            ok = False
    for column, required, _ in spec:
        if required and column not in seen:
            errors.append(RowError(file, 1, column, "column is missing from the header; add it"))
            ok = False
    return ok


def _read_csv(path: Path, data: bytes, table: str, errors: list[RowError]) -> _Table | None:
    file = path.name
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        errors.append(RowError(file, None, None, f"is not UTF-8 text (byte {error.start}); save it as UTF-8 CSV"))
        return None
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as error:
        errors.append(RowError(file, None, None, f"is not valid CSV ({error}); check the quotes"))
        return None
    if not records or not any(cell.strip() for cell in records[0]):
        columns = ",".join(column for column, _, _ in TABLES[table])
        errors.append(
            RowError(file, 1, None, f"the header row is missing; the first row must name the columns: {columns}")
        )
        return None
    header = [cell.strip() for cell in records[0]]
    if not _check_header(file, table, header, errors):
        return None
    rows: list[tuple[int, dict[str, str]]] = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            errors.append(
                RowError(
                    file,
                    number,
                    None,
                    f"has {len(record)} fields but the header has {len(header)}; "
                    "quote values that contain a comma and check for stray separators",
                )
            )
            continue
        # spaces around a value are a spreadsheet's padding; a line break or a tab inside the cell is refused
        # by the field's own check, as the CLI and the API refuse "100\n" (issue 19)
        rows.append((number, {name: cell.strip(" ") for name, cell in zip(header, record, strict=True)}))
    return _Table(file, rows)


def _parquet_values(name: str, kind: str, column: Any, pa: Any, file: str, errors: list[RowError]) -> list[str] | None:
    kind_type = column.type
    if pa.types.is_dictionary(kind_type):
        kind_type = kind_type.value_type
    values = column.to_pylist()
    is_text = pa.types.is_string(kind_type) or pa.types.is_large_string(kind_type)
    is_text = is_text or (hasattr(pa.types, "is_string_view") and pa.types.is_string_view(kind_type))
    if is_text or pa.types.is_null(kind_type):
        return ["" if value is None else str(value).strip() for value in values]
    if pa.types.is_integer(kind_type) and kind in {"ref", "int"}:
        return ["" if value is None else str(value) for value in values]
    if (pa.types.is_date32(kind_type) or pa.types.is_date64(kind_type)) and kind == "date":
        return ["" if value is None else value.isoformat() for value in values]
    if pa.types.is_floating(kind_type):
        reason = (
            f"is a float column ({kind_type}); a float has already lost the exact decimals: "
            f'store {name} as a string column such as "560.50"'
        )
    else:
        reason = f"is a {kind_type} column; store {name} as a string column"
    errors.append(RowError(file, None, name, reason))
    return None


def _read_parquet(path: Path, data: bytes, table: str, errors: list[RowError]) -> _Table | None:
    import pyarrow as pa  # imported only when a Parquet file is there
    import pyarrow.parquet as pq

    file = path.name
    try:
        arrow = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as error:
        errors.append(RowError(file, None, None, f"cannot be read as Parquet ({error}); write it again"))
        return None
    names = [str(name) for name in arrow.column_names]
    if not _check_header(file, table, names, errors):
        return None
    kinds = {column: kind for column, _, kind in TABLES[table]}
    columns: dict[str, list[str]] = {}
    ok = True
    for name in names:
        values = _parquet_values(name, kinds[name], arrow.column(name), pa, file, errors)
        if values is None:
            ok = False
        else:
            columns[name] = values
    if not ok:
        return None
    rows = [
        (index + 2, {name: values[index] for name, values in columns.items()})
        for index in range(arrow.num_rows)
        if any(values[index] for values in columns.values())
    ]
    return _Table(file, rows)


def _read_tables(directory: Path, errors: list[RowError]) -> tuple[dict[str, _Table], str]:
    """Each table of the portfolio (missing on errors) and the digest of their bytes."""
    digest = hashlib.sha256()
    tables: dict[str, _Table] = {}
    for table in TABLES:
        found = [directory / f"{table}.{suffix}" for suffix in ("csv", "parquet")]
        present = [path for path in found if path.is_file()]
        if not present:
            errors.append(
                RowError(f"{table}.csv", None, None, f"is missing from {directory}; add {table}.csv or {table}.parquet")
            )
            continue
        if len(present) > 1:
            errors.append(
                RowError(f"{table}.csv", None, None, f"and {table}.parquet are both in {directory}; keep one")
            )
            continue
        path = present[0]
        try:
            data = read_capped(path, what="import table", cap=IMPORT_FILE_CAP)
        except FileRefused as error:
            errors.append(RowError(path.name, None, None, str(error).removeprefix(f"{path}: ")))
            continue
        digest.update(f"{path.name}\0{len(data)}\0".encode())
        digest.update(data)
        reader = _read_csv if path.suffix == ".csv" else _read_parquet
        read = reader(path, data, table, errors)
        if read is not None:
            tables[table] = read
    return tables, digest.hexdigest()


# -- checking -----------------------------------------------------------------------------------------------


class _Fields:
    """One row's values, parsed field by field; each problem becomes a RowError and the field None."""

    def __init__(self, file: str, row: int, values: dict[str, str], errors: list[RowError]) -> None:
        self.file, self.row, self.values, self.errors = file, row, values, errors
        self.ok = True

    def error(self, field_name: str | None, reason: str) -> None:
        self.errors.append(RowError(self.file, self.row, field_name, reason))
        self.ok = False

    def text(self, name: str, *, required: bool = True) -> str | None:
        value = self.values.get(name, "")
        if not value:
            if required:
                self.error(name, "is empty; fill it in")
            return None
        column = _COLUMNS.get(name)  # the store's bound where a field is stored as typed; else free text's
        problem = text_problem(value, limit=FREE_TEXT_MAX if column is None else max_length(column))
        if problem is not None:  # the rule every door applies (arrears.inputs), never echoing the value
            self.error(name, problem)
            return None
        return value

    def amount(self, name: str) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return parse_amount(value, field=name)
        except InputRejected as error:
            self.error(name, str(error).removeprefix(f"{name}: "))
            return None

    def positive_amount(self, name: str) -> int | None:
        amount = self.amount(name)
        if amount == 0:
            self.error(name, "must be above zero")
            return None
        return amount

    def rate(self, name: str) -> Decimal | None:
        value = self.text(name, required=False)
        if value is None:
            return None
        try:
            return parse_rate(value, field=name)
        except InputRejected as error:
            self.error(name, str(error).removeprefix(f"{name}: "))
            return None

    def whole(self, name: str) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        if not _WHOLE.fullmatch(value):
            self.error(name, f"{value!r} is not a whole number of months; write digits such as 10")
            return None
        return int(value)

    def day(self, name: str) -> date | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return parse_date(value)
        except ValueError as error:
            self.error(name, str(error))
            return None

    def choice(self, name: str, kind: type[Method] | type[InterestBasis]) -> Any:
        value = self.text(name, required=False)
        if value is None:
            return None
        try:
            return parse_choice(kind, value)
        except ValueError as error:
            self.error(name, f"{error}; leave it empty for the product's")
            return None


@dataclass(slots=True)
class _Line:
    ref: str
    row: int
    borrower: tuple[str, str]
    product: Product
    limit: int
    rate: Decimal


@dataclass(slots=True)
class _Loan:
    ref: str
    row: int
    line: _Line
    terms: LoanTerms
    schedule: Schedule
    payments: list[Payment] = field(default_factory=list)
    position: Position | None = None

    def position_on(self, day: date, policy: DayEndPolicy) -> Position:
        """The loan during ``day``, its payments dated on or before it applied."""
        events: list[LoanEvent] = list(self.payments)
        return position_of(self.terms, events, day, policy)


@dataclass(slots=True)
class PortfolioPlan:
    """A checked portfolio, ready to write: what :func:`check_portfolio` returns."""

    directory: Path
    business_date: date
    digest: str
    borrowers: list[tuple[str, str]]
    lines: list[_Line]
    loans: list[_Loan]
    notices: tuple[str, ...]

    @property
    def payments(self) -> int:
        return sum(len(loan.payments) for loan in self.loans)


def _phone_problem(phone: str) -> str | None:
    digits = sum(ch.isdigit() for ch in phone)
    if 5 <= digits <= 20 and len(phone) <= 32 and all(ch in _PHONE_CHARS for ch in phone):
        return None
    return f"{store.mask_phone(phone)} is not a phone number; give digits, e.g. 13800138000 (shown masked)"


def _check_lines(
    table: _Table, directory: Path, business_date: date, errors: list[RowError]
) -> tuple[dict[str, _Line], set[str], list[str]]:
    products: dict[Path, Product | str] = {}
    notices: list[str] = []
    lines: dict[str, _Line] = {}
    bad: set[str] = set()
    first_row: dict[str, int] = {}
    for row, values in table.rows:
        fields = _Fields(table.file, row, values, errors)
        ref = fields.text("line_ref")
        name = fields.text("borrower_name")
        phone = fields.text("phone")
        if phone is not None and (problem := _phone_problem(phone)) is not None:
            fields.error("phone", problem)
        product = None
        product_text = fields.text("product")
        if product_text is not None:
            path = Path(product_text)
            path = (path if path.is_absolute() else directory / path).resolve()
            if path not in products:
                try:
                    loaded = load_product(path)
                except InputRejected as error:
                    products[path] = str(error)
                else:
                    products[path] = loaded
                    notices.extend(loaded.notices)
            found = products[path]
            if isinstance(found, str):
                fields.error("product", found)
            else:
                product = found
        limit = fields.amount("limit")
        rate = fields.rate("daily_rate")
        if isinstance(product, Product) and limit is not None:
            rules = product.rules
            if not rules.line.min_limit <= limit <= rules.line.max_limit:
                fields.error(
                    "limit",
                    f"a {product.code} line is {format_minor(rules.line.min_limit)}.."
                    f"{format_minor(rules.line.max_limit)} {product.currency}; {format_minor(limit)} is outside it",
                )
        rate_unreadable = rate is None and values.get("daily_rate", "") != ""
        if isinstance(product, Product) and not rate_unreadable:
            try:  # the rate against the product's range and reference cap, as line open checks it
                product.loan_terms(
                    principal=product.rules.drawdown.minimum,
                    terms=product.rules.pricing.terms[0],
                    start=business_date,
                    daily_rate=rate,
                )
            except InputRejected as error:
                fields.error("daily_rate" if rate is not None else "product", str(error))
        if ref is not None and ref in first_row:
            fields.error("line_ref", f"{ref!r} is already the ref of row {first_row[ref]}; give every line its own ref")
            continue
        if ref is not None:
            first_row[ref] = row
        if not fields.ok or ref is None or name is None or phone is None or not isinstance(product, Product):
            if ref is not None:
                bad.add(ref)
            continue
        assert limit is not None
        effective_rate = product.rules.pricing.daily_rate if rate is None else rate
        lines[ref] = _Line(ref, row, (name, phone), product, limit, effective_rate)
    return lines, bad, notices


def _check_loans(
    table: _Table, lines: dict[str, _Line], bad_lines: set[str] | None, business_date: date, errors: list[RowError]
) -> tuple[dict[str, _Loan], set[str]]:
    loans: dict[str, _Loan] = {}
    bad: set[str] = set()
    first_row: dict[str, int] = {}
    for row, values in table.rows:
        fields = _Fields(table.file, row, values, errors)
        ref = fields.text("loan_ref")
        line_ref = fields.text("line_ref")
        amount = fields.positive_amount("amount")
        terms = fields.whole("terms")
        start = fields.day("start")
        method = fields.choice("method", Method)
        basis = fields.choice("interest_basis", InterestBasis)
        if start is not None and start > business_date:
            fields.error(
                "start",
                f"{start} is after the business date {business_date}; a loan cannot start on a day not yet come",
            )
        line = lines.get(line_ref) if line_ref is not None else None
        if line_ref is not None and line is None and bad_lines is not None and line_ref not in bad_lines:
            fields.error("line_ref", f"no line {line_ref!r} in the lines table; add the line or correct the ref")
        if line is not None and terms is not None and terms not in line.product.rules.pricing.terms:
            offered = ", ".join(str(number) for number in line.product.rules.pricing.terms)
            fields.error("terms", f"{terms} terms is not offered by {line.product.code}; choose one of {offered}")
        if ref is not None and ref in first_row:
            fields.error("loan_ref", f"{ref!r} is already the ref of row {first_row[ref]}; give every loan its own ref")
            continue
        if ref is not None:
            first_row[ref] = row
        if fields.ok and line is not None and amount is not None and terms is not None and start is not None:
            try:
                loan_terms = line.product.loan_terms(
                    principal=amount,
                    terms=terms,
                    start=start,
                    daily_rate=line.rate,
                    method=method,
                    interest_basis=basis,
                )
                schedule = build_schedule(loan_terms)
            except InputRejected as error:
                fields.error("terms", str(error))
            else:
                if ref is not None:
                    loans[ref] = _Loan(ref, row, line, loan_terms, schedule)
                    continue
        if ref is not None:
            bad.add(ref)
    return loans, bad


def _check_payments(
    table: _Table, loans: dict[str, _Loan], bad_loans: set[str] | None, business_date: date, errors: list[RowError]
) -> None:
    for row, values in table.rows:
        fields = _Fields(table.file, row, values, errors)
        ref = fields.text("loan_ref")
        day = fields.day("date")
        amount = fields.positive_amount("amount")
        loan = loans.get(ref) if ref is not None else None
        if ref is not None and loan is None and bad_loans is not None and ref not in bad_loans:
            fields.error("loan_ref", f"no loan {ref!r} in the loans table; add the loan or correct the ref")
        if day is not None and day > business_date:
            fields.error(
                "date",
                f"{day} is after the business date {business_date}; money cannot be posted for a day not yet come",
            )
        if day is not None and loan is not None and day < loan.terms.start:
            fields.error("date", f"{day} is before loan {ref!r} started on {loan.terms.start}; check the date")
        if fields.ok and loan is not None and day is not None and amount is not None:
            loan.payments.append(Payment(day, amount))


def _outstanding_on(loan: _Loan, day: date) -> int:
    """The loan's principal outstanding during ``day``, its payments dated on or before it applied."""
    replayed = replay_events(loan.terms, loan.payments, day)
    if day >= loan.terms.start:
        replayed.begin_day(day)
    return replayed.outstanding_principal()


def _check_drawdowns(file: str, loans: dict[str, _Loan], errors: list[RowError]) -> set[str]:
    """Drawdown rules per line, in drawdown order; the refs of refused loans."""
    by_line: dict[str, list[_Loan]] = {}
    for loan in loans.values():
        by_line.setdefault(loan.line.ref, []).append(loan)
    refused: set[str] = set()
    for line_ref, drawn in by_line.items():
        earlier: list[_Loan] = []
        for loan in sorted(drawn, key=lambda item: (item.terms.start, item.row)):
            rules = loan.line.product.rules.drawdown
            limits = DrawdownLimits(rules.minimum, rules.multiple, rules.max_open_loans)
            start = loan.terms.start
            outstanding = [_outstanding_on(other, start) for other in earlier]
            refusal = check_drawdown(
                limits, limit=loan.line.limit, outstanding=outstanding, amount=loan.terms.principal
            )
            if refusal is None:
                earlier.append(loan)
                continue
            refused.add(loan.ref)
            context = f"line {line_ref!r} on {start}, after {len(earlier)} earlier loan(s) on it"
            errors.append(
                RowError(
                    file, loan.row, "amount", f"drawdown refused by rule {refusal.rule} ({context}): {refusal.reason}"
                )
            )
    return refused


def _reading_order(error: RowError) -> tuple[int, int, int]:
    """Tables in order, rows top down, fields left to right (whole-file and whole-row problems first)."""
    table = error.file.rsplit(".", 1)[0]
    names = [column for column, _, _ in TABLES.get(table, ())]
    tables = list(TABLES)
    return (
        tables.index(table) if table in tables else len(tables),
        error.row or 0,
        names.index(error.field) if error.field in names else -1,
    )


def check_portfolio(directory: str | Path, business_date: date, policy: DayEndPolicy | None = None) -> PortfolioPlan:
    """Read and check a portfolio; :class:`PortfolioRejected` with every problem, else the plan to write.
    ``policy``: the store's day-end policy, which the imported books follow."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputRejected(f"{directory} is not a directory; give the folder holding lines, loans and payments")
    errors: list[RowError] = []
    tables, digest = _read_tables(directory, errors)
    lines: dict[str, _Line] = {}
    loans: dict[str, _Loan] = {}
    bad_lines: set[str] | None = None  # None: the table could not be read, so no ref is "unknown"
    bad_loans: set[str] | None = None
    notices: list[str] = []
    if "lines" in tables:
        lines, bad_lines, notices = _check_lines(tables["lines"], directory, business_date, errors)
    if "loans" in tables:
        loans, bad_loans = _check_loans(tables["loans"], lines, bad_lines, business_date, errors)
    if "payments" in tables:
        _check_payments(tables["payments"], loans, bad_loans, business_date, errors)
    if "loans" in tables:
        refused = _check_drawdowns(tables["loans"].file, loans, errors)
        for ref in refused:
            del loans[ref]
        for loan in loans.values():
            try:
                loan.position = loan.position_on(business_date, policy or DayEndPolicy())
            except InputRejected as error:
                errors.append(RowError(tables["loans"].file, loan.row, None, f"cannot be replayed: {error}"))
    if errors:
        errors.sort(key=_reading_order)
        raise PortfolioRejected(errors)
    borrowers = list(dict.fromkeys(line.borrower for line in lines.values()))
    return PortfolioPlan(
        directory=directory,
        business_date=business_date,
        digest=digest,
        borrowers=borrowers,
        lines=list(lines.values()),
        loans=sorted(loans.values(), key=lambda loan: loan.row),
        notices=tuple(dict.fromkeys(notices)),
    )


# -- writing ------------------------------------------------------------------------------------------------


def _insert_returning_ids(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert many rows in batches, returning their ids in the order given."""
    if not rows:
        return []
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return [int(row[0]) for row in connection.execute(statement, rows)]


def _stored_report(connection: Connection, key: str) -> ImportReport | None:
    row = connection.execute(select(t.idempotency_keys).where(t.idempotency_keys.c.key == key)).first()
    if row is None:
        return None
    return ImportReport.from_dict(json.loads(row.response), already_imported=True)


def import_portfolio(services: Services, directory: str | Path, *, progress: Progress | None = None) -> ImportReport:
    """Check the portfolio in ``directory`` and write it in one transaction (module docstring).

    ``progress`` hears ``checked ...`` once the checks pass, ``writing`` as the transaction starts writing,
    ``written N of M loans`` after each batch and ``committed`` at the end (``already imported`` instead of
    the last three when the same files were imported before).
    """
    say = progress or (lambda _message: None)
    with services.reading() as connection:
        business_date = services.business_date(connection)
    plan = check_portfolio(directory, business_date, services.policy)
    say(f"checked {len(plan.lines)} lines, {len(plan.loans)} loans, {plan.payments} payments")
    key = f"portfolio-import:{plan.digest}"
    try:
        report = _write(services, plan, key, say)
    except IntegrityError:
        # The same files were imported by a concurrent process that committed first: answer with its report.
        with services.reading() as connection:
            stored = _stored_report(connection, key)
        if stored is None:
            raise
        return stored
    say("already imported" if report.already_imported else "committed")
    return report


def _write(services: Services, plan: PortfolioPlan, key: str, say: Progress) -> ImportReport:
    with services.transaction() as connection:
        business_date = services.business_date(connection)
        if business_date != plan.business_date:
            raise InputRejected(
                f"the business date moved from {plan.business_date} to {business_date} during the import "
                "(a day-end completed); run the import again"
            )
        stored = _stored_report(connection, key)
        if stored is not None:
            return stored
        say("writing")
        now = services.clock()
        borrower_ids = dict(
            zip(
                plan.borrowers,
                _insert_returning_ids(
                    connection,
                    t.borrowers,
                    [
                        {"name": name, "phone": phone, "timezone": "Asia/Shanghai", "language": "zh", "created_at": now}
                        for name, phone in plan.borrowers
                    ],
                ),
                strict=True,
            )
        )
        first_start: dict[str, date] = {}
        for loan in plan.loans:
            ref = loan.line.ref
            first_start[ref] = min(first_start.get(ref, loan.terms.start), loan.terms.start)
        line_rows = [
            {
                "borrower_id": borrower_ids[line.borrower],
                "product_code": line.product.code,
                **store.product_snapshot(line.product.document),
                "currency": line.product.currency,
                "limit_minor": line.limit,
                "daily_rate": str(line.rate),
                "status": "open",
                "opened_on": min(first_start.get(line.ref, business_date), business_date),
                "version": 0,
            }
            for line in plan.lines
        ]
        line_ids = dict(
            zip(
                (line.ref for line in plan.lines),
                _insert_returning_ids(connection, t.credit_lines, line_rows),
                strict=True,
            )
        )
        loan_ids: dict[str, int] = {}
        for offset in range(0, len(plan.loans), CHUNK):
            chunk = plan.loans[offset : offset + CHUNK]
            loan_ids.update(_write_loans(services, connection, chunk, line_ids, borrower_ids, business_date))
            say(f"written {offset + len(chunk)} of {len(plan.loans)} loans")
        report = ImportReport(
            business_date=business_date,
            borrowers=len(plan.borrowers),
            lines=len(plan.lines),
            loans=len(plan.loans),
            payments=plan.payments,
            line_ids=line_ids,
            loan_ids=loan_ids,
            digest=plan.digest,
            notices=plan.notices,
        )
        response = json.dumps(report.as_dict(), sort_keys=True)
        connection.execute(
            insert(t.idempotency_keys).values(
                key=key, command="portfolio.import", request_hash=plan.digest, response=response, created_at=now
            )
        )
        store.audit(
            connection,
            now=now,
            actor=services.settings.actor,
            origin=services.origin,
            action="portfolio.import",
            target=f"portfolio:{plan.digest[:16]}",
            details={
                "directory": str(plan.directory),
                "digest": plan.digest,
                "business_date": business_date,
                "borrowers": report.borrowers,
                "lines": report.lines,
                "loans": report.loans,
                "payments": report.payments,
                "line_ids": line_ids,  # refs -> ids: the only place the portfolio's refs are kept
                "loan_ids": loan_ids,
            },
        )
        return report


def _write_loans(
    services: Services,
    connection: Connection,
    loans: list[_Loan],
    line_ids: dict[str, int],
    borrower_ids: dict[tuple[str, str], int],
    business_date: date,
) -> dict[str, int]:
    now = services.clock()
    rows = [
        {
            "line_id": line_ids[loan.line.ref],
            "borrower_id": borrower_ids[loan.line.borrower],
            "status": "open",
            "outstanding_principal": loan.terms.principal,
            "posted_through": business_date,
            "last_entry_hash": store.GENESIS_HASH,
            "version": 0,
            **store.terms_columns(loan.terms),
        }
        for loan in loans
    ]
    ids = _insert_returning_ids(connection, t.loans, rows)
    connection.execute(
        insert(t.installments),
        [row for loan, loan_id in zip(loans, ids, strict=True) for row in store.schedule_rows(loan_id, loan.schedule)],
    )

    def transaction(loan_id: int, kind: str, value_date: date, amount: int) -> dict[str, Any]:
        return {
            "loan_id": loan_id,
            "kind": kind,
            "value_date": value_date,
            "amount": amount,
            "component": None,
            "reverses_id": None,
            "business_date": business_date,
            "backdated": value_date < business_date,
            "created_at": now,
        }

    transactions: list[dict[str, Any]] = []
    for loan, loan_id in zip(loans, ids, strict=True):
        transactions.append(transaction(loan_id, "disbursement", loan.terms.start, loan.terms.principal))
        # Value-date order, file order within a day: the order loan_events reads them back in.
        for payment in sorted(loan.payments, key=lambda item: item.value_date):
            transactions.append(transaction(loan_id, "repayment", payment.value_date, payment.amount))
    connection.execute(insert(t.transactions), transactions)
    for loan, loan_id in zip(loans, ids, strict=True):
        assert loan.position is not None
        record = store.LoanRecord(
            id=loan_id,
            line_id=line_ids[loan.line.ref],
            borrower_id=borrower_ids[loan.line.borrower],
            terms=loan.terms,
            status="open",
            outstanding_principal=loan.terms.principal,
            posted_through=business_date,
            last_entry_hash=store.GENESIS_HASH,
            version=0,
        )
        services.post_position(
            connection, record, loan.position, {}, "import", business_date, business_date, None, advance=True
        )
    return {loan.ref: loan_id for loan, loan_id in zip(loans, ids, strict=True)}


# -- export -------------------------------------------------------------------------------------------------


def _yes(value: bool) -> str:
    return "true" if value else "false"


def _status(state: LoanState) -> str:
    if state.written_off_on is not None:
        return "written_off"
    return "settled" if state.settled_on is not None else "open"


def statement_of(
    loan: store.LoanRecord, state: LoanState, transactions: Iterable[Any], reversed_ids: Collection[int]
) -> dict[str, Any]:
    """A loan's statement as of a day: its terms, its transactions to that day (each marked backdated or
    reversed), its installments and its state; amounts as decimal strings. The one source of the CSV statement
    (:func:`export_statements`) and the API's ``GET /loans/{id}/statement``."""
    terms = loan.terms
    view = state_view(state)
    overdue = view["overdue"]
    return {
        "terms": {
            "loan_id": loan.id,
            "line_id": loan.line_id,
            "borrower_id": loan.borrower_id,
            "currency": terms.currency,
            "principal": format_minor(terms.principal),
            "daily_rate": str(terms.daily_rate),
            "terms": terms.terms,
            "method": str(terms.method),
            "interest_basis": str(terms.interest_basis),
            "start": terms.start.isoformat(),
        },
        "transactions": [
            {
                "value_date": row.value_date.isoformat(),
                "kind": row.kind,
                "amount": format_minor(row.amount),
                "component": row.component,
                "backdated": bool(row.backdated),
                "reversed": row.id in reversed_ids,
                "transaction_id": row.id,
            }
            for row in transactions
        ],
        "installments": [
            {key: item[key] for key in ("number", "due_date", "status", "principal", "interest", "penalty", "compound")}
            for item in view["installments"]
        ],
        "state": {
            "as_of": view["as_of"],
            "status": _status(state),
            "days_past_due": view["days_past_due"],
            "bucket": view["bucket"],
            "classification": view["classification"],
            "outstanding_principal": view["outstanding_principal"],
            **{f"overdue_{part}": overdue[part] for part in ("principal", "interest", "penalty", "compound", "total")},
            "unapplied": view["unapplied"],
            **{
                f"paid_{part}": format_minor(state.allocated[Component(part)])
                for part in ("principal", "interest", "penalty", "compound")
            },
            "settled_on": state.settled_on.isoformat() if state.settled_on else None,
            "written_off_on": state.written_off_on.isoformat() if state.written_off_on else None,
        },
    }


def _cell(value: Any) -> str:
    """A statement value as its CSV cell: booleans as true/false, none as empty."""
    if isinstance(value, bool):
        return _yes(value)
    return "" if value is None else str(value)


def _statement(
    loan: store.LoanRecord, state: LoanState, transactions: Iterable[Any], reversed_ids: Collection[int]
) -> list[list[str]]:
    """:func:`statement_of` as the rows of ``loan-<id>.csv``: terms, transactions, installments, state."""
    made = statement_of(loan, state, transactions, reversed_ids)
    rows: list[list[str]] = [["term", "value"], *([key, _cell(value)] for key, value in made["terms"].items()), []]
    for part in ("transactions", "installments"):
        header = {
            "transactions": ["value_date", "kind", "amount", "component", "backdated", "reversed", "transaction_id"],
            "installments": ["installment", "due_date", "status", "principal", "interest", "penalty", "compound"],
        }[part]
        rows += [header, *([_cell(value) for value in item.values()] for item in made[part]), []]
    rows += [["state", "value"], *([key, _cell(value)] for key, value in made["state"].items())]
    return rows


def loan_statement(services: Services, loan_id: int, as_of: date) -> dict[str, Any]:
    """One loan's statement as of ``as_of`` (:func:`statement_of`), read in one snapshot (``Services.reading``)."""
    tx = t.transactions
    with services.reading() as connection:
        loan = store.get_loan(connection, loan_id)
        if loan.terms.start > as_of:
            raise InputRejected(
                f"loan {loan_id} started on {loan.terms.start}, after the as-of date {as_of}; pick a later date"
            )
        reversed_ids = set(
            connection.execute(
                select(tx.c.reverses_id).where(tx.c.loan_id == loan_id, tx.c.reverses_id.is_not(None))
            ).scalars()
        )
        state = replay_loan(loan.terms, store.loan_events(connection, loan_id), as_of)
        transactions = connection.execute(
            select(tx).where(tx.c.loan_id == loan_id, tx.c.value_date <= as_of).order_by(tx.c.value_date, tx.c.id)
        ).all()
    return {"loan": loan_id, **statement_of(loan, state, transactions, reversed_ids)}


def _write_atomically(path: Path, rows: list[list[str]]) -> None:
    """Write beside ``path`` under a temporary name, then rename: readers see the old file or the whole new one."""
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(rows)  # no fsync: a statement can be written again from the books
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def export_statements(
    services: Services, out_dir: str | Path, as_of: date, loan_ids: Sequence[int] | None = None
) -> ExportReport:
    """Write ``loan-<id>.csv`` for each loan (all loans started by ``as_of`` when ``loan_ids`` is None)."""
    out = Path(out_dir)
    with services.reading() as connection:
        skipped: list[int] = []
        if loan_ids is None:
            candidates = [int(row[0]) for row in connection.execute(select(t.loans.c.id).order_by(t.loans.c.id))]
        else:
            candidates = list(dict.fromkeys(loan_ids))
        loans: list[store.LoanRecord] = []
        for loan_id in candidates:  # every named loan is checked before any file is written
            loan = store.get_loan(connection, loan_id)
            if loan.terms.start > as_of:
                if loan_ids is None:
                    skipped.append(loan_id)
                    continue
                raise InputRejected(
                    f"loan {loan_id} started on {loan.terms.start}, after the as-of date {as_of}; pick a later date"
                )
            loans.append(loan)
        reversed_ids = {
            int(row[0])
            for row in connection.execute(
                select(t.transactions.c.reverses_id).where(t.transactions.c.reverses_id.is_not(None))
            )
        }
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InputRejected(f"cannot create {out} ({error.strerror}); choose another --out") from None
        files: list[Path] = []
        tx = t.transactions
        for loan in loans:
            state = replay_loan(loan.terms, store.loan_events(connection, loan.id), as_of)
            transactions = connection.execute(
                select(tx).where(tx.c.loan_id == loan.id, tx.c.value_date <= as_of).order_by(tx.c.value_date, tx.c.id)
            )
            path = out / f"loan-{loan.id}.csv"
            _write_atomically(path, _statement(loan, state, transactions, reversed_ids))
            files.append(path)
    return ExportReport(as_of=as_of, files=tuple(files), skipped=tuple(skipped))


__all__ = [
    "TABLES",
    "ExportReport",
    "ImportReport",
    "PortfolioPlan",
    "PortfolioRejected",
    "RowError",
    "check_portfolio",
    "export_statements",
    "import_portfolio",
]
