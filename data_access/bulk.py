"""Fast loading of whole DataFrames into tables: COPY on PostgreSQL, executemany on SQLite."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Date, DateTime, Integer, Table, text

CHUNK = 50_000


def _column_values(series: pd.Series, column_type: object) -> list:
    """Python values for one column: ISO strings for dates, None for missing."""
    if isinstance(column_type, DateTime):
        ts = pd.to_datetime(series)
        out = ts.dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    elif isinstance(column_type, Date):
        ts = pd.to_datetime(series)
        out = ts.dt.strftime("%Y-%m-%d")
    elif isinstance(column_type, Integer) and pd.api.types.is_float_dtype(series):
        out = series.round().astype("Int64")  # NaN-padded integers arrive as floats
    else:
        out = series
    values = out.astype(object).where(out.notna(), None).tolist()
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def _rows(frame: pd.DataFrame, table: Table) -> Iterator[tuple]:
    cols = [c for c in table.columns if c.name in frame.columns]
    for start in range(0, len(frame), CHUNK):
        part = frame.iloc[start : start + CHUNK]
        columns = [_column_values(part[c.name], c.type) for c in cols]
        yield from zip(*columns, strict=True)


def insert_frame(conn: Connection, table: Table, frame: pd.DataFrame) -> int:
    """Insert every row of ``frame`` into ``table`` inside the caller's transaction.

    Columns are matched by name; columns of the table missing from the frame take
    their database default. Returns the number of rows written.
    """
    if frame.empty:
        return 0
    cols = [c.name for c in table.columns if c.name in frame.columns]
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        copy_sql = f'COPY "{table.name}" ({", ".join(cols)}) FROM STDIN'
        with raw.cursor() as cur, cur.copy(copy_sql) as copy:
            for row in _rows(frame, table):
                copy.write_row(row)
    else:
        placeholders = ", ".join("?" for _ in cols)
        sql = f'INSERT INTO "{table.name}" ({", ".join(cols)}) VALUES ({placeholders})'
        cur = raw.cursor()
        # Rows may point at rows later in the same frame (account groups).
        cur.execute("PRAGMA defer_foreign_keys=ON")
        batch: list[tuple] = []
        for row in _rows(frame, table):
            batch.append(row)
            if len(batch) >= CHUNK:
                cur.executemany(sql, batch)
                batch.clear()
        if batch:
            cur.executemany(sql, batch)
        cur.close()
    return len(frame)


def reset_sequences(conn: Connection, tables: list[Table]) -> None:
    """After explicit ids were loaded into PostgreSQL, move each id sequence past them."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        if "id" in table.columns and table.columns["id"].autoincrement in (True, "auto"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f'COALESCE((SELECT MAX(id) FROM "{table.name}"), 0) + 1, false)'
                )
            )


def load_tables(
    conn: Connection,
    tables: dict[str, Table],
    frames: dict[str, pd.DataFrame],
    on_table: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Insert frames table by table in the given order; return rows written per table."""
    written = {}
    for name, frame in frames.items():
        written[name] = insert_frame(conn, tables[name], frame)
        if on_table:
            on_table(name, written[name])
    reset_sequences(conn, [tables[n] for n in frames])
    return written
