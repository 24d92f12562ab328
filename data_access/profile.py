"""Named, scoped queries behind the account profile (客户画像) and the meeting brief.

Every function takes the viewer's scope; an account outside it is simply not found.
Peer benchmarks are aggregates over the whole portfolio that the refresh job stores
(see :mod:`data_access.peers`); no query here reads another team's rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, func, or_, select

from analytics import clv
from analytics import profile as pa
from analytics.periods import add_months, month_end
from data_access import peers
from data_access.frames import read_frame
from data_access.growth import fetch_account_points
from data_access.portfolio import fetch_health_noise
from data_access.schema import (
    Account,
    AccountMonthly,
    AccountScore,
    AccountTeamMember,
    Contact,
    Holding,
    Interaction,
    InterventionRecord,
    LifecycleEvent,
    ModelRun,
    Product,
    RevenueMonthly,
    SurveyResponse,
    Team,
    TierHistory,
    Transaction,
    User,
)
from data_access.scope import Scope, scope_clause


def fetch_account_header(conn: Connection, scope: Scope, code: str) -> dict | None:
    """The account with this code if the viewer may see it; None if not found or not permitted."""
    owner = User.__table__.alias("owner")
    row = conn.execute(
        select(
            Account.id,
            Account.code,
            Account.name,
            Account.industry,
            Account.region,
            Account.segment,
            Account.tier,
            Account.status,
            Account.onboarded_on,
            Account.churned_on,
            Account.parent_id,
            Account.team_id,
            Account.owner_id,
            Account.annual_turnover,
            Account.potential,
            owner.c.display_name.label("owner_name"),
            Team.name_en.label("team_en"),
            Team.name_zh.label("team_zh"),
        )
        .outerjoin(owner, owner.c.id == Account.owner_id)
        .outerjoin(Team, Team.id == Account.team_id)
        .where(Account.code == code.strip(), scope_clause(scope))
    ).one_or_none()
    return dict(row._mapping) if row else None


def fetch_group(conn: Connection, scope: Scope, account_id: int, as_of: dt.date) -> pd.DataFrame:
    """Parent and subsidiaries of an account (visible ones) with 12-month revenue."""
    parent_id = conn.execute(
        select(Account.parent_id).where(Account.id == account_id)
    ).scalar_one_or_none()
    head = parent_id or account_id
    start = add_months(as_of.replace(day=1), -11)
    rev = (
        select(AccountMonthly.account_id, func.sum(AccountMonthly.revenue).label("revenue_12m"))
        .where(AccountMonthly.month.between(start, as_of.replace(day=1)))
        .group_by(AccountMonthly.account_id)
        .subquery()
    )
    df = read_frame(
        conn,
        select(
            Account.id.label("account_id"),
            Account.code,
            Account.name,
            Account.parent_id,
            Account.status,
            func.coalesce(rev.c.revenue_12m, 0.0).label("revenue_12m"),
        )
        .outerjoin(rev, rev.c.account_id == Account.id)
        .where(or_(Account.id == head, Account.parent_id == head), scope_clause(scope))
        .order_by(Account.parent_id.is_not(None), Account.code),
    )
    return df if len(df) > 1 else df.iloc[0:0]


def fetch_tier_history(conn: Connection, account_id: int) -> pd.DataFrame:
    """Tier changes of one account, oldest first (the caller checked the scope)."""
    return read_frame(
        conn,
        select(
            TierHistory.tier, TierHistory.previous_tier, TierHistory.changed_on, TierHistory.reason
        )
        .where(TierHistory.account_id == account_id)
        .order_by(TierHistory.changed_on, TierHistory.id),
    )


def fetch_stage_history(conn: Connection, account_id: int) -> pd.DataFrame:
    """Lifecycle stage events of one account, oldest first."""
    return read_frame(
        conn,
        select(LifecycleEvent.stage, LifecycleEvent.entered_on, LifecycleEvent.reason)
        .where(LifecycleEvent.account_id == account_id)
        .order_by(LifecycleEvent.entered_on, LifecycleEvent.id),
    )


def fetch_health_history(conn: Connection, account_id: int) -> pd.DataFrame:
    """Health snapshots of one account, oldest first."""
    df = read_frame(
        conn,
        select(
            AccountScore.as_of,
            AccountScore.health_score,
            AccountScore.health_band,
            AccountScore.score_confidence,
            AccountScore.value_trend,
            AccountScore.engagement,
            AccountScore.satisfaction,
            AccountScore.product_depth,
            AccountScore.open_risks,
            AccountScore.churn_risk,
            AccountScore.churn_risk_low,
            AccountScore.churn_risk_high,
        )
        .where(AccountScore.account_id == account_id)
        .order_by(AccountScore.as_of),
    )
    df["as_of"] = pd.to_datetime(df["as_of"])
    return df


def fetch_revenue_by_product(
    conn: Connection, account_id: int, as_of: dt.date, months: int = 24
) -> pd.DataFrame:
    """Monthly revenue, balance and margin per product over ``months`` months to ``as_of``."""
    start = add_months(as_of.replace(day=1), -(months - 1))
    df = read_frame(
        conn,
        select(
            RevenueMonthly.month,
            Product.code.label("product"),
            Product.name_en,
            Product.name_zh,
            RevenueMonthly.revenue,
            RevenueMonthly.balance,
            (RevenueMonthly.revenue * Product.margin_rate).label("margin"),
        )
        .join(Product, Product.id == RevenueMonthly.product_id)
        .where(
            RevenueMonthly.account_id == account_id,
            RevenueMonthly.month.between(start, as_of.replace(day=1)),
        )
        .order_by(RevenueMonthly.month, Product.code),
    )
    df["month"] = pd.to_datetime(df["month"])
    return df


def fetch_holdings(conn: Connection, account_id: int) -> pd.DataFrame:
    """Products an account holds or held, with open and close dates."""
    return read_frame(
        conn,
        select(
            Product.code.label("product"),
            Product.name_en,
            Product.name_zh,
            Holding.opened_on,
            Holding.closed_on,
        )
        .join(Product, Product.id == Holding.product_id)
        .where(Holding.account_id == account_id)
        .order_by(Holding.opened_on),
    )


def fetch_interactions(conn: Connection, account_id: int, since: dt.date) -> pd.DataFrame:
    """Touchpoints since a date, newest first, with who made them and with whom."""
    df = read_frame(
        conn,
        select(
            Interaction.id,
            Interaction.occurred_on,
            Interaction.channel,
            Interaction.subject,
            Interaction.notes,
            Interaction.sentiment,
            Interaction.user_id,
            User.display_name.label("by"),
            Contact.name.label("contact"),
        )
        .outerjoin(User, User.id == Interaction.user_id)
        .outerjoin(Contact, Contact.id == Interaction.contact_id)
        .where(Interaction.account_id == account_id, Interaction.occurred_on >= since)
        .order_by(Interaction.occurred_on.desc(), Interaction.id.desc()),
    )
    df["occurred_on"] = pd.to_datetime(df["occurred_on"])
    return df


def fetch_surveys(conn: Connection, account_id: int, since: dt.date) -> pd.DataFrame:
    """Survey responses since a date, newest first."""
    df = read_frame(
        conn,
        select(
            SurveyResponse.responded_on,
            SurveyResponse.survey,
            SurveyResponse.score,
            SurveyResponse.comment,
            Contact.name.label("contact"),
        )
        .outerjoin(Contact, Contact.id == SurveyResponse.contact_id)
        .where(SurveyResponse.account_id == account_id, SurveyResponse.responded_on >= since)
        .order_by(SurveyResponse.responded_on.desc(), SurveyResponse.id.desc()),
    )
    df["responded_on"] = pd.to_datetime(df["responded_on"])
    return df


def fetch_interventions(conn: Connection, account_id: int) -> pd.DataFrame:
    """All interventions of an account, newest first."""
    df = read_frame(
        conn,
        select(
            InterventionRecord.id,
            InterventionRecord.kind,
            InterventionRecord.title,
            InterventionRecord.status,
            InterventionRecord.priority,
            InterventionRecord.due_on,
            InterventionRecord.completed_on,
            InterventionRecord.created_at,
            InterventionRecord.outcome,
            User.display_name.label("owner"),
        )
        .outerjoin(User, User.id == InterventionRecord.owner_id)
        .where(InterventionRecord.account_id == account_id)
        .order_by(InterventionRecord.created_at.desc()),
    )
    for col in ("due_on", "completed_on", "created_at"):
        df[col] = pd.to_datetime(df[col])
    return df


def fetch_contacts(conn: Connection, account_id: int) -> pd.DataFrame:
    """Stakeholders of an account with their role, support, strength and last contact."""
    df = read_frame(
        conn,
        select(
            Contact.id,
            Contact.name,
            Contact.title,
            Contact.buying_role,
            Contact.support,
            Contact.relationship_strength,
            Contact.last_contacted_on,
            Contact.version,
        )
        .where(Contact.account_id == account_id)
        .order_by(Contact.id),
    )
    df["last_contacted_on"] = pd.to_datetime(df["last_contacted_on"])
    return df


def fetch_account_team(conn: Connection, account_id: int, owner_id: int | None) -> pd.DataFrame:
    """The relationship manager and the specialists who serve the account, with last touch."""
    last = (
        select(Interaction.user_id, func.max(Interaction.occurred_on).label("last_touch"))
        .where(Interaction.account_id == account_id)
        .group_by(Interaction.user_id)
        .subquery()
    )
    members = read_frame(
        conn,
        select(
            User.id.label("user_id"),
            User.display_name.label("name"),
            AccountTeamMember.role,
            AccountTeamMember.since,
            last.c.last_touch,
        )
        .join(AccountTeamMember, AccountTeamMember.user_id == User.id)
        .outerjoin(last, last.c.user_id == User.id)
        .where(AccountTeamMember.account_id == account_id)
        .order_by(AccountTeamMember.role),
    )
    if owner_id is not None:
        owner = read_frame(
            conn,
            select(User.id.label("user_id"), User.display_name.label("name"), last.c.last_touch)
            .outerjoin(last, last.c.user_id == User.id)
            .where(User.id == owner_id),
        ).assign(role="relationship_manager", since=None)
        members = pd.concat([owner[members.columns], members], ignore_index=True)
    members["last_touch"] = pd.to_datetime(members["last_touch"])
    return members


@dataclass(frozen=True)
class ProfileData:
    """Everything the profile page and the meeting brief show for one account."""

    as_of: dt.date
    header: dict
    group: pd.DataFrame
    tier_history: pd.DataFrame
    stage_history: pd.DataFrame
    health: pd.DataFrame
    health_delta: float | None
    health_direction: str | None
    health_noise: float | None
    revenue: pd.DataFrame
    value: pa.ValueSummary
    clv: pa.ClvEstimate
    tier_rank: tuple[int, int] | None
    holdings: pd.DataFrame
    channel_mix: pd.DataFrame
    interactions_12m: int
    contact_ratio: float | None
    tier_norm: float | None
    interactions: pd.DataFrame
    surveys: pd.DataFrame
    interventions: pd.DataFrame
    whitespace: pd.DataFrame
    n_peers: int
    contacts: pd.DataFrame
    gaps: list
    team: pd.DataFrame
    peers: dict
    last_meeting: dt.date | None
    changes: list
    timeline: pd.DataFrame
    product_names: dict
    purchase: dict | None = None
    points: dict | None = None
    health_weights: dict | None = None


def _latest_run(conn: Connection, kind: str, column) -> dict | None:
    """``column`` (params or stats) of the newest finished model run of ``kind``."""
    return conn.execute(
        select(column)
        .where(ModelRun.kind == kind, ModelRun.status == "done")
        .order_by(ModelRun.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def fetch_health_weights(conn: Connection) -> dict | None:
    """The expert weights the newest health scores were computed with."""
    params = _latest_run(conn, "health", ModelRun.params)
    return dict(params["weights"]) if params and "weights" in params else None


def _peer_comparison(
    conn: Connection,
    header: dict,
    value: pa.ValueSummary,
    depth: int,
    health: float | None,
    as_of: dt.date,
) -> dict:
    medians = peers.fetch_industry_medians(conn, header["industry"], as_of)
    if not medians:
        return {}
    return {
        "n": medians["n"],
        "revenue_12m": (value.revenue_12m, medians["revenue_12m"]),
        "products": (depth, medians["products_held"]),
        "health": (health, medians["health_score"]),
    }


def fetch_purchase_outlook(conn: Connection, account_id: int, as_of: dt.date) -> dict | None:
    """BG/NBD + Gamma-Gamma outlook of an account's event-level purchases (FX deals).

    Uses the parameters of the newest ``clv_purchase`` model run; None when the
    account has no transactions or no model was fitted.
    """
    run = _latest_run(conn, "clv_purchase", ModelRun.stats)
    if not run:
        return None
    tx = read_frame(
        conn,
        select(Transaction.account_id, Transaction.occurred_on, Transaction.amount).where(
            Transaction.account_id == account_id, Transaction.occurred_on <= month_end(as_of)
        ),
    )
    if tx.empty:
        return None
    s = clv.summarise_transactions(tx, pd.Timestamp(month_end(as_of))).iloc[0]
    bg = clv.BgNbdParams(**run["bgnbd"])
    gg = clv.GammaGammaParams(**run["gamma_gamma"])
    expected = float(clv.bgnbd_expected_transactions(bg, 52, s["x"], s["t_x"], s["T"]))
    value = float(clv.gamma_gamma_expected_value(gg, s["x"], s["m"])) if s["x"] > 0 else None
    return {
        "transactions": int(s["x"]) + 1,
        "expected_52w": expected,
        "p_alive": float(clv.bgnbd_p_alive(bg, s["x"], s["t_x"], s["T"])),
        "expected_value": value,
        "expected_spend_52w": expected * value if value is not None else None,
        "fitted_on": run["end"],
    }


def load_profile_data(
    conn: Connection, scope: Scope, code: str, as_of: dt.date
) -> ProfileData | None:
    """Assemble the profile of account ``code`` as of a month end, or None if not visible."""
    header = fetch_account_header(conn, scope, code)
    if header is None:
        return None
    aid = header["id"]
    since = add_months(as_of.replace(day=1), -23)
    health = fetch_health_history(conn, aid)
    health = health[health["as_of"] <= pd.Timestamp(month_end(as_of))]
    noise = fetch_health_noise(conn, scope, as_of)
    delta, direction = pa.compute_health_trend(health, noise)
    revenue = fetch_revenue_by_product(conn, aid, as_of)
    value = pa.compute_value_summary(revenue, header["potential"], as_of)
    base, churned = peers.fetch_tier_retention(conn, header["tier"], as_of)
    clv = pa.compute_clv(value.margin_12m, base, churned)
    holdings = fetch_holdings(conn, aid)
    end = pd.Timestamp(month_end(as_of))
    current = holdings[
        (pd.to_datetime(holdings["opened_on"]) <= end)
        & (holdings["closed_on"].isna() | (pd.to_datetime(holdings["closed_on"]) > end))
    ]
    held = set(current["product"])
    interactions = fetch_interactions(conn, aid, since)
    interactions = interactions[interactions["occurred_on"] <= end]
    surveys = fetch_surveys(conn, aid, since)
    surveys = surveys[surveys["responded_on"] <= end]
    interventions = fetch_interventions(conn, aid)
    contacts = fetch_contacts(conn, aid)
    norm = peers.fetch_tier_interaction_norm(conn, header["tier"], as_of)
    n12, ratio = pa.compute_contact_frequency(interactions, as_of, norm)
    whitespace = pa.compute_whitespace(
        peers.fetch_peer_shares(conn, as_of, header["tier"], header["industry"]), held
    )
    n_peers = peers.fetch_peer_count(conn, header["tier"], header["industry"], as_of)
    stages = fetch_stage_history(conn, aid)
    tiers = fetch_tier_history(conn, aid)
    latest_health = float(health["health_score"].iloc[-1]) if len(health) else None
    meeting = pa.last_meeting(interactions, interventions)
    monthly = revenue.groupby("month")["revenue"].sum()
    return ProfileData(
        as_of=as_of,
        header=header,
        group=fetch_group(conn, scope, aid, as_of),
        tier_history=tiers,
        stage_history=stages,
        health=health,
        health_delta=delta,
        health_direction=direction,
        health_noise=noise,
        revenue=revenue,
        value=value,
        clv=clv,
        tier_rank=peers.fetch_tier_rank(conn, aid, as_of),
        holdings=holdings,
        channel_mix=pa.compute_channel_mix(interactions, as_of),
        interactions_12m=n12,
        contact_ratio=ratio,
        tier_norm=norm,
        interactions=interactions,
        surveys=surveys,
        interventions=interventions,
        whitespace=whitespace,
        n_peers=n_peers,
        contacts=contacts,
        gaps=pa.compute_coverage_gaps(contacts, as_of),
        team=fetch_account_team(conn, aid, header["owner_id"]),
        peers=_peer_comparison(conn, header, value, len(held), latest_health, as_of),
        last_meeting=meeting,
        changes=pa.compute_changes_since(
            meeting, as_of, monthly, health, surveys, holdings, contacts, interventions
        ),
        timeline=pa.build_timeline(interactions, surveys, interventions, stages, tiers),
        product_names={
            code: (en, zh)
            for code, en, zh in conn.execute(select(Product.code, Product.name_en, Product.name_zh))
        },
        purchase=fetch_purchase_outlook(conn, aid, as_of),
        points=fetch_account_points(conn, aid, as_of),
        health_weights=fetch_health_weights(conn),
    )
