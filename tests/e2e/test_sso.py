"""Browser: single sign-on through a real OpenID Connect provider on loopback.

The provider is the npm package ``oidc-provider`` (``tests/e2e/oidc``, installed by
``make test``), started with Node; the app runs with an ``[auth]`` section pointing at
it. A user signs in on the provider's page and comes back signed in to Strata with the
role and team of the user an admin gave that e-mail; an unknown or unverified identity
gets no access and the message saying so; signing out ends both.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from data_access.engine import create_engine_for
from tests.conftest import fetch_all, require_or_skip
from tests.e2e.conftest import ROOT, Server, free_port

pytestmark = pytest.mark.browser

OIDC = ROOT / "tests" / "e2e" / "oidc"


class Provider:
    def __init__(self, port: int, redirect_uri: str, log: Path) -> None:
        node = shutil.which("node")
        if node is None or not (OIDC / "node_modules" / "oidc-provider").is_dir():
            require_or_skip(
                "the local OIDC provider needs Node.js and `npm install` in tests/e2e/oidc"
            )
        self.url = f"http://127.0.0.1:{port}"
        self._log = log.open("w")
        self.proc = subprocess.Popen(
            [node, "provider.js"],
            cwd=OIDC,
            env={**os.environ, "OIDC_PORT": str(port), "REDIRECT_URI": redirect_uri},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while "ready" not in log.read_text():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"the OIDC provider did not start:\n{log.read_text()}")
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture(scope="module")
def sso_app(
    sqlite_fixture_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Path]]:
    tmp = tmp_path_factory.mktemp("sso")
    db = tmp / "strata.db"
    shutil.copy(sqlite_fixture_file, db)
    engine = create_engine_for(make_url(f"sqlite:///{db}"))
    with engine.begin() as conn:  # what an admin does on Data & users
        conn.execute(
            text("UPDATE users SET email = 'Manager@Example.com' WHERE username = 'manager'")
        )
        conn.execute(text("UPDATE users SET email = 'exec@example.com' WHERE username = 'exec'"))
    engine.dispose()
    app_port, oidc_port = free_port(), free_port()
    provider = Provider(oidc_port, f"http://127.0.0.1:{app_port}/oauth2callback", tmp / "oidc.log")
    secrets = tmp / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
        'cookie_secret = "a-test-cookie-secret-of-some-length"\n'
        'client_id = "strata"\n'
        'client_secret = "strata-test-client-secret"\n'
        f'server_metadata_url = "{provider.url}/.well-known/openid-configuration"\n'
        # Streamlit asks for prompt=select_account unless told otherwise; this provider
        # (like several others) only knows login and consent.
        'client_kwargs = { prompt = "login" }\n'
    )
    server = Server(
        db,
        tmp / "server.log",
        port=app_port,
        args=("--secrets.files", str(secrets)),
        env={"AUTHLIB_INSECURE_TRANSPORT": "1"},  # the test provider speaks plain HTTP
    )
    yield server, db
    server.stop()
    provider.stop()


def _sign_in_at_provider(browser, base_url: str, identity: str):
    from playwright.sync_api import expect

    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(base_url)
    page.get_by_role("button", name="Sign in with single sign-on").click()
    # The provider's own sign-in page, then its consent page.
    page.locator("input[name=login]").fill(identity, timeout=30_000)
    page.locator("input[name=password]").fill("anything")
    page.locator("button[type=submit]").click()
    page.locator("button[type=submit]").click(timeout=30_000)
    expect(page).to_have_url(f"{base_url}/", timeout=30_000)
    return context, page


def _sessions(db: Path) -> list[tuple]:
    return fetch_all(
        make_url(f"sqlite:///{db}"),
        "SELECT u.username, s.revoked_at FROM user_sessions s "
        "JOIN users u ON u.id = s.user_id ORDER BY s.created_at",
    )


def test_a_known_identity_signs_in_with_its_users_role(browser, sso_app) -> None:
    from playwright.sync_api import expect

    server, db = sso_app
    before = len(_sessions(db))
    context, page = _sign_in_at_provider(browser, server.url, "manager@example.com")
    sidebar = page.get_by_test_id("stSidebar")
    # Signed in with the user's own language (Chinese); switch to English.
    expect(sidebar.get_by_role("link", name="客户列表")).to_be_visible(timeout=30_000)
    sidebar.get_by_text("English").click()
    expect(sidebar.get_by_role("link", name="Accounts")).to_be_visible(timeout=30_000)
    # An account manager's navigation: no admin or validation pages.
    expect(sidebar.locator('a[href="admin"]')).to_have_count(0)
    expect(sidebar.locator('a[href="models"]')).to_have_count(0)
    sessions = _sessions(db)
    assert sessions[before:] == [("manager", None)]
    # Signing out ends the Strata session and the single sign-on identity in this browser.
    sidebar.get_by_role("button", name="Sign out").click()
    # The provider asks whether to end its session too; yes.
    page.locator("button[name=logout][value=yes]").click(timeout=30_000)
    expect(page.get_by_role("button", name="Sign in with single sign-on")).to_be_visible(
        timeout=30_000
    )
    assert _sessions(db)[before][1] is not None
    context.close()


@pytest.mark.parametrize(
    ("identity", "shown"),
    [
        ("stranger@example.com", "stranger@example.com"),
        ("unverified-exec@example.com", "exec@example.com"),
    ],
)
def test_unknown_or_unverified_identities_get_no_access(
    browser, sso_app, identity: str, shown: str
) -> None:
    from playwright.sync_api import expect

    server, db = sso_app
    before = _sessions(db)
    context, page = _sign_in_at_provider(browser, server.url, identity)
    expect(page.get_by_text("has no access to Strata")).to_be_visible(timeout=30_000)
    expect(page.get_by_text(f"The identity {shown}", exact=False)).to_be_visible()
    expect(page.get_by_test_id("stSidebar").get_by_role("link")).to_have_count(0)
    assert _sessions(db) == before
    context.close()
