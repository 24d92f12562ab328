"""Scoped queries and writes behind the satisfaction page (NPS, CSAT, CES, closed loop)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, and_, case, func, or_, select

from analytics import satisfaction as sa
from analytics.periods import add_months, month_end
from data_access import segments
from data_access.frames import read_frame
from data_access.interventions import InterventionInput, create_intervention
from data_access.schema import (
    Account,
    AccountPeriod,
    Contact,
    Holding,
    InterventionRecord,
    Product,
    SegmentMonthly,
    SurveyResponse,
    Team,
    User,
)
from data_access.scope import Filters, Scope, filter_clauses, scope_clause
from data_access.settings import fetch_satisfaction_settings
from data_access.sqlfuncs import month_of
from data_access.writes import NotPermitted

HISTORY_MONTHS = 36
LOOP_WINDOW_DAYS = 90


def _where(scope: Scope, filters: Filters) -> list:
    return [scope_clause(scope), *filter_clauses(filters)]


def _history(filters: Filters) -> tuple[dt.date, dt.date]:
    """First and last month of the 36 months the page looks at."""
    return add_months(filters.period_month, -(HISTORY_MONTHS - 1)), filters.period_month


def _cell_sums(score=SurveyResponse.score) -> list:
    """The sufficient statistics of NPS answers (see ``analytics.satisfaction.as_cells``)."""
    return [
        func.count().label("n"),
        func.sum(case((score >= 9, 1), else_=0)).label("promoters"),
        func.sum(case((score <= 6, 1), else_=0)).label("detractors"),
        func.sum(1.0 * score).label("score_sum"),
        func.sum(1.0 * score * score).label("score_sq_sum"),
    ]


def fetch_survey_cells(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Answers of the 36 months up to the period per survey, month and segment, as cells
    of sufficient statistics (count, favourable, detractors, score sums) from the
    segment rollup: every trend, change and drop scan of the page is computed from these."""
    first, last = _history(filters)
    s = SegmentMonthly
    df = read_frame(
        conn,
        select(
            s.month,
            s.source.label("survey"),
            s.team_id,
            s.tier,
            s.region,
            s.industry,
            s.responses.label("n"),
            s.promoters,
            s.detractors,
            s.score_sum,
            s.score_sq_sum,
        ).where(
            s.source.in_(sa.SURVEYS),
            s.month.between(first, last),
            s.responses > 0,
            *segments.where(scope, filters),
        ),
    )
    df["month"] = pd.to_datetime(df["month"])
    return df


