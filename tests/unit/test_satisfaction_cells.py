"""Unit: the satisfaction page's figures from cells equal those from every single answer.

The page reads answers as cells of sufficient statistics (per survey, month and segment
from the rollup; per account or product by SQL grouping). Each figure must be what the
same statistic gives on the raw answers, read here straight from ``survey_responses``,
on SQLite and PostgreSQL.
"""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, text

from analytics import satisfaction as sa
from data_access import satisfaction as ds
from data_access.scope import Filters, Scope

EXECUTIVE = Scope(user_id=1, role="executive")
FILTERS = Filters(period_end=dt.date(2026, 5, 31))


def _frame(engine: Engine, sql: str) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(text(sql))
        return pd.DataFrame([tuple(r) for r in result], columns=list(result.keys()))


@pytest.fixture
def answers(fixture_engine: Engine) -> pd.DataFrame:
    """Every answer of the 36 months to the period, with the account's segment."""
    df = _frame(
        fixture_engine,
        "SELECT s.id, s.account_id, s.contact_id, s.survey, s.score, s.responded_on, "
        "a.tier, a.region, a.industry, a.team_id FROM survey_responses s "
        "JOIN accounts a ON a.id = s.account_id",
    )
    day = pd.to_datetime(df["responded_on"])
    df["month"] = day.dt.to_period("M").dt.start_time
    first = pd.Timestamp(FILTERS.period_month) - pd.DateOffset(months=35)
    return df[(df["month"] >= first) & (day <= pd.Timestamp(FILTERS.period_end))]


def _assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False, rtol=1e-9
    )


@pytest.mark.parametrize("survey", sa.SURVEYS)
@pytest.mark.parametrize("freq", ["M", "Q"])
def test_trends_and_changes_from_cells_equal_those_from_answers(
    fixture_engine: Engine, answers: pd.DataFrame, survey: str, freq: str
) -> None:
    with fixture_engine.connect() as conn:
        cells = ds.fetch_survey_cells(conn, EXECUTIVE, FILTERS)
    assert int(cells.loc[cells["survey"] == survey, "n"].sum()) == int(
        (answers["survey"] == survey).sum()
    )
    for by in (None, "tier", "region", "team_id"):
        _assert_same(
            sa.series(cells, survey, freq, by, 10), sa.series(answers, survey, freq, by, 10)
        )
    own = answers[answers["survey"] == survey]
    mine = cells[cells["survey"] == survey]
    months = sorted(own["month"].unique())
    before, after = months[-2], months[-1]
    want = sa.difference_test(
        own.loc[own["month"] == before, "score"], own.loc[own["month"] == after, "score"], survey
    )
    got = sa.difference_test(mine[mine["month"] == before], mine[mine["month"] == after], survey)
    assert got == pytest.approx(want, rel=1e-9)


def test_drop_scans_from_cells_equal_those_from_answers(
    fixture_engine: Engine, answers: pd.DataFrame
) -> None:
    nps = answers[answers["survey"] == "nps"]
    dims = ("region", "industry", "tier", "team_id")
    with fixture_engine.connect() as conn:
        scans = ds.load_drop_scans(conn, EXECUTIVE, FILTERS)
    min_n = 30  # the default setting of the fixture portfolio
    want = sa.scan_drops(nps, dims, min_n=min_n)
    assert len(want) > 50
    _assert_same(scans.segment_scan, want)
    _assert_same(scans.onsets, sa.drop_onsets(want, nps))
    # The per-account scan: means and counts before and after the cut, by hand.
    start, cut, end = sa.account_window(pd.Timestamp(FILTERS.period_month))
    window = nps[(nps["month"] >= start) & (nps["month"] <= end)]
    per = (
        window.assign(v=sa.nps_value(window["score"]), recent=window["month"] >= cut)
        .groupby(["account_id", "recent"])["v"]
        .agg(["size", "mean"])
        .unstack("recent")
        .dropna()
    )
    per = per[(per[("size", False)] >= 5) & (per[("size", True)] >= 5)]
    got = scans.account_scan.set_index("account_id").sort_index()
    assert len(got) == len(per) > 0
    np.testing.assert_allclose(got["before"], per[("mean", False)], rtol=1e-12)
    np.testing.assert_allclose(got["after"], per[("mean", True)], rtol=1e-12)
    assert (got["n_after"] == per[("size", True)]).all()


def test_coverage_outcomes_and_products_from_grouped_sql_equal_the_answers(
    fixture_engine: Engine, answers: pd.DataFrame
) -> None:
    month = pd.Timestamp(FILTERS.period_month)
    with fixture_engine.connect() as conn:
        coverage = ds.load_coverage(conn, EXECUTIVE, FILTERS)
        outcomes = ds.load_outcomes(conn, EXECUTIVE, FILTERS)
        products = ds.fetch_product_cells(conn, EXECUTIVE, FILTERS)
        holdings = _frame(
            fixture_engine,
            "SELECT h.account_id, p.code AS product, h.opened_on, h.closed_on "
            "FROM holdings h JOIN products p ON p.id = h.product_id",
        )
        accounts = ds.fetch_account_figures(conn, EXECUTIVE, FILTERS)
    period = answers[answers["month"] > month - pd.DateOffset(months=12)]
    assert coverage.responding_contacts == period["contact_id"].dropna().nunique()
    assert set(coverage.account_cells["account_id"]) == set(period["account_id"])
    nps = period[period["survey"] == "nps"]
    mine = coverage.account_cells[coverage.account_cells["survey"] == "nps"]
    for weights in (None, accounts.set_index("account_id")["revenue_12m"]):
        assert sa.account_level_nps(mine, weights) == sa.account_level_nps(nps, weights)

    year_before = answers[
        (answers["survey"] == "nps")
        & (answers["month"] <= month - pd.DateOffset(months=12))
        & (answers["month"] > month - pd.DateOffset(months=24))
    ]
    as_of = pd.Timestamp(FILTERS.period_end) - pd.DateOffset(months=12)
    want = sa.outcomes_by_band(
        year_before.groupby("account_id")["score"].mean(), accounts, as_of.normalize()
    )
    _assert_same(outcomes, want)

    held = answers[answers["survey"] == "nps"].merge(holdings, on="account_id")
    day = pd.to_datetime(held["responded_on"])
    held = held[
        (pd.to_datetime(held["opened_on"]) <= day)
        & (held["closed_on"].isna() | (pd.to_datetime(held["closed_on"]) > day))
    ]
    _assert_same(
        sa.series(products, "nps", "M", "product", 10), sa.series(held, "nps", "M", "product", 10)
    )
