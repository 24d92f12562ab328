"""The one cache boundary between Streamlit pages and the database.

Every cached loader is keyed by small values only: the database identity, the
viewer's scope, the filters and the data version. A write bumps the data version
in its own transaction, so the next page view of any user misses the cache.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import pandas as pd
import streamlit as st
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from analytics import overview as ov
from analytics.satisfaction import NpsEstimate, compute_nps
from data_access import (
    audit,
    auth,
    growth,
    importing,
    interventions,
    lifecycle,
    peers,
    portfolio,
    profile,
    refresh,
    row_security,
    satisfaction,
    settings,
    sso,
    users,
    writes,
)
from data_access.config import ConfigError, database_url
from data_access.engine import (
    DatabaseUnavailable,
    check_connection,
    create_engine_for,
    describe_error,
)
from data_access.scope import Filters, Scope
from data_access.versioning import fetch_data_version

T = TypeVar("T")
TTL = dt.timedelta(minutes=30)
ENTRIES = 64
# Cached figures are keyed by who may see them, not by the sign-in that asked first: a
# user's new session reuses what an earlier one of the same user loaded.
SCOPE_KEY = {Scope: lambda s: (s.user_id, s.role, s.team_id)}


def _dispose(engine: Engine) -> None:
    engine.dispose()


# An evicted engine closes its pooled connections instead of leaving them to the
# garbage collector.
@st.cache_resource(max_entries=4, on_release=_dispose, show_spinner=False)
def _engine(url_text: str) -> Engine:
    eng = create_engine_for(database_url())
    row_security.install(eng)
    return eng


def engine() -> Engine:
    """The engine for the configured database (one per process and URL)."""
    url = database_url()
    return _engine(url.render_as_string(hide_password=False))


def _db_key() -> str:
    return database_url().render_as_string(hide_password=True)


def _read(work: Callable[[Connection], T], scope: Scope | None = None) -> T:
    """Run ``work`` in one transaction acting for ``scope``'s viewer (see row_security)."""
    eng = engine()
    try:
        viewer = scope.session_id if scope else None
        with row_security.acting_for(viewer), eng.connect() as conn:
            return work(conn)
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(describe_error(exc, eng.url)) from exc


def _write(work: Callable[[Connection], T], scope: Scope | None = None) -> T:
    """Like :func:`_read`, committed at the end."""
    eng = engine()
    try:
        viewer = scope.session_id if scope else None
        with row_security.acting_for(viewer), eng.begin() as conn:
            return work(conn)
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(describe_error(exc, eng.url)) from exc


# ------------------------------------------------------------------ auth
def database_answers() -> bool:
    """Whether the database answers a trivial query right now (never raises)."""
    try:
        check_connection(engine())
    except (DatabaseUnavailable, ConfigError):
        return False
    return True


def data_version() -> int:
    """Current data version (not cached: it is what makes caches fresh)."""
    return _read(fetch_data_version)


def login(username: str, password: str) -> tuple[auth.UserInfo, str, int] | None:
    """Check a password; on success record a session and return it with its cookie."""

    def work(conn: Connection) -> tuple[auth.UserInfo, str, int] | None:
        user = auth.verify_login(conn, username, password)
        if user is None:
            return None
        cookie, max_age = auth.create_session(conn, user)
        return user, cookie, max_age

    return _write(work)


def sso_login(claims: dict) -> tuple[auth.UserInfo, str, int] | None:
    """Map a single sign-on identity to a user and record a session; None: no access."""

    def work(conn: Connection) -> tuple[auth.UserInfo, str, int] | None:
        user = sso.map_identity(conn, claims)
        if user is None:
            return None
        cookie, max_age = auth.create_session(conn, user)
        return user, cookie, max_age

    return _write(work)


def user_from_cookie(cookie: str | None) -> tuple[auth.UserInfo, str] | None:
    """The user a login cookie stands for, if still valid."""
    if not cookie:
        return None
    return _write(lambda conn: auth.resolve_session(conn, cookie))


def session_is_live(session_id: str) -> bool:
    """Whether the session behind this browser tab is still logged in."""
    return _read(lambda conn: auth.session_is_live(conn, session_id))


def logout(session_id: str, user_id: int) -> None:
    """Revoke a session."""
    _write(lambda conn: auth.revoke_session(conn, session_id, user_id))


