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
# Lowest favourable and highest unfavourable score (NPS promoters 9–10, detractors 0–6;
# CSAT satisfied 4–5). CES has neither: its figure is the mean score.
FAVOURABLE = {"nps": 9, "csat": 4}
UNFAVOURABLE = {"nps": 6}
CELL_COLUMNS = ("n", "promoters", "detractors", "score_sum", "score_sq_sum")


def nps_value(score: pd.Series) -> pd.Series:
    """Each NPS answer as +100 (9–10), 0 (7–8) or −100 (0–6): their mean is the NPS."""
    return pd.Series(
        np.where(score >= 9, 100.0, np.where(score <= 6, -100.0, 0.0)), index=score.index
    )


def as_cells(answers: pd.DataFrame, survey: str = "nps") -> pd.DataFrame:
    """Answers of one survey as cells of sufficient statistics.

    A cell stands for ``n`` answers: how many were favourable (``promoters``: NPS 9–10,
    CSAT 4–5) and NPS detractors (0–6), and the sum and sum of squares of their scores.
    Every figure here (estimates, changes, drop scans) needs only these, so the pages
    read them per segment and month from the rollup. A frame of single answers
    (``score`` column) gets one cell per answer; a frame that has cells is returned as is.
    """
    if "n" in answers.columns:
        return answers
    score = answers["score"].astype(float)
    top, low = FAVOURABLE.get(survey), UNFAVOURABLE.get(survey)
    return answers.assign(
        n=1,
        promoters=(score >= top).astype(int) if top is not None else 0,
        detractors=(score <= low).astype(int) if low is not None else 0,
        score_sum=score,
        score_sq_sum=score**2,
    )


def value_sums(cells: pd.DataFrame, survey: str) -> pd.DataFrame:
    """Count, sum and sum of squares of the per-answer values whose mean is the figure
    (NPS: ±100 / 0; CSAT: 100 · satisfied; CES: the score), per cell."""
    n = cells["n"].astype(float)
    p, d = cells["promoters"].astype(float), cells["detractors"].astype(float)
    if survey == "nps":
        s, ss = 100.0 * (p - d), 10_000.0 * (p + d)
    elif survey == "csat":
        s, ss = 100.0 * p, 10_000.0 * p
    else:
        s, ss = cells["score_sum"].astype(float), cells["score_sq_sum"].astype(float)
    return pd.DataFrame({"n": n, "s": s, "ss": ss}, index=cells.index)


@dataclass(frozen=True)
class Estimate:
    """A survey figure with its 95% interval; ``value`` is None below the minimum n."""

    value: float | None
    low: float | None
    high: float | None
    n: int
    sufficient: bool


def estimate_cells(
    cells: pd.DataFrame | pd.Series, survey: str, min_n: int = 30, alpha: float = 0.05
) -> Estimate:
    """The survey figure of all answers in ``cells`` (a frame, or one row of totals).

    NPS uses the multinomial variance (:func:`compute_nps`), CSAT the Wilson interval,
    CES the t interval of the mean.
    """
    tot = cells if isinstance(cells, pd.Series) else cells[list(CELL_COLUMNS)].sum()
    n = int(tot["n"])
    if n < max(min_n, 1):
        return Estimate(None, None, None, n, False)
    p, d = int(tot["promoters"]), int(tot["detractors"])
    if survey == "nps":
        e = compute_nps(p, n - p - d, d, alpha=alpha, min_n=min_n)
        return Estimate(e.nps, e.ci_low, e.ci_high, n, True)
    if survey == "csat":
        lo, hi = proportion_confint(p, n, alpha=alpha, method="wilson")
        return Estimate(100 * p / n, 100 * lo, 100 * hi, n, True)
    mean = float(tot["score_sum"]) / n
    if n < 2:
        return Estimate(mean, np.nan, np.nan, n, True)
    sd = float(np.sqrt(max(float(tot["score_sq_sum"]) - n * mean**2, 0.0) / (n - 1)))
    half = t_dist.ppf(1 - alpha / 2, n - 1) * sd / np.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n, True)


