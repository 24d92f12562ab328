"""App: the admin settings page — tiers versioned, recompute with progress, apply."""

from sqlalchemy.engine import URL

from tests.app.conftest import run_page
from tests.conftest import scalar


def test_admin_saves_a_new_version(app_db: URL) -> None:
    at = run_page("pages/settings.py", app_db, "admin")
    assert not at.exception
    assert "Settings" in [t.value for t in at.title]
    assert len(at.sidebar.multiselect) == 0  # portfolio filters do not apply here
    assert at.number_input(key="_w_hw_product_depth").value == 0.15  # health weights, built in
    assert "Health score weights and bands" in [s.value for s in at.subheader]
    before = scalar(app_db, "SELECT COUNT(*) FROM setting_versions")
    at.number_input(key="_w_wt_growth").set_value(0.2)
    at.button(key="save_tiering").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Saved as version")
    assert scalar(app_db, "SELECT COUNT(*) FROM setting_versions") == before + 1


def test_recompute_shows_progress_and_writes_snapshots(app_db: URL) -> None:
    at = run_page("pages/settings.py", app_db, "admin")
    at.button(key="recompute").click().run()
    assert not at.exception
    assert any("snapshots written" in s.label for s in at.status)


def test_settings_are_for_admins_only(app_db: URL) -> None:
    for user in ("exec", "manager"):
        at = run_page("pages/settings.py", app_db, user)
        assert [e.value for e in at.error] == ["Your role may not open this page."]
        assert len(at.number_input) == 0