def save_locale(user_id: int, locale: str) -> None:
    """Remember a user's language."""
    _write(lambda conn: auth.record_locale(conn, user_id, locale))


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def _is_demo(db_key: str, version: int) -> bool:
    return _read(auth.is_demo_database)


def is_demo(version: int) -> bool:
    """Whether the login page may list the demo users."""
    return _is_demo(_db_key(), version)


# --------------------------------------------------------------- loaders
@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _filter_options(db_key: str, scope: Scope, version: int) -> dict[str, list]:
    def work(conn: Connection) -> dict[str, list]:
        opts = portfolio.fetch_filter_options(conn, scope)
        opts["months"] = portfolio.fetch_available_months(conn, scope)
        return opts

    return _read(work, scope=scope)


def load_filter_options(scope: Scope, version: int) -> dict[str, list]:
    """Filter choices (regions, industries, tiers, teams, months) for the viewer."""
    return _filter_options(_db_key(), scope, version)


@dataclass(frozen=True)
class OverviewData:
    """Everything the overview page shows, computed once per scope, filters and version."""

    kpis: ov.OverviewKpis
    tier_mix: pd.DataFrame
    tier_health: pd.DataFrame
    pareto: pd.DataFrame
    top20_share: float | None
    stages: pd.DataFrame
    movers: pd.DataFrame
    monthly_revenue: pd.DataFrame
    nps: NpsEstimate
    accounts_in_view: int


def _named(conn: Connection, movers: pd.DataFrame) -> pd.DataFrame:
    names = portfolio.fetch_account_names(conn, movers["account_id"].tolist())
    out = movers.merge(names, on="account_id", how="left")
    first = ["account_id", "code", "name"]
    return out[first + [c for c in out.columns if c not in first]]


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _overview(db_key: str, scope: Scope, filters: Filters, version: int) -> OverviewData:
    def work(conn: Connection) -> OverviewData:
        accounts = portfolio.fetch_portfolio_accounts(conn, scope, filters)
        counts = portfolio.fetch_nps_counts(conn, scope, filters)
        monthly = portfolio.fetch_monthly_revenue(conn, scope, filters)
        nps = compute_nps(counts["promoters"], counts["passives"], counts["detractors"])
        month = filters.period_month
        return OverviewData(
            kpis=ov.compute_kpis(accounts, nps, month),
            tier_mix=ov.compute_tier_mix(accounts, month),
            tier_health=ov.compute_tier_health_matrix(accounts, month),
            pareto=ov.compute_pareto(accounts),
            top20_share=ov.revenue_share_of_top(accounts, 0.2),
            stages=ov.compute_stage_distribution(accounts, month),
            movers=_named(conn, ov.compute_top_movers(accounts)),
            monthly_revenue=monthly,
            nps=nps,
            accounts_in_view=len(accounts),
        )

    return _read(work, scope=scope)


def load_overview(scope: Scope, filters: Filters, version: int) -> OverviewData:
    """The portfolio overview for the viewer's scope and filters."""
    return _overview(_db_key(), scope, filters, version)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _account_list(db_key: str, scope: Scope, filters: Filters, version: int) -> pd.DataFrame:
    return _read(lambda conn: portfolio.fetch_account_list(conn, scope, filters), scope=scope)


def load_account_list(scope: Scope, filters: Filters, version: int) -> pd.DataFrame:
    """The account list for the viewer's scope and filters: what it searches and sorts by."""
    return _account_list(_db_key(), scope, filters, version)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _health_noise(db_key: str, scope: Scope, period_end: dt.date, version: int) -> float | None:
    return _read(lambda conn: portfolio.fetch_health_noise(conn, scope, period_end), scope=scope)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _account_details(
    db_key: str, scope: Scope, filters: Filters, ids: tuple[int, ...], version: int
) -> pd.DataFrame:
    noise = _health_noise(db_key, scope, filters.period_end, version)
    return _read(
        lambda conn: portfolio.fetch_account_details(conn, scope, filters, list(ids), noise),
        scope=scope,
    )


def load_account_details(
    scope: Scope, filters: Filters, account_ids: tuple[int, ...], version: int
) -> pd.DataFrame:
    """Owner, products, latest NPS, contact recency, open interventions and health trend
    of the listed accounts (those shown, or all of a download)."""
    ids = tuple(sorted(int(i) for i in account_ids))
    return _account_details(_db_key(), scope, filters, ids, version)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _profile(
    db_key: str, scope: Scope, code: str, as_of: dt.date, version: int
) -> profile.ProfileData | None:
    return _read(lambda conn: profile.load_profile_data(conn, scope, code, as_of), scope=scope)


