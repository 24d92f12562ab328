"""Unit: portfolio-wide peer aggregates written by the refresh job, on both databases."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine, text

from data_access import peers

END = dt.date(2026, 6, 30)


def test_only_aggregates_over_enough_accounts_are_kept(fixture_engine: Engine) -> None:
    with fixture_engine.connect() as conn:
        figures = peers.compute_peer_figures(conn, END)
    assert set(figures["kind"]) == {"retention", "interaction_norm", "peers", "share", "median"}
    published = figures[figures["kind"].isin(["interaction_norm", "share", "median"])]
    assert len(published) > 100
    assert (published["n"] >= peers.MIN_PEERS).all()
    shares = figures.loc[figures["kind"] == "share", "value"]
    assert shares.between(0, 1).all()
    # No account id or code leaves the refresh job in these rows.
    assert set(figures.columns) == set(peers.COLUMNS)


def test_figures_match_a_direct_count(fixture_engine: Engine) -> None:
    with fixture_engine.connect() as conn:
        figures = peers.compute_peer_figures(conn, END).set_index(["kind", "tier"])
        base, churned = conn.execute(
            text(
                "SELECT count(*), sum(CASE WHEN churned_on IS NOT NULL AND churned_on <= :e "
                "THEN 1 ELSE 0 END) FROM accounts WHERE tier = 'value' AND onboarded_on <= :s "
                "AND (churned_on IS NULL OR churned_on > :s)"
            ),
            {"e": END, "s": dt.date(2025, 6, 30)},
        ).one()
        held = pd.read_sql_query(
            text(
                "SELECT DISTINCT h.account_id, p.code FROM holdings h "
                "JOIN accounts a ON a.id = h.account_id JOIN products p ON p.id = h.product_id "
                "WHERE a.tier = 'strategic' AND a.onboarded_on <= :e "
                "AND (a.churned_on IS NULL OR a.churned_on > :e) AND h.opened_on <= :e "
                "AND (h.closed_on IS NULL OR h.closed_on > :e)"
            ),
            conn,
            params={"e": END},
        )
    retention = figures.loc[("retention", "value")]
    assert (int(retention["n"]), int(retention["value"])) == (base, churned)
    strategic = figures.loc[("peers", "strategic")]
    assert int(strategic["n"].sum()) == held["account_id"].nunique()


def test_a_month_before_the_first_account_has_no_figures(fixture_engine: Engine) -> None:
    with fixture_engine.connect() as conn:
        assert peers.compute_peer_figures(conn, dt.date(2000, 1, 31)).empty
