"""App: the home page shows real figures for each role, checked against direct SQL."""

from __future__ import annotations

import math

from babel.numbers import format_compact_decimal, format_decimal
from sqlalchemy import text
from sqlalchemy.engine import URL

from data_access import auth
from data_access.engine import create_engine_for
from tests.app.conftest import run_page
from tests.conftest import scalar

END = "2026-06-30"
ACTIVE_SQL = (
    "SELECT COUNT(*) FROM accounts WHERE onboarded_on <= :end "
    "AND (churned_on IS NULL OR churned_on > :end) {team}"
)


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _expected_nps(url: URL, team: str = "") -> tuple[str, int]:
    engine = create_engine_for(url)
    with engine.connect() as conn:
        scores = (
            conn.execute(
                text(
                    "SELECT s.score FROM survey_responses s "
                    "JOIN accounts a ON a.id = s.account_id WHERE s.survey = 'nps' "
                    f"AND s.responded_on BETWEEN '2025-07-01' AND :end {team}"
                ),
                {"end": END},
            )
            .scalars()
            .all()
        )
    engine.dispose()
    n = len(scores)
    nps = 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / n
    return format_decimal(nps, format="#,##0.0", locale="en"), n


def test_executive_sees_whole_portfolio_figures(app_db: URL) -> None:
    at = run_page("app.py", app_db, "exec")
    assert not at.exception
    m = _metrics(at)
    active = scalar(app_db, ACTIVE_SQL.format(team=""), end=END)
    assert m["Active accounts"] == f"{active:,}"
    revenue = scalar(
        app_db,
        "SELECT SUM(revenue) FROM revenue_monthly "
        "WHERE month BETWEEN '2025-07-01' AND '2026-06-01'",
    )
    expected_revenue = format_compact_decimal(
        revenue, format_type="short", locale="en", fraction_digits=1
    )
    assert m["Revenue, last 12 months"] == f"¥{expected_revenue}"
    nps, n = _expected_nps(app_db)
    assert m["NPS, 12 months"] == nps
    captions = " ".join(c.value for c in at.caption)
    assert f"n = {n:,}" in captions
    assert "95% CI" in captions
    assert len(at.get("plotly_chart")) == 6


def test_manager_sees_only_their_team(app_db: URL) -> None:
    at = run_page("app.py", app_db, "manager")
    assert not at.exception
    assert "My team's portfolio" in [t.value for t in at.title]
    m = _metrics(at)
    active = scalar(app_db, ACTIVE_SQL.format(team="AND team_id = 1"), end=END)
    assert m["Active accounts"] == f"{active:,}"
    nps, _ = _expected_nps(app_db, "AND a.team_id = 1")
    assert m["NPS, 12 months"] == nps
    assert "Team" not in [w.label for w in at.sidebar.multiselect]


def test_admin_sees_whole_portfolio(app_db: URL) -> None:
    at = run_page("app.py", app_db, "admin")
    active = scalar(app_db, ACTIVE_SQL.format(team=""), end=END)
    assert _metrics(at)["Active accounts"] == f"{active:,}"


def test_region_filter_changes_every_figure(app_db: URL) -> None:
    at = run_page("app.py", app_db, "exec")
    before = _metrics(at)
    at.sidebar.multiselect(key="_w_regions").set_value(["south"]).run()
    after = _metrics(at)
    active = scalar(app_db, ACTIVE_SQL.format(team="AND region = 'south'"), end=END)
    assert after["Active accounts"] == f"{active:,}"
    changed = [k for k in before if before[k] != after[k]]
    assert len(changed) >= 6


def test_earlier_period_moves_the_window(app_db: URL) -> None:
    at = run_page("app.py", app_db, "exec")
    periods = at.sidebar.selectbox(key="_w_period")
    periods.select_index(6).run()
    active = scalar(app_db, ACTIVE_SQL.format(team=""), end="2025-12-31")
    assert _metrics(at)["Active accounts"] == f"{active:,}"
    assert any("Jan 2025 – Dec 2025" in c.value for c in at.caption)


def test_chinese_interface_formats_amounts_in_wan_and_yi(app_db: URL) -> None:
    at = run_page("app.py", app_db, "exec", lang="zh")
    assert "客户组合总览" in [t.value for t in at.title]
    revenue = _metrics(at)["近12个月收入"]
    assert revenue.startswith("¥")
    assert revenue[-1] in "万亿"
    assert not math.isnan(float(revenue[1:-1]))


def test_language_switch_is_remembered_for_the_user(app_db: URL) -> None:
    at = run_page("app.py", app_db, "manager", lang="zh")
    at.sidebar.radio(key="_w_lang").set_value("en").run()
    assert "My team's portfolio" in [t.value for t in at.title]
    locale = scalar(app_db, "SELECT locale FROM users WHERE username = 'manager'")
    assert locale == "en"


def test_logout_returns_to_login_and_ends_the_session(app_db: URL) -> None:
    at = run_page("app.py", app_db, "exec")
    session_id = at.session_state["session_id"]
    at.sidebar.button(key="logout").click().run()
    assert at.text_input(key="_w_username") is not None
    assert len(at.metric) == 0
    revoked = scalar(
        app_db,
        "SELECT revoked_at FROM user_sessions WHERE id = :id",
        id=auth.session_key(session_id),
    )
    assert revoked is not None
