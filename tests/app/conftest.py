"""AppTest helpers: run a page against a real seeded database, logged in or not."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import URL
from streamlit.testing.v1 import AppTest

from components.i18n import t
from data_access import auth
from data_access.engine import create_engine_for

ROOT = Path(__file__).resolve().parents[2]
PAGE_FILES = ["app.py", *sorted(f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py"))]


def url_text(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def run_page(
    path: str,
    url: URL,
    username: str | None = None,
    lang: str = "en",
    query: dict[str, str] | None = None,
    tab: tuple[str, str] | None = None,
) -> AppTest:
    """Run ``path`` once as ``username`` (a real session in the database) or logged out.

    ``tab`` = (label prefix, section key) opens that section of a page drawn with
    ``cards.render_sections``, which draws only the open one.
    """
    # Pages run under the real entry point, as on a server, so page links resolve.
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    if path != "app.py":
        at.switch_page(path)
    at.session_state["lang"] = lang
    if tab:  # before the first run, so only that section is drawn
        at.session_state[f"_w_tabs_{tab[0]}"] = t(f"{tab[0]}.{tab[1]}", lang=lang)
    if query:
        at.query_params.update(query)
    if username:
        engine = create_engine_for(url)
        with engine.begin() as conn:
            user = auth.verify_login(conn, username, "strata-demo")
            cookie, _ = auth.create_session(conn, user)
        engine.dispose()
        at.session_state["user"] = user
        at.session_state["session_id"] = cookie.split(".")[0]
    return at.run()


def open_tab(at: AppTest, prefix: str, key: str, lang: str = "en") -> AppTest:
    """Open the section ``key`` of a page drawn with ``cards.render_sections`` and rerun."""
    at.session_state[f"_w_tabs_{prefix}"] = t(f"{prefix}.{key}", lang=lang)
    return at.run()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app_db(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> URL:
    """Point the app at the fixture portfolio: a private SQLite copy, or PostgreSQL."""
    url: URL = request.getfixturevalue(
        "sqlite_url" if request.param == "sqlite" else "pg_fixture_url"
    )
    monkeypatch.setenv("STRATA_DATABASE_URL", url_text(url))
    return url
