"""App: the account profile per role, deep links, scope, forms and the brief's figures."""

from __future__ import annotations

import datetime as dt

from babel.numbers import format_compact_decimal
from sqlalchemy.engine import URL

from data_access.engine import create_engine_for
from tests.app.conftest import open_tab, run_page
from tests.conftest import fetch_all, scalar

PAGE = "pages/profile.py"
RELATIONSHIPS = ("profile.section", "relationships")


def _team_account(url: URL, team: int) -> str:
    return scalar(
        url, "SELECT MIN(code) FROM accounts WHERE team_id = :t AND status = 'active'", t=team
    )


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_executive_opens_any_profile_with_real_figures(app_db: URL) -> None:
    code = _team_account(app_db, 3)
    at = run_page(PAGE, app_db, "exec", query={"account": code})
    assert not at.exception
    name = scalar(app_db, "SELECT name FROM accounts WHERE code = :c", c=code)
    assert name in [t.value for t in at.title]
    revenue = scalar(
        app_db,
        "SELECT SUM(r.revenue) FROM revenue_monthly r JOIN accounts a "
        "ON a.id = r.account_id WHERE a.code = :c AND r.month BETWEEN "
        "'2025-07-01' AND '2026-06-01'",
        c=code,
    )
    expected = (
        format_compact_decimal(revenue, format_type="short", locale="en", fraction_digits=1)
        if revenue >= 1000
        else f"{revenue:,.0f}"
    )
    assert _metrics(at)["Revenue, last 12 months"] == f"¥{expected}"
    assert len(at.tabs) == 7
    # Executives read; they get no forms.
    assert not any(f.id.endswith("log_interaction") for f in at.get("form"))


def test_manager_opens_own_team_profile_with_forms(app_db: URL) -> None:
    code = _team_account(app_db, 1)
    at = run_page(PAGE, app_db, "manager", query={"account": code})
    assert not at.exception
    labels = {m.label for m in at.metric}
    assert {
        "Revenue, last 12 months",
        "Customer lifetime value",
        "Health",
        "12-month churn risk",
        "Tier",
        "Stage",
    } <= labels
    open_tab(at, "profile.section", "relationships")
    assert at.text_input(key="_w_nc_name") is not None


def test_deep_link_outside_scope_shows_not_found_and_nothing_else(app_db: URL) -> None:
    code = _team_account(app_db, 2)
    at = run_page(PAGE, app_db, "manager", query={"account": code})
    assert [e.value for e in at.error] == ["Account not found or not permitted."]
    assert len(at.metric) == 0
    assert len(at.dataframe) == 0
    name = scalar(app_db, "SELECT name FROM accounts WHERE code = :c", c=code)
    assert name not in [t.value for t in at.title]


def test_unknown_code_reads_the_same_as_forbidden(app_db: URL) -> None:
    at = run_page(PAGE, app_db, "exec", query={"account": "NOPE-1"})
    assert [e.value for e in at.error] == ["Account not found or not permitted."]


def test_without_a_link_the_page_offers_a_picker(app_db: URL) -> None:
    at = run_page(PAGE, app_db, "manager")
    assert not at.exception
    picker = at.main.selectbox[0]
    assert picker.label == "Choose an account"
    assert len(picker.options) == scalar(
        app_db,
        "SELECT COUNT(*) FROM accounts WHERE team_id = 1 AND onboarded_on <= '2026-06-30' "
        "AND (churned_on IS NULL OR churned_on >= '2024-07-01')",
    )


def test_a_large_portfolio_offers_its_largest_accounts_and_finds_any_by_search(
    app_db: URL, monkeypatch
) -> None:
    from components import profile_view

    monkeypatch.setattr(profile_view, "PICKER_OPTIONS", 10)
    relevant = (
        "FROM accounts a LEFT JOIN account_periods p ON p.account_id = a.id "
        "AND p.month = '2026-06-01' WHERE a.onboarded_on <= '2026-06-30' "
        "AND (a.churned_on IS NULL OR a.churned_on >= '2024-07-01')"
    )
    total = scalar(app_db, f"SELECT COUNT(*) {relevant}")
    at = run_page(PAGE, app_db, "exec")
    assert not at.exception
    picker = at.main.selectbox[0]
    assert len(picker.options) == 10
    note = (
        "The 10 accounts with the most revenue are offered; search by name or code to "
        f"find any of all {total:,}."
    )
    assert note in [c.value for c in at.caption]
    # The smallest account is not offered until it is searched for.
    code, name = fetch_all(
        app_db,
        f"SELECT a.code, a.name {relevant} ORDER BY coalesce(p.revenue_12m, 0), a.id LIMIT 1",
    )[0]
    assert f"{name} ({code})" not in picker.options
    at.text_input(key="_w_pick_q").set_value(code.lower()).run()
    assert at.main.selectbox[0].options == [f"{name} ({code})"]
    assert note not in [c.value for c in at.caption]


def test_add_stakeholder_from_the_profile(app_db: URL) -> None:
    code = _team_account(app_db, 1)
    at = run_page(PAGE, app_db, "manager", query={"account": code}, tab=RELATIONSHIPS)
    at.text_input(key="_w_nc_name").set_value("赵六")
    at.text_input(key="_w_nc_title").set_value("资金总监")
    at.button(key="FormSubmitter:add_contact-Save").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Stakeholder 赵六 saved."]
    n = scalar(
        app_db,
        "SELECT COUNT(*) FROM contacts c JOIN accounts a ON a.id = c.account_id "
        "WHERE a.code = :c AND c.name = '赵六'",
        c=code,
    )
    assert n == 1
    shown = [df.value for df in at.dataframe if "name" in df.value.columns]
    assert any("赵六" in set(df["name"]) for df in shown)


def test_invalid_stakeholder_gets_translated_messages(app_db: URL) -> None:
    code = _team_account(app_db, 1)
    at = run_page(PAGE, app_db, "manager", lang="zh", query={"account": code}, tab=RELATIONSHIPS)
    at.button(key="FormSubmitter:add_contact-保存").click().run()
    assert "姓名：为必填项" in [e.value for e in at.error]


def test_brief_figures_are_the_page_figures(app_db: URL) -> None:
    """The Markdown brief prints exactly the key figures shown on the page."""
    from components import brief
    from data_access.profile import load_profile_data
    from data_access.scope import Scope

    code = _team_account(app_db, 1)
    at = run_page(PAGE, app_db, "manager", lang="zh", query={"account": code})
    page = _metrics(at)
    engine = create_engine_for(app_db)
    with engine.connect() as conn:
        data = load_profile_data(conn, Scope(4, "account_manager", 1), code, dt.date(2026, 6, 30))
    engine.dispose()
    markdown = brief.to_markdown(brief.build_brief(data))
    for label_, value in page.items():
        assert f"| {label_} | {value} |" in markdown
