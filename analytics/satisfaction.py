"""Satisfaction statistics: NPS, CSAT and CES with honest intervals, changes, drop scans."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import norm
from scipy.stats import t as t_dist
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint
from statsmodels.tsa.seasonal import STL


@dataclass(frozen=True)
class NpsEstimate:
    """NPS on the -100..100 scale with its interval and sample size."""

    nps: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    promoters: int
    passives: int
    detractors: int
    sufficient: bool


def compute_nps(
    promoters: int, passives: int, detractors: int, alpha: float = 0.05, min_n: int = 30
) -> NpsEstimate:
    """Estimate NPS from counts with a normal-approximation interval.

    Parameters
    ----------
    promoters, passives, detractors : int
        Counts of responses scoring 9-10, 7-8 and 0-6.
    alpha : float, default 0.05
        One minus the confidence level of the interval.
    min_n : int, default 30
        Below this many responses the estimate is flagged as insufficient and no
        value is reported.

    Returns
    -------
    NpsEstimate

    Raises
    ------
    ValueError
        If a count is negative or ``alpha`` is not in (0, 1).

    Notes
    -----
    NPS = 100 (p_P - p_D). Its sampling variance under multinomial sampling is
    (p_P + p_D - (p_P - p_D)^2) / n, so the interval is
    NPS ± z_{1-alpha/2} · 100 · sqrt(variance), clipped to [-100, 100].
    """
    if min(promoters, passives, detractors) < 0:
        raise ValueError("counts must be non-negative")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    n = promoters + passives + detractors
    if n < max(min_n, 1):
        return NpsEstimate(None, None, None, n, promoters, passives, detractors, False)
    p_p, p_d = promoters / n, detractors / n
    value = p_p - p_d
    se = np.sqrt(max(p_p + p_d - value**2, 0.0) / n)
    z = norm.ppf(1 - alpha / 2)
    return NpsEstimate(
        nps=100 * value,
        ci_low=max(-100.0, 100 * (value - z * se)),
        ci_high=min(100.0, 100 * (value + z * se)),
        n=n,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        sufficient=True,
    )


# ---------------------------------------------------------------- surveys
SURVEYS = ("nps", "csat", "ces")
NPS_VALUE = {"promoter": 100.0, "passive": 0.0, "detractor": -100.0}


def nps_value(score: pd.Series) -> pd.Series:
    """Each NPS answer as +100 (9–10), 0 (7–8) or −100 (0–6): their mean is the NPS."""
    return pd.Series(
        np.where(score >= 9, 100.0, np.where(score <= 6, -100.0, 0.0)), index=score.index
    )


@dataclass(frozen=True)
class Estimate:
    """A survey figure with its 95% interval; ``value`` is None below the minimum n."""

    value: float | None
    low: float | None
    high: float | None
    n: int
    sufficient: bool


def estimate(scores: pd.Series, survey: str, min_n: int = 30, alpha: float = 0.05) -> Estimate:
    """NPS (−100…100), CSAT (% satisfied, 4–5 of 5) or CES (mean effort, 1–7) with a CI.

    NPS uses the multinomial variance (:func:`compute_nps`), CSAT the Wilson interval,
    CES the t interval of the mean.
    """
    s = scores.dropna()
    n = len(s)
    if n < max(min_n, 1):
        return Estimate(None, None, None, n, False)
    if survey == "nps":
        e = compute_nps(
            int((s >= 9).sum()),
            int(s.between(7, 8).sum()),
            int((s <= 6).sum()),
            alpha=alpha,
            min_n=min_n,
        )
        return Estimate(e.nps, e.ci_low, e.ci_high, n, True)
    if survey == "csat":
        k = int((s >= 4).sum())
        lo, hi = proportion_confint(k, n, alpha=alpha, method="wilson")
        return Estimate(100 * k / n, 100 * lo, 100 * hi, n, True)
    mean, sd = float(s.mean()), float(s.std(ddof=1)) if n > 1 else 0.0
    half = t_dist.ppf(1 - alpha / 2, n - 1) * sd / np.sqrt(n) if n > 1 else np.nan
    return Estimate(mean, mean - half, mean + half, n, True)


def _per_response(scores: pd.Series, survey: str) -> pd.Series:
    """Per-answer values whose mean is the survey's figure (for tests of differences)."""
    if survey == "nps":
        return nps_value(scores)
    if survey == "csat":
        return 100.0 * (scores >= 4)
    return scores.astype(float)


