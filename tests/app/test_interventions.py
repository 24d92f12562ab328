"""App: the interventions page per role — lists, forms, conflicts, effects — on a real database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.engine import URL

from data_access.engine import create_engine_for
from tests.app.conftest import open_tab, run_page

PAGE = "pages/interventions.py"
MANAGER_ID = 4


def _sql(url: URL, sql: str, **params: object) -> object:
    engine = create_engine_for(url)
    with engine.begin() as conn:
        result = conn.execute(text(sql), params)
        value = result.scalar() if result.returns_rows else None
    engine.dispose()
    return value


def _window() -> dict[str, dt.date]:
    today = dt.date.today()
    return {"lo": today - dt.timedelta(days=180), "hi": today + dt.timedelta(days=90)}


def _table_with(at, column: str):
    return next(df.value for df in at.dataframe if column in df.value.columns)


def test_manager_sees_own_open_items_and_only_their_team(app_db: URL) -> None:
    at = run_page(PAGE, app_db, "manager")
    assert not at.exception
    assert [tab.label for tab in at.tabs][:2] == ["My interventions", "Team board"]
    mine = _sql(
        app_db,
        "SELECT COUNT(*) FROM interventions WHERE owner_id = :u AND status IN "
        "('planned', 'in_progress') AND due_on BETWEEN :lo AND :hi",
        u=MANAGER_ID,
        **_window(),
    )
    assert f"{mine} open interventions you own." in [c.value for c in at.caption]
    shown = _table_with(at, "link")
    assert len(shown) == mine
    # Every row is an account of team 1.
    codes = set(shown["account"].str.extract(r"account=(.*)$")[0])
    teams = _sql(
        app_db,
        "SELECT COUNT(DISTINCT team_id) FROM accounts WHERE code IN ("
        + ",".join(f"'{c}'" for c in codes)
        + ")",
    )
    assert teams == 1


def test_executive_reads_everything_and_gets_no_forms(app_db: URL) -> None:
    at = run_page(PAGE, app_db, "exec")
    assert not at.exception
    assert "Playbooks" not in [tab.label for tab in at.tabs]
    assert not [e for e in at.expander if e.label == "Plan an intervention"]
    open_all = _sql(
        app_db,
        "SELECT COUNT(*) FROM interventions WHERE status IN ('planned', 'in_progress') "
        "AND due_on BETWEEN :lo AND :hi",
        **_window(),
    )
    assert f"{open_all} open interventions in view." in [c.value for c in at.caption]


def test_deep_link_to_another_teams_intervention_is_refused(app_db: URL) -> None:
    other = _sql(
        app_db,
        "SELECT MIN(i.id) FROM interventions i JOIN accounts a ON a.id = i.account_id "
        "WHERE a.team_id = 2",
    )
    at = run_page(PAGE, app_db, "manager", query={"id": str(other)})
    assert "Intervention not found or not permitted." in [e.value for e in at.error]
    title = _sql(app_db, "SELECT title FROM interventions WHERE id = :i", i=other)
    assert f"#{other} · {title}" not in [s.value for s in at.subheader]


def test_create_twice_by_double_click_saves_one_record(app_db: URL) -> None:
    account = _sql(app_db, "SELECT MIN(id) FROM accounts WHERE team_id = 1 AND status = 'active'")
    at = run_page(PAGE, app_db, "manager")
    at.selectbox(key="_w_new_iv_any_account").set_value(account)
    at.text_input(key="_w_new_iv_any_title").set_value("季度回顾准备")
    at.button(key="FormSubmitter:new_iv_any-Save").click().run()
    assert not at.exception
    new_id = _sql(app_db, "SELECT MAX(id) FROM interventions WHERE title = '季度回顾准备'")
    assert [s.value for s in at.success] == [f"Intervention #{new_id} saved."]
    at.button(key="FormSubmitter:new_iv_any-Save").click().run()  # the same form again
    assert [s.value for s in at.success] == [
        f"This intervention was already saved as #{new_id}; nothing was added twice."
    ]
    assert _sql(app_db, "SELECT COUNT(*) FROM interventions WHERE title = '季度回顾准备'") == 1


def test_missing_title_gets_a_translated_message_and_nothing_is_saved(app_db: URL) -> None:
    account = _sql(app_db, "SELECT MIN(id) FROM accounts WHERE team_id = 1 AND status = 'active'")
    before = _sql(app_db, "SELECT COUNT(*) FROM interventions")
    at = run_page(PAGE, app_db, "manager", lang="zh")
    at.selectbox(key="_w_new_iv_any_account").set_value(account)
    at.button(key="FormSubmitter:new_iv_any-保存").click().run()
    assert "主题：为必填项" in [e.value for e in at.error]
    assert _sql(app_db, "SELECT COUNT(*) FROM interventions") == before


def test_conflicting_edit_is_refused_with_what_changed_and_input_kept(app_db: URL) -> None:
    iv_id = _sql(
        app_db,
        "SELECT MIN(i.id) FROM interventions i JOIN accounts a ON a.id = i.account_id "
        "WHERE a.team_id = 1 AND i.status = 'planned'",
    )
    at = run_page(PAGE, app_db, "manager", query={"id": str(iv_id)})
    assert not at.exception
    at.text_input(key=f"_w_eiv{iv_id}_title").set_value("My new subject")
    # Someone else saves first.
    _sql(
        app_db,
        "UPDATE interventions SET title = 'Their subject', version = version + 1 WHERE id = :i",
        i=iv_id,
    )
    at.button(key=f"FormSubmitter:edit_iv_{iv_id}-Save").click().run()
    assert any(e.value.startswith("Someone else saved this intervention") for e in at.error)
    diff = _table_with(at, "Your input")
    assert {"My new subject", "Their subject"} <= set(diff["Your input"]) | set(
        diff["Saved by the other user"]
    )
    assert at.text_input(key=f"_w_eiv{iv_id}_title").value == "My new subject"
    at.button(key=f"FormSubmitter:edit_iv_{iv_id}-Save").click().run()  # retry
    assert _sql(app_db, "SELECT title FROM interventions WHERE id = :i", i=iv_id) == (
        "My new subject"
    )


def test_complete_with_outcome_from_the_detail(app_db: URL) -> None:
    iv_id = _sql(
        app_db,
        "SELECT MIN(i.id) FROM interventions i JOIN accounts a ON a.id = i.account_id "
        "WHERE a.team_id = 1 AND i.status = 'planned'",
    )
    at = run_page(PAGE, app_db, "manager", query={"id": str(iv_id)})
    at.radio(key=f"_w_siv{iv_id}_action").set_value("complete")
    at.button(key=f"FormSubmitter:status_iv_{iv_id}-Apply").click().run()
    assert any(e.value == "Outcome: is required" for e in at.error)
    at.selectbox(key=f"_w_siv{iv_id}_outcome").set_value("achieved")
    at.button(key=f"FormSubmitter:status_iv_{iv_id}-Apply").click().run()
    assert not at.exception
    status, outcome = (
        _sql(app_db, "SELECT status FROM interventions WHERE id = :i", i=iv_id),
        _sql(app_db, "SELECT outcome FROM interventions WHERE id = :i", i=iv_id),
    )
    assert (status, outcome) == ("done", "achieved")


def test_effectiveness_shows_the_model_runs_figures(app_db: URL) -> None:
    import json

    stats = _sql(
        app_db,
        "SELECT stats FROM model_runs WHERE kind = 'intervention_effects' ORDER BY id DESC",
    )
    stats = json.loads(stats) if isinstance(stats, str) else stats
    pooled = next(
        r
        for r in stats["effects"]
        if (r["kind"], r["tier"], r["outcome"], r["horizon"]) == ("all", "all", "nps", 6)
    )
    at = run_page(PAGE, app_db, "exec", tab=("iv.tab", "effectiveness"))
    table = _table_with(at, "Matched estimate (95% CI)")
    first = table.iloc[0]
    assert first["Kind"] == "All kinds"
    assert first["Matched estimate (95% CI)"] == (
        f"{pooled['effect']:.1f} ({pooled['low']:.1f} … {pooled['high']:.1f})"
    )
    assert first["Interventions"] == pooled["n_treated"]


def test_admin_checks_the_alert_rules_and_nothing_is_duplicated(app_db: URL) -> None:
    at = run_page(PAGE, app_db, "admin", tab=("iv.tab", "alerts"))
    at.button(key="_w_run_rules").click().run()
    assert not at.exception
    assert any(s.value.startswith("Alert rules checked:") for s in at.success)
    at.button(key="_w_run_rules").click().run()  # again: nothing new
    assert any(s.value.startswith("Alert rules checked: 0 new suggestions") for s in at.success)
    dupes = _sql(
        app_db,
        "SELECT COUNT(*) FROM (SELECT account_id, rule FROM interventions WHERE rule IS NOT "
        "NULL AND status IN ('planned', 'in_progress') GROUP BY account_id, rule "
        "HAVING COUNT(*) > 1) d",
    )
    assert dupes == 0


def test_manager_home_lists_open_alerts(app_db: URL) -> None:
    at = run_page("app.py", app_db, "manager")
    assert not at.exception
    assert "Your alerts and due items" in [s.value for s in at.subheader]
    alerts = _sql(
        app_db,
        "SELECT COUNT(*) FROM interventions i JOIN accounts a ON a.id = i.account_id "
        "WHERE a.team_id = 1 AND i.rule IS NOT NULL AND i.status IN ('planned', 'in_progress')",
    )
    assert any(c.value.startswith(f"{alerts} open alert suggestions") for c in at.caption)


def test_board_overdue_and_execution_agree_with_the_database(app_db: URL) -> None:
    at = run_page(PAGE, app_db, "manager", tab=("iv.tab", "overdue"))
    window = _window()
    overdue = _sql(
        app_db,
        "SELECT COUNT(*) FROM interventions i JOIN accounts a ON a.id = i.account_id "
        "WHERE a.team_id = 1 AND i.status IN ('planned', 'in_progress') "
        "AND i.due_on < :today AND i.due_on BETWEEN :lo AND :hi",
        today=dt.date.today(),
        **window,
    )
    assert f"{overdue} open interventions are past their due date." in [c.value for c in at.caption]
    planned = _sql(
        app_db,
        "SELECT COUNT(*) FROM interventions i JOIN accounts a ON a.id = i.account_id "
        "WHERE a.team_id = 1 AND i.status = 'planned' AND i.due_on BETWEEN :lo AND :hi",
        **window,
    )
    open_tab(at, "iv.tab", "board")
    assert f"**Planned** · {planned:,}" in [m.value for m in at.markdown]
    open_tab(at, "iv.tab", "execution")
    by_owner = _table_with(at, "Completion rate (95% CI)")
    total = _sql(
        app_db,
        "SELECT COUNT(*) FROM interventions i JOIN accounts a ON a.id = i.account_id "
        "WHERE a.team_id = 1 AND i.due_on BETWEEN :lo AND :hi",
        **window,
    )
    assert int(by_owner["Interventions"].sum()) == total
