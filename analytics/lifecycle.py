"""Lifecycle stages over time, transitions between two dates, and time in stage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

NOT_YET = "not_yet"
GONE = "churned"


def stage_on(events: pd.DataFrame, days: Sequence[pd.Timestamp]) -> pd.DataFrame:
    """Each account's stage on each day: ``account_id, day, stage``.

    ``events`` holds ``account_id, stage, entered_on``; an account with no event
    yet on a day is in stage ``not_yet``.
    """
    ev = events.assign(entered_on=pd.to_datetime(events["entered_on"]).astype("datetime64[ns]"))
    # Stable: events of one day keep their given order, the later one holds (an account
    # at risk and churned on the same day is churned).
    ev = ev.sort_values("entered_on", kind="stable")
    grid = pd.DataFrame({"day": pd.to_datetime(list(days)).astype("datetime64[ns]")})
    grid = grid.sort_values("day")
    ids = pd.DataFrame({"account_id": ev["account_id"].unique()})
    cross = grid.merge(ids, how="cross").sort_values("day")
    out = pd.merge_asof(
        cross,
        ev[["account_id", "stage", "entered_on"]],
        left_on="day",
        right_on="entered_on",
        by="account_id",
    )
    out["stage"] = out["stage"].fillna(NOT_YET)
    return out[["account_id", "day", "stage", "entered_on"]]


def compute_stage_distribution(events: pd.DataFrame, days: Sequence[pd.Timestamp]) -> pd.DataFrame:
    """Accounts per stage on each day (wide: one column per stage), churned and
    not-yet-onboarded accounts excluded.

    Each event holds from its day until the account's next event; it is counted on the
    days in that span (a difference array over the sorted days), so the cost grows with
    the events, not with accounts × days.
    """
    ev = events.assign(entered_on=pd.to_datetime(events["entered_on"]).astype("datetime64[ns]"))
    ev = ev.sort_values(["account_id", "entered_on"], kind="stable")
    grid = pd.DatetimeIndex(sorted(pd.to_datetime(list(days)))).astype("datetime64[ns]")
    start = grid.searchsorted(ev["entered_on"].to_numpy(), side="left")
    following = ev.groupby("account_id")["entered_on"].shift(-1)
    stop = np.where(
        following.isna(),
        len(grid),
        grid.searchsorted(following.fillna(pd.Timestamp.max).to_numpy(), side="left"),
    )
    keep = (~ev["stage"].isin([NOT_YET, GONE])).to_numpy() & (stop > start)
    stages = sorted(ev.loc[keep, "stage"].unique())
    counts = np.zeros((len(grid) + 1, len(stages)), dtype=np.int64)
    col = pd.Index(stages).get_indexer(ev.loc[keep, "stage"])
    np.add.at(counts, (start[keep], col), 1)
    np.add.at(counts, (stop[keep], col), -1)
    wide = pd.DataFrame(
        counts.cumsum(axis=0)[:-1],
        index=pd.DatetimeIndex(grid, name="day"),
        columns=pd.Index(stages, name="stage"),
    )
    return wide[wide.sum(axis=1) > 0]


def compute_transitions(
    events: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Counts of accounts moving from their stage on ``start`` to their stage on ``end``.

    Returns ``from_stage, to_stage, n``; accounts not yet onboarded on ``start``
    come from ``not_yet``.
    """
    s = stage_on(events, [start, end])
    wide = s.pivot_table(index="account_id", columns="day", values="stage", aggfunc="first")
    wide.columns = ["from_stage", "to_stage"]
    wide = wide[~((wide["from_stage"] == GONE) & (wide["to_stage"] == GONE))]
    wide = wide[wide["to_stage"] != NOT_YET]
    return wide.groupby(["from_stage", "to_stage"]).size().rename("n").reset_index()