def load_profile(
    scope: Scope, code: str, as_of: dt.date, version: int
) -> profile.ProfileData | None:
    """One account's profile, or None when it does not exist or is outside the scope."""
    return _profile(_db_key(), scope, code, as_of, version)


def save_interaction(scope: Scope, account_id: int, data: writes.InteractionInput) -> int:
    """Record an interaction (validated, audited, visible to all at once)."""
    return _write(
        lambda conn: writes.record_interaction(conn, scope, account_id, data), scope=scope
    )


def save_new_contact(scope: Scope, account_id: int, data: writes.ContactInput) -> int:
    """Add a stakeholder (validated, audited)."""
    return _write(lambda conn: writes.record_contact(conn, scope, account_id, data), scope=scope)


def save_contact_edit(
    scope: Scope, contact_id: int, expected_version: int, data: writes.ContactInput
) -> int:
    """Edit a stakeholder with optimistic locking."""
    return _write(
        lambda conn: writes.update_contact(conn, scope, contact_id, expected_version, data),
        scope=scope,
    )


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _lifecycle(
    db_key: str, scope: Scope, filters: Filters, version: int
) -> lifecycle.LifecycleData:
    return _read(lambda conn: lifecycle.load_lifecycle_data(conn, scope, filters), scope=scope)


def load_lifecycle(scope: Scope, filters: Filters, version: int) -> lifecycle.LifecycleData:
    """Lifecycle, retention, drivers and risk for the viewer's scope and filters."""
    return _lifecycle(_db_key(), scope, filters, version)


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def _model_runs(db_key: str, version: int) -> dict[str, dict | None]:
    kinds = ("health", "churn_drivers", "churn_risk", "health_fitted", "validation")
    return _read(lambda conn: {k: lifecycle.fetch_latest_model(conn, k) for k in kinds})


def load_model_runs(version: int) -> dict[str, dict | None]:
    """The newest run of each model: portfolio-level statistics only."""
    return _model_runs(_db_key(), version)


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def _tiering(db_key: str, version: int) -> dict:
    def work(conn: Connection) -> dict:
        number, current = settings.fetch_tiering(conn)
        rules_version, rules = settings.fetch_lifecycle_rules(conn)
        return {
            "version": number,
            "settings": current,
            "history": settings.fetch_tiering_history(conn),
            "lifecycle": rules,
            "lifecycle_version": rules_version,
        }

    return _read(work)


def load_tiering(version: int) -> dict:
    """Current tiering settings, their version and the history of versions."""
    return _tiering(_db_key(), version)


def tier_names(version: int) -> dict[str, tuple[str, str]]:
    """Configured tier names, code -> (English, Chinese)."""
    current = load_tiering(version)["settings"]
    return {t.code: (t.name_en, t.name_zh) for t in current.tiers}


def save_tiering(scope: Scope, new: settings.TieringSettings) -> int:
    """Save a new version of the tiering settings (admins; validated, audited)."""
    return _write(lambda conn: settings.record_tiering(conn, scope, new), scope=scope)


def save_lifecycle_rules(scope: Scope, rules: settings.LifecycleRules) -> int:
    """Save a new version of the lifecycle stage rules (admins; validated, audited)."""
    return _write(lambda conn: settings.record_lifecycle_rules(conn, scope, rules), scope=scope)


def apply_tiers(scope: Scope) -> int:
    """Move accounts to their suggested tiers (admins; audited)."""
    return _write(lambda conn: settings.apply_suggested_tiers(conn, scope), scope=scope)


def run_refresh_now(scope: Scope, progress: Callable[[str, float], None]) -> dict:
    """Run the refresh job in this process for an admin, reporting progress."""
    if scope.role != "admin":
        raise writes.NotPermitted("only admins run the refresh job")
    try:
        with row_security.acting_for(scope.session_id):
            return refresh.run_refresh(engine(), progress=progress)
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(describe_error(exc, engine().url)) from exc


