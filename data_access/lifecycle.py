"""Named, scoped queries behind the lifecycle & retention page and the model lab."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import (
    Connection,
    Date,
    String,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    type_coerce,
)

from analytics import lifecycle as lc
from analytics.periods import add_months, month_end
from analytics.survival import RetentionCurves, build_survival_frame, compute_retention
from data_access import stage_rollup
from data_access.frames import read_frame
from data_access.schema import (
    Account,
    AccountMonthly,
    AccountPeriod,
    AccountScore,
    LifecycleEvent,
    ModelRun,
    TierHistory,
)
from data_access.scope import Filters, Scope, filter_clauses, scope_clause


def _days(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Date columns read as ISO text, parsed per column (not a date object per row)."""
    for column in columns:
        frame[column] = pd.to_datetime(frame[column], format="ISO8601")
    return frame


def _current_stages(scope: Scope, filters: Filters, as_of: dt.date, *columns):
    """``columns`` of the stage event each account in view is in on ``as_of``, for
    accounts neither churned nor without a stage then."""
    events = LifecycleEvent.__table__
    return (
        select(*columns)
        .select_from(Account)
        .join(
            LifecycleEvent,
            and_(
                LifecycleEvent.account_id == Account.id,
                stage_rollup.holding_on(events, as_of),
            ),
        )
        .where(
            scope_clause(scope),
            *filter_clauses(filters),
            LifecycleEvent.stage.not_in([lc.NOT_YET, lc.GONE]),
        )
    )


