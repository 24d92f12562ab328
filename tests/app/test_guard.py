"""App: every page, opened without a login, renders the login form and no data."""

import pytest
from sqlalchemy.engine import URL

from tests.app.conftest import PAGE_FILES, run_page


def test_there_are_pages_to_guard() -> None:
    assert "pages/accounts.py" in PAGE_FILES


@pytest.mark.parametrize("path", PAGE_FILES)
def test_page_without_login_shows_only_the_login_form(app_db: URL, path: str) -> None:
    at = run_page(path, app_db)
    assert not at.exception
    assert at.text_input(key="_w_username") is not None
    assert at.text_input(key="_w_password") is not None
    assert len(at.metric) == 0
    assert len(at.dataframe) == 0
    assert len(at.get("plotly_chart")) == 0
    assert len(at.sidebar.multiselect) == 0


@pytest.mark.parametrize("path", PAGE_FILES)
def test_first_line_of_every_page_is_the_shell(path: str) -> None:
    from tests.app.conftest import ROOT

    code = [
        ln
        for ln in (ROOT / path).read_text().splitlines()
        if ln.strip() and not ln.startswith(("#", '"""', "from ", "import "))
    ]
    assert code[0].startswith("with shell.page(")


def test_wrong_password_gets_a_clear_message(app_db: URL) -> None:
    at = run_page("app.py", app_db)
    at.text_input(key="_w_username").set_value("exec")
    at.text_input(key="_w_password").set_value("nope")
    at.button[0].click().run()
    assert [e.value for e in at.error] == [
        "Sign-in failed: the username or password is not correct."
    ]
    assert len(at.metric) == 0


def test_repeated_failures_ask_the_user_to_wait(app_db: URL) -> None:
    at = run_page("app.py", app_db)
    for _ in range(6):
        at.text_input(key="_w_username").set_value("intruder")
        at.text_input(key="_w_password").set_value("guess")
        at.button[0].click().run()
    message = at.error[0].value
    assert message.startswith("Too many failed sign-ins for this user name.")
    assert "wait 30 seconds" in message or "wait 29 seconds" in message


def test_right_password_opens_the_overview(app_db: URL) -> None:
    at = run_page("app.py", app_db)
    at.text_input(key="_w_username").set_value("exec")
    at.text_input(key="_w_password").set_value("strata-demo")
    at.button[0].click().run()
    assert not at.exception
    # The executive's stored language (Chinese) replaces the login page's English.
    assert "客户组合总览" in [t.value for t in at.title]
    assert len(at.metric) == 8


def test_demo_users_are_listed_on_a_demo_database(app_db: URL) -> None:
    at = run_page("app.py", app_db)
    assert "strata-demo" in at.info[0].value