# ---------------------------------------------------------- interventions
@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _interventions(
    db_key: str, scope: Scope, query: interventions.InterventionQuery, version: int
) -> pd.DataFrame:
    return _read(lambda conn: interventions.fetch_interventions(conn, scope, query), scope=scope)


def load_interventions(
    scope: Scope, query: interventions.InterventionQuery, version: int
) -> pd.DataFrame:
    """Interventions in the viewer's scope matching ``query``."""
    return _interventions(_db_key(), scope, query, version)


def load_intervention(scope: Scope, intervention_id: int) -> dict | None:
    """One intervention, read fresh (it is about to be edited)."""
    return _read(
        lambda conn: interventions.fetch_intervention(conn, scope, intervention_id), scope=scope
    )


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _my_alerts(db_key: str, scope: Scope, today: dt.date, version: int) -> pd.DataFrame:
    return _read(lambda conn: interventions.fetch_my_alerts(conn, scope, today), scope=scope)


def load_my_alerts(scope: Scope, today: dt.date, version: int) -> pd.DataFrame:
    """Open rule suggestions in scope and the viewer's own items due in two weeks."""
    return _my_alerts(_db_key(), scope, today, version)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _owner_choices(db_key: str, scope: Scope, team_id: int | None, version: int) -> pd.DataFrame:
    return _read(lambda conn: interventions.fetch_owner_choices(conn, scope, team_id), scope=scope)


def load_owner_choices(scope: Scope, team_id: int | None, version: int) -> pd.DataFrame:
    """Who may own an intervention on an account of ``team_id``."""
    return _owner_choices(_db_key(), scope, team_id, version)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _scope_accounts(db_key: str, scope: Scope, version: int) -> pd.DataFrame:
    return _read(lambda conn: interventions.fetch_scope_accounts(conn, scope), scope=scope)


def load_scope_accounts(scope: Scope, version: int) -> pd.DataFrame:
    """Active accounts the viewer may see (for pickers)."""
    return _scope_accounts(_db_key(), scope, version)


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def _effects(db_key: str, version: int) -> dict | None:
    return _read(lambda conn: lifecycle.fetch_latest_model(conn, "intervention_effects"))


def load_effects(version: int) -> dict | None:
    """The latest intervention-effect estimates (portfolio-level statistics only)."""
    return _effects(_db_key(), version)


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def _intervention_settings(db_key: str, version: int) -> dict:
    def work(conn: Connection) -> dict:
        rules_version, rules = settings.fetch_alert_rules(conn)
        playbooks_version, playbooks = settings.fetch_playbooks(conn)
        return {
            "alert_rules": rules,
            "alert_rules_version": rules_version,
            "playbooks": playbooks,
            "playbooks_version": playbooks_version,
        }

    return _read(work)


def load_intervention_settings(version: int) -> dict:
    """Alert rules and playbooks with their versions."""
    return _intervention_settings(_db_key(), version)


def save_new_intervention(
    scope: Scope, account_id: int, data: interventions.InterventionInput, token: str
) -> tuple[int, bool]:
    """Create an intervention (idempotent for the same token); returns (id, created)."""
    return _write(
        lambda conn: interventions.create_intervention(
            conn, scope, account_id, data, request_token=token
        ),
        scope=scope,
    )


def save_intervention_edit(
    scope: Scope, intervention_id: int, expected_version: int, data: interventions.InterventionInput
) -> int:
    """Edit an intervention with optimistic locking."""
    return _write(
        lambda conn: interventions.update_intervention(
            conn, scope, intervention_id, expected_version, data
        ),
        scope=scope,
    )


def save_intervention_status(
    scope: Scope,
    intervention_id: int,
    expected_version: int,
    action: str,
    outcome: str | None,
    note: str,
) -> int:
    """Start, complete, cancel or reopen an intervention with optimistic locking."""
    return _write(
        lambda conn: interventions.change_status(
            conn, scope, intervention_id, expected_version, action, outcome=outcome, note=note
        ),
        scope=scope,
    )


def preview_playbook(
    scope: Scope, playbook: interventions.Playbook, codes: tuple[str, ...], start: dt.date
) -> pd.DataFrame:
    """What applying a playbook would create (nothing is written)."""
    return _read(
        lambda conn: interventions.preview_playbook(conn, scope, playbook, codes, start),
        scope=scope,
    )


