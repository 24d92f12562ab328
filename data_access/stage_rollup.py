"""Lifecycle stages and tiers per segment and month-end (``segment_stage_counts`` and
``segment_stage_flows``).

The lifecycle page shows how many accounts were in each stage at 24 month-ends and how
accounts moved between stages and tiers over a 12-month period. Both are sums over
accounts, so they are kept per segment (team, tier, region, industry) like the revenue
totals: the page reads a few thousand rows for any filter instead of every account's
events. Whatever adds events or moves accounts between segments rebuilds both tables
(:func:`rebuild`); a revenue import that adds or removes months extends them
(:func:`rebuild_if_months_changed`). The rebuild also dates the end of each stage event
and tier change (``ended_on``), so that the row holding on a day is found by a range
condition (:func:`holding_on`) rather than a seek per account.

An account's state on a day is its latest event on or before that day; of two events on
one day, the one recorded later holds (an account at risk and churned that day is
churned).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    type_coerce,
    update,
)

from analytics.lifecycle import GONE, NOT_YET
from analytics.periods import add_months, month_end
from data_access import segments
from data_access.bulk import insert_frame
from data_access.frames import read_frame
from data_access.schema import (
    Account,
    AppSetting,
    LifecycleEvent,
    SegmentMonthly,
    SegmentStageCount,
    SegmentStageFlow,
    TierHistory,
)
from data_access.scope import Filters, Scope

DIMS = segments.DIMS
# The application setting that records the months the tables cover.
COVERED = "stage_rollup_months"
KINDS = ("stage", "tier")
FLOW_MONTHS = 12
# The lifecycle page shows the stage distribution over 24 month-ends to its period's end.
DISTRIBUTION_MONTHS = 24


def _spell_tables():
    """Each table of events that hold until the account's next one, with its day."""
    return (
        (LifecycleEvent.__table__, LifecycleEvent.__table__.c.entered_on),
        (TierHistory.__table__, TierHistory.__table__.c.changed_on),
    )


def close_spells(conn: Connection) -> None:
    """Set every stage event's and tier change's ``ended_on`` to the day the account's
    next one took over (``NULL`` for its last), in one statement per table; only rows
    whose day changed are written."""
    for table, day in _spell_tables():
        later = select(
            table.c.id,
            func.lead(day)
            .over(partition_by=table.c.account_id, order_by=(day, table.c.id))
            .label("next_day"),
        ).subquery()
        conn.execute(
            update(table)
            .where(table.c.id == later.c.id, table.c.ended_on.is_distinct_from(later.c.next_day))
            .values(ended_on=later.c.next_day)
        )


def holding_on(table, day: dt.date | ColumnElement):
    """The condition that a row of ``table`` (stage events or tier changes, or an alias of
    either) held on ``day``: it began on or before it and no later one took over by it."""
    begun = table.c.entered_on if "entered_on" in table.c else table.c.changed_on
    return and_(begun <= day, or_(table.c.ended_on.is_(None), table.c.ended_on > day))


def _events(conn: Connection, kind: str) -> pd.DataFrame:
    """Every account's events of ``kind`` in the order they hold: by day, then by id."""
    if kind == "stage":
        t, stage, day = LifecycleEvent, LifecycleEvent.stage, LifecycleEvent.entered_on
    else:
        t, stage, day = TierHistory, TierHistory.tier, TierHistory.changed_on
    ev = read_frame(
        conn,
        select(t.id, t.account_id, stage.label("stage"), type_coerce(day, String).label("day")),
    )
    ev["day"] = pd.to_datetime(ev["day"], format="ISO8601")
    return ev.sort_values(["account_id", "day", "id"], kind="stable").reset_index(drop=True)


def months_covered(conn: Connection) -> tuple[dt.date, dt.date]:
    """First and last month the tables hold: every month a lifecycle period can end in
    (months with revenue, from the 12th on) and the 23 before the first of them. Without
    revenue, the 24 months to this one."""
    first, last = conn.execute(
        select(func.min(SegmentMonthly.month), func.max(SegmentMonthly.month)).where(
            SegmentMonthly.source == "revenue"
        )
    ).one()
    if first is None:
        last = dt.date.today().replace(day=1)
        return add_months(last, 1 - DISTRIBUTION_MONTHS), last
    return add_months(first, FLOW_MONTHS - DISTRIBUTION_MONTHS), last


