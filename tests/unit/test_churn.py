"""Unit: analytics.churn and analytics.survival, including recovery of the planted truth."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.survfunc import survdiff

from analytics.churn import DRIVERS, build_churn_panel, fit_churn_model
from analytics.health import compute_health_inputs
from analytics.survival import build_survival_frame, compute_retention, retention_at
from data_access.demo import PLANTED, DemoSpec, generate


def _frames(spec: DemoSpec) -> dict[str, pd.DataFrame]:
    """The demo tables reduced to what the refresh job reads, without a database."""
    t = generate(spec)
    acc = t["accounts"].rename(columns={"id": "account_id"})
    inter = t["interactions"].assign(
        month=lambda d: pd.to_datetime(d["occurred_on"]).dt.to_period("M").dt.start_time
    )
    inter = (
        inter.groupby(["account_id", "month"], as_index=False).size().rename(columns={"size": "n"})
    )
    nps = t["survey_responses"]
    nps = nps[nps["survey"] == "nps"].assign(
        month=lambda d: pd.to_datetime(d["responded_on"]).dt.to_period("M").dt.start_time,
        promoters=lambda d: (d["score"] >= 9).astype(int),
        detractors=lambda d: (d["score"] <= 6).astype(int),
        responses=1,
    )
    nps = nps.groupby(["account_id", "month"], as_index=False)[
        ["promoters", "detractors", "responses"]
    ].sum()
    return {
        "accounts": acc,
        "monthly": t["account_monthly"],
        "interactions": inter,
        "nps": nps,
        "sponsor_changes": t["stakeholder_changes"],
    }


def _panel(spec: DemoSpec) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The churn panel of a generated portfolio, built as the refresh job builds it."""
    f = _frames(spec)
    months = pd.DatetimeIndex(sorted(pd.to_datetime(f["monthly"]["month"]).unique()))
    inputs = compute_health_inputs(
        f["monthly"],
        f["interactions"],
        f["nps"],
        pd.DataFrame(columns=["account_id", "month", "n"]),
        f["accounts"],
        months[3:],
    )
    return build_churn_panel(inputs, f["accounts"], f["sponsor_changes"]), f


def _drivers(spec: DemoSpec):
    panel, f = _panel(spec)
    return fit_churn_model(panel, DRIVERS), f


def test_product_depth_effect_is_recovered() -> None:
    model, _ = _drivers(DemoSpec(n_accounts=2000, seed=42, end_month=dt.date(2026, 6, 1)))
    row = model.odds_ratios.loc["products_held"]
    planted = PLANTED["churn.or_per_product"][0]
    assert row["ci_low"] <= planted <= row["ci_high"]


def test_sponsor_change_effect_is_recovered() -> None:
    model, _ = _drivers(DemoSpec(n_accounts=2000, seed=42, end_month=dt.date(2026, 6, 1)))
    row = model.odds_ratios.loc["sponsor_change"]
    planted = PLANTED["churn.or_sponsor_change"][0]
    assert row["ci_low"] <= planted <= row["ci_high"]
    assert row["ci_low"] > 1


def test_tier_effects_are_recovered() -> None:
    model, _ = _drivers(DemoSpec(n_accounts=2000, seed=42, end_month=dt.date(2026, 6, 1)))
    alpha = {t: PLANTED[f"churn.alpha.{t}"][0] for t in ("basic", "value", "strategic")}
    for tier in ("value", "strategic"):
        row = model.odds_ratios.loc[f"tier_{tier}"]
        planted = np.exp(alpha[tier] - alpha["basic"])
        assert row["ci_low"] <= planted <= row["ci_high"], tier


def test_retention_ordering_of_tiers_matches_planted_hazards() -> None:
    f = _frames(DemoSpec(n_accounts=2000, seed=42, end_month=dt.date(2026, 6, 1)))
    acc = f["accounts"]
    frame = build_survival_frame(acc, pd.Timestamp("2023-07-01"), pd.Timestamp("2026-06-30"))
    r = compute_retention(frame, "tier", horizon=120)
    at5 = {t: retention_at(r.curves, t, 60) for t in ("basic", "value", "strategic")}
    assert at5["strategic"] > at5["value"] > at5["basic"]
    assert r.p_value < 0.001
    # The log-rank test on integer group codes is the test on the labels themselves.
    chi2, p = survdiff(
        frame["time"].to_numpy(),
        frame["status"].to_numpy(),
        frame["tier"].to_numpy(dtype=object),
        entry=frame["entry"].to_numpy(),
    )
    assert r.chi2 == pytest.approx(float(chi2), rel=1e-12)
    assert r.p_value == pytest.approx(p)


@pytest.mark.slow
def test_product_effect_coverage_across_seeds() -> None:
    """The 95% interval covers the planted odds ratio in (nearly) every seed."""
    planted = PLANTED["churn.or_per_product"][0]
    covered = []
    for seed in (1, 2, 3, 4, 5):
        model, _ = _drivers(DemoSpec(n_accounts=1500, seed=seed, end_month=dt.date(2026, 6, 1)))
        row = model.odds_ratios.loc["products_held"]
        covered.append(row["ci_low"] <= planted <= row["ci_high"])
    print(f"coverage of the planted product odds ratio: {sum(covered)}/{len(covered)}")
    assert sum(covered) >= 4


def test_survival_frame_handles_delayed_entry_and_censoring() -> None:
    acc = pd.DataFrame(
        {
            "account_id": [1, 2, 3],
            "onboarded_on": pd.to_datetime(["2020-01-01", "2024-01-01", "2019-01-01"]),
            "churned_on": pd.to_datetime([None, "2025-01-01", "2022-01-01"]),
        }
    )
    f = build_survival_frame(acc, pd.Timestamp("2023-01-01"), pd.Timestamp("2026-01-01"))
    assert list(f["account_id"]) == [1, 2]  # 3 churned before the window
    first = f.iloc[0]
    assert first["status"] == 0
    assert first["entry"] == pytest.approx(
        (pd.Timestamp("2023-01-01") - pd.Timestamp("2020-01-01")).days / 30.4375
    )
    assert f.iloc[1]["entry"] == 0
    assert f.iloc[1]["status"] == 1


def test_risk_intervals_contain_the_estimate() -> None:
    panel, _ = _panel(DemoSpec(n_accounts=800, seed=9, end_month=dt.date(2026, 6, 1)))
    model = fit_churn_model(panel, DRIVERS)
    band = model.predict_interval(panel)
    assert (band["low"] <= band["prob"]).all()
    assert (band["prob"] <= band["high"]).all()
    assert band["prob"].to_numpy() == pytest.approx(model.predict(panel).to_numpy())
