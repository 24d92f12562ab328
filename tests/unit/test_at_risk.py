"""Unit: the lifecycle page's revenue at risk agrees with plain SQL on both databases."""

import datetime as dt

import pytest
from sqlalchemy import Engine, text

from data_access.lifecycle import fetch_at_risk
from data_access.scope import Filters, Scope

EXEC = Scope(user_id=1, role="executive")
TEAM1 = Scope(user_id=4, role="account_manager", team_id=1)
JUNE = Filters(period_end=dt.date(2026, 6, 30))


def _plain(conn, team_id: int | None) -> list[tuple[str, float]]:
    """(code, churn risk × 12-month revenue) of every scored active account in view."""
    rows = conn.execute(
        text(
            "SELECT a.code, s.churn_risk * p.revenue_12m FROM accounts a "
            "JOIN account_scores s ON s.account_id = a.id AND s.as_of = '2026-06-30' "
            "JOIN account_periods p ON p.account_id = a.id AND p.month = '2026-06-01' "
            "WHERE s.churn_risk IS NOT NULL "
            "AND (a.churned_on IS NULL OR a.churned_on > '2026-06-30') "
            "AND a.onboarded_on <= '2026-06-30' "
            + ("" if team_id is None else "AND a.team_id = :team")
        ),
        {} if team_id is None else {"team": team_id},
    ).all()
    return [(code, float(v)) for code, v in rows]


@pytest.mark.parametrize(("scope", "team"), [(EXEC, None), (TEAM1, 1)])
def test_revenue_at_risk_is_summed_and_ranked_over_the_accounts_in_view(
    fixture_engine: Engine, scope: Scope, team: int | None
) -> None:
    with fixture_engine.connect() as conn:
        got = fetch_at_risk(conn, scope, JUNE, limit=10)
        plain = _plain(conn, team)
    assert got.attrs["n_scored"] == len(plain) > 10
    assert got.attrs["total_expected"] == pytest.approx(sum(v for _, v in plain), rel=1e-9)
    ranked = sorted((v for _, v in plain), reverse=True)[:10]
    assert got["revenue_at_risk"].tolist() == pytest.approx(ranked, rel=1e-9)
    at_risk = dict(plain)
    pairs = zip(got["code"], got["revenue_at_risk"], strict=True)
    assert all(at_risk[code] == pytest.approx(v) for code, v in pairs)