def apply_playbook(
    scope: Scope,
    playbook: interventions.Playbook,
    codes: tuple[str, ...],
    start: dt.date,
    token: str,
) -> int:
    """Create a playbook's interventions for the accounts, all or nothing."""
    return _write(
        lambda conn: interventions.apply_playbook(conn, scope, playbook, codes, start, token),
        scope=scope,
    )


def run_alert_rules(scope: Scope) -> dict[str, int]:
    """Evaluate the alert rules now (admins)."""

    def work(conn: Connection) -> dict[str, int]:
        if scope.role != "admin":
            raise writes.NotPermitted("only admins run the alert rules")
        return interventions.sync_alerts(
            conn, settings.fetch_alert_rules(conn)[1], user_id=scope.user_id
        )

    return _write(work, scope=scope)


def save_alert_rules(scope: Scope, rules: settings.AlertRules) -> int:
    """Save a new version of the alert rules (admins; validated, audited)."""
    return _write(lambda conn: settings.record_alert_rules(conn, scope, rules), scope=scope)


def save_playbooks(scope: Scope, playbooks: tuple[interventions.Playbook, ...]) -> int:
    """Save a new version of the playbooks (admins; validated, audited)."""
    return _write(lambda conn: settings.record_playbooks(conn, scope, playbooks), scope=scope)


# ----------------------------------------------------------- satisfaction
@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _satisfaction(
    db_key: str, scope: Scope, filters: Filters, version: int
) -> satisfaction.SatisfactionData:
    return _read(
        lambda conn: satisfaction.load_satisfaction_data(conn, scope, filters), scope=scope
    )


def load_satisfaction(
    scope: Scope, filters: Filters, version: int
) -> satisfaction.SatisfactionData:
    """Survey cells per month and segment, and names, for the viewer's scope and filters."""
    return _satisfaction(_db_key(), scope, filters, version)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _satisfaction_part(db_key: str, part: str, scope: Scope, filters: Filters, version: int):
    load = {
        "drops": satisfaction.load_drop_scans,
        "coverage": satisfaction.load_coverage,
        "outcomes": satisfaction.load_outcomes,
        "seasonality": satisfaction.load_seasonality,
        "products": satisfaction.fetch_product_cells,
    }[part]
    return _read(lambda conn: load(conn, scope, filters), scope=scope)


def load_drop_scans(scope: Scope, filters: Filters, version: int) -> satisfaction.DropScans:
    """Segment and account NPS drop scans for the viewer's scope and filters."""
    return _satisfaction_part(_db_key(), "drops", scope, filters, version)


def load_coverage(scope: Scope, filters: Filters, version: int) -> satisfaction.Coverage:
    """Per-account answers of the period, account revenue and stakeholder counts."""
    return _satisfaction_part(_db_key(), "coverage", scope, filters, version)


def load_outcomes(scope: Scope, filters: Filters, version: int) -> pd.DataFrame:
    """Later churn and revenue change by the accounts' NPS band a year before."""
    return _satisfaction_part(_db_key(), "outcomes", scope, filters, version)


def load_seasonality(scope: Scope, filters: Filters, version: int) -> dict | None:
    """NPS trend and seasonal swing from every answer (clustered by account)."""
    return _satisfaction_part(_db_key(), "seasonality", scope, filters, version)


def load_product_cells(scope: Scope, filters: Filters, version: int) -> pd.DataFrame:
    """NPS cells per month and product held when answering."""
    return _satisfaction_part(_db_key(), "products", scope, filters, version)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _comments(
    db_key: str, scope: Scope, filters: Filters, query: satisfaction.CommentQuery, version: int
) -> pd.DataFrame:
    return _read(lambda conn: satisfaction.fetch_comments(conn, scope, filters, query), scope=scope)


def load_comments(
    scope: Scope, filters: Filters, query: satisfaction.CommentQuery, version: int
) -> pd.DataFrame:
    """Verbatim comments matching ``query`` in the viewer's scope."""
    return _comments(_db_key(), scope, filters, query, version)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _open_detractors(
    db_key: str, scope: Scope, filters: Filters, days: int, today: dt.date, version: int
) -> pd.DataFrame:
    return _read(
        lambda conn: satisfaction.fetch_open_detractors(conn, scope, filters, days, today),
        scope=scope,
    )


def load_open_detractors(
    scope: Scope, filters: Filters, days: int, today: dt.date, version: int
) -> pd.DataFrame:
    """Detractor answers without a follow-up intervention."""
    return _open_detractors(_db_key(), scope, filters, days, today, version)


