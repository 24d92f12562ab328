"""Unit: analytics.overview on small hand-checkable portfolios."""

import datetime as dt

import pandas as pd
import pytest

from analytics import overview as ov
from analytics.periods import add_months, month_end, trailing_window
from analytics.satisfaction import compute_nps

JUNE = dt.date(2026, 6, 1)


def _accounts() -> pd.DataFrame:
    ts = pd.Timestamp
    return pd.DataFrame(
        {
            "account_id": [1, 2, 3, 4, 5],
            "code": ["A", "B", "C", "D", "E"],
            "name": ["甲", "乙", "丙", "丁", "戊"],
            "tier": ["strategic", "value", "basic", "basic", "value"],
            "onboarded_on": [
                ts("2020-01-01"),
                ts("2021-01-01"),
                ts("2022-01-01"),
                ts("2026-03-01"),
                ts("2019-05-01"),
            ],
            "churned_on": [pd.NaT, pd.NaT, ts("2026-02-10"), pd.NaT, pd.NaT],
            "revenue_12m": [120.0, 50.0, 10.0, 20.0, 0.0],
            "revenue_prev_12m": [100.0, 80.0, 40.0, 0.0, 30.0],
            "stage": ["mature", "growth", "churned", "onboarding", "at_risk"],
            "health_band": ["healthy", "watch", None, "watch", "at_risk"],
            "health_score": [80.0, 55.0, None, 50.0, 30.0],
        }
    )


def test_kpis_by_hand() -> None:
    k = ov.compute_kpis(_accounts(), compute_nps(50, 30, 20), JUNE)
    assert k.active_accounts == 4  # C churned
    assert k.revenue_12m == 200.0
    assert k.revenue_yoy == pytest.approx(200 / 250 - 1)
    # Cohort with prior revenue: A, B, C, E -> (120 + 50 + 10 + 0) / 250.
    assert k.nrr == pytest.approx(180 / 250)
    assert k.grr == pytest.approx((100 + 50 + 10 + 0) / 250)
    # Active on 2025-06-30: A, B, C, E; C churned within the period.
    assert (k.churned_12m, k.churn_base) == (1, 4)
    assert k.churn_rate == pytest.approx(0.25)
    assert k.churn_ci[0] < 0.25 < k.churn_ci[1]
    assert k.revenue_at_risk == 0.0
    assert k.accounts_at_risk == 1
    assert k.period_start == dt.date(2025, 7, 1)
    assert k.period_end == dt.date(2026, 6, 30)


def test_tier_mix_counts_active_accounts() -> None:
    mix = ov.compute_tier_mix(_accounts(), JUNE).set_index("tier")
    assert mix.loc["basic", "accounts"] == 1
    assert mix.loc["value", "revenue"] == 50.0
    assert mix["account_share"].sum() == pytest.approx(1.0)


def test_tier_health_matrix_keeps_unscored() -> None:
    acc = _accounts()
    acc.loc[3, "health_band"] = None
    matrix = ov.compute_tier_health_matrix(acc, JUNE)
    assert list(matrix.columns) == ["healthy", "watch", "at_risk", "unscored"]
    assert matrix.loc["basic", "unscored"] == 1
    assert int(matrix.to_numpy().sum()) == 4


def test_pareto_of_equal_accounts_is_the_diagonal() -> None:
    acc = pd.DataFrame({"revenue_12m": [5.0] * 10})
    p = ov.compute_pareto(acc, points=11)
    assert p["revenue_share"].to_numpy() == pytest.approx(p["account_share"].to_numpy())
    assert ov.revenue_share_of_top(acc, 0.2) == pytest.approx(0.2)


def test_pareto_of_one_big_account() -> None:
    acc = pd.DataFrame({"revenue_12m": [91.0, 1, 1, 1, 1, 1, 1, 1, 1, 1]})
    assert ov.revenue_share_of_top(acc, 0.1) == pytest.approx(0.91)


def test_top_movers_split_gains_and_losses() -> None:
    acc = _accounts()
    acc.loc[acc["code"] == "E", "revenue_prev_12m"] = 35.0  # changes: A +20, D +20, E -35, B -30
    movers = ov.compute_top_movers(acc, n=2)
    assert list(movers["code"]) == ["A", "D", "E", "B"]
    assert list(movers["direction"]) == ["gain", "gain", "loss", "loss"]


def test_stage_distribution_excludes_churned() -> None:
    stages = ov.compute_stage_distribution(_accounts(), JUNE)
    assert "churned" not in set(stages["stage"])
    assert stages["accounts"].sum() == 4


def test_month_arithmetic() -> None:
    assert add_months(dt.date(2026, 1, 31), -1) == dt.date(2025, 12, 1)
    assert month_end(dt.date(2024, 2, 3)) == dt.date(2024, 2, 29)
    assert trailing_window(dt.date(2026, 6, 1)) == (dt.date(2025, 7, 1), dt.date(2026, 6, 30))
