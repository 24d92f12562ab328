"""App: the satisfaction page per role, with figures recomputed in SQL."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import URL

from data_access.engine import create_engine_for
from tests.app.conftest import run_page

PAGE = "pages/satisfaction.py"
LAST_MONTH = ("2026-06-01", "2026-06-30")


def _row(url: URL, sql: str, **params: object) -> tuple:
    engine = create_engine_for(url)
    with engine.begin() as conn:
        result = conn.execute(text(sql), params)
        row = result.one() if result.returns_rows else ()
    engine.dispose()
    return tuple(row)


def _nps(url: URL, start: str, end: str, team: int | None = None) -> tuple[int, float | None]:
    team_sql = "AND a.team_id = :team" if team else ""
    n, p, d = _row(
        url,
        "SELECT COUNT(*), SUM(CASE WHEN s.score >= 9 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN s.score <= 6 THEN 1 ELSE 0 END) FROM survey_responses s "
        f"JOIN accounts a ON a.id = s.account_id WHERE s.survey = 'nps' {team_sql} "
        "AND s.responded_on BETWEEN :start AND :end",
        start=start,
        end=end,
        team=team,
    )
    return n, (100 * (p - d) / n if n else None)


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_executive_sees_the_portfolio_nps_of_the_last_month(app_db: URL) -> None:
    at = run_page(PAGE, app_db, "exec")
    assert not at.exception
    n, nps = _nps(app_db, *LAST_MONTH)
    assert n >= 30
    assert _metric(at, "NPS, latest period") == f"{nps:.1f}"
    assert any(
        c.value.startswith("Jun 2026: 95% CI") and f"n = {n} answers" in c.value for c in at.caption
    )


def test_manager_sees_only_their_team_and_the_minimum_n_guard(app_db: URL) -> None:
    at = run_page(PAGE, app_db, "manager")
    assert not at.exception
    n, nps = _nps(app_db, *LAST_MONTH, team=1)
    expected = f"{nps:.1f}" if n >= 30 else "Insufficient data"
    assert _metric(at, "NPS, latest period") == expected


def test_respondent_nps_of_the_period_is_the_overview_nps(app_db: URL) -> None:
    at = run_page(PAGE, app_db, "exec", tab=("sat.tab", "aggregation"))
    _, nps = _nps(app_db, "2025-07-01", "2026-06-30")
    assert _metric(at, "NPS, respondent level") == f"{nps:.1f}"
    home = run_page("app.py", app_db, "exec")
    assert _metric(home, "NPS, 12 months") == f"{nps:.1f}"


def test_comment_search_finds_chinese_text(app_db: URL) -> None:
    at = run_page(PAGE, app_db, "exec", tab=("sat.tab", "comments"))
    at.text_input(key="_w_cm_text").set_value("费率").run()
    table = next(df.value for df in at.dataframe if "comment" in df.value.columns)
    assert len(table) > 0
    assert table["comment"].str.contains("费率").all()


def test_closed_loop_follow_up_is_created_once(app_db: URL) -> None:
    at = run_page(PAGE, app_db, "manager", tab=("sat.tab", "loop"))
    assert not at.exception
    pick = at.selectbox(key="_w_loop_pick")
    response_id = pick.value
    at.button(key="_w_loop_create").click().run()
    (new_id,) = _row(
        app_db, "SELECT id FROM interventions WHERE request_token = :t", t=f"d:{response_id}"
    )
    assert f"Follow-up intervention #{new_id} planned." in [s.value for s in at.success]
    # The answer has its follow-up now: it left the list.
    assert response_id not in at.selectbox(key="_w_loop_pick").options
    (count,) = _row(
        app_db,
        "SELECT COUNT(*) FROM interventions WHERE request_token = :t",
        t=f"d:{response_id}",
    )
    assert count == 1


def test_drops_tab_reports_the_scan(app_db: URL) -> None:
    at = run_page(PAGE, app_db, "exec", tab=("sat.tab", "drops"))
    assert any("segment × month comparisons tested" in c.value for c in at.caption)


def test_seasonality_tab_fits_every_nps_answer(app_db: URL) -> None:
    """Its own tab: the trend tab does not read single answers; this one fits all of them."""
    (n,) = _row(
        app_db,
        "SELECT COUNT(*) FROM survey_responses WHERE survey = 'nps' "
        "AND responded_on BETWEEN :start AND :end",
        start="2023-07-01",
        end=LAST_MONTH[1],
    )
    at = run_page(PAGE, app_db, "exec", tab=("sat.tab", "seasonality"))
    assert not at.exception
    text_ = " ".join(c.value for c in at.caption)
    assert f"errors clustered by account ({n:,} answers)" in text_
    trends = run_page(PAGE, app_db, "exec")
    assert "errors clustered by account" not in " ".join(c.value for c in trends.caption)
