"""Bulk inserts that skip SQLAlchemy's per-row work: tuples to the driver in one call.

SQLAlchemy's executemany builds and processes a parameter dict per row, which cost more
than SQLite's own insert. Here each column's bind processor (UTC times, binary) is looked
up once per batch and the rows go to the driver as tuples: `executemany` on SQLite, `COPY
... FROM STDIN` on PostgreSQL. Both run inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import LargeBinary, Table
from sqlalchemy.engine import Connection


def bulk_insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys, as for `insert(table)`) into `table`."""
    if not rows:
        return
    columns = list(rows[0])
    processors = [_processor(table, name, conn) for name in columns]
    values = [_processed(row, columns, processors) for row in rows]
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


def _processed(
    row: Mapping[str, Any], columns: list[str], processors: list[Callable[[Any], Any] | None]
) -> tuple[Any, ...]:
    return tuple(
        value if process is None or value is None else process(value)
        for value, process in zip((row[c] for c in columns), processors, strict=True)
    )


def _copy(conn: Connection, statement: str, values: list[tuple[Any, ...]]) -> None:
    driver = conn.connection.dbapi_connection
    if driver is None:
        raise RuntimeError("the PostgreSQL connection was closed before COPY")
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in values:
            copy.write_row(row)
