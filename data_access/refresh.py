"""The refresh job: score every account for recent month-ends and store snapshots.

Run ``python -m data_access refresh``. Pages read the snapshots in ``account_scores``;
they never fit or score the portfolio on a page view.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Integer, delete, func, insert, select

from analytics import churn, clv, lifecycle, tiering, validation
from analytics.effects import CONTROLS_PER_EVENT, HORIZONS, PRE
from analytics.health import (
    HealthSettings,
    compute_health_inputs,
    compute_health_scores,
    fit_health_weights,
)
from analytics.profile import compute_clv_table
from analytics.tiering import TieringSettings
from data_access import peers, segments, stage_rollup
from data_access.bulk import insert_frame
from data_access.effects import VERSION as EFFECTS_VERSION
from data_access.effects import estimate_effects
from data_access.frames import read_frame
from data_access.growth import VERSION as GROWTH_VERSION
from data_access.growth import compute_growth, fetch_growth_inputs, write_growth
from data_access.interventions import sync_alerts
from data_access.schema import (
    Account,
    AccountMonthly,
    AccountScore,
    InterventionRecord,
    LifecycleEvent,
    ModelRun,
    Product,
    RevenueMonthly,
    StakeholderChange,
    SurveyResponse,
    Transaction,
)
from data_access.settings import (
    fetch_alert_rules,
    fetch_health_settings,
    fetch_lifecycle_rules,
    fetch_tiering,
)
from data_access.sqlfuncs import month_of
from data_access.versioning import bump_data_version

MODEL_VERSION = "health-expert-1"
# Tables the job rewrites in bulk (snapshots, scores, stage moves, peer figures, segment
# totals, alerts): on PostgreSQL they are vacuumed and analysed right after it.
REWRITTEN = (
    "account_scores",
    "product_scores",
    "lifecycle_events",
    "peer_figures",
    "segment_monthly",
    "segment_stage_counts",
    "segment_stage_flows",
    "interventions",
)
CHURN_VERSION = "churn-logit-1"
Progress = Callable[[str, float], None]


def fetch_health_sources(conn: Connection) -> dict[str, pd.DataFrame]:
    """Monthly aggregates the health score needs, grouped in SQL."""
    accounts = read_frame(
        conn,
        select(
            Account.id.label("account_id"),
            Account.tier,
            Account.onboarded_on,
            Account.churned_on,
            Account.potential,
        ),
    )
    monthly = peers.fetch_rollup(conn)
    interactions = peers.fetch_touches(conn)
    sm = month_of(SurveyResponse.responded_on)
    nps = read_frame(
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
    sponsor_changes = read_frame(
        conn,
        select(StakeholderChange.account_id, StakeholderChange.changed_on).where(
            StakeholderChange.role == "decision_maker"
        ),
    )
    last_month = conn.execute(select(func.max(AccountMonthly.month))).scalar()
    margins = pd.DataFrame(columns=["account_id", "margin_12m"])
    if last_month is not None:
        first = pd.Timestamp(last_month) - pd.DateOffset(months=11)
        margins = read_frame(
            conn,
            select(
                RevenueMonthly.account_id,
                func.sum(RevenueMonthly.revenue * Product.margin_rate).label("margin_12m"),
            )
            .join(Product, Product.id == RevenueMonthly.product_id)
            .where(RevenueMonthly.month >= first.date())
            .group_by(RevenueMonthly.account_id),
        )
    transactions = read_frame(
        conn, select(Transaction.account_id, Transaction.occurred_on, Transaction.amount)
    )
    stages = read_frame(
        conn,
        select(LifecycleEvent.account_id, LifecycleEvent.stage, LifecycleEvent.entered_on),
    )
    recoveries = read_frame(
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
        "transactions": transactions,
        "sponsor_changes": sponsor_changes,
        "margins": margins,
    }


def _open_risks(sources: dict[str, pd.DataFrame], months: pd.DatetimeIndex) -> pd.DataFrame:
    """Open risk items at each month end: service recoveries not yet completed.

    The lifecycle stage is deliberately not an input: the stage rules read the health
    score, and a score that read the stage back would feed on itself.
    """
    ends = months + pd.offsets.MonthEnd(0)
    grid = pd.DataFrame({"month": months, "month_end": ends}).sort_values("month_end")
    rows = []
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


def _table_json(table: pd.DataFrame) -> dict:
    return {str(k): [round(float(v), 6) for v in row] for k, row in table.iterrows()}


def compute_models(
    sources: dict[str, pd.DataFrame], as_of_months: int, settings: HealthSettings
) -> dict[str, object]:
    """Health snapshots, churn models, fitted health weights and their validation.

    Everything is computed from the monthly aggregates in ``sources``; nothing is
    written here.
    """
    monthly = sources["monthly"]
    accounts = sources["accounts"]
    months = pd.DatetimeIndex(sorted(pd.to_datetime(monthly["month"]).unique()))
    inputs = compute_health_inputs(
        monthly,
        sources["interactions"],
        sources["nps"],
        _open_risks(sources, months),
        accounts,
        months[3:],
    )
    scores = compute_health_scores(inputs, settings)
    panel = churn.build_churn_panel(inputs, accounts, sources.get("sponsor_changes"))
    result: dict[str, object] = {"months": months}
    result["latest_inputs"] = inputs.loc[
        inputs["month"] == months[-1], ["account_id", "revenue_3m", "revenue_prev_3m"]
    ]
    try:
        drivers = churn.fit_churn_model(panel, churn.DRIVERS)
        risk = churn.fit_churn_model(panel, churn.RISK_FEATURES)
    except ValueError:
        drivers = risk = None
    result["drivers"], result["risk"] = drivers, risk
    risk_rows = panel[["account_id", "month"]].copy()
    if risk is not None:
        band = risk.predict_interval(panel)
        risk_rows["churn_risk"] = churn.annual_risk(band["prob"])
        risk_rows["churn_risk_low"] = churn.annual_risk(band["low"])
        risk_rows["churn_risk_high"] = churn.annual_risk(band["high"])
    else:
        risk_rows["churn_risk"] = risk_rows["churn_risk_low"] = np.nan
        risk_rows["churn_risk_high"] = np.nan
    scores = scores.merge(risk_rows, on=["account_id", "month"], how="left")
    last = months[-1]
    wanted = set(months[-as_of_months:])
    snaps = scores[scores["month"].isin(wanted)].copy()
    snaps["as_of"] = (snaps["month"] + pd.offsets.MonthEnd(0)).dt.date
    result["snapshots"] = snaps.drop(columns="month")
    result["fitted"] = result["validation"] = result["purchase"] = None
    if drivers is None:
        return result
    # Fitted weights: only months whose 6-month outcome is fully observed.
    horizon = 6
    observed = scores[scores["month"] <= last - pd.DateOffset(months=horizon)]
    y6 = churn.churn_within(observed, accounts, horizon)
    if y6.sum() > 20:
        result["fitted"] = fit_health_weights(observed, y6, horizon)
    result["validation"] = validate_out_of_time(scores, panel, accounts, months)
    result["purchase"] = fit_purchase_clv(sources["transactions"], last + pd.offsets.MonthEnd(0))
    return result


def stage_changes(
    sources: dict[str, pd.DataFrame],
    latest_inputs: pd.DataFrame,
    snaps: pd.DataFrame,
    rules: lifecycle.LifecycleRules,
    rules_version: int,
) -> pd.DataFrame:
    """Lifecycle events the stage rules imply at the latest month end.

    Returns ``account_id, stage, entered_on, reason`` for active accounts whose rule
    stage differs from their current one; accounts that already have an event on or
    after that date are left alone, so running twice adds nothing.
    """
    as_of = max(snaps["as_of"])
    latest = snaps.loc[snaps["as_of"] == as_of, ["account_id", "health_score"]].merge(
        latest_inputs, on="account_id", how="inner"
    )
    onboarded = pd.to_datetime(sources["accounts"].set_index("account_id")["onboarded_on"])
    latest["tenure_months"] = (
        pd.Timestamp(as_of) - latest["account_id"].map(onboarded)
    ).dt.days / 30.4375
    decided = lifecycle.assign_stages(latest, rules)
    latest = pd.concat([latest, decided], axis=1)
    events = sources["stages"].assign(entered_on=lambda d: pd.to_datetime(d["entered_on"]))
    last = events.sort_values("entered_on").groupby("account_id").tail(1).set_index("account_id")
    current = latest["account_id"].map(last["stage"])
    recent = latest["account_id"].map(last["entered_on"]) >= pd.Timestamp(as_of)
    changed = latest[(current != latest["stage"]) & ~recent & (current != "churned")]
    return pd.DataFrame(
        {
            "account_id": changed["account_id"],
            "stage": changed["stage"],
            "entered_on": as_of,
            "reason": changed["reason"] + f" (rules v{rules_version})",
        }
    )


def account_clv(sources: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> pd.DataFrame:
    """Contractual CLV with its interval for every account with a positive 12-month margin."""
    acc = sources["accounts"].set_index("account_id")
    start = as_of - pd.DateOffset(months=12)
    onboarded = pd.to_datetime(acc["onboarded_on"])
    churned = pd.to_datetime(acc["churned_on"])
    base = (onboarded <= start) & (churned.isna() | (churned > start))
    cohorts = pd.DataFrame(
        {
            "n": base.groupby(acc["tier"]).sum(),
            "churned": (base & churned.notna() & (churned <= as_of)).groupby(acc["tier"]).sum(),
        }
    )
    margins = sources["margins"].set_index("account_id")["margin_12m"].astype(float)
    clv_table = compute_clv_table(margins, acc["tier"], cohorts)
    return clv_table.rename_axis("account_id").reset_index()


def suggest_tiers(sources: dict[str, pd.DataFrame], settings: TieringSettings) -> pd.DataFrame:
    """Value score and suggested tier of every account active in the last month."""
    monthly = sources["monthly"].assign(month=lambda d: pd.to_datetime(d["month"]))
    last = monthly["month"].max()
    cur = monthly[monthly["month"] > last - pd.DateOffset(months=12)]
    prev = monthly[
        (monthly["month"] <= last - pd.DateOffset(months=12))
        & (monthly["month"] > last - pd.DateOffset(months=24))
    ]
    frame = pd.DataFrame(
        {
            "revenue_12m": cur.groupby("account_id")["revenue"].sum(),
            "revenue_prev_12m": prev.groupby("account_id")["revenue"].sum(),
            "products_held": monthly[monthly["month"] == last].set_index("account_id")[
                "products_held"
            ],
        }
    )
    frame = frame[frame["products_held"].notna()]
    frame["revenue_prev_12m"] = frame["revenue_prev_12m"].fillna(0.0)
    frame["potential"] = sources["accounts"].set_index("account_id")["potential"]
    scores = tiering.compute_value_scores(frame, settings)
    return pd.DataFrame(
        {
            "account_id": frame.index,
            "tier_score": scores.to_numpy(),
            "suggested_tier": tiering.assign_tiers(scores, settings).to_numpy(),
            "month": last,
        }
    )


def fit_purchase_clv(transactions: pd.DataFrame, end: pd.Timestamp) -> dict | None:
    """BG/NBD and Gamma-Gamma parameters for event-level (purchase-style) data."""
    if len(transactions) < 100:
        return None
    summary = clv.summarise_transactions(transactions, end)
    if (summary["x"] > 0).sum() < 30:
        return None
    bg = clv.fit_bgnbd(summary)
    gg = clv.fit_gamma_gamma(summary)
    return {
        "bgnbd": {k: round(float(v), 6) for k, v in vars(bg).items()},
        "gamma_gamma": {k: round(float(v), 6) for k, v in vars(gg).items()},
        "n_customers": len(summary),
        "n_repeat_customers": int((summary["x"] > 0).sum()),
        "end": end.date().isoformat(),
        "unit": "week",
    }


def validate_out_of_time(
    scores: pd.DataFrame, panel: pd.DataFrame, accounts: pd.DataFrame, months: pd.DatetimeIndex
) -> dict | None:
    """Fit on data before an evaluation month 12 months back; score churn in the 12 after.

    Compares the expert health score, the health score with fitted weights and the
    churn risk model on the same accounts: AUC with bootstrap intervals, lift by
    decile, and calibration of the risk model.
    """
    if len(months) < 30:
        return None
    eval_month = months[-13]
    train = scores[scores["month"] <= eval_month - pd.DateOffset(months=6)]
    y_train = churn.churn_within(train, accounts, 6)
    test = scores[scores["month"] == eval_month].reset_index(drop=True)
    y = churn.churn_within(test, accounts, 12).to_numpy()
    if y.sum() < 10 or y_train.sum() < 10:
        return None
    fitted = fit_health_weights(train, y_train, 6)
    rescored = compute_health_scores(
        test, HealthSettings(weights=fitted.weights), from_components=True
    )
    risk_model = churn.fit_churn_model(panel[panel["month"] < eval_month], churn.RISK_FEATURES)
    test_panel = test[["account_id", "month"]].merge(panel, on=["account_id", "month"], how="left")
    risk12 = churn.annual_risk(risk_model.predict(test_panel.fillna(0))).to_numpy()
    out: dict[str, object] = {
        "eval_month": eval_month.date().isoformat(),
        "n": len(y),
        "events": int(y.sum()),
        "fitted_weights": {k: round(v, 4) for k, v in fitted.weights.items()},
    }
    for name, score in (
        ("expert", 100 - test["health_score"].to_numpy()),
        ("fitted", 100 - rescored["health_score"].to_numpy()),
        ("risk", risk12),
    ):
        auc = validation.bootstrap_auc(y, score)
        out[f"auc_{name}"] = [round(auc.auc, 4), round(auc.ci_low, 4), round(auc.ci_high, 4)]
        out[f"lift_{name}"] = validation.compute_lift(y, score).round(6).to_dict(orient="list")
    out["calibration_risk"] = (
        validation.compute_calibration(y, risk12).round(6).to_dict(orient="list")
    )
    return out


def run_refresh(
    engine: Engine,
    *,
    as_of_months: int = 24,
    settings: HealthSettings | None = None,
    progress: Progress | None = None,
) -> dict[str, object]:
    """Score all accounts for the last ``as_of_months`` month-ends and store snapshots.

    Also fits the churn driver and risk models and the health weights against later
    churn, validates them out of time, and records each as a model run. Idempotent:
    snapshots for the same as-of dates are replaced. The whole write is one
    transaction, so a failure leaves the previous snapshots intact.
    """
    say = progress or (lambda _m, _f: None)
    health_version = 0
    if settings is None:
        with engine.connect() as conn:
            health_version, settings = fetch_health_settings(conn)
    started = _now()
    say("Reading monthly aggregates", 0.05)
    with engine.connect() as conn:
        sources = fetch_health_sources(conn)
    if sources["monthly"].empty:
        return {"snapshots": 0, "as_of": None}
    say("Scoring health, fitting and validating churn models", 0.3)
    models = compute_models(sources, as_of_months, settings)
    with engine.connect() as conn:
        tiering_version, tiering_settings = fetch_tiering(conn)
        rules_version, rules = fetch_lifecycle_rules(conn)
    tiers = suggest_tiers(sources, tiering_settings)
    tiers["as_of"] = (tiers["month"] + pd.offsets.MonthEnd(0)).dt.date
    snaps = models["snapshots"].merge(
        tiers.drop(columns="month").assign(tiering_version=tiering_version),
        on=["account_id", "as_of"],
        how="left",
    )
    latest = max(snaps["as_of"]) if len(snaps) else None
    if latest is not None:
        clv_rows = account_clv(sources, pd.Timestamp(latest)).assign(as_of=latest)
        snaps = snaps.merge(clv_rows, on=["account_id", "as_of"], how="left")
    say("Writing snapshots and model runs", 0.75)
    with engine.begin() as conn:

        def record(kind: str, version: str, params: dict, stats: dict) -> int:
            return conn.execute(
                insert(ModelRun)
                .values(
                    kind=kind,
                    version=version,
                    as_of=latest,
                    started_at=started,
                    finished_at=_now(),
                    status="done",
                    params=params,
                    stats=stats,
                )
                .returning(ModelRun.id)
            ).scalar_one()

        dates = sorted(set(snaps["as_of"]))
        conn.execute(delete(AccountScore).where(AccountScore.as_of.in_(dates)))
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
        params = {
            "weights": settings.weights,
            "healthy_from": settings.healthy_from,
            "watch_from": settings.watch_from,
            "as_of_months": as_of_months,
            "settings_version": health_version,
        }
        run_id = record("health", MODEL_VERSION, params, stats)
        moves = stage_changes(sources, models["latest_inputs"], snaps, rules, rules_version)
        insert_frame(conn, LifecycleEvent.__table__, moves)
        portfolio = peers.load_portfolio(conn, sources["monthly"], sources["interactions"])
        if dates:
            ranks = peers.tier_ranks(portfolio, dates)
            snaps = snaps.merge(ranks, on=["account_id", "as_of"], how="left")
        insert_frame(conn, AccountScore.__table__, snaps.assign(model_run_id=run_id))
        say("Computing peer benchmarks", 0.8)
        health = snaps[["account_id", "as_of", "health_score"]]
        peers.write_peer_figures(conn, dates, health=health, data=portfolio)
        del portfolio
        for kind, model in (("churn_drivers", models["drivers"]), ("churn_risk", models["risk"])):
            if model is not None:
                record(
                    kind,
                    CHURN_VERSION,
                    {"features": list(model.features)},
                    {
                        "odds_ratios": _table_json(model.odds_ratios),
                        "n_obs": model.n_obs,
                        "n_events": model.n_events,
                        "n_accounts": model.n_accounts,
                        "pseudo_r2": round(model.pseudo_r2, 5),
                        "alpha": model.alpha,
                    },
                )
        fitted = models["fitted"]
        if fitted is not None:
            record(
                "health_fitted",
                CHURN_VERSION,
                {"horizon_months": fitted.horizon_months},
                {
                    "weights": {k: round(v, 4) for k, v in fitted.weights.items()},
                    "expert_weights": settings.weights,
                    "odds_ratios": _table_json(fitted.odds_ratios),
                    "n_obs": fitted.n_obs,
                    "n_events": fitted.n_events,
                },
            )
        if models["purchase"] is not None:
            record("clv_purchase", "bgnbd-gg-1", {"unit": "week"}, models["purchase"])
        if models["validation"] is not None:
            record("validation", CHURN_VERSION, {"horizon_months": 12}, models["validation"])
        say("Estimating intervention effects", 0.85)
        # The rollup read for the health scores serves the effects and growth models too.
        effects = estimate_effects(conn, sources["monthly"][["account_id", "month", "revenue"]])
        if effects is not None:
            record(
                "intervention_effects",
                EFFECTS_VERSION,
                {
                    "pre_months": PRE,
                    "controls_per_event": CONTROLS_PER_EVENT,
                    "horizons": list(HORIZONS),
                },
                effects,
            )
        say("Scoring next best products", 0.9)
        growth_result = compute_growth(fetch_growth_inputs(conn, sources["monthly"]))
        if growth_result is not None:
            write_growth(conn, growth_result[0])
            record("growth", GROWTH_VERSION, {"top": 3}, growth_result[1])
        # The segment totals are rebuilt whole here too, which also repairs any drift
        # from writes made outside the app.
        segments.rebuild(conn)
        stage_rollup.rebuild(conn)
        say("Checking alert rules", 0.95)
        alert_counts = sync_alerts(conn, fetch_alert_rules(conn)[1], as_of=latest)
        bump_data_version(conn)
    _vacuum_analyze(engine)
    say("Snapshots written", 1.0)
    return {
        "snapshots": len(snaps),
        "as_of": latest,
        "model_run_id": run_id,
        "stage_changes": len(moves),
        "alerts_created": alert_counts["created"],
        "alerts_closed": alert_counts["closed"],
    }


def _vacuum_analyze(engine: Engine) -> None:
    """Vacuum and analyse the tables the job rewrote, on PostgreSQL.

    Autovacuum would get to them within minutes; until then the planner believed the new
    snapshot held a few thousand rows instead of 74,000 at 104,000 accounts (the
    lifecycle page's revenue-at-risk query then seeked each account one by one), and
    index-only reads of the new scores must visit the table until a vacuum marks its
    pages visible. Tables the connected role does not own are skipped by the database
    with a warning.
    """
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(REWRITTEN)}")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def snapshots_missing(conn: Connection) -> bool:
    """Whether the database has facts but no health snapshots yet."""
    has_facts = conn.execute(select(AccountMonthly.account_id).limit(1)).first() is not None
    has_scores = conn.execute(select(AccountScore.id).limit(1)).first() is not None
    return has_facts and not has_scores