def difference_test(before: pd.Series, after: pd.Series, survey: str) -> dict | None:
    """Change of a survey figure between two periods: difference, z, two-sided p.

    The figures are means of per-answer values (NPS: ±100/0; CSAT: 100·satisfied; CES:
    the score), so the variance of each is that of the mean (for NPS this equals the
    multinomial formula), and the two periods are independent samples.
    """
    a, b = _per_response(before.dropna(), survey), _per_response(after.dropna(), survey)
    if len(a) < 2 or len(b) < 2:
        return None
    diff = float(b.mean() - a.mean())
    se = float(np.sqrt(a.var(ddof=0) / len(a) + b.var(ddof=0) / len(b)))
    if se == 0:
        return None
    z = diff / se
    return {
        "diff": diff,
        "se": se,
        "z": z,
        "p": float(2 * norm.sf(abs(z))),
        "n_before": len(a),
        "n_after": len(b),
    }


def series(
    responses: pd.DataFrame,
    survey: str,
    freq: str = "M",
    by: str | None = None,
    min_n: int = 30,
) -> pd.DataFrame:
    """The survey figure per period (and segment) with interval, n and the NPS split.

    ``responses``: month (Timestamp), survey, score, and the ``by`` column if given.
    Returns period, segment, value, low, high, n, sufficient, promoters, passives,
    detractors (shares, NPS only).
    """
    r = responses[responses["survey"] == survey]
    cols = [
        "period",
        "segment",
        "value",
        "low",
        "high",
        "n",
        "sufficient",
        "promoters",
        "passives",
        "detractors",
    ]
    if r.empty:
        return pd.DataFrame(columns=cols)
    period = pd.to_datetime(r["month"]).dt.to_period(freq).dt.start_time
    seg = r[by] if by else pd.Series("all", index=r.index)
    rows = []
    for (p, g), scores in r["score"].groupby([period, seg]):
        e = estimate(scores, survey, min_n)
        n = len(scores)
        rows.append(
            {
                "period": p,
                "segment": g,
                "value": e.value,
                "low": e.low,
                "high": e.high,
                "n": n,
                "sufficient": e.sufficient,
                "promoters": float((scores >= 9).mean()) if survey == "nps" else None,
                "passives": float(scores.between(7, 8).mean()) if survey == "nps" else None,
                "detractors": float((scores <= 6).mean()) if survey == "nps" else None,
            }
        )
    return pd.DataFrame(rows, columns=cols)


