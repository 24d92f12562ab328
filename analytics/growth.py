"""Value uplift: product propensity, next best product, its backtest, and depth vs retention.

Propensity method: one ridge-regularised logistic regression per product (statsmodels
GLM, binomial, L2 penalty), fitted on accounts that did not hold the product at a date,
with the outcome "opened it within the next 12 months". Features: the other products
held (which carries product affinities), tier, industry, size (log turnover) and tenure.
It is chosen over pure peer co-occurrence because it weighs affinities against size and
industry at once, and it is checked the honest way: suggestions made as of an earlier
date are compared with what accounts really opened in the following 12 months, against
a popularity baseline (suggest the products most often opened overall).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm

from analytics.logit import fit_clustered_logit

HORIZON_MONTHS = 12
RIDGE_ALPHA = 0.01


def held_at(
    holdings: pd.DataFrame, account_ids: pd.Index, products: list[str], day: pd.Timestamp
) -> pd.DataFrame:
    """0/1 matrix (accounts × products) of what each account held on ``day``.

    ``holdings``: account_id, product, opened_on, closed_on.
    """
    h = holdings[
        (pd.to_datetime(holdings["opened_on"]) <= day)
        & (holdings["closed_on"].isna() | (pd.to_datetime(holdings["closed_on"]) > day))
    ]
    return _indicator(h, account_ids, products)


def _indicator(h: pd.DataFrame, account_ids: pd.Index, products: list[str]) -> pd.DataFrame:
    """1.0 where an account (row) has a holding of a product (column), else 0.0."""
    rows = account_ids.get_indexer(h["account_id"])
    cols = pd.Index(products).get_indexer(h["product"])
    found = (rows >= 0) & (cols >= 0)
    m = np.zeros((len(account_ids), len(products)))
    m[rows[found], cols[found]] = 1.0
    return pd.DataFrame(m, index=account_ids, columns=pd.Index(products, name="product"))


def opened_between(
    holdings: pd.DataFrame,
    account_ids: pd.Index,
    products: list[str],
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> pd.DataFrame:
    """0/1 matrix of products opened after ``start`` up to ``end``."""
    o = pd.to_datetime(holdings["opened_on"])
    return _indicator(holdings[(o > start) & (o <= end)], account_ids, products)


def features(accounts: pd.DataFrame, held: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Design matrix: held products, tier and industry dummies, log turnover, tenure.

    ``accounts`` is indexed by account_id with tier, industry, annual_turnover, onboarded_on.
    """
    a = accounts.loc[held.index]
    x = held.add_prefix("has_").copy()
    for tier in ("value", "strategic"):
        x[f"tier_{tier}"] = (a["tier"] == tier).astype(float)
    for ind in sorted(accounts["industry"].unique())[1:]:
        x[f"ind_{ind}"] = (a["industry"] == ind).astype(float)
    x["log_turnover"] = np.log10(a["annual_turnover"].clip(lower=1e5).fillna(1e7)) - 7.5
    x["tenure_years"] = ((day - pd.to_datetime(a["onboarded_on"])).dt.days / 365.25).clip(0, 40)
    x.insert(0, "const", 1.0)
    return x


@dataclass(frozen=True)
class PropensityModel:
    """One fitted ridge logit per product (coefficients by feature name)."""

    params: dict[str, pd.Series]
    base_rates: dict[str, float]

    def score(self, x: pd.DataFrame, held: pd.DataFrame) -> pd.DataFrame:
        """Probability of opening each product in the next 12 months (NaN where held)."""
        out = pd.DataFrame(index=x.index, columns=list(self.params), dtype=float)
        for product, params in self.params.items():
            cols = [c for c in params.index if c in x.columns]
            eta = x[cols].to_numpy() @ params[cols].to_numpy()
            out[product] = 1 / (1 + np.exp(-eta))
        return out.where(held.reindex(columns=out.columns) == 0)


