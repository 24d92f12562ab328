"""Value uplift: next-best-product scores (refresh job), and the growth page's queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, case, delete, func, or_, select

from analytics import growth as gr
from analytics.periods import add_months, month_end
from data_access.bulk import insert_frame
from data_access.frames import keep_listed, listed, read_frame
from data_access.lifecycle import fetch_latest_model
from data_access.schema import (
    Account,
    AccountMonthly,
    Holding,
    InterventionRecord,
    LoyaltyPoints,
    Product,
    ProductScore,
    RevenueMonthly,
)
from data_access.scope import Filters, Scope, filter_clauses, scope_clause

VERSION = "nbp-ridge-1"
TOP = 3


def fetch_growth_inputs(
    conn: Connection, monthly: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    """Accounts, holdings (with product codes) and monthly product counts, read once.

    ``monthly`` (the rollup with account_id, month, products_held) is read unless given.
    """
    accounts = read_frame(
        conn,
        select(
            Account.id.label("account_id"),
            Account.tier,
            Account.industry,
            Account.annual_turnover,
            Account.onboarded_on,
            Account.churned_on,
        ),
    ).set_index("account_id")
    holdings = read_frame(
        conn,
        select(
            Holding.account_id, Product.code.label("product"), Holding.opened_on, Holding.closed_on
        ).join(Product, Product.id == Holding.product_id),
    )
    if monthly is None:
        monthly = read_frame(
            conn,
            select(AccountMonthly.account_id, AccountMonthly.month, AccountMonthly.products_held),
        )
    else:
        monthly = monthly[["account_id", "month", "products_held"]]
    products = read_frame(conn, select(Product.id, Product.code))
    last = conn.execute(select(func.max(AccountMonthly.month))).scalar()
    revenue = pd.DataFrame(columns=["account_id", "product", "revenue_12m"])
    if last is not None:
        first = add_months(last, -11)
        revenue = read_frame(
            conn,
            select(
                RevenueMonthly.account_id,
                Product.code.label("product"),
                func.sum(RevenueMonthly.revenue).label("revenue_12m"),
            )
            .join(Product, Product.id == RevenueMonthly.product_id)
            .where(RevenueMonthly.month >= first)
            .group_by(RevenueMonthly.account_id, Product.code),
        )
    return {
        "accounts": accounts,
        "holdings": holdings,
        "monthly": monthly,
        "products": products,
        "revenue": revenue,
        "last": last,
    }


def _active(accounts: pd.DataFrame, day: pd.Timestamp) -> pd.Index:
    on = pd.to_datetime(accounts["onboarded_on"]) <= day
    churned = pd.to_datetime(accounts["churned_on"])
    return accounts.index[on & (churned.isna() | (churned > day))]


def _depth_panel(inputs: dict) -> pd.DataFrame:
    acc = inputs["accounts"]
    m = inputs["monthly"].copy()
    m["month"] = pd.to_datetime(m["month"])
    churned = pd.to_datetime(acc["churned_on"])
    c = m["account_id"].map(churned)
    month_end_ = m["month"] + pd.offsets.MonthEnd(0)
    next_end = m["month"] + pd.DateOffset(months=1) + pd.offsets.MonthEnd(0)
    m["churn_next"] = ((c > month_end_) & (c <= next_end)).astype(int)
    a = acc.loc[m["account_id"]]
    m["tier_value"] = (a["tier"].to_numpy() == "value").astype(float)
    m["tier_strategic"] = (a["tier"].to_numpy() == "strategic").astype(float)
    m["log_turnover"] = np.log10(a["annual_turnover"].clip(lower=1e5).fillna(1e7).to_numpy()) - 7.5
    m["tenure_years"] = (
        (m["month"] - pd.to_datetime(a["onboarded_on"]).to_numpy()).dt.days / 365.25
    ).clip(0, 40)
    alive = c.isna() | (c > month_end_)
    return m[alive].rename(columns={"products_held": "products_held"})


def compute_growth(inputs: dict) -> tuple[pd.DataFrame, dict] | None:
    """Fit, backtest and score; returns the score rows and the model-run statistics."""
    if inputs["last"] is None or inputs["holdings"].empty:
        return None
    acc, h = inputs["accounts"], inputs["holdings"]
    products = [p for p in inputs["products"]["code"] if p in set(h["product"])]
    end = pd.Timestamp(month_end(inputs["last"]))
    t_test, t_train = end - pd.DateOffset(months=12), end - pd.DateOffset(months=24)

    def fit_at(day: pd.Timestamp) -> gr.PropensityModel:
        ids = _active(acc, day)
        held = gr.held_at(h, ids, products, day)
        opened = gr.opened_between(h, ids, products, day, day + pd.DateOffset(months=12))
        return gr.fit_propensity(gr.features(acc, held, day), held, opened)

    # Backtest: a model fitted with what was known 12 months ago, scored then, checked
    # against what accounts opened since.
    old = fit_at(t_train)
    ids = _active(acc, t_test)
    held_t = gr.held_at(h, ids, products, t_test)
    opened_t = gr.opened_between(h, ids, products, t_test, end)
    scores_t = old.score(gr.features(acc, held_t, t_test), held_t)
    penetration = held_t.mean().to_dict()
    backtest = gr.backtest(scores_t, held_t, opened_t, penetration)
    backtest_recent = gr.backtest(scores_t, held_t, opened_t, old.base_rates)
    # Live suggestions: refit on the latest complete 12 months, score today's book.
    model = fit_at(t_test)
    ids = _active(acc, end)
    held = gr.held_at(h, ids, products, end)
    scores = model.score(gr.features(acc, held, end), held)
    # Expected revenue if opened: the median 12-month revenue of holders in the same tier.
    rev = inputs["revenue"].merge(acc[["tier"]], left_on="account_id", right_index=True)
    typical = rev.groupby(["tier", "product"])["revenue_12m"].median()
    long = gr.top_k(scores, len(products))
    tiers = acc.loc[long["account_id"], "tier"].to_numpy()
    long["typical"] = [
        typical.get((tr, p), np.nan) for tr, p in zip(tiers, long["product"], strict=True)
    ]
    long["expected_revenue"] = (long["score"] * long["typical"]).fillna(0.0)
    code_to_id = dict(zip(inputs["products"]["code"], inputs["products"]["id"], strict=True))
    rows = pd.DataFrame(
        {
            "account_id": long["account_id"].astype(int),
            "product_id": long["product"].map(code_to_id).astype(int),
            "as_of": end.date(),
            "propensity": long["score"].round(6),
            "expected_revenue": long["expected_revenue"].round(2),
            "rank": long["rank"].astype(int),
        }
    )
    depth = gr.depth_effect(_depth_panel(inputs))
    start = pd.Timestamp(t_test)
    year = pd.DataFrame({"products": held_t.sum(axis=1)})
    churned = pd.to_datetime(acc.loc[year.index, "churned_on"])
    year["churned"] = (churned.notna() & (churned <= end)).astype(int)
    stats = {
        "as_of": end.date().isoformat(),
        "backtest_as_of": t_test.date().isoformat(),
        "backtest": backtest,
        "backtest_recent": backtest_recent,
        "depth": depth,
        "churn_by_depth": gr.churn_by_depth(year).to_dict("records"),
        "depth_start": start.date().isoformat(),
        "features": list(gr.features(acc, held.head(1), end).columns),
        "ridge_alpha": gr.RIDGE_ALPHA,
    }
    return rows, stats


def write_growth(conn: Connection, rows: pd.DataFrame) -> None:
    """Replace the score snapshot of the same date (idempotent)."""
    if rows.empty:
        return
    conn.execute(delete(ProductScore).where(ProductScore.as_of == rows["as_of"].iloc[0]))
    insert_frame(conn, ProductScore.__table__, rows)


# ------------------------------------------------------------------ reads
def _where(scope: Scope, filters: Filters) -> list:
    return [scope_clause(scope), *filter_clauses(filters)]


SUGGESTION_COLUMNS = [
    "account_id",
    "code",
    "name",
    "tier",
    "industry",
    "product",
    "propensity",
    "expected_revenue",
    "rank",
]


def _product_codes(conn: Connection) -> dict[int, str]:
    return dict(conn.execute(select(Product.id, Product.code)).all())


def _scored(conn: Connection, scope: Scope, filters: Filters) -> list | None:
    """Conditions for the latest score snapshot's rows of active accounts in view (joined
    to ``Account``); None before the refresh job has scored anyone."""
    latest = conn.execute(select(func.max(ProductScore.as_of))).scalar()
    if latest is None:
        return None
    return [*_where(scope, filters), Account.status == "active", ProductScore.as_of == latest]


def fetch_opportunity_summary(conn: Connection, scope: Scope, filters: Filters) -> dict:
    """What the growth page says of all suggestions in view, counted by the database.

    Returns
    -------
    dict
        ``accounts`` (active accounts in view with a suggestion), ``top1_total`` (the
        expected revenue of every account's first suggestion), ``suggestions`` (rows
        ranked 1 to ``TOP``) and ``products`` (codes of the products suggested, in
        catalogue order); all zero or empty before the first scores.
    """
    out = {"accounts": 0, "top1_total": 0.0, "suggestions": 0, "products": []}
    where = _scored(conn, scope, filters)
    if where is None:
        return out
    ps = ProductScore
    # One pass over the scores, per product: every scored account has exactly one first
    # suggestion (ranks count from 1 per account), so first suggestions count accounts.
    per_product = conn.execute(
        select(
            ps.product_id,
            func.sum(case((ps.rank == 1, 1), else_=0)),
            func.sum(case((ps.rank == 1, ps.expected_revenue), else_=0.0)),
            func.sum(case((ps.rank <= TOP, 1), else_=0)),
        )
        .join(Account, Account.id == ps.account_id)
        .where(*where)
        .group_by(ps.product_id)
        .order_by(ps.product_id)
    ).all()
    codes = _product_codes(conn)
    return {
        "accounts": int(sum(r[1] for r in per_product)),
        "top1_total": float(sum(r[2] for r in per_product)),
        "suggestions": int(sum(r[3] for r in per_product)),
        "products": [codes[r[0]] for r in per_product],
    }


def fetch_whitespace(
    conn: Connection,
    scope: Scope,
    filters: Filters,
    products: tuple[str, ...],
    floor: float,
    limit: int,
) -> tuple[pd.DataFrame, int, pd.DataFrame]:
    """The whitespace matrix's accounts: expected revenue if they opened ``products``.

    Parameters
    ----------
    products : tuple of str
        Product codes whose expected revenue is summed per account.
    floor : float
        Accounts whose sum is below it are left out.
    limit : int
        Accounts returned at most, those with the largest sums.

    Returns
    -------
    accounts : DataFrame
        ``account_id, code, name, tier, industry, team_id, total`` of at most ``limit``
        accounts with a suggestion and a sum of at least ``floor``, largest sum first
        (then by account id).
    matching : int
        How many accounts have a sum of at least ``floor``.
    scores : DataFrame
        ``account_id, product, propensity, expected_revenue`` of those accounts for
        ``products``.
    """
    where = _scored(conn, scope, filters)
    if where is None:
        return (
            pd.DataFrame(
                columns=["account_id", "code", "name", "tier", "industry", "team_id", "total"]
            ),
            0,
            pd.DataFrame(columns=["account_id", "product", "propensity", "expected_revenue"]),
        )
    ps = ProductScore
    codes = _product_codes(conn)
    ids = [i for i, code in codes.items() if code in set(products)] or [-1]
    total = func.sum(case((ps.product_id.in_(ids), ps.expected_revenue), else_=0.0))
    sums = (
        select(ps.account_id, total.label("total"))
        .join(Account, Account.id == ps.account_id)
        .where(*where)
        .group_by(ps.account_id)
        .having(total >= floor)
        .subquery()
    )
    # The count of all matching accounts rides on the largest ones (a window over the
    # grouped rows, counted before the limit): the scores are grouped once.
    top = read_frame(
        conn,
        select(
            Account.id.label("account_id"),
            Account.code,
            Account.name,
            Account.tier,
            Account.industry,
            Account.team_id,
            sums.c.total,
            func.count().over().label("matching"),
        )
        .join(sums, sums.c.account_id == Account.id)
        .order_by(sums.c.total.desc(), Account.id)
        .limit(limit),
    )
    matching = int(top["matching"].iloc[0]) if len(top) else 0
    top = top.drop(columns="matching")
    shown = top["account_id"].tolist()
    scores = read_frame(
        conn,
        select(ps.account_id, ps.product_id, ps.propensity, ps.expected_revenue)
        .join(Account, Account.id == ps.account_id)
        .where(*where, ps.product_id.in_(ids), *listed(ps.account_id, shown)),
    )
    scores = keep_listed(scores, "account_id", shown)
    scores.insert(1, "product", scores.pop("product_id").map(codes))
    return top, matching, scores


def fetch_suggestions(
    conn: Connection, scope: Scope, filters: Filters, limit: int | None
) -> pd.DataFrame:
    """Suggestions ranked 1 to ``TOP`` of active accounts in view, with the accounts'
    code, name, tier and industry; the ``limit`` with the largest expected revenue
    (None: all), largest first, then by account and rank."""
    where = _scored(conn, scope, filters)
    if where is None:
        return pd.DataFrame(columns=SUGGESTION_COLUMNS)
    ps = ProductScore
    rows = read_frame(
        conn,
        select(
            ps.account_id,
            Account.code,
            Account.name,
            Account.tier,
            Account.industry,
            ps.product_id,
            ps.propensity,
            ps.expected_revenue,
            ps.rank,
        )
        .join(Account, Account.id == ps.account_id)
        .where(*where, ps.rank <= TOP)
        .order_by(ps.expected_revenue.desc(), ps.account_id, ps.rank)
        .limit(limit),
    )
    rows["product"] = rows.pop("product_id").map(_product_codes(conn))
    return rows[SUGGESTION_COLUMNS]


def fetch_holdings_in_view(
    conn: Connection, scope: Scope, filters: Filters, account_ids: list[int] | None = None
) -> pd.DataFrame:
    """Products each active account in view holds at the period end.

    ``account_ids`` narrows to those accounts (the rows a table shows); None: all.
    """
    end = month_end(filters.period_month)
    ids = None if account_ids is None else sorted({int(i) for i in account_ids})
    held = read_frame(
        conn,
        select(Holding.account_id, Holding.product_id)
        .join(Account, Account.id == Holding.account_id)
        .where(
            *_where(scope, filters),
            *listed(Holding.account_id, ids),
            Account.status == "active",
            Holding.opened_on <= end,
            or_(Holding.closed_on.is_(None), Holding.closed_on > end),
        )
        .distinct(),
    )
    held = keep_listed(held, "account_id", ids)
    held["product"] = held["product_id"].map(_product_codes(conn))
    return held[["account_id", "product"]]


def fetch_offers(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Cross-sell offers with an answer: product, tier, response."""
    return read_frame(
        conn,
        select(Product.code.label("product"), Account.tier, InterventionRecord.offer_response)
        .join(Account, Account.id == InterventionRecord.account_id)
        .join(Product, Product.id == InterventionRecord.offered_product_id)
        .where(*_where(scope, filters), InterventionRecord.offer_response.is_not(None)),
    )