def save_followup(scope: Scope, response_id: int) -> tuple[int, bool]:
    """Plan the follow-up of a detractor answer (idempotent per answer)."""
    return _write(lambda conn: satisfaction.create_followup(conn, scope, response_id), scope=scope)


def save_satisfaction_settings(scope: Scope, min_n: int, days: int) -> int:
    """Save a new version of the satisfaction settings (admins)."""
    return _write(
        lambda conn: settings.record_satisfaction_settings(conn, scope, min_n, days), scope=scope
    )


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def _satisfaction_settings(db_key: str, version: int) -> dict:
    def work(conn: Connection) -> dict:
        number, value = settings.fetch_satisfaction_settings(conn)
        return value | {"version": number}

    return _read(work)


def load_satisfaction_settings(version: int) -> dict:
    """Minimum answers per figure and the detractor follow-up window, with their version."""
    return _satisfaction_settings(_db_key(), version)


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def _health_settings(db_key: str, version: int) -> tuple[int, settings.HealthSettings]:
    return _read(settings.fetch_health_settings)


def load_health_settings(version: int) -> tuple[int, settings.HealthSettings]:
    """The expert health weights and band thresholds, with their version."""
    return _health_settings(_db_key(), version)


def save_health_settings(
    scope: Scope, weights: dict[str, float], healthy_from: float, watch_from: float
) -> int:
    """Save new health weights and bands (admins; versioned, audited)."""
    return _write(
        lambda conn: settings.record_health_settings(
            conn, scope, weights, healthy_from, watch_from
        ),
        scope=scope,
    )


# ------------------------------------------------------------------ growth
@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def _products(db_key: str, version: int) -> pd.DataFrame:
    return _read(growth.fetch_products)


def load_products(version: int) -> pd.DataFrame:
    """The product catalogue."""
    return _products(_db_key(), version)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _growth(db_key: str, scope: Scope, filters: Filters, version: int) -> growth.GrowthData:
    return _read(lambda conn: growth.load_growth_data(conn, scope, filters), scope=scope)


def load_growth(scope: Scope, filters: Filters, version: int) -> growth.GrowthData:
    """The suggestions counted, products and the latest growth run for the viewer's scope
    and filters."""
    return _growth(_db_key(), scope, filters, version)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _whitespace(
    db_key: str,
    scope: Scope,
    filters: Filters,
    products: tuple[str, ...],
    floor: float,
    limit: int,
    version: int,
) -> tuple[pd.DataFrame, int, pd.DataFrame]:
    return _read(
        lambda conn: growth.fetch_whitespace(conn, scope, filters, products, floor, limit),
        scope=scope,
    )


def load_whitespace(
    scope: Scope,
    filters: Filters,
    products: tuple[str, ...],
    floor: float,
    limit: int,
    version: int,
) -> tuple[pd.DataFrame, int, pd.DataFrame]:
    """The ``limit`` accounts in view with the most expected revenue from ``products`` (at
    least ``floor``), how many reach ``floor``, and their scores for those products."""
    return _whitespace(_db_key(), scope, filters, tuple(sorted(products)), floor, limit, version)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _suggestions(
    db_key: str, scope: Scope, filters: Filters, limit: int | None, version: int
) -> pd.DataFrame:
    return _read(lambda conn: growth.fetch_suggestions(conn, scope, filters, limit), scope=scope)


def load_suggestions(
    scope: Scope, filters: Filters, limit: int | None, version: int
) -> pd.DataFrame:
    """The ``limit`` top-ranked suggestions in view with the most expected revenue (None:
    all of them)."""
    return _suggestions(_db_key(), scope, filters, limit, version)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _holdings(
    db_key: str, scope: Scope, filters: Filters, ids: tuple[int, ...] | None, version: int
) -> pd.DataFrame:
    return _read(
        lambda conn: growth.fetch_holdings_in_view(
            conn, scope, filters, None if ids is None else list(ids)
        ),
        scope=scope,
    )


def load_holdings(
    scope: Scope, filters: Filters, account_ids: tuple[int, ...] | None, version: int
) -> pd.DataFrame:
    """``account_id, product`` held at the period end by the given active accounts in
    view (None: all of them)."""
    ids = None if account_ids is None else tuple(sorted(int(i) for i in account_ids))
    return _holdings(_db_key(), scope, filters, ids, version)


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def _peer_shares(db_key: str, month: dt.date, version: int) -> pd.DataFrame:
    return _read(lambda conn: peers.fetch_peer_shares(conn, month))