# ------------------------------------------------------------ drop scans
def scan_drops(
    responses: pd.DataFrame,
    dims: tuple[str, ...],
    pre: int = 6,
    post: int = 6,
    min_n: int = 30,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Scan every segment and month for an NPS drop relative to the rest of the portfolio.

    For segment value g of dimension d and candidate month m, the contrast is
    (g after − g before) − (rest after − rest before), "before" being the ``pre``
    months up to m−1 and "after" m … m+``post``−1. Comparing with the rest of the
    portfolio removes shared seasonality and portfolio-wide moves. One-sided p-values
    (a drop) are adjusted across **all** segments and months together with the
    Benjamini–Hochberg false-discovery rate (statsmodels ``multipletests``).

    ``responses``: NPS answers with month, score and the ``dims`` columns. Returns one
    row per segment and month with contrast, se, z, p, q and ``flagged``.
    """
    r = responses.assign(v=nps_value(responses["score"]), month=pd.to_datetime(responses["month"]))
    months = sorted(r["month"].unique())
    out = []
    for dim in dims:
        # Sufficient statistics per segment and month: count, sum, sum of squares.
        g = r.groupby([dim, "month"])["v"].agg(["count", "sum"]).unstack(fill_value=0)
        sq = r.assign(v2=r["v"] ** 2).groupby([dim, "month"])["v2"].sum().unstack(fill_value=0)
        g = g.reindex(columns=pd.MultiIndex.from_product([["count", "sum"], months]), fill_value=0)
        sq = sq.reindex(columns=months, fill_value=0)
        n_all = g["count"].sum(axis=0)
        s_all = g["sum"].sum(axis=0)
        q_all = sq.sum(axis=0)
        for seg in g.index:
            n_s, s_s, q_s = g.loc[seg, "count"], g.loc[seg, "sum"], sq.loc[seg]
            n_r, s_r, q_r = n_all - n_s, s_all - s_s, q_all - q_s
            for k in range(pre, len(months) - post + 1):
                b, a = slice(k - pre, k), slice(k, k + post)
                parts = []
                for n, s, q in ((n_s, s_s, q_s), (n_r, s_r, q_r)):
                    nb, na = n.iloc[b].sum(), n.iloc[a].sum()
                    if nb < min_n or na < min_n:
                        parts = []
                        break
                    mb, ma = s.iloc[b].sum() / nb, s.iloc[a].sum() / na
                    vb = q.iloc[b].sum() / nb - mb**2
                    va = q.iloc[a].sum() / na - ma**2
                    parts.append((ma - mb, vb / nb + va / na, mb, ma, nb, na))
                if not parts:
                    continue
                (ds, vs, mb, ma, nb, na), (dr, vr, *_rest) = parts
                se = float(np.sqrt(vs + vr))
                if se == 0:
                    continue
                contrast = float(ds - dr)
                z = contrast / se
                out.append(
                    {
                        "dimension": dim,
                        "segment": seg,
                        "month": months[k],
                        "before": mb,
                        "after": ma,
                        "n_before": int(nb),
                        "n_after": int(na),
                        "contrast": contrast,
                        "se": se,
                        "z": z,
                        "p": float(norm.cdf(z)),
                    }
                )
    cols = [
        "dimension",
        "segment",
        "month",
        "before",
        "after",
        "n_before",
        "n_after",
        "contrast",
        "se",
        "z",
        "p",
        "q",
        "flagged",
    ]
    if not out:
        return pd.DataFrame(columns=cols)
    scan = pd.DataFrame(out)
    flagged, q, _, _ = multipletests(scan["p"], alpha=alpha, method="fdr_bh")
    scan["q"], scan["flagged"] = q, flagged
    return scan[cols]


def drop_onsets(
    scan: pd.DataFrame, responses: pd.DataFrame | None = None, window: int = 12
) -> pd.DataFrame:
    """One row per segment with a flagged drop, dated where the step is clearest.

    Detection uses the short windows of :func:`scan_drops`; to date the drop, each
    flagged segment's candidate months (its flagged months ± 3) are re-tested with up
    to ``window`` months on each side (clipped to the data), which dates a lasting step
    far more precisely. Without ``responses`` the best short-window month is used.
    """
    hits = scan[scan["flagged"]]
    if hits.empty:
        return hits
    best = hits.loc[hits.groupby(["dimension", "segment"])["z"].idxmin()].copy()
    if responses is not None:
        r = responses.assign(
            v=nps_value(responses["score"]), month=pd.to_datetime(responses["month"])
        )
        months = sorted(r["month"].unique())
        for idx, row in best.iterrows():
            seg = r[row["dimension"]] == row["segment"]
            flagged = hits[
                (hits["dimension"] == row["dimension"]) & (hits["segment"] == row["segment"])
            ]["month"]
            pos = [months.index(m) for m in flagged]
            candidates = range(max(1, min(pos) - 3), min(len(months) - 1, max(pos) + 3) + 1)
            scores = []
            for k in candidates:
                before = r["month"].isin(months[max(0, k - window) : k])
                after = r["month"].isin(months[k : k + window])
                parts = []
                for part in (seg, ~seg):
                    a, b = r.loc[part & before, "v"], r.loc[part & after, "v"]
                    if len(a) < 2 or len(b) < 2:
                        break
                    parts.append((b.mean() - a.mean(), a.var() / len(a) + b.var() / len(b)))
                if len(parts) == 2:
                    z = (parts[0][0] - parts[1][0]) / np.sqrt(parts[0][1] + parts[1][1])
                    scores.append((z, k))
            if scores:
                best.loc[idx, "month"] = months[min(scores)[1]]
    return best.sort_values("z").reset_index(drop=True)


def scan_accounts(
    responses: pd.DataFrame,
    as_of: pd.Timestamp,
    recent: int = 6,
    baseline: int = 12,
    min_n: int = 5,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Accounts whose NPS over the last ``recent`` months fell against the ``baseline`` before.

    Per account: difference of mean per-answer NPS values, z with the two samples'
    variances, one-sided p, Benjamini–Hochberg across all tested accounts.
    """
    cols = [
        "account_id",
        "before",
        "after",
        "n_before",
        "n_after",
        "diff",
        "z",
        "p",
        "q",
        "flagged",
    ]
    r = responses.assign(v=nps_value(responses["score"]), month=pd.to_datetime(responses["month"]))
    end = pd.Timestamp(as_of).to_period("M").start_time
    cut = end - pd.DateOffset(months=recent - 1)
    start = cut - pd.DateOffset(months=baseline)
    r = r[(r["month"] >= start) & (r["month"] <= end)]
    if r.empty:
        return pd.DataFrame(columns=cols)
    # Per account and side of the cut: answers, mean and variance, in one pass.
    grouped = r.groupby(["account_id", r["month"] >= cut])["v"]
    stats = pd.DataFrame(
        {"n": grouped.size(), "mean": grouped.mean(), "var": grouped.var(ddof=0)}
    ).unstack(level=1)
    stats = stats.reindex(columns=pd.MultiIndex.from_product([["n", "mean", "var"], [False, True]]))
    n_a, n_b = stats[("n", False)].fillna(0), stats[("n", True)].fillna(0)
    stats = stats[(n_a >= min_n) & (n_b >= min_n)]
    n_a, n_b = stats[("n", False)], stats[("n", True)]
    var = stats[("var", False)] / n_a + stats[("var", True)] / n_b
    # With very few answers a zero variance is likely: use the portfolio's instead.
    var = np.maximum(var, r["v"].var(ddof=0) * (1 / n_a + 1 / n_b) / 4)
    diff = stats[("mean", True)] - stats[("mean", False)]
    z = diff / np.sqrt(var)
    rows = pd.DataFrame(
        {
            "account_id": stats.index.to_numpy(),
            "before": stats[("mean", False)].to_numpy(dtype=float),
            "after": stats[("mean", True)].to_numpy(dtype=float),
            "n_before": n_a.to_numpy(dtype=int),
            "n_after": n_b.to_numpy(dtype=int),
            "diff": diff.to_numpy(dtype=float),
            "z": z.to_numpy(dtype=float),
            "p": norm.cdf(z.to_numpy(dtype=float)),
        }
    )
    if rows.empty:
        return pd.DataFrame(columns=cols)
    out = rows
    flagged, q, _, _ = multipletests(out["p"], alpha=alpha, method="fdr_bh")
    out["q"], out["flagged"] = q, flagged
    return out[cols].sort_values(["z", "account_id"], kind="stable").reset_index(drop=True)


# ----------------------------------------------------- B2B aggregations
def account_level_nps(
    nps_answers: pd.DataFrame, weights: pd.Series | None = None, alpha: float = 0.05
) -> Estimate:
    """One vote per account: each account's mean score is classified, then NPS over accounts.

    With ``weights`` (e.g. 12-month revenue by account_id) the votes are weighted; the
    interval uses the weighted variance with Kish's effective sample size.
    """
    per_account = nps_answers.groupby("account_id")["score"].mean()
    votes = nps_value(per_account.round())
    if votes.empty:
        return Estimate(None, None, None, 0, False)
    w = (
        weights.reindex(votes.index).fillna(0.0).clip(lower=0)
        if weights is not None
        else pd.Series(1.0, index=votes.index)
    )
    if w.sum() <= 0:
        return Estimate(None, None, None, len(votes), False)
    value = float(np.average(votes, weights=w))
    n_eff = float(w.sum() ** 2 / (w**2).sum())
    var = float(np.average((votes - value) ** 2, weights=w)) / n_eff
    half = norm.ppf(1 - alpha / 2) * np.sqrt(var)
    return Estimate(value, max(-100.0, value - half), min(100.0, value + half), len(votes), True)


# ------------------------------------------------------- seasonality
def seasonal_regression(nps_answers: pd.DataFrame) -> dict | None:
    """Trend and seasonal swing of NPS: OLS of each answer's ±100 value on a linear trend
    and one annual harmonic (cos, sin of the calendar month), errors clustered by account.

    Returns the yearly trend, the cos/sin coefficients, the amplitude (half the
    peak-to-trough swing) and the month of the peak, each with 95% intervals where
    defined.
    """
    if len(nps_answers) < 200:
        return None
    m = pd.to_datetime(nps_answers["month"])
    t_years = (m - m.min()).dt.days / 365.25
    angle = 2 * np.pi * (m.dt.month - 1) / 12
    x = pd.DataFrame({"const": 1.0, "trend": t_years, "cos": np.cos(angle), "sin": np.sin(angle)})
    y = nps_value(nps_answers["score"])
    fit = sm.OLS(y.to_numpy(float), x.to_numpy(float)).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(nps_answers["account_id"])[0]}
    )
    b, ci = fit.params, fit.conf_int()
    amplitude = float(np.hypot(b[2], b[3]))
    peak = (np.degrees(np.arctan2(b[3], b[2])) % 360) / 30 + 1
    return {
        "trend_per_year": float(b[1]),
        "trend_low": float(ci[1][0]),
        "trend_high": float(ci[1][1]),
        "cos": float(b[2]),
        "cos_low": float(ci[2][0]),
        "cos_high": float(ci[2][1]),
        "sin": float(b[3]),
        "sin_low": float(ci[3][0]),
        "sin_high": float(ci[3][1]),
        "amplitude": amplitude,
        "peak_month": float(peak),
        "n": int(fit.nobs),
    }


