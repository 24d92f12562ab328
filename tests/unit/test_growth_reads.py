"""Unit: the growth page's reads, counted by the database, agree with every score row."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from data_access.growth import fetch_opportunity_summary, fetch_suggestions, fetch_whitespace
from data_access.scope import Filters, Scope

EXEC = Scope(user_id=1, role="executive")
TEAM1 = Scope(user_id=4, role="account_manager", team_id=1)
JUNE = Filters(period_end=dt.date(2026, 6, 30))
STRATEGIC = Filters(period_end=dt.date(2026, 6, 30), tiers=("strategic",))


def _every_score(conn, scope: Scope, filters: Filters) -> pd.DataFrame:
    """The latest snapshot's score rows of active accounts in view, by plain SQL."""
    rows = conn.execute(
        text(
            "SELECT s.account_id, a.code, a.name, a.tier, a.industry, a.team_id, "
            "p.code AS product, s.propensity, s.expected_revenue, s.rank "
            "FROM product_scores s JOIN accounts a ON a.id = s.account_id "
            "JOIN products p ON p.id = s.product_id "
            "WHERE a.status = 'active' "
            "AND s.as_of = (SELECT max(as_of) FROM product_scores)"
        )
    ).all()
    df = pd.DataFrame([tuple(r) for r in rows], columns=list(rows[0]._fields))
    if scope.team_id is not None:
        df = df[df["team_id"] == scope.team_id]
    if filters.tiers:
        df = df[df["tier"].isin(filters.tiers)]
    return df.reset_index(drop=True)


@pytest.mark.parametrize(("scope", "filters"), [(EXEC, JUNE), (TEAM1, JUNE), (EXEC, STRATEGIC)])
def test_summary_and_suggestions_agree_with_every_score(
    fixture_engine: Engine, scope: Scope, filters: Filters
) -> None:
    with fixture_engine.connect() as conn:
        every = _every_score(conn, scope, filters)
        summary = fetch_opportunity_summary(conn, scope, filters)
        top = fetch_suggestions(conn, scope, filters, 40)
        everything = fetch_suggestions(conn, scope, filters, None)
        order = [code for (code,) in conn.execute(text("SELECT code FROM products ORDER BY id"))]
    assert len(every) > 40
    ranked = every[every["rank"] <= 3]
    assert summary["accounts"] == every["account_id"].nunique()
    assert summary["suggestions"] == len(ranked) == len(everything)
    first = every.loc[every["rank"] == 1, "expected_revenue"].sum()
    assert summary["top1_total"] == pytest.approx(first, rel=1e-9)
    assert summary["products"] == [p for p in order if p in set(every["product"])]
    expected = ranked.sort_values(
        ["expected_revenue", "account_id", "rank"], ascending=[False, True, True]
    )
    cols = ["account_id", "code", "name", "tier", "industry", "product", "rank"]
    assert top[cols].values.tolist() == expected.head(40)[cols].values.tolist()
    assert top["expected_revenue"].tolist() == pytest.approx(
        expected.head(40)["expected_revenue"].tolist()
    )
    assert sorted(everything["account_id"]) == sorted(ranked["account_id"])


@pytest.mark.parametrize(
    ("scope", "products", "floor"),
    [(EXEC, ("FX",), 0.0), (EXEC, ("FX", "CASH", "LOAN"), 2000.0), (TEAM1, ("FX", "CARD"), 500.0)],
)
def test_whitespace_agrees_with_every_score(
    fixture_engine: Engine, scope: Scope, products: tuple[str, ...], floor: float
) -> None:
    with fixture_engine.connect() as conn:
        every = _every_score(conn, scope, JUNE)
        accounts, matching, scores = fetch_whitespace(conn, scope, JUNE, products, floor, 25)
    chosen = every[every["product"].isin(products)]
    totals = (
        every.drop_duplicates("account_id")
        .set_index("account_id")
        .assign(total=chosen.groupby("account_id")["expected_revenue"].sum())
        .fillna({"total": 0.0})
    )
    totals = totals[totals["total"] >= floor - 1e-9].reset_index()
    totals = totals.sort_values(["total", "account_id"], ascending=[False, True])
    assert matching == len(totals) > 10
    want = totals.head(25)
    assert accounts["account_id"].tolist() == want["account_id"].tolist()
    assert accounts["total"].tolist() == pytest.approx(want["total"].tolist())
    cols = ["code", "name", "tier", "industry", "team_id"]
    assert accounts[cols].values.tolist() == want[cols].values.tolist()
    shown = chosen[chosen["account_id"].isin(want["account_id"])]
    key = ["account_id", "product"]
    assert sorted(map(tuple, scores[key].values.tolist())) == sorted(
        map(tuple, shown[key].values.tolist())
    )


def test_no_scores_yet_reads_as_empty(engine: Engine) -> None:
    with engine.connect() as conn:
        # Inside a transaction rolled back at the end: the PostgreSQL fixture is shared.
        with conn.begin() as tx:
            conn.execute(text("DELETE FROM product_scores"))
            summary = fetch_opportunity_summary(conn, EXEC, JUNE)
            accounts, matching, scores = fetch_whitespace(conn, EXEC, JUNE, ("FX",), 0.0, 25)
            rows = fetch_suggestions(conn, EXEC, JUNE, 10)
            tx.rollback()
        assert conn.execute(text("SELECT count(*) FROM product_scores")).scalar() > 0
    assert summary == {"accounts": 0, "top1_total": 0.0, "suggestions": 0, "products": []}
    assert matching == 0
    assert accounts.empty
    assert scores.empty
    assert rows.empty
