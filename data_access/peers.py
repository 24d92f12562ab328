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
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, func, select

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
from data_access.sqlfuncs import month_of

MIN_PEERS = 10
MEDIAN_METRICS = ("revenue_12m", "products_held", "health_score")
COLUMNS = ["as_of", "kind", "tier", "industry", "given", "product", "n", "value"]


@dataclass(frozen=True)
class PeerInputs:
    """Everything the peer figures need, read once for all month-ends.

    Monthly figures are account × month matrices over ``months`` (NaN or 0 where an
    account has no row), so each month-end is a few vector operations instead of
    queries over the fact rollups.
    """

    accounts: pd.DataFrame  # id, tier, industry, onboarded_on, churned_on (datetime64)
    months: pd.DatetimeIndex
    revenue: np.ndarray  # NaN: no rollup row
    depth: np.ndarray  # products held; NaN: no rollup row
    touches: np.ndarray  # interactions per month
    holdings: pd.DataFrame  # row (account position), product, opened_on, closed_on

    def window(self, as_of: dt.date) -> np.ndarray:
        """Positions of the 12 months ending with ``as_of``'s month that have columns."""
        month = pd.Timestamp(as_of.replace(day=1))
        first = pd.Timestamp(add_months(month.date(), -11))
        return np.flatnonzero((self.months >= first) & (self.months <= month))

    def month(self, as_of: dt.date) -> int | None:
        pos = self.months.get_indexer([pd.Timestamp(as_of.replace(day=1))])[0]
        return None if pos < 0 else int(pos)

    def active(self, day: dt.date) -> np.ndarray:
        ts = pd.Timestamp(day)
        return ((self.accounts["onboarded_on"] <= ts) & self.not_churned(day)).to_numpy()

    def not_churned(self, day: dt.date) -> pd.Series:
        churned = self.accounts["churned_on"]
        return churned.isna() | (churned > pd.Timestamp(day))


def fetch_rollup(conn: Connection) -> pd.DataFrame:
    """The whole monthly rollup: account_id, month, revenue, products_held."""
    return read_frame(
        conn,
        select(
            AccountMonthly.account_id,
            AccountMonthly.month,
            AccountMonthly.revenue,
            AccountMonthly.products_held,
        ),
    )


def fetch_touches(conn: Connection) -> pd.DataFrame:
    """Interactions per account and month: account_id, month, n."""
    month = month_of(Interaction.occurred_on)
    return read_frame(
        conn,
        select(Interaction.account_id, month.label("month"), func.count().label("n")).group_by(
            Interaction.account_id, month
        ),
    )


def load_portfolio(
    conn: Connection, monthly: pd.DataFrame | None = None, touches: pd.DataFrame | None = None
) -> PeerInputs:
    """Read what the peer figures and ranks need, once for any number of month-ends.

    ``monthly`` (as from :func:`fetch_rollup`) and ``touches`` (:func:`fetch_touches`)
    are used instead of reading them again when the caller holds them.
    """
    accounts = read_frame(
        conn,
        select(
            Account.id, Account.tier, Account.industry, Account.onboarded_on, Account.churned_on
        ).order_by(Account.id),
    )
    for col in ("onboarded_on", "churned_on"):
        accounts[col] = pd.to_datetime(accounts[col])
    monthly = fetch_rollup(conn) if monthly is None else monthly.copy()
    touches = fetch_touches(conn) if touches is None else touches.copy()
    holdings = read_frame(
        conn,
        select(
            Holding.account_id,
            Product.code.label("product"),
            Holding.opened_on,
            Holding.closed_on,
        ).join(Product, Product.id == Holding.product_id),
    )
    for frame in (monthly, touches):
        frame["month"] = pd.to_datetime(frame["month"])
    seen = pd.concat([monthly["month"], touches["month"]])
    months = pd.date_range(seen.min(), seen.max(), freq="MS") if len(seen) else pd.DatetimeIndex([])
    ids = pd.Index(accounts["id"])
    shape = (len(ids), len(months))

    def matrix(frame: pd.DataFrame, column: str, fill: float) -> np.ndarray:
        out = np.full(shape, fill)
        rows = ids.get_indexer(frame["account_id"])
        cols = months.get_indexer(frame["month"])
        out[rows, cols] = frame[column].to_numpy(dtype=float)
        return out

    holdings["row"] = ids.get_indexer(holdings["account_id"])
    for col in ("opened_on", "closed_on"):
        holdings[col] = pd.to_datetime(holdings[col])
    return PeerInputs(
        accounts=accounts,
        months=months,
        revenue=matrix(monthly, "revenue", np.nan),
        depth=matrix(monthly, "products_held", np.nan),
        touches=matrix(touches, "n", 0.0),
        holdings=holdings[["row", "product", "opened_on", "closed_on"]],
    )