def stl_components(monthly: pd.Series) -> pd.DataFrame | None:
    """STL decomposition (period 12, robust) of a monthly NPS series: trend, seasonal, resid."""
    s = monthly.dropna()
    if len(s) < 25:
        return None
    res = STL(s.astype(float), period=12, robust=True).fit()
    return pd.DataFrame(
        {"observed": s, "trend": res.trend, "seasonal": res.seasonal, "resid": res.resid}
    )


# ------------------------------------------------------------- comments
THEMES = {
    "speed": ("慢", "快", "当天", "slow", "fast", "quick", "responsive", "approval", "审批"),
    "price": ("费率", "价格", "定价", "条件", "pricing", "price", "fee", "fees", "rate"),
    "digital": ("网银", "平台", "online", "outage", "系统", "app"),
    "manager": ("客户经理", "relationship manager", "manager", "换了"),
    "complaints": ("投诉", "回音", "complaint"),
    "tailoring": ("方案", "行业", "solution", "advice", "hedging"),
}


def theme_counts(comments: pd.Series) -> pd.DataFrame:
    """How many comments mention each theme (a comment may mention several)."""
    text = comments.dropna().str.lower()
    rows = [
        {"theme": theme, "comments": int(text.map(lambda c, w=words: any(k in c for k in w)).sum())}
        for theme, words in THEMES.items()
    ]
    return pd.DataFrame(rows).sort_values("comments", ascending=False, kind="stable")