def load_peer_shares(month: dt.date, version: int) -> pd.DataFrame:
    """Portfolio-wide product shares among peers at ``month``'s end (aggregates only)."""
    return _peer_shares(_db_key(), month, version)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _offers(db_key: str, scope: Scope, filters: Filters, version: int) -> pd.DataFrame:
    return _read(lambda conn: growth.fetch_offers(conn, scope, filters), scope=scope)


def load_offers(scope: Scope, filters: Filters, version: int) -> pd.DataFrame:
    """Cross-sell offers with an answer in the viewer's scope and filters."""
    return _offers(_db_key(), scope, filters, version)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False, hash_funcs=SCOPE_KEY)
def _loyalty(db_key: str, scope: Scope, filters: Filters, version: int) -> pd.DataFrame:
    return _read(lambda conn: growth.fetch_loyalty_comparison(conn, scope, filters), scope=scope)


def load_loyalty(scope: Scope, filters: Filters, version: int) -> pd.DataFrame:
    """Loyalty members and others over the period, for the adjusted comparison."""
    return _loyalty(_db_key(), scope, filters, version)


# ------------------------------------------------------------------ admin
def import_file(
    scope: Scope,
    entity: str,
    data: bytes,
    file_name: str,
    mapping: dict[str, str] | None,
    dry_run: bool,
    progress: Callable[[str, float], None] | None = None,
) -> tuple[importing.Checked, importing.ImportResult | None]:
    """Check a file and, unless it has problems or this is a dry run, import it."""
    try:
        with row_security.acting_for(scope.session_id):
            return importing.run_import(
                engine(), scope, entity, data, file_name, mapping, dry_run, progress=progress
            )
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(describe_error(exc, engine().url)) from exc


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def _import_presets(db_key: str, version: int) -> dict:
    return _read(importing.fetch_presets)


def load_import_presets(version: int) -> dict[str, dict[str, dict[str, str]]]:
    """Saved column mappings: entity → preset name → {field: column}."""
    return _import_presets(_db_key(), version)


def save_import_preset(scope: Scope, entity: str, name: str, mapping: dict[str, str]) -> int:
    """Save a column mapping (admins; versioned, audited)."""
    return _write(
        lambda conn: importing.record_preset(conn, scope, entity, name, mapping), scope=scope
    )


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def _users(db_key: str, scope: Scope, version: int) -> pd.DataFrame:
    return _read(lambda conn: users.fetch_users(conn, scope), scope=scope)


def load_users(scope: Scope, version: int) -> pd.DataFrame:
    """All users for the administration page (admins)."""
    return _users(_db_key(), scope, version)


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def _teams(db_key: str, version: int) -> list[dict]:
    return _read(users.fetch_teams)


def load_teams(version: int) -> list[dict]:
    """Every team (id, code, names), including teams without accounts yet."""
    return _teams(_db_key(), version)


def save_new_user(scope: Scope, username: str, data: users.UserInput, password: str) -> int:
    """Create a user (admins; validated, audited)."""
    return _write(
        lambda conn: users.create_user(conn, scope, username, data, password), scope=scope
    )


def save_user(scope: Scope, user_id: int, data: users.UserInput) -> bool:
    """Change a user (admins; validated, audited; ends their sessions on role changes)."""
    return _write(lambda conn: users.update_user(conn, scope, user_id, data), scope=scope)


def save_password_reset(scope: Scope, user_id: int, password: str) -> None:
    """Set a user's password (admins; audited without the password)."""
    _write(lambda conn: users.reset_password(conn, scope, user_id, password), scope=scope)


def load_audit_facets(scope: Scope) -> dict[str, list]:
    """Users, entities and actions present in the audit log (not cached: always current)."""
    return _read(lambda conn: audit.fetch_audit_facets(conn, scope), scope=scope)


def load_audit(scope: Scope, query: audit.AuditQuery) -> tuple[pd.DataFrame, int]:
    """Audit rows matching ``query`` (not cached: always current)."""
    return _read(lambda conn: audit.fetch_audit(conn, scope, query), scope=scope)
