"""Unit: the 12-month windows and the segment rollup stay equal to the facts they sum.

Pages read ``account_periods`` and ``segment_monthly`` instead of summing the monthly
rollup and every survey answer; every write that changes those sums must leave both
tables as a recomputation from the facts would.
"""

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select, text

from data_access import importing, windows
from data_access.schema import Account
from data_access.scope import Scope
from tests.conftest import move_four_accounts_segment, move_one_account_tier

ADMIN = Scope(user_id=3, role="admin")


def _plain_windows(monthly: pd.DataFrame) -> pd.DataFrame:
    """Window sums the slow, obvious way: for each account and month, add up the rows."""
    monthly = monthly.assign(month=pd.to_datetime(monthly["month"]))
    months = pd.date_range(monthly["month"].min(), monthly["month"].max(), freq="MS")
    rows = []
    for account, own in monthly.groupby("account_id"):
        for m in months:
            cur = own.loc[(own["month"] > m - pd.DateOffset(months=12)) & (own["month"] <= m)]
            prev = own.loc[
                (own["month"] > m - pd.DateOffset(months=24))
                & (own["month"] <= m - pd.DateOffset(months=12))
            ]
            c, p = float(cur["revenue"].sum()), float(prev["revenue"].sum())
            if c or p:
                rows.append((m.date(), int(account), c, p))
    return pd.DataFrame(rows, columns=windows.COLUMNS)


def test_period_rows_equal_plain_sums_with_gaps_and_ended_accounts() -> None:
    rng = np.random.default_rng(5)
    months = pd.date_range("2022-01-01", periods=40, freq="MS")
    frames = []
    for account in range(1, 9):
        held = months[rng.integers(0, 10) : rng.integers(15, 41)]  # starts late, may end early
        held = held[rng.random(len(held)) > 0.2]  # and has gaps
        frames.append(
            pd.DataFrame(
                {
                    "account_id": account,
                    "month": held.date,
                    "revenue": rng.integers(-50, 1000, len(held)).astype(float),
                }
            )
        )
    monthly = pd.concat(frames, ignore_index=True)
    got = windows.period_rows(monthly).reset_index(drop=True)
    want = _plain_windows(monthly).sort_values(["month", "account_id"]).reset_index(drop=True)
    assert len(got) > 200
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    later = windows.period_rows(monthly, first=dt.date(2024, 3, 1), last=dt.date(2024, 5, 1))
    assert sorted(set(later["month"])) == [dt.date(2024, m, 1) for m in (3, 4, 5)]
    expected = want.loc[want["month"].isin(set(later["month"]))].reset_index(drop=True)
    pd.testing.assert_frame_equal(later.reset_index(drop=True), expected, check_dtype=False)


def _frame(engine: Engine, sql: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn)


def _month_text(days: pd.Series) -> pd.Series:
    return pd.to_datetime(days).dt.strftime("%Y-%m")


def _assert_rollups_match_facts(engine: Engine) -> None:
    stored = _frame(
        engine,
        "SELECT month, account_id, revenue_12m, revenue_prev_12m FROM account_periods "
        "ORDER BY month, account_id",
    )
    monthly = _frame(engine, "SELECT account_id, month, revenue FROM account_monthly")
    fresh = windows.period_rows(monthly).reset_index(drop=True)
    stored["month"] = pd.to_datetime(stored["month"]).dt.date
    assert len(stored) == len(fresh) > 1000
    pd.testing.assert_frame_equal(stored, fresh, check_dtype=False)

    dims = ["team_id", "tier", "region", "industry"]
    accounts = _frame(
        engine, "SELECT id AS account_id, team_id, tier, region, industry FROM accounts"
    )
    revenue = (
        monthly.merge(accounts, on="account_id")
        .assign(month=lambda d: _month_text(d["month"]))
        .groupby(["month", *dims])["revenue"]
        .sum()
    )
    answers = _frame(
        engine, "SELECT account_id, survey, responded_on, score FROM survey_responses"
    ).merge(accounts, on="account_id")
    answers["month"] = _month_text(answers["responded_on"])
    top = answers["survey"].map({"nps": 9, "csat": 4, "ces": 99})
    low = answers["survey"].map({"nps": 6, "csat": -1, "ces": -1})
    surveys = (
        answers.assign(
            favourable=(answers["score"] >= top).astype(int),
            unfavourable=(answers["score"] <= low).astype(int),
            square=answers["score"] ** 2,
        )
        .groupby(["survey", "month", *dims])
        .agg(
            responses=("score", "size"),
            promoters=("favourable", "sum"),
            detractors=("unfavourable", "sum"),
            score_sum=("score", "sum"),
            score_sq_sum=("square", "sum"),
        )
    )
    assert set(surveys.index.get_level_values("survey")) == {"nps", "csat", "ces"}
    seg = _frame(engine, "SELECT * FROM segment_monthly")
    seg["month"] = _month_text(seg["month"])
    got_revenue = seg.loc[seg["source"] == "revenue"].set_index(["month", *dims])["revenue"]
    pd.testing.assert_series_equal(
        got_revenue.sort_index(), revenue.sort_index(), check_dtype=False, rtol=1e-12
    )
    got_surveys = (
        seg.loc[seg["source"] != "revenue"]
        .rename(columns={"source": "survey"})
        .set_index(["survey", "month", *dims])
    )
    pd.testing.assert_frame_equal(
        got_surveys[list(surveys.columns)].sort_index(),
        surveys.sort_index(),
        check_dtype=False,
    )


