"""Unit: analytics.satisfaction against hand-computed reference values and simulation."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from analytics import satisfaction as sa
from analytics.satisfaction import compute_nps
from data_access.demo import PLANTED, DemoSpec, generate


def test_reference_values() -> None:
    # p_P = .5, p_D = .2: NPS 30; var = (.5 + .2 - .3**2) / 100 = .0061; z = 1.959964.
    est = compute_nps(50, 30, 20)
    assert est.nps == pytest.approx(30.0)
    assert est.ci_low == pytest.approx(30 - 1.959964 * 100 * np.sqrt(0.0061), abs=1e-4)
    assert est.ci_high == pytest.approx(30 + 1.959964 * 100 * np.sqrt(0.0061), abs=1e-4)
    assert est.n == 100


def test_below_minimum_n_reports_no_value() -> None:
    est = compute_nps(10, 5, 4, min_n=30)
    assert not est.sufficient
    assert est.nps is None
    assert est.n == 19


def test_interval_is_clipped_to_scale() -> None:
    est = compute_nps(40, 0, 0)
    assert est.nps == 100.0
    assert est.ci_high == 100.0


@pytest.mark.parametrize("bad", [(-1, 0, 0), (0, -2, 5)])
def test_negative_counts_are_refused(bad: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        compute_nps(*bad)


def test_alpha_outside_unit_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="alpha"):
        compute_nps(10, 10, 10, alpha=1.5)


def test_nominal_95_percent_interval_covers_true_nps() -> None:
    """Coverage by simulation: at least 93% of intervals contain the true NPS."""
    rng = np.random.default_rng(0)
    p = np.array([0.45, 0.30, 0.25])
    true_nps = 100 * (p[0] - p[2])
    draws = rng.multinomial(200, p, size=2000)
    covered = 0
    for promoters, passives, detractors in draws:
        est = compute_nps(int(promoters), int(passives), int(detractors))
        covered += est.ci_low <= true_nps <= est.ci_high
    assert covered / len(draws) >= 0.93


# ------------------------------------------------ surveys, changes, scans


def test_csat_uses_the_wilson_interval_and_ces_the_t_interval() -> None:
    csat = sa.estimate(pd.Series([5] * 30 + [4] * 12 + [3] * 8), "csat", min_n=30)
    lo, hi = proportion_confint(42, 50, method="wilson")
    assert csat.value == pytest.approx(84.0)
    assert (csat.low, csat.high) == (pytest.approx(100 * lo), pytest.approx(100 * hi))
    ces = sa.estimate(pd.Series([1, 2, 3, 4, 5] * 8), "ces", min_n=30)
    # mean 3, sd = sqrt(2.0513), t(39) = 2.022691
    half = 2.022691 * np.sqrt(80 / 39) / np.sqrt(40)
    assert ces.value == pytest.approx(3.0)
    assert ces.high == pytest.approx(3.0 + half, abs=1e-5)
    assert not sa.estimate(pd.Series([9] * 10), "nps", min_n=30).sufficient


def test_difference_test_matches_the_multinomial_variance() -> None:
    before = pd.Series([10] * 50 + [8] * 30 + [3] * 20)  # NPS 30
    after = pd.Series([9] * 30 + [7] * 30 + [0] * 40)  # NPS -10
    test = sa.difference_test(before, after, "nps")
    # var(NPS) = (p_P + p_D - NPS²)/n · 100²: 61 and 69.
    assert test["diff"] == pytest.approx(-40.0)
    assert test["se"] == pytest.approx(np.sqrt(61 + 69))
    assert test["z"] == pytest.approx(-40 / np.sqrt(130))


def test_account_level_and_revenue_weighted_nps_by_hand() -> None:
    answers = pd.DataFrame({"account_id": [1, 1, 2, 3, 3], "score": [10, 10, 8, 3, 2]})
    assert sa.account_level_nps(answers).value == pytest.approx(0.0)
    weighted = sa.account_level_nps(answers, pd.Series({1: 3.0, 2: 1.0, 3: 1.0}))
    assert weighted.value == pytest.approx(40.0)


def test_nps_intervals_cover_the_true_value_in_simulation() -> None:
    """Nominal 95% intervals must cover the true NPS in at least 93% of samples."""
    rng = np.random.default_rng(2026)
    worst = 1.0
    for p_p, p_d in ((0.5, 0.2), (0.35, 0.35), (0.2, 0.5), (0.7, 0.05)):
        for n in (50, 100, 400):
            draws = rng.multinomial(n, [p_p, 1 - p_p - p_d, p_d], size=4000)
            hits = 0
            for prom, pas, det in draws:
                est = compute_nps(int(prom), int(pas), int(det), min_n=1)
                hits += est.ci_low <= 100 * (p_p - p_d) <= est.ci_high
            worst = min(worst, hits / len(draws))
    assert worst >= 0.93


def _answers(seg: str, months: pd.DatetimeIndex, n: int, nps: float, rng) -> pd.DataFrame:
    p_p, p_d = 0.375 + nps / 200, 0.375 - nps / 200
    rows = []
    for m in months:
        cat = rng.choice([10, 8, 3], size=n, p=[p_p, 0.25, p_d])
        rows.append(pd.DataFrame({"region": seg, "month": m, "score": cat}))
    return pd.concat(rows)


def test_scan_finds_a_planted_step_and_nothing_in_flat_segments() -> None:
    rng = np.random.default_rng(4)
    months = pd.date_range("2024-01-01", periods=30, freq="MS")
    frames = [_answers(s, months, 150, 20, rng) for s in ("east", "north", "west", "central")]
    before, after = months[:18], months[18:]
    frames += [_answers("south", before, 150, 20, rng), _answers("south", after, 150, 0, rng)]
    answers = pd.concat(frames, ignore_index=True).assign(account_id=1)
    scan = sa.scan_drops(answers, ("region",))
    onsets = sa.drop_onsets(scan, answers)
    assert list(onsets["segment"]) == ["south"]
    assert onsets["month"].iloc[0] == months[18]


def test_seasonal_regression_recovers_a_planted_harmonic() -> None:
    rng = np.random.default_rng(8)
    months = pd.date_range("2023-01-01", periods=36, freq="MS")
    frames = []
    for m in months:
        true = 20 - 8 * np.cos(2 * np.pi * (m.month - 1) / 12)
        frames.append(_answers("all", pd.DatetimeIndex([m]), 600, true, rng))
    answers = pd.concat(frames, ignore_index=True)
    answers["account_id"] = rng.integers(0, 3000, len(answers))
    reg = sa.seasonal_regression(answers)
    assert reg["cos_low"] <= -8 <= reg["cos_high"]
    assert reg["amplitude"] == pytest.approx(8, abs=2)
    assert 6 <= reg["peak_month"] <= 8


def test_themes_are_counted_in_both_languages() -> None:
    counts = sa.theme_counts(pd.Series(["费率偏高", "Fees are higher", "网银卡顿", None]))
    assert counts.set_index("theme").loc["price", "comments"] == 2
    assert counts.set_index("theme").loc["digital", "comments"] == 1


@pytest.mark.slow
def test_planted_regional_drop_is_found_and_false_alarms_are_rare() -> None:
    """The south region's planted drop, across seeds, with false-discovery control."""
    found, false_alarms, flagged_total = 0, 0, 0
    for seed in (1, 2, 3, 4, 5):
        end = dt.date(2026, 6, 1)
        frames = generate(DemoSpec(n_accounts=2000, seed=seed, end_month=end))
        acc = frames["accounts"].rename(columns={"id": "account_id"})
        south_teams = set(frames["teams"].loc[frames["teams"]["region"] == "south", "id"])
        r = frames["survey_responses"]
        r = r[r["survey"] == "nps"].merge(
            acc[["account_id", "region", "industry", "tier", "team_id"]], on="account_id"
        )
        r["month"] = pd.to_datetime(r["responded_on"]).dt.to_period("M").dt.start_time
        scan = sa.scan_drops(r, ("region", "industry", "tier", "team_id"))
        onsets = sa.drop_onsets(scan, r)
        planted = pd.Timestamp(end) + pd.DateOffset(
            months=int(PLANTED["nps.region_drop.month_index"][0])
        )
        south = onsets[(onsets["dimension"] == "region") & (onsets["segment"] == "south")]
        if len(south) and abs((south["month"].iloc[0] - planted).days) <= 31:
            found += 1
        # Segments with no south account at all cannot have a true drop.
        disjoint = ((onsets["dimension"] == "region") & (onsets["segment"] != "south")) | (
            (onsets["dimension"] == "team_id") & ~onsets["segment"].isin(south_teams)
        )
        false_alarms += int(disjoint.sum())
        flagged_total += len(onsets)
    assert found >= 4, f"found in {found} of 5 seeds"
    assert false_alarms <= max(1, 0.1 * flagged_total)
