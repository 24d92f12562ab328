"""The refresh job: score every account for recent month-ends and store snapshots.

Run ``python -m data_access refresh``. Pages read the snapshots in ``account_scores``;
they never fit or score the portfolio on a page view.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
from sqlalchemy import Connection, Engine, Integer, delete, func, insert, select, update

from analytics.health import HealthSettings, compute_health_inputs, compute_health_scores
from data_access.bulk import insert_frame
from data_access.schema import (
    Account,
    AccountMonthly,
    AccountScore,
    Interaction,
    InterventionRecord,
    LifecycleEvent,
    ModelRun,
    SurveyResponse,
)
from data_access.sqlfuncs import month_of
from data_access.versioning import bump_data_version

MODEL_VERSION = "health-expert-1"
Progress = Callable[[str, float], None]


def _frame(conn: Connection, stmt) -> pd.DataFrame:
    result = conn.execute(stmt)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def fetch_health_sources(conn: Connection) -> dict[str, pd.DataFrame]:
    """Monthly aggregates the health score needs, grouped in SQL."""
    accounts = _frame(
        conn,
        select(
            Account.id.label("account_id"), Account.tier, Account.onboarded_on, Account.churned_on
        ),
    )
    monthly = _frame(
        conn,
        select(
            AccountMonthly.account_id,
            AccountMonthly.month,
            AccountMonthly.revenue,
            AccountMonthly.products_held,
        ),
    )
    m = month_of(Interaction.occurred_on)
    interactions = _frame(
        conn,
        select(Interaction.account_id, m.label("month"), func.count().label("n")).group_by(
            Interaction.account_id, m
        ),
    )
    sm = month_of(SurveyResponse.responded_on)
    nps = _frame(
        conn,
        select(
            SurveyResponse.account_id,
            sm.label("month"),
            func.sum((SurveyResponse.score >= 9).cast(Integer)).label("promoters"),
            func.sum((SurveyResponse.score <= 6).cast(Integer)).label("detractors"),
            func.count().label("responses"),
        )
        .where(SurveyResponse.survey == "nps")
        .group_by(SurveyResponse.account_id, sm),
    )
    stages = _frame(
        conn,
        select(LifecycleEvent.account_id, LifecycleEvent.stage, LifecycleEvent.entered_on),
    )
    recoveries = _frame(
        conn,
        select(
            InterventionRecord.account_id,
            InterventionRecord.created_at,
            InterventionRecord.completed_on,
            InterventionRecord.status,
        ).where(InterventionRecord.kind == "service_recovery"),
    )
    return {
        "accounts": accounts,
        "monthly": monthly,
        "interactions": interactions,
        "nps": nps,
        "stages": stages,
        "recoveries": recoveries,
    }


def _open_risks(sources: dict[str, pd.DataFrame], months: pd.DatetimeIndex) -> pd.DataFrame:
    """Open risk items at each month end: at-risk stage plus open service recoveries."""
    ends = months + pd.offsets.MonthEnd(0)
    grid = pd.DataFrame({"month": months, "month_end": ends}).sort_values("month_end")
    st = sources["stages"].assign(entered_on=lambda d: pd.to_datetime(d["entered_on"]))
    st = st.sort_values("entered_on")
    rows = []
    if not st.empty:
        cross = grid.merge(st[["account_id"]].drop_duplicates(), how="cross").sort_values(
            "month_end"
        )
        last = pd.merge_asof(cross, st, left_on="month_end", right_on="entered_on", by="account_id")
        at_risk = last.loc[last["stage"] == "at_risk", ["account_id", "month"]]
        rows.append(at_risk.assign(n=1))
    rec = sources["recoveries"]
    if not rec.empty:
        rec = rec.assign(
            created=pd.to_datetime(rec["created_at"]),
            done=pd.to_datetime(rec["completed_on"]),
        )
        rec = rec[rec["status"] != "cancelled"]
        cross = rec.merge(grid, how="cross")
        open_ = (cross["created"] <= cross["month_end"]) & (
            cross["done"].isna() | (cross["done"] > cross["month_end"])
        )
        rows.append(cross.loc[open_, ["account_id", "month"]].assign(n=1))
    if not rows:
        return pd.DataFrame(columns=["account_id", "month", "n"])
    return pd.concat(rows).groupby(["account_id", "month"], as_index=False)["n"].sum()


def compute_snapshots(
    sources: dict[str, pd.DataFrame], as_of_months: int, settings: HealthSettings
) -> pd.DataFrame:
    """Health snapshots for the last ``as_of_months`` months of data."""
    monthly = sources["monthly"]
    months = pd.DatetimeIndex(sorted(pd.to_datetime(monthly["month"]).unique()))
    wanted = months[-as_of_months:]
    inputs = compute_health_inputs(
        monthly,
        sources["interactions"],
        sources["nps"],
        _open_risks(sources, months),
        sources["accounts"],
        wanted,
    )
    scores = compute_health_scores(inputs, settings)
    scores["as_of"] = (scores["month"] + pd.offsets.MonthEnd(0)).dt.date
    return scores.drop(columns="month")


def run_refresh(
    engine: Engine,
    *,
    as_of_months: int = 24,
    settings: HealthSettings | None = None,
    progress: Progress | None = None,
) -> dict[str, object]:
    """Score all accounts for the last ``as_of_months`` month-ends and store snapshots.

    Idempotent: snapshots for the same as-of dates are replaced. The whole write is
    one transaction, so a failure leaves the previous snapshots intact.
    """
    say = progress or (lambda _m, _f: None)
    settings = settings or HealthSettings()
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    say("Reading monthly aggregates", 0.05)
    with engine.connect() as conn:
        sources = fetch_health_sources(conn)
    if sources["monthly"].empty:
        return {"snapshots": 0, "as_of": None}
    say("Scoring health", 0.4)
    snaps = compute_snapshots(sources, as_of_months, settings)
    latest = max(snaps["as_of"]) if len(snaps) else None
    say("Writing snapshots", 0.7)
    with engine.begin() as conn:
        run_id = conn.execute(
            insert(ModelRun)
            .values(
                kind="health",
                version=MODEL_VERSION,
                as_of=latest,
                started_at=started,
                status="running",
                params={
                    "weights": settings.weights,
                    "healthy_from": settings.healthy_from,
                    "watch_from": settings.watch_from,
                    "as_of_months": as_of_months,
                },
            )
            .returning(ModelRun.id)
        ).scalar_one()
        dates = sorted(set(snaps["as_of"]))
        conn.execute(delete(AccountScore).where(AccountScore.as_of.in_(dates)))
        snaps = snaps.assign(model_run_id=run_id)
        insert_frame(conn, AccountScore.__table__, snaps)
        stats = {
            "accounts_scored": int(snaps["account_id"].nunique()),
            "snapshots": len(snaps),
            "mean_confidence": round(float(snaps["score_confidence"].mean()), 3),
            "band_shares_latest": {
                k: round(float(v), 4)
                for k, v in snaps.loc[snaps["as_of"] == latest, "health_band"]
                .value_counts(normalize=True)
                .items()
            },
        }
        conn.execute(
            update(ModelRun)
            .where(ModelRun.id == run_id)
            .values(
                status="done",
                finished_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                stats=stats,
            )
        )
        bump_data_version(conn)
    say("Snapshots written", 1.0)
    return {"snapshots": len(snaps), "as_of": latest, "model_run_id": run_id}


def snapshots_missing(conn: Connection) -> bool:
    """Whether the database has facts but no health snapshots yet."""
    has_facts = conn.execute(select(AccountMonthly.account_id).limit(1)).first() is not None
    has_scores = conn.execute(select(AccountScore.id).limit(1)).first() is not None
    return has_facts and not has_scores