def test_demo_load_fills_both_rollups(own_engine: Engine) -> None:
    _assert_rollups_match_facts(own_engine)


def test_revenue_import_of_an_old_and_a_new_month_keeps_the_rollups(own_engine: Engine) -> None:
    facts = _frame(
        own_engine,
        "SELECT a.code AS account, p.code AS product, r.month, r.revenue FROM revenue_monthly r "
        "JOIN accounts a ON a.id = r.account_id JOIN products p ON p.id = r.product_id "
        "ORDER BY r.month, a.code, p.code",
    )
    last = pd.to_datetime(facts["month"]).max()
    old = facts.head(40).assign(revenue=lambda d: d["revenue"] + 2500.0)
    new_month = (last + pd.DateOffset(months=1)).strftime("%Y-%m")
    new = facts.tail(3).assign(month=new_month, revenue=777.0)
    data = pd.concat([old, new]).to_csv(index=False).encode()
    checked, result = importing.run_import(own_engine, ADMIN, "revenue", data, "rev.csv")
    assert checked.ok
    assert (result.inserted, result.updated) == (3, 40)
    _assert_rollups_match_facts(own_engine)
    # Accounts without revenue in the new month still have windows for it.
    with own_engine.connect() as conn:
        in_new = conn.execute(
            text("SELECT count(*) FROM account_periods WHERE month = :m"),
            {"m": (last + pd.DateOffset(months=1)).date()},
        ).scalar()
    assert in_new > 3


def test_survey_and_account_imports_and_tier_moves_keep_the_segments(own_engine: Engine) -> None:
    with own_engine.connect() as conn:
        codes = [r[0] for r in conn.execute(select(Account.code).order_by(Account.id).limit(6))]
    surveys = pd.DataFrame(
        {
            "account": codes,
            "survey": ["nps", "nps", "csat", "nps", "ces", "nps"],
            "score": [10, 9, 4, 3, 7, 6],
            "responded_on": [
                "2024-02-03",
                "2024-02-28",
                "2024-03-01",
                "2024-03-31",
                "2023-12-31",
                "2024-01-15",
            ],
        }
    )
    checked, result = importing.run_import(
        own_engine, ADMIN, "survey_responses", surveys.to_csv(index=False).encode(), "nps.csv"
    )
    assert checked.ok
    assert result.inserted == 6
    _assert_rollups_match_facts(own_engine)

    assert move_four_accounts_segment(own_engine) >= 1
    _assert_rollups_match_facts(own_engine)

    assert move_one_account_tier(own_engine) >= 1
    _assert_rollups_match_facts(own_engine)


def test_rebuild_of_some_accounts_from_a_month_changes_nothing_else(own_engine: Engine) -> None:
    before = _frame(own_engine, "SELECT * FROM account_periods ORDER BY month, account_id")
    with own_engine.begin() as conn:
        windows.rebuild(conn, [1, 2, 3], dt.date(2024, 6, 1))
    after = _frame(own_engine, "SELECT * FROM account_periods ORDER BY month, account_id")
    pd.testing.assert_frame_equal(before, after)
