"""Twelve-month revenue windows per account and month (the ``account_periods`` table).

Every page that shows "revenue in the 12 months to the period" used to sum 24 rows of
the monthly rollup per account for the chosen month: 2.5 million rows at 104,000
accounts for each overview. The windows are computed once, when the rollup changes
(demo load, revenue imports), and pages read one row per account and month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, func, select

from analytics.periods import add_months
from data_access.bulk import insert_frame
from data_access.frames import read_frame
from data_access.schema import AccountMonthly, AccountPeriod

WINDOW = 12
# Account ids per statement (SQLite's bound-parameter limit is 32,766).
CHUNK = 10_000
COLUMNS = ["month", "account_id", "revenue_12m", "revenue_prev_12m"]


def _month_index(months: pd.Series) -> np.ndarray:
    ts = pd.to_datetime(months)
    return (ts.dt.year * 12 + ts.dt.month - 1).to_numpy()


def period_rows(
    monthly: pd.DataFrame, first: dt.date | None = None, last: dt.date | None = None
) -> pd.DataFrame:
    """Windows for every account of ``monthly`` and every month from ``first`` to ``last``.

    Parameters
    ----------
    monthly : DataFrame
        ``account_id, month, revenue`` rollup rows; rows before ``first`` minus 23
        months or after ``last`` are ignored, so the frame must hold every row from
        then to ``last`` for the accounts it names.
    first, last : date, optional
        First and last month to compute (first days of months); default the first and
        last month of ``monthly``.

    Returns
    -------
    DataFrame
        ``month, account_id, revenue_12m, revenue_prev_12m`` for the account-months
        where either window holds revenue (sums over the 12 months ending with
        ``month`` and the 12 before those).
    """
    if monthly.empty:
        return pd.DataFrame(columns=COLUMNS)
    idx = _month_index(monthly["month"])
    lo = int(idx.min()) if first is None else first.year * 12 + first.month - 1
    hi = int(idx.max()) if last is None else last.year * 12 + last.month - 1
    if hi < lo:
        return pd.DataFrame(columns=COLUMNS)
    start = lo - 2 * WINDOW + 1  # the earliest month any window of ``lo`` reaches
    keep = (idx >= start) & (idx <= hi)
    codes, accounts = pd.factorize(monthly["account_id"].to_numpy()[keep], sort=True)
    n = hi - start + 1
    grid = np.zeros(len(accounts) * n)
    np.add.at(grid, codes * n + (idx[keep] - start), monthly["revenue"].to_numpy(float)[keep])
    grid = grid.reshape(len(accounts), n)
    # sums[:, i] = revenue of months i .. i+11 (window ending at column i + 11)
    sums = np.zeros((len(accounts), n - WINDOW + 1))
    for k in range(WINDOW):
        sums += grid[:, k : n - WINDOW + 1 + k]
    cur = sums[:, WINDOW:]  # windows ending at columns 23 .. n-1, i.e. months lo .. hi
    prev = sums[:, : n - 2 * WINDOW + 1]
    rows, cols = np.nonzero((cur != 0) | (prev != 0))
    month_index = lo + cols
    months = [dt.date(int(m // 12), int(m % 12) + 1, 1) for m in range(lo, hi + 1)]
    return pd.DataFrame(
        {
            "month": np.array(months, dtype=object)[cols],
            "account_id": accounts[rows].astype(int),
            "revenue_12m": cur[rows, cols],
            "revenue_prev_12m": prev[rows, cols],
        }
    ).iloc[np.lexsort((accounts[rows], month_index))]


def _chunks(ids: list[int] | None) -> Iterable[list[int] | None]:
    if ids is None:
        yield None
        return
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def rebuild(
    conn: Connection, account_ids: Iterable[int] | None = None, since: dt.date | None = None
) -> int:
    """Recompute the windows of ``account_ids`` (default all) from month ``since`` on.

    Run inside the transaction that changed the monthly rollup. Returns rows written.
    """
    last = conn.execute(select(func.max(AccountMonthly.month))).scalar()
    ids = None if account_ids is None else sorted({int(a) for a in account_ids})
    written = 0
    for part in _chunks(ids):
        gone = delete(AccountPeriod)
        if since is not None:
            gone = gone.where(AccountPeriod.month >= since)
        if part is not None:
            gone = gone.where(AccountPeriod.account_id.in_(part))
        conn.execute(gone)
        if last is None:
            continue
        stmt = select(AccountMonthly.account_id, AccountMonthly.month, AccountMonthly.revenue)
        if since is not None:
            stmt = stmt.where(AccountMonthly.month >= add_months(since, -(2 * WINDOW - 1)))
        if part is not None:
            stmt = stmt.where(AccountMonthly.account_id.in_(part))
        monthly = read_frame(conn, stmt)
        if monthly.empty:
            continue
        first = since or pd.to_datetime(monthly["month"]).min().date()
        written += insert_frame(conn, AccountPeriod.__table__, period_rows(monthly, first, last))
    return written


def after_rollup_change(
    conn: Connection, account_ids: Iterable[int], since: dt.date, previous_last: dt.date | None
) -> int:
    """Bring the windows up to date after the rollup of ``account_ids`` changed from
    ``since`` on; ``previous_last`` is the rollup's last month before the change.

    When the change added months after ``previous_last``, every account gets windows
    for those months (an account without revenue in them still has a window that
    reaches back to earlier revenue).
    """
    written = rebuild(conn, account_ids, since)
    last = conn.execute(select(func.max(AccountMonthly.month))).scalar()
    if previous_last is not None and last is not None and last > previous_last:
        written += rebuild(conn, None, add_months(previous_last, 1))
    return written