def _window_revenue(data: PeerInputs, as_of: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """12-month revenue per account (summed month by month, as SQL does) and whether
    the account has any rollup row in the window."""
    total = np.zeros(len(data.accounts))
    has = np.zeros(len(data.accounts), dtype=bool)
    for col in data.window(as_of):
        values = data.revenue[:, col]
        present = ~np.isnan(values)
        total += np.where(present, values, 0.0)
        has |= present
    return total, has


def _retention(data: PeerInputs, as_of: dt.date) -> pd.DataFrame:
    """Per tier: accounts active 12 months before ``as_of`` and how many churned since."""
    end = month_end(as_of)
    start = month_end(add_months(as_of.replace(day=1), -12))
    base = data.accounts[data.active(start)]
    churned = base["churned_on"].notna() & (base["churned_on"] <= pd.Timestamp(end))
    out = churned.groupby(base["tier"]).agg(["size", "sum"]).reset_index()
    return pd.DataFrame(
        {"tier": out["tier"], "n": out["size"], "value": out["sum"], "kind": "retention"}
    )


def _interaction_norm(data: PeerInputs, as_of: dt.date) -> pd.DataFrame:
    """Per tier: median interactions in 12 months among active accounts that had any."""
    counts = data.touches[:, data.window(as_of)].sum(axis=1)
    keep = data.not_churned(month_end(as_of)).to_numpy() & (counts > 0)
    frame = pd.DataFrame({"tier": data.accounts["tier"][keep], "n": counts[keep]})
    out = frame.groupby("tier")["n"].agg(["size", "median"]).reset_index()
    out = out[out["size"] >= MIN_PEERS]
    return pd.DataFrame(
        {"tier": out["tier"], "n": out["size"], "value": out["median"], "kind": "interaction_norm"}
    )


def _shares(data: PeerInputs, as_of: dt.date) -> pd.DataFrame:
    """Per tier × industry: number of peers and product penetration (see compute_peer_shares)."""
    end = pd.Timestamp(month_end(as_of))
    h = data.holdings
    live = (
        (h["opened_on"] <= end)
        & (h["closed_on"].isna() | (h["closed_on"] > end))
        & data.active(end.date())[h["row"].to_numpy()]
    )
    h = h[live].drop_duplicates(["row", "product"])
    accounts = data.accounts.iloc[h["row"].to_numpy()]
    holdings = pd.DataFrame(
        {
            "tier": accounts["tier"].to_numpy(),
            "industry": accounts["industry"].to_numpy(),
            "account_id": accounts["id"].to_numpy(),
            "product": h["product"].to_numpy(),
        }
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


def _industry_figures(data: PeerInputs, as_of: dt.date, health: pd.Series) -> pd.DataFrame:
    """Per active account with revenue in 12 months: industry and the compared figures."""
    revenue, has = _window_revenue(data, as_of)
    keep = data.active(month_end(as_of)) & has
    col = data.month(as_of)
    depth = data.depth[:, col] if col is not None else np.full(len(data.accounts), np.nan)
    return pd.DataFrame(
        {
            "industry": data.accounts["industry"].to_numpy()[keep],
            "revenue_12m": revenue[keep],
            "products_held": depth[keep],
            "health_score": health.reindex(data.accounts["id"]).to_numpy()[keep],
        }
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


def _tier_ranks(data: PeerInputs, as_of: dt.date) -> pd.DataFrame:
    revenue, has = _window_revenue(data, as_of)
    keep = data.not_churned(month_end(as_of)).to_numpy() & has
    df = pd.DataFrame(
        {
            "account_id": data.accounts["id"].to_numpy()[keep],
            "tier": data.accounts["tier"].to_numpy()[keep],
            "r": revenue[keep],
        }
    )
    ranks = df.groupby("tier")["r"].rank(method="min", ascending=False)
    sizes = df.groupby("tier")["r"].transform("size")
    return pd.DataFrame(
        {"account_id": df["account_id"], "tier_rank": ranks.astype(int), "tier_size": sizes}
    )


def tier_ranks(data: PeerInputs, dates: Iterable[dt.date]) -> pd.DataFrame:
    """Per account not churned by each date: its 12-month revenue rank within its tier.

    ``data`` from :func:`load_portfolio`. Returns ``account_id, as_of, tier_rank,
    tier_size`` (``as_of`` as given).
    """
    parts = [_tier_ranks(data, d).assign(as_of=d) for d in dates]
    if not parts:
        return pd.DataFrame(columns=["account_id", "as_of", "tier_rank", "tier_size"])
    return pd.concat(parts, ignore_index=True)


def _health(conn: Connection, dates: list[dt.date]) -> pd.DataFrame:
    return read_frame(
        conn,
        select(AccountScore.account_id, AccountScore.as_of, AccountScore.health_score).where(
            AccountScore.as_of.in_(dates)
        ),
    )


def _figures_for(data: PeerInputs, as_of: dt.date, health: pd.Series) -> pd.DataFrame:
    parts = [
        _retention(data, as_of),
        _interaction_norm(data, as_of),
        _shares(data, as_of),
        industry_medians(_industry_figures(data, as_of, health)),
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


def compute_peer_figures(
    conn: Connection,
    dates: dt.date | Iterable[dt.date],
    health: pd.DataFrame | None = None,
    data: PeerInputs | None = None,
) -> pd.DataFrame:
    """All peer aggregates for one or more month-ends, in the layout of ``peer_figures``.

    ``health`` (``account_id, as_of, health_score``) and ``data`` (from
    :func:`load_portfolio`) save reading them again when the caller holds them; by
    default they are read from the database.
    """
    dates = sorted({month_end(d) for d in ([dates] if isinstance(dates, dt.date) else dates)})
    data = data or load_portfolio(conn)
    if health is None:
        health = _health(conn, dates)
    by_date = {
        pd.Timestamp(k).date(): g.set_index("account_id")["health_score"]
        for k, g in health.groupby("as_of")
    }
    empty = pd.Series(dtype=float)
    parts = [_figures_for(data, d, by_date.get(d, empty)) for d in dates]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def write_peer_figures(
    conn: Connection,
    dates: Iterable[dt.date],
    health: pd.DataFrame | None = None,
    data: PeerInputs | None = None,
) -> int:
    """Replace the peer aggregates of ``dates`` (month-ends); returns the rows written."""
    dates = sorted({month_end(d) for d in dates})
    if not dates:
        return 0
    conn.execute(delete(PeerFigure).where(PeerFigure.as_of.in_(dates)))
    frame = compute_peer_figures(conn, dates, health, data)
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
