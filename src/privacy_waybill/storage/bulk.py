"""Bulk inserts that skip SQLAlchemy's per-row work: tuples to the driver in one call.

SQLAlchemy's executemany builds and processes a parameter dict per row, which cost more
than SQLite's own insert. Here the caller hands over tuples in a fixed column order, each
column's bind processor (UTC times) is looked up once per batch, and the rows go to the
driver as they are: `executemany` on SQLite, `COPY ... FROM STDIN` on PostgreSQL. Both run
inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import LargeBinary, Table
from sqlalchemy.engine import Connection

from privacy_waybill.storage.models import UtcDateTime


def bulk_insert(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert `rows`, tuples of values for `columns` in that order, into `table`."""
    if not rows:
        return
    processed = [
        (index, process)
        for index, name in enumerate(columns)
        if (process := _processor(table, name, conn)) is not None
    ]
    values = _processed(rows, processed) if processed else rows
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        _copy(conn, f"COPY {table.name} ({names}) FROM STDIN", values)
        return
    placeholders = ", ".join((parameter_marker(conn),) * len(columns))
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({placeholders})", values)  # type: ignore[arg-type]


def parameter_marker(conn: Connection) -> str:
    """The driver's positional parameter marker, for statements given to it as they are."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _processor(table: Table, name: str, conn: Connection) -> Callable[[Any], Any] | None:
    column_type = table.c[name].type
    if isinstance(column_type, LargeBinary):
        return None  # both drivers take bytes as they are; SQLite's wrapper only copies them
    if isinstance(column_type, UtcDateTime) and conn.dialect.name == "sqlite":
        return UtcDateTime.sqlite_text
    return column_type.bind_processor(conn.dialect)  # type: ignore[no-any-return]


def _processed(
    rows: Sequence[tuple[Any, ...]], processed: list[tuple[int, Callable[[Any], Any]]]
) -> list[tuple[Any, ...]]:
    # Python only for the few columns with a processor (times); the rest stay as given.
    values: list[tuple[Any, ...]] = []
    for row in rows:
        value = list(row)
        for index, process in processed:
            if value[index] is not None:
                value[index] = process(value[index])
        values.append(tuple(value))  # SQLAlchemy's executemany takes tuples, not lists
    return values


def _copy(conn: Connection, statement: str, values: Sequence[tuple[Any, ...]]) -> None:
    driver = conn.connection.dbapi_connection
    if driver is None:
        raise RuntimeError("the PostgreSQL connection was closed before COPY")
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in values:
            copy.write_row(row)