def estimate(scores: pd.Series, survey: str, min_n: int = 30, alpha: float = 0.05) -> Estimate:
    """NPS (−100…100), CSAT (% satisfied, 4–5 of 5) or CES (mean effort, 1–7) with a CI,
    from single answers' scores (see :func:`estimate_cells`)."""
    return estimate_cells(
        as_cells(pd.DataFrame({"score": scores.dropna()}), survey), survey, min_n, alpha
    )


def _moments(x: pd.Series | pd.DataFrame, survey: str) -> tuple[float, float, float]:
    """n, mean and variance (ddof 0) of the per-answer values of scores or cells."""
    cells = as_cells(pd.DataFrame({"score": x.dropna()}) if isinstance(x, pd.Series) else x, survey)
    v = value_sums(cells, survey).sum()
    n = float(v["n"])
    if n == 0:
        return 0.0, np.nan, np.nan
    mean = float(v["s"]) / n
    return n, mean, max(float(v["ss"]) / n - mean**2, 0.0)


def difference_test(
    before: pd.Series | pd.DataFrame, after: pd.Series | pd.DataFrame, survey: str
) -> dict | None:
    """Change of a survey figure between two periods: difference, z, two-sided p.

    ``before`` and ``after`` are scores or cells. The figures are means of per-answer
    values (NPS: ±100/0; CSAT: 100·satisfied; CES: the score), so the variance of each
    is that of the mean (for NPS this equals the multinomial formula), and the two
    periods are independent samples.
    """
    n_a, m_a, v_a = _moments(before, survey)
    n_b, m_b, v_b = _moments(after, survey)
    if n_a < 2 or n_b < 2:
        return None
    diff = m_b - m_a
    se = float(np.sqrt(v_a / n_a + v_b / n_b))
    if se == 0:
        return None
    z = diff / se
    return {
        "diff": diff,
        "se": se,
        "z": z,
        "p": float(2 * norm.sf(abs(z))),
        "n_before": int(n_a),
        "n_after": int(n_b),
    }