def fetch_time_in_stage(
    conn: Connection, scope: Scope, filters: Filters, as_of: dt.date, stuck_limit: int = 50
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Days the accounts in view have spent in their current stage on ``as_of``.

    Returns ``(summary, stuck)`` as :func:`analytics.lifecycle.time_in_stage_summary`
    and :func:`analytics.lifecycle.stuck_accounts` give them: percentiles per stage, and
    the ``stuck_limit`` accounts longest beyond their stage's 90th percentile (``account_id,
    stage, days, p90, code, name``). The database counts accounts per stage and entry
    day; only those rows and the longest-stuck accounts are read.
    """
    entered = type_coerce(LifecycleEvent.entered_on, String).label("entered_on")
    counts = read_frame(
        conn,
        _current_stages(
            scope, filters, as_of, LifecycleEvent.stage, entered, func.count().label("n")
        ).group_by(LifecycleEvent.stage, LifecycleEvent.entered_on),
    )
    days = (pd.Timestamp(as_of) - pd.to_datetime(counts["entered_on"], format="ISO8601")).dt.days
    current = pd.DataFrame(
        {
            "stage": np.repeat(counts["stage"].to_numpy(), counts["n"]),
            "days": np.repeat(days.to_numpy(), counts["n"]),
        }
    )
    summary = lc.time_in_stage_summary(current)
    columns = ["account_id", "stage", "days", "p90", "code", "name"]
    # Longer than the stage's 90th percentile: at least its whole days + 1.
    p90 = summary.set_index("stage")["p90"]
    counts = counts.assign(days=days, p90=counts["stage"].map(p90))
    beyond = counts[counts["days"] > counts["p90"]].sort_values("days", ascending=False)
    if beyond.empty:
        return summary, pd.DataFrame(columns=columns)
    # Entry day of the ``stuck_limit``-th longest: no account after it is among them.
    nth = np.searchsorted(beyond["n"].cumsum().to_numpy(), stuck_limit)
    latest_day = pd.Timestamp(beyond["entered_on"].iloc[min(nth, len(beyond) - 1)]).date()
    by_stage = [
        and_(
            LifecycleEvent.stage == stage,
            LifecycleEvent.entered_on <= as_of - dt.timedelta(days=math.floor(limit) + 1),
        )
        for stage, limit in p90.items()
    ]
    stuck = read_frame(
        conn,
        _current_stages(
            scope,
            filters,
            as_of,
            Account.id.label("account_id"),
            LifecycleEvent.stage,
            entered,
            Account.code,
            Account.name,
        )
        .where(LifecycleEvent.entered_on <= latest_day, or_(*by_stage))
        .order_by(LifecycleEvent.entered_on, Account.id)
        .limit(stuck_limit),
    )
    stuck["days"] = (
        pd.Timestamp(as_of) - pd.to_datetime(stuck.pop("entered_on"), format="ISO8601")
    ).dt.days
    stuck["p90"] = stuck["stage"].map(p90)
    return summary, stuck[columns]


def fetch_survival_accounts(
    conn: Connection, scope: Scope, filters: Filters, window_start: dt.date
) -> pd.DataFrame:
    """Accounts in view with onboarding, churn, tier and product depth at observation
    start (the window's start, or onboarding if later)."""
    # Product depth in the first month with revenue from the window's start: that month
    # itself for most accounts (read in one pass by its month), else one seek per
    # account on the rollup's key.
    at_start = AccountMonthly.__table__.alias("at_start")
    later = (
        select(AccountMonthly.products_held)
        .where(AccountMonthly.account_id == Account.id, AccountMonthly.month > window_start)
        .order_by(AccountMonthly.month)
        .limit(1)
        .scalar_subquery()
    )
    depth = func.coalesce(at_start.c.products_held, later)
    # The tier held on the day observation starts: the tier change whose span holds it.
    entry_day = case(
        (Account.onboarded_on > window_start, Account.onboarded_on),
        else_=literal(window_start, Date),
    )
    tiers = TierHistory.__table__
    acc = read_frame(
        conn,
        select(
            Account.id.label("account_id"),
            type_coerce(Account.onboarded_on, String).label("onboarded_on"),
            type_coerce(Account.churned_on, String).label("churned_on"),
            depth.label("products_held"),
            tiers.c.tier,
        )
        .select_from(Account)
        .outerjoin(
            at_start, and_(at_start.c.account_id == Account.id, at_start.c.month == window_start)
        )
        .outerjoin(
            tiers,
            and_(tiers.c.account_id == Account.id, stage_rollup.holding_on(tiers, entry_day)),
        )
        .where(scope_clause(scope), *filter_clauses(filters)),
    )
    acc = _days(acc, "onboarded_on", "churned_on")
    acc["depth"] = lc.depth_band(acc["products_held"].fillna(1))
    acc["tier"] = acc["tier"].fillna("basic")
    return acc


def fetch_at_risk(
    conn: Connection, scope: Scope, filters: Filters, limit: int = 25
) -> pd.DataFrame:
    """Active accounts ranked by expected revenue at risk: 12-month churn risk × revenue.

    The ``limit`` largest rows; ``attrs`` hold the total over every scored account in
    view (``total_expected``) and how many there are (``n_scored``), summed in SQL in
    the same query.
    """
    end = month_end(filters.period_month)
    rev = AccountPeriod.__table__.alias("rev")
    at_risk = (AccountScore.churn_risk * rev.c.revenue_12m).label("revenue_at_risk")

    # The total and the count ride on the largest rows (windows over every scored
    # account, computed before the limit): the accounts are joined once, not twice.
    out = read_frame(
        conn,
        select(
            Account.code,
            Account.name,
            Account.tier,
            AccountScore.churn_risk,
            AccountScore.churn_risk_low,
            AccountScore.churn_risk_high,
            AccountScore.health_score,
            rev.c.revenue_12m,
            at_risk,
            func.sum(at_risk).over().label("total_expected"),
            func.count().over().label("n_scored"),
        )
        .select_from(Account)
        .join(AccountScore, and_(AccountScore.account_id == Account.id, AccountScore.as_of == end))
        .join(rev, and_(rev.c.account_id == Account.id, rev.c.month == filters.period_month))
        .where(
            scope_clause(scope),
            *filter_clauses(filters),
            or_(Account.churned_on.is_(None), Account.churned_on > end),
            AccountScore.churn_risk.is_not(None),
        )
        .order_by(at_risk.desc().nulls_last(), Account.id)
        .limit(limit),
    )
    total = out.pop("total_expected").iloc[0] if len(out) else 0.0
    n = out.pop("n_scored").iloc[0] if len(out) else 0
    out.attrs["total_expected"] = float(total or 0.0)
    out.attrs["n_scored"] = int(n)
    return out


def fetch_latest_model(conn: Connection, kind: str) -> dict | None:
    """The newest model run of a kind: as-of date, parameters and statistics.

    Model runs hold portfolio-level aggregates (coefficients, AUCs), never rows.
    """
    row = conn.execute(
        select(
            ModelRun.as_of, ModelRun.version, ModelRun.params, ModelRun.stats, ModelRun.finished_at
        )
        .where(ModelRun.kind == kind, ModelRun.status == "done")
        .order_by(ModelRun.id.desc())
        .limit(1)
    ).one_or_none()
    return dict(row._mapping) if row else None


@dataclass(frozen=True)
class LifecycleData:
    """Everything the lifecycle & retention page shows."""

    period_start: dt.date
    period_end: dt.date
    distribution: pd.DataFrame
    stage_flows: pd.DataFrame
    tier_flows: pd.DataFrame
    time_in_stage: pd.DataFrame
    stuck: pd.DataFrame
    by_tier: RetentionCurves
    by_depth: RetentionCurves
    n_accounts: int
    drivers: dict | None
    at_risk: pd.DataFrame


def load_lifecycle_data(conn: Connection, scope: Scope, filters: Filters) -> LifecycleData:
    """Assemble the lifecycle page for the viewer's scope and filters."""
    end = pd.Timestamp(month_end(filters.period_month))
    start_month = add_months(filters.period_month, -11)
    summary, stuck = fetch_time_in_stage(conn, scope, filters, end.date())
    window_start = add_months(filters.period_month, -35)
    surv = build_survival_frame(
        fetch_survival_accounts(conn, scope, filters, window_start),
        pd.Timestamp(window_start),
        end,
    )
    return LifecycleData(
        period_start=start_month,
        period_end=end.date(),
        distribution=stage_rollup.fetch_distribution(conn, scope, filters),
        stage_flows=stage_rollup.fetch_flows(conn, scope, filters, "stage"),
        tier_flows=stage_rollup.fetch_flows(conn, scope, filters, "tier"),
        time_in_stage=summary,
        stuck=stuck,
        by_tier=compute_retention(surv, "tier", horizon=120),
        by_depth=compute_retention(surv, "depth", horizon=120),
        n_accounts=len(surv),
        drivers=fetch_latest_model(conn, "churn_drivers"),
        at_risk=fetch_at_risk(conn, scope, filters),
    )
