"""Inputs of the intervention-effect estimator, read in SQL and shaped for analytics.effects."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, select

from analytics import effects as ef
from data_access.frames import read_frame
from data_access.schema import (
    Account,
    AccountMonthly,
    InterventionRecord,
    SurveyResponse,
    TierHistory,
)
from data_access.sqlfuncs import month_of

VERSION = "did-matched-1"


def fetch_effect_inputs(
    conn: Connection, monthly: pd.DataFrame | None = None
) -> tuple[ef.Panel, pd.DataFrame, pd.DataFrame]:
    """The monthly panel, the completed interventions (events) and the NPS answers.

    ``monthly`` (the rollup with account_id, month, revenue) is read unless given.
    """
    accounts = read_frame(
        conn,
        select(
            Account.id.label("account_id"),
            Account.industry,
            Account.onboarded_on,
            Account.churned_on,
            Account.tier,
        ),
    )
    if monthly is None:
        monthly = read_frame(
            conn, select(AccountMonthly.account_id, AccountMonthly.month, AccountMonthly.revenue)
        )
    tiers = read_frame(
        conn, select(TierHistory.account_id, TierHistory.tier, TierHistory.changed_on)
    )
    iv = read_frame(
        conn,
        select(
            InterventionRecord.id.label("event_id"),
            InterventionRecord.account_id,
            InterventionRecord.kind,
            InterventionRecord.status,
            InterventionRecord.created_at,
            InterventionRecord.completed_on,
        ),
    )
    m = month_of(SurveyResponse.responded_on)
    responses = read_frame(
        conn,
        select(SurveyResponse.account_id, m.label("month"), SurveyResponse.score).where(
            SurveyResponse.survey == "nps"
        ),
    )
    return ef.prepare_inputs(accounts, monthly, tiers, iv, responses)


def estimate_effects(conn: Connection, monthly: pd.DataFrame | None = None) -> dict | None:
    """Every kind × tier × outcome × horizon (None when there is nothing to estimate)."""
    panel, events, responses = fetch_effect_inputs(conn, monthly)
    if events.empty or len(panel.months) < ef.PRE + 2:
        return None
    result = ef.estimate_all(panel, events, responses)
    result["window"] = {
        "first_month": panel.months[0].date().isoformat(),
        "last_month": panel.months[-1].date().isoformat(),
        "events": len(events),
    }
    return result
