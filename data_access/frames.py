"""Turn a SQL statement's result into a DataFrame (one helper for every query module)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import ColumnElement, Connection, Dialect, Executable


def read_frame(conn: Connection, stmt: Executable) -> pd.DataFrame:
    """Execute ``stmt`` and return its rows with the statement's column names."""
    result = conn.execute(stmt)
    columns = list(result.keys())
    cursor = result.cursor
    if cursor is not None and _plain_columns(conn.dialect, stmt, cursor.description):
        # No column needs converting (numbers, text, dates read as text): the driver's
        # tuples as they are, without a row object per row (a third of the lifecycle
        # page's time at 104,000 accounts went to building and unpacking those).
        rows = cursor.fetchall()
        result.close()
    else:
        # Plain tuples: pandas probes every row object for named-tuple fields, which
        # costs an exception per row and column for SQLAlchemy rows.
        rows = [tuple(row) for row in result]
    return pd.DataFrame.from_records(rows, columns=columns)


def _plain_columns(dialect: Dialect, stmt: Executable, description: Sequence | None) -> bool:
    """Whether no result column of ``stmt`` has a type that converts the driver's values
    (a date parsed from SQLite's text, a boolean from its integer, JSON, decimals)."""
    selected = getattr(stmt, "selected_columns", None)
    if selected is None or description is None or len(selected) != len(description):
        return False
    return all(
        column.type.dialect_impl(dialect).result_processor(dialect, desc[1]) is None
        for column, desc in zip(selected, description, strict=True)
    )


# A query for listed ids binds one parameter per id; above this many it reads every row
# in scope instead and the frame is narrowed in pandas (SQLite limits bound parameters).
MAX_LISTED_IDS = 2_000


def listed(column: ColumnElement, ids: list[int] | None) -> list[ColumnElement[bool]]:
    """Where-clauses keeping ``column`` to ``ids`` (none for None or too many ids)."""
    if ids is None or len(ids) > MAX_LISTED_IDS:
        return []
    return [column.in_(ids or [-1])]


def keep_listed(frame: pd.DataFrame, column: str, ids: list[int] | None) -> pd.DataFrame:
    """``frame`` narrowed to ``ids`` where :func:`listed` could not narrow the query."""
    if ids is None or len(ids) <= MAX_LISTED_IDS:
        return frame
    return frame.loc[frame[column].isin(ids)].reset_index(drop=True)