def state_grid(
    events: pd.DataFrame, account_ids: np.ndarray, days: pd.DatetimeIndex
) -> tuple[list[str], np.ndarray]:
    """Each account's state on each of ``days`` (sorted): ``(codes, grid)`` where
    ``grid[i, j]`` indexes ``codes`` for ``account_ids[i]`` on ``days[j]``; code 0 is
    ``not_yet``.

    ``events`` (``account_id, stage, day``) sorted by account, day and id. Each event
    holds from the first day on or after its own until the account's next event; the
    cells are filled span by span, so the cost grows with accounts × days at most.
    """
    codes = [NOT_YET, *sorted(set(events["stage"]) - {NOT_YET})]
    grid = np.zeros((len(account_ids), len(days)), dtype=np.int8)
    if events.empty or not len(days):
        return codes, grid
    row = pd.Index(account_ids).get_indexer(events["account_id"])
    ev = events[row >= 0]
    row = row[row >= 0]
    day = ev["day"].to_numpy(dtype="datetime64[ns]")
    start = days.searchsorted(day, side="left")
    same = np.r_[row[1:] == row[:-1], False]
    stop = np.where(same, np.r_[start[1:], 0], len(days))
    length = np.maximum(stop - start, 0)
    code = pd.Index(codes).get_indexer(ev["stage"]).astype(np.int8)
    cells = int(length.sum())
    first_cell = np.repeat(np.cumsum(length) - length, length)
    cols = np.repeat(start, length) + (np.arange(cells) - first_cell)
    grid[np.repeat(row, length), cols] = np.repeat(code, length)
    return codes, grid


