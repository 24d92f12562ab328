"""Unit: data_access.portfolio — scoped queries agree with direct SQL on both databases."""

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from data_access import frames
from data_access.portfolio import (
    fetch_account_details,
    fetch_account_list,
    fetch_available_months,
    fetch_filter_options,
    fetch_health_noise,
    fetch_nps_counts,
    fetch_portfolio_accounts,
)
from data_access.scope import Filters, Scope

EXEC = Scope(user_id=1, role="executive")
TEAM1 = Scope(user_id=4, role="account_manager", team_id=1)
NO_TEAM = Scope(user_id=99, role="account_manager", team_id=None)
JUNE = Filters(period_end=dt.date(2026, 6, 30))


def test_executive_sees_every_account(fixture_engine: Engine) -> None:
    with fixture_engine.connect() as conn:
        df = fetch_portfolio_accounts(conn, EXEC, JUNE)
        expected = conn.execute(
            text(
                "SELECT COUNT(*) FROM accounts WHERE onboarded_on <= '2026-06-30' "
                "AND (churned_on IS NULL OR churned_on >= '2024-07-01')"
            )
        ).scalar()
    assert len(df) == expected


def test_manager_sees_only_own_team(fixture_engine: Engine) -> None:
    with fixture_engine.connect() as conn:
        df = fetch_portfolio_accounts(conn, TEAM1, JUNE)
        teams = fetch_filter_options(conn, TEAM1)["teams"]
        team_of = dict(conn.execute(text("SELECT id, team_id FROM accounts")).all())
    assert len(df) > 0
    assert set(df["account_id"].map(team_of)) == {1}
    assert [t["id"] for t in teams] == [1]


def test_manager_without_team_sees_nothing(fixture_engine: Engine) -> None:
    with fixture_engine.connect() as conn:
        assert fetch_portfolio_accounts(conn, NO_TEAM, JUNE).empty
        assert fetch_account_list(conn, NO_TEAM, JUNE).empty
        assert fetch_available_months(conn, NO_TEAM) == []


def test_revenue_matches_the_fact_table(fixture_engine: Engine) -> None:
    with fixture_engine.connect() as conn:
        df = fetch_portfolio_accounts(conn, EXEC, JUNE)
        cur = conn.execute(
            text(
                "SELECT SUM(revenue) FROM revenue_monthly "
                "WHERE month BETWEEN '2025-07-01' AND '2026-06-01'"
            )
        ).scalar()
        prev = conn.execute(
            text(
                "SELECT SUM(revenue) FROM revenue_monthly "
                "WHERE month BETWEEN '2024-07-01' AND '2025-06-01'"
            )
        ).scalar()
    assert df["revenue_12m"].sum() == pytest.approx(cur, rel=1e-9)
    assert df["revenue_prev_12m"].sum() == pytest.approx(prev, rel=1e-9)


def test_filters_narrow_in_sql(fixture_engine: Engine) -> None:
    south = Filters(period_end=JUNE.period_end, regions=("south",), tiers=("strategic",))
    with fixture_engine.connect() as conn:
        df = fetch_portfolio_accounts(conn, EXEC, south)
        region_of = dict(conn.execute(text("SELECT id, region FROM accounts")).all())
    assert len(df) > 0
    assert set(df["account_id"].map(region_of)) == {"south"}
    assert set(df["tier"]) == {"strategic"}


def test_nps_counts_match_direct_sql(fixture_engine: Engine) -> None:
    with fixture_engine.connect() as conn:
        counts = fetch_nps_counts(conn, TEAM1, JUNE)
        row = conn.execute(
            text(
                "SELECT SUM(CASE WHEN s.score >= 9 THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN s.score <= 6 THEN 1 ELSE 0 END), COUNT(*) "
                "FROM survey_responses s JOIN accounts a ON a.id = s.account_id "
                "WHERE a.team_id = 1 AND s.survey = 'nps' "
                "AND s.responded_on BETWEEN '2025-07-01' AND '2026-06-30'"
            )
        ).one()
    assert counts["promoters"] == row[0]
    assert counts["detractors"] == row[1]
    assert sum(counts.values()) == row[2]


def test_available_months_are_the_36_simulated(fixture_engine: Engine) -> None:
    with fixture_engine.connect() as conn:
        months = fetch_available_months(conn, EXEC)
    assert len(months) == 36
    assert months[0] == dt.date(2026, 6, 1)


def test_account_list_has_owner_products_and_contact_recency(fixture_engine: Engine) -> None:
    with fixture_engine.connect() as conn:
        df = fetch_account_list(conn, TEAM1, JUNE)
        noise = fetch_health_noise(conn, TEAM1, JUNE.period_end)
        details = fetch_account_details(conn, TEAM1, JUNE, df["account_id"].tolist(), noise)
    df = df.merge(details, on="account_id", how="left", validate="one_to_one")
    active = df[df["churned_on"].isna()]
    assert active["owner"].notna().all()
    assert (active["products_held"] >= 1).all()
    assert (df["days_since_contact"].dropna() >= 0).all()
    assert set(df["team_id"]) == {1}


def _details_from_raw(conn, ids: list[int]) -> dict[int, tuple]:
    """Latest NPS answer, last contact and open interventions by plain SQL per account."""
    out = {}
    for i in ids:
        nps = conn.execute(
            text(
                "SELECT score FROM survey_responses WHERE account_id = :i AND survey = 'nps' "
                "AND responded_on <= '2026-06-30' ORDER BY responded_on DESC, id DESC LIMIT 1"
            ),
            {"i": i},
        ).scalar()
        last = conn.execute(
            text(
                "SELECT max(occurred_on) FROM interactions "
                "WHERE account_id = :i AND occurred_on <= '2026-06-30'"
            ),
            {"i": i},
        ).scalar()
        open_iv = conn.execute(
            text(
                "SELECT count(*) FROM interventions WHERE account_id = :i "
                "AND status IN ('planned', 'in_progress')"
            ),
            {"i": i},
        ).scalar()
        days = None if last is None else (JUNE.period_end - dt.date.fromisoformat(str(last))).days
        out[i] = (None if nps is None else float(nps), days, int(open_iv))
    return out


def test_account_details_agree_with_plain_sql_and_stay_in_scope(
    fixture_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fixture_engine.connect() as conn:
        team = fetch_account_list(conn, TEAM1, JUNE)["account_id"].tolist()
        others = fetch_account_list(conn, EXEC, JUNE)
        others = others.loc[others["team_id"] != 1, "account_id"].tolist()
        asked = team[:40] + others[:40]
        few = fetch_account_details(conn, TEAM1, JUNE, asked, None)
        # A download asks for more accounts than a list of ids may hold: read all, narrow.
        monkeypatch.setattr(frames, "MAX_LISTED_IDS", 10)
        many = fetch_account_details(conn, TEAM1, JUNE, asked, None)
        raw = _details_from_raw(conn, team[:40])
    assert sorted(few["account_id"]) == sorted(team[:40]), "other teams' accounts left out"
    pd.testing.assert_frame_equal(
        few.sort_values("account_id").reset_index(drop=True),
        many.sort_values("account_id").reset_index(drop=True),
    )
    got = {
        r.account_id: (
            None if pd.isna(r.latest_nps) else r.latest_nps,
            None if pd.isna(r.days_since_contact) else int(r.days_since_contact),
            r.open_interventions,
        )
        for r in few.itertuples()
    }
    assert got == raw
    assert any(v[0] is not None for v in raw.values())
    assert any(v[2] for v in raw.values())
