"""Month arithmetic used by queries and statistics alike."""

from __future__ import annotations

import calendar
import datetime as dt


def add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` after the month of ``day``."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(day: dt.date) -> dt.date:
    """The last day of the month of ``day``."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def trailing_window(period_month: dt.date, months: int = 12) -> tuple[dt.date, dt.date]:
    """First month and last day of the ``months`` months ending with ``period_month``."""
    return add_months(period_month, -(months - 1)), month_end(period_month)
