"""Portfolio-wide peer benchmarks: computed by the refresh job, read by the pages.

An account manager's profile compares the account with its peers across the whole
portfolio (tier retention for CLV, the tier's contact norm, whitespace penetration,
industry medians, revenue rank in the tier). Those figures need every team's rows,
which the viewer must not read — on PostgreSQL row-level security hides them. So the
refresh job, which reads everything, stores them here as aggregates (shares and
medians only over at least ``MIN_PEERS`` accounts), and pages read only these rows.
Ranks are per account and go into the account's own snapshot row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Connection, and_, case, delete, func, or_, select

from analytics import profile as pa
from analytics.periods import add_months, month_end
from data_access.bulk import insert_frame
from data_access.frames import read_frame
from data_access.schema import (
    Account,
    AccountMonthly,
    AccountScore,
    Holding,
    Interaction,
    PeerFigure,
    Product,
)

MIN_PEERS = 10
MEDIAN_METRICS = ("revenue_12m", "products_held", "health_score")
COLUMNS = ["as_of", "kind", "tier", "industry", "given", "product", "n", "value"]


def _active(end: dt.date):
    return and_(
        Account.onboarded_on <= end,
        or_(Account.churned_on.is_(None), Account.churned_on > end),
    )


def _retention(conn: Connection, as_of: dt.date) -> pd.DataFrame:
    """Per tier: accounts active 12 months before ``as_of`` and how many churned since."""
    end = month_end(as_of)
    start = month_end(add_months(as_of.replace(day=1), -12))
    churned = and_(Account.churned_on.is_not(None), Account.churned_on <= end)
    df = read_frame(
        conn,
        select(
            Account.tier,
            func.count().label("n"),
            func.sum(case((churned, 1), else_=0)).label("value"),
        )
        .where(_active(start))
        .group_by(Account.tier),
    )
    return df.assign(kind="retention")


def _interaction_norm(conn: Connection, as_of: dt.date) -> pd.DataFrame:
    """Per tier: median interactions in 12 months among active accounts that had any."""
    end = month_end(as_of)
    start = add_months(as_of.replace(day=1), -11)
    counts = read_frame(
        conn,
        select(Account.tier, Interaction.account_id, func.count().label("n"))
        .join(Account, Account.id == Interaction.account_id)
        .where(
            or_(Account.churned_on.is_(None), Account.churned_on > end),
            Interaction.occurred_on.between(start, end),
        )
        .group_by(Account.tier, Interaction.account_id),
    )
    out = counts.groupby("tier")["n"].agg(["size", "median"]).reset_index()
    out = out[out["size"] >= MIN_PEERS]
    return pd.DataFrame(
        {"tier": out["tier"], "n": out["size"], "value": out["median"], "kind": "interaction_norm"}
    )


def _shares(conn: Connection, as_of: dt.date) -> pd.DataFrame:
    """Per tier × industry: number of peers and product penetration (see compute_peer_shares)."""
    end = month_end(as_of)
    holdings = read_frame(
        conn,
        select(Account.tier, Account.industry, Holding.account_id, Product.code.label("product"))
        .join(Account, Account.id == Holding.account_id)
        .join(Product, Product.id == Holding.product_id)
        .where(
            _active(end),
            Holding.opened_on <= end,
            or_(Holding.closed_on.is_(None), Holding.closed_on > end),
        )
        .distinct(),
    )
    by = ["tier", "industry"]
    counts = holdings.groupby(by)["account_id"].nunique().rename("n").reset_index()
    shares = pa.compute_peer_shares(holdings, min_peers=MIN_PEERS, by=tuple(by))
    return pd.concat(
        [
            counts.assign(kind="peers"),
            shares.rename(columns={"share": "value", "peers": "n"}).assign(kind="share"),
        ],
        ignore_index=True,
    )


def _industry_figures(conn: Connection, as_of: dt.date) -> pd.DataFrame:
    """Per active account with revenue in 12 months: industry and the compared figures."""
    end = month_end(as_of)
    month = as_of.replace(day=1)
    start = add_months(month, -11)
    rev = (
        select(AccountMonthly.account_id, func.sum(AccountMonthly.revenue).label("revenue_12m"))
        .where(AccountMonthly.month.between(start, month))
        .group_by(AccountMonthly.account_id)
        .subquery()
    )
    depth = (
        select(AccountMonthly.account_id, AccountMonthly.products_held)
        .where(AccountMonthly.month == month)
        .subquery()
    )
    return read_frame(
        conn,
        select(
            Account.industry,
            rev.c.revenue_12m,
            depth.c.products_held,
            AccountScore.health_score,
        )
        .join(rev, rev.c.account_id == Account.id)
        .outerjoin(depth, depth.c.account_id == Account.id)
        .outerjoin(
            AccountScore, and_(AccountScore.account_id == Account.id, AccountScore.as_of == end)
        )
        .where(_active(end)),
    )


def industry_medians(figures: pd.DataFrame) -> pd.DataFrame:
    """Per industry with at least ``MIN_PEERS`` accounts: the median of each metric."""
    rows = []
    for industry, group in figures.groupby("industry"):
        if len(group) < MIN_PEERS:
            continue
        for metric in MEDIAN_METRICS:
            median = pd.to_numeric(group[metric], errors="coerce").median()
            rows.append(
                {
                    "kind": "median",
                    "industry": industry,
                    "product": metric,
                    "n": len(group),
                    "value": None if pd.isna(median) else float(median),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def tier_ranks(conn: Connection, as_of: dt.date) -> pd.DataFrame:
    """Per account not churned by ``as_of``: its 12-month revenue rank within its tier."""
    end = month_end(as_of)
    month = as_of.replace(day=1)
    df = read_frame(
        conn,
        select(Account.tier, AccountMonthly.account_id, func.sum(AccountMonthly.revenue).label("r"))
        .join(Account, Account.id == AccountMonthly.account_id)
        .where(
            or_(Account.churned_on.is_(None), Account.churned_on > end),
            AccountMonthly.month.between(add_months(month, -11), month),
        )
        .group_by(Account.tier, AccountMonthly.account_id),
    )
    ranks = df.groupby("tier")["r"].rank(method="min", ascending=False)
    sizes = df.groupby("tier")["r"].transform("size")
    return pd.DataFrame(
        {"account_id": df["account_id"], "tier_rank": ranks.astype(int), "tier_size": sizes}
    )


def compute_peer_figures(conn: Connection, as_of: dt.date) -> pd.DataFrame:
    """All peer aggregates for one month-end, in the layout of ``peer_figures``."""
    parts = [
        _retention(conn, as_of),
        _interaction_norm(conn, as_of),
        _shares(conn, as_of),
        industry_medians(_industry_figures(conn, as_of)),
    ]
    filled = [p for p in parts if len(p)]
    if not filled:  # e.g. a month before the first account
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(filled, ignore_index=True).reindex(columns=COLUMNS)
    for key in ("tier", "industry", "given", "product"):
        out[key] = out[key].fillna("")
    out["as_of"] = month_end(as_of)
    out["n"] = out["n"].astype(int)
    return out


def write_peer_figures(conn: Connection, dates: Iterable[dt.date]) -> int:
    """Replace the peer aggregates of ``dates`` (month-ends); returns the rows written."""
    dates = sorted({month_end(d) for d in dates})
    if not dates:
        return 0
    conn.execute(delete(PeerFigure).where(PeerFigure.as_of.in_(dates)))
    frame = pd.concat([compute_peer_figures(conn, d) for d in dates], ignore_index=True)
    return insert_frame(conn, PeerFigure.__table__, frame)


# ------------------------------------------------------------------ readers
def _figures(conn: Connection, as_of: dt.date, kind: str, **keys: str) -> pd.DataFrame:
    where = [PeerFigure.as_of == month_end(as_of), PeerFigure.kind == kind]
    where += [getattr(PeerFigure, k) == v for k, v in keys.items()]
    return read_frame(
        conn,
        select(
            PeerFigure.tier,
            PeerFigure.industry,
            PeerFigure.given,
            PeerFigure.product,
            PeerFigure.n,
            PeerFigure.value,
        ).where(*where),
    )


def fetch_tier_retention(conn: Connection, tier: str, as_of: dt.date) -> tuple[int, int]:
    """Accounts of a tier active 12 months before ``as_of`` and how many churned since."""
    row = _figures(conn, as_of, "retention", tier=tier)
    if row.empty:
        return 0, 0
    return int(row["n"].iloc[0]), int(row["value"].iloc[0] or 0)


def fetch_tier_interaction_norm(conn: Connection, tier: str, as_of: dt.date) -> float | None:
    """Median interactions in 12 months among active accounts of a tier (None: too few)."""
    row = _figures(conn, as_of, "interaction_norm", tier=tier)
    return None if row.empty else float(row["value"].iloc[0])


def fetch_peer_shares(
    conn: Connection, as_of: dt.date, tier: str | None = None, industry: str | None = None
) -> pd.DataFrame:
    """Penetration by tier × industry × product, and given each held product.

    Returns tier, industry, given ("" = all peers), product, share, peers.
    """
    keys = {k: v for k, v in (("tier", tier), ("industry", industry)) if v is not None}
    df = _figures(conn, as_of, "share", **keys)
    return df.rename(columns={"value": "share", "n": "peers"})[
        ["tier", "industry", "given", "product", "share", "peers"]
    ]


def fetch_peer_count(conn: Connection, tier: str, industry: str, as_of: dt.date) -> int:
    """Active accounts of a tier and industry holding at least one product."""
    row = _figures(conn, as_of, "peers", tier=tier, industry=industry)
    return 0 if row.empty else int(row["n"].iloc[0])


def fetch_industry_medians(conn: Connection, industry: str, as_of: dt.date) -> dict:
    """``{"n": accounts, metric: median}`` for an industry; empty when too few accounts."""
    rows = _figures(conn, as_of, "median", industry=industry)
    if rows.empty:
        return {}
    out: dict = {"n": int(rows["n"].iloc[0])}
    out.update(dict(zip(rows["product"], rows["value"], strict=True)))
    return out


def fetch_tier_rank(conn: Connection, account_id: int, as_of: dt.date) -> tuple[int, int] | None:
    """The account's revenue rank in its tier and the tier's size, from its snapshot."""
    row = conn.execute(
        select(AccountScore.tier_rank, AccountScore.tier_size).where(
            AccountScore.account_id == account_id, AccountScore.as_of == month_end(as_of)
        )
    ).first()
    if row is None or row.tier_rank is None:
        return None
    return int(row.tier_rank), int(row.tier_size)
