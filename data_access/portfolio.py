"""Named, scoped queries behind the portfolio overview and the account list."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Connection, Select, String, and_, func, or_, select, type_coerce

from analytics.periods import add_months, month_end
from analytics.profile import classify_change
from data_access import segments, stage_rollup
from data_access.frames import keep_listed, listed, read_frame
from data_access.schema import (
    Account,
    AccountMonthly,
    AccountPeriod,
    AccountScore,
    Interaction,
    InterventionRecord,
    LifecycleEvent,
    SegmentMonthly,
    SurveyResponse,
    Team,
    User,
)
from data_access.scope import Filters, Scope, filter_clauses, scope_clause


def _accounts_where(scope: Scope, filters: Filters) -> list:
    return [scope_clause(scope), *filter_clauses(filters)]


# Each account's 12-month revenue windows (one row per account and window end).
_REV = AccountPeriod.__table__.alias("rev")


def _relevant_accounts(scope: Scope, filters: Filters, *columns) -> Select:
    """``columns`` of the accounts in view onboarded by the period end and not churned
    before the prior 12-month window, in account order, with their 12-month window
    ending with the period (``_REV``) and health snapshot at its end joined."""
    end = month_end(filters.period_month)
    return (
        select(*columns)
        .select_from(Account)
        .outerjoin(
            _REV, and_(_REV.c.account_id == Account.id, _REV.c.month == filters.period_month)
        )
        .outerjoin(
            AccountScore, and_(AccountScore.account_id == Account.id, AccountScore.as_of == end)
        )
        .where(
            *_accounts_where(scope, filters),
            Account.onboarded_on <= end,
            or_(
                Account.churned_on.is_(None),
                Account.churned_on >= add_months(filters.period_month, -23),
            ),
        )
        .order_by(Account.id)
    )


def fetch_available_months(conn: Connection, scope: Scope) -> list[dt.date]:
    """Every month from the first to the last with revenue data the viewer can see,
    newest first (the first and last are read from the segment rollup)."""
    first, last = segments.months_with_revenue(conn, scope)
    if first is None:
        return []
    months = [last]
    while months[-1] > first:
        months.append(add_months(months[-1], -1))
    return months


def fetch_filter_options(conn: Connection, scope: Scope) -> dict[str, list]:
    """Distinct regions, industries, tiers and teams among the viewer's accounts."""
    where = scope_clause(scope)
    opts = {}
    for key, col in (
        ("regions", Account.region),
        ("industries", Account.industry),
        ("tiers", Account.tier),
    ):
        opts[key] = [v for (v,) in conn.execute(select(col).where(where).distinct().order_by(col))]
    teams = conn.execute(
        select(Team.id, Team.code, Team.name_en, Team.name_zh)
        .where(Team.id.in_(select(Account.team_id).where(where)))
        .order_by(Team.code)
    ).all()
    opts["teams"] = [dict(r._mapping) for r in teams]
    return opts