def fetch_loyalty_comparison(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Accounts active at the period start: member?, churned and opened a product within
    the period, tier, products held and size at the start (for the adjusted comparison)."""
    start = add_months(filters.period_month, -11)
    end = month_end(filters.period_month)
    day = start - dt.timedelta(days=1)
    accounts = read_frame(
        conn,
        select(
            Account.id.label("account_id"),
            Account.tier,
            Account.annual_turnover,
            Account.churned_on,
        ).where(
            *_where(scope, filters),
            Account.onboarded_on <= day,
            or_(Account.churned_on.is_(None), Account.churned_on > day),
        ),
    )
    members = set(
        conn.execute(
            select(LoyaltyPoints.account_id).where(LoyaltyPoints.month < start).distinct()
        ).scalars()
    )
    held = read_frame(
        conn,
        select(Holding.account_id, func.count().label("products"))
        .where(Holding.opened_on <= day, or_(Holding.closed_on.is_(None), Holding.closed_on > day))
        .group_by(Holding.account_id),
    ).set_index("account_id")["products"]
    opened = set(
        conn.execute(
            select(Holding.account_id).where(Holding.opened_on.between(start, end)).distinct()
        ).scalars()
    )
    a = accounts
    a["member"] = a["account_id"].isin(members).astype(int)
    a["products"] = a["account_id"].map(held).fillna(0)
    churned = pd.to_datetime(a["churned_on"])
    a["churned"] = (churned.notna() & (churned <= pd.Timestamp(end))).astype(int)
    a["repurchased"] = a["account_id"].isin(opened).astype(int)
    return a


def fetch_account_points(conn: Connection, account_id: int, as_of: dt.date) -> dict | None:
    """An account's points: earned and redeemed over 12 months, balance, member since."""
    start = add_months(as_of.replace(day=1), -11)
    row = conn.execute(
        select(
            func.min(LoyaltyPoints.month),
            func.sum(LoyaltyPoints.earned).filter(LoyaltyPoints.month >= start),
            func.sum(LoyaltyPoints.redeemed).filter(LoyaltyPoints.month >= start),
        ).where(LoyaltyPoints.account_id == account_id, LoyaltyPoints.month <= as_of)
    ).one()
    if row[0] is None:
        return None
    balance = conn.execute(
        select(LoyaltyPoints.balance)
        .where(LoyaltyPoints.account_id == account_id, LoyaltyPoints.month <= as_of)
        .order_by(LoyaltyPoints.month.desc())
        .limit(1)
    ).scalar()
    return {
        "since": row[0],
        "earned_12m": float(row[1] or 0),
        "redeemed_12m": float(row[2] or 0),
        "balance": float(balance or 0),
    }


def fetch_products(conn: Connection) -> pd.DataFrame:
    """The product catalogue: id, code and names."""
    return read_frame(
        conn,
        select(Product.id, Product.code, Product.name_en, Product.name_zh).order_by(Product.id),
    )


@dataclass(frozen=True)
class GrowthData:
    """What every tab of the growth page needs: the suggestions counted, the catalogue,
    the latest run.

    Each tab reads the rest itself when it is opened: the whitespace matrix's accounts
    (:func:`fetch_whitespace`), the largest suggestions (:func:`fetch_suggestions`),
    holdings of the accounts it shows (:func:`fetch_holdings_in_view`), peer shares,
    offers and the loyalty comparison.
    """

    summary: dict
    products: pd.DataFrame
    run: dict | None


def load_growth_data(conn: Connection, scope: Scope, filters: Filters) -> GrowthData:
    """The suggestions counted, the product catalogue and the latest growth run."""
    return GrowthData(
        summary=fetch_opportunity_summary(conn, scope, filters),
        products=fetch_products(conn),
        run=fetch_latest_model(conn, "growth"),
    )
