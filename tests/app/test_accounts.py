"""App: the account list shows the viewer's accounts, searches and exports them."""

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import URL

from components.cards import neutralise_formulas
from components.i18n import label
from data_access.engine import create_engine_for
from tests.app.conftest import run_page
from tests.conftest import fetch_all

END = "2026-06-30"


def _codes(url: URL, where: str) -> set[str]:
    rows = fetch_all(
        url,
        "SELECT code FROM accounts WHERE onboarded_on <= :end "
        f"AND (churned_on IS NULL OR churned_on > :end) {where}",
        end=END,
    )
    return {code for (code,) in rows}


def _listed(at) -> set[str]:
    """Account codes in the list (the code column links to the profile)."""
    return {link.removeprefix("/profile?account=") for link in at.dataframe[0].value["code"]}


def test_executive_lists_every_active_account(app_db: URL) -> None:
    at = run_page("pages/accounts.py", app_db, "exec")
    assert not at.exception
    assert _listed(at) == _codes(app_db, "")
    assert at.dataframe[0].value["code"].str.startswith("/profile?account=").all()


def test_manager_lists_only_their_team(app_db: URL) -> None:
    at = run_page("pages/accounts.py", app_db, "manager")
    assert _listed(at) == _codes(app_db, "AND team_id = 1")


def test_search_by_code_from_a_link(app_db: URL) -> None:
    code = sorted(_codes(app_db, ""))[0]
    at = run_page("pages/accounts.py", app_db, "exec", query={"q": code})
    assert _listed(at) == {code}


def test_search_by_chinese_name_fragment(app_db: URL) -> None:
    at = run_page("pages/accounts.py", app_db, "exec")
    at.text_input(key="_w_q").set_value("科技").run()
    names = at.dataframe[0].value["name"]
    assert len(names) > 0
    assert names.str.contains("科技").all()


def test_manager_cannot_find_another_teams_account_by_link(app_db: URL) -> None:
    other = sorted(_codes(app_db, "AND team_id = 2"))[0]
    at = run_page("pages/accounts.py", app_db, "manager", query={"q": other})
    assert len(at.dataframe[0].value) == 0


def test_export_neutralises_formula_cells() -> None:
    frame = pd.DataFrame(
        {"name": ['=HYPERLINK("x")', "+1", "-2", "@SUM(A1)", "普通"], "n": [1, 2, 3, 4, 5]}
    )
    safe = neutralise_formulas(frame)
    assert list(safe["name"]) == ['\'=HYPERLINK("x")', "'+1", "'-2", "'@SUM(A1)", "普通"]
    assert list(safe["n"]) == [1, 2, 3, 4, 5]


def test_trend_arrows_only_beyond_noise(app_db: URL) -> None:
    at = run_page("pages/accounts.py", app_db, "exec")
    arrows = at.dataframe[0].value["health_trend"]
    assert set(arrows) <= {"", "▲", "▼"}
    assert (arrows == "").sum() > len(arrows) / 2


def test_matrix_link_presets_tier_and_band(app_db: URL) -> None:
    at = run_page("pages/accounts.py", app_db, "exec", query={"tier": "value", "band": "watch"})
    table = at.dataframe[0].value
    assert len(table) > 0
    assert set(table["tier"]) == {"Value"}
    assert set(table["health_band"]) == {"Watch"}
    engine = create_engine_for(app_db)
    with engine.connect() as conn:
        n = conn.execute(
            text(
                "SELECT COUNT(*) FROM accounts a JOIN account_scores s ON s.account_id = a.id "
                "AND s.as_of = '2026-06-30' WHERE a.tier = 'value' AND s.health_band = 'watch' "
                "AND (a.churned_on IS NULL OR a.churned_on > '2026-06-30')"
            )
        ).scalar()
    engine.dispose()
    assert len(table) == n


def test_a_long_list_sends_only_the_largest_accounts(app_db: URL, monkeypatch) -> None:
    from components import account_list

    monkeypatch.setattr(account_list, "TABLE_ROWS", 25)
    at = run_page("pages/accounts.py", app_db, "exec")
    assert not at.exception
    shown = at.dataframe[0].value
    assert len(shown) == 25
    assert shown["revenue_12m"].is_monotonic_decreasing
    total = len(_codes(app_db, ""))
    note = (
        "The table shows the 25 accounts with the most revenue; search or filter to narrow "
        f"the list, or download all {total:,}."
    )
    assert note in [c.value for c in at.caption]


def test_stage_and_health_shown_are_each_accounts_at_the_period_end(app_db: URL) -> None:
    """Read for the shown rows only: each row's stage is the event holding on the period
    end (by day, then by id) and its health score the snapshot of that day."""
    at = run_page("pages/accounts.py", app_db, "exec")
    shown = at.dataframe[0].value
    shown = shown.assign(code=shown["code"].str.removeprefix("/profile?account="))
    events = fetch_all(
        app_db,
        "SELECT a.code, e.stage FROM lifecycle_events e JOIN accounts a ON a.id = e.account_id "
        "WHERE e.entered_on <= :end ORDER BY e.entered_on, e.id",
        end=END,
    )
    stage = dict(events)  # the last event by day, then id, holds
    health = dict(
        fetch_all(
            app_db,
            "SELECT a.code, s.health_score FROM account_scores s "
            "JOIN accounts a ON a.id = s.account_id WHERE s.as_of = :end",
            end=END,
        )
    )
    names = {code: label("stage", code, "en") for code in set(stage.values())}
    assert len(shown) > 100
    assert shown["code"].isin(list(health)).mean() > 0.9
    assert (shown["stage"] != "").all()
    rows = zip(shown["code"], shown["stage"], shown["health_score"], strict=True)
    for code, stage_name, score in rows:
        assert stage_name == names[stage[code]], code
        if code in health:
            assert abs(score - health[code]) < 1e-9, code
        else:
            assert pd.isna(score), code
