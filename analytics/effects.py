"""Did an intervention work? Matched difference-in-differences, naive contrast, event study.

Interventions are given to accounts at their worst, so comparing an account after an
intervention with the months just before it mistakes the natural recovery (regression
to the mean) for an effect. The estimator here compares treated accounts with matched
comparison accounts that had no intervention around the same month:

* **Events**: completed interventions of one kind, dated by the month of completion
  ``m0``. The pre-period is ``m0-6 … m0-1``, the post-period ``m0+1 … m0+h``; the month
  of the intervention itself is left out (it is when the account was picked).
* **Clean events**: the account had no other intervention from 12 months before to the
  end of the horizon, so no other effect leaks into either period.
* **Comparison accounts** per event: same tier at ``m0`` and same industry, active
  since the pre-period began, with no intervention of any kind from 12 months before to
  ``h`` months after ``m0``; the ``k`` nearest on the pre-period revenue trend.
* **Model** (stacked DiD): ``y ~ treated + treated×post`` with fixed effects for every
  event × period cell (absorbing calendar months, seasonality and the comparison
  cell), OLS with standard errors clustered by account (statsmodels).

Outcomes: NPS (each survey answer scored +100 / 0 / −100, so a mean is an NPS), log
monthly revenue (reported as a percentage) and churn within the horizon (a matched
difference in percentage points; churn has no pre-period, so that one is not a DiD).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm

PRE = 6
EXCLUSION_BEFORE = 12
CONTROLS_PER_EVENT = 5
RETAINED_AFTER = 3
MIN_EVENTS = 10
OUTCOMES = ("nps", "revenue", "churn")
HORIZONS = (3, 6, 12)


@dataclass(frozen=True)
class Panel:
    """Monthly matrices (accounts × months) the estimator reads.

    ``months`` are month starts; ``account_ids`` index the rows. ``tier`` holds the tier
    code in force each month (empty string when not a client), ``active`` whether the
    account was a client that month, ``revenue`` the monthly revenue (NaN when none),
    ``churn_month`` the index of the churn month (−1 if never), ``busy`` the number of
    interventions of any kind created that month.
    """

    account_ids: np.ndarray
    months: pd.DatetimeIndex
    industry: np.ndarray
    tier: np.ndarray
    active: np.ndarray
    revenue: np.ndarray
    churn_month: np.ndarray
    busy: np.ndarray

    def month_index(self, months: pd.Series) -> np.ndarray:
        """Index of each month in ``months`` (−1 when outside the panel)."""
        idx = self.months.get_indexer(pd.DatetimeIndex(months).to_period("M").to_timestamp())
        return np.asarray(idx)

    def row_index(self, account_ids: pd.Series) -> np.ndarray:
        pos = pd.Index(self.account_ids).get_indexer(account_ids)
        return np.asarray(pos)


def build_panel(
    accounts: pd.DataFrame,
    monthly: pd.DataFrame,
    tier_history: pd.DataFrame,
    interventions: pd.DataFrame,
) -> Panel:
    """Assemble the matrices from tidy frames.

    ``accounts``: account_id, industry, onboarded_on, churned_on, tier (current).
    ``monthly``: account_id, month, revenue. ``tier_history``: account_id, tier,
    changed_on. ``interventions``: account_id, created_at (every intervention that was
    not cancelled before it started counts as "busy").
    """
    ids = np.sort(accounts["account_id"].to_numpy())
    acc = accounts.set_index("account_id").loc[ids]
    months = pd.DatetimeIndex(sorted(pd.to_datetime(monthly["month"]).unique()))
    n, t = len(ids), len(months)
    rows = pd.Index(ids)
    rev = np.full((n, t), np.nan)
    m = pd.to_datetime(monthly["month"])
    r_idx, c_idx = rows.get_indexer(monthly["account_id"]), months.get_indexer(m)
    ok = (r_idx >= 0) & (c_idx >= 0)
    rev[r_idx[ok], c_idx[ok]] = monthly["revenue"].to_numpy(dtype=float)[ok]
    starts = months.to_numpy()
    onboarded = pd.to_datetime(acc["onboarded_on"]).to_numpy()
    churned = pd.to_datetime(acc["churned_on"]).to_numpy()
    month_end = (months + pd.offsets.MonthEnd(0)).to_numpy()
    active = (onboarded[:, None] <= month_end[None, :]) & (
        pd.isna(churned)[:, None] | (churned[:, None] >= starts[None, :])
    )
    churn_month = np.where(
        pd.isna(churned),
        -1,
        months.get_indexer(pd.DatetimeIndex(churned).to_period("M").to_timestamp()),
    )
    # Tier in force each month: the latest change on or before the month's end.
    tier = np.full((n, t), "", dtype=object)
    hist = tier_history.assign(changed_on=pd.to_datetime(tier_history["changed_on"]))
    hist = hist.sort_values(["account_id", "changed_on"])
    current = acc["tier"].to_numpy(dtype=object)
    tier[:] = current[:, None]
    for col, end in enumerate(month_end):
        known = hist[hist["changed_on"] <= end].groupby("account_id")["tier"].last()
        pos = rows.get_indexer(known.index)
        keep = pos >= 0
        tier[pos[keep], col] = known.to_numpy()[keep]
    tier = np.where(active, tier, "")
    busy = np.zeros((n, t), dtype=np.int32)
    if len(interventions):
        created = pd.to_datetime(interventions["created_at"]).dt.to_period("M").dt.to_timestamp()
        b_r, b_c = rows.get_indexer(interventions["account_id"]), months.get_indexer(created)
        keep = (b_r >= 0) & (b_c >= 0)
        np.add.at(busy, (b_r[keep], b_c[keep]), 1)
    return Panel(
        account_ids=ids,
        months=months,
        industry=acc["industry"].to_numpy(dtype=object),
        tier=tier,
        active=active,
        revenue=rev,
        churn_month=churn_month,
        busy=busy,
    )


def prepare_inputs(
    accounts: pd.DataFrame,
    monthly: pd.DataFrame,
    tier_history: pd.DataFrame,
    interventions: pd.DataFrame,
    responses: pd.DataFrame,
) -> tuple[Panel, pd.DataFrame, pd.DataFrame]:
    """Panel, events and scored NPS answers from tidy frames.

    ``interventions``: event_id, account_id, kind, status, created_at, completed_on.
    ``responses``: account_id, month, score (0–10). Events are the completed
    interventions, dated by their completion month, with the tier in force then.
    """
    panel = build_panel(
        accounts, monthly, tier_history, interventions[interventions["status"] != "cancelled"]
    )
    events = interventions[
        (interventions["status"] == "done") & interventions["completed_on"].notna()
    ].copy()
    events["month"] = pd.to_datetime(events["completed_on"]).dt.to_period("M").dt.to_timestamp()
    col, row = panel.month_index(events["month"]), panel.row_index(events["account_id"])
    ok = (col >= 0) & (row >= 0)
    events = events[ok].assign(tier=panel.tier[row[ok], col[ok]])
    scored = responses.assign(
        month=pd.to_datetime(responses["month"]).dt.to_period("M").dt.to_timestamp(),
        value=np.where(
            responses["score"] >= 9, 100.0, np.where(responses["score"] <= 6, -100.0, 0.0)
        ),
    )
    return panel, events[["event_id", "account_id", "kind", "month", "tier"]], scored


def _window_sum(matrix: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Row sums over columns ``start … stop`` (clipped to the matrix)."""
    lo, hi = max(start, 0), min(stop, matrix.shape[1] - 1)
    if hi < lo:
        return np.zeros(matrix.shape[0], dtype=matrix.dtype)
    return matrix[:, lo : hi + 1].sum(axis=1)