def compute_time_in_stage(
    events: pd.DataFrame, as_of: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Days each account has spent in its current stage, and percentiles per stage.

    Returns
    -------
    (current, summary)
        ``current``: ``account_id, stage, days``; ``summary``: per stage ``n,
        p25, median, p75, p90`` in days. Churned accounts are left out.
    """
    s = stage_on(events, [as_of])
    s = s[~s["stage"].isin([NOT_YET, GONE])].copy()
    s["days"] = (pd.Timestamp(as_of) - s["entered_on"]).dt.days
    current = s[["account_id", "stage", "days"]]
    return current.reset_index(drop=True), time_in_stage_summary(current)


def time_in_stage_summary(current: pd.DataFrame) -> pd.DataFrame:
    """Per stage of ``current`` (``stage, days``): ``n, p25, median, p75, p90`` in days."""
    if current.empty:
        return pd.DataFrame(columns=["stage", "n", "p25", "median", "p75", "p90"])
    summary = current.groupby("stage")["days"].describe(percentiles=[0.25, 0.5, 0.75, 0.9])
    summary = summary.rename(
        columns={"count": "n", "25%": "p25", "50%": "median", "75%": "p75", "90%": "p90"}
    )[["n", "p25", "median", "p75", "p90"]]
    return summary.reset_index()


def stuck_accounts(current: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """Accounts in their stage for longer than the stage's 90th percentile."""
    p90 = summary.set_index("stage")["p90"]
    flagged = current[current["days"] > current["stage"].map(p90)]
    return flagged.assign(p90=flagged["stage"].map(p90)).sort_values("days", ascending=False)


def depth_band(products: pd.Series) -> pd.Series:
    """Product depth in three bands: 1–2, 3–4 and 5+ products."""
    return pd.cut(products, bins=[-1, 2, 4, 99], labels=["1-2", "3-4", "5+"]).astype(str)


@dataclass(frozen=True)
class LifecycleRules:
    """Documented stage rules, applied in this order:

    1. ``at_risk`` — health score below ``at_risk_health_below``, or revenue of the last
       3 months below ``1 - at_risk_revenue_drop`` times the 3 months before;
    2. ``onboarding`` — fewer than ``onboarding_months`` months since onboarding;
    3. ``growth`` — fewer than ``growth_months`` months since onboarding;
    4. ``mature`` — otherwise.
    """

    onboarding_months: int = 3
    growth_months: int = 18
    at_risk_health_below: float = 45.0
    at_risk_revenue_drop: float = 0.25

    def problems(self) -> list[tuple[str, str]]:
        """What is wrong with these rules, as ``(field, message code)`` pairs."""
        out = []
        if not 0 < self.onboarding_months < self.growth_months <= 120:
            out.append(("lifecycle", "stage_months"))
        if not 0 <= self.at_risk_health_below <= 100 or not 0 < self.at_risk_revenue_drop < 1:
            out.append(("lifecycle", "stage_thresholds"))
        return out


def assign_stages(frame: pd.DataFrame, rules: LifecycleRules) -> pd.DataFrame:
    """Stage of each account by :class:`LifecycleRules`, with the rule that decided it.

    ``frame`` holds ``tenure_months, health_score, revenue_3m, revenue_prev_3m``.
    Returns ``stage`` and ``reason`` columns aligned with ``frame``.
    """
    falling = frame["revenue_3m"] < (1 - rules.at_risk_revenue_drop) * frame["revenue_prev_3m"]
    unhealthy = frame["health_score"] < rules.at_risk_health_below
    tenure = frame["tenure_months"]
    stage = pd.Series("mature", index=frame.index, dtype=object)
    reason = pd.Series(
        f"rule: {rules.growth_months}+ months as a client", index=frame.index, dtype=object
    )
    growth = tenure < rules.growth_months
    stage[growth], reason[growth] = "growth", f"rule: under {rules.growth_months} months"
    onboarding = tenure < rules.onboarding_months
    stage[onboarding] = "onboarding"
    reason[onboarding] = f"rule: under {rules.onboarding_months} months"
    stage[falling] = "at_risk"
    reason[falling] = f"rule: revenue fell more than {rules.at_risk_revenue_drop:.0%}"
    stage[unhealthy] = "at_risk"
    reason[unhealthy] = f"rule: health below {rules.at_risk_health_below:g}"
    return pd.DataFrame({"stage": stage, "reason": reason})
