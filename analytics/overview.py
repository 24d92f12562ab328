"""Portfolio overview figures from one row per account."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from analytics.periods import add_months, month_end
from analytics.satisfaction import NpsEstimate

TIER_ORDER = ("strategic", "value", "basic")
BAND_ORDER = ("healthy", "watch", "at_risk")
STAGE_ORDER = ("onboarding", "growth", "mature", "at_risk", "won_back", "churned")


@dataclass(frozen=True)
class OverviewKpis:
    """Headline figures for the 12 months ending with ``period_end``."""

    period_start: dt.date
    period_end: dt.date
    active_accounts: int
    revenue_12m: float
    revenue_prev_12m: float
    revenue_yoy: float | None
    nrr: float | None
    grr: float | None
    churned_12m: int
    churn_base: int
    churn_rate: float | None
    churn_ci: tuple[float, float] | None
    nps: NpsEstimate
    revenue_at_risk: float
    accounts_at_risk: int
    unscored_accounts: int


def tier_order(tiers: pd.Series) -> list[str]:
    """Known tiers from highest to lowest, then any configured others, alphabetically."""
    present = set(tiers.dropna())
    return [x for x in TIER_ORDER if x in present] + sorted(present - set(TIER_ORDER))


def _is_active(df: pd.DataFrame, day: dt.date) -> pd.Series:
    ts = pd.Timestamp(day)
    return (df["onboarded_on"] <= ts) & (df["churned_on"].isna() | (df["churned_on"] > ts))


def compute_kpis(
    accounts: pd.DataFrame, nps: NpsEstimate, period_month: dt.date, alpha: float = 0.05
) -> OverviewKpis:
    """Compute the overview's KPI cards.

    Parameters
    ----------
    accounts : DataFrame
        One row per account as returned by ``fetch_portfolio_accounts``.
    nps : NpsEstimate
        The period's NPS estimate.
    period_month : date
        First day of the period's last month.
    alpha : float, default 0.05
        For the Wilson interval of the churn rate.

    Returns
    -------
    OverviewKpis

    Notes
    -----
    Net revenue retention is this year's revenue of the accounts that had revenue
    in the prior 12 months, divided by their prior revenue; gross retention caps
    each account at its prior revenue, so it measures only losses. The churn rate
    is the share of accounts active at the start of the 12 months that churned
    within them, with a Wilson interval.
    """
    end = month_end(period_month)
    start = add_months(period_month, -11)
    before = start - dt.timedelta(days=1)
    active_now = _is_active(accounts, end)
    rev = accounts["revenue_12m"].astype(float)
    prev = accounts["revenue_prev_12m"].astype(float)
    cohort = prev > 0
    prev_total = float(prev[cohort].sum())
    nrr = float(rev[cohort].sum()) / prev_total if prev_total > 0 else None
    grr = (
        float(np.minimum(rev[cohort], prev[cohort]).sum()) / prev_total if prev_total > 0 else None
    )
    base = _is_active(accounts, before)
    churned = base & accounts["churned_on"].notna() & (accounts["churned_on"] <= pd.Timestamp(end))
    n_base, n_churned = int(base.sum()), int(churned.sum())
    if n_base:
        lo, hi = proportion_confint(n_churned, n_base, alpha=alpha, method="wilson")
        churn_rate, churn_ci = n_churned / n_base, (float(lo), float(hi))
    else:
        churn_rate, churn_ci = None, None
    at_risk = active_now & (accounts["health_band"] == "at_risk")
    revenue_total = float(rev.sum())
    prev_all = float(prev.sum())
    return OverviewKpis(
        period_start=start,
        period_end=end,
        active_accounts=int(active_now.sum()),
        revenue_12m=revenue_total,
        revenue_prev_12m=prev_all,
        revenue_yoy=(revenue_total / prev_all - 1) if prev_all > 0 else None,
        nrr=nrr,
        grr=grr,
        churned_12m=n_churned,
        churn_base=n_base,
        churn_rate=churn_rate,
        churn_ci=churn_ci,
        nps=nps,
        revenue_at_risk=float(rev[at_risk].sum()),
        accounts_at_risk=int(at_risk.sum()),
        unscored_accounts=int((active_now & accounts["health_band"].isna()).sum()),
    )


def active_accounts(accounts: pd.DataFrame, period_month: dt.date) -> pd.DataFrame:
    """The rows of accounts active at the end of the period."""
    return accounts.loc[_is_active(accounts, month_end(period_month))]


def compute_tier_mix(accounts: pd.DataFrame, period_month: dt.date) -> pd.DataFrame:
    """Active accounts and 12-month revenue per tier, with shares of the total."""
    act = active_accounts(accounts, period_month)
    mix = (
        act.groupby("tier")
        .agg(accounts=("account_id", "size"), revenue=("revenue_12m", "sum"))
        .reindex(tier_order(accounts["tier"]) or list(TIER_ORDER), fill_value=0)
    )
    mix["account_share"] = mix["accounts"] / max(mix["accounts"].sum(), 1)
    mix["revenue_share"] = mix["revenue"] / mix["revenue"].sum() if mix["revenue"].sum() else 0.0
    return mix.rename_axis("tier").reset_index()


def compute_tier_health_matrix(accounts: pd.DataFrame, period_month: dt.date) -> pd.DataFrame:
    """Count of active accounts per tier (rows) and health band (columns).

    Accounts without a health snapshot are counted in an ``unscored`` column rather
    than dropped.
    """
    act = active_accounts(accounts, period_month)
    band = act["health_band"].fillna("unscored")
    table = pd.crosstab(act["tier"], band)
    cols = [*BAND_ORDER, *(["unscored"] if "unscored" in table.columns else [])]
    return table.reindex(
        index=tier_order(accounts["tier"]) or list(TIER_ORDER), columns=cols, fill_value=0
    )


def compute_pareto(accounts: pd.DataFrame, points: int = 101) -> pd.DataFrame:
    """Cumulative share of 12-month revenue against the share of accounts, largest first.

    Returns at most ``points`` rows (``account_share``, ``revenue_share``), starting
    at (0, 0), so the chart stays small whatever the portfolio size.
    """
    rev = np.sort(accounts["revenue_12m"].to_numpy(dtype=float))[::-1]
    rev = rev[rev > 0]
    if len(rev) == 0:
        return pd.DataFrame({"account_share": [0.0], "revenue_share": [0.0]})
    cum = np.r_[0.0, np.cumsum(rev)] / rev.sum()
    x = np.arange(len(rev) + 1) / len(rev)
    grid = np.linspace(0, 1, points)
    return pd.DataFrame({"account_share": grid, "revenue_share": np.interp(grid, x, cum)})


def revenue_share_of_top(accounts: pd.DataFrame, top: float = 0.2) -> float | None:
    """Share of 12-month revenue earned from the top ``top`` fraction of accounts."""
    rev = np.sort(accounts["revenue_12m"].to_numpy(dtype=float))[::-1]
    rev = rev[rev > 0]
    if len(rev) == 0:
        return None
    k = max(1, int(np.ceil(top * len(rev))))
    return float(rev[:k].sum() / rev.sum())


def compute_stage_distribution(accounts: pd.DataFrame, period_month: dt.date) -> pd.DataFrame:
    """Active accounts and their revenue per lifecycle stage at the period end."""
    act = active_accounts(accounts, period_month)
    dist = (
        act.assign(stage=act["stage"].fillna("onboarding"))
        .groupby("stage")
        .agg(accounts=("account_id", "size"), revenue=("revenue_12m", "sum"))
    )
    order = [s for s in STAGE_ORDER if s in dist.index and s != "churned"]
    return dist.reindex(order).rename_axis("stage").reset_index()


def compute_top_movers(accounts: pd.DataFrame, n: int = 8) -> pd.DataFrame:
    """The ``n`` largest revenue gains and ``n`` largest losses, 12 months vs the prior 12.

    Returns ``account_id, code, name, tier, revenue_12m, revenue_prev_12m, change,
    direction`` (``code`` and ``name`` when ``accounts`` has them) with gains first
    (largest first) then losses (largest first).
    """
    df = accounts.assign(change=accounts["revenue_12m"] - accounts["revenue_prev_12m"])
    cols = ["account_id", "code", "name", "tier", "revenue_12m", "revenue_prev_12m", "change"]
    cols = [c for c in cols if c in df.columns]  # a lean frame is named afterwards
    gains = df.loc[df["change"] > 0].nlargest(n, "change")[cols].assign(direction="gain")
    losses = df.loc[df["change"] < 0].nsmallest(n, "change")[cols].assign(direction="loss")
    return pd.concat([gains, losses], ignore_index=True)
