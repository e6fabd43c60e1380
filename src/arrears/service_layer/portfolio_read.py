"""Reading a portfolio's tables (CSV or Parquet) into rows, as :mod:`arrears.service_layer.portfolio` describes the
format: the header checked against :data:`TABLES`, every problem a :class:`RowError`, and the digest of the bytes
read (the import's idempotency key)."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arrears.files import IMPORT_FILE_CAP, FileRefused, read_capped

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
