"""Moving Arrow tables in and out of the store in bulk: COPY on PostgreSQL, plain statements on SQLite.

The day-end reads and writes a row per loan (and per installment) every night; row-by-row ORM traffic would
dominate it. On PostgreSQL a query's result leaves as ``COPY (query) TO STDOUT`` CSV, parsed by Arrow's CSV
reader with the column types given, and rows arrive with ``COPY table FROM STDIN`` of CSV written by Arrow: no
Python object per value on either side. SQLite, the embedded default for small books, has no COPY: the same
calls run the query and ``executemany`` on its DB-API cursor (dates as ISO text, as SQLAlchemy stores them).
Both run on the caller's connection, inside its transaction.
"""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import Connection


def _driver(connection: Connection) -> Any:
    return connection.connection.driver_connection


def _is_postgresql(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def read(connection: Connection, query: str, schema: pa.Schema) -> pa.Table:
    """The rows of ``query`` (plain SQL, no parameters) as a table of ``schema``: the query's columns in order."""
    if _is_postgresql(connection):
        buffer = io.BytesIO()
        with _driver(connection).cursor() as cursor, cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy:
            for chunk in copy:
                buffer.write(chunk)
        if not buffer.tell():
            return schema.empty_table()
        buffer.seek(0)
        return pacsv.read_csv(
            buffer,
            read_options=pacsv.ReadOptions(column_names=schema.names),
            convert_options=pacsv.ConvertOptions(
                column_types=schema,
                true_values=["t"],
                false_values=["f"],
                null_values=[""],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        ).cast(schema)
    cursor = _driver(connection).cursor()
    try:
        rows = cursor.execute(query).fetchall()
    finally:
        cursor.close()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays = []
    for field, values in zip(schema, columns, strict=True):
        if pa.types.is_date32(field.type):  # ISO text in SQLite
            arrays.append(pa.array(values, pa.string()).cast(pa.date32()))
        elif pa.types.is_boolean(field.type):  # 0/1 in SQLite
            arrays.append(pc.not_equal(pa.array(values, pa.int64()), 0))
        else:
            arrays.append(pa.array(values, field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def write(connection: Connection, table_name: str, rows: pa.Table) -> None:
    """Append ``rows`` to ``table_name``, whose columns are named as ``rows``' fields."""
    if not rows.num_rows:
        return
    names = ", ".join(rows.column_names)
    if _is_postgresql(connection):
        sink = pa.BufferOutputStream()
        with pacsv.CSVWriter(sink, rows.schema, write_options=pacsv.WriteOptions(include_header=False)) as writer:
            for batch in rows.to_batches():
                if batch.num_rows:  # pyarrow 26.0.1 writes NUL bytes for a table whose first chunk is empty
                    writer.write_batch(batch)
        with (
            _driver(connection).cursor() as cursor,
            cursor.copy(f"COPY {table_name} ({names}) FROM STDIN (FORMAT csv)") as copy,
        ):
            copy.write(memoryview(sink.getvalue()))
        return
    marks = ", ".join("?" for _ in rows.column_names)
    values = [
        column.cast(pa.string()).to_pylist() if pa.types.is_date32(column.type) else column.to_pylist()
        for column in rows.columns
    ]
    cursor = _driver(connection).cursor()
    try:
        cursor.executemany(f"INSERT INTO {table_name} ({names}) VALUES ({marks})", zip(*values, strict=True))
    finally:
        cursor.close()


def empty(connection: Connection, *table_names: str) -> None:
    """Delete every row of the tables (TRUNCATE on PostgreSQL: one statement, no dead rows to vacuum)."""
    if _is_postgresql(connection):
        connection.exec_driver_sql(f"TRUNCATE {', '.join(table_names)}")
        return
    for name in table_names:
        connection.exec_driver_sql(f"DELETE FROM {name}")
