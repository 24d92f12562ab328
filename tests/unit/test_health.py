"""Unit: analytics.health — transparent components, missing inputs never count as zero."""

import pandas as pd
import pytest

from analytics.health import HealthSettings, compute_health_scores


def _inputs(**overrides: object) -> pd.DataFrame:
    row = {
        "account_id": 1,
        "month": pd.Timestamp("2026-06-01"),
        "revenue_3m": 120.0,
        "revenue_prev_3m": 100.0,
        "interactions_3m": 3.0,
        "nps_12m": 20.0,
        "nps_n_12m": 4.0,
        "products_held": 3.0,
        "open_risks": 0.0,
        "tier": "value",
    }
    row.update(overrides)
    return pd.DataFrame([row])


def test_components_by_hand() -> None:
    out = compute_health_scores(_inputs()).iloc[0]
    assert out["satisfaction"] == 60.0  # (20 + 100) / 2
    assert out["product_depth"] == 50.0  # 3 of 6 products
    assert out["open_risks"] == 100.0
    assert out["engagement"] == pytest.approx(66.7, abs=0.05)  # at the tier median: 1/1.5
    assert out["value_trend"] == pytest.approx(77.1, abs=0.05)  # 1 / (1 + exp(-log(1.2) / 0.15))
    assert out["score_confidence"] == 1.0


def test_missing_satisfaction_is_left_out_not_zero() -> None:
    full = compute_health_scores(_inputs()).iloc[0]
    missing = compute_health_scores(_inputs(nps_12m=float("nan"), nps_n_12m=0.0)).iloc[0]
    assert pd.isna(missing["satisfaction"])
    assert missing["score_confidence"] == 0.75
    w = HealthSettings().weights
    expected = sum(full[c] * w[c] for c in w if c != "satisfaction") / 0.75
    assert missing["health_score"] == pytest.approx(expected, abs=0.05)


def test_bands_follow_thresholds() -> None:
    s = HealthSettings()
    low = compute_health_scores(
        _inputs(
            revenue_3m=30.0, products_held=1.0, open_risks=2.0, nps_12m=-80.0, interactions_3m=0.0
        ),
        s,
    ).iloc[0]
    assert low["health_score"] < s.watch_from
    assert low["health_band"] == "at_risk"


def test_weights_must_name_every_component() -> None:
    with pytest.raises(ValueError, match="weights must name exactly"):
        HealthSettings(weights={"value_trend": 1.0})


def test_why_it_moved_sums_to_the_change() -> None:
    from analytics.health import compute_score_change

    w = HealthSettings().weights
    before = compute_health_scores(_inputs()).iloc[0]
    after = compute_health_scores(_inputs(products_held=6.0, nps_12m=float("nan"))).iloc[0]
    change = compute_score_change(before, after, w)
    assert change["change"].sum() == pytest.approx(
        after["health_score"] - before["health_score"], abs=0.06
    )
    by = change.set_index("component")["change"]
    assert by["product_depth"] > 0
    assert by["satisfaction"] < 0