def pre_trend(panel: Panel, m0: int) -> np.ndarray:
    """Log change of mean revenue from months m0-6…m0-4 to m0-3…m0-1 (NaN if unknown)."""
    early = panel.revenue[:, max(m0 - 6, 0) : max(m0 - 3, 0)]
    late = panel.revenue[:, max(m0 - 3, 0) : m0]
    with np.errstate(invalid="ignore", divide="ignore"):
        e = np.nansum(early, axis=1) / np.isfinite(early).sum(axis=1)
        lt = np.nansum(late, axis=1) / np.isfinite(late).sum(axis=1)
        return np.log(lt) - np.log(e)


def _nearest(values: np.ndarray, target: float, ids: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` ids whose values are closest to ``target``, ties in id order.

    The same as a stable sort of all distances, but only the few candidates at or
    below the k-th distance are sorted.
    """
    dist = np.abs(values - target)
    if len(dist) > k:
        near = np.flatnonzero(dist <= np.partition(dist, k - 1)[k - 1])
        return ids[near[np.argsort(dist[near], kind="stable")[:k]]]
    return ids[np.argsort(dist, kind="stable")]


def match_events(
    panel: Panel,
    events: pd.DataFrame,
    horizon: int,
    k: int = CONTROLS_PER_EVENT,
) -> pd.DataFrame:
    """Pair each event with up to ``k`` comparison accounts.

    ``events``: event_id, account_id, month (completion month). Returns rows
    event_id, account_id, row (panel row), m0 (month index), treated (0/1); events whose
    window does not fit in the data or that found no comparison are dropped.
    """
    if events.empty:
        return pd.DataFrame(columns=["event_id", "account_id", "row", "m0", "treated"])
    t_count = len(panel.months)
    ev = events.assign(
        m0=panel.month_index(events["month"]), row=panel.row_index(events["account_id"])
    )
    ev = ev[(ev["m0"] >= PRE) & (ev["m0"] + horizon <= t_count - 1) & (ev["row"] >= 0)]
    out = []
    trends: dict[int, np.ndarray] = {}
    for m0, group in ev.groupby("m0"):
        m0 = int(m0)
        if m0 not in trends:
            trends[m0] = pre_trend(panel, m0)
        trend = trends[m0]
        busy = _window_sum(panel.busy, m0 - EXCLUSION_BEFORE, m0 + horizon)
        quiet = busy == 0
        settled = panel.active[:, m0 - PRE] & panel.active[:, m0] & np.isfinite(trend)
        pool = quiet & settled
        tiers = panel.tier[:, m0]
        cells: dict[tuple, np.ndarray] = {}  # comparison pool per tier and industry
        for e in group.itertuples(index=False):
            # Clean events only: another intervention on the same account in the window
            # would lend its own effect to the before or the after period.
            if busy[e.row] > 1 or not np.isfinite(trend[e.row]):
                continue
            key = (tiers[e.row], panel.industry[e.row])
            if key not in cells:
                cells[key] = np.flatnonzero(pool & (tiers == key[0]) & (panel.industry == key[1]))
            cand = cells[key]
            cand = cand[cand != e.row]
            if len(cand) == 0:
                continue
            out.append((e.event_id, e.row, m0, 1))
            out.extend(
                (e.event_id, int(c), m0, 0) for c in _nearest(trend[cand], trend[e.row], cand, k)
            )
    frame = pd.DataFrame(out, columns=["event_id", "row", "m0", "treated"])
    frame["account_id"] = panel.account_ids[frame["row"].to_numpy(dtype=int)] if len(frame) else []
    return frame


@dataclass(frozen=True)
class Estimate:
    """An effect with its 95% interval and what it rests on."""

    effect: float
    low: float
    high: float
    n_treated: int
    n_controls: int
    n_obs: int

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0

    def as_dict(self) -> dict:
        return {
            "effect": round(self.effect, 5),
            "low": round(self.low, 5),
            "high": round(self.high, 5),
            "n_treated": self.n_treated,
            "n_controls": self.n_controls,
            "n_obs": self.n_obs,
        }


def _within(
    frame: pd.DataFrame, cols: list[str], cell: pd.Series, unit: pd.Series | None = None
) -> pd.DataFrame:
    """Remove cell means (and, with ``unit``, unit means too, by alternating projections).

    ``cell`` and ``unit`` are group numbers 0…n-1 (see :func:`_codes`); group means are
    sums by ``np.bincount``, far cheaper than pandas' grouped transforms here.
    """
    out = frame[cols].to_numpy(dtype=float).copy()

    def demean(codes: np.ndarray) -> float:
        counts = np.bincount(codes)
        largest = 0.0
        for j in range(out.shape[1]):
            means = np.bincount(codes, weights=out[:, j], minlength=len(counts)) / counts
            out[:, j] -= means[codes]
            largest = max(largest, float(np.abs(means).max(initial=0.0)))
        return largest

    cells = cell.to_numpy()
    if unit is None:
        demean(cells)
    else:
        units = unit.to_numpy()
        for _ in range(50):
            demean(cells)
            if demean(units) < 1e-10:
                break
    return pd.DataFrame(out, index=frame.index, columns=cols)


def _cluster_ols(
    y: pd.Series, x: pd.DataFrame, groups: pd.Series, absorbed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """OLS on demeaned data, errors clustered by ``groups``.

    ``absorbed`` fixed effects were removed by demeaning; the standard errors are
    scaled up for the degrees of freedom they used (statsmodels does not see them).
    """
    design = x.to_numpy(float)
    # In a small portfolio a column can vanish after demeaning (no treated account in a
    # bin) or repeat another; it is left out and its estimate reported as missing.
    keep: list[int] = []
    for j in range(design.shape[1]):
        if np.linalg.matrix_rank(design[:, [*keep, j]]) == len(keep) + 1:
            keep.append(j)
    params = np.full(design.shape[1], np.nan)
    bse = np.full(design.shape[1], np.nan)
    if not keep:
        return params, bse
    n, k = len(y), len(keep)
    scale = np.sqrt((n - 1) / (n - k - absorbed)) if n - k - absorbed > 0 else np.nan
    with warnings.catch_warnings():
        # A degenerate subgroup yields a non-finite standard error (statsmodels computes
        # it lazily, so it is read inside this block); callers drop it.
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = sm.OLS(y.to_numpy(float), design[:, keep]).fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(groups)[0]}
        )
        params[keep] = np.asarray(fit.params)
        bse[keep] = np.asarray(fit.bse) * scale
    return params, bse


def _finish(b: float, se: float, rows: pd.DataFrame, scale: str) -> Estimate | None:
    if not (np.isfinite(b) and np.isfinite(se) and se > 0):
        return None
    lo, hi = b - 1.96 * se, b + 1.96 * se
    if scale == "log":
        b, lo, hi = (float(np.expm1(v)) for v in (b, lo, hi))
    treated = rows[rows["treated"] == 1]
    return Estimate(
        effect=float(b),
        low=float(lo),
        high=float(hi),
        n_treated=int(treated["event_id"].nunique()),
        n_controls=int(rows.loc[rows["treated"] == 0, "account_id"].nunique()),
        n_obs=len(rows),
    )


def outcome_rows(
    panel: Panel,
    matched: pd.DataFrame,
    outcome: str,
    horizon: int,
    responses: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Observations around each event: event_id, account_id, treated, rel (month − m0), y.

    The intervention month itself (rel 0) is included: the naive contrast uses it, the
    matched estimators leave it out.

    ``responses`` (for NPS): account_id, month, value (+100 / 0 / −100).
    """
    cols = ["event_id", "account_id", "treated", "rel", "y"]
    if matched.empty:
        return pd.DataFrame(columns=cols)
    if outcome == "churn":
        cm = panel.churn_month[matched["row"].to_numpy(dtype=int)]
        m0 = matched["m0"].to_numpy()
        y = ((cm > m0) & (cm <= m0 + horizon)).astype(float)
        return matched.assign(rel=1, y=y)[cols]
    if outcome == "revenue":
        # Revenue of retained accounts only: revenue falls in the months before a client
        # leaves, and treated accounts (picked at their worst) leave more often; that is
        # the churn outcome's business, not a price or volume effect.
        cm = panel.churn_month[matched["row"].to_numpy(dtype=int)]
        retained = (cm < 0) | (cm > matched["m0"].to_numpy() + horizon + RETAINED_AFTER)
        matched = matched[retained]
        rels = np.arange(-PRE, horizon + 1)
        rows = np.repeat(matched["row"].to_numpy(dtype=int), len(rels))
        rel = np.tile(rels, len(matched))
        col = np.repeat(matched["m0"].to_numpy(dtype=int), len(rels)) + rel
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.log(panel.revenue[rows, col])
        frame = matched.loc[matched.index.repeat(len(rels))].assign(rel=rel, y=y)
        return frame[np.isfinite(frame["y"])][cols].reset_index(drop=True)
    if outcome == "nps":
        if responses is None or responses.empty:
            return pd.DataFrame(columns=cols)
        r = responses.assign(col=panel.month_index(responses["month"]))
        joined = matched.merge(r[["account_id", "col", "value"]], on="account_id")
        joined["rel"] = joined["col"] - joined["m0"]
        keep = (joined["rel"] >= -PRE) & (joined["rel"] <= horizon)
        return joined[keep].rename(columns={"value": "y"})[cols].reset_index(drop=True)
    raise ValueError(f"unknown outcome {outcome!r}; known: {OUTCOMES}")


def _codes(*columns: pd.Series) -> pd.Series:
    """One integer per distinct combination of whole-number ``columns`` (grouping by
    numbers instead of by text keys)."""
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:  # whole-number columns: a mixed-radix number per row
        values = column.to_numpy().astype(np.int64)
        low = int(values.min()) if len(values) else 0
        span = int(values.max()) - low + 1 if len(values) else 1
        key = key * span + (values - low)
    return pd.Series(pd.factorize(key)[0], index=columns[0].index)


def did(rows: pd.DataFrame, outcome: str) -> Estimate | None:
    """Difference-in-differences (or, for churn, the matched difference)."""
    if rows.empty or rows["treated"].sum() == 0 or (rows["treated"] == 0).sum() == 0:
        return None
    if rows.loc[rows["treated"] == 1, "event_id"].nunique() < MIN_EVENTS:
        return None
    rows = rows[rows["rel"] != 0]
    data = rows.assign(post=(rows["rel"] > 0).astype(float), treated=rows["treated"].astype(float))
    data["tp"] = data["treated"] * data["post"]
    if outcome == "churn":
        cell = _codes(data["event_id"])
        x = _within(data, ["treated"], cell)
        y = _within(data, ["y"], cell)["y"]
        b, se = _cluster_ols(y, x, data["account_id"], cell.nunique())
        return _finish(b[0], se[0], rows, "points")
    if data["post"].nunique() < 2:
        return None
    cell = _codes(data["event_id"], data["post"])
    if outcome == "revenue":
        # Dense monthly data: each account's own level is removed too (unit fixed effects).
        unit = _codes(data["event_id"], data["account_id"])
        x = _within(data, ["tp"], cell, unit)
        y = _within(data, ["y"], cell, unit)["y"]
        b, se = _cluster_ols(y, x, data["account_id"], cell.nunique() + unit.nunique())
        return _finish(b[0], se[0], rows, "log")
    x = _within(data, ["treated", "tp"], cell)
    y = _within(data, ["y"], cell)["y"]
    b, se = _cluster_ols(y, x, data["account_id"], cell.nunique())
    return _finish(b[1], se[1], rows, "points")


def naive(rows: pd.DataFrame, outcome: str) -> Estimate | None:
    """Treated accounts only: after (m0+1…m0+h) minus the months leading up to it.

    "Before" is m0-2 … m0, up to and including the month of the intervention: the
    moment the account was picked, as a before/after report would show it.
    """
    treated = rows[rows["treated"] == 1]
    if outcome == "churn" or treated.empty:
        return None
    if treated["event_id"].nunique() < MIN_EVENTS:
        return None
    window = treated[(treated["rel"] >= -2) | (treated["rel"] > 0)]
    post = (window["rel"] > 0).astype(float)
    if post.nunique() < 2:
        return None
    if outcome == "revenue":
        unit = _codes(window["event_id"])
        frame = window.assign(post=post)
        x = _within(frame, ["post"], unit)
        y = _within(frame, ["y"], unit)["y"]
        b, se = _cluster_ols(y, x, window["account_id"], unit.nunique())
        return _finish(b[0], se[0], window, "log")
    x = pd.DataFrame({"const": 1.0, "post": post})
    b, se = _cluster_ols(window["y"], x, window["account_id"])
    return _finish(b[1], se[1], window, "points")


def event_study(rows: pd.DataFrame, outcome: str, bin_months: int = 1) -> pd.DataFrame:
    """Effect by month relative to the intervention (month −1 is the reference).

    Returns rel, effect, low, high (in the outcome's unit; revenue in %). ``bin_months``
    groups months (useful for sparse survey answers).
    """
    cols = ["rel", "effect", "low", "high"]
    if outcome == "churn" or rows.empty or rows["treated"].sum() == 0:
        return pd.DataFrame(columns=cols)
    data = rows[rows["rel"] != 0].copy()
    rel = data["rel"].to_numpy()
    data["bin"] = np.where(rel < 0, -((-rel - 1) // bin_months + 1), (rel - 1) // bin_months + 1)
    bins = sorted(b for b in data["bin"].unique() if b != -1)
    names = []
    for b in bins:
        name = f"b{b}"
        data[name] = ((data["bin"] == b) & (data["treated"] == 1)).astype(float)
        names.append(name)
    data["treated"] = data["treated"].astype(float)
    cell = _codes(data["event_id"], data["bin"])
    x = _within(data, ["treated", *names], cell)
    y = _within(data, ["y"], cell)["y"]
    b, se = _cluster_ols(y, x, data["account_id"], cell.nunique())
    est = pd.DataFrame(
        {"rel": [*bins, -1], "effect": [*b[1:], 0.0], "se": [*se[1:], 0.0]}
    ).sort_values("rel")
    est["low"], est["high"] = est["effect"] - 1.96 * est["se"], est["effect"] + 1.96 * est["se"]
    est = est[np.isfinite(est["se"])]
    if outcome == "revenue":
        for c in ("effect", "low", "high"):
            est[c] = np.expm1(est[c])
    # Plot each bin at the centre of its months (bin -1 = months -bin_months … -1).
    b_idx = est["rel"].to_numpy()
    est["rel"] = np.where(
        b_idx < 0,
        b_idx * bin_months + (bin_months - 1) / 2,
        (b_idx - 1) * bin_months + (bin_months + 1) / 2,
    )
    return est[cols].reset_index(drop=True)


def disagrees(did_est: Estimate | None, naive_est: Estimate | None) -> bool:
    """Whether the naive contrast lies outside the DiD interval (worth a warning)."""
    if did_est is None or naive_est is None:
        return False
    return not (did_est.low <= naive_est.effect <= did_est.high)


def estimate_all(
    panel: Panel,
    events: pd.DataFrame,
    responses: pd.DataFrame,
    horizons: tuple[int, ...] = HORIZONS,
    study_horizon: int = 6,
) -> dict:
    """Every kind × tier × outcome × horizon, as JSON-ready dicts.

    ``events``: event_id, account_id, kind, month, tier. Returns
    ``{"effects": [...rows...], "event_study": {kind: {outcome: [...]}}}``.
    """
    results, study = [], {}
    for horizon in horizons:
        matched_all = match_events(panel, events, horizon)
        if matched_all.empty:
            continue
        meta = events.set_index("event_id")[["kind", "tier"]]
        matched_all = matched_all.join(meta, on="event_id")
        for outcome in OUTCOMES:
            rows_all = outcome_rows(panel, matched_all, outcome, horizon, responses).join(
                meta, on="event_id"
            )
            pooled = [("all", rows_all), *list(rows_all.groupby("kind"))]
            for kind, rows_k in pooled:
                groups = [("all", rows_k), *list(rows_k.groupby("tier"))]
                for tier, rows in groups:
                    d, n = did(rows, outcome), naive(rows, outcome)
                    if d is None:
                        continue
                    results.append(
                        {
                            "kind": kind,
                            "tier": tier,
                            "outcome": outcome,
                            "horizon": horizon,
                            **d.as_dict(),
                            "naive": None if n is None else n.as_dict(),
                            "disagree": disagrees(d, n),
                        }
                    )
                if horizon == study_horizon and outcome != "churn":
                    es = event_study(rows_k, outcome, bin_months=2 if outcome == "nps" else 1)
                    study.setdefault(kind, {})[outcome] = es.round(5).to_dict("records")
    return {"effects": results, "event_study": study}
