"""Browser: PostgreSQL is stopped and started under open sessions.

The open page keeps what it loaded and says the database is unavailable (translated, no
traceback); a save during the outage is reported as not saved with the input kept; a page
that needs the database shows the unavailable state; everything recovers by itself within
30 seconds of the server returning, and the repeated save is stored exactly once.

Stopping the server needs ``pg_ctlcluster`` and root (as in CI); the server is started
again whatever happens.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from data_access.demo import DemoSpec
from data_access.engine import create_engine_for
from data_access.seed import build_demo_database
from tests.conftest import _pg_admin, fresh_pg_database, require_or_skip
from tests.e2e.conftest import Server, signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.slow]
SUBJECT = "Outage test: call about renewal"


def _cluster() -> list[str]:
    if shutil.which("pg_ctlcluster") is None or os.geteuid() != 0:
        require_or_skip("stopping PostgreSQL needs pg_ctlcluster and root")
    out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True)
    for line in out.stdout.splitlines():
        version, name, port, *_ = line.split()
        if port == "5432":
            return [version, name]
    require_or_skip("no PostgreSQL cluster on port 5432")
    return []


def _pg(action: str, cluster: list[str]) -> None:
    args = ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, action]
    if action == "stop":
        args += ["-m", "fast"]
    subprocess.run(args, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    cluster = _cluster()
    url = fresh_pg_database(f"strata_outage_{os.getpid()}")
    engine = create_engine_for(url)
    build_demo_database(engine, DemoSpec(n_accounts=120, seed=3, end_month=dt.date(2026, 6, 1)))
    engine.dispose()
    tmp = tmp_path_factory.mktemp("outage")
    srv = Server(None, tmp / "streamlit.log", url.render_as_string(hide_password=False))
    yield srv, url, cluster
    srv.stop()
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def test_pages_survive_a_database_restart(browser, pg_server) -> None:
    from playwright.sync_api import expect

    server, url, cluster = pg_server
    engine = create_engine_for(url)
    with engine.connect() as conn:
        code = conn.execute(
            text("SELECT MIN(code) FROM accounts WHERE team_id = 1 AND status = 'active'")
        ).scalar()
    engine.dispose()
    context, page = signed_in_page(browser, server.url, "manager")
    page.goto(f"{server.url}/profile?account={code}")
    page.get_by_text("Log an interaction").first.click()
    form = page.locator('[data-testid="stForm"]').filter(has_text="Sentiment").first
    form.get_by_role("textbox", name="Subject").fill(SUBJECT)

    _pg("stop", cluster)
    try:
        form.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Not saved: the database is unavailable")).to_be_visible(
            timeout=30_000
        )
        expect(page.get_by_text("The database is unavailable: showing what")).to_be_visible()
        assert form.get_by_role("textbox", name="Subject").input_value() == SUBJECT
        other = context.new_page()
        other.goto(f"{server.url}/lifecycle")
        expect(other.get_by_text("The database is unavailable")).to_be_visible(timeout=30_000)
        assert "Traceback" not in other.content()
    finally:
        _pg("start", cluster)
    back = time.monotonic()
    # Both tabs come back by themselves: the degraded banner and the error go away.
    expect(other.get_by_role("heading", name="Lifecycle & retention")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("The database is unavailable: showing what")).to_have_count(
        0, timeout=30_000
    )
    recovered = time.monotonic() - back
    assert recovered < 30
    form = page.locator('[data-testid="stForm"]').filter(has_text="Sentiment").first
    if not form.is_visible():
        page.get_by_text("Log an interaction").first.click()
    subject = form.get_by_role("textbox", name="Subject")
    if subject.input_value() != SUBJECT:
        subject.fill(SUBJECT)
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Interaction saved.")).to_be_visible(timeout=30_000)
    engine = create_engine_for(url)
    with engine.connect() as conn:
        saved = conn.execute(
            text("SELECT COUNT(*) FROM interactions WHERE subject = :s"), {"s": SUBJECT}
        ).scalar()
    engine.dispose()
    assert saved == 1
    context.close()
    print(f"recovered {recovered:.1f} s after the server returned")
