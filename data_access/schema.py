"""The Strata data model as SQLAlchemy 2.x typed models.

Alembic migrations in ``migrations/`` create these tables; a test checks that the
migrated database and this module agree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from analytics.playbooks import KINDS, PRIORITIES

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("executive", "account_manager", "admin")
TIERS = ("basic", "value", "strategic")
STAGES = ("prospect", "onboarding", "growth", "mature", "at_risk", "churned", "won_back")
HEALTH_BANDS = ("healthy", "watch", "at_risk")
INTERVENTION_KINDS = KINDS
INTERVENTION_STATUSES = ("planned", "in_progress", "done", "cancelled")
INTERVENTION_PRIORITIES = PRIORITIES
INTERVENTION_OUTCOMES = ("achieved", "partly_achieved", "not_achieved", "condition_cleared")
INTERVENTION_TRIGGERS = ("manual", "rule", "playbook")
OFFER_RESPONSES = ("accepted", "declined", "no_answer")
CHANNELS = ("visit", "phone", "email", "sms", "wechat", "video", "event", "online")
BUYING_ROLES = ("decision_maker", "champion", "influencer", "user", "blocker")
SURVEYS = ("nps", "csat", "ces")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {dict[str, Any]: JSON}


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str] = mapped_column(String(120))
    region: Mapped[str] = mapped_column(String(32))


class User(Base):
    __tablename__ = "users"
    # A unique index, not a constraint: SQLite adds it without rebuilding the table, which
    # other tables' foreign keys would forbid on a filled database.
    __table_args__ = (Index("uq_users_email", "email", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # Single sign-on: the identity provider's e-mail claim maps to this user (lower case).
    email: Mapped[str | None] = mapped_column(String(254))


class UserSession(Base):
    """A login that a signed cookie points at; logout revokes it."""

    __tablename__ = "user_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ViewerScope(Base):
    """Whom the current database transaction acts for (PostgreSQL row-level security).

    Only the function ``strata_enter_scope`` (running with the owner's rights) writes
    it, for the connection's backend and transaction and from a live session; the
    app's own role can neither read nor write it. Unused on SQLite.
    """

    __tablename__ = "viewer_scopes"
    backend_pid: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    xact: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(Integer)


class LoginFailure(Base):
    """A failed sign-in for a user name (known or not); repeated failures slow sign-in down."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_username_at", "username", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime)


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        Index("ix_accounts_team_tier", "team_id", "tier"),
        Index("ix_accounts_region_industry", "region", "industry"),
        Index("ix_accounts_parent_id", "parent_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str] = mapped_column(String(40))
    region: Mapped[str] = mapped_column(String(32))
    segment: Mapped[str] = mapped_column(String(32))
    tier: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    onboarded_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active")
    churned_on: Mapped[dt.date | None] = mapped_column(Date)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    annual_turnover: Mapped[float | None] = mapped_column(Float)
    potential: Mapped[float | None] = mapped_column(Float)


class AccountTeamMember(Base):
    """Who serves an account besides its owner: product specialists from other departments."""

    __tablename__ = "account_team_members"
    __table_args__ = (UniqueConstraint("account_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(40))
    since: Mapped[dt.date] = mapped_column(Date)


class Product(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(40))
    margin_rate: Mapped[float] = mapped_column(Float, default=0.3)


class Holding(Base):
    __tablename__ = "holdings"
    __table_args__ = (UniqueConstraint("account_id", "product_id", "opened_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    opened_on: Mapped[dt.date] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)


class RevenueMonthly(Base):
    """The main fact table: revenue and balance per account, product and month."""

    __tablename__ = "revenue_monthly"
    __table_args__ = (Index("ix_revenue_monthly_month_account", "month", "account_id"),)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    revenue: Mapped[float] = mapped_column(Float)
    balance: Mapped[float | None] = mapped_column(Float)


class AccountMonthly(Base):
    """Rollup of ``revenue_monthly`` per account and month, kept by imports and the
    demo generator so dashboards never scan the fact table."""

    __tablename__ = "account_monthly"
    # Holds account, revenue and products too: monthly totals and one month's product
    # depth are read from the index alone.
    __table_args__ = (
        Index("ix_account_monthly_month_cover", "month", "account_id", "revenue", "products_held"),
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    revenue: Mapped[float] = mapped_column(Float)
    products_held: Mapped[int] = mapped_column(Integer)


class AccountPeriod(Base):
    """Each account's revenue over the 12 months ending with ``month`` and the 12 months
    before, for every month either window holds revenue; kept with the monthly rollup
    (demo load, revenue imports) so pages read one row per account instead of summing
    24 rollup rows. No row means no revenue in either window."""

    __tablename__ = "account_periods"
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    revenue_12m: Mapped[float] = mapped_column(Float)
    revenue_prev_12m: Mapped[float] = mapped_column(Float)


class SegmentMonthly(Base):
    """Monthly revenue and survey answers per segment (team, tier, region, industry), the
    level the portfolio filters and an account manager's scope work at. Kept by the
    demo load, imports, tier changes and the refresh job, so the overview's monthly
    totals and NPS and the satisfaction page's figures read a few thousand rows instead
    of every account's rollup rows and every survey answer.

    ``source`` is ``revenue`` or a survey (``nps``, ``csat``, ``ces``). Survey rows hold
    the sufficient statistics of the answers: their number, the favourable ones
    (``promoters``: NPS 9–10, CSAT 4–5), NPS detractors (0–6), and the sum and sum of
    squares of the scores."""

    __tablename__ = "segment_monthly"
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    source: Mapped[str] = mapped_column(String(10), primary_key=True)  # revenue | nps
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    tier: Mapped[str] = mapped_column(String(20), primary_key=True)
    region: Mapped[str] = mapped_column(String(32), primary_key=True)
    industry: Mapped[str] = mapped_column(String(40), primary_key=True)
    revenue: Mapped[float] = mapped_column(Float)
    responses: Mapped[int] = mapped_column(Integer)
    promoters: Mapped[int] = mapped_column(Integer)
    detractors: Mapped[int] = mapped_column(Integer)
    score_sum: Mapped[float] = mapped_column(Float, server_default="0")
    score_sq_sum: Mapped[float] = mapped_column(Float, server_default="0")


class SegmentStageCount(Base):
    """Accounts in each lifecycle stage at the end of ``month``, per segment (team, tier,
    region, industry): the stage distribution of the lifecycle page for any filter.
    Churned accounts and accounts without a stage yet are not counted. Kept with the
    stage-flow table by the demo load, imports, tier changes and the refresh job."""

    __tablename__ = "segment_stage_counts"
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    tier: Mapped[str] = mapped_column(String(20), primary_key=True)
    region: Mapped[str] = mapped_column(String(32), primary_key=True)
    industry: Mapped[str] = mapped_column(String(40), primary_key=True)
    stage: Mapped[str] = mapped_column(String(20), primary_key=True)
    accounts: Mapped[int] = mapped_column(Integer)


class SegmentStageFlow(Base):
    """Accounts per segment by their state at the end of the month 12 months before
    ``month`` (``from_stage``) and at the end of ``month`` (``to_stage``): the transitions
    of a 12-month period. ``kind`` is ``stage`` (lifecycle events) or ``tier`` (tier
    history); ``not_yet`` is an account without a stage or tier yet. Accounts churned at
    both ends and accounts without a state at the end are left out."""

    __tablename__ = "segment_stage_flows"
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    tier: Mapped[str] = mapped_column(String(20), primary_key=True)
    region: Mapped[str] = mapped_column(String(32), primary_key=True)
    industry: Mapped[str] = mapped_column(String(40), primary_key=True)
    from_stage: Mapped[str] = mapped_column(String(20), primary_key=True)
    to_stage: Mapped[str] = mapped_column(String(20), primary_key=True)
    accounts: Mapped[int] = mapped_column(Integer)


class Transaction(Base):
    __tablename__ = "transactions"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[float] = mapped_column(Float)


class Contact(Base):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(120))
    buying_role: Mapped[str] = mapped_column(String(20))
    support: Mapped[int] = mapped_column(Integer, default=0)
    relationship_strength: Mapped[int] = mapped_column(Integer, default=3)
    last_contacted_on: Mapped[dt.date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)


class StakeholderChange(Base):
    """A key stakeholder replaced (e.g. a new decision maker): a known churn driver."""

    __tablename__ = "stakeholder_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    changed_on: Mapped[dt.date] = mapped_column(Date)
    role: Mapped[str] = mapped_column(String(20))
    previous_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    new_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_account_date", "account_id", "occurred_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(20))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    subject: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    sentiment: Mapped[int] = mapped_column(Integer, default=0)


class SurveyResponse(Base):
    __tablename__ = "survey_responses"
    __table_args__ = (
        Index("ix_survey_responses_date_survey", "responded_on", "survey"),
        # Each account's latest answer by one seek (the account list).
        Index("ix_survey_responses_account_survey_date", "account_id", "survey", "responded_on"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    survey: Mapped[str] = mapped_column(String(8))
    score: Mapped[int] = mapped_column(Integer)
    responded_on: Mapped[dt.date] = mapped_column(Date)
    comment: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(20))


class LifecycleEvent(Base):
    __tablename__ = "lifecycle_events"
    # The event holding on a day, read from the index alone (see ``ended_on``).
    __table_args__ = (
        Index("ix_lifecycle_events_account_spell", "account_id", "entered_on", "ended_on", "stage"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    stage: Mapped[str] = mapped_column(String(20))
    entered_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))
    # The day the account's next event took over (of one day's events, the later
    # recorded); empty while this one holds. Kept by ``stage_rollup.rebuild``.
    ended_on: Mapped[dt.date | None] = mapped_column(Date)


class TierHistory(Base):
    __tablename__ = "tier_history"
    __table_args__ = (
        Index("ix_tier_history_account_spell", "account_id", "changed_on", "ended_on", "tier"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    tier: Mapped[str] = mapped_column(String(20))
    previous_tier: Mapped[str | None] = mapped_column(String(20))
    changed_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))
    # The day the account's next tier change took over; empty while this one holds.
    ended_on: Mapped[dt.date | None] = mapped_column(Date)


class InterventionRecord(Base):
    __tablename__ = "interventions"
    __table_args__ = (
        Index("ix_interventions_account_status", "account_id", "status"),
        Index("ix_interventions_owner_status", "owner_id", "status"),
        Index("ix_interventions_due_on", "due_on"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="planned")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    completed_on: Mapped[dt.date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(20), default="manual")
    expected_effect: Mapped[str | None] = mapped_column(String(200))
    cost: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Set by the client for idempotent creation (a repeated request returns the first).
    request_token: Mapped[str | None] = mapped_column(String(80), unique=True)
    rule: Mapped[str | None] = mapped_column(String(40))
    playbook: Mapped[str | None] = mapped_column(String(40))
    started_on: Mapped[dt.date | None] = mapped_column(Date)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Cross-sell offers: the product offered and the client's answer.
    offered_product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    offer_response: Mapped[str | None] = mapped_column(String(20))


class ProductScore(Base):
    """Next-best-product snapshot from the refresh job: propensity and expected revenue."""

    __tablename__ = "product_scores"
    __table_args__ = (
        UniqueConstraint("account_id", "product_id", "as_of"),
        # The growth page's counts, sums and largest suggestions from the index alone.
        Index(
            "ix_product_scores_as_of_cover",
            "as_of",
            "account_id",
            "rank",
            "product_id",
            "expected_revenue",
            "propensity",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    as_of: Mapped[dt.date] = mapped_column(Date)
    propensity: Mapped[float] = mapped_column(Float)
    expected_revenue: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)


class LoyaltyPoints(Base):
    """Points programme (积分): points earned and redeemed per account and month."""

    __tablename__ = "loyalty_points"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    earned: Mapped[float] = mapped_column(Float)
    redeemed: Mapped[float] = mapped_column(Float)
    balance: Mapped[float] = mapped_column(Float)


class ModelRun(Base):
    __tablename__ = "model_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(40))
    as_of: Mapped[dt.date] = mapped_column(Date)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AccountScore(Base):
    """Dated snapshot of an account's scores written by the refresh job."""

    __tablename__ = "account_scores"
    __table_args__ = (
        UniqueConstraint("account_id", "as_of"),
        Index("ix_account_scores_as_of", "as_of"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    as_of: Mapped[dt.date] = mapped_column(Date)
    model_run_id: Mapped[int | None] = mapped_column(ForeignKey("model_runs.id"))
    health_score: Mapped[float | None] = mapped_column(Float)
    health_band: Mapped[str | None] = mapped_column(String(20))
    score_confidence: Mapped[float | None] = mapped_column(Float)
    value_trend: Mapped[float | None] = mapped_column(Float)
    engagement: Mapped[float | None] = mapped_column(Float)
    satisfaction: Mapped[float | None] = mapped_column(Float)
    product_depth: Mapped[float | None] = mapped_column(Float)
    open_risks: Mapped[float | None] = mapped_column(Float)
    churn_risk: Mapped[float | None] = mapped_column(Float)
    churn_risk_low: Mapped[float | None] = mapped_column(Float)
    churn_risk_high: Mapped[float | None] = mapped_column(Float)
    clv: Mapped[float | None] = mapped_column(Float)
    clv_low: Mapped[float | None] = mapped_column(Float)
    clv_high: Mapped[float | None] = mapped_column(Float)
    tier_score: Mapped[float | None] = mapped_column(Float)
    suggested_tier: Mapped[str | None] = mapped_column(String(20))
    tiering_version: Mapped[int | None] = mapped_column(Integer)
    # Rank (1 = largest) of 12-month revenue among the accounts of the same tier, and
    # how many were ranked: a portfolio-wide figure kept with the account's own row.
    tier_rank: Mapped[int | None] = mapped_column(Integer)
    tier_size: Mapped[int | None] = mapped_column(Integer)


class PeerFigure(Base):
    """Portfolio-wide peer aggregates written by the refresh job for each month-end.

    Only aggregates leave the refresh job, and shares and medians only over at least
    ten accounts, so pages can show peer benchmarks without reading any other team's
    rows (which row-level security hides on PostgreSQL). ``kind`` is one of
    ``retention`` (tier; n = accounts a year earlier, value = churned since),
    ``interaction_norm`` (tier; median interactions in 12 months), ``peers`` (tier,
    industry; n = active peers holding a product), ``share`` (tier, industry, given,
    product; share of peers, or of holders of ``given``, holding ``product``) and
    ``median`` (industry, metric in ``product``).
    """

    __tablename__ = "peer_figures"
    __table_args__ = (UniqueConstraint("as_of", "kind", "tier", "industry", "given", "product"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))
    tier: Mapped[str] = mapped_column(String(20), default="")
    industry: Mapped[str] = mapped_column(String(40), default="")
    given: Mapped[str] = mapped_column(String(32), default="")
    product: Mapped[str] = mapped_column(String(32), default="")
    n: Mapped[int] = mapped_column(Integer)
    value: Mapped[float | None] = mapped_column(Float)


class AuditLog(Base):
    __tablename__ = "audit_log"
    # Written without RETURNING: on PostgreSQL anyone may append to the trail, but the
    # row-level policy lets only executives and admins read all of it back.
    __table_args__: ClassVar = {"implicit_returning": False}
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class DataVersion(Base):
    """One row whose counter goes up with every write; cache keys include it."""

    __tablename__ = "data_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class AppSetting(Base):
    __tablename__ = "app_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SettingVersion(Base):
    """Every saved version of an admin setting (tier thresholds, ...); the newest applies."""

    __tablename__ = "setting_versions"
    __table_args__ = (UniqueConstraint("key", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class DemoTruth(Base):
    """Parameters the demo generator planted, so tests can check they are recovered."""

    __tablename__ = "demo_truth"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text)