def fetch_product_cells(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """NPS answers of the 36 months per month and product the account held when it
    answered, as cells (an answer counts for each product held)."""
    first, last = _history(filters)
    month = month_of(SurveyResponse.responded_on)
    df = read_frame(
        conn,
        select(month.label("month"), Product.code.label("product"), *_cell_sums())
        .join(Account, Account.id == SurveyResponse.account_id)
        .join(Holding, Holding.account_id == SurveyResponse.account_id)
        .join(Product, Product.id == Holding.product_id)
        .where(
            *_where(scope, filters),
            SurveyResponse.survey == "nps",
            SurveyResponse.responded_on.between(first, month_end(last)),
            Holding.opened_on <= SurveyResponse.responded_on,
            or_(Holding.closed_on.is_(None), Holding.closed_on > SurveyResponse.responded_on),
        )
        .group_by(month, Product.code),
    )
    df["month"] = pd.to_datetime(df["month"])
    return df.assign(survey="nps")


def fetch_account_cells(
    conn: Connection, scope: Scope, filters: Filters, first: dt.date, last: dt.date
) -> pd.DataFrame:
    """Per account and survey, the answers given in months ``first`` to ``last``, as
    cells (the favourable and detractor counts are NPS's)."""
    return read_frame(
        conn,
        select(SurveyResponse.account_id, SurveyResponse.survey, *_cell_sums())
        .join(Account, Account.id == SurveyResponse.account_id)
        .where(*_where(scope, filters), SurveyResponse.responded_on.between(first, month_end(last)))
        .group_by(SurveyResponse.account_id, SurveyResponse.survey),
    )


def fetch_account_sides(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """NPS cells per account for the baseline and the recent months of the per-account
    drop scan (``analytics.satisfaction.account_window``)."""
    start, cut, end = (d.date() for d in sa.account_window(pd.Timestamp(filters.period_month)))
    recent = case((SurveyResponse.responded_on >= cut, 1), else_=0)
    df = read_frame(
        conn,
        select(SurveyResponse.account_id, recent.label("recent"), *_cell_sums())
        .join(Account, Account.id == SurveyResponse.account_id)
        .where(
            *_where(scope, filters),
            SurveyResponse.survey == "nps",
            SurveyResponse.responded_on.between(start, month_end(end)),
        )
        .group_by(SurveyResponse.account_id, recent),
    )
    df["recent"] = df["recent"].astype(bool)
    return df


def fetch_nps_answers(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Every NPS answer of the 36 months (account, month, score): the seasonal
    regression clusters its errors by account."""
    first, last = _history(filters)
    df = read_frame(
        conn,
        select(
            SurveyResponse.account_id,
            month_of(SurveyResponse.responded_on).label("month"),
            SurveyResponse.score,
        )
        .join(Account, Account.id == SurveyResponse.account_id)
        .where(
            *_where(scope, filters),
            SurveyResponse.survey == "nps",
            SurveyResponse.responded_on.between(first, month_end(last)),
        ),
    )
    df["month"] = pd.to_datetime(df["month"])
    return df


def fetch_account_figures(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Accounts in view: onboarding and churn dates, revenue in the 12-month period and
    in the 12 months before it (``revenue_before``; ``revenue_after`` is the period's,
    for satisfaction → later churn and revenue)."""
    win = AccountPeriod.__table__.alias("win")
    out = read_frame(
        conn,
        select(
            Account.id.label("account_id"),
            Account.onboarded_on,
            Account.churned_on,
            func.coalesce(win.c.revenue_12m, 0.0).label("revenue_12m"),
            func.coalesce(win.c.revenue_prev_12m, 0.0).label("revenue_before"),
        )
        .outerjoin(win, and_(win.c.account_id == Account.id, win.c.month == filters.period_month))
        .where(*_where(scope, filters)),
    )
    out["revenue_after"] = out["revenue_12m"]
    return out


def fetch_responding_contacts(
    conn: Connection, scope: Scope, filters: Filters, first: dt.date, last: dt.date
) -> int:
    """Distinct stakeholders who answered any survey in months ``first`` to ``last``."""
    return int(
        conn.execute(
            select(func.count(func.distinct(SurveyResponse.contact_id)))
            .join(Account, Account.id == SurveyResponse.account_id)
            .where(
                *_where(scope, filters),
                SurveyResponse.responded_on.between(first, month_end(last)),
            )
        ).scalar()
        or 0
    )


def fetch_contact_counts(conn: Connection, scope: Scope, filters: Filters) -> int:
    """Stakeholders of the accounts in view (the base of the contact response share)."""
    return int(
        conn.execute(
            select(func.count(Contact.id))
            .join(Account, Account.id == Contact.account_id)
            .where(*_where(scope, filters), Account.status == "active")
        ).scalar()
        or 0
    )


@dataclass(frozen=True)
class CommentQuery:
    """What the comments explorer shows; empty means "all"."""

    bands: tuple[str, ...] = ()
    surveys: tuple[str, ...] = ("nps",)
    text: str = ""
    since: dt.date | None = None
    limit: int = 500


def fetch_comments(
    conn: Connection, scope: Scope, filters: Filters, query: CommentQuery
) -> pd.DataFrame:
    """Verbatim comments in view, newest first; ``text`` matches Chinese or English."""
    end = month_end(filters.period_month)
    cond = [
        *_where(scope, filters),
        SurveyResponse.comment.is_not(None),
        SurveyResponse.responded_on <= end,
    ]
    if query.surveys:
        cond.append(SurveyResponse.survey.in_(query.surveys))
    if query.since is not None:
        cond.append(SurveyResponse.responded_on >= query.since)
    if query.text.strip():
        needle = query.text.strip().lower().replace("%", r"\%").replace("_", r"\_")
        cond.append(func.lower(SurveyResponse.comment).like(f"%{needle}%", escape="\\"))
    band_expr = []
    for band in query.bands:
        if band == "promoter":
            band_expr.append(SurveyResponse.score >= 9)
        elif band == "passive":
            band_expr.append(SurveyResponse.score.between(7, 8))
        elif band == "detractor":
            band_expr.append(SurveyResponse.score <= 6)
    if band_expr:
        cond.append(and_(SurveyResponse.survey == "nps", or_(*band_expr)))
    df = read_frame(
        conn,
        select(
            SurveyResponse.id,
            SurveyResponse.responded_on,
            SurveyResponse.survey,
            SurveyResponse.score,
            SurveyResponse.comment,
            Account.code,
            Account.name,
            Account.tier,
        )
        .join(Account, Account.id == SurveyResponse.account_id)
        .where(*cond)
        .order_by(SurveyResponse.responded_on.desc(), SurveyResponse.id.desc())
        .limit(query.limit),
    )
    df["responded_on"] = pd.to_datetime(df["responded_on"])
    return df


def fetch_open_detractors(
    conn: Connection, scope: Scope, filters: Filters, days: int, today: dt.date
) -> pd.DataFrame:
    """Detractor answers of the last 90 days without a follow-up intervention.

    A follow-up is any intervention on the account created on the answer's day or within
    ``days`` after it, or one created from this list for the answer. Rows carry how many
    days have passed and whether the follow-up is overdue.
    """
    end = min(month_end(filters.period_month), today)
    start = end - dt.timedelta(days=LOOP_WINDOW_DAYS)
    answers = read_frame(
        conn,
        select(
            SurveyResponse.id,
            SurveyResponse.account_id,
            SurveyResponse.responded_on,
            SurveyResponse.score,
            SurveyResponse.comment,
            Account.code,
            Account.name,
            Account.tier,
            Account.owner_id,
            User.display_name.label("owner"),
        )
        .join(Account, Account.id == SurveyResponse.account_id)
        .outerjoin(User, User.id == Account.owner_id)
        .where(
            *_where(scope, filters),
            Account.status == "active",
            SurveyResponse.survey == "nps",
            SurveyResponse.score <= 6,
            SurveyResponse.responded_on.between(start, end),
        )
        .order_by(SurveyResponse.responded_on),
    )
    if answers.empty:
        return answers.assign(days_open=[], overdue=[])
    created = read_frame(
        conn,
        select(
            InterventionRecord.account_id,
            InterventionRecord.created_at,
            InterventionRecord.request_token,
        ).where(
            InterventionRecord.account_id.in_([int(a) for a in answers["account_id"].unique()]),
            InterventionRecord.created_at >= dt.datetime.combine(start, dt.time()),
        ),
    )
    answers["responded_on"] = pd.to_datetime(answers["responded_on"])
    created["created_at"] = pd.to_datetime(created["created_at"])
    pairs = answers[["id", "account_id", "responded_on"]].merge(created, on="account_id")
    in_window = (pairs["created_at"].dt.normalize() >= pairs["responded_on"]) & (
        pairs["created_at"].dt.normalize() <= pairs["responded_on"] + pd.Timedelta(days=days)
    )
    made_for = pairs["request_token"] == "d:" + pairs["id"].astype(str)
    done = set(pairs.loc[in_window | made_for, "id"])
    out = answers[~answers["id"].isin(done)].copy()
    out["days_open"] = (pd.Timestamp(today) - out["responded_on"]).dt.days
    out["overdue"] = out["days_open"] > days
    return out.reset_index(drop=True)


def create_followup(
    conn: Connection, scope: Scope, response_id: int, today: dt.date | None = None
) -> tuple[int, bool]:
    """Plan a service-recovery follow-up for one detractor answer (idempotent per answer)."""
    row = conn.execute(
        select(
            SurveyResponse.account_id,
            SurveyResponse.responded_on,
            SurveyResponse.score,
            Account.owner_id,
            Account.team_id,
        )
        .join(Account, Account.id == SurveyResponse.account_id)
        .where(SurveyResponse.id == response_id, scope_clause(scope))
    ).one_or_none()
    if row is None:
        raise NotPermitted("answer not found or not permitted")
    owner = conn.execute(
        select(User.id).where(
            User.id == row.owner_id,
            User.active.is_(True),
            or_(User.role == "admin", User.team_id == row.team_id),
        )
    ).scalar()
    day = today or dt.date.today()
    when = row.responded_on.isoformat()
    data = InterventionInput(
        kind="service_recovery",
        title=(
            f"Follow up the detractor answer of {when} (score {row.score})"
            f" · 跟进 {when} 的贬损者反馈（{row.score} 分）"
        ),
        owner_id=owner or scope.user_id,
        due_on=day + dt.timedelta(days=7),
        priority="high",
    )
    return create_intervention(
        conn,
        scope,
        row.account_id,
        data,
        request_token=f"d:{response_id}",
        trigger="rule",
        rule="nps_detractor",
        today=day,
    )


@dataclass(frozen=True)
class SatisfactionData:
    """What every tab of the satisfaction page starts from, per scope, filters and data
    version: the answers as cells per survey, month and segment, and names."""

    cells: pd.DataFrame
    teams: dict[int, tuple[str, str]]
    product_names: dict[str, tuple[str, str]]
    settings: dict


def load_satisfaction_data(conn: Connection, scope: Scope, filters: Filters) -> SatisfactionData:
    """Survey cells and names for the viewer's selection."""
    teams = {
        r.id: (r.name_en, r.name_zh)
        for r in conn.execute(select(Team.id, Team.name_en, Team.name_zh))
    }
    names = {
        r.code: (r.name_en, r.name_zh)
        for r in conn.execute(select(Product.code, Product.name_en, Product.name_zh))
    }
    return SatisfactionData(
        cells=fetch_survey_cells(conn, scope, filters),
        teams=teams,
        product_names=names,
        settings=fetch_satisfaction_settings(conn)[1],
    )


@dataclass(frozen=True)
class DropScans:
    """The drops tab: every segment × month test, the dated drops, the account scan."""

    segment_scan: pd.DataFrame
    onsets: pd.DataFrame
    account_scan: pd.DataFrame


def load_drop_scans(conn: Connection, scope: Scope, filters: Filters) -> DropScans:
    """Segment drop scan (with false-discovery control) and the per-account scan."""
    min_n = fetch_satisfaction_settings(conn)[1]["min_n"]
    cells = fetch_survey_cells(conn, scope, filters)
    nps = cells[cells["survey"] == "nps"]
    segment_scan = sa.scan_drops(nps, ("region", "industry", "tier", "team_id"), min_n=min_n)
    account_scan = sa.scan_accounts(fetch_account_sides(conn, scope, filters))
    codes = read_frame(
        conn,
        select(Account.id.label("account_id"), Account.code, Account.name).where(
            Account.id.in_([int(a) for a in account_scan["account_id"]] or [-1])
        ),
    )
    return DropScans(
        segment_scan=segment_scan,
        onsets=sa.drop_onsets(segment_scan, nps),
        account_scan=account_scan.merge(codes, on="account_id", how="left"),
    )


@dataclass(frozen=True)
class Coverage:
    """The aggregation tab: answers per account in the period and who could answer."""

    account_cells: pd.DataFrame
    accounts: pd.DataFrame
    contacts: int
    responding_contacts: int


def load_coverage(conn: Connection, scope: Scope, filters: Filters) -> Coverage:
    """Per-account answers of the 12-month period, account revenue, stakeholder counts."""
    first = add_months(filters.period_month, -11)
    return Coverage(
        account_cells=fetch_account_cells(conn, scope, filters, first, filters.period_month),
        accounts=fetch_account_figures(conn, scope, filters),
        contacts=fetch_contact_counts(conn, scope, filters),
        responding_contacts=fetch_responding_contacts(
            conn, scope, filters, first, filters.period_month
        ),
    )


def load_outcomes(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Churn and revenue change in the 12 months after the year before the period, by
    the account's NPS band over that year (``analytics.satisfaction.outcomes_by_band``)."""
    month = filters.period_month
    cells = fetch_account_cells(
        conn, scope, filters, add_months(month, -23), add_months(month, -12)
    )
    as_of = pd.Timestamp(month_end(add_months(month, -12)))
    return sa.outcomes_by_band(
        sa.account_mean_scores(cells[cells["survey"] == "nps"]),
        fetch_account_figures(conn, scope, filters),
        as_of,
    )


def load_seasonality(conn: Connection, scope: Scope, filters: Filters) -> dict | None:
    """Trend and seasonal swing of NPS from every answer of the 36 months."""
    return sa.seasonal_regression(fetch_nps_answers(conn, scope, filters))