def fit_propensity(
    x: pd.DataFrame, held: pd.DataFrame, opened: pd.DataFrame, alpha: float = RIDGE_ALPHA
) -> PropensityModel:
    """Fit each product's model on the accounts that did not hold it."""
    params, rates = {}, {}
    for product in held.columns:
        at_risk = held[product] == 0
        y = opened.loc[at_risk, product]
        rates[product] = float(y.mean()) if len(y) else 0.0
        if y.sum() < 5 or len(y) < 50:
            continue
        cols = [c for c in x.columns if c != f"has_{product}"]
        # The intercept is not shrunk: it carries the product's own base rate, which
        # ranking products against each other needs.
        penalty = np.array([0.0 if c == "const" else alpha for c in cols])
        fit = sm.GLM(
            y.to_numpy(), x.loc[at_risk, cols].to_numpy(), family=sm.families.Binomial()
        ).fit_regularized(alpha=penalty, L1_wt=0.0)
        params[product] = pd.Series(np.asarray(fit.params), index=cols)
    return PropensityModel(params, rates)


def top_k(scores: pd.DataFrame, k: int) -> pd.DataFrame:
    """Each account's ``k`` highest-scoring products: account_id, product, score, rank."""
    long = scores.stack().dropna().rename("score").reset_index()
    long.columns = ["account_id", "product", "score"]
    long = long.sort_values(["account_id", "score"], ascending=[True, False], kind="stable")
    long["rank"] = long.groupby("account_id").cumcount() + 1
    return long[long["rank"] <= k].reset_index(drop=True)


def precision_at_k(suggested: pd.DataFrame, opened: pd.DataFrame) -> pd.Series:
    """Per account: share of its suggestions that it opened (for bootstrap by account)."""
    rows = opened.index.get_indexer(suggested["account_id"])
    cols = opened.columns.get_indexer(suggested["product"])
    found = (rows >= 0) & (cols >= 0)
    hit = np.zeros(len(suggested))
    if found.any():
        hit[found] = opened.to_numpy(dtype=float)[rows[found], cols[found]]
    return suggested.assign(hit=hit).groupby("account_id")["hit"].mean()


def backtest(
    model_scores: pd.DataFrame,
    held: pd.DataFrame,
    opened: pd.DataFrame,
    popularity: dict[str, float],
    ks: tuple[int, ...] = (1, 3),
    n_boot: int = 1000,
    seed: int = 0,
) -> list[dict]:
    """Precision at k of the model and of the popularity baseline, and their lift.

    Intervals: percentile bootstrap over accounts (the same resampled accounts for
    model and baseline, so the lift's interval reflects their paired difference).
    """
    pop = pd.DataFrame(
        np.tile([popularity.get(p, 0.0) for p in model_scores.columns], (len(held), 1)),
        index=held.index,
        columns=model_scores.columns,
    ).where(held.reindex(columns=model_scores.columns) == 0)
    rng = np.random.default_rng(seed)
    out = []
    for k in ks:
        m = precision_at_k(top_k(model_scores, k), opened)
        b = precision_at_k(top_k(pop, k), opened).reindex(m.index).fillna(0.0)
        mv, bv = m.to_numpy(), b.to_numpy()
        idx = rng.integers(0, len(mv), size=(n_boot, len(mv)))
        pm, pb = mv[idx].mean(axis=1), bv[idx].mean(axis=1)
        lift = pm / np.where(pb > 0, pb, np.nan)
        out.append(
            {
                "k": k,
                "accounts": len(mv),
                "precision": float(mv.mean()),
                "precision_low": float(np.quantile(pm, 0.025)),
                "precision_high": float(np.quantile(pm, 0.975)),
                "baseline": float(bv.mean()),
                "baseline_low": float(np.quantile(pb, 0.025)),
                "baseline_high": float(np.quantile(pb, 0.975)),
                "lift": float(mv.mean() / bv.mean()) if bv.mean() > 0 else None,
                "lift_low": float(np.nanquantile(lift, 0.025)),
                "lift_high": float(np.nanquantile(lift, 0.975)),
            }
        )
    return out


