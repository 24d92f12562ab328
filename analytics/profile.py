"""Per-account statistics for the profile (客户画像) and the meeting brief."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from analytics.periods import add_months


@dataclass(frozen=True)
class ValueSummary:
    """Revenue and margin of the last 12 months against the 12 before, and wallet share."""

    revenue_12m: float
    revenue_prev_12m: float
    revenue_change: float | None
    margin_12m: float
    margin_prev_12m: float
    potential: float | None
    share_of_wallet: float | None


def compute_value_summary(
    revenue: pd.DataFrame, potential: float | None, as_of: dt.date
) -> ValueSummary:
    """Summarise ``revenue`` (``month, revenue, margin`` rows) for the 12 months to ``as_of``.

    Notes
    -----
    Share of wallet is 12-month revenue over the account's estimated annual revenue
    potential with all banks; it is an estimate as good as the potential field.
    """
    start = pd.Timestamp(add_months(as_of.replace(day=1), -11))
    prev_start = pd.Timestamp(add_months(as_of.replace(day=1), -23))
    cur = revenue[revenue["month"] >= start]
    prev = revenue[(revenue["month"] >= prev_start) & (revenue["month"] < start)]
    r12, p12 = float(cur["revenue"].sum()), float(prev["revenue"].sum())
    return ValueSummary(
        revenue_12m=r12,
        revenue_prev_12m=p12,
        revenue_change=(r12 / p12 - 1) if p12 > 0 else None,
        margin_12m=float(cur["margin"].sum()),
        margin_prev_12m=float(prev["margin"].sum()),
        potential=potential,
        share_of_wallet=(r12 / potential) if potential else None,
    )


@dataclass(frozen=True)
class ClvEstimate:
    """Contractual customer lifetime value with an interval from the retention interval."""

    value: float | None
    low: float | None
    high: float | None
    retention: float | None
    retention_ci: tuple[float, float] | None
    horizon_years: int
    discount_rate: float
    sufficient: bool


def _clv(margin: float, retention: float, discount: float, years: int) -> float:
    t = np.arange(years)
    return float(margin * np.sum(retention**t / (1 + discount) ** t))


def compute_clv(
    annual_margin: float,
    cohort_size: int,
    cohort_churned: int,
    *,
    discount_rate: float = 0.08,
    horizon_years: int = 10,
    alpha: float = 0.05,
    min_cohort: int = 30,
) -> ClvEstimate:
    """Contractual CLV: annual margin × expected discounted years of relationship.

    Parameters
    ----------
    annual_margin : float
        The account's margin over the last 12 months (CNY).
    cohort_size, cohort_churned : int
        Accounts of the same tier active a year ago, and how many of them churned
        since: the annual retention rate is estimated from them.
    discount_rate : float, default 0.08
        Annual discount rate.
    horizon_years : int, default 10
        Years summed; later years are ignored.
    alpha : float, default 0.05
        One minus the confidence level of the retention (and so CLV) interval.
    min_cohort : int, default 30
        Fewer cohort accounts than this gives "insufficient data".

    Returns
    -------
    ClvEstimate

    Notes
    -----
    CLV = m · Σ_{t=0}^{H-1} r^t / (1 + d)^t, with m the current annual margin held
    flat, r the tier's annual retention and d the discount rate. CLV increases with
    r, so the Wilson interval of r maps to an interval of CLV. The interval covers
    retention uncertainty only, not future margin changes.
    """
    if cohort_size < min_cohort or annual_margin <= 0:
        return ClvEstimate(None, None, None, None, None, horizon_years, discount_rate, False)
    retention = 1 - cohort_churned / cohort_size
    lo_churn, hi_churn = proportion_confint(
        cohort_churned, cohort_size, alpha=alpha, method="wilson"
    )
    r_lo, r_hi = 1 - float(hi_churn), 1 - float(lo_churn)
    return ClvEstimate(
        value=_clv(annual_margin, retention, discount_rate, horizon_years),
        low=_clv(annual_margin, r_lo, discount_rate, horizon_years),
        high=_clv(annual_margin, r_hi, discount_rate, horizon_years),
        retention=retention,
        retention_ci=(r_lo, r_hi),
        horizon_years=horizon_years,
        discount_rate=discount_rate,
        sufficient=True,
    )


def classify_change(delta: float | None, noise: float | None) -> str | None:
    """``"up"`` or ``"down"`` when ``|delta|`` exceeds ``noise``, else None (within noise)."""
    if delta is None or noise is None or pd.isna(delta) or abs(delta) <= noise:
        return None
    return "up" if delta > 0 else "down"


def compute_clv_table(
    margins: pd.Series,
    tiers: pd.Series,
    cohorts: pd.DataFrame,
    *,
    discount_rate: float = 0.08,
    horizon_years: int = 10,
    alpha: float = 0.05,
    min_cohort: int = 30,
) -> pd.DataFrame:
    """:func:`compute_clv` for many accounts at once.

    ``margins`` and ``tiers`` are indexed by account; ``cohorts`` has per tier ``n``
    (active a year ago) and ``churned``. Returns ``clv, clv_low, clv_high`` (NaN where
    the tier's cohort is too small or the margin is not positive).
    """
    factors = {}
    for tier, row in cohorts.iterrows():
        est = compute_clv(
            1.0,
            int(row["n"]),
            int(row["churned"]),
            discount_rate=discount_rate,
            horizon_years=horizon_years,
            alpha=alpha,
            min_cohort=min_cohort,
        )
        factors[tier] = (est.value, est.low, est.high) if est.sufficient else (np.nan,) * 3
    f = pd.DataFrame(factors, index=["clv", "clv_low", "clv_high"]).T
    per = f.reindex(tiers.to_numpy()).set_axis(tiers.index)
    out = per.mul(margins.reindex(tiers.index), axis=0)
    return out.where(margins.reindex(tiers.index) > 0)


def compute_health_trend(
    history: pd.DataFrame, noise: float | None, months: int = 3
) -> tuple[float | None, str | None]:
    """Change of the health score over ``months`` and its direction if beyond ``noise``.

    Returns ``(delta, direction)`` with direction ``"up"``, ``"down"`` or None when the
    change is within noise (or noise is unknown).
    """
    h = history.dropna(subset=["health_score"])
    if len(h) <= months:
        return None, None
    delta = float(h["health_score"].iloc[-1] - h["health_score"].iloc[-1 - months])
    return delta, classify_change(delta, noise)


def compute_channel_mix(interactions: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Interactions per channel in the 12 months to ``as_of``, with shares."""
    start = pd.Timestamp(add_months(as_of.replace(day=1), -11))
    recent = interactions[interactions["occurred_on"] >= start]
    mix = recent.groupby("channel").size().rename("n").sort_values(ascending=False)
    out = mix.reset_index()
    out["share"] = out["n"] / max(int(out["n"].sum()), 1)
    return out


def compute_peer_shares(
    holdings: pd.DataFrame, min_peers: int = 10, by: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Product penetration among peers, overall and among the holders of each product.

    Parameters
    ----------
    holdings : DataFrame
        ``account_id, product`` of the active peers, plus the ``by`` columns.
    min_peers : int, default 10
        Shares over fewer accounts are left out, so no small group can be read back.
    by : tuple of str
        Columns that split the accounts into peer groups (e.g. tier and industry); an
        account belongs to one group.

    Returns
    -------
    DataFrame
        ``*by, given, product, share, peers``: with ``given == ""`` the share of all
        peers of the group holding ``product``; otherwise the share among the ``peers``
        accounts of the group holding ``given``.
    """
    cols = [*by, "given", "product", "share", "peers"]
    if holdings.empty:
        return pd.DataFrame(columns=cols)
    products, product_idx = np.unique(
        holdings["product"].astype(str).to_numpy(), return_inverse=True
    )
    accounts, account_idx = np.unique(holdings["account_id"].to_numpy(), return_inverse=True)
    matrix = np.zeros((len(accounts), len(products)), dtype=np.int64)
    matrix[account_idx, product_idx] = 1
    if by:
        group_idx, groups = pd.MultiIndex.from_frame(holdings[list(by)]).factorize()
    else:
        group_idx, groups = np.zeros(len(holdings), dtype=np.int64), [()]
    account_group = np.empty(len(accounts), dtype=np.int64)
    account_group[account_idx] = group_idx
    off_diagonal = ~np.eye(len(products), dtype=bool)
    out: dict[str, list[np.ndarray]] = {c: [] for c in cols}
    for g, key in enumerate(groups):
        group = matrix[account_group == g]
        n = len(group)
        if n < min_peers:
            continue
        together = group.T @ group  # accounts holding both products
        holders = np.diag(together)
        given, product = np.nonzero((holders[:, None] >= min_peers) & off_diagonal)
        rows = len(products) + len(given)
        for column, value in zip(by, key if isinstance(key, tuple) else (key,), strict=True):
            out[column].append(np.full(rows, value, dtype=object))
        out["given"] += [np.full(len(products), "", dtype=object), products[given]]
        out["product"] += [products, products[product]]
        out["share"] += [holders / n, together[given, product] / holders[given]]
        out["peers"] += [np.full(len(products), n), holders[given]]
    if not out["product"]:
        return pd.DataFrame(columns=cols)
    return pd.DataFrame({c: np.concatenate(v) for c, v in out.items()})


def compute_whitespace(shares: pd.DataFrame, held: set[str], top: int = 5) -> pd.DataFrame:
    """Products that peers hold and the account lacks, ranked by peer penetration.

    Parameters
    ----------
    shares : DataFrame
        ``given, product, share`` of the account's peers, as from
        :func:`compute_peer_shares` (empty when there are too few peers).
    held : set of str
        Products the account holds.
    top : int, default 5
        At most this many suggestions.

    Returns
    -------
    DataFrame
        ``product, peer_share, because, because_share`` — the share of peers
        holding the product, and the product the account holds whose holders most
        often also hold the suggestion (with that conditional share).
    """
    cols = ["product", "peer_share", "because", "because_share"]
    overall = shares[shares["given"] == ""]
    rows = []
    for product, share in zip(overall["product"], overall["share"], strict=True):
        if product in held or share <= 0:
            continue
        cond = shares[(shares["product"] == product) & shares["given"].isin(held)]
        because, because_share = None, None
        if len(cond):  # ties go to the alphabetically first product
            best = cond.sort_values(["share", "given"], ascending=[False, True]).iloc[0]
            because, because_share = best["given"], float(best["share"])
        rows.append((product, float(share), because, because_share))
    out = pd.DataFrame(rows, columns=cols)
    out = out.sort_values(["peer_share", "product"], ascending=[False, True]).head(top)
    return out.reset_index(drop=True)


def compute_coverage_gaps(
    contacts: pd.DataFrame, as_of: dt.date, sponsor_days: int = 90
) -> list[tuple[str, dict]]:
    """Relationship coverage gaps as ``(code, values)``.

    Codes: ``no_contacts``, ``no_decision_maker``, ``single_contact`` and
    ``sponsor_not_contacted`` (a decision maker not contacted for ``sponsor_days``).
    """
    if contacts.empty:
        return [("no_contacts", {})]
    gaps: list[tuple[str, dict]] = []
    dms = contacts[contacts["buying_role"] == "decision_maker"]
    if dms.empty:
        gaps.append(("no_decision_maker", {}))
    if len(contacts) == 1:
        gaps.append(("single_contact", {}))
    if not dms.empty:
        last = dms["last_contacted_on"].max()
        days = None if pd.isna(last) else (pd.Timestamp(as_of) - last).days
        if days is None or days > sponsor_days:
            gaps.append(("sponsor_not_contacted", {"days": days, "limit": sponsor_days}))
    return gaps


def compute_contact_frequency(
    interactions: pd.DataFrame, as_of: dt.date, tier_norm: float | None
) -> tuple[int, float | None]:
    """Interactions in the 12 months to ``as_of`` and their ratio to the tier's median."""
    start = pd.Timestamp(add_months(as_of.replace(day=1), -11))
    n = int((interactions["occurred_on"] >= start).sum())
    return n, (n / tier_norm) if tier_norm else None


@dataclass(frozen=True)
class Change:
    """One statement of what changed since the last meeting: a code and its values."""

    code: str
    values: dict


def compute_changes_since(
    meeting: dt.date | None,
    as_of: dt.date,
    monthly_revenue: pd.Series,
    health: pd.DataFrame,
    surveys: pd.DataFrame,
    holdings: pd.DataFrame,
    contacts: pd.DataFrame,
    interventions: pd.DataFrame,
) -> list[Change]:
    """What changed between the last visit or business review and ``as_of``.

    ``monthly_revenue`` is total revenue indexed by month start. Revenue compares the
    average month after the meeting with the three months before it; health compares
    the last snapshot before the meeting with the latest; NPS counts responses since.
    """
    if meeting is None:
        return [Change("no_meeting", {})]
    m = pd.Timestamp(meeting)
    out = [Change("since", {"date": meeting, "days": (pd.Timestamp(as_of) - m).days})]
    month = pd.Timestamp(meeting.replace(day=1))
    before = monthly_revenue[
        (monthly_revenue.index < month) & (monthly_revenue.index >= month - pd.DateOffset(months=3))
    ]
    after = monthly_revenue[monthly_revenue.index > month]
    if len(before) and len(after) and before.mean() > 0:
        out.append(
            Change(
                "revenue",
                {
                    "before": float(before.mean()),
                    "after": float(after.mean()),
                    "change": float(after.mean() / before.mean() - 1),
                },
            )
        )
    h = health.dropna(subset=["health_score"])
    prior = h[h["as_of"] <= m]
    if len(prior) and len(h):
        out.append(
            Change(
                "health",
                {
                    "before": float(prior["health_score"].iloc[-1]),
                    "after": float(h["health_score"].iloc[-1]),
                },
            )
        )
    nps = surveys[(surveys["survey"] == "nps") & (surveys["responded_on"] > m)]
    if len(nps):
        out.append(
            Change(
                "nps",
                {
                    "n": len(nps),
                    "promoters": int((nps["score"] >= 9).sum()),
                    "detractors": int((nps["score"] <= 6).sum()),
                },
            )
        )
    opened = holdings[pd.to_datetime(holdings["opened_on"]) > m]
    closed = holdings[pd.to_datetime(holdings["closed_on"]) > m]
    if len(opened) or len(closed):
        out.append(
            Change(
                "products",
                {"opened": sorted(opened["product"]), "closed": sorted(closed["product"])},
            )
        )
    if len(contacts):
        stale = contacts[
            contacts["last_contacted_on"].isna() | (contacts["last_contacted_on"] <= m)
        ]
        out.append(Change("stakeholders", {"stale": len(stale), "total": len(contacts)}))
    open_now = interventions[interventions["status"].isin(["planned", "in_progress"])]
    done = interventions[interventions["completed_on"] > m]
    out.append(Change("open_items", {"open": len(open_now), "completed": len(done)}))
    return out


def last_meeting(interactions: pd.DataFrame, interventions: pd.DataFrame) -> dt.date | None:
    """Date of the last visit or completed business review / sponsor visit."""
    dates = list(interactions.loc[interactions["channel"] == "visit", "occurred_on"])
    reviews = interventions[
        interventions["kind"].isin(["business_review", "executive_sponsor_visit"])
        & (interventions["status"] == "done")
    ]
    dates += list(reviews["completed_on"].dropna())
    return max(dates).date() if dates else None


def build_timeline(
    interactions: pd.DataFrame,
    surveys: pd.DataFrame,
    interventions: pd.DataFrame,
    stages: pd.DataFrame,
    tiers: pd.DataFrame,
) -> pd.DataFrame:
    """All events of an account on one axis: ``when, kind, code, text, detail``."""
    parts = [
        pd.DataFrame(
            {
                "when": interactions["occurred_on"],
                "kind": "interaction",
                "code": interactions["channel"],
                "text": interactions["subject"],
                "detail": interactions["notes"],
            }
        ),
        pd.DataFrame(
            {
                "when": surveys["responded_on"],
                "kind": "survey",
                "code": surveys["survey"],
                "text": surveys["score"].astype(str),
                "detail": surveys["comment"],
            }
        ),
        pd.DataFrame(
            {
                "when": interventions["completed_on"]
                .astype("datetime64[us]")
                .fillna(interventions["created_at"].astype("datetime64[us]")),
                "kind": "intervention",
                "code": interventions["kind"],
                "text": interventions["title"],
                "detail": interventions["status"],
            }
        ),
        pd.DataFrame(
            {
                "when": pd.to_datetime(stages["entered_on"]),
                "kind": "stage",
                "code": stages["stage"],
                "text": stages["stage"],
                "detail": stages["reason"],
            }
        ),
        pd.DataFrame(
            {
                "when": pd.to_datetime(tiers["changed_on"]),
                "kind": "tier",
                "code": tiers["tier"],
                "text": tiers["tier"],
                "detail": tiers["reason"],
            }
        ),
    ]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=["when", "kind", "code", "text", "detail"])
    tl = pd.concat(parts, ignore_index=True)
    return tl.sort_values("when", ascending=False, kind="stable").reset_index(drop=True)
