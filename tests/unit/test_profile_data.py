"""Unit: data_access.profile — the profile bundle is scoped and consistent, on both databases."""

import datetime as dt

import pytest
from sqlalchemy import Engine, text

from data_access.profile import load_profile_data
from data_access.scope import Scope

END = dt.date(2026, 6, 30)
TEAM1 = Scope(user_id=4, role="account_manager", team_id=1)
EXEC = Scope(user_id=1, role="executive")


def _code(engine: Engine, team: int) -> str:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT MIN(code) FROM accounts WHERE team_id = :t AND status = 'active'"),
            {"t": team},
        ).scalar()


def test_manager_cannot_load_another_teams_profile(fixture_engine: Engine) -> None:
    with fixture_engine.connect() as conn:
        assert load_profile_data(conn, TEAM1, _code(fixture_engine, 2), END) is None
        assert load_profile_data(conn, TEAM1, _code(fixture_engine, 1), END) is not None


def test_profile_revenue_matches_fact_table(fixture_engine: Engine) -> None:
    code = _code(fixture_engine, 3)
    with fixture_engine.connect() as conn:
        p = load_profile_data(conn, EXEC, code, END)
        expected = conn.execute(
            text(
                "SELECT SUM(r.revenue) FROM revenue_monthly r "
                "JOIN accounts a ON a.id = r.account_id WHERE a.code = :c "
                "AND r.month BETWEEN '2025-07-01' AND '2026-06-01'"
            ),
            {"c": code},
        ).scalar()
    assert p.value.revenue_12m == pytest.approx(expected)
    assert p.header["code"] == code
    assert len(p.contacts) >= 2
    assert p.team.iloc[0]["role"] == "relationship_manager"
    assert p.timeline["when"].is_monotonic_decreasing


def test_whitespace_suggests_only_products_not_held(fixture_engine: Engine) -> None:
    with fixture_engine.connect() as conn:
        for team in (1, 2, 3):
            p = load_profile_data(conn, EXEC, _code(fixture_engine, team), END)
            held = set(p.holdings.loc[p.holdings["closed_on"].isna(), "product"])
            assert not set(p.whitespace["product"]) & held
            assert (p.whitespace["peer_share"].diff().dropna() <= 0).all()


def test_snapshot_clv_equals_the_profile_clv(fixture_engine: Engine) -> None:
    code = _code(fixture_engine, 1)
    with fixture_engine.connect() as conn:
        p = load_profile_data(conn, EXEC, code, END)
        row = conn.execute(
            text(
                "SELECT s.clv, s.clv_low, s.clv_high FROM account_scores s JOIN accounts a "
                "ON a.id = s.account_id WHERE a.code = :c AND s.as_of = '2026-06-30'"
            ),
            {"c": code},
        ).one()
    assert p.clv.sufficient
    assert row.clv == pytest.approx(p.clv.value, rel=1e-9)
    assert row.clv_low == pytest.approx(p.clv.low, rel=1e-9)
    assert row.clv_high == pytest.approx(p.clv.high, rel=1e-9)