def _segments(accounts: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct segments and each account's index into them."""
    index, uniques = pd.factorize(pd.MultiIndex.from_frame(accounts[list(DIMS)]))
    return uniques.to_frame(index=False, name=list(DIMS)), index


def _counted(keys: np.ndarray, sizes: tuple[int, ...], names: list[str]) -> pd.DataFrame:
    """How often each combined key occurs, unravelled into its parts (non-zero only)."""
    n = np.bincount(keys.ravel(), minlength=int(np.prod(sizes)))
    hit = np.flatnonzero(n)
    parts = np.unravel_index(hit, sizes)
    return pd.DataFrame({**dict(zip(names, parts, strict=True)), "accounts": n[hit]})


def rollup_rows(
    events: pd.DataFrame,
    accounts: pd.DataFrame,
    first: dt.date,
    last: dt.date,
    with_counts: bool,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Count rows (if ``with_counts``) and flow rows of one kind of event for the months
    ``first`` to ``last``; flows from the 12th month on.

    ``accounts``: ``account_id`` and the segment dimensions.
    """
    months = pd.date_range(first, last, freq="MS")
    days = pd.DatetimeIndex([pd.Timestamp(month_end(m.date())) for m in months])
    codes, grid = state_grid(events, accounts["account_id"].to_numpy(), days)
    seg, seg_of = _segments(accounts)
    nc, nm, ns = len(codes), len(months), max(len(seg), 1)
    label = np.array(codes, dtype=object)

    def with_dims(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.reset_index(drop=True)
        dims = seg.iloc[frame.pop("segment").to_numpy(dtype=np.int64)].reset_index(drop=True)
        month = months[frame["month"].to_numpy(dtype=np.int64)].date
        return pd.concat([frame.assign(month=month), dims], axis=1)

    counts = pd.DataFrame()
    if with_counts:
        keys = (seg_of[:, None] * nm + np.arange(nm)[None, :]) * nc + grid
        counts = _counted(keys, (ns, nm, nc), ["segment", "month", "stage"])
        counts["stage"] = label[counts["stage"]]
        counts = with_dims(counts[~counts["stage"].isin([NOT_YET, GONE])])
    flows = pd.DataFrame(columns=["segment", "month", "from_stage", "to_stage", "accounts"])
    if nm > FLOW_MONTHS:
        later = grid[:, FLOW_MONTHS:].astype(np.int64)
        earlier = grid[:, :-FLOW_MONTHS].astype(np.int64)
        span = nm - FLOW_MONTHS
        keys = ((seg_of[:, None] * span + np.arange(span)[None, :]) * nc + earlier) * nc + later
        flows = _counted(keys, (ns, span, nc, nc), ["segment", "month", "from_stage", "to_stage"])
        flows["month"] += FLOW_MONTHS
        flows["from_stage"] = label[flows["from_stage"]]
        flows["to_stage"] = label[flows["to_stage"]]
        gone = (flows["from_stage"] == GONE) & (flows["to_stage"] == GONE)
        flows = flows[~gone & (flows["to_stage"] != NOT_YET)]
    return counts, with_dims(flows)


def rebuild(conn: Connection) -> None:
    """Date when each event and tier change ended (:func:`close_spells`) and recompute
    both tables (:func:`rebuild_tables`), inside the caller's transaction. Call after the
    revenue segment rows are current: they say which months to cover."""
    close_spells(conn)
    rebuild_tables(conn)


def rebuild_tables(conn: Connection) -> None:
    """Recompute both tables from every event, tier change and account."""
    first, last = months_covered(conn)
    accounts = read_frame(
        conn, select(Account.id.label("account_id"), *(getattr(Account, d) for d in DIMS))
    )
    conn.execute(delete(SegmentStageCount))
    conn.execute(delete(SegmentStageFlow))
    for kind in KINDS:
        counts, flows = rollup_rows(
            _events(conn, kind), accounts, first, last, with_counts=kind == "stage"
        )
        insert_frame(conn, SegmentStageCount.__table__, counts)
        insert_frame(conn, SegmentStageFlow.__table__, flows.assign(kind=kind))
    conn.execute(delete(AppSetting).where(AppSetting.key == COVERED))
    conn.execute(insert(AppSetting).values(key=COVERED, value=_covered_text(first, last)))


def rebuild_if_months_changed(conn: Connection) -> None:
    """Rebuild when the months the tables should cover moved (a revenue import of a new
    month); otherwise leave them, as revenue does not change stages."""
    held = conn.execute(select(AppSetting.value).where(AppSetting.key == COVERED)).scalar()
    if held != _covered_text(*months_covered(conn)):
        rebuild(conn)


def _covered_text(first: dt.date, last: dt.date) -> str:
    return f"{first.isoformat()} {last.isoformat()}"


def fetch_distribution(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Accounts per stage at the 24 month-ends to the period's end, as
    :func:`analytics.lifecycle.compute_stage_distribution` returns them: one row per
    month-end with any account, one column per stage with any account."""
    t = SegmentStageCount
    last = filters.period_month
    first = add_months(last, 1 - DISTRIBUTION_MONTHS)
    rows = read_frame(
        conn,
        select(
            type_coerce(t.month, String).label("month"), t.stage, func.sum(t.accounts).label("n")
        )
        .where(t.month.between(first, last), *segments.where(scope, filters, t))
        .group_by(t.month, t.stage),
    )
    rows = rows[rows["n"] > 0]
    if rows.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="day", dtype="datetime64[ns]"))
    wide = rows.pivot(index="month", columns="stage", values="n").fillna(0).astype(np.int64)
    wide.index = pd.DatetimeIndex(
        [pd.Timestamp(month_end(pd.Timestamp(m).date())) for m in wide.index], name="day"
    ).astype("datetime64[ns]")
    wide.columns = pd.Index(list(wide.columns), name="stage")
    return wide.sort_index()[sorted(wide.columns)]


def fetch_flows(conn: Connection, scope: Scope, filters: Filters, kind: str) -> pd.DataFrame:
    """Accounts by their stage (``kind`` ``stage``) or tier (``tier``) 12 months before
    the period's end and at it: ``from_stage, to_stage, n`` as
    :func:`analytics.lifecycle.compute_transitions` returns them."""
    t = SegmentStageFlow
    n = func.sum(t.accounts)
    out = read_frame(
        conn,
        select(t.from_stage, t.to_stage, n.label("n"))
        .where(t.month == filters.period_month, t.kind == kind, *segments.where(scope, filters, t))
        .group_by(t.from_stage, t.to_stage)
        .having(n > 0),
    )
    # Sorted here: a server's collation may order "not_yet" and "at_risk" otherwise.
    out = out.sort_values(["from_stage", "to_stage"]).reset_index(drop=True)
    return out.astype({"n": np.int64})
