"""Execution figures for interventions: completion, overdue and outcome mix per owner or team."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from statsmodels.stats.proportion import proportion_confint

OPEN = ("planned", "in_progress")


def overdue_mask(frame: pd.DataFrame, today: dt.date) -> pd.Series:
    """Open interventions whose due date has passed."""
    due = pd.to_datetime(frame["due_on"])
    return frame["status"].isin(OPEN) & due.notna() & (due < pd.Timestamp(today))


def execution_summary(frame: pd.DataFrame, by: str, today: dt.date) -> pd.DataFrame:
    """Per ``by`` (owner or team): counts, completion and overdue rates with 95% intervals.

    Completion rate = done / (done + cancelled + overdue): of the interventions whose fate
    is known or late, the share carried out. Overdue rate = overdue / open. Outcome mix
    is the share of done interventions by outcome.
    """
    cols = [
        by,
        "total",
        "open",
        "done",
        "cancelled",
        "overdue",
        "completion_rate",
        "completion_low",
        "completion_high",
        "overdue_rate",
        "achieved",
        "partly_achieved",
        "not_achieved",
    ]
    if frame.empty:
        return pd.DataFrame(columns=cols)
    f = frame.assign(
        is_open=frame["status"].isin(OPEN),
        is_done=frame["status"] == "done",
        is_cancelled=frame["status"] == "cancelled",
        is_overdue=overdue_mask(frame, today),
    )
    for outcome in ("achieved", "partly_achieved", "not_achieved"):
        f[outcome] = f["is_done"] & (f["outcome"] == outcome)
    g = f.groupby(by, dropna=False).agg(
        total=("status", "size"),
        open=("is_open", "sum"),
        done=("is_done", "sum"),
        cancelled=("is_cancelled", "sum"),
        overdue=("is_overdue", "sum"),
        achieved=("achieved", "sum"),
        partly_achieved=("partly_achieved", "sum"),
        not_achieved=("not_achieved", "sum"),
    )
    settled = g["done"] + g["cancelled"] + g["overdue"]
    lows, highs, rates = [], [], []
    for done, n in zip(g["done"], settled, strict=True):
        if n == 0:
            rates.append(None)
            lows.append(None)
            highs.append(None)
            continue
        lo, hi = proportion_confint(int(done), int(n), method="wilson")
        rates.append(done / n)
        lows.append(lo)
        highs.append(hi)
    g["completion_rate"], g["completion_low"], g["completion_high"] = rates, lows, highs
    g["overdue_rate"] = (g["overdue"] / g["open"]).where(g["open"] > 0)
    for outcome in ("achieved", "partly_achieved", "not_achieved"):
        g[outcome] = (g[outcome] / g["done"]).where(g["done"] > 0)
    return g.reset_index()[cols].sort_values("total", ascending=False, kind="stable")