def fetch_portfolio_accounts(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """One row per account relevant to the 12 months ending with the period.

    Parameters
    ----------
    conn : Connection
    scope : Scope
        Only accounts the viewer may see are returned.
    filters : Filters
        Dimension filters and the period's last month.

    Returns
    -------
    DataFrame
        ``account_id, tier, onboarded_on, churned_on, revenue_12m, revenue_prev_12m,
        stage, health_score, health_band`` for accounts onboarded by the period end and
        not churned before the prior 12-month window. Revenue comes from the account's
        12-month windows (``account_periods``), one row per account; health from the
        snapshot at the period end. No names: the overview reads every account of the
        portfolio and names only its top movers (see :func:`fetch_account_names`).
    """
    end = month_end(filters.period_month)
    # Each account's stage on ``end``: the event whose span holds that day.
    events = LifecycleEvent.__table__
    stmt = _relevant_accounts(
        scope,
        filters,
        Account.id.label("account_id"),
        Account.tier,
        # Dates as the database sends them, parsed for the whole column at once below
        # (SQLite sends text, which SQLAlchemy would parse value by value).
        type_coerce(Account.onboarded_on, String).label("onboarded_on"),
        type_coerce(Account.churned_on, String).label("churned_on"),
        func.coalesce(_REV.c.revenue_12m, 0.0).label("revenue_12m"),
        func.coalesce(_REV.c.revenue_prev_12m, 0.0).label("revenue_prev_12m"),
        events.c.stage,
        AccountScore.health_score,
        AccountScore.health_band,
    ).outerjoin(
        events, and_(events.c.account_id == Account.id, stage_rollup.holding_on(events, end))
    )
    df = read_frame(conn, stmt)
    for col in ("onboarded_on", "churned_on"):
        df[col] = pd.to_datetime(df[col].astype(object), format="ISO8601")
    return df


def fetch_account_names(conn: Connection, ids: list[int]) -> pd.DataFrame:
    """``account_id, code, name`` of the given accounts."""
    return read_frame(
        conn,
        select(Account.id.label("account_id"), Account.code, Account.name).where(
            Account.id.in_([int(i) for i in ids] or [-1])
        ),
    )


def fetch_nps_counts(conn: Connection, scope: Scope, filters: Filters) -> dict[str, int]:
    """Promoters, passives and detractors among NPS responses in the 12-month period."""
    s = SegmentMonthly
    row = conn.execute(
        select(
            func.coalesce(func.sum(s.responses), 0),
            func.coalesce(func.sum(s.promoters), 0),
            func.coalesce(func.sum(s.detractors), 0),
        ).where(
            s.source == "nps",
            s.month.between(add_months(filters.period_month, -11), filters.period_month),
            *segments.where(scope, filters),
        )
    ).one()
    n, p, d = (int(v) for v in row)
    return {"promoters": p, "passives": n - p - d, "detractors": d}


def fetch_monthly_revenue(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Total revenue per month over the 24 months ending with the period."""
    s = SegmentMonthly
    stmt = (
        select(s.month, func.sum(s.revenue).label("revenue"))
        .where(
            s.source == "revenue",
            s.month.between(add_months(filters.period_month, -23), filters.period_month),
            *segments.where(scope, filters),
        )
        .group_by(s.month)
        .order_by(s.month)
    )
    df = read_frame(conn, stmt)
    df["month"] = pd.to_datetime(df["month"])
    return df


def fetch_account_list(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """The account list: what it searches, narrows and sorts by, for every account.

    Parameters
    ----------
    conn : Connection
    scope : Scope
        Only accounts the viewer may see are returned.
    filters : Filters
        Dimension filters and the period's last month.

    Returns
    -------
    DataFrame
        ``account_id, code, name, tier, team_id, churned_on, revenue_12m,
        health_band`` for the accounts :func:`fetch_portfolio_accounts` returns. What
        the list only shows (stage, health score, owner, products, latest NPS, contact
        recency, open interventions, health trend) is read for the rows shown by
        :func:`fetch_account_details`: at 104,000 accounts, finding every account's
        stage and sending columns nobody searches took a third of the page's time.
    """
    stmt = _relevant_accounts(
        scope,
        filters,
        Account.id.label("account_id"),
        Account.code,
        Account.name,
        Account.tier,
        Account.team_id,
        type_coerce(Account.churned_on, String).label("churned_on"),
        func.coalesce(_REV.c.revenue_12m, 0.0).label("revenue_12m"),
        AccountScore.health_band,
    )
    df = read_frame(conn, stmt)
    df["churned_on"] = pd.to_datetime(df["churned_on"].astype(object), format="ISO8601")
    return df


def fetch_account_details(
    conn: Connection,
    scope: Scope,
    filters: Filters,
    account_ids: list[int],
    noise: float | None,
) -> pd.DataFrame:
    """Stage, health, owner, products, latest NPS, contact recency, open interventions and
    health trend.

    Parameters
    ----------
    conn : Connection
    scope : Scope
        Accounts outside it are not read, whatever ``account_ids`` asks for.
    filters : Filters
        The period: products held in its last month, the latest NPS answer and last
        contact up to its end, the health trend over the three months before it.
    account_ids : list of int
        The accounts to describe (those a list shows, or all of a download).
    noise : float or None
        Health change within noise (:func:`fetch_health_noise`); None: no trend.

    Returns
    -------
    DataFrame
        ``account_id, stage, health_score, owner, products_held, last_contact,
        days_since_contact, latest_nps, open_interventions, health_prev,
        health_trend``, one row per
        account of ``account_ids`` in scope, in no particular order.
    """
    end = month_end(filters.period_month)
    earlier = month_end(add_months(filters.period_month, -3))
    ids = sorted({int(i) for i in account_ids})
    where = [*_accounts_where(scope, filters), *listed(Account.id, ids)]
    # Latest NPS answer, last contact and open interventions by index seeks per account
    # (the indexes on account, survey, date; account, date; account), not by grouping
    # every answer and interaction.
    latest_score = (
        select(SurveyResponse.score)
        .where(
            SurveyResponse.account_id == Account.id,
            SurveyResponse.survey == "nps",
            SurveyResponse.responded_on <= end,
        )
        .order_by(SurveyResponse.responded_on.desc(), SurveyResponse.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    last_day = (
        select(func.max(Interaction.occurred_on))
        .where(Interaction.account_id == Account.id, Interaction.occurred_on <= end)
        .scalar_subquery()
    )
    open_iv = (
        select(func.count())
        .where(
            InterventionRecord.account_id == Account.id,
            InterventionRecord.status.in_(("planned", "in_progress")),
        )
        .scalar_subquery()
    )
    prev = AccountScore.__table__.alias("prev")
    events = LifecycleEvent.__table__
    out = read_frame(
        conn,
        select(
            Account.id.label("account_id"),
            events.c.stage,
            User.display_name.label("owner"),
            AccountMonthly.products_held,
            type_coerce(last_day, String).label("last_contact"),
            latest_score.label("latest_nps"),
            open_iv.label("open_interventions"),
            AccountScore.health_score,
            prev.c.health_score.label("health_prev"),
        )
        .outerjoin(User, User.id == Account.owner_id)
        .outerjoin(
            events,
            and_(events.c.account_id == Account.id, stage_rollup.holding_on(events, end)),
        )
        .outerjoin(
            AccountMonthly,
            and_(
                AccountMonthly.account_id == Account.id,
                AccountMonthly.month == filters.period_month,
            ),
        )
        .outerjoin(
            AccountScore, and_(AccountScore.account_id == Account.id, AccountScore.as_of == end)
        )
        .outerjoin(prev, and_(prev.c.account_id == Account.id, prev.c.as_of == earlier))
        .where(*where),
    )
    out = keep_listed(out, "account_id", ids)
    out["last_contact"] = pd.to_datetime(out["last_contact"].astype(object), format="ISO8601")
    out["days_since_contact"] = (pd.Timestamp(end) - out["last_contact"]).dt.days
    out["open_interventions"] = out["open_interventions"].fillna(0).astype(int)
    out["products_held"] = out["products_held"].fillna(0).astype(int)
    # Numbers of the same type whichever accounts are asked for (gaps make them float).
    out["latest_nps"] = out["latest_nps"].astype(float)
    out["days_since_contact"] = out["days_since_contact"].astype(float)
    out["health_trend"] = [
        classify_change(d, noise) for d in (out["health_score"] - out["health_prev"])
    ]
    return out


def fetch_health_noise(conn: Connection, scope: Scope, as_of: dt.date) -> float | None:
    """Typical 3-month change of health scores in the viewer's portfolio.

    Twice the median absolute change between the snapshots at ``as_of`` and three
    months earlier; a change smaller than this is within noise.
    """
    earlier = month_end(add_months(as_of.replace(day=1), -3))
    now_s = AccountScore.__table__.alias("now_s")
    then_s = AccountScore.__table__.alias("then_s")
    df = read_frame(
        conn,
        select((now_s.c.health_score - then_s.c.health_score).label("delta"))
        .join(then_s, and_(then_s.c.account_id == now_s.c.account_id, then_s.c.as_of == earlier))
        .join(Account, Account.id == now_s.c.account_id)
        .where(now_s.c.as_of == month_end(as_of), scope_clause(scope)),
    )
    if len(df) < 10:
        return None
    return float(2 * df["delta"].abs().median())
