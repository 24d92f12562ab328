"""App: Data & users — user administration and the audit log (imports: browser tests)."""

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from data_access import auth, users
from data_access.engine import create_engine_for
from data_access.scope import Scope
from tests.app.conftest import run_page
from tests.conftest import scalar

USERS_TAB = ("admin", "users_tab")


def _drop_user(url: URL, username: str) -> None:
    """Remove a user a test created (the PostgreSQL fixture is shared by the whole run)."""
    engine = create_engine_for(url)
    with engine.begin() as conn:
        uid = conn.execute(text("SELECT id FROM users WHERE username = :u"), {"u": username})
        for (user_id,) in uid.all():
            conn.execute(text("DELETE FROM user_sessions WHERE user_id = :i"), {"i": user_id})
            conn.execute(text("DELETE FROM audit_log WHERE user_id = :i"), {"i": user_id})
            conn.execute(text("DELETE FROM users WHERE id = :i"), {"i": user_id})
    engine.dispose()


@pytest.fixture
def temp_user(app_db: URL) -> Iterator[int]:
    """A signed-in account manager created for one test and removed afterwards."""
    engine = create_engine_for(app_db)
    with engine.begin() as conn:
        admin = conn.execute(text("SELECT id FROM users WHERE username = 'admin'")).scalar()
        team = conn.execute(text("SELECT MIN(id) FROM teams")).scalar()
        uid = users.create_user(
            conn,
            Scope(admin, "admin"),
            "temp.user",
            users.UserInput("临时用户", "account_manager", team),
            "temporary-secret",
        )
        auth.create_session(conn, auth.verify_login(conn, "temp.user", "temporary-secret"))
    engine.dispose()
    yield uid
    _drop_user(app_db, "temp.user")


def test_admin_page_is_for_admins_only(app_db: URL) -> None:
    for user in ("exec", "manager"):
        at = run_page("pages/admin.py", app_db, user)
        assert [e.value for e in at.error] == ["Your role may not open this page."]
        assert len(at.selectbox) == 0


def test_import_tab_offers_every_entity_with_a_template(app_db: URL) -> None:
    at = run_page("pages/admin.py", app_db, "admin")
    assert not at.exception
    assert "Data & users" in [t.value for t in at.title]
    entity = at.selectbox(key="_w_imp_entity")
    assert len(entity.options) == 13
    assert "Monthly revenue" in entity.options
    entity.set_value("revenue").run()
    assert not at.exception
    assert any("account + product + month" in c.value for c in at.caption)


@pytest.fixture
def cleanup_new_manager(app_db: URL) -> Iterator[None]:
    yield
    _drop_user(app_db, "new.manager")


@pytest.mark.usefixtures("cleanup_new_manager")
def test_admin_creates_a_user_who_can_then_sign_in(app_db: URL) -> None:
    at = run_page("pages/admin.py", app_db, "admin", tab=USERS_TAB)
    at.text_input(key="_w_uc_username").input("new.manager")
    at.text_input(key="_w_uc_name").input("新经理")
    at.text_input(key="_w_uc_pw").input("short")
    at.button[[b.label for b in at.button].index("Save")].click().run()
    assert not at.exception
    assert any("at least 10 characters" in e.value for e in at.error)
    assert any("needs a team" in e.value for e in at.error)
    at.selectbox(key="_w_uc_team").select_index(1)
    at.text_input(key="_w_uc_pw").input("a-long-enough-secret")
    at.button[[b.label for b in at.button].index("Save")].click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["User new.manager created."]
    engine = create_engine_for(app_db)
    with engine.connect() as conn:
        user = auth.verify_login(conn, "new.manager", "a-long-enough-secret")
    engine.dispose()
    assert user is not None
    assert user.role == "account_manager"
    after = scalar(
        app_db,
        "SELECT after FROM audit_log WHERE entity = 'user' AND action = 'create' "
        "ORDER BY id DESC LIMIT 1",
    )
    assert "secret" not in str(after)


def test_deactivating_ends_sessions_and_admins_cannot_lock_themselves_out(
    app_db: URL, temp_user: int
) -> None:
    at = run_page("pages/admin.py", app_db, "admin", tab=USERS_TAB)
    picker = at.selectbox(key="_w_ue_user")
    picker.select_index(picker.options.index("temp.user · 临时用户")).run()
    uid = temp_user
    assert scalar(app_db, f"SELECT COUNT(*) FROM user_sessions WHERE user_id = {uid}") == 1
    at.checkbox(key=f"_w_ue_{uid}_active").uncheck()
    at.button[[b.label for b in at.button].index("Save", 1)].click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["User temp.user saved."]
    assert not scalar(app_db, f"SELECT active FROM users WHERE id = {uid}")
    assert (
        scalar(
            app_db,
            f"SELECT COUNT(*) FROM user_sessions WHERE user_id = {uid} AND revoked_at IS NULL",
        )
        == 0
    )
    admin_id = scalar(app_db, "SELECT id FROM users WHERE username = 'admin'")
    picker = at.selectbox(key="_w_ue_user")
    picker.select_index(
        picker.options.index(next(o for o in picker.options if o.startswith("admin ·")))
    ).run()
    at.selectbox(key=f"_w_ue_{admin_id}_role").select_index(0)
    at.button[[b.label for b in at.button].index("Save", 1)].click().run()
    assert any("cannot remove your own admin role" in e.value for e in at.error), (
        [e.value for e in at.error],
        [s.value for s in at.success],
        [b.label for b in at.button],
    )
    assert scalar(app_db, f"SELECT role FROM users WHERE id = {admin_id}") == "admin"


def test_audit_log_lists_changes_with_filters(app_db: URL) -> None:
    at = run_page("pages/settings.py", app_db, "admin")
    at.number_input(key="_w_wt_growth").set_value(0.2)
    at.button(key="save_tiering").click().run()
    at = run_page("pages/admin.py", app_db, "admin", tab=("admin", "audit_tab"))
    assert not at.exception
    assert any("entries, newest first" in c.value for c in at.caption)
    at.multiselect(key="_w_au_entities").select("setting").run()
    assert not at.exception
    frame = next(d.value for d in at.dataframe if "fields" in d.value.columns)
    assert set(frame["entity"]) == {"setting"}
    assert "weights" in frame["fields"].iloc[0] or "tiers" in frame["fields"].iloc[0]