# -------------------------------------------------------------- outcomes
def outcomes_by_band(
    nps_answers: pd.DataFrame, accounts: pd.DataFrame, as_of: pd.Timestamp, months: int = 12
) -> pd.DataFrame:
    """Churn and revenue change in the ``months`` after ``as_of`` by the account's NPS band.

    Band = the account's mean answer over the 12 months up to ``as_of`` (promoter ≥ 9,
    detractor ≤ 6). ``accounts``: account_id, churned_on, revenue_before, revenue_after
    (12-month sums). Returns band, accounts, churned, churn rate with Wilson 95% CI,
    mean revenue change with 95% CI (accounts still clients).
    """
    end = pd.Timestamp(as_of)
    window = nps_answers[
        (pd.to_datetime(nps_answers["month"]) > end - pd.DateOffset(months=12))
        & (pd.to_datetime(nps_answers["month"]) <= end)
    ]
    mean = window.groupby("account_id")["score"].mean()
    band = pd.Series(
        np.where(mean >= 9, "promoter", np.where(mean <= 6, "detractor", "passive")),
        index=mean.index,
    )
    acc = accounts.set_index("account_id").reindex(band.index)
    churned_on = pd.to_datetime(acc["churned_on"])
    alive = churned_on.isna() | (churned_on > end)
    churned = alive & churned_on.notna() & (churned_on <= end + pd.DateOffset(months=months))
    change = (acc["revenue_after"] / acc["revenue_before"] - 1).where(
        alive & ~churned & (acc["revenue_before"] > 0)
    )
    rows = []
    for b in ("promoter", "passive", "detractor"):
        sel = (band == b) & alive
        n, k = int(sel.sum()), int(churned[sel].sum())
        lo, hi = proportion_confint(k, n, method="wilson") if n else (None, None)
        ch = change[sel].dropna()
        half = 1.96 * ch.std(ddof=1) / np.sqrt(len(ch)) if len(ch) > 1 else None
        rows.append(
            {
                "band": b,
                "accounts": n,
                "churned": k,
                "churn_rate": k / n if n else None,
                "churn_low": lo,
                "churn_high": hi,
                "revenue_change": float(ch.mean()) if len(ch) else None,
                "revenue_low": float(ch.mean() - half) if half is not None else None,
                "revenue_high": float(ch.mean() + half) if half is not None else None,
            }
        )
    return pd.DataFrame(rows)
