"""Transparent account health score from five components with expert weights.

The refresh job computes it for every account and month-end and stores snapshots;
pages read those snapshots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

COMPONENTS = ("value_trend", "engagement", "satisfaction", "product_depth", "open_risks")


@dataclass(frozen=True)
class HealthSettings:
    """Expert weights per component and the band thresholds on the 0-100 score."""

    weights: dict[str, float] = field(
        default_factory=lambda: {
            "value_trend": 0.30,
            "engagement": 0.20,
            "satisfaction": 0.25,
            "product_depth": 0.15,
            "open_risks": 0.10,
        }
    )
    healthy_from: float = 65.0
    watch_from: float = 45.0
    full_depth_products: int = 6
    trend_scale: float = 0.15

    def __post_init__(self) -> None:
        if set(self.weights) != set(COMPONENTS):
            raise ValueError(f"weights must name exactly {COMPONENTS}, got {sorted(self.weights)}")
        if any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            raise ValueError("weights must be non-negative and not all zero")
        if not 0 <= self.watch_from < self.healthy_from <= 100:
            raise ValueError("thresholds must satisfy 0 <= watch_from < healthy_from <= 100")


def _rolling_sum(wide: pd.DataFrame, window: int) -> pd.DataFrame:
    """Sum over the last ``window`` rows (months), NaN where all of them are missing.

    As ``wide.rolling(window, min_periods=1).sum()``, but as ``window`` whole-array
    additions instead of one pass per column (accounts are the columns).
    """
    values = wide.to_numpy(dtype=float)
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)
    total = np.zeros_like(filled)
    seen = np.zeros(values.shape, dtype=bool)
    for lag in range(min(window, len(values))):
        total[lag:] += filled[: len(values) - lag]
        seen[lag:] |= present[: len(values) - lag]
    return pd.DataFrame(np.where(seen, total, np.nan), index=wide.index, columns=wide.columns)


def compute_health_inputs(
    account_monthly: pd.DataFrame,
    interactions_monthly: pd.DataFrame,
    nps_monthly: pd.DataFrame,
    open_risks: pd.DataFrame,
    accounts: pd.DataFrame,
    as_of_months: Sequence[pd.Timestamp],
) -> pd.DataFrame:
    """Assemble the raw inputs of the health score per account and month-end.

    Parameters
    ----------
    account_monthly : DataFrame
        ``account_id, month, revenue, products_held``; month is the first day.
    interactions_monthly : DataFrame
        ``account_id, month, n`` interactions per month.
    nps_monthly : DataFrame
        ``account_id, month, promoters, detractors, responses`` of NPS surveys.
    open_risks : DataFrame
        ``account_id, month, n`` open risk items at the end of each month.
    accounts : DataFrame
        ``account_id, tier, onboarded_on, churned_on``.
    as_of_months : sequence of Timestamp
        First days of the months to score.

    Returns
    -------
    DataFrame
        One row per active account and month with ``revenue_3m, revenue_prev_3m,
        interactions_3m, nps_12m, nps_n_12m, products_held, open_risks, tier``.
    """
    months = pd.DatetimeIndex(sorted(pd.to_datetime(account_monthly["month"]).unique()))
    ids = accounts["account_id"].to_numpy()

    def wide(frame: pd.DataFrame, value: str) -> pd.DataFrame:
        if frame.empty:
            return pd.DataFrame(0.0, index=months, columns=ids)
        f = frame.assign(month=pd.to_datetime(frame["month"]))
        return (
            f.pivot_table(index="month", columns="account_id", values=value, aggfunc="sum")
            .reindex(index=months, columns=ids)
            .fillna(0.0)
        )

    rev = wide(account_monthly, "revenue")
    rev3 = _rolling_sum(rev, 3)
    prev3 = rev3.shift(3)
    inter3 = _rolling_sum(wide(interactions_monthly, "n"), 3)
    prom12 = _rolling_sum(wide(nps_monthly, "promoters"), 12)
    det12 = _rolling_sum(wide(nps_monthly, "detractors"), 12)
    n12 = _rolling_sum(wide(nps_monthly, "responses"), 12)
    depth = wide(account_monthly, "products_held")
    risks = wide(open_risks, "n")

    wanted = pd.DatetimeIndex(pd.to_datetime(list(as_of_months)))
    wanted = wanted[wanted.isin(months)]
    with np.errstate(invalid="ignore", divide="ignore"):
        nps = (prom12 - det12) / n12 * 100
    parts = {
        "revenue_3m": rev3,
        "revenue_prev_3m": prev3,
        "interactions_3m": inter3,
        "nps_12m": nps.where(n12 > 0),
        "nps_n_12m": n12,
        "products_held": depth,
        "open_risks": risks,
        "revenue_month": rev,
    }
    long = pd.concat({k: v.loc[wanted].stack(future_stack=True) for k, v in parts.items()}, axis=1)
    long.index = long.index.set_names(["month", "account_id"])
    long = long.reset_index()
    meta = accounts.set_index("account_id")
    long["tier"] = long["account_id"].map(meta["tier"])
    month_end = long["month"] + pd.offsets.MonthEnd(0)
    onboarded = pd.to_datetime(long["account_id"].map(meta["onboarded_on"]))
    churned = pd.to_datetime(long["account_id"].map(meta["churned_on"]))
    alive = (onboarded <= month_end) & (churned.isna() | (churned > month_end))
    return (
        long.loc[alive & (long["revenue_month"] > 0)]
        .drop(columns="revenue_month")
        .reset_index(drop=True)
    )


def compute_health_scores(
    inputs: pd.DataFrame, settings: HealthSettings | None = None, from_components: bool = False
) -> pd.DataFrame:
    """Score each row of :func:`compute_health_inputs` on 0-100.

    Parameters
    ----------
    inputs : DataFrame
        Output of :func:`compute_health_inputs`.
    settings : HealthSettings, optional
        Weights and thresholds; the expert defaults when omitted.
    from_components : bool, default False
        ``inputs`` already holds the component columns (e.g. earlier scores); only
        the weighting is redone.

    Returns
    -------
    DataFrame
        ``account_id, month``, one column per component (0-100, NaN when the input
        is missing), ``health_score``, ``score_confidence`` (share of the total
        weight whose inputs were present) and ``health_band``.

    Notes
    -----
    A missing input never counts as zero: the score is the weighted mean over the
    components that are present, and ``score_confidence`` says how much of the
    weight that was. Value trend is missing for accounts without revenue in the
    prior three months; satisfaction is missing without an NPS response in the
    last twelve months. Engagement is scored against the median of the account's
    tier in the same month, so a tier's norm is not an arbitrary constant.
    """
    s = settings or HealthSettings()
    out = inputs[["account_id", "month"]].copy()
    if from_components:
        for c in COMPONENTS:
            out[c] = inputs[c]
        return _weigh(out, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = inputs["revenue_3m"] / inputs["revenue_prev_3m"]
    log_ratio = np.log(ratio.where(inputs["revenue_prev_3m"] > 0))
    out["value_trend"] = 100 / (1 + np.exp(-log_ratio / s.trend_scale))
    norm = inputs.groupby(["month", "tier"])["interactions_3m"].transform("median")
    norm = norm.where(norm > 0, 1.0)
    out["engagement"] = (inputs["interactions_3m"] / norm).clip(upper=1.5) / 1.5 * 100
    out["satisfaction"] = (inputs["nps_12m"] + 100) / 2
    out["product_depth"] = (
        inputs["products_held"].clip(upper=s.full_depth_products) / s.full_depth_products * 100
    )
    out["open_risks"] = (100 - 50 * inputs["open_risks"]).clip(lower=0)
    return _weigh(out, s)


def _weigh(out: pd.DataFrame, s: HealthSettings) -> pd.DataFrame:
    """Weighted mean over present components, confidence and band."""
    comps = out[list(COMPONENTS)]
    w = pd.Series(s.weights)[list(COMPONENTS)]
    present = comps.notna()
    weight_present = present.mul(w, axis=1).sum(axis=1)
    out["health_score"] = (comps.fillna(0).mul(w, axis=1).sum(axis=1) / weight_present).round(1)
    out["score_confidence"] = (weight_present / w.sum()).round(3)
    out["health_band"] = np.where(
        out["health_score"] >= s.healthy_from,
        "healthy",
        np.where(out["health_score"] >= s.watch_from, "watch", "at_risk"),
    )
    for c in COMPONENTS:
        out[c] = out[c].round(1)
    return out


@dataclass(frozen=True)
class FittedWeights:
    """Health weights fitted against later churn, beside the log-odds they came from."""

    weights: dict[str, float]
    odds_ratios: pd.DataFrame
    n_obs: int
    n_events: int
    horizon_months: int


def fit_health_weights(
    scores: pd.DataFrame, churned_within: pd.Series, horizon_months: int, alpha: float = 0.05
) -> FittedWeights:
    """Fit churn within a horizon on the five components and turn the fit into weights.

    Parameters
    ----------
    scores : DataFrame
        Output of :func:`compute_health_scores` (one row per account and month).
    churned_within : Series
        1 where the account churned within ``horizon_months`` after the row's month.
    horizon_months : int
        The horizon the outcome was measured over (recorded with the result).
    alpha : float, default 0.05
        For the odds-ratio intervals.

    Returns
    -------
    FittedWeights
        ``weights`` sum to 1; ``odds_ratios`` are per 10 component points with
        intervals (account-clustered).

    Notes
    -----
    A component's weight is its protective standardized effect: -β·sd, floored at
    zero (a component whose higher values go with *more* churn gets weight 0 rather
    than a negative weight), then normalised. Missing components are filled with
    the component's mean and flagged, so missingness does not silently count as
    zero or as average without the model knowing.
    """
    import statsmodels.api as sm

    from analytics.logit import fit_clustered_logit

    x = pd.DataFrame(index=scores.index)
    for c in COMPONENTS:
        col = scores[c]
        x[c] = col.fillna(col.mean()) / 10
        if col.isna().any():
            x[f"{c}_missing"] = col.isna().astype(float)
    x = sm.add_constant(x, has_constant="add")
    y = churned_within.astype(float)
    res = fit_clustered_logit(y, x, scores["account_id"].to_numpy())
    ci = res.conf_int(alpha=alpha)
    comps = [c for c in COMPONENTS if c in res.params.index]
    table = pd.DataFrame(
        {
            "odds_ratio_per_10": np.exp(res.params[comps]),
            "ci_low": np.exp(ci.loc[comps, 0]),
            "ci_high": np.exp(ci.loc[comps, 1]),
            "p_value": res.pvalues[comps],
        }
    )
    protective = {c: max(0.0, -float(res.params[c]) * float(x[c].std())) for c in comps}
    total = sum(protective.values())
    weights = {
        c: (protective.get(c, 0.0) / total if total > 0 else 1 / len(COMPONENTS))
        for c in COMPONENTS
    }
    return FittedWeights(weights, table, int(res.nobs), int(y.sum()), horizon_months)


def compute_contributions(row: pd.Series, weights: dict[str, float]) -> pd.Series:
    """Points each component contributes to one health score (they sum to the score)."""
    present = {c: w for c, w in weights.items() if pd.notna(row.get(c))}
    total = sum(present.values())
    return pd.Series(
        {c: (row[c] * present[c] / total if c in present and total else 0.0) for c in COMPONENTS}
    )


def compute_score_change(
    before: pd.Series, after: pd.Series, weights: dict[str, float]
) -> pd.DataFrame:
    """Why a health score moved: each component's change in contribution.

    Returns ``component, before, after, change``; ``change`` sums exactly to the change
    of the score, so the breakdown never leaves an unexplained remainder (a component
    that went missing shows its lost contribution, and the others are re-weighted).
    """
    b = compute_contributions(before, weights)
    a = compute_contributions(after, weights)
    return pd.DataFrame(
        {
            "component": list(COMPONENTS),
            "before": b.to_numpy(),
            "after": a.to_numpy(),
            "change": (a - b).to_numpy(),
        }
    )