def depth_effect(panel: pd.DataFrame) -> dict | None:
    """Odds ratio of monthly churn per extra product, adjusted for size, tenure and tier.

    ``panel``: account-months with churn_next, products_held, tier_value,
    tier_strategic, log_turnover, tenure_years (discrete-time logit, errors clustered by
    account). Also returns the unadjusted odds ratio for contrast.
    """
    if panel.empty or panel["churn_next"].sum() < 10:
        return None
    y = panel["churn_next"].astype(float)
    groups = panel["account_id"].to_numpy()
    out = {}
    for name, cols in (
        ("raw", ["products_held"]),
        (
            "adjusted",
            ["products_held", "tier_value", "tier_strategic", "log_turnover", "tenure_years"],
        ),
    ):
        x = sm.add_constant(panel[cols].astype(float), has_constant="add")
        fit = fit_clustered_logit(y, x, groups)
        b, (lo, hi) = fit.params["products_held"], fit.conf_int().loc["products_held"]
        out[name] = {
            "odds_ratio": float(np.exp(b)),
            "low": float(np.exp(lo)),
            "high": float(np.exp(hi)),
        }
    out["n_obs"], out["n_events"] = len(panel), int(y.sum())
    return out


def churn_by_depth(panel_year: pd.DataFrame) -> pd.DataFrame:
    """12-month churn by number of products held at the start, with Wilson intervals.

    ``panel_year``: one row per account with products (at the start) and churned (0/1).
    """
    from statsmodels.stats.proportion import proportion_confint

    g = panel_year.assign(depth=panel_year["products"].clip(upper=6)).groupby("depth")
    rows = []
    for depth, part in g:
        n, k = len(part), int(part["churned"].sum())
        lo, hi = proportion_confint(k, n, method="wilson")
        rows.append(
            {"depth": int(depth), "accounts": n, "churned": k, "rate": k / n, "low": lo, "high": hi}
        )
    return pd.DataFrame(rows)


def rate_table(frame: pd.DataFrame, by: str, outcome: str) -> pd.DataFrame:
    """Share of rows with ``outcome`` == 1 per ``by`` group, with Wilson 95% intervals."""
    from statsmodels.stats.proportion import proportion_confint

    rows = []
    for key, part in frame.groupby(by):
        n, k = len(part), int(part[outcome].sum())
        lo, hi = proportion_confint(k, n, method="wilson")
        rows.append({by: key, "n": n, "k": k, "rate": k / n, "low": lo, "high": hi})
    return pd.DataFrame(rows, columns=[by, "n", "k", "rate", "low", "high"])


def acceptance(offers: pd.DataFrame, by: str) -> pd.DataFrame:
    """Offer acceptance rate per product or tier (answered offers only)."""
    return rate_table(
        offers.assign(accepted=(offers["offer_response"] == "accepted").astype(int)), by, "accepted"
    )


def member_comparison(accounts: pd.DataFrame) -> dict:
    """Members vs non-members of the points programme: churn and repurchase.

    Raw rates with Wilson intervals, and odds ratios adjusted for tier, products held and
    size (logit, robust errors) — members are larger, more engaged clients to begin with.
    """
    a = accounts.assign(
        tier_value=(accounts["tier"] == "value").astype(float),
        tier_strategic=(accounts["tier"] == "strategic").astype(float),
        log_turnover=np.log10(accounts["annual_turnover"].clip(lower=1e5).fillna(1e7)) - 7.5,
    )
    out: dict = {}
    for outcome in ("churned", "repurchased"):
        raw = rate_table(a, "member", outcome)
        cols = ["member", "tier_value", "tier_strategic", "products", "log_turnover"]
        adjusted = None
        if a[outcome].sum() >= 10 and a["member"].nunique() == 2:
            x = sm.add_constant(a[cols].astype(float), has_constant="add")
            fit = fit_clustered_logit(a[outcome].astype(float), x, a["account_id"].to_numpy())
            if "member" in fit.params.index:
                lo, hi = fit.conf_int().loc["member"]
                adjusted = {
                    "odds_ratio": float(np.exp(fit.params["member"])),
                    "low": float(np.exp(lo)),
                    "high": float(np.exp(hi)),
                }
        out[outcome] = {"raw": raw.to_dict("records"), "adjusted": adjusted}
    return out
