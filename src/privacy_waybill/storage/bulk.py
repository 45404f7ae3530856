"""Bulk inserts that skip SQLAlchemy's per-row work: tuples to the driver in one call.

SQLAlchemy's executemany builds and processes a parameter dict per row, which cost more
than SQLite's own insert. Here each column's bind processor (UTC times, binary) is looked
up once per batch and the rows go to the driver as tuples: `executemany` on SQLite, `COPY
... FROM STDIN` on PostgreSQL. Both run inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import LargeBinary, Table
from sqlalchemy.engine import Connection


def bulk_insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys, as for `insert(table)`) into `table`."""
    if not rows:
        return
    columns = list(rows[0])
    values = _values(rows, columns, [_processor(table, name, conn) for name in columns])
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        _copy(conn, f"COPY {table.name} ({names}) FROM STDIN", values)
        return
    placeholders = (
        ", ".join("?" * len(columns)) if conn.dialect.paramstyle == "qmark" else ", ".join(["%s"] * len(columns))
    )
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({placeholders})", values)


def _processor(table: Table, name: str, conn: Connection) -> Callable[[Any], Any] | None:
    column_type = table.c[name].type
    if isinstance(column_type, LargeBinary):
        return None  # both drivers take bytes as they are; SQLite's wrapper only copies them
    return column_type.bind_processor(conn.dialect)  # type: ignore[no-any-return]


def _values(
    rows: Sequence[Mapping[str, Any]], columns: list[str], processors: list[Callable[[Any], Any] | None]
) -> list[tuple[Any, ...]]:
    # One C-level itemgetter per row, and Python only for the few columns with a processor
    # (times): a generator over every cell of every row was most of this function's cost.
    cells = itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
    processed = [(index, process) for index, process in enumerate(processors) if process is not None]
    if not processed:
        return [cells(row) for row in rows]
    values: list[tuple[Any, ...]] = []
    for row in rows:
        value = list(cells(row))
        for index, process in processed:
            if value[index] is not None:
                value[index] = process(value[index])
        values.append(tuple(value))  # SQLAlchemy's executemany takes tuples, not lists
    return values


def _copy(conn: Connection, statement: str, values: list[tuple[Any, ...]]) -> None:
    driver = conn.connection.dbapi_connection
    if driver is None:
        raise RuntimeError("the PostgreSQL connection was closed before COPY")
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in values:
            copy.write_row(row)
