"""Turn a SQL statement's result into a DataFrame (one helper for every query module)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, Executable


def read_frame(conn: Connection, stmt: Executable) -> pd.DataFrame:
    """Execute ``stmt`` and return its rows with the statement's column names."""
    result = conn.execute(stmt)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