def series(
    responses: pd.DataFrame,
    survey: str,
    freq: str = "M",
    by: str | None = None,
    min_n: int = 30,
) -> pd.DataFrame:
    """The survey figure per period (and segment) with interval, n and the NPS split.

    ``responses``: month (Timestamp), survey, score or cells (:func:`as_cells`), and the
    ``by`` column if given. Returns period, segment, value, low, high, n, sufficient,
    promoters, passives, detractors (shares, NPS only).
    """
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
    r = as_cells(responses[responses["survey"] == survey], survey)
    if r.empty:
        return pd.DataFrame(columns=cols)
    period = pd.to_datetime(r["month"]).dt.to_period(freq).dt.start_time
    seg = r[by] if by else pd.Series("all", index=r.index)
    sums = r[list(CELL_COLUMNS)].groupby([period.rename("p"), seg.rename("g")]).sum()
    sums = sums[sums["n"] > 0]
    rows = []
    for (p, g), tot in sums.iterrows():
        e = estimate_cells(tot, survey, min_n)
        n = int(tot["n"])
        nps = survey == "nps"
        rows.append(
            {
                "period": p,
                "segment": g,
                "value": e.value,
                "low": e.low,
                "high": e.high,
                "n": n,
                "sufficient": e.sufficient,
                "promoters": float(tot["promoters"] / n) if nps else None,
                "passives": float((n - tot["promoters"] - tot["detractors"]) / n) if nps else None,
                "detractors": float(tot["detractors"] / n) if nps else None,
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

    ``responses``: NPS answers or cells (:func:`as_cells`) with month and the ``dims``
    columns. Returns one row per segment and month with contrast, se, z, p, q and
    ``flagged``.
    """
    r = _value_cells(responses)
    months = sorted(r["month"].unique())
    out = []
    for dim in dims:
        # Sufficient statistics per segment and month: count, sum, sum of squares.
        g = r.groupby([dim, "month"])[["n", "s", "ss"]].sum().unstack(fill_value=0)
        g = g.reindex(columns=pd.MultiIndex.from_product([["n", "s", "ss"], months]), fill_value=0)
        # Window sums by cumulative sums: window [i, j) = c[j] - c[i].
        cum = {
            key: np.concatenate(
                [np.zeros((len(g), 1)), np.cumsum(g[key].to_numpy(float), axis=1)], axis=1
            )
            for key in ("n", "s", "ss")
        }
        total = {key: c.sum(axis=0) for key, c in cum.items()}
        for row, seg in enumerate(g.index):
            own = {key: c[row] for key, c in cum.items()}
            rest = {key: total[key] - own[key] for key in own}
            for k in range(pre, len(months) - post + 1):
                parts = []
                for c in (own, rest):
                    nb = c["n"][k] - c["n"][k - pre]
                    na = c["n"][k + post] - c["n"][k]
                    if nb < min_n or na < min_n:
                        parts = []
                        break
                    mb = (c["s"][k] - c["s"][k - pre]) / nb
                    ma = (c["s"][k + post] - c["s"][k]) / na
                    vb = (c["ss"][k] - c["ss"][k - pre]) / nb - mb**2
                    va = (c["ss"][k + post] - c["ss"][k]) / na - ma**2
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


def _value_cells(responses: pd.DataFrame) -> pd.DataFrame:
    """NPS answers or cells with the count, sum and sum of squares of their ±100 values."""
    cells = as_cells(responses, "nps")
    v = value_sums(cells, "nps")
    return cells.assign(n=v["n"], s=v["s"], ss=v["ss"], month=pd.to_datetime(cells["month"]))


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
        r = _value_cells(responses)
        months = sorted(r["month"].unique())

        total = r.groupby("month")[["n", "s", "ss"]].sum().reindex(months, fill_value=0)

        def cumulative(sums: pd.DataFrame) -> np.ndarray:
            """Running sums of n, s, ss by month, with a leading zero row."""
            return np.vstack([np.zeros((1, 3)), np.cumsum(sums.to_numpy(float), axis=0)])

        def side(c: np.ndarray, lo: int, hi: int) -> tuple[float, float, float]:
            """n, mean and sample variance (ddof 1) of the values in months lo … hi-1."""
            n, s_, ss = c[hi] - c[lo]
            if n < 2:
                return n, np.nan, np.nan
            mean = s_ / n
            return n, mean, max(ss - n * mean**2, 0.0) / (n - 1)

        for idx, row in best.iterrows():
            seg = r[row["dimension"]] == row["segment"]
            own = r[seg].groupby("month")[["n", "s", "ss"]].sum().reindex(months, fill_value=0)
            parts_cum = (cumulative(own), cumulative(total - own))
            flagged = hits[
                (hits["dimension"] == row["dimension"]) & (hits["segment"] == row["segment"])
            ]["month"]
            pos = [months.index(m) for m in flagged]
            candidates = range(max(1, min(pos) - 3), min(len(months) - 1, max(pos) + 3) + 1)
            scores = []
            for k in candidates:
                lo, hi = max(0, k - window), min(len(months), k + window)
                parts = []
                for c in parts_cum:
                    n_a, m_a, v_a = side(c, lo, k)
                    n_b, m_b, v_b = side(c, k, hi)
                    if n_a < 2 or n_b < 2:
                        break
                    parts.append((m_b - m_a, v_a / n_a + v_b / n_b))
                if len(parts) == 2:
                    z = (parts[0][0] - parts[1][0]) / np.sqrt(parts[0][1] + parts[1][1])
                    scores.append((z, k))
            if scores:
                best.loc[idx, "month"] = months[min(scores)[1]]
    return best.sort_values("z").reset_index(drop=True)


def account_window(as_of: pd.Timestamp, recent: int = 6, baseline: int = 12):
    """First month of the baseline, first month of the recent months, and the last month
    of the per-account drop scan ending with ``as_of``'s month."""
    end = pd.Timestamp(as_of).to_period("M").start_time
    cut = end - pd.DateOffset(months=recent - 1)
    return cut - pd.DateOffset(months=baseline), cut, end


def scan_accounts(sides: pd.DataFrame, min_n: int = 5, alpha: float = 0.05) -> pd.DataFrame:
    """Accounts whose NPS over the recent months fell against the baseline before.

    ``sides``: NPS cells per account and side (``recent`` false: the baseline months,
    true: the recent ones; see :func:`account_window`). Per account: difference of mean
    per-answer NPS values, z with the two samples' variances, one-sided p,
    Benjamini–Hochberg across all tested accounts.
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
    if sides.empty:
        return pd.DataFrame(columns=cols)
    v = value_sums(as_cells(sides, "nps"), "nps").assign(
        account_id=sides["account_id"].to_numpy(), recent=sides["recent"].astype(bool).to_numpy()
    )
    # The portfolio's variance of single answers over the whole window.
    tot = v[["n", "s", "ss"]].sum()
    overall_var = float(tot["ss"] / tot["n"] - (tot["s"] / tot["n"]) ** 2)
    per = v.groupby(["account_id", "recent"])[["n", "s", "ss"]].sum().unstack("recent")
    per = per.reindex(columns=pd.MultiIndex.from_product([["n", "s", "ss"], [False, True]]))
    per = per.fillna(0.0)
    n_a, n_b = per[("n", False)], per[("n", True)]
    per = per[(n_a >= min_n) & (n_b >= min_n)]
    if per.empty:
        return pd.DataFrame(columns=cols)
    n_a, n_b = per[("n", False)], per[("n", True)]
    mean_a, mean_b = per[("s", False)] / n_a, per[("s", True)] / n_b
    var_a = (per[("ss", False)] / n_a - mean_a**2).clip(lower=0)
    var_b = (per[("ss", True)] / n_b - mean_b**2).clip(lower=0)
    var = var_a / n_a + var_b / n_b
    # With very few answers a zero variance is likely: use the portfolio's instead.
    var = np.maximum(var, overall_var * (1 / n_a + 1 / n_b) / 4)
    diff = mean_b - mean_a
    z = diff / np.sqrt(var)
    out = pd.DataFrame(
        {
            "account_id": per.index.to_numpy(),
            "before": mean_a.to_numpy(dtype=float),
            "after": mean_b.to_numpy(dtype=float),
            "n_before": n_a.to_numpy(dtype=int),
            "n_after": n_b.to_numpy(dtype=int),
            "diff": diff.to_numpy(dtype=float),
            "z": z.to_numpy(dtype=float),
            "p": norm.cdf(z.to_numpy(dtype=float)),
        }
    )
    flagged, q, _, _ = multipletests(out["p"], alpha=alpha, method="fdr_bh")
    out["q"], out["flagged"] = q, flagged
    # Ties (equal z up to rounding) in account order.
    order = np.lexsort((out["account_id"].to_numpy(), out["z"].round(12).to_numpy()))
    return out[cols].iloc[order].reset_index(drop=True)


# ----------------------------------------------------- B2B aggregations
def account_mean_scores(nps_answers: pd.DataFrame) -> pd.Series:
    """Each account's mean NPS score, from answers or cells with ``account_id``."""
    sums = as_cells(nps_answers, "nps").groupby("account_id")[["n", "score_sum"]].sum()
    sums = sums[sums["n"] > 0]
    return (sums["score_sum"] / sums["n"]).rename("score")


def account_level_nps(
    nps_answers: pd.DataFrame, weights: pd.Series | None = None, alpha: float = 0.05
) -> Estimate:
    """One vote per account: each account's mean score is classified, then NPS over accounts.

    ``nps_answers``: answers or cells with ``account_id``. With ``weights`` (e.g. 12-month
    revenue by account_id) the votes are weighted; the interval uses the weighted
    variance with Kish's effective sample size.
    """
    per_account = account_mean_scores(nps_answers)
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
    mean_scores: pd.Series, accounts: pd.DataFrame, as_of: pd.Timestamp, months: int = 12
) -> pd.DataFrame:
    """Churn and revenue change in the ``months`` after ``as_of`` by the account's NPS band.

    ``mean_scores``: each account's mean NPS answer over the 12 months up to ``as_of``
    (:func:`account_mean_scores`); band promoter ≥ 9, detractor ≤ 6. ``accounts``:
    account_id, churned_on, revenue_before, revenue_after (12-month sums). Returns band,
    accounts, churned, churn rate with Wilson 95% CI, mean revenue change with 95% CI
    (accounts still clients).
    """
    end = pd.Timestamp(as_of)
    mean = mean_scores
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
