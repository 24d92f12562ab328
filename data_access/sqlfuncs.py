"""SQL expressions that differ between SQLite and PostgreSQL, written once."""

from __future__ import annotations

from sqlalchemy import Date
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement


class month_start(FunctionElement):  # noqa: N801 - reads like a SQL function
    """First day of the month of a date column."""

    type = Date()
    inherit_cache = True


@compiles(month_start, "postgresql")
def _month_start_pg(element, compiler, **kw) -> str:
    return f"CAST(date_trunc('month', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(month_start, "sqlite")
def _month_start_sqlite(element, compiler, **kw) -> str:
    return f"(substr({compiler.process(element.clauses, **kw)}, 1, 7) || '-01')"


def month_of(column: ColumnElement) -> month_start:
    """``month_start(column)`` as a typed SQL expression."""
    return month_start(column)
