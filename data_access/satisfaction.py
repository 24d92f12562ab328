"""Scoped queries and writes behind the satisfaction page (NPS, CSAT, CES, closed loop)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Connection, and_, func, or_, select

from analytics import satisfaction as sa
from analytics.periods import add_months, month_end
from data_access.frames import read_frame
from data_access.interventions import InterventionInput, create_intervention
from data_access.schema import (
    Account,
    AccountMonthly,
    Contact,
    Holding,
    InterventionRecord,
    Product,
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


def fetch_responses(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Every survey answer of the last 36 months up to the period end, with segments."""
    end = month_end(filters.period_month)
    start = add_months(filters.period_month, -(HISTORY_MONTHS - 1))
    df = read_frame(
        conn,
        select(
            SurveyResponse.id,
            SurveyResponse.account_id,
            SurveyResponse.contact_id,
            SurveyResponse.survey,
            SurveyResponse.score,
            month_of(SurveyResponse.responded_on).label("month"),
            Account.tier,
            Account.region,
            Account.industry,
            Account.team_id,
        )
        .join(Account, Account.id == SurveyResponse.account_id)
        .where(*_where(scope, filters), SurveyResponse.responded_on.between(start, end)),
    )
    df["month"] = pd.to_datetime(df["month"])
    return df


def fetch_response_products(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """(response id, product code) for NPS answers given while the account held the product."""
    end = month_end(filters.period_month)
    start = add_months(filters.period_month, -(HISTORY_MONTHS - 1))
    return read_frame(
        conn,
        select(SurveyResponse.id, Product.code.label("product"))
        .join(Account, Account.id == SurveyResponse.account_id)
        .join(Holding, Holding.account_id == SurveyResponse.account_id)
        .join(Product, Product.id == Holding.product_id)
        .where(
            *_where(scope, filters),
            SurveyResponse.survey == "nps",
            SurveyResponse.responded_on.between(start, end),
            Holding.opened_on <= SurveyResponse.responded_on,
            or_(Holding.closed_on.is_(None), Holding.closed_on > SurveyResponse.responded_on),
        ),
    )


def fetch_account_figures(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Accounts in view: churn date, revenue in the period, and in the 12 months before and
    after the period's start (for satisfaction → later churn and revenue)."""
    month = filters.period_month
    p_start, p_end = add_months(month, -11), month_end(month)
    b_start = add_months(month, -23)
    rev = func.sum(AccountMonthly.revenue)
    revenue = read_frame(
        conn,
        select(
            AccountMonthly.account_id,
            rev.filter(AccountMonthly.month >= p_start).label("revenue_12m"),
            rev.filter(AccountMonthly.month < p_start).label("revenue_before"),
        )
        .join(Account, Account.id == AccountMonthly.account_id)
        .where(*_where(scope, filters), AccountMonthly.month.between(b_start, p_end))
        .group_by(AccountMonthly.account_id),
    )
    accounts = read_frame(
        conn,
        select(
            Account.id.label("account_id"),
            Account.onboarded_on,
            Account.churned_on,
        ).where(*_where(scope, filters)),
    )
    out = accounts.merge(revenue, on="account_id", how="left").fillna(
        {"revenue_12m": 0.0, "revenue_before": 0.0}
    )
    out["revenue_after"] = out["revenue_12m"]
    return out


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
    """What the satisfaction page computes once per scope, filters and data version."""

    responses: pd.DataFrame
    products: pd.DataFrame
    accounts: pd.DataFrame
    contacts: int
    teams: dict[int, tuple[str, str]]
    product_names: dict[str, tuple[str, str]]
    settings: dict
    segment_scan: pd.DataFrame
    account_scan: pd.DataFrame
    extra: dict = field(default_factory=dict)


def load_satisfaction_data(conn: Connection, scope: Scope, filters: Filters) -> SatisfactionData:
    """Answers, segments, account figures and the drop scans for the viewer's selection."""
    responses = fetch_responses(conn, scope, filters)
    products = fetch_response_products(conn, scope, filters)
    settings = fetch_satisfaction_settings(conn)[1]
    nps = responses[responses["survey"] == "nps"]
    segment_scan = sa.scan_drops(
        nps, ("region", "industry", "tier", "team_id"), min_n=settings["min_n"]
    )
    account_scan = sa.scan_accounts(nps, pd.Timestamp(filters.period_month))
    teams = {
        r.id: (r.name_en, r.name_zh)
        for r in conn.execute(select(Team.id, Team.name_en, Team.name_zh))
    }
    names = {
        r.code: (r.name_en, r.name_zh)
        for r in conn.execute(select(Product.code, Product.name_en, Product.name_zh))
    }
    codes = read_frame(
        conn,
        select(Account.id.label("account_id"), Account.code, Account.name).where(
            Account.id.in_([int(a) for a in account_scan["account_id"]] or [-1])
        ),
    )
    account_scan = account_scan.merge(codes, on="account_id", how="left")
    return SatisfactionData(
        responses=responses,
        products=products,
        accounts=fetch_account_figures(conn, scope, filters),
        contacts=fetch_contact_counts(conn, scope, filters),
        teams=teams,
        product_names=names,
        settings=settings,
        segment_scan=segment_scan,
        account_scan=account_scan,
    )
