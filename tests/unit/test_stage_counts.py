"""Unit: stage counts per day, transitions and time in stage from lifecycle events."""

import numpy as np
import pandas as pd

from analytics import lifecycle as lc


def _events(rng: np.random.Generator, accounts: int) -> pd.DataFrame:
    """Random stage histories; some accounts churn on the day they turn at risk."""
    rows = []
    for account in range(1, accounts + 1):
        day = pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(rng.integers(0, 700)))
        for stage in ("onboarding", "growth", "mature", "at_risk"):
            rows.append((account, stage, day))
            if rng.random() < 0.3:
                break
            day += pd.Timedelta(days=int(rng.integers(0, 200)))
        if rng.random() < 0.3:
            rows.append((account, lc.GONE, day))  # same day as the last stage
    return pd.DataFrame(rows, columns=["account_id", "stage", "entered_on"])


def test_counts_per_day_equal_each_accounts_latest_event() -> None:
    events = _events(np.random.default_rng(3), 400)
    days = list(pd.date_range("2023-01-31", periods=30, freq="ME"))
    got = lc.compute_stage_distribution(events, days)
    for day in days:
        seen = events[events["entered_on"] <= day].groupby("account_id").tail(1)
        want = seen.loc[seen["stage"] != lc.GONE, "stage"].value_counts()
        row = got.loc[day] if day in got.index else pd.Series(dtype=int)
        assert row[row > 0].sort_index().to_dict() == want.sort_index().to_dict()


def test_an_account_at_risk_and_churned_on_one_day_is_churned() -> None:
    day = pd.Timestamp("2024-03-05")
    events = pd.DataFrame(
        {
            "account_id": [1, 1, 1, 2, 2],
            "stage": ["mature", "at_risk", lc.GONE, "mature", "at_risk"],
            "entered_on": [pd.Timestamp("2022-01-01"), day, day, pd.Timestamp("2022-01-01"), day],
        }
    )
    end = pd.Timestamp("2024-06-30")
    assert lc.compute_stage_distribution(events, [end]).loc[end].to_dict() == {"at_risk": 1}
    flows = lc.compute_transitions(events, pd.Timestamp("2023-12-31"), end)
    assert set(zip(flows["from_stage"], flows["to_stage"], flows["n"], strict=True)) == {
        ("mature", lc.GONE, 1),
        ("mature", "at_risk", 1),
    }
    current, _ = lc.compute_time_in_stage(events, end)
    assert list(current["account_id"]) == [2]
